//! The book: the ledger plus what paying for care needs around it — who owns which wallet, the
//! price list, wallet PINs, receipts, offline allowances, day-closes and withdrawals. Every change
//! is one `BookOp`; `decide` says what an op would do (pure), `apply` does it. The server keeps
//! the ops in its log (ADR 0015) and every process replays them to the same book.
//!
//! Ops that move money carry the ledger request they make, built by a `prepare_*` function from
//! the book as it stood when the op was decided; replay applies that request as stored, so the
//! waterfall is never recomputed on a different state.

pub mod allowance;
pub mod charge;
pub mod collect;
pub mod price;
pub mod sponsor;
pub mod till;
pub mod withdrawal;

#[cfg(test)]
mod tests;

pub use allowance::{Allowance, AllowanceSpec};
pub use charge::{ChargeInput, Desk, Line, Offline, Part, Prepared, Receipt, Source};
pub use collect::{CollectIntent, CollectState, Collection, PayoutState};
pub use price::{ItemKind, PriceItem};
pub use sponsor::SponsorOp;
pub use till::{CloseInput, DayClose};
pub use withdrawal::{Withdrawal, WithdrawalInput};

use crate::account::{AccountId, AccountKind, AccountSpec, AccountStatus, Limits};
use crate::audit::Violation;
use crate::command::{Command, ReasonCode, Request};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// Wrong PINs in a row before a wallet's PIN locks (until it is set again at the desk).
pub const PIN_ATTEMPTS: u32 = 5;
/// Highest platform fee, in basis points (20 %).
pub const MAX_FEE_BPS: u32 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// An Argon2id PHC string of the PIN (never the PIN).
    pub verifier: String,
    /// Wrong PINs since it was set or last entered right.
    pub failures: u32,
}

