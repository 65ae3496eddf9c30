//! Examples of each rule, then property tests: random request sequences (with retries, reused ids,
//! holds posted, voided and expired, reversals) keep every invariant the auditor knows.

use crate::account::{AccountId, AccountKind, AccountSpec, AccountStatus};
use crate::amount::Currency;
use crate::audit::audit;
use crate::command::{Command, Leg, ReasonCode, Request, TxKind};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use proptest::prelude::*;
use uuid::Uuid;

fn id(kind: AccountKind, name: &str) -> AccountId {
    AccountId::new(kind, name)
}

/// The outside world, Amina's personal wallet and the clinic's revenue.
fn parties() -> (AccountId, AccountId, AccountId) {
    (
        id(AccountKind::Outside, "mpesa"),
        id(AccountKind::Personal, "amina"),
        id(AccountKind::Revenue, "clinic"),
    )
}

fn ledger() -> Ledger {
    let mut l = Ledger::new();
    for (kind, name, currency) in [
        (AccountKind::Outside, "mpesa", Currency::KES),
        (AccountKind::Personal, "amina", Currency::KES),
        (AccountKind::Sponsored, "amina-s1", Currency::KES),
        (AccountKind::Revenue, "clinic", Currency::KES),
        (AccountKind::PlatformFees, "anola", Currency::KES),
        (AccountKind::Receivable, "amina", Currency::KES),
        (AccountKind::Personal, "usd", Currency::USD),
    ] {
        l.open_account(AccountSpec {
            id: id(kind, name),
            kind,
            currency,
        })
        .unwrap();
    }
    l
}

fn leg(d: &AccountId, c: &AccountId, amount: u64) -> Leg {
    Leg {
        debit: d.clone(),
        credit: c.clone(),
        amount,
    }
}

fn transfer(legs: Vec<Leg>) -> Request {
    Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Payment,
            legs,
            hold_until: None,
        },
    }
}

fn run(l: &mut Ledger, r: Request) -> Result<usize, LedgerError> {
    l.execute(r, 1_000).unwrap().outcome.result
}

#[test]
fn a_payment_is_all_or_nothing_and_a_wallet_never_goes_below_zero() {
    let mut l = ledger();
    let (ext, pw, rev, fee) = (
        id(AccountKind::Outside, "mpesa"),
        id(AccountKind::Personal, "amina"),
        id(AccountKind::Revenue, "clinic"),
        id(AccountKind::PlatformFees, "anola"),
    );
    assert_eq!(run(&mut l, transfer(vec![leg(&ext, &pw, 1_000)])), Ok(2));
    // 900 to the clinic and a 200 fee: 1,100 > 1,000, so neither leg happens.
    let r = run(&mut l, transfer(vec![leg(&pw, &rev, 900), leg(&pw, &fee, 200)]));
    assert_eq!(r.unwrap_err().code(), "insufficient_funds");
    assert_eq!(l.account(&rev).unwrap().balance.credits_posted, 0);
    assert_eq!(run(&mut l, transfer(vec![leg(&pw, &rev, 800), leg(&pw, &fee, 200)])), Ok(4));
    assert_eq!(l.account(&pw).unwrap().balance.available(), 0);
    assert!(audit(&l).is_empty(), "{:?}", audit(&l));
}

#[test]
fn a_retry_gets_the_stored_outcome_and_a_changed_body_is_refused() {
    let mut l = ledger();
    let (ext, pw) = (id(AccountKind::Outside, "mpesa"), id(AccountKind::Personal, "amina"));
    let r = transfer(vec![leg(&ext, &pw, 500)]);
    let first = l.execute(r.clone(), 1).unwrap();
    let again = l.execute(r.clone(), 2).unwrap();
    assert!(again.replayed && again.outcome == first.outcome);
    assert_eq!(l.account(&pw).unwrap().balance.credits_posted, 500, "moved once");
    let mut changed = r;
    if let Command::Transfer { legs, .. } = &mut changed.command {
        legs[0].amount = 501;
    }
    assert_eq!(l.execute(changed, 3).unwrap_err().code(), "id_reused");
    // A refusal is stored too: the same request later gets the same refusal, even once funds exist.
    let spend = transfer(vec![leg(&pw, &id(AccountKind::Revenue, "clinic"), 900)]);
    assert_eq!(run(&mut l, spend.clone()).unwrap_err().code(), "insufficient_funds");
    run(&mut l, transfer(vec![leg(&ext, &pw, 1_000)])).unwrap();
    assert_eq!(run(&mut l, spend).unwrap_err().code(), "insufficient_funds");
    assert!(audit(&l).is_empty());
}

