//! Invariants of sponsorship, checked from the book's records by the auditor (`audit_book`):
//!
//! 11. No sponsorship spent more in a month than its cap per period, or made more charges than
//!     its frequency limit (spending counts in the month its money was committed).
//! 12. No receipt took more from a sponsorship than the engine's recorded answer approved, and
//!     every payment from a sponsorship's money has an answer.
//! 13. Money moved from a sponsorship to its sponsor never exceeds what was moved in, and what is
//!     held reconciles: funded − spent − returned = held (wallet and allowances, on the ledger).
//! 14. A pre-approval's charge posted no more than its hold.

use super::model::*;
use crate::audit::Violation;
use crate::book::{Book, Source};

pub fn audit(book: &Book, v: &mut Vec<Violation>) {
    let mut bad = |s: String| v.push(Violation(s));
    for (id, s) in &book.sponsorships {
        for (month, u) in &s.usage {
            if s.spec.caps.per_period.is_some_and(|c| u.spent > c) {
                bad(format!(
                    "sponsorship {id}: spent {} in month {month}, cap {:?}",
                    u.spent, s.spec.caps.per_period
                ));
            }
            if s.spec.caps.charges_per_period.is_some_and(|c| u.charges > c) {
                bad(format!(
                    "sponsorship {id}: {} charges in month {month}, limit {:?}",
                    u.charges, s.spec.caps.charges_per_period
                ));
            }
        }
        // The open sets the caps' room is computed from hold everything still open.
        for a in s.allowances.iter().filter_map(|a| book.allowances.get(a)) {
            if a.returned.is_none() && !s.open_allowances.contains(&a.spec.id) {
                bad(format!("sponsorship {id}: allowance {} is open but not counted", a.spec.id));
            }
        }
        for p in s.pre_approvals.iter().filter_map(|p| book.pre_approvals.get(p)) {
            let open = matches!(p.state, PreApprovalState::Pending | PreApprovalState::Approved { .. });
            if open && !s.open_pre_approvals.contains(&p.input.id) {
                bad(format!("sponsorship {id}: pre-approval {} is open but not counted", p.input.id));
            }
        }
        let spent: u64 = s.usage.values().map(|u| u.spent).sum();
        if s.returned > s.funded {
            bad(format!("sponsorship {id}: returned {} of {} funded", s.returned, s.funded));
        }
        let held = book.sponsorship_held(s) as i128;
        if s.funded as i128 - spent as i128 - s.returned as i128 != held {
            bad(format!(
                "sponsorship {id}: funded {} − spent {spent} − returned {} ≠ held {held}",
                s.funded, s.returned
            ));
        }
    }
    for (rid, r) in &book.receipts {
        for p in &r.parts {
            let wallet = match p.source {
                Source::Sponsored | Source::PreApproved => Some(p.account.clone()),
                Source::Allowance => book.allowance_by_account(&p.account).map(|a| a.spec.wallet.clone()),
                _ => None,
            };
            let Some(s) = wallet.as_ref().and_then(|w| book.sponsorship_of_wallet(w)) else {
                continue;
            };
            match r.coverage.iter().find(|c| c.sponsorship == s.spec.id && c.account == p.account) {
                Some(c) if p.amount <= c.answer.approved => {}
                Some(c) => bad(format!(
                    "receipt {rid}: {} paid {}, the engine approved {}",
                    p.account, p.amount, c.answer.approved
                )),
                None => bad(format!(
                    "receipt {rid}: {} paid {} with no answer of the engine",
                    p.account, p.amount
                )),
            }
        }
    }
    for (id, p) in &book.pre_approvals {
        if let PreApprovalState::Used { amount, .. } = p.state {
            let hold = book.ledger.holds.get(&p.hold_id()).map_or(0, |h| h.leg.amount);
            if amount > hold {
                bad(format!("pre-approval {id}: posted {amount} of a hold of {hold}"));
            }
        }
    }
}
