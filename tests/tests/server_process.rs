//! The sync server as an operator meets it: bad settings are named at start-up, SIGTERM stops it
//! cleanly, and a database that dies and comes back costs requests, not data or the process.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, target_bin, unique_db};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start_with(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(target_bin("anola-sync-server"));
    cmd.env_remove("MONGODB_URI").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server kept running with bad settings {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bad_settings_are_named_at_start_up() {
    let listen = format!("127.0.0.1:{}", free_port());
    let out = start_with(&[("MONGODB_URI", "postgres://db/"), ("ANOLA_LISTEN", &listen)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MONGODB_URI"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = start_with(&[("ANOLA_DATABASE", "bad.name"), ("ANOLA_LISTEN", &listen)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANOLA_DATABASE"));

    let out = start_with(&[("ANOLA_LISTEN", "not-an-address")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));

    // Nothing listens on this port: the server waits briefly, then says which setting to check.
    let dead = format!("mongodb://127.0.0.1:{}/", free_port());
    let out = start_with(&[("MONGODB_URI", &dead), ("ANOLA_DB_WAIT_SECS", "1"), ("ANOLA_LISTEN", &listen)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MONGODB_URI"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let ferret = Ferret::start();
    let mut server = ServerProc::start(free_port(), ferret.uri(), &unique_db("sigterm"), &[]);
    let status = Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(server.wait_exit(Duration::from_secs(10)), "server still running 10 s after SIGTERM");
    assert_eq!(server.exit_code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_restart_costs_requests_not_data() {
    let mut ferret = Ferret::start();
    if !ferret.is_private() {
        eprintln!("skipped: MONGODB_URI points at a shared server this test must not restart");
        return;
    }
    let dbname = unique_db("dbrestart");
    let server = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let dirs = tempfile::tempdir().unwrap();
    let a = Device::new(&dirs.path().join("a"), &server.url());
    let b = Device::new(&dirs.path().join("b"), &server.url());
    a.ok(&["patient", "add", "--given", "Before", "--family", "Restart", "--dob", "1970-07-07"]);
    a.ok(&["sync"]);

    ferret.kill();
    let http = reqwest::Client::new();
    let health = http.get(format!("{}/health", server.url())).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["database"], "unreachable");
    a.ok(&["patient", "add", "--given", "During", "--family", "Restart", "--dob", "1971-07-07"]);
    let r = a.run(&["sync"]);
    assert_eq!(r.code, 3, "a sync while the database is down is a retryable failure: {}", r.json);
    assert_eq!(a.ok(&["status"])["pending"], 1, "the write stays queued");

    ferret.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = a.run(&["sync"]);
        if r.code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sync never recovered after the database came back: {}",
            r.json
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    b.ok(&["sync"]);
    let names: Vec<String> = b
        .ok(&["patient", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["given_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_certificate_the_server_speaks_only_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: openssl could not make a test certificate");
        return;
    }
    let ferret = Ferret::start();
    let port = free_port();
    let mut child = Command::new(target_bin("anola-sync-server"))
        .env("ANOLA_LISTEN", format!("127.0.0.1:{port}"))
        .env("MONGODB_URI", ferret.uri())
        .env("ANOLA_DATABASE", unique_db("tls"))
        .env("ANOLA_TLS_CERT", &cert)
        .env("ANOLA_TLS_KEY", &key)
        .envs(anola_e2e::accounts::server_env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A self-signed certificate is its own CA, which webpki refuses as a server certificate; the
    // test checks that TLS is spoken, not the chain.
    let https = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        match https.get(format!("https://127.0.0.1:{port}/health")).send().await {
            Ok(r) => break r,
            Err(e) => {
                assert!(Instant::now() < deadline, "no HTTPS answer: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(health.status().as_u16(), 200);
    // Over TLS, browsers are told to stay on HTTPS and the portal's session cookies are Secure.
    assert_eq!(
        health.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let login = https
        .post(format!("https://127.0.0.1:{port}/portal/api/session"))
        .json(&serde_json::json!({
            "username": anola_e2e::accounts::ADMIN,
            "password": anola_e2e::accounts::ADMIN_PASSWORD,
            "totp": anola_e2e::accounts::totp_now(anola_e2e::accounts::ADMIN_TOTP_SECRET),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookies: Vec<&str> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    for c in &cookies {
        assert!(c.contains("; Secure") && c.contains("SameSite=Strict"), "{c}");
    }
    // Plain HTTP on the same port gets no answer a client could mistake for the API.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/health")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    let _ = child.kill();
    let _ = child.wait();
}
