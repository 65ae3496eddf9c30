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
    /// The device is locked (explicitly or after inactivity): unlock with the PIN or a password.
    #[error("{message}")]
    Locked { message: String },
    /// This device is not enrolled in a clinic yet.
    #[error("{message}")]
    NotEnrolled { message: String },
    /// Nobody is signed in on this device.
    #[error("{message}")]
    SignedOut { message: String },
    /// Wrong user name or password (never says which).
    #[error("{message}")]
    InvalidCredentials { message: String },
    /// Too many failed sign-ins; `until` (RFC 3339, when known) says when to try again.
    #[error("{message}")]
    AccountLocked { until: Option<String>, message: String },
    /// An administrator disabled this account; it was removed from this device.
    #[error("{message}")]
    AccountDisabled { message: String },
    /// The account needs a TOTP code (`totp`), or must enrol two-factor sign-in first.
    #[error("{message}")]
    MfaRequired { message: String },
    /// The signed-in role may not do this; `field` names what was refused (none: the whole record).
    #[error("{message}")]
    Forbidden { field: Option<String>, message: String },
    /// The device was revoked by an administrator; its local data was erased.
    #[error("{message}")]
    DeviceRevoked { message: String },
    /// The server URL is plain `http://` to another machine: refused unless explicitly allowed.
    #[error("{message}")]
    InsecureServer { message: String },
    /// The server does not accept this session any more (sign-in done offline, or the session was
    /// revoked): sign in again while online to sync. Local changes stay queued.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// The replica cannot be decrypted with the key given (wrong key, or not a replica).
    #[error("{message}")]
    ReplicaUnreadable { message: String },
    /// This device is already enrolled.
    #[error("{message}")]
    AlreadyEnrolled { message: String },
    /// A scanned or typed health card was refused; `reason` is one of `forged`, `malformed`,
    /// `too_large`, `unknown_key`, `foreign_issuer`, `expired`, `not_yet_valid`, `revoked`,
    /// `unknown_card` (fallback code not known here), `unknown_patient` (not on this device, and it
    /// could not ask the server), `other_clinic` (the server says: not registered at this clinic),
    /// `not_assigned` (a field worker's device, another worker's patient), `no_keys` (this device
    /// never downloaded the card keys); from pictures: `image_unreadable`, `no_code_found`,
    /// `unreadable`.
    #[error("{message}")]
    CardRejected { reason: String, message: String },
    /// Kiosk mode needs a staff PIN to leave it: set one first.
    #[error("{message}")]
    PinRequired { message: String },
    /// The money book refused: `reason` is its stable code (`insufficient_funds`, `quote_changed`,
    /// `pin_incorrect`, `id_reused`, …), `field` the input it is about. Nothing moved.
    #[error("{message}")]
    MoneyRefused {
        reason: String,
        field: Option<String>,
        message: String,
    },
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
            ClientError::Locked { .. } => "locked",
            ClientError::NotEnrolled { .. } => "not_enrolled",
            ClientError::SignedOut { .. } => "signed_out",
            ClientError::InvalidCredentials { .. } => "invalid_credentials",
            ClientError::AccountLocked { .. } => "account_locked",
            ClientError::AccountDisabled { .. } => "account_disabled",
            ClientError::MfaRequired { .. } => "mfa_required",
            ClientError::Forbidden { .. } => "forbidden",
            ClientError::DeviceRevoked { .. } => "device_revoked",
            ClientError::InsecureServer { .. } => "insecure_server",
            ClientError::Unauthenticated { .. } => "unauthenticated",
            ClientError::ReplicaUnreadable { .. } => "replica_unreadable",
            ClientError::AlreadyEnrolled { .. } => "already_enrolled",
            ClientError::CardRejected { .. } => "card_rejected",
            ClientError::PinRequired { .. } => "pin_required",
            ClientError::MoneyRefused { .. } => "money_refused",
        }
    }

    pub(crate) fn forbidden(role: anola_protocol::access::Role, what: &str, field: Option<&str>) -> Self {
        let message = match field {
            Some(f) => format!("the {} role may not change {what} field {f}", role.as_str()),
            None => format!("the {} role may not do this with {what}", role.as_str()),
        };
        ClientError::Forbidden {
            field: field.map(str::to_owned),
            message,
        }
    }

    pub fn card_rejected(reason: &str, message: impl Into<String>) -> Self {
        ClientError::CardRejected {
            reason: reason.to_owned(),
            message: message.into(),
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
