//! An online device sees another device's change within seconds without anyone pressing sync:
//! after a round, each device's background task holds a live pull that the server answers when
//! the clinic's log grows. Two server processes on one database: a device on the other process
//! learns of the write by that process's point read of the log, one on the same process at once.

use anola_e2e::ferret::Ferret;
use anola_e2e::live::{register, seen_by};
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{accounts, free_port, unique_db};
use anola_protocol::Role;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_reaches_online_devices_within_seconds_without_a_sync() {
    let ferret = Ferret::start();
    let db = unique_db("live");
    let one = ServerProc::start(free_port(), ferret.uri(), &db, &accounts::server_env());
    let two = ServerProc::start(free_port(), ferret.uri(), &db, &accounts::server_env());
    let dirs = tempfile::tempdir().unwrap();
    let (_wa, writer) = enrolled(&dirs.path().join("a"), &one.url(), "main", Role::Clinician, None).await;
    let (_wb, same) = enrolled(&dirs.path().join("b"), &one.url(), "main", Role::Clinician, None).await;
    let (_wc, other) = enrolled(&dirs.path().join("c"), &two.url(), "main", Role::Clinician, None).await;
    for c in [&writer, &same, &other] {
        c.start_background_sync();
    }
    // Let every device finish its first round and settle into a live pull.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let observers = vec![same.clone(), other.clone()];
    for i in 0..5 {
        let family = format!("Propagated{i}");
        let t0 = Instant::now();
        register(&writer, &family);
        let seen = seen_by(&observers, &family, t0, Duration::from_secs(10)).await;
        println!("write {i}: same server process {:?}, other server process {:?}", seen[0], seen[1]);
        for (who, s) in ["a device on the same server process", "a device on the other server process"]
            .iter()
            .zip(&seen)
        {
            let s = s.unwrap_or_else(|| panic!("{who} never listed patient {family}"));
            assert!(s < Duration::from_secs(3), "{who} listed {family} after {s:?}");
        }
    }
    // No one pressed sync, and the observers are still live (not backing off).
    assert!(same.status().unwrap().last_error.is_none_or(|e| e.is_empty()));
}
