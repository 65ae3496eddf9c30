//! Request deadlines: no request runs unbounded. A slow database answers 503 `request_timeout`
//! with `Retry-After` instead of holding the client until its own timeout, so clients back off
//! rather than pile retries onto a server that is already behind.
//!
//! Dropping a handler mid-way is the same as a crash between two of its steps, which the sync
//! write paths are built to survive (docs/sync-protocol.md): a push that timed out is sent again
//! and the exactly-once gate finishes it. Sign-in, refresh and enrolment spend a single-use token
//! before issuing its replacement, so they are never cut.

use super::error::ApiError;
use anola_protocol::ErrorCode;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub const DEFAULT: Duration = Duration::from_secs(30);

/// A pull that waits for news (long-poll) names its wait in this header; the deadline grows by it.
pub const WAIT_HEADER: &str = "x-anola-wait-ms";
/// The longest wait a long-poll may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The wait a request asks for (`x-anola-wait-ms`), at most `MAX_WAIT`; zero when absent or bad.
pub fn requested_wait(headers: &axum::http::HeaderMap) -> Duration {
    headers
        .get(WAIT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or_default()
        .min(MAX_WAIT)
}

/// Staff operations that still scan (a merge finds the duplicate's appointments and records by a
/// scan) get this long: cutting one off half-way helps nobody, and staff are few.
pub const ADMIN: Duration = Duration::from_secs(600);

pub async fn enforce(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    let wait = requested_wait(req.headers());
    let path = req.uri().path();
    // Signing in, refreshing and enrolling spend a single-use token or code and then issue what
    // replaces it: cut between the two, the client would retry with a spent one and lose its
    // sign-in (a reused refresh token revokes its family). They are short; they run to the end.
    if path.starts_with("/auth/") || path.starts_with("/devices/enrol") {
        return next.run(req).await;
    }
    let deadline = if path.starts_with("/admin/") {
        deadline.max(ADMIN)
    } else {
        deadline
    };
    match tokio::time::timeout(deadline + wait, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(deadline_ms = (deadline + wait).as_millis() as u64, "request ran past its deadline");
            ApiError::new(
                ErrorCode::RequestTimeout,
                "the server could not finish this request in time; nothing is lost, retry later",
            )
            .into_response()
        }
    }
}
