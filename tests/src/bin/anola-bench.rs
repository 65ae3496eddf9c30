//! `anola-bench`: end-to-end throughput of the sync system on this machine, in one run.
//!
//! Starts a private FerretDB (SQLite backend) and the release sync server, seeds a clinic through
//! the real push API, times a first sync and an incremental sync with the release `anola` CLI,
//! times single pull pages at several log positions, and measures raw FerretDB and SQLite rates in
//! the same run, so the ratios compare like with like. `--write-docs` writes the results into
//! docs/benchmarks.md (one section per `--name`, replaced by name).
//!
//! Build once: `cargo build --release -p anola-sync-server -p anola-cli -p anola-e2e --bin
//! anola-sync-server --bin anola --bin anola-bench`, then run `target/release/anola-bench --help`.
//! Everything talks to 127.0.0.1 only; FerretDB, the server and temp directories are removed at
//! the end (also on an error or Ctrl-C).
//!
//! The server requires authentication: the bench's pushers and plain-HTTP pullers are devices
//! enrolled in clinic `CLINIC` with a clinician signed in on each (`accounts::raw_device`), and the
//! CLI's data directory is enrolled with a one-time code before anything is timed.

#[path = "anola_bench/gen.rs"]
mod gen;
#[path = "anola_bench/raw.rs"]
mod raw;
#[path = "anola_bench/report.rs"]
mod report;
#[path = "anola_bench/steps.rs"]
mod steps;

use anola_e2e::accounts::{self, Enrolment, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_protocol::{Cursor, Mutation, PullRequest, PullResponse, PushRequest, PushResponse, Role, PROTOCOL_VERSION};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const CLINIC: &str = "bench";
const USAGE: &str = "anola-bench: end-to-end sync benchmark (FerretDB + release server + release CLI)

Options:
  --patients N       patients to seed (default 2000)
  --appointments N   appointments to seed (default 6000)
  --records N        medical records to seed (default 10000)
  --incremental K    new patients pushed by a second device, then pulled (default 10000)
  --pushers N        concurrent pushers while seeding (default 4)
  --batch N          mutations per push, at most 500 (default 500)
  --name NAME        section name in docs/benchmarks.md (default: small for the defaults, else P-A-R)
  --note TEXT        a note printed under the section title (e.g. why a larger config was not run)
  --write-docs       write/replace the section in docs/benchmarks.md
  --docs PATH        the document to write (default <workspace>/docs/benchmarks.md)
  --sync-timeout S   longest a single `anola sync` may run, seconds (default 3600)
  --probe N          mutations in each single-push probe at the end: fresh creates, the same push
                     replayed, edits of existing patients (default 10; 0 skips them)
  --raw-pull-pages N after the first sync, pull the whole log again over plain HTTP without
                     applying it (0, the default), or only N pages spread evenly over the log
                     (to save time on large logs; the rate is then an estimate from those pages)

The server and CLI binaries come from target/$ANOLA_PROFILE (default release).
The issue's full configuration: --patients 100000 --appointments 300000 --records 500000";

#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub patients: usize,
    pub appointments: usize,
    pub records: usize,
    pub incremental: usize,
    pub pushers: usize,
    pub batch: usize,
    pub note: Option<String>,
    pub write_docs: bool,
    pub docs: PathBuf,
    pub sync_timeout: Duration,
    pub raw_pull_pages: u64,
    pub probe: usize,
    pub command: String,
}

fn parse_args() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut c = Config {
        name: String::new(),
        patients: 2000,
        appointments: 6000,
        records: 10_000,
        incremental: 10_000,
        pushers: 4,
        batch: 500,
        note: None,
        write_docs: false,
        docs: anola_e2e::workspace_root().join("docs/benchmarks.md"),
        sync_timeout: Duration::from_secs(3600),
        raw_pull_pages: 0,
        probe: 10,
        command: String::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let num = |s: String, name: &str| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("{name}: not a number: {s}"))
        };
        match a.as_str() {
            "--patients" => c.patients = num(val(a)?, a)?,
            "--appointments" => c.appointments = num(val(a)?, a)?,
            "--records" => c.records = num(val(a)?, a)?,
            "--incremental" => c.incremental = num(val(a)?, a)?,
            "--pushers" => c.pushers = num(val(a)?, a)?,
            "--batch" => c.batch = num(val(a)?, a)?,
            "--name" => c.name = val(a)?,
            "--note" => c.note = Some(val(a)?),
            "--docs" => c.docs = PathBuf::from(val(a)?),
            "--sync-timeout" => c.sync_timeout = Duration::from_secs(num(val(a)?, a)? as u64),
            "--raw-pull-pages" => c.raw_pull_pages = num(val(a)?, a)? as u64,
            "--probe" => c.probe = num(val(a)?, a)?.min(anola_protocol::MAX_PUSH_BATCH),
            "--write-docs" => c.write_docs = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if c.patients == 0 {
        return Err("--patients must be at least 1 (appointments and records refer to patients)".into());
    }
    if !(1..=anola_protocol::MAX_PUSH_BATCH).contains(&c.batch) {
        return Err(format!("--batch must be 1..={}", anola_protocol::MAX_PUSH_BATCH));
    }
    if !(1..=64).contains(&c.pushers) {
        return Err("--pushers must be 1..=64".into());
    }
    if c.name.is_empty() {
        c.name = if (c.patients, c.appointments, c.records) == (2000, 6000, 10_000) {
            "small".into()
        } else {
            format!("{}-{}-{}", c.patients, c.appointments, c.records)
        };
    }
    if !c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
        return Err("--name: letters, digits, '-', '_' and '.' only".into());
    }
    let mut cmd = String::from("target/release/anola-bench");
    for a in &args {
        if a.is_empty() || a.contains(|ch: char| ch.is_whitespace() || "'\"$`\\".contains(ch)) {
            cmd.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        } else {
            cmd.push(' ');
            cmd.push_str(a);
        }
    }
    c.command = cmd;
    Ok(c)
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    // Before any thread exists: the harness finds binaries by this, and the bench always uses its
    // own private FerretDB on 127.0.0.1 (never a shared MONGODB_URI).
    if std::env::var_os("ANOLA_PROFILE").is_none() {
        std::env::set_var("ANOLA_PROFILE", "release");
    }
    if std::env::var_os("MONGODB_URI").is_some() {
        eprintln!("note: ignoring MONGODB_URI; the bench starts its own FerretDB on 127.0.0.1");
        std::env::remove_var("MONGODB_URI");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(cfg) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    // Dropping the runtime drops whatever `run` still held (FerretDB, server, temp dirs).
    drop(rt);
    if let Err(e) = outcome {
        eprintln!("anola-bench: {e}");
        std::process::exit(1);
    }
}

