//! A private FerretDB for one test: its own data directory and port, killed on drop. When
//! `MONGODB_URI` is set, that server is used instead (tests then use unique database names).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Ferret {
    child: Option<Child>,
    uri: String,
    _dir: Option<tempfile::TempDir>,
    port: u16,
}

fn ferret_bin() -> std::path::PathBuf {
    let bin = std::env::var_os("ANOLA_FERRETDB_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".tools/bin/anola-ferretdb"));
    assert!(
        bin.exists(),
        "{} is missing: run scripts/ferretdb.sh build (scripts/test.sh does)",
        bin.display()
    );
    bin
}

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(ferret_bin())
        .arg("--listen-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start FerretDB")
}

impl Ferret {
    pub fn start() -> Ferret {
        if let Ok(uri) = std::env::var("MONGODB_URI") {
            return Ferret {
                child: None,
                uri,
                _dir: None,
                port: 0,
            };
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::free_port();
        let child = spawn(dir.path(), port);
        let f = Ferret {
            child: Some(child),
            uri: format!("mongodb://127.0.0.1:{port}/"),
            _dir: Some(dir),
            port,
        };
        f.wait_ready();
        f
    }

    /// Whether this is a private FerretDB the test may stop and restart.
    pub fn is_private(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the database (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data directory.
    pub fn restart(&mut self) {
        let dir = self._dir.as_ref().expect("a private FerretDB").path().to_path_buf();
        self.child = Some(spawn(&dir, self.port));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let addr = self.uri.trim_start_matches("mongodb://").trim_end_matches('/').to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "FerretDB did not listen on {addr} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The data directory of a private FerretDB (one SQLite file per database).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.as_ref().expect("a private FerretDB").path()
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub async fn client(&self) -> mongodb::Client {
        mongodb::Client::with_uri_str(&self.uri).await.expect("driver connects")
    }
}

impl Drop for Ferret {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
