//! Anola's double-entry ledger core (docs/ledger.md). Pure: no I/O, no clock, no randomness; the
//! server persists what it plans and the device runs the same rules.
//!
//! - `amount`: integer minor units, currencies, a strict decimal parser.
//! - `account`: kinds (personal, sponsored, sponsor global, provider, vendor, cash drawer,
//!   revenue, platform fees, receivables, outside world), which are guarded, balances.
//! - `command`: requests with client-chosen ids: multi-leg transfers, holds, posts, voids,
//!   expiries, reversals with a reason code.
//! - `ledger`: `plan` (pure validate + generate) and `execute` (apply once, store the outcome),
//!   with the invariants asserted where they hold and a hash chain per account.
//! - `audit`: every invariant checked again from the records alone.

pub mod account;
pub mod amount;
pub mod audit;
pub mod book;
pub mod command;
pub mod error;
pub mod ledger;

pub use account::{AccountId, AccountKind, AccountSpec, AccountStatus, Balance, Limits};
pub use amount::{format_amount, parse_amount, Currency};
pub use audit::{audit, Violation};
pub use book::{audit_book, Book, BookOp};
pub use command::{Command, Leg, ReasonCode, Request, TxKind};
pub use error::LedgerError;
pub use ledger::{Executed, Ledger, Outcome};

#[cfg(test)]
mod tests;
