//! Devices driven through the client library (`Workstation` → `Clinic`), enrolled and signed in
//! the way the app does it.

use crate::accounts::{prepare_device, STAFF_PASSWORD};
use anola_client::workstation::{Workstation, WorkstationConfig};
use anola_client::Clinic;
use anola_protocol::Role;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn config(dir: &Path, server: &str) -> WorkstationConfig {
    let mut cfg = WorkstationConfig::new(dir, server);
    // Tests decide when to sync and never sit idle long enough to matter.
    cfg.auto_lock_after = Duration::ZERO;
    cfg
}

/// Enrols a device of `role` in `clinic` at `enrol_via` (the server, not a faulty proxy), with
/// `server` as the address it syncs with afterwards, and signs its staff member in.
pub async fn enrolled(dir: &Path, server: &str, clinic: &str, role: Role, field_worker: Option<&str>) -> (Arc<Workstation>, Arc<Clinic>) {
    let e = prepare_device(server, clinic, role, field_worker).await;
    let ws = Arc::new(Workstation::open(config(dir, server)).expect("open workstation"));
    ws.enrol(&e.code, "test device", &e.username, &e.password, None)
        .await
        .expect("enrol");
    std::fs::write(dir.join("harness-user"), &e.username).expect("write harness-user");
    let clinic = ws.clinic().expect("signed in after enrolment");
    (ws, clinic)
}

/// Reopens an enrolled device from disk and signs its staff member in again (online when the
/// server answers, else offline); retries while a faulty network refuses.
pub async fn reopen(dir: &Path, server: &str) -> (Arc<Workstation>, Arc<Clinic>) {
    let username = std::fs::read_to_string(dir.join("harness-user")).expect("an enrolled device dir");
    let ws = Arc::new(Workstation::open(config(dir, server)).expect("open workstation"));
    let mut last = None;
    for attempt in 0..40 {
        match ws.sign_in(&username, STAFF_PASSWORD, None).await {
            // An offline sign-in opens the replica but cannot sync; prefer an online one while
            // the network may still answer, accept offline after a while.
            Ok(state) if state.online_session || attempt >= 8 => return (ws.clone(), ws.clinic().expect("signed in")),
            Ok(_) => last = None,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("could not sign in again: {last:?}");
}
