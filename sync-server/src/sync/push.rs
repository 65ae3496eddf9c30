//! Applying a validated push. Invariants (docs/sync-protocol.md):
//!
//! - P1 exactly once: a mutation id passes the gate (`accept_mutation`) once; its effect is a merge
//!   into a version chain (idempotent) or an insert under the version's own id (idempotent), so
//!   finishing an interrupted mutation a second time cannot apply it twice.
//! - P2 never lost: a mutation is answered only after its version, its change-log entry and its
//!   readable document are written. A crash before that leaves it unanswered; the device retries
//!   and the retry completes the remaining steps.
//! - P3 linear per entity: version n+1 is derived from version n and written under a unique key.

use super::batch::Batch;
use super::clock::ServerClock;
use super::records::{self, RecordOutcome};
use super::{patients, slots};
use crate::store::{Accepted, Store, StoreError};
use anola_protocol::wire::{EntityKind, TypedFields};
use anola_protocol::{Mutation, MutationResult, MutationStatus, PushRequest};

/// What the gate decided for one mutation before any state was touched.
enum Plan {
    /// Answer now; nothing to do.
    Done(MutationResult),
    /// Apply it. `fresh` is false when an earlier request accepted it but may not have finished:
    /// the merge then tells whether anything was still missing.
    Apply { fresh: bool },
}

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

/// Applies one mutation inside the batch; the caller records its result.
async fn apply_one<S: Store>(batch: &mut Batch<'_, S>, m: &Mutation, fresh: bool) -> Result<MutationResult, StoreError> {
    let typed = m
        .typed()
        .map_err(|(_, e)| StoreError::Corrupt(format!("validated mutation failed to parse: {e}")))?;
    let applied = |changed: bool| {
        if fresh || changed {
            result(m, MutationStatus::Applied, None, None)
        } else {
            result(m, MutationStatus::AlreadyApplied, None, None)
        }
    };
    match typed {
        TypedFields::MedicalRecord(fields) => Ok(match records::append(batch, m, fields).await? {
            RecordOutcome::Stored => applied(fresh),
            RecordOutcome::Immutable => rejected(
                m,
                "record_immutable",
                "a different medical record version already has this id; versions never change",
            ),
        }),
        TypedFields::Patient(_) | TypedFields::Appointment(_) => {
            let old = batch.head(m.entity, m.entity_id).await?;
            if let Some(o) = &old {
                if o.text("clinic_id").is_some_and(|c| c != batch.clinic) {
                    return Ok(rejected(m, "out_of_scope", "this record belongs to another clinic"));
                }
            }
            if m.entity == EntityKind::Patient {
                patients::record_overwrites(batch, old.as_ref(), m).await?;
            }
            let (new, changed) = batch.fold(m.entity, m.entity_id, &m.state(), Some(m.id)).await?;
            match m.entity {
                EntityKind::Appointment => {
                    if let Some(reason) = slots::enforce(batch, old.as_ref(), &new).await? {
                        return Ok(result(m, MutationStatus::AppliedWithConflict, Some("slot_taken"), Some(reason)));
                    }
                }
                _ => patients::detect_duplicates(batch, old.as_ref(), &new).await?,
            }
            Ok(applied(changed))
        }
    }
}

pub async fn apply<S: Store>(store: &S, clock: &ServerClock, req: &PushRequest) -> Result<Vec<MutationResult>, StoreError> {
    let mut plans = Vec::with_capacity(req.mutations.len());
    for m in &req.mutations {
        let plan = match store.accept_mutation(&req.device_id, &req.clinic_id, m).await? {
            Accepted::New => Plan::Apply { fresh: true },
            Accepted::Existing { digest, .. } if digest != m.digest() => Plan::Done(rejected(
                m,
                "mutation_id_reused",
                "this mutation id was already used for a different change",
            )),
            Accepted::Existing { finished: Some(_), .. } => Plan::Done(result(m, MutationStatus::AlreadyApplied, None, None)),
            Accepted::Existing { finished: None, .. } => Plan::Apply { fresh: false },
        };
        plans.push(plan);
    }

    let mut batch = Batch::new(store, clock, &req.clinic_id, &req.device_id);
    let mut results = Vec::with_capacity(plans.len());
    for (m, plan) in req.mutations.iter().zip(plans) {
        results.push(match plan {
            Plan::Done(r) => (r, false),
            Plan::Apply { fresh } => (apply_one(&mut batch, m, fresh).await?, true),
        });
    }
    batch.commit().await?;

    let mut out = Vec::with_capacity(results.len());
    for (r, record) in results {
        if record {
            store.finish_mutation(r.mutation_id, r.status).await?;
        }
        out.push(r);
    }
    Ok(out)
}
