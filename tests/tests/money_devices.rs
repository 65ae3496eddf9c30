//! Seeded money simulation with devices: 20+ front-desk devices of one clinic (and a clinic
//! administrator refunding) charge patients' wallets online by the waterfall (sponsored, then
//! personal with the PIN, then cash or owed), reserve offline allowances and settle offline
//! charges against them late and twice, take deposits, and refund while charges race — all
//! through fault-injecting proxies (drops, delays, duplicates, replays) to three server processes
//! on one database, while the servers and the database are SIGKILLed and restarted. Afterwards: every charge,
//! deposit and refund id got one answer however often it was sent, each is in the log once, no
//! allowance paid more than it held or more charges than its count, no wallet went below zero,
//! and the auditor (the ledger's and the book's invariants) is clean.
//!
//! `ANOLA_MONEY_SEED`, `ANOLA_MONEY_DEVICES` and `ANOLA_MONEY_STEPS` (per device) reproduce or
//! lengthen a run; a failure prints the seed.

use anola_e2e::accounts::{admin_token, colleague_on, raw_device, RawDevice};
use anola_e2e::fault_proxy::{FaultConfig, FaultProxy};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::sim::Rng;
use anola_e2e::{free_port, unique_db};
use anola_protocol::access::Role;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const PATIENTS: usize = 5;
const PIN: &str = "2580";

/// Every definitive answer each money id got.
type Answers = HashMap<String, Vec<(u16, Value)>>;

/// Sends until an answer that is not a network failure or a 5xx.
async fn send(
    http: &reqwest::Client,
    dev: &RawDevice,
    urls: &[String],
    pick: usize,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let mut last = String::new();
    for attempt in 0..200 {
        let url = &urls[(pick + attempt) % urls.len()];
        let r = dev
            .sign(http.request(method.clone(), format!("{url}{path}")))
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await;
        match r {
            Ok(r) => {
                let s = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                if s < 500 {
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        return (s, v);
                    }
                }
                last = format!("{s} {text}");
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50 + 10 * attempt.min(20) as u64)).await;
    }
    panic!("no answer for {path} {body} after 200 attempts; last: {last}");
}

fn patient(i: usize) -> String {
    format!("p{i}")
}

