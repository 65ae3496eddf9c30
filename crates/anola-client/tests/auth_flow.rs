//! The device against a stand-in server that speaks the accounts contract: enrolment, online
//! sign-in with the device key, credentials on every sync request, a refresh when the access token
//! expired, the audit trail riding on pushes, and the wipe when the server says the device is
//! revoked.

use anola_client::{Workstation, WorkstationConfig};
use anola_protocol::access::{Role, UserType};
use anola_protocol::auth::{EnrolResponse, LoginResponse, SessionUser, StaffRoster, TokenPair, DEVICE_KEY_HEADER};
use anola_protocol::{MutationResult, MutationStatus, PatientFields, Progress, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const KEK_B64: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[derive(Default)]
struct Mock {
    user_id: Uuid,
    access: String,
    refresh: String,
    expire_once: bool,
    revoked: bool,
    disabled: bool,
    refreshes: u32,
    pushes: Vec<PushRequest>,
    /// Refuse the first mutation of the next push as the role matrix would.
    forbid_first: bool,
    authorised_requests: u32,
    /// Answer as a server older than signatures: refuse the unknown `signing_key` field.
    before_signatures: bool,
}

type S = Arc<Mutex<Mock>>;

fn err(status: StatusCode, code: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"code": code, "message": code})))
}

fn user(m: &Mock) -> SessionUser {
    SessionUser {
        id: m.user_id,
        username: "amina".into(),
        display_name: "Amina".into(),
        user_type: UserType::Provider,
        role: Some(Role::Clinician),
        clinic_id: Some("main".into()),
        field_worker_id: None,
        platform_admin: false,
        totp_enabled: false,
        disabled_at: None,
        patient_id: None,
    }
}

fn tokens(m: &mut Mock) -> TokenPair {
    m.access = format!("access-{}", Uuid::new_v4());
    m.refresh = format!("refresh-{}", Uuid::new_v4());
    TokenPair {
        access_token: m.access.clone(),
        expires_in: 900,
        refresh_token: m.refresh.clone(),
    }
}

fn device_ok(h: &HeaderMap) -> bool {
    h.get(DEVICE_KEY_HEADER).and_then(|v| v.to_str().ok()) == Some("dev-1:device-secret")
}

/// Checks both headers of a sync request; `None` when it may proceed.
fn gate(m: &mut Mock, h: &HeaderMap) -> Option<(StatusCode, Json<Value>)> {
    if m.revoked {
        return Some(err(StatusCode::UNAUTHORIZED, "device_revoked"));
    }
    if !device_ok(h) {
        return Some(err(StatusCode::UNAUTHORIZED, "device_not_enrolled"));
    }
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if bearer != format!("Bearer {}", m.access) {
        return Some(err(StatusCode::UNAUTHORIZED, "unauthenticated"));
    }
    if m.expire_once {
        m.expire_once = false;
        return Some(err(StatusCode::UNAUTHORIZED, "token_expired"));
    }
    if m.disabled {
        return Some(err(StatusCode::FORBIDDEN, "account_disabled"));
    }
    m.authorised_requests += 1;
    None
}

