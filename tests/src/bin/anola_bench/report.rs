//! The Markdown report: one section per configuration, written into docs/benchmarks.md between
//! markers so a later run of the same configuration replaces it and other sections stay.

use crate::{Config, Results};
use std::fmt::Write;
use std::path::Path;

/// 12345.6 → "12,346"; small values keep a decimal or two.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() < 10.0 {
        return format!("{x:.2}");
    }
    if x.abs() < 100.0 {
        return format!("{x:.1}");
    }
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if x < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn int(x: u64) -> String {
    let d = x.to_string();
    let mut out = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

fn mib_kb(kb: u64) -> String {
    format!("{} MiB", int(kb / 1024))
}

fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 || !a.is_finite() || !b.is_finite() {
        return "–".into();
    }
    let r = a / b;
    if r >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("{r:.3}")
    }
}

fn rate(n: f64, secs: f64) -> f64 {
    n / secs.max(1e-9)
}

const HEADER: &str = "# Benchmarks

Numbers from `anola-bench` (`tests/src/bin/anola-bench.rs`): one run starts a private FerretDB
v1.24.2 (SQLite backend), the release `anola-sync-server` and the release `anola` CLI on one
machine, seeds a clinic through the real push API, times a first sync and an incremental sync, times
single pull pages at several positions of the change log, and measures raw FerretDB (driver) and raw
SQLite (rusqlite) rates in the same run, so every ratio compares rates taken under the same
conditions. Everything talks to 127.0.0.1; the database, the server and all temp files are removed
at the end.

Each section below is one configuration; `--write-docs` replaces the section of the same name and
keeps the others. Build once, then run:

```sh
cargo build --release -p anola-sync-server -p anola-cli -p anola-e2e \\
  --bin anola-sync-server --bin anola --bin anola-bench
target/release/anola-bench --help
```

The server, FerretDB, the CLI and the bench's own HTTP client share the machine's cores, so rates
are end-to-end rates of the whole system on that machine, not of one component.
";

/// Writes `section` into the document under `name` (see `anola_e2e::bench_docs`).
pub fn write_doc(path: &Path, name: &str, section: &str) -> Result<(), String> {
    anola_e2e::bench_docs::write_section(path, name, section, HEADER)
}

