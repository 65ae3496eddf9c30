//! Money ledger benchmarks (docs/benchmarks.md "Ledger"):
//! 1. the core in memory: two-leg payments per second, and the auditor's time over 1,000,000
//!    entries;
//! 2. the ledger log on FerretDB (ADR 0015): committed operations per second with one and with two
//!    processes' views, against the raw rate of single `_id` inserts of the same documents.
//!
//! Usage: `anola-ledger-bench [--entries N] [--ops M]` (defaults 1,000,000 and 2,000).

use anola_e2e::bench_docs::numeric_arg;
use anola_e2e::ferret::Ferret;
use anola_e2e::unique_db;
use anola_ledger::{audit, AccountId, AccountKind, AccountSpec, Command, Currency, Ledger, Leg, Request, TxKind};
use anola_sync_server::faults::Faults;
use anola_sync_server::money::LedgerService;
use anola_sync_server::store::ledger_log::{LedgerLog, LedgerSlot, LogOp};
use anola_sync_server::store::Store;
use anola_sync_server::MongoStore;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

fn spec(kind: AccountKind, name: &str) -> AccountSpec {
    AccountSpec {
        id: AccountId::new(kind, name),
        kind,
        currency: Currency::KES,
    }
}

/// A payment with a platform fee: two legs, four entries.
fn payment(from: &AccountId, to: &AccountId, fee: &AccountId, amount: u64) -> Request {
    Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Payment,
            legs: vec![
                Leg {
                    debit: from.clone(),
                    credit: to.clone(),
                    amount,
                },
                Leg {
                    debit: from.clone(),
                    credit: fee.clone(),
                    amount: 1,
                },
            ],
            hold_until: None,
        },
    }
}

fn deposit(ext: &AccountId, to: &AccountId, amount: u64) -> Request {
    Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Deposit,
            legs: vec![Leg {
                debit: ext.clone(),
                credit: to.clone(),
                amount,
            }],
            hold_until: None,
        },
    }
}

fn core(entries: usize) {
    let wallets = 1_000;
    let mut l = Ledger::new();
    let (ext, rev, fee) = (
        spec(AccountKind::Outside, "mpesa"),
        spec(AccountKind::Revenue, "clinic"),
        spec(AccountKind::PlatformFees, "anola"),
    );
    for s in [&ext, &rev, &fee] {
        l.open_account(s.clone()).unwrap();
    }
    let ws: Vec<AccountId> = (0..wallets)
        .map(|i| {
            let s = spec(AccountKind::Personal, &format!("p{i}"));
            l.open_account(s.clone()).unwrap();
            s.id
        })
        .collect();
    for w in &ws {
        l.execute(deposit(&ext.id, w, 1_000_000_000), 0).unwrap();
    }
    let payments = entries.saturating_sub(2 * wallets) / 4;
    let t = Instant::now();
    for i in 0..payments {
        let r = l.execute(payment(&ws[i % wallets], &rev.id, &fee.id, 100), 0).unwrap();
        assert!(r.outcome.result.is_ok());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "core: {payments} two-leg payments in {secs:.2} s = {:.0} payments/s ({:.1} µs each), {} entries",
        payments as f64 / secs,
        secs * 1e6 / payments as f64,
        l.entries.len()
    );
    let t = Instant::now();
    let v = audit(&l);
    let secs = t.elapsed().as_secs_f64();
    assert!(v.is_empty(), "{v:?}");
    println!("auditor: {} entries checked in {secs:.2} s", l.entries.len());
}

async fn log(ops: usize) {
    let ferret = Ferret::start();
    let db = unique_db("ledgerbench");
    let store = Arc::new(MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap());
    store.ensure_indexes().await.unwrap();
    let other = Arc::new(MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap());
    let (a, b) = (Arc::new(LedgerService::new(store.clone())), Arc::new(LedgerService::new(other)));
    let (ext, rev, fee) = (
        spec(AccountKind::Outside, "mpesa"),
        spec(AccountKind::Revenue, "clinic"),
        spec(AccountKind::PlatformFees, "anola"),
    );
    let ws: Vec<AccountId> = (0..100).map(|i| spec(AccountKind::Personal, &format!("p{i}")).id).collect();
    for s in [ext.clone(), rev.clone(), fee.clone()]
        .into_iter()
        .chain(ws.iter().map(|id| spec(AccountKind::Personal, &id.0[3..])))
    {
        a.open_account(s, 0).await.unwrap().unwrap();
    }
    for w in &ws {
        a.execute(deposit(&ext.id, w, 1_000_000_000), 0).await.unwrap();
    }
    // One process, one operation at a time.
    let t = Instant::now();
    for i in 0..ops {
        a.execute(payment(&ws[i % ws.len()], &rev.id, &fee.id, 100), 0).await.unwrap();
    }
    let one = ops as f64 / t.elapsed().as_secs_f64();
    // Two processes at once, each with 4 requests in flight.
    let t = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..8 {
        let p = if k % 2 == 0 { a.clone() } else { b.clone() };
        let (ws, rev, fee) = (ws.clone(), rev.id.clone(), fee.id.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..ops / 8 {
                p.execute(payment(&ws[(i * 8 + k) % ws.len()], &rev, &fee, 100), 0).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let two = (ops / 8 * 8) as f64 / t.elapsed().as_secs_f64();
    // The raw rate: the same slot documents inserted one at a time, with nothing decided.
    let raw_db = unique_db("ledgerraw");
    let raw = MongoStore::connect(ferret.uri(), &raw_db, Arc::new(Faults::none())).await.unwrap();
    raw.ensure_indexes().await.unwrap();
    let t = Instant::now();
    for i in 0..ops {
        let slot = LedgerSlot {
            n: i as u64 + 1,
            at: 0,
            op: LogOp::Request {
                request: payment(&ws[i % ws.len()], &rev.id, &fee.id, 100),
            },
            result: Ok(4),
        };
        raw.insert_ledger_slot(&slot).await.unwrap();
    }
    let raw_rate = ops as f64 / t.elapsed().as_secs_f64();
    println!(
        "log on FerretDB: {one:.0} ops/s with one process, {two:.0} ops/s with two processes (8 in flight); raw slot inserts {raw_rate:.0}/s; ratio {:.2}",
        one / raw_rate
    );
    let t = Instant::now();
    let report = LedgerService::audit_report(store).await.unwrap();
    assert!(report.ok, "{report:?}");
    println!(
        "auditor over the log: {} slots replayed and checked in {:.2} s",
        report.slots,
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    core(numeric_arg("--entries", 1_000_000));
    tokio::runtime::Runtime::new().unwrap().block_on(log(numeric_arg("--ops", 2_000)));
}
