//! The coverage rule engine: what one sponsorship pays of one bill, and why not the rest. Pure and
//! versioned: the device runs it offline to tell a patient what is covered, the server runs it
//! when the charge commits (or settles), and the server's answer is the one the ledger records
//! (`Receipt.coverage`). Nothing is trimmed silently: every line the sponsorship pays less of than
//! it was asked carries the reasons (openIMIS's adjudication trims quantities without a word —
//! docs/sponsorship.md).

use crate::book::price::ItemKind;
use serde::{Deserialize, Serialize};

/// Bumped whenever an answer for the same input could change. Receipts record the version that
/// decided them, so a report can tell answers of an older engine apart.
pub const RULES_VERSION: u32 = 1;

/// The day, in ms (waiting periods are whole days).
pub const DAY_MS: i64 = 86_400_000;

/// Why a sponsorship pays less than a line asks. Stable codes: the API, the app, the portal and
/// the reports all show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "CoverageReason")]
pub enum Reason {
    /// Paused, pending, terminated, completed or expired by status.
    NotActive,
    /// Before the sponsorship starts.
    NotStarted,
    /// After the current term ends.
    Expired,
    /// Within the waiting period after the start.
    WaitingPeriod,
    /// The line's item, kind or service is not in the covered services.
    ServiceNotCovered,
    /// The line's item, kind or service is excluded.
    ServiceExcluded,
    /// The provider (and clinic) is outside the sponsorship's providers.
    ProviderOutOfNetwork,
    /// None of the visit's diagnoses is a covered condition.
    ConditionNotCovered,
    /// The patient's share (co-payment).
    CoPayment,
    /// Above the cap per transaction.
    PerTransactionCap,
    /// Above what the cap per period leaves.
    PeriodCap,
    /// The period's number of charges is used up.
    FrequencyLimit,
    /// Above the pre-approval threshold with no approved pre-approval.
    PreApprovalRequired,
    /// Above the amount of the approved pre-approval.
    PreApprovalLimit,
    /// Above what the sponsored account (or the device's allowance of it) holds.
    FundsExhausted,
    /// The bill's currency is not the sponsorship's.
    CurrencyMismatch,
}

impl Reason {
    pub const ALL: [Reason; 16] = [
        Reason::NotActive,
        Reason::NotStarted,
        Reason::Expired,
        Reason::WaitingPeriod,
        Reason::ServiceNotCovered,
        Reason::ServiceExcluded,
        Reason::ProviderOutOfNetwork,
        Reason::ConditionNotCovered,
        Reason::CoPayment,
        Reason::PerTransactionCap,
        Reason::PeriodCap,
        Reason::FrequencyLimit,
        Reason::PreApprovalRequired,
        Reason::PreApprovalLimit,
        Reason::FundsExhausted,
        Reason::CurrencyMismatch,
    ];

    /// What the front desk tells the patient.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NotActive => "the sponsorship is not active (pending, paused or ended)",
            Reason::NotStarted => "the sponsorship has not started yet",
            Reason::Expired => "the sponsorship's term has ended",
            Reason::WaitingPeriod => "still in the waiting period after the start",
            Reason::ServiceNotCovered => "this service is not covered",
            Reason::ServiceExcluded => "this service is excluded",
            Reason::ProviderOutOfNetwork => "this provider is outside the sponsor's network",
            Reason::ConditionNotCovered => "the visit's diagnosis is not a covered condition",
            Reason::CoPayment => "the patient's co-payment share",
            Reason::PerTransactionCap => "above the most per charge",
            Reason::PeriodCap => "above what this month's cap leaves",
            Reason::FrequencyLimit => "this month's number of covered charges is used up",
            Reason::PreApprovalRequired => "above the pre-approval threshold: needs an approved pre-approval",
            Reason::PreApprovalLimit => "above the approved pre-approval's amount",
            Reason::FundsExhausted => "above what the sponsorship still holds",
            Reason::CurrencyMismatch => "the bill is in another currency",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Reason::NotActive => "not_active",
            Reason::NotStarted => "not_started",
            Reason::Expired => "expired",
            Reason::WaitingPeriod => "waiting_period",
            Reason::ServiceNotCovered => "service_not_covered",
            Reason::ServiceExcluded => "service_excluded",
            Reason::ProviderOutOfNetwork => "provider_out_of_network",
            Reason::ConditionNotCovered => "condition_not_covered",
            Reason::CoPayment => "co_payment",
            Reason::PerTransactionCap => "per_transaction_cap",
            Reason::PeriodCap => "period_cap",
            Reason::FrequencyLimit => "frequency_limit",
            Reason::PreApprovalRequired => "pre_approval_required",
            Reason::PreApprovalLimit => "pre_approval_limit",
            Reason::FundsExhausted => "funds_exhausted",
            Reason::CurrencyMismatch => "currency_mismatch",
        }
    }
}

