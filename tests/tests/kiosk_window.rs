//! Patient self check-in in the real window: a front-desk device (enrolled and seeded through the
//! CLI, with a card issued online) is signed into the app; a staff member sets a PIN and turns on
//! kiosk mode; a handheld scanner "types" the card's QR text (WebDriver keystrokes into the focused
//! field, ending with Enter); the kiosk shows only the initials and the queue number; the staff
//! PIN leaves kiosk mode. Before that, the card reader takes a picture file: a photo of the
//! printed card opens the patient, a file that is not a picture is refused with a message.

use anola_e2e::app::{enter_kiosk, front_desk_with_patient, launch, screenshot, sign_in};
use anola_e2e::ferret::Ferret;
use anola_e2e::printed::{jpeg_bytes, PRINTED_MODULE_PX};
use anola_e2e::procs::ServerProc;
use anola_e2e::webdriver::{WdError, WebDriver};
use anola_e2e::{free_port, unique_db};
use anola_scan::damage::Damage;
use std::time::Duration;

const PROVIDER: &str = "33333333-3333-4333-8333-333333333333";

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_checks_in_at_the_kiosk_with_a_scanned_card() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("kiosk"), &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let dir = dirs.path().join("desk");
    let (desk, patient) = front_desk_with_patient(&dir, &url, PROVIDER, "Amina", "Okafor", "1988-04-12");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    desk.ok(&[
        "appointment",
        "book",
        "--patient",
        &patient,
        "--provider",
        PROVIDER,
        "--date",
        &today,
        "--time",
        "08:00",
    ]);
    let png = dirs.path().join("card.png");
    let card = desk.ok(&["card", "issue", "--patient", &patient, "--png", png.to_str().unwrap()]);
    let qr_text = card["qr_text"].as_str().expect("an issued card").to_owned();
    desk.ok(&["sync"]);
    // A phone photo of the printed card, and a file that is not a picture.
    let printed = anola_scan::gray::Gray::from_dynamic(&image::open(&png).unwrap());
    let photo = Damage::Photo { level: 0.6 }.apply(&printed, PRINTED_MODULE_PX, 5);
    let photo_path = dirs.path().join("card-photo.jpg");
    std::fs::write(&photo_path, jpeg_bytes(&photo)).unwrap();
    let junk_path = dirs.path().join("notes.png");
    std::fs::write(&junk_path, b"not a picture").unwrap();
    let files = Files {
        photo: photo_path.to_string_lossy().into_owned(),
        junk: junk_path.to_string_lossy().into_owned(),
    };

    let Some((_driver, wd)) = launch(&dir, &url, "tauri-driver-kiosk.log").await else {
        return;
    };
    let result = drive(&wd, &desk.username, &qr_text, &files).await;
    if result.is_err() {
        screenshot(&wd, "kiosk-failure.png").await;
    }
    wd.quit().await;
    result.expect("kiosk flow");
}

struct Files {
    photo: String,
    junk: String,
}

async fn drive(wd: &WebDriver, username: &str, qr_text: &str, files: &Files) -> Result<(), WdError> {
    let long = Duration::from_secs(30);
    let short = Duration::from_secs(10);

    // A staff member signs in on the enrolled device.
    sign_in(wd, username).await?;

    // The card reader takes a picture file: a file that is not a picture gets a clear message,
    // a phone photo of the printed card opens the patient (no camera on this machine).
    wd.click_on("[data-testid=open-card-reader]", short).await?;
    wd.wait_text("[data-testid=camera-placeholder]", long, |t| t.contains("No camera"))
        .await?;
    let input = wd.wait_for("[data-testid=card-picture-input]", short).await?;
    wd.send_keys(&input, &files.junk).await?;
    wd.wait_text("[data-testid=card-picture-error]", long, |t| t.contains("not a picture"))
        .await?;
    let input = wd.wait_for("[data-testid=card-picture-input]", short).await?;
    wd.send_keys(&input, &files.photo).await?;
    wd.wait_text("[data-testid=patient-name]", long, |t| t.contains("Amina")).await?;
    screenshot(wd, "picture-opened-patient.png").await;

    // Kiosk mode needs a staff PIN to leave it.
    enter_kiosk(wd, "4321").await?;
    wd.wait_for("[data-testid=kiosk-prompt]", long).await?;
    screenshot(wd, "kiosk-prompt.png").await;

    // The scanner types the card like a keyboard, ending with Enter.
    // The scanner types into whatever has focus: the kiosk keeps its code box focused.
    let focused = wd.wait_for("[data-testid=kiosk-code-input]", short).await?;
    wd.send_keys(&focused, &format!("{qr_text}\u{E007}")).await?;
    wd.wait_text("[data-testid=kiosk-queue-number]", long, |t| t.trim() == "1").await?;
    let initials = wd.wait_text("[data-testid=kiosk-initials]", short, |t| !t.is_empty()).await?;
    assert!(initials.starts_with('A') && initials.contains('O'), "initials shown: {initials}");
    let page = wd.execute("return document.body.innerText").await?;
    assert!(
        !page.as_str().unwrap_or_default().contains("Okafor"),
        "the kiosk showed the patient's name"
    );
    screenshot(wd, "kiosk-checked-in.png").await;

    // Staff leave kiosk mode with the PIN.
    wd.click_on("[data-testid=kiosk-exit]", short).await?;
    wd.fill("[data-testid=kiosk-pin]", "4321").await?;
    wd.send_keys(&wd.wait_for("[data-testid=kiosk-pin]", short).await?, "\u{E007}")
        .await?;
    wd.wait_text("[data-testid=current-user]", long, |t| !t.is_empty()).await?;
    Ok(())
}
