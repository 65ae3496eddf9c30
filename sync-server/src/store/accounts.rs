//! What the account, device and audit rules need from storage (docs/security.md).
//!
//! Same discipline as the sync store: every decision that must happen once (a user name, spending
//! a refresh token or an enrolment code, revoking a token family or a device) is an insert into a
//! unique key. Counters that would need atomic updates (failed sign-ins) are one document per
//! event instead.

use super::{Inserted, StoreError};
use anola_protocol::auth::AuditEntry;
use anola_protocol::{Role, UserType};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Milliseconds since the Unix epoch (server time).
pub type Millis = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub user_type: UserType,
    pub role: Option<Role>,
    pub clinic_id: Option<String>,
    pub field_worker_id: Option<String>,
    pub platform_admin: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret once enrolment started; `totp_enabled` once a code confirmed it.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub created_at: Millis,
    pub disabled_at: Option<Millis>,
    /// A patient's own account: the patient record staff linked it to (a fact, set after creation).
    #[serde(default)]
    pub patient_id: Option<Uuid>,
    /// Sessions (access and refresh tokens) issued before this instant are over: set when an
    /// administrator resets the password or TOTP or changes the role.
    #[serde(default)]
    pub sessions_ended_at: Option<Millis>,
}

/// One fact about an account that changes after it is created. Each is stored on its own, so
/// changing one never rewrites another (ADR 0011).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum UserFact {
    Disabled {
        at: Option<Millis>,
    },
    /// The TOTP secret and whether a code confirmed it change together (confirming enables the
    /// secret that was verified).
    Totp {
        secret: Option<String>,
        enabled: bool,
    },
    Role {
        role: Option<Role>,
    },
    Password {
        hash: String,
    },
    /// The patient record a patient account belongs to.
    Patient {
        patient_id: Option<Uuid>,
    },
    /// Every session issued before `at` is over.
    SessionsEnded {
        at: Millis,
    },
}

