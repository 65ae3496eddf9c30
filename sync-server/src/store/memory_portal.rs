//! `PortalStore` in memory (tests).

use super::memory::MemoryStore;
use super::portal::{stale_hours, DeviceStatusRecord, PortalStore, SyncOutcome, HOUR_MS};
use super::StoreError;
use anola_protocol::portal::Consents;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl PortalStore for MemoryStore {
    async fn record_sync(&self, device_id: &str, clinic_id: &str, at_ms: i64, outcome: &SyncOutcome) -> Result<(), StoreError> {
        self.step().await;
        self.with(|st| {
            let d = st.device_status.entry(device_id.to_owned()).or_insert_with(|| DeviceStatusRecord {
                device_id: device_id.to_owned(),
                ..Default::default()
            });
            d.clinic_id = clinic_id.to_owned();
            d.last_seen_ms = Some(at_ms);
            let hour = at_ms - at_ms.rem_euclid(HOUR_MS);
            for h in stale_hours(hour) {
                d.hours.remove(&h);
            }
            let counts = d.hours.entry(hour).or_default();
            match outcome {
                SyncOutcome::Ok(report) => {
                    counts.ok += 1;
                    d.last_ok_ms = Some(at_ms);
                    if let Some(r) = report {
                        d.report = Some(r.clone());
                    }
                }
                SyncOutcome::Failed(code) => {
                    counts.failed += 1;
                    d.last_error = Some(code.clone());
                    d.last_error_ms = Some(at_ms);
                }
            }
        });
        Ok(())
    }

    async fn device_statuses(&self, device_ids: &[String]) -> Result<Vec<DeviceStatusRecord>, StoreError> {
        self.step().await;
        Ok(self.with(|st| device_ids.iter().filter_map(|id| st.device_status.get(id).cloned()).collect()))
    }

    async fn rename_device(&self, device_id: &str, clinic_id: &str, name: &str) -> Result<(), StoreError> {
        self.step().await;
        self.with(|st| {
            let d = st.device_status.entry(device_id.to_owned()).or_insert_with(|| DeviceStatusRecord {
                device_id: device_id.to_owned(),
                clinic_id: clinic_id.to_owned(),
                ..Default::default()
            });
            d.name = Some(name.to_owned());
        });
        Ok(())
    }

    async fn consents(&self, patient: Uuid) -> Result<Option<Consents>, StoreError> {
        self.step().await;
        Ok(self.with(|st| st.consents.get(&patient).cloned()))
    }

    async fn set_consents(&self, patient: Uuid, c: &Consents) -> Result<(), StoreError> {
        self.step().await;
        self.with(|st| st.consents.insert(patient, c.clone()));
        Ok(())
    }
}
