//! Storage behind a small trait. The sync rules (`crate::sync`) are written against it; only the
//! implementation knows about MongoDB, so handlers never build queries.
//!
//! Every primitive is an insert into a unique key, a point read by key, or an idempotent overwrite
//! of a derived document. Nothing relies on multi-document transactions or on the atomicity of an
//! update, which FerretDB does not provide (docs/adr/0002-concurrency-by-unique-inserts.md).

pub mod mongo;
mod sequence;

use anola_protocol::{ChangeRecord, LwwState, Mutation, MutationStatus};
use async_trait::async_trait;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database did not answer or refused the operation; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored document does not have the expected shape.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What the exactly-once gate found for a mutation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// First time this id is seen; the mutation is now durably recorded.
    New,
    /// Seen before. `digest` is the content it was first sent with; `finished` tells whether the
    /// request that first accepted it completed all its steps.
    Existing {
        digest: String,
        finished: Option<MutationStatus>,
    },
}

/// One version in a patient's chain. Version `n + 1` is only ever written by someone who read
/// version `n`, and the unique key makes two writers of the same `n + 1` collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientVersion {
    pub patient_id: Uuid,
    pub version: u64,
    pub state: LwwState,
    pub mutation_id: Option<Uuid>,
    pub device_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    /// Another writer took this key first.
    Taken,
}

/// One entry of the change log: a dense sequence number and the records it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    pub seq: u64,
    pub records: Vec<ChangeRecord>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates collections' indexes. Safe to run at every start.
    async fn ensure_indexes(&self) -> Result<(), StoreError>;

    /// The exactly-once gate: records the mutation under its id unless the id is already there.
    async fn accept_mutation(&self, device_id: &str, m: &Mutation) -> Result<Accepted, StoreError>;

    /// Marks a mutation's processing complete. Idempotent.
    async fn finish_mutation(&self, id: Uuid, status: MutationStatus) -> Result<(), StoreError>;

    /// The newest version of a patient, if any.
    async fn patient_head(&self, id: Uuid) -> Result<Option<PatientVersion>, StoreError>;

    /// Writes a version; `Taken` when that version number already exists.
    async fn insert_patient_version(&self, v: &PatientVersion) -> Result<Inserted, StoreError>;

    /// Refreshes the readable patient document from a version. Never moves it backwards for long:
    /// if a newer version appears meanwhile, the newest one is written.
    async fn write_patient_view(&self, v: &PatientVersion) -> Result<(), StoreError>;

    /// Appends an entry to the change log and returns its sequence number. The log is dense: a
    /// number is only taken once its predecessor exists, so a reader that stops at the first gap
    /// never skips an entry.
    async fn append_changes(&self, records: Vec<ChangeRecord>) -> Result<u64, StoreError>;

    /// Log entries after `after`, in order, stopping at the first missing number, until at least
    /// `min_records` records or `max_entries` entries are collected.
    async fn read_changes(
        &self,
        after: u64,
        min_records: usize,
        max_entries: usize,
    ) -> Result<Vec<ChangeEntry>, StoreError>;
}
