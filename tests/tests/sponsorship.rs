//! Sponsorship end to end against real server processes on FerretDB, with devices through the
//! client library (docs/sponsorship.md):
//!
//! - a sponsorship with narrow coverage, charged from two devices while the server is down,
//!   beyond its caps: the devices run the same rule engine on the terms they hold, the server's
//!   answer wins when they settle, and the month's caps hold; the sponsor's report (JSON, CSV,
//!   PDF) agrees with the ledger's own accounts;
//! - a pre-approval from a clinician's request to the posted charge, and a sponsorship's expiry
//!   returning its unused funds exactly once while two server processes sweep and one is killed.

use anola_client::clinic_money::{AllowancePolicy, ChargeContext, OfflineBill};
use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, now_ms, unique_db};
use anola_protocol::money::{ChargeRequest, Desk, Line, Source};
use anola_protocol::sponsor::NewPreApproval;
use anola_protocol::{PatientFields, Role};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

const DAY: i64 = 86_400_000;

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn set_prices(http: &reqwest::Client, url: &str, token: &str) {
    for (code, kind, price) in [
        ("CONS-GP", "consultation", 100_000),
        ("LAB-MAL", "lab_test", 25_000),
        ("SURG", "procedure", 500_000),
    ] {
        let item = json!({"code": code, "name": code, "kind": kind, "price": price, "currency": "KES", "active": true});
        let (s, b) = call(http, reqwest::Method::PUT, format!("{url}/money/prices/{code}"), token, Some(item)).await;
        assert_eq!(s, 204, "{b}");
    }
}

fn lines(items: &[(&str, u32)]) -> Vec<Line> {
    items
        .iter()
        .map(|(item, quantity)| Line {
            item: (*item).into(),
            quantity: *quantity,
            unit_price: 0,
        })
        .collect()
}

fn paid(parts: &[anola_protocol::money::Part], sources: &[Source]) -> u64 {
    parts.iter().filter(|p| sources.contains(&p.source)).map(|p| p.amount).sum()
}

/// The sponsor "hope" (KES) with 100,000.00 deposited by bank transfer.
async fn sponsor_with_funds(http: &reqwest::Client, url: &str, token: &str) {
    let profile = |country: &str| {
        json!({"id": "hope", "name": "Hope Foundation", "kind": "foundation", "country": country, "currency": "KES",
               "anonymous": false, "reports": {"frequency": "monthly", "detailed": true, "success_stories": false}})
    };
    // A bad country is refused naming the field, and nothing is set up.
    let (s, b) = call(
        http,
        reqwest::Method::PUT,
        format!("{url}/portal/api/sponsors/hope"),
        token,
        Some(profile("kenya")),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str(), b["field"].as_str()),
        (422, Some("invalid_input"), Some("country")),
        "{b}"
    );
    let (s, b) = call(http, reqwest::Method::GET, format!("{url}/portal/api/sponsors/hope"), token, None).await;
    assert_eq!((s, b["profile"].is_null()), (200, true), "{b}");
    let (s, b) = call(
        http,
        reqwest::Method::PUT,
        format!("{url}/portal/api/sponsors/hope"),
        token,
        Some(profile("KE")),
    )
    .await;
    assert_eq!((s, b["profile"]["name"].as_str()), (200, Some("Hope Foundation")), "{b}");
    let dep = Uuid::now_v7();
    let body = json!({"id": dep, "amount": 10_000_000, "reference": "BANK-0001"});
    for _ in 0..2 {
        let (s, b) = call(
            http,
            reqwest::Method::POST,
            format!("{url}/admin/sponsors/hope/deposits"),
            token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (s, b["available"].as_u64()),
            (201, Some(10_000_000)),
            "a retry is the same deposit: {b}"
        );
    }
    let (s, b) = call(
        http,
        reqwest::Method::POST,
        format!("{url}/admin/sponsors/hope/deposits"),
        token,
        Some(json!({"id": dep, "amount": 5, "reference": "BANK-0001"})),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("id_reused")), "{b}");
}

