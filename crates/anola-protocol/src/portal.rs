//! The web portal's wire types (`/portal/api/*`) and its pure rules: the fleet view's "silent"
//! flag, the device report's bounds, patient consents. The UI's TypeScript for these is generated
//! from here (`ui/src/generated/protocol.ts`, see `crate::ts`).

use crate::auth::{DeviceInfo, SessionUser};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

/// A device that has not synced for this long is flagged in the fleet view.
pub const SILENT_AFTER_HOURS: u32 = 24;
/// Hours of sync activity the fleet view charts.
pub const ACTIVITY_HOURS: u32 = 48;
/// Longest app version and error text a device may report (longer is cut, never refused: a
/// report must not make a sync fail).
pub const MAX_REPORT_TEXT: usize = 200;
/// The header of every state-changing request made with a session cookie: the value of the
/// `anola_csrf` cookie (double-submit; the cookie is SameSite=Strict as well).
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_COOKIE: &str = "anola_session";
pub const REFRESH_COOKIE: &str = "anola_refresh";
pub const CSRF_COOKIE: &str = "anola_csrf";

/// What a device tells the server about itself with each pull, for the fleet view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeviceReport {
    pub app_version: String,
    /// Local writes waiting to upload.
    #[ts(type = "number")]
    pub pending: u64,
    /// Local writes the server refused for good.
    #[ts(type = "number")]
    pub rejected: u64,
    /// The device's last sync error, if its last round failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl DeviceReport {
    /// The report with its texts cut to `MAX_REPORT_TEXT` characters.
    pub fn bounded(mut self) -> Self {
        fn cut(s: &mut String) {
            if let Some((i, _)) = s.char_indices().nth(MAX_REPORT_TEXT) {
                s.truncate(i);
            }
        }
        cut(&mut self.app_version);
        // Stored as 64-bit signed integers.
        self.pending = self.pending.min(i64::MAX as u64);
        self.rejected = self.rejected.min(i64::MAX as u64);
        if let Some(e) = self.last_error.as_mut() {
            cut(e);
        }
        self
    }
}

/// One device in the fleet view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FleetDevice {
    pub device: DeviceInfo,
    /// Last request that reached the server (RFC 3339).
    pub last_seen_at: Option<String>,
    /// Last sync request the server answered successfully.
    pub last_sync_at: Option<String>,
    #[ts(type = "number | null")]
    pub pending: Option<u64>,
    #[ts(type = "number | null")]
    pub rejected: Option<u64>,
    pub app_version: Option<String>,
    /// The last failure: a refusal the server gave, or the error the device reported.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Enrolled, not revoked, and no successful sync for `SILENT_AFTER_HOURS`.
    pub silent: bool,
}

/// Sync requests of a clinic in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActivityBucket {
    /// Start of the hour (RFC 3339).
    pub hour: String,
    #[ts(type = "number")]
    pub ok: u64,
    #[ts(type = "number")]
    pub failed: u64,
}

/// `GET /portal/api/clinics/{clinic}/fleet`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FleetView {
    pub clinic_id: String,
    pub generated_at: String,
    pub silent_after_hours: u32,
    pub devices: Vec<FleetDevice>,
    /// The last `ACTIVITY_HOURS` hours, oldest first.
    pub activity: Vec<ActivityBucket>,
}

/// Whether a device is flagged as silent: active, and no successful sync (or never one since its
/// enrolment) for `SILENT_AFTER_HOURS`.
pub fn is_silent(enrolled_at_ms: i64, revoked: bool, last_sync_ms: Option<i64>, now_ms: i64) -> bool {
    let quiet_since = last_sync_ms.unwrap_or(enrolled_at_ms);
    !revoked && now_ms - quiet_since > i64::from(SILENT_AFTER_HOURS) * 3_600_000
}

/// `POST /portal/api/session`: the answer to a sign-in made with cookies. The tokens travel only
/// in HttpOnly cookies; the CSRF token is also readable from its own cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PortalSession {
    pub user: SessionUser,
    pub csrf_token: String,
    /// Seconds until the session cookie's token expires (the portal refreshes before that).
    #[ts(type = "number")]
    pub expires_in: u64,
}

/// `POST /portal/api/users/{id}/…` changes an administrator makes to a staff account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DeviceRename {
    pub name: String,
}

/// An enrolment code as the portal shows it: the text and the same text as a QR code (SVG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnrolmentCodeView {
    pub code: crate::auth::EnrolmentCode,
    pub qr_svg: String,
}

/// `POST /portal/api/patients/{id}/account`: a patient's own account, made by staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NewPatientAccount {
    pub username: String,
    pub password: String,
}

/// The patient's consents, as they last set them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Consents {
    /// Processing of their data for their care (required to use the clinic's services).
    pub data_processing: bool,
    /// Sharing their records with other providers in the network.
    pub sharing: bool,
    /// Contact about research and programmes.
    #[serde(default)]
    pub research_contact: bool,
    /// Their sponsors may read the stories their clinicians write about their care (success
    /// stories and outcome updates); withdrawing hides them again at once.
    #[serde(default)]
    pub sponsor_stories: bool,
    /// When they last changed them (RFC 3339); `None` if never.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The patient's own record, as their portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatientSelf {
    pub patient_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub health_card_id: Option<String>,
    pub clinic_id: String,
}

/// One appointment as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatientAppointment {
    pub id: Uuid,
    pub date: String,
    pub start_time: String,
    pub duration_minutes: u32,
    pub provider_name: Option<String>,
    pub reason: Option<String>,
    pub status: String,
    /// Upcoming and not cancelled/completed: the patient may cancel it.
    pub cancellable: bool,
}

/// A medical record a clinician shared with the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SharedRecord {
    pub id: Uuid,
    pub date: Option<String>,
    pub record_type: Option<String>,
    pub summary: Option<String>,
    pub provider_name: Option<String>,
}

/// A wallet as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatientWallet {
    pub wallet_id: String,
    /// `personal` or `sponsored`.
    pub kind: String,
    pub currency: String,
    /// Minor units, and the same formatted.
    #[ts(type = "number")]
    pub balance_minor: i64,
    pub balance: String,
}

/// One receipt line in the patient's portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatientReceipt {
    pub id: String,
    pub at: String,
    pub total: String,
    pub currency: String,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatientMoney {
    pub wallets: Vec<PatientWallet>,
    /// Owed to the clinic (formatted), if anything.
    pub owed: Option<String>,
    pub receipts: Vec<PatientReceipt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CancelAppointment {
    #[serde(default)]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_after_a_day_without_sync() {
        let h = 3_600_000;
        assert!(!is_silent(0, false, Some(10 * h), 30 * h));
        assert!(is_silent(0, false, Some(5 * h), 30 * h));
        assert!(is_silent(0, false, None, 25 * h), "never synced since enrolment");
        assert!(!is_silent(0, true, None, 99 * h), "revoked devices are not flagged");
    }

    #[test]
    fn reports_are_cut_not_refused() {
        let r = DeviceReport {
            app_version: "v".repeat(500),
            pending: 1,
            rejected: 0,
            last_error: Some("é".repeat(300)),
        }
        .bounded();
        assert_eq!(r.app_version.chars().count(), MAX_REPORT_TEXT);
        assert_eq!(r.last_error.unwrap().chars().count(), MAX_REPORT_TEXT);
    }
}
