//! The book's rules by example, and random sequences of book ops that keep every invariant.

use super::*;
use crate::account::{AccountKind, AccountSpec};
use crate::amount::Currency;
use crate::command::{Command, Leg, TxKind};
use proptest::prelude::*;

const DAY: i64 = 86_400_000;

/// Decides and applies `op` the way the server does (and checks they agree, and that the op
/// survives a round trip through JSON as the log stores it).
fn commit(book: &mut Book, op: BookOp, now: i64) -> Result<usize, LedgerError> {
    let json = serde_json::to_string(&op).unwrap();
    let op: BookOp = serde_json::from_str(&json).unwrap();
    let decided = book.decide(&op, now);
    let applied = book.apply(&op, now);
    assert_eq!(decided, applied, "decide and apply disagree on {json}");
    applied
}

fn open(book: &mut Book, kind: AccountKind, name: &str, owner: Option<&str>) -> AccountId {
    let spec = AccountSpec {
        id: AccountId::new(kind, name),
        kind,
        currency: Currency::KES,
    };
    let id = spec.id.clone();
    let op = match owner {
        Some(o) => BookOp::OpenWallet { spec, owner: o.into() },
        None => BookOp::Open { spec },
    };
    commit(book, op, 0).unwrap();
    id
}

fn fund(book: &mut Book, to: &AccountId, amount: u64) {
    let ext = AccountId::new(AccountKind::Outside, "mobile-KES");
    if book.ledger.account(&ext).is_none() {
        open(book, AccountKind::Outside, "mobile-KES", None);
    }
    let request = Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Deposit,
            legs: vec![Leg {
                debit: ext,
                credit: to.clone(),
                amount,
            }],
            hold_until: None,
        },
    };
    commit(book, BookOp::Request { request }, 0).unwrap();
}

/// A clinic with a GP consultation (1,000.00) and a malaria test (250.00), a 1.5 % fee, and
/// patient amina with a sponsored wallet of 300.00 and a personal wallet of 500.00.
fn clinic() -> Book {
    let mut b = Book::new();
    for (code, price) in [("CONS-GP", 100_000), ("LAB-MAL", 25_000)] {
        let item = PriceItem {
            code: code.into(),
            name: code.into(),
            kind: ItemKind::Consultation,
            service: None,
            price,
            currency: Currency::KES,
            active: true,
        };
        commit(&mut b, BookOp::Price { item }, 0).unwrap();
    }
    commit(&mut b, BookOp::FeeRate { bps: 150 }, 0).unwrap();
    let sw = open(&mut b, AccountKind::Sponsored, "s1", Some("amina"));
    let pw = open(&mut b, AccountKind::Personal, "amina", Some("amina"));
    fund(&mut b, &sw, 30_000);
    fund(&mut b, &pw, 50_000);
    b
}

fn ensure(book: &mut Book, accounts: Vec<(AccountId, AccountKind)>) {
    for (id, kind) in accounts {
        if book.ledger.account(&id).is_none() {
            commit(
                book,
                BookOp::Open {
                    spec: AccountSpec {
                        id,
                        kind,
                        currency: Currency::KES,
                    },
                },
                0,
            )
            .unwrap();
        }
    }
}

fn bill(id: Uuid, desk: Desk, desk_amount: u64, consent: bool) -> ChargeInput {
    ChargeInput {
        id,
        patient: "amina".into(),
        clinic: "c1".into(),
        lines: vec![Line {
            item: "CONS-GP".into(),
            quantity: 1,
            unit_price: 100_000,
        }],
        desk,
        desk_amount,
        personal_consent: consent,
        visit: None,
        offline: None,
        staff: "fd".into(),
        provider: None,
        diagnoses: Vec::new(),
        pre_approval: None,
    }
}

fn charge(book: &mut Book, input: ChargeInput, now: i64) -> Result<Receipt, LedgerError> {
    ensure(book, Book::charge_accounts(&input, Currency::KES));
    let prepared = book.prepare_charge(input.clone(), now)?;
    commit(
        book,
        BookOp::Charge {
            prepared: Box::new(prepared),
        },
        now,
    )?;
    Ok(book.receipts[&input.id].clone())
}

