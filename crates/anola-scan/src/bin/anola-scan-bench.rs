//! `anola-scan-bench`: how many damaged QR captures each decoder reads.
//!
//! Generates payloads (short card ids and `shc:/` tokens, card-sized and at the QR version 20–22
//! ceiling), renders them, applies every damage class of `anola_scan::damage::levels()` with a
//! fixed seed, writes the PNGs to a temp directory and counts correct reads by
//! (a) plain `rqrr`, (b) `anola_scan::decode`, (b') `anola_scan::decode_with_effort(Quick)`,
//! (c) `zbarimg --raw -q` (Debian `zbar-tools`; skipped with a note when not installed). Prints
//! Markdown tables and our decode times.
//!
//! Build and run in release: `cargo run --release -p anola-scan --bin anola-scan-bench`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anola_scan::damage;

const USAGE: &str = "anola-scan-bench [--payloads N] [--seed S] [--module-px P] [--keep DIR] [--no-zbar] [--only CLASS] [--failures]

  --payloads N   payloads per set (short, card, max); default 6
  --seed S       damage / payload seed; default 2026
  --module-px P  rendered module size before damage; default 4
  --keep DIR     write the PNGs to DIR and keep them (default: a temp dir, removed)
  --no-zbar      skip the zbarimg column
  --only CLASS   only this damage class (e.g. \"noise\")
  --failures     list the images each decoder missed
  --skip A,B     leave these anola-scan pipeline variants out (to measure what each adds)";

struct Args {
    payloads: usize,
    seed: u64,
    module_px: f64,
    keep: Option<PathBuf>,
    zbar: bool,
    only: Option<String>,
    failures: bool,
    skip: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        payloads: 6,
        seed: 2026,
        module_px: 4.0,
        keep: None,
        zbar: true,
        only: None,
        failures: false,
        skip: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--payloads" => a.payloads = val("--payloads")?.parse().map_err(|e| format!("--payloads: {e}"))?,
            "--seed" => a.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--module-px" => a.module_px = val("--module-px")?.parse().map_err(|e| format!("--module-px: {e}"))?,
            "--keep" => a.keep = Some(PathBuf::from(val("--keep")?)),
            "--no-zbar" => a.zbar = false,
            "--only" => a.only = Some(val("--only")?),
            "--failures" => a.failures = true,
            "--skip" => a.skip = val("--skip")?.split(',').map(|v| v.trim().to_string()).collect(),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

struct Payload {
    set: &'static str,
    text: String,
}

fn payloads(n: usize, seed: u64) -> Vec<Payload> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::new();
    for i in 0..n {
        // Short: card ids and short tokens (QR versions 1–6).
        let text = if i % 2 == 0 {
            damage::card_id_payload(&mut rng)
        } else {
            let d = rng.usize(80..240);
            damage::shc_payload(&mut rng, d)
        };
        out.push(Payload { set: "short", text });
    }
    for _ in 0..n {
        // A signed Anola card token: ~600–900 digits (QR versions ~12–15 at level M).
        let d = rng.usize(600..=900);
        out.push(Payload {
            set: "card",
            text: damage::shc_payload(&mut rng, d),
        });
    }
    for _ in 0..n {
        // The ceiling: QR versions 20–22 at level M.
        let d = rng.usize(1300..=1600);
        out.push(Payload {
            set: "max",
            text: damage::shc_payload(&mut rng, d),
        });
    }
    out
}

struct Case {
    class: &'static str,
    level: String,
    set: &'static str,
    path: PathBuf,
    payload: usize,
}

#[derive(Default, Clone)]
struct Tally {
    images: usize,
    rqrr: usize,
    ours: usize,
    quick: usize,
    zbar: usize,
    wrong: [usize; 3],
    times_ms: Vec<f64>,
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let zbar_version = if args.zbar { zbar_version() } else { None };
    if args.zbar && zbar_version.is_none() {
        eprintln!("note: zbarimg not found (Debian package zbar-tools); the zbar column is skipped");
    }
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("anola-scan-bench-{}", std::process::id())),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }

    let payloads = payloads(args.payloads, args.seed);
    let started = Instant::now();
    let mut versions: BTreeMap<&str, (i16, i16)> = BTreeMap::new();
    let mut cases = Vec::new();
    for (pi, p) in payloads.iter().enumerate() {
        let r = match damage::render(&p.text, args.module_px, 8) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("payload {pi} does not fit a QR code: {e}");
                std::process::exit(1);
            }
        };
        let v = versions.entry(p.set).or_insert((i16::MAX, 0));
        v.0 = v.0.min(r.version);
        v.1 = v.1.max(r.version);
        for (ci, class) in damage::levels().iter().enumerate() {
            if args.only.as_deref().is_some_and(|o| o != class[0].class()) {
                continue;
            }
            for (li, d) in class.iter().enumerate() {
                let seed = args.seed ^ ((pi as u64) << 32) ^ ((ci as u64) << 16) ^ li as u64;
                let g = d.apply(&r.image, args.module_px, seed);
                let path = dir.join(format!("{}-{li}-{pi:03}.png", d.class().replace([' ', '(', ')'], "_")));
                if let Err(e) = g.to_image().save(&path) {
                    eprintln!("cannot write {}: {e}", path.display());
                    std::process::exit(1);
                }
                cases.push(Case {
                    class: d.class(),
                    level: d.level(),
                    set: p.set,
                    path,
                    payload: pi,
                });
            }
        }
    }
    let generated = started.elapsed();

    let skip: Vec<&str> = args.skip.iter().map(String::as_str).collect();
    let mut by_level: Vec<((&'static str, String), Tally)> = Vec::new();
    let mut by_set: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut all_times = Vec::new();
    let mut read_ms = Vec::new();
    let mut missed_ms = Vec::new();
    let load_start = loadavg();
    let mut variants: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for c in &cases {
        let expected = &payloads[c.payload].text;
        let img = match image::open(&c.path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("cannot read back {}: {e}", c.path.display());
                std::process::exit(1);
            }
        };
        let rq = anola_scan::decode_rqrr_only(&img);
        let t0 = Instant::now();
        let ours = if args.skip.is_empty() {
            anola_scan::decode_detailed(&img)
        } else {
            anola_scan::decode_gray_skipping(&anola_scan::gray::Gray::from_dynamic(&img), &skip)
        };
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let quick = anola_scan::decode_with_effort(&img, anola_scan::Effort::Quick);
        let zb = if zbar_version.is_some() { zbarimg(&c.path) } else { None };

        let key = (c.class, c.level.clone());
        let idx = match by_level.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                by_level.push((key, Tally::default()));
                by_level.len() - 1
            }
        };
        for t in [&mut by_level[idx].1, by_set.entry(c.set).or_default()] {
            t.images += 1;
            score(&rq, expected, &mut t.rqrr, &mut t.wrong[0]);
            if let Ok(d) = &ours {
                score(&d.texts, expected, &mut t.ours, &mut t.wrong[1]);
            }
            if quick.as_ref().is_ok_and(|d| d.texts.iter().any(|x| x == expected)) {
                t.quick += 1;
            }
            if let Some(z) = &zb {
                score(z, expected, &mut t.zbar, &mut t.wrong[2]);
            }
            t.times_ms.push(ms);
        }
        all_times.push(ms);
        if ours.as_ref().is_ok_and(|d| d.texts.iter().any(|t| t == expected)) {
            read_ms.push(ms);
        } else {
            missed_ms.push(ms);
        }
        if let Ok(d) = &ours {
            *variants.entry(d.variant).or_default() += 1;
        }
        if args.failures {
            let ok_ours = ours.as_ref().is_ok_and(|d| d.texts.iter().any(|t| t == expected));
            let ok_zbar = zb.as_ref().is_some_and(|z| z.iter().any(|t| t == expected));
            if !ok_ours {
                failures.push(format!(
                    "ours missed {} ({}, zbar {}): {}",
                    c.path.display(),
                    match &ours {
                        Ok(_) => "wrong text".to_string(),
                        Err(e) => e.code().to_string(),
                    },
                    if ok_zbar { "read it" } else { "missed too" },
                    c.set
                ));
            }
        }
    }

    // Card to text on clean captures, including PNG decoding from disk.
    let mut clean_file_ms = Vec::new();
    for c in cases.iter().filter(|c| c.class == "clean") {
        let t0 = Instant::now();
        let _ = anola_scan::decode_file(&c.path);
        clean_file_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }

    let zcol = zbar_version.is_some();
    println!("Images: {} ({} payloads x {} damage levels), rendered at {} px/module with a 4-module quiet zone and 8 modules of margin, seed {}; generated in {:.1} s.", cases.len(), payloads.len(), cases.len() / payloads.len().max(1), args.module_px, args.seed, generated.as_secs_f64());
    println!(
        "Payload sets (QR versions at level M): {}.",
        versions
            .iter()
            .map(|(k, (lo, hi))| format!("{k} v{lo}–v{hi}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "zbar: {}.",
        match &zbar_version {
            Some(v) => format!("zbarimg {v}"),
            None => "not run".into(),
        }
    );
    println!();
    println!("| damage | level | images | rqrr alone | anola-scan | anola-scan quick | zbarimg | anola-scan median ms | p95 ms |");
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut class_tot: Vec<(&str, Tally)> = Vec::new();
    for ((class, level), t) in &by_level {
        println!(
            "| {class} | {level} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            t.images,
            t.rqrr,
            t.ours,
            t.quick,
            if zcol { t.zbar.to_string() } else { "–".into() },
            pct(&t.times_ms, 0.5),
            pct(&t.times_ms, 0.95)
        );
        let e = match class_tot.iter().position(|(c, _)| c == class) {
            Some(i) => i,
            None => {
                class_tot.push((class, Tally::default()));
                class_tot.len() - 1
            }
        };
        let ct = &mut class_tot[e].1;
        ct.images += t.images;
        ct.rqrr += t.rqrr;
        ct.ours += t.ours;
        ct.quick += t.quick;
        ct.zbar += t.zbar;
        for i in 0..3 {
            ct.wrong[i] += t.wrong[i];
        }
    }
    let total = class_tot.iter().fold(Tally::default(), |mut a, (_, t)| {
        a.images += t.images;
        a.rqrr += t.rqrr;
        a.ours += t.ours;
        a.quick += t.quick;
        a.zbar += t.zbar;
        for i in 0..3 {
            a.wrong[i] += t.wrong[i];
        }
        a
    });
    println!(
        "| **all** | | {} | **{}** | **{}** | {} | **{}** | {:.1} | {:.1} |",
        total.images,
        total.rqrr,
        total.ours,
        total.quick,
        if zcol { total.zbar.to_string() } else { "–".into() },
        pct(&all_times, 0.5),
        pct(&all_times, 0.95)
    );
    println!();
    println!("| damage class (all levels) | images | rqrr alone | anola-scan | anola-scan quick | zbarimg |");
    println!("|---|--:|--:|--:|--:|--:|");
    for (class, t) in &class_tot {
        println!(
            "| {class} | {} | {} | {} | {} | {} |",
            t.images,
            t.rqrr,
            t.ours,
            t.quick,
            if zcol { t.zbar.to_string() } else { "–".into() }
        );
    }
    println!();
    println!("| payload set | images | rqrr alone | anola-scan | anola-scan quick | zbarimg | anola-scan median ms | p95 ms |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    for (set, t) in &by_set {
        println!(
            "| {set} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            t.images,
            t.rqrr,
            t.ours,
            t.quick,
            if zcol { t.zbar.to_string() } else { "–".into() },
            pct(&t.times_ms, 0.5),
            pct(&t.times_ms, 0.95)
        );
    }
    println!();
    println!(
        "Wrong text returned (counted as misses above): rqrr {}, anola-scan {}, zbar {}.",
        total.wrong[0], total.wrong[1], total.wrong[2]
    );
    println!(
        "Card to text on the {} clean captures, PNG file → text (`decode_file`): median {:.1} ms, p95 {:.1} ms, max {:.1} ms.",
        clean_file_ms.len(),
        pct(&clean_file_ms, 0.5),
        pct(&clean_file_ms, 0.95),
        pct(&clean_file_ms, 1.0)
    );
    println!(
        "anola-scan decode time (in memory, PNG already decoded): images it read: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; images it could not read (every variant tried): median {:.1} ms, p95 {:.1} ms, max {:.1} ms.",
        pct(&read_ms, 0.5),
        pct(&read_ms, 0.95),
        pct(&read_ms, 1.0),
        pct(&missed_ms, 0.5),
        pct(&missed_ms, 0.95),
        pct(&missed_ms, 1.0)
    );
    println!(
        "Machine: {} CPU(s); load average (1/5/15 min) {} at the start, {} at the end.",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        load_start,
        loadavg()
    );
    println!(
        "Variant that read (anola-scan): {}.",
        variants.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    );
    if args.failures {
        println!();
        for f in &failures {
            println!("{f}");
        }
    }
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn score(texts: &[String], expected: &str, ok: &mut usize, wrong: &mut usize) {
    if texts.iter().any(|t| t == expected) {
        *ok += 1;
    } else if !texts.is_empty() {
        *wrong += 1;
    }
}

fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let i = ((s.len() as f64 - 1.0) * q).round() as usize;
    s[i.min(s.len() - 1)]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn zbar_version() -> Option<String> {
    let out = Command::new("zbarimg").arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// zbarimg's reads of one file (`--raw -q`: one text per line; exit 1–4 when nothing is read).
fn zbarimg(path: &Path) -> Option<Vec<String>> {
    let out = Command::new("zbarimg").args(["--raw", "-q"]).arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect(),
    )
}
