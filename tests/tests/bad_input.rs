//! Bad input to the sync server: each case gets a 4xx with a stable code and names the field;
//! nothing is applied; the server keeps serving. The server runs in-process on a listener the
//! test binds, against a real FerretDB.

use anola_e2e::ferret::Ferret;
use anola_e2e::unique_db;
use anola_protocol::Role;
use anola_sync_server::faults::Faults;
use anola_sync_server::{serve, AppState, MongoStore, Store};
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::sync::Arc;

const MAX_BODY: usize = 256 * 1024;

struct Harness {
    url: String,
    device: anola_e2e::accounts::RawDevice,
    http: reqwest::Client,
    db: mongodb::Database,
    _ferret: Ferret,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Harness {
    let ferret = Ferret::start();
    let dbname = unique_db("badinput");
    let store = MongoStore::connect(ferret.uri(), &dbname, Arc::new(Faults::none())).await.unwrap();
    store.ensure_indexes().await.unwrap();
    anola_e2e::accounts::bootstrap_in_process(&store).await;
    let db = store.database().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(store, MAX_BODY);
    tokio::spawn(serve(listener, state, async move {
        let _ = rx.await;
    }));
    let device = anola_e2e::accounts::raw_device(&url, "c1", Role::Clinician, Role::Clinician, None).await;
    Harness {
        url,
        device,
        http: reqwest::Client::new(),
        db,
        _ferret: ferret,
        _shutdown: tx,
    }
}

impl Harness {
    /// Sends as the enrolled device; bodies written for device `dev1` speak for it.
    async fn raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let body = String::from_utf8_lossy(&body)
            .replace(r#""device_id":"dev1""#, &format!(r#""device_id":"{}""#, self.device.device_id))
            .into_bytes();
        let r = self
            .device
            .sign(self.http.post(format!("{}{path}", self.url)))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Pushes with the signed-in staff member as the author of every mutation.
    async fn push(&self, body: &Value) -> (u16, Value) {
        let mut body = body.clone();
        if let Some(ms) = body.get_mut("mutations").and_then(Value::as_array_mut) {
            for m in ms.iter_mut().filter_map(Value::as_object_mut) {
                m.entry("author").or_insert(json!(self.device.user_id));
            }
        }
        let body = self.device.signed_body(&body);
        self.raw("/sync/push", "application/json", serde_json::to_vec(&body).unwrap()).await
    }

    async fn applied(&self) -> (u64, u64, u64) {
        let c = |n: &'static str| async move { self.db.collection::<Document>(n).count_documents(doc! {}).await.unwrap() };
        (c("mutations").await, c("versions").await, anola_e2e::log_entries(&self.db).await)
    }
}

fn mutation(i: u32, fields: Value) -> Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "entity": "patient",
        "entity_id": uuid::Uuid::now_v7(),
        "op": "create",
        "hlc": format!("{:015}-00000-dev1", 1_800_000_000_000u64 + u64::from(i)),
        "fields": fields,
    })
}

fn good_fields() -> Value {
    json!({"given_name": "Halima", "family_name": "Said", "date_of_birth": "1993-03-03", "clinic_id": "c1"})
}

