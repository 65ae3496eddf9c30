//! `Store` in memory: the second implementation, for unit tests of the sync rules without a
//! database. One mutex guards all state and no lock is held across an `.await`, so each primitive
//! is atomic exactly where the MongoDB one is (a unique insert, a point read, an overwrite) and
//! requests racing on a single-threaded runtime interleave at their `.await`s, deterministically.
//!
//! It keeps the same observable rules as `MongoStore`: unique keys answer `Taken`, the change log
//! is dense per clinic, claims have generations and release markers, secrets are first-writer-wins.

use super::accounts::{DeviceRecord, EnrolmentRecord, Millis, RefreshRecord, SigningKeyRecord, UserRecord};
use super::cards::{CardKeyRecord, CardRecord};
use super::{Accepted, ChangeEntry, Claim, Inserted, PendingRules, Store, StoreError, Version};
use anola_protocol::auth::AuditEntry;
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, Mutation, MutationResult};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

type Key = (EntityKind, Uuid);

#[derive(Default)]
pub(super) struct State {
    pub mutations: HashMap<Uuid, String>,
    pub results: HashMap<Uuid, MutationResult>,
    pub versions: HashMap<Key, BTreeMap<u64, Version>>,
    pub views: HashMap<Key, Version>,
    pub docs: HashMap<Key, serde_json::Value>,
    /// Each key's generations: holder, released.
    pub claims: HashMap<String, Vec<(Uuid, bool)>>,
    pub logs: HashMap<String, Vec<Vec<ChangeRecord>>>,
    pub resyncs: HashMap<String, u64>,
    pub migrations: HashSet<String>,
    pub pending_rules: HashMap<Uuid, (String, Vec<Uuid>, Millis)>,
    pub children: HashMap<Uuid, Vec<Key>>,
    // Accounts and cards (memory_accounts.rs).
    pub users: HashMap<Uuid, UserRecord>,
    pub login_failures: HashMap<Uuid, Vec<Millis>>,
    pub refresh: HashMap<String, RefreshRecord>,
    pub refresh_spent: HashMap<String, Millis>,
    pub revoked_families: HashMap<Uuid, Millis>,
    pub enrolments: HashMap<String, EnrolmentRecord>,
    pub enrolments_spent: HashSet<String>,
    pub devices: HashMap<String, DeviceRecord>,
    pub device_revocations: HashMap<String, Millis>,
    pub signing_keys: HashMap<String, SigningKeyRecord>,
    pub ledger_log: BTreeMap<u64, super::ledger_log::LedgerSlot>,
    pub audit: Vec<(String, AuditEntry)>,
    pub secrets: HashMap<String, Vec<u8>>,
    pub card_keys: BTreeMap<String, CardKeyRecord>,
    pub cards: HashMap<String, CardRecord>,
    pub card_revocations: HashMap<String, Millis>,
    // The portal (memory_portal.rs).
    pub device_status: HashMap<String, super::portal::DeviceStatusRecord>,
    pub consents: HashMap<Uuid, anola_protocol::portal::Consents>,
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    pub(super) state: Mutex<State>,
    appended: tokio::sync::Notify,
    /// Yield to the runtime before every primitive, so requests `join!`ed on a current-thread
    /// runtime interleave step by step (the same way every run).
    interleave: bool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose primitives each yield first: concurrent requests interleave at every step.
    pub fn interleaved() -> Self {
        Self {
            interleave: true,
            ..Self::default()
        }
    }

    pub(super) async fn step(&self) {
        if self.interleave {
            tokio::task::yield_now().await;
        }
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Who holds each claim key now (newest generation, unless released): for tests.
    pub fn claim_holders(&self) -> BTreeMap<String, Uuid> {
        self.with(|s| {
            s.claims
                .iter()
                .filter_map(|(k, gens)| gens.last().filter(|(_, released)| !released).map(|(h, _)| (k.clone(), *h)))
                .collect()
        })
    }

    /// Every record announced in a clinic's log, in order: for tests.
    pub fn log(&self, clinic: &str) -> Vec<ChangeRecord> {
        self.with(|s| {
            s.logs
                .get(clinic)
                .map(|l| l.iter().flatten().cloned().collect())
                .unwrap_or_default()
        })
    }
}

pub(super) fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

fn text<'a>(v: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(|f| f.as_str())
}

