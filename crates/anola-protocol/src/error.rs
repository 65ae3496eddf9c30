//! The error body every server endpoint returns, with codes that clients switch on.

use serde::{Deserialize, Serialize};

/// Stable error codes. Never rename one: devices in the field switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON.
    MalformedJson,
    /// The body is JSON but does not have the request's shape (missing field, wrong type, unknown field).
    InvalidRequest,
    /// One or more mutations break the field rules; `errors` lists each one. Nothing was applied.
    ValidationFailed,
    /// The client speaks a protocol version this server does not.
    UnsupportedProtocolVersion,
    /// More mutations in one push than the server accepts.
    BatchTooLarge,
    /// The body exceeds the server's size limit.
    PayloadTooLarge,
    /// The request must be `application/json`.
    UnsupportedMediaType,
    /// The pull cursor was not issued by this server.
    InvalidCursor,
    NotFound,
    MethodNotAllowed,
    /// The database did not answer; retry later. Nothing was lost.
    DatabaseUnavailable,
    Internal,
    /// No credentials, or credentials this server did not issue (bad signature, unknown token).
    Unauthenticated,
    /// The access token's lifetime is over: refresh it.
    TokenExpired,
    /// A refresh token was presented a second time: its whole family is now revoked.
    RefreshTokenReused,
    /// Wrong user name or password (never says which).
    InvalidCredentials,
    /// Too many failed sign-ins; `message` says until when.
    AccountLocked,
    /// The account was disabled by an administrator.
    AccountDisabled,
    /// This account signs in with a TOTP code as well (`field`: `totp`), or must enrol one first.
    MfaRequired,
    /// The request needs an enrolled device's key (`X-Anola-Device-Key`).
    DeviceNotEnrolled,
    /// This device was revoked: it must erase its local data.
    DeviceRevoked,
    /// Authenticated, but the role does not allow this; `field` names what was refused.
    Forbidden,
    /// The password breaks the password policy; `message` says how.
    WeakPassword,
    /// The enrolment code is unknown, used or expired.
    InvalidEnrolmentCode,
    /// The name is taken (user name).
    AlreadyExists,
    /// The server did not finish the request within its deadline; retry later. A push that ran
    /// out of time is safe to send again (exactly-once by mutation id).
    RequestTimeout,
    /// The payment provider is not configured or did not answer; nothing was charged by us.
    ProviderUnavailable,
    /// A state-changing request made with a session cookie lacked the matching `x-csrf-token`
    /// header, or came from another origin. Nothing was done.
    CsrfFailed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::UnsupportedProtocolVersion => "unsupported_protocol_version",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::DeviceNotEnrolled => "device_not_enrolled",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::InvalidEnrolmentCode => "invalid_enrolment_code",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::CsrfFailed => "csrf_failed",
        }
    }

    /// Whether retrying the same request later can succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::DatabaseUnavailable | ErrorCode::Internal | ErrorCode::RequestTimeout | ErrorCode::ProviderUnavailable
        )
    }
}

/// One problem with one field. `mutation_index` says which mutation of a push it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation_index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// The field the error is about, as a JSON path such as `mutations[2].fields.date_of_birth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}
