//! HTTP transport of protocol v1. Knows status codes and bodies; decides nothing about the outbox.

use anola_protocol::auth::{EnrolRequest, EnrolResponse, LoginRequest, LoginResponse, RefreshRequest, TokenPair, DEVICE_KEY_HEADER};
use anola_protocol::{ErrorBody, ErrorCode, PullRequest, PullResponse, PushRequest, PushResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Connecting gives up after this (an unreachable server is offline, quickly).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request gives up after this: longer than the server's deadline (30 s) plus the longest
/// long-poll wait (30 s), so a slow server's own `request_timeout` answer arrives first.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(75);

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No answer (connection refused, reset, timed out). Retry with back-off.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server answered with an error body.
    #[error("server answered {status}: {} ({})", body.message, body.code.as_str())]
    Refused { status: u16, body: ErrorBody },
    /// The server answered something that is not protocol v1.
    #[error("unexpected answer from server: {0}")]
    Garbled(String),
    /// The money book refused (a stable code such as `insufficient_funds`, maybe a field).
    #[error("server answered {status}: {} ({})", refusal.message, refusal.code)]
    Money {
        status: u16,
        refusal: anola_protocol::money::LedgerRefusal,
    },
}

impl TransportError {
    /// Whether the same request may succeed later without any change on the device.
    pub fn is_transient(&self) -> bool {
        match self {
            TransportError::Unreachable(_) => true,
            TransportError::Refused { status, body } => *status >= 500 || body.code.is_transient(),
            TransportError::Garbled(_) => true,
            TransportError::Money { status, .. } => *status >= 500,
        }
    }
}

/// What a signed-in device presents: its enrolment key and a staff member's tokens.
///
/// The tokens live only in memory (never in the vault or on disk): a restart, like a lock-out,
/// needs a new sign-in. The refresh token is single-use; one refresh runs at a time.
pub struct Credentials {
    device_key: Option<String>,
    tokens: std::sync::Mutex<Option<TokenPair>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

impl Credentials {
    /// `device_key` is `<device_id>:<device_secret>`; `tokens` is `None` after an offline sign-in.
    pub fn new(device_key: Option<String>, tokens: Option<TokenPair>) -> Self {
        Self {
            device_key,
            tokens: std::sync::Mutex::new(tokens),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn access_token(&self) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|t| t.access_token.clone())
    }

    fn refresh_token(&self) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|t| t.refresh_token.clone())
    }

    /// Whether a staff token is held (an online sign-in).
    pub fn has_session(&self) -> bool {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub fn set_tokens(&self, t: Option<TokenPair>) {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Forgets the tokens, returning the refresh token (to revoke it at `/auth/logout`).
    pub fn take_refresh_token(&self) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|t| t.refresh_token)
    }
}

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base: String,
    creds: Option<std::sync::Arc<Credentials>>,
    /// Bearer token of staff tools (`AdminClient`).
    bearer: Option<String>,
    /// Body bytes sent and received, as JSON and as they crossed the wire, for status and benchmarks.
    wire: std::sync::Arc<WireCounters>,
    /// Whether this client compresses (off: a client that speaks plain JSON only).
    compress: bool,
    /// The server said (response `Accept-Encoding`) that it reads zstd request bodies.
    server_takes_zstd: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// A live pull: the server may hold the answer this long waiting for news.
    wait: Option<Duration>,
    /// Overrides `REQUEST_TIMEOUT` (staff operations the server gives longer).
    timeout: Option<Duration>,
}

/// The header a live pull names its wait in (the server caps it at 30 s).
pub const WAIT_HEADER: &str = "x-anola-wait-ms";

#[derive(Debug, Default)]
pub struct WireCounters {
    /// JSON bytes (before compression).
    pub sent: std::sync::atomic::AtomicU64,
    pub received: std::sync::atomic::AtomicU64,
    /// Body bytes as sent and received over the connection (after compression).
    pub sent_wire: std::sync::atomic::AtomicU64,
    pub received_wire: std::sync::atomic::AtomicU64,
}