#[test]
fn holds_count_against_the_balance_and_resolve_once() {
    let mut l = ledger();
    let (ext, pw, rev) = parties();
    run(&mut l, transfer(vec![leg(&ext, &pw, 1_000)])).unwrap();
    let hold = |amount| Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Payment,
            legs: vec![leg(&pw, &rev, amount)],
            hold_until: Some(5_000),
        },
    };
    let h1 = hold(600);
    run(&mut l, h1.clone()).unwrap();
    // Blnk #181: a second hold beyond what is left is refused.
    assert_eq!(run(&mut l, hold(600)).unwrap_err().code(), "insufficient_funds");
    assert_eq!(
        run(&mut l, transfer(vec![leg(&pw, &rev, 500)])).unwrap_err().code(),
        "insufficient_funds"
    );
    // Posted partly: 450 moves, 150 returns to available.
    let post = Request {
        id: Uuid::now_v7(),
        command: Command::Post {
            hold: h1.id,
            amount: Some(450),
        },
    };
    run(&mut l, post).unwrap();
    assert_eq!(l.account(&pw).unwrap().balance.available(), 550);
    let void = Request {
        id: Uuid::now_v7(),
        command: Command::Void { hold: h1.id },
    };
    assert_eq!(run(&mut l, void).unwrap_err().code(), "hold_resolved");
    // An expired hold cannot be posted, only expired.
    let h2 = hold(100);
    l.execute(h2.clone(), 1_000).unwrap();
    let late = Request {
        id: Uuid::now_v7(),
        command: Command::Post { hold: h2.id, amount: None },
    };
    assert_eq!(l.execute(late, 5_000).unwrap().outcome.result.unwrap_err().code(), "hold_expired");
    let early = Request {
        id: Uuid::now_v7(),
        command: Command::Expire { hold: h2.id },
    };
    assert_eq!(
        l.execute(early, 4_999).unwrap().outcome.result.unwrap_err().code(),
        "hold_not_expired"
    );
    let expire = Request {
        id: Uuid::now_v7(),
        command: Command::Expire { hold: h2.id },
    };
    assert!(l.execute(expire, 5_000).unwrap().outcome.result.is_ok());
    assert_eq!(l.account(&pw).unwrap().balance.available(), 550);
    assert!(audit(&l).is_empty(), "{:?}", audit(&l));
}

#[test]
fn reversals_are_new_transactions_bounded_by_the_original() {
    let mut l = ledger();
    let (ext, pw, rev) = parties();
    run(&mut l, transfer(vec![leg(&ext, &pw, 1_000)])).unwrap();
    let pay = transfer(vec![leg(&pw, &rev, 700)]);
    run(&mut l, pay.clone()).unwrap();
    let refund = |amount| Request {
        id: Uuid::now_v7(),
        command: Command::Reverse {
            of: pay.id,
            amount,
            reason: ReasonCode::ServiceNotGiven,
        },
    };
    run(&mut l, refund(Some(300))).unwrap();
    assert_eq!(run(&mut l, refund(Some(401))).unwrap_err().code(), "reversal_exceeds");
    run(&mut l, refund(Some(400))).unwrap();
    assert_eq!(run(&mut l, refund(Some(1))).unwrap_err().code(), "reversal_exceeds");
    assert_eq!(l.account(&pw).unwrap().balance.available(), 1_000);
    assert!(audit(&l).is_empty(), "{:?}", audit(&l));
}

