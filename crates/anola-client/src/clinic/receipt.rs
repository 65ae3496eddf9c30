//! The printable receipt: an 80 mm wide SVG (millimetres, like the card) for thermal and office
//! printers, rendered to PNG by `card_print::card_png`. It shows the bill's lines, what each
//! source paid, refunds, and the ledger reference (the charge's id, also as a QR code so a
//! refund desk can scan it); a charge made offline says it is provisional.

use super::cards::xml_escape;
use crate::error::ClientError;
use anola_protocol::money::{Receipt, Source};

const WIDTH_MM: f64 = 80.0;
const LINE_MM: f64 = 4.6;

fn money(minor: u64, r: &Receipt) -> String {
    format!("{} {}", anola_ledger::format_amount(minor, r.currency), r.currency.code())
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
                .ok()
        })
        .unwrap_or_default()
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Sponsored => "Sponsored funds",
        Source::PreApproved => "Sponsored funds (pre-approved)",
        Source::Personal => "Personal wallet",
        Source::Allowance => "Wallet (offline allowance)",
        Source::Cash => "Cash",
        Source::MobileMoney => "Mobile money",
        Source::Owed => "Owed by patient",
    }
}

/// The receipt as SVG. `items` names the price-list codes (code → name) where known.
pub fn render_receipt_svg(
    r: &Receipt,
    provisional: bool,
    patient_name: Option<&str>,
    items: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ClientError> {
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    let mut row = |l: String, r: String, bold: bool| rows.push((l, r, bold));
    row("Anola Health".into(), String::new(), true);
    if !r.clinic.is_empty() {
        row(format!("Clinic {}", r.clinic), String::new(), false);
    }
    row(format!("Receipt {}", &r.id.to_string()[..8]), when(r.at), false);
    row(format!("Patient: {}", patient_name.unwrap_or(&r.patient)), String::new(), false);
    if !r.staff.is_empty() {
        row(format!("Served by: {}", r.staff), String::new(), false);
    }
    row(String::new(), String::new(), false);
    for l in &r.lines {
        let name = items(&l.item).unwrap_or_else(|| l.item.clone());
        row(
            format!("{} × {name}", l.quantity),
            money(l.unit_price.saturating_mul(u64::from(l.quantity)), r),
            false,
        );
    }
    row("Total".into(), money(r.total, r), true);
    row(String::new(), String::new(), false);
    row("Paid by".into(), String::new(), true);
    for p in &r.parts {
        row(format!("  {}", source_name(p.source)), money(p.amount, r), false);
    }
    for (id, n) in &r.refunds {
        row(format!("Refunded ({})", &id.to_string()[..8]), money(*n, r), true);
    }
    let qr = anola_cards::qrcode::QrCode::new(r.id.to_string().as_bytes()).map_err(|e| ClientError::Internal { message: e.to_string() })?;
    let width = qr.width();
    let module = 0.5;
    let qr_side = module * (width + 8) as f64;
    let top = 6.0;
    let banner = if provisional { 9.0 } else { 0.0 };
    let height = top + banner + LINE_MM * (rows.len() as f64 + 2.0) + qr_side + 14.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{height:.1}mm" viewBox="0 0 {WIDTH_MM} {height:.1}"><rect width="100%" height="100%" fill="white"/><g font-family="sans-serif" font-size="3.3" fill="black">"#
    );
    if provisional {
        svg.push_str(&format!(
            r#"<rect x="3" y="{top}" width="{}" height="7" fill="none" stroke="black" stroke-width="0.4" stroke-dasharray="1.2 0.8"/><text x="{}" y="{}" text-anchor="middle" font-weight="bold">PROVISIONAL — settles at next sync</text>"#,
            WIDTH_MM - 6.0,
            WIDTH_MM / 2.0,
            top + 4.8
        ));
    }
    let mut y = top + banner + LINE_MM;
    for (l, rt, bold) in &rows {
        let weight = if *bold { r#" font-weight="bold""# } else { "" };
        if !l.is_empty() {
            svg.push_str(&format!(r#"<text x="4" y="{y:.1}"{weight}>{}</text>"#, xml_escape(l)));
        }
        if !rt.is_empty() {
            svg.push_str(&format!(
                r#"<text x="{}" y="{y:.1}" text-anchor="end"{weight}>{}</text>"#,
                WIDTH_MM - 4.0,
                xml_escape(rt)
            ));
        }
        y += LINE_MM;
    }
    svg.push_str(&format!(
        r#"<text x="{}" y="{:.1}" font-size="2.4" text-anchor="middle">Ledger reference</text><text x="{}" y="{:.1}" font-size="2.4" text-anchor="middle">{}</text>"#,
        WIDTH_MM / 2.0,
        y + 1.0,
        WIDTH_MM / 2.0,
        y + 4.0,
        r.id
    ));
    y += LINE_MM + 4.0;
    let colors = qr.to_colors();
    let x0 = (WIDTH_MM - qr_side) / 2.0;
    let mut path = String::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == anola_cards::qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % width + 4, i / width + 4));
        }
    }
    svg.push_str(&format!(
        r#"<path transform="translate({x0:.2} {y:.1}) scale({module})" d="{path}" fill="black" shape-rendering="crispEdges"/>"#
    ));
    svg.push_str("</g></svg>");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anola_protocol::money::{Currency, Line, Part};

    fn receipt() -> Receipt {
        Receipt {
            id: uuid::Uuid::now_v7(),
            digest: String::new(),
            patient: "p-1".into(),
            clinic: "c1".into(),
            staff: "fd".into(),
            at: 1_700_000_000_000,
            currency: Currency::KES,
            lines: vec![Line {
                item: "CONS-GP".into(),
                quantity: 1,
                unit_price: 100_000,
            }],
            total: 100_000,
            parts: vec![
                Part {
                    source: Source::Sponsored,
                    account: anola_ledger::AccountId("SW-1".into()),
                    amount: 30_000,
                },
                Part {
                    source: Source::Cash,
                    account: anola_ledger::AccountId("CASH-fd".into()),
                    amount: 70_000,
                },
            ],
            fee: 1_500,
            visit: None,
            offline: None,
            refunds: Vec::new(),
            coverage: Vec::new(),
            pre_approval: None,
            provider: None,
        }
    }

    #[test]
    fn a_receipt_names_each_source_and_prints_with_its_reference_scannable() {
        let r = receipt();
        let svg = render_receipt_svg(&r, true, Some("Amina <Kadi>"), &|c| (c == "CONS-GP").then(|| "Consultation".into())).unwrap();
        for want in [
            "Sponsored funds",
            "300.00 KES",
            "Cash",
            "700.00 KES",
            "1000.00 KES",
            "PROVISIONAL",
            "Amina &lt;Kadi&gt;",
            "Consultation",
        ] {
            assert!(svg.contains(want), "missing {want}");
        }
        let png = crate::card_print::card_png(&svg, 203.0).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width(), 639, "80 mm at 203 dpi (a thermal printer)");
        let text = crate::card_image::card_text_from_image(&png);
        // The QR holds the ledger reference.
        assert_eq!(text.ok().as_deref(), Some(r.id.to_string().as_str()));
    }
}
