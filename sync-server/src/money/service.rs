//! One process's view of the money book: the core's state (`anola_ledger::Book`), caught up with
//! the shared log, and the single way money moves — prepare an op against the book, insert it at
//! the next slot, and if another process took that slot first, catch up and prepare again (so a
//! waterfall is always computed on the state it is committed after).
//!
//! Exactly once: before preparing, the process has read every slot before the one it inserts, so
//! an op already in the log is found (its stored outcome is the answer) and can never be inserted
//! twice. Nothing else is written, so a crash at any point leaves either the slot (the operation
//! happened) or nothing (it did not); there is nothing to resume.

use crate::store::ledger_log::{LedgerLog, LedgerSlot, LogOp};
use crate::store::{Inserted, StoreError};
use anola_ledger::book::{AllowanceSpec, ChargeInput, CloseInput, DayClose, Prepared, PriceItem, Receipt, RefundInput, WithdrawalInput};
use anola_ledger::ledger::Outcome;
use anola_ledger::{audit_book, AccountId, AccountKind, AccountSpec, AccountStatus, Book, Ledger, LedgerError, Request, Violation};
use std::sync::Arc;
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused before it reached the log (e.g. an id reused with another body, a stale quote).
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
    book: Book,
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
                book: Book::new(),
            }),
        }
    }
}

/// What a payment provider said about a mobile-money deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectUpdate {
    Pushed { checkout: String },
    Paid { receipt: String },
    Failed { reason: String },
}

/// What a payment provider said about a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutUpdate {
    Sent { conversation: String },
    Done { reference: String },
    Failed { reason: String },
}

/// What a preparation decided: write this op, or the answer is already in the book.
pub enum Next {
    Write(LogOp),
    Done,
}

impl<S: LedgerLog> LedgerService<S> {
    /// Applies every slot written since this process last looked, checking that each decides
    /// here as it was decided when written.
    async fn catch_up(&self, v: &mut View) -> Result<(), MoneyError> {
        while let Some(slot) = self.store.ledger_slot(v.applied + 1).await? {
            Self::apply_slot(v, &slot)?;
        }
        Ok(())
    }

