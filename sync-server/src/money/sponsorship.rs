//! Sponsorship on the server's money log (docs/sponsorship.md): every change is one `SponsorOp`
//! prepared against the caught-up book and committed at the next slot, like every other money
//! change (ADR 0015), so a retry finds what it did and two processes never do a thing twice.

use super::service::{LedgerService, MoneyError, Next};
use crate::store::ledger_log::{LedgerLog, LogOp};
use anola_ledger::book::sponsor::{self, PreApproval, PreApprovalInput, SponsorOp, Sponsorship, SponsorshipSpec, Status};
use anola_ledger::book::{charge, Book};
use anola_ledger::{AccountKind, AccountSpec, LedgerError};
use uuid::Uuid;

fn op(op: SponsorOp) -> Next {
    Next::Write(LogOp::Sponsor { op: Box::new(op) })
}

/// `op`, unless the book would refuse it: what time does (the sweep) is written only when it
/// applies, so an op that keeps being refused (a wallet an administrator closed) neither grows the
/// log nor blocks the rest.
fn checked(b: &Book, o: SponsorOp, now: i64) -> Result<Next, LedgerError> {
    let next = LogOp::Sponsor { op: Box::new(o) };
    b.decide(&next, now)?;
    Ok(Next::Write(next))
}

impl<S: LedgerLog> LedgerService<S> {
    /// Creates or updates a sponsor's profile, and opens their global wallet (`GW-<id>`).
    pub async fn sponsor_profile(&self, sponsor: sponsor::Sponsor, now: i64) -> Result<sponsor::Sponsor, MoneyError> {
        let id = sponsor.id.clone();
        let currency = sponsor.currency;
        self.run_then(
            now,
            |b| match b.sponsors.get(&id) {
                Some(s) if *s == sponsor => Ok(Next::Done),
                _ => {
                    b.validate_sponsor(&sponsor)?;
                    Ok(op(SponsorOp::Profile { sponsor: sponsor.clone() }))
                }
            },
            |_| (),
        )
        .await?;
        let gw = sponsor::global_wallet(&id);
        let open = self.read(|b| b.ledger.accounts.contains_key(&gw)).await?;
        if !open {
            self.open_wallet(
                AccountSpec {
                    id: gw,
                    kind: AccountKind::SponsorGlobal,
                    currency,
                },
                id.clone(),
                now,
            )
            .await?;
        }
        self.read(|b| b.sponsors[&id].clone()).await
    }

    /// A bank transfer into a sponsor's wallet, confirmed by a platform administrator (once per
    /// id).
    pub async fn sponsor_deposit(&self, id: Uuid, sponsor: String, amount: u64, reference: String, now: i64) -> Result<u64, MoneyError> {
        if let Some(c) = self.read(|b| b.sponsors.get(&sponsor).map(|s| s.currency)).await? {
            self.ensure_accounts(
                vec![AccountSpec {
                    id: sponsor::ops::bank(c),
                    kind: AccountKind::Outside,
                    currency: c,
                }],
                now,
            )
            .await?;
        }
        self.run_then(
            now,
            |b| {
                let op_ = b.prepare_sponsor_deposit(id, &sponsor, amount, &reference)?;
                match b.ledger.outcomes.get(&id) {
                    Some(o) => match &op_ {
                        SponsorOp::Deposit { request, .. } if o.digest == request.digest() => Ok(Next::Done),
                        _ => Err(LedgerError::IdReused { id: id.to_string() }),
                    },
                    None => Ok(op(op_)),
                }
            },
            |b| b.spendable_now_raw(&sponsor::global_wallet(&sponsor)),
        )
        .await
    }

    /// Creates a sponsorship (pending) and its sponsored wallet `SW-<id>`, owned by the patient.
    /// A retry with the same spec is a success; another spec under the id is `id_reused`.
    pub async fn create_sponsorship(&self, spec: SponsorshipSpec, by: String, now: i64) -> Result<Sponsorship, MoneyError> {
        let id = spec.id;
        let currency = self
            .read(|b| match b.sponsorships.get(&id) {
                Some(s) if s.spec == spec => Ok(s.currency),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => b.validate_sponsorship(&spec, now),
            })
            .await??;
        let sw = sponsor::sponsored_wallet(id);
        let open = self.read(|b| b.ledger.accounts.contains_key(&sw)).await?;
        if !open {
            self.open_wallet(
                AccountSpec {
                    id: sw,
                    kind: AccountKind::Sponsored,
                    currency,
                },
                spec.patient.clone(),
                now,
            )
            .await?;
        }
        self.run_then(
            now,
            |b| match b.sponsorships.get(&id) {
                Some(s) if s.spec == spec => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => {
                    let currency = b.validate_sponsorship(&spec, now)?;
                    Ok(op(SponsorOp::Create {
                        spec: spec.clone(),
                        currency,
                        by: by.clone(),
                    }))
                }
            },
            |b| b.sponsorships[&id].clone(),
        )
        .await
    }

