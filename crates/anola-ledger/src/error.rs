//! Why the ledger refuses a command. Each variant has a stable `code` (the API's and the CLI's),
//! and a refused command changes nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LedgerError {
    #[error("{reason}")]
    InvalidAmount { reason: String },
    #[error("the amount does not fit: at most 9007199254740991 minor units per leg and per transaction, and no balance beyond 64 bits")]
    Overflow,
    #[error("currency {currency} is not supported")]
    UnsupportedCurrency { currency: String },
    #[error("account {account} holds {account_currency}, the transaction is in {currency}")]
    CurrencyMismatch {
        account: String,
        account_currency: String,
        currency: String,
    },
    #[error("no account {account}")]
    UnknownAccount { account: String },
    #[error("account {account} exists already")]
    AccountExists { account: String },
    #[error("account {account} is {status}")]
    AccountNotActive { account: String, status: String },
    #[error("a leg cannot debit and credit the same account ({account})")]
    SameAccount { account: String },
    #[error("a transaction needs at least one leg and at most {max}")]
    LegCount { max: usize },
    #[error("account {account} has {available} available; this needs {needed}")]
    InsufficientFunds { account: String, available: u64, needed: u64 },
    #[error("id {id} was used for a different command")]
    IdReused { id: String },
    #[error("no hold {hold}")]
    UnknownHold { hold: String },
    #[error("hold {hold} was already {resolution}")]
    HoldResolved { hold: String, resolution: String },
    #[error("hold {hold} expired; it can only be voided or expired")]
    HoldExpired { hold: String },
    #[error("hold {hold} has not expired yet")]
    HoldNotExpired { hold: String },
    #[error("a hold is one leg")]
    HoldLegs,
    #[error("cannot post {amount}: hold {hold} holds {held}")]
    PostExceedsHold { hold: String, amount: u64, held: u64 },
    #[error("no posted transaction {id} to reverse")]
    NotReversible { id: String },
    #[error("{id} has {remaining} left to reverse; asked {amount}")]
    ReversalExceeds { id: String, remaining: u64, amount: u64 },
    #[error("a partial reversal needs a one-leg transaction")]
    PartialReversalLegs,
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("{field}: {item} is not on the price list (or is retired)")]
    UnknownItem { field: String, item: String },
    #[error("{field}: {item} now costs {price}; quote again")]
    PriceChanged { field: String, item: String, price: u64 },
    #[error("the desk now has {desk_amount} to take, the quote said {quoted}; quote again")]
    QuoteChanged { desk_amount: u64, quoted: u64 },
    #[error("no charge {charge}")]
    UnknownCharge { charge: String },
    #[error("no allowance {allowance}")]
    UnknownAllowance { allowance: String },
    #[error("allowance {allowance} was returned already")]
    AllowanceReturned { allowance: String },
    #[error("no withdrawal {withdrawal}")]
    UnknownWithdrawal { withdrawal: String },
    #[error("this patient has not set a wallet PIN")]
    PinNotSet,
    #[error("the wallet PIN is locked after too many wrong entries; the patient sets a new one at the desk")]
    PinLocked,
    #[error("pin: wrong PIN; {attempts_left} attempt(s) left before it locks")]
    PinIncorrect { attempts_left: u32 },
    #[error("no sponsor {sponsor}")]
    UnknownSponsor { sponsor: String },
    #[error("no sponsorship {sponsorship}")]
    UnknownSponsorship { sponsorship: String },
    #[error("sponsorship {sponsorship} is {status}: it cannot become {wanted}")]
    SponsorshipState {
        sponsorship: String,
        status: String,
        wanted: String,
    },
    #[error("no pre-approval {pre_approval}")]
    UnknownPreApproval { pre_approval: String },
    #[error("pre-approval {pre_approval} was already decided")]
    PreApprovalDecided { pre_approval: String },
    #[error("the sponsorship covers none of it: {reasons}")]
    NotCovered { reasons: String },
    #[error("account {account}: its {limit} limit leaves {left}; this needs {needed}")]
    LimitExceeded {
        account: String,
        limit: String,
        left: u64,
        needed: u64,
    },
}

impl LedgerError {
    /// The request field the refusal is about, when it is about one.
    pub fn field(&self) -> Option<String> {
        match self {
            LedgerError::InvalidInput { field, .. } | LedgerError::UnknownItem { field, .. } | LedgerError::PriceChanged { field, .. } => {
                Some(field.clone())
            }
            LedgerError::QuoteChanged { .. } => Some("desk_amount".into()),
            LedgerError::UnknownPreApproval { .. } => Some("pre_approval".into()),
            LedgerError::UnknownSponsorship { .. } => Some("sponsorship".into()),
            LedgerError::UnknownSponsor { .. } => Some("sponsor".into()),
            LedgerError::PinIncorrect { .. } | LedgerError::PinLocked | LedgerError::PinNotSet => Some("pin".into()),
            _ => None,
        }
    }

    /// The stable code of this refusal (`insufficient_funds`, `id_reused`, …).
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::InvalidAmount { .. } => "invalid_amount",
            LedgerError::Overflow => "overflow",
            LedgerError::UnsupportedCurrency { .. } => "unsupported_currency",
            LedgerError::CurrencyMismatch { .. } => "currency_mismatch",
            LedgerError::UnknownAccount { .. } => "unknown_account",
            LedgerError::AccountExists { .. } => "account_exists",
            LedgerError::AccountNotActive { .. } => "account_not_active",
            LedgerError::SameAccount { .. } => "same_account",
            LedgerError::LegCount { .. } => "leg_count",
            LedgerError::InsufficientFunds { .. } => "insufficient_funds",
            LedgerError::IdReused { .. } => "id_reused",
            LedgerError::UnknownHold { .. } => "unknown_hold",
            LedgerError::HoldResolved { .. } => "hold_resolved",
            LedgerError::HoldExpired { .. } => "hold_expired",
            LedgerError::HoldNotExpired { .. } => "hold_not_expired",
            LedgerError::HoldLegs => "hold_legs",
            LedgerError::PostExceedsHold { .. } => "post_exceeds_hold",
            LedgerError::NotReversible { .. } => "not_reversible",
            LedgerError::ReversalExceeds { .. } => "reversal_exceeds",
            LedgerError::PartialReversalLegs => "partial_reversal_legs",
            LedgerError::LimitExceeded { .. } => "limit_exceeded",
            LedgerError::InvalidInput { .. } => "invalid_input",
            LedgerError::UnknownItem { .. } => "unknown_item",
            LedgerError::PriceChanged { .. } => "price_changed",
            LedgerError::QuoteChanged { .. } => "quote_changed",
            LedgerError::UnknownCharge { .. } => "unknown_charge",
            LedgerError::UnknownAllowance { .. } => "unknown_allowance",
            LedgerError::AllowanceReturned { .. } => "allowance_returned",
            LedgerError::UnknownWithdrawal { .. } => "unknown_withdrawal",
            LedgerError::PinNotSet => "pin_not_set",
            LedgerError::PinLocked => "pin_locked",
            LedgerError::PinIncorrect { .. } => "pin_incorrect",
            LedgerError::UnknownSponsor { .. } => "unknown_sponsor",
            LedgerError::UnknownSponsorship { .. } => "unknown_sponsorship",
            LedgerError::SponsorshipState { .. } => "sponsorship_state",
            LedgerError::UnknownPreApproval { .. } => "unknown_pre_approval",
            LedgerError::PreApprovalDecided { .. } => "pre_approval_decided",
            LedgerError::NotCovered { .. } => "not_covered",
        }
    }
}
