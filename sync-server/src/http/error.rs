//! Every error leaves the server as `ErrorBody` JSON with a stable code and a fitting status.

use crate::store::StoreError;
use anola_protocol::{ErrorBody, ErrorCode};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Seconds a client waits before retrying a request the server could not serve now.
pub const RETRY_AFTER_SECS: &str = "2";

#[derive(Debug)]
pub struct ApiError(pub ErrorBody);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(ErrorBody::new(code, message))
    }

    fn status(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::MalformedJson | ErrorCode::InvalidRequest | ErrorCode::UnsupportedProtocolVersion | ErrorCode::InvalidCursor => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::BatchTooLarge | ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::DatabaseUnavailable | ErrorCode::RequestTimeout | ErrorCode::ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unauthenticated
            | ErrorCode::TokenExpired
            | ErrorCode::RefreshTokenReused
            | ErrorCode::InvalidCredentials
            | ErrorCode::MfaRequired
            | ErrorCode::DeviceNotEnrolled
            | ErrorCode::DeviceRevoked => StatusCode::UNAUTHORIZED,
            ErrorCode::AccountLocked => StatusCode::LOCKED,
            ErrorCode::AccountDisabled | ErrorCode::Forbidden | ErrorCode::CsrfFailed => StatusCode::FORBIDDEN,
            ErrorCode::WeakPassword | ErrorCode::InvalidEnrolmentCode => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
        }
    }
}

impl From<ErrorBody> for ApiError {
    fn from(b: ErrorBody) -> Self {
        Self(b)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database did not answer; nothing was lost, retry later",
                )
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "stored data has an unexpected shape");
                Self::new(
                    ErrorCode::Internal,
                    "the server found inconsistent stored data; the request can be retried",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_client_error() {
            tracing::info!(code = self.0.code.as_str(), field = self.0.field.as_deref(), "request refused");
        }
        let code = self.0.code;
        let mut resp = (status, Json(self.0)).into_response();
        // For middleware that reports outcomes (the fleet view's failed syncs) without parsing bodies.
        resp.extensions_mut().insert(code);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Clients wait at least this long (and back off further with jitter): a slow or
            // down database never turns into a storm of immediate retries.
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        resp
    }
}
