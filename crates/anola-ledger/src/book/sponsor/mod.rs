//! Sponsorship in the book: sponsors and their global wallets, sponsorships with ring-fenced
//! sponsored wallets (`SW-<sponsorship>`), the coverage engine on every payment from them,
//! pre-approvals as ledger holds, and the returns at expiry or termination (docs/sponsorship.md).
//!
//! Every change is a `SponsorOp` inside a `BookOp`, decided (pure) before it is applied, like the
//! rest of the book. Money moves only through ledger requests built here from the book as it
//! stands, with derived ids where something must happen once (a term's funding, a return, a
//! pre-approval's hold, post and release).

pub mod audit;
pub mod model;
pub mod ops;
pub mod report;
pub mod rules;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_support;

pub use model::*;
pub use ops::SponsorOp;
pub use rules::{evaluate, Answer, Caps, Claim, ClaimLine, Coverage, Reason, Room, Standing, RULES_VERSION};

use super::{Allowance, Book, ChargeInput};
use crate::account::{day_and_month, AccountId};
use crate::error::LedgerError;
use uuid::Uuid;

/// The calendar month number of `ms` (the period caps count in).
pub fn month_of(ms: i64) -> i64 {
    day_and_month(ms).1
}

/// The first instant of the month after the one holding `ms`.
pub fn month_end(ms: i64) -> i64 {
    let m = month_of(ms);
    // Days in a month are 28–31: step a day at a time from 27 days on (at most five steps).
    let mut t = ms.div_euclid(rules::DAY_MS) * rules::DAY_MS;
    while month_of(t) == m {
        t += rules::DAY_MS;
    }
    t
}

impl Book {
    pub fn sponsorship(&self, id: Uuid) -> Result<&Sponsorship, LedgerError> {
        self.sponsorships.get(&id).ok_or_else(|| LedgerError::UnknownSponsorship {
            sponsorship: id.to_string(),
        })
    }

    /// The sponsorship behind a sponsored wallet, if it has one (sponsored wallets opened by a
    /// platform administrator before sponsorships existed have none and keep paying as before).
    pub fn sponsorship_of_wallet(&self, wallet: &AccountId) -> Option<&Sponsorship> {
        self.sponsorships.get(&model::sponsorship_of(wallet)?)
    }

    pub fn standing(&self, s: &Sponsorship) -> Standing {
        Standing {
            active: s.status == Status::Active,
            starts_at: s.spec.starts_at,
            ends_at: s.term_end,
            currency: s.currency,
        }
    }

    /// What allowances of devices and approved pre-approvals still hold for `month`, and how
    /// many charges they may still make.
    pub fn reserved_in(&self, s: &Sponsorship, month: i64, except: Option<Uuid>) -> (u64, u32) {
        let mut amount = 0u64;
        let mut charges = 0u32;
        for a in s.open_allowances.iter().filter_map(|id| self.allowances.get(id)) {
            if a.returned.is_none() && month_of(a.reserved_at) == month && Some(a.spec.id) != except {
                amount = amount.saturating_add(self.allowance_held(a));
                charges = charges.saturating_add(a.spec.max_count.saturating_sub(a.charges.len() as u32));
            }
        }
        for p in s.open_pre_approvals.iter().filter_map(|id| self.pre_approvals.get(id)) {
            if let (Some(n), true) = (p.open_amount(), p.month == month && Some(p.input.id) != except) {
                amount = amount.saturating_add(n);
                charges = charges.saturating_add(1);
            }
        }
        (amount, charges)
    }

    pub fn allowance_held(&self, a: &Allowance) -> u64 {
        self.ledger
            .account(&a.account())
            .map(|s| s.balance.available().max(0) as u64)
            .unwrap_or(0)
    }

    /// The room a payment committed now (online) has: the sponsored wallet's spendable funds,
    /// and what the month's caps leave after its spending and its open reservations.
    pub fn room_now(&self, s: &Sponsorship, now: i64, except: Option<Uuid>) -> Room {
        let month = month_of(now);
        let used = s.usage.get(&month).copied().unwrap_or_default();
        let (held, counted) = self.reserved_in(s, month, except);
        Room {
            funds: self.spendable_now(&s.wallet(), now),
            period: s.spec.caps.per_period.map(|c| c.saturating_sub(used.spent).saturating_sub(held)),
            charges: s
                .spec
                .caps
                .charges_per_period
                .map(|c| c.saturating_sub(used.charges).saturating_sub(counted)),
            pre_approved: None,
        }
    }

    /// The bill's lines as the engine sees them (`left` is what is still unpaid of each line).
    pub fn claim_lines(&self, input: &ChargeInput, left: &[u64]) -> Vec<ClaimLine> {
        input
            .lines
            .iter()
            .zip(left)
            .map(|(l, n)| {
                let item = self.prices.get(&l.item);
                ClaimLine {
                    item: l.item.clone(),
                    kind: item.map_or(super::ItemKind::Procedure, |i| i.kind),
                    service: item.and_then(|i| i.service.clone()),
                    amount: *n,
                }
            })
            .collect()
    }

    /// The engine's answer for a bill and one sponsorship, given its room.
    pub fn answer_for(&self, s: &Sponsorship, input: &ChargeInput, left: &[u64], currency: crate::Currency, at: i64, room: Room) -> Answer {
        self.answer_standing(s, &self.standing(s), input, left, currency, at, room)
    }

    /// `answer_for` with the sponsorship's standing given (an allowance's charge is judged as
    /// of when it was made).
    #[allow(clippy::too_many_arguments)]
    pub fn answer_standing(
        &self,
        s: &Sponsorship,
        standing: &Standing,
        input: &ChargeInput,
        left: &[u64],
        currency: crate::Currency,
        at: i64,
        room: Room,
    ) -> Answer {
        let lines = self.claim_lines(input, left);
        let claim = Claim {
            lines: &lines,
            currency,
            provider: input.provider.as_deref(),
            clinic: &input.clinic,
            diagnoses: &input.diagnoses,
            at,
        };
        evaluate(&s.spec.coverage, &s.spec.caps, standing, &claim, room)
    }

    /// Sponsorships whose term has ended by `now` (to renew or end), oldest first.
    pub fn sponsorships_due(&self, now: i64, max: usize) -> Vec<Uuid> {
        self.term_ends
            .iter()
            .take_while(|(t, _)| *t <= now)
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Approved pre-approvals whose hold's time is up, oldest first.
    pub fn pre_approvals_due(&self, now: i64, max: usize) -> Vec<Uuid> {
        self.pa_expiring
            .iter()
            .take_while(|(t, _)| *t <= now)
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Sponsorships within a week of their term's end that have not had this term's reminder.
    pub fn reminders_due(&self, now: i64, max: usize) -> Vec<Uuid> {
        self.term_ends
            .iter()
            .take_while(|(t, _)| *t <= now + 7 * rules::DAY_MS)
            .filter(|(_, id)| {
                self.sponsorships
                    .get(id)
                    .is_some_and(|s| !self.notice_ids.contains(&reminder_id(s)) && s.status == Status::Active)
            })
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }
}

/// The id of a term's expiry reminder (one per term).
pub fn reminder_id(s: &Sponsorship) -> Uuid {
    super::derived_id(s.spec.id, &format!("reminder-{}", s.term))
}