async fn enrol(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if body["code"] != "GOOD-CODE" {
        return err(StatusCode::UNPROCESSABLE_ENTITY, "invalid_enrolment_code");
    }
    let r = EnrolResponse {
        device_id: "dev-1".into(),
        device_secret: "device-secret".into(),
        clinic_id: "main".into(),
        role: Role::Clinician,
        field_worker_id: None,
        device_kek: KEK_B64.into(),
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn login(State(s): State<S>, h: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    if m.revoked && h.get(DEVICE_KEY_HEADER).is_some() {
        return err(StatusCode::UNAUTHORIZED, "device_revoked");
    }
    if body["username"] != "amina" || body["password"] != "amina-password" {
        return err(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    if m.before_signatures && body.get("signing_key").is_some() {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"code": "invalid_request", "message": "unknown field `signing_key`, expected one of `username`, `password`, `totp`"}),
            ),
        );
    }
    let r = LoginResponse {
        tokens: tokens(&mut m),
        user: user(&m),
        mfa: true,
        device_kek: device_ok(&h).then(|| KEK_B64.to_owned()),
        // Registers the device's signing key, as the server does.
        signing_key_id: body["signing_key"]
            .as_str()
            .and_then(anola_protocol::signing::public_key_from_b64)
            .map(|k| anola_protocol::signing::key_id(&k)),
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn refresh(State(s): State<S>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    if body["refresh_token"] != m.refresh.as_str() {
        return err(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    }
    m.refreshes += 1;
    let r = LoginResponse {
        tokens: tokens(&mut m),
        user: user(&m),
        mfa: true,
        device_kek: None,
        signing_key_id: None,
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn push(State(s): State<S>, h: HeaderMap, Json(req): Json<PushRequest>) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    if let Some(e) = gate(&mut m, &h) {
        return e;
    }
    if std::mem::take(&mut m.forbid_first) {
        let body = json!({"code": "forbidden", "message": "no", "field": "mutations[0].fields.allergies",
            "errors": [{"field": "mutations[0].fields.allergies", "code": "forbidden", "message": "the front_desk role may not write allergies", "mutation_index": 0}]});
        return (StatusCode::FORBIDDEN, Json(body));
    }
    let results = req
        .mutations
        .iter()
        .map(|x| MutationResult {
            mutation_id: x.id,
            status: MutationStatus::Applied,
            code: None,
            message: None,
        })
        .collect();
    m.pushes.push(req);
    let r = PushResponse {
        protocol_version: PROTOCOL_VERSION,
        results,
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn pull(State(s): State<S>, h: HeaderMap) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    if let Some(e) = gate(&mut m, &h) {
        return e;
    }
    let r = PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes: vec![],
        cursor: anola_protocol::Cursor::at(0).encode(),
        has_more: false,
        progress: Progress { done: 0, total: 0 },
        reset: false,
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn staff(State(s): State<S>, h: HeaderMap) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    if let Some(e) = gate(&mut m, &h) {
        return e;
    }
    let r = StaffRoster { staff: vec![user(&m)] };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn server() -> (String, S) {
    let state: S = Arc::new(Mutex::new(Mock {
        user_id: Uuid::new_v4(),
        ..Default::default()
    }));
    let app = Router::new()
        .route("/devices/enrol", post(enrol))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(|| async { StatusCode::NO_CONTENT }))
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/staff", get(staff))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

fn patient() -> PatientFields {
    serde_json::from_value(json!({"given_name": "Amina", "family_name": "Okafor", "date_of_birth": "1988-04-12"})).unwrap()
}

#[tokio::test]
async fn enrol_sign_in_sync_refresh_and_wipe() {
    let (url, mock) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let ws = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();

    let bad = ws.enrol("NOPE", "laptop", "amina", "amina-password", None).await.unwrap_err();
    assert_eq!(bad.code(), "server_rejected");
    let s = ws.enrol("GOOD-CODE", "laptop", "amina", "amina-password", None).await.unwrap();
    assert!(s.enrolled && s.online_session && !s.locked);

    // A sync carries both credentials; the write's author and its audit entry go with it.
    let c = ws.clinic().unwrap();
    c.register_patient(patient()).unwrap();
    c.sync_now().await.unwrap();
    {
        let m = mock.lock().unwrap();
        assert_eq!(m.pushes.len(), 1);
        assert_eq!(m.pushes[0].mutations[0].author, Some(m.user_id));
        assert_eq!(m.pushes[0].device_id, "dev-1");
        let actions: Vec<_> = m.pushes[0].audit.iter().map(|a| a.action).collect();
        assert!(actions.contains(&anola_protocol::auth::AuditAction::SignIn));
        assert!(actions.contains(&anola_protocol::auth::AuditAction::Write));
    }
    // Nothing left to send: the next round pushes nothing.
    c.sync_now().await.unwrap();
    assert_eq!(mock.lock().unwrap().pushes.len(), 1);

    // A write the server's role check refuses is parked with its reason; the rest still go.
    mock.lock().unwrap().forbid_first = true;
    c.register_patient(patient()).unwrap();
    c.register_patient(patient()).unwrap();
    c.sync_now().await.unwrap();
    let refused = c.rejected_writes().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, "forbidden");
    assert_eq!(c.status().unwrap().pending, 0);
    assert_eq!(mock.lock().unwrap().pushes.last().unwrap().mutations.len(), 1);

    // An expired access token is refreshed once and the request retried.
    mock.lock().unwrap().expire_once = true;
    c.sync_now().await.unwrap();
    assert_eq!(mock.lock().unwrap().refreshes, 1);

    // Wrong password online: refused, and counted towards the offline lockout.
    ws.sign_out().await;
    let e = ws.sign_in("amina", "wrong", None).await.unwrap_err();
    assert_eq!(e.code(), "invalid_credentials");
    ws.sign_in("amina", "amina-password", None).await.unwrap();

    // The administrator revokes the device: the next request erases it.
    let c = ws.clinic().unwrap();
    mock.lock().unwrap().revoked = true;
    let e = c.sync_now().await.unwrap_err();
    assert_eq!(e.code(), "device_revoked");
    let s = ws.state();
    assert!(!s.enrolled && s.user.is_none());
    assert!(s.notice.unwrap().contains("revoked"));
    assert!(!dir.path().join(anola_client::store::DB_FILE).exists());
    assert_eq!(c.list_patients("", 5).unwrap_err().code(), "device_revoked");
}

#[tokio::test]
async fn a_disabled_account_is_removed_from_the_device() {
    let (url, mock) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let ws = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();
    ws.enrol("GOOD-CODE", "laptop", "amina", "amina-password", None).await.unwrap();
    let c = ws.clinic().unwrap();
    mock.lock().unwrap().disabled = true;
    assert_eq!(c.sync_now().await.unwrap_err().code(), "account_disabled");
    let s = ws.state();
    assert!(s.user.is_none() && s.known_users.is_empty() && s.enrolled);
    assert_eq!(ws.clinic().unwrap_err().code(), "signed_out");
}

#[tokio::test]
async fn offline_sign_in_cannot_sync_until_online_again() {
    let (url, _mock) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let ws = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();
    ws.enrol("GOOD-CODE", "laptop", "amina", "amina-password", None).await.unwrap();
    ws.sign_out().await;
    // Same device, server gone.
    let offline = Workstation::open(WorkstationConfig::new(dir.path(), "http://127.0.0.1:9")).unwrap();
    let s = offline.sign_in("amina", "amina-password", None).await.unwrap();
    assert!(!s.online_session);
    let c = offline.clinic().unwrap();
    c.register_patient(patient()).unwrap();
    assert_eq!(c.sync_now().await.unwrap_err().code(), "offline");
    assert_eq!(c.status().unwrap().pending, 1);
}

#[tokio::test]
async fn a_session_without_tokens_is_told_to_sign_in_again() {
    use anola_client::sync::transport::Credentials;
    use anola_client::{Actor, Clinic, ClinicConfig, DataKey};
    let (url, mock) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ClinicConfig::new(dir.path(), &url, DataKey::random(), Actor::new(Uuid::new_v4(), Role::Clinician));
    cfg.device_id = Some("dev-1".into());
    cfg.credentials = Some(Arc::new(Credentials::new(Some("dev-1:device-secret".into()), None)));
    let c = Clinic::open(cfg).unwrap();
    c.register_patient(patient()).unwrap();
    let e = c.sync_now().await.unwrap_err();
    assert_eq!(e.code(), "unauthenticated");
    assert!(e.to_string().contains("Sign in again"), "{e}");
    assert_eq!(mock.lock().unwrap().pushes.len(), 0);
    assert_eq!(c.status().unwrap().pending, 1);
}

#[tokio::test]
async fn background_sync_runs_from_sign_in_and_stops_at_lock() {
    let (url, mock) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = WorkstationConfig::new(dir.path(), &url);
    cfg.background_sync = true;
    // Poll every 50 ms (the mock answers pulls at once): a task still running after the lock
    // would make requests within the window watched below.
    cfg.idle_interval = std::time::Duration::from_millis(50);
    let ws = Workstation::open(cfg).unwrap();
    ws.enrol("GOOD-CODE", "laptop", "amina", "amina-password", None).await.unwrap();
    ws.clinic().unwrap().register_patient(patient()).unwrap();
    let mut waited = 0;
    while mock.lock().unwrap().pushes.iter().all(|p| p.mutations.is_empty()) {
        assert!(waited < 100, "the background task never pushed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    // Unlocked, the task keeps polling: the watch below can see requests.
    let before = mock.lock().unwrap().authorised_requests;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(mock.lock().unwrap().authorised_requests > before, "the task polls while unlocked");
    ws.lock();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = mock.lock().unwrap().authorised_requests;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mock.lock().unwrap().authorised_requests, before, "a locked device kept syncing");
}

#[tokio::test]
async fn a_server_older_than_signatures_still_signs_staff_in() {
    let (url, mock) = server().await;
    mock.lock().unwrap().before_signatures = true;
    let dir = tempfile::tempdir().unwrap();
    let ws = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();
    ws.enrol("GOOD-CODE", "laptop", "amina", "amina-password", None).await.unwrap();
    let s = ws.state();
    assert!(s.online_session, "signed in online, without registering a key");
}
