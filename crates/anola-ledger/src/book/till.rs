//! A cashier's day-close: the drawer's expected cash (what the ledger says it took in, less what
//! it paid out) against what was counted. The counted cash goes to the bank; a shortage becomes
//! what the cashier owes (`RCV-cashier-<drawer>`), an overage is recorded from outside; the
//! difference is kept on the close either way. The drawer starts the next day at zero.

use super::charge::drawer;
use super::Book;
use crate::account::{AccountId, AccountKind};
use crate::amount::Currency;
use crate::command::{Command, Leg, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    pub id: Uuid,
    /// The cashier whose drawer closes (`CASH-<drawer>`).
    pub drawer: String,
    pub counted: u64,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub staff: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClose {
    pub input: CloseInput,
    pub currency: Currency,
    pub expected: u64,
    /// counted − expected (negative: short).
    pub difference: i64,
    pub at: i64,
}

pub fn bank(c: Currency) -> AccountId {
    AccountId::new(AccountKind::Outside, &format!("bank-{}", c.code()))
}
pub fn overage(c: Currency) -> AccountId {
    AccountId::new(AccountKind::Outside, &format!("overage-{}", c.code()))
}
pub fn shortage(drawer: &str) -> AccountId {
    AccountId::new(AccountKind::Receivable, &format!("cashier-{drawer}"))
}

impl Book {
    /// The close of `input.drawer` now and the transfer that empties the drawer (`None` when the
    /// drawer is empty and nothing was counted).
    pub fn prepare_close(&self, input: CloseInput) -> Result<(DayClose, Option<Request>), LedgerError> {
        if self.closes.contains_key(&input.id) {
            return Err(LedgerError::IdReused { id: input.id.to_string() });
        }
        if input.counted > crate::command::MAX_AMOUNT {
            return Err(LedgerError::Overflow);
        }
        if input.note.chars().count() > 500 {
            return Err(LedgerError::InvalidInput {
                field: "note".into(),
                reason: "at most 500 characters".into(),
            });
        }
        let id = drawer(&input.drawer);
        let a = self
            .ledger
            .account(&id)
            .ok_or_else(|| LedgerError::UnknownAccount { account: id.0.clone() })?;
        let c = a.spec.currency;
        let expected = a.balance.available_as(a.spec.kind).max(0) as u64;
        let mut legs = Vec::new();
        let banked = input.counted.min(expected);
        if banked > 0 {
            legs.push(Leg {
                debit: bank(c),
                credit: id.clone(),
                amount: banked,
            });
        }
        if expected > input.counted {
            legs.push(Leg {
                debit: shortage(&input.drawer),
                credit: id.clone(),
                amount: expected - input.counted,
            });
        }
        if input.counted > expected {
            legs.push(Leg {
                debit: bank(c),
                credit: overage(c),
                amount: input.counted - expected,
            });
        }
        let request = (!legs.is_empty()).then_some(Request {
            id: input.id,
            command: Command::Transfer {
                kind: TxKind::Withdrawal,
                legs,
                hold_until: None,
            },
        });
        let difference = input.counted as i64 - expected as i64;
        Ok((
            DayClose {
                input,
                currency: c,
                expected,
                difference,
                at: 0,
            },
            request,
        ))
    }
}
