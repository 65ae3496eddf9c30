//! Helpers shared by the sponsorship tests and benchmark: a book with a price list, a funded
//! sponsor and one sponsorship, and charging the way the server does.

#![allow(dead_code)]

use super::*;
use crate::account::{AccountKind, AccountSpec};
use crate::amount::Currency;
use crate::book::charge;
use crate::book::{audit_book, BookOp, ChargeInput, Desk, ItemKind, Line, PriceItem};
use crate::error::LedgerError;

pub const DAY: i64 = rules::DAY_MS;
/// 2027-01-01T00:00:00Z.
pub const JAN: i64 = 1_798_761_600_000;

pub fn commit(book: &mut Book, op: BookOp, now: i64) -> Result<usize, LedgerError> {
    let json = serde_json::to_string(&op).unwrap();
    let op: BookOp = serde_json::from_str(&json).unwrap();
    let decided = book.decide(&op, now);
    let applied = book.apply(&op, now);
    assert_eq!(decided, applied, "decide and apply disagree on {json}");
    applied
}

pub fn sop(book: &mut Book, op: SponsorOp, now: i64) -> Result<usize, LedgerError> {
    commit(book, BookOp::Sponsor { op: Box::new(op) }, now)
}

pub fn open(book: &mut Book, id: AccountId, kind: AccountKind, owner: Option<&str>) {
    if book.ledger.account(&id).is_some() {
        return;
    }
    let spec = AccountSpec {
        id,
        kind,
        currency: Currency::KES,
    };
    let op = match owner {
        Some(o) => BookOp::OpenWallet { spec, owner: o.into() },
        None => BookOp::Open { spec },
    };
    commit(book, op, 0).unwrap();
}

pub fn clean(b: &Book) {
    let v = audit_book(b);
    assert!(v.is_empty(), "{v:?}");
}

pub fn available(b: &Book, id: &AccountId) -> i128 {
    b.ledger.account(id).unwrap().balance.available()
}

/// A clinic's price list, sponsor "hope" with 10,000.00 deposited, and a sponsorship of
/// 1,000.00 for amina shaped by `caps` and `coverage`, active from JAN for 60 days.
pub fn setup(coverage: Coverage, caps: Caps) -> (Book, Uuid) {
    let mut b = Book::new();
    for (code, kind, price) in [
        ("CONS-GP", ItemKind::Consultation, 100_000),
        ("LAB-MAL", ItemKind::LabTest, 25_000),
        ("SURG", ItemKind::Procedure, 100_000),
    ] {
        let item = PriceItem {
            code: code.into(),
            name: code.into(),
            kind,
            service: None,
            price,
            currency: Currency::KES,
            active: true,
        };
        commit(&mut b, BookOp::Price { item }, 0).unwrap();
    }
    let sponsor = Sponsor {
        id: "hope".into(),
        name: "Hope Foundation".into(),
        kind: SponsorKind::Foundation,
        country: "KE".into(),
        currency: Currency::KES,
        anonymous: false,
        preferences: Default::default(),
        reports: Default::default(),
        delegates: vec![],
    };
    sop(&mut b, SponsorOp::Profile { sponsor }, 0).unwrap();
    open(&mut b, global_wallet("hope"), AccountKind::SponsorGlobal, Some("hope"));
    open(&mut b, ops::bank(Currency::KES), AccountKind::Outside, None);
    let dep = b.prepare_sponsor_deposit(Uuid::now_v7(), "hope", 1_000_000, "BANK-1").unwrap();
    sop(&mut b, dep, 0).unwrap();
    let id = Uuid::now_v7();
    open(&mut b, sponsored_wallet(id), AccountKind::Sponsored, Some("amina"));
    let spec = SponsorshipSpec {
        id,
        sponsor: "hope".into(),
        patient: "amina".into(),
        programme: "Malaria 2027".into(),
        programme_id: None,
        country: "KE".into(),
        kind: SponsorshipKind::Partial,
        allocation: 100_000,
        starts_at: JAN,
        ends_at: JAN + 60 * DAY,
        recurrence: Recurrence::OneTime,
        max_renewals: 0,
        coverage,
        caps,
        note: String::new(),
    };
    let currency = b.validate_sponsorship(&spec, JAN).unwrap();
    sop(
        &mut b,
        SponsorOp::Create {
            spec,
            currency,
            by: "hope".into(),
        },
        JAN,
    )
    .unwrap();
    let act = b.prepare_status(id, Status::Active, "hope", "", JAN).unwrap();
    sop(&mut b, act, JAN).unwrap();
    for (acc, kind) in [
        (charge::revenue("c1"), AccountKind::Revenue),
        (charge::fees(Currency::KES), AccountKind::PlatformFees),
        (charge::receivable("amina"), AccountKind::Receivable),
        (charge::drawer("fd"), AccountKind::CashDrawer),
    ] {
        open(&mut b, acc, kind, None);
    }
    (b, id)
}

pub fn bill(lines: &[(&str, u64)], desk_amount: u64) -> ChargeInput {
    ChargeInput {
        id: Uuid::now_v7(),
        patient: "amina".into(),
        clinic: "c1".into(),
        lines: lines
            .iter()
            .map(|(item, price)| Line {
                item: (*item).into(),
                quantity: 1,
                unit_price: *price,
            })
            .collect(),
        desk: Desk::Owed,
        desk_amount,
        personal_consent: false,
        visit: None,
        offline: None,
        staff: "fd".into(),
        provider: Some("prov-1".into()),
        diagnoses: vec!["B50.9".into()],
        pre_approval: None,
    }
}

/// Charges online: quotes first (as the desk does), then commits.
pub fn charge_now(b: &mut Book, mut input: ChargeInput, now: i64) -> crate::book::Receipt {
    input.desk_amount = match b.prepare_charge(input.clone(), now) {
        Err(LedgerError::QuoteChanged { desk_amount, .. }) => desk_amount,
        Ok(p) => p.input.desk_amount,
        Err(e) => panic!("{e}"),
    };
    let id = input.id;
    let prepared = b.prepare_charge(input, now).unwrap();
    commit(
        b,
        BookOp::Charge {
            prepared: Box::new(prepared),
        },
        now,
    )
    .unwrap();
    b.receipts[&id].clone()
}
