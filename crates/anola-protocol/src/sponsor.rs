//! Sponsors' and sponsorships' wire types (docs/sponsorship.md): the sponsor's portal pages
//! (`/portal/api/sponsors/{sponsor}/…`), a clinic's pre-approval requests and a beneficiary's
//! coverage. The model itself (sponsors, sponsorships, the rule engine, the report) is the
//! ledger's (`anola_ledger::book::sponsor`); the UI's TypeScript for all of it is generated.

use anola_ledger::book::sponsor::{Caps, Coverage, PreApprovalState, Recurrence, Sponsor, SponsorshipKind, Status, StatusChange};
use anola_ledger::book::Line;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

/// `GET /portal/api/sponsors/{sponsor}`: the profile (none until the sponsor sets it up) and the
/// global wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SponsorHome {
    pub sponsor_id: String,
    pub profile: Option<Sponsor>,
    pub wallet: String,
    #[ts(type = "number")]
    pub available: u64,
    pub currency: Option<String>,
    pub deposits: Vec<SponsorDeposit>,
    /// Pre-approvals waiting for a decision.
    pub pending_pre_approvals: u32,
    /// Whether the caller may change the profile and sponsorships (the sponsor or a platform
    /// administrator) or only decide pre-approvals (a delegate).
    pub may_manage: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SponsorDeposit {
    pub id: Uuid,
    #[ts(type = "number")]
    pub amount: u64,
    pub reference: String,
    #[ts(type = "number")]
    pub at: i64,
}

/// `POST /portal/api/sponsors/{sponsor}/funding`: money into the sponsor's wallet by mobile
/// money (an STK push to the payer's phone through the payment provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SponsorFunding {
    pub id: Uuid,
    #[ts(type = "number")]
    pub amount: u64,
    pub phone: String,
}

/// `POST /admin/sponsors/{sponsor}/deposits`: a bank transfer a platform administrator saw arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct BankDeposit {
    pub id: Uuid,
    #[ts(type = "number")]
    pub amount: u64,
    pub reference: String,
}

/// `POST /portal/api/sponsors/{sponsor}/sponsorships`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NewSponsorship {
    pub id: Uuid,
    /// The patient's id, or their health card number.
    pub patient: String,
    #[serde(default)]
    pub programme: String,
    /// One of the sponsor's programmes: its name is the sponsorship's programme.
    #[serde(default)]
    pub programme_id: Option<Uuid>,
    pub country: String,
    pub kind: SponsorshipKind,
    #[ts(type = "number")]
    pub allocation: u64,
    #[ts(type = "number")]
    pub starts_at: i64,
    #[ts(type = "number")]
    pub ends_at: i64,
    pub recurrence: Recurrence,
    #[serde(default)]
    pub max_renewals: u32,
    #[serde(default)]
    pub coverage: Coverage,
    #[serde(default)]
    pub caps: Caps,
    #[serde(default)]
    pub note: String,
    /// Fund it and make it active at once (otherwise it waits, pending).
    #[serde(default)]
    pub activate: bool,
}

/// `POST …/sponsorships/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: Status,
    #[serde(default)]
    pub reason: String,
}

/// One sponsorship as its sponsor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SponsorshipView {
    pub row: anola_ledger::book::sponsor::report::Row,
    pub coverage: Coverage,
    pub caps: Caps,
    pub recurrence: Recurrence,
    #[ts(type = "number")]
    pub starts_at: i64,
    pub history: Vec<StatusChange>,
}

/// A pre-approval as its sponsor (or the clinic) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreApprovalView {
    pub id: Uuid,
    pub sponsorship: Uuid,
    pub beneficiary: String,
    pub clinic: String,
    pub provider: Option<String>,
    pub lines: Vec<Line>,
    pub diagnoses: Vec<String>,
    pub note: String,
    #[ts(type = "number")]
    pub asked: u64,
    pub currency: String,
    #[ts(type = "number")]
    pub requested_at: i64,
    pub requested_by: String,
    pub state: PreApprovalState,
}

/// `POST …/pre-approvals/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PreApprovalDecision {
    pub approve: bool,
    #[serde(default)]
    pub comment: String,
}

/// `POST /money/pre-approvals` from a clinic device (the clinic is the device's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NewPreApproval {
    pub id: Uuid,
    pub sponsorship: Uuid,
    pub patient: String,
    #[serde(default)]
    pub provider: Option<String>,
    pub lines: Vec<Line>,
    #[serde(default)]
    pub diagnoses: Vec<String>,
    #[serde(default)]
    pub note: String,
    pub valid_days: u32,
}

/// A beneficiary's sponsorship, for the front desk and the patient: the sponsor (unless
/// anonymous), what it covers and what it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SponsoredCover {
    pub sponsorship: Uuid,
    pub sponsor: Option<String>,
    pub programme: String,
    pub kind: SponsorshipKind,
    pub status: Status,
    pub currency: String,
    #[ts(type = "number")]
    pub available: u64,
    #[ts(type = "number")]
    pub term_end: i64,
    pub coverage: Coverage,
    pub caps: Caps,
}

/// `POST /money/sponsorships/{id}/stories` from a clinician's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NewStory {
    pub id: Uuid,
    pub text: String,
}

/// One story as the sponsor reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoryView {
    pub id: Uuid,
    pub sponsorship: Uuid,
    pub beneficiary: String,
    pub programme: String,
    pub text: String,
    #[ts(type = "number")]
    pub at: i64,
}

/// `GET /portal/api/sponsors/{s}/stories`: only when the sponsor asked for stories, and only
/// those whose patient consents now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SponsorStories {
    /// The sponsor's report preference (`reports.success_stories`).
    pub enabled: bool,
    pub stories: Vec<StoryView>,
    /// Stories written but not shown because the patient has not consented.
    pub withheld: u32,
}
