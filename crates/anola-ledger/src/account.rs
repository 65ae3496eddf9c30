//! Accounts by kind, each in one currency. Wallets and the cash drawer are *guarded*: their
//! available balance (credits − debits − pending debits) never goes below zero. The outside world
//! (money entering or leaving the platform) and receivables (what patients owe) are not guarded.

use crate::amount::Currency;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A patient's own money (`PW-`).
    Personal,
    /// A patient's funds from one sponsorship (`SW-`).
    Sponsored,
    /// A sponsor's global wallet (`GW-`).
    SponsorGlobal,
    /// A provider's earnings (`PRW-`).
    Provider,
    /// A vendor's earnings (`VW-`).
    Vendor,
    /// Cash held at a clinic's front desk (`CASH-`).
    CashDrawer,
    /// A clinic's revenue for care given (`REV-`).
    Revenue,
    /// The platform's fees (`FEE-`).
    PlatformFees,
    /// What patients owe the clinic (`RCV-`): care charged beyond what any wallet held.
    Receivable,
    /// Money entering or leaving the platform (`EXT-`): mobile money, banks.
    Outside,
}

impl AccountKind {
    pub fn prefix(self) -> &'static str {
        match self {
            AccountKind::Personal => "PW",
            AccountKind::Sponsored => "SW",
            AccountKind::SponsorGlobal => "GW",
            AccountKind::Provider => "PRW",
            AccountKind::Vendor => "VW",
            AccountKind::CashDrawer => "CASH",
            AccountKind::Revenue => "REV",
            AccountKind::PlatformFees => "FEE",
            AccountKind::Receivable => "RCV",
            AccountKind::Outside => "EXT",
        }
    }

    /// Whether the available balance must stay at or above zero.
    pub fn guarded(self) -> bool {
        !matches!(self, AccountKind::Receivable | AccountKind::Outside)
    }
}

/// `<prefix>-<name>`, e.g. `PW-0b6f…` for a patient's personal wallet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub String);

impl AccountId {
    pub fn new(kind: AccountKind, name: &str) -> AccountId {
        AccountId(format!("{}-{name}", kind.prefix()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Takes money in, lets none out (holds already made can still be posted or voided).
    Suspended,
    /// Takes nothing; holds can only be voided or expire.
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Closed => "closed",
        }
    }
}

/// What an account is: fixed when it is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSpec {
    pub id: AccountId,
    pub kind: AccountKind,
    pub currency: Currency,
}

/// An account's four sums (TigerBeetle's model). Balances are never stored elsewhere: statistics
/// derive from entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub debits_posted: u64,
    pub credits_posted: u64,
    pub debits_pending: u64,
    pub credits_pending: u64,
}

impl Balance {
    /// Posted credits minus posted debits (negative for receivables and the outside world).
    pub fn posted(&self) -> i128 {
        self.credits_posted as i128 - self.debits_posted as i128
    }

    /// What can still be spent: posted, less what holds reserve.
    pub fn available(&self) -> i128 {
        self.posted() - self.debits_pending as i128
    }
}
