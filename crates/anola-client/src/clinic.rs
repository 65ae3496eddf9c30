//! `Clinic`: one device's engine. Every user action is one method; the Tauri commands and the CLI
//! are thin wrappers over these.

use crate::error::ClientError;
use crate::store::{LocalStore, RecordVersionView, Scope, DEFAULT_CLINIC};
use crate::sync::round::{self, lock, RoundOptions, RoundReport};
use crate::sync::status::{LiveStatus, SyncStatus};
use crate::sync::task;
use crate::sync::transport::Transport;
use anola_protocol::{
    Appointment, AppointmentFields, ConflictNote, MedicalRecordVersion, Mutation, Patient, PatientFields, Progress, Provider, RecordFields,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};
use tracing::Instrument;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ClinicConfig {
    pub data_dir: PathBuf,
    pub server_url: String,
    /// The clinic this device serves (`store::DEFAULT_CLINIC` when not configured).
    pub clinic_id: String,
    /// Set on a community field worker's device: only that worker's patients are synced.
    pub field_worker_id: Option<String>,
}

impl ClinicConfig {
    pub fn new(data_dir: impl Into<PathBuf>, server_url: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            server_url: server_url.into(),
            clinic_id: DEFAULT_CLINIC.into(),
            field_worker_id: None,
        }
    }
}

pub struct Clinic {
    store: Mutex<LocalStore>,
    transport: Transport,
    live: Mutex<LiveStatus>,
    /// One round at a time, whoever asks (background task, "Sync now", CLI).
    round: tokio::sync::Mutex<()>,
    wake: Arc<Notify>,
    changed: watch::Sender<u64>,
}

fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Clinic {
    pub fn open(config: ClinicConfig) -> Result<Arc<Clinic>, ClientError> {
        let scope = Scope {
            clinic_id: config.clinic_id.clone(),
            field_worker_id: config.field_worker_id.clone(),
        };
        let store = LocalStore::open_scoped(&config.data_dir, &scope)?;
        Ok(Arc::new(Clinic {
            store: Mutex::new(store),
            transport: Transport::new(&config.server_url),
            live: Mutex::new(LiveStatus::default()),
            round: tokio::sync::Mutex::new(()),
            wake: Arc::new(Notify::new()),
            changed: watch::channel(0).0,
        }))
    }

    fn notify_changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ticks whenever the status may have changed (writes, sync progress, connectivity).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Asks the background task for a round now (no-op if none runs).
    pub fn request_sync(&self) {
        self.wake.notify_one();
    }

    fn after_write(&self) {
        self.notify_changed();
        self.request_sync();
    }

    pub fn register_patient(&self, fields: PatientFields) -> Result<Patient, ClientError> {
        let p = lock(&self.store).register_patient(fields)?;
        self.after_write();
        Ok(p)
    }

    pub fn update_patient(&self, id: Uuid, fields: PatientFields) -> Result<Patient, ClientError> {
        let p = lock(&self.store).update_patient(id, fields)?;
        self.after_write();
        Ok(p)
    }

    pub fn delete_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        let p = lock(&self.store).delete_patient(id)?;
        self.after_write();
        Ok(p)
    }

    pub fn book_appointment(&self, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        let a = lock(&self.store).book_appointment(fields)?;
        self.after_write();
        Ok(a)
    }

    pub fn update_appointment(&self, id: Uuid, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        let a = lock(&self.store).update_appointment(id, fields)?;
        self.after_write();
        Ok(a)
    }

    pub fn get_appointment(&self, id: Uuid) -> Result<Appointment, ClientError> {
        lock(&self.store).get_appointment(id)
    }

    pub fn list_appointments(&self, date: Option<&str>, patient: Option<Uuid>) -> Result<Vec<Appointment>, ClientError> {
        lock(&self.store).list_appointments(date, patient)
    }

    pub fn add_record(&self, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        let r = lock(&self.store).add_record(fields)?;
        self.after_write();
        Ok(r)
    }

    pub fn amend_record(&self, amends: Uuid, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        let r = lock(&self.store).amend_record(amends, fields)?;
        self.after_write();
        Ok(r)
    }

    pub fn list_records(&self, patient: Uuid) -> Result<Vec<RecordVersionView>, ClientError> {
        lock(&self.store).list_records(patient)
    }

    pub fn list_providers(&self) -> Result<Vec<Provider>, ClientError> {
        lock(&self.store).list_providers()
    }

    pub fn list_conflicts(&self, entity_id: Option<Uuid>) -> Result<Vec<ConflictNote>, ClientError> {
        lock(&self.store).list_conflicts(entity_id)
    }

    pub fn get_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        lock(&self.store).get_patient(id)
    }

    pub fn list_patients(&self, query: &str, limit: u32) -> Result<Vec<Patient>, ClientError> {
        lock(&self.store).list_patients(query, limit)
    }

    /// Writes the server refused for good, with code and reason.
    pub fn rejected_writes(&self) -> Result<Vec<(Mutation, String, String)>, ClientError> {
        lock(&self.store).rejected_writes()
    }

    pub fn device_id(&self) -> String {
        lock(&self.store).device_id().to_owned()
    }

    pub fn status(&self) -> Result<SyncStatus, ClientError> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let s = lock(&self.store);
        let counts = s.outbox_counts()?;
        Ok(SyncStatus {
            online: live.online,
            syncing: live.syncing,
            pending: counts.pending,
            rejected: counts.rejected,
            last_synced_at: s.meta("last_synced_at")?,
            last_error: s.meta("last_error")?.filter(|e| !e.is_empty()),
            server_url: self.transport.base_url().to_owned(),
            device_id: s.device_id().to_owned(),
            clinic_id: s.clinic_id().to_owned(),
            patients: s.count_patients()?,
            conflicts: s.count_conflicts()?,
            progress: live.progress,
        })
    }

    fn set_live(&self, f: impl FnOnce(&mut LiveStatus)) {
        f(&mut self.live.lock().unwrap_or_else(|p| p.into_inner()));
        self.notify_changed();
    }

    /// Runs one round (push, then pull) now and records the outcome in the status.
    pub async fn sync_now(&self) -> Result<RoundReport, ClientError> {
        self.sync_now_reporting(RoundOptions::default(), &|_| {}).await
    }

    /// Like `sync_now`, within `opts`, calling `report` with the pull's progress after every page.
    pub async fn sync_now_reporting(&self, opts: RoundOptions, report: &(dyn Fn(Progress) + Sync)) -> Result<RoundReport, ClientError> {
        let _one_at_a_time = self.round.lock().await;
        self.set_live(|l| l.syncing = true);
        let progress = |p: Option<Progress>| {
            if let Some(p) = p {
                self.live.lock().unwrap_or_else(|e| e.into_inner()).progress = Some(p);
                report(p);
            }
            self.notify_changed();
        };
        let result = round::run(&self.store, &self.transport, &progress, opts)
            .instrument(tracing::info_span!("sync_round"))
            .await;
        let online = !matches!(result, Err(ClientError::Offline { .. }));
        {
            let s = lock(&self.store);
            match &result {
                Ok(report) => {
                    s.set_meta("last_synced_at", &rfc3339_now())?;
                    s.set_meta("last_error", "")?;
                    tracing::info!(
                        pushed = report.pushed,
                        pulled = report.pulled,
                        rejected = report.rejected,
                        "sync round done"
                    );
                }
                Err(e) => {
                    s.set_meta("last_error", &e.to_string())?;
                    tracing::info!(code = e.code(), "sync round failed");
                }
            }
        }
        self.set_live(|l| {
            l.syncing = false;
            l.online = online;
            // Progress describes the round in flight; a finished round shows none.
            if result.is_ok() {
                l.progress = None;
            }
        });
        result
    }

    /// Starts the background task on the current tokio runtime. It stops when the clinic is dropped.
    pub fn start_background_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(task::run(Arc::downgrade(self)))
    }

    /// Asks the server's health endpoint and records the answer as the online state.
    pub async fn probe_server(&self) -> bool {
        let ok = self.transport.healthy().await;
        self.set_live(|l| l.online = ok);
        ok
    }
}
