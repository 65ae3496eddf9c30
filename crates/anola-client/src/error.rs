//! The errors a device reports, serialised with a stable `code` the UI switches on.

use anola_protocol::FieldError;
use serde::Serialize;

#[derive(Debug, Clone, thiserror::Error, Serialize, PartialEq, Eq)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ClientError {
    /// The input breaks field rules; nothing was saved.
    #[error("{message}")]
    ValidationFailed { message: String, errors: Vec<FieldError> },
    #[error("{message}")]
    NotFound { message: String },
    /// The local database failed. Nothing half-written stays: every write is one transaction.
    #[error("local storage: {message}")]
    Storage { message: String },
    /// The server could not be reached; changes stay queued on this device.
    #[error("offline: {message}")]
    Offline { message: String },
    /// The server speaks a protocol this app does not: update the app. Local data is kept.
    #[error("{message}")]
    IncompatibleServer { message: String },
    /// The server refused a request for a reason retrying will not fix.
    #[error("server refused the request ({server_code}): {message}")]
    ServerRejected { server_code: String, message: String },
    #[error("{message}")]
    Internal { message: String },
}

impl ClientError {
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::ValidationFailed { .. } => "validation_failed",
            ClientError::NotFound { .. } => "not_found",
            ClientError::Storage { .. } => "storage",
            ClientError::Offline { .. } => "offline",
            ClientError::IncompatibleServer { .. } => "incompatible_server",
            ClientError::ServerRejected { .. } => "server_rejected",
            ClientError::Internal { .. } => "internal",
        }
    }

    pub(crate) fn validation(errors: Vec<FieldError>) -> Self {
        let message = match errors.first() {
            Some(first) if errors.len() == 1 => format!("{}: {}", first.field, first.message),
            Some(first) => format!("{} fields need attention; first: {}: {}", errors.len(), first.field, first.message),
            None => "invalid input".into(),
        };
        ClientError::ValidationFailed { message, errors }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        ClientError::Storage { message: e.to_string() }
    }
}

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        ClientError::Storage {
            message: format!("stored JSON could not be read: {e}"),
        }
    }
}
