//! The background sync task: a round whenever there is something to do, back-off when the
//! server cannot be reached, and between rounds a live pull that the server answers as soon as
//! another device's change reaches the log (falling back to polling every `IDLE_INTERVAL` when
//! the server does not hold pulls).

use crate::clinic::Clinic;
use crate::error::ClientError;
use anola_protocol::plan::backoff_ms;
use std::sync::Weak;
use std::time::Duration;

/// Between rounds while online and idle, when the server does not hold live pulls.
pub const IDLE_INTERVAL: Duration = Duration::from_secs(15);
/// How long the server may hold a live pull (below its 30 s cap and the client's timeout).
pub const LIVE_WAIT: Duration = Duration::from_secs(25);
/// A live pull answered faster than this with nothing new means the server does not hold them.
const HELD_AT_LEAST: Duration = Duration::from_secs(1);
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
        let backoff = match c.sync_now().await {
            Ok(_) => {
                failures = 0;
                None
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
                Some(Duration::from_millis(delay))
            }
        };
        let wake = c.wake_handle();
        // Never hold the clinic while waiting: a lock or sign-out drops it.
        drop(c);
        match backoff {
            None => live(&clinic).await,
            // A local write or "Sync now" wakes the task early; otherwise wait out the delay.
            Some(delay) => {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {},
                    _ = wake.notified() => {},
                }
            }
        }
    }
}

/// Online and idle: live pulls until something arrives, a local write or "Sync now" asks for a
/// round, or a pull fails (the next round reports it).
async fn live(clinic: &Weak<Clinic>) {
    loop {
        let Some(c) = clinic.upgrade() else { return };
        if c.is_closed() {
            return;
        }
        let wake = c.wake_handle();
        let idle = c.idle_interval();
        let started = tokio::time::Instant::now();
        let news = tokio::select! {
            r = c.wait_for_news(LIVE_WAIT) => Some(r),
            _ = wake.notified() => None,
        };
        drop(c);
        match news {
            // Something arrived (or the pull failed): a round brings the rest and reports.
            Some(Ok(true)) | Some(Err(_)) | None => return,
            Some(Ok(false)) if started.elapsed() < HELD_AT_LEAST => {
                // The server answered at once: it does not hold pulls. Poll instead.
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {},
                    _ = wake.notified() => {},
                }
                return;
            }
            Some(Ok(false)) => {}
        }
    }
}
