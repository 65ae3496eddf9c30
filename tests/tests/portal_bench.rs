//! Benchmark (ignored in the test command; docs/benchmarks.md quotes it): what the web portal adds
//! per sync request (the fleet record, one `{_id}` upsert) and what the fleet view costs, with a
//! few and with many devices' status documents in the collection — the cost must not grow with
//! the fleet of other clinics.
//!
//! `cargo build --release --workspace --bins && ANOLA_PROFILE=release cargo test --release -p anola-e2e --test portal_bench -- --ignored --nocapture`

use anola_e2e::accounts::{admin_token, raw_device, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use mongodb::bson::doc;
use serde_json::json;
use std::time::Instant;

const DEVICES: usize = 20;
const PULLS: usize = 200;
const VIEWS: usize = 50;

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn idle_pulls(http: &reqwest::Client, url: &str, devs: &[RawDevice], with_report: bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(PULLS);
    for i in 0..PULLS {
        let d = &devs[i % devs.len()];
        let mut body = json!({"protocol_version": 3, "device_id": d.device_id, "clinic_id": d.clinic_id, "limit": 1});
        if with_report {
            body["status"] = json!({"app_version": "0.1.0", "pending": i, "rejected": 0, "last_error": null});
        }
        let t = Instant::now();
        let r = http
            .post(format!("{url}/sync/pull"))
            .bearer_auth(&d.access_token)
            .header(anola_protocol::auth::DEVICE_KEY_HEADER, d.device_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let _ = r.bytes().await.unwrap();
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

/// The fleet record alone, as the server writes it (one upsert by `_id`), from the driver.
async fn raw_records(coll: &mongodb::Collection<mongodb::bson::Document>) -> Vec<f64> {
    let mut out = Vec::with_capacity(PULLS);
    for i in 0..PULLS {
        let hour = 1_796_000_000_000i64;
        let update = doc! {
            "$set": {"clinic_id": "bench", "last_seen_ms": hour, "last_ok_ms": hour},
            "$inc": {format!("hours.{hour}.ok"): 1i64},
            "$unset": {format!("hours.{}", hour - 49 * 3_600_000): ""},
        };
        let t = Instant::now();
        coll.update_one(doc! {"_id": format!("dev_raw_{}", i % DEVICES)}, update)
            .upsert(true)
            .await
            .unwrap();
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

async fn fleet_views(http: &reqwest::Client, url: &str, token: &str, clinic: &str) -> Vec<f64> {
    let mut out = Vec::with_capacity(VIEWS);
    for _ in 0..VIEWS {
        let t = Instant::now();
        let r = http
            .get(format!("{url}/portal/api/clinics/{clinic}/fleet"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["devices"].as_array().unwrap().len(), DEVICES);
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly (see the module docs)"]
async fn fleet_recording_and_view_cost() {
    let ferret = Ferret::start();
    let db = unique_db("portalbench");
    let server = ServerProc::start(free_port(), ferret.uri(), &db, &[]);
    let url = server.url();
    let http = reqwest::Client::new();
    let clinic = "bench";
    let mut devs = Vec::new();
    for _ in 0..DEVICES {
        devs.push(raw_device(&url, clinic, Role::FrontDesk, Role::FrontDesk, None).await);
    }
    let token = admin_token(&url).await;
    let coll = ferret
        .client()
        .await
        .database(&db)
        .collection::<mongodb::bson::Document>("device_status");
    println!("| other devices' status documents | the fleet record alone (driver upsert) p50 / p95 (ms) | idle pull p50 / p95 (ms), no report | with report | fleet view of {DEVICES} devices p50 / p95 (ms) |");
    println!("|---|---|---|---|---|");
    let mut others = 0usize;
    for target in [0usize, 10_000] {
        // Status documents of other clinics' devices, as a large platform would hold.
        let mut batch = Vec::new();
        while others < target {
            let hour = 1_796_000_000_000i64 - (others as i64 % 48) * 3_600_000;
            batch.push(
                doc! {"_id": format!("dev_other_{others}"), "clinic_id": format!("c{}", others / 20), "last_seen_ms": hour,
                "last_ok_ms": hour, "hours": {hour.to_string(): {"ok": 3i64, "failed": 0i64}}},
            );
            others += 1;
            if batch.len() == 1000 || others == target {
                coll.insert_many(std::mem::take(&mut batch)).await.unwrap();
            }
        }
        let raw = raw_records(&coll).await;
        let plain = idle_pulls(&http, &url, &devs, false).await;
        let reported = idle_pulls(&http, &url, &devs, true).await;
        let views = fleet_views(&http, &url, &token, clinic).await;
        println!(
            "| {target} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} |",
            percentile(raw.clone(), 0.5),
            percentile(raw, 0.95),
            percentile(plain.clone(), 0.5),
            percentile(plain, 0.95),
            percentile(reported.clone(), 0.5),
            percentile(reported, 0.95),
            percentile(views.clone(), 0.5),
            percentile(views, 0.95)
        );
    }
}
