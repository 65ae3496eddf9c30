//! `anola-card-bench`: how long from a health card to its patient, on this machine.
//!
//! Starts a private FerretDB and the sync server, enrols a front-desk device, seeds `--patients`
//! patients (pushed to the server), issues `--cards` cards online and prints each at 300 dpi (the
//! app's own SVG). Then, with the device's replica as the only source (no network needed), it
//! times each way a card reaches the engine, from the input to the verified card and the patient
//! record in hand:
//!
//! - the QR text typed by a handheld scanner, and the fallback code typed by a person;
//! - a 960x720 camera frame of the printed card on a desk (decode, quick effort, then verify);
//! - a photo of the printed card (JPEG, 1011x638) and a 12-megapixel phone photo from afar;
//! - a check-in (today's walk-in created, queue number) from the QR text.
//!
//! With `--window` (needs Xvfb, tauri-driver and WebKitWebDriver: run under `xvfb-run`) it also
//! measures the real app: a scanner burst dispatched as key events in the webview, until the
//! patient's name is on screen (wedge detection, IPC, verification, React render and paint).
//!
//! Build: `cargo build --release -p anola-sync-server -p anola-cli -p anola-clinic -p anola-e2e
//! --bin anola-sync-server --bin anola --bin anola-clinic --bin anola-card-bench`, then
//! `ANOLA_PROFILE=release target/release/anola-card-bench --help`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anola_client::card_image::card_text_from_image;
use anola_client::sync::admin::AdminClient;
use anola_client::{Clinic, PrintableCard};
use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::printed::{jpeg_bytes, print, PRINTED_MODULE_PX};
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, unique_db, workspace_root};
use anola_protocol::{PatientFields, Provider, Role};
use anola_scan::damage::{self, Damage};
use anola_scan::gray::Gray;
use serde_json::json;

const USAGE: &str = "anola-card-bench: card to patient, end to end

Options:
  --patients N    patients on the device (default 5000)
  --cards N       cards issued and printed (default 20)
  --repeats N     timed reads per input kind (default 200; phone photos: a tenth)
  --window        also time the real app window (run under xvfb-run; needs tauri-driver)
  --write-docs    write/replace the section in docs/benchmarks.md
  --docs PATH     the document to write (default <workspace>/docs/benchmarks.md)";

const SECTION: &str = "card-to-patient";

struct Config {
    patients: usize,
    cards: usize,
    repeats: usize,
    window: bool,
    write_docs: bool,
    docs: PathBuf,
}

fn parse() -> Result<Config, String> {
    let mut c = Config {
        patients: 5000,
        cards: 20,
        repeats: 200,
        window: false,
        write_docs: false,
        docs: workspace_root().join("docs/benchmarks.md"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--patients" => c.patients = num("--patients")?,
            "--cards" => c.cards = num("--cards")?,
            "--repeats" => c.repeats = num("--repeats")?,
            "--window" => c.window = true,
            "--write-docs" => c.write_docs = true,
            "--docs" => c.docs = PathBuf::from(args.next().ok_or("--docs needs a path")?),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    c.cards = c.cards.min(c.patients);
    Ok(c)
}

/// Timings of one input kind.
struct Row {
    input: String,
    samples: Vec<Duration>,
    /// Inputs refused (not read); not in `samples`.
    failed: usize,
    note: String,
}

impl Row {
    fn stat(&self, q: f64) -> f64 {
        let mut v: Vec<f64> = self.samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * q).round() as usize]
    }
}