/// Body byte counts so far: JSON and on the wire, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WireBytes {
    pub json_sent: u64,
    pub json_received: u64,
    pub wire_sent: u64,
    pub wire_received: u64,
}

/// zstd level for request bodies: level 3 (zstd's default) compresses JSON of patient rows about
/// 5-8x at hundreds of MB/s; higher levels cost CPU on low-end clinic laptops for little gain.
const ZSTD_LEVEL: i32 = 3;
/// Bodies smaller than this go plain: compression would not pay for its frame.
const COMPRESS_ABOVE: usize = 512;

/// Decodes a response body by its `Content-Encoding` (identity, zstd or gzip).
fn decode_body(encoding: Option<&str>, raw: &[u8]) -> Result<Vec<u8>, TransportError> {
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(raw.to_vec()),
        Some("zstd") => zstd::stream::decode_all(raw).map_err(|e| TransportError::Garbled(format!("zstd body: {e}"))),
        Some("gzip") => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw)
                .read_to_end(&mut out)
                .map_err(|e| TransportError::Garbled(format!("gzip body: {e}")))?;
            Ok(out)
        }
        Some(other) => Err(TransportError::Garbled(format!("unknown Content-Encoding {other}"))),
    }
}

impl Transport {
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // Longer than the server's deadline plus the longest long-poll wait, so the server's
            // 503 `request_timeout` (with Retry-After) arrives before the client gives up.
            .timeout(REQUEST_TIMEOUT)
            // Bodies are decoded here, not by reqwest, so both JSON and wire sizes are counted.
            .no_gzip()
            .no_zstd()
            .no_brotli()
            .no_deflate()
            .user_agent(concat!("anola-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            creds: None,
            bearer: None,
            wire: Default::default(),
            compress: true,
            server_takes_zstd: Default::default(),
            wait: None,
            timeout: None,
        }
    }

    /// This transport giving each request `timeout` instead of `REQUEST_TIMEOUT`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// This transport without compression either way (plain JSON, as an old client sends).
    pub fn without_compression(mut self) -> Self {
        self.compress = false;
        self
    }

    /// This transport presenting a signed-in device's credentials on sync requests.
    pub fn with_credentials(mut self, creds: std::sync::Arc<Credentials>) -> Self {
        self.creds = Some(creds);
        self
    }

    /// This transport sending `Authorization: Bearer <token>` on every request (staff tools).
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// (JSON bytes sent, JSON bytes received) so far.
    pub fn wire_bytes(&self) -> (u64, u64) {
        let b = self.byte_counts();
        (b.json_sent, b.json_received)
    }

    /// Body bytes so far, as JSON and as they crossed the wire.
    pub fn byte_counts(&self) -> WireBytes {
        use std::sync::atomic::Ordering::Relaxed;
        WireBytes {
            json_sent: self.wire.sent.load(Relaxed),
            json_received: self.wire.received.load(Relaxed),
            wire_sent: self.wire.sent_wire.load(Relaxed),
            wire_received: self.wire.received_wire.load(Relaxed),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn post<Req: Serialize, Resp: DeserializeOwned>(&self, path: &str, body: &Req) -> Result<Resp, TransportError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Sends a request with an optional JSON body and reads a JSON answer or an error body.
    pub async fn send<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Req>,
    ) -> Result<Resp, TransportError> {
        self.send_with(method, path, body, None, self.bearer.clone()).await
    }

    /// Sends a sync request with the device key and the staff token; when the token has expired,
    /// spends the refresh token once and retries.
    async fn send_authed<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Req>,
    ) -> Result<Resp, TransportError> {
        let Some(creds) = self.creds.clone() else {
            return self.send(method, path, body).await;
        };
        let token = creds.access_token();
        let first = self
            .send_with(method.clone(), path, body, creds.device_key.clone(), token.clone())
            .await;
        match first {
            Err(TransportError::Refused { status: 401, body: e }) if e.code == ErrorCode::TokenExpired => {
                self.refresh(&creds, token.as_deref()).await?;
                self.send_with(method, path, body, creds.device_key.clone(), creds.access_token())
                    .await
            }
            other => other,
        }
    }