/// Removes the server's log file when the run ends (the harness writes it to the temp dir).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[{}] {}", clock(), msg.as_ref());
}

fn clock() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

// ---------------------------------------------------------------------------------------------
// Machine facts

pub fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn meminfo_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    s.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub date_utc: String,
    pub nproc: usize,
    pub cpu: String,
    pub mem_kb: u64,
    pub kernel: String,
    pub ferretdb: String,
    pub profile: String,
    /// The source the binaries were built from (git commit, and whether server/client code had
    /// uncommitted changes).
    pub source: String,
    pub load_start: String,
    pub load_end: String,
}

/// `commit abc1234` (read-only git calls; `--no-optional-locks` keeps git from touching the index).
fn source_revision() -> String {
    let root = anola_e2e::workspace_root();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("--no-optional-locks")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        None => "an unknown revision".into(),
        Some(rev) => {
            let dirty =
                git(&["status", "--porcelain", "--untracked-files=no", "--", "sync-server", "crates"]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("commit {rev} with uncommitted changes in sync-server/ or crates/")
            } else {
                format!("commit {rev}")
            }
        }
    }
}

fn machine() -> Machine {
    let t = time::OffsetDateTime::now_utc();
    Machine {
        date_utc: format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute()
        ),
        nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cpu: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split_once(':').map(|x| x.1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into()),
        mem_kb: meminfo_kb("MemTotal").unwrap_or(0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        ferretdb: String::new(),
        profile: std::env::var("ANOLA_PROFILE").unwrap_or_default(),
        source: source_revision(),
        load_start: loadavg(),
        load_end: String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Requests sent again after no answer or a 5xx, over the whole run.
static RETRIES: AtomicUsize = AtomicUsize::new(0);

/// POSTs a JSON body as device `dev` (its device key and its staff member's access token);
/// retries a few times on no answer or a 5xx (pushes and pulls are idempotent).
async fn post(http: &reqwest::Client, dev: &RawDevice, url: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    post_n(http, dev, url, body, 4).await
}

async fn post_n(http: &reqwest::Client, dev: &RawDevice, url: &str, body: &[u8], attempts: usize) -> Result<Vec<u8>, String> {
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            RETRIES.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        match dev
            .sign(http.post(url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
        {
            Err(e) => last = format!("{url}: {e}"),
            Ok(resp) => {
                let status = resp.status();
                let bytes = resp.bytes().await.map_err(|e| format!("{url}: reading body: {e}"))?.to_vec();
                if status.is_success() {
                    return Ok(bytes);
                }
                last = format!("{url}: {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(600)]));
                if !status.is_server_error() {
                    return Err(last);
                }
            }
        }
        if attempt + 1 < attempts {
            log(format!("retrying after: {last}"));
        }
    }
    Err(last)
}

#[derive(Debug, Clone, Default)]
pub struct PushPhase {
    pub label: String,
    pub pushers: usize,
    pub mutations: usize,
    pub secs: f64,
    pub requests: usize,
    pub latencies_ms: Vec<f64>,
    pub statuses: BTreeMap<String, usize>,
    pub bytes_sent: u64,
    /// The first mutation id of every batch, by batch start (for point-read timings).
    pub sample_ids: Vec<(usize, String)>,
    /// Server-side time per push step, from the server's log.
    pub steps: steps::StepStats,
    /// Requests sent again (no answer or a 5xx) during the phase.
    pub retries: usize,
    /// Set when the phase did not complete (probes only; seeding stops the run).
    pub error: Option<String>,
}

impl PushPhase {
    pub fn rate(&self) -> f64 {
        self.mutations as f64 / self.secs.max(1e-9)
    }
    pub fn mean_latency_ms(&self) -> f64 {
        self.latencies_ms.iter().sum::<f64>() / self.latencies_ms.len().max(1) as f64
    }
    pub fn pct_ms(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[((v.len() - 1) as f64 * p).round() as usize]
    }
}

/// Pushes `total` mutations made by `make(i)` in batches as device `dev` (every mutation's author
/// is the staff member signed in on it), with `pushers` concurrent requests, printing progress
/// every 5 s.
#[allow(clippy::too_many_arguments)]
async fn push_phase<F>(
    http: &reqwest::Client,
    server: &str,
    dev: &RawDevice,
    label: &str,
    total: usize,
    batch: usize,
    pushers: usize,
    make: F,
) -> Result<PushPhase, String>
where
    F: Fn(usize) -> Mutation + Sync,
{
    push_phase_n(http, server, dev, label, total, batch, pushers, 4, make).await
}

/// `push_phase` with `attempts` tries per request.
#[allow(clippy::too_many_arguments)]
async fn push_phase_n<F>(
    http: &reqwest::Client,
    server: &str,
    dev: &RawDevice,
    label: &str,
    total: usize,
    batch: usize,
    pushers: usize,
    attempts: usize,
    make: F,
) -> Result<PushPhase, String>
where
    F: Fn(usize) -> Mutation + Sync,
{
    let retries0 = RETRIES.load(Ordering::Relaxed);
    let url = format!("{server}/sync/push");
    let next = AtomicUsize::new(0);
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let progress = {
        let (done, stop, label) = (done.clone(), stop.clone(), label.to_owned());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let d = done.load(Ordering::Relaxed);
                let s = started.elapsed().as_secs_f64();
                log(format!(
                    "{label}: {d}/{total} pushed, {:.0} mutations/s, {s:.0} s",
                    d as f64 / s.max(1e-9)
                ));
            }
        })
    };
    let worker = || async {
        let mut lat = Vec::new();
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut sent = 0u64;
        let mut samples = Vec::new();
        loop {
            let start = next.fetch_add(batch, Ordering::Relaxed);
            if start >= total {
                break;
            }
            let end = (start + batch).min(total);
            let req = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: dev.device_id.clone(),
                clinic_id: CLINIC.to_owned(),
                mutations: (start..end)
                    .map(|i| {
                        dev.signed(Mutation {
                            author: Some(dev.user_id),
                            signature: None,
                            ..make(i)
                        })
                    })
                    .collect(),
                audit: Vec::new(),
            };
            samples.push((start, req.mutations[0].id.to_string()));
            let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
            sent += body.len() as u64;
            let t = Instant::now();
            let answer = post_n(http, dev, &url, &body, attempts).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            let resp: PushResponse = serde_json::from_slice(&answer).map_err(|e| format!("push answer: {e}"))?;
            if resp.results.len() != end - start {
                return Err(format!(
                    "push answered {} results for {} mutations",
                    resp.results.len(),
                    end - start
                ));
            }
            for r in resp.results {
                let key = serde_json::to_value(r.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let key = match r.code {
                    Some(c) => format!("{key} ({c})"),
                    None => key,
                };
                *statuses.entry(key).or_default() += 1;
            }
            done.fetch_add(end - start, Ordering::Relaxed);
        }
        Ok::<_, String>((lat, statuses, sent, samples))
    };
    let results = futures::future::join_all((0..pushers).map(|_| worker())).await;
    stop.store(true, Ordering::Relaxed);
    progress.abort();
    let secs = started.elapsed().as_secs_f64();
    let mut phase = PushPhase {
        label: label.to_owned(),
        pushers,
        mutations: total,
        secs,
        ..Default::default()
    };
    for r in results {
        let (lat, statuses, sent, samples) = r?;
        phase.sample_ids.extend(samples);
        phase.requests += lat.len();
        phase.latencies_ms.extend(lat);
        for (k, v) in statuses {
            *phase.statuses.entry(k).or_default() += v;
        }
        phase.bytes_sent += sent;
    }
    phase.sample_ids.sort();
    phase.retries = RETRIES.load(Ordering::Relaxed) - retries0;
    log(format!(
        "{label}: {total} mutations in {secs:.1} s = {:.0}/s ({} requests, results {:?})",
        phase.rate(),
        phase.requests,
        phase.statuses
    ));
    Ok(phase)
}

fn pull_body(device: &str, cursor: Option<String>) -> Vec<u8> {
    serde_json::to_vec(&PullRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: device.to_owned(),
        clinic_id: CLINIC.to_owned(),
        field_worker_id: None,
        cursor,
        limit: Some(anola_protocol::DEFAULT_PULL_LIMIT),
        status: None,
    })
    .expect("pull requests serialize")
}

