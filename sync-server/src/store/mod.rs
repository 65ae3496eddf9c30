//! Storage behind a small trait. The sync rules (`crate::sync`) are written against it; only the
//! implementation knows about MongoDB, so handlers never build queries.
//!
//! Every primitive is an insert into a unique key, a point read by key, or an idempotent overwrite
//! of a derived document. Nothing relies on multi-document transactions or on the atomicity of an
//! update, which FerretDB does not provide (docs/adr/0002-concurrency-by-unique-inserts.md).

pub mod accounts;
pub mod cards;
mod change_log;
mod collections;
pub mod ledger_log;
pub mod memory;
mod memory_accounts;
mod memory_ledger;
mod memory_portal;
pub mod mongo;
mod mongo_accounts;
mod mongo_cards;
mod mongo_children;
mod mongo_ledger;
mod mongo_portal;
pub mod portal;
pub mod sealing;
mod sequence;

use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, LwwState, Mutation, MutationResult};
use async_trait::async_trait;
use uuid::Uuid;

/// The one-time migration that links children written before `Store::link_children` existed.
pub const CHILD_LINKS_MIGRATION: &str = "patient_children_v1";

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
    /// Seen before. `digest` is the content it was first sent with; `finished` is the answer its
    /// processing gave, once it completed all its steps (status, code and reason, kept verbatim so
    /// a retry is told exactly what the first attempt was).
    Existing { digest: String, finished: Option<MutationResult> },
}

/// One version in a per-field LWW entity's chain. Version `n + 1` is only ever written by someone
/// who read version `n`, and the unique key makes two writers of the same `n + 1` collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub entity: EntityKind,
    pub id: Uuid,
    pub version: u64,
    pub state: LwwState,
    /// The mutations folded into this version (empty for a change the server made itself: a slot
    /// conflict, a merge, a provider edit). A push folds all its mutations of one entity into one
    /// version.
    pub mutation_ids: Vec<Uuid>,
    pub device_id: String,
}

impl Version {
    /// A string field of the state, if set.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.state.0.get(field).and_then(|s| s.value.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    /// Another writer took this key first.
    Taken,
}

/// The outcome of claiming a unique key (a slot block, an identity key, an amendment target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key is held by the caller (now, or already before).
    Mine,
    /// Someone else holds it.
    HeldBy(Uuid),
}

/// Slot rules a push left unsettled (a crash, or an appointment that kept changing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRules {
    pub marker: Uuid,
    pub clinic: String,
    pub appointments: Vec<Uuid>,
}

/// One entry of a clinic's change log: a dense sequence number and the records it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    pub seq: u64,
    pub records: Vec<ChangeRecord>,
}