impl UserFact {
    /// The name the fact is stored under.
    pub fn name(&self) -> &'static str {
        match self {
            UserFact::Disabled { .. } => "disabled",
            UserFact::Totp { .. } => "totp",
            UserFact::Role { .. } => "role",
            UserFact::Password { .. } => "password",
            UserFact::Patient { .. } => "patient",
            UserFact::SessionsEnded { .. } => "sessions_ended",
        }
    }

    pub const NAMES: [&'static str; 6] = ["disabled", "totp", "role", "password", "patient", "sessions_ended"];

    /// The user as this fact makes it.
    pub fn apply(&self, u: &mut UserRecord) {
        match self {
            UserFact::Disabled { at } => u.disabled_at = *at,
            UserFact::Totp { secret, enabled } => {
                u.totp_secret = secret.clone();
                u.totp_enabled = *enabled;
            }
            UserFact::Role { role } => u.role = *role,
            UserFact::Password { hash } => u.password_hash = hash.clone(),
            UserFact::Patient { patient_id } => u.patient_id = *patient_id,
            UserFact::SessionsEnded { at } => u.sessions_ended_at = Some(*at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// SHA-256 of the token, hex (the token itself is never stored).
    pub hash: String,
    /// Every token descended from one sign-in shares a family; reuse revokes the family.
    pub family: Uuid,
    pub user_id: Uuid,
    pub device_id: Option<String>,
    /// The sign-in passed a second factor; carried to every token of the family.
    pub mfa: bool,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentRecord {
    pub hash: String,
    pub clinic_id: String,
    pub role: Role,
    pub field_worker_id: Option<String>,
    pub created_by: Uuid,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: String,
    pub name: String,
    pub clinic_id: String,
    pub role: Role,
    pub field_worker_id: Option<String>,
    /// SHA-256 of the device secret, hex. The secret is 32 random bytes, so a fast hash suffices.
    pub secret_hash: String,
    /// The key-encryption secret handed to the device's signed-in staff (base64).
    pub kek: String,
    pub enrolled_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// A staff member's signing key made on one device (ADR 0014). Written once, at the online sign-in
/// that registered it; it is revoked by disabling the account or revoking the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// `anola_protocol::signing::key_id` of the public key.
    pub key_id: String,
    pub user_id: Uuid,
    pub device_id: String,
    /// The Ed25519 public key, base64.
    pub public_key: String,
    pub created_at: Millis,
}

/// Millisecond instants before which each kind of account document is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneCutoffs {
    /// Refresh tokens and enrolment codes whose `expires_at` is before this.
    pub expired_before: Millis,
    /// Spent refresh tokens and revoked token families marked before this.
    pub marks_before: Millis,
    /// Sign-in failures before this.
    pub failures_before: Millis,
}

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Creates the user unless the user name (case-insensitive) is taken.
    async fn insert_user(&self, user: &UserRecord) -> Result<Inserted, StoreError>;
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError>;
    async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<UserRecord>, StoreError>;
    async fn users_of_clinic(&self, clinic_id: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// Every user (a scan: one-time migrations only).
    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Changes one fact about an account, never touching the others: a concurrent change of
    /// another fact (a disable while TOTP is set up) cannot be undone by this one.
    async fn set_user_fact(&self, user: Uuid, fact: &UserFact) -> Result<(), StoreError>;

    async fn record_login_failure(&self, user_id: Uuid, at: Millis) -> Result<(), StoreError>;
    /// Failures at or after `since`, oldest first; only failures of the last lockout window or so
    /// are kept and answered (`since` is meant to be now − `LOCK_MS`).
    async fn login_failures_since(&self, user_id: Uuid, since: Millis) -> Result<Vec<Millis>, StoreError>;
    async fn clear_login_failures(&self, user_id: Uuid) -> Result<(), StoreError>;

    async fn insert_refresh(&self, r: &RefreshRecord) -> Result<(), StoreError>;
    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError>;
    /// Spends a refresh token: `Taken` means it was spent before (reuse).
    async fn spend_refresh(&self, hash: &str) -> Result<Inserted, StoreError>;
    async fn revoke_family(&self, family: Uuid) -> Result<(), StoreError>;
    async fn family_revoked(&self, family: Uuid) -> Result<bool, StoreError>;

    async fn insert_enrolment(&self, e: &EnrolmentRecord) -> Result<(), StoreError>;
    async fn enrolment_by_hash(&self, hash: &str) -> Result<Option<EnrolmentRecord>, StoreError>;
    /// Uses an enrolment code: `Taken` means it was used before.
    async fn spend_enrolment(&self, hash: &str) -> Result<Inserted, StoreError>;

    async fn insert_device(&self, d: &DeviceRecord) -> Result<(), StoreError>;
    async fn device(&self, device_id: &str) -> Result<Option<DeviceRecord>, StoreError>;
    async fn devices_of_clinic(&self, clinic_id: &str) -> Result<Vec<DeviceRecord>, StoreError>;
    /// Idempotent: the first revocation time stays.
    async fn revoke_device(&self, device_id: &str, at: Millis) -> Result<(), StoreError>;

    /// Registers a signing key; `Taken` when its id is registered already (compare the stored one).
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<Inserted, StoreError>;
    async fn signing_key(&self, key_id: &str) -> Result<Option<SigningKeyRecord>, StoreError>;
    /// The registered keys among `ids` (one point read each).
    async fn signing_keys(&self, ids: &[String]) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let found = futures::future::join_all(ids.iter().map(|id| self.signing_key(id))).await;
        let mut out = Vec::with_capacity(ids.len());
        for k in found {
            out.extend(k?);
        }
        Ok(out)
    }

    /// Stores audit entries once each (by id).
    async fn insert_audit(&self, entries: &[AuditEntry], clinic_id: &str) -> Result<(), StoreError>;
    async fn audit_for_patient(&self, clinic_id: &str, patient_id: Uuid) -> Result<Vec<AuditEntry>, StoreError>;

    /// Deletes what can no longer matter (see `auth::prune`): refresh tokens past expiry, spent
    /// marks and revoked families older than any token they could concern, sign-in failures past
    /// the lockout window, expired enrolment codes. Returns how many documents went.
    async fn prune(&self, cutoffs: &PruneCutoffs) -> Result<u64, StoreError>;

    /// The server's token-signing secret: made once (first writer wins), then read by every process.
    async fn token_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
}
