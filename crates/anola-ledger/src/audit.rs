//! The auditor: everything the ledger asserts as it goes, checked again from its records alone.
//! Used by the property tests, the money simulation and the `audit` command.

use crate::account::{AccountId, Balance};
use crate::command::Command;
use crate::ledger::{entry_hash, Ledger, Resolution, GENESIS};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// One broken invariant, said in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

/// Every invariant of `ledger`; empty when it is sound.
///
/// 1. Each account's entries are numbered 1..n without gaps, each chained to the previous by hash.
/// 2. Each account's balance equals the replay of its entries, and its head and count match.
/// 3. Per currency, posted debits equal posted credits, and pending debits equal pending credits:
///    money is neither made nor lost.
/// 4. No guarded account's available balance (pending debits counted) is below zero.
/// 5. Entries come only from requests whose stored outcome applied them, each request's entries
///    once (its count matches).
/// 6. Each hold is resolved at most once, by a request that names it; the pending sums equal the
///    open holds.
/// 7. No transaction is reversed beyond its amount.
pub fn audit(ledger: &Ledger) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut bad = |s: String| v.push(Violation(s));

    // 1, 2: replay.
    let mut replay: BTreeMap<&AccountId, (u64, String, Balance)> = BTreeMap::new();
    let mut per_request: HashMap<Uuid, usize> = HashMap::new();
    for e in &ledger.entries {
        let Some(state) = ledger.accounts.get(&e.account) else {
            bad(format!("entry {}#{} names an unknown account", e.account, e.seq));
            continue;
        };
        let r = replay.entry(&e.account).or_insert((0, GENESIS.to_owned(), Balance::default()));
        if e.seq != r.0 + 1 {
            bad(format!("account {}: entry {} follows {}", e.account, e.seq, r.0));
        }
        if e.prev != r.1 || e.hash != entry_hash(&e.prev, &e.account, e.seq, e.request, e.effect, e.amount) {
            bad(format!("account {}: entry {} breaks the hash chain", e.account, e.seq));
        }
        match e.effect.apply(r.2, e.amount) {
            Some(b) => r.2 = b,
            None => bad(format!(
                "account {}: entry {} overflows or releases more than held",
                e.account, e.seq
            )),
        }
        r.0 = e.seq;
        r.1 = e.hash.clone();
        *per_request.entry(e.request).or_default() += 1;
        let _ = state;
    }
    for (id, a) in &ledger.accounts {
        let (seq, head, balance) = replay.get(id).cloned().unwrap_or((0, GENESIS.to_owned(), Balance::default()));
        if a.balance != balance {
            bad(format!(
                "account {id}: balance {:?} but its entries replay to {balance:?}",
                a.balance
            ));
        }
        if a.seq != seq || a.head != head {
            bad(format!("account {id}: head does not match its last entry"));
        }
        // 4.
        if a.spec.kind.guarded() && a.balance.available_as(a.spec.kind) < 0 {
            bad(format!(
                "account {id}: available balance {} below zero",
                a.balance.available_as(a.spec.kind)
            ));
        }
    }

    // 3.
    let mut sums: BTreeMap<&str, [i128; 2]> = BTreeMap::new();
    for a in ledger.accounts.values() {
        let s = sums.entry(a.spec.currency.code()).or_default();
        s[0] += a.balance.credits_posted as i128 - a.balance.debits_posted as i128;
        s[1] += a.balance.credits_pending as i128 - a.balance.debits_pending as i128;
    }
    for (c, [posted, pending]) in sums {
        if posted != 0 || pending != 0 {
            bad(format!(
                "{c}: credits minus debits is {posted} posted and {pending} pending, not zero"
            ));
        }
    }

    // 5.
    for (id, n) in &per_request {
        match ledger.outcomes.get(id).map(|o| &o.result) {
            Some(Ok(count)) if count == n => {}
            Some(Ok(count)) => bad(format!("request {id}: {n} entries, its outcome says {count}")),
            Some(Err(_)) => bad(format!("request {id} was refused but has entries")),
            None => bad(format!("request {id} has entries and no outcome")),
        }
    }
    for (id, o) in &ledger.outcomes {
        if matches!(o.result, Ok(n) if n > 0) && !per_request.contains_key(id) {
            bad(format!("request {id} applied but left no entries"));
        }
    }

    // 6.
    let mut resolutions: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, o) in &ledger.outcomes {
        if o.result.is_err() {
            continue;
        }
        if let Command::Post { hold, .. } | Command::Void { hold } | Command::Expire { hold } = &o.request.command {
            resolutions.entry(*hold).or_default().push(*id);
        }
    }
    let mut pending: BTreeMap<&AccountId, [u64; 2]> = BTreeMap::new();
    for (hold, h) in &ledger.holds {
        let by = resolutions.get(hold).map(Vec::as_slice).unwrap_or_default();
        match (&h.resolution, by) {
            (None, []) => {
                pending.entry(&h.leg.debit).or_default()[0] += h.leg.amount;
                pending.entry(&h.leg.credit).or_default()[1] += h.leg.amount;
            }
            (Some(r), [one]) => {
                let named = match r {
                    Resolution::Posted { by, .. } | Resolution::Voided { by } | Resolution::Expired { by } => by,
                };
                if named != one {
                    bad(format!("hold {hold}: resolved by {named}, but request {one} resolved it"));
                }
            }
            (_, many) => bad(format!("hold {hold} resolved {} times", many.len())),
        }
    }
    for (id, a) in &ledger.accounts {
        let [d, c] = pending.get(id).copied().unwrap_or_default();
        if a.balance.debits_pending != d || a.balance.credits_pending != c {
            bad(format!("account {id}: pending sums differ from its open holds"));
        }
    }

    // 7.
    for (id, r) in &ledger.reversible {
        let total: u64 = r.legs.iter().map(|l| l.amount).sum();
        if r.reversed > total {
            bad(format!("transaction {id} reversed {} of {total}", r.reversed));
        }
    }
    v
}