pub fn section(cfg: &Config, r: &Results) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let seeded: usize = r.seed.iter().map(|p| p.mutations).sum();
    let _ = writeln!(
        s,
        "## {}: {} patients, {} appointments, {} records\n",
        cfg.name,
        int(cfg.patients as u64),
        int(cfg.appointments as u64),
        int(cfg.records as u64)
    );
    if let Some(note) = &cfg.note {
        let _ = writeln!(s, "> {note}\n");
    }
    let _ = writeln!(
        s,
        "Run {} on {} CPU(s) ({}), {:.1} GiB RAM, Linux {}; {} (SQLite backend); server and CLI: `{}` build of {}. \
         Load average (1/5/15 min) {} at the start, {} at the end (the machine is shared with other work). \
         Seeding: {} concurrent pushers, {} mutations per push, sent as one enrolled clinician's device (device key and \
         access token on every request, each mutation naming its author). Whole run: {:.0} s.\n",
        m.date_utc,
        m.nproc,
        m.cpu,
        m.mem_kb as f64 / 1024.0 / 1024.0,
        m.kernel,
        m.ferretdb,
        m.profile,
        m.source,
        m.load_start,
        m.load_end,
        cfg.pushers,
        cfg.batch,
        r.total_secs
    );
    let _ = writeln!(
        s,
        "```sh\ncargo build --release -p anola-sync-server -p anola-cli -p anola-e2e --bin anola-sync-server --bin anola --bin anola-bench\n{}\n```\n",
        cfg.command
    );

    // Seeding.
    let _ = writeln!(s, "### Seeding through `POST /sync/push`\n");
    let _ = writeln!(
        s,
        "| phase | mutations | seconds | mutations/s | requests | p50 ms/request | p95 ms/request | results |\n|---|--:|--:|--:|--:|--:|--:|---|"
    );
    for p in &r.seed {
        let statuses = p
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {}", int(*v as u64)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} |",
            p.label,
            int(p.mutations as u64),
            p.secs,
            num(p.rate()),
            p.requests,
            num(p.pct_ms(0.5)),
            num(p.pct_ms(0.95)),
            statuses
        );
    }
    let seed_rate = rate(seeded as f64, r.seed_secs);
    let _ = writeln!(
        s,
        "| **all** | {} | {:.1} | **{}** | {} | | | |\n",
        int(seeded as u64),
        r.seed_secs,
        num(seed_rate),
        r.seed.iter().map(|p| p.requests).sum::<usize>()
    );
    let pushed = total_pushed(r);
    let amplification = r.db.documents as f64 / pushed.max(1) as f64;
    let _ = writeln!(
        s,
        "Sync server peak RSS (VmHWM) after seeding: {}. At the end of the run ({} mutations applied: seeded, incremental, probes) the \
         database held {} documents in {} collections ({:.1} stored documents per mutation){}; change log {} entries.\n",
        mib_kb(r.server_hwm_after_seed_kb),
        int(pushed as u64),
        int(r.db.documents),
        r.db.collections,
        amplification,
        r.db.storage_bytes
            .map(|b| format!(", {} by `collStats`", mb(b as f64)))
            .unwrap_or_default(),
        int(r.heads.last().map(|(_, h)| *h).unwrap_or(0))
    );
    let counts =
        r.db.counts
            .iter()
            .map(|(c, n)| format!("`{c}` {}", int(*n)))
            .collect::<Vec<_>>()
            .join(", ");
    let _ = writeln!(s, "Documents per collection: {counts}.\n");

    // Server-side step times.
    let phases: Vec<&crate::PushPhase> = r
        .seed
        .iter()
        .chain(std::iter::once(&r.inc_push))
        .filter(|p| p.steps.pushes > 0)
        .collect();
    if !phases.is_empty() {
        let _ = writeln!(
            s,
            "Where a push's time goes on the server (mean ms per push, from the server's `push step` debug log, \
             sync-server/src/sync/push.rs; \"outside apply\" = the request time the client measured minus the server's apply \
             time: checking the device key and access token and reading the authors, body parse and validation, the \
             `mutation_results` insert, the answer, waiting for a connection):\n"
        );
        let mut head = String::from("| step |");
        let mut rule = String::from("|---|");
        for p in &phases {
            head.push_str(&format!(" {} ({} pushes) |", p.label, p.steps.pushes));
            rule.push_str("--:|");
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for (i, (_, what)) in crate::steps::STEPS.iter().enumerate() {
            let mut line = format!("| {what} |");
            for p in &phases {
                line.push_str(&format!(" {} |", num(p.steps.mean_ms[i])));
            }
            let _ = writeln!(s, "{line}");
        }
        let mut line = String::from("| **apply total** |");
        for p in &phases {
            line.push_str(&format!(" **{}** |", num(p.steps.mean_total_ms)));
        }
        let _ = writeln!(s, "{line}");
        let mut line = String::from("| outside apply |");
        for p in &phases {
            line.push_str(&format!(" {} |", num(p.mean_latency_ms() - p.steps.mean_total_ms)));
        }
        let _ = writeln!(s, "{line}");
        let mut line = String::from("| request, as the client saw it |");
        for p in &phases {
            line.push_str(&format!(" {} |", num(p.mean_latency_ms())));
        }
        let _ = writeln!(s, "{line}\n");
    }

    // First sync.
    let fs = &r.first_sync;
    let fs_rate = rate(fs.pulled as f64, fs.secs);
    let rp = &r.raw_pull;
    let rp_rate = rate(rp.records as f64, rp.secs);
    let _ = writeln!(s, "### First sync of a new device (`anola --json … sync`, release CLI)\n");
    let _ = writeln!(
        s,
        "| rows pulled | pages | seconds | rows/s | received (JSON) | on the wire (zstd) | wire bytes per row (JSON) | rows per page | client peak RSS | server peak RSS (VmHWM) |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    let per_row = |b: u64| b as f64 / fs.pulled.max(1) as f64;
    let _ = writeln!(
        s,
        "| {} | {} | {:.1} | **{}** | {} | {} | {:.0} ({:.0}) | {} | {} | {} |\n",
        int(fs.pulled),
        fs.pages,
        fs.secs,
        num(fs_rate),
        mb(fs.bytes_received as f64),
        mb(fs.wire_bytes_received as f64),
        per_row(fs.wire_bytes_received),
        per_row(fs.bytes_received),
        int(fs.pulled / fs.pages.max(1)),
        mib_kb(fs.peak_rss_kb),
        mib_kb(r.server_hwm_after_sync_kb)
    );
    // The sync's own work: its wall time without the CLI's sign-in (measured apart).
    let work_secs = (fs.secs - r.sign_in_overhead_secs()).max(0.0);
    let server_secs = (fs.pulled as f64 / rp_rate.max(1e-9)).min(work_secs);
    let apply_secs = (work_secs - server_secs).max(0.0);
    if rp.sampled {
        let _ = writeln!(
            s,
            "Then {} single pages spread evenly over the log, pulled by a plain HTTP client that applies nothing (server work + \
             transfer + JSON decode); their rate, applied to all {} rows, estimates the server's share of the first sync:\n",
            rp.pages,
            int(fs.pulled)
        );
    } else {
        let _ = writeln!(
            s,
            "Then the whole log again, pulled by a plain HTTP client that applies nothing (server work + transfer + JSON decode):\n"
        );
    }
    let _ = writeln!(
        s,
        "| measurement | seconds | rows/s |\n|---|--:|--:|\n\
         | `anola sync` (pull + apply to the device's SQLite, CLI start and sign-in included) | {:.1} | {} |\n\
         | HTTP pull only: waiting for the server's answers | {:.2} | {} |\n\
         | HTTP pull only: decoding the JSON | {:.2} | |\n\
         | HTTP pull only, total ({} pages, {} rows, {}) | {:.2} | {} |\n\
         | {} the device applying pages (first sync − sign-in − HTTP-only time{}) | {:.1} | {} |\n",
        fs.secs,
        num(fs_rate),
        rp.http_secs,
        num(rate(rp.records as f64, rp.http_secs)),
        rp.decode_secs,
        rp.pages,
        int(rp.records),
        mb(rp.bytes as f64),
        rp.secs,
        num(rp_rate),
        if rp.sampled { "estimated:" } else { "≈" },
        if rp.sampled { " for all rows at the sampled rate" } else { "" },
        apply_secs,
        num(rate(fs.pulled as f64, apply_secs))
    );
    let _ = writeln!(
        s,
        "Every `anola` command signs its staff member in first (`ANOLA_USERNAME`/`ANOLA_PASSWORD`: one `POST /auth/login`) \
         and out at the end, so each timed `anola sync` in this section and the next includes that fixed cost: `anola device` \
         (process start, no sign-in) took {:.3} s and `anola rejected` (the same, signed in and out) {:.3} s here (medians \
         of 3), about {:.2} s per command for signing in and out (left out of the apply estimate above). Enrolling \
         the device is not timed.\n",
        r.cli_start_secs,
        r.cli_sign_in_secs,
        r.sign_in_overhead_secs()
    );

    // Incremental.
    let ip = &r.inc_push;
    let il = &r.inc_pull;
    let idle = &r.idle_sync;
    let _ = writeln!(s, "### Incremental sync\n");
    let _ = writeln!(s, "| step | rows | seconds | rows/s |\n|---|--:|--:|--:|");
    let _ = writeln!(
        s,
        "| push of {} new patients by a second device (\"inc\"), one pusher, {} per push (HTTP) | {} | {:.2} | **{}** |",
        int(ip.mutations as u64),
        cfg.batch,
        int(ip.mutations as u64),
        ip.secs,
        num(ip.rate())
    );
    let _ = writeln!(
        s,
        "| `anola sync` on the already synced device: pull of them ({} pages, {}) | {} | {:.2} | **{}** |",
        il.pages,
        mb(il.bytes_received as f64),
        int(il.pulled),
        il.secs,
        num(rate(il.pulled as f64, il.secs))
    );
    let _ = writeln!(
        s,
        "| `anola sync` with nothing new (CLI start, sign-in + one empty round) | {} | {:.2} | |\n",
        int(idle.pulled),
        idle.secs
    );

    // Single pushes by kind.
    if !r.probes.is_empty() {
        let _ = writeln!(
            s,
            "### Single pushes by kind, at this data size
"
        );
        let _ = writeln!(
            s,
            "One push each, from device \"inc\" after everything above: new patients; the identical push again (a retry after a \
             lost answer: every mutation is already applied); edits (a new email) of seeded patients spread over the clinic.\n"
        );
        let _ = writeln!(
            s,
            "| push | mutations | ms (client) | ms per mutation | results | server steps, ms (gate / head reads / versions / rules / records+commit) |\n|---|--:|--:|--:|---|---|"
        );
        for p in &r.probes {
            let st = &p.steps;
            let steps = if st.pushes > 0 {
                format!(
                    "{} / {} / {} / {} / {}",
                    num(st.mean_ms[0]),
                    num(st.mean_ms[1]),
                    num(st.mean_ms[3]),
                    num(st.mean_ms[4]),
                    num(st.mean_ms[5])
                )
            } else if !st.unfinished.is_empty() {
                let reached = st
                    .unfinished
                    .iter()
                    .map(|(step, ms)| format!("last step logged: {step} at {} ms", num(*ms)))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("did not finish ({reached})")
            } else {
                "–".into()
            };
            let mut statuses = p
                .statuses
                .iter()
                .map(|(k, v)| format!("{k}: {}", int(*v as u64)))
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(e) = &p.error {
                let e: String = e.chars().take(220).collect::<String>().replace('|', "/");
                statuses = format!("**failed** after {} tries (ms = until the last answer): {e}", p.retries + 1);
            } else if p.retries > 0 {
                statuses.push_str(&format!(" (after {} retries)", p.retries));
            }
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                p.label,
                p.mutations,
                num(p.mean_latency_ms()),
                num(p.mean_latency_ms() / p.mutations.max(1) as f64),
                statuses,
                steps
            );
        }
        let _ = writeln!(s);
    }

    // Crash mid-push and recovery.
    if !r.crashes.is_empty() {
        let _ = writeln!(
            s,
            "### A crash mid-push and recovery, at this data size
"
        );
        let _ = writeln!(
            s,
            "For each step of a push: a second server process on the same database, made to abort right after that step \
             (`ANOLA_FAULT_ABORT_AT`), is sent a push of edits of seeded patients; once it has died, a new server process is \
             started and the same push is sent again (what a device does after a lost answer), then a third time.\n"
        );
        let _ = writeln!(
            s,
            "| crash after | mutations | server start, s | push until the crash, ms | restart, s | retry push, ms | retry results | the same push again |\n|---|--:|--:|--:|--:|--:|---|---|"
        );
        for c in &r.crashes {
            let results = match &c.error {
                Some(e) => format!("**failed**: {}", e.chars().take(200).collect::<String>().replace('|', "/")),
                None => c.results.clone(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {} | {:.1} | {} | {} | {} |",
                c.point,
                c.mutations,
                c.start_secs,
                num(c.crash_ms),
                c.restart_secs,
                num(c.retry_ms),
                results,
                c.replay
            );
        }
        let _ = writeln!(s);
    }

    // Pull page cost.
    let _ = writeln!(s, "### Pull page cost vs position in the log\n");
    let _ = writeln!(
        s,
        "One `POST /sync/pull` from a cursor (`Cursor::at_gen(seq, 0)`): the start and end of the log and the first/last full \
         64-entry bucket of each stretch of it (seeded patients, appointments, records, then the incremental patients); \
         5 requests each, the median. The log has {} entries in all.\n",
        int(r.heads.last().map(|(_, h)| *h).unwrap_or(0))
    );
    let _ = writeln!(
        s,
        "| position | cursor seq | % of log | records | KB | median ms | ms per 1000 records |\n|---|--:|--:|--:|--:|--:|--:|"
    );
    for p in &r.pages {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0}% | {} | {} | {:.1} | {:.2} |",
            p.label,
            p.seq,
            100.0 * p.seq as f64 / p.log_len.max(1) as f64,
            p.records,
            int((p.bytes / 1024) as u64),
            p.median_ms(),
            p.ms_per_1000()
        );
    }
    let _ = writeln!(s);

    // Raw FerretDB.
    let f = &r.ferret;
    let _ = writeln!(s, "### Raw FerretDB (mongodb driver → FerretDB on 127.0.0.1, same run)\n");
    let _ = writeln!(s, "| operation | result |\n|---|--:|");
    let _ = writeln!(
        s,
        "| `insert_many`, {} small documents per call ({} in all) | **{} docs/s** |",
        f.insert_many_batch,
        int(f.insert_many_docs as u64),
        num(f.insert_many_rate())
    );
    let _ = writeln!(
        s,
        "| `insert_one` ({} calls) | **{} ops/s** ({:.2} ms each) |",
        f.insert_one_ops,
        num(f.insert_one_rate()),
        1000.0 / f.insert_one_rate().max(1e-9)
    );
    for (label, docs, n, ms) in &f.find_by_id {
        let _ = writeln!(
            s,
            "| `find_one({{_id}})` in {label}: {} documents, {n} lookups spread over the collection | **{:.1} ms per lookup** |",
            int(*docs),
            ms
        );
    }
    let _ = writeln!(
        s,
        "| `find({{}})` of change-log bucket 0 as the server wrote it ({}: {} entries, {} records, {} BSON), records decoded | \
         {:.1} ms = **{} records/s** |",
        f.bucket_format,
        f.bucket_entries,
        int(f.bucket_records as u64),
        mb(f.bucket_bytes as f64),
        f.bucket_secs * 1000.0,
        num(f.bucket_records_rate())
    );
    if f.nested_secs > 0.0 && f.json_secs > 0.0 {
        let _ = writeln!(
            s,
            "| the same records rewritten as nested documents ({}), read the same way | {:.1} ms = **{} records/s** |",
            mb(f.nested_bytes as f64),
            f.nested_secs * 1000.0,
            num(f.nested_rate())
        );
        let _ = writeln!(
            s,
            "| the same records rewritten as one JSON string per entry ({}), read the same way | {:.1} ms = **{} records/s** |",
            mb(f.json_bytes as f64),
            f.json_secs * 1000.0,
            num(f.json_rate())
        );
    }
    let _ = writeln!(
        s,
        "| `find({{}})` of {} small flat documents | {:.1} ms = **{} docs/s** |\n",
        int(f.small_scan_docs as u64),
        f.small_scan_secs * 1000.0,
        num(f.small_scan_rate())
    );

    // Raw SQLite.
    let q = &r.sqlite;
    let _ = writeln!(s, "### Raw SQLite (rusqlite, temp file, WAL, synchronous=FULL, same run)\n");
    let _ = writeln!(s, "| operation | result |\n|---|--:|");
    let _ = writeln!(
        s,
        "| `INSERT` of {} rows, {} per transaction, {} | **{} rows/s** |",
        int(q.rows as u64),
        int(q.rows_per_tx as u64),
        r.sqlite_doc_note,
        num(q.insert_rate())
    );
    let _ = writeln!(
        s,
        "| point `SELECT` by primary key ({} reads) | **{} reads/s** |\n",
        int(q.reads as u64),
        num(q.read_rate())
    );

    // Ratios.
    let _ = writeln!(s, "### Sync path vs raw rates\n");
    let _ = writeln!(s, "| sync path | rate | raw operation | raw rate | ratio |\n|---|--:|---|--:|--:|");
    let mut row = |a: &str, ar: f64, b: &str, br: f64| {
        let _ = writeln!(s, "| {a} | {} | {b} | {} | {} |", num(ar), num(br), ratio(ar, br));
    };
    for p in &r.seed {
        row(
            &format!("seeding {} (mutations/s)", p.label),
            p.rate(),
            "FerretDB `insert_many` (docs/s)",
            f.insert_many_rate(),
        );
    }
    row(
        "seeding, all phases: stored documents/s",
        seed_rate * amplification,
        "FerretDB `insert_many` (docs/s)",
        f.insert_many_rate(),
    );
    row(
        "incremental push, one device (mutations/s)",
        ip.rate(),
        "FerretDB `insert_many` (docs/s)",
        f.insert_many_rate(),
    );
    row("first sync (rows/s)", fs_rate, "SQLite batched `INSERT` (rows/s)", q.insert_rate());
    row(
        "first sync, HTTP pull without apply (rows/s)",
        rp_rate,
        "FerretDB `find({})` of a bucket (records/s)",
        f.bucket_records_rate(),
    );
    row(
        "first sync, device apply alone (rows/s, estimate)",
        rate(fs.pulled as f64, apply_secs),
        "SQLite batched `INSERT` (rows/s)",
        q.insert_rate(),
    );
    row(
        "incremental pull (rows/s)",
        rate(il.pulled as f64, il.secs),
        "SQLite batched `INSERT` (rows/s)",
        q.insert_rate(),
    );
    let _ = writeln!(s);

    // Reading.
    let _ = writeln!(s, "### How to read this / what dominates\n");
    let _ = writeln!(s, "{}", reading(cfg, r));
    s
}

