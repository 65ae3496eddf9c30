//! One process's view of the ledger: the core's state, caught up with the shared log, and the
//! single way money moves — decide an operation against the state, insert it at the next slot,
//! and if another process took that slot first, catch up and decide again.
//!
//! Exactly once: before deciding, the process has read every slot before the one it inserts, so
//! a request already in the log is found (its stored outcome is the answer) and can never be
//! inserted twice. Nothing else is written, so a crash at any point leaves either the slot (the
//! operation happened) or nothing (it did not); there is nothing to resume.

use crate::store::ledger_log::{LedgerLog, LedgerSlot, LogOp};
use crate::store::{Inserted, StoreError};
use anola_ledger::ledger::Outcome;
use anola_ledger::{audit, AccountId, AccountSpec, AccountStatus, Ledger, LedgerError, Request, Violation};
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused before it reached the log (e.g. an id reused with another body).
    #[error(transparent)]
    Refused(#[from] LedgerError),
    /// The log holds something this build decides differently: a bug, or a log from an
    /// incompatible build. Stops the process's ledger rather than guessing.
    #[error("ledger log slot {slot} replays to {replayed} but says {stored}")]
    Diverged { slot: u64, replayed: String, stored: String },
}

struct View {
    /// Slots applied so far.
    applied: u64,
    ledger: Ledger,
}

pub struct LedgerService<S> {
    store: Arc<S>,
    view: Mutex<View>,
}

fn describe(r: &Result<usize, LedgerError>) -> String {
    match r {
        Ok(n) => format!("applied ({n} entries)"),
        Err(e) => format!("refused ({})", e.code()),
    }
}

impl<S> LedgerService<S> {
    pub fn new(store: Arc<S>) -> Self {
        LedgerService {
            store,
            view: Mutex::new(View {
                applied: 0,
                ledger: Ledger::new(),
            }),
        }
    }
}

impl<S: LedgerLog> LedgerService<S> {
    /// Applies every slot written since this process last looked, checking that each decides
    /// here as it was decided when written.
    async fn catch_up(&self, v: &mut View) -> Result<(), MoneyError> {
        while let Some(slot) = self.store.ledger_slot(v.applied + 1).await? {
            let replayed = apply(&mut v.ledger, &slot);
            if replayed != slot.result {
                return Err(MoneyError::Diverged {
                    slot: slot.n,
                    replayed: describe(&replayed),
                    stored: describe(&slot.result),
                });
            }
            v.applied = slot.n;
        }
        Ok(())
    }

    /// Decides `op` at `now` and commits it at the next free slot; returns the slot.
    async fn commit(&self, op: LogOp, now: i64) -> Result<LedgerSlot, MoneyError> {
        let mut v = self.view.lock().await;
        loop {
            self.catch_up(&mut v).await?;
            if let LogOp::Request { request } = &op {
                // Already in the log: the first answer, or `id_reused` for another body.
                if let Some(o) = v.ledger.outcomes.get(&request.id) {
                    if o.digest != request.digest() {
                        return Err(LedgerError::IdReused {
                            id: request.id.to_string(),
                        }
                        .into());
                    }
                    return Ok(LedgerSlot {
                        n: 0,
                        at: o.at,
                        op: op.clone(),
                        result: o.result.clone(),
                    });
                }
            }
            let result = decide(&v.ledger, &op, now);
            let slot = LedgerSlot {
                n: v.applied + 1,
                at: now,
                op: op.clone(),
                result,
            };
            match self.store.insert_ledger_slot(&slot).await? {
                Inserted::Yes => {
                    let applied = apply(&mut v.ledger, &slot);
                    debug_assert_eq!(applied, slot.result, "a decision changed between planning and applying");
                    v.applied = slot.n;
                    return Ok(slot);
                }
                // Another process took the slot: read it (and any after it) and decide again.
                Inserted::Taken => continue,
            }
        }
    }

    /// Runs a ledger request once; a retry (same id, same body) gets the stored outcome.
    pub async fn execute(&self, request: Request, now: i64) -> Result<Outcome, MoneyError> {
        // Amounts no store keeps exactly are refused before the log (the same answer every time).
        if let Err(e) = request.check_amounts() {
            return Ok(Outcome {
                digest: request.digest(),
                request,
                at: now,
                result: Err(e),
            });
        }
        let slot = self.commit(LogOp::Request { request }, now).await?;
        Ok(slot.outcome().expect("a request slot"))
    }

