//! Seeded sponsorship simulation (docs/sponsorship.md): front-desk devices reserve allowances of
//! one narrow sponsorship and charge it offline beyond its caps, settling late and twice;
//! clinicians ask for pre-approvals of another, shorter sponsorship, the sponsor approves or
//! refuses them, and devices charge against the approved ones — sometimes the same one from two
//! devices at once; then that sponsorship's term ends. All through fault-injecting proxies
//! (drops, delays, duplicates, replays) to three server processes on one database, while servers
//! are SIGKILLed and restarted. Afterwards:
//!
//! - every id got one answer however often it was sent;
//! - the narrow sponsorship never spent more in the month than its cap, nor charged more often;
//! - each approved pre-approval's hold was posted by exactly one charge, or released at expiry;
//! - the ended sponsorship returned exactly what it did not spend, once;
//! - the sponsor's report agrees with the ledger, and the auditor is clean.
//!
//! `ANOLA_SPONSOR_SEED`, `ANOLA_SPONSOR_DEVICES` and `ANOLA_SPONSOR_STEPS` reproduce or lengthen a
//! run; a failure prints the seed.

use anola_e2e::accounts::{admin_token, raw_device, RawDevice};
use anola_e2e::fault_proxy::{FaultConfig, FaultProxy};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::sim::Rng;
use anola_e2e::{free_port, now_ms, unique_db};
use anola_protocol::access::Role;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

type Answers = HashMap<String, Vec<(u16, Value)>>;

/// Sends until an answer that is not a network failure or a 5xx; `auth` signs the request.
async fn send(
    http: &reqwest::Client,
    auth: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync),
    urls: &[String],
    pick: usize,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let mut last = String::new();
    for attempt in 0..300 {
        let url = &urls[(pick + attempt) % urls.len()];
        let r = auth(http.request(method.clone(), format!("{url}{path}")))
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
    panic!("no answer for {path} {body} after 300 attempts; last: {last}");
}

fn device_auth(dev: Arc<RawDevice>) -> impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Send + Sync {
    move |r| dev.sign(r)
}

fn lab(quantity: u64) -> Value {
    json!([{"item": "LAB", "quantity": quantity, "unit_price": 25_000}])
}