#[async_trait]
pub trait Store: accounts::AccountStore + cards::CardStore + ledger_log::LedgerLog + portal::PortalStore + Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A step of a push was reached (test-only fault injection may crash here).
    fn reached(&self, _point: crate::faults::Point) {}

    /// Creates collections' indexes. Safe to run at every start.
    async fn ensure_indexes(&self) -> Result<(), StoreError>;

    /// The exactly-once gate: records each mutation under its id unless the id is already there.
    /// One answer per mutation, in order.
    async fn accept_mutations(&self, device_id: &str, clinic_id: &str, ms: &[Mutation]) -> Result<Vec<Accepted>, StoreError>;

    /// Records mutations' answers; their processing is complete. The first answer stays.
    async fn finish_mutations(&self, done: &[MutationResult]) -> Result<(), StoreError>;

    /// The newest version of an LWW entity, if any.
    async fn head(&self, entity: EntityKind, id: Uuid) -> Result<Option<Version>, StoreError>;

    /// The newest versions of many entities, in order (read concurrently).
    async fn heads(&self, keys: &[(EntityKind, Uuid)]) -> Result<Vec<Option<Version>>, StoreError>;

    /// Version `n` of an LWW entity's chain, if written.
    async fn version(&self, entity: EntityKind, id: Uuid, n: u64) -> Result<Option<Version>, StoreError>;

    /// Writes versions; per version `Taken` when that version number already exists.
    async fn insert_versions(&self, vs: &[Version]) -> Result<Vec<Inserted>, StoreError>;

    /// Refreshes the readable document of an LWW entity from a version. If a newer version appears
    /// meanwhile, the newest one is written.
    async fn write_view(&self, v: &Version) -> Result<(), StoreError>;

    /// `write_view` for many versions (concurrently).
    async fn write_views(&self, vs: &[Version]) -> Result<(), StoreError>;

    /// LWW entities whose readable document has `field == value` (a collection scan on FerretDB:
    /// staff operations only, never the sync path).
    async fn find_views(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<Uuid>, StoreError>;

    /// Inserts an immutable document (record version, conflict note, merge note) under `id`.
    async fn insert_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<Inserted, StoreError>;

    /// Inserts many immutable documents of one kind; one answer per document, in order.
    async fn insert_docs(&self, entity: EntityKind, docs: &[(Uuid, serde_json::Value)]) -> Result<Vec<Inserted>, StoreError>;

    async fn get_doc(&self, entity: EntityKind, id: Uuid) -> Result<Option<serde_json::Value>, StoreError>;

    /// Overwrites an immutable document's *links* (a merge re-points a record to the survivor).
    async fn replace_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<(), StoreError>;

    /// Documents of a kind whose `field == value` (scan; staff operations only).
    async fn find_docs(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<serde_json::Value>, StoreError>;

    /// These patients were just created (a hint: they have no children yet).
    fn patients_created(&self, _patients: &[Uuid]) {}

    /// Links children (appointments, medical-record versions) to the patient they name, so a merge
    /// finds them with point reads. Written before the children themselves; a link may be stale
    /// (the child moved on) or repeated, and readers check.
    async fn link_children(&self, links: &[(Uuid, EntityKind, Uuid)]) -> Result<(), StoreError>;

    /// Everything ever linked to a patient (deduplicated, oldest link first).
    async fn children_of(&self, patient: Uuid) -> Result<Vec<(EntityKind, Uuid)>, StoreError>;

    /// Links children written before links existed, then marks migration `patient_children_v1`
    /// done. Scans; run once, in the background. Until it is done, merges scan as well.
    async fn link_existing_children(&self) -> Result<(), StoreError>;

    /// Marks the slot rule of these appointments pending (before their versions are written):
    /// one marker per push, whose id is returned. Empty `appointments`: no marker (`None`).
    async fn mark_rules_pending(&self, clinic: &str, appointments: &[Uuid]) -> Result<Option<Uuid>, StoreError>;

    /// Clears a pending marker once every rule in it settled and was announced.
    async fn rules_done(&self, marker: Uuid) -> Result<(), StoreError>;

    /// Markers pending for at least `older_than_ms`, with their clinic and appointments (a scan
    /// of the small `rules_pending` collection: the sweeper only).
    async fn pending_rules(&self, older_than_ms: i64) -> Result<Vec<PendingRules>, StoreError>;

    /// Claims a unique key for `holder`.
    async fn claim(&self, key: &str, holder: Uuid) -> Result<Claim, StoreError>;

    /// Claims many keys at once; one answer per key, in order.
    async fn claim_many(&self, claims: &[(String, Uuid)]) -> Result<Vec<Claim>, StoreError>;

    /// Releases a key if `holder` holds it. A claim has generations, and a release marks the
    /// holder's generation released (a unique insert) instead of deleting it, so a stale release
    /// can never free the next holder's claim.
    async fn release(&self, key: &str, holder: Uuid) -> Result<(), StoreError>;

    /// Appends an entry to a clinic's change log and returns its sequence number. The log is dense:
    /// a number is only taken once its predecessor exists, so a reader that stops at the first gap
    /// never skips an entry.
    async fn append_changes(&self, clinic: &str, records: Vec<ChangeRecord>) -> Result<u64, StoreError>;

    /// Log entries after `after`, in order, stopping at the first missing number, until at least
    /// `min_records` records or `max_entries` entries are collected.
    async fn read_changes(&self, clinic: &str, after: u64, min_records: usize, max_entries: usize) -> Result<Vec<ChangeEntry>, StoreError>;

    /// Waits until the clinic's log holds an entry after `after`, at most `max_wait`; true when
    /// there is one. Appends by this process wake waiters at once; those of other server
    /// processes are seen by a point read every `LIVE_POLL` (docs/sync-protocol.md, live pulls).
    async fn wait_for_changes(&self, clinic: &str, after: u64, max_wait: std::time::Duration) -> Result<bool, StoreError>;

    /// The highest sequence number in a clinic's log (O(log n) point reads).
    async fn log_head(&self, clinic: &str) -> Result<u64, StoreError>;

    /// The clinic's current resync generation (0 if never).
    async fn resync_generation(&self, clinic: &str) -> Result<u64, StoreError>;

    /// Starts a new resync generation: every device of the clinic re-pulls from the beginning.
    async fn bump_resync(&self, clinic: &str) -> Result<u64, StoreError>;

    /// Whether a one-time data migration has completed (one point read).
    async fn migration_done(&self, name: &str) -> Result<bool, StoreError>;

    /// Records a one-time data migration as completed (idempotent).
    async fn mark_migration_done(&self, name: &str) -> Result<(), StoreError>;
}
