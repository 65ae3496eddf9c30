//! One sync round: push the whole outbox, then pull until caught up.
//!
//! Push comes first so the pull that follows already reflects this device's writes (the server
//! has merged them), and so a pulled change is never mistaken for newer than an unsent local one.

use super::transport::{Transport, TransportError};
use crate::error::ClientError;
use crate::store::pull::APPLY_CHUNK;
use crate::store::LocalStore;
use anola_protocol::plan::{outbox_actions, OutboxAction};
use anola_protocol::{
    ChangeRecord, ErrorCode, Progress, PullRequest, PushRequest, DEFAULT_PULL_LIMIT, MAX_PUSH_BATCH, MAX_PUSH_BYTES, PROTOCOL_VERSION,
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoundReport {
    pub pushed: u64,
    pub rejected: u64,
    pub pulled: u64,
    pub pull_pages: u64,
    /// Where the last pull page left off (change-log entries done / total).
    pub progress: Option<Progress>,
    /// JSON body bytes sent and received during the round.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The same bodies as they crossed the wire (compressed when the server takes it).
    pub wire_bytes_sent: u64,
    pub wire_bytes_received: u64,
}

/// Audit entries sent with one push at most.
pub const MAX_AUDIT_PER_PUSH: usize = 500;

/// Called after each pushed batch (`None`) and each pulled page (`Some(progress)`).
pub type ProgressFn<'a> = &'a (dyn Fn(Option<Progress>) + Sync);

pub(crate) fn lock(store: &Mutex<LocalStore>) -> std::sync::MutexGuard<'_, LocalStore> {
    // A panic while holding the lock cannot leave SQLite half-written (transactions), so the
    // poisoned guard is still safe to use.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the device does with each kind of failed request (the UI switches on the result's code).
pub(crate) fn client_error(e: TransportError) -> ClientError {
    if let TransportError::Refused { body, .. } = &e {
        let message = body.message.clone();
        match body.code {
            ErrorCode::DeviceRevoked => {
                return ClientError::DeviceRevoked {
                    message: "This device was revoked by an administrator; its local data was erased.".into(),
                }
            }
            ErrorCode::AccountDisabled => return ClientError::AccountDisabled { message },
            ErrorCode::InvalidCredentials => return ClientError::InvalidCredentials { message },
            ErrorCode::AccountLocked => return ClientError::AccountLocked { until: None, message },
            ErrorCode::MfaRequired => return ClientError::MfaRequired { message },
            ErrorCode::Forbidden => {
                return ClientError::Forbidden {
                    field: body.field.clone(),
                    message,
                }
            }
            ErrorCode::Unauthenticated | ErrorCode::TokenExpired | ErrorCode::RefreshTokenReused => {
                return ClientError::Unauthenticated {
                    message: format!("{message}. Sign in again while online to sync; changes stay on this device."),
                }
            }
            ErrorCode::DeviceNotEnrolled => return ClientError::NotEnrolled { message },
            _ => {}
        }
    }
    match e {
        TransportError::Refused { body, .. } if body.code == ErrorCode::UnsupportedProtocolVersion => ClientError::IncompatibleServer {
            message: format!("{} Your changes are kept on this device.", body.message),
        },
        e if e.is_transient() => ClientError::Offline { message: e.to_string() },
        TransportError::Money { refusal, .. } => ClientError::MoneyRefused {
            reason: refusal.code,
            field: refusal.field,
            message: refusal.message,
        },
        TransportError::Refused { body, .. } => ClientError::ServerRejected {
            server_code: body.code.as_str().to_owned(),
            message: body.message,
        },
        other => ClientError::Internal {
            message: other.to_string(),
        },
    }
}

/// Errors after which nothing more should be tried this round: the device or the session is gone,
/// or the server speaks another protocol.
fn ends_session(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::DeviceRevoked { .. }
            | ClientError::Unauthenticated { .. }
            | ClientError::AccountDisabled { .. }
            | ClientError::IncompatibleServer { .. }
            | ClientError::NotEnrolled { .. }
            | ClientError::SignedOut { .. }
            | ClientError::Offline { .. }
    )
}

