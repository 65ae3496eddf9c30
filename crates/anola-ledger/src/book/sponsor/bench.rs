//! What sponsorship adds to a charge, at real size (docs/benchmarks.md): deciding and applying a
//! sponsored charge in a book of 100,000 patients' wallets, for a fresh sponsorship and for one
//! with years of history (10,000 past charges, 1,000 returned allowances, 500 used
//! pre-approvals). Run with
//! `cargo test --release -p anola-ledger sponsored_charge_cost -- --ignored --nocapture`.

use super::tests_support::*;
use super::*;
use crate::book::{AllowanceSpec, BookOp};
use std::time::Instant;

fn time_charges(b: &mut Book, n: usize, at: i64) -> (f64, f64) {
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let mut input = bill(&[("LAB-MAL", 25_000)], 0);
        input.id = Uuid::now_v7();
        let now = at + i as i64;
        let t = Instant::now();
        let prepared = b.prepare_charge(input, now).expect("prepared");
        let op = BookOp::Charge {
            prepared: Box::new(prepared),
        };
        b.decide(&op, now).expect("decided");
        b.apply(&op, now).expect("applied");
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    (lat[n / 2], lat[n * 95 / 100])
}

#[test]
#[ignore = "a benchmark: run with --release --ignored --nocapture"]
fn sponsored_charge_cost() {
    let others: usize = std::env::var("ANOLA_BENCH_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for history in [false, true] {
        let (mut b, id) = setup(
            Coverage::default(),
            Caps {
                // Caps are checked on every charge: set, but never reached here.
                per_period: Some(crate::command::MAX_AMOUNT),
                charges_per_period: Some(1_000_000),
                ..Default::default()
            },
        );
        for p in 0..others {
            let name = format!("other-{p}");
            open(
                &mut b,
                crate::book::charge::personal(&name),
                crate::AccountKind::Personal,
                Some(&name),
            );
        }
        let sw = sponsored_wallet(id);
        // Enough money for everything below.
        b.sponsorships.get_mut(&id).unwrap().spec.allocation = 1;
        let top = b.prepare_sponsor_deposit(Uuid::now_v7(), "hope", 5_000_000_000, "BANK-2").unwrap();
        sop(&mut b, top, JAN).unwrap();
        let fund = crate::command::Request {
            id: Uuid::now_v7(),
            command: crate::command::Command::Transfer {
                kind: crate::command::TxKind::Transfer,
                legs: vec![crate::command::Leg {
                    debit: global_wallet("hope"),
                    credit: sw.clone(),
                    amount: 4_000_000_000,
                }],
                hold_until: None,
            },
        };
        // Funded outside the sponsorship's own funding on purpose (a bench, not a rule check).
        b.apply(&BookOp::Request { request: fund }, JAN).unwrap();
        if history {
            let now = JAN + DAY;
            time_charges(&mut b, 10_000, now);
            for k in 0..1_000 {
                let spec = AllowanceSpec {
                    id: Uuid::now_v7(),
                    patient: "amina".into(),
                    wallet: sw.clone(),
                    device: format!("dev-{k}"),
                    total: 1_000,
                    per_charge: 1_000,
                    max_count: 1,
                    expires_at: now + DAY,
                };
                open(
                    &mut b,
                    crate::book::allowance::account(spec.id),
                    crate::AccountKind::Allowance,
                    None,
                );
                let (allowance, request) = b.prepare_reserve(spec, now).unwrap();
                let aid = allowance.id;
                b.apply(&BookOp::Reserve { allowance, request }, now).unwrap();
                let request = b.prepare_return(aid).unwrap();
                b.apply(&BookOp::Return { allowance: aid, request }, now).unwrap();
            }
            for _ in 0..500 {
                let input = PreApprovalInput {
                    id: Uuid::now_v7(),
                    sponsorship: id,
                    patient: "amina".into(),
                    clinic: "c1".into(),
                    provider: None,
                    lines: vec![crate::book::Line {
                        item: "LAB-MAL".into(),
                        quantity: 1,
                        unit_price: 25_000,
                    }],
                    diagnoses: vec![],
                    note: String::new(),
                    valid_days: 1,
                    requested_by: "dr".into(),
                };
                let pa = input.id;
                let op = b.prepare_pre_approval(input, now).unwrap();
                sop(&mut b, op, now).unwrap();
                let op = b.prepare_pa_decision(pa, true, "hope", "", now).unwrap();
                sop(&mut b, op, now).unwrap();
                let mut i = bill(&[("LAB-MAL", 25_000)], 0);
                i.pre_approval = Some(pa);
                charge_now(&mut b, i, now);
            }
        }
        let (p50, p95) = time_charges(&mut b, 2_000, JAN + 2 * DAY);
        let s = &b.sponsorships[&id];
        println!(
            "sponsored charge (prepare + decide + apply) in a book of {others} other wallets, sponsorship with {} receipts, {} allowances, {} pre-approvals: p50 {p50:.1} µs, p95 {p95:.1} µs",
            s.receipts.len(),
            s.allowances.len(),
            s.pre_approvals.len()
        );
    }
}
