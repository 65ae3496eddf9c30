//! Links from a patient to everything that names it (appointments, medical-record versions), so a
//! merge finds a duplicate's children with point reads instead of scanning two of the largest
//! collections.
//!
//! `patient_children` (`_id` = `<patient id>:<n, 8 digits>`, `{kind, id}`): a dense sequence per
//! patient, like `patient_cards`, found with `last_present`. A link is written before the child it
//! names, so a crash leaves at worst a link to nothing or the same link twice (readers skip and
//! deduplicate), never a child its patient cannot find. Links are never removed: a child that moved
//! to another patient stays linked to the old one too, and readers check where it is now. A push's
//! links go in one bulk insert; readers look on past the gallop's end, so links behind a hole that
//! a crashed bulk insert left still count.

use super::mongo::{MongoStore, READ_FANOUT};
use super::sequence::last_present;
use super::{Inserted, StoreError};
use anola_protocol::wire::EntityKind;
use futures::future::join_all;
use mongodb::bson::doc;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

const LINKS: &str = "patient_children";
/// Patients whose link end a process remembers at most (about 40 bytes each).
const MAX_CACHED_ENDS: usize = 1_000_000;

fn link_key(patient: Uuid, n: u64) -> String {
    format!("{patient}:{n:08}")
}

fn kind_of(s: &str) -> Option<EntityKind> {
    match s {
        "appointment" => Some(EntityKind::Appointment),
        "medical_record" => Some(EntityKind::MedicalRecord),
        _ => None,
    }
}

impl MongoStore {
    /// The remembered link ends, emptied first when they outgrew `MAX_CACHED_ENDS`.
    pub(super) fn cached_child_ends(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, u64>> {
        let mut ends = self.child_ends.lock().unwrap_or_else(|p| p.into_inner());
        if ends.len() > MAX_CACHED_ENDS {
            ends.clear();
        }
        ends
    }

    async fn child_link_count(&self, patient: Uuid) -> Result<u64, StoreError> {
        last_present(|n| async move { Ok(self.find_by_id(LINKS, &link_key(patient, n)).await?.is_some()) }).await
    }

    /// Appends one patient's links after its current last one, one insert at a time so the
    /// sequence never has a gap (a racing writer's number is skipped, not overwritten).
    async fn link_patient(&self, patient: Uuid, children: &[(EntityKind, Uuid)]) -> Result<(), StoreError> {
        let mut n = self.child_link_count(patient).await? + 1;
        for (kind, id) in children {
            loop {
                let d = doc! {"_id": link_key(patient, n), "kind": kind.as_str(), "id": id.to_string()};
                let ins = self.insert_once(LINKS, d).await?;
                n += 1;
                if ins == Inserted::Yes {
                    break;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn link_children_by_patient(&self, links: &[(Uuid, EntityKind, Uuid)]) -> Result<(), StoreError> {
        let mut by_patient: BTreeMap<Uuid, Vec<(EntityKind, Uuid)>> = BTreeMap::new();
        for (patient, kind, id) in links {
            let children = by_patient.entry(*patient).or_default();
            if !children.contains(&(*kind, *id)) {
                children.push((*kind, *id));
            }
        }
        // Each patient's end, read concurrently; then every link in one unordered insert. A number
        // a racing writer took is taken (so the sequence has no hole) and that child is linked
        // again after the new end, one insert at a time.
        let patients: Vec<_> = by_patient.into_iter().collect();
        // Ends this process knows need no read; the others are galloped, concurrently.
        let known: HashMap<Uuid, u64> = {
            let ends = self.cached_child_ends();
            patients.iter().filter_map(|(p, _)| ends.get(p).map(|e| (*p, *e))).collect()
        };
        let unknown: Vec<Uuid> = patients.iter().map(|(p, _)| *p).filter(|p| !known.contains_key(p)).collect();
        let mut ends = known;
        for chunk in unknown.chunks(READ_FANOUT) {
            for (p, end) in chunk.iter().zip(join_all(chunk.iter().map(|p| self.child_link_count(*p))).await) {
                ends.insert(*p, end?);
            }
        }
        let mut docs = Vec::new();
        let mut planned = Vec::new();
        for (patient, children) in &patients {
            let end = ends.get(patient).copied().unwrap_or(0);
            for (i, (kind, id)) in children.iter().enumerate() {
                docs.push(doc! {"_id": link_key(*patient, end + 1 + i as u64), "kind": kind.as_str(), "id": id.to_string()});
                planned.push((*patient, *kind, *id));
            }
            ends.insert(*patient, end + children.len() as u64);
        }
        let inserted = self.insert_many_unique(LINKS, docs).await?;
        let mut stale = Vec::new();
        for ((patient, kind, id), ins) in planned.into_iter().zip(inserted) {
            if ins == Inserted::Taken {
                // Another process (or a stale hint) took the number: link it after the real end.
                self.link_patient(patient, &[(kind, id)]).await?;
                stale.push(patient);
            }
        }
        let mut cache = self.cached_child_ends();
        for (p, end) in ends {
            if stale.contains(&p) {
                cache.remove(&p);
            } else {
                cache.insert(p, end);
            }
        }
        Ok(())
    }

    pub(super) async fn linked_children(&self, patient: Uuid) -> Result<Vec<(EntityKind, Uuid)>, StoreError> {
        // Up to the end the gallop finds, then on in chunks until a whole chunk is absent: a crash
        // in the middle of a bulk insert can leave a small hole, and links past it still count.
        let end = self.child_link_count(patient).await?;
        let mut out: Vec<(EntityKind, Uuid)> = Vec::new();
        let mut next = 1u64;
        loop {
            let upto = if next <= end { end } else { next + READ_FANOUT as u64 - 1 };
            let keys: Vec<String> = (next..=upto).map(|i| link_key(patient, i)).collect();
            let mut found_any = false;
            for chunk in keys.chunks(READ_FANOUT) {
                for d in join_all(chunk.iter().map(|k| self.find_by_id(LINKS, k))).await {
                    let Some(d) = d? else { continue };
                    found_any = true;
                    let kind = d.get_str("kind").ok().and_then(kind_of);
                    let id = d.get_str("id").ok().and_then(|s| s.parse::<Uuid>().ok());
                    if let (Some(kind), Some(id)) = (kind, id) {
                        if !out.contains(&(kind, id)) {
                            out.push((kind, id));
                        }
                    }
                }
            }
            if next > end && !found_any {
                return Ok(out);
            }
            next = upto + 1;
        }
    }

    /// Links every appointment and record written before links existed. Scans both collections
    /// once; run in the background at start-up (merges scan instead until it has finished).
    /// Repeating it after a crash only adds duplicate links, which readers ignore.
    pub(super) async fn link_existing(&self) -> Result<(), StoreError> {
        use super::Store;
        let mut links = Vec::new();
        for (kind, coll) in [
            (EntityKind::Appointment, "appointments"),
            (EntityKind::MedicalRecord, "medical_records"),
        ] {
            for d in self.find_all(coll, doc! {}).await? {
                let id = d.get_str("_id").ok().and_then(|s| s.parse::<Uuid>().ok());
                let patient = d.get_str("patient_id").ok().and_then(|s| s.parse::<Uuid>().ok());
                if let (Some(id), Some(patient)) = (id, patient) {
                    links.push((patient, kind, id));
                }
            }
        }
        for chunk in links.chunks(1000) {
            self.link_children_by_patient(chunk).await?;
        }
        self.mark_migration_done(super::CHILD_LINKS_MIGRATION).await
    }
}
