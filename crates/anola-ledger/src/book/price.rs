//! The clinic's price list: billable items with prices. Kept in the ledger's log so every server
//! process prices a bill the same way, and synced read-only to devices.

use crate::amount::Currency;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Consultation,
    Procedure,
    LabTest,
    Medicine,
}

/// One billable item. `code` is the clinic's own (e.g. `CONS-GP`), unique in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceItem {
    pub code: String,
    pub name: String,
    pub kind: ItemKind,
    /// For consultations: the provider service it bills (e.g. `general_practice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Minor units.
    pub price: u64,
    pub currency: Currency,
    /// Retired items stay listed (old receipts name them) but cannot be billed.
    pub active: bool,
}

/// Most characters in an item's code and name.
pub const MAX_CODE: usize = 40;
pub const MAX_NAME: usize = 120;

impl PriceItem {
    /// The first field that is wrong, and why.
    pub fn invalid(&self) -> Option<(&'static str, String)> {
        let code_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        if self.code.is_empty() || self.code.len() > MAX_CODE || !self.code.chars().all(code_ok) {
            return Some(("code", format!("1–{MAX_CODE} letters, digits, '-', '_' or '.'")));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > MAX_NAME {
            return Some(("name", format!("1–{MAX_NAME} characters")));
        }
        if self.price == 0 || self.price > crate::command::MAX_AMOUNT {
            return Some(("price", "more than zero, in minor units".into()));
        }
        if self.service.as_ref().is_some_and(|s| s.is_empty() || s.len() > MAX_CODE) {
            return Some(("service", format!("1–{MAX_CODE} characters")));
        }
        None
    }
}
