//! The real clinic app in a real window for WebDriver tests: tauri-driver (which starts
//! WebKitWebDriver) launches `anola-clinic` with a data directory and a server address.

use crate::webdriver::WebDriver;
use crate::{free_port, target_bin, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tauri-driver process, killed on drop.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}

/// The reasons this machine cannot run a real-window test, if any.
fn missing_prerequisites(tauri_driver: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if std::env::var_os("DISPLAY").is_none() {
        missing.push("DISPLAY (run under xvfb-run)".to_owned());
    }
    if !tauri_driver.exists() {
        missing.push(format!("{} (scripts/bootstrap.sh --only=tauri-driver)", tauri_driver.display()));
    }
    if which("WebKitWebDriver").is_none() {
        missing.push("WebKitWebDriver (Debian package webkit2gtk-driver)".to_owned());
    }
    missing
}

pub fn artifacts() -> PathBuf {
    let dir = workspace_root().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create test-artifacts/");
    dir
}

pub async fn screenshot(wd: &WebDriver, name: &str) {
    match wd.screenshot_png().await {
        Ok(png) => {
            let path = artifacts().join(name);
            std::fs::write(&path, png).expect("write screenshot");
            println!("screenshot: {}", path.display());
        }
        Err(e) => println!("screenshot {name} failed: {e}"),
    }
}

/// Starts the app on `data_dir` talking to `server_url`. `None` (after saying why) when this
/// machine cannot show a window, unless ANOLA_REQUIRE_GUI_TESTS=1 makes that a failure.
pub async fn launch(data_dir: &Path, server_url: &str, log_name: &str) -> Option<(Driver, WebDriver)> {
    launch_with_env(data_dir, server_url, log_name, &[]).await
}

/// [`launch`] with more environment for the app (e.g. `ANOLA_CAMERA_FRAMES`).
pub async fn launch_with_env(
    data_dir: &Path,
    server_url: &str,
    log_name: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> Option<(Driver, WebDriver)> {
    let tauri_driver = workspace_root().join(".tools/bin/tauri-driver");
    let missing = missing_prerequisites(&tauri_driver);
    if !missing.is_empty() {
        let msg = format!("real-window test cannot run; missing: {}", missing.join(", "));
        if std::env::var("ANOLA_REQUIRE_GUI_TESTS").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return None;
    }
    let app = target_bin("anola-clinic");
    let port = free_port();
    let native_port = free_port();
    let log = std::fs::File::create(artifacts().join(log_name)).expect("driver log");
    let driver = Driver(
        Command::new(&tauri_driver)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            // Inherited by the app.
            .env("ANOLA_DATA_DIR", data_dir)
            .env("ANOLA_SERVER_URL", server_url)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tauri-driver"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let wd = WebDriver::launch(&format!("http://127.0.0.1:{port}"), app.to_str().unwrap())
        .await
        .expect("WebDriver session");
    Some((driver, wd))
}

/// Enrols the device on the app's first screen with a one-time code, and signs its staff member
/// in online (signed in when this returns).
pub async fn enrol(wd: &WebDriver, e: &crate::accounts::Enrolment) -> Result<(), crate::webdriver::WdError> {
    let (long, short) = (Duration::from_secs(60), Duration::from_secs(10));
    wd.wait_for("[data-testid=enrol-form]", long).await?;
    for (id, value) in [
        ("enrol-code", e.code.as_str()),
        ("enrol-device-name", "Front desk laptop"),
        ("enrol-username", e.username.as_str()),
        ("enrol-password", e.password.as_str()),
    ] {
        let el = wd.wait_for(&format!("[data-testid={id}]"), short).await?;
        wd.send_keys(&el, value).await?;
    }
    wd.click_on("[data-testid=enrol-submit]", short).await?;
    wd.wait_text("[data-testid=current-user]", long, |t| !t.is_empty()).await?;
    Ok(())
}

/// Signs `username` (a harness staff member) in on the app's sign-in screen.
pub async fn sign_in(wd: &WebDriver, username: &str) -> Result<(), crate::webdriver::WdError> {
    let (long, short) = (Duration::from_secs(45), Duration::from_secs(10));
    wd.wait_for("[data-testid=signin-username]", long).await?;
    wd.fill("[data-testid=signin-username]", username).await?;
    wd.fill("[data-testid=signin-password]", crate::accounts::STAFF_PASSWORD).await?;
    wd.click_on("[data-testid=signin-submit]", short).await?;
    wd.wait_text("[data-testid=current-user]", long, |t| !t.is_empty()).await?;
    Ok(())
}

/// Sets the staff PIN and turns kiosk mode on (the kiosk screen is showing when this returns).
pub async fn enter_kiosk(wd: &WebDriver, pin: &str) -> Result<(), crate::webdriver::WdError> {
    let (long, short) = (Duration::from_secs(45), Duration::from_secs(10));
    wd.click_on("[data-testid=set-pin-button]", short).await?;
    wd.fill("[data-testid=pin-input]", pin).await?;
    // Enter submits the dialog (its opening animation can intercept a click on the button).
    wd.send_keys(&wd.wait_for("[data-testid=pin-input]", short).await?, "\u{E007}")
        .await?;
    wd.wait_gone("[data-testid=pin-input]", short).await?;
    wd.click_on("[data-testid=enter-kiosk]", short).await?;
    wd.wait_for("[data-testid=kiosk-screen]", long).await?;
    Ok(())
}

/// A front-desk device enrolled through the CLI in `dir`, with an active provider and one
/// patient registered and synced. Returns the device and the patient's id.
pub fn front_desk_with_patient(
    dir: &Path,
    server: &str,
    provider: &str,
    given: &str,
    family: &str,
    dob: &str,
) -> (crate::procs::Device, String) {
    let desk = crate::procs::Device::with_scope(dir, server, "main", anola_protocol::Role::FrontDesk, None);
    let p = serde_json::json!({"id": provider, "clinic_id": "main", "given_name": "Achieng", "family_name": "Odhiambo", "active": true});
    desk.ok(&["admin", "put-provider", &p.to_string()]);
    let patient = desk.ok(&["patient", "add", "--given", given, "--family", family, "--dob", dob])["id"]
        .as_str()
        .expect("the new patient's id")
        .to_owned();
    desk.ok(&["sync"]);
    (desk, patient)
}