/// Mutations the run had applied (replays add nothing).
fn total_pushed(r: &Results) -> usize {
    r.seed
        .iter()
        .chain(std::iter::once(&r.inc_push))
        .chain(r.probes.iter())
        .map(|p| {
            p.statuses
                .iter()
                .filter(|(k, _)| k.starts_with("applied"))
                .map(|(_, v)| *v)
                .sum::<usize>()
        })
        .sum()
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// "`mutations` (the gate …)" → "`mutations`".
fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

/// The explanation paragraphs, written from the numbers of this run only.
fn reading(cfg: &Config, r: &Results) -> String {
    let f = &r.ferret;
    let q = &r.sqlite;
    let seeded: usize = r.seed.iter().map(|p| p.mutations).sum();
    let seed_rate = rate(seeded as f64, r.seed_secs);
    let amplification = r.db.documents as f64 / total_pushed(r).max(1) as f64;
    let mut out = Vec::new();

    // Push.
    let mut p = format!(
        "**Push.** The push path stores {:.1} documents per mutation (gate, version, readable view, claims, result, record \
         document, its share of the change log), so at {} mutations/s the push path wrote about {} documents/s: {:.0}% of \
         what FerretDB's `insert_many` of small documents sustains here ({} docs/s).",
        amplification,
        num(seed_rate),
        num(seed_rate * amplification),
        100.0 * seed_rate * amplification / f.insert_many_rate().max(1e-9),
        num(f.insert_many_rate())
    );
    for ph in r.seed.iter().filter(|ph| ph.steps.pushes > 0) {
        let (i, top) = ph
            .steps
            .mean_ms
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.partial_cmp(b.1).unwrap_or(std::cmp::Ordering::Equal))
            .map(|(i, v)| (i, *v))
            .unwrap_or((0, 0.0));
        let lat = ph.mean_latency_ms();
        let _ = write!(
            p,
            " {}: {} mutations/s, {} ms per push as the client saw it, of which the server's apply took {} ms; its largest \
             step was \"{}\" ({} ms, {:.0}% of the request).",
            capitalized(&ph.label),
            num(ph.rate()),
            num(lat),
            num(ph.steps.mean_total_ms),
            crate::steps::STEPS[i].1,
            num(top),
            100.0 * top / lat.max(1e-9)
        );
    }
    let _ = write!(
        p,
        " For scale: a raw `insert_one` takes {:.2} ms here, so {} single inserts in a row (one per booked 15-minute block \
         in a {}-mutation push of appointments) cost at least {} ms on an idle database; with {} pushers writing at once each \
         of them also waits its turn for FerretDB's SQLite writer.",
        1000.0 / f.insert_one_rate().max(1e-9),
        cfg.batch,
        cfg.batch,
        num(cfg.batch as f64 * 1000.0 / f.insert_one_rate().max(1e-9)),
        cfg.pushers
    );
    out.push(p);

    // First sync.
    let fs = &r.first_sync;
    let rp = &r.raw_pull;
    let fs_rate = rate(fs.pulled as f64, fs.secs);
    let rp_rate = rate(rp.records as f64, rp.secs);
    let sign_in = r.sign_in_overhead_secs();
    let work = (fs.secs - sign_in).max(0.0);
    let server_secs = (fs.pulled as f64 / rp_rate.max(1e-9)).min(work);
    let apply = (work - server_secs).max(0.0);
    let apply_share = 100.0 * apply / work.max(1e-9);
    let mut t = format!(
        "**First sync.** {} rows in {:.1} s, {:.2} s of it the CLI signing in and out ({} rows/s, {} pages of about {} rows \
         although the client asks for {}: a page is a whole 64-entry bucket). Pulling {} without applying ran at {} rows/s, \
         so serving and transferring the pages accounts for about {:.0}% of the rest of the first sync and the device \
         applying them (per row: JSON parse, per-field merge, view refresh; one SQLite transaction per page) for about \
         {:.0}%. ",
        int(fs.pulled),
        fs.secs,
        sign_in,
        num(fs_rate),
        fs.pages,
        int(fs.pulled / fs.pages.max(1)),
        anola_protocol::DEFAULT_PULL_LIMIT,
        if rp.sampled {
            format!("{} sampled pages", rp.pages)
        } else {
            "the same pages".to_string()
        },
        num(rp_rate),
        100.0 - apply_share,
        apply_share
    );
    if (40.0..=60.0).contains(&apply_share) {
        let _ = write!(
            t,
            "Neither side dominates: the server serves pages at {} rows/s over HTTP (one `find({{}})` of a bucket collection \
             per page, {}; FerretDB alone returns such a bucket at {} records/s) and the device applies them at about {} rows/s \
             (raw SQLite inserts: {} rows/s).",
            num(rp_rate),
            f.bucket_format,
            num(f.bucket_records_rate()),
            num(rate(fs.pulled as f64, apply)),
            num(q.insert_rate())
        );
    } else if apply_share > 60.0 {
        let _ = write!(
            t,
            "The device dominates: it applies about {} rows/s while raw SQLite inserts run at {} rows/s, so its cost is the \
             per-row work, not SQLite's write speed.",
            num(rate(fs.pulled as f64, apply)),
            num(q.insert_rate())
        );
    } else {
        let _ = write!(
            t,
            "The server side dominates. One page is one `find({{}})` of a bucket collection ({}); FerretDB returns such a \
             bucket, records decoded, at {} records/s (small flat documents: {} docs/s). The HTTP-only rate of {} rows/s is \
             {:.0}% of that raw bucket read; the rest is the server's decoding, JSON encoding and transfer. The device is not \
             the limit: raw SQLite inserts run at {} rows/s here.",
            f.bucket_format,
            num(f.bucket_records_rate()),
            num(f.small_scan_rate()),
            num(rp_rate),
            100.0 * rp_rate / f.bucket_records_rate().max(1e-9),
            num(q.insert_rate())
        );
    }
    if f.nested_secs > 0.0 && f.json_secs > 0.0 {
        let _ = write!(
            t,
            " Storage format matters on FerretDB: the same bucket read back {} records/s with its records as nested documents \
             and {} records/s as one JSON string per entry ({:.1}x).",
            num(f.nested_rate()),
            num(f.json_rate()),
            f.json_rate() / f.nested_rate().max(1e-9)
        );
    }
    out.push(t);

    // Pull page vs log position: pages carrying the same kind of content, far apart in the log.
    let find = |label: &str| r.pages.iter().find(|p| p.label.contains(label));
    let mut pairs: Vec<(&crate::PagePoint, &crate::PagePoint)> = Vec::new();
    for (a, b) in [
        ("patients: first full bucket", "incremental: last full bucket"),
        ("appointments: first full bucket", "appointments: last full bucket"),
        ("records: first full bucket", "records: last full bucket"),
        ("incremental: first full bucket", "incremental: last full bucket"),
    ] {
        if let (Some(x), Some(y)) = (find(a), find(b)) {
            if x.seq != y.seq && !pairs.iter().any(|(p, q)| p.seq == x.seq && q.seq == y.seq) {
                pairs.push((x, y));
            }
        }
    }
    if !pairs.is_empty() {
        let worst = pairs
            .iter()
            .map(|(x, y)| (y.ms_per_1000() / x.ms_per_1000().max(1e-9)).max(x.ms_per_1000() / y.ms_per_1000().max(1e-9)))
            .fold(1.0, f64::max);
        let verdict = if worst <= 1.25 {
            "about equal: a page's cost does not grow with the length of the log".to_string()
        } else {
            format!(
                "up to {worst:.2}x apart; on this shared machine compare with the spread between the other rows before reading a \
                 trend into it"
            )
        };
        let list = pairs
            .iter()
            .map(|(x, y)| {
                format!(
                    "seq {} vs {} ({:.2} vs {:.2} ms per 1000 records)",
                    x.seq,
                    y.seq,
                    x.ms_per_1000(),
                    y.ms_per_1000()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        out.push(format!(
            "**Pull cost vs log length.** Pages carrying the same kind of records at different positions of the log: {list}: \
             {verdict}. Between kinds the cost follows the page's size in bytes."
        ));
    }

    // Point reads.
    if f.find_by_id.len() >= 2 {
        let small = &f.find_by_id[0];
        let big = f.find_by_id.iter().max_by_key(|x| x.1).unwrap_or(small);
        // Cost per lookup in the largest collection over the smallest, against their sizes.
        let grows = big.3 / small.3.max(1e-3);
        let size = big.1 as f64 / small.1.max(1) as f64;
        // A scan costs in proportion to the collection; an index search about the same at any size
        // (a few milliseconds of noise between look-ups, larger documents in the gate).
        let verdict = if grows < 3.0_f64.max(size / 8.0) {
            format!(
                "{grows:.1}x for a collection {size:.0}x larger (a scan would grow with it): `_id` look-ups search FerretDB's \
                 unique index (docs/adr/0008), so a per-record read on the sync path costs about the same at any size of clinic"
            )
        } else {
            format!(
                "{grows:.0}x more for a collection {size:.0}x larger: look-ups scan, so any per-record read on the sync path slows \
                 down as a clinic's data grows (is the FerretDB build patched? docs/adr/0008)"
            )
        };
        out.push(format!(
            "**Point reads.** `find_one({{_id}})` costs {:.2} ms in {} of {} documents and {:.2} ms in {} of {} documents: \
             {verdict}. Raw SQLite on the device answers point reads at {} reads/s.",
            small.3,
            short(&small.0),
            int(small.1),
            big.3,
            short(&big.0),
            int(big.1),
            num(q.read_rate())
        ));
    }

    // Edits and retries.
    if r.probes.len() == 3 {
        let per = |p: &crate::PushPhase| p.mean_latency_ms() / p.mutations.max(1) as f64;
        let (c, rpl, e) = (&r.probes[0], &r.probes[1], &r.probes[2]);
        if let Some(err) = &e.error {
            let err: String = err.chars().take(300).collect();
            out.push(format!(
                "**Edits and retries.** In single pushes of {} at this size, a fresh create cost {} ms per mutation and the same \
                 push replayed {} ms per mutation; the push of {} edits of existing patients **failed** after {} tries and {:.0} s \
                 (`{}`).",
                c.mutations,
                num(per(c)),
                num(per(rpl)),
                e.mutations,
                e.retries + 1,
                e.secs,
                err.replace('`', "'")
            ));
        } else {
            out.push(format!(
                "**Edits and retries.** In single pushes of {} at this size, a fresh create cost {} ms per mutation, the same push \
             replayed {} ms per mutation and an edit of an existing patient {} ms per mutation ({:.1}x a create). A create needs \
             no reads; a replay looks every mutation up by `_id` in `mutations` and `mutation_results`; an edit reads the \
             patient's readable document and versions, its identity-key claims, and rewrites its view: all `{{_id}}` point \
             reads and writes, whose cost the point-read rows above show against the collections' sizes.",
                c.mutations,
                num(per(c)),
                num(per(rpl)),
                num(per(e)),
                per(e) / per(c).max(1e-9)
            ));
        }
    }

    // Incremental + memory.
    let ip = &r.inc_push;
    let il = &r.inc_pull;
    out.push(format!(
        "**Incremental and memory.** One device pushing {} patients ran at {} mutations/s; the synced device pulled them at {} \
         rows/s; a sync with nothing to do takes {:.2} s (process start, opening the replica, signing in and out, one empty \
         round). Peak memory: \
         the CLI {} during the first sync; the server {} (VmHWM over the run up to the end of the first sync; {} after \
         seeding), serving pages of about {} rows ({} of JSON each).",
        int(ip.mutations as u64),
        num(ip.rate()),
        num(rate(il.pulled as f64, il.secs)),
        r.idle_sync.secs,
        mib_kb(fs.peak_rss_kb),
        mib_kb(r.server_hwm_after_sync_kb),
        mib_kb(r.server_hwm_after_seed_kb),
        int(fs.pulled / fs.pages.max(1)),
        mb(fs.bytes_received as f64 / fs.pages.max(1) as f64)
    ));
    out.join("\n\n") + "\n"
}
