//! The real app in a real window: under Xvfb, driven by tauri-driver and WebKitWebDriver. Enrol
//! the device with a one-time code and sign in; then, with the server gone, register a patient and
//! see it in the list and the pending count, lock the app and unlock it offline with the password,
//! and get locked out after five wrong ones. Saves screenshots to `test-artifacts/`.
//!
//! Needs a display, `tauri-driver` (.tools/bin) and `WebKitWebDriver`; scripts/test.sh provides
//! all three and sets ANOLA_REQUIRE_GUI_TESTS=1 so a missing one fails instead of skipping.

use anola_e2e::accounts::{prepare_device, Enrolment};
use anola_e2e::app::{launch, screenshot};
use anola_e2e::ferret::Ferret;
use anola_e2e::free_port;
use anola_e2e::procs::ServerProc;
use anola_e2e::webdriver::WebDriver;
use anola_protocol::Role;
use std::sync::Mutex;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn register_a_patient_offline_in_the_real_window() {
    let data = tempfile::tempdir().unwrap();
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &anola_e2e::unique_db("window"), &[]);
    let server_url = server.url();
    let enrolment = prepare_device(&server_url, "main", Role::Clinician, None).await;
    let server = Mutex::new(Some(server));
    let Some((_driver, wd)) = launch(data.path(), &server_url, "tauri-driver.log").await else {
        return;
    };
    let result = drive(&wd, &enrolment, &server).await;
    if result.is_err() {
        screenshot(&wd, "app-failure.png").await;
    }
    wd.quit().await;
    result.expect("UI flow");
}

async fn drive(wd: &WebDriver, e: &Enrolment, server: &Mutex<Option<ServerProc>>) -> Result<(), anola_e2e::webdriver::WdError> {
    let long = Duration::from_secs(30);
    let short = Duration::from_secs(10);

    // First run: the enrolment screen. A one-time code from the administrator, then the staff
    // member signs in online.
    anola_e2e::app::enrol(wd, e).await?;
    screenshot(wd, "app-enrolled.png").await;

    // The server goes away; a sync attempt finds it gone.
    if let Some(s) = server.lock().unwrap().take() {
        s.kill();
    }
    wd.click_on("[data-testid=sync-now]", short).await?;
    wd.wait_text("[data-testid=sync-state]", long, |t| t == "Offline").await?;

    // A new device: empty list, nothing pending.
    wd.wait_for("[data-testid=patients-empty]", long).await?;
    wd.wait_text("[data-testid=sync-pending-count]", short, |t| t == "0").await?;

    // The form refuses an empty registration and says which fields are missing.
    let register = wd.wait_for("[data-testid=register-button]", short).await?;
    wd.click(&register).await?;
    wd.wait_for("[data-testid=patient-form]", short).await?;
    wd.click_on("[data-testid=submit-patient]", short).await?;
    wd.wait_for("[data-testid='field-error-given_name']", short).await?;
    wd.wait_for("[data-testid='field-error-date_of_birth']", short).await?;

    // Fill it in and save.
    for (field, value) in [
        ("given_name", "Amina"),
        ("family_name", "Okafor"),
        ("date_of_birth", "1988-04-12"),
        ("phone", "+254 712 345 678"),
    ] {
        let el = wd.wait_for(&format!("[data-testid='field-{field}']"), short).await?;
        wd.send_keys(&el, value).await?;
    }
    wd.click_on("[data-testid=submit-patient]", short).await?;
    wd.wait_for("[data-testid=patient-detail]", short).await?;
    wd.wait_text("[data-testid=patient-name]", short, |t| t.contains("Okafor")).await?;
    wd.wait_for("[data-testid=patient-pending]", short).await?;

    // Back to the list: the patient is there, marked not synced, and counted as pending.
    wd.click_on("[data-testid=back-to-list]", short).await?;
    wd.wait_text("[data-testid=patient-row]", short, |t| t.contains("Okafor, Amina"))
        .await?;
    wd.wait_for("[data-testid=pending-badge]", short).await?;
    wd.wait_text("[data-testid=sync-pending-count]", short, |t| t == "1").await?;

    // Search as you type: a query that matches nobody shows the no-match state; her phone
    // digits find her again.
    let search = wd.wait_for("[data-testid=patient-search]", short).await?;
    wd.click(&search).await?;
    wd.send_keys(&search, "zzzz").await?;
    wd.wait_for("[data-testid=patients-empty][data-empty-kind=no-matches]", short)
        .await?;
    wd.clear(&search).await?;
    wd.send_keys(&search, "712345").await?;
    wd.wait_text("[data-testid=patient-row]", short, |t| t.contains("Okafor, Amina"))
        .await?;
    let typed = wd
        .execute("return document.querySelector('[data-testid=patient-search]').value")
        .await?;
    assert_eq!(typed, "712345");

    screenshot(wd, "app-register-patient.png").await;

    // The appointments day view opens from the header (providers arrive with the first sync).
    wd.click_on("[data-testid=nav-appointments]", short).await?;
    wd.wait_for("[data-testid=appointments-view]", short).await?;
    screenshot(wd, "app-appointments.png").await;

    // Lock, then unlock offline with the password (checked against the device's cached verifier).
    wd.click_on("[data-testid=lock-button]", short).await?;
    wd.wait_for("[data-testid=lock-screen]", short).await?;
    let pw = wd.wait_for("[data-testid=unlock-password]", short).await?;
    wd.send_keys(&pw, &e.password).await?;
    wd.click_on("[data-testid=unlock-submit]", short).await?;
    wd.wait_text("[data-testid=current-user]", long, |t| !t.is_empty()).await?;
    wd.wait_text("[data-testid=sync-pending-count]", short, |t| t == "1").await?;

    // Five wrong passwords offline lock the account on this device.
    wd.click_on("[data-testid=lock-button]", short).await?;
    wd.wait_for("[data-testid=lock-screen]", short).await?;
    for attempt in 1..=5 {
        let pw = wd.wait_for("[data-testid=unlock-password]", short).await?;
        wd.clear(&pw).await?;
        wd.send_keys(&pw, "not my password at all").await?;
        wd.click_on("[data-testid=unlock-submit]", short).await?;
        if attempt < 5 {
            wd.wait_text("[data-testid=unlock-error]", long, |t| !t.is_empty()).await?;
        }
    }
    wd.wait_text("[data-testid=unlock-error]", long, |t| t.to_lowercase().contains("locked"))
        .await?;
    // Even the right password is refused now.
    let pw = wd.wait_for("[data-testid=unlock-password]", short).await?;
    wd.clear(&pw).await?;
    wd.send_keys(&pw, &e.password).await?;
    wd.click_on("[data-testid=unlock-submit]", short).await?;
    wd.wait_text("[data-testid=unlock-error]", long, |t| t.to_lowercase().contains("locked"))
        .await?;
    screenshot(wd, "app-locked-out.png").await;
    Ok(())
}