    /// Spends the refresh token for a new pair, unless another request already did since `stale`
    /// was read.
    ///
    /// Runs on a task of its own that the caller's cancellation cannot stop (a live pull dropped
    /// when a local write wakes the sync task, a prefetch aborted): once the server has spent the
    /// old refresh token, the new pair must be stored, or the next attempt would present the spent
    /// token and the server would revoke the whole sign-in. The single-refresh lock is taken inside
    /// that task for the same reason.
    async fn refresh(&self, creds: &std::sync::Arc<Credentials>, stale: Option<&str>) -> Result<(), TransportError> {
        let (mut this, creds, stale) = (self.clone(), creds.clone(), stale.map(str::to_owned));
        this.wait = None;
        let task = tokio::spawn(async move {
            let _one = creds.refreshing.lock().await;
            if creds.access_token() != stale {
                return Ok(());
            }
            let Some(refresh_token) = creds.refresh_token() else {
                return Err(TransportError::Refused {
                    status: 401,
                    body: ErrorBody::new(ErrorCode::Unauthenticated, "signed in offline: sign in while online to sync"),
                });
            };
            let resp: LoginResponse = this
                .send_with(
                    reqwest::Method::POST,
                    "/auth/refresh",
                    Some(&RefreshRequest { refresh_token }),
                    creds.device_key.clone(),
                    None,
                )
                .await?;
            creds.set_tokens(Some(resp.tokens));
            Ok(())
        });
        task.await
            .map_err(|e| TransportError::Unreachable(format!("token refresh task: {e}")))?
    }

