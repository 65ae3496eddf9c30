//! Money at the clinic from outside, over two server processes on one FerretDB: wallets, the
//! price list, charging by waterfall with the patient's PIN, retries and changed bodies, bad
//! input with its own code and field, refunds by role, two devices spending allowances of one
//! wallet offline, the day-close and a withdrawal waiting for approval — and the auditor clean
//! after all of it.

use anola_e2e::accounts::{admin_token, colleague_on, raw_device, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::access::Role;
use serde_json::{json, Value};
use uuid::Uuid;

async fn call(req: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

struct Staff<'a> {
    dev: &'a RawDevice,
    http: reqwest::Client,
}

impl Staff<'_> {
    async fn post(&self, url: String, body: Value) -> (u16, Value) {
        call(self.dev.sign(self.http.post(url)), Some(body)).await
    }
    async fn put(&self, url: String, body: Value) -> (u16, Value) {
        call(self.dev.sign(self.http.put(url)), Some(body)).await
    }
    async fn get(&self, url: String) -> (u16, Value) {
        call(self.dev.sign(self.http.get(url)), None).await
    }
}

async fn admin(http: &reqwest::Client, token: &str, method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
    call(http.request(method, url).bearer_auth(token), Some(body)).await
}

fn wallet<'a>(w: &'a Value, prefix: &str) -> &'a Value {
    w["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"].as_str().unwrap().starts_with(prefix))
        .unwrap()
}