fn claim_in(s: &mut State, key: &str, holder: Uuid) -> Claim {
    let gens = s.claims.entry(key.to_owned()).or_default();
    match gens.last() {
        Some((h, false)) if *h == holder => Claim::Mine,
        Some((h, false)) => Claim::HeldBy(*h),
        _ => {
            gens.push((holder, false));
            Claim::Mine
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn accept_mutations(&self, _device_id: &str, _clinic_id: &str, ms: &[Mutation]) -> Result<Vec<Accepted>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            ms.iter()
                .map(|m| match s.mutations.get(&m.id) {
                    Some(digest) => Accepted::Existing {
                        digest: digest.clone(),
                        finished: s.results.get(&m.id).cloned(),
                    },
                    None => {
                        s.mutations.insert(m.id, m.digest());
                        Accepted::New
                    }
                })
                .collect()
        }))
    }

    async fn finish_mutations(&self, done: &[MutationResult]) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| {
            for r in done {
                s.results.entry(r.mutation_id).or_insert_with(|| r.clone());
            }
        });
        Ok(())
    }

    async fn head(&self, entity: EntityKind, id: Uuid) -> Result<Option<Version>, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.versions.get(&(entity, id)).and_then(|c| c.values().next_back().cloned())))
    }

    async fn heads(&self, keys: &[(EntityKind, Uuid)]) -> Result<Vec<Option<Version>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for (e, id) in keys {
            out.push(self.head(*e, *id).await?);
        }
        Ok(out)
    }

    async fn version(&self, entity: EntityKind, id: Uuid, n: u64) -> Result<Option<Version>, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.versions.get(&(entity, id)).and_then(|c| c.get(&n).cloned())))
    }

    async fn insert_versions(&self, vs: &[Version]) -> Result<Vec<Inserted>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            vs.iter()
                .map(|v| match s.versions.entry((v.entity, v.id)).or_default().entry(v.version) {
                    std::collections::btree_map::Entry::Occupied(_) => Inserted::Taken,
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(v.clone());
                        Inserted::Yes
                    }
                })
                .collect()
        }))
    }

    async fn write_view(&self, v: &Version) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| {
            let newest = s.versions.get(&(v.entity, v.id)).and_then(|c| c.values().next_back().cloned());
            let shown = newest.filter(|n| n.version > v.version).unwrap_or_else(|| v.clone());
            s.views.insert((v.entity, v.id), shown);
        });
        Ok(())
    }

    async fn write_views(&self, vs: &[Version]) -> Result<(), StoreError> {
        for v in vs {
            self.write_view(v).await?;
        }
        Ok(())
    }

    async fn find_views(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<Uuid>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            s.views
                .iter()
                .filter(|((e, _), v)| *e == entity && v.text(field) == Some(value))
                .map(|((_, id), _)| *id)
                .collect()
        }))
    }

    async fn insert_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<Inserted, StoreError> {
        Ok(self.insert_docs(entity, &[(id, doc.clone())]).await?[0])
    }

    async fn insert_docs(&self, entity: EntityKind, docs: &[(Uuid, serde_json::Value)]) -> Result<Vec<Inserted>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            docs.iter()
                .map(|(id, d)| match s.docs.entry((entity, *id)) {
                    std::collections::hash_map::Entry::Occupied(_) => Inserted::Taken,
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(d.clone());
                        Inserted::Yes
                    }
                })
                .collect()
        }))
    }

    async fn get_doc(&self, entity: EntityKind, id: Uuid) -> Result<Option<serde_json::Value>, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.docs.get(&(entity, id)).cloned()))
    }

    async fn replace_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| s.docs.insert((entity, id), doc.clone()));
        Ok(())
    }

    async fn find_docs(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            s.docs
                .iter()
                .filter(|((e, _), d)| *e == entity && text(d, field) == Some(value))
                .map(|(_, d)| d.clone())
                .collect()
        }))
    }

    async fn mark_rules_pending(&self, clinic: &str, appointments: &[Uuid]) -> Result<Option<Uuid>, StoreError> {
        self.step().await;
        if appointments.is_empty() {
            return Ok(None);
        }
        let marker = Uuid::now_v7();
        self.with(|s| s.pending_rules.insert(marker, (clinic.to_owned(), appointments.to_vec(), now_ms())));
        Ok(Some(marker))
    }

    async fn rules_done(&self, marker: Uuid) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| s.pending_rules.remove(&marker));
        Ok(())
    }

    async fn pending_rules(&self, older_than_ms: i64) -> Result<Vec<PendingRules>, StoreError> {
        self.step().await;
        let before = now_ms() - older_than_ms;
        Ok(self.with(|s| {
            s.pending_rules
                .iter()
                .filter(|(_, (_, _, at))| *at <= before)
                .map(|(marker, (clinic, appointments, _))| PendingRules {
                    marker: *marker,
                    clinic: clinic.clone(),
                    appointments: appointments.clone(),
                })
                .collect()
        }))
    }

    async fn link_children(&self, links: &[(Uuid, EntityKind, Uuid)]) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| {
            for (patient, kind, id) in links {
                let children = s.children.entry(*patient).or_default();
                if !children.contains(&(*kind, *id)) {
                    children.push((*kind, *id));
                }
            }
        });
        Ok(())
    }

    async fn children_of(&self, patient: Uuid) -> Result<Vec<(EntityKind, Uuid)>, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.children.get(&patient).cloned().unwrap_or_default()))
    }

    async fn link_existing_children(&self) -> Result<(), StoreError> {
        self.step().await;
        self.mark_migration_done(super::CHILD_LINKS_MIGRATION).await
    }

    async fn claim(&self, key: &str, holder: Uuid) -> Result<Claim, StoreError> {
        self.step().await;
        Ok(self.with(|s| claim_in(s, key, holder)))
    }

    async fn claim_many(&self, claims: &[(String, Uuid)]) -> Result<Vec<Claim>, StoreError> {
        self.step().await;
        Ok(self.with(|s| claims.iter().map(|(k, h)| claim_in(s, k, *h)).collect()))
    }

    async fn release(&self, key: &str, holder: Uuid) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| {
            if let Some(last) = s.claims.get_mut(key).and_then(|g| g.last_mut()) {
                if last.0 == holder {
                    last.1 = true;
                }
            }
        });
        Ok(())
    }

    async fn append_changes(&self, clinic: &str, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        self.step().await;
        let seq = self.with(|s| {
            let log = s.logs.entry(clinic.to_owned()).or_default();
            log.push(records);
            log.len() as u64
        });
        self.appended.notify_waiters();
        Ok(seq)
    }

    async fn read_changes(&self, clinic: &str, after: u64, min_records: usize, max_entries: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            let mut out = Vec::new();
            let mut records = 0;
            for (i, entry) in s.logs.get(clinic).into_iter().flatten().enumerate().skip(after as usize) {
                if records >= min_records || out.len() >= max_entries {
                    break;
                }
                records += entry.len();
                out.push(ChangeEntry {
                    seq: i as u64 + 1,
                    records: entry.clone(),
                });
            }
            out
        }))
    }

    async fn wait_for_changes(&self, clinic: &str, after: u64, max_wait: Duration) -> Result<bool, StoreError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let notified = self.appended.notified();
            if self.log_head(clinic).await? > after {
                return Ok(true);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(self.log_head(clinic).await? > after);
            }
        }
    }

    async fn log_head(&self, clinic: &str) -> Result<u64, StoreError> {
        Ok(self.with(|s| s.logs.get(clinic).map_or(0, |l| l.len() as u64)))
    }

    async fn resync_generation(&self, clinic: &str) -> Result<u64, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.resyncs.get(clinic).copied().unwrap_or(0)))
    }

    async fn bump_resync(&self, clinic: &str) -> Result<u64, StoreError> {
        self.step().await;
        Ok(self.with(|s| {
            let g = s.resyncs.entry(clinic.to_owned()).or_insert(0);
            *g += 1;
            *g
        }))
    }

    async fn migration_done(&self, name: &str) -> Result<bool, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.migrations.contains(name)))
    }

    async fn mark_migration_done(&self, name: &str) -> Result<(), StoreError> {
        self.step().await;
        self.with(|s| s.migrations.insert(name.to_owned()));
        Ok(())
    }
}