    /// Activates (funding the first term from the sponsor's wallet), pauses, resumes or
    /// terminates (returning what is left) a sponsorship. Asking for the status it already has is
    /// a success. Termination first returns its devices' allowances and voids its pre-approvals'
    /// holds, so the return takes everything.
    pub async fn sponsorship_status(&self, id: Uuid, to: Status, by: String, reason: String, now: i64) -> Result<Sponsorship, MoneyError> {
        if to == Status::Terminated {
            self.release_reservations(id, "the sponsorship was terminated", now).await?;
        }
        self.run_then(
            now,
            |b| {
                let s = b.sponsorship(id)?;
                if s.status == to {
                    return Ok(Next::Done);
                }
                Ok(op(b.prepare_status(id, to, &by, &reason, now)?))
            },
            |b| b.sponsorships[&id].clone(),
        )
        .await
    }

    /// Returns a sponsorship's open allowances and releases its approved pre-approvals' holds.
    async fn release_reservations(&self, id: Uuid, reason: &str, now: i64) -> Result<(), MoneyError> {
        let (allowances, holds) = self
            .read(|b| {
                let Some(s) = b.sponsorships.get(&id) else {
                    return (vec![], vec![]);
                };
                let a: Vec<Uuid> = s
                    .open_allowances
                    .iter()
                    .filter(|a| b.allowances.get(a).is_some_and(|x| x.returned.is_none() || b.allowance_held(x) > 0))
                    .copied()
                    .collect();
                let h: Vec<Uuid> = s
                    .open_pre_approvals
                    .iter()
                    .filter(|p| b.pre_approvals.get(p).is_some_and(|x| x.open_amount().is_some()))
                    .copied()
                    .collect();
                (a, h)
            })
            .await?;
        for a in allowances {
            self.return_allowance(a, now).await?;
        }
        for p in holds {
            self.release_pre_approval(p, reason, now).await?;
        }
        Ok(())
    }

    pub async fn release_pre_approval(&self, id: Uuid, reason: &str, now: i64) -> Result<PreApproval, MoneyError> {
        self.run_then(
            now,
            |b| match b.prepare_release(id, reason, now)? {
                None => Ok(Next::Done),
                Some(o) => checked(b, o, now),
            },
            |b| b.pre_approvals[&id].clone(),
        )
        .await
    }

    /// A clinician's request (from a device, online or queued offline with its id): a retry
    /// with the same request is a success.
    pub async fn ask_pre_approval(&self, input: PreApprovalInput, now: i64) -> Result<PreApproval, MoneyError> {
        let id = input.id;
        self.run_then(
            now,
            |b| match b.pre_approvals.get(&id) {
                Some(p) if p.input == input => Ok(Next::Done),
                Some(_) => Err(LedgerError::IdReused { id: id.to_string() }),
                None => Ok(op(b.prepare_pre_approval(input.clone(), now)?)),
            },
            |b| b.pre_approvals[&id].clone(),
        )
        .await
    }

    /// The sponsor's decision; the same decision again is a success, the other one
    /// `pre_approval_decided`.
    pub async fn decide_pre_approval(
        &self,
        id: Uuid,
        approve: bool,
        by: String,
        comment: String,
        now: i64,
    ) -> Result<PreApproval, MoneyError> {
        let clinic = self
            .read(|b| b.pre_approvals.get(&id).map(|p| (p.input.clinic.clone(), p.currency)))
            .await?;
        if let Some((clinic, currency)) = clinic {
            self.ensure_accounts(
                vec![AccountSpec {
                    id: charge::revenue(&clinic),
                    kind: AccountKind::Revenue,
                    currency,
                }],
                now,
            )
            .await?;
        }
        self.run_then(
            now,
            |b| {
                let p = b.pre_approvals.get(&id).ok_or_else(|| LedgerError::UnknownPreApproval {
                    pre_approval: id.to_string(),
                })?;
                use sponsor::PreApprovalState as St;
                match (&p.state, approve) {
                    (St::Approved { .. } | St::Used { .. }, true) | (St::Refused { .. }, false) => Ok(Next::Done),
                    _ => Ok(op(b.prepare_pa_decision(id, approve, &by, &comment, now)?)),
                }
            },
            |b| b.pre_approvals[&id].clone(),
        )
        .await
    }