#[test]
fn bad_requests_have_their_own_codes_and_change_nothing() {
    let mut l = ledger();
    let (ext, pw, usd) = (
        id(AccountKind::Outside, "mpesa"),
        id(AccountKind::Personal, "amina"),
        id(AccountKind::Personal, "usd"),
    );
    let cases: Vec<(Request, &str)> = vec![
        (transfer(vec![leg(&ext, &pw, 0)]), "invalid_amount"),
        (transfer(vec![leg(&ext, &usd, 10)]), "currency_mismatch"),
        (
            transfer(vec![leg(&ext, &id(AccountKind::Personal, "nobody"), 10)]),
            "unknown_account",
        ),
        (transfer(vec![leg(&pw, &pw, 10)]), "same_account"),
        (transfer(vec![]), "leg_count"),
        (transfer(vec![leg(&ext, &pw, u64::MAX), leg(&ext, &pw, 1)]), "overflow"),
    ];
    let before = l.clone();
    for (r, code) in cases {
        assert_eq!(run(&mut l, r).unwrap_err().code(), code);
    }
    assert_eq!((l.accounts.clone(), l.entries.clone()), (before.accounts, before.entries));
    l.set_status(&pw, AccountStatus::Closed).unwrap();
    assert_eq!(
        run(&mut l, transfer(vec![leg(&ext, &pw, 10)])).unwrap_err().code(),
        "account_not_active"
    );
    assert!(audit(&l).is_empty());
}

#[test]
fn limits_bound_each_transaction_day_and_month() {
    use crate::account::{day_and_month, Limits};
    let mut l = ledger();
    let (ext, pw, rev) = parties();
    run(&mut l, transfer(vec![leg(&ext, &pw, 100_000)])).unwrap();
    l.set_limits(
        &pw,
        Limits {
            per_transaction: Some(5_000),
            per_day: Some(8_000),
            per_month: Some(12_000),
        },
    )
    .unwrap();
    let day = 86_400_000i64;
    let jan_30 = 1_769_731_200_000i64; // 2026-01-30T00:00:00Z
    assert_eq!(day_and_month(jan_30).1, 2026 * 12);
    let at = |l: &mut Ledger, ms: i64, amount: u64| l.execute(transfer(vec![leg(&pw, &rev, amount)]), ms).unwrap().outcome.result;
    assert_eq!(at(&mut l, jan_30, 5_001).unwrap_err().code(), "limit_exceeded");
    at(&mut l, jan_30, 5_000).unwrap();
    // Two legs from the same wallet count together.
    let both = transfer(vec![
        leg(&pw, &rev, 2_000),
        leg(&pw, &id(AccountKind::PlatformFees, "anola"), 1_001),
    ]);
    assert_eq!(
        l.execute(both, jan_30).unwrap().outcome.result.unwrap_err().code(),
        "limit_exceeded"
    );
    at(&mut l, jan_30, 3_000).unwrap();
    assert_eq!(at(&mut l, jan_30 + 1, 1).unwrap_err().code(), "limit_exceeded", "the day is spent");
    // Next day: the day resets, the month does not.
    at(&mut l, jan_30 + day, 4_000).unwrap();
    assert_eq!(
        at(&mut l, jan_30 + day, 1).unwrap_err().code(),
        "limit_exceeded",
        "the month is spent"
    );
    // February: a new month.
    at(&mut l, jan_30 + 2 * day, 5_000).unwrap();
    // Money coming in is never limited.
    run(&mut l, transfer(vec![leg(&ext, &pw, 50_000)])).unwrap();
    assert!(audit(&l).is_empty());
}

#[test]
fn the_auditor_sees_a_tampered_entry() {
    let mut l = ledger();
    let (ext, pw) = (id(AccountKind::Outside, "mpesa"), id(AccountKind::Personal, "amina"));
    run(&mut l, transfer(vec![leg(&ext, &pw, 1_000)])).unwrap();
    let mut t = l.clone();
    t.entries[1].amount = 2_000;
    assert!(!audit(&t).is_empty());
    let mut t = l.clone();
    t.accounts.get_mut(&pw).unwrap().balance.credits_posted += 1;
    assert!(!audit(&t).is_empty());
}