/// What a sponsorship covers. Services and exclusions match a line's item code, its kind
/// (`consultation`, `procedure`, `lab_test`, `medicine`) or the provider service it bills; an
/// empty service list (or `all`) covers every service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    #[serde(default)]
    pub services: Vec<String>,
    /// Provider ids or clinic ids; empty = every provider.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Diagnosis codes (ICD-10 prefixes, e.g. `B50` covers `B50.9`); empty = any condition.
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
}

/// Caps and shares. Periods are UTC calendar months.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    #[serde(default)]
    #[ts(type = "number | null")]
    pub per_transaction: Option<u64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub per_period: Option<u64>,
    #[serde(default)]
    pub charges_per_period: Option<u32>,
    /// The patient's share of each covered line, in basis points (rounded up: the sponsor never
    /// pays more than its share).
    #[serde(default)]
    pub co_payment_bps: u32,
    /// Bills whose covered amount is above this need an approved pre-approval.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub pre_approval_above: Option<u64>,
    #[serde(default)]
    pub waiting_days: u32,
}

/// Where the sponsorship stands, as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub active: bool,
    pub starts_at: i64,
    pub ends_at: i64,
    pub currency: crate::Currency,
}

/// One line of the bill, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub item: String,
    pub kind: ItemKind,
    #[serde(default)]
    pub service: Option<String>,
    pub amount: u64,
}

/// The bill as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim<'a> {
    pub lines: &'a [ClaimLine],
    pub currency: crate::Currency,
    pub provider: Option<&'a str>,
    pub clinic: &'a str,
    pub diagnoses: &'a [String],
    pub at: i64,
}

/// What is left to spend, computed by the caller from the book: online from the sponsorship's
/// usage (and what its devices' allowances hold for offline use); when an offline charge
/// settles, from that allowance (which was bounded by the caps when it was reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Room {
    pub funds: u64,
    pub period: Option<u64>,
    pub charges: Option<u32>,
    /// The amount of an approved, open pre-approval for this bill.
    pub pre_approved: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "CoverageLine")]
pub struct LineAnswer {
    #[ts(type = "number")]
    pub asked: u64,
    #[ts(type = "number")]
    pub covered: u64,
    pub reasons: Vec<Reason>,
}

/// The engine's answer for one sponsorship and one bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "CoverageAnswer")]
pub struct Answer {
    pub version: u32,
    pub lines: Vec<LineAnswer>,
    #[ts(type = "number")]
    pub approved: u64,
}

impl Answer {
    /// Every reason on any line, once, in code order.
    pub fn reasons(&self) -> Vec<Reason> {
        let mut v: Vec<Reason> = self.lines.iter().flat_map(|l| l.reasons.iter().copied()).collect();
        v.sort();
        v.dedup();
        v
    }
}

fn matches(list: &[String], line: &ClaimLine) -> bool {
    let kind = match line.kind {
        ItemKind::Consultation => "consultation",
        ItemKind::Procedure => "procedure",
        ItemKind::LabTest => "lab_test",
        ItemKind::Medicine => "medicine",
    };
    list.iter()
        .any(|s| s == "all" || *s == line.item || s == kind || line.service.as_deref() == Some(s.as_str()))
}

/// Diagnosis `code` is under condition `prefix` (`B50` covers `B50.9`; case and dots ignored).
pub fn condition_covers(prefix: &str, code: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| *c != '.').collect::<String>().to_ascii_uppercase();
    let (p, c) = (norm(prefix), norm(code));
    !p.is_empty() && c.starts_with(&p)
}

