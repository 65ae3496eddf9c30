//! Test harness: starts real processes (FerretDB, the sync server, the `anola` CLI) on free
//! loopback ports with their own data directories, and cleans them up when dropped.

pub mod accounts;
pub mod app;
pub mod bench_docs;
pub mod fault_proxy;
pub mod ferret;
pub mod live;
pub mod mpesa_sim;
pub mod printed;
pub mod procs;
pub mod seed;
pub mod sim;
pub mod slow_link;
pub mod webdriver;
pub mod workstations;

use std::net::TcpListener;
use std::path::PathBuf;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where cargo put the workspace's binaries: `target/debug`, or the profile named by
/// `ANOLA_PROFILE` (e.g. `ANOLA_PROFILE=release` for `target/release`, as the benchmark uses).
pub fn target_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = std::env::var("ANOLA_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "debug".into());
    let p = target.join(profile).join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does; add --release for ANOLA_PROFILE=release)",
        p.display()
    );
    p
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A database name no other test uses, for runs against a shared `MONGODB_URI`.
pub fn unique_db(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Entries in every clinic's change log (the `changes_<clinic>_<bucket>` collections), for tests
/// asserting that a retry announced nothing new.
pub async fn log_entries(db: &mongodb::Database) -> u64 {
    let mut total = 0;
    for name in db.list_collection_names().await.expect("list collections") {
        if name.starts_with("changes_") {
            total += db
                .collection::<mongodb::bson::Document>(&name)
                .count_documents(mongodb::bson::doc! {})
                .await
                .expect("count");
        }
    }
    total
}

/// Which appointment holds each slot key now (`slot:` claims: the newest generation, unless it
/// was released), read straight from the `claims` collection. For tests asserting that claims
/// equal what the appointments' states need.
pub async fn slot_holders(db: &mongodb::Database) -> std::collections::BTreeMap<String, String> {
    use futures::StreamExt;
    use mongodb::bson::{doc, Document};
    let mut docs: std::collections::BTreeMap<String, Document> = std::collections::BTreeMap::new();
    let mut cur = db.collection::<Document>("claims").find(doc! {}).await.expect("claims");
    while let Some(d) = cur.next().await {
        let d = d.expect("claim");
        docs.insert(d.get_str("_id").expect("claim id").to_owned(), d);
    }
    let mut out = std::collections::BTreeMap::new();
    for key in docs
        .keys()
        .filter(|k| k.starts_with("slot:") && !k.contains('#') && !k.contains('~'))
    {
        let mut g = 0u64;
        while docs.contains_key(&format!("{key}#{:06}", g + 1)) {
            g += 1;
        }
        if docs.contains_key(&format!("{key}~{g:06}")) {
            continue;
        }
        let gen = if g == 0 { key.clone() } else { format!("{key}#{g:06}") };
        out.insert(key.clone(), docs[&gen].get_str("holder").expect("holder").to_owned());
    }
    out
}

/// Milliseconds since the epoch, by this machine's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