fn bill(patient: &str, desk: Value, desk_amount: u64, pin: Option<&str>) -> Value {
    let mut b = json!({
        "id": Uuid::now_v7(), "patient": patient,
        "lines": [{"item": "CONS-GP", "quantity": 1, "unit_price": 100000}],
        "desk": desk, "desk_amount": desk_amount,
    });
    if let Some(p) = pin {
        b["pin"] = json!(p);
    }
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn paying_for_care_online_and_offline_moves_money_once_and_never_below_zero() {
    let ferret = Ferret::start();
    let db = unique_db("clinicmoney");
    let a = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let b = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let (ua, ub) = (a.url(), b.url());
    let http = reqwest::Client::new();
    let token = admin_token(&ua).await;
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let fd_dev = raw_device(&ua, &clinic, Role::FrontDesk, Role::FrontDesk, None).await;
    let fd2_dev = raw_device(&ub, &clinic, Role::FrontDesk, Role::FrontDesk, None).await;
    let boss_dev = colleague_on(&ua, &fd_dev, Role::ClinicAdmin).await;
    let doc_dev = colleague_on(&ua, &fd_dev, Role::Clinician).await;
    let fd = Staff {
        dev: &fd_dev,
        http: http.clone(),
    };
    let fd2 = Staff {
        dev: &fd2_dev,
        http: http.clone(),
    };
    let boss = Staff {
        dev: &boss_dev,
        http: http.clone(),
    };
    let doc = Staff {
        dev: &doc_dev,
        http: http.clone(),
    };
    let me = format!("h.front_desk.{clinic}");
    let patient = format!("p-{}", Uuid::new_v4().simple());

    // The price list (administrators) and the platform fee; devices read it.
    for (code, price) in [("CONS-GP", 100_000), ("LAB-MAL", 25_000)] {
        let item = json!({"code": code, "name": code, "kind": "consultation", "price": price, "currency": "KES", "active": true});
        let (s, body) = admin(&http, &token, reqwest::Method::PUT, format!("{ua}/money/prices/{code}"), item).await;
        assert_eq!(s, 204, "{body}");
    }
    let (s, _) = admin(
        &http,
        &token,
        reqwest::Method::PUT,
        format!("{ub}/money/fee-rate"),
        json!({"bps": 150}),
    )
    .await;
    assert_eq!(s, 204);
    let (s, prices) = fd2.get(format!("{ub}/money/prices")).await;
    assert_eq!(
        (s, prices["items"].as_array().unwrap().len(), prices["fee_bps"].as_u64()),
        (200, 2, Some(150))
    );

    // Wallets: the patient's personal wallet (front desk) and a sponsored one (administrator).
    let (s, body) = fd
        .post(format!("{ua}/money/patients/{patient}/wallet"), json!({"currency": "KES"}))
        .await;
    assert_eq!(s, 201, "{body}");
    let sw = format!("SW-{}", Uuid::new_v4().simple());
    let (s, body) = admin(
        &http,
        &token,
        reqwest::Method::POST,
        format!("{ub}/admin/money/wallets"),
        json!({"id": sw, "kind": "sponsored", "currency": "KES", "owner": patient}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    admin(
        &http,
        &token,
        reqwest::Method::POST,
        format!("{ua}/money/accounts"),
        json!({"id": "EXT-sponsor-bank", "kind": "outside", "currency": "KES"}),
    )
    .await;
    let fund = json!({"id": Uuid::now_v7(), "command": {"op": "transfer", "kind": "sponsorship", "legs": [{"debit": "EXT-sponsor-bank", "credit": sw, "amount": 30_000}]}});
    let (s, body) = admin(&http, &token, reqwest::Method::POST, format!("{ua}/money/requests"), fund).await;
    assert_eq!(s, 200, "{body}");

    // A cash deposit, retried on the other server and duplicated: in once.
    let dep = json!({"id": Uuid::now_v7(), "patient": patient, "amount": 50_000, "method": {"method": "cash"}});
    let first = fd.post(format!("{ua}/money/deposits"), dep.clone()).await;
    assert_eq!(first.0, 201, "{}", first.1);
    let (again, dup) = tokio::join!(
        fd.post(format!("{ub}/money/deposits"), dep.clone()),
        fd.post(format!("{ua}/money/deposits"), dep.clone())
    );
    assert_eq!((again.1.clone(), dup.1.clone()), (first.1.clone(), first.1.clone()));

    // Bad deposits: each its own code and field, nothing moved.
    for (body, status, code, field) in [
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": 0, "method": {"method": "cash"}}),
            422,
            "invalid_amount",
            None,
        ),
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": -5, "method": {"method": "cash"}}),
            400,
            "invalid_request",
            Some("amount"),
        ),
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": "12.50", "method": {"method": "cash"}}),
            400,
            "invalid_request",
            Some("amount"),
        ),
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": 1u64 << 60, "method": {"method": "cash"}}),
            422,
            "overflow",
            None,
        ),
        (
            json!({"id": Uuid::now_v7(), "patient": "nobody", "amount": 10, "method": {"method": "cash"}}),
            422,
            "unknown_account",
            None,
        ),
        (
            json!({"id": dep["id"], "patient": patient, "amount": 50_001, "method": {"method": "cash"}}),
            409,
            "id_reused",
            None,
        ),
    ] {
        let (s, r) = fd.post(format!("{ub}/money/deposits"), body.clone()).await;
        assert_eq!((s, r["code"].as_str()), (status, Some(code)), "{body} → {r}");
        if let Some(f) = field {
            assert_eq!(r["field"].as_str(), Some(f), "{r}");
        }
    }
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert_eq!(wallet(&w, "PW-")["available"], 50_000, "{w}");
    assert_eq!(wallet(&w, "SW-")["available"], 30_000, "{w}");
    assert_eq!(w["pin"]["set"], false);

    // The patient sets a PIN; a quote shows the waterfall.
    let (s, body) = fd.put(format!("{ua}/money/patients/{patient}/pin"), json!({"pin": "4826"})).await;
    assert_eq!(s, 204, "{body}");
    let (s, body) = fd.put(format!("{ua}/money/patients/{patient}/pin"), json!({"pin": "12a4"})).await;
    assert_eq!((s, body["field"].as_str()), (400, Some("pin")));
    let cash = json!({"method": "cash", "drawer": me});
    let (s, q) = fd
        .post(format!("{ub}/money/quote"), bill(&patient, cash.clone(), 0, Some("x")))
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(
        (q["total"].as_u64(), q["desk_amount"].as_u64(), q["fee"].as_u64()),
        (Some(100_000), Some(20_000), Some(1_500))
    );

    // A wrong PIN: refused, attempts counted, nothing charged.
    let wrong = bill(&patient, cash.clone(), 20_000, Some("1111"));
    let (s, r) = fd.post(format!("{ua}/money/charges"), wrong).await;
    assert_eq!(
        (s, r["code"].as_str(), r["field"].as_str()),
        (403, Some("pin_incorrect"), Some("pin")),
        "{r}"
    );
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert_eq!(
        (wallet(&w, "PW-")["available"].as_i64(), w["pin"]["attempts_left"].as_u64()),
        (Some(50_000), Some(4))
    );

    // The right PIN: sponsored first, then personal, then cash; retried on B and duplicated.
    let paid = bill(&patient, cash.clone(), 20_000, Some("4826"));
    let (s, receipt) = fd.post(format!("{ua}/money/charges"), paid.clone()).await;
    assert_eq!(s, 201, "{receipt}");
    let parts: Vec<(String, u64)> = receipt["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["source"].as_str().unwrap().to_owned(), p["amount"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        parts,
        vec![("sponsored".into(), 30_000), ("personal".into(), 50_000), ("cash".into(), 20_000)]
    );
    let (r1, r2) = tokio::join!(
        fd.post(format!("{ub}/money/charges"), paid.clone()),
        fd.post(format!("{ua}/money/charges"), paid.clone())
    );
    assert_eq!((&r1.1, &r2.1), (&receipt, &receipt), "a retry gets the first receipt");
    let mut changed = paid.clone();
    changed["desk_amount"] = json!(19_999);
    let (s, r) = fd.post(format!("{ub}/money/charges"), changed).await;
    assert_eq!((s, r["code"].as_str()), (409, Some("id_reused")), "{r}");
    let (s, r) = fd.get(format!("{ub}/money/charges/{}", paid["id"].as_str().unwrap())).await;
    assert_eq!((s, &r), (200, &receipt));

    // Bad bills: their own codes and fields; nothing half-applied.
    let mut stale = bill(&patient, cash.clone(), 5, None);
    let (s, r) = fd.post(format!("{ua}/money/charges"), stale.clone()).await;
    assert_eq!(
        (s, r["code"].as_str(), r["field"].as_str()),
        (409, Some("quote_changed"), Some("desk_amount")),
        "{r}"
    );
    stale["lines"][0]["unit_price"] = json!("1000.00");
    let (s, r) = fd.post(format!("{ua}/money/charges"), stale.clone()).await;
    assert_eq!((s, r["field"].as_str()), (400, Some("lines[0].unit_price")), "{r}");
    stale["lines"][0]["unit_price"] = json!(90_000);
    let (s, r) = fd.post(format!("{ua}/money/charges"), stale.clone()).await;
    assert_eq!(
        (s, r["code"].as_str(), r["field"].as_str()),
        (409, Some("price_changed"), Some("lines[0].unit_price")),
        "{r}"
    );
    stale["lines"][0]["item"] = json!("NOPE");
    let (s, r) = fd.post(format!("{ua}/money/charges"), stale.clone()).await;
    assert_eq!(
        (s, r["code"].as_str(), r["field"].as_str()),
        (422, Some("unknown_item"), Some("lines[0].item")),
        "{r}"
    );
    let mut other_drawer = bill(&patient, json!({"method": "cash", "drawer": "someone-else"}), 100_000, None);
    let (s, r) = fd.post(format!("{ua}/money/charges"), other_drawer.clone()).await;
    assert_eq!((s, r["field"].as_str()), (400, Some("desk.drawer")), "{r}");
    other_drawer["desk"] = cash.clone();
    let (s, _) = doc.post(format!("{ua}/money/charges"), other_drawer).await;
    assert_eq!(s, 403, "clinicians do not take payments");
    let (_, w) = fd.get(format!("{ua}/money/patients/{patient}/wallets")).await;
    assert_eq!(
        (wallet(&w, "PW-")["available"].as_i64(), wallet(&w, "SW-")["available"].as_i64()),
        (Some(0), Some(0))
    );

    // Refunds need a role: not the front desk for a patient's request; the administrator, once.
    let charge_id = paid["id"].as_str().unwrap();
    let refund = json!({"id": Uuid::now_v7(), "reason": "patient_request"});
    let (s, _) = fd.post(format!("{ua}/money/charges/{charge_id}/refund"), refund.clone()).await;
    assert_eq!(s, 403);
    let (s, r) = boss.post(format!("{ub}/money/charges/{charge_id}/refund"), refund.clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["refunds"][0][1], 100_000);
    let (s, r2) = boss.post(format!("{ua}/money/charges/{charge_id}/refund"), refund.clone()).await;
    assert_eq!((s, &r2), (200, &r), "a retried refund gets the same answer");
    let (s, r) = boss
        .post(
            format!("{ua}/money/charges/{charge_id}/refund"),
            json!({"id": Uuid::now_v7(), "reason": "patient_request"}),
        )
        .await;
    assert_eq!((s, r["code"].as_str()), (422, Some("reversal_exceeds")), "{r}");
    let (_, w) = fd.get(format!("{ua}/money/patients/{patient}/wallets")).await;
    assert_eq!(
        (wallet(&w, "PW-")["available"].as_i64(), wallet(&w, "SW-")["available"].as_i64()),
        (Some(50_000), Some(30_000))
    );

    // Offline: two devices each reserve an allowance of the sponsored wallet (300.00 in it).
    let reserve = |id: Uuid| json!({"id": id, "patient": patient, "wallet": sw, "total": 20_000, "per_charge": 20_000, "max_count": 2, "expires_at": anola_e2e::now_ms() + 3_600_000});
    let (a1, a2) = (Uuid::now_v7(), Uuid::now_v7());
    let (g1, g2) = tokio::join!(
        fd.post(format!("{ua}/money/allowances"), reserve(a1)),
        fd2.post(format!("{ub}/money/allowances"), reserve(a2))
    );
    assert_eq!((g1.0, g2.0), (201, 201), "{} {}", g1.1, g2.1);
    let reserved = g1.1["allowance"]["reserved"].as_u64().unwrap() + g2.1["allowance"]["reserved"].as_u64().unwrap();
    assert_eq!(reserved, 30_000, "the two allowances share what the wallet held: {} {}", g1.1, g2.1);
    // Each device charges a consultation offline claiming 200.00 of its allowance; fd took
    // 800.00 cash, fd2 none. They settle at once, on different servers, each twice.
    let off = |dev: &RawDevice, allowance: Uuid, desk: Value, desk_amount: u64| {
        json!({"id": Uuid::now_v7(), "patient": patient,
               "lines": [{"item": "CONS-GP", "quantity": 1, "unit_price": 100000}],
               "desk": desk, "desk_amount": desk_amount,
               "offline": {"device": dev.device_id, "made_at": anola_e2e::now_ms(), "allowances": [{"allowance": allowance, "amount": 20_000}]}})
    };
    let me2 = format!("h.front_desk.{clinic}");
    let c1 = off(&fd_dev, a1, cash.clone(), 80_000);
    let c2 = off(&fd2_dev, a2, json!({"method": "owed"}), 0);
    let (s1, s2, s3, s4) = tokio::join!(
        fd.post(format!("{ua}/money/charges"), c1.clone()),
        fd2.post(format!("{ub}/money/charges"), c2.clone()),
        fd.post(format!("{ub}/money/charges"), c1.clone()),
        fd2.post(format!("{ua}/money/charges"), c2.clone()),
    );
    assert_eq!(
        (s1.1.clone(), s2.1.clone()),
        (s3.1.clone(), s4.1.clone()),
        "each offline charge is settled once"
    );
    let owed_total: u64 = [&s1.1, &s2.1]
        .iter()
        .flat_map(|r| r["parts"].as_array().unwrap().iter())
        .filter(|p| p["source"] == "owed")
        .map(|p| p["amount"].as_u64().unwrap())
        .sum();
    let from_allowances: u64 = [&s1.1, &s2.1]
        .iter()
        .flat_map(|r| r["parts"].as_array().unwrap().iter())
        .filter(|p| p["source"] == "allowance")
        .map(|p| p["amount"].as_u64().unwrap())
        .sum();
    assert!(from_allowances <= 30_000, "no more than the wallet held: {from_allowances}");
    assert_eq!(owed_total + from_allowances + 80_000, 200_000, "{} {}", s1.1, s2.1);
    // A device cannot settle through another's allowance or in another device's name.
    let (s, r) = fd2
        .post(format!("{ua}/money/charges"), off(&fd_dev, a1, json!({"method": "owed"}), 0))
        .await;
    assert_eq!((s, r["field"].as_str()), (400, Some("offline.device")), "{r}");
    let (s, r) = fd2
        .post(format!("{ua}/money/charges"), off(&fd2_dev, a1, json!({"method": "owed"}), 0))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["parts"][0]["source"], "owed", "another device's allowance pays nothing: {r}");
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert!(wallet(&w, "SW-")["available"].as_i64().unwrap() >= 0);
    assert_eq!(w["owed"].as_u64(), Some(owed_total + 100_000), "{w}");
    // Returns: the rest goes back once.
    for al in [a1, a2] {
        let (s, r) = fd.post(format!("{ua}/money/allowances/{al}/return"), json!({})).await;
        assert!(s == 200 || s == 403, "{r}");
    }
    let (s, r) = fd2.post(format!("{ub}/money/allowances/{a2}/return"), json!({})).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = fd2.post(format!("{ub}/money/allowances/{a1}/return"), json!({})).await;
    assert_eq!(s, 403, "{r}");
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert_eq!(wallet(&w, "SW-")["available"].as_u64().unwrap() + from_allowances, 30_000, "{w}");

    // The day-close: the drawer holds the deposit (500) and the offline cash (800); the refund
    // gave the first charge's 200 back.
    let (s, d) = fd.get(format!("{ua}/money/drawer")).await;
    assert_eq!((s, d["expected"].as_u64()), (200, Some(130_000)), "{d}");
    let (s, c) = fd
        .post(
            format!("{ub}/money/day-close"),
            json!({"id": Uuid::now_v7(), "counted": 129_500, "note": "one note short"}),
        )
        .await;
    assert_eq!(
        (s, c["expected"].as_u64(), c["difference"].as_i64()),
        (201, Some(130_000), Some(-500)),
        "{c}"
    );
    let (_, d) = fd.get(format!("{ua}/money/drawer")).await;
    assert_eq!((d["expected"].as_u64(), d["closes"].as_array().unwrap().len()), (Some(0), 1), "{d}");
    let _ = me2;

    // A withdrawal from the personal wallet: the patient's PIN, then an administrator's approval.
    let wd = json!({"id": Uuid::now_v7(), "wallet": format!("PW-{patient}"), "amount": 10_000, "to": "+254700000001", "pin": "4826"});
    let (s, r) = fd.post(format!("{ua}/money/withdrawals"), wd.clone()).await;
    assert_eq!(s, 201, "{r}");
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert_eq!(
        (wallet(&w, "PW-")["available"].as_i64(), wallet(&w, "PW-")["pending"].as_u64()),
        (Some(40_000), Some(10_000))
    );
    let wid = wd["id"].as_str().unwrap();
    let (s, r) = call(
        http.post(format!("{ua}/admin/money/withdrawals/{wid}/approve")).bearer_auth(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = call(
        http.post(format!("{ub}/admin/money/withdrawals/{wid}/approve")).bearer_auth(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "approving again is the same answer: {r}");
    let (s, r) = call(
        http.post(format!("{ub}/admin/money/withdrawals/{wid}/reject")).bearer_auth(&token),
        None,
    )
    .await;
    assert_eq!((s, r["code"].as_str()), (422, Some("hold_resolved")), "{r}");
    let (s, _) = fd.post(format!("{ua}/admin/money/withdrawals/{wid}/approve"), json!({})).await;
    assert_eq!(s, 403, "front desk cannot approve");
    let (_, w) = fd.get(format!("{ub}/money/patients/{patient}/wallets")).await;
    assert_eq!(
        (wallet(&w, "PW-")["available"].as_i64(), wallet(&w, "PW-")["pending"].as_u64()),
        (Some(40_000), Some(0))
    );
    assert!(!w["history"].as_array().unwrap().is_empty());

    // The auditor, from both processes' database.
    let (s, audit) = call(http.get(format!("{ub}/admin/ledger/audit")).bearer_auth(&token), None).await;
    assert_eq!((s, audit["ok"].as_bool()), (200, Some(true)), "{audit}");
}