fn available(book: &Book, id: &AccountId) -> i128 {
    let a = book.ledger.account(id).unwrap();
    a.balance.available_as(a.spec.kind)
}

fn clean(book: &Book) {
    let v = audit_book(book);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn a_bill_is_paid_sponsored_first_then_personal_then_at_the_desk() {
    let mut b = clinic();
    let cash = Desk::Cash { drawer: "fd".into() };
    let r = charge(&mut b, bill(Uuid::now_v7(), cash, 20_000, true), 0).unwrap();
    let got: Vec<(Source, u64)> = r.parts.iter().map(|p| (p.source, p.amount)).collect();
    assert_eq!(
        got,
        vec![(Source::Sponsored, 30_000), (Source::Personal, 50_000), (Source::Cash, 20_000)]
    );
    assert_eq!(r.fee, 1_500);
    assert_eq!(available(&b, &charge::revenue("c1")), 98_500);
    assert_eq!(available(&b, &charge::fees(Currency::KES)), 1_500);
    assert_eq!(available(&b, &charge::drawer("fd")), 20_000, "the drawer holds the cash taken");
    clean(&b);
}

#[test]
fn personal_funds_are_untouched_without_consent_and_a_stale_quote_is_refused() {
    let mut b = clinic();
    let cash = Desk::Cash { drawer: "fd".into() };
    let e = charge(&mut b, bill(Uuid::now_v7(), cash.clone(), 20_000, false), 0).unwrap_err();
    assert_eq!(
        e,
        LedgerError::QuoteChanged {
            desk_amount: 70_000,
            quoted: 20_000
        }
    );
    let r = charge(&mut b, bill(Uuid::now_v7(), cash, 70_000, false), 0).unwrap();
    assert!(r.parts.iter().all(|p| p.source != Source::Personal));
    assert_eq!(available(&b, &charge::personal("amina")), 50_000);
    clean(&b);
}

#[test]
fn prices_are_the_lists_and_one_currency() {
    let mut b = clinic();
    let mut i = bill(Uuid::now_v7(), Desk::Owed, 0, true);
    i.lines[0].unit_price = 90_000;
    assert_eq!(charge(&mut b, i.clone(), 0).unwrap_err().code(), "price_changed");
    i.lines[0].item = "NOPE".into();
    assert_eq!(charge(&mut b, i.clone(), 0).unwrap_err().code(), "unknown_item");
    i.lines.clear();
    assert_eq!(charge(&mut b, i, 0).unwrap_err().code(), "invalid_input");
    let item = PriceItem {
        code: "USD-X".into(),
        name: "x".into(),
        kind: ItemKind::Procedure,
        service: None,
        price: 5,
        currency: Currency::USD,
        active: true,
    };
    commit(&mut b, BookOp::Price { item }, 0).unwrap();
    let mut i = bill(Uuid::now_v7(), Desk::Owed, 0, true);
    i.lines.push(Line {
        item: "USD-X".into(),
        quantity: 1,
        unit_price: 5,
    });
    assert_eq!(charge(&mut b, i, 0).unwrap_err().code(), "currency_mismatch");
    clean(&b);
}

#[test]
fn a_retried_charge_gets_its_receipt_and_a_changed_body_is_refused() {
    let mut b = clinic();
    let i = bill(Uuid::now_v7(), Desk::Cash { drawer: "fd".into() }, 20_000, true);
    let r = charge(&mut b, i.clone(), 0).unwrap();
    assert_eq!(b.known_charge(&i), Some(Ok(&r)));
    let mut other = i.clone();
    other.desk_amount = 1;
    assert_eq!(b.known_charge(&other).unwrap().unwrap_err().code(), "id_reused");
    // Committing the same charge again (a second process that missed it) is refused whole.
    let again = b.prepare_charge(bill(i.id, Desk::Owed, 100_000, false), 0).unwrap();
    let e = commit(&mut b, BookOp::Charge { prepared: Box::new(again) }, 0).unwrap_err();
    assert_eq!(e.code(), "id_reused");
    clean(&b);
}

#[test]
fn a_refund_sends_each_part_back_and_needs_the_cash_in_the_drawer() {
    let mut b = clinic();
    let i = bill(Uuid::now_v7(), Desk::Cash { drawer: "fd".into() }, 20_000, true);
    charge(&mut b, i.clone(), 0).unwrap();
    // The day closes: the cash goes to the bank, the drawer is empty.
    let close = CloseInput {
        id: Uuid::now_v7(),
        drawer: "fd".into(),
        counted: 20_000,
        note: String::new(),
        staff: "fd".into(),
    };
    let (c, req) = b.prepare_close(close).unwrap();
    ensure(&mut b, vec![(till::bank(Currency::KES), AccountKind::Outside)]);
    commit(&mut b, BookOp::Close { close: c, request: req }, 0).unwrap();
    let refund = RefundInput {
        id: Uuid::now_v7(),
        charge: i.id,
        reason: ReasonCode::ServiceNotGiven,
        staff: "admin".into(),
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    let e = commit(
        &mut b,
        BookOp::Refund {
            refund: refund.clone(),
            request,
            extra,
        },
        0,
    )
    .unwrap_err();
    assert_eq!(e.code(), "insufficient_funds", "no cash to hand back: nothing refunded");
    assert_eq!(available(&b, &charge::personal("amina")), 0);
    // Cash comes in again (a deposit to another wallet); now the refund goes through.
    let other = open(&mut b, AccountKind::Personal, "baraka", Some("baraka"));
    let dep = Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Deposit,
            legs: vec![Leg {
                debit: charge::drawer("fd"),
                credit: other,
                amount: 25_000,
            }],
            hold_until: None,
        },
    };
    commit(&mut b, BookOp::Request { request: dep }, 0).unwrap();
    let refund = RefundInput {
        id: Uuid::now_v7(),
        ..refund
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    commit(
        &mut b,
        BookOp::Refund {
            refund: refund.clone(),
            request: request.clone(),
            extra: extra.clone(),
        },
        0,
    )
    .unwrap();
    assert_eq!(available(&b, &charge::personal("amina")), 50_000);
    assert_eq!(available(&b, &b.sponsored_wallets("amina")[0]), 30_000);
    assert_eq!(available(&b, &charge::drawer("fd")), 5_000);
    assert_eq!(b.receipts[&i.id].refunds, vec![(refund.id, 100_000)]);
    // A second refund of the same charge is refused.
    let again = RefundInput {
        id: Uuid::now_v7(),
        ..refund
    };
    let (request, extra) = b.prepare_refund(&again).unwrap();
    assert_eq!(
        commit(
            &mut b,
            BookOp::Refund {
                refund: again,
                request,
                extra
            },
            0
        )
        .unwrap_err()
        .code(),
        "reversal_exceeds"
    );
    clean(&b);
}

fn reserve(b: &mut Book, wallet: &AccountId, device: &str, total: u64, per_charge: u64, count: u32, now: i64) -> Result<Uuid, LedgerError> {
    let spec = AllowanceSpec {
        id: Uuid::now_v7(),
        patient: "amina".into(),
        wallet: wallet.clone(),
        device: device.into(),
        total,
        per_charge,
        max_count: count,
        expires_at: now + DAY,
    };
    let (spec, request) = b.prepare_reserve(spec, now)?;
    ensure(b, vec![(allowance::account(spec.id), AccountKind::Allowance)]);
    let id = spec.id;
    commit(b, BookOp::Reserve { allowance: spec, request }, now)?;
    Ok(id)
}

fn offline_bill(device: &str, uses: Vec<(Uuid, u64)>, cash: u64, quantity: u32) -> ChargeInput {
    let mut i = bill(Uuid::now_v7(), Desk::Cash { drawer: "fw".into() }, cash, false);
    i.lines[0].quantity = quantity;
    i.offline = Some(Offline {
        device: device.into(),
        made_at: 5,
        allowances: uses
            .into_iter()
            .map(|(allowance, amount)| charge::AllowanceUse { allowance, amount })
            .collect(),
    });
    i
}

#[test]
fn two_offline_devices_spend_only_their_allowances_and_the_rest_is_owed() {
    let mut b = clinic();
    let pw = charge::personal("amina");
    // Two devices each take 400.00 of the personal wallet's 500.00: the second gets only 100.00.
    let a1 = reserve(&mut b, &pw, "dev-1", 40_000, 40_000, 2, 0).unwrap();
    let a2 = reserve(&mut b, &pw, "dev-2", 40_000, 40_000, 2, 0).unwrap();
    assert_eq!(b.allowances[&a2].reserved, 10_000);
    assert_eq!(available(&b, &pw), 0);
    // Offline, each device charges a full consultation against its allowance.
    let r1 = charge(&mut b, offline_bill("dev-1", vec![(a1, 40_000)], 60_000, 1), 10).unwrap();
    // dev-2 claims more than its allowance holds (a buggy or tampered device): the rest is owed.
    let r2 = charge(&mut b, offline_bill("dev-2", vec![(a2, 40_000)], 0, 1), 10).unwrap();
    assert_eq!(
        r1.parts.iter().map(|p| (p.source, p.amount)).collect::<Vec<_>>(),
        vec![(Source::Allowance, 40_000), (Source::Cash, 60_000)]
    );
    assert_eq!(
        r2.parts.iter().map(|p| (p.source, p.amount)).collect::<Vec<_>>(),
        vec![(Source::Allowance, 10_000), (Source::Owed, 90_000)]
    );
    // A device cannot spend another's allowance.
    let r3 = charge(&mut b, offline_bill("dev-2", vec![(a1, 10_000)], 0, 1), 10).unwrap();
    assert_eq!(r3.parts[0].source, Source::Owed);
    // Nothing is below zero; the receivable shows what amina owes.
    assert_eq!(available(&b, &pw), 0);
    assert_eq!(available(&b, &charge::receivable("amina")), -190_000);
    clean(&b);
}

#[test]
fn an_allowance_keeps_its_caps_and_returns_the_rest_once() {
    let mut b = clinic();
    let sw = b.sponsored_wallets("amina")[0].clone();
    let a = reserve(&mut b, &sw, "dev-1", 30_000, 10_000, 2, 0).unwrap();
    let mut i = offline_bill("dev-1", vec![(a, 25_000)], 0, 1);
    i.lines[0].item = "LAB-MAL".into();
    i.lines[0].unit_price = 25_000;
    let r = charge(&mut b, i, 1).unwrap();
    assert_eq!(r.parts[0].amount, 10_000, "the per-charge cap");
    let mut i = offline_bill("dev-1", vec![(a, 10_000)], 0, 1);
    i.lines[0].item = "LAB-MAL".into();
    i.lines[0].unit_price = 25_000;
    charge(&mut b, i.clone(), 2).unwrap();
    i.id = Uuid::now_v7();
    let r = charge(&mut b, i, 3).unwrap();
    assert_eq!(r.parts[0].source, Source::Owed, "the count is used up");
    assert_eq!(b.expired_allowances(DAY, 10), vec![a]);
    let req = b.prepare_return(a).unwrap();
    commit(
        &mut b,
        BookOp::Return {
            allowance: a,
            request: req,
        },
        DAY,
    )
    .unwrap();
    assert_eq!(available(&b, &sw), 10_000);
    assert!(b.expired_allowances(DAY, 10).is_empty());
    assert_eq!(b.prepare_return(a).unwrap_err().code(), "allowance_returned");
    clean(&b);
}

#[test]
fn money_refunded_into_an_allowance_is_spent_again_within_its_caps() {
    let mut b = clinic();
    let sw = b.sponsored_wallets("amina")[0].clone();
    let a = reserve(&mut b, &sw, "dev-1", 30_000, 25_000, 3, 0).unwrap();
    let lab = |b: &mut Book, claim: u64| {
        let mut i = offline_bill("dev-1", vec![(a, claim)], 0, 1);
        i.lines[0].item = "LAB-MAL".into();
        i.lines[0].unit_price = 25_000;
        charge(b, i, 1).unwrap()
    };
    let first = lab(&mut b, 25_000);
    let refund = RefundInput {
        id: Uuid::now_v7(),
        charge: first.id,
        reason: ReasonCode::ServiceNotGiven,
        staff: "admin".into(),
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    commit(&mut b, BookOp::Refund { refund, request, extra }, 2).unwrap();
    assert_eq!(b.allowances[&a].refunded, 25_000);
    // Spent 25,000 of 30,000 reserved, then 25,000 came back: two more charges fit, and the
    // allowance has paid more than it reserved without ever holding less than zero.
    assert_eq!(lab(&mut b, 25_000).parts[0].amount, 25_000);
    assert_eq!(lab(&mut b, 25_000).parts[0].amount, 5_000);
    assert_eq!(lab(&mut b, 25_000).parts[0].source, Source::Owed, "the count is used up");
    clean(&b);
    // An allowance named twice in one charge is refused whole.
    let mut twice = offline_bill("dev-1", vec![(a, 1), (a, 1)], 0, 1);
    twice.lines[0].item = "LAB-MAL".into();
    twice.lines[0].unit_price = 25_000;
    assert_eq!(b.prepare_charge(twice, 3).unwrap_err().code(), "invalid_input");
}

#[test]
fn an_offline_charge_never_bills_above_any_price_the_item_had() {
    let mut b = clinic();
    let mut i = offline_bill("dev-1", vec![], 0, 1);
    i.lines[0].unit_price = 100_001;
    assert_eq!(b.prepare_charge(i.clone(), 0).unwrap_err().code(), "price_changed");
    // The price drops: a device with the old list still bills the old (higher) price.
    let item = PriceItem {
        code: "CONS-GP".into(),
        name: "CONS-GP".into(),
        kind: ItemKind::Consultation,
        service: None,
        price: 80_000,
        currency: Currency::KES,
        active: true,
    };
    commit(&mut b, BookOp::Price { item }, 0).unwrap();
    i.lines[0].unit_price = 100_000;
    assert!(b.prepare_charge(i, 0).is_ok());
}

#[test]
fn a_withdrawal_waits_for_a_decision_and_its_money_cannot_be_spent_meanwhile() {
    let mut b = clinic();
    let pw = charge::personal("amina");
    let w = WithdrawalInput {
        id: Uuid::now_v7(),
        wallet: pw.clone(),
        amount: 40_000,
        to: "+254700000000".into(),
        requested_by: "amina".into(),
    };
    let (_, request) = b.prepare_withdrawal(&w, 0).unwrap();
    ensure(&mut b, vec![(withdrawal::payouts(Currency::KES), AccountKind::Outside)]);
    commit(
        &mut b,
        BookOp::Withdraw {
            withdrawal: w.clone(),
            request,
        },
        0,
    )
    .unwrap();
    assert_eq!(available(&b, &pw), 10_000);
    let e = charge(&mut b, bill(Uuid::now_v7(), Desk::Owed, 60_000, true), 0).unwrap();
    assert_eq!(e.parts[1].amount, 10_000, "only what the withdrawal does not hold");
    let request = b.prepare_decision(w.id, false).unwrap();
    commit(
        &mut b,
        BookOp::Decide {
            withdrawal: w.id,
            approve: false,
            by: "admin".into(),
            request,
        },
        0,
    )
    .unwrap();
    assert_eq!(available(&b, &pw), 40_000);
    assert_eq!(b.prepare_decision(w.id, true).unwrap_err().code(), "hold_resolved");
    clean(&b);
}

#[test]
fn a_day_close_records_the_difference() {
    let mut b = clinic();
    charge(&mut b, bill(Uuid::now_v7(), Desk::Cash { drawer: "fd".into() }, 20_000, true), 0).unwrap();
    ensure(
        &mut b,
        vec![
            (till::bank(Currency::KES), AccountKind::Outside),
            (till::shortage("fd"), AccountKind::Receivable),
        ],
    );
    let (c, req) = b
        .prepare_close(CloseInput {
            id: Uuid::now_v7(),
            drawer: "fd".into(),
            counted: 19_000,
            note: "short".into(),
            staff: "fd".into(),
        })
        .unwrap();
    assert_eq!((c.expected, c.difference), (20_000, -1_000));
    commit(&mut b, BookOp::Close { close: c, request: req }, 0).unwrap();
    assert_eq!(available(&b, &charge::drawer("fd")), 0);
    assert_eq!(available(&b, &till::shortage("fd")), -1_000);
    clean(&b);
}

#[test]
fn pins_lock_after_five_wrong_entries() {
    let mut b = Book::new();
    assert_eq!(
        commit(&mut b, BookOp::PinFailed { patient: "p".into() }, 0).unwrap_err(),
        LedgerError::PinNotSet
    );
    commit(
        &mut b,
        BookOp::Pin {
            patient: "p".into(),
            verifier: "v".into(),
        },
        0,
    )
    .unwrap();
    for _ in 0..PIN_ATTEMPTS {
        assert!(!b.pins["p"].locked());
        commit(&mut b, BookOp::PinFailed { patient: "p".into() }, 0).unwrap();
    }
    assert!(b.pins["p"].locked());
    commit(
        &mut b,
        BookOp::Pin {
            patient: "p".into(),
            verifier: "w".into(),
        },
        0,
    )
    .unwrap();
    assert!(!b.pins["p"].locked());
}

#[derive(Debug, Clone)]
enum Step {
    Online {
        consent: bool,
        quantity: u32,
        owed: bool,
    },
    Reserve {
        device: u8,
        wallet: bool,
        total: u64,
        per: u64,
        count: u32,
    },
    Offline {
        device: u8,
        pick: usize,
        claim: u64,
        cash: u64,
        quantity: u32,
    },
    Refund {
        pick: usize,
    },
    Return {
        pick: usize,
    },
    Deposit {
        amount: u64,
    },
    Close {
        counted: u64,
    },
    Tick,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<bool>(), 1u32..4, any::<bool>()).prop_map(|(consent, quantity, owed)| Step::Online { consent, quantity, owed }),
        (0u8..3, any::<bool>(), 1u64..80_000, 1u64..50_000, 1u32..4).prop_map(|(device, wallet, total, per, count)| Step::Reserve {
            device,
            wallet,
            total,
            per,
            count
        }),
        (0u8..3, any::<usize>(), 0u64..120_000, 0u64..50_000, 1u32..3).prop_map(|(device, pick, claim, cash, quantity)| Step::Offline {
            device,
            pick,
            claim,
            cash,
            quantity
        }),
        any::<usize>().prop_map(|pick| Step::Refund { pick }),
        any::<usize>().prop_map(|pick| Step::Return { pick }),
        (1u64..100_000).prop_map(|amount| Step::Deposit { amount }),
        (0u64..200_000).prop_map(|counted| Step::Close { counted }),
        Just(Step::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever happens — online and offline charges on several devices, refunds, returns,
    /// deposits, day-closes, expiries — every invariant of the ledger and the book holds after
    /// every step, and every refusal changes nothing.
    #[test]
    fn random_days_keep_every_invariant(steps in proptest::collection::vec(step(), 1..60)) {
        let mut b = clinic();
        let mut now = 0i64;
        let mut charges: Vec<Uuid> = Vec::new();
        let mut allowances: Vec<(Uuid, String)> = Vec::new();
        for s in steps {
            let before = b.clone();
            let result: Result<(), LedgerError> = match s {
                Step::Online { consent, quantity, owed } => {
                    let mut i = bill(Uuid::now_v7(), if owed { Desk::Owed } else { Desk::Cash { drawer: "fd".into() } }, 0, consent);
                    i.lines[0].quantity = quantity;
                    ensure(&mut b, Book::charge_accounts(&i, Currency::KES));
                    // Quote, then pay what the quote says at the desk.
                    match b.prepare_charge(i.clone(), now) {
                        Err(LedgerError::QuoteChanged { desk_amount, .. }) => {
                            i.desk_amount = desk_amount;
                            charge(&mut b, i.clone(), now).map(|_| charges.push(i.id))
                        }
                        other => other.map(|_| ()),
                    }
                }
                Step::Reserve { device, wallet, total, per, count } => {
                    let w = if wallet { charge::personal("amina") } else { b.sponsored_wallets("amina")[0].clone() };
                    reserve(&mut b, &w, &format!("dev-{device}"), total, per.min(total), count, now).map(|id| allowances.push((id, format!("dev-{device}"))))
                }
                Step::Offline { device, pick, claim, cash, quantity } => {
                    let uses = allowances.get(pick % allowances.len().max(1)).map(|(a, _)| vec![(*a, claim)]).unwrap_or_default();
                    let i = offline_bill(&format!("dev-{device}"), uses, cash, quantity);
                    ensure(&mut b, Book::charge_accounts(&i, Currency::KES));
                    charge(&mut b, i.clone(), now).map(|_| charges.push(i.id))
                }
                Step::Refund { pick } => match charges.get(pick % charges.len().max(1)) {
                    None => Ok(()),
                    Some(c) => {
                        let refund = RefundInput { id: Uuid::now_v7(), charge: *c, reason: ReasonCode::PatientRequest, staff: "a".into() };
                        let (request, extra) = b.prepare_refund(&refund).unwrap();
                        commit(&mut b, BookOp::Refund { refund, request, extra }, now).map(|_| ())
                    }
                },
                Step::Return { pick } => match allowances.get(pick % allowances.len().max(1)) {
                    None => Ok(()),
                    Some((a, _)) => b.prepare_return(*a).and_then(|request| commit(&mut b, BookOp::Return { allowance: *a, request }, now).map(|_| ())),
                },
                Step::Deposit { amount } => {
                    let pw = charge::personal("amina");
                    ensure(&mut b, vec![(charge::drawer("fd"), AccountKind::CashDrawer)]);
                    let request = Request { id: Uuid::now_v7(), command: Command::Transfer { kind: TxKind::Deposit, legs: vec![Leg { debit: charge::drawer("fd"), credit: pw, amount }], hold_until: None } };
                    commit(&mut b, BookOp::Request { request }, now).map(|_| ())
                }
                Step::Close { counted } => {
                    ensure(&mut b, vec![(charge::drawer("fd"), AccountKind::CashDrawer), (till::bank(Currency::KES), AccountKind::Outside), (till::shortage("fd"), AccountKind::Receivable), (till::overage(Currency::KES), AccountKind::Outside)]);
                    let input = CloseInput { id: Uuid::now_v7(), drawer: "fd".into(), counted, note: String::new(), staff: "fd".into() };
                    b.prepare_close(input).and_then(|(close, request)| commit(&mut b, BookOp::Close { close, request }, now).map(|_| ()))
                }
                Step::Tick => {
                    now += DAY / 2;
                    for a in b.expired_allowances(now, 100) {
                        let request = b.prepare_return(a).unwrap();
                        commit(&mut b, BookOp::Return { allowance: a, request }, now).unwrap();
                    }
                    Ok(())
                }
            };
            if result.is_err() {
                // Refusals change no money (opening the accounts a step needs is not money).
                for (id, a) in &before.ledger.accounts {
                    prop_assert_eq!(&b.ledger.accounts[id].balance, &a.balance);
                }
                prop_assert_eq!(before.receipts.len(), b.receipts.len());
            }
            let v = audit_book(&b);
            prop_assert!(v.is_empty(), "{:?}", v);
        }
    }
}
