//! Test-only fault injection, switched on by environment variables and off by default.
//!
//! End-to-end tests need a server that dies *in the middle* of a push, at a known point, to prove a
//! retry loses and doubles nothing. A kill signal sent from outside cannot hit that point reliably.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct Faults {
    /// Abort the process (as a crash would: no cleanup, no response) after this many patient
    /// versions have been written. Env: `ANOLA_FAULT_ABORT_AFTER_VERSIONS`.
    abort_after_versions: Option<usize>,
    versions_written: AtomicUsize,
}

impl Faults {
    pub fn from_env() -> Self {
        let abort_after_versions = std::env::var("ANOLA_FAULT_ABORT_AFTER_VERSIONS").ok().and_then(|v| v.parse().ok());
        if abort_after_versions.is_some() {
            tracing::warn!(?abort_after_versions, "fault injection is ON: this server will crash on purpose");
        }
        Self {
            abort_after_versions,
            versions_written: AtomicUsize::new(0),
        }
    }

    pub fn none() -> Self {
        Self::default()
    }

    pub fn after_version_written(&self) {
        let n = self.versions_written.fetch_add(1, Ordering::SeqCst) + 1;
        if self.abort_after_versions.is_some_and(|limit| n >= limit) {
            tracing::error!(versions = n, "fault injection: aborting mid-push");
            std::process::abort();
        }
    }
}
