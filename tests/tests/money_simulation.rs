//! Seeded money simulation: clients send random deposits, charges with fees, holds, posts, voids,
//! expiries and refunds through fault-injecting proxies (drops, delays, duplicates, replays) to
//! three server processes on one database, retrying every unanswered request with the same id,
//! while servers are SIGKILLed and restarted. Afterwards: every request has one answer however
//! often it was sent, each request id is in the ledger log once, and the auditor is clean (sums
//! kept per currency, nothing guarded below zero counting holds, each hold resolved once, balances
//! equal to the replay, hash chains whole).
//!
//! `ANOLA_MONEY_SEED`, `ANOLA_MONEY_STEPS` (per client) and `ANOLA_MONEY_CLIENTS` reproduce or
//! lengthen a run; a failure prints the seed.

use anola_e2e::accounts::admin_token;
use anola_e2e::fault_proxy::{FaultConfig, FaultProxy};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::sim::Rng;
use anola_e2e::{free_port, unique_db};
use mongodb::bson::Document;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const WALLETS: usize = 6;

/// Every definitive answer (status, body) each request id got.
type Answers = HashMap<String, Vec<(u16, Value)>>;

fn wallet(i: usize) -> String {
    format!("PW-w{i}")
}

/// Sends `body` until an answer that is not a network failure or a 5xx; returns it.
async fn send(http: &reqwest::Client, token: &str, urls: &[String], rng_pick: usize, body: &Value) -> (u16, Value) {
    for attempt in 0..200 {
        let url = &urls[(rng_pick + attempt) % urls.len()];
        let r = http
            .post(format!("{url}/money/requests"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await;
        if let Ok(r) = r {
            let s = r.status().as_u16();
            if s < 500 {
                if let Ok(v) = r.json::<Value>().await {
                    return (s, v);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50 + 10 * attempt as u64)).await;
    }
    panic!("no answer for {body} after 200 attempts");
}

fn transfer(kind: &str, legs: Value, hold_until: Option<i64>) -> Value {
    let mut command = json!({"op": "transfer", "kind": kind, "legs": legs});
    if let Some(h) = hold_until {
        command["hold_until"] = json!(h);
    }
    json!({"id": Uuid::now_v7(), "command": command})
}

fn leg(debit: &str, credit: &str, amount: u64) -> Value {
    json!({"debit": debit, "credit": credit, "amount": amount})
}

use anola_e2e::now_ms;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn money_survives_faults_and_kills() {
    let seed: u64 = env_or("ANOLA_MONEY_SEED", 0x6d6f_6e65_u64 ^ std::process::id() as u64);
    let steps: usize = env_or("ANOLA_MONEY_STEPS", 40);
    let clients: usize = env_or("ANOLA_MONEY_CLIENTS", 8);
    eprintln!("money simulation: seed={seed} steps={steps} clients={clients}");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!(
            "MONEY SIMULATION FAILED — reproduce with ANOLA_MONEY_SEED={seed} ANOLA_MONEY_STEPS={steps} ANOLA_MONEY_CLIENTS={clients}"
        );
        hook(info);
    }));

    let ferret = Ferret::start();
    let db = unique_db("moneysim");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Option<ServerProc>> = ports.iter().map(|p| Some(ServerProc::start(*p, ferret.uri(), &db, &[]))).collect();
    let upstreams: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let token = admin_token(&upstreams[0]).await;
    let http = reqwest::Client::new();
    let mut accounts = vec![
        ("EXT-mpesa".to_owned(), "outside"),
        ("REV-clinic".to_owned(), "revenue"),
        ("FEE-anola".to_owned(), "platform_fees"),
    ];
    accounts.extend((0..WALLETS).map(|i| (wallet(i), "personal")));
    for (id, kind) in &accounts {
        let r = http
            .post(format!("{}/money/accounts", upstreams[0]))
            .bearer_auth(&token)
            .json(&json!({"id": id, "kind": kind, "currency": "KES"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut proxies = Vec::new();
    for (k, u) in upstreams.iter().enumerate() {
        proxies.push(FaultProxy::start(u, FaultConfig::chaos(), seed.wrapping_add(k as u64)).await);
    }
    let urls: Vec<String> = proxies.iter().map(|p| p.url()).collect();

    // Every definitive answer each request got, by id.
    let answers: Arc<Mutex<Answers>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, token, urls, answers) = (http.clone(), token.clone(), urls.clone(), answers.clone());
        let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(c as u64 + 1));
        tasks.push(tokio::spawn(async move {
            let mut holds: Vec<String> = Vec::new();
            let mut charges: Vec<String> = Vec::new();
            for _ in 0..steps {
                let w = wallet(rng.below(WALLETS));
                let body = match rng.below(10) {
                    0..=2 => transfer("deposit", json!([leg("EXT-mpesa", &w, 500 + rng.below(3_000) as u64)]), None),
                    3..=5 => {
                        let amount = 100 + rng.below(2_000) as u64;
                        transfer(
                            "payment",
                            json!([leg(&w, "REV-clinic", amount), leg(&w, "FEE-anola", 1 + amount / 50)]),
                            None,
                        )
                    }
                    6 => transfer(
                        "payment",
                        json!([leg(&w, "REV-clinic", 200 + rng.below(1_500) as u64)]),
                        Some(now_ms() + rng.below(3_000) as i64),
                    ),
                    7 => match rng.pick(&holds).cloned() {
                        Some(h) => match rng.below(3) {
                            0 => json!({"id": Uuid::now_v7(), "command": {"op": "post", "hold": h}}),
                            1 => json!({"id": Uuid::now_v7(), "command": {"op": "post", "hold": h, "amount": 1 + rng.below(200)}}),
                            _ => json!({"id": Uuid::now_v7(), "command": {"op": "void", "hold": h}}),
                        },
                        None => continue,
                    },
                    8 => match rng.pick(&holds).cloned() {
                        Some(h) => json!({"id": Uuid::now_v7(), "command": {"op": "expire", "hold": h}}),
                        None => continue,
                    },
                    _ => match rng.pick(&charges).cloned() {
                        Some(of) => json!({"id": Uuid::now_v7(), "command": {"op": "reverse", "of": of, "reason": "patient_request"}}),
                        None => continue,
                    },
                };
                // Sometimes the same request goes out twice at once, as a double-click would.
                let twice = rng.below(5) == 0;
                let pick = rng.below(3);
                let (first, second) = if twice {
                    let (a, b) = tokio::join!(send(&http, &token, &urls, pick, &body), send(&http, &token, &urls, pick + 1, &body));
                    (a, Some(b))
                } else {
                    (send(&http, &token, &urls, pick, &body).await, None)
                };
                let id = body["id"].as_str().unwrap().to_owned();
                if first.0 == 200 {
                    match body["command"]["op"].as_str() {
                        Some("transfer") if body["command"].get("hold_until").is_some() => holds.push(id.clone()),
                        Some("transfer") => charges.push(id.clone()),
                        _ => {}
                    }
                }
                let mut a = answers.lock().unwrap();
                let e = a.entry(id).or_default();
                e.push(first);
                e.extend(second);
            }
        }));
    }

    // Meanwhile, servers die and come back.
    let mut rng = Rng::new(seed);
    let mut kills = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(700) as u64)).await;
        let k = rng.below(3);
        if let Some(s) = servers[k].take() {
            s.kill();
            kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
            servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &db, &[]));
        }
    }
    for t in tasks {
        t.await.expect("a client");
    }
    let stats: Vec<_> = proxies.iter().map(|p| p.stats()).collect();

    // One answer per request, however often it was sent.
    let answers = answers.lock().unwrap().clone();
    let mut applied = 0;
    for (id, got) in &answers {
        assert!(got.windows(2).all(|w| w[0] == w[1]), "request {id} got different answers: {got:?}");
        if got[0].0 == 200 {
            applied += 1;
        }
    }
    // Each request id in the log once.
    let client = ferret.client().await;
    let mut seen: HashMap<String, u32> = HashMap::new();
    {
        use futures::StreamExt;
        let mut cur = client
            .database(&db)
            .collection::<Document>("ledger_log")
            .find(mongodb::bson::doc! {})
            .await
            .unwrap();
        while let Some(d) = cur.next().await {
            let d = d.unwrap();
            if let Ok(op) = d.get_document("op") {
                if let Ok(r) = op.get_document("request") {
                    *seen.entry(r.get_str("id").unwrap_or_default().to_owned()).or_default() += 1;
                }
            }
        }
    }
    assert!(seen.values().all(|n| *n == 1), "a request is in the log twice");
    assert!(
        answers.keys().all(|id| seen.contains_key(id)),
        "an answered request is missing from the log"
    );
    // The auditor.
    let report = anola_e2e::accounts::get_json(&format!("{}/admin/ledger/audit", upstreams[0]), &token).await;
    assert_eq!(report["ok"], json!(true), "{report}");
    eprintln!(
        "money simulation: {} requests ({applied} applied), {} slots, {kills} server kills; proxies {stats:?}; auditor clean",
        answers.len(),
        report["slots"]
    );
    drop(servers);
}
