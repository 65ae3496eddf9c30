//! Request and response bodies of sync protocol v1, v2 and v3 (see docs/sync-protocol.md). v2
//! adds staff and health-card records to the change log (a v1 pull never receives them); v3
//! mutations carry their author's signature (`Mutation::signature`, ADR 0014), which every
//! server of this build requires whatever the version.

use crate::appointment::AppointmentFields;
use crate::error::FieldError;
use crate::hlc::Hlc;
use crate::lww::LwwState;
use crate::patient::PatientFields;
use crate::record::RecordFields;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::Date;
use uuid::Uuid;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 3;
/// The versions a server of this build accepts.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[u32] = &[1, 2, 3];
/// Most mutations one push may carry.
pub const MAX_PUSH_BATCH: usize = 500;
/// The largest one mutation's fields may be, encoded as JSON. Checked by the device when the write
/// is made and by the server (`Mutation::validate`), so a write too large to ever travel is
/// refused at the desk instead of stopping the device's queue.
pub const MAX_MUTATION_BYTES: usize = 256 * 1024;
/// Devices split pushes so each JSON body stays under this, well below the server's default body
/// limit (4 MiB, `ANOLA_MAX_BODY_BYTES`); a server configured lower answers 413 and the device
/// halves its pushes.
pub const MAX_PUSH_BYTES: usize = 1024 * 1024;
/// Most changes one pull page returns.
pub const MAX_PULL_LIMIT: u32 = 1000;
pub const DEFAULT_PULL_LIMIT: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Patient,
    Appointment,
    MedicalRecord,
    /// Server-maintained; devices only receive.
    Provider,
    /// Server-written notes about concurrent writes (see `conflict.rs`); devices only receive.
    Conflict,
    /// Server-written: a duplicate registration was merged into another patient.
    Merge,
    /// Server-written (protocol v2): a staff member of the clinic was created or changed; `id` is
    /// the user, `doc` the `SessionUser` (devices drop disabled staff from offline sign-in).
    Staff,
    /// Server-written (protocol v2): a health card was issued or revoked; `id` is the patient,
    /// `doc` the `CardSummary` (devices verify cards and take fallback codes offline).
    Card,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Patient => "patient",
            EntityKind::Appointment => "appointment",
            EntityKind::MedicalRecord => "medical_record",
            EntityKind::Provider => "provider",
            EntityKind::Conflict => "conflict",
            EntityKind::Merge => "merge",
            EntityKind::Staff => "staff",
            EntityKind::Card => "card",
        }
    }

    /// The first protocol version whose pulls carry this kind (older clients cannot parse it).
    pub fn since_protocol(self) -> u32 {
        match self {
            EntityKind::Staff | EntityKind::Card => 2,
            _ => 1,
        }
    }

    /// Entities whose state merges per field by HLC (the rest are immutable documents).
    pub fn is_lww(self) -> bool {
        matches!(self, EntityKind::Patient | EntityKind::Appointment | EntityKind::Provider)
    }
}

/// What a mutation does. The merge is the same for create and update; validation differs. A delete
/// writes a tombstone (`deleted: true`) and carries no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Delete,
}

/// One change made on a device. `id` is generated on the device and makes the change idempotent:
/// the server applies each id at most once, however often it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    pub id: Uuid,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub op: Op,
    pub hlc: Hlc,
    /// The changed fields, as a JSON object; their shape depends on `entity` (`Mutation::typed`).
    pub fields: serde_json::Value,
    /// For each changed field, the stamp of the value the device showed when the user edited it
    /// (`null`: the field was empty). Lets the server tell a sequential edit from a concurrent one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub base: BTreeMap<String, Option<Hlc>>,
    /// The staff member signed in on the device when the change was made. The server checks their
    /// role (as of the change's time) as well as the device's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Uuid>,
    /// The author's signature over the rest of the mutation (`signing.rs`). Required whenever
    /// `author` is set; a kiosk's unauthored writes carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::signing::Signature>,
}

/// A mutation's fields, parsed for its entity.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedFields {
    Patient(PatientFields),
    Appointment(AppointmentFields),
    MedicalRecord(RecordFields),
}

impl Mutation {
    /// Parses `fields` for the mutation's entity; on failure returns the path inside `fields` and
    /// the reason.
    pub fn typed(&self) -> Result<TypedFields, (String, String)> {
        fn parse<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, (String, String)> {
            serde_path_to_error::deserialize(v.clone()).map_err(|e| {
                let path = e.path().to_string();
                (if path == "." { String::new() } else { path }, e.into_inner().to_string())
            })
        }
        match self.entity {
            EntityKind::Patient => parse(&self.fields).map(TypedFields::Patient),
            EntityKind::Appointment => parse(&self.fields).map(TypedFields::Appointment),
            EntityKind::MedicalRecord => parse(&self.fields).map(TypedFields::MedicalRecord),
            other => Err((String::new(), format!("devices cannot write {} entities", other.as_str()))),
        }
    }

    /// Checks the mutation's fields against its entity's rules (after `typed` succeeded).
    /// Whether the fields are small enough to travel (`MAX_MUTATION_BYTES`).
    pub fn size_error(&self) -> Option<FieldError> {
        let size = serde_json::to_vec(&self.fields).map_or(0, |b| b.len());
        (size > MAX_MUTATION_BYTES).then(|| FieldError {
            field: "fields".into(),
            code: "too_large".into(),
            message: format!(
                "this change is {} KiB; one change may be at most {} KiB (attach large files separately)",
                size / 1024,
                MAX_MUTATION_BYTES / 1024
            ),
            mutation_index: None,
        })
    }

