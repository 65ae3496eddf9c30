//! The background sync task: a round whenever there is something to do, back-off when the
//! server cannot be reached.

use crate::clinic::Clinic;
use crate::error::ClientError;
use anola_protocol::plan::backoff_ms;
use std::sync::Weak;
use std::time::Duration;

/// Between rounds while online and idle: picks up other devices' changes.
pub const IDLE_INTERVAL: Duration = Duration::from_secs(15);
const BACKOFF_BASE_MS: u64 = 1_000;
const BACKOFF_MAX_MS: u64 = 60_000;

/// Runs until the clinic is dropped. Holds only a weak reference so it never keeps it alive.
pub async fn run(clinic: Weak<Clinic>) {
    let mut failures: u32 = 0;
    loop {
        let Some(c) = clinic.upgrade() else { return };
        // Locked, signed out or wiped: this handle is finished; a new sign-in starts a new task.
        if c.is_closed() {
            return;
        }
        let wait = match c.sync_now().await {
            Ok(_) => {
                failures = 0;
                IDLE_INTERVAL
            }
            Err(e) => {
                let delay = match e {
                    // Updating the app is the fix; do not hammer the server meanwhile.
                    ClientError::IncompatibleServer { .. } => BACKOFF_MAX_MS,
                    // A new sign-in is the fix.
                    ClientError::Unauthenticated { .. } | ClientError::Forbidden { .. } => BACKOFF_MAX_MS,
                    _ => backoff_ms(failures, BACKOFF_BASE_MS, BACKOFF_MAX_MS, fastrand::f64()),
                };
                failures = failures.saturating_add(1);
                tracing::debug!(code = e.code(), delay_ms = delay, "sync round failed; backing off");
                Duration::from_millis(delay)
            }
        };
        let wake = c.wake_handle();
        drop(c);
        // A local write or "Sync now" wakes the task early; otherwise wait out the interval.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = wake.notified() => {},
        }
    }
}
