//! The ledger's HTTP API from outside (platform administrator): every bad input has its own code
//! and changes nothing, retries and duplicates move money once, a server killed mid-charge and a
//! refund racing a charge leave the ledger whole, and the auditor agrees.

use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use serde_json::{json, Value};
use uuid::Uuid;

struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn request(&self, server: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, format!("{server}/money/requests"), Some(body))
            .await
    }

    async fn available(&self, server: &str, account: &str) -> String {
        let (s, b) = self
            .call(reqwest::Method::GET, format!("{server}/money/accounts/{account}"), None)
            .await;
        assert_eq!(s, 200, "{b}");
        b["available"].as_str().unwrap().to_owned()
    }
}

fn transfer(id: Uuid, legs: Value) -> Value {
    json!({"id": id, "command": {"op": "transfer", "kind": "payment", "legs": legs}})
}

fn leg(debit: &str, credit: &str, amount: Value) -> Value {
    json!({"debit": debit, "credit": credit, "amount": amount})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_api_moves_money_once_and_refuses_bad_input_cleanly() {
    let ferret = Ferret::start();
    let db = unique_db("money");
    let a = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let b = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let (ua, ub) = (a.url(), b.url());
    let api = Api {
        http: reqwest::Client::new(),
        token: admin_token(&ua).await,
    };
    for (id, kind, currency) in [
        ("EXT-mpesa", "outside", "KES"),
        ("PW-amina", "personal", "KES"),
        ("REV-clinic", "revenue", "KES"),
        ("PW-usd", "personal", "USD"),
        ("PW-closed", "personal", "KES"),
    ] {
        let (s, body) = api
            .call(
                reqwest::Method::POST,
                format!("{ua}/money/accounts"),
                Some(json!({"id": id, "kind": kind, "currency": currency})),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, body) = api
        .call(
            reqwest::Method::POST,
            format!("{ub}/money/accounts"),
            Some(json!({"id": "PW-amina", "kind": "personal", "currency": "KES"})),
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (409, Some("account_exists")), "{body}");
    let (s, body) = api
        .call(
            reqwest::Method::POST,
            format!("{ua}/money/accounts"),
            Some(json!({"id": "XX-1", "kind": "personal", "currency": "KES"})),
        )
        .await;
    assert_eq!((s, body["field"].as_str()), (400, Some("id")), "{body}");

    // A deposit, retried on the other server and duplicated: applied once, the same answer.
    let deposit = transfer(Uuid::now_v7(), json!([leg("EXT-mpesa", "PW-amina", json!(100_000))]));
    let first = api.request(&ua, deposit.clone()).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let (again, dup) = tokio::join!(api.request(&ub, deposit.clone()), api.request(&ua, deposit.clone()));
    assert_eq!((again.clone(), dup), (first.clone(), first.clone()));
    assert_eq!(api.available(&ub, "PW-amina").await, "100000");
    // The same id with another body.
    let mut changed = deposit.clone();
    changed["command"]["legs"][0]["amount"] = json!(1);
    let (s, body) = api.request(&ua, changed).await;
    assert_eq!((s, body["code"].as_str()), (409, Some("id_reused")), "{body}");

    // Bad input: each its own code, nothing applied.
    api.call(
        reqwest::Method::PUT,
        format!("{ua}/money/accounts/PW-closed/status"),
        Some(json!({"status": "closed"})),
    )
    .await;
    let bad: Vec<(Value, u16, &str)> = vec![
        (json!([leg("PW-amina", "REV-clinic", json!(0))]), 422, "invalid_amount"),
        (json!([leg("PW-amina", "REV-clinic", json!(-5))]), 400, "invalid_request"),
        (json!([leg("PW-amina", "REV-clinic", json!(12.5))]), 400, "invalid_request"),
        (json!([leg("PW-amina", "REV-clinic", json!("12.50"))]), 400, "invalid_request"),
        (
            json!([leg("PW-amina", "REV-clinic", json!(18446744073709551616u128 as f64))]),
            400,
            "invalid_request",
        ),
        (
            json!([
                leg("EXT-mpesa", "PW-amina", json!(u64::MAX)),
                leg("EXT-mpesa", "REV-clinic", json!(1))
            ]),
            422,
            "overflow",
        ),
        (json!([leg("PW-amina", "PW-usd", json!(10))]), 422, "currency_mismatch"),
        (json!([leg("PW-amina", "PW-nobody", json!(10))]), 422, "unknown_account"),
        (json!([leg("EXT-mpesa", "PW-closed", json!(10))]), 422, "account_not_active"),
        (json!([leg("PW-amina", "REV-clinic", json!(100_001))]), 422, "insufficient_funds"),
        (json!([]), 422, "leg_count"),
    ];
    for (legs, status, code) in bad {
        let (s, body) = api.request(&ua, transfer(Uuid::now_v7(), legs.clone())).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{legs}: {body}");
        if status == 400 {
            assert!(
                body["field"].as_str().is_some_and(|f| f.contains("amount") || f.contains("legs")),
                "names the field: {body}"
            );
        }
    }
    assert_eq!(api.available(&ua, "PW-amina").await, "100000", "nothing half-applied");

    // A server killed mid-charge: the charge is retried on the other server, and lands once.
    let charge = transfer(Uuid::now_v7(), json!([leg("PW-amina", "REV-clinic", json!(30_000))]));
    let in_flight = {
        let (api_http, token, url, c) = (api.http.clone(), api.token.clone(), ua.clone(), charge.clone());
        tokio::spawn(async move {
            api_http
                .post(format!("{url}/money/requests"))
                .bearer_auth(token)
                .json(&c)
                .send()
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    a.kill();
    let _ = in_flight.await;
    let (s, body) = api.request(&ub, charge.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(api.available(&ub, "PW-amina").await, "70000");

    // A refund racing a charge: both decided in one order, the wallet never below zero.
    let refund = json!({"id": Uuid::now_v7(), "command": {"op": "reverse", "of": charge["id"], "reason": "service_not_given"}});
    let big = transfer(Uuid::now_v7(), json!([leg("PW-amina", "REV-clinic", json!(90_000))]));
    let c = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let uc = c.url();
    let ((s1, b1), (s2, b2)) = tokio::join!(api.request(&ub, refund), api.request(&uc, big));
    assert_eq!(s1, 200, "{b1}");
    // The charge fits only if the refund was decided first.
    let left = api.available(&ub, "PW-amina").await;
    match s2 {
        200 => assert_eq!(left, "10000", "{b2}"),
        422 => assert_eq!((b2["code"].as_str(), left.as_str()), (Some("insufficient_funds"), "100000")),
        other => panic!("{other}: {b2}"),
    }

    // The auditor agrees.
    let (s, report) = api.call(reqwest::Method::GET, format!("{ub}/admin/ledger/audit"), None).await;
    assert_eq!((s, report["ok"].as_bool()), (200, Some(true)), "{report}");
}
