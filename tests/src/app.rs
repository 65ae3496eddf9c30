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
