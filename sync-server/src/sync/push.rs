//! Applying a validated push. Invariants (docs/sync-protocol.md):
//!
//! - P1 exactly once: a mutation id passes the gate (`accept_mutations`) once; its effect is a
//!   merge into a version chain (idempotent) or an insert under the version's own id (idempotent),
//!   so finishing an interrupted mutation a second time cannot apply it twice.
//! - P2 never lost: a mutation is answered only after its version, its change-log entry and its
//!   readable document are written. A crash before that leaves it unanswered; the device retries
//!   and the retry completes the remaining steps.
//! - P3 linear per entity: version n+1 is derived from version n and written under a unique key.
//!
//! The work is done in bulk (one insert per step for the whole batch) because every round trip to
//! FerretDB costs about as much as a hundred documents inserted together.

use super::batch::Batch;
use super::clock::ServerClock;
use super::records::{self, RecordOutcome};
use super::{patients, reassign, slots};
use crate::faults::Point;
use crate::store::{Accepted, Store, StoreError, Version};
use anola_protocol::wire::{EntityKind, Op, TypedFields};
use anola_protocol::{Mutation, MutationResult, MutationStatus, PushRequest, RecordFields};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

fn result(m: &Mutation, status: MutationStatus, code: Option<&str>, message: Option<String>) -> MutationResult {
    MutationResult {
        mutation_id: m.id,
        status,
        code: code.map(str::to_owned),
        message,
    }
}

fn rejected(m: &Mutation, code: &str, message: &str) -> MutationResult {
    result(m, MutationStatus::Rejected, Some(code), Some(message.to_owned()))
}

fn applied(m: &Mutation, fresh: bool, changed: bool) -> MutationResult {
    let status = if fresh || changed {
        MutationStatus::Applied
    } else {
        MutationStatus::AlreadyApplied
    };
    result(m, status, None, None)
}

pub async fn apply<S: Store>(store: &S, clock: &ServerClock, req: &PushRequest) -> Result<Vec<MutationResult>, StoreError> {
    apply_signed(store, clock, req, &HashMap::new()).await
}