fn bill(quantity: u64) -> Value {
    json!([{"item": "LAB", "quantity": quantity, "unit_price": 25_000}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_charging_online_and_offline_keep_every_money_invariant() {
    let seed: u64 = env_or("ANOLA_MONEY_SEED", 0x6465_7669_u64 ^ std::process::id() as u64);
    let devices: usize = env_or("ANOLA_MONEY_DEVICES", 20);
    let steps: usize = env_or("ANOLA_MONEY_STEPS", 12);
    // The database is SIGKILLed too unless ANOLA_MONEY_DB_KILLS=0.
    let db_kills_on = env_or("ANOLA_MONEY_DB_KILLS", 1u8) == 1;
    eprintln!("device money simulation: seed={seed} devices={devices} steps={steps}");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!(
            "DEVICE MONEY SIMULATION FAILED — reproduce with ANOLA_MONEY_SEED={seed} ANOLA_MONEY_DEVICES={devices} ANOLA_MONEY_STEPS={steps}"
        );
        hook(info);
    }));

    let mut ferret = Ferret::start();
    let db = unique_db("moneydev");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Option<ServerProc>> = ports.iter().map(|p| Some(ServerProc::start(*p, ferret.uri(), &db, &[]))).collect();
    let upstreams: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let u0 = upstreams[0].clone();
    let token = admin_token(&u0).await;
    let http = reqwest::Client::new();
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);

    // The clinic: a price, devices, an administrator; patients with funded wallets and PINs.
    let item = json!({"code": "LAB", "name": "Lab test", "kind": "lab_test", "price": 25_000, "currency": "KES", "active": true});
    assert_eq!(
        http.put(format!("{u0}/money/prices/LAB"))
            .bearer_auth(&token)
            .json(&item)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.put(format!("{u0}/money/fee-rate"))
            .bearer_auth(&token)
            .json(&json!({"bps": 100}))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let mut devs = Vec::new();
    for _ in 0..devices {
        devs.push(Arc::new(raw_device(&u0, &clinic, Role::FrontDesk, Role::FrontDesk, None).await));
    }
    let boss = Arc::new(colleague_on(&u0, &devs[0], Role::ClinicAdmin).await);
    admin_call(
        &http,
        &token,
        &format!("{u0}/money/accounts"),
        json!({"id": "EXT-sponsor", "kind": "outside", "currency": "KES"}),
    )
    .await;
    for i in 0..PATIENTS {
        let p = patient(i);
        let r = devs[0]
            .sign(http.post(format!("{u0}/money/patients/{p}/wallet")))
            .json(&json!({"currency": "KES"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        devs[0]
            .sign(http.put(format!("{u0}/money/patients/{p}/pin")))
            .json(&json!({"pin": PIN}))
            .send()
            .await
            .unwrap();
        let sw = format!("SW-{p}");
        admin_call(
            &http,
            &token,
            &format!("{u0}/admin/money/wallets"),
            json!({"id": sw, "kind": "sponsored", "currency": "KES", "owner": p}),
        )
        .await;
        let fund = json!({"id": Uuid::now_v7(), "command": {"op": "transfer", "kind": "sponsorship", "legs": [{"debit": "EXT-sponsor", "credit": sw, "amount": 200_000}]}});
        admin_call(&http, &token, &format!("{u0}/money/requests"), fund).await;
        let dep = json!({"id": Uuid::now_v7(), "patient": p, "amount": 150_000, "method": {"method": "cash"}});
        let r = devs[0]
            .sign(http.post(format!("{u0}/money/deposits")))
            .json(&dep)
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
    let answers: Arc<Mutex<Answers>> = Arc::default();
    let receipts: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for (d, dev) in devs.iter().enumerate() {
        let (http, urls, answers, receipts, dev) = (http.clone(), urls.clone(), answers.clone(), receipts.clone(), dev.clone());
        let mut rng = Rng::new(seed.wrapping_mul(131).wrapping_add(d as u64 + 1));
        tasks.push(tokio::spawn(async move {
            // Offline charges made against this device's allowances, settled later.
            let mut allowances: Vec<(String, String)> = Vec::new();
            let mut offline: Vec<Value> = Vec::new();
            for _ in 0..steps {
                let p = patient(rng.below(PATIENTS));
                let pick = rng.below(3);
                let (path, body) = match rng.below(10) {
                    // Online: quote, then charge what the quote says at the desk.
                    0..=3 => {
                        let personal = rng.below(2) == 0;
                        let owed = rng.below(3) == 0;
                        let desk = if owed { json!({"method": "owed"}) } else { json!({"method": "cash", "drawer": ""}) };
                        let mut b = json!({"id": Uuid::now_v7(), "patient": p, "lines": bill(1 + rng.below(3) as u64), "desk": desk, "desk_amount": 0});
                        if personal {
                            b["pin"] = json!(PIN);
                        }
                        let (s, q) = send(&http, &dev, &urls, pick, reqwest::Method::POST, "/money/quote", &b).await;
                        assert_eq!(s, 200, "{q}");
                        b["desk_amount"] = q["desk_amount"].clone();
                        ("/money/charges".to_owned(), b)
                    }
                    // Reserve an allowance of one of the patient's wallets for this device.
                    4 => {
                        let wallet = if rng.below(2) == 0 { format!("SW-{p}") } else { format!("PW-{p}") };
                        let id = Uuid::now_v7().to_string();
                        let b = json!({"id": id, "patient": p, "wallet": wallet, "total": 60_000, "per_charge": 30_000, "max_count": 3, "expires_at": anola_e2e::now_ms() + 3_600_000, "pin": PIN});
                        let (s, _) = send(&http, &dev, &urls, pick, reqwest::Method::POST, "/money/allowances", &b).await;
                        if s == 201 {
                            allowances.push((id, p.clone()));
                        }
                        continue;
                    }
                    // An offline charge against an allowance, kept to settle later.
                    5..=6 => {
                        let Some((a, ap)) = rng.pick(&allowances).cloned() else { continue };
                        let claim = 1 + rng.below(40_000) as u64;
                        offline.push(json!({"id": Uuid::now_v7(), "patient": ap, "lines": bill(2), "desk": {"method": "cash", "drawer": ""},
                            "desk_amount": rng.below(20_000), "offline": {"device": dev.device_id, "made_at": anola_e2e::now_ms(),
                            "allowances": [{"allowance": a, "amount": claim}]}}));
                        continue;
                    }
                    // Settle the oldest offline charge (late, maybe twice).
                    7 => {
                        if offline.is_empty() {
                            continue;
                        }
                        ("/money/charges".to_owned(), offline.remove(0))
                    }
                    8 => (
                        "/money/deposits".to_owned(),
                        json!({"id": Uuid::now_v7(), "patient": p, "amount": 1 + rng.below(50_000), "method": {"method": "cash"}}),
                    ),
                    _ => {
                        let Some((a, _)) = rng.pick(&allowances).cloned() else { continue };
                        send(&http, &dev, &urls, pick, reqwest::Method::POST, &format!("/money/allowances/{a}/return"), &json!({})).await;
                        continue;
                    }
                };
                let twice = rng.below(4) == 0;
                let (first, second) = if twice {
                    let (x, y) = tokio::join!(
                        send(&http, &dev, &urls, pick, reqwest::Method::POST, &path, &body),
                        send(&http, &dev, &urls, pick + 1, reqwest::Method::POST, &path, &body)
                    );
                    (x, Some(y))
                } else {
                    (send(&http, &dev, &urls, pick, reqwest::Method::POST, &path, &body).await, None)
                };
                let id = body["id"].as_str().unwrap().to_owned();
                if path == "/money/charges" {
                    assert!(first.0 == 201 || first.0 == 409 || first.0 == 422, "charge {id}: {first:?}");
                    if first.0 == 201 {
                        receipts.lock().unwrap().push(id.clone());
                    }
                }
                let mut a = answers.lock().unwrap();
                let e = a.entry(id).or_default();
                e.push(first);
                e.extend(second);
            }
            // Whatever is left offline settles now.
            for b in offline {
                let (s, _) = send(&http, &dev, &urls, 0, reqwest::Method::POST, "/money/charges", &b).await;
                assert_eq!(s, 201);
                receipts.lock().unwrap().push(b["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    // The administrator refunds charges while others are being made.
    {
        let (http, urls, answers, receipts, boss) = (http.clone(), urls.clone(), answers.clone(), receipts.clone(), boss.clone());
        let mut rng = Rng::new(seed ^ 0xfeed);
        tasks.push(tokio::spawn(async move {
            for _ in 0..steps {
                tokio::time::sleep(Duration::from_millis(100 + rng.below(300) as u64)).await;
                let Some(c) = ({
                    let r = receipts.lock().unwrap();
                    rng.pick(&r).cloned()
                }) else {
                    continue;
                };
                let body = json!({"id": Uuid::now_v7(), "reason": "patient_request"});
                let got = send(
                    &http,
                    &boss,
                    &urls,
                    rng.below(3),
                    reqwest::Method::POST,
                    &format!("/money/charges/{c}/refund"),
                    &body,
                )
                .await;
                assert!(got.0 == 200 || got.0 == 422, "refund: {got:?}");
                answers
                    .lock()
                    .unwrap()
                    .entry(body["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(got);
            }
        }));
    }

    // Meanwhile, servers die and come back, and now and then the database does.
    let mut rng = Rng::new(seed);
    let (mut kills, mut db_kills) = (0, 0);
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(400 + rng.below(800) as u64)).await;
        if db_kills_on && ferret.is_private() && rng.below(5) == 0 {
            ferret.kill();
            db_kills += 1;
            tokio::time::sleep(Duration::from_millis(200 + rng.below(400) as u64)).await;
            ferret.restart();
            continue;
        }
        let k = rng.below(3);
        if let Some(s) = servers[k].take() {
            s.kill();
            kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
            servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &db, &[]));
        }
    }
    for t in tasks {
        t.await.expect("a device");
    }

    // One answer per id, however often it was sent.
    let answers = answers.lock().unwrap().clone();
    // (A stale quote writes nothing, so a copy sent later may find the quote right again: those
    // refusals are left out; every answer that wrote something is the same for every copy.)
    for (id, got) in &answers {
        let written: Vec<_> = got.iter().filter(|(_, v)| v["code"] != "quote_changed").collect();
        assert!(written.windows(2).all(|w| w[0] == w[1]), "{id} got different answers: {got:?}");
    }
    // Every wallet at or above zero; the auditor (ledger and book invariants) clean.
    for i in 0..PATIENTS {
        let (s, w) = {
            let r = devs[0]
                .sign(http.get(format!("{u0}/money/patients/{}/wallets", patient(i))))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        };
        assert_eq!(s, 200);
        for x in w["wallets"].as_array().unwrap() {
            assert!(x["available"].as_i64().unwrap() >= 0, "{x}");
        }
    }
    let report = anola_e2e::accounts::get_json(&format!("{u0}/admin/ledger/audit"), &token).await;
    assert_eq!(report["ok"], json!(true), "{report}");
    let charged = receipts.lock().unwrap().len();
    eprintln!(
        "device money simulation: {} ids answered, {charged} charges, {} slots, {kills} server kills, {db_kills} database kills; auditor clean",
        answers.len(),
        report["slots"]
    );
    drop(servers);
}

async fn admin_call(http: &reqwest::Client, token: &str, url: &str, body: Value) {
    let r = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
}
