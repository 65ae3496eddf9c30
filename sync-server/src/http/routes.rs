//! Routes and the server's start/stop.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::DeviceSession;
use crate::auth::token::TokenKey;
use crate::store::accounts::UserRecord;
use crate::store::Store;
use crate::sync::clock::ServerClock;
use crate::sync::{assignment, authorize, fetch, pull, push, validate};
use anola_protocol::auth::StaffRoster;
use anola_protocol::{
    Cursor, ErrorBody, ErrorCode, HealthResponse, PullRequest, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION,
};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

pub const DEFAULT_CARD_ISSUER: &str = "https://anola.health";

pub struct AppState<S> {
    pub store: Arc<S>,
    pub clock: Arc<ServerClock>,
    pub max_body_bytes: usize,
    /// Longest a request may run (`http/deadline.rs`).
    pub request_deadline: std::time::Duration,
    /// The token-signing key, loaded from the database on first use (shared by every process).
    token_key: Arc<tokio::sync::OnceCell<TokenKey>>,
    access_ttl_secs: u64,
    /// The `iss` of issued health cards; devices trust cards naming it.
    pub card_issuer: String,
    /// Seals card signing keys at rest (`ANOLA_CARD_KEY_SECRET`).
    pub card_keys: crate::cards::sealing::KeySealer,
    /// This process's view of the money ledger (ADR 0015).
    pub ledger: Arc<crate::money::LedgerService<S>>,
    /// Mobile money (ADR 0016), when a provider is configured.
    pub payments: Option<Payments>,
    /// The server speaks TLS: session cookies are `Secure` and responses carry HSTS.
    pub secure_cookies: bool,
    /// Where the portal's built page is (`ui/dist-portal`); no page is served without it.
    pub portal_dir: Option<std::path::PathBuf>,
}

/// A payment provider, the public base URL its callbacks reach this server at, and the key that
/// signs those callback URLs (so a forged callback names no real intent).
#[derive(Clone)]
pub struct Payments {
    pub provider: Arc<dyn crate::money::provider::PaymentProvider>,
    pub public_url: String,
    pub callback_key: Vec<u8>,
}

impl<S> AppState<S> {
    pub fn new(store: S, max_body_bytes: usize) -> Self {
        Self::shared(Arc::new(store), max_body_bytes)
    }

    /// Over a store the caller also uses (background tasks).
    pub fn shared(store: Arc<S>, max_body_bytes: usize) -> Self {
        Self {
            ledger: Arc::new(crate::money::LedgerService::new(store.clone())),
            store,
            clock: Arc::new(ServerClock::default()),
            max_body_bytes,
            request_deadline: super::deadline::DEFAULT,
            token_key: Arc::new(tokio::sync::OnceCell::new()),
            access_ttl_secs: crate::auth::ACCESS_TTL_SECS,
            card_issuer: DEFAULT_CARD_ISSUER.into(),
            card_keys: crate::cards::sealing::KeySealer::plain(),
            payments: None,
            secure_cookies: false,
            portal_dir: None,
        }
    }

    /// Take mobile money through `payments`.
    pub fn with_payments(mut self, payments: Payments) -> Self {
        self.payments = Some(payments);
        self
    }

    /// Mark session cookies `Secure` and send HSTS (the server speaks TLS).
    pub fn with_secure_cookies(mut self, on: bool) -> Self {
        self.secure_cookies = on;
        self
    }

    /// Serve the portal's page from `dir` at `/portal/`.
    pub fn with_portal_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.portal_dir = dir;
        self
    }

    /// Seal card signing keys at rest with this secret.
    pub fn with_card_key_secret(self, secret: &str) -> Self {
        self.with_card_keys(crate::cards::sealing::KeySealer::with_secret(secret))
    }

    /// Seal card signing keys at rest with this sealer.
    pub fn with_card_keys(mut self, sealer: crate::cards::sealing::KeySealer) -> Self {
        self.card_keys = sealer;
        self
    }

    pub fn with_card_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.card_issuer = issuer.into();
        self
    }

    /// Longest a request may run before it is answered 503 `request_timeout`.
    pub fn with_request_deadline(mut self, d: std::time::Duration) -> Self {
        self.request_deadline = d;
        self
    }

    /// How long access tokens live (the default is 15 minutes).
    pub fn with_access_ttl(mut self, secs: u64) -> Self {
        self.access_ttl_secs = secs;
        self
    }
}