/// The answer for `claim` under `coverage` and `caps`, given where the sponsorship stands and
/// what room it has. Pure and total: every input has an answer.
pub fn evaluate(coverage: &Coverage, caps: &Caps, standing: &Standing, claim: &Claim<'_>, room: Room) -> Answer {
    let none = |reason: Reason| Answer {
        version: RULES_VERSION,
        lines: claim
            .lines
            .iter()
            .map(|l| LineAnswer {
                asked: l.amount,
                covered: 0,
                reasons: vec![reason],
            })
            .collect(),
        approved: 0,
    };
    // Whole-bill gates, in a fixed order (the first that applies is the reason).
    if !standing.active {
        return none(Reason::NotActive);
    }
    if claim.currency != standing.currency {
        return none(Reason::CurrencyMismatch);
    }
    if claim.at < standing.starts_at {
        return none(Reason::NotStarted);
    }
    if claim.at >= standing.ends_at {
        return none(Reason::Expired);
    }
    if claim.at < standing.starts_at.saturating_add(i64::from(caps.waiting_days) * DAY_MS) {
        return none(Reason::WaitingPeriod);
    }
    if !coverage.providers.is_empty()
        && !coverage
            .providers
            .iter()
            .any(|p| Some(p.as_str()) == claim.provider || p == claim.clinic)
    {
        return none(Reason::ProviderOutOfNetwork);
    }
    if !coverage.conditions.is_empty()
        && !claim
            .diagnoses
            .iter()
            .any(|d| coverage.conditions.iter().any(|c| condition_covers(c, d)))
    {
        return none(Reason::ConditionNotCovered);
    }
    if room.charges == Some(0) {
        return none(Reason::FrequencyLimit);
    }
    // Per line: what the sponsorship would pay with no caps.
    let mut lines: Vec<LineAnswer> = claim
        .lines
        .iter()
        .map(|l| {
            if matches(&coverage.excluded, l) {
                return LineAnswer {
                    asked: l.amount,
                    covered: 0,
                    reasons: vec![Reason::ServiceExcluded],
                };
            }
            if !coverage.services.is_empty() && !matches(&coverage.services, l) {
                return LineAnswer {
                    asked: l.amount,
                    covered: 0,
                    reasons: vec![Reason::ServiceNotCovered],
                };
            }
            let share = (u128::from(l.amount) * u128::from(caps.co_payment_bps.min(10_000))).div_ceil(10_000) as u64;
            LineAnswer {
                asked: l.amount,
                covered: l.amount - share,
                reasons: if share > 0 { vec![Reason::CoPayment] } else { vec![] },
            }
        })
        .collect();
    let eligible: u64 = lines.iter().map(|l| l.covered).fold(0u64, u64::saturating_add);
    // The caps, tightest first wins the reason; ties go to the first listed.
    let mut limits: Vec<(u64, Reason)> = Vec::new();
    if let Some(threshold) = caps.pre_approval_above {
        if eligible > threshold {
            match room.pre_approved {
                None => limits.push((0, Reason::PreApprovalRequired)),
                Some(n) => limits.push((n, Reason::PreApprovalLimit)),
            }
        }
    }
    if let Some(n) = caps.per_transaction {
        limits.push((n, Reason::PerTransactionCap));
    }
    if let Some(n) = room.period {
        limits.push((n, Reason::PeriodCap));
    }
    limits.push((room.funds, Reason::FundsExhausted));
    let (budget, binding) = limits
        .iter()
        .copied()
        .fold((u64::MAX, None), |(b, r), (n, why)| if n < b { (n, Some(why)) } else { (b, r) });
    if budget < eligible {
        let reason = binding.expect("a limit is below the eligible amount");
        let mut left = budget;
        for l in lines.iter_mut().filter(|l| l.covered > 0) {
            let pay = l.covered.min(left);
            left -= pay;
            if pay < l.covered {
                l.covered = pay;
                l.reasons.push(reason);
            }
        }
    }
    let approved = lines.iter().map(|l| l.covered).sum();
    Answer {
        version: RULES_VERSION,
        lines,
        approved,
    }
}
