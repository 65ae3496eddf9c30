//! A private FerretDB for one test: its own data directory and port, killed on drop. When
//! `MONGODB_URI` is set, that server is used instead (tests then use unique database names).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Ferret {
    child: Option<Child>,
    uri: String,
    _dir: Option<tempfile::TempDir>,
}

impl Ferret {
    pub fn start() -> Ferret {
        if let Ok(uri) = std::env::var("MONGODB_URI") {
            return Ferret {
                child: None,
                uri,
                _dir: None,
            };
        }
        let bin = std::env::var_os("ANOLA_FERRETDB_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join(".tools/bin/anola-ferretdb"));
        assert!(
            bin.exists(),
            "{} is missing: run scripts/ferretdb.sh build (scripts/test.sh does)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::free_port();
        let child = Command::new(&bin)
            .arg("--listen-addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start FerretDB");
        let f = Ferret {
            child: Some(child),
            uri: format!("mongodb://127.0.0.1:{port}/"),
            _dir: Some(dir),
        };
        f.wait_ready();
        f
    }

    fn wait_ready(&self) {
        let addr = self
            .uri
            .trim_start_matches("mongodb://")
            .trim_end_matches('/')
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "FerretDB did not listen on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub async fn client(&self) -> mongodb::Client {
        mongodb::Client::with_uri_str(&self.uri)
            .await
            .expect("driver connects")
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
