//! The ledger as a state machine: `plan` is pure (validate and generate the entries a request
//! makes, or refuse it), `execute` applies a plan and records the outcome. Invariants are asserted
//! where they hold; `audit.rs` checks them all again from the entries alone.

use crate::account::{AccountId, AccountSpec, AccountStatus, Balance, Limits, Spending};
use crate::command::{Command, Leg, Request, MAX_LEGS};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The hash before an account's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What one entry does to one account's sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Debit,
    Credit,
    ReserveDebit,
    ReserveCredit,
    ReleaseDebit,
    ReleaseCredit,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Effect::Debit => "debit",
            Effect::Credit => "credit",
            Effect::ReserveDebit => "reserve_debit",
            Effect::ReserveCredit => "reserve_credit",
            Effect::ReleaseDebit => "release_debit",
            Effect::ReleaseCredit => "release_credit",
        }
    }

    /// `b` with this effect of `amount`; `None` on overflow or below zero (a bug: plans check).
    pub fn apply(self, b: Balance, amount: u64) -> Option<Balance> {
        let mut b = b;
        match self {
            Effect::Debit => b.debits_posted = b.debits_posted.checked_add(amount)?,
            Effect::Credit => b.credits_posted = b.credits_posted.checked_add(amount)?,
            Effect::ReserveDebit => b.debits_pending = b.debits_pending.checked_add(amount)?,
            Effect::ReserveCredit => b.credits_pending = b.credits_pending.checked_add(amount)?,
            Effect::ReleaseDebit => b.debits_pending = b.debits_pending.checked_sub(amount)?,
            Effect::ReleaseCredit => b.credits_pending = b.credits_pending.checked_sub(amount)?,
        }
        Some(b)
    }
}

/// One account's record of one effect, chained to the account's previous entry by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub account: AccountId,
    /// 1, 2, 3, … per account: the slot a store inserts once.
    pub seq: u64,
    /// The request that made it.
    pub request: Uuid,
    pub effect: Effect,
    pub amount: u64,
    pub prev: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over the previous hash and the entry's fields.
pub fn entry_hash(prev: &str, account: &AccountId, seq: u64, request: Uuid, effect: Effect, amount: u64) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"|");
    h.update(account.as_str().as_bytes());
    h.update(format!("|{seq}|{request}|{}|{amount}", effect.as_str()).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub spec: AccountSpec,
    pub status: AccountStatus,
    pub balance: Balance,
    /// Entries so far (the last one's `seq`).
    pub seq: u64,
    /// The last entry's hash (`GENESIS` before any).
    pub head: String,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub spending: Spending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "snake_case")]
pub enum Resolution {
    Posted { amount: u64, by: Uuid },
    Voided { by: Uuid },
    Expired { by: Uuid },
}

impl Resolution {
    fn name(&self) -> &'static str {
        match self {
            Resolution::Posted { .. } => "posted",
            Resolution::Voided { .. } => "voided",
            Resolution::Expired { .. } => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub leg: Leg,
    pub until: i64,
    pub resolution: Option<Resolution>,
}

/// A posted movement that can be reversed, and how much of it has been.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversible {
    pub legs: Vec<Leg>,
    pub reversed: u64,
}

impl Reversible {
    fn total(&self) -> u64 {
        self.legs.iter().map(|l| l.amount).sum()
    }
}

/// The stored answer to a request: applied (with its entries' count) or refused. A retry gets it
/// back verbatim; a refused id stays refused (as TigerBeetle's failed ids do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub request: Request,
    pub digest: String,
    pub at: i64,
    pub result: Result<usize, LedgerError>,
}

/// The entries a request makes, with the bookkeeping that follows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub effects: Vec<(AccountId, Effect, u64)>,
    pub after: After,
    /// What leaves limited accounts (counted against their limits when applied), and when.
    pub spends: Vec<(AccountId, u64)>,
    pub at: i64,
}