impl<S: Store> AppState<S> {
    pub async fn token_key(&self) -> Result<&TokenKey, ApiError> {
        self.token_key
            .get_or_try_init(|| async {
                let secret = self.store.token_secret(&crate::auth::random_bytes::<32>()).await?;
                Ok::<_, ApiError>(TokenKey::new(secret).with_ttl(self.access_ttl_secs))
            })
            .await
    }
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            max_body_bytes: self.max_body_bytes,
            request_deadline: self.request_deadline,
            token_key: self.token_key.clone(),
            access_ttl_secs: self.access_ttl_secs,
            card_issuer: self.card_issuer.clone(),
            card_keys: self.card_keys.clone(),
            ledger: self.ledger.clone(),
            payments: self.payments.clone(),
            secure_cookies: self.secure_cookies,
            portal_dir: self.portal_dir.clone(),
        }
    }
}

pub fn router<S: Store>(state: AppState<S>) -> Router {
    let limit = state.max_body_bytes;
    let deadline = state.request_deadline;
    let tls = state.secure_cookies;
    let pages = state.portal_dir.clone();
    // Every refusal of a request made with a device key (sync, sign-in, refresh) is reported to
    // the fleet view (`portal/fleet.rs`).
    let fleet = axum::middleware::from_fn_with_state(state.clone(), super::portal::fleet::failures::<S>);
    let api = Router::new()
        .route("/health", get(health::<S>))
        .route("/sync/push", post(push_handler::<S>))
        .route("/sync/pull", post(pull_handler::<S>))
        .route("/sync/staff", get(staff_handler::<S>))
        .route("/sync/patients/{id}", get(patient_handler::<S>))
        .merge(super::admin::routes::<S>())
        .merge(super::auth::routes::<S>())
        .merge(super::cards::routes::<S>())
        .merge(super::money::routes::<S>())
        .merge(super::clinic_money::routes::<S>())
        .merge(super::mobile_money::routes::<S>())
        .merge(super::sponsors::routes::<S>())
        .merge(super::portal::routes::<S>())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(fleet)
        .with_state(state);
    let app = match pages {
        Some(dir) => api.merge(super::portal::pages(&dir)),
        None => api,
    };
    app
        // The limit applies to the body as decompressed (a small compressed bomb is refused).
        .layer(DefaultBodyLimit::max(limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(super::REQUEST_ENCODINGS),
        ))
        .layer(RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(super::encoding::explain_unsupported))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(deadline, super::deadline::enforce))
        .layer(axum::middleware::from_fn_with_state(tls, super::portal::security::headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Method and route only: bodies and query strings may hold patient data.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), id = %uuid::Uuid::new_v4())
        }))
}

/// Serves on a listener the caller bound (tests bind 127.0.0.1:0) until `shutdown` completes;
/// in-flight requests finish first.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Serves HTTPS on `listener` with the PEM certificate chain and key (rustls, TLS 1.2+).
pub async fn serve_tls<S: Store>(
    listener: std::net::TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> std::io::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(router(state).into_make_service())
        .await
}

