//! Mobile money through the M-Pesa adapter against a local simulator of Daraja (nothing reaches
//! the outside): an STK-push deposit lands once even when the callback comes twice; a payer who
//! cancels leaves the wallet as it was; a forged callback is refused; an approved withdrawal is
//! paid out, and one the provider fails is reversed into the wallet.

use anola_e2e::accounts::{admin_token, raw_device};
use anola_e2e::ferret::Ferret;
use anola_e2e::mpesa_sim::{self, MpesaSim};
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::access::Role;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn until(mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not reached in 5 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn deposits_and_payouts_go_through_the_provider_once() {
    let sim = MpesaSim::start().await;
    let ferret = Ferret::start();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let server = ServerProc::start(
        port,
        ferret.uri(),
        &unique_db("mpesa"),
        &[
            ("ANOLA_MPESA_URL", sim.url.as_str()),
            ("ANOLA_MPESA_CONSUMER_KEY", mpesa_sim::KEY),
            ("ANOLA_MPESA_CONSUMER_SECRET", mpesa_sim::SECRET),
            ("ANOLA_MPESA_SHORTCODE", mpesa_sim::SHORTCODE),
            ("ANOLA_MPESA_PASSKEY", mpesa_sim::PASSKEY),
            ("ANOLA_PUBLIC_URL", public.as_str()),
        ],
    );
    let url = server.url();
    let http = reqwest::Client::new();
    let token = admin_token(&url).await;
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let fd = raw_device(&url, &clinic, Role::FrontDesk, Role::FrontDesk, None).await;
    let patient = format!("p-{}", Uuid::new_v4().simple());
    let (s, _) = call(
        fd.sign(http.post(format!("{url}/money/patients/{patient}/wallet")))
            .json(&json!({"currency": "KES"})),
    )
    .await;
    assert_eq!(s, 201);
    call(
        fd.sign(http.put(format!("{url}/money/patients/{patient}/pin")))
            .json(&json!({"pin": "1357"})),
    )
    .await;
    let available = async || -> i64 {
        let (_, w) = call(fd.sign(http.get(format!("{url}/money/patients/{patient}/wallets")))).await;
        w["wallets"][0]["available"].as_i64().unwrap()
    };

    // A deposit of 500.00 whose callback arrives twice: credited once. Asking again does not
    // push the phone a second time.
    let dep = json!({"id": Uuid::now_v7(), "patient": patient, "amount": 50_000, "phone": "254712345679"});
    let (s, c) = call(fd.sign(http.post(format!("{url}/money/deposits/mobile"))).json(&dep)).await;
    assert_eq!((s, c["state"]["state"].as_str()), (202, Some("pushed")), "{c}");
    let (s, again) = call(fd.sign(http.post(format!("{url}/money/deposits/mobile"))).json(&dep)).await;
    assert_eq!(s, 200, "{again}");
    let id = dep["id"].as_str().unwrap();
    until(async || sim.callbacks().len() >= 2).await;
    let (_, c) = call(fd.sign(http.get(format!("{url}/money/deposits/mobile/{id}")))).await;
    assert_eq!(c["state"]["state"], "paid", "{c}");
    assert_eq!(available().await, 50_000);
    assert_eq!(sim.requests().len(), 1, "one STK push");
    assert!(sim.callbacks().iter().all(|(_, s)| *s == 200));

    // The payer cancels: failed, nothing moved.
    let cancel = json!({"id": Uuid::now_v7(), "patient": patient, "amount": 20_000, "phone": "254712345670"});
    let (s, _) = call(fd.sign(http.post(format!("{url}/money/deposits/mobile"))).json(&cancel)).await;
    assert_eq!(s, 202);
    let cid = cancel["id"].as_str().unwrap().to_owned();
    until(async || {
        let (_, c) = call(fd.sign(http.get(format!("{url}/money/deposits/mobile/{cid}")))).await;
        c["state"]["state"] == "failed"
    })
    .await;
    assert_eq!(available().await, 50_000);

    // Bad input: fractions of a shilling, a bad phone, a wallet that is not the patient's.
    for (body, field) in [
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": 1_050, "phone": "254712345678"}),
            "amount",
        ),
        (
            json!({"id": Uuid::now_v7(), "patient": patient, "amount": 1_000, "phone": "07-12"}),
            "phone",
        ),
    ] {
        let (s, r) = call(fd.sign(http.post(format!("{url}/money/deposits/mobile"))).json(&body)).await;
        assert!(s == 400 || s == 422, "{r}");
        assert_eq!(r["field"].as_str(), Some(field), "{r}");
    }
    // A forged callback (wrong token) is refused and changes nothing.
    let forged = json!({"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 0, "ResultDesc": "ok",
        "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 200.0}, {"Name": "MpesaReceiptNumber", "Value": "FAKE"}]}}}});
    let (s, _) = call(
        http.post(format!("{url}/money/callbacks/mpesa/stk/{cid}/{}", "0".repeat(32)))
            .json(&forged),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(available().await, 50_000);

    // Payouts: approved withdrawals go out; one the provider fails comes back to the wallet.
    for (to, want) in [("254700000001", "done"), ("254700000000", "returned")] {
        let wd = json!({"id": Uuid::now_v7(), "wallet": format!("PW-{patient}"), "amount": 10_000, "to": to, "pin": "1357"});
        let (s, r) = call(fd.sign(http.post(format!("{url}/money/withdrawals"))).json(&wd)).await;
        assert_eq!(s, 201, "{r}");
        let wid = wd["id"].as_str().unwrap().to_owned();
        let (s, r) = call(
            http.post(format!("{url}/admin/money/withdrawals/{wid}/approve"))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        until(async || {
            let (_, p) = call(http.post(format!("{url}/admin/money/withdrawals/{wid}/payout")).bearer_auth(&token)).await;
            p["state"] == want
        })
        .await;
    }
    assert_eq!(available().await, 40_000, "one payout out, the failed one back");
    let (_, audit) = call(http.get(format!("{url}/admin/ledger/audit")).bearer_auth(&token)).await;
    assert_eq!(audit["ok"], true, "{audit}");
}
