//! Sponsorship in the book, by example: ring-fenced coverage, caps under offline allowances,
//! pre-approval holds, expiry and renewal, and the report against the ledger.

use super::tests_support::*;
use super::*;
use crate::account::AccountKind;
use crate::book::charge::AllowanceUse;
use crate::book::{AllowanceSpec, BookOp, Line, Offline, RefundInput, Source};
use crate::command::ReasonCode;
use crate::error::LedgerError;

fn sponsored(r: &crate::book::Receipt) -> u64 {
    r.parts
        .iter()
        .filter(|p| matches!(p.source, Source::Sponsored | Source::PreApproved | Source::Allowance))
        .map(|p| p.amount)
        .sum()
}

#[test]
fn a_narrow_sponsorship_pays_only_the_covered_part_and_says_why() {
    let (mut b, id) = setup(
        Coverage {
            services: vec!["lab_test".into()],
            ..Default::default()
        },
        Caps {
            co_payment_bps: 1_000,
            ..Default::default()
        },
    );
    let r = charge_now(&mut b, bill(&[("CONS-GP", 100_000), ("LAB-MAL", 25_000)], 0), JAN + DAY);
    assert_eq!(sponsored(&r), 22_500, "90 % of the lab test, nothing of the consultation");
    let answer = &r.coverage[0].answer;
    assert_eq!(answer.lines[0].reasons, vec![Reason::ServiceNotCovered]);
    assert_eq!(answer.lines[1].reasons, vec![Reason::CoPayment]);
    assert_eq!(r.parts.last().unwrap().source, Source::Owed);
    assert_eq!(b.sponsorships[&id].usage[&month_of(JAN + DAY)].spent, 22_500);
    let report = b.sponsor_report("hope").unwrap();
    assert_eq!((report.spent, report.allocated, report.difference), (22_500, 100_000, 0));
    assert_eq!(
        report.by_category,
        vec![report::Bucket {
            key: "lab_test".into(),
            amount: 22_500
        }]
    );
    assert_eq!(report.patients_reached, 1);
    clean(&b);
}

#[test]
fn two_offline_devices_never_take_a_sponsorship_past_its_month_caps() {
    let caps = Caps {
        per_transaction: Some(20_000),
        per_period: Some(30_000),
        charges_per_period: Some(3),
        ..Default::default()
    };
    let (mut b, id) = setup(Coverage::default(), caps);
    let sw = sponsored_wallet(id);
    let now = JAN + DAY;
    let reserve = |b: &mut Book, device: &str, total: u64, count: u32| -> Result<Uuid, LedgerError> {
        let spec = AllowanceSpec {
            id: Uuid::now_v7(),
            patient: "amina".into(),
            wallet: sw.clone(),
            device: device.into(),
            total,
            per_charge: total,
            max_count: count,
            expires_at: now + 5 * DAY,
        };
        let acc = crate::book::allowance::account(spec.id);
        open(b, acc, AccountKind::Allowance, None);
        let (allowance, request) = b.prepare_reserve(spec, now)?;
        let id = allowance.id;
        commit(b, BookOp::Reserve { allowance, request }, now)?;
        Ok(id)
    };
    // Each device asks for 50,000 and 5 charges: the first gets the month's 30,000 and 3, the
    // second gets nothing (the caps are reserved already).
    let a1 = reserve(&mut b, "dev-1", 50_000, 5).unwrap();
    assert_eq!(
        (
            b.allowances[&a1].reserved,
            b.allowances[&a1].spec.max_count,
            b.allowances[&a1].spec.per_charge
        ),
        (30_000, 3, 20_000)
    );
    assert_eq!(reserve(&mut b, "dev-2", 50_000, 5).unwrap_err().code(), "limit_exceeded");
    // Online, the month's room is gone too: the sponsorship pays nothing now.
    let r = charge_now(&mut b, bill(&[("LAB-MAL", 25_000)], 0), now);
    assert_eq!(sponsored(&r), 0);
    assert_eq!(r.coverage[0].answer.lines[0].reasons, vec![Reason::FrequencyLimit]);
    // dev-1 charges offline four times, claiming more than its caps each time.
    for _ in 0..4 {
        let mut i = bill(&[("CONS-GP", 100_000)], 0);
        i.offline = Some(Offline {
            device: "dev-1".into(),
            made_at: now + 1,
            allowances: vec![AllowanceUse {
                allowance: a1,
                amount: 100_000,
            }],
        });
        let prepared = b.prepare_charge(i, now + 2).unwrap();
        commit(
            &mut b,
            BookOp::Charge {
                prepared: Box::new(prepared),
            },
            now + 2,
        )
        .unwrap();
    }
    let u = b.sponsorships[&id].usage[&month_of(now)];
    assert_eq!((u.spent, u.charges), (30_000, 2), "20,000 then 10,000; then nothing left");
    assert!(u.spent <= 30_000 && u.charges <= 3);
    assert_eq!(available(&b, &sw), 70_000);
    clean(&b);
}