async fn health<S: Store>(State(state): State<AppState<S>>) -> impl IntoResponse {
    let db_ok = state.store.ping().await.is_ok();
    let body = HealthResponse {
        status: if db_ok { "ok" } else { "degraded" }.into(),
        database: if db_ok { "ok" } else { "unreachable" }.into(),
        protocol_versions: validate::accepted_versions(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

async fn push_handler<S: Store>(
    State(state): State<AppState<S>>,
    session: DeviceSession,
    JsonBody(req): JsonBody<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    validate::push(&req, validate::today())?;
    authorize::envelope(&session.device, &req.device_id, &req.clinic_id)?;
    let span = tracing::info_span!("push", device = %req.device_id, user = %session.user.id, mutations = req.mutations.len());
    async {
        // Bounded before anything is read for it.
        validate::audit(&req)?;
        let mut ids: Vec<uuid::Uuid> = req.mutations.iter().filter_map(|m| m.author).collect();
        ids.sort_unstable();
        ids.dedup();
        let key_ids = authorize::key_ids(&req);
        let (authors, keys) = tokio::try_join!(state.store.users_by_ids(&ids), state.store.signing_keys(&key_ids))?;
        let authors: HashMap<uuid::Uuid, UserRecord> = authors.into_iter().map(|u| (u.id, u)).collect();
        let keys = authorize::PushKeys::new(keys);
        let mut refused = authorize::push(&session.device, &req, &authors, &keys);
        if refused.is_empty() {
            refused = assignment::check(state.store.as_ref(), &session.device, &req).await?;
        }
        if let Some(first) = refused.first() {
            let mut body =
                ErrorBody::new(ErrorCode::Forbidden, format!("{}: {}", first.field, first.message)).with_field(first.field.clone());
            body.errors = refused;
            return Err(ApiError(body));
        }
        let mut audit = req.audit.clone();
        authorize::verify_audit(&session.device, &mut audit, &keys);
        state.store.insert_audit(&audit, &req.clinic_id).await?;
        let names = authors.into_values().map(|u| (u.id, u.display_name)).collect();
        let results = push::apply_signed(state.store.as_ref(), &state.clock, &req, &names).await?;
        let ok = crate::store::portal::SyncOutcome::Ok(None);
        super::portal::fleet::record(state.store.as_ref(), &req.device_id, &req.clinic_id, ok).await;
        Ok(Json(PushResponse {
            protocol_version: PROTOCOL_VERSION,
            results,
        }))
    }
    .instrument(span)
    .await
}

async fn pull_handler<S: Store>(
    State(state): State<AppState<S>>,
    session: DeviceSession,
    headers: axum::http::HeaderMap,
    JsonBody(req): JsonBody<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    validate::protocol_version(req.protocol_version)?;
    validate::device_id(&req.device_id)?;
    validate::clinic_id(&req.clinic_id)?;
    authorize::envelope(&session.device, &req.device_id, &req.clinic_id)?;
    let field_worker = authorize::pull_scope(&session.device, req.field_worker_id.as_deref())?;
    let cursor = match req.cursor.as_deref() {
        None => Cursor::at(0),
        Some(c) => Cursor::decode(c).map_err(|e| ApiError(ErrorBody::new(ErrorCode::InvalidCursor, e.to_string()).with_field("cursor")))?,
    };
    let wait = super::deadline::requested_wait(&headers);
    let span =
        tracing::info_span!("pull", device = %req.device_id, user = %session.user.id, from = cursor.seq, wait_ms = wait.as_millis() as u64);
    let page = async {
        let read = || {
            let scope = field_worker.as_deref();
            pull::page(state.store.as_ref(), &req.clinic_id, scope, cursor, req.limit, req.protocol_version)
        };
        let page = read().await?;
        // Live pull: nothing new yet, so hold the answer until the log grows or the wait ends.
        let nothing_new = page.cursor.seq == cursor.seq && !page.reset;
        if nothing_new && !wait.is_zero() && state.store.wait_for_changes(&req.clinic_id, cursor.seq, wait).await? {
            return read().await;
        }
        Ok::<_, crate::store::StoreError>(page)
    }
    .instrument(span)
    .await?;
    let report = req.status.clone().map(anola_protocol::portal::DeviceReport::bounded);
    let ok = crate::store::portal::SyncOutcome::Ok(report);
    super::portal::fleet::record(state.store.as_ref(), &req.device_id, &req.clinic_id, ok).await;
    Ok(Json(PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes: authorize::pull_page(&session.device, page.changes),
        cursor: page.cursor.encode(),
        has_more: page.has_more,
        progress: page.progress,
        reset: page.reset,
    }))
}

/// The clinic's staff, for offline sign-in: a device drops those who are gone or disabled.
async fn staff_handler<S: Store>(State(state): State<AppState<S>>, session: DeviceSession) -> Result<Json<StaffRoster>, ApiError> {
    let staff = state.store.users_of_clinic(&session.device.clinic_id).await?;
    Ok(Json(StaffRoster {
        staff: staff
            .iter()
            .filter(|u| u.role.is_some())
            .map(crate::auth::users::session_user)
            .collect(),
    }))
}

/// One patient on demand (a scanned card's patient this device does not hold yet).
async fn patient_handler<S: Store>(
    State(state): State<AppState<S>>,
    session: DeviceSession,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<anola_protocol::wire::PatientFetch>, ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError(ErrorBody::new(ErrorCode::ValidationFailed, "id: must be a patient UUID").with_field("id")))?;
    let span = tracing::info_span!("fetch_patient", device = %session.device.device_id, user = %session.user.id);
    match fetch::patient(state.store.as_ref(), &session.device, id).instrument(span).await {
        Ok(changes) => Ok(Json(anola_protocol::wire::PatientFetch {
            protocol_version: PROTOCOL_VERSION,
            changes,
        })),
        Err(fetch::Refused::Store(e)) => Err(e.into()),
        Err(fetch::Refused::Body(b)) => Err(b.into()),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not accept that method")
}
