//! `anola-device-bench`: the device's replica at a clinic's size, measured where the app uses it.
//!
//! Fills a real (encrypted) replica with N patients through the same page apply a first sync
//! uses, then times: search-as-you-type over them (`Clinic::list_patients`' query, the app's patient
//! search) for several kinds of query, and opening the replica cold (what the app does at
//! sign-in before its first screen), with the process's resident memory.
//!
//! `cargo build --release -p anola-e2e --bin anola-device-bench && target/release/anola-device-bench
//! --patients 100000`

use anola_client::store::LocalStore;
use anola_client::DataKey;
use anola_e2e::bench_docs::numeric_arg;
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, Hlc, LwwState};
use std::time::{Duration, Instant};
use uuid::Uuid;

const GIVEN: &[&str] = &[
    "Amina", "Baraka", "Chausiku", "Daudi", "Eshe", "Faraji", "Gathoni", "Hamisi", "Imani", "Jabari", "Kamaria", "Lulu", "Makena", "Nuru",
    "Omari", "Pendo", "Rehema", "Sefu", "Tumaini", "Zawadi",
];
const FAMILY: &[&str] = &[
    "Okafor", "Mwangi", "Otieno", "Wanjiru", "Kamau", "Achieng", "Njoroge", "Odhiambo", "Kiprono", "Chebet", "Mutua", "Wambui", "Omondi",
    "Nyambura", "Kariuki", "Auma", "Kiplagat", "Njeri", "Onyango", "Waweru", "Adongo", "Barasa", "Cherono", "Ekiru", "Gitau", "Jeptoo",
    "Kemunto", "Lokwawi", "Makori", "Nasimiyu",
];

fn patient(i: usize, now: u64) -> ChangeRecord {
    let fields = serde_json::json!({
        "given_name": GIVEN[i % GIVEN.len()],
        "family_name": format!("{}{}", FAMILY[(i / GIVEN.len()) % FAMILY.len()], if i.is_multiple_of(7) { "-Ochieng" } else { "" }),
        "date_of_birth": format!("{:04}-{:02}-{:02}", 1940 + i % 80, 1 + (i / 80) % 12, 1 + (i / 960) % 28),
        "gender": if i.is_multiple_of(2) { "female" } else { "male" },
        "phone": format!("+2547{:08}", (i * 7_919) % 100_000_000),
        "national_id": format!("NID{i:09}"),
        "address": {"city": "Kisumu", "country": "Kenya"},
        "clinic_id": "main",
    });
    let hlc = Hlc::new(now, i as u32, "bench");
    ChangeRecord {
        entity: EntityKind::Patient,
        id: Uuid::now_v7(),
        state: Some(LwwState::from_fields(fields.as_object().expect("object"), &hlc)),
        doc: None,
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn pct(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3
}

fn main() {
    let n = numeric_arg("--patients", 100_000);
    let reps = numeric_arg("--queries", 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let key = DataKey::from_bytes([7; 32]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    let t = Instant::now();
    {
        let mut store = LocalStore::open(dir.path(), &key).expect("open replica");
        let page = 4_000;
        for start in (0..n).step_by(page) {
            let changes: Vec<ChangeRecord> = (start..(start + page).min(n)).map(|i| patient(i, now)).collect();
            for part in changes.chunks(anola_client::store::pull::APPLY_CHUNK) {
                store.apply_pull_chunk(part, false, None).expect("apply");
            }
        }
    }
    let fill = t.elapsed().as_secs_f64();
    println!(
        "filled a replica with {n} patients through the pull apply in {fill:.1} s ({:.0} rows/s)",
        n as f64 / fill
    );

    // Cold open: the replica opened as the app opens it at sign-in, then its first screen (the
    // most recent patients).
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let store = LocalStore::open(dir.path(), &key).expect("open replica");
        let first = store.list_patients("", 50).expect("first screen");
        assert_eq!(first.len(), 50.min(n));
        opens.push(t.elapsed());
    }
    let store = LocalStore::open(dir.path(), &key).expect("open replica");
    println!(
        "open the replica and list the first screen: median {:.1} ms, max {:.1} ms; process RSS {} MiB",
        pct(&mut opens.clone(), 0.5),
        pct(&mut opens, 1.0),
        rss_kb() / 1024
    );

    type Query = Box<dyn Fn(usize) -> String>;
    let kinds: Vec<(&str, Query)> = vec![
        ("family name", Box::new(|i| FAMILY[i % FAMILY.len()].to_lowercase())),
        (
            "first 3 letters of a family name",
            Box::new(|i| FAMILY[i % FAMILY.len()][..3].to_lowercase()),
        ),
        (
            "given and family name",
            Box::new(|i| format!("{} {}", GIVEN[i % GIVEN.len()], FAMILY[(i * 3) % FAMILY.len()])),
        ),
        ("phone digits", Box::new(|i| format!("7{:06}", (i * 7_919) % 1_000_000))),
        ("national id", Box::new(move |i| format!("nid{:09}", (i * 7_919) % n))),
        ("a name no one has", Box::new(|i| format!("zzq{i}"))),
    ];
    println!("\n| query | results (median) | p50 ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|");
    for (label, make) in &kinds {
        let mut t = Vec::with_capacity(reps);
        let mut counts = Vec::with_capacity(reps);
        for i in 0..reps {
            let q = make(i);
            let start = Instant::now();
            let found = store.list_patients(&q, 50).expect("search");
            let took = start.elapsed();
            if took > Duration::from_millis(50) && std::env::var_os("ANOLA_BENCH_SLOW").is_some() {
                eprintln!("slow: {q:?} {:.1} ms", took.as_secs_f64() * 1e3);
            }
            t.push(took);
            counts.push(found.len());
        }
        counts.sort_unstable();
        println!(
            "| {label} | {} | {:.2} | {:.2} | {:.2} |",
            counts[counts.len() / 2],
            pct(&mut t.clone(), 0.5),
            pct(&mut t.clone(), 0.99),
            pct(&mut t, 1.0)
        );
    }
    println!("\nprocess RSS at the end: {} MiB", rss_kb() / 1024);
}
