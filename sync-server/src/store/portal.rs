//! What the web portal keeps besides accounts and records: each device's sync state for the
//! fleet view (one document per device, written on every sync request, read by point reads) and
//! patients' consents.

use super::StoreError;
use anola_protocol::portal::{Consents, DeviceReport};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Sync requests of one device in one hour (the hour's start, Unix ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCounts {
    pub ok: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatusRecord {
    pub device_id: String,
    pub clinic_id: String,
    /// A name the administrator gave it in the portal (the enrolment name otherwise).
    pub name: Option<String>,
    pub last_seen_ms: Option<i64>,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub report: Option<DeviceReport>,
    /// Counts by hour. Hours older than the chart are dropped as new ones are written (so a
    /// device's document stays small); the reader ignores any that remain.
    pub hours: BTreeMap<i64, HourCounts>,
}

/// How one sync request of a device ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Answered; with the device's own report when the request carried one.
    Ok(Option<DeviceReport>),
    /// Refused or failed: the error code the device got.
    Failed(String),
}

pub const HOUR_MS: i64 = 3_600_000;

/// The hours `record_sync` clears as it writes hour `hour`: those just past the chart's window.
pub fn stale_hours(hour: i64) -> impl Iterator<Item = i64> {
    let window = i64::from(anola_protocol::portal::ACTIVITY_HOURS);
    (window + 1..=window + 24).map(move |k| hour - k * HOUR_MS)
}

#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Counts one sync request of `device_id` and records its outcome. Counts are increments: two
    /// requests of one device racing may count once (a chart, not a ledger).
    async fn record_sync(&self, device_id: &str, clinic_id: &str, at_ms: i64, outcome: &SyncOutcome) -> Result<(), StoreError>;
    /// The status documents of these devices (those that have one), by point reads.
    async fn device_statuses(&self, device_ids: &[String]) -> Result<Vec<DeviceStatusRecord>, StoreError>;
    async fn rename_device(&self, device_id: &str, clinic_id: &str, name: &str) -> Result<(), StoreError>;
    async fn consents(&self, patient: Uuid) -> Result<Option<Consents>, StoreError>;
    async fn set_consents(&self, patient: Uuid, c: &Consents) -> Result<(), StoreError>;
}
