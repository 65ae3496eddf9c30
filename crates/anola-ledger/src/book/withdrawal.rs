//! Withdrawals and payouts: money leaving a wallet for the outside world (a patient's personal
//! funds, a provider's or vendor's earnings) is first held, then posted when an administrator
//! approves it or voided when one rejects it. The hold keeps the money from being spent twice
//! while the request waits.

use super::Book;
use crate::account::{AccountId, AccountKind};
use crate::amount::Currency;
use crate::command::{Command, Leg, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long a withdrawal waits for a decision before its hold can only be voided.
pub const WAIT_MS: i64 = 30 * 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalInput {
    pub id: Uuid,
    pub wallet: AccountId,
    pub amount: u64,
    /// Where it goes (e.g. a mobile-money number), as the provider names it.
    pub to: String,
    #[serde(default)]
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub input: WithdrawalInput,
    pub currency: Currency,
    pub at: i64,
    /// (approved, by whom, when).
    pub decision: Option<(bool, String, i64)>,
}

pub fn payouts(c: Currency) -> AccountId {
    AccountId::new(AccountKind::Outside, &format!("payout-{}", c.code()))
}

/// The id of the request that decides withdrawal `id` (derived, so a decision happens once).
pub fn decision_id(id: Uuid) -> Uuid {
    super::derived_id(id, "decision")
}

impl Book {
    pub fn prepare_withdrawal(&self, input: &WithdrawalInput, now: i64) -> Result<(Currency, Request), LedgerError> {
        if self.withdrawals.contains_key(&input.id) {
            return Err(LedgerError::IdReused { id: input.id.to_string() });
        }
        let a = self.ledger.account(&input.wallet).ok_or_else(|| LedgerError::UnknownAccount {
            account: input.wallet.0.clone(),
        })?;
        if !matches!(
            a.spec.kind,
            AccountKind::Personal | AccountKind::Provider | AccountKind::Vendor | AccountKind::SponsorGlobal
        ) {
            return Err(LedgerError::InvalidInput {
                field: "wallet".into(),
                reason: "money can be withdrawn from personal, provider, vendor and sponsor wallets only".into(),
            });
        }
        if input.to.trim().is_empty() || input.to.len() > 64 {
            return Err(LedgerError::InvalidInput {
                field: "to".into(),
                reason: "1–64 characters".into(),
            });
        }
        let c = a.spec.currency;
        Ok((
            c,
            Request {
                id: input.id,
                command: Command::Transfer {
                    kind: TxKind::Withdrawal,
                    legs: vec![Leg {
                        debit: input.wallet.clone(),
                        credit: payouts(c),
                        amount: input.amount,
                    }],
                    hold_until: Some(now + WAIT_MS),
                },
            },
        ))
    }

    pub fn prepare_decision(&self, id: Uuid, approve: bool) -> Result<Request, LedgerError> {
        let w = self.withdrawals.get(&id).ok_or_else(|| LedgerError::UnknownWithdrawal {
            withdrawal: id.to_string(),
        })?;
        if let Some((approved, _, _)) = &w.decision {
            return Err(LedgerError::HoldResolved {
                hold: id.to_string(),
                resolution: if *approved { "posted" } else { "voided" }.into(),
            });
        }
        Ok(Request {
            id: decision_id(id),
            command: if approve {
                Command::Post { hold: id, amount: None }
            } else {
                Command::Void { hold: id }
            },
        })
    }
}