    async fn send_with<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Req>,
        device_key: Option<String>,
        bearer: Option<String>,
    ) -> Result<Resp, TransportError> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = self.timeout {
            req = req.timeout(t);
        }
        if let Some(k) = device_key {
            req = req.header(DEVICE_KEY_HEADER, k);
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| TransportError::Garbled(e.to_string()))?;
            self.wire.sent.fetch_add(bytes.len() as u64, Relaxed);
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
            let bytes = if self.compress && bytes.len() > COMPRESS_ABOVE && self.server_takes_zstd.load(Relaxed) {
                req = req.header(reqwest::header::CONTENT_ENCODING, "zstd");
                zstd::bulk::compress(&bytes, ZSTD_LEVEL).map_err(|e| TransportError::Garbled(e.to_string()))?
            } else {
                bytes
            };
            self.wire.sent_wire.fetch_add(bytes.len() as u64, Relaxed);
            req = req.body(bytes);
        }
        if self.compress {
            req = req.header(reqwest::header::ACCEPT_ENCODING, "zstd, gzip");
        }
        if let Some(w) = self.wait {
            req = req.header(WAIT_HEADER, w.as_millis().to_string());
        }
        let resp = req.send().await.map_err(|e| TransportError::Unreachable(without_url(e)))?;
        let status = resp.status();
        let header = |name: reqwest::header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(takes) = header(reqwest::header::ACCEPT_ENCODING) {
            self.server_takes_zstd
                .store(takes.split(',').any(|e| e.trim().eq_ignore_ascii_case("zstd")), Relaxed);
        }
        let encoding = header(reqwest::header::CONTENT_ENCODING);
        let raw = resp.bytes().await.map_err(|e| TransportError::Unreachable(without_url(e)))?;
        self.wire.received_wire.fetch_add(raw.len() as u64, Relaxed);
        let bytes = decode_body(encoding.as_deref(), &raw)?;
        self.wire.received.fetch_add(bytes.len() as u64, Relaxed);
        if status.is_success() {
            // 204 and other empty answers read as JSON null (e.g. into `()`).
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes).map_err(|e| TransportError::Garbled(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(TransportError::Refused {
                status: status.as_u16(),
                body,
            }),
            Err(_) if serde_json::from_slice::<anola_protocol::money::LedgerRefusal>(&bytes).is_ok() => Err(TransportError::Money {
                status: status.as_u16(),
                refusal: serde_json::from_slice(&bytes).expect("parsed above"),
            }),
            Err(_) => Err(TransportError::Refused {
                status: status.as_u16(),
                body: ErrorBody::new(
                    if status.is_server_error() {
                        ErrorCode::Internal
                    } else {
                        ErrorCode::InvalidRequest
                    },
                    format!("HTTP {status} without an error body"),
                ),
            }),
        }
    }

    /// A money request (`/money/…`) with the device key and the staff token.
    pub async fn money<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Req>,
    ) -> Result<Resp, TransportError> {
        self.send_authed(method, path, body).await
    }

    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        self.send_authed(reqwest::Method::POST, "/sync/push", Some(req)).await
    }

    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        self.send_authed(reqwest::Method::POST, "/sync/pull", Some(req)).await
    }

    /// A live pull: when nothing is new after the cursor, the server holds the answer until
    /// something is or `wait` ends (an empty page then). An older server answers at once.
    pub async fn pull_waiting(&self, req: &PullRequest, wait: Duration) -> Result<PullResponse, TransportError> {
        let live = Transport {
            wait: Some(wait),
            ..self.clone()
        };
        live.pull(req).await
    }

    /// `GET /sync/patients/{id}`: one patient on demand, as a pull would carry it.
    pub async fn fetch_patient(&self, id: uuid::Uuid) -> Result<anola_protocol::wire::PatientFetch, TransportError> {
        self.send_authed::<(), _>(reqwest::Method::GET, &format!("/sync/patients/{id}"), None)
            .await
    }

    /// `GET /sync/cards`: keys, issuer, revocations and card summaries for offline verification.
    pub async fn cards_sync(&self) -> Result<anola_protocol::cards::CardsSync, TransportError> {
        self.send_authed::<(), _>(reqwest::Method::GET, "/sync/cards", None).await
    }

    /// `GET /sync/card-keys`: the issuer and key set only (cards and revocations come through pulls).
    pub async fn card_keys(&self) -> Result<anola_protocol::cards::CardsSync, TransportError> {
        self.send_authed::<(), _>(reqwest::Method::GET, "/sync/card-keys", None).await
    }

    /// `POST /cards/issue`: a new card for a patient the server knows (earlier ones are replaced).
    pub async fn issue_card(
        &self,
        req: &anola_protocol::cards::IssueCardRequest,
    ) -> Result<anola_protocol::cards::IssuedCard, TransportError> {
        self.send_authed(reqwest::Method::POST, "/cards/issue", Some(req)).await
    }

    /// `POST /auth/login`, with the device key when given (then the answer carries `device_kek`).
    pub async fn login(&self, req: &LoginRequest, device_key: Option<String>) -> Result<LoginResponse, TransportError> {
        self.send_with(reqwest::Method::POST, "/auth/login", Some(req), device_key, None)
            .await
    }

    /// `POST /auth/logout`: revokes the refresh token's family.
    pub async fn logout(&self, refresh_token: String) -> Result<(), TransportError> {
        let _: serde_json::Value = self
            .send_with(
                reqwest::Method::POST,
                "/auth/logout",
                Some(&RefreshRequest { refresh_token }),
                None,
                None,
            )
            .await?;
        Ok(())
    }

    /// `POST /devices/enrol` (no authentication: the single-use code is the credential).
    pub async fn enrol(&self, req: &EnrolRequest) -> Result<EnrolResponse, TransportError> {
        self.post("/devices/enrol", req).await
    }

    /// True when the server answers its health check with a working database.
    pub async fn healthy(&self) -> bool {
        match self.http.get(format!("{}/health", self.base)).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

/// reqwest errors embed the URL; keep messages short and free of query strings.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the answer"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}
