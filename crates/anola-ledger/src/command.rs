//! What a client asks the ledger to do. Every request carries a client-chosen id: the ledger does
//! it at most once, and the same id with another body is refused (`id_reused`).

use crate::account::AccountId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Most legs one transaction may have.
pub const MAX_LEGS: usize = 16;
/// The largest amount, per leg and per transaction: 2^53 − 1 minor units, the largest integer
/// every JSON reader (JavaScript's included) and BSON keep exactly.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;

/// Money moving from `debit` to `credit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    pub debit: AccountId,
    pub credit: AccountId,
    /// Minor units, more than zero.
    pub amount: u64,
}

/// The business event a transaction records (the seed's transaction types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    Payment,
    Refund,
    Deposit,
    Withdrawal,
    Transfer,
    Sponsorship,
    Fee,
    Payout,
}

/// Why a transaction is reversed. Corrections are new transactions, never edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    DuplicateCharge,
    WrongAmount,
    ServiceNotGiven,
    PatientRequest,
    EnteredInError,
    FundsReturned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Legs applied all together or not at all. With `hold_until` (one leg only) the money is
    /// reserved, not moved, until the hold is posted, voided or expires (ms since the epoch).
    Transfer {
        kind: TxKind,
        legs: Vec<Leg>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hold_until: Option<i64>,
    },
    /// Moves a hold's money, all of it or `amount` of it; the rest is released.
    Post {
        hold: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<u64>,
    },
    /// Releases a hold.
    Void { hold: Uuid },
    /// Releases a hold whose time is up.
    Expire { hold: Uuid },
    /// Moves a posted transaction's money back (all, or `amount` of a one-leg transaction).
    Reverse {
        of: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<u64>,
        reason: ReasonCode,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub id: Uuid,
    pub command: Command,
}

impl Request {
    /// Every amount, and a transfer's total, within `MAX_AMOUNT`. Checked before anything else
    /// (and before a request is stored), so no amount that cannot be kept exactly is ever kept.
    pub fn check_amounts(&self) -> Result<(), crate::error::LedgerError> {
        let over = |n: u64| n > MAX_AMOUNT;
        let bad = match &self.command {
            Command::Transfer { legs, .. } => {
                legs.iter().any(|l| over(l.amount)) || legs.iter().try_fold(0u64, |s, l| s.checked_add(l.amount)).is_none_or(over)
            }
            Command::Post { amount, .. } | Command::Reverse { amount, .. } => amount.is_some_and(over),
            Command::Void { .. } | Command::Expire { .. } => false,
        };
        if bad {
            return Err(crate::error::LedgerError::Overflow);
        }
        Ok(())
    }

    /// A digest of the body, to tell a retry from an id reused for something else.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("requests serialize");
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}
