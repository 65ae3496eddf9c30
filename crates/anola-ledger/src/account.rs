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
    /// Money a device may spend offline from one wallet (`ALW-`, one per allowance): moved out of
    /// the wallet while online, spent by offline charges, the rest returned (docs/ledger.md).
    Allowance,
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
            AccountKind::Allowance => "ALW",
        }
    }

    /// Whether the available balance must stay at or above zero.
    pub fn guarded(self) -> bool {
        !matches!(self, AccountKind::Receivable | AccountKind::Outside)
    }

    /// Whether the account holds what is debited to it rather than what is credited: a cash
    /// drawer is the clinic's cash in hand, so cash taken in debits it (and credits the wallet or
    /// revenue it pays), and cash handed out credits it. Its guard is then "no more out than in".
    pub fn debit_normal(self) -> bool {
        matches!(self, AccountKind::CashDrawer)
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
#[serde(deny_unknown_fields)]
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

    /// What can still be spent from an account of `kind`, on its normal side: for a debit-normal
    /// account (a cash drawer) posted debits less posted and pending credits.
    pub fn available_as(&self, kind: AccountKind) -> i128 {
        if kind.debit_normal() {
            -self.posted() - self.credits_pending as i128
        } else {
            self.available()
        }
    }
}

/// How much may leave an account: per transaction, per UTC day and per UTC calendar month (minor
/// units; `None`: no limit). Checked when money is committed to leave — a transfer or a hold —
/// and counted then; a later void does not give the allowance back (conservative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_transaction: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_month: Option<u64>,
}

/// What left an account in the current UTC day and month (derived from the requests applied;
/// the counters restart when the day or month changes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spending {
    pub day: i64,
    pub day_total: u64,
    pub month: i64,
    pub month_total: u64,
}

/// The UTC day number and the calendar month number (year × 12 + month − 1) of `ms`.
pub fn day_and_month(ms: i64) -> (i64, i64) {
    let day = ms.div_euclid(86_400_000);
    // Civil date from a day count (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (day, year * 12 + month - 1)
}

impl Spending {
    /// Totals as of `ms` (zero for a day or month that has not seen spending yet).
    pub fn at(&self, ms: i64) -> (u64, u64) {
        let (day, month) = day_and_month(ms);
        (
            if self.day == day { self.day_total } else { 0 },
            if self.month == month { self.month_total } else { 0 },
        )
    }

    pub fn add(&mut self, ms: i64, amount: u64) {
        let (day_total, month_total) = self.at(ms);
        let (day, month) = day_and_month(ms);
        *self = Spending {
            day,
            day_total: day_total.saturating_add(amount),
            month,
            month_total: month_total.saturating_add(amount),
        };
    }
}
