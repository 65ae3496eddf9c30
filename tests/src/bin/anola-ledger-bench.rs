//! Money ledger benchmarks (docs/benchmarks.md "Ledger"):
//! 1. the core in memory: two-leg payments per second, and the auditor's time over 1,000,000
//!    entries;
//! 2. the ledger log on FerretDB (ADR 0015): committed operations per second with one and with two
//!    processes' views, against the raw rate of single `_id` inserts of the same documents.
//!
//! 3. paying for care: online charge latency through the book's log (waterfall prepared and
//!    committed, as `POST /money/charges` does after its checks) and the PIN check; offline charge
//!    latency on a device replica (waterfall from allowances + one SQLite transaction), with many
//!    charges already stored.
//!
//! Usage: `anola-ledger-bench [--entries N] [--ops M] [--charges C] [--stored S]` (defaults
//! 1,000,000, 2,000, 500 and 100,000).

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

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[v.len() * 95 / 100])
}

async fn charges_online(n: usize) {
    use anola_ledger::book::{ChargeInput, Desk, ItemKind, Line, PriceItem};
    let ferret = Ferret::start();
    let db = unique_db("chargebench");
    let store = Arc::new(MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap());
    store.ensure_indexes().await.unwrap();
    let svc = LedgerService::new(store.clone());
    let item = PriceItem {
        code: "CONS".into(),
        name: "Consultation".into(),
        kind: ItemKind::Consultation,
        service: None,
        price: 10_000,
        currency: Currency::KES,
        active: true,
    };
    svc.set_price(item, 0).await.unwrap().unwrap();
    svc.set_fee_rate(150, 0).await.unwrap().unwrap();
    let ext = spec(AccountKind::Outside, "sponsor");
    svc.open_account(ext.clone(), 0).await.unwrap().unwrap();
    let patients = 100;
    for p in 0..patients {
        let sw = spec(AccountKind::Sponsored, &format!("s{p}"));
        svc.open_wallet(sw.clone(), format!("p{p}"), 0).await.unwrap();
        svc.execute(deposit(&ext.id, &sw.id, 1_000_000_000), 0).await.unwrap();
    }
    let mut lat = Vec::new();
    for i in 0..n {
        let input = ChargeInput {
            id: Uuid::now_v7(),
            patient: format!("p{}", i % patients),
            clinic: "c1".into(),
            lines: vec![Line {
                item: "CONS".into(),
                quantity: 1,
                unit_price: 10_000,
            }],
            desk: Desk::Owed,
            desk_amount: 0,
            personal_consent: false,
            visit: None,
            offline: None,
            staff: "fd".into(),
            provider: None,
            diagnoses: Vec::new(),
            pre_approval: None,
        };
        let t = Instant::now();
        svc.charge(input, 0).await.unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (p50, p95) = percentiles(lat);
    // The PIN check an online charge from personal funds adds (Argon2id, 19 MiB, 2 passes).
    let phc = anola_sync_server::auth::password::hash("2468");
    let mut pin = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        assert!(anola_sync_server::auth::password::verify("2468", &phc));
        pin.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (pin50, _) = percentiles(pin);
    println!("online charge (waterfall + log commit on FerretDB, {n} charges over {patients} patients): p50 {p50:.2} ms, p95 {p95:.2} ms; the wallet-PIN check adds {pin50:.1} ms");
}

fn charges_offline(n: usize, stored: usize) {
    use anola_client::clinic_money::offline_parts;
    use anola_client::store::LocalStore;
    use anola_client::DataKey;
    use anola_protocol::money::{Allowance, AllowanceGrant, AllowanceSpec, ChargeRequest, Desk, Line, Offline, Receipt};
    let dir = tempfile::tempdir().unwrap();
    let mut store = LocalStore::open(dir.path(), &DataKey::from_bytes([7; 32])).expect("open replica");
    let now = 1_000;
    let grant = |p: usize, total: u64| AllowanceGrant {
        allowance: Allowance {
            spec: AllowanceSpec {
                id: Uuid::now_v7(),
                patient: format!("p{p}"),
                wallet: AccountId(format!("SW-p{p}")),
                device: "dev".into(),
                total,
                per_charge: total,
                max_count: 100,
                expires_at: i64::MAX,
            },
            reserved: total,
            charges: Vec::new(),
            returned: None,
            refunded: 0,
            reserved_at: 0,
        },
        pin_verifier: None,
        terms: None,
    };
    let charge = |store: &mut LocalStore, p: usize| -> f64 {
        let t = Instant::now();
        let patient = format!("p{p}");
        let allowances = store.allowances_for(&patient).unwrap();
        let (uses, parts, _) = offline_parts(&allowances, None, 10_000, false, 0, now);
        let req = ChargeRequest {
            id: Uuid::now_v7(),
            patient: patient.clone(),
            lines: vec![Line {
                item: "CONS".into(),
                quantity: 1,
                unit_price: 10_000,
            }],
            desk: Desk::Owed,
            desk_amount: 0,
            pin: None,
            visit: None,
            offline: Some(Offline {
                device: "dev".into(),
                made_at: now,
                allowances: uses,
            }),
            provider: None,
            diagnoses: Vec::new(),
            pre_approval: None,
        };
        let receipt = Receipt {
            id: req.id,
            digest: String::new(),
            patient,
            clinic: String::new(),
            staff: String::new(),
            at: now,
            currency: Currency::KES,
            lines: req.lines.clone(),
            total: 10_000,
            parts,
            fee: 0,
            visit: None,
            offline: req.offline.clone(),
            refunds: Vec::new(),
            coverage: Vec::new(),
            provider: None,
            pre_approval: None,
        };
        store.record_offline_charge(&req, &receipt, now).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    };
    // Many patients with allowances and `stored` charges already on the device (they settled long
    // ago or wait): the cost of one more must not grow with them.
    let patients = 1_000;
    for p in 0..patients {
        store.save_allowance(&grant(p, 1_000_000_000), false).unwrap();
    }
    let mut early = Vec::new();
    for i in 0..n {
        early.push(charge(&mut store, i % patients));
    }
    for i in 0..stored {
        charge(&mut store, i % patients);
    }
    let mut late = Vec::new();
    for i in 0..n {
        late.push(charge(&mut store, i % patients));
    }
    let ((e50, e95), (l50, l95)) = (percentiles(early), percentiles(late));
    println!(
        "offline charge on a device replica ({patients} patients with allowances): p50 {e50:.2} ms, p95 {e95:.2} ms with {n} charges stored; p50 {l50:.2} ms, p95 {l95:.2} ms with {} stored",
        stored + 2 * n
    );
}

fn main() {
    core(numeric_arg("--entries", 1_000_000));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(log(numeric_arg("--ops", 2_000)));
    rt.block_on(charges_online(numeric_arg("--charges", 500)));
    charges_offline(numeric_arg("--charges", 500), numeric_arg("--stored", 100_000));
}
