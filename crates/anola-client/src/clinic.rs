//! `Clinic`: one device's engine, opened for one signed-in staff member. Every user action is one
//! method; the Tauri commands and the CLI are thin wrappers over these.
//!
//! Every method checks the role matrix (`anola_protocol::access`, the same table the server uses)
//! before touching data: a refused write returns `forbidden` naming the field, reads leave out what
//! the role may not see (front desk never receives allergies, blood type, chronic conditions or
//! medical records). The replica itself holds everything the *device's* role may hold; the
//! signed-in staff member's role narrows what the app shows and lets them change. Writes carry the
//! author and commit with an audit entry; chart and record views are audited too.

use crate::error::ClientError;
use crate::security::DataKey;
use crate::store::{LocalStore, RecordVersionView, Scope, DEFAULT_CLINIC};
use crate::sync::round::{self, client_error, lock, RoundOptions, RoundReport};
use crate::sync::status::{LiveStatus, SyncStatus};
use crate::sync::task;
use crate::sync::transport::{Credentials, Transport};
use anola_protocol::access::{first_forbidden, may_read, project, Role};
use anola_protocol::auth::{AuditAction, AuditEntry};
use anola_protocol::wire::{ChangeRecord, EntityKind};
use anola_protocol::{
    Appointment, AppointmentFields, ConflictNote, MedicalRecordVersion, Mutation, Patient, PatientFields, Progress, Provider, RecordFields,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};
use tracing::Instrument;
use uuid::Uuid;

mod cards;
pub mod money;
pub mod receipt;
pub mod sponsorship;
pub use cards::{initials, render_card_svg, CardCheck, CheckIn, PrintableCard};

/// Who is acting: the signed-in staff member, with the role they act in on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user_id: Uuid,
    /// `effective_role(device role, user role)`.
    pub role: Role,
    pub field_worker_id: Option<String>,
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Kiosk => 0,
        Role::FrontDesk => 1,
        Role::Clinician | Role::FieldWorker => 2,
        Role::ClinicAdmin => 3,
    }
}

impl Actor {
    pub fn new(user_id: Uuid, role: Role) -> Self {
        Self {
            user_id,
            role,
            field_worker_id: None,
        }
    }

    /// The role a staff member acts in on a device: their own, but never more than the device's
    /// (a kiosk device is a kiosk whoever signs in; a clinician on a front-desk laptop is front desk).
    pub fn effective_role(device: Role, user: Role) -> Role {
        if device == user || device == Role::ClinicAdmin {
            return user;
        }
        if user == Role::ClinicAdmin {
            return device;
        }
        match rank(device).cmp(&rank(user)) {
            std::cmp::Ordering::Less => device,
            std::cmp::Ordering::Greater => user,
            // Clinician and field worker: the field worker's is the narrower (assigned patients).
            std::cmp::Ordering::Equal => Role::FieldWorker,
        }
    }
}

/// Security-relevant answers a sync round received, for the `Workstation` to act on.
#[derive(Debug, Clone)]
pub enum SecurityEvent {
    /// The server says this device is revoked: erase it.
    DeviceRevoked,
    /// The signed-in account was disabled.
    AccountDisabled { user_id: Uuid },
    /// Staff members created or changed (from the change log): update or forget them.
    StaffChanged(Vec<anola_protocol::auth::SessionUser>),
}

pub type SecurityHook = Arc<dyn Fn(SecurityEvent) + Send + Sync>;

/// A write the server refused for good (parked; the rest of the queue went on).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedWrite {
    pub mutation_id: Uuid,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub op: anola_protocol::wire::Op,
    /// Stable code (`validation_failed`, `forbidden`, `too_large`, `record_immutable`, …).
    pub code: String,
    pub message: String,
}

#[derive(Clone)]
pub struct ClinicConfig {
    pub data_dir: PathBuf,
    pub server_url: String,
    /// The clinic this device serves (`store::DEFAULT_CLINIC` when not configured).
    pub clinic_id: String,
    /// Set on a community field worker's device: only that worker's patients are synced.
    pub field_worker_id: Option<String>,
    /// The enrolled device id (`None`: a local one, for headless use and tests).
    pub device_id: Option<String>,
    /// The replica's SQLCipher key.
    pub key: DataKey,
    pub actor: Actor,
    /// The actor's signing key and name (`None`: writes go unsigned, which a server refuses
    /// from a staff device; headless tools and local tests).
    pub signer: Option<crate::store::Signer>,
    /// Signing keys of this device's staff not yet registered with the server: their writes wait.
    pub unregistered_keys: Vec<String>,
    /// Device key and staff tokens for sync requests (`None`: no authentication headers).
    pub credentials: Option<Arc<Credentials>>,
    pub on_security_event: Option<SecurityHook>,
    /// The background task's polling interval against a server that does not hold live pulls.
    pub idle_interval: std::time::Duration,
}

