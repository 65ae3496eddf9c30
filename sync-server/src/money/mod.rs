//! Money on the server (docs/ledger.md): the ledger core (`anola-ledger`) driven over a log of
//! unique slots (`store::ledger_log`, ADR 0015).

pub mod provider;
pub mod service;
pub mod sponsorship;

pub use service::{CollectUpdate, LedgerService, MoneyError, PayoutUpdate};
