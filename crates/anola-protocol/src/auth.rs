//! Accounts, sessions, devices and the audit trail on the wire (docs/security.md).

use crate::access::{Role, UserType};
use crate::wire::EntityKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The header an enrolled device sends on every sync request: `<device_id>:<device_secret>`.
pub const DEVICE_KEY_HEADER: &str = "x-anola-device-key";

/// `POST /auth/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit TOTP code, for accounts with two-factor sign-in.
    #[serde(default)]
    pub totp: Option<String>,
    /// On a device, the public part (base64 Ed25519) of the signing key the device made for
    /// this staff member; the server registers it with the sign-in (ADR 0014).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Short-lived bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use: spend it at `POST /auth/refresh` for a new pair. Presenting a spent one revokes
    /// every token descended from the same sign-in.
    pub refresh_token: String,
}

/// Who signed in, as a device needs to know them (also the staff roster entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SessionUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub user_type: UserType,
    /// The staff role; `None` for platform accounts without a clinic role (patients, sponsors…).
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub clinic_id: Option<String>,
    /// For field workers: the id patients are assigned by.
    #[serde(default)]
    pub field_worker_id: Option<String>,
    /// Platform administrator (may act in every clinic).
    #[serde(default)]
    pub platform_admin: bool,
    #[serde(default)]
    pub totp_enabled: bool,
    /// Set when an administrator disabled the account (RFC 3339).
    #[serde(default)]
    pub disabled_at: Option<String>,
    /// A patient's own account: the patient record it is linked to (staff link it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub tokens: TokenPair,
    pub user: SessionUser,
    /// False for an administrator who has not enrolled TOTP yet: the token only reaches
    /// `/auth/totp/*` until they do.
    pub mfa: bool,
    /// When the request carried a valid, unrevoked device key of the user's clinic: that device's
    /// key-encryption secret (base64, 32 bytes). The device keeps its replica key wrapped under it,
    /// so any authorised staff member's online sign-in can open the replica, and a revoked device
    /// can never get it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_kek: Option<String>,
    /// The id of the signing key the request registered (`LoginRequest::signing_key`); absent
    /// when none was sent or the account may not sign on that device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
}

/// `POST /auth/refresh`, `POST /auth/logout`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `POST /auth/totp/setup` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TotpSetup {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

/// `POST /auth/totp/confirm`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

/// `POST /admin/users`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub user_type: UserType,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub clinic_id: Option<String>,
    #[serde(default)]
    pub field_worker_id: Option<String>,
}

/// `POST /admin/clinics/{clinic}/enrolment-codes`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct NewEnrolmentCode {
    /// The ceiling of what the device may hold and do.
    pub role: Role,
    /// Required for a field-worker device: whose assigned patients it holds.
    #[serde(default)]
    pub field_worker_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct EnrolmentCode {
    /// Single use; shown once to the administrator.
    pub code: String,
    pub clinic_id: String,
    pub role: Role,
    pub expires_at: String,
}

/// `POST /devices/enrol`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub code: String,
    /// A name staff recognise, e.g. "Front desk laptop 2".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: String,
    /// Shown once; the device keeps it in its encrypted replica.
    pub device_secret: String,
    pub clinic_id: String,
    pub role: Role,
    #[serde(default)]
    pub field_worker_id: Option<String>,
    /// The device's key-encryption secret (see `LoginResponse::device_kek`).
    pub device_kek: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct DeviceInfo {
    pub device_id: String,
    pub name: String,
    pub clinic_id: String,
    pub role: Role,
    #[serde(default)]
    pub field_worker_id: Option<String>,
    pub enrolled_at: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// `GET /sync/staff`: the clinic's staff as an enrolled device needs them for offline sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRoster {
    pub staff: Vec<SessionUser>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A medical record was shown on screen.
    ViewRecord,
    /// A patient's chart was opened.
    ViewPatient,
    /// A change was saved.
    Write,
    SignIn,
    SignInFailed,
    Unlock,
    UnlockFailed,
    Lock,
    /// A patient left this device's scope (reassigned to another field worker); the patient's
    /// data was removed from the device.
    RemovedFromDevice,
}

/// One audit entry, written on the device (offline included) and synced with its pushes.
/// Never holds patient data beyond ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub id: Uuid,
    /// RFC 3339, device time.
    pub at: String,
    #[serde(default)]
    pub user_id: Option<Uuid>,
    pub device_id: String,
    pub action: AuditAction,
    #[serde(default)]
    pub entity: Option<EntityKind>,
    #[serde(default)]
    pub entity_id: Option<Uuid>,
    #[serde(default)]
    pub patient_id: Option<Uuid>,
    /// The signature of `user_id`'s staff member (`signing.rs`); a failed sign-in, which nobody
    /// could sign, carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::signing::Signature>,
    /// Set by the server, never sent by a device: whether `user_id` signed this entry. An entry
    /// naming a user without their signature is kept (an audit trail loses nothing) but shown
    /// as unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// `GET /admin/patients/{id}/access`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessHistory {
    pub entries: Vec<AuditEntry>,
}
