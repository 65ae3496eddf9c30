//! Sponsors, their sponsorships and pre-approvals, as the book keeps them (the seed's Sponsor and
//! Sponsorship schemas, docs/sponsorship.md).

use super::rules::{Answer, Caps, Coverage};
use crate::account::{AccountId, AccountKind};
use crate::amount::Currency;
use crate::book::Line;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SponsorKind {
    Individual,
    Corporate,
    Ngo,
    Government,
    Foundation,
    Religious,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ReportFrequency {
    Weekly,
    #[default]
    Monthly,
    Quarterly,
    Annual,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// ISO 3166 country codes the sponsor wants to reach.
    #[serde(default)]
    pub countries: Vec<String>,
    /// preventive, emergency, chronic, maternal, pediatric, general.
    #[serde(default)]
    pub healthcare_types: Vec<String>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub max_per_patient: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ReportPrefs {
    #[serde(default)]
    pub frequency: ReportFrequency,
    #[serde(default)]
    pub detailed: bool,
    /// Show success stories (only those the patient consented to share).
    #[serde(default)]
    pub success_stories: bool,
}

/// A sponsor: an organisation or a person funding care. `id` is the sponsor's platform account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Sponsor {
    pub id: String,
    pub name: String,
    pub kind: SponsorKind,
    /// ISO 3166 alpha-2.
    pub country: String,
    #[ts(type = "string")]
    pub currency: Currency,
    /// Beneficiaries see "an anonymous sponsor"; the sponsor sees no beneficiary names.
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub preferences: Preferences,
    #[serde(default)]
    pub reports: ReportPrefs,
    /// Usernames of administrators who may decide pre-approvals on the sponsor's behalf.
    #[serde(default)]
    pub delegates: Vec<String>,
}

pub fn global_wallet(sponsor: &str) -> AccountId {
    AccountId::new(AccountKind::SponsorGlobal, sponsor)
}

pub fn sponsored_wallet(sponsorship: Uuid) -> AccountId {
    AccountId::new(AccountKind::Sponsored, &sponsorship.to_string())
}

/// The sponsorship a sponsored wallet belongs to (`SW-<uuid>`).
pub fn sponsorship_of(wallet: &AccountId) -> Option<Uuid> {
    wallet.as_str().strip_prefix("SW-")?.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SponsorshipKind {
    Full,
    Partial,
    Emergency,
    ChronicCare,
    Preventive,
    Medication,
}

/// How a term ends: a one-time sponsorship expires; a recurring one renews for another period,
/// the unused funds rolling over and the sponsor's wallet topping them up to the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    OneTime,
    Monthly,
    Quarterly,
    Annual,
}

impl Recurrence {
    pub fn term_days(self) -> Option<i64> {
        match self {
            Recurrence::OneTime => None,
            Recurrence::Monthly => Some(30),
            Recurrence::Quarterly => Some(91),
            Recurrence::Annual => Some(365),
        }
    }
}

/// What the sponsor asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct SponsorshipSpec {
    /// Client-chosen; the sponsored wallet is `SW-<id>`.
    pub id: Uuid,
    pub sponsor: String,
    pub patient: String,
    /// The programme it belongs to (e.g. "Malaria 2027"); reports group by it.
    #[serde(default)]
    pub programme: String,
    /// The sponsor's programme it was made from, if any (its name is `programme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_id: Option<Uuid>,
    /// The beneficiary's country (ISO 3166 alpha-2), for reports.
    pub country: String,
    pub kind: SponsorshipKind,
    /// Minor units of the sponsor's currency, moved in at activation and topped up at renewal.
    #[ts(type = "number")]
    pub allocation: u64,
    #[ts(type = "number")]
    pub starts_at: i64,
    /// The end of the first term.
    #[ts(type = "number")]
    pub ends_at: i64,
    pub recurrence: Recurrence,
    /// Renewals before it completes (recurring only; 0 = until terminated).
    #[serde(default)]
    pub max_renewals: u32,
    #[serde(default)]
    pub coverage: Coverage,
    #[serde(default)]
    pub caps: Caps,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "SponsorshipStatus")]
pub enum Status {
    Pending,
    Active,
    Paused,
    Expired,
    Terminated,
    Completed,
}

impl Status {
    pub fn ended(self) -> bool {
        matches!(self, Status::Expired | Status::Terminated | Status::Completed)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Expired => "expired",
            Status::Terminated => "terminated",
            Status::Completed => "completed",
        }
    }
    /// Whether a sponsor (or an administrator) may move a sponsorship from `self` to `to`;
    /// expiry, completion and renewal happen by time.
    pub fn may_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Pending, Status::Active)
                | (Status::Active, Status::Paused)
                | (Status::Paused, Status::Active)
                | (Status::Pending | Status::Active | Status::Paused, Status::Terminated)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct StatusChange {
    pub status: Status,
    #[ts(type = "number")]
    pub at: i64,
    pub by: String,
    pub reason: String,
}

