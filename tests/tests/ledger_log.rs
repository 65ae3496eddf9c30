//! The ledger log on a real FerretDB over a socket (ADR 0015): two processes' views on separate
//! connections charge the same wallets at once, every request sent to both; each request is
//! decided once, both views agree, no wallet goes below zero and the auditor is clean.

use anola_e2e::ferret::Ferret;
use anola_e2e::unique_db;
use anola_ledger::{AccountId, AccountKind, AccountSpec, Command, Currency, Leg, Request, TxKind};
use anola_sync_server::faults::Faults;
use anola_sync_server::money::LedgerService;
use anola_sync_server::store::Store;
use anola_sync_server::MongoStore;
use std::sync::Arc;
use uuid::Uuid;

fn spec(kind: AccountKind, name: &str) -> AccountSpec {
    AccountSpec {
        id: AccountId::new(kind, name),
        kind,
        currency: Currency::KES,
    }
}

fn pay(from: &AccountId, to: &AccountId, amount: u64) -> Request {
    Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Payment,
            legs: vec![Leg {
                debit: from.clone(),
                credit: to.clone(),
                amount,
            }],
            hold_until: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_charge_one_wallet_exactly_once_each() {
    let ferret = Ferret::start();
    let db = unique_db("ledger");
    let a = Arc::new(MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap());
    a.ensure_indexes().await.unwrap();
    let b = Arc::new(MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap());
    let (pa, pb) = (Arc::new(LedgerService::new(a.clone())), Arc::new(LedgerService::new(b.clone())));
    let (ext, wallet, rev) = (
        spec(AccountKind::Outside, "mpesa"),
        spec(AccountKind::Personal, "amina"),
        spec(AccountKind::Revenue, "clinic"),
    );
    for s in [&ext, &wallet, &rev] {
        pa.open_account(s.clone(), 0).await.unwrap().unwrap();
    }
    pb.execute(pay(&ext.id, &wallet.id, 10_000), 1).await.unwrap().result.unwrap();

    // 60 charges of 300 against 10,000: at most 33 can pass. Each is sent to both processes.
    let charges: Vec<Request> = (0..60).map(|_| pay(&wallet.id, &rev.id, 300)).collect();
    let mut tasks = Vec::new();
    for r in &charges {
        for p in [&pa, &pb] {
            let (p, r) = (p.clone(), r.clone());
            tasks.push(tokio::spawn(async move { (r.id, p.execute(r, 2).await.unwrap()) }));
        }
    }
    let mut answers: std::collections::HashMap<Uuid, anola_ledger::Outcome> = Default::default();
    for t in tasks {
        let (id, o) = t.await.unwrap();
        if let Some(prev) = answers.insert(id, o.clone()) {
            assert_eq!(prev, o, "two answers for one charge");
        }
    }
    let passed = answers.values().filter(|o| o.result.is_ok()).count();
    assert_eq!(passed, 33, "exactly what the wallet holds is charged");

    let (na, la) = pa.snapshot().await.unwrap();
    let (nb, lb) = pb.snapshot().await.unwrap();
    assert_eq!((na, &la.accounts), (nb, &lb.accounts));
    assert_eq!(na, 3 + 1 + 60, "three openings, a deposit and each charge once");
    assert_eq!(la.accounts[&wallet.id].balance.available(), 10_000 - 33 * 300);
    let (_, violations) = LedgerService::audit_log(a.clone()).await.unwrap();
    assert!(violations.is_empty(), "{violations:?}");

    // The audit from outside: the server command, and the endpoint for platform administrators.
    let (code, out) = anola_e2e::procs::ServerProc::run_once(ferret.uri(), &db, &["--audit-ledger"]);
    let report: anola_protocol::money::LedgerAudit = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!((code, report.ok, report.slots), (0, true, 64), "{out}");
    let server = anola_e2e::procs::ServerProc::start(anola_e2e::free_port(), ferret.uri(), &db, &[]);
    let token = anola_e2e::accounts::admin_token(&server.url()).await;
    let r = reqwest::Client::new()
        .get(format!("{}/admin/ledger/audit", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: anola_protocol::money::LedgerAudit = r.json().await.unwrap();
    assert!(report.ok && report.slots == 64, "{report:?}");
    let r = reqwest::Client::new()
        .get(format!("{}/admin/ledger/audit", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no token, no audit");
    // And through the CLI, as an operator runs it.
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || anola_e2e::procs::Device::new(dir.path(), &url).ok(&["admin", "ledger-audit"]))
        .await
        .unwrap();
    assert_eq!((out["ok"].as_bool(), out["slots"].as_u64()), (Some(true), Some(64)), "{out}");
}
