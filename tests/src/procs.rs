//! The sync server as a child process, and the `anola` CLI.

use anola_protocol::Role;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProc {
    child: Child,
    pub port: u16,
}

impl ServerProc {
    /// Starts `anola-sync-server` on `port` and waits for `/health` to say ok. `extra_env` can switch
    /// on fault injection.
    pub fn start(port: u16, mongodb_uri: &str, database: &str, extra_env: &[(&str, &str)]) -> ServerProc {
        // Kept with the test output (git-ignored) so a failed run can be read afterwards.
        let dir = crate::workspace_root().join("test-artifacts").join("server-logs");
        let _ = std::fs::create_dir_all(&dir);
        let log = Self::log_file(port);
        let mut cmd = Self::command(port, mongodb_uri, database, &[("ANOLA_LOG", "info")], extra_env);
        // Appended: a server restarted on the same port keeps what the earlier one wrote.
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log);
        cmd.stderr(file.map(Stdio::from).unwrap_or(Stdio::null()));
        let child = cmd.spawn().expect("start anola-sync-server");
        let s = ServerProc { child, port };
        s.wait_healthy();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /health HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "sync server on port {} not healthy within 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the process to exit on its own (e.g. a fault-injected abort).
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit code, once the process has exited.
    pub fn exit_code(&mut self) -> Option<i32> {
        self.child.try_wait().ok().flatten().and_then(|s| s.code())
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a server that must refuse to start (exit with an error within 30 s without ever
    /// answering); returns what it wrote to stderr.
    pub fn start_refused(port: u16, mongodb_uri: &str, database: &str, extra_env: &[(&str, &str)]) -> String {
        let mut cmd = Self::command(port, mongodb_uri, database, &[("ANOLA_DB_WAIT_SECS", "30")], extra_env);
        cmd.stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start anola-sync-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("server status").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().expect("server output");
                panic!(
                    "the server started although it should have refused: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("server output");
        assert!(!out.status.success(), "the server exited with success");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs the server binary once with `args` (a command such as `--audit-ledger`, which exits
    /// instead of serving); returns its exit code and standard output.
    pub fn run_once(mongodb_uri: &str, database: &str, args: &[&str]) -> (i32, String) {
        let mut cmd = Self::command(0, mongodb_uri, database, &[("ANOLA_DB_WAIT_SECS", "30")], &[]);
        let out = cmd.args(args).stdout(Stdio::piped()).output().expect("run anola-sync-server");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The server command with the harness's environment (accounts), then `defaults`, then
    /// `extra_env` (which wins).
    fn command(port: u16, mongodb_uri: &str, database: &str, defaults: &[(&str, &str)], extra_env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(crate::target_bin("anola-sync-server"));
        cmd.env("ANOLA_LISTEN", format!("127.0.0.1:{port}"))
            .env("MONGODB_URI", mongodb_uri)
            .env("ANOLA_DATABASE", database)
            .stdout(Stdio::null());
        for (k, v) in crate::accounts::server_env().iter().chain(defaults).chain(extra_env) {
            cmd.env(k, v);
        }
        cmd
    }

    fn log_file(port: u16) -> std::path::PathBuf {
        crate::workspace_root()
            .join("test-artifacts")
            .join("server-logs")
            .join(format!("anola-sync-server-{port}.log"))
    }

    /// The server's log (stderr), kept under test-artifacts/server-logs/.
    pub fn log_path(&self) -> std::path::PathBuf {
        Self::log_file(self.port)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One device driven through the `anola` CLI: enrolled with a one-time code when made, and
/// unlocked by its staff member's password on every command (as the headless CLI is).
#[derive(Debug, Clone)]
pub struct Device {
    pub dir: PathBuf,
    pub server: String,
    pub username: String,
}

pub struct CliResult {
    pub code: i32,
    pub json: serde_json::Value,
    pub stderr: String,
}

impl Device {
    /// A clinician's device in clinic `main` (enrolled unless `dir` already holds one).
    pub fn new(dir: &Path, server: &str) -> Device {
        Device::with_scope(dir, server, "main", Role::Clinician, None)
    }

    /// A device of `role` in `clinic` (a field worker's device holds `field_worker`'s patients).
    pub fn with_scope(dir: &Path, server: &str, clinic: &str, role: Role, field_worker: Option<&str>) -> Device {
        let marker = dir.join("harness-user");
        if let Ok(username) = std::fs::read_to_string(&marker) {
            return Device {
                dir: dir.to_path_buf(),
                server: server.to_owned(),
                username,
            };
        }
        std::fs::create_dir_all(dir).expect("device dir");
        let (url, c, fw) = (server.to_owned(), clinic.to_owned(), field_worker.map(str::to_owned));
        let e = crate::accounts::block_on(async move { crate::accounts::prepare_device(&url, &c, role, fw.as_deref()).await });
        let d = Device {
            dir: dir.to_path_buf(),
            server: server.to_owned(),
            username: e.username.clone(),
        };
        d.ok(&["enrol", "--code", &e.code, "--name", "test device"]);
        std::fs::write(&marker, &e.username).expect("write harness-user");
        d
    }

    pub fn run(&self, args: &[&str]) -> CliResult {
        let mut cmd = Command::new(crate::target_bin("anola"));
        cmd.arg("--json")
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--server")
            .arg(&self.server)
            .args(args)
            .env("ANOLA_USERNAME", &self.username)
            .env("ANOLA_PASSWORD", crate::accounts::STAFF_PASSWORD);
        if args.first() == Some(&"admin") {
            let url = self.server.clone();
            cmd.env(
                "ANOLA_ADMIN_TOKEN",
                crate::accounts::block_on(async move { crate::accounts::admin_token(&url).await }),
            );
        }
        let out: Output = cmd.output().expect("run anola");
        let stdout = String::from_utf8_lossy(&out.stdout);
        CliResult {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and insists on success; returns the JSON output.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        let r = self.run(args);
        assert_eq!(r.code, 0, "anola {args:?} failed ({}): {} {}", r.code, r.json, r.stderr);
        r.json
    }
}