#[test]
fn a_pre_approval_holds_funds_posts_once_and_an_unused_one_expires() {
    let caps = Caps {
        pre_approval_above: Some(50_000),
        ..Default::default()
    };
    let (mut b, id) = setup(Coverage::default(), caps);
    let sw = sponsored_wallet(id);
    let now = JAN + DAY;
    // Above the threshold with no pre-approval: nothing from the sponsorship.
    let r = charge_now(&mut b, bill(&[("SURG", 100_000)], 0), now);
    assert_eq!(sponsored(&r), 0);
    assert_eq!(r.coverage[0].answer.lines[0].reasons, vec![Reason::PreApprovalRequired]);
    // A clinician asks; the sponsor approves: 80,000 of the 100,000 wallet... the engine sizes it.
    let ask = |b: &mut Book| {
        let input = PreApprovalInput {
            id: Uuid::now_v7(),
            sponsorship: id,
            patient: "amina".into(),
            clinic: "c1".into(),
            provider: Some("prov-1".into()),
            lines: vec![Line {
                item: "SURG".into(),
                quantity: 1,
                unit_price: 100_000,
            }],
            diagnoses: vec![],
            note: "hernia repair".into(),
            valid_days: 14,
            requested_by: "dr".into(),
        };
        let pa = input.id;
        let op = b.prepare_pre_approval(input, now).unwrap();
        sop(b, op, now).unwrap();
        let op = b.prepare_pa_decision(pa, true, "hope", "approved", now).unwrap();
        sop(b, op, now).unwrap();
        pa
    };
    let pa = ask(&mut b);
    assert_eq!(b.pre_approvals[&pa].open_amount(), Some(100_000));
    assert_eq!(available(&b, &sw), 0, "held");
    // A second decision is refused.
    assert_eq!(
        b.prepare_pa_decision(pa, false, "hope", "", now).unwrap_err().code(),
        "pre_approval_decided"
    );
    // The bill has the approved surgery and a lab test the approval did not plan: the hold pays
    // the surgery (posted with the charge), the rest is the patient's.
    let mut i = bill(&[("SURG", 100_000), ("LAB-MAL", 25_000)], 0);
    i.pre_approval = Some(pa);
    let r = charge_now(&mut b, i.clone(), now + 1);
    assert_eq!(r.parts[0].source, Source::PreApproved);
    assert_eq!(r.parts[0].amount, 100_000);
    assert_eq!(r.coverage[0].answer.lines[1].reasons, vec![Reason::PreApprovalLimit]);
    assert!(matches!(b.pre_approvals[&pa].state, PreApprovalState::Used { amount: 100_000, .. }));
    // The same pre-approval cannot pay again.
    let mut again = i.clone();
    again.id = Uuid::now_v7();
    assert_eq!(b.prepare_charge(again, now + 2).unwrap_err().code(), "invalid_input");
    // A refund gives the sponsored money back (the post reversed with the charge's transfer).
    let refund = RefundInput {
        id: Uuid::now_v7(),
        charge: r.id,
        reason: ReasonCode::ServiceNotGiven,
        staff: "admin".into(),
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    assert!(extra.is_some());
    commit(&mut b, BookOp::Refund { refund, request, extra }, now + 3).unwrap();
    assert_eq!(available(&b, &sw), 100_000);
    // Another approved pre-approval nobody uses: released at expiry, once.
    let pa2 = ask(&mut b);
    assert_eq!(available(&b, &sw), 0);
    let later = now + 15 * DAY;
    assert_eq!(b.pre_approvals_due(later, 10), vec![pa2]);
    let op = b.prepare_release(pa2, "expired", later).unwrap().unwrap();
    sop(&mut b, op.clone(), later).unwrap();
    assert_eq!(available(&b, &sw), 100_000);
    assert!(b.prepare_release(pa2, "expired", later).unwrap().is_none());
    assert!(sop(&mut b, op, later).is_err(), "a release applies once");
    assert!(b.pre_approvals_due(later, 10).is_empty());
    clean(&b);
}

#[test]
fn expiry_returns_the_unused_funds_once_and_later_money_follows() {
    let (mut b, id) = setup(Coverage::default(), Caps::default());
    let gw = global_wallet("hope");
    let r = charge_now(&mut b, bill(&[("LAB-MAL", 25_000)], 0), JAN + DAY);
    assert_eq!(sponsored(&r), 25_000);
    let end = JAN + 60 * DAY;
    assert!(b.prepare_term_end(id, end - 1).unwrap().is_none(), "not yet");
    assert_eq!(b.reminders_due(end - 3 * DAY, 10), vec![id]);
    let remind = b.prepare_reminder(id, end - 3 * DAY).unwrap();
    sop(&mut b, remind, end - 3 * DAY).unwrap();
    assert!(b.reminders_due(end - 2 * DAY, 10).is_empty(), "one reminder per term");
    assert_eq!(b.sponsorships_due(end, 10), vec![id]);
    let op = b.prepare_term_end(id, end).unwrap().unwrap();
    sop(&mut b, op.clone(), end).unwrap();
    let s = &b.sponsorships[&id];
    assert_eq!((s.status, s.returned), (Status::Expired, 75_000));
    assert_eq!(available(&b, &gw), 1_000_000 - 100_000 + 75_000);
    // Replaying the same op is refused (its return id is taken), and nothing more is due.
    assert!(sop(&mut b, op, end).is_err());
    assert!(b.prepare_term_end(id, end + DAY).unwrap().is_none());
    assert!(b.sponsorships_due(end + DAY, 10).is_empty());
    // The charge is refunded after the end: the money goes on to the sponsor, once.
    let refund = RefundInput {
        id: Uuid::now_v7(),
        charge: r.id,
        reason: ReasonCode::ServiceNotGiven,
        staff: "admin".into(),
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    commit(&mut b, BookOp::Refund { refund, request, extra }, end + 1).unwrap();
    assert!(b.to_return.contains(&id));
    let req = b.prepare_sponsorship_return(&b.sponsorships[&id]).unwrap();
    sop(&mut b, SponsorOp::Return { id, request: req.clone() }, end + 2).unwrap();
    assert!(sop(&mut b, SponsorOp::Return { id, request: req }, end + 2).is_err());
    assert_eq!(b.sponsorships[&id].returned, 100_000);
    assert_eq!(available(&b, &gw), 1_000_000);
    let report = b.sponsor_report("hope").unwrap();
    assert_eq!((report.spent, report.returned, report.held, report.difference), (0, 100_000, 0, 0));
    assert_eq!(b.notices.len(), 2, "the reminder and the expiry");
    clean(&b);
}

#[test]
fn a_recurring_sponsorship_renews_rolling_over_and_topping_up() {
    let (mut b, id) = setup(Coverage::default(), Caps::default());
    b.sponsorships.get_mut(&id).unwrap().spec.recurrence = Recurrence::Monthly;
    charge_now(&mut b, bill(&[("LAB-MAL", 25_000)], 0), JAN + DAY);
    let end = JAN + 60 * DAY;
    let op = b.prepare_term_end(id, end).unwrap().unwrap();
    assert!(matches!(op, SponsorOp::Renew { .. }));
    sop(&mut b, op, end).unwrap();
    let s = &b.sponsorships[&id];
    assert_eq!(
        (s.term, s.term_end, s.funded, s.status),
        (1, end + 30 * DAY, 125_000, Status::Active)
    );
    assert_eq!(
        available(&b, &sponsored_wallet(id)),
        100_000,
        "75,000 rolled over + 25,000 topped up"
    );
    // Terminating returns what is left, once; a paused or ended one pays nothing.
    let op = b
        .prepare_status(id, Status::Terminated, "hope", "programme closed", end + DAY)
        .unwrap();
    sop(&mut b, op, end + DAY).unwrap();
    assert_eq!(b.sponsorships[&id].returned, 100_000);
    assert_eq!(
        b.prepare_status(id, Status::Active, "hope", "", end + DAY).unwrap_err().code(),
        "sponsorship_state"
    );
    let r = charge_now(&mut b, bill(&[("LAB-MAL", 25_000)], 0), end + 2 * DAY);
    assert_eq!(sponsored(&r), 0);
    assert_eq!(r.coverage[0].answer.lines[0].reasons, vec![Reason::NotActive]);
    let report = b.sponsor_report("hope").unwrap();
    assert_eq!(report.difference, 0);
    assert_eq!(report.sponsorships[0].status, Status::Terminated);
    clean(&b);
}

#[test]
fn a_charge_paid_whole_by_its_pre_approval_is_the_post_itself() {
    let caps = Caps {
        pre_approval_above: Some(50_000),
        ..Default::default()
    };
    let (mut b, id) = setup(Coverage::default(), caps);
    let now = JAN + DAY;
    let input = PreApprovalInput {
        id: Uuid::now_v7(),
        sponsorship: id,
        patient: "amina".into(),
        clinic: "c1".into(),
        provider: Some("prov-1".into()),
        lines: vec![Line {
            item: "SURG".into(),
            quantity: 1,
            unit_price: 100_000,
        }],
        diagnoses: vec![],
        note: String::new(),
        valid_days: 3,
        requested_by: "dr".into(),
    };
    let pa = input.id;
    let op = b.prepare_pre_approval(input, now).unwrap();
    sop(&mut b, op, now).unwrap();
    let op = b.prepare_pa_decision(pa, true, "hope", "", now).unwrap();
    sop(&mut b, op, now).unwrap();
    let mut i = bill(&[("SURG", 100_000)], 0);
    i.pre_approval = Some(pa);
    // The approval is for prov-1: another provider's charge cannot use it.
    let mut other = i.clone();
    other.provider = Some("prov-2".into());
    assert_eq!(
        b.prepare_charge(other, now + 1).unwrap_err().field().as_deref(),
        Some("pre_approval")
    );
    let r = charge_now(&mut b, i, now + 1);
    assert_eq!(r.parts.len(), 1);
    let refund = RefundInput {
        id: Uuid::now_v7(),
        charge: r.id,
        reason: ReasonCode::ServiceNotGiven,
        staff: "admin".into(),
    };
    let (request, extra) = b.prepare_refund(&refund).unwrap();
    assert!(extra.is_none());
    commit(&mut b, BookOp::Refund { refund, request, extra }, now + 2).unwrap();
    assert_eq!(available(&b, &sponsored_wallet(id)), 100_000);
    clean(&b);
}

#[test]
fn a_named_pre_approval_that_pays_nothing_is_refused_and_two_allowances_do_not_double_the_cap() {
    let caps = Caps {
        per_transaction: Some(30_000),
        pre_approval_above: Some(50_000),
        ..Default::default()
    };
    let (mut b, id) = setup(Coverage::default(), caps);
    let now = JAN + DAY;
    // A device holds two allowances of the same sponsored wallet; one charge names both: only
    // one pays, within the cap per charge.
    let reserve = |b: &mut Book| {
        let spec = AllowanceSpec {
            id: Uuid::now_v7(),
            patient: "amina".into(),
            wallet: sponsored_wallet(id),
            device: "dev-1".into(),
            total: 30_000,
            per_charge: 30_000,
            max_count: 2,
            expires_at: now + DAY,
        };
        open(b, crate::book::allowance::account(spec.id), AccountKind::Allowance, None);
        let (allowance, request) = b.prepare_reserve(spec, now).unwrap();
        let aid = allowance.id;
        commit(b, BookOp::Reserve { allowance, request }, now).unwrap();
        aid
    };
    let (a1, a2) = (reserve(&mut b), reserve(&mut b));
    let mut i = bill(&[("LAB-MAL", 25_000), ("LAB-MAL", 25_000)], 0);
    i.offline = Some(Offline {
        device: "dev-1".into(),
        made_at: now,
        allowances: vec![
            AllowanceUse {
                allowance: a1,
                amount: 30_000,
            },
            AllowanceUse {
                allowance: a2,
                amount: 30_000,
            },
        ],
    });
    let prepared = b.prepare_charge(i, now + 1).unwrap();
    let from_allowances: u64 = prepared
        .parts
        .iter()
        .filter(|p| p.source == Source::Allowance)
        .map(|p| p.amount)
        .sum();
    assert_eq!(from_allowances, 30_000, "the cap per charge, not twice it");
    commit(
        &mut b,
        BookOp::Charge {
            prepared: Box::new(prepared),
        },
        now + 1,
    )
    .unwrap();
    // An approved pre-approval, then the sponsorship is paused: a charge naming it is refused
    // (it would pay nothing), and the approval stays for later.
    let input = PreApprovalInput {
        id: Uuid::now_v7(),
        sponsorship: id,
        patient: "amina".into(),
        clinic: "c1".into(),
        provider: None,
        lines: vec![Line {
            item: "LAB-MAL".into(),
            quantity: 1,
            unit_price: 25_000,
        }],
        diagnoses: vec![],
        note: String::new(),
        valid_days: 3,
        requested_by: "dr".into(),
    };
    let pa = input.id;
    let op = b.prepare_pre_approval(input, now).unwrap();
    sop(&mut b, op, now).unwrap();
    let op = b.prepare_pa_decision(pa, true, "hope", "", now).unwrap();
    sop(&mut b, op, now).unwrap();
    let op = b.prepare_status(id, Status::Paused, "hope", "review", now).unwrap();
    sop(&mut b, op, now).unwrap();
    let mut i = bill(&[("LAB-MAL", 25_000)], 0);
    i.pre_approval = Some(pa);
    assert_eq!(b.prepare_charge(i, now + 2).unwrap_err().code(), "not_covered");
    assert!(b.pre_approvals[&pa].open_amount().is_some());
    clean(&b);
}