fn main() {
    let cfg = match parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = rt.block_on(run(&cfg)) {
        eprintln!("anola-card-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(cfg: &Config) -> Result<(), String> {
    let started = Instant::now();
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("cardbench"), &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (_ws, clinic) = enrolled(&dirs.path().join("desk"), &url, "main", Role::FrontDesk, None).await;
    let clinic: &Clinic = &clinic;
    let token = admin_token(&url).await;
    let provider: Provider = serde_json::from_value(json!({
        "id": "55555555-5555-4555-8555-555555555555", "clinic_id": "main", "title": "Dr.",
        "given_name": "Achieng", "family_name": "Odhiambo", "active": true}))
    .map_err(|e| e.to_string())?;
    AdminClient::with_token(&url, "main", &token)
        .put_provider(&provider)
        .await
        .map_err(|e| e.to_string())?;

    eprintln!("seeding {} patients…", cfg.patients);
    let mut ids = Vec::with_capacity(cfg.patients);
    for i in 0..cfg.patients {
        let f: PatientFields = serde_json::from_value(json!({
            "given_name": format!("Given{i}"), "family_name": format!("Family{}", i % 977),
            "date_of_birth": format!("19{:02}-{:02}-{:02}", 40 + i % 60, 1 + i % 12, 1 + i % 28)}))
        .map_err(|e| e.to_string())?;
        ids.push(clinic.register_patient(f).map_err(|e| e.to_string())?.id);
    }
    sync_all(clinic).await?;
    eprintln!("issuing and printing {} cards…", cfg.cards);
    let mut cards: Vec<PrintableCard> = Vec::new();
    for id in ids.iter().take(cfg.cards) {
        cards.push(clinic.issue_card(*id).await.map_err(|e| e.to_string())?);
    }
    sync_all(clinic).await?;
    let printed: Vec<Gray> = cards.iter().map(|c| print(&c.svg)).collect();

    let n = cfg.repeats;
    let mut rows = Vec::new();
    eprintln!("timing…");
    rows.push(
        time(n, "QR text from a handheld scanner → patient", "`verify_card`", |i| {
            let c = &cards[i % cards.len()];
            async move { clinic.verify_card(&c.qr_text).await.map(|_| ()) }
        })
        .await?,
    );
    rows.push(
        time(n, "fallback code typed → patient", "`verify_card`", |i| {
            let c = &cards[i % cards.len()];
            async move { clinic.verify_card(&c.fallback_code).await.map(|_| ()) }
        })
        .await?,
    );
    let frames: Vec<image::DynamicImage> = (0..cards.len())
        .map(|i| damage::to_dynamic(&Damage::Scene { module_px: 3.2 }.apply(&printed[i], PRINTED_MODULE_PX, 70 + i as u64)))
        .collect();
    rows.push(
        time(
            n,
            "camera frame 960x720 → patient",
            "decode (quick, thorough if a code was seen) + `verify_card`",
            |i| {
                let frame = &frames[i % frames.len()];
                async move {
                    // As the camera session reads a frame: quick, and thorough when a code was seen.
                    let decoded = match anola_scan::decode_with_effort(frame, anola_scan::Effort::Quick) {
                        Err(anola_scan::ScanError::Unreadable) => anola_scan::decode_with_effort(frame, anola_scan::Effort::Thorough),
                        other => other,
                    };
                    let texts = decoded
                        .map_err(|e| anola_client::ClientError::card_rejected(e.code(), e.to_string()))?
                        .texts;
                    let text = anola_scan::card_text(texts).unwrap_or_default();
                    clinic.verify_card(&text).await.map(|_| ())
                }
            },
        )
        .await?,
    );
    let photos: Vec<Vec<u8>> = (0..cards.len())
        .map(|i| jpeg_bytes(&Damage::Photo { level: 0.6 }.apply(&printed[i], PRINTED_MODULE_PX, 90 + i as u64)))
        .collect();
    rows.push(
        time(
            n,
            "photo of the card, JPEG 1011x638 → patient",
            "JPEG decode + decode + `verify_card`",
            |i| {
                let bytes = &photos[i % photos.len()];
                async move { clinic.verify_card(&card_text_from_image(bytes)?).await.map(|_| ()) }
            },
        )
        .await?,
    );
    let phone: Vec<Vec<u8>> = (0..cards.len().min(5))
        .map(|i| jpeg_bytes(&damage::phone_photo(&printed[i], PRINTED_MODULE_PX, 2.5, 120 + i as u64)))
        .collect();
    rows.push(
        time(
            (n / 10).max(3),
            "12 MP phone photo from afar (2.5 px/module) → patient",
            "full-resolution tiles",
            |i| {
                let bytes = &phone[i % phone.len()];
                async move { clinic.verify_card(&card_text_from_image(bytes)?).await.map(|_| ()) }
            },
        )
        .await?,
    );
    rows.push(
        time(
            cards.len(),
            "check-in from the QR text (walk-in created, queue number)",
            "`check_in`, one per card",
            |i| {
                let c = &cards[i % cards.len()];
                async move { clinic.check_in(&c.qr_text).await.map(|_| ()) }
            },
        )
        .await?,
    );

    if cfg.window {
        rows.push(window(cfg, &url, dirs.path(), &cards).await?);
    }
    drop(server);

    let section = report(cfg, &rows, started.elapsed());
    println!("{section}");
    if cfg.write_docs {
        anola_e2e::bench_docs::write_section(&cfg.docs, SECTION, &section, "# Benchmarks\n")?;
        eprintln!("wrote {}", cfg.docs.display());
    }
    Ok(())
}

async fn sync_all(clinic: &Clinic) -> Result<(), String> {
    for _ in 0..200 {
        clinic.sync_now().await.map_err(|e| e.to_string())?;
        if clinic.status().map_err(|e| e.to_string())?.pending == 0 {
            return Ok(());
        }
    }
    Err("sync did not drain the outbox".into())
}

/// Times `n` calls; a refused input (a photo too damaged to read) is counted, not timed.
async fn time<'a, F, Fut>(n: usize, input: &str, note: &str, mut f: F) -> Result<Row, String>
where
    F: FnMut(usize) -> Fut + 'a,
    Fut: std::future::Future<Output = Result<(), anola_client::ClientError>> + 'a,
{
    // One untimed call warms caches (fonts, keys, SQLite pages).
    let _ = f(0).await;
    let mut samples = Vec::with_capacity(n);
    let mut failed = 0;
    for i in 0..n {
        let t = Instant::now();
        match f(i).await {
            Ok(()) => samples.push(t.elapsed()),
            Err(e) => {
                failed += 1;
                eprintln!("{input}: input {i} refused: {}", e.code());
            }
        }
    }
    if samples.is_empty() {
        return Err(format!("{input}: every input was refused"));
    }
    Ok(Row {
        input: input.into(),
        samples,
        failed,
        note: note.into(),
    })
}

/// The real window: a second front-desk device (the CLI enrols and syncs it), the app signed in,
/// then scanner bursts dispatched as key events until the patient's name is on screen.
async fn window(cfg: &Config, url: &str, dir: &std::path::Path, cards: &[PrintableCard]) -> Result<Row, String> {
    let app_dir = dir.join("app");
    let device = Device::with_scope(&app_dir, url, "main", Role::FrontDesk, None);
    device.ok(&["sync"]);
    let Some((_driver, wd)) = anola_e2e::app::launch(&app_dir, url, "tauri-driver-card-bench.log").await else {
        return Err("--window: the app window cannot run here".into());
    };
    let e = |e: anola_e2e::webdriver::WdError| e.0;
    anola_e2e::app::sign_in(&wd, &device.username).await.map_err(e)?;
    let mut samples = Vec::new();
    let n = (cfg.repeats / 4).clamp(5, 50);
    for i in 0..=n {
        let card = &cards[i % cards.len()];
        let name = card.display_name.split(' ').next().unwrap_or_default().to_owned();
        // The burst, then a wait (inside the page, timed with performance.now) until the heading
        // names the patient: no WebDriver round trip inside the measured span.
        let script = format!(
            r#"const text = {text}; const want = {want};
            window.__cardMs = null;
            const heading = () => document.querySelector('[data-testid=patient-name]');
            const t0 = performance.now();
            const done = () => {{ const h = heading(); return h && h.textContent.includes(want); }};
            const obs = new MutationObserver(() => {{ if (window.__cardMs === null && done()) {{ window.__cardMs = performance.now() - t0; obs.disconnect(); }} }});
            obs.observe(document.body, {{ subtree: true, childList: true, characterData: true }});
            // A scanner types into whatever has focus (the search box, often), like a keyboard.
            const target = document.activeElement || document.body;
            for (const key of text) target.dispatchEvent(new KeyboardEvent('keydown', {{ key, bubbles: true }}));
            target.dispatchEvent(new KeyboardEvent('keydown', {{ key: 'Enter', bubbles: true }}));
            return true;"#,
            text = serde_json::to_string(&card.qr_text).unwrap_or_default(),
            want = serde_json::to_string(&name).unwrap_or_default(),
        );
        wd.execute(&script).await.map_err(e)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let ms = loop {
            let v = wd.execute("return window.__cardMs").await.map_err(e)?;
            if let Some(ms) = v.as_f64() {
                break ms;
            }
            if Instant::now() > deadline {
                anola_e2e::app::screenshot(&wd, "card-bench-window.png").await;
                return Err(format!("--window: patient {name} not on screen after 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // The first burst warms the page (lazy chunks); it is not counted.
        if i > 0 {
            samples.push(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    wd.quit().await;
    Ok(Row {
        input: "QR text from a handheld scanner → patient's name on screen, real app window".into(),
        samples,
        failed: 0,
        note: "key events → wedge → IPC → `verify_card` → render".into(),
    })
}

fn report(cfg: &Config, rows: &[Row], total: Duration) -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let when = time::OffsetDateTime::now_utc();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let stamp = format!("{} {:02}:{:02}", when.date(), when.hour(), when.minute());
    let mut s = format!(
        "## Card to patient\n\nNumbers from `anola-card-bench` (`tests/src/bin/anola-card-bench.rs`), {profile} build of \
         commit {commit}, run {} UTC on this machine ({} CPUs; load average {} at the end). Whole run {:.0} s.\n\n\
         A front-desk device holds {} patients in its encrypted replica; {} cards were issued by the server and printed \
         at 300 dpi from the app's own SVG. Each row times one input from its arrival to the verified card and the \
         patient record in hand (signature checked offline against the cached keys, revocation list, replica \
         look-up, access audit entry written); nothing touches the network.\n\n\
         ```sh\ncargo build --release -p anola-sync-server -p anola-cli -p anola-clinic -p anola-e2e \\\n  \
         --bin anola-sync-server --bin anola --bin anola-clinic --bin anola-card-bench\n\
         ANOLA_PROFILE=release xvfb-run -a target/release/anola-card-bench --window --write-docs\n```\n\n\
         | input | what is timed | read / tried | median ms | p95 ms | max ms |\n|---|---|--:|--:|--:|--:|\n",
        stamp,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        load.join(" / "),
        total.as_secs_f64(),
        cfg.patients,
        cfg.cards,
        profile = if cfg!(debug_assertions) { "debug" } else { "release" },
    );
    let reading = "\nHow to read this: the issue's target is a card on screen in under 100 ms. The window row is \
the whole path in the real app (a scanner burst typed into the focused field, recognised, sent \
over IPC, verified, the patient view rendered); the engine rows show where the time goes. A camera \
delivers a frame every 33-67 ms and the decoder always takes the newest one, so a card held up is \
read within a frame or two; the camera row's p95 is frames in which a code was seen but the quick \
pass failed and the thorough pass ran, and its misses are frames the quick pass could not read \
(the next frame usually is). Tiled 12 MP photos are for picture files only, never camera frames.\n";
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} / {} | {:.2} | {:.2} | {:.2} |\n",
            r.input,
            r.note,
            r.samples.len(),
            r.samples.len() + r.failed,
            r.stat(0.5),
            r.stat(0.95),
            r.stat(1.0)
        ));
    }
    s.push_str(reading);
    s
}