async fn audit_ok(http: &reqwest::Client, url: &str, token: &str) {
    let (s, audit) = call(http, reqwest::Method::GET, format!("{url}/admin/ledger/audit"), token, None).await;
    assert_eq!((s, &audit["ok"]), (200, &json!(true)), "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_narrow_sponsorship_charged_offline_on_two_devices_keeps_its_caps_and_the_report_agrees_with_the_ledger() {
    let ferret = Ferret::start();
    let db = unique_db("sponsorcaps");
    let port = free_port();
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let url = server.url();
    let http = reqwest::Client::new();
    let token = admin_token(&url).await;
    set_prices(&http, &url, &token).await;
    sponsor_with_funds(&http, &url, &token).await;

    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_w1, c1) = enrolled(d1.path(), &url, &clinic, Role::FrontDesk, None).await;
    let (_w2, c2) = enrolled(d2.path(), &url, &clinic, Role::FrontDesk, None).await;
    let fields: PatientFields =
        serde_json::from_value(json!({"given_name": "Amina", "family_name": "Otieno", "date_of_birth": "1990-10-10"})).unwrap();
    let patient = c1.register_patient(fields).unwrap().id.to_string();
    c1.sync_now().await.unwrap();

    // Lab tests only, at most 300.00 a charge, 500.00 and three charges a month.
    let now = now_ms();
    let spec = |id: Uuid, patient: &str| {
        json!({"id": id, "patient": patient, "programme": "Malaria 2027", "country": "KE", "kind": "partial",
               "allocation": 200_000, "starts_at": now - 1_000, "ends_at": now + 60 * DAY, "recurrence": "one_time",
               "coverage": {"services": ["lab_test"]},
               "caps": {"per_transaction": 30_000, "per_period": 50_000, "charges_per_period": 3},
               "activate": true})
    };
    let sponsorships = format!("{url}/portal/api/sponsors/hope/sponsorships");
    // Bad input: each refused with its field, nothing made.
    let mut bad = spec(Uuid::now_v7(), &patient);
    bad["caps"]["co_payment_bps"] = json!(20_000);
    let (s, b) = call(&http, reqwest::Method::POST, sponsorships.clone(), &token, Some(bad)).await;
    assert_eq!((s, b["field"].as_str()), (422, Some("caps.co_payment_bps")), "{b}");
    let (s, b) = call(
        &http,
        reqwest::Method::POST,
        sponsorships.clone(),
        &token,
        Some(spec(Uuid::now_v7(), "HC-NOBODY")),
    )
    .await;
    assert_eq!((s, b["field"].as_str()), (404, Some("patient")), "{b}");
    let (s, b) = call(&http, reqwest::Method::GET, sponsorships.clone(), &token, None).await;
    assert_eq!((s, b.as_array().map(Vec::len)), (200, Some(0)), "{b}");
    let sid = Uuid::now_v7();
    let (s, b) = call(
        &http,
        reqwest::Method::POST,
        sponsorships.clone(),
        &token,
        Some(spec(sid, &patient)),
    )
    .await;
    assert_eq!(
        (s, b["row"]["status"].as_str(), b["row"]["funded"].as_u64()),
        (201, Some("active"), Some(200_000)),
        "{b}"
    );

    // The front desk sees the sponsor and what is covered.
    let covers = c1.sponsorships(&patient).await.unwrap();
    assert_eq!(covers.len(), 1);
    assert_eq!(
        (covers[0].sponsor.as_deref(), covers[0].available),
        (Some("Hope Foundation"), 200_000)
    );

    // Both devices reserve allowances while online; together they can never pass the month's caps.
    for c in [&c1, &c2] {
        c.refresh_prices().await.unwrap();
    }
    let policy = AllowancePolicy {
        total: 40_000,
        per_charge: 40_000,
        max_count: 2,
        ttl_ms: 3_600_000,
    };
    assert_eq!(c1.reserve_allowances(std::slice::from_ref(&patient), policy).await.unwrap(), 1);
    assert_eq!(c2.reserve_allowances(std::slice::from_ref(&patient), policy).await.unwrap(), 1);
    let a1 = c1.offline_money(&patient).unwrap().allowances;
    let a2 = c2.offline_money(&patient).unwrap().allowances;
    assert_eq!(
        (a1[0].reserved, a1[0].per_charge, a1[0].max_count, a2[0].reserved, a2[0].max_count),
        (40_000, 30_000, 2, 10_000, 1),
        "the first takes 400.00 (capped at 300.00 a charge); the second what the month's 500.00 and three charges leave"
    );
    assert!(a1[0].terms.is_some(), "the terms travel with the allowance");
    // The coverage the device can tell the patient with no network.
    let told = c1
        .coverage_offline(&patient, &lines(&[("CONS-GP", 1), ("LAB-MAL", 1)]), None, vec![])
        .unwrap();
    assert_eq!(told[0].answer.lines[0].reasons[0].code(), "service_not_covered");
    assert_eq!(told[0].answer.approved, 25_000);

    server.kill();

    // Offline, each device charges more than the caps allow.
    let bill = |items: &[(&str, u32)]| OfflineBill {
        id: Uuid::now_v7(),
        patient: patient.clone(),
        lines: lines(items),
        cash: 0,
        pin: None,
        provider: None,
        diagnoses: vec![],
    };
    let one = c1.charge_offline(bill(&[("CONS-GP", 1), ("LAB-MAL", 1)])).unwrap();
    assert_eq!(paid(&one.receipt.parts, &[Source::Allowance]), 25_000, "the lab test only");
    assert_eq!(one.receipt.coverage[0].answer.lines[0].reasons[0].code(), "service_not_covered");
    let two = c1.charge_offline(bill(&[("LAB-MAL", 2)])).unwrap();
    assert_eq!(
        paid(&two.receipt.parts, &[Source::Allowance]),
        15_000,
        "what the allowance still holds"
    );
    let three = c1.charge_offline(bill(&[("LAB-MAL", 1)])).unwrap();
    assert_eq!(paid(&three.receipt.parts, &[Source::Allowance]), 0, "its two charges are used");
    let four = c2.charge_offline(bill(&[("LAB-MAL", 2)])).unwrap();
    assert_eq!(paid(&four.receipt.parts, &[Source::Allowance]), 10_000);
    let five = c2.charge_offline(bill(&[("LAB-MAL", 1)])).unwrap();
    assert_eq!(paid(&five.receipt.parts, &[Source::Allowance]), 0);

    // Back online: both settle at once, then again (nothing twice).
    let _server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let (s1, s2) = tokio::join!(c1.settle_offline_charges(), c2.settle_offline_charges());
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    assert_eq!((s1.settled, s1.refused, s2.settled, s2.refused), (3, 0, 2, 0));
    let again = c2.settle_offline_charges().await.unwrap();
    assert_eq!(again.settled + again.refused, 0);
    let settled = c1.receipt(one.receipt.id).await.unwrap();
    assert!(!settled.provisional);
    assert_eq!(
        settled.receipt.coverage[0].answer.lines[0].reasons[0].code(),
        "service_not_covered",
        "the server's answer, recorded with the receipt"
    );

    // The report: 500.00 spent in three charges — the month's caps — and it agrees with the ledger.
    let (s, r) = call(
        &http,
        reqwest::Method::GET,
        format!("{url}/portal/api/sponsors/hope/report"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (
            r["spent"].as_u64(),
            r["allocated"].as_u64(),
            r["held"].as_u64(),
            r["difference"].as_i64()
        ),
        (Some(50_000), Some(200_000), Some(150_000), Some(0)),
        "{r}"
    );
    assert_eq!(r["sponsorships"][0]["charges"].as_u64(), Some(3));
    assert_eq!(r["by_category"], json!([{"key": "lab_test", "amount": 50_000}]));
    assert_eq!(r["patients_reached"].as_u64(), Some(1));
    let (_, sw) = call(&http, reqwest::Method::GET, format!("{url}/money/accounts/SW-{sid}"), &token, None).await;
    let (_, gw) = call(&http, reqwest::Method::GET, format!("{url}/money/accounts/GW-hope"), &token, None).await;
    assert_eq!(sw["posted"].as_str(), Some("150000"), "{sw}");
    assert_eq!(
        gw["available"].as_str().map(str::to_owned),
        Some(r["wallet_available"].to_string()),
        "{gw}"
    );
    assert_eq!(r["wallet_available"].as_u64(), Some(10_000_000 - 200_000));
    // CSV and PDF exports of the same figures.
    let csv = http
        .get(format!("{url}/portal/api/sponsors/hope/report.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("by_category,lab_test,500.00,KES"), "{csv}");
    assert!(csv.contains("summary,spent,500.00,KES"), "{csv}");
    let pdf = http
        .get(format!("{url}/portal/api/sponsors/hope/report.pdf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");

    // Another clinic's device reads nothing of this patient's sponsorships; a charge may not name
    // a provider that is not this clinic's (a network rule could be passed that way).
    let d3 = tempfile::tempdir().unwrap();
    let (_w3, other_clinic) = enrolled(d3.path(), &url, "elsewhere", Role::FrontDesk, None).await;
    let e = other_clinic.sponsorships(&patient).await.unwrap_err();
    assert!(
        matches!(&e, anola_client::ClientError::ServerRejected { server_code, .. } if server_code == "not_found"),
        "{e:?}"
    );
    let ctx = ChargeContext {
        provider: Some(Uuid::new_v4().to_string()),
        ..Default::default()
    };
    let priced = vec![Line {
        item: "LAB-MAL".into(),
        quantity: 1,
        unit_price: 25_000,
    }];
    let e = c1.quote(&patient, priced, false, ctx).await.unwrap_err();
    assert!(e.to_string().contains("provider"), "{e:?}");

    // Another sponsor's account sees none of it.
    let (s, b) = call(
        &http,
        reqwest::Method::POST,
        format!("{url}/admin/users"),
        &token,
        Some(json!({"username": "other.sponsor", "password": "correct horse battery staple", "display_name": "Other", "user_type": "sponsor"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let other = anola_e2e::accounts::login(&url, "other.sponsor", "correct horse battery staple", None)
        .await
        .unwrap()
        .tokens
        .access_token;
    let (s, b) = call(&http, reqwest::Method::GET, format!("{url}/portal/api/sponsors/me"), &other, None).await;
    assert_eq!(
        (s, b["may_manage"].as_bool(), b["profile"].is_null()),
        (200, Some(true), true),
        "{b}"
    );
    for path in ["report", "sponsorships", "pre-approvals", "report.csv"] {
        let (s, _) = call(
            &http,
            reqwest::Method::GET,
            format!("{url}/portal/api/sponsors/hope/{path}"),
            &other,
            None,
        )
        .await;
        assert_eq!(s, 403, "{path}");
    }
    audit_ok(&http, &url, &token).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pre_approval_reaches_a_posted_charge_and_expiry_returns_the_rest_once() {
    let ferret = Ferret::start();
    let db = unique_db("sponsorpa");
    let env = [("ANOLA_SWEEP_INTERVAL_SECS", "1")];
    let port_a = free_port();
    let a = ServerProc::start(port_a, ferret.uri(), &db, &env);
    let (pb, ua) = (free_port(), a.url());
    let b = ServerProc::start(pb, ferret.uri(), &db, &env);
    let ub = b.url();
    let http = reqwest::Client::new();
    let token = admin_token(&ua).await;
    set_prices(&http, &ua, &token).await;
    sponsor_with_funds(&http, &ub, &token).await;

    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_w1, doc) = enrolled(d1.path(), &ua, &clinic, Role::Clinician, None).await;
    let (_w2, desk) = enrolled(d2.path(), &ub, &clinic, Role::FrontDesk, None).await;
    let fields: PatientFields =
        serde_json::from_value(json!({"given_name": "Baraka", "family_name": "Mwangi", "date_of_birth": "1985-03-02"})).unwrap();
    let patient = desk.register_patient(fields).unwrap().id.to_string();
    desk.sync_now().await.unwrap();
    desk.refresh_prices().await.unwrap();

    // S1: anything above 1,000.00 needs a pre-approval. S2: lab tests, ending in four seconds.
    let now = now_ms();
    let (s1, s2) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, ends, body) in [
        (
            s1,
            now + 60 * DAY,
            json!({"caps": {"pre_approval_above": 100_000}, "coverage": {"services": ["procedure", "consultation"]}, "allocation": 1_000_000}),
        ),
        (
            s2,
            now + 4_000,
            json!({"coverage": {"services": ["lab_test"]}, "allocation": 100_000}),
        ),
    ] {
        let mut spec = json!({"id": id, "patient": patient, "programme": "Surgery fund", "country": "KE", "kind": "full",
                              "starts_at": now - 1_000, "ends_at": ends, "recurrence": "one_time", "activate": true});
        for (k, v) in body.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let (s, b) = call(
            &http,
            reqwest::Method::POST,
            format!("{ua}/portal/api/sponsors/hope/sponsorships"),
            &token,
            Some(spec),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }

    // Without a pre-approval, the surgery is the patient's: the quote says why.
    let surgery = vec![Line {
        item: "SURG".into(),
        quantity: 1,
        unit_price: 500_000,
    }];
    let q = desk
        .quote(&patient, surgery.clone(), false, ChargeContext::default())
        .await
        .unwrap();
    assert_eq!(q.desk_amount, 500_000);
    assert_eq!(q.coverage[0].answer.lines[0].reasons[0].code(), "pre_approval_required");

    // The clinician asks; the sponsor approves in the portal; the device sees it.
    let pa = Uuid::now_v7();
    let asked = doc
        .ask_pre_approval(NewPreApproval {
            id: pa,
            sponsorship: s1,
            patient: patient.clone(),
            provider: None,
            lines: vec![Line {
                item: "SURG".into(),
                quantity: 1,
                unit_price: 500_000,
            }],
            diagnoses: vec!["K40.9".into()],
            note: "inguinal hernia repair".into(),
            valid_days: 14,
        })
        .await
        .unwrap();
    assert_eq!(
        asked
            .view
            .as_ref()
            .map(|v| serde_json::to_value(&v.state).unwrap()["state"].clone()),
        Some(json!("pending"))
    );
    // A front-desk device may not ask.
    let refused = desk.ask_pre_approval(asked.request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), "forbidden");
    let (s, list) = call(
        &http,
        reqwest::Method::GET,
        format!("{ub}/portal/api/sponsors/hope/pre-approvals"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, list[0]["id"].as_str()), (200, Some(pa.to_string().as_str())), "{list}");
    let decide = |approve: bool| json!({"approve": approve, "comment": "approved for the hernia repair"});
    let path = format!("{ub}/portal/api/sponsors/hope/pre-approvals/{pa}/decision");
    let (s, v) = call(&http, reqwest::Method::POST, path.clone(), &token, Some(decide(true))).await;
    assert_eq!(
        (s, v["state"]["state"].as_str(), v["state"]["amount"].as_u64()),
        (200, Some("approved"), Some(500_000)),
        "{v}"
    );
    let (s, _) = call(&http, reqwest::Method::POST, path.clone(), &token, Some(decide(true))).await;
    assert_eq!(s, 200, "the same decision again is the same answer");
    let (s, v) = call(&http, reqwest::Method::POST, path, &token, Some(decide(false))).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("pre_approval_decided")), "{v}");
    let seen = doc.pre_approval(pa).await.unwrap();
    assert_eq!(serde_json::to_value(&seen.view.unwrap().state).unwrap()["state"], "approved");
    let covers = desk.sponsorships(&patient).await.unwrap();
    let held = covers.iter().find(|c| c.sponsorship == s1).unwrap();
    assert_eq!(held.available, 500_000, "the hold keeps 5,000.00 aside");

    // The charge posts against the hold, once.
    let ctx = ChargeContext {
        pre_approval: Some(pa),
        ..Default::default()
    };
    let q = desk.quote(&patient, surgery.clone(), false, ctx.clone()).await.unwrap();
    assert_eq!(q.desk_amount, 0);
    let req = ChargeRequest {
        id: Uuid::now_v7(),
        patient: patient.clone(),
        lines: vec![Line {
            item: "SURG".into(),
            quantity: 1,
            unit_price: 500_000,
        }],
        desk: Desk::Owed,
        desk_amount: 0,
        pin: None,
        visit: None,
        offline: None,
        provider: None,
        diagnoses: vec!["K40.9".into()],
        pre_approval: Some(pa),
    };
    let charged = desk.charge(req.clone()).await.unwrap();
    assert_eq!(paid(&charged.receipt.parts, &[Source::PreApproved]), 500_000);
    assert_eq!(
        desk.charge(req.clone()).await.unwrap().receipt.id,
        charged.receipt.id,
        "a retry gets the receipt"
    );
    let mut again = req.clone();
    again.id = Uuid::now_v7();
    let e = desk.charge(again).await.unwrap_err();
    assert_eq!(e.code(), "money_refused", "{e:?}");
    assert!(e.to_string().contains("pre_approval"), "{e}");
    let seen = doc.pre_approval(pa).await.unwrap();
    assert_eq!(serde_json::to_value(&seen.view.unwrap().state).unwrap()["state"], "used");

    // S2 pays a lab test, then its term ends: both processes sweep, one is killed meanwhile; the
    // unused 750.00 goes back to the sponsor once.
    let lab = ChargeRequest {
        id: Uuid::now_v7(),
        lines: vec![Line {
            item: "LAB-MAL".into(),
            quantity: 1,
            unit_price: 25_000,
        }],
        pre_approval: None,
        diagnoses: vec![],
        ..req
    };
    let paid_lab = desk.charge(lab).await.unwrap();
    assert_eq!(paid(&paid_lab.receipt.parts, &[Source::Sponsored]), 25_000);
    let (_, before) = call(&http, reqwest::Method::GET, format!("{ua}/money/accounts/GW-hope"), &token, None).await;
    let before: u64 = before["available"].as_str().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    a.kill();
    let a = ServerProc::start(port_a, ferret.uri(), &db, &env);
    let mut report = Value::Null;
    for _ in 0..100 {
        let (_, r) = call(
            &http,
            reqwest::Method::GET,
            format!("{ub}/portal/api/sponsors/hope/sponsorships"),
            &token,
            None,
        )
        .await;
        report = r;
        let s2row = report
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["row"]["id"] == json!(s2))
            .unwrap()
            .clone();
        if s2row["row"]["status"] == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s2row = report.as_array().unwrap().iter().find(|x| x["row"]["id"] == json!(s2)).unwrap();
    assert_eq!(
        (
            s2row["row"]["status"].as_str(),
            s2row["row"]["returned"].as_u64(),
            s2row["row"]["held"].as_u64()
        ),
        (Some("expired"), Some(75_000), Some(0)),
        "{s2row}"
    );
    // More sweeps on both processes change nothing.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (_, after) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/money/accounts/GW-hope", a.url()),
        &token,
        None,
    )
    .await;
    let after: u64 = after["available"].as_str().unwrap().parse().unwrap();
    assert_eq!(after - before, 75_000, "returned once");
    let (_, r) = call(
        &http,
        reqwest::Method::GET,
        format!("{ub}/portal/api/sponsors/hope/report"),
        &token,
        None,
    )
    .await;
    assert_eq!((r["returned"].as_u64(), r["difference"].as_i64()), (Some(75_000), Some(0)), "{r}");
    let (_, notices) = call(
        &http,
        reqwest::Method::GET,
        format!("{ub}/portal/api/sponsors/hope/notices"),
        &token,
        None,
    )
    .await;
    let expired = notices.as_array().unwrap().iter().filter(|n| n["kind"] == "expired").count();
    assert_eq!(expired, 1, "{notices}");
    // A success story: written by the clinician, shown to the sponsor only once they asked for
    // stories and only while the patient consents.
    doc.add_story(s1, "The repair went well; back at work in two weeks.").await.unwrap();
    let stories = |http: reqwest::Client, ub: String, token: String| async move {
        http.get(format!("{ub}/portal/api/sponsors/hope/stories"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let st = stories(http.clone(), ub.clone(), token.clone()).await;
    assert_eq!(
        (st["enabled"].as_bool(), st["stories"].as_array().map(Vec::len)),
        (Some(false), Some(0)),
        "{st}"
    );
    let profile = json!({"id": "hope", "name": "Hope Foundation", "kind": "foundation", "country": "KE", "currency": "KES",
        "reports": {"frequency": "monthly", "detailed": true, "success_stories": true}});
    let (s, _) = call(
        &http,
        reqwest::Method::PUT,
        format!("{ub}/portal/api/sponsors/hope"),
        &token,
        Some(profile),
    )
    .await;
    assert_eq!(s, 200);
    let st = stories(http.clone(), ub.clone(), token.clone()).await;
    assert_eq!(
        (st["stories"].as_array().map(Vec::len), st["withheld"].as_u64()),
        (Some(0), Some(1)),
        "no consent yet: {st}"
    );
    let (s, b) = call(
        &http,
        reqwest::Method::POST,
        format!("{ub}/portal/api/patients/{patient}/account"),
        &token,
        Some(json!({"username": "baraka", "password": "my own health chart 2027"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let me = anola_e2e::accounts::login(&ub, "baraka", "my own health chart 2027", None)
        .await
        .unwrap()
        .tokens
        .access_token;
    let consents = json!({"data_processing": true, "sharing": false, "research_contact": false, "sponsor_stories": true});
    let (s, b) = call(
        &http,
        reqwest::Method::PUT,
        format!("{ub}/portal/api/me/consents"),
        &me,
        Some(consents),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let st = stories(http.clone(), ub.clone(), token.clone()).await;
    assert_eq!(
        st["stories"][0]["text"].as_str(),
        Some("The repair went well; back at work in two weeks."),
        "{st}"
    );
    // The patient sees who sponsors them (and the view is in the access history).
    let (s, mine) = call(&http, reqwest::Method::GET, format!("{ub}/portal/api/me/sponsorships"), &me, None).await;
    assert_eq!((s, mine[0]["sponsor"].as_str()), (200, Some("Hope Foundation")), "{mine}");
    audit_ok(&http, &a.url(), &token).await;
    audit_ok(&http, &ub, &token).await;
}
