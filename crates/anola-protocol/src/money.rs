//! Money over the wire (docs/ledger.md). The ledger's own types live in `anola-ledger`.

use serde::{Deserialize, Serialize};

/// What a device keeps of a sponsorship with each allowance of its wallet, so a clinic with no
/// network can tell the patient what is covered and run the same rule engine the server runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Eligibility {
    pub sponsorship: uuid::Uuid,
    /// The sponsor's name, or `None` when the sponsor is anonymous.
    #[serde(default)]
    pub sponsor: Option<String>,
    pub programme: String,
    pub kind: anola_ledger::book::sponsor::SponsorshipKind,
    pub status: anola_ledger::book::sponsor::Status,
    #[ts(type = "string")]
    pub currency: anola_ledger::Currency,
    #[ts(type = "number")]
    pub starts_at: i64,
    #[ts(type = "number")]
    pub term_end: i64,
    pub coverage: anola_ledger::book::sponsor::Coverage,
    pub caps: anola_ledger::book::sponsor::Caps,
    pub rules_version: u32,
}

/// `GET /admin/ledger/audit` and `anola-sync-server --audit-ledger`: the whole ledger log replayed
/// and every invariant checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAudit {
    /// Slots replayed.
    pub slots: u64,
    /// Broken invariants, in words; empty when the ledger is sound.
    pub violations: Vec<String>,
    pub ok: bool,
    /// How long the replay and checks took.
    pub millis: u64,
}

/// A ledger request the server applied (`POST /money/requests`); a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerApplied {
    pub request_id: uuid::Uuid,
    pub status: String,
    /// Ledger entries it wrote.
    pub entries: usize,
    /// When it was decided (ms since the epoch, server clock).
    pub at: i64,
}

/// A ledger refusal: the ledger's stable code (`insufficient_funds`, `currency_mismatch`,
/// `id_reused`, …), a message naming what is wrong, and the request it answers. Nothing of the
/// request was applied; a retry gets the same refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRefusal {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<uuid::Uuid>,
    /// The request field it is about (`lines[0].item`, `pin`, …), when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub use anola_ledger::book::charge::AllowanceUse;
pub use anola_ledger::book::{
    Allowance, AllowanceSpec, DayClose, Desk, ItemKind, Line, Offline, Part, PriceItem, Receipt, Source, Withdrawal,
};
pub use anola_ledger::{format_amount, parse_amount, AccountKind, AccountStatus, Currency, Limits, ReasonCode, TxKind};

/// `GET /money/prices`: the clinic's price list (synced read-only to devices) and the platform
/// fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    pub items: Vec<PriceItem>,
    pub fee_bps: u32,
}

/// `POST /money/charges` and `POST /money/quote`: a bill to pay. The clinic and the cashier come
/// from the device and the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    pub id: uuid::Uuid,
    pub patient: String,
    pub lines: Vec<Line>,
    pub desk: Desk,
    /// What the quote said the desk takes.
    pub desk_amount: u64,
    /// The patient's wallet PIN: present when they agree to pay from personal funds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<String>,
    /// Set for a charge made offline, from the device's allowances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<Offline>,
    /// The provider who gave the care (sponsorships may cover some providers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The visit's diagnosis codes (ICD-10), for sponsorships that cover some conditions only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<String>,
    /// An approved pre-approval this charge posts against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_approval: Option<uuid::Uuid>,
}

/// `POST /money/quote`: what each source would pay now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub currency: Currency,
    pub total: u64,
    pub fee: u64,
    pub parts: Vec<Part>,
    /// What the desk takes (cash or mobile money), or what is owed.
    pub desk_amount: u64,
    /// Each sponsorship's answer: what it covers of each line and why not the rest.
    #[serde(default)]
    pub coverage: Vec<anola_ledger::book::sponsor::Covered>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    pub id: String,
    pub kind: AccountKind,
    pub currency: Currency,
    pub status: AccountStatus,
    /// Spendable now (minor units).
    pub available: i64,
    pub posted: i64,
    /// Held by pending withdrawals.
    pub pending: u64,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinStatus {
    pub set: bool,
    pub locked: bool,
    pub attempts_left: u32,
}

/// One movement on one of the patient's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: i64,
    pub request: uuid::Uuid,
    pub account: String,
    /// `debit`, `credit`, `reserve_debit`, …
    pub effect: String,
    pub amount: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TxKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
}

/// `GET /money/patients/{id}/wallets`: balances per source, what is owed, the PIN's state,
/// allowances out on devices and recent history (statistics come from the ledger, never from
/// stored counters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientWallets {
    pub patient: String,
    pub wallets: Vec<WalletView>,
    /// What the patient owes the clinic (care charged beyond what any wallet held).
    pub owed: u64,
    pub pin: PinStatus,
    pub allowances: Vec<Allowance>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum DepositMethod {
    /// Into the signed-in cashier's drawer.
    Cash,
    /// Mobile money the desk saw arrive.
    MobileMoney { reference: String },
}

/// `POST /money/deposits`: money into a patient's personal wallet at the desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    pub id: uuid::Uuid,
    pub patient: String,
    pub amount: u64,
    pub method: DepositMethod,
}

/// `POST /money/patients/{id}/wallet`: opens the patient's personal wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenWalletRequest {
    pub currency: Currency,
}

/// `PUT /money/patients/{id}/pin`: the patient's wallet PIN (4–6 digits), typed by the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPinRequest {
    pub pin: String,
}

/// `POST /money/allowances`: money this device may spend offline from one wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceRequest {
    pub id: uuid::Uuid,
    pub patient: String,
    pub wallet: String,
    pub total: u64,
    pub per_charge: u64,
    pub max_count: u32,
    pub expires_at: i64,
    /// The patient's wallet PIN: needed to reserve from their personal wallet (they consent to
    /// its use offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// The allowance granted, with the wallet PIN's verifier when it is the personal wallet (the
/// device checks the patient's consent offline against it, with its own attempt lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceGrant {
    pub allowance: Allowance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_verifier: Option<String>,
    /// The sponsorship's terms, for an allowance of a sponsored wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Eligibility>,
}

/// `POST /money/charges/{id}/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub id: uuid::Uuid,
    pub reason: ReasonCode,
}

/// `POST /money/day-close`: the signed-in cashier's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayCloseRequest {
    pub id: uuid::Uuid,
    pub counted: u64,
    #[serde(default)]
    pub note: String,
}

/// `GET /money/drawer`: the signed-in cashier's drawer as the ledger has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerView {
    pub drawer: String,
    pub currency: Option<Currency>,
    pub expected: u64,
    /// Recent closes of this drawer, newest first.
    pub closes: Vec<DayClose>,
}

/// `POST /money/withdrawals`: money out of a wallet, waiting for an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    pub id: uuid::Uuid,
    pub wallet: String,
    pub amount: u64,
    pub to: String,
    /// The patient's wallet PIN, for a personal wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}
