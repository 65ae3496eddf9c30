//! `anola-live-bench`: how long another device's change takes to appear on each online device,
//! with many devices online at once.
//!
//! Starts FerretDB and `--servers` sync server processes on one database, enrols `--devices`
//! observer devices and one writer (each a real `Workstation` → `Clinic` with its own encrypted
//! replica, signed in the way the app does, with its background sync task running: rounds, then
//! live pulls the server holds), spread over the servers. The writer registers `--writes`
//! patients one after another; for each, the time until every observer's own replica lists it.
//!
//! `cargo build --release -p anola-sync-server -p anola-e2e --bin anola-sync-server --bin
//! anola-live-bench && ANOLA_PROFILE=release target/release/anola-live-bench --devices 50`

use anola_e2e::bench_docs::numeric_arg;
use anola_e2e::ferret::Ferret;
use anola_e2e::live::{quantile, register, seen_by};
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{accounts, free_port, unique_db};
use anola_protocol::Role;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let devices = numeric_arg("--devices", 50);
    let writes = numeric_arg("--writes", 20);
    let servers = numeric_arg("--servers", 1).max(1);
    let ferret = Ferret::start();
    let db = unique_db("live");
    let procs: Vec<ServerProc> = (0..servers)
        .map(|_| ServerProc::start(free_port(), ferret.uri(), &db, &accounts::server_env()))
        .collect();
    let dirs = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let (_w, writer) = enrolled(&dirs.path().join("writer"), &procs[0].url(), "main", Role::Clinician, None).await;
    let mut keep = Vec::new();
    let mut observers = Vec::new();
    for i in 0..devices {
        let url = procs[(i + 1) % servers].url();
        let (ws, clinic) = enrolled(&dirs.path().join(format!("d{i}")), &url, "main", Role::FrontDesk, None).await;
        keep.push(ws);
        observers.push(clinic);
    }
    eprintln!(
        "{} devices enrolled and signed in on {servers} server process(es) in {:.1} s",
        devices + 1,
        t.elapsed().as_secs_f64()
    );
    writer.start_background_sync();
    for o in &observers {
        o.start_background_sync();
    }
    // Every device's first round, then their live pulls.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut all = Vec::new();
    let mut missed = 0usize;
    for w in 0..writes {
        let family = format!("Livebench{w:04}");
        let t0 = Instant::now();
        register(&writer, &family);
        let seen = seen_by(&observers, &family, t0, Duration::from_secs(30)).await;
        let got: Vec<Duration> = seen.iter().flatten().copied().collect();
        missed += seen.len() - got.len();
        let mut sorted = got.clone();
        eprintln!(
            "write {w}: seen by {}/{} devices, p50 {:.0} ms, max {:.0} ms",
            got.len(),
            observers.len(),
            ms(quantile(&mut sorted, 0.5)),
            ms(quantile(&mut sorted, 1.0))
        );
        all.extend(got);
        // Writes a little apart, as at a front desk.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let n = all.len();
    println!(
        "\n| devices online | server processes | writes | samples | p50 ms | p90 ms | p99 ms | max ms | not seen within 30 s |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    println!(
        "| {} | {servers} | {writes} | {n} | {:.0} | {:.0} | {:.0} | {:.0} | {missed} |",
        devices + 1,
        ms(quantile(&mut all, 0.5)),
        ms(quantile(&mut all, 0.9)),
        ms(quantile(&mut all, 0.99)),
        ms(quantile(&mut all, 1.0)),
    );
}
