//! The ledger log with several processes (ADR 0015), on the in-memory store with every store call
//! interleaved: requests sent to several processes at once (duplicates, as retries through
//! different servers make them) are decided once, every process agrees, and the auditor is clean.

use anola_ledger::{AccountId, AccountKind, AccountSpec, Command, Currency, Leg, ReasonCode, Request, TxKind};
use anola_sync_server::money::{LedgerService, MoneyError};
use anola_sync_server::store::ledger_log::LedgerLog;
use anola_sync_server::store::memory::MemoryStore;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

fn account(kind: AccountKind, name: &str) -> AccountSpec {
    AccountSpec {
        id: AccountId::new(kind, name),
        kind,
        currency: Currency::KES,
    }
}

fn transfer(legs: Vec<(&AccountId, &AccountId, u64)>) -> Request {
    Request {
        id: Uuid::now_v7(),
        command: Command::Transfer {
            kind: TxKind::Payment,
            legs: legs
                .into_iter()
                .map(|(d, c, amount)| Leg {
                    debit: d.clone(),
                    credit: c.clone(),
                    amount,
                })
                .collect(),
            hold_until: None,
        },
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "current_thread")]
async fn processes_sharing_one_log_decide_each_request_once_and_agree() {
    for seed in [1u64, 7, 42, 1234, 99_999] {
        let store = Arc::new(MemoryStore::interleaved());
        let procs: Vec<LedgerService<MemoryStore>> = (0..3).map(|_| LedgerService::new(store.clone())).collect();
        let ext = account(AccountKind::Outside, "mpesa");
        let wallets: Vec<AccountSpec> = (0..3).map(|i| account(AccountKind::Personal, &format!("w{i}"))).collect();
        let rev = account(AccountKind::Revenue, "clinic");
        for spec in std::iter::once(&ext).chain(&wallets).chain([&rev]) {
            procs[0].open_account(spec.clone(), 0).await.unwrap().unwrap();
        }
        // Opening twice, from another process: refused, not doubled.
        assert_eq!(
            procs[1].open_account(rev.clone(), 0).await.unwrap().unwrap_err().code(),
            "account_exists"
        );

        let mut rng = Rng(seed);
        let mut requests = Vec::new();
        for w in &wallets {
            requests.push(transfer(vec![(&ext.id, &w.id, 1_000)]));
        }
        for _ in 0..40 {
            let w = &wallets[rng.below(3) as usize].id;
            let r = match rng.below(4) {
                // Charges that together exceed what the wallets hold: some must be refused.
                0 | 1 => transfer(vec![(w, &rev.id, 100 + rng.below(400))]),
                2 => transfer(vec![(&ext.id, w, 1 + rng.below(300))]),
                _ => match requests.get(rng.below(requests.len() as u64) as usize) {
                    Some(earlier) => Request {
                        id: Uuid::now_v7(),
                        command: Command::Reverse {
                            of: earlier.id,
                            amount: None,
                            reason: ReasonCode::EnteredInError,
                        },
                    },
                    None => continue,
                },
            };
            requests.push(r);
        }
        // Each request goes to one, two or three processes at once.
        let mut futures = Vec::new();
        for (k, r) in requests.iter().enumerate() {
            for c in 0..1 + rng.below(3) as usize {
                let p = &procs[(k + c) % 3];
                futures.push(async move { (r.id, p.execute(r.clone(), 1_000).await) });
            }
        }
        let answers = futures::future::join_all(futures).await;
        let mut first: HashMap<Uuid, anola_ledger::Outcome> = HashMap::new();
        for (id, a) in answers {
            let o = a.expect("no store failure in memory");
            if let Some(prev) = first.get(&id) {
                assert_eq!(prev, &o, "seed {seed}: two answers for one request");
            }
            first.insert(id, o);
        }
        assert_eq!(first.len(), requests.len());

        // Every process sees the same ledger; the log holds each request once; the auditor agrees.
        let (n0, l0) = procs[0].snapshot().await.unwrap();
        for p in &procs[1..] {
            let (n, l) = p.snapshot().await.unwrap();
            assert_eq!((n, &l.accounts), (n0, &l0.accounts), "seed {seed}: processes disagree");
        }
        let mut in_log = HashMap::new();
        for n in 1..=n0 {
            let slot = store.ledger_slot(n).await.unwrap().unwrap();
            if let anola_sync_server::store::ledger_log::LogOp::Request { request } = slot.op {
                *in_log.entry(request.id).or_insert(0) += 1;
            }
        }
        assert_eq!(in_log.len(), requests.len(), "seed {seed}");
        assert!(in_log.values().all(|n| *n == 1), "seed {seed}: a request is in the log twice");
        let (_, violations) = LedgerService::audit_log(store.clone()).await.unwrap();
        assert!(violations.is_empty(), "seed {seed}: {violations:?}");
        // Some charges were refused for want of funds, and no wallet is below zero.
        assert!(first
            .values()
            .any(|o| o.result.as_ref().is_err_and(|e| e.code() == "insufficient_funds")));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_reused_id_is_refused_and_a_tampered_log_is_caught() {
    let store = Arc::new(MemoryStore::new());
    let p = LedgerService::new(store.clone());
    let (ext, w) = (account(AccountKind::Outside, "mpesa"), account(AccountKind::Personal, "w"));
    p.open_account(ext.clone(), 0).await.unwrap().unwrap();
    p.open_account(w.clone(), 0).await.unwrap().unwrap();
    let r = transfer(vec![(&ext.id, &w.id, 500)]);
    let once = p.execute(r.clone(), 1).await.unwrap();
    // Another process, later: the stored answer.
    let q = LedgerService::new(store.clone());
    assert_eq!(q.execute(r.clone(), 2).await.unwrap(), once);
    let mut other = r.clone();
    if let Command::Transfer { legs, .. } = &mut other.command {
        legs[0].amount = 600;
    }
    assert!(matches!(q.execute(other, 3).await, Err(MoneyError::Refused(e)) if e.code() == "id_reused"));

    // A slot whose stored outcome is not what it decides: every reader stops on it.
    let mut slot = store.ledger_slot(3).await.unwrap().unwrap();
    slot.result = Ok(7);
    let tampered = Arc::new(MemoryStore::new());
    for n in 1..=2 {
        tampered
            .insert_ledger_slot(&store.ledger_slot(n).await.unwrap().unwrap())
            .await
            .unwrap();
    }
    tampered.insert_ledger_slot(&slot).await.unwrap();
    assert!(matches!(
        LedgerService::audit_log(tampered).await,
        Err(MoneyError::Diverged { slot: 3, .. })
    ));
}
