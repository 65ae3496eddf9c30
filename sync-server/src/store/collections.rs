//! Collections are created explicitly and checked for their unique `_id` index before first use.
//!
//! FerretDB 1.24 (SQLite backend) creates a collection in three separate statements: the table,
//! its registration, then the unique `_id` index. A database killed between the second and the
//! third leaves a collection whose `_id` is *not* unique — and every exactly-once rule of ours
//! (the mutation gate, finished results, version chains, claims, the dense change log) rests on
//! duplicate-key answers. So no collection is written before this module has seen its `_id_`
//! index; an empty collection without one is dropped and made again.

use super::mongo::{unavailable, MongoStore};
use super::StoreError;
use mongodb::error::ErrorKind;

/// Every fixed collection the store writes to. Change-log buckets are checked as they appear.
pub(crate) const FIXED: &[&str] = &[
    "mutations",
    "mutation_results",
    "versions",
    "patients",
    "appointments",
    "providers",
    "medical_records",
    "conflicts",
    "merges",
    "claims",
    "resyncs",
    "users",
    "user_facts",
    "login_failures",
    "refresh_tokens",
    "refresh_spent",
    "revoked_families",
    "enrolment_codes",
    "enrolment_used",
    "devices",
    "device_revocations",
    "signing_keys",
    "audit",
    "server_secrets",
    "card_keys",
    "device_status",
    "consents",
    "health_cards",
    "card_revocations",
    "patient_cards",
    "patient_children",
    "rules_pending",
    "migrations",
    "ledger_log",
];

const NAMESPACE_EXISTS: i32 = 48;
const ID_INDEX: &str = "_id_";

/// How long a collection without its `_id` index is watched before it is taken for a crash's
/// leftover. Another server process may be creating it right now (its three statements take
/// milliseconds): dropping it then would drop what that process is about to write into it, a gap
/// in a change log that every device would stop at.
const CREATION_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl MongoStore {
    /// Whether `name` has its `_id` index, waiting up to `CREATION_GRACE` for a creator in flight.
    async fn id_index_appears(&self, name: &str) -> Result<bool, StoreError> {
        let deadline = std::time::Instant::now() + CREATION_GRACE;
        loop {
            let names = self.coll(name).list_index_names().await.map_err(unavailable)?;
            if names.iter().any(|n| n == ID_INDEX) {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Makes sure `name` exists with its unique `_id` index; remembered per process.
    pub(crate) async fn ensure_collection(&self, name: &str) -> Result<(), StoreError> {
        if self.checked_collections.lock().await.contains(name) {
            return Ok(());
        }
        for _ in 0..3 {
            match self.database().create_collection(name).await {
                Ok(()) => {}
                Err(e) if matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == NAMESPACE_EXISTS) => {}
                Err(e) => return Err(unavailable(e)),
            }
            if self.id_index_appears(name).await? {
                self.checked_collections.lock().await.insert(name.to_owned());
                return Ok(());
            }
            let any = self.coll(name).find_one(mongodb::bson::doc! {}).await.map_err(unavailable)?;
            if any.is_some() {
                return Err(StoreError::Corrupt(format!(
                    "collection {name} holds documents but has no unique _id index; restore it from a backup"
                )));
            }
            tracing::warn!(
                collection = name,
                "collection was left without its _id index by a crash; recreating it"
            );
            self.coll(name).drop().await.map_err(unavailable)?;
        }
        Err(StoreError::Unavailable(format!(
            "collection {name} could not be created with its _id index"
        )))
    }
}