#[derive(Debug, Clone, Default)]
pub struct RawPull {
    pub pages: u64,
    pub records: u64,
    pub bytes: u64,
    /// Waiting for the server's answers (request sent → body received).
    pub http_secs: f64,
    /// Decoding the answers (serde_json into protocol types).
    pub decode_secs: f64,
    pub secs: f64,
    /// Only some pages were pulled (spread over the log): the rates are estimates.
    pub sampled: bool,
}

/// Pulls the whole log over HTTP as device `dev` without applying anything (what the server and
/// the wire cost).
async fn pull_all_raw(http: &reqwest::Client, dev: &RawDevice, server: &str) -> Result<RawPull, String> {
    let url = format!("{server}/sync/pull");
    let mut out = RawPull::default();
    let mut cursor: Option<String> = None;
    let started = Instant::now();
    for _ in 0..10_000_000u64 {
        let t = Instant::now();
        let bytes = post(http, dev, &url, &pull_body(&dev.device_id, cursor.clone())).await?;
        out.http_secs += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let page: PullResponse = serde_json::from_slice(&bytes).map_err(|e| format!("pull answer: {e}"))?;
        out.decode_secs += t.elapsed().as_secs_f64();
        out.pages += 1;
        out.records += page.changes.len() as u64;
        out.bytes += bytes.len() as u64;
        if !page.has_more {
            out.secs = started.elapsed().as_secs_f64();
            return Ok(out);
        }
        if cursor.as_deref() == Some(page.cursor.as_str()) {
            return Err("a pull page with has_more did not move the cursor".into());
        }
        cursor = Some(page.cursor);
    }
    Err("the log did not end within 10 million pages".into())
}

