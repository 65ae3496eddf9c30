//! Request and response bodies of sync protocol v1 (see docs/sync-protocol.md).

use crate::error::FieldError;
use crate::hlc::Hlc;
use crate::lww::LwwState;
use crate::patient::{PatientFields, PatientOp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The versions a server of this build accepts.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[u32] = &[1];
/// Most mutations one push may carry.
pub const MAX_PUSH_BATCH: usize = 500;
/// Most changes one pull page returns.
pub const MAX_PULL_LIMIT: u32 = 1000;
pub const DEFAULT_PULL_LIMIT: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Patient,
}

/// One change made on a device. `id` is generated on the device and makes the change idempotent:
/// the server applies each id at most once, however often it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    pub id: Uuid,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub op: PatientOp,
    pub hlc: Hlc,
    pub fields: PatientFields,
}

impl Mutation {
    /// The state this mutation writes: each field it carries, stamped with its HLC.
    pub fn state(&self) -> LwwState {
        LwwState::from_fields(&self.fields.to_map(), &self.hlc)
    }

    /// A digest of the mutation's content, to tell a retry (same id, same content) from a client
    /// bug that reuses an id for different content.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("mutations serialize");
        let d = Sha256::digest(bytes);
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol_version: u32,
    pub device_id: String,
    pub mutations: Vec<Mutation>,
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
    /// `None` on the first pull.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The merged state of one record as of some change. Applying records in any order, any number of
/// times, gives the same result (see `LwwState::merge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub entity: EntityKind,
    pub id: Uuid,
    pub state: LwwState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub protocol_version: u32,
    pub changes: Vec<ChangeRecord>,
    /// Give this back on the next pull. Store it only together with the changes of this page.
    pub cursor: String,
    /// More changes are waiting: pull again right away.
    pub has_more: bool,
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
    let ok = !id.is_empty()
        && id.len() <= crate::hlc::NODE_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    (!ok).then(|| FieldError {
        field: "device_id".into(),
        code: "invalid_device_id".into(),
        message: "device_id must be 1-64 characters of letters, digits, '_' or '.'".into(),
        mutation_index: None,
    })
}