    /// Applies one committed slot to the view. If it does not decide as the log says, or the
    /// book panics on it, the view is thrown away (rebuilt from slot 1 on the next call) rather
    /// than kept half-changed.
    fn apply_slot(v: &mut View, slot: &LedgerSlot) -> Result<(), MoneyError> {
        let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.book.apply(&slot.op, slot.at)));
        match replayed {
            Ok(r) if r == slot.result => {
                v.applied = slot.n;
                Ok(())
            }
            other => {
                let replayed = match other {
                    Ok(r) => describe(&r),
                    Err(_) => "a panic".to_owned(),
                };
                tracing::error!(slot = slot.n, "the ledger view is discarded: a slot does not replay");
                *v = View {
                    applied: 0,
                    book: Book::new(),
                };
                Err(MoneyError::Diverged {
                    slot: slot.n,
                    replayed,
                    stored: describe(&slot.result),
                })
            }
        }
    }

    /// Prepares an op against the caught-up book and commits it at the next free slot; on a
    /// lost race, catches up and prepares again. `answer` reads the result from the book as it
    /// stands after the commit (or as found, when the op was there already).
    pub async fn run<R>(
        &self,
        now: i64,
        mut prepare: impl FnMut(&Book) -> Result<Next, LedgerError>,
        answer: impl FnOnce(&Book, Option<&LedgerSlot>) -> R,
    ) -> Result<R, MoneyError> {
        let mut v = self.view.lock().await;
        loop {
            self.catch_up(&mut v).await?;
            let op = match prepare(&v.book)? {
                Next::Done => return Ok(answer(&v.book, None)),
                Next::Write(op) => op,
            };
            let result = v.book.decide(&op, now);
            let slot = LedgerSlot {
                n: v.applied + 1,
                at: now,
                op,
                result,
            };
            match self.store.insert_ledger_slot(&slot).await? {
                Inserted::Yes => {
                    Self::apply_slot(&mut v, &slot)?;
                    return Ok(answer(&v.book, Some(&slot)));
                }
                // Another process took the slot: read it (and any after it) and prepare again.
                Inserted::Taken => continue,
            }
        }
    }

    /// `run`, answering with `read` of the book afterwards; a slot written as refused is that
    /// refusal.
    pub(super) async fn run_then<R>(
        &self,
        now: i64,
        prepare: impl FnMut(&Book) -> Result<Next, LedgerError>,
        read: impl FnOnce(&Book) -> R,
    ) -> Result<R, MoneyError> {
        self.run(now, prepare, |b, slot| match slot.map(|s| &s.result) {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(read(b)),
        })
        .await?
        .map_err(Into::into)
    }

    /// Commits `op` as it is; returns its result.
    async fn commit(&self, op: LogOp, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.run(
            now,
            |_| Ok(Next::Write(op.clone())),
            |_, slot| slot.expect("written").result.clone(),
        )
        .await
    }

    /// Opens the accounts the platform keeps for itself (revenue, fees, drawers, the outside
    /// world…) that do not exist yet. Each is its own slot; a process that loses the race to
    /// open one finds it open.
    pub async fn ensure_accounts(&self, specs: Vec<AccountSpec>, now: i64) -> Result<(), MoneyError> {
        // One read finds what is missing (usually nothing: every account a charge needs exists
        // after the clinic's first charge).
        let missing: Vec<AccountSpec> = self
            .read(|b| specs.into_iter().filter(|s| !b.ledger.accounts.contains_key(&s.id)).collect())
            .await?;
        for spec in missing {
            self.run(
                now,
                |b| {
                    Ok(match b.ledger.accounts.get(&spec.id) {
                        Some(_) => Next::Done,
                        None => Next::Write(LogOp::Open { spec: spec.clone() }),
                    })
                },
                |_, _| (),
            )
            .await?;
        }
        Ok(())
    }

    /// Reads the book as of the latest slot.
    pub async fn read<R>(&self, f: impl FnOnce(&Book) -> R) -> Result<R, MoneyError> {
        let mut v = self.view.lock().await;
        self.catch_up(&mut v).await?;
        Ok(f(&v.book))
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
        let id = request.id;
        let digest = request.digest();
        self.run(
            now,
            |b| match b.ledger.outcomes.get(&id) {
                Some(o) if o.digest != digest => Err(LedgerError::IdReused { id: id.to_string() }),
                Some(_) => Ok(Next::Done),
                None => Ok(Next::Write(LogOp::Request { request: request.clone() })),
            },
            |b, _| b.ledger.outcomes[&id].clone(),
        )
        .await
    }

    /// Opens an account (refused `account_exists` if it is open already).
    pub async fn open_account(&self, spec: AccountSpec, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.commit(LogOp::Open { spec }, now).await
    }

    /// Opens a wallet owned by `owner` (a patient, sponsor, provider or vendor); opening one that
    /// exists for the same owner is a success (a retry).
    pub async fn open_wallet(&self, spec: AccountSpec, owner: String, now: i64) -> Result<(), MoneyError> {
        self.run(
            now,
            |b| match b.ledger.account(&spec.id) {
                Some(a) if b.owner_of(&spec.id) == Some(owner.as_str()) && a.spec == spec => Ok(Next::Done),
                Some(_) => Err(LedgerError::AccountExists {
                    account: spec.id.0.clone(),
                }),
                None => Ok(Next::Write(LogOp::OpenWallet {
                    spec: spec.clone(),
                    owner: owner.clone(),
                })),
            },
            |_, slot| slot.map_or(Ok(0), |s| s.result.clone()),
        )
        .await?
        .map(|_| ())
        .map_err(Into::into)
    }

    pub async fn set_status(&self, account: AccountId, status: AccountStatus, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.commit(LogOp::Status { account, status }, now).await
    }

    /// Sets how much may leave an account per transaction, day and month.
    pub async fn set_limits(
        &self,
        account: AccountId,
        limits: anola_ledger::Limits,
        now: i64,
    ) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.commit(LogOp::Limits { account, limits }, now).await
    }

    /// Adds or changes a price-list item.
    pub async fn set_price(&self, item: PriceItem, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.commit(LogOp::Price { item }, now).await
    }

    pub async fn set_fee_rate(&self, bps: u32, now: i64) -> Result<Result<usize, LedgerError>, MoneyError> {
        self.commit(LogOp::FeeRate { bps }, now).await
    }

    pub async fn set_pin(&self, patient: String, verifier: String, now: i64) -> Result<(), MoneyError> {
        self.commit(LogOp::Pin { patient, verifier }, now)
            .await?
            .map(|_| ())
            .map_err(Into::into)
    }

    /// Counts a PIN attempt before it is checked (so parallel guesses cannot pass the lock
    /// together): `pin_locked` when the attempts are used up, `pin_not_set` when there is no PIN;
    /// otherwise the attempt is recorded as failed and the verifier returned. A right PIN then
    /// clears the count (`pin_right`).
    pub async fn pin_attempt(&self, patient: String, now: i64) -> Result<(String, u32), MoneyError> {
        self.run(
            now,
            |b| match b.pins.get(&patient) {
                None => Err(LedgerError::PinNotSet),
                Some(p) if p.locked() => Err(LedgerError::PinLocked),
                Some(_) => Ok(Next::Write(LogOp::PinFailed { patient: patient.clone() })),
            },
            |b, _| {
                let p = &b.pins[&patient];
                (p.verifier.clone(), p.failures)
            },
        )
        .await
    }

    /// A right PIN: clears the attempts counted so far (`pin_attempt` counted this one).
    pub async fn pin_right(&self, patient: String, now: i64) -> Result<(), MoneyError> {
        self.run(
            now,
            |b| {
                Ok(match b.pins.get(&patient) {
                    Some(p) if p.failures == 0 => Next::Done,
                    _ => Next::Write(LogOp::PinOk { patient: patient.clone() }),
                })
            },
            |_, _| (),
        )
        .await
    }

    /// The waterfall a charge would take now, with the desk amount it leaves (nothing is
    /// written). Both passes read one state, so a quote never finds itself stale.
    pub async fn quote(&self, mut input: ChargeInput, now: i64) -> Result<Prepared, MoneyError> {
        Ok(self
            .read(|b| match b.prepare_charge(input.clone(), now) {
                Err(LedgerError::QuoteChanged { desk_amount, .. }) => {
                    input.desk_amount = desk_amount;
                    b.prepare_charge(input, now)
                }
                other => other,
            })
            .await??)
    }

    /// Charges a bill once: a retry gets the first receipt; the same id with another body is
    /// `id_reused`; a stale quote is `quote_changed` and writes nothing.
    pub async fn charge(&self, input: ChargeInput, now: i64) -> Result<Receipt, MoneyError> {
        let currency = self.read(|b| b.price_bill(&input)).await??;
        let needs = Book::charge_accounts(&input, currency)
            .into_iter()
            .map(|(id, kind)| AccountSpec { id, kind, currency })
            .collect();
        self.ensure_accounts(needs, now).await?;
        let id = input.id;
        self.run_then(
            now,
            |b| match b.known_charge(&input) {
                Some(Ok(_)) => Ok(Next::Done),
                Some(Err(e)) => Err(e),
                None if b.ledger.outcomes.contains_key(&id) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => Ok(Next::Write(LogOp::Charge {
                    prepared: Box::new(b.prepare_charge(input.clone(), now)?),
                })),
            },
            |b| b.receipts[&id].clone(),
        )
        .await
    }

    /// Refunds a charge whole, once (a retry with the same id gets the same receipt).
    pub async fn refund(&self, refund: RefundInput, now: i64) -> Result<Receipt, MoneyError> {
        let charge = refund.charge;
        self.run_then(
            now,
            |b| match b.refunds.get(&refund.id) {
                Some(c) if *c == refund.charge => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: refund.id.to_string() }),
                None if b.ledger.outcomes.contains_key(&refund.id) => Err(LedgerError::IdReused { id: refund.id.to_string() }),
                None => Ok(Next::Write({
                    let (request, extra) = b.prepare_refund(&refund)?;
                    LogOp::Refund {
                        refund: refund.clone(),
                        request,
                        extra,
                    }
                })),
            },
            |b| b.receipts[&charge].clone(),
        )
        .await
    }

    /// Moves up to `spec.total` of a wallet into an allowance for one device's offline charges.
    pub async fn reserve(&self, spec: AllowanceSpec, now: i64) -> Result<anola_ledger::book::Allowance, MoneyError> {
        let currency = self.read(|b| b.ledger.account(&spec.wallet).map(|a| a.spec.currency)).await?;
        if let Some(currency) = currency {
            let acc = anola_ledger::book::allowance::account(spec.id);
            self.ensure_accounts(
                vec![AccountSpec {
                    id: acc,
                    kind: AccountKind::Allowance,
                    currency,
                }],
                now,
            )
            .await?;
        }
        let id = spec.id;
        self.run_then(
            now,
            |b| match b.allowances.get(&id) {
                Some(a) if a.spec.device == spec.device && a.spec.wallet == spec.wallet => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => {
                    let (allowance, request) = b.prepare_reserve(spec.clone(), now)?;
                    Ok(Next::Write(LogOp::Reserve { allowance, request }))
                }
            },
            |b| b.allowances[&id].clone(),
        )
        .await
    }

    /// Returns what an allowance holds to its wallet; it pays no more charges.
    pub async fn return_allowance(&self, id: Uuid, now: i64) -> Result<anola_ledger::book::Allowance, MoneyError> {
        self.run_then(
            now,
            |b| match b.prepare_return(id) {
                Err(LedgerError::AllowanceReturned { .. }) => Ok(Next::Done),
                Err(e) => Err(e),
                Ok(request) => {
                    // Refused (its wallet closed): nothing is written, so a sweep that retries it
                    // does not grow the log.
                    let op = LogOp::Return { allowance: id, request };
                    b.decide(&op, now)?;
                    Ok(Next::Write(op))
                }
            },
            |b| b.allowances[&id].clone(),
        )
        .await
    }

    /// Returns allowances whose time is up (any process may run it; each return happens once).
    pub async fn sweep(&self, now: i64) -> Result<usize, MoneyError> {
        let due = self.read(|b| b.expired_allowances(now, 100)).await?;
        let mut returned = 0;
        for id in &due {
            // One that cannot be returned (its wallet closed) must not stop the others.
            match self.return_allowance(*id, now).await {
                Ok(_) => returned += 1,
                Err(MoneyError::Refused(e)) => tracing::warn!(allowance = %id, code = e.code(), "expired allowance not returned"),
                Err(e) => return Err(e),
            }
        }
        Ok(returned)
    }

    pub async fn withdraw(&self, input: WithdrawalInput, now: i64) -> Result<anola_ledger::book::Withdrawal, MoneyError> {
        let currency = self.read(|b| b.ledger.account(&input.wallet).map(|a| a.spec.currency)).await?;
        if let Some(c) = currency {
            self.ensure_accounts(
                vec![AccountSpec {
                    id: anola_ledger::book::withdrawal::payouts(c),
                    kind: AccountKind::Outside,
                    currency: c,
                }],
                now,
            )
            .await?;
        }
        let id = input.id;
        self.run_then(
            now,
            |b| match b.withdrawals.get(&id) {
                Some(w) if w.input == input => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => {
                    let (_, request) = b.prepare_withdrawal(&input, now)?;
                    Ok(Next::Write(LogOp::Withdraw {
                        withdrawal: input.clone(),
                        request,
                    }))
                }
            },
            |b| b.withdrawals[&id].clone(),
        )
        .await
    }

    /// Approves (posts) or rejects (voids) a waiting withdrawal, once; the same decision again
    /// is a success, the other one `hold_resolved`.
    pub async fn decide_withdrawal(
        &self,
        id: Uuid,
        approve: bool,
        by: String,
        now: i64,
    ) -> Result<anola_ledger::book::Withdrawal, MoneyError> {
        self.run_then(
            now,
            |b| match b.withdrawals.get(&id).and_then(|w| w.decision.as_ref()) {
                Some((a, _, _)) if *a == approve => Ok(Next::Done),
                _ => Ok(Next::Write(LogOp::Decide {
                    withdrawal: id,
                    approve,
                    by: by.clone(),
                    request: b.prepare_decision(id, approve)?,
                })),
            },
            |b| b.withdrawals[&id].clone(),
        )
        .await
    }

    /// Closes a cashier's day: what the ledger expected, what was counted, the difference.
    pub async fn close_day(&self, input: CloseInput, now: i64) -> Result<DayClose, MoneyError> {
        let drawer = anola_ledger::book::charge::drawer(&input.drawer);
        let currency = self.read(|b| b.ledger.account(&drawer).map(|a| a.spec.currency)).await?;
        if let Some(c) = currency {
            use anola_ledger::book::till;
            let specs = [
                (till::bank(c), AccountKind::Outside),
                (till::overage(c), AccountKind::Outside),
                (till::shortage(&input.drawer), AccountKind::Receivable),
            ]
            .into_iter()
            .map(|(id, kind)| AccountSpec { id, kind, currency: c })
            .collect();
            self.ensure_accounts(specs, now).await?;
        }
        let id = input.id;
        self.run_then(
            now,
            |b| match b.closes.get(&id) {
                Some(c) if c.input == input => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => {
                    let (close, request) = b.prepare_close(input.clone())?;
                    Ok(Next::Write(LogOp::Close { close, request }))
                }
            },
            |b| b.closes[&id].clone(),
        )
        .await
    }

    /// Records a mobile-money deposit before the provider is asked (a retry with the same
    /// intent finds it).
    pub async fn collect_intent(
        &self,
        intent: anola_ledger::book::CollectIntent,
        now: i64,
    ) -> Result<anola_ledger::book::Collection, MoneyError> {
        let id = intent.id;
        if let Some(c) = self.read(|b| b.ledger.account(&intent.wallet).map(|a| a.spec.currency)).await? {
            let mobile = anola_ledger::book::charge::mobile_money(c);
            self.ensure_accounts(
                vec![AccountSpec {
                    id: mobile,
                    kind: AccountKind::Outside,
                    currency: c,
                }],
                now,
            )
            .await?;
        }
        self.run_then(
            now,
            |b| match b.collections.get(&id) {
                Some(c) if c.intent == intent => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                // The deposit will move under this id: it must be free in the ledger too.
                None if b.ledger.outcomes.contains_key(&id) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => Ok(Next::Write(LogOp::Collect {
                    currency: b.prepare_collect(&intent)?,
                    intent: intent.clone(),
                })),
            },
            |b| b.collections[&id].clone(),
        )
        .await
    }

    /// Records what the provider said about a collection: taken (`Pushed`), paid (the deposit,
    /// once; a second payment is kept as a duplicate), or failed.
    pub async fn collect_update(&self, id: Uuid, update: CollectUpdate, now: i64) -> Result<anola_ledger::book::Collection, MoneyError> {
        use anola_ledger::book::CollectState;
        self.run_then(
            now,
            |b| {
                let c = b
                    .collections
                    .get(&id)
                    .ok_or_else(|| LedgerError::UnknownCharge { charge: id.to_string() })?;
                Ok(match (&update, &c.state) {
                    (CollectUpdate::Pushed { checkout }, CollectState::Pending) => Next::Write(LogOp::Pushed {
                        collect: id,
                        checkout: checkout.clone(),
                    }),
                    (CollectUpdate::Pushed { .. }, _) => Next::Done,
                    (CollectUpdate::Paid { receipt }, CollectState::Paid { receipt: r }) if r == receipt => Next::Done,
                    (CollectUpdate::Paid { receipt }, CollectState::Paid { .. }) => {
                        if c.duplicates.contains(receipt) {
                            Next::Done
                        } else {
                            Next::Write(LogOp::CollectDuplicate {
                                collect: id,
                                receipt: receipt.clone(),
                            })
                        }
                    }
                    (CollectUpdate::Paid { receipt }, _) => Next::Write(LogOp::Collected {
                        collect: id,
                        receipt: receipt.clone(),
                        request: b.collected_request(id, anola_ledger::book::charge::mobile_money(c.currency))?,
                    }),
                    (CollectUpdate::Failed { .. }, CollectState::Paid { .. } | CollectState::Failed { .. }) => Next::Done,
                    (CollectUpdate::Failed { reason }, _) => Next::Write(LogOp::CollectFailed {
                        collect: id,
                        reason: reason.clone(),
                    }),
                })
            },
            |b| b.collections[&id].clone(),
        )
        .await
    }

    /// Records a payout sent, or the provider's result (a failure reverses the withdrawal into
    /// its wallet, once).
    pub async fn payout_update(
        &self,
        withdrawal: Uuid,
        update: PayoutUpdate,
        now: i64,
    ) -> Result<Option<anola_ledger::book::PayoutState>, MoneyError> {
        use anola_ledger::book::PayoutState;
        self.run_then(
            now,
            |b| {
                let current = b.payouts.get(&withdrawal);
                Ok(match (&update, current) {
                    (_, Some(PayoutState::Done { .. } | PayoutState::Returned { .. })) => Next::Done,
                    (PayoutUpdate::Sent { .. }, Some(PayoutState::Sent { .. })) => Next::Done,
                    (PayoutUpdate::Sent { conversation }, None) => Next::Write(LogOp::PayoutSent {
                        withdrawal,
                        conversation: conversation.clone(),
                    }),
                    (PayoutUpdate::Done { reference }, _) => Next::Write(LogOp::PayoutResult {
                        withdrawal,
                        reference: reference.clone(),
                        request: None,
                    }),
                    (PayoutUpdate::Failed { reason }, _) => Next::Write(LogOp::PayoutResult {
                        withdrawal,
                        reference: reason.clone(),
                        request: Some(b.payout_return_request(withdrawal)),
                    }),
                })
            },
            |b| b.payouts.get(&withdrawal).cloned(),
        )
        .await
    }

    /// Claims the sending of a withdrawal's payout: true for the one caller that may ask the
    /// provider (recorded before asking, so two approvals or retries never pay out twice).
    pub async fn payout_claim(&self, withdrawal: Uuid, now: i64) -> Result<bool, MoneyError> {
        self.run(
            now,
            |b| match b.payouts.get(&withdrawal) {
                Some(_) => Ok(Next::Done),
                None => {
                    let op = LogOp::PayoutSent {
                        withdrawal,
                        conversation: "requested".into(),
                    };
                    b.decide(&op, now)?;
                    Ok(Next::Write(op))
                }
            },
            |_, slot| slot.is_some_and(|s| s.result.is_ok()),
        )
        .await
    }

    /// One account as of the latest slot.
    pub async fn account(&self, id: &AccountId) -> Result<Option<anola_ledger::ledger::AccountState>, MoneyError> {
        self.read(|b| b.ledger.account(id).cloned()).await
    }

    /// A snapshot of the ledger as of the latest slot.
    pub async fn snapshot(&self) -> Result<(u64, Ledger), MoneyError> {
        let mut v = self.view.lock().await;
        self.catch_up(&mut v).await?;
        Ok((v.applied, v.book.ledger.clone()))
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

    /// Replays the whole log into a fresh book and checks every invariant of the ledger and the
    /// book (`audit`). (It only reads: a fresh view caught up from slot 1.)
    pub async fn audit_log(store: Arc<S>) -> Result<(u64, Vec<Violation>), MoneyError> {
        let fresh = LedgerService::new(store);
        let mut v = fresh.view.lock().await;
        fresh.catch_up(&mut v).await?;
        Ok((v.applied, audit_book(&v.book)))
    }
}
