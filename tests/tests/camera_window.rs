//! The camera path in the real window, fed with recorded frames (no camera on these machines):
//! the app runs with `ANOLA_CAMERA_FRAMES` pointing at frames of a desk on which the patient's
//! printed card (the CLI's 300-dpi PNG) lies at changing places and angles. At the front desk,
//! "Scan card" starts the camera, shows its live preview and opens the patient; in kiosk mode the
//! same camera checks the patient in and shows only initials and queue number.

use anola_e2e::app::{enter_kiosk, front_desk_with_patient, launch_with_env, screenshot, sign_in};
use anola_e2e::ferret::Ferret;
use anola_e2e::printed::PRINTED_MODULE_PX;
use anola_e2e::procs::ServerProc;
use anola_e2e::webdriver::{WdError, WebDriver};
use anola_e2e::{free_port, unique_db};
use anola_scan::damage::Damage;
use anola_scan::gray::Gray;
use std::path::Path;
use std::time::Duration;

const PROVIDER: &str = "44444444-4444-4444-8444-444444444444";

/// A short "recording": an empty desk, then the card held up in six positions, then the desk.
fn record(card_png: &Path, dir: &Path) {
    let card = Gray::from_dynamic(&image::open(card_png).expect("the printed card PNG"));
    let blank = Gray::new(card.w, card.h, 235);
    let mut n = 0;
    let mut save = |g: &Gray| {
        anola_scan::damage::to_dynamic(g)
            .save(dir.join(format!("frame-{n:03}.jpg")))
            .unwrap();
        n += 1;
    };
    for seed in 0..4 {
        save(&Damage::Scene { module_px: 3.0 }.apply(&blank, PRINTED_MODULE_PX, 500 + seed));
    }
    for seed in 0..6 {
        save(&Damage::Scene { module_px: 3.2 }.apply(&card, PRINTED_MODULE_PX, 60 + seed));
    }
    for seed in 0..4 {
        save(&Damage::Scene { module_px: 3.0 }.apply(&blank, PRINTED_MODULE_PX, 600 + seed));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_camera_reads_a_printed_card_at_the_desk_and_at_the_kiosk() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("camera"), &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let dir = dirs.path().join("desk");
    let (desk, patient) = front_desk_with_patient(&dir, &url, PROVIDER, "Zawadi", "Mwangi", "1991-07-30");
    let png = dirs.path().join("card.png");
    desk.ok(&["card", "issue", "--patient", &patient, "--png", png.to_str().unwrap()]);
    desk.ok(&["sync"]);
    let frames = dirs.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    record(&png, &frames);

    let env = [
        ("ANOLA_CAMERA_FRAMES", frames.as_os_str()),
        ("ANOLA_CAMERA_FPS", std::ffi::OsStr::new("6")),
    ];
    let Some((_driver, wd)) = launch_with_env(&dir, &url, "tauri-driver-camera.log", &env).await else {
        return;
    };
    let result = drive(&wd, &desk.username).await;
    if result.is_err() {
        screenshot(&wd, "camera-failure.png").await;
    }
    wd.quit().await;
    result.expect("camera flow");
}

async fn drive(wd: &WebDriver, username: &str) -> Result<(), WdError> {
    let long = Duration::from_secs(45);
    let short = Duration::from_secs(10);

    sign_in(wd, username).await?;

    // Front desk: "Scan card" turns the camera on, shows what it sees, and opens the patient.
    wd.click_on("[data-testid=open-card-reader]", short).await?;
    wd.wait_for("[data-testid=card-reader]", short).await?;
    let preview = wd.wait_for("[data-testid=camera-preview]", long).await.map(|_| ()).or_else(|e| {
        if e.0.contains("stale element") {
            Ok(())
        } else {
            Err(e)
        }
    });
    // The preview may already be gone when the card was read at once: then the patient is open.
    if preview.is_ok() {
        let src = wd
            .execute("const i = document.querySelector('[data-testid=camera-preview]'); return i ? i.src : 'data:image/jpeg;base64,gone'")
            .await?;
        assert!(src.as_str().unwrap_or_default().starts_with("data:image/jpeg;base64,"), "{src}");
        screenshot(wd, "camera-preview.png").await;
    }
    let name = wd.wait_text("[data-testid=patient-name]", long, |t| t.contains("Zawadi")).await?;
    assert!(name.contains("Mwangi"), "{name}");
    assert!(
        wd.find_all("[data-testid=card-reader]").await?.is_empty(),
        "the reader closes on a read"
    );
    screenshot(wd, "camera-opened-patient.png").await;

    // Kiosk: the same camera checks the patient in.
    enter_kiosk(wd, "8642").await?;
    wd.wait_text("[data-testid=kiosk-queue-number]", long, |t| t.trim() == "1").await?;
    let initials = wd.wait_text("[data-testid=kiosk-initials]", short, |t| !t.is_empty()).await?;
    assert!(initials.starts_with('Z') && initials.contains('M'), "initials shown: {initials}");
    let page = wd.execute("return document.body.innerText").await?;
    assert!(!page.as_str().unwrap_or_default().contains("Mwangi"), "the kiosk showed the name");
    screenshot(wd, "camera-kiosk-checked-in.png").await;
    Ok(())
}