const PER_PERIOD: u64 = 100_000;
const CHARGES: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sponsorships_keep_their_caps_holds_and_returns_under_faults() {
    let seed: u64 = env_or("ANOLA_SPONSOR_SEED", 0x7370_6f6e_u64 ^ std::process::id() as u64);
    let devices: usize = env_or("ANOLA_SPONSOR_DEVICES", 6);
    let steps: usize = env_or("ANOLA_SPONSOR_STEPS", 12);
    eprintln!("sponsorship simulation: seed={seed} devices={devices} steps={steps}");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!(
            "SPONSORSHIP SIMULATION FAILED — reproduce with ANOLA_SPONSOR_SEED={seed} ANOLA_SPONSOR_DEVICES={devices} ANOLA_SPONSOR_STEPS={steps}"
        );
        hook(info);
    }));

    let ferret = Ferret::start();
    let db = unique_db("sponsorsim");
    let env = [("ANOLA_SWEEP_INTERVAL_SECS", "1")];
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Option<ServerProc>> = ports.iter().map(|p| Some(ServerProc::start(*p, ferret.uri(), &db, &env))).collect();
    let upstreams: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let u0 = upstreams[0].clone();
    let token = admin_token(&u0).await;
    let http = reqwest::Client::new();
    let admin = |r: reqwest::RequestBuilder| r.bearer_auth(token.clone());
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let direct = vec![u0.clone()];

    // The clinic's price, the sponsor with 10,000.00, two beneficiaries.
    let item = json!({"code": "LAB", "name": "Lab test", "kind": "lab_test", "price": 25_000, "currency": "KES", "active": true});
    let r = http
        .put(format!("{u0}/money/prices/LAB"))
        .bearer_auth(&token)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let profile = json!({"id": "hope", "name": "Hope Foundation", "kind": "ngo", "country": "KE", "currency": "KES"});
    assert_eq!(
        send(
            &http,
            &admin,
            &direct,
            0,
            reqwest::Method::PUT,
            "/portal/api/sponsors/hope",
            &profile
        )
        .await
        .0,
        200
    );
    let dep = json!({"id": Uuid::now_v7(), "amount": 1_000_000, "reference": "BANK-1"});
    assert_eq!(
        send(
            &http,
            &admin,
            &direct,
            0,
            reqwest::Method::POST,
            "/admin/sponsors/hope/deposits",
            &dep
        )
        .await
        .0,
        201
    );
    let mut desks = Vec::new();
    for _ in 0..devices {
        desks.push(Arc::new(raw_device(&u0, &clinic, Role::FrontDesk, Role::FrontDesk, None).await));
    }
    let doctor = Arc::new(raw_device(&u0, &clinic, Role::Clinician, Role::Clinician, None).await);
    let people = anola_e2e::seed::patients(
        &desks[0],
        2,
        |i| json!({"clinic_id": clinic, "given_name": format!("P{i}"), "family_name": "Sim", "date_of_birth": "1990-01-01"}),
    );
    let (p1, p2) = (people[0].entity_id.to_string(), people[1].entity_id.to_string());
    anola_e2e::seed::push(&u0, &desks[0], people, 10, 1).await;
    let start = now_ms();
    let narrow = Uuid::now_v7();
    let short = Uuid::now_v7();
    let term_secs: i64 = env_or("ANOLA_SPONSOR_TERM_SECS", 10);
    for (id, patient, ends, extra) in [
        (
            narrow,
            &p1,
            start + 30 * 86_400_000,
            json!({"coverage": {"services": ["lab_test"]}, "caps": {"per_transaction": 30_000, "per_period": PER_PERIOD, "charges_per_period": CHARGES}, "allocation": 400_000}),
        ),
        (
            short,
            &p2,
            start + term_secs * 1_000,
            json!({"caps": {"pre_approval_above": 20_000}, "allocation": 400_000}),
        ),
    ] {
        let mut spec = json!({"id": id, "patient": patient, "programme": "Sim", "country": "KE", "kind": "partial",
            "starts_at": start - 1_000, "ends_at": ends, "recurrence": "one_time", "activate": true});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let (s, b) = send(
            &http,
            &admin,
            &direct,
            0,
            reqwest::Method::POST,
            "/portal/api/sponsors/hope/sponsorships",
            &spec,
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }

    let mut proxies = Vec::new();
    for (k, u) in upstreams.iter().enumerate() {
        proxies.push(FaultProxy::start(u, FaultConfig::chaos(), seed.wrapping_add(k as u64)).await);
    }
    let urls: Vec<String> = proxies.iter().map(|p| p.url()).collect();
    let answers: Arc<Mutex<Answers>> = Arc::default();
    // Approved pre-approvals, for the desks to charge against.
    let approved: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    let record = |answers: &Arc<Mutex<Answers>>, id: &str, got: Vec<(u16, Value)>| {
        answers.lock().unwrap().entry(id.to_owned()).or_default().extend(got);
    };

    // Front desks: allowances of the narrow sponsorship, offline charges beyond its caps settled
    // late and twice; charges against approved pre-approvals of the short one, some from two
    // devices at once.
    for (d, dev) in desks.iter().enumerate() {
        let (http, urls, answers, approved, p1, p2) = (
            http.clone(),
            urls.clone(),
            answers.clone(),
            approved.clone(),
            p1.clone(),
            p2.clone(),
        );
        let auth = device_auth(dev.clone());
        let other = device_auth(desks[(d + 1) % desks.len()].clone());
        let device_id = dev.device_id.clone();
        let mut rng = Rng::new(seed.wrapping_mul(131).wrapping_add(d as u64 + 1));
        tasks.push(tokio::spawn(async move {
            let mut allowances: Vec<String> = Vec::new();
            let mut offline: Vec<Value> = Vec::new();
            for _ in 0..steps {
                let pick = rng.below(3);
                match rng.below(8) {
                    0..=1 => {
                        let id = Uuid::now_v7().to_string();
                        let b = json!({"id": id, "patient": p1, "wallet": format!("SW-{narrow}"), "total": 60_000, "per_charge": 60_000,
                            "max_count": 4, "expires_at": now_ms() + 3_600_000});
                        let got = send(&http, &auth, &urls, pick, reqwest::Method::POST, "/money/allowances", &b).await;
                        assert!(matches!(got.0, 201 | 422), "allowance: {got:?}");
                        if got.0 == 201 {
                            allowances.push(id.clone());
                        }
                        record(&answers, &id, vec![got]);
                    }
                    2..=4 => {
                        let Some(a) = rng.pick(&allowances).cloned() else { continue };
                        offline.push(json!({"id": Uuid::now_v7(), "patient": p1, "lines": lab(1 + rng.below(3) as u64),
                            "desk": {"method": "owed"}, "desk_amount": 0, "offline": {"device": device_id, "made_at": now_ms(),
                            "allowances": [{"allowance": a, "amount": 1 + rng.below(90_000) as u64}]}}));
                    }
                    5 => {
                        if offline.is_empty() {
                            continue;
                        }
                        let b = offline.remove(0);
                        let id = b["id"].as_str().unwrap().to_owned();
                        let (x, y) = tokio::join!(
                            send(&http, &auth, &urls, pick, reqwest::Method::POST, "/money/charges", &b),
                            send(&http, &auth, &urls, pick + 1, reqwest::Method::POST, "/money/charges", &b)
                        );
                        assert_eq!(x.0, 201, "{x:?}");
                        record(&answers, &id, vec![x, y]);
                    }
                    _ => {
                        let Some(pa) = ({
                            let a = approved.lock().unwrap();
                            rng.pick(&a).cloned()
                        }) else {
                            continue;
                        };
                        // Two devices charge against the same pre-approval at once: one posts it.
                        let mk = || {
                            json!({"id": Uuid::now_v7(), "patient": p2, "lines": lab(2), "desk": {"method": "owed"}, "desk_amount": 0, "pre_approval": pa})
                        };
                        let (b1, b2) = (mk(), mk());
                        let (x, y) = tokio::join!(
                            send(&http, &auth, &urls, pick, reqwest::Method::POST, "/money/charges", &b1),
                            send(&http, &other, &urls, pick + 1, reqwest::Method::POST, "/money/charges", &b2)
                        );
                        for (b, got) in [(b1, x), (b2, y)] {
                            assert!(matches!(got.0, 201 | 422), "charge with a pre-approval: {got:?}");
                            record(&answers, b["id"].as_str().unwrap(), vec![got]);
                        }
                    }
                }
            }
            for b in offline {
                let id = b["id"].as_str().unwrap().to_owned();
                let got = send(&http, &auth, &urls, 0, reqwest::Method::POST, "/money/charges", &b).await;
                assert_eq!(got.0, 201, "{got:?}");
                record(&answers, &id, vec![got]);
            }
        }));
    }
    // The clinician asks for pre-approvals; the sponsor decides each (twice, racing).
    {
        let (http, urls, answers, approved, p2, token) = (
            http.clone(),
            urls.clone(),
            answers.clone(),
            approved.clone(),
            p2.clone(),
            token.clone(),
        );
        let auth = device_auth(doctor.clone());
        let mut rng = Rng::new(seed ^ 0x0d0c);
        tasks.push(tokio::spawn(async move {
            let sponsor = move |r: reqwest::RequestBuilder| r.bearer_auth(token.clone());
            for _ in 0..steps {
                tokio::time::sleep(Duration::from_millis(50 + rng.below(200) as u64)).await;
                let id = Uuid::now_v7().to_string();
                let ask = json!({"id": id, "sponsorship": short, "patient": p2, "lines": lab(2), "note": "sim", "valid_days": 7});
                let got = send(
                    &http,
                    &auth,
                    &urls,
                    rng.below(3),
                    reqwest::Method::POST,
                    "/money/pre-approvals",
                    &ask,
                )
                .await;
                assert!(matches!(got.0, 201 | 409 | 422), "ask: {got:?}");
                let asked = got.0 == 201;
                record(&answers, &id, vec![got]);
                if !asked {
                    continue;
                }
                let approve = rng.below(4) != 0;
                let body = json!({"approve": approve, "comment": "sim"});
                let path = format!("/portal/api/sponsors/hope/pre-approvals/{id}/decision");
                let (x, y) = tokio::join!(
                    send(&http, &sponsor, &urls, rng.below(3), reqwest::Method::POST, &path, &body),
                    send(&http, &sponsor, &urls, rng.below(3), reqwest::Method::POST, &path, &body)
                );
                assert!(matches!(x.0, 200 | 409 | 422), "decision: {x:?}");
                if approve && x.0 == 200 {
                    approved.lock().unwrap().push(id.clone());
                }
                record(&answers, &format!("decision-{id}"), vec![x, y]);
            }
        }));
    }

    // Meanwhile, servers die and come back.
    let mut rng = Rng::new(seed);
    let mut kills = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(400 + rng.below(800) as u64)).await;
        let k = rng.below(3);
        if let Some(s) = servers[k].take() {
            s.kill();
            kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
            servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &db, &env));
        }
    }
    for t in tasks {
        t.await.expect("a task");
    }
    // The short sponsorship's term ends; servers keep dying while they sweep.
    while now_ms() < start + term_secs * 1_000 + 1_500 {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(500) as u64)).await;
        let k = rng.below(3);
        if let Some(s) = servers[k].take() {
            s.kill();
            kills += 1;
            servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &db, &env));
        }
    }

    // One answer per id (decisions: the same decision twice is the same answer). A decision
    // refused because nothing is covered (the term ended meanwhile: `expired`, then `not_active`
    // once the sweep ended it) writes nothing, so only the decisions that wrote are compared.
    let answers = answers.lock().unwrap().clone();
    for (id, got) in &answers {
        let written: Vec<_> = got.iter().filter(|(_, v)| v["code"] != "not_covered").collect();
        assert!(written.windows(2).all(|w| w[0] == w[1]), "{id} got different answers: {got:?}");
    }
    // Wait for the sweep to end the short sponsorship (any process).
    let mut rows = Value::Null;
    for _ in 0..200 {
        rows = send(
            &http,
            &admin,
            &direct,
            0,
            reqwest::Method::GET,
            "/portal/api/sponsors/hope/sponsorships",
            &Value::Null,
        )
        .await
        .1;
        let ended = rows
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["row"]["id"] == json!(short) && r["row"]["status"] == "expired");
        if ended {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = |id: Uuid| rows.as_array().unwrap().iter().find(|r| r["row"]["id"] == json!(id)).unwrap()["row"].clone();
    let (n, s) = (row(narrow), row(short));
    assert_eq!(s["status"], "expired", "{s}");
    // The narrow sponsorship kept its month's caps, whatever the devices claimed offline.
    assert!(n["spent"].as_u64().unwrap() <= PER_PERIOD, "{n}");
    assert!(n["charges"].as_u64().unwrap() <= CHARGES, "{n}");
    // The short one returned exactly what it did not spend, once.
    assert_eq!(
        s["returned"].as_u64().unwrap(),
        s["funded"].as_u64().unwrap() - s["spent"].as_u64().unwrap(),
        "{s}"
    );
    assert_eq!(s["held"].as_u64(), Some(0), "{s}");
    // Each approved pre-approval was posted by one charge, or released when the term ended.
    let (_, list) = send(
        &http,
        &admin,
        &direct,
        0,
        reqwest::Method::GET,
        "/portal/api/sponsors/hope/pre-approvals",
        &Value::Null,
    )
    .await;
    let mut used = 0;
    for p in list.as_array().unwrap() {
        let state = p["state"]["state"].as_str().unwrap();
        assert!(matches!(state, "used" | "released" | "refused" | "pending"), "{p}");
        if state == "used" {
            used += 1;
            let receipt = p["state"]["receipt"].as_str().unwrap();
            let posted = answers
                .values()
                .flatten()
                .filter(|(c, v)| *c == 201 && v["pre_approval"].as_str() == p["id"].as_str())
                .filter_map(|(_, v)| v["id"].as_str().map(str::to_owned))
                .collect::<std::collections::BTreeSet<_>>();
            assert_eq!(posted.len(), 1, "one charge posted {}: {posted:?}", p["id"]);
            assert_eq!(posted.iter().next().map(String::as_str), Some(receipt));
        }
    }
    // The report agrees with the ledger; the auditor (invariants 1–14) is clean.
    let (_, report) = send(
        &http,
        &admin,
        &direct,
        0,
        reqwest::Method::GET,
        "/portal/api/sponsors/hope/report",
        &Value::Null,
    )
    .await;
    assert_eq!(report["difference"].as_i64(), Some(0), "{report}");
    let (_, gw) = send(
        &http,
        &admin,
        &direct,
        0,
        reqwest::Method::GET,
        "/money/accounts/GW-hope",
        &Value::Null,
    )
    .await;
    let expected = 1_000_000 - report["allocated"].as_u64().unwrap() + report["returned"].as_u64().unwrap();
    assert_eq!(gw["available"].as_str(), Some(expected.to_string().as_str()), "{gw} {report}");
    let audit = anola_e2e::accounts::get_json(&format!("{u0}/admin/ledger/audit"), &token).await;
    assert_eq!(audit["ok"], json!(true), "{audit}");
    eprintln!(
        "sponsorship simulation: {} ids answered, narrow spent {} in {} charges, {used} pre-approvals posted, short returned {}, {kills} server kills; auditor clean",
        answers.len(),
        n["spent"],
        n["charges"],
        s["returned"]
    );
    drop(servers);
}
