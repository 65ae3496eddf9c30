//! Mobile money through a payment provider: a deposit asked of the patient's phone (an STK push,
//! on M-Pesa) is an intent until the provider's callback says it was paid (then the money moves,
//! once, under the intent's id) or not; a payout of an approved withdrawal is sent, and if the
//! provider says it failed, the withdrawal is reversed so the money is back in the wallet.

use super::Book;
use crate::account::AccountId;
use crate::amount::Currency;
use crate::command::{Command, Leg, ReasonCode, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectIntent {
    /// Client-chosen; the deposit's ledger id once paid.
    pub id: Uuid,
    pub patient: String,
    pub wallet: AccountId,
    pub amount: u64,
    /// The payer's phone as the provider wants it (e.g. 2547XXXXXXXX).
    pub phone: String,
    #[serde(default)]
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CollectState {
    /// Recorded; the provider has not been asked yet (or the answer was lost).
    Pending,
    /// The provider took the request and will call back.
    Pushed {
        checkout: String,
    },
    Paid {
        receipt: String,
    },
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub intent: CollectIntent,
    pub currency: Currency,
    pub state: CollectState,
    /// Payments the provider reported for an intent already paid (to refund by hand).
    #[serde(default)]
    pub duplicates: Vec<String>,
}

/// What became of a withdrawal's payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PayoutState {
    Sent {
        conversation: String,
    },
    Done {
        reference: String,
    },
    /// The provider failed it; the withdrawal was reversed into the wallet.
    Returned {
        reason: String,
    },
}

/// The id under which a failed payout's reversal happens (once).
pub fn payout_return_id(withdrawal: Uuid) -> Uuid {
    super::derived_id(withdrawal, "payout-returned")
}

impl Book {
    pub fn prepare_collect(&self, intent: &CollectIntent) -> Result<Currency, LedgerError> {
        let bad = |field: &str, reason: &str| LedgerError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        };
        let a = self.ledger.account(&intent.wallet).ok_or_else(|| LedgerError::UnknownAccount {
            account: intent.wallet.0.clone(),
        })?;
        // `patient` is the wallet's owner: a patient's personal wallet, or a sponsor's global one.
        if self.owner_of(&intent.wallet) != Some(intent.patient.as_str())
            || !matches!(a.spec.kind, crate::AccountKind::Personal | crate::AccountKind::SponsorGlobal)
        {
            return Err(bad(
                "patient",
                "mobile-money deposits go to the patient's own personal wallet (or a sponsor's wallet)",
            ));
        }
        if intent.amount == 0 || intent.amount > crate::command::MAX_AMOUNT {
            return Err(bad("amount", "more than zero"));
        }
        if intent.phone.len() < 9 || intent.phone.len() > 15 || !intent.phone.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "phone",
                "the payer's number in international form, digits only (e.g. 254712345678)",
            ));
        }
        Ok(a.spec.currency)
    }

    /// The deposit a paid collection makes (`mobile` is the provider's outside account).
    pub fn collected_request(&self, id: Uuid, mobile: AccountId) -> Result<Request, LedgerError> {
        let c = self
            .collections
            .get(&id)
            .ok_or_else(|| LedgerError::UnknownCharge { charge: id.to_string() })?;
        Ok(Request {
            id,
            command: Command::Transfer {
                kind: TxKind::Deposit,
                legs: vec![Leg {
                    debit: mobile,
                    credit: c.intent.wallet.clone(),
                    amount: c.intent.amount,
                }],
                hold_until: None,
            },
        })
    }

    /// The reversal that returns a failed payout's money to its wallet.
    pub fn payout_return_request(&self, withdrawal: Uuid) -> Request {
        Request {
            id: payout_return_id(withdrawal),
            command: Command::Reverse {
                of: super::withdrawal::decision_id(withdrawal),
                amount: None,
                reason: ReasonCode::FundsReturned,
            },
        }
    }
}
