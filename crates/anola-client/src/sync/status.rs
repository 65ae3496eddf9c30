//! Sync status as the UI and the CLI show it.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyncStatus {
    /// The last attempt to reach the server succeeded.
    pub online: bool,
    /// A sync round is running now.
    pub syncing: bool,
    /// Local writes waiting to upload.
    pub pending: u64,
    /// Local writes the server refused for good (kept on the device; see `rejected_writes`).
    pub rejected: u64,
    /// RFC 3339 time of the last round that completed both push and pull.
    pub last_synced_at: Option<String>,
    pub last_error: Option<String>,
    pub server_url: String,
    pub device_id: String,
    pub clinic_id: String,
    /// Patients in this device's replica.
    pub patients: u64,
    /// Conflict notes the server sent (overwritten values, slot conflicts, duplicates, amendments).
    pub conflicts: u64,
    /// While a pull runs (or after one was interrupted): change-log entries done / total.
    pub progress: Option<anola_protocol::Progress>,
}

/// The parts of the status that live only in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveStatus {
    pub online: bool,
    pub syncing: bool,
    pub progress: Option<anola_protocol::Progress>,
}