impl ClinicConfig {
    /// A headless configuration: default clinic, local device id, no credentials.
    pub fn new(data_dir: impl Into<PathBuf>, server_url: impl Into<String>, key: DataKey, actor: Actor) -> Self {
        Self {
            data_dir: data_dir.into(),
            server_url: server_url.into(),
            clinic_id: DEFAULT_CLINIC.into(),
            field_worker_id: None,
            device_id: None,
            key,
            actor,
            signer: None,
            unregistered_keys: Vec::new(),
            credentials: None,
            on_security_event: None,
            idle_interval: task::IDLE_INTERVAL,
        }
    }
}

pub struct Clinic {
    store: Mutex<LocalStore>,
    transport: Transport,
    credentials: Option<Arc<Credentials>>,
    actor: Actor,
    live: Mutex<LiveStatus>,
    /// One round at a time, whoever asks (background task, "Sync now", CLI).
    round: tokio::sync::Mutex<()>,
    wake: Arc<Notify>,
    changed: watch::Sender<u64>,
    /// Set when the workstation locked, signed out or wiped: every method fails with this.
    closed: Mutex<Option<ClientError>>,
    hook: Option<SecurityHook>,
    sync_started: std::sync::atomic::AtomicBool,
    idle_interval: std::time::Duration,
    /// Kiosk mode: the handle acts as role kiosk (`check_in` and `verify_card` only).
    kiosk: std::sync::atomic::AtomicBool,
    /// The device's UTC offset: what "today" is for check-in.
    utc_offset: Mutex<time::UtcOffset>,
}

impl std::fmt::Debug for Clinic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clinic")
            .field("actor", &self.actor)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `v` without the fields `role` may not read (`id` and `pending` always stay).
fn strip<T: Serialize + DeserializeOwned>(role: Role, kind: EntityKind, v: T) -> Result<T, ClientError> {
    if matches!(role, Role::Clinician | Role::ClinicAdmin | Role::FieldWorker) {
        return Ok(v);
    }
    let mut json = serde_json::to_value(&v)?;
    if let Some(obj) = json.as_object_mut() {
        obj.retain(|k, _| k == "id" || k == "pending" || may_read(role, kind, Some(k)));
    }
    Ok(serde_json::from_value(json)?)
}

/// The field names a partial write carries.
fn field_names<T: Serialize>(fields: &T) -> Result<Vec<String>, ClientError> {
    Ok(match serde_json::to_value(fields)? {
        serde_json::Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    })
}

impl Clinic {
    /// Opens the replica for `config.actor`.
    pub fn open(config: ClinicConfig) -> Result<Arc<Clinic>, ClientError> {
        let scope = Scope {
            clinic_id: config.clinic_id.clone(),
            field_worker_id: config.field_worker_id.clone(),
            device_id: config.device_id.clone(),
        };
        let mut store = LocalStore::open_scoped(&config.data_dir, &scope, &config.key)?;
        store.set_author(Some(config.actor.user_id));
        store.set_signer(config.signer.clone());
        store.set_unregistered_keys(config.unregistered_keys.clone());
        let mut transport = Transport::new(&config.server_url);
        if let Some(c) = &config.credentials {
            transport = transport.with_credentials(c.clone());
        }
        Ok(Arc::new(Clinic {
            store: Mutex::new(store),
            transport,
            credentials: config.credentials,
            actor: config.actor,
            live: Mutex::new(LiveStatus::default()),
            round: tokio::sync::Mutex::new(()),
            wake: Arc::new(Notify::new()),
            changed: watch::channel(0).0,
            closed: Mutex::new(None),
            hook: config.on_security_event,
            sync_started: std::sync::atomic::AtomicBool::new(false),
            idle_interval: config.idle_interval,
            kiosk: std::sync::atomic::AtomicBool::new(false),
            utc_offset: Mutex::new(cards::env_utc_offset().unwrap_or(time::UtcOffset::UTC)),
        }))
    }