    /// Opens an account (refused `account_exists` if it is open already).
    pub async fn open_account(&self, spec: AccountSpec, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        Ok(self.commit(LogOp::Open { spec }, now).await?.result)
    }

    pub async fn set_status(&self, account: AccountId, status: AccountStatus, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        Ok(self.commit(LogOp::Status { account, status }, now).await?.result)
    }

    /// Sets how much may leave an account per transaction, day and month.
    pub async fn set_limits(
        &self,
        account: AccountId,
        limits: anola_ledger::Limits,
        now: i64,
    ) -> Result<Result<usize, LedgerError>, MoneyError> {
        Ok(self.commit(LogOp::Limits { account, limits }, now).await?.result)
    }

    /// One account as of the latest slot.
    pub async fn account(&self, id: &AccountId) -> Result<Option<anola_ledger::ledger::AccountState>, MoneyError> {
        let mut v = self.view.lock().await;
        self.catch_up(&mut v).await?;
        Ok(v.ledger.account(id).cloned())
    }

    /// A snapshot of the ledger as of the latest slot.
    pub async fn snapshot(&self) -> Result<(u64, Ledger), MoneyError> {
        let mut v = self.view.lock().await;
        self.catch_up(&mut v).await?;
        Ok((v.applied, v.ledger.clone()))
    }

    /// `audit_log` as the API and the command report it; a log that does not replay (`Diverged`)
    /// is a violation too.
    pub async fn audit_report(store: Arc<S>) -> Result<anola_protocol::money::LedgerAudit, StoreError> {
        let t = std::time::Instant::now();
        let (slots, violations) = match Self::audit_log(store).await {
            Ok((slots, v)) => (slots, v.into_iter().map(|v| v.0).collect::<Vec<_>>()),
            Err(MoneyError::Store(e)) => return Err(e),
            Err(e) => (0, vec![e.to_string()]),
        };
        Ok(anola_protocol::money::LedgerAudit {
            slots,
            ok: violations.is_empty(),
            violations,
            millis: t.elapsed().as_millis() as u64,
        })
    }

    /// Replays the whole log into a fresh ledger and checks every invariant (`audit`).
    /// (It only reads: a fresh view caught up from slot 1.)
    pub async fn audit_log(store: Arc<S>) -> Result<(u64, Vec<Violation>), MoneyError> {
        let fresh = LedgerService::new(store);
        let mut v = fresh.view.lock().await;
        fresh.catch_up(&mut v).await?;
        Ok((v.applied, audit(&v.ledger)))
    }
}

/// What `op` would do to `ledger` now. Pure.
fn decide(ledger: &Ledger, op: &LogOp, now: i64) -> Result<usize, LedgerError> {
    match op {
        LogOp::Open { spec } => {
            if ledger.accounts.contains_key(&spec.id) {
                Err(LedgerError::AccountExists {
                    account: spec.id.0.clone(),
                })
            } else {
                Ok(0)
            }
        }
        LogOp::Status { account, .. } | LogOp::Limits { account, .. } => match ledger.accounts.contains_key(account) {
            true => Ok(0),
            false => Err(LedgerError::UnknownAccount {
                account: account.0.clone(),
            }),
        },
        LogOp::Request { request } => ledger.plan(request, now).map(|p| p.effects.len()),
    }
}

/// Applies a committed slot to `ledger`; returns what it did (compared with what it says).
fn apply(ledger: &mut Ledger, slot: &LedgerSlot) -> Result<usize, LedgerError> {
    match &slot.op {
        LogOp::Open { spec } => ledger.open_account(spec.clone()).map(|_| 0),
        LogOp::Status { account, status } => ledger.set_status(account, *status).map(|_| 0),
        LogOp::Limits { account, limits } => ledger.set_limits(account, *limits).map(|_| 0),
        LogOp::Request { request } => match ledger.execute(request.clone(), slot.at) {
            Ok(e) => e.outcome.result,
            // A second slot with an id already in the log cannot be committed by this code.
            Err(e) => Err(e),
        },
    }
}