    pub fn validate(&self, today: Date) -> Vec<FieldError> {
        if let Some(e) = self.size_error() {
            return vec![e];
        }
        match self.typed() {
            Err((path, msg)) => vec![FieldError {
                field: if path.is_empty() { "fields".into() } else { path },
                code: "invalid_type".into(),
                message: msg,
                mutation_index: None,
            }],
            Ok(TypedFields::Patient(f)) => f.validate(self.op, today),
            Ok(TypedFields::Appointment(f)) => f.validate(self.op),
            Ok(TypedFields::MedicalRecord(f)) => {
                let mut e = f.validate(self.entity_id);
                if self.op != Op::Create {
                    e.push(FieldError {
                        field: "op".into(),
                        code: "append_only".into(),
                        message: "medical records are append-only: write an amendment (a new version with amends) instead".into(),
                        mutation_index: None,
                    });
                }
                e
            }
        }
    }

    /// The state this mutation writes for a per-field LWW entity: each field it carries, stamped
    /// with its HLC; a delete writes the tombstone.
    pub fn state(&self) -> LwwState {
        if self.op == Op::Delete {
            let mut m = serde_json::Map::new();
            m.insert("deleted".into(), serde_json::Value::Bool(true));
            return LwwState::from_fields(&m, &self.hlc);
        }
        match &self.fields {
            serde_json::Value::Object(m) => LwwState::from_fields(m, &self.hlc),
            _ => LwwState::new(),
        }
    }

    /// A digest of the mutation's content, to tell a retry (same id, same content) from a client
    /// bug that reuses an id for different content.
    ///
    /// The signature is left out: it proves who wrote the change but is not the change, and a
    /// write queued before its author could sign (an upgrade) may be retried signed.
    pub fn digest(&self) -> String {
        let unsigned = Mutation {
            signature: None,
            ..self.clone()
        };
        let bytes = serde_json::to_vec(&unsigned).expect("mutations serialize");
        let d = Sha256::digest(bytes);
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol_version: u32,
    pub device_id: String,
    /// The clinic this device serves: new records are created in it, and it may only change
    /// records of it.
    pub clinic_id: String,
    pub mutations: Vec<Mutation>,
    /// Audit entries written on the device since its last push (stored once each, by id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<crate::auth::AuditEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    /// Applied by this request.
    Applied,
    /// Applied by an earlier request with the same mutation id; nothing changed now.
    AlreadyApplied,
    /// Not applied, and retrying it will not help; `code` says why.
    Rejected,
    /// Applied, but the server changed the outcome (e.g. the slot was taken and the appointment
    /// now needs rescheduling); `code` and `message` say what happened.
    AppliedWithConflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationResult {
    pub mutation_id: Uuid,
    pub status: MutationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub protocol_version: u32,
    /// One result per mutation, in request order.
    pub results: Vec<MutationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub protocol_version: u32,
    pub device_id: String,
    pub clinic_id: String,
    /// Set on a community field worker's device: only that worker's assigned patients (and their
    /// appointments and records) are sent.
    #[serde(default)]
    pub field_worker_id: Option<String>,
    /// `None` on the first pull.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    /// The device's own state for the fleet view (pending writes, app version, last error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::portal::DeviceReport>,
}

/// The merged state of one record as of some change. Applying records in any order, any number of
/// times, gives the same result (see `LwwState::merge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub entity: EntityKind,
    pub id: Uuid,
    /// Per-field LWW entities (patient, appointment, provider): the merged state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LwwState>,
    /// Immutable documents (medical record versions, conflict notes, merges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<serde_json::Value>,
}

/// How far a pull has come, in change-log entries: `done` of `total` at the time of the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub protocol_version: u32,
    pub changes: Vec<ChangeRecord>,
    /// Give this back on the next pull. Store it only together with the changes of this page.
    pub cursor: String,
    /// More changes are waiting: pull again right away.
    pub has_more: bool,
    pub progress: Progress,
    /// The server asks for a full resync: drop every server-confirmed record (keep unsent
    /// changes) before applying this page, which starts from the beginning.
    #[serde(default)]
    pub reset: bool,
}

/// `GET /sync/patients/{id}`: one patient on demand (a scanned card's patient the device does not
/// hold yet), as the change record a pull would carry. Merged like a pulled record; the pull
/// cursor does not move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientFetch {
    pub protocol_version: u32,
    pub changes: Vec<ChangeRecord>,
}

/// A merge request from staff: `duplicate` is folded into `survivor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub protocol_version: u32,
    pub clinic_id: String,
    pub survivor: Uuid,
    pub duplicate: Uuid,
    pub merged_by: String,
}

/// Announces a merge to devices: records and appointments of `duplicate` now belong to `survivor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeNote {
    pub survivor: Uuid,
    pub duplicate: Uuid,
    pub merged_by: String,
    pub merged_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
    pub database: String,
    pub protocol_versions: Vec<u32>,
    pub version: String,
}

/// Checks a device id: what the server logs and keys audit entries by, so it must be tame.
pub fn validate_device_id(id: &str) -> Option<FieldError> {
    let ok =
        !id.is_empty() && id.len() <= crate::hlc::NODE_MAX_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    (!ok).then(|| FieldError {
        field: "device_id".into(),
        code: "invalid_device_id".into(),
        message: "device_id must be 1-64 characters of letters, digits, '_' or '.'".into(),
        mutation_index: None,
    })
}

/// Checks a clinic id (device configuration, scope key).
pub fn validate_clinic_id(id: &str) -> Option<FieldError> {
    let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (!ok).then(|| FieldError {
        field: "clinic_id".into(),
        code: "invalid_clinic_id".into(),
        message: "clinic_id must be 1-64 characters of letters, digits, '_' or '-'".into(),
        mutation_index: None,
    })
}