/// `apply` for a push whose authorship was verified: `authors` maps each signing author to their
/// account's display name, which becomes a medical record's `author` (the device's text is not
/// trusted).
pub async fn apply_signed<S: Store>(
    store: &S,
    clock: &ServerClock,
    req: &PushRequest,
    authors: &HashMap<Uuid, String>,
) -> Result<Vec<MutationResult>, StoreError> {
    // 1. The gate. `fresh` is false when an earlier request accepted a mutation but may not have
    //    finished it: the merge then tells whether anything was still missing.
    let t0 = std::time::Instant::now();
    let accepted = store.accept_mutations(&req.device_id, &req.clinic_id, &req.mutations).await?;
    store.reached(Point::AfterGate);
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: gate");
    let mut results: Vec<Option<MutationResult>> = Vec::with_capacity(req.mutations.len());
    let mut todo: Vec<(usize, bool)> = Vec::new();
    for (i, (m, a)) in req.mutations.iter().zip(accepted).enumerate() {
        results.push(match a {
            Accepted::New => {
                todo.push((i, true));
                None
            }
            Accepted::Existing { digest, .. } if digest != m.digest() => Some(rejected(
                m,
                "mutation_id_reused",
                "this mutation id was already used for a different change",
            )),
            // Finished before: the first answer, verbatim (a refusal stays a refusal with its code
            // and reason; an applied change is reported as already applied).
            Accepted::Existing { finished: Some(first), .. } => Some(match first.status {
                MutationStatus::Applied | MutationStatus::AlreadyApplied => result(m, MutationStatus::AlreadyApplied, None, None),
                _ => MutationResult {
                    mutation_id: m.id,
                    ..first
                },
            }),
            Accepted::Existing { finished: None, .. } => {
                todo.push((i, false));
                None
            }
        });
    }

    // 2. Heads of every entity touched, read concurrently; the state before this push is kept for
    //    the rules that compare before and after (slots, identity keys).
    let mut batch = Batch::new(store, clock, &req.clinic_id, &req.device_id);
    let mut keys: Vec<(EntityKind, Uuid)> = todo
        .iter()
        .map(|(i, _)| &req.mutations[*i])
        .filter(|m| m.entity.is_lww())
        .map(|m| (m.entity, m.entity_id))
        .collect();
    keys.sort();
    keys.dedup();
    // A fresh create names an id the device just generated: no head to read (reading one would
    // scan the collection on FerretDB). Should the id exist after all, writing version 1 collides
    // and the slow path reads the real head.
    let new_ids: Vec<(EntityKind, Uuid)> = todo
        .iter()
        .filter(|(i, fresh)| *fresh && req.mutations[*i].op == Op::Create && req.mutations[*i].entity.is_lww())
        .map(|(i, _)| (req.mutations[*i].entity, req.mutations[*i].entity_id))
        .collect();
    batch.assume_new(&new_ids);
    let new_patients: Vec<Uuid> = new_ids
        .iter()
        .filter(|(k, _)| *k == EntityKind::Patient)
        .map(|(_, id)| *id)
        .collect();
    store.patients_created(&new_patients);
    batch.preload(&keys).await?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: preload");
    let mut before: BTreeMap<(EntityKind, Uuid), Option<Version>> = BTreeMap::new();
    for k in &keys {
        before.insert(*k, batch.head(k.0, k.1).await?);
    }

    // 3. Fold every mutation in order into its entity's staged state; collect record versions.
    let mut record_docs = Vec::new();
    for (i, fresh) in &todo {
        let m = &req.mutations[*i];
        let typed = m
            .typed()
            .map_err(|(_, e)| StoreError::Corrupt(format!("validated mutation failed to parse: {e}")))?;
        match typed {
            TypedFields::MedicalRecord(mut fields) => {
                if let Some(name) = m.author.and_then(|a| authors.get(&a)) {
                    fields.author = name.clone();
                }
                record_docs.push((*i, *fresh, fields))
            }
            TypedFields::Patient(_) | TypedFields::Appointment(_) => {
                let old = batch.head(m.entity, m.entity_id).await?;
                if old
                    .as_ref()
                    .is_some_and(|o| o.text("clinic_id").is_some_and(|c| c != req.clinic_id))
                {
                    results[*i] = Some(rejected(m, "out_of_scope", "this record belongs to another clinic"));
                    continue;
                }
                if m.entity == EntityKind::Patient {
                    patients::record_overwrites(&mut batch, old.as_ref(), m).await?;
                }
                let changed = batch.stage(m.entity, m.entity_id, &m.state(), Some(m.id)).await?;
                results[*i] = Some(applied(m, *fresh, changed));
            }
        }
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: staged");
    // Link new children to their patients before writing them, so a merge finds them with point
    // reads (a crash after the links leaves links to nothing, which readers skip).
    let mut links = Vec::new();
    for (k, old) in &before {
        if k.0 == EntityKind::Appointment {
            let new_patient: Option<Uuid> = batch
                .head(k.0, k.1)
                .await?
                .and_then(|v| v.text("patient_id").and_then(|p| p.parse().ok()));
            let old_patient: Option<Uuid> = old.as_ref().and_then(|v| v.text("patient_id").and_then(|p| p.parse().ok()));
            if let Some(p) = new_patient.filter(|p| Some(*p) != old_patient) {
                links.push((p, EntityKind::Appointment, k.1));
            }
        }
    }
    links.extend(
        record_docs
            .iter()
            .map(|(i, _, f)| (f.patient_id, EntityKind::MedicalRecord, req.mutations[*i].entity_id)),
    );
    store.link_children(&links).await?;
    // The slot rule of every appointment touched is pending until it has settled and been
    // announced: a crash in between leaves the mark for the sweeper (slots.rs).
    let appointments: Vec<Uuid> = before.keys().filter(|k| k.0 == EntityKind::Appointment).map(|k| k.1).collect();
    let marker = store.mark_rules_pending(&req.clinic_id, &appointments).await?;
    batch.flush().await?;
    store.reached(Point::AfterVersions);
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: flushed");

    // 4. Rules on the new states: slots for appointments, identity keys for patients.
    let mut patient_pairs = Vec::new();
    let mut all_settled = true;
    for (k, old) in &before {
        let Some(new) = batch.head(k.0, k.1).await? else { continue };
        match k.0 {
            EntityKind::Appointment => {
                let created = new_ids.contains(k);
                let outcome = slots::enforce(&mut batch, k.1, Some(new), created).await?;
                all_settled &= outcome.settled;
                if let Some(reason) = outcome.lost {
                    for (i, _) in &todo {
                        let m = &req.mutations[*i];
                        if m.entity_id == k.1 && results[*i].as_ref().is_some_and(|r| r.status == MutationStatus::Applied) {
                            results[*i] = Some(result(
                                m,
                                MutationStatus::AppliedWithConflict,
                                Some("slot_taken"),
                                Some(reason.clone()),
                            ));
                        }
                    }
                }
            }
            EntityKind::Patient => patient_pairs.push((old.clone(), new)),
            _ => {}
        }
    }
    // A retry of a push that crashed after writing a patient's version finds that version already
    // the head, so "before" and "after" look the same: compare with the version before it instead,
    // so identity keys the old values held are released and a reassignment's history follows.
    let mut pairs = Vec::with_capacity(patient_pairs.len());
    for (old, new) in &patient_pairs {
        let retried = todo
            .iter()
            .any(|(i, fresh)| !*fresh && req.mutations[*i].entity_id == new.id && req.mutations[*i].entity == EntityKind::Patient);
        let old = match old {
            Some(o) if retried && o.version > 1 && o.version == new.version => {
                store.version(EntityKind::Patient, new.id, o.version - 1).await?.or(Some(o.clone()))
            }
            other => other.clone(),
        };
        pairs.push((old, new.clone()));
    }
    patients::detect_duplicates(&mut batch, &pairs).await?;
    let reassigned = reassign::follow(&mut batch, &pairs).await?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: rules");
    let items: Vec<(&Mutation, RecordFields)> = record_docs.iter().map(|(i, _, f)| (&req.mutations[*i], f.clone())).collect();
    let outcomes = records::append_all(&mut batch, items).await?;
    for ((i, fresh, _), outcome) in record_docs.iter().zip(outcomes) {
        let m = &req.mutations[*i];
        results[*i] = Some(match outcome {
            RecordOutcome::Stored => applied(m, *fresh, *fresh),
            RecordOutcome::Immutable => rejected(
                m,
                "record_immutable",
                "a different medical record version already has this id; versions never change",
            ),
        });
    }

    // 5. Announce, refresh readable documents, then record the results.
    batch.commit().await?;
    if let Some(marker) = marker.filter(|_| all_settled) {
        store.rules_done(marker).await?;
    }
    for patient in reassigned {
        // The reassigned patient's cards follow it to the new worker's devices.
        let cards = store.cards_of_patient(patient).await?;
        let secret = crate::cards::fallback_secret(store).await?;
        super::announce::cards(store, &req.clinic_id, &cards, &secret).await?;
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "push step: committed");
    let results: Vec<MutationResult> = results.into_iter().map(|r| r.expect("every mutation has a result")).collect();
    let finished: Vec<MutationResult> = todo.iter().map(|(i, _)| results[*i].clone()).collect();
    store.finish_mutations(&finished).await?;
    Ok(results)
}
