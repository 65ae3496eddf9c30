//! A local simulator of M-Pesa's Daraja API, for tests (nothing reaches the outside): OAuth
//! client credentials, STK push (checks the password, amount and phone, answers at once, then
//! calls the request's CallBackURL as Daraja does) and B2C payment requests (calls the
//! ResultURL). The payer's phone decides the outcome: ending in 0, the payer cancels (1032);
//! ending in 9, the callback is delivered twice. A payout to a number ending in 0 fails (2001).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub const KEY: &str = "sim-consumer-key";
pub const SECRET: &str = "sim-consumer-secret";
pub const SHORTCODE: &str = "174379";
pub const PASSKEY: &str = "sim-passkey";

#[derive(Default)]
struct Shared {
    requests: Vec<Value>,
    callbacks: Vec<(String, u16)>,
    next: u64,
}

#[derive(Clone)]
pub struct MpesaSim {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl MpesaSim {
    /// Starts the simulator on 127.0.0.1 (a free port).
    pub async fn start() -> MpesaSim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sim = MpesaSim {
            url,
            shared: Arc::new(Mutex::new(Shared::default())),
        };
        let app = Router::new()
            .route("/oauth/v1/generate", get(oauth))
            .route("/mpesa/stkpush/v1/processrequest", post(stk))
            .route("/mpesa/b2c/v3/paymentrequest", post(b2c))
            .with_state(sim.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sim
    }

    /// Every accepted request body, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Every callback delivered: (URL, the status our server answered).
    pub fn callbacks(&self) -> Vec<(String, u16)> {
        self.shared.lock().unwrap().callbacks.clone()
    }

    fn next(&self) -> u64 {
        let mut s = self.shared.lock().unwrap();
        s.next += 1;
        s.next
    }

    fn deliver(&self, url: String, body: Value, times: usize) {
        let me = self.clone();
        tokio::spawn(async move {
            for _ in 0..times {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let status = match reqwest::Client::new().post(&url).json(&body).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                me.shared.lock().unwrap().callbacks.push((url.clone(), status));
            }
        });
    }
}

fn bad(msg: &str) -> axum::response::Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"requestId": "sim", "errorCode": "400.002.02", "errorMessage": msg})),
    )
        .into_response()
}

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer sim-access-token")
}

async fn oauth(h: HeaderMap, Query(q): Query<std::collections::HashMap<String, String>>) -> axum::response::Response {
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{SECRET}"))
    );
    if q.get("grant_type").map(String::as_str) != Some("client_credentials")
        || h.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str())
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"errorMessage": "Invalid credentials"}))).into_response();
    }
    Json(json!({"access_token": "sim-access-token", "expires_in": "3599"})).into_response()
}

fn phone_ok(p: &str) -> bool {
    p.len() == 12 && p.starts_with("254") && p.bytes().all(|b| b.is_ascii_digit())
}

async fn stk(State(sim): State<MpesaSim>, h: HeaderMap, Json(b): Json<Value>) -> axum::response::Response {
    if !authorised(&h) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"errorMessage": "Invalid Access Token"}))).into_response();
    }
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    let ts = s("Timestamp");
    let password = base64::engine::general_purpose::STANDARD.encode(format!("{SHORTCODE}{PASSKEY}{ts}"));
    if s("BusinessShortCode") != SHORTCODE || s("Password") != password || ts.len() != 14 {
        return bad("Bad Request - Invalid Password");
    }
    let Some(amount) = b["Amount"].as_u64().filter(|a| *a >= 1) else {
        return bad("Bad Request - Invalid Amount");
    };
    let phone = s("PhoneNumber");
    if !phone_ok(&phone) || s("PartyA") != phone {
        return bad("Bad Request - Invalid PhoneNumber");
    }
    let callback = s("CallBackURL");
    if !callback.starts_with("http") || s("AccountReference").is_empty() || s("AccountReference").len() > 12 {
        return bad("Bad Request - Invalid CallBackURL or AccountReference");
    }
    let n = sim.next();
    let (merchant, checkout) = (format!("29115-{n}"), format!("ws_CO_{n:012}"));
    sim.shared.lock().unwrap().requests.push(b.clone());
    let body = if phone.ends_with('0') {
        json!({"Body": {"stkCallback": {"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}})
    } else {
        json!({"Body": {"stkCallback": {"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": amount as f64},
            {"Name": "MpesaReceiptNumber", "Value": format!("SIM{n:07}")},
            {"Name": "TransactionDate", "Value": 20261203120000u64},
            {"Name": "PhoneNumber", "Value": phone.parse::<u64>().unwrap_or(0)}
        ]}}}})
    };
    sim.deliver(callback, body, if phone.ends_with('9') { 2 } else { 1 });
    Json(
        json!({"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing", "CustomerMessage": "Success. Request accepted for processing"}),
    )
    .into_response()
}

async fn b2c(State(sim): State<MpesaSim>, h: HeaderMap, Json(b): Json<Value>) -> axum::response::Response {
    if !authorised(&h) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"errorMessage": "Invalid Access Token"}))).into_response();
    }
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    let to = s("PartyB");
    if !phone_ok(&to) || b["Amount"].as_u64().filter(|a| *a >= 1).is_none() || s("CommandID") != "BusinessPayment" {
        return bad("Bad Request - Invalid PartyB, Amount or CommandID");
    }
    let n = sim.next();
    let (conversation, originator) = (format!("AG_{n:012}"), s("OriginatorConversationID"));
    sim.shared.lock().unwrap().requests.push(b.clone());
    let (code, desc) = if to.ends_with('0') {
        (2001, "The initiator information is invalid.")
    } else {
        (0, "The service request is processed successfully.")
    };
    let body = json!({"Result": {"ResultType": 0, "ResultCode": code, "ResultDesc": desc,
        "OriginatorConversationID": originator, "ConversationID": conversation, "TransactionID": format!("SIMB{n:06}")}});
    sim.deliver(s("ResultURL"), body, 1);
    Json(
        json!({"ConversationID": conversation, "OriginatorConversationID": originator, "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully."}),
    )
    .into_response()
}