/// What a plan changes besides balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    NewHold(Hold),
    Resolve(Uuid, Resolution),
    NewReversible(Reversible),
    Reversed { of: Uuid, amount: u64 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub accounts: BTreeMap<AccountId, AccountState>,
    pub outcomes: HashMap<Uuid, Outcome>,
    pub holds: HashMap<Uuid, Hold>,
    pub reversible: HashMap<Uuid, Reversible>,
    /// Every entry, in the order applied.
    pub entries: Vec<Entry>,
    /// Each account's entries (indexes into `entries`), so one account's history costs what it
    /// holds, not what the ledger holds.
    #[serde(default)]
    pub by_account: HashMap<AccountId, Vec<usize>>,
}

/// The result of `execute`: the outcome, and whether it was stored before (a retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub outcome: Outcome,
    pub replayed: bool,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    pub fn open_account(&mut self, spec: AccountSpec) -> Result<(), LedgerError> {
        if self.accounts.contains_key(&spec.id) {
            return Err(LedgerError::AccountExists { account: spec.id.0 });
        }
        self.accounts.insert(
            spec.id.clone(),
            AccountState {
                spec,
                status: AccountStatus::Active,
                balance: Balance::default(),
                seq: 0,
                head: GENESIS.into(),
                limits: Limits::default(),
                spending: Spending::default(),
            },
        );
        Ok(())
    }

    pub fn set_status(&mut self, id: &AccountId, status: AccountStatus) -> Result<(), LedgerError> {
        let a = self.accounts.get_mut(id).ok_or_else(|| unknown(id))?;
        a.status = status;
        Ok(())
    }

    pub fn set_limits(&mut self, id: &AccountId, limits: Limits) -> Result<(), LedgerError> {
        let a = self.accounts.get_mut(id).ok_or_else(|| unknown(id))?;
        a.limits = limits;
        Ok(())
    }

    pub fn account(&self, id: &AccountId) -> Option<&AccountState> {
        self.accounts.get(id)
    }

    /// The last `n` entries of one account, newest first, with the request that made each.
    pub fn history(&self, id: &AccountId, n: usize) -> Vec<(&Entry, Option<&Outcome>)> {
        let Some(ix) = self.by_account.get(id) else {
            return Vec::new();
        };
        ix.iter()
            .rev()
            .take(n)
            .map(|i| {
                let e = &self.entries[*i];
                (e, self.outcomes.get(&e.request))
            })
            .collect()
    }

    /// Applies `req` at `now` (ms), once: a retry gets the stored outcome, another body under
    /// the same id is refused without being stored.
    pub fn execute(&mut self, req: Request, now: i64) -> Result<Executed, LedgerError> {
        let digest = req.digest();
        if let Some(o) = self.outcomes.get(&req.id) {
            if o.digest != digest {
                return Err(LedgerError::IdReused { id: req.id.to_string() });
            }
            return Ok(Executed {
                outcome: o.clone(),
                replayed: true,
            });
        }
        let result = match self.plan(&req, now) {
            Ok(plan) => Ok(self.apply(req.id, plan)),
            Err(e) => Err(e),
        };
        let outcome = Outcome {
            request: req.clone(),
            digest,
            at: now,
            result,
        };
        self.outcomes.insert(req.id, outcome.clone());
        Ok(Executed { outcome, replayed: false })
    }

    /// Validates `req` against the current state and generates its entries. Pure.
    pub fn plan(&self, req: &Request, now: i64) -> Result<Plan, LedgerError> {
        req.check_amounts()?;
        match &req.command {
            Command::Transfer { legs, hold_until, .. } => {
                if legs.is_empty() || legs.len() > MAX_LEGS {
                    return Err(LedgerError::LegCount { max: MAX_LEGS });
                }
                if hold_until.is_some() && legs.len() != 1 {
                    return Err(LedgerError::HoldLegs);
                }
                // The whole transaction's amount fits too (reversals and statistics add legs up).
                legs.iter()
                    .try_fold(0u64, |sum, l| sum.checked_add(l.amount))
                    .ok_or(LedgerError::Overflow)?;
                self.check_legs(legs, false)?;
                let effects = match hold_until {
                    Some(_) => moves(legs, Effect::ReserveDebit, Effect::ReserveCredit),
                    None => moves(legs, Effect::Debit, Effect::Credit),
                };
                self.check_effects(&effects)?;
                let spends = self.check_limits(legs, now)?;
                let after = match hold_until {
                    Some(until) => After::NewHold(Hold {
                        leg: legs[0].clone(),
                        until: *until,
                        resolution: None,
                    }),
                    None => After::NewReversible(Reversible {
                        legs: legs.clone(),
                        reversed: 0,
                    }),
                };
                Ok(Plan {
                    effects,
                    after,
                    spends,
                    at: now,
                })
            }
            Command::Post { hold, amount } => {
                let h = self.open_hold(*hold)?;
                if now >= h.until {
                    return Err(LedgerError::HoldExpired { hold: hold.to_string() });
                }
                let amount = amount.unwrap_or(h.leg.amount);
                if amount == 0 || amount > h.leg.amount {
                    return Err(LedgerError::PostExceedsHold {
                        hold: hold.to_string(),
                        amount,
                        held: h.leg.amount,
                    });
                }
                // A hold made before a suspension may still be posted; a closed account takes
                // nothing.
                self.check_legs(std::slice::from_ref(&h.leg), true)?;
                let mut effects = release(&h.leg);
                effects.extend(moves(&[Leg { amount, ..h.leg.clone() }], Effect::Debit, Effect::Credit));
                self.check_effects(&effects)?;
                Ok(Plan {
                    effects,
                    after: After::Resolve(*hold, Resolution::Posted { amount, by: req.id }),
                    spends: Vec::new(),
                    at: now,
                })
            }
            Command::Void { hold } => {
                let h = self.open_hold(*hold)?;
                Ok(Plan {
                    effects: release(&h.leg),
                    after: After::Resolve(*hold, Resolution::Voided { by: req.id }),
                    spends: Vec::new(),
                    at: now,
                })
            }
            Command::Expire { hold } => {
                let h = self.open_hold(*hold)?;
                if now < h.until {
                    return Err(LedgerError::HoldNotExpired { hold: hold.to_string() });
                }
                Ok(Plan {
                    effects: release(&h.leg),
                    after: After::Resolve(*hold, Resolution::Expired { by: req.id }),
                    spends: Vec::new(),
                    at: now,
                })
            }
            Command::Reverse { of, amount, .. } => {
                let r = self
                    .reversible
                    .get(of)
                    .ok_or_else(|| LedgerError::NotReversible { id: of.to_string() })?;
                let remaining = r.total() - r.reversed;
                let legs: Vec<Leg> = match amount {
                    None if r.reversed == 0 => r.legs.clone(),
                    None => {
                        return Err(LedgerError::ReversalExceeds {
                            id: of.to_string(),
                            remaining,
                            amount: r.total(),
                        })
                    }
                    Some(_) if r.legs.len() != 1 => return Err(LedgerError::PartialReversalLegs),
                    Some(a) if *a == 0 || *a > remaining => {
                        return Err(LedgerError::ReversalExceeds {
                            id: of.to_string(),
                            remaining,
                            amount: *a,
                        })
                    }
                    Some(a) => vec![Leg {
                        amount: *a,
                        ..r.legs[0].clone()
                    }],
                };
                let back: Vec<Leg> = legs
                    .iter()
                    .map(|l| Leg {
                        debit: l.credit.clone(),
                        credit: l.debit.clone(),
                        amount: l.amount,
                    })
                    .collect();
                self.check_legs(&back, true)?;
                let effects = moves(&back, Effect::Debit, Effect::Credit);
                self.check_effects(&effects)?;
                let total = back.iter().map(|l| l.amount).sum();
                Ok(Plan {
                    effects,
                    after: After::Reversed { of: *of, amount: total },
                    spends: Vec::new(),
                    at: now,
                })
            }
        }
    }

    fn open_hold(&self, hold: Uuid) -> Result<&Hold, LedgerError> {
        let h = self
            .holds
            .get(&hold)
            .ok_or_else(|| LedgerError::UnknownHold { hold: hold.to_string() })?;
        if let Some(r) = &h.resolution {
            return Err(LedgerError::HoldResolved {
                hold: hold.to_string(),
                resolution: r.name().into(),
            });
        }
        Ok(h)
    }

    /// What `legs` take out of accounts with limits, within those limits at `now` (per
    /// transaction, per UTC day, per UTC month).
    fn check_limits(&self, legs: &[Leg], now: i64) -> Result<Vec<(AccountId, u64)>, LedgerError> {
        let mut out: Vec<(AccountId, u64)> = Vec::new();
        for l in legs {
            match out.iter_mut().find(|(a, _)| *a == l.debit) {
                Some((_, n)) => *n = n.checked_add(l.amount).ok_or(LedgerError::Overflow)?,
                None => out.push((l.debit.clone(), l.amount)),
            }
        }
        out.retain(|(id, _)| self.accounts.get(id).is_some_and(|a| a.limits != Limits::default()));
        for (id, amount) in &out {
            let a = &self.accounts[id];
            let (day, month) = a.spending.at(now);
            for (name, limit, used) in [
                ("per_transaction", a.limits.per_transaction, 0),
                ("per_day", a.limits.per_day, day),
                ("per_month", a.limits.per_month, month),
            ] {
                if let Some(limit) = limit {
                    if used.saturating_add(*amount) > limit {
                        return Err(LedgerError::LimitExceeded {
                            account: id.0.clone(),
                            limit: name.into(),
                            left: limit.saturating_sub(used),
                            needed: *amount,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Accounts exist, differ per leg, share one currency and take what the leg does to them.
    /// `resolving`: the money was committed earlier (a post or a reversal), so a suspended debit
    /// account may still pay it.
    fn check_legs(&self, legs: &[Leg], resolving: bool) -> Result<(), LedgerError> {
        let currency = self
            .accounts
            .get(&legs[0].debit)
            .ok_or_else(|| unknown(&legs[0].debit))?
            .spec
            .currency;
        for l in legs {
            if l.amount == 0 {
                return Err(LedgerError::InvalidAmount {
                    reason: "an amount must be more than zero".into(),
                });
            }
            if l.debit == l.credit {
                return Err(LedgerError::SameAccount {
                    account: l.debit.0.clone(),
                });
            }
            for (id, paying) in [(&l.debit, true), (&l.credit, false)] {
                let a = self.accounts.get(id).ok_or_else(|| unknown(id))?;
                if a.spec.currency != currency {
                    return Err(LedgerError::CurrencyMismatch {
                        account: id.0.clone(),
                        account_currency: a.spec.currency.code().into(),
                        currency: currency.code().into(),
                    });
                }
                let refused = match a.status {
                    AccountStatus::Active => false,
                    AccountStatus::Suspended => paying && !resolving,
                    AccountStatus::Closed => true,
                };
                if refused {
                    return Err(LedgerError::AccountNotActive {
                        account: id.0.clone(),
                        status: a.status.as_str().into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The balances after `effects` fit in 64 bits and no guarded account's available balance
    /// goes below zero (pending debits count; incoming credits of the same request do not).
    fn check_effects(&self, effects: &[(AccountId, Effect, u64)]) -> Result<(), LedgerError> {
        let mut after: BTreeMap<&AccountId, Balance> = BTreeMap::new();
        for (id, effect, amount) in effects {
            let a = self.accounts.get(id).ok_or_else(|| unknown(id))?;
            let b = after.get(id).copied().unwrap_or(a.balance);
            let next = effect.apply(b, *amount).ok_or(LedgerError::Overflow)?;
            after.insert(id, next);
        }
        for id in after.keys() {
            let a = &self.accounts[*id];
            if !a.spec.kind.guarded() {
                continue;
            }
            // Conservative: what this request credits is not spendable by its own debits.
            let sum = |pick: &dyn Fn(Effect) -> bool| -> i128 {
                effects
                    .iter()
                    .filter(|(i, e, _)| i == *id && pick(*e))
                    .map(|(_, _, n)| *n as i128)
                    .sum()
            };
            let kind = a.spec.kind;
            let debited = match kind.debit_normal() {
                false => sum(&|e| matches!(e, Effect::Debit | Effect::ReserveDebit)),
                true => sum(&|e| matches!(e, Effect::Credit | Effect::ReserveCredit)),
            };
            let released = sum(&|e| {
                e == if kind.debit_normal() {
                    Effect::ReleaseCredit
                } else {
                    Effect::ReleaseDebit
                }
            });
            let available = a.balance.available_as(kind) + released;
            if available - debited < 0 {
                return Err(LedgerError::InsufficientFunds {
                    account: id.0.clone(),
                    available: available.max(0) as u64,
                    needed: debited as u64,
                });
            }
        }
        Ok(())
    }

    fn apply(&mut self, request: Uuid, plan: Plan) -> usize {
        let n = plan.effects.len();
        for (id, effect, amount) in plan.effects {
            let a = self.accounts.get_mut(&id).expect("planned accounts exist");
            a.balance = effect.apply(a.balance, amount).expect("planned effects fit");
            if a.spec.kind.guarded() {
                assert!(a.balance.available_as(a.spec.kind) >= 0, "guarded account {id} below zero");
            }
            a.seq += 1;
            let hash = entry_hash(&a.head, &id, a.seq, request, effect, amount);
            let prev = std::mem::replace(&mut a.head, hash.clone());
            self.by_account.entry(id.clone()).or_default().push(self.entries.len());
            self.entries.push(Entry {
                account: id,
                seq: a.seq,
                request,
                effect,
                amount,
                prev,
                hash,
            });
        }
        for (id, amount) in plan.spends {
            if let Some(a) = self.accounts.get_mut(&id) {
                a.spending.add(plan.at, amount);
            }
        }
        match plan.after {
            After::NewHold(h) => {
                self.holds.insert(request, h);
            }
            After::Resolve(hold, r) => {
                let h = self.holds.get_mut(&hold).expect("planned holds exist");
                assert!(h.resolution.is_none(), "hold {hold} resolved twice");
                if let Resolution::Posted { amount, .. } = r {
                    self.reversible.insert(
                        request,
                        Reversible {
                            legs: vec![Leg { amount, ..h.leg.clone() }],
                            reversed: 0,
                        },
                    );
                }
                h.resolution = Some(r);
            }
            After::NewReversible(r) => {
                self.reversible.insert(request, r);
            }
            After::Reversed { of, amount } => {
                let r = self.reversible.get_mut(&of).expect("planned reversals exist");
                r.reversed += amount;
                assert!(r.reversed <= r.total(), "{of} reversed beyond its amount");
            }
        }
        n
    }
}

fn unknown(id: &AccountId) -> LedgerError {
    LedgerError::UnknownAccount { account: id.0.clone() }
}

/// Each leg as `debit` on its debit account and `credit` on its credit account.
fn moves(legs: &[Leg], debit: Effect, credit: Effect) -> Vec<(AccountId, Effect, u64)> {
    legs.iter()
        .flat_map(|l| [(l.debit.clone(), debit, l.amount), (l.credit.clone(), credit, l.amount)])
        .collect()
}

fn release(leg: &Leg) -> Vec<(AccountId, Effect, u64)> {
    moves(std::slice::from_ref(leg), Effect::ReleaseDebit, Effect::ReleaseCredit)
}
