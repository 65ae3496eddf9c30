//! A clinic's first sync over a poor link (about 256 kbit/s, 300 ms round trip, 2 % loss; see
//! `tests/src/slow_link.rs` for why a proxy and not netem), cut in the middle: the device keeps
//! every page it finished, and the next sync resumes where the cut left it instead of starting over.
//!
//! `ANOLA_POOR_LINK_PATIENTS` sets the clinic's size (default 2,000; docs/benchmarks.md has a
//! larger run and the command that made it).

use anola_e2e::accounts::{self, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::seed;
use anola_e2e::slow_link::{LinkShape, SlowLink};
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use serde_json::json;
use std::time::Instant;

/// Patients per push: each push is one change-log entry, so a 64-entry bucket (the smallest page)
/// holds 512 of them, and a clinic's first sync takes several pages.
const PER_PUSH: usize = 8;
const GIVEN: [&str; 5] = ["Amina", "Baraka", "Chausiku", "Daudi", "Eshe"];

async fn seed(url: &str, dev: &RawDevice, patients: usize) {
    let creates = seed::patients(dev, patients, |i| {
        json!({
            "given_name": GIVEN[i % GIVEN.len()],
            "family_name": format!("Poorlink{i:06}"),
            "date_of_birth": format!("{:04}-{:02}-{:02}", 1940 + i % 80, 1 + i % 12, 1 + i % 28),
            "phone": format!("+2547{:08}", 10_000_000 + i),
            "address": {"city": "Lodwar", "country": "Kenya"},
            "clinic_id": "main",
        })
    });
    seed::push(url, dev, creates, PER_PUSH, 4).await;
}

/// Patients on the device (a list shows at most 1,000: count them by thousands of family names).
fn patients_on(device: &Device, n: usize) -> usize {
    (0..=n / 1000)
        .map(|k| {
            device
                .ok(&["patient", "list", &format!("poorlink{k:03}"), "--limit", "1000"])
                .as_array()
                .unwrap()
                .len()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_sync_over_a_poor_link_survives_a_cut_and_resumes() {
    let n: usize = std::env::var("ANOLA_POOR_LINK_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("poorlink"), &accounts::server_env());
    let url = server.url();
    let seeder = accounts::raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    seed(&url, &seeder, n).await;
    let link = SlowLink::start(&url, LinkShape::rural(7)).await;
    let dirs = tempfile::tempdir().unwrap();

    // A whole first sync over the link, for its time and bytes.
    let (dir_a, url_a) = (dirs.path().join("a"), url.clone());
    let mut a = tokio::task::spawn_blocking(move || Device::new(&dir_a, &url_a)).await.unwrap();
    a.server = link.url();
    let (up0, down0) = link.bytes();
    let t = Instant::now();
    let a_sync = {
        let a = Device {
            dir: a.dir.clone(),
            server: a.server.clone(),
            username: a.username.clone(),
        };
        tokio::task::spawn_blocking(move || a.ok(&["sync"])).await.unwrap()
    };
    let secs = t.elapsed().as_secs_f64();
    let (up1, down1) = link.bytes();
    let r = &a_sync["report"];
    println!(
        "first sync of {n} patients over the poor link: {secs:.1} s, {} pages, {} bytes of JSON received as {} on the wire ({:.1} %); link carried {} bytes down, {} up (with sign-in)",
        r["pull_pages"], r["bytes_received"], r["wire_bytes_received"],
        100.0 * r["wire_bytes_received"].as_f64().unwrap() / r["bytes_received"].as_f64().unwrap(),
        down1 - down0, up1 - up0
    );
    let pages = r["pull_pages"].as_u64().unwrap();
    assert!(pages >= 3, "the clinic's first sync takes several pages ({pages})");

    // Another device, and the link cut part-way through its first sync.
    let (dir_b, url_b) = (dirs.path().join("b"), url.clone());
    let mut b = tokio::task::spawn_blocking(move || Device::new(&dir_b, &url_b)).await.unwrap();
    b.server = link.url();
    let one_page = (down1 - down0) / pages;
    link.cut_after_down_bytes(one_page * 2 + one_page / 2);
    let cut = {
        let b = Device {
            dir: b.dir.clone(),
            server: b.server.clone(),
            username: b.username.clone(),
        };
        tokio::task::spawn_blocking(move || b.run(&["sync"])).await.unwrap()
    };
    assert_eq!(cut.code, 3, "a cut link reads as offline: {} {}", cut.json, cut.stderr);
    link.restore();
    let kept = {
        let b = Device {
            dir: b.dir.clone(),
            server: b.server.clone(),
            username: b.username.clone(),
        };
        tokio::task::spawn_blocking(move || patients_on(&b, n)).await.unwrap()
    };
    assert!(kept > 0 && kept < n, "the pages finished before the cut are kept: {kept} of {n}");

    let t = Instant::now();
    let resumed = {
        let b = Device {
            dir: b.dir.clone(),
            server: b.server.clone(),
            username: b.username.clone(),
        };
        tokio::task::spawn_blocking(move || b.ok(&["sync"])).await.unwrap()
    };
    let pulled = resumed["report"]["pulled"].as_u64().unwrap() as usize;
    println!(
        "cut after {kept} patients; the next sync pulled {pulled} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(pulled < n, "resumed, not started over: pulled {pulled} of {n}");
    assert!(pulled + kept >= n, "nothing missing: {kept} kept + {pulled} pulled < {n}");
    let all = tokio::task::spawn_blocking(move || patients_on(&b, n)).await.unwrap();
    assert_eq!(all, n, "every patient arrived exactly once");
    drop(a);
}