    /// Headless: the default clinic, a local device id, no credentials (tests, tools).
    pub fn open_headless(
        data_dir: impl Into<PathBuf>,
        key: DataKey,
        actor: Actor,
        server_url: impl Into<String>,
    ) -> Result<Arc<Clinic>, ClientError> {
        Self::open(ClinicConfig::new(data_dir, server_url, key, actor))
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Ends access through this handle: every later call fails with `reason`.
    pub fn close(&self, reason: ClientError) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        self.wake.notify_one();
        self.notify_changed();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Open (not locked, signed out or wiped) and not in kiosk mode: staff work.
    fn guard(&self) -> Result<(), ClientError> {
        self.guard_open()?;
        if self.kiosk_mode() {
            return Err(ClientError::Forbidden {
                field: None,
                message: "kiosk mode: only check-in is available here (staff: leave kiosk mode with your PIN)".into(),
            });
        }
        Ok(())
    }

    /// Open (not locked, signed out or wiped); kiosk mode allowed (check-in, sync, status).
    fn guard_open(&self) -> Result<(), ClientError> {
        match &*self.closed.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn readable(&self, kind: EntityKind) -> Result<(), ClientError> {
        self.guard()?;
        if may_read(self.actor.role, kind, None) {
            Ok(())
        } else {
            Err(ClientError::Forbidden {
                field: None,
                message: format!("the {} role may not see {}", self.actor.role.as_str(), kind.as_str()),
            })
        }
    }

    /// A field worker acting on a device that holds more than their patients sees and changes only
    /// the patients assigned to them; `None` for everyone else.
    fn assigned_only(&self) -> Option<&str> {
        if self.actor.role == Role::FieldWorker {
            self.actor.field_worker_id.as_deref()
        } else {
            None
        }
    }

    fn in_scope(&self, s: &LocalStore, patient: Option<Uuid>) -> Result<bool, ClientError> {
        let Some(fw) = self.assigned_only() else { return Ok(true) };
        let Some(id) = patient else { return Ok(false) };
        match s.get_patient(id) {
            Ok(p) => Ok(p.field_worker_id.as_deref() == Some(fw)),
            Err(ClientError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Out-of-scope patients look absent, as on a field worker's own device.
    fn require_scope(&self, s: &LocalStore, patient: Option<Uuid>) -> Result<(), ClientError> {
        if self.in_scope(s, patient)? {
            Ok(())
        } else {
            Err(ClientError::NotFound {
                message: "no such patient on this device".into(),
            })
        }
    }

    fn writable<T: Serialize>(&self, kind: EntityKind, whole_record: bool, fields: &T) -> Result<(), ClientError> {
        self.guard()?;
        let names = field_names(fields)?;
        match first_forbidden(self.actor.role, kind, whole_record, names.iter().map(String::as_str)) {
            None => Ok(()),
            Some(field) => Err(ClientError::forbidden(self.actor.role, kind.as_str(), field)),
        }
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

    pub(crate) fn idle_interval(&self) -> std::time::Duration {
        self.idle_interval
    }

    /// Asks the background task for a round now (no-op if none runs).
    pub fn request_sync(&self) {
        self.wake.notify_one();
    }

    fn after_write(&self) {
        self.notify_changed();
        self.request_sync();
    }

    pub fn register_patient(&self, mut fields: PatientFields) -> Result<Patient, ClientError> {
        self.writable(EntityKind::Patient, true, &fields)?;
        if let Some(fw) = self.assigned_only() {
            // A field worker's registrations are theirs to follow up.
            if fields.field_worker_id.is_none() {
                fields.field_worker_id = Some(Some(fw.to_owned()));
            }
        }
        let p = lock(&self.store).register_patient(fields)?;
        self.after_write();
        strip(self.actor.role, EntityKind::Patient, p)
    }

    pub fn update_patient(&self, id: Uuid, fields: PatientFields) -> Result<Patient, ClientError> {
        self.writable(EntityKind::Patient, false, &fields)?;
        let mut s = lock(&self.store);
        self.require_scope(&s, Some(id))?;
        let p = s.update_patient(id, fields)?;
        drop(s);
        self.after_write();
        strip(self.actor.role, EntityKind::Patient, p)
    }

    pub fn delete_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        self.writable(EntityKind::Patient, true, &())?;
        let mut s = lock(&self.store);
        self.require_scope(&s, Some(id))?;
        let p = s.delete_patient(id)?;
        drop(s);
        self.after_write();
        strip(self.actor.role, EntityKind::Patient, p)
    }

    pub fn book_appointment(&self, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        self.writable(EntityKind::Appointment, true, &fields)?;
        let mut s = lock(&self.store);
        self.require_scope(&s, fields.patient_id.flatten())?;
        let a = s.book_appointment(fields)?;
        drop(s);
        self.after_write();
        strip(self.actor.role, EntityKind::Appointment, a)
    }

    pub fn update_appointment(&self, id: Uuid, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        self.writable(EntityKind::Appointment, false, &fields)?;
        let mut s = lock(&self.store);
        let current = s.get_appointment(id)?;
        self.require_scope(&s, current.patient_id)?;
        let a = s.update_appointment(id, fields)?;
        drop(s);
        self.after_write();
        strip(self.actor.role, EntityKind::Appointment, a)
    }

    pub fn get_appointment(&self, id: Uuid) -> Result<Appointment, ClientError> {
        self.readable(EntityKind::Appointment)?;
        let s = lock(&self.store);
        let a = s.get_appointment(id)?;
        self.require_scope(&s, a.patient_id)?;
        strip(self.actor.role, EntityKind::Appointment, a)
    }

    pub fn list_appointments(&self, date: Option<&str>, patient: Option<Uuid>) -> Result<Vec<Appointment>, ClientError> {
        self.readable(EntityKind::Appointment)?;
        let s = lock(&self.store);
        let mut out = Vec::new();
        for a in s.list_appointments(date, patient)? {
            if self.in_scope(&s, a.patient_id)? {
                out.push(strip(self.actor.role, EntityKind::Appointment, a)?);
            }
        }
        Ok(out)
    }

    pub fn add_record(&self, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        self.writable(EntityKind::MedicalRecord, true, &())?;
        let mut s = lock(&self.store);
        self.require_scope(&s, Some(fields.patient_id))?;
        let r = s.add_record(fields)?;
        drop(s);
        self.after_write();
        Ok(r)
    }

    pub fn amend_record(&self, amends: Uuid, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        self.writable(EntityKind::MedicalRecord, true, &())?;
        let mut s = lock(&self.store);
        let patient = s.record_patient(amends)?;
        self.require_scope(&s, patient)?;
        let r = s.amend_record(amends, fields)?;
        drop(s);
        self.after_write();
        Ok(r)
    }

    /// Every version of a patient's records; recorded in the audit trail as a record view.
    pub fn list_records(&self, patient: Uuid) -> Result<Vec<RecordVersionView>, ClientError> {
        self.readable(EntityKind::MedicalRecord)?;
        let s = lock(&self.store);
        self.require_scope(&s, Some(patient))?;
        let list = s.list_records(patient)?;
        s.audit(AuditAction::ViewRecord, Some(EntityKind::MedicalRecord), None, Some(patient))?;
        Ok(list)
    }

    pub fn list_providers(&self) -> Result<Vec<Provider>, ClientError> {
        self.readable(EntityKind::Provider)?;
        lock(&self.store).list_providers()
    }

    /// Conflict notes, without those about what the role may not see.
    pub fn list_conflicts(&self, entity_id: Option<Uuid>) -> Result<Vec<ConflictNote>, ClientError> {
        self.readable(EntityKind::Conflict)?;
        let notes = lock(&self.store).list_conflicts(entity_id)?;
        let role = self.actor.role;
        Ok(notes
            .into_iter()
            .filter(|n| {
                let rec = ChangeRecord {
                    entity: EntityKind::Conflict,
                    id: n.id,
                    state: None,
                    doc: serde_json::to_value(n).ok(),
                };
                project(role, &rec).is_some()
            })
            .collect())
    }

    /// A patient's chart; recorded in the audit trail as a patient view.
    pub fn get_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        self.readable(EntityKind::Patient)?;
        let s = lock(&self.store);
        self.require_scope(&s, Some(id))?;
        let p = s.get_patient(id)?;
        s.audit(AuditAction::ViewPatient, Some(EntityKind::Patient), Some(id), Some(id))?;
        strip(self.actor.role, EntityKind::Patient, p)
    }

    pub fn list_patients(&self, query: &str, limit: u32) -> Result<Vec<Patient>, ClientError> {
        self.readable(EntityKind::Patient)?;
        let list = lock(&self.store).list_patients(query, limit)?;
        let fw = self.assigned_only();
        list.into_iter()
            .filter(|p| fw.is_none() || p.field_worker_id.as_deref() == fw)
            .map(|p| strip(self.actor.role, EntityKind::Patient, p))
            .collect()
    }

    /// Writes the server refused for good, with code and reason (their fields as the role may see).
    pub fn rejected_writes(&self) -> Result<Vec<(Mutation, String, String)>, ClientError> {
        self.guard()?;
        let role = self.actor.role;
        let rows = lock(&self.store).rejected_writes()?;
        Ok(rows
            .into_iter()
            .filter(|(m, _, _)| may_read(role, m.entity, None))
            .map(|(mut m, c, msg)| {
                if let Some(obj) = m.fields.as_object_mut() {
                    obj.retain(|k, _| may_read(role, m.entity, Some(k)));
                }
                (m, c, msg)
            })
            .collect())
    }

    /// `rejected_writes` as the app shows them: what was refused, and why.
    pub fn rejected_list(&self) -> Result<Vec<RejectedWrite>, ClientError> {
        Ok(self
            .rejected_writes()?
            .into_iter()
            .map(|(m, code, message)| RejectedWrite {
                mutation_id: m.id,
                entity: m.entity,
                entity_id: m.entity_id,
                op: m.op,
                code,
                message,
            })
            .collect())
    }

    /// Who viewed or changed a patient's data on this device (clinic administrators only). The
    /// server holds every device's entries (`GET /admin/patients/{id}/access`).
    pub fn local_access_history(&self, patient: Uuid) -> Result<Vec<AuditEntry>, ClientError> {
        self.guard()?;
        if self.actor.role != Role::ClinicAdmin {
            return Err(ClientError::Forbidden {
                field: None,
                message: "only clinic administrators may see access history".into(),
            });
        }
        lock(&self.store).audit_for_patient(patient)
    }

    /// Records a session event (sign-in, unlock, lock) or stores ones made while closed.
    pub fn record_audit(&self, entries: &[AuditEntry]) -> Result<(), ClientError> {
        lock(&self.store).import_audit(entries)
    }

    /// Every audit entry on this device, oldest first (diagnostics and tests).
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>, ClientError> {
        self.guard()?;
        lock(&self.store).audit_log()
    }

    pub fn device_id(&self) -> String {
        lock(&self.store).device_id().to_owned()
    }

    pub fn status(&self) -> Result<SyncStatus, ClientError> {
        self.guard_open()?;
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
        self.guard_open()?;
        // After an offline sign-in there is no token: the round still runs, so an unreachable
        // server reads as `offline` and a reachable one answers `unauthenticated`.
        let _one_at_a_time = self.round.lock().await;
        self.guard_open()?;
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
        match &result {
            Ok(_) => self.apply_staff_changes()?,
            Err(e) => self.emit_for(e),
        }
        if result.is_ok() {
            // Cards, revocations and fallback codes arrive with the pull; the key set is fetched
            // when missing or old. A failure here keeps the cache and does not fail the round.
            if let Err(e) = self.refresh_card_keys_if_stale().await {
                tracing::info!(code = e.code(), error = %e, "card keys not refreshed");
            }
            // Charges made offline settle, then expired allowances go back (only once nothing
            // made offline is waiting). Failures keep them for the next round.
            match self.settle_offline_charges().await {
                Ok(s) if s.settled + s.refused > 0 => tracing::info!(settled = s.settled, refused = s.refused, "offline charges settled"),
                Ok(_) => {}
                Err(e) => tracing::info!(code = e.code(), "offline charges not settled yet"),
            }
            if let Err(e) = self.return_allowances(false).await {
                tracing::info!(code = e.code(), "expired allowances not returned yet");
            }
            if let Err(e) = self.send_queued_pre_approvals().await {
                tracing::info!(code = e.code(), "queued pre-approval requests not sent yet");
            }
        }
        result
    }

    /// Hands staff changes that arrived through the change log to the workstation (offline
    /// sign-in drops disabled accounts), then marks them applied. Without a workstation (tests,
    /// headless use) they wait.
    fn apply_staff_changes(&self) -> Result<(), ClientError> {
        if self.hook.is_none() {
            return Ok(());
        }
        let changes = lock(&self.store).unapplied_staff_changes()?;
        if changes.is_empty() {
            return Ok(());
        }
        self.emit(SecurityEvent::StaffChanged(changes.clone()));
        lock(&self.store).staff_changes_applied(&changes)
    }

    fn emit(&self, e: SecurityEvent) {
        if let Some(h) = &self.hook {
            h(e);
        }
    }

    fn emit_for(&self, e: &ClientError) {
        match e {
            ClientError::DeviceRevoked { .. } => self.emit(SecurityEvent::DeviceRevoked),
            ClientError::AccountDisabled { .. } => self.emit(SecurityEvent::AccountDisabled {
                user_id: self.actor.user_id,
            }),
            _ => {}
        }
    }

    /// A live pull (see `round::wait_for_news`): true when something arrived and a round should
    /// follow. Never marks the device as syncing: waiting is the idle state of an online device.
    pub async fn wait_for_news(&self, wait: std::time::Duration) -> Result<bool, ClientError> {
        self.guard_open()?;
        // One pull at a time: a live page applied after a newer round could move the cursor back.
        // (The background task drops this wait when it needs a round, releasing the lock.)
        let _one_at_a_time = self.round.lock().await;
        let moved = round::wait_for_news(&self.store, &self.transport, wait)
            .instrument(tracing::info_span!("live_pull"))
            .await?;
        if moved {
            self.notify_changed();
        }
        Ok(moved)
    }

    /// Starts the background task on the current tokio runtime. It stops when the clinic is dropped
    /// or closed (lock, sign-out, wipe).
    pub fn start_background_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.sync_started.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(task::run(Arc::downgrade(self)))
    }

    /// Starts the background task on the current tokio runtime unless it was already started.
    /// Returns whether it started one now.
    pub fn ensure_background_sync(self: &Arc<Self>) -> bool {
        if self.sync_started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        tokio::spawn(task::run(Arc::downgrade(self)));
        true
    }

    /// Asks the server's health endpoint and records the answer as the online state.
    pub async fn probe_server(&self) -> bool {
        let ok = self.transport.healthy().await;
        self.set_live(|l| l.online = ok);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anola_protocol::access::Role;

    /// Writes and audit entries of a signed-in staff member with a key are signed with it (ADR
    /// 0014); writes queued unsigned before are never signed after the fact; writes signed with a
    /// key the server has not registered wait in the outbox.
    #[test]
    fn a_signer_signs_every_write_and_audit_entry() {
        use anola_protocol::signing::{verify_audit, verify_mutation, StaffKey};
        let dir = tempfile::tempdir().unwrap();
        let key = StaffKey::from_seed(&[4; 32]);
        let actor = Actor::new(Uuid::new_v4(), Role::Clinician);
        // First without a key: an unsigned write waits in the outbox.
        let early = {
            let c = Clinic::open_headless(dir.path(), DataKey::from_bytes([5; 32]), actor.clone(), "http://127.0.0.1:9").unwrap();
            c.register_patient(patient_fields()).unwrap()
        };
        let mut cfg = ClinicConfig::new(dir.path(), "http://127.0.0.1:9", DataKey::from_bytes([5; 32]), actor.clone());
        cfg.signer = Some(crate::store::Signer {
            key: key.clone(),
            display_name: "Dr Amina Okafor".into(),
        });
        let c = Clinic::open(cfg).unwrap();
        c.book_appointment(booking(early.id)).unwrap();
        let mut typed = record(early.id);
        typed.author = "someone else".into();
        let r = c.add_record(typed).unwrap();
        assert_eq!(r.fields.author, "Dr Amina Okafor", "the author is the signer, not the typed text");
        let mut s = lock(&c.store);
        let batch = s.pending_batch(10).unwrap();
        assert_eq!(batch.len(), 3);
        assert!(batch[0].mutation.signature.is_none(), "queued before the key: never signed later");
        for e in &batch[1..] {
            assert_eq!(verify_mutation(&key.public(), &e.mutation), Ok(()), "{:?}", e.mutation.entity);
        }
        let audit = s.unsent_audit(10).unwrap();
        let signed: Vec<_> = audit.iter().filter(|e| verify_audit(&key.public(), e).is_ok()).collect();
        // The two writes made with the key; the first write's entry was made before it.
        assert_eq!(signed.len(), 2, "{audit:?}");
        // While the server has not registered the key, what it signed waits.
        s.set_unregistered_keys(vec![key.id()]);
        let waiting = s.pending_batch(10).unwrap();
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].mutation.signature.is_none());
        assert_eq!(s.outbox_counts().unwrap().pending, 3, "held writes still count as pending");
    }

    fn open(dir: &std::path::Path, role: Role) -> Arc<Clinic> {
        Clinic::open_headless(
            dir,
            DataKey::from_bytes([5; 32]),
            Actor::new(Uuid::new_v4(), role),
            "http://127.0.0.1:9",
        )
        .unwrap()
    }

    fn patient_fields() -> PatientFields {
        serde_json::from_value(serde_json::json!({
            "given_name": "Amina", "family_name": "Okafor", "date_of_birth": "1988-04-12",
            "phone": "+254 712 345 678", "blood_type": "O+",
            "allergies": [{"allergen": "penicillin"}],
        }))
        .unwrap()
    }

    fn booking(patient: Uuid) -> AppointmentFields {
        serde_json::from_value(serde_json::json!({
            "patient_id": patient, "provider_id": Uuid::new_v4(), "date": "2030-01-02", "start_time": "10:00",
            "duration_minutes": 30, "appointment_type": "consultation", "mode": "in_person",
            "time_zone": "Africa/Nairobi", "status": "scheduled",
        }))
        .unwrap()
    }

    fn record(patient: Uuid) -> RecordFields {
        serde_json::from_value(serde_json::json!({
            "record_id": Uuid::nil(), "patient_id": patient, "clinic_id": "-", "author": "Dr A",
            "consultation_notes": "BP 150/95",
        }))
        .unwrap()
    }

    #[test]
    fn front_desk_sees_no_clinical_data() {
        let dir = tempfile::tempdir().unwrap();
        let clinician = open(dir.path(), Role::Clinician);
        let p = clinician.register_patient(patient_fields()).unwrap();
        assert!(p.allergies.is_some());
        clinician.add_record(record(p.id)).unwrap();
        drop(clinician);

        let fd = open(dir.path(), Role::FrontDesk);
        let seen = fd.get_patient(p.id).unwrap();
        assert_eq!(seen.phone.as_deref(), Some("+254 712 345 678"));
        assert!(seen.allergies.is_none() && seen.blood_type.is_none() && seen.chronic_conditions.is_none());
        let listed = fd.list_patients("okafor", 10).unwrap();
        assert!(listed[0].allergies.is_none());
        assert_eq!(fd.list_records(p.id).unwrap_err().code(), "forbidden");
        let err = fd.add_record(record(p.id)).unwrap_err();
        assert_eq!(err.code(), "forbidden");
        // Changing a clinical field is refused with its name; nothing was written.
        let allergies: PatientFields = serde_json::from_value(serde_json::json!({"allergies": []})).unwrap();
        match fd.update_patient(p.id, allergies).unwrap_err() {
            ClientError::Forbidden { field, .. } => assert_eq!(field.as_deref(), Some("allergies")),
            other => panic!("{other:?}"),
        }
        assert_eq!(fd.status().unwrap().pending, 2);
        // Registration and phone changes are front desk work.
        let phone: PatientFields = serde_json::from_value(serde_json::json!({"phone": "+254 700 000 000"})).unwrap();
        fd.update_patient(p.id, phone).unwrap();
        assert_eq!(fd.local_access_history(p.id).unwrap_err().code(), "forbidden");
    }

    #[test]
    fn kiosk_only_marks_arrival() {
        let dir = tempfile::tempdir().unwrap();
        let fd = open(dir.path(), Role::FrontDesk);
        // Front desk may not register clinical fields either.
        assert_eq!(fd.register_patient(patient_fields()).unwrap_err().code(), "forbidden");
        let mut fields = patient_fields();
        fields.allergies = None;
        fields.blood_type = None;
        let p = fd.register_patient(fields).unwrap();
        let a = fd.book_appointment(booking(p.id)).unwrap();
        drop(fd);

        let kiosk = open(dir.path(), Role::Kiosk);
        let arrived: AppointmentFields = serde_json::from_value(serde_json::json!({"status": "checked_in"})).unwrap();
        let after = kiosk.update_appointment(a.id, arrived).unwrap();
        assert_eq!(after.status, Some(anola_protocol::AppointmentStatus::CheckedIn));
        assert!(after.reason.is_none() && after.appointment_type.is_none());
        let moved: AppointmentFields = serde_json::from_value(serde_json::json!({"date": "2030-01-03"})).unwrap();
        assert_eq!(kiosk.update_appointment(a.id, moved).unwrap_err().code(), "forbidden");
        assert_eq!(kiosk.book_appointment(booking(p.id)).unwrap_err().code(), "forbidden");
        assert_eq!(kiosk.register_patient(patient_fields()).unwrap_err().code(), "forbidden");
        assert_eq!(kiosk.delete_patient(p.id).unwrap_err().code(), "forbidden");
        assert_eq!(kiosk.list_records(p.id).unwrap_err().code(), "forbidden");
        let seen = kiosk.get_patient(p.id).unwrap();
        assert_eq!(seen.given_name.as_deref(), Some("Amina"));
        assert!(seen.phone.is_none() && seen.date_of_birth.is_none() && seen.allergies.is_none());
    }

    #[test]
    fn writes_and_views_are_audited_and_pushed_once() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(dir.path(), Role::Clinician);
        let me = c.actor().user_id;
        let p = c.register_patient(patient_fields()).unwrap();
        let a = c.book_appointment(booking(p.id)).unwrap();
        let r = c.add_record(record(p.id)).unwrap();
        c.get_patient(p.id).unwrap();
        c.list_records(p.id).unwrap();
        let log = c.audit_log().unwrap();
        let kinds: Vec<_> = log.iter().map(|e| (e.action, e.entity, e.entity_id)).collect();
        assert_eq!(
            kinds,
            vec![
                (AuditAction::Write, Some(EntityKind::Patient), Some(p.id)),
                (AuditAction::Write, Some(EntityKind::Appointment), Some(a.id)),
                (AuditAction::Write, Some(EntityKind::MedicalRecord), Some(r.id)),
                (AuditAction::ViewPatient, Some(EntityKind::Patient), Some(p.id)),
                (AuditAction::ViewRecord, Some(EntityKind::MedicalRecord), None),
            ]
        );
        assert!(log.iter().all(|e| e.user_id == Some(me) && e.patient_id == Some(p.id)));
        // Mutations carry their author.
        let s = lock(&c.store);
        let batch = s.pending_batch(10).unwrap();
        assert!(batch.iter().all(|e| e.mutation.author == Some(me)));
        // Without a signing key (headless) nothing is signed: the server would refuse these.
        assert!(batch.iter().all(|e| e.mutation.signature.is_none()));
        // Unsent entries ride on the next push and are then marked sent.
        let unsent = s.unsent_audit(500).unwrap();
        assert_eq!(unsent.len(), 5);
        drop(s);
        lock(&c.store)
            .mark_audit_sent(&unsent.iter().map(|e| e.id).collect::<Vec<_>>())
            .unwrap();
        assert!(lock(&c.store).unsent_audit(500).unwrap().is_empty());
        drop(c);
        // Clinic administrators see the history of a patient on this device.
        let admin = open(dir.path(), Role::ClinicAdmin);
        let history = admin.local_access_history(p.id).unwrap();
        assert_eq!(history.len(), 5);
    }

    #[test]
    fn a_field_worker_sees_only_assigned_patients() {
        let dir = tempfile::tempdir().unwrap();
        let clinician = open(dir.path(), Role::Clinician);
        let other = clinician.register_patient(patient_fields()).unwrap();
        drop(clinician);
        let mut actor = Actor::new(Uuid::new_v4(), Role::FieldWorker);
        actor.field_worker_id = Some("fw-7".into());
        let fw = Clinic::open_headless(dir.path(), DataKey::from_bytes([5; 32]), actor, "http://127.0.0.1:9").unwrap();
        let mine = fw.register_patient(patient_fields()).unwrap();
        assert_eq!(mine.field_worker_id.as_deref(), Some("fw-7"));
        let listed: Vec<Uuid> = fw.list_patients("", 10).unwrap().iter().map(|p| p.id).collect();
        assert_eq!(listed, vec![mine.id]);
        assert_eq!(fw.get_patient(other.id).unwrap_err().code(), "not_found");
        assert_eq!(fw.list_records(other.id).unwrap_err().code(), "not_found");
        assert_eq!(fw.add_record(record(other.id)).unwrap_err().code(), "not_found");
        fw.add_record(record(mine.id)).unwrap();
    }

    #[test]
    fn effective_role_never_exceeds_the_device() {
        use Role::*;
        assert_eq!(Actor::effective_role(Kiosk, ClinicAdmin), Kiosk);
        assert_eq!(Actor::effective_role(FrontDesk, Clinician), FrontDesk);
        assert_eq!(Actor::effective_role(Clinician, FrontDesk), FrontDesk);
        assert_eq!(Actor::effective_role(ClinicAdmin, Clinician), Clinician);
        assert_eq!(Actor::effective_role(Clinician, ClinicAdmin), Clinician);
        assert_eq!(Actor::effective_role(FieldWorker, Clinician), FieldWorker);
    }

    #[test]
    fn a_closed_clinic_refuses_everything() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(dir.path(), Role::Clinician);
        c.close(ClientError::Locked { message: "locked".into() });
        assert_eq!(c.list_patients("", 10).unwrap_err().code(), "locked");
        assert_eq!(c.register_patient(patient_fields()).unwrap_err().code(), "locked");
        assert_eq!(c.status().unwrap_err().code(), "locked");
    }
}
