//! A token refresh survives its caller being dropped: once the server has spent the old refresh
//! token, the new pair is stored, so the next request does not present the spent token (which
//! the server would answer by revoking the whole sign-in). The background task drops live pulls
//! whenever a local write needs a round, so this happens in normal use.

use anola_client::sync::transport::{Credentials, Transport};
use anola_protocol::auth::{LoginResponse, SessionUser, TokenPair};
use anola_protocol::{Progress, PullRequest, PullResponse, UserType, PROTOCOL_VERSION};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Mock {
    access: String,
    refresh: String,
    refreshes: u32,
}
type S = Arc<Mutex<Mock>>;

async fn refresh(State(s): State<S>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    {
        let mut m = s.lock().unwrap();
        if body["refresh_token"] != m.refresh.as_str() {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"code": "refresh_token_reused", "message": "reused"})),
            );
        }
        // Spent now, before the answer leaves.
        m.refreshes += 1;
        m.refresh = format!("refresh-{}", m.refreshes);
        m.access = format!("access-{}", m.refreshes);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = s.lock().unwrap();
    let r = LoginResponse {
        tokens: TokenPair {
            access_token: m.access.clone(),
            expires_in: 900,
            refresh_token: m.refresh.clone(),
        },
        user: SessionUser {
            id: uuid::Uuid::nil(),
            username: "u".into(),
            display_name: "U".into(),
            user_type: UserType::Provider,
            role: None,
            clinic_id: None,
            field_worker_id: None,
            platform_admin: false,
            totp_enabled: false,
            disabled_at: None,
            patient_id: None,
        },
        mfa: false,
        device_kek: None,
        signing_key_id: None,
    };
    (StatusCode::OK, Json(serde_json::to_value(r).unwrap()))
}

async fn pull(State(s): State<S>, h: HeaderMap) -> (StatusCode, Json<Value>) {
    let m = s.lock().unwrap();
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if bearer != format!("Bearer {}", m.access) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "token_expired", "message": "expired"})),
        );
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

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_cut_off_by_its_caller_still_keeps_the_new_tokens() {
    let state: S = Arc::new(Mutex::new(Mock {
        access: "access-0".into(),
        refresh: "refresh-0".into(),
        refreshes: 0,
    }));
    let app = Router::new()
        .route("/auth/refresh", post(refresh))
        .route("/sync/pull", post(pull))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The device holds an access token the server no longer takes (expired).
    let creds = Arc::new(Credentials::new(
        Some("dev:secret".into()),
        Some(TokenPair {
            access_token: "access-stale".into(),
            expires_in: 900,
            refresh_token: "refresh-0".into(),
        }),
    ));
    let t = Transport::new(&url).with_credentials(creds);
    let req = PullRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: "dev".into(),
        clinic_id: "main".into(),
        field_worker_id: None,
        cursor: None,
        limit: None,
        status: None,
    };
    // The pull is dropped while its refresh is on the wire (as a live pull is when a write wakes
    // the sync task).
    assert!(tokio::time::timeout(Duration::from_millis(120), t.pull(&req)).await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The next request uses the new pair: no second refresh, no reuse of the spent token.
    t.pull(&req).await.expect("the next pull is accepted with the stored new token");
    assert_eq!(state.lock().unwrap().refreshes, 1);
}