/// Smallest push budget after halving on 413 (bytes).
const MIN_PUSH_BYTES: usize = 1024;

fn park(code: &str, message: String) -> OutboxAction {
    OutboxAction::Park {
        code: code.to_owned(),
        message,
    }
}

/// The longest prefix of `batch` whose encoded mutations fit in `budget` bytes (at least one).
fn within_bytes(batch: Vec<crate::store::OutboxEntry>, budget: usize) -> Vec<crate::store::OutboxEntry> {
    let mut used = 0;
    let mut out = Vec::with_capacity(batch.len());
    for e in batch {
        let size = serde_json::to_vec(&e.mutation).map_or(0, |b| b.len());
        if !out.is_empty() && used + size > budget {
            break;
        }
        used += size;
        out.push(e);
    }
    out
}

/// Pushes every pending write, batch by batch, in the order they were made.
async fn push_all(
    store: &Mutex<LocalStore>,
    transport: &Transport,
    report: &mut RoundReport,
    on_progress: ProgressFn<'_>,
) -> Result<(), ClientError> {
    // Bytes one push may carry; halved when a server with a lower limit answers 413.
    let mut budget = MAX_PUSH_BYTES;
    loop {
        let (device_id, clinic_id, batch, audit) = {
            let s = lock(store);
            (
                s.device_id().to_owned(),
                s.clinic_id().to_owned(),
                s.pending_batch(MAX_PUSH_BATCH)?,
                s.unsent_audit(MAX_AUDIT_PER_PUSH)?,
            )
        };
        if batch.is_empty() && audit.is_empty() {
            return Ok(());
        }
        // A write that can never travel (made before the device checked sizes, or by an older
        // app) is set aside with its reason instead of failing every push after it.
        let too_large: Vec<(Uuid, OutboxAction)> = batch
            .iter()
            .filter_map(|e| e.mutation.size_error().map(|err| (e.mutation.id, park("too_large", err.message))))
            .collect();
        if !too_large.is_empty() {
            lock(store).apply_outbox_actions(&too_large)?;
            report.rejected += too_large.len() as u64;
            continue;
        }
        let batch = within_bytes(batch, budget);
        let audit_ids: Vec<Uuid> = audit.iter().map(|a| a.id).collect();
        let ids: Vec<Uuid> = batch.iter().map(|e| e.mutation.id).collect();
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id,
            clinic_id,
            mutations: batch.into_iter().map(|e| e.mutation).collect(),
            audit,
        };
        let actions = match transport.push(&req).await {
            Ok(resp) => {
                // The server stores audit entries once each, by id, with the push it accepted.
                lock(store).mark_audit_sent(&audit_ids)?;
                outbox_actions(&ids, &resp.results)
            }
            // The server names the mutations that break its rules (validation) or that the role
            // may not make (forbidden) and applied nothing: park those (they will never pass) and
            // send the rest again, so one bad write cannot block the queue.
            Err(TransportError::Refused { body, .. })
                if matches!(body.code, ErrorCode::ValidationFailed | ErrorCode::Forbidden)
                    && body.errors.iter().any(|e| e.mutation_index.is_some()) =>
            {
                let mut bad: BTreeMap<usize, (String, String)> = BTreeMap::new();
                for e in &body.errors {
                    if let Some(i) = e.mutation_index {
                        // A refused signature keeps its own code (`signature_invalid`, …).
                        let code = if body.code == ErrorCode::Forbidden {
                            if e.code.is_empty() {
                                "forbidden".to_owned()
                            } else {
                                e.code.clone()
                            }
                        } else {
                            "validation_failed".to_owned()
                        };
                        bad.entry(i).or_insert_with(|| (code, format!("{}: {}", e.field, e.message)));
                    }
                }
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| match bad.get(&i) {
                        Some((code, msg)) => (
                            *id,
                            OutboxAction::Park {
                                code: code.clone(),
                                message: msg.clone(),
                            },
                        ),
                        None => (*id, OutboxAction::Retry),
                    })
                    .collect()
            }
            // The server takes smaller bodies than we sent: smaller pushes, and a single write it
            // cannot take at all is set aside.
            Err(TransportError::Refused { body, .. }) if body.code == ErrorCode::PayloadTooLarge => {
                if ids.len() > 1 && budget > MIN_PUSH_BYTES {
                    budget = (budget / 2).max(MIN_PUSH_BYTES);
                    continue;
                }
                if ids.len() != 1 || !audit_ids.is_empty() {
                    // What is too large is not one write (the audit entries riding along, or a
                    // server limit below any sensible push): report it, never loop on it.
                    return Err(ClientError::ServerRejected {
                        server_code: body.code.as_str().into(),
                        message: body.message,
                    });
                }
                ids.iter().map(|id| (*id, park("too_large", body.message.clone()))).collect()
            }
            Err(TransportError::Refused { body, .. }) if body.code == ErrorCode::ValidationFailed => {
                return Err(ClientError::ServerRejected {
                    server_code: body.code.as_str().into(),
                    message: body.message,
                });
            }
            Err(e) => return Err(client_error(e)),
        };
        let acked = actions.iter().filter(|(_, a)| *a == OutboxAction::Acknowledge).count() as u64;
        let parked = actions.iter().filter(|(_, a)| matches!(a, OutboxAction::Park { .. })).count() as u64;
        let unanswered = actions.iter().any(|(_, a)| *a == OutboxAction::Retry);
        lock(store).apply_outbox_actions(&actions)?;
        report.pushed += acked;
        report.rejected += parked;
        on_progress(None);
        if unanswered && acked + parked == 0 && !ids.is_empty() {
            return Err(ClientError::Internal {
                message: "the server answered a push without a result for its mutations".into(),
            });
        }
    }
}