impl PinState {
    pub fn locked(&self) -> bool {
        self.failures >= PIN_ATTEMPTS
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    pub id: Uuid,
    pub charge: Uuid,
    pub reason: ReasonCode,
    #[serde(default)]
    pub staff: String,
}

/// One change to the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BookOp {
    Open {
        spec: AccountSpec,
    },
    Status {
        account: AccountId,
        status: AccountStatus,
    },
    Limits {
        account: AccountId,
        limits: Limits,
    },
    Request {
        request: Request,
    },
    /// Opens a wallet that belongs to a patient (or sponsor, provider, vendor).
    OpenWallet {
        spec: AccountSpec,
        owner: String,
    },
    Price {
        item: PriceItem,
    },
    FeeRate {
        bps: u32,
    },
    Pin {
        patient: String,
        verifier: String,
    },
    PinFailed {
        patient: String,
    },
    PinOk {
        patient: String,
    },
    Charge {
        prepared: Box<Prepared>,
    },
    Refund {
        refund: RefundInput,
        request: Request,
        /// The reversal of a pre-approval's post, for a charge that had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<Request>,
    },
    Reserve {
        allowance: AllowanceSpec,
        request: Request,
    },
    /// Returns what an allowance holds to its wallet; the allowance pays no more charges.
    Return {
        allowance: Uuid,
        request: Option<Request>,
    },
    Withdraw {
        withdrawal: WithdrawalInput,
        request: Request,
    },
    Decide {
        withdrawal: Uuid,
        approve: bool,
        by: String,
        request: Request,
    },
    Close {
        close: DayClose,
        request: Option<Request>,
    },
    /// A mobile-money deposit asked of the patient's phone.
    Collect {
        intent: CollectIntent,
        currency: crate::Currency,
    },
    /// The provider took the request.
    Pushed {
        collect: Uuid,
        checkout: String,
    },
    /// The provider says it was paid: the deposit, under the intent's id.
    Collected {
        collect: Uuid,
        receipt: String,
        request: Request,
    },
    /// The provider says it was not paid (cancelled, timed out, refused).
    CollectFailed {
        collect: Uuid,
        reason: String,
    },
    /// A payment reported for an intent already paid (kept for a refund by hand).
    CollectDuplicate {
        collect: Uuid,
        receipt: String,
    },
    /// An approved withdrawal's payout, sent to the provider.
    PayoutSent {
        withdrawal: Uuid,
        conversation: String,
    },
    /// The provider's answer: done, or failed and reversed into the wallet (`request`).
    PayoutResult {
        withdrawal: Uuid,
        reference: String,
        request: Option<Request>,
    },
    /// Sponsors, sponsorships and pre-approvals (`sponsor/ops.rs`).
    Sponsor {
        op: Box<SponsorOp>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    pub ledger: Ledger,
    pub prices: BTreeMap<String, PriceItem>,
    /// The highest price each item has ever had: an offline charge (priced from the device's copy
    /// of the list, which may be old) can never bill more than that.
    #[serde(default)]
    pub price_ceiling: BTreeMap<String, u64>,
    pub fee_bps: u32,
    /// Wallet → owner, and owner → wallets.
    pub owner: HashMap<AccountId, String>,
    pub wallets: HashMap<String, BTreeSet<AccountId>>,
    pub pins: HashMap<String, PinState>,
    pub receipts: HashMap<Uuid, Receipt>,
    /// Patient → their receipts in the order they were made (the patient's portal lists them
    /// without scanning every receipt).
    #[serde(default)]
    pub receipts_of: HashMap<String, Vec<Uuid>>,
    /// Refund id → charge id.
    pub refunds: HashMap<Uuid, Uuid>,
    pub allowances: HashMap<Uuid, Allowance>,
    /// Open allowances by expiry, for the sweep that returns them.
    pub expiring: BTreeSet<(i64, Uuid)>,
    pub closes: BTreeMap<Uuid, DayClose>,
    pub withdrawals: HashMap<Uuid, Withdrawal>,
    pub collections: HashMap<Uuid, Collection>,
    pub payouts: HashMap<Uuid, PayoutState>,
    #[serde(default)]
    pub sponsors: HashMap<String, sponsor::Sponsor>,
    /// Bank deposits into each sponsor's wallet: (request, amount, reference, at).
    #[serde(default)]
    pub sponsor_deposits: HashMap<String, Vec<(Uuid, u64, String, i64)>>,
    #[serde(default)]
    pub sponsorships: HashMap<Uuid, sponsor::Sponsorship>,
    /// Sponsor → their sponsorships, in the order made.
    #[serde(default)]
    pub sponsorships_of: HashMap<String, Vec<Uuid>>,
    /// Sponsorships not ended, by the end of their term (for the sweep that renews or ends them).
    #[serde(default)]
    pub term_ends: BTreeSet<(i64, Uuid)>,
    /// Ended sponsorships whose wallet got money back after the end (sent on by the sweep).
    #[serde(default)]
    pub to_return: BTreeSet<Uuid>,
    #[serde(default)]
    pub pre_approvals: HashMap<Uuid, sponsor::PreApproval>,
    /// Approved pre-approvals by the end of their hold.
    #[serde(default)]
    pub pa_expiring: BTreeSet<(i64, Uuid)>,
    /// Reminders and notices kept for a later delivery channel.
    #[serde(default)]
    pub notices: Vec<sponsor::Notice>,
    #[serde(default)]
    pub notice_ids: BTreeSet<Uuid>,
    /// Sponsorship → its notices (indexes into `notices`).
    #[serde(default)]
    pub notices_of: HashMap<Uuid, Vec<usize>>,
    /// Sponsorship → clinicians' stories about the care it paid for.
    #[serde(default)]
    pub stories: HashMap<Uuid, Vec<sponsor::Story>>,
    #[serde(default)]
    pub story_ids: BTreeSet<Uuid>,
    #[serde(default)]
    pub programmes: HashMap<Uuid, sponsor::Programme>,
    /// Sponsor → their programmes, in the order made.
    #[serde(default)]
    pub programmes_of: HashMap<String, Vec<Uuid>>,
}

impl Book {
    pub fn new() -> Book {
        Book::default()
    }

    pub fn allowance_by_account(&self, account: &AccountId) -> Option<&Allowance> {
        let id = account.as_str().strip_prefix("ALW-")?.parse::<Uuid>().ok()?;
        self.allowances.get(&id).filter(|a| a.account() == *account)
    }

    pub fn owner_of(&self, wallet: &AccountId) -> Option<&str> {
        self.owner.get(wallet).map(String::as_str)
    }