/// Spending of one sponsorship in one calendar month (net of refunds), and the number of charges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "SponsorshipUsage")]
pub struct Usage {
    #[ts(type = "number")]
    pub spent: u64,
    pub charges: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Sponsorship {
    pub spec: SponsorshipSpec,
    #[ts(type = "string")]
    pub currency: Currency,
    pub status: Status,
    pub history: Vec<StatusChange>,
    /// 0 for the first term.
    pub term: u32,
    #[ts(type = "number")]
    pub term_end: i64,
    /// Moved in from the sponsor's wallet, and sent back to it.
    #[ts(type = "number")]
    pub funded: u64,
    #[ts(type = "number")]
    pub returned: u64,
    /// Month number (`account::day_and_month`) → usage. Spending counts in the month its money
    /// was committed: the charge for online charges, the reservation for allowances and
    /// pre-approvals (so each month's cap holds whatever the devices do offline).
    pub usage: BTreeMap<i64, Usage>,
    /// Devices' allowances of the sponsored wallet, and pre-approvals, ever made.
    pub allowances: BTreeSet<Uuid>,
    pub pre_approvals: BTreeSet<Uuid>,
    /// Receipts it paid part of.
    pub receipts: Vec<Uuid>,
    /// Allowances not returned (or holding refunded money), and pre-approvals waiting or
    /// holding money: all the caps' room counts, kept apart from the history above so a
    /// charge's cost does not grow with the sponsorship's age.
    #[serde(default)]
    pub open_allowances: BTreeSet<Uuid>,
    #[serde(default)]
    pub open_pre_approvals: BTreeSet<Uuid>,
}

impl Sponsorship {
    pub fn wallet(&self) -> AccountId {
        sponsored_wallet(self.spec.id)
    }
}

/// A clinician's request that a sponsor approve planned care ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct PreApprovalInput {
    /// Client-chosen (a device queues it offline with this id).
    pub id: Uuid,
    pub sponsorship: Uuid,
    pub patient: String,
    pub clinic: String,
    #[serde(default)]
    pub provider: Option<String>,
    /// The planned items, priced from the list.
    pub lines: Vec<Line>,
    #[serde(default)]
    pub diagnoses: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// Days the approval stays valid (1–90).
    pub valid_days: u32,
    /// Filled by the server.
    #[serde(default)]
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PreApprovalState {
    Pending,
    /// A hold on the sponsored funds for `amount`, until `until`, for the clinic named.
    Approved {
        by: String,
        #[ts(type = "number")]
        at: i64,
        comment: String,
        #[ts(type = "number")]
        amount: u64,
        #[ts(type = "number")]
        until: i64,
        answer: Answer,
    },
    Refused {
        by: String,
        #[ts(type = "number")]
        at: i64,
        comment: String,
    },
    /// The charge posted `amount` of the hold (the rest released).
    Used {
        receipt: Uuid,
        #[ts(type = "number")]
        amount: u64,
        #[ts(type = "number")]
        at: i64,
    },
    /// The hold was released unused (expired, or the sponsorship ended).
    Released {
        #[ts(type = "number")]
        at: i64,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PreApproval {
    pub input: PreApprovalInput,
    #[ts(type = "string")]
    pub currency: Currency,
    #[ts(type = "number")]
    pub asked: u64,
    #[ts(type = "number")]
    pub requested_at: i64,
    pub state: PreApprovalState,
    /// The month its hold counts in (the approval's).
    #[serde(default)]
    #[ts(type = "number")]
    pub month: i64,
}

impl PreApproval {
    /// The hold's ledger id (derived, so it is made once).
    pub fn hold_id(&self) -> Uuid {
        crate::book::derived_id(self.input.id, "pre-approval-hold")
    }
    pub fn post_id(&self) -> Uuid {
        crate::book::derived_id(self.input.id, "pre-approval-post")
    }
    pub fn release_id(&self) -> Uuid {
        crate::book::derived_id(self.input.id, "pre-approval-release")
    }
    /// The amount still held, when approved and not used or released.
    pub fn open_amount(&self) -> Option<u64> {
        match &self.state {
            PreApprovalState::Approved { amount, .. } => Some(*amount),
            _ => None,
        }
    }
}

/// What one sponsorship paid of one receipt, and the engine's answer that allowed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Covered {
    pub sponsorship: Uuid,
    #[ts(type = "string")]
    pub account: AccountId,
    pub answer: Answer,
}

/// A sponsor's programme: a named set of terms (type, allocation per beneficiary, term,
/// coverage, caps) that sponsorships start from, and that reports group by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Client-chosen.
    pub id: Uuid,
    /// Filled by the server from the caller.
    #[serde(default)]
    pub sponsor: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Countries it serves (ISO 3166 alpha-2); empty = any.
    #[serde(default)]
    pub countries: Vec<String>,
    pub kind: SponsorshipKind,
    /// Per beneficiary, minor units.
    #[ts(type = "number")]
    pub allocation: u64,
    /// Length of the first term in days.
    pub term_days: u32,
    pub recurrence: Recurrence,
    #[serde(default)]
    pub coverage: Coverage,
    #[serde(default)]
    pub caps: Caps,
    /// A closed programme takes no new sponsorships.
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

/// A success story or outcome update a clinician wrote about a sponsored patient's care. A
/// sponsor reads it only while the patient consents (checked when it is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Story {
    pub id: Uuid,
    pub sponsorship: Uuid,
    pub text: String,
    pub by: String,
    #[ts(type = "number")]
    pub at: i64,
}

/// A reminder kept for a later delivery channel (SMS, e-mail, the portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "SponsorNotice")]
pub struct Notice {
    pub id: Uuid,
    pub sponsorship: Uuid,
    /// `expiry_reminder`, `renewed`, `expired`, `terminated`, `funds_returned`.
    pub kind: String,
    /// `sponsor`, `beneficiary` or `both`.
    pub to: String,
    #[ts(type = "number")]
    pub at: i64,
    pub text: String,
}
