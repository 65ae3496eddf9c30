//! HTTP transport of protocol v1. Knows status codes and bodies; decides nothing about the outbox.

use anola_protocol::{ErrorBody, ErrorCode, PullRequest, PullResponse, PushRequest, PushResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

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
}

impl TransportError {
    /// Whether the same request may succeed later without any change on the device.
    pub fn is_transient(&self) -> bool {
        match self {
            TransportError::Unreachable(_) => true,
            TransportError::Refused { status, body } => *status >= 500 || body.code.is_transient(),
            TransportError::Garbled(_) => true,
        }
    }
}

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base: String,
    /// Body bytes sent and received (JSON, before compression), for status and benchmarks.
    wire: std::sync::Arc<WireCounters>,
}

#[derive(Debug, Default)]
pub struct WireCounters {
    pub sent: std::sync::atomic::AtomicU64,
    pub received: std::sync::atomic::AtomicU64,
}

impl Transport {
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("anola-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            wire: Default::default(),
        }
    }

    /// (bytes sent, bytes received) so far.
    pub fn wire_bytes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.wire.sent.load(Relaxed), self.wire.received.load(Relaxed))
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
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| TransportError::Garbled(e.to_string()))?;
            self.wire.sent.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes);
        }
        let resp = req.send().await.map_err(|e| TransportError::Unreachable(without_url(e)))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| TransportError::Unreachable(without_url(e)))?;
        self.wire
            .received
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| TransportError::Garbled(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(TransportError::Refused {
                status: status.as_u16(),
                body,
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

    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        self.post("/sync/push", req).await
    }

    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        self.post("/sync/pull", req).await
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