fn push_body(mutations: Vec<Value>) -> Value {
    json!({"protocol_version": 1, "device_id": "dev1", "clinic_id": "c1", "mutations": mutations})
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let h = start().await;
    let before = h.applied().await;

    // Malformed JSON.
    let (s, b) = h
        .raw(
            "/sync/push",
            "application/json",
            b"{\"protocol_version\": 1, \"mutations\": [".to_vec(),
        )
        .await;
    assert_error(s, &b, 400, "malformed_json");

    // Wrong field types, named by path.
    let (s, b) = h
        .push(&push_body(vec![mutation(
            1,
            json!({"given_name": 12, "family_name": "X", "date_of_birth": "1990-01-01"}),
        )]))
        .await;
    assert_error(s, &b, 400, "invalid_request");
    assert_eq!(b["field"], "mutations[0].fields.given_name");
    let (s, b) = h
        .push(&json!({"protocol_version": 1, "device_id": "dev1", "clinic_id": "c1", "mutations": "all of them"}))
        .await;
    assert_error(s, &b, 400, "invalid_request");
    assert_eq!(b["field"], "mutations");
    let (s, b) = h
        .push(&push_body(vec![mutation(1, json!({"given_name": "A", "shoe_size": 44}))]))
        .await;
    assert_error(s, &b, 400, "invalid_request");
    let (s, b) = h.push(&push_body(vec![json!({"id": "not-a-uuid", "entity": "patient"})])).await;
    assert_error(s, &b, 400, "invalid_request");

    // Unknown protocol version; missing version.
    let (s, b) = h.push(&json!({"protocol_version": 7, "device_id": "dev1", "mutations": []})).await;
    assert_error(s, &b, 400, "unsupported_protocol_version");
    assert_eq!(b["field"], "protocol_version");
    let (s, b) = h.push(&json!({"device_id": "dev1", "mutations": []})).await;
    assert_error(s, &b, 400, "invalid_request");

    // Oversized batch (count) and oversized body (bytes).
    let many: Vec<Value> = (0..501).map(|i| mutation(i, json!({"given_name": "A"}))).collect();
    let (s, b) = h.push(&push_body(many)).await;
    assert!(s == 413, "{s} {b}");
    assert!(b["code"] == "batch_too_large" || b["code"] == "payload_too_large", "{b}");
    let few_but_huge: Vec<Value> = (0..3).map(|i| mutation(i, json!({"given_name": "A".repeat(120_000)}))).collect();
    let (s, b) = h.push(&push_body(few_but_huge)).await;
    assert_error(s, &b, 413, "payload_too_large");

    // Field rules: one bad mutation refuses the batch, naming mutation and field; the good one is not applied.
    let (s, b) = h
        .push(&push_body(vec![
            mutation(1, good_fields()),
            mutation(
                2,
                json!({"given_name": "Baraka", "family_name": "Ali", "date_of_birth": "2999-01-01", "clinic_id": "c1"}),
            ),
        ]))
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "mutations[1].fields.date_of_birth");
    assert_eq!(b["errors"][0]["mutation_index"], 1);

    // Wrong media type, bad device id, bad cursor, unknown route, wrong method.
    let (s, b) = h
        .raw("/sync/push", "text/plain", serde_json::to_vec(&push_body(vec![])).unwrap())
        .await;
    assert_error(s, &b, 415, "unsupported_media_type");
    let (s, b) = h
        .push(&json!({"protocol_version": 1, "device_id": "bad id with spaces", "clinic_id": "c1", "mutations": []}))
        .await;
    assert_error(s, &b, 400, "invalid_request");
    assert_eq!(b["field"], "device_id");
    let (s, b) = h
        .raw(
            "/sync/pull",
            "application/json",
            serde_json::to_vec(&json!({"protocol_version": 1, "device_id": "dev1", "clinic_id": "c1", "cursor": "!!nope!!"})).unwrap(),
        )
        .await;
    assert_error(s, &b, 400, "invalid_cursor");
    let (s, b) = h.raw("/nowhere", "application/json", b"{}".to_vec()).await;
    assert_error(s, &b, 404, "not_found");
    let r = h.http.get(format!("{}/sync/push", h.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "method_not_allowed");

    assert_eq!(h.applied().await, before, "no bad request applied anything");

    // Random bytes never produce a 5xx.
    let mut seed = 0x9e3779b97f4a7c15u64;
    for n in 0..200 {
        let len = (n * 7) % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed & 0xff) as u8
            })
            .collect();
        let (s, b) = h
            .raw(if n % 2 == 0 { "/sync/push" } else { "/sync/pull" }, "application/json", bytes)
            .await;
        assert!((400..500).contains(&s), "garbage got {s}: {b}");
    }

    // No device key, a forged token, a device of another clinic's body: refused with their codes.
    let bare = h.http.post(format!("{}/sync/pull", h.url)).json(&json!({})).send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    assert_eq!(bare.json::<Value>().await.unwrap()["code"], "device_not_enrolled");
    let forged = h
        .http
        .post(format!("{}/sync/pull", h.url))
        .header(anola_protocol::auth::DEVICE_KEY_HEADER, h.device.device_key())
        .bearer_auth(format!("{}x", h.device.access_token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(forged.json::<Value>().await.unwrap()["code"], "unauthenticated");
    let (s, b) = h
        .push(&json!({"protocol_version": 1, "device_id": "dev1", "clinic_id": "c2", "mutations": []}))
        .await;
    assert_error(s, &b, 403, "forbidden");
    assert_eq!(b["field"], "clinic_id");

    // And it keeps serving.
    let health = h.http.get(format!("{}/health", h.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let (s, b) = h.push(&push_body(vec![mutation(3, good_fields())])).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["results"][0]["status"], "applied");
}

/// A refused mutation sent again, identically, is refused again with the same code and reason (it
/// was never applied, and a device told otherwise would diverge for good).
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_refusal_gets_its_first_answer_verbatim() {
    let h = start().await;
    let patient = mutation(1, good_fields());
    let (status, body) = h.push(&push_body(vec![patient.clone()])).await;
    assert_eq!(status, 200, "{body}");
    let record_id = uuid::Uuid::now_v7();
    let record = |i: u32, notes: &str| {
        json!({
            "id": uuid::Uuid::now_v7(),
            "entity": "medical_record",
            "entity_id": record_id,
            "op": "create",
            "hlc": format!("{:015}-00000-dev1", 1_800_000_000_000u64 + u64::from(i)),
            "fields": {"patient_id": patient["entity_id"], "record_id": record_id, "clinic_id": "c1",
                       "author": "Dr", "consultation_notes": notes},
        })
    };
    let (status, body) = h.push(&push_body(vec![record(2, "first")])).await;
    assert_eq!((status, body["results"][0]["status"].as_str()), (200, Some("applied")), "{body}");
    // A different version under the same id: refused, and refused again when retried.
    let clash = push_body(vec![record(3, "second")]);
    let (_, first) = h.push(&clash).await;
    assert_eq!(first["results"][0]["status"], "rejected", "{first}");
    assert_eq!(first["results"][0]["code"], "record_immutable", "{first}");
    for _ in 0..2 {
        let (status, again) = h.push(&clash).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["results"][0], first["results"][0], "the retry was told something else");
    }
}