    /// What time does to sponsorships (any process may run it; each change is one slot, so two
    /// processes sweeping together do each once): expiry reminders, pre-approval holds whose
    /// time is up, terms that end (allowances returned first, then renewal or the return of the
    /// unused funds), and money that came back to an ended sponsorship. Returns the changes made.
    pub async fn sponsorship_sweep(&self, now: i64) -> Result<usize, MoneyError> {
        let (reminders, holds, ends, returns) = self
            .read(|b| {
                (
                    b.reminders_due(now, 100),
                    b.pre_approvals_due(now, 100),
                    b.sponsorships_due(now, 100),
                    b.to_return.iter().take(100).copied().collect::<Vec<_>>(),
                )
            })
            .await?;
        let mut n = 0;
        for id in reminders {
            let done = self
                .run(
                    now,
                    |b: &Book| match b.notice_ids.contains(&sponsor::reminder_id(b.sponsorship(id)?)) {
                        true => Ok(Next::Done),
                        false => Ok(op(b.prepare_reminder(id, now)?)),
                    },
                    |_, slot| slot.is_some(),
                )
                .await?;
            n += usize::from(done);
        }
        for id in holds {
            match self.release_pre_approval(id, "expired", now).await {
                Ok(_) => n += 1,
                Err(MoneyError::Refused(e)) => tracing::warn!(pre_approval = %id, code = e.code(), "pre-approval hold not released"),
                Err(e) => return Err(e),
            }
        }
        // One sponsorship that cannot be settled (refused) must not stop the others.
        let skip = |what: &str, id: Uuid, r: Result<bool, MoneyError>| -> Result<usize, MoneyError> {
            match r {
                Ok(changed) => Ok(usize::from(changed)),
                Err(MoneyError::Refused(e)) => {
                    tracing::warn!(sponsorship = %id, code = e.code(), "{what} refused; the sweep goes on");
                    Ok(0)
                }
                Err(e) => Err(e),
            }
        };
        for id in ends {
            let r = match self.release_reservations(id, "the sponsorship's term ended", now).await {
                Ok(()) => {
                    self.run(
                        now,
                        |b: &Book| match b.prepare_term_end(id, now)? {
                            None => Ok(Next::Done),
                            Some(o) => checked(b, o, now),
                        },
                        |_, slot| slot.is_some(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            n += skip("ending a term", id, r)?;
        }
        for id in returns {
            let r = self
                .run(
                    now,
                    |b: &Book| {
                        let s = b.sponsorship(id)?;
                        match (b.to_return.contains(&id), b.prepare_sponsorship_return(s)) {
                            (true, Some(request)) => checked(b, SponsorOp::Return { id, request }, now),
                            _ => Ok(Next::Done),
                        }
                    },
                    |_, slot| slot.is_some(),
                )
                .await;
            n += skip("returning funds", id, r)?;
        }
        Ok(n)
    }

    /// A clinician's story about a sponsorship's care (a retry with the same story is a success).
    pub async fn add_story(&self, story: sponsor::Story, now: i64) -> Result<(), MoneyError> {
        let id = story.id;
        self.run_then(
            now,
            |b| {
                let known = b.stories.get(&story.sponsorship).and_then(|v| v.iter().find(|s| s.id == id));
                match (known, b.story_ids.contains(&id)) {
                    (Some(s), _) if s.text == story.text => Ok(Next::Done),
                    (_, true) => Err(LedgerError::IdReused { id: id.to_string() }),
                    _ => Ok(op(SponsorOp::Story { story: story.clone() })),
                }
            },
            |_| (),
        )
        .await
    }

    /// Creates or changes a sponsor's programme (the same programme again is a success).
    pub async fn save_programme(&self, p: sponsor::Programme, now: i64) -> Result<sponsor::Programme, MoneyError> {
        let id = p.id;
        self.run_then(
            now,
            |b| match b.programmes.get(&id) {
                Some(x) if *x == p => Ok(Next::Done),
                _ => {
                    b.validate_programme(&p)?;
                    Ok(op(SponsorOp::Programme { programme: p.clone() }))
                }
            },
            |b| b.programmes[&id].clone(),
        )
        .await
    }
}