fn pull_request(store: &Mutex<LocalStore>) -> Result<PullRequest, ClientError> {
    let s = lock(store);
    Ok(PullRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: s.device_id().to_owned(),
        clinic_id: s.clinic_id().to_owned(),
        field_worker_id: s.scope().field_worker_id.clone(),
        cursor: s.pull_cursor()?,
        limit: Some(DEFAULT_PULL_LIMIT),
        status: Some(device_report(&s)?),
    })
}

/// This device's state for the server's fleet view: what waits to upload, what was refused, the
/// app's version, and the last round's error.
fn device_report(s: &LocalStore) -> Result<anola_protocol::portal::DeviceReport, ClientError> {
    let counts = s.outbox_counts()?;
    Ok(anola_protocol::portal::DeviceReport {
        app_version: env!("CARGO_PKG_VERSION").into(),
        pending: counts.pending,
        rejected: counts.rejected,
        last_error: s.meta("last_error")?.filter(|e| !e.is_empty()),
    }
    .bounded())
}

/// Applies a pulled page in parts of `APPLY_CHUNK` records, taking the store's lock for each part
/// only, so the app's reads and writes interleave with a large first sync (the cursor is stored
/// with the last part; see `LocalStore::apply_pull_chunk`).
fn apply_page(store: &Mutex<LocalStore>, changes: &[ChangeRecord], cursor: &str, reset: bool) -> Result<(), ClientError> {
    // A resync's first page wipes what the server confirmed: it goes in one transaction with its
    // cursor, so a crash never leaves the replica wiped and half refilled.
    if changes.is_empty() || reset {
        return lock(store).apply_pull_chunk(changes, reset, Some(cursor));
    }
    let parts = changes.len().div_ceil(APPLY_CHUNK);
    for (i, part) in changes.chunks(APPLY_CHUNK).enumerate() {
        let last = i + 1 == parts;
        lock(store).apply_pull_chunk(part, false, last.then_some(cursor))?;
    }
    Ok(())
}