    /// The patient's sponsored wallets, in id order.
    pub fn sponsored_wallets(&self, patient: &str) -> Vec<AccountId> {
        self.wallets
            .get(patient)
            .map(|w| {
                w.iter()
                    .filter(|a| self.ledger.account(a).is_some_and(|s| s.spec.kind == AccountKind::Sponsored))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What `id` can pay now (available, within its limits; nothing unless active).
    pub fn spendable_now(&self, id: &AccountId, now: i64) -> u64 {
        let Some(a) = self.ledger.account(id) else { return 0 };
        if a.status != AccountStatus::Active {
            return 0;
        }
        let mut n = a.balance.available_as(a.spec.kind).max(0) as u64;
        let (day, month) = a.spending.at(now);
        for (limit, used) in [(a.limits.per_transaction, 0), (a.limits.per_day, day), (a.limits.per_month, month)] {
            if let Some(limit) = limit {
                n = n.min(limit.saturating_sub(used));
            }
        }
        n
    }

    /// Charges already made with `input.id`: the receipt for the same body, `id_reused` for
    /// another, `None` for a new id.
    pub fn known_charge(&self, input: &ChargeInput) -> Option<Result<&Receipt, LedgerError>> {
        let r = self.receipts.get(&input.id)?;
        Some(if r.digest == input.digest() {
            Ok(r)
        } else {
            Err(LedgerError::IdReused { id: input.id.to_string() })
        })
    }

    /// The reversal of a charge, and of its pre-approval's post when it had one.
    pub fn prepare_refund(&self, refund: &RefundInput) -> Result<(Request, Option<Request>), LedgerError> {
        let r = self.receipts.get(&refund.charge).ok_or_else(|| LedgerError::UnknownCharge {
            charge: refund.charge.to_string(),
        })?;
        // A pre-approval's post made separately from the charge's transfer is reversed with it.
        let extra = r.pre_approval.and_then(|pa| self.pre_approvals.get(&pa)).and_then(|p| {
            let used_here = matches!(p.state, sponsor::PreApprovalState::Used { receipt, .. } if receipt == refund.charge);
            (used_here && self.ledger.outcomes.contains_key(&p.post_id())).then(|| Request {
                id: derived_id(refund.id, "pre-approval-reversal"),
                command: Command::Reverse {
                    of: p.post_id(),
                    amount: None,
                    reason: refund.reason,
                },
            })
        });
        Ok((
            Request {
                id: refund.id,
                command: Command::Reverse {
                    of: refund.charge,
                    amount: None,
                    reason: refund.reason,
                },
            },
            extra,
        ))
    }

    pub(crate) fn plan_request(&self, request: &Request, now: i64) -> Result<usize, LedgerError> {
        self.plan(request, now)
    }

    fn plan(&self, request: &Request, now: i64) -> Result<usize, LedgerError> {
        if self.ledger.outcomes.contains_key(&request.id) {
            return Err(LedgerError::IdReused {
                id: request.id.to_string(),
            });
        }
        self.ledger.plan(request, now).map(|p| p.effects.len())
    }

    fn plan_opt(&self, request: &Option<Request>, now: i64) -> Result<usize, LedgerError> {
        request.as_ref().map_or(Ok(0), |r| self.plan(r, now))
    }

    /// What `op` would do at `now`: the number of entries it makes, or why it is refused. Pure.
    pub fn decide(&self, op: &BookOp, now: i64) -> Result<usize, LedgerError> {
        let unknown = |a: &AccountId| LedgerError::UnknownAccount { account: a.0.clone() };
        match op {
            BookOp::Open { spec } | BookOp::OpenWallet { spec, .. } => match self.ledger.accounts.contains_key(&spec.id) {
                true => Err(LedgerError::AccountExists {
                    account: spec.id.0.clone(),
                }),
                false => Ok(0),
            },
            BookOp::Status { account, .. } | BookOp::Limits { account, .. } => match self.ledger.accounts.contains_key(account) {
                true => Ok(0),
                false => Err(unknown(account)),
            },
            BookOp::Request { request } => self.ledger.plan(request, now).map(|p| p.effects.len()),
            BookOp::Price { item } => match item.invalid() {
                Some((field, reason)) => Err(LedgerError::InvalidInput {
                    field: format!("item.{field}"),
                    reason,
                }),
                None => Ok(0),
            },
            BookOp::FeeRate { bps } => match *bps <= MAX_FEE_BPS {
                true => Ok(0),
                false => Err(LedgerError::InvalidInput {
                    field: "bps".into(),
                    reason: format!("at most {MAX_FEE_BPS}"),
                }),
            },
            BookOp::Pin { .. } => Ok(0),
            BookOp::PinFailed { patient } | BookOp::PinOk { patient } => match self.pins.contains_key(patient) {
                true => Ok(0),
                false => Err(LedgerError::PinNotSet),
            },
            BookOp::Charge { prepared } => {
                if self.receipts.contains_key(&prepared.input.id) {
                    return Err(LedgerError::IdReused {
                        id: prepared.input.id.to_string(),
                    });
                }
                // Everything `apply` records is checked here, before anything changes: the parts
                // pay the bill, and each allowance pays at most once per charge, within its cap
                // and its count.
                let total = prepared.input.total()?;
                if prepared.parts.iter().try_fold(0u64, |s, p| s.checked_add(p.amount)) != Some(total) {
                    return Err(LedgerError::InvalidInput {
                        field: "parts".into(),
                        reason: "the parts do not add up to the bill".into(),
                    });
                }
                let mut seen = BTreeSet::new();
                for part in prepared.parts.iter().filter(|p| p.source == Source::Allowance) {
                    let ok = self.allowance_by_account(&part.account).is_some_and(|a| {
                        (a.charges.len() as u32) < a.spec.max_count && part.amount <= a.spec.per_charge && a.returned.is_none()
                    });
                    if !ok || !seen.insert(part.account.clone()) {
                        return Err(LedgerError::InvalidInput {
                            field: "offline.allowances".into(),
                            reason: format!("{} cannot pay {} for this charge", part.account, part.amount),
                        });
                    }
                }
                let n = self.plan(&prepared.request, now)?;
                match &prepared.hold_post {
                    None => Ok(n),
                    Some((pa, post)) => {
                        // The post and the transfer must not depend on each other, so planning
                        // each against the same book says both apply: the transfer may not
                        // touch the held wallet (the post only moves held money to revenue,
                        // and a credit never fails).
                        let held = self.pre_approvals.get(pa).map(|p| sponsor::sponsored_wallet(p.input.sponsorship));
                        let touches = match &prepared.request.command {
                            Command::Transfer { legs, .. } => legs.iter().any(|l| Some(&l.debit) == held.as_ref()),
                            _ => true,
                        };
                        if held.is_none() || touches {
                            return Err(LedgerError::InvalidInput {
                                field: "pre_approval".into(),
                                reason: "the pre-approved wallet pays through its hold only".into(),
                            });
                        }
                        Ok(n + self.plan(post, now)?)
                    }
                }
            }
            BookOp::Refund { request, extra, .. } => {
                let n = self.plan(request, now)?;
                match extra {
                    None => Ok(n),
                    Some(extra) => {
                        // Both reversals debit the clinic's revenue: it must cover the two.
                        let a = self.ledger.plan(request, now)?;
                        let b = self.ledger.plan(extra, now)?;
                        let mut need: HashMap<&AccountId, u64> = HashMap::new();
                        for (acc, eff, amt) in a.effects.iter().chain(b.effects.iter()) {
                            if *eff == crate::ledger::Effect::Debit {
                                *need.entry(acc).or_default() += amt;
                            }
                        }
                        for (acc, amt) in need {
                            let have = self
                                .ledger
                                .account(acc)
                                .map_or(0, |s| s.balance.available_as(s.spec.kind).max(0) as u64);
                            let guarded = self.ledger.account(acc).is_some_and(|s| s.spec.kind.guarded());
                            if guarded && have < amt {
                                return Err(LedgerError::InsufficientFunds {
                                    account: acc.0.clone(),
                                    available: have,
                                    needed: amt,
                                });
                            }
                        }
                        Ok(n + b.effects.len())
                    }
                }
            }
            BookOp::Reserve { allowance, request } => match self.allowances.contains_key(&allowance.id) {
                true => Err(LedgerError::IdReused {
                    id: allowance.id.to_string(),
                }),
                false => self.plan(request, now),
            },
            BookOp::Return { allowance, request } => match self.allowances.get(allowance) {
                None => Err(LedgerError::UnknownAllowance {
                    allowance: allowance.to_string(),
                }),
                Some(_) => self.plan_opt(request, now),
            },
            BookOp::Withdraw { withdrawal, request } => match self.withdrawals.contains_key(&withdrawal.id) {
                true => Err(LedgerError::IdReused {
                    id: withdrawal.id.to_string(),
                }),
                false => self.plan(request, now),
            },
            BookOp::Decide { withdrawal, request, .. } => match self.withdrawals.get(withdrawal) {
                None => Err(LedgerError::UnknownWithdrawal {
                    withdrawal: withdrawal.to_string(),
                }),
                Some(_) => self.plan(request, now),
            },
            BookOp::Close { close, request } => match self.closes.contains_key(&close.input.id) {
                true => Err(LedgerError::IdReused {
                    id: close.input.id.to_string(),
                }),
                false => self.plan_opt(request, now),
            },
            BookOp::Collect { intent, .. } => match self.collections.contains_key(&intent.id) {
                true => Err(LedgerError::IdReused { id: intent.id.to_string() }),
                false => self.prepare_collect(intent).map(|_| 0),
            },
            BookOp::Pushed { collect, .. } | BookOp::CollectFailed { collect, .. } | BookOp::CollectDuplicate { collect, .. } => {
                match self.collections.get(collect) {
                    None => Err(LedgerError::UnknownCharge {
                        charge: collect.to_string(),
                    }),
                    Some(_) => Ok(0),
                }
            }
            BookOp::Collected { collect, request, .. } => match self.collections.get(collect) {
                None => Err(LedgerError::UnknownCharge {
                    charge: collect.to_string(),
                }),
                Some(_) => self.plan(request, now),
            },
            BookOp::PayoutSent { withdrawal, .. } => match self.withdrawals.get(withdrawal).and_then(|w| w.decision.as_ref()) {
                Some((true, _, _)) => Ok(0),
                _ => Err(LedgerError::UnknownWithdrawal {
                    withdrawal: withdrawal.to_string(),
                }),
            },
            BookOp::PayoutResult { withdrawal, request, .. } => match self.withdrawals.get(withdrawal) {
                None => Err(LedgerError::UnknownWithdrawal {
                    withdrawal: withdrawal.to_string(),
                }),
                Some(_) => self.plan_opt(request, now),
            },
            BookOp::Sponsor { op } => self.decide_sponsor(op, now),
        }
    }

    fn execute(&mut self, request: &Request, at: i64) -> Result<usize, LedgerError> {
        self.ledger.execute(request.clone(), at)?.outcome.result
    }

    /// Applies `op`, decided at `at`; returns what it did (the same as `decide` said).
    pub fn apply(&mut self, op: &BookOp, at: i64) -> Result<usize, LedgerError> {
        if let BookOp::Request { request } = op {
            // The raw API's requests keep their refusals (a refused id stays refused).
            return self.ledger.execute(request.clone(), at)?.outcome.result;
        }
        let n = self.decide(op, at)?;
        match op {
            BookOp::Open { spec } => self.ledger.open_account(spec.clone())?,
            BookOp::OpenWallet { spec, owner } => {
                self.ledger.open_account(spec.clone())?;
                self.owner.insert(spec.id.clone(), owner.clone());
                self.wallets.entry(owner.clone()).or_default().insert(spec.id.clone());
            }
            BookOp::Status { account, status } => self.ledger.set_status(account, *status)?,
            BookOp::Limits { account, limits } => self.ledger.set_limits(account, *limits)?,
            BookOp::Request { .. } => unreachable!("handled above"),
            BookOp::Price { item } => {
                let ceiling = self.price_ceiling.entry(item.code.clone()).or_default();
                *ceiling = (*ceiling).max(item.price);
                self.prices.insert(item.code.clone(), item.clone());
            }
            BookOp::FeeRate { bps } => self.fee_bps = *bps,
            BookOp::Pin { patient, verifier } => {
                self.pins.insert(
                    patient.clone(),
                    PinState {
                        verifier: verifier.clone(),
                        failures: 0,
                    },
                );
            }
            BookOp::PinFailed { patient } => self.pins.get_mut(patient).expect("decided").failures += 1,
            BookOp::PinOk { patient } => self.pins.get_mut(patient).expect("decided").failures = 0,
            BookOp::Charge { prepared } => {
                let mut n = 0;
                if let Some((_, post)) = &prepared.hold_post {
                    n += self.execute(post, at)?;
                }
                n += self.execute(&prepared.request, at)?;
                let p = prepared.as_ref().clone();
                self.count_sponsored(&p.parts, p.input.id, p.input.pre_approval, at, at, false);
                for part in &p.parts {
                    if part.source == Source::Allowance {
                        // Checked by `decide`; the auditor checks the caps again (invariant 9).
                        if let Some(a) = self.allowances.values_mut().find(|a| a.account() == part.account) {
                            a.charges.push((p.input.id, part.amount));
                        }
                    }
                }
                let total = p.input.total()?;
                debug_assert_eq!(p.parts.iter().map(|x| x.amount).sum::<u64>(), total);
                self.receipts_of.entry(p.input.patient.clone()).or_default().push(p.input.id);
                self.receipts.insert(
                    p.input.id,
                    Receipt {
                        id: p.input.id,
                        digest: p.input.digest(),
                        patient: p.input.patient,
                        clinic: p.input.clinic,
                        staff: p.input.staff,
                        at,
                        currency: p.currency,
                        lines: p.input.lines,
                        total,
                        parts: p.parts,
                        fee: p.fee,
                        visit: p.input.visit,
                        offline: p.input.offline,
                        refunds: Vec::new(),
                        coverage: p.coverage,
                        provider: p.input.provider,
                        pre_approval: p.input.pre_approval,
                    },
                );
                return Ok(n);
            }
            BookOp::Refund { refund, request, extra } => {
                let mut n = self.execute(request, at)?;
                if let Some(extra) = extra {
                    n += self.execute(extra, at)?;
                }
                let r = &self.receipts[&refund.charge];
                let (parts, pa, charged_at) = (r.parts.clone(), r.pre_approval, r.at);
                self.count_sponsored(&parts, refund.charge, pa, charged_at, at, true);
                let amount = request_total(&self.ledger, request.id);
                // What went back into allowances can be spent again (or returned).
                let back: Vec<Part> = self.receipts[&refund.charge]
                    .parts
                    .iter()
                    .filter(|p| p.source == Source::Allowance)
                    .cloned()
                    .collect();
                for part in back {
                    if let Some(a) = self.allowances.values_mut().find(|a| a.account() == part.account) {
                        a.refunded += part.amount;
                        if a.returned.is_some() {
                            self.expiring.insert((a.spec.expires_at, a.spec.id));
                            // Its sponsorship counts it open again until it is returned again.
                            if let Some(s) = sponsor::sponsorship_of(&a.spec.wallet).and_then(|s| self.sponsorships.get_mut(&s)) {
                                s.open_allowances.insert(a.spec.id);
                            }
                        }
                    }
                }
                self.receipts
                    .get_mut(&refund.charge)
                    .expect("refunds name receipts")
                    .refunds
                    .push((refund.id, amount));
                self.refunds.insert(refund.id, refund.charge);
                return Ok(n);
            }
            BookOp::Reserve { allowance, request } => {
                let n = self.execute(request, at)?;
                self.expiring.insert((allowance.expires_at, allowance.id));
                if let Some(s) = sponsor::sponsorship_of(&allowance.wallet).and_then(|id| self.sponsorships.get_mut(&id)) {
                    s.allowances.insert(allowance.id);
                    s.open_allowances.insert(allowance.id);
                }
                self.allowances.insert(
                    allowance.id,
                    Allowance {
                        spec: allowance.clone(),
                        reserved: allowance.total,
                        charges: Vec::new(),
                        returned: None,
                        refunded: 0,
                        reserved_at: at,
                    },
                );
                return Ok(n);
            }
            BookOp::Return { allowance, request } => {
                let n = match request {
                    Some(r) => self.execute(r, at)?,
                    None => 0,
                };
                let back = request.as_ref().map_or(0, |r| request_total(&self.ledger, r.id));
                let a = self.allowances.get_mut(allowance).expect("decided");
                self.expiring.remove(&(a.spec.expires_at, a.spec.id));
                *a.returned.get_or_insert(0) += back;
                if let Some(s) = sponsor::sponsorship_of(&a.spec.wallet) {
                    if let Some(x) = self.sponsorships.get_mut(&s) {
                        x.open_allowances.remove(allowance);
                    }
                    self.mark_if_ended(s);
                }
                return Ok(n);
            }
            BookOp::Withdraw { withdrawal, request } => {
                let n = self.execute(request, at)?;
                let currency = self.ledger.account(&withdrawal.wallet).expect("planned").spec.currency;
                self.withdrawals.insert(
                    withdrawal.id,
                    Withdrawal {
                        input: withdrawal.clone(),
                        currency,
                        at,
                        decision: None,
                    },
                );
                return Ok(n);
            }
            BookOp::Decide {
                withdrawal,
                approve,
                by,
                request,
            } => {
                let n = self.execute(request, at)?;
                self.withdrawals.get_mut(withdrawal).expect("decided").decision = Some((*approve, by.clone(), at));
                return Ok(n);
            }
            BookOp::Close { close, request } => {
                let n = match request {
                    Some(r) => self.execute(r, at)?,
                    None => 0,
                };
                let mut c = close.clone();
                c.at = at;
                self.closes.insert(c.input.id, c);
                return Ok(n);
            }
            BookOp::Collect { intent, currency } => {
                self.collections.insert(
                    intent.id,
                    Collection {
                        intent: intent.clone(),
                        currency: *currency,
                        state: CollectState::Pending,
                        duplicates: Vec::new(),
                    },
                );
            }
            BookOp::Pushed { collect, checkout } => {
                let c = self.collections.get_mut(collect).expect("decided");
                if c.state == CollectState::Pending {
                    c.state = CollectState::Pushed {
                        checkout: checkout.clone(),
                    };
                }
            }
            BookOp::Collected { collect, receipt, request } => {
                let n = self.execute(request, at)?;
                let c = self.collections.get_mut(collect).expect("decided");
                c.state = CollectState::Paid { receipt: receipt.clone() };
                if c.intent.wallet.as_str().starts_with("GW-") {
                    // A sponsor's funding by mobile money: kept with their bank deposits.
                    let (wallet, amount) = (c.intent.wallet.clone(), c.intent.amount);
                    if let Some(owner) = self.owner.get(&wallet).cloned() {
                        self.sponsor_deposits
                            .entry(owner)
                            .or_default()
                            .push((*collect, amount, receipt.clone(), at));
                    }
                }
                return Ok(n);
            }
            BookOp::CollectFailed { collect, reason } => {
                let c = self.collections.get_mut(collect).expect("decided");
                if !matches!(c.state, CollectState::Paid { .. }) {
                    c.state = CollectState::Failed { reason: reason.clone() };
                }
            }
            BookOp::CollectDuplicate { collect, receipt } => {
                self.collections.get_mut(collect).expect("decided").duplicates.push(receipt.clone());
            }
            BookOp::PayoutSent { withdrawal, conversation } => {
                self.payouts.insert(
                    *withdrawal,
                    PayoutState::Sent {
                        conversation: conversation.clone(),
                    },
                );
            }
            BookOp::PayoutResult {
                withdrawal,
                reference,
                request,
            } => {
                let n = match request {
                    Some(r) => self.execute(r, at)?,
                    None => 0,
                };
                let state = match request {
                    Some(_) => PayoutState::Returned { reason: reference.clone() },
                    None => PayoutState::Done {
                        reference: reference.clone(),
                    },
                };
                self.payouts.insert(*withdrawal, state);
                return Ok(n);
            }
            BookOp::Sponsor { op } => return self.apply_sponsor(op, at),
        }
        Ok(n)
    }

    /// Records what sponsorships paid of a charge (or, `refund`, gave back): each month's usage
    /// (the month the money was committed), the receipt, a pre-approval used.
    fn count_sponsored(&mut self, parts: &[Part], receipt: Uuid, pre_approval: Option<Uuid>, charged_at: i64, at: i64, refund: bool) {
        for part in parts {
            let (sid, month) = match part.source {
                Source::Sponsored => (sponsor::sponsorship_of(&part.account), sponsor::month_of(charged_at)),
                Source::PreApproved => {
                    let pa = pre_approval.and_then(|id| self.pre_approvals.get(&id));
                    (
                        sponsor::sponsorship_of(&part.account),
                        pa.map_or(sponsor::month_of(charged_at), |p| p.month),
                    )
                }
                Source::Allowance => match self.allowance_by_account(&part.account) {
                    Some(a) => (sponsor::sponsorship_of(&a.spec.wallet), sponsor::month_of(a.reserved_at)),
                    None => (None, 0),
                },
                _ => (None, 0),
            };
            let Some(s) = sid.and_then(|id| self.sponsorships.get_mut(&id)) else {
                continue;
            };
            let u = s.usage.entry(month).or_default();
            if refund {
                u.spent = u.spent.saturating_sub(part.amount);
            } else {
                u.spent += part.amount;
                u.charges += 1;
                s.receipts.push(receipt);
            }
            let id = s.spec.id;
            if refund && part.source != Source::Allowance {
                self.mark_if_ended(id);
            }
            if !refund && part.source == Source::PreApproved {
                if let Some(p) = pre_approval.and_then(|pa| self.pre_approvals.get_mut(&pa)) {
                    if let sponsor::PreApprovalState::Approved { until, .. } = p.state {
                        self.pa_expiring.remove(&(until, p.input.id));
                    }
                    let (pa, sid) = (p.input.id, p.input.sponsorship);
                    if let Some(x) = self.sponsorships.get_mut(&sid) {
                        x.open_pre_approvals.remove(&pa);
                    }
                    p.state = sponsor::PreApprovalState::Used {
                        receipt,
                        amount: part.amount,
                        at,
                    };
                }
            }
        }
    }

    /// Allowances whose time is up and that have not been returned, oldest first.
    pub fn expired_allowances(&self, now: i64, max: usize) -> Vec<Uuid> {
        self.expiring
            .iter()
            .take_while(|(t, _)| *t <= now)
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }
}

/// Whether `id` has the shape of a derived id (UUID version 8). Client-chosen ids must not: a
/// client could otherwise take the id of a return, a decision or a payout reversal first and
/// block it.
pub fn is_derived_id(id: Uuid) -> bool {
    id.get_version_num() == 8
}

/// An id derived from another and a tag (SHA-256, first 16 bytes): for requests that must happen
/// once per thing, like an allowance's return or a withdrawal's decision.
pub fn derived_id(id: Uuid, tag: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let h = Sha256::new().chain_update(id.as_bytes()).chain_update(tag.as_bytes()).finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// The amount a stored request moved (legs summed).
fn request_total(ledger: &Ledger, id: Uuid) -> u64 {
    match ledger.outcomes.get(&id).map(|o| &o.request.command) {
        Some(Command::Transfer { legs, .. }) => legs.iter().map(|l| l.amount).sum(),
        Some(Command::Reverse { of, .. }) => match ledger.outcomes.get(of).map(|o| &o.request.command) {
            Some(Command::Transfer { legs, .. }) => legs.iter().map(|l| l.amount).sum(),
            _ => 0,
        },
        _ => 0,
    }
}

/// Every invariant of the ledger (`audit`) and of what the book keeps around it:
///
/// 8. Each receipt's parts add up to its bill, its fee is within it, and its transfer applied.
/// 9. No allowance paid more than it received (reserved, plus refunds of charges it paid), more
///    charges than its count, or more than its
///    per-charge cap on one charge; each charge it paid has a receipt naming it.
/// 10. No refund took back more than its charge.
pub fn audit_book(book: &Book) -> Vec<Violation> {
    let mut v = crate::audit::audit(&book.ledger);
    let mut bad = |s: String| v.push(Violation(s));
    for (id, r) in &book.receipts {
        let paid: u64 = r.parts.iter().map(|p| p.amount).sum();
        if paid != r.total || r.fee > r.total {
            bad(format!("receipt {id}: parts {paid} and fee {} for a bill of {}", r.fee, r.total));
        }
        match book.ledger.outcomes.get(id).map(|o| &o.result) {
            Some(Ok(_)) => {}
            _ => bad(format!("receipt {id}: its transfer is not in the ledger as applied")),
        }
        let refunded: u64 = r.refunds.iter().map(|(_, n)| n).sum();
        if refunded > r.total {
            bad(format!("receipt {id}: refunded {refunded} of {}", r.total));
        }
    }
    for (id, a) in &book.allowances {
        if a.spent() > a.reserved + a.refunded {
            bad(format!(
                "allowance {id}: paid {} of {} (+{} refunded into it)",
                a.spent(),
                a.reserved,
                a.refunded
            ));
        }
        if a.charges.len() as u32 > a.spec.max_count {
            bad(format!("allowance {id}: {} charges, count {}", a.charges.len(), a.spec.max_count));
        }
        for (c, n) in &a.charges {
            if *n > a.spec.per_charge {
                bad(format!("allowance {id}: charge {c} took {n}, cap {}", a.spec.per_charge));
            }
            let named = book
                .receipts
                .get(c)
                .is_some_and(|r| r.parts.iter().any(|p| p.account == a.account() && p.amount == *n));
            if !named {
                bad(format!("allowance {id}: charge {c} has no receipt naming it"));
            }
        }
    }
    sponsor::audit::audit(book, &mut v);
    v
}
