//! Routes and the server's start/stop.

use super::error::ApiError;
use super::extract::JsonBody;
use crate::store::Store;
use crate::sync::clock::ServerClock;
use crate::sync::{pull, push, validate};
use anola_protocol::{
    Cursor, ErrorBody, ErrorCode, HealthResponse, PullRequest, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION,
};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

pub struct AppState<S> {
    pub store: Arc<S>,
    pub clock: Arc<ServerClock>,
    pub max_body_bytes: usize,
}

impl<S> AppState<S> {
    pub fn new(store: S, max_body_bytes: usize) -> Self {
        Self {
            store: Arc::new(store),
            clock: Arc::new(ServerClock::default()),
            max_body_bytes,
        }
    }
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

pub fn router<S: Store>(state: AppState<S>) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route("/health", get(health::<S>))
        .route("/sync/push", post(push_handler::<S>))
        .route("/sync/pull", post(pull_handler::<S>))
        .merge(super::admin::routes::<S>())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Method and route only: bodies and query strings may hold patient data.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), id = %uuid::Uuid::new_v4())
        }))
        .with_state(state)
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
    JsonBody(req): JsonBody<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    validate::push(&req, validate::today())?;
    let span = tracing::info_span!("push", device = %req.device_id, mutations = req.mutations.len());
    let results = push::apply(state.store.as_ref(), &state.clock, &req).instrument(span).await?;
    Ok(Json(PushResponse {
        protocol_version: PROTOCOL_VERSION,
        results,
    }))
}

async fn pull_handler<S: Store>(
    State(state): State<AppState<S>>,
    JsonBody(req): JsonBody<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    validate::protocol_version(req.protocol_version)?;
    validate::device_id(&req.device_id)?;
    validate::clinic_id(&req.clinic_id)?;
    let cursor = match req.cursor.as_deref() {
        None => Cursor::at(0),
        Some(c) => Cursor::decode(c).map_err(|e| ApiError(ErrorBody::new(ErrorCode::InvalidCursor, e.to_string()).with_field("cursor")))?,
    };
    let span = tracing::info_span!("pull", device = %req.device_id, from = cursor.seq);
    let page = pull::page(
        state.store.as_ref(),
        &req.clinic_id,
        req.field_worker_id.as_deref(),
        cursor,
        req.limit,
    )
    .instrument(span)
    .await?;
    Ok(Json(PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes: page.changes,
        cursor: page.cursor.encode(),
        has_more: page.has_more,
        progress: page.progress,
        reset: page.reset,
    }))
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not accept that method")
}