/// Pulls `pages` single pages from cursors spread evenly over the log's full buckets, without
/// applying them: the HTTP-only rate of a long log without pulling all of it.
async fn pull_sample_raw(http: &reqwest::Client, dev: &RawDevice, server: &str, log_len: u64, pages: u64) -> Result<RawPull, String> {
    let url = format!("{server}/sync/pull");
    let buckets = log_len / 64;
    let mut out = RawPull {
        sampled: true,
        ..Default::default()
    };
    let started = Instant::now();
    let n = pages.min(buckets).max(1);
    for k in 0..n {
        let bucket = if n == 1 { 0 } else { k * (buckets - 1) / (n - 1) };
        let cursor = Cursor::at_gen(bucket * 64, 0).encode();
        let t = Instant::now();
        let bytes = post(http, dev, &url, &pull_body(&dev.device_id, Some(cursor))).await?;
        out.http_secs += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let page: PullResponse = serde_json::from_slice(&bytes).map_err(|e| format!("pull answer: {e}"))?;
        out.decode_secs += t.elapsed().as_secs_f64();
        out.pages += 1;
        out.records += page.changes.len() as u64;
        out.bytes += bytes.len() as u64;
    }
    out.secs = started.elapsed().as_secs_f64();
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct PagePoint {
    pub label: String,
    pub seq: u64,
    pub log_len: u64,
    pub records: usize,
    pub entries_to: u64,
    pub bytes: usize,
    pub ms: Vec<f64>,
}

impl PagePoint {
    pub fn median_ms(&self) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
    pub fn ms_per_1000(&self) -> f64 {
        self.median_ms() * 1000.0 / (self.records.max(1) as f64)
    }
}

/// Times one pull page from `seq` as device `dev` (5 times; the median is reported).
async fn time_page(
    http: &reqwest::Client,
    dev: &RawDevice,
    server: &str,
    label: &str,
    seq: u64,
    log_len: u64,
) -> Result<PagePoint, String> {
    let url = format!("{server}/sync/pull");
    let body = pull_body(&dev.device_id, Some(Cursor::at_gen(seq, 0).encode()));
    let mut p = PagePoint {
        label: label.to_owned(),
        seq,
        log_len,
        ..Default::default()
    };
    for _ in 0..5 {
        let t = Instant::now();
        let bytes = post(http, dev, &url, &body).await?;
        p.ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let page: PullResponse = serde_json::from_slice(&bytes).map_err(|e| format!("pull answer: {e}"))?;
        p.records = page.changes.len();
        p.bytes = bytes.len();
        p.entries_to = Cursor::decode(&page.cursor).map(|c| c.seq).unwrap_or(0);
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// The CLI

#[derive(Debug, Clone, Default)]
pub struct CliSync {
    pub secs: f64,
    pub pulled: u64,
    pub pushed: u64,
    pub pages: u64,
    pub bytes_received: u64,
    /// The same bodies as they crossed the wire (compressed).
    pub wire_bytes_received: u64,
    pub peak_rss_kb: u64,
}

/// Runs `anola --json --data-dir DIR --server URL ARGS…` as the enrolment's staff member
/// (ANOLA_USERNAME / ANOLA_PASSWORD: every data command signs in first and signs out at the end);
/// returns the wall time and what it printed on stdout.
async fn cli_run(
    dir: &Path,
    server: &str,
    who: &Enrolment,
    args: &[&str],
    timeout: Duration,
    label: &str,
) -> Result<(f64, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out_path = dir.with_extension("stdout");
    let err_path = dir.with_extension("stderr");
    let stdout = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(anola_e2e::target_bin("anola"));
    cmd.arg("--json")
        .arg("--data-dir")
        .arg(dir)
        .arg("--server")
        .arg(server)
        .args(args)
        .env("ANOLA_USERNAME", &who.username)
        .env("ANOLA_PASSWORD", &who.password)
        .env_remove("ANOLA_TOTP")
        .env_remove("ANOLA_FIELD_WORKER_ID")
        .env_remove("ANOLA_CLINIC_ID")
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true);
    let what = format!("anola {}", args.first().copied().unwrap_or_default());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("start anola: {e}"))?;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(15), child.wait()).await {
            Ok(s) => break s.map_err(|e| e.to_string())?,
            Err(_) => {
                if started.elapsed() > timeout {
                    let _ = child.kill().await;
                    return Err(format!("{label}: {what} ran longer than {} s", timeout.as_secs()));
                }
                log(format!("{label}: {what} running, {:.0} s", started.elapsed().as_secs_f64()));
            }
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    if !status.success() {
        return Err(format!("{label}: {what} failed ({status}): {out} {}", &err[..err.len().min(2000)]));
    }
    Ok((secs, out))
}

/// Enrols the data directory `dir` with a one-time code (not timed; once per directory).
async fn cli_enrol(dir: &Path, server: &str, who: &Enrolment) -> Result<(), String> {
    let (secs, _) = cli_run(
        dir,
        server,
        who,
        &["enrol", "--code", &who.code, "--name", "bench"],
        Duration::from_secs(120),
        "enrol",
    )
    .await?;
    log(format!("{} enrolled as {} in {secs:.2} s", dir.display(), who.username));
    Ok(())
}

/// What one `anola` command costs apart from its work: `anola device` (process start, opening
/// the replica; no sign-in) and `anola rejected` (the same plus signing in and out, and one local
/// read), the median of `n` runs each.
async fn cli_overhead(dir: &Path, server: &str, who: &Enrolment, n: usize) -> Result<(f64, f64), String> {
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (mut bare, mut signed) = (Vec::new(), Vec::new());
    for _ in 0..n.max(1) {
        bare.push(
            cli_run(dir, server, who, &["device"], Duration::from_secs(120), "CLI start")
                .await?
                .0,
        );
        signed.push(
            cli_run(dir, server, who, &["rejected"], Duration::from_secs(120), "sign-in")
                .await?
                .0,
        );
    }
    Ok((median(bare), median(signed)))
}

/// Runs `anola --json --data-dir DIR --server URL sync` as the enrolment's staff member and times
/// it (the CLI's sign-in included).
async fn cli_sync(dir: &Path, server: &str, who: &Enrolment, timeout: Duration, label: &str) -> Result<CliSync, String> {
    let (secs, out) = cli_run(dir, server, who, &["sync"], timeout, label).await?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| format!("{label}: anola sync printed no JSON ({e}): {out}"))?;
    let r = &v["report"];
    let n = |x: &serde_json::Value| x.as_u64().unwrap_or(0);
    let s = CliSync {
        secs,
        pulled: n(&r["pulled"]),
        pushed: n(&r["pushed"]),
        pages: n(&r["pull_pages"]),
        bytes_received: n(&r["bytes_received"]),
        wire_bytes_received: n(&r["wire_bytes_received"]),
        peak_rss_kb: n(&v["peak_rss_kb"]),
    };
    log(format!(
        "{label}: {} rows in {} pages, {:.1} s = {:.0} rows/s, {:.1} MB of JSON received as {:.1} MB on the wire, client peak RSS {} MB",
        s.pulled,
        s.pages,
        s.secs,
        s.pulled as f64 / s.secs.max(1e-9),
        s.bytes_received as f64 / 1e6,
        s.wire_bytes_received as f64 / 1e6,
        s.peak_rss_kb / 1024
    ));
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Looking at the database directly (read only)

fn as_u64(b: Option<&Bson>) -> Option<u64> {
    match b? {
        Bson::Int64(v) => Some(*v as u64),
        Bson::Int32(v) => Some(*v as u64),
        Bson::Double(v) => Some(*v as u64),
        _ => None,
    }
}

/// The clinic's last change-log sequence number, from its bucket collections.
async fn log_head(db: &mongodb::Database) -> Result<u64, String> {
    let prefix = format!("changes_{CLINIC}_");
    let names = db.list_collection_names().await.map_err(|e| e.to_string())?;
    let Some(last) = names
        .iter()
        .filter_map(|n| n.strip_prefix(&prefix).and_then(|s| s.parse::<u64>().ok()))
        .max()
    else {
        return Ok(0);
    };
    let docs: Vec<Document> = db
        .collection::<Document>(&format!("{prefix}{last:06}"))
        .find(doc! {})
        .projection(doc! {"_id": 1})
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(docs.iter().filter_map(|d| as_u64(d.get("_id"))).max().unwrap_or(0))
}

#[derive(Debug, Clone, Default)]
pub struct DbFacts {
    /// (collection, documents), change-log buckets folded into one line.
    pub counts: Vec<(String, u64)>,
    pub documents: u64,
    pub collections: usize,
    pub storage_bytes: Option<u64>,
}

/// Document counts and sizes from `collStats` (FerretDB answers it from SQLite's page statistics
/// after an ANALYZE; `count` would decode every document). Run at the end: ANALYZE leaves
/// statistics behind that could change later query plans.
async fn db_facts(db: &mongodb::Database) -> Result<DbFacts, String> {
    let prefix = format!("changes_{CLINIC}_");
    let mut names = db.list_collection_names().await.map_err(|e| e.to_string())?;
    names.sort();
    let mut f = DbFacts {
        collections: names.len(),
        ..Default::default()
    };
    let (mut buckets, mut entries, mut bytes) = (0usize, 0u64, 0u64);
    for n in &names {
        let st = db
            .run_command(doc! {"collStats": n.as_str()})
            .await
            .map_err(|e| format!("collStats {n}: {e}"))?;
        let count = as_u64(st.get("count")).unwrap_or(0);
        bytes += as_u64(st.get("totalSize"))
            .unwrap_or_else(|| as_u64(st.get("storageSize")).unwrap_or(0) + as_u64(st.get("totalIndexSize")).unwrap_or(0));
        if n.starts_with(&prefix) {
            buckets += 1;
            entries += count;
        } else {
            f.counts.push((n.clone(), count));
        }
        f.documents += count;
    }
    f.counts
        .push((format!("changes_{CLINIC}_* ({buckets} bucket collections)"), entries));
    f.storage_bytes = Some(bytes);
    Ok(f)
}

async fn ferretdb_version(client: &mongodb::Client) -> String {
    // The embedded build (tools/ferretdb) reports "unknown" as its own version; the module it
    // embeds is pinned in tools/ferretdb/go.mod.
    let pinned = std::fs::read_to_string(anola_e2e::workspace_root().join("tools/ferretdb/go.mod"))
        .ok()
        .and_then(|m| {
            m.lines()
                .map(str::trim)
                .find(|l| l.starts_with("github.com/FerretDB/FerretDB "))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        });
    let reported = ferretdb_reported(client).await;
    match pinned {
        Some(v) => format!("FerretDB {v} (embedded build pinned in tools/ferretdb/go.mod; buildInfo: {reported})"),
        None => format!("FerretDB (buildInfo: {reported})"),
    }
}

async fn ferretdb_reported(client: &mongodb::Client) -> String {
    match client.database("admin").run_command(doc! {"buildInfo": 1}).await {
        Ok(d) => {
            let ferret = d.get_str("ferretdbVersion").ok().map(str::to_owned).or_else(|| {
                d.get_document("ferretdbFeatures")
                    .ok()
                    .and_then(|f| f.get_str("version").ok().map(str::to_owned))
            });
            match (ferret, d.get_str("version").ok()) {
                (Some(f), Some(v)) => format!("ferretdbVersion {f}, MongoDB-compatible version {v}"),
                (Some(f), None) => format!("ferretdbVersion {f}"),
                (None, Some(v)) => format!("version {v}"),
                (None, None) => "no version".into(),
            }
        }
        Err(e) => format!("failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The run

#[derive(Debug, Clone, Default)]
pub struct Results {
    pub machine: Machine,
    pub seed: Vec<PushPhase>,
    pub seed_secs: f64,
    pub db: DbFacts,
    pub heads: Vec<(String, u64)>,
    pub server_hwm_after_seed_kb: u64,
    /// Median wall time of `anola device` (process start, opening the replica; no sign-in).
    pub cli_start_secs: f64,
    /// Median wall time of `anola rejected` (the same plus signing in and out and one local read):
    /// every timed `anola sync` pays this too.
    pub cli_sign_in_secs: f64,
    pub first_sync: CliSync,
    pub server_hwm_after_sync_kb: u64,
    pub raw_pull: RawPull,
    pub inc_push: PushPhase,
    pub inc_pull: CliSync,
    pub idle_sync: CliSync,
    pub pages: Vec<PagePoint>,
    /// Single pushes by kind: fresh creates, the same push replayed, edits of existing patients.
    pub probes: Vec<PushPhase>,
    /// A server crashing mid-push at each step, then a restarted one finishing the retry.
    pub crashes: Vec<CrashProbe>,
    pub ferret: raw::FerretRaw,
    pub sqlite: raw::SqliteRaw,
    pub sqlite_doc_note: String,
    pub total_secs: f64,
}

/// One crash mid-push: a server made to abort at `point` while applying a push of edits, a new
/// server process started on the same database, and the same push sent again.
#[derive(Debug, Clone, Default)]
pub struct CrashProbe {
    pub point: String,
    pub mutations: usize,
    /// The crashing server's start-up, as a restart at this size costs.
    pub start_secs: f64,
    /// From sending the push to the crashed server's exit.
    pub crash_ms: f64,
    /// The restarted server's start-up.
    pub restart_secs: f64,
    /// The retried push against the restarted server.
    pub retry_ms: f64,
    /// Results of the retry (e.g. "applied: 10").
    pub results: String,
    /// The push sent a third time: every mutation once (already_applied).
    pub replay: String,
    pub error: Option<String>,
}

impl Results {
    /// What signing in and out adds to every `anola` command (hence to every timed sync).
    pub fn sign_in_overhead_secs(&self) -> f64 {
        (self.cli_sign_in_secs - self.cli_start_secs).max(0.0)
    }
}

/// The first and last full bucket inside log range (lo, hi]: cursor positions whose page reads a
/// whole bucket of that range.
fn full_buckets(lo: u64, hi: u64) -> Option<(u64, u64)> {
    const B: u64 = 64;
    let first = lo.div_ceil(B) * B;
    let last = (hi / B) * B;
    if first + B > hi || last < first + B {
        return None;
    }
    Some((first, last - B))
}

async fn run(cfg: Config) -> Result<(), String> {
    let run_started = Instant::now();
    let mut res = Results {
        machine: machine(),
        ..Default::default()
    };
    log(format!(
        "config {}: {} patients, {} appointments, {} records, {} incremental; {} pushers x {} per push; binaries from target/{}",
        cfg.name, cfg.patients, cfg.appointments, cfg.records, cfg.incremental, cfg.pushers, cfg.batch, res.machine.profile
    ));
    // Check the binaries before starting anything.
    let _ = anola_e2e::target_bin("anola-sync-server");
    let _ = anola_e2e::target_bin("anola");

    let work = tempfile::Builder::new()
        .prefix("anola-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let ferret = Ferret::start();
    if !ferret.uri().contains("127.0.0.1") {
        return Err(format!("refusing a database that is not on 127.0.0.1: {}", ferret.uri()));
    }
    let mongo = ferret.client().await;
    res.machine.ferretdb = ferretdb_version(&mongo).await;
    let dbname = anola_e2e::unique_db("bench");
    let port = anola_e2e::free_port();
    // Where ServerProc writes the server's log (tests/src/procs.rs).
    let server_log = RemoveOnDrop(
        anola_e2e::workspace_root()
            .join("test-artifacts")
            .join("server-logs")
            .join(format!("anola-sync-server-{port}.log")),
    );
    // Access tokens that outlive the run (the server's maximum, 24 h): the bench signs its
    // devices in once.
    let server = ServerProc::start(
        port,
        ferret.uri(),
        &dbname,
        &[
            ("ANOLA_LOG", steps::LOG_FILTER),
            ("ANOLA_LOG_FORMAT", "json"),
            ("ANOLA_ACCESS_TOKEN_TTL_SECS", "86400"),
        ],
    );
    let url = server.url();
    let db = mongo.database(&dbname);
    log(format!(
        "{} on {}, server pid {} on {url}",
        res.machine.ferretdb,
        ferret.uri(),
        server.pid()
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .pool_max_idle_per_host(cfg.pushers + 2)
        .build()
        .map_err(|e| e.to_string())?;

    // Devices, enrolled in the bench's clinic with a clinician signed in on each (not timed): the
    // seeding device, a second device for the incremental push and the probes, one that pulls over
    // plain HTTP, and device B's data directory for the CLI.
    let seeder = accounts::raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await;
    let other = accounts::raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await;
    let reader = accounts::raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await;
    let dev_b = work.path().join("device-b");
    let who_b = accounts::prepare_device(&url, CLINIC, Role::Clinician, None).await;
    cli_enrol(&dev_b, &url, &who_b).await?;
    log(format!(
        "devices enrolled in clinic {CLINIC}: seeding {}, second {}, HTTP reader {}; CLI device B",
        seeder.device_id, other.device_id, reader.device_id
    ));

    // 1. Seeding.
    let g = gen::Generator::new(CLINIC, cfg.patients);
    let seed_started = Instant::now();
    let (p, a) = (cfg.patients as u64, cfg.appointments as u64);
    let logp = server_log.0.clone();
    let with_steps = |from: u64, mut phase: PushPhase| {
        phase.steps = steps::read(&logp, from, steps::offset(&logp));
        phase
    };
    let o = steps::offset(&logp);
    let ph = push_phase(&http, &url, &seeder, "patients", cfg.patients, cfg.batch, cfg.pushers, |i| {
        g.patient(i)
    })
    .await?;
    res.seed.push(with_steps(o, ph));
    res.heads.push(("patients".into(), log_head(&db).await?));
    let o = steps::offset(&logp);
    let ph = push_phase(
        &http,
        &url,
        &seeder,
        "appointments",
        cfg.appointments,
        cfg.batch,
        cfg.pushers,
        |i| g.appointment(i, p + i as u64),
    )
    .await?;
    res.seed.push(with_steps(o, ph));
    res.heads.push(("appointments".into(), log_head(&db).await?));
    let o = steps::offset(&logp);
    let ph = push_phase(&http, &url, &seeder, "records", cfg.records, cfg.batch, cfg.pushers, |i| {
        g.record(i, p + a + i as u64)
    })
    .await?;
    res.seed.push(with_steps(o, ph));
    res.seed_secs = seed_started.elapsed().as_secs_f64();
    let seeded_head = log_head(&db).await?;
    res.heads.push(("records".into(), seeded_head));
    res.server_hwm_after_seed_kb = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0);
    log(format!(
        "seeded in {:.1} s; log head {seeded_head}; server VmHWM {} MB",
        res.seed_secs,
        res.server_hwm_after_seed_kb / 1024
    ));

    // 2. First sync of a new device, then the same pages over plain HTTP (no apply). First, what
    //    every `anola` command costs before its work (process start; signing in and out).
    let (bare, signed) = cli_overhead(&dev_b, &url, &who_b, 3).await?;
    res.cli_start_secs = bare;
    res.cli_sign_in_secs = signed;
    log(format!(
        "CLI overhead: `anola device` {bare:.2} s (no sign-in), `anola rejected` {signed:.2} s (signs in and out)"
    ));
    res.first_sync = cli_sync(&dev_b, &url, &who_b, cfg.sync_timeout, "first sync").await?;
    res.server_hwm_after_sync_kb = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0);
    log(format!(
        "server VmHWM after the first sync: {} MB",
        res.server_hwm_after_sync_kb / 1024
    ));
    res.raw_pull = if cfg.raw_pull_pages > 0 && seeded_head / 64 > cfg.raw_pull_pages {
        pull_sample_raw(&http, &reader, &url, seeded_head, cfg.raw_pull_pages).await?
    } else {
        pull_all_raw(&http, &reader, &url).await?
    };
    log(format!(
        "HTTP pull without apply{}: {} rows in {} pages, {:.1} s (waiting on server {:.1} s, decoding {:.1} s)",
        if res.raw_pull.sampled { " (sampled pages)" } else { "" },
        res.raw_pull.records,
        res.raw_pull.pages,
        res.raw_pull.secs,
        res.raw_pull.http_secs,
        res.raw_pull.decode_secs
    ));

    // 3. Incremental: another device ("inc") pushes K new patients; device B pulls them.
    if cfg.incremental > 0 {
        let o = steps::offset(&logp);
        let ph = push_phase(&http, &url, &other, "incremental push", cfg.incremental, cfg.batch, 1, |i| {
            g.extra_patient(i, "inc")
        })
        .await?;
        res.inc_push = with_steps(o, ph);
        res.inc_pull = cli_sync(&dev_b, &url, &who_b, cfg.sync_timeout, "incremental sync").await?;
    }
    let final_head = log_head(&db).await?;
    res.heads.push(("incremental".into(), final_head));
    res.idle_sync = cli_sync(&dev_b, &url, &who_b, cfg.sync_timeout, "idle sync").await?;

    // 4. Pull page cost by log position: the start and the end of the log, and the first and last
    //    full bucket of each stretch (patients, appointments, records, incremental patients).
    let mut points: Vec<(u64, String)> = vec![(0, "start of log".into())];
    let mut lo = 0u64;
    for (label, hi) in res.heads.clone() {
        if let Some((first, last)) = full_buckets(lo, hi) {
            points.push((first, format!("{label}: first full bucket")));
            points.push((last, format!("{label}: last full bucket")));
        }
        lo = hi;
    }
    if let Some((_, last)) = full_buckets(0, final_head) {
        points.push((last, "end of log: last full bucket".into()));
    }
    points.sort_by_key(|(seq, _)| *seq);
    let mut merged: Vec<(u64, String)> = Vec::new();
    for (seq, label) in points {
        match merged.last_mut() {
            Some((s, l)) if *s == seq => {
                l.push_str(" = ");
                l.push_str(&label);
            }
            _ => merged.push((seq, label)),
        }
    }
    for (seq, label) in merged {
        res.pages.push(time_page(&http, &reader, &url, &label, seq, final_head).await?);
    }
    for p in &res.pages {
        log(format!(
            "page at seq {} ({}): {} records, {} KB, median {:.1} ms",
            p.seq,
            p.label,
            p.records,
            p.bytes / 1024,
            p.median_ms()
        ));
    }

    // 5. Single pushes whose cost depends on how much data the server holds: creates need no
    //    reads, a replay looks its mutations up in the gate, an edit reads the patient's head.
    if cfg.probe > 0 {
        let n = cfg.probe;
        let fresh: Vec<Mutation> = (0..n).map(|i| g.extra_patient(1_000_000 + i, "inc")).collect();
        let edits: Vec<Mutation> = (0..n)
            .map(|i| {
                let k = (i * cfg.patients / n + cfg.patients / (2 * n)).min(cfg.patients - 1);
                g.patient_update(k, i, "inc")
            })
            .collect();
        for (label, set) in [
            ("fresh creates", &fresh),
            ("the same push replayed", &fresh),
            ("edits of seeded patients", &edits),
        ] {
            // A probe may fail at large sizes (that is a result): two tries, then report it.
            let o = steps::offset(&logp);
            let retries0 = RETRIES.load(Ordering::Relaxed);
            let started = Instant::now();
            let ph = match push_phase_n(&http, &url, &other, label, n, n, 1, 2, |i| set[i].clone()).await {
                Ok(ph) => ph,
                Err(e) => {
                    log(format!("{label}: failed: {e}"));
                    PushPhase {
                        label: label.to_owned(),
                        pushers: 1,
                        mutations: n,
                        secs: started.elapsed().as_secs_f64(),
                        requests: 1,
                        latencies_ms: vec![started.elapsed().as_secs_f64() * 1000.0],
                        retries: RETRIES.load(Ordering::Relaxed) - retries0,
                        error: Some(e),
                        ..Default::default()
                    }
                }
            };
            res.probes.push(with_steps(o, ph));
        }
    }

    // 5b. A crash in the middle of a push of edits, at each step, and recovery at this size.
    if cfg.probe > 0 {
        let env = [("ANOLA_ACCESS_TOKEN_TTL_SECS", "86400")];
        for (k, point) in ["after_gate", "after_versions", "after_log", "after_views"].iter().enumerate() {
            let n = cfg.probe;
            let edits: Vec<Mutation> = (0..n)
                .map(|i| {
                    let j = (k + 1) * n + i;
                    let p = (j * 7_919 + 13) % cfg.patients;
                    other.signed(Mutation {
                        author: Some(other.user_id),
                        signature: None,
                        ..g.patient_update(p, j, "crash")
                    })
                })
                .collect();
            let req = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: other.device_id.clone(),
                clinic_id: CLINIC.to_owned(),
                mutations: edits,
                audit: Vec::new(),
            };
            let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
            let mut probe = CrashProbe {
                point: (*point).to_owned(),
                mutations: n,
                ..Default::default()
            };
            let t = Instant::now();
            let mut crashing_env = env.to_vec();
            crashing_env.push(("ANOLA_FAULT_ABORT_AT", point));
            let mut crashing = ServerProc::start(anola_e2e::free_port(), ferret.uri(), &dbname, &crashing_env);
            probe.start_secs = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let first = post_n(&http, &other, &format!("{}/sync/push", crashing.url()), &body, 1).await;
            if !crashing.wait_exit(Duration::from_secs(120)) {
                probe.error = Some(format!("the server did not crash at {point} (answer: {first:?})"));
            }
            probe.crash_ms = t.elapsed().as_secs_f64() * 1000.0;
            drop(crashing);
            let t = Instant::now();
            let again = ServerProc::start(anola_e2e::free_port(), ferret.uri(), &dbname, &env);
            probe.restart_secs = t.elapsed().as_secs_f64();
            let summarize = |answer: &[u8]| -> Result<String, String> {
                let resp: PushResponse = serde_json::from_slice(answer).map_err(|e| format!("push answer: {e}"))?;
                let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
                for r in resp.results {
                    let key = serde_json::to_value(r.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    *statuses.entry(key).or_default() += 1;
                }
                Ok(statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
            };
            let t = Instant::now();
            match post_n(&http, &other, &format!("{}/sync/push", again.url()), &body, 2).await {
                Ok(answer) => {
                    probe.retry_ms = t.elapsed().as_secs_f64() * 1000.0;
                    probe.results = summarize(&answer)?;
                }
                Err(e) => probe.error = Some(e),
            }
            match post_n(&http, &other, &format!("{}/sync/push", again.url()), &body, 2).await {
                Ok(answer) => probe.replay = summarize(&answer)?,
                Err(e) => probe.error = Some(e),
            }
            log(format!(
                "crash {point}: server start {:.1} s, crash after {:.0} ms, restart {:.1} s, retry {:.0} ms ({}), replay ({}){}",
                probe.start_secs,
                probe.crash_ms,
                probe.restart_secs,
                probe.retry_ms,
                probe.results,
                probe.replay,
                probe.error.as_deref().map(|e| format!(", error: {e}")).unwrap_or_default()
            ));
            res.crashes.push(probe);
        }
    }

    // 6. Raw rates.
    let rawdb = mongo.database(&anola_e2e::unique_db("raw"));
    // Point reads spread over each collection's insertion order (a scan that stops at the first
    // match would make early documents look cheap).
    fn spread<T: Clone>(v: &[T]) -> Vec<T> {
        if v.is_empty() {
            return Vec::new();
        }
        let n = v.len();
        let mut idx: Vec<usize> = (0..5).map(|i| (i * (n - 1)) / 4).collect();
        idx.dedup();
        idx.into_iter().map(|i| v[i].clone()).collect()
    }
    let mut lookups = vec![(
        "`patients` (views)".to_string(),
        "patients".to_string(),
        spread(&g.patient_ids).iter().map(Uuid::to_string).collect::<Vec<_>>(),
    )];
    let all_batches: Vec<String> = res
        .seed
        .iter()
        .flat_map(|p| p.sample_ids.iter().map(|(_, id)| id.clone()))
        .collect();
    lookups.push((
        "`mutations` (the gate: every mutation with its body)".to_string(),
        "mutations".to_string(),
        spread(&all_batches),
    ));
    let bucket = format!("changes_{CLINIC}_{:06}", 0);
    log("raw FerretDB rates");
    res.ferret = raw::ferret(&rawdb, &db, &lookups, &bucket).await?;
    let _ = rawdb.drop().await;
    // Rows like the device's: a pulled patient state (JSON text of the per-field LWW state).
    let sample_doc = {
        let m = g.patient(0);
        serde_json::to_string(&m.state()).unwrap_or_default()
    };
    res.sqlite_doc_note = format!("{}-byte JSON (a seeded patient's LWW state)", sample_doc.len());
    log("raw SQLite rates");
    let sqlite_dir = work.path().to_path_buf();
    res.sqlite = tokio::task::spawn_blocking(move || raw::sqlite(&sqlite_dir, 100_000, 4000, &sample_doc))
        .await
        .map_err(|e| e.to_string())??;
    res.machine.load_end = loadavg();
    let t = Instant::now();
    res.db = db_facts(&db).await?;
    log(format!(
        "database: {} documents in {} collections ({:.0} MB); collStats took {:.1} s",
        res.db.documents,
        res.db.collections,
        res.db.storage_bytes.unwrap_or(0) as f64 / 1e6,
        t.elapsed().as_secs_f64()
    ));
    res.total_secs = run_started.elapsed().as_secs_f64();

    // 7. Report.
    let section = report::section(&cfg, &res);
    println!("{section}");
    if cfg.write_docs {
        report::write_doc(&cfg.docs, &cfg.name, &section)?;
        log(format!("wrote section {} of {}", cfg.name, cfg.docs.display()));
    }
    if !ferret.is_private() {
        let _ = db.drop().await;
    }
    drop(server);
    drop(ferret);
    log(format!(
        "done in {:.0} s; FerretDB and server stopped, temp files removed",
        res.total_secs
    ));
    Ok(())
}