/// A live pull: one page, held by the server up to `wait` when nothing is new, applied like any
/// page. Returns whether the log moved (something arrived, or more waits behind it).
pub async fn wait_for_news(store: &Mutex<LocalStore>, transport: &Transport, wait: std::time::Duration) -> Result<bool, ClientError> {
    let req = pull_request(store)?;
    let page = transport.pull_waiting(&req, wait).await.map_err(client_error)?;
    let moved = page.reset || page.has_more || req.cursor.as_deref() != Some(page.cursor.as_str());
    if moved {
        apply_page(store, &page.changes, &page.cursor, page.reset)?;
    }
    Ok(moved)
}

/// Pulls pages until the server says there is no more; each page commits with its cursor.
async fn pull_all(
    store: &Mutex<LocalStore>,
    transport: &Transport,
    report: &mut RoundReport,
    on_progress: ProgressFn<'_>,
    max_pages: Option<u64>,
) -> Result<(), ClientError> {
    if max_pages.is_some_and(|m| m == 0) {
        return Ok(());
    }
    let first = pull_request(store)?;
    // The request in flight; aborted if this round ends early (an error, or the page limit).
    struct AbortOnDrop(Option<tokio::task::JoinHandle<Result<anola_protocol::PullResponse, TransportError>>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            if let Some(h) = self.0.take() {
                h.abort();
            }
        }
    }
    let mut in_flight = AbortOnDrop(Some(prefetch(transport, first.clone())));
    loop {
        let request = in_flight.0.as_mut().expect("a page is always requested before it is awaited");
        let page = request
            .await
            .map_err(|e| ClientError::Internal {
                message: format!("pull request task: {e}"),
            })?
            .map_err(client_error)?;
        let last = !page.has_more || max_pages.is_some_and(|m| report.pull_pages + 1 >= m);
        // The next page is fetched (server, network, decoding) while this one is applied: a first
        // sync costs about the slower of the two, not their sum. Its cursor is this page's, which
        // is stored with this page's last part.
        in_flight.0 = (!last).then(|| {
            let next = PullRequest {
                cursor: Some(page.cursor.clone()),
                ..first.clone()
            };
            prefetch(transport, next)
        });
        apply_page(store, &page.changes, &page.cursor, page.reset)?;
        report.pulled += page.changes.len() as u64;
        report.pull_pages += 1;
        report.progress = Some(page.progress);
        on_progress(Some(page.progress));
        if last {
            return Ok(());
        }
    }
}

/// Sends a pull on its own task, so it runs while this one applies a page.
fn prefetch(transport: &Transport, req: PullRequest) -> tokio::task::JoinHandle<Result<anola_protocol::PullResponse, TransportError>> {
    let t = transport.clone();
    tokio::spawn(async move { t.pull(&req).await })
}

/// Limits of one round; the default is a full round.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundOptions {
    /// Stop pulling after this many pages (a metered link, or a test of resuming); the next round
    /// continues from the stored cursor.
    pub max_pages: Option<u64>,
}

pub async fn run(
    store: &Mutex<LocalStore>,
    transport: &Transport,
    on_progress: ProgressFn<'_>,
    opts: RoundOptions,
) -> Result<RoundReport, ClientError> {
    let mut report = RoundReport::default();
    let before = transport.byte_counts();
    // A failed push does not stop the pull: what others wrote still arrives, and the push error is
    // reported after it. Errors that end the session (revoked device, signed out, too old) do.
    let pushed = push_all(store, transport, &mut report, on_progress).await;
    if let Err(e) = &pushed {
        if ends_session(e) {
            return Err(pushed.unwrap_err());
        }
    }
    pull_all(store, transport, &mut report, on_progress, opts.max_pages).await?;
    pushed?;
    let after = transport.byte_counts();
    report.bytes_sent = after.json_sent - before.json_sent;
    report.bytes_received = after.json_received - before.json_received;
    report.wire_bytes_sent = after.wire_sent - before.wire_sent;
    report.wire_bytes_received = after.wire_received - before.wire_received;
    Ok(report)
}