/// A random step against a small world of accounts.
#[derive(Debug, Clone)]
enum Step {
    Transfer(Vec<(usize, usize, u64)>),
    Hold(usize, usize, u64, i64),
    Post(usize, Option<u64>),
    Void(usize),
    Expire(usize),
    Reverse(usize, Option<u64>),
    Retry(usize),
    ReuseId(usize),
    Suspend(usize),
    Limit(usize, u64),
    Tick(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let amount = prop_oneof![1u64..2_000, Just(u64::MAX), 0u64..1];
    prop_oneof![
        4 => proptest::collection::vec((0usize..6, 0usize..6, amount.clone()), 1..4).prop_map(Step::Transfer),
        2 => (0usize..6, 0usize..6, 1u64..1_500, 1i64..50).prop_map(|(a, b, n, t)| Step::Hold(a, b, n, t)),
        2 => (0usize..50, proptest::option::of(1u64..1_500)).prop_map(|(h, n)| Step::Post(h, n)),
        1 => (0usize..50).prop_map(Step::Void),
        1 => (0usize..50).prop_map(Step::Expire),
        1 => (0usize..50, proptest::option::of(1u64..1_500)).prop_map(|(t, n)| Step::Reverse(t, n)),
        1 => (0usize..50).prop_map(Step::Retry),
        1 => (0usize..50).prop_map(Step::ReuseId),
        1 => (0usize..6).prop_map(Step::Suspend),
        1 => (0usize..6, 1u64..3_000).prop_map(|(a, n)| Step::Limit(a, n)),
        1 => (1i64..30).prop_map(Step::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_keep_every_invariant(steps in proptest::collection::vec(step(), 1..80)) {
        let mut l = Ledger::new();
        let kinds = [
            AccountKind::Outside,
            AccountKind::Personal,
            AccountKind::Sponsored,
            AccountKind::Revenue,
            AccountKind::Receivable,
            AccountKind::CashDrawer,
        ];
        let accounts: Vec<AccountId> = kinds.iter().enumerate().map(|(i, k)| id(*k, &format!("a{i}"))).collect();
        for (k, a) in kinds.iter().zip(&accounts) {
            l.open_account(AccountSpec { id: a.clone(), kind: *k, currency: Currency::KES }).unwrap();
        }
        let mut now = 0i64;
        let mut sent: Vec<Request> = Vec::new();
        let pick = |sent: &[Request], i: usize| -> Uuid { sent.get(i % sent.len().max(1)).map(|r| r.id).unwrap_or_else(Uuid::now_v7) };
        for s in steps {
            let req = match s {
                Step::Transfer(legs) => Some(transfer(legs.iter().map(|(a, b, n)| leg(&accounts[*a], &accounts[*b], *n)).collect())),
                Step::Hold(a, b, n, t) => Some(Request { id: Uuid::now_v7(), command: Command::Transfer { kind: TxKind::Payment, legs: vec![leg(&accounts[a], &accounts[b], n)], hold_until: Some(now + t) } }),
                Step::Post(h, amount) => Some(Request { id: Uuid::now_v7(), command: Command::Post { hold: pick(&sent, h), amount } }),
                Step::Void(h) => Some(Request { id: Uuid::now_v7(), command: Command::Void { hold: pick(&sent, h) } }),
                Step::Expire(h) => Some(Request { id: Uuid::now_v7(), command: Command::Expire { hold: pick(&sent, h) } }),
                Step::Reverse(t, amount) => Some(Request { id: Uuid::now_v7(), command: Command::Reverse { of: pick(&sent, t), amount, reason: ReasonCode::EnteredInError } }),
                Step::Retry(i) => sent.get(i % sent.len().max(1)).cloned(),
                Step::ReuseId(i) => sent.get(i % sent.len().max(1)).map(|r| Request { id: r.id, command: Command::Void { hold: Uuid::nil() } }),
                Step::Suspend(a) => { let _ = l.set_status(&accounts[a], AccountStatus::Suspended); None }
                Step::Limit(a, n) => {
                    let limits = crate::account::Limits { per_transaction: Some(n), per_day: Some(2 * n), per_month: Some(5 * n) };
                    l.set_limits(&accounts[a], limits).unwrap();
                    None
                }
                Step::Tick(t) => { now += t * 3_600_000; None }
            };
            let Some(req) = req else { continue };
            let before = l.outcomes.get(&req.id).cloned();
            match l.execute(req.clone(), now) {
                Ok(e) => {
                    // A retry answers what the first attempt answered.
                    if let Some(b) = before { prop_assert!(e.replayed); prop_assert_eq!(e.outcome, b); }
                    sent.push(req);
                }
                Err(err) => {
                    prop_assert_eq!(err.code(), "id_reused");
                    prop_assert!(before.is_some());
                }
            }
            let violations = audit(&l);
            prop_assert!(violations.is_empty(), "{:?}", violations);
        }
    }
}
