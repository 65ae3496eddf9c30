//! The sponsor's report as CSV (the `csv` crate) and as a one-page-per-section PDF with a chart of
//! spending by month (`pdf-writer`, standard Helvetica: nothing to embed). Both are built from the
//! same `Report` the portal shows, so the three never disagree.

use super::acting_for;
use crate::http::guard::Bearer;
use crate::http::money::failed;
use crate::http::routes::AppState;
use crate::store::Store;
use anola_ledger::book::sponsor::report::{Bucket, Report};
use anola_ledger::format_amount;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

async fn load<S: Store>(state: &AppState<S>, bearer: Bearer, sponsor: &str) -> Result<Report, Response> {
    let a = acting_for(state, bearer, sponsor).await.map_err(IntoResponse::into_response)?;
    a.manage().map_err(IntoResponse::into_response)?;
    match state.ledger.read(|b| b.sponsor_report(&a.sponsor)).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(crate::http::error::ApiError::new(
            anola_protocol::ErrorCode::NotFound,
            format!("sponsor {} has no profile yet", a.sponsor),
        )
        .into_response()),
        Err(e) => Err(failed(e, None)),
    }
}

fn attachment(kind: &'static str, name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

/// Rows: one per figure, per bucket and per sponsorship, each with its section.
pub fn csv_bytes(r: &Report) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let money = |n: u64| format_amount(n, r.currency);
    let _ = w.write_record(["section", "key", "amount", "currency", "detail"]);
    let c = r.currency.code();
    for (k, n) in [
        ("deposited", r.deposited),
        ("wallet_available", r.wallet_available),
        ("allocated", r.allocated),
        ("spent", r.spent),
        ("returned", r.returned),
        ("held", r.held),
    ] {
        let _ = w.write_record(["summary", k, &money(n), c, ""]);
    }
    let _ = w.write_record(["summary", "patients_reached", &r.patients_reached.to_string(), "", ""]);
    for (section, buckets) in [
        ("by_month", &r.by_month),
        ("by_category", &r.by_category),
        ("by_provider", &r.by_provider),
        ("by_country", &r.by_country),
        ("by_programme", &r.by_programme),
    ] {
        for b in buckets {
            let _ = w.write_record([section, &b.key, &money(b.amount), c, ""]);
        }
    }
    for s in &r.sponsorships {
        let detail = format!(
            "{} {} {:?}; allocated {}, spent {}, returned {}, held {}, {} charges",
            s.programme,
            s.country,
            s.status,
            money(s.funded),
            money(s.spent),
            money(s.returned),
            money(s.held),
            s.charges
        );
        let _ = w.write_record(["sponsorship", &s.beneficiary, &money(s.spent), c, &detail]);
    }
    w.into_inner().unwrap_or_default()
}

pub async fn csv<S: Store>(axum::extract::State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Response {
    match load(&state, bearer, &sponsor).await {
        Ok(r) => attachment(
            "text/csv; charset=utf-8",
            format!("sponsor-report-{}.csv", r.sponsor),
            csv_bytes(&r),
        ),
        Err(e) => e,
    }
}

/// Text the standard fonts can show (WinAnsi): anything else becomes '?'.
fn latin(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '–' | '—' => b'-',
            c if (c as u32) < 0x7f && (c as u32) >= 0x20 => c as u8,
            _ => b'?',
        })
        .collect()
}

pub fn pdf_bytes(r: &Report) -> Vec<u8> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
    let mut pdf = Pdf::new();
    let (catalog, tree, page, font, bold, content) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    {
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
        p.parent(tree);
        p.contents(content);
        let mut res = p.resources();
        let mut fonts = res.fonts();
        fonts.pair(Name(b"F1"), font);
        fonts.pair(Name(b"F2"), bold);
    }
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let money = |n: u64| format!("{} {}", r.currency.code(), format_amount(n, r.currency));
    let mut c = Content::new();
    let mut y = 800.0f32;
    let text = |c: &mut Content, x: f32, y: f32, size: f32, bold: bool, s: &str| {
        c.begin_text();
        c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        c.next_line(x, y);
        c.show(Str(&latin(s)));
        c.end_text();
    };
    text(&mut c, 50.0, y, 18.0, true, &format!("Sponsorship report: {}", r.name));
    y -= 28.0;
    for (k, n) in [
        ("Deposited", r.deposited),
        ("Allocated to beneficiaries", r.allocated),
        ("Spent on care", r.spent),
        ("Returned (unused)", r.returned),
        ("Still held for beneficiaries", r.held),
        ("In the sponsor's wallet", r.wallet_available),
    ] {
        text(&mut c, 50.0, y, 11.0, false, k);
        text(&mut c, 260.0, y, 11.0, true, &money(n));
        y -= 16.0;
    }
    text(&mut c, 50.0, y, 11.0, false, "Patients reached");
    text(&mut c, 260.0, y, 11.0, true, &r.patients_reached.to_string());
    y -= 30.0;
    // Spending by month as bars.
    text(&mut c, 50.0, y, 13.0, true, "Spending by month");
    y -= 14.0;
    let chart_h = 120.0f32;
    let max = r.by_month.iter().map(|b| b.amount).max().unwrap_or(0).max(1) as f32;
    let months: Vec<&Bucket> = r.by_month.iter().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
    let base = y - chart_h;
    for (i, b) in months.iter().enumerate() {
        let h = (b.amount as f32 / max) * (chart_h - 20.0);
        let x = 60.0 + i as f32 * 40.0;
        c.set_fill_rgb(0.16, 0.42, 0.65);
        c.rect(x, base + 14.0, 26.0, h);
        c.fill_nonzero();
        c.set_fill_rgb(0.0, 0.0, 0.0);
        text(&mut c, x - 2.0, base, 7.0, false, &b.key);
    }
    if months.is_empty() {
        text(&mut c, 60.0, base + 40.0, 10.0, false, "No spending yet.");
    }
    y = base - 26.0;
    for (title, buckets) in [
        ("By service category", &r.by_category),
        ("By provider", &r.by_provider),
        ("By country", &r.by_country),
        ("By programme", &r.by_programme),
    ] {
        if y < 120.0 {
            break;
        }
        text(&mut c, 50.0, y, 12.0, true, title);
        y -= 15.0;
        for b in buckets.iter().take(6) {
            text(&mut c, 60.0, y, 10.0, false, &b.key);
            text(&mut c, 300.0, y, 10.0, false, &money(b.amount));
            y -= 13.0;
        }
        if buckets.is_empty() {
            text(&mut c, 60.0, y, 10.0, false, "-");
            y -= 13.0;
        }
        y -= 8.0;
    }
    text(
        &mut c,
        50.0,
        40.0,
        8.0,
        false,
        &format!(
            "Figures from Anola's ledger. Allocated - spent - returned - held = {} (0 means the report agrees with the ledger).",
            r.difference
        ),
    );
    pdf.stream(content, &c.finish());
    pdf.finish()
}

pub async fn pdf<S: Store>(axum::extract::State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Response {
    match load(&state, bearer, &sponsor).await {
        Ok(r) => attachment("application/pdf", format!("sponsor-report-{}.pdf", r.sponsor), pdf_bytes(&r)),
        Err(e) => e,
    }
}
