//! Applying a validated push. Invariants (docs/sync-protocol.md):
//!
//! - P1 exactly once: a mutation id passes the gate (`accept_mutation`) once; its effect is a merge
//!   into the patient's version chain, which is idempotent, so finishing an interrupted mutation a
//!   second time cannot apply it twice.
//! - P2 never lost: a mutation is answered `applied` only after its version, its change-log entry
//!   and its readable document are written. A crash before that leaves it unanswered; the device
//!   retries and the retry completes the remaining steps.
//! - P3 linear per patient: version n+1 is derived from version n and written with a unique key,
//!   so two concurrent writers cannot both extend the same version.

use crate::store::{Accepted, Inserted, PatientVersion, Store, StoreError};
use anola_protocol::{
    ChangeRecord, EntityKind, Mutation, MutationResult, MutationStatus, PushRequest,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What the gate decided for one mutation before any state was touched.
enum Plan {
    /// Answer now; nothing to do.
    Done(MutationResult),
    /// Merge into the chain. `fresh` is false when an earlier request accepted it but may not have
    /// finished: the merge then tells whether anything was still missing.
    Apply { fresh: bool },
}

fn result(
    m: &Mutation,
    status: MutationStatus,
    code: Option<&str>,
    message: Option<String>,
) -> MutationResult {
    MutationResult {
        mutation_id: m.id,
        status,
        code: code.map(str::to_owned),
        message,
    }
}

/// Folds one mutation into its patient's chain; returns the head after it and whether it changed.
async fn fold<S: Store>(
    store: &S,
    device_id: &str,
    m: &Mutation,
    heads: &mut BTreeMap<Uuid, Option<PatientVersion>>,
) -> Result<(PatientVersion, bool), StoreError> {
    let incoming = m.state();
    loop {
        let head = match heads.get(&m.entity_id) {
            Some(h) => h.clone(),
            None => store.patient_head(m.entity_id).await?,
        };
        if let Some(h) = &head {
            if h.state.dominates(&incoming) {
                heads.insert(m.entity_id, head.clone());
                return Ok((h.clone(), false));
            }
        }
        let mut state = head.as_ref().map(|h| h.state.clone()).unwrap_or_default();
        state.merge(&incoming);
        let next = PatientVersion {
            patient_id: m.entity_id,
            version: head.as_ref().map_or(1, |h| h.version + 1),
            state,
            mutation_id: Some(m.id),
            device_id: device_id.to_owned(),
        };
        match store.insert_patient_version(&next).await? {
            Inserted::Yes => {
                heads.insert(m.entity_id, Some(next.clone()));
                return Ok((next, true));
            }
            // Someone else extended the chain first: read the new head and merge onto it.
            Inserted::Taken => {
                heads.remove(&m.entity_id);
            }
        }
    }
}

pub async fn apply<S: Store>(
    store: &S,
    req: &PushRequest,
) -> Result<Vec<MutationResult>, StoreError> {
    let device = req.device_id.as_str();
    let mut plans = Vec::with_capacity(req.mutations.len());
    for m in &req.mutations {
        let plan = match store.accept_mutation(device, m).await? {
            Accepted::New => Plan::Apply { fresh: true },
            Accepted::Existing { digest, .. } if digest != m.digest() => Plan::Done(result(
                m,
                MutationStatus::Rejected,
                Some("mutation_id_reused"),
                Some("this mutation id was already used for a different change".into()),
            )),
            Accepted::Existing {
                finished: Some(_), ..
            } => Plan::Done(result(m, MutationStatus::AlreadyApplied, None, None)),
            Accepted::Existing { finished: None, .. } => Plan::Apply { fresh: false },
        };
        plans.push(plan);
    }

    let mut heads: BTreeMap<Uuid, Option<PatientVersion>> = BTreeMap::new();
    let mut statuses: Vec<Option<MutationStatus>> = Vec::with_capacity(plans.len());
    for (m, plan) in req.mutations.iter().zip(&plans) {
        statuses.push(match plan {
            Plan::Done(_) => None,
            Plan::Apply { fresh } => {
                let (_, changed) = fold(store, device, m, &mut heads).await?;
                Some(if *fresh || changed {
                    MutationStatus::Applied
                } else {
                    MutationStatus::AlreadyApplied
                })
            }
        });
    }

    // One log entry announces the newest state of every patient this push touched, including
    // patients whose merge was a no-op on a retry: the interrupted request may have died before
    // announcing them.
    let touched: Vec<PatientVersion> = heads.into_values().flatten().collect();
    if !touched.is_empty() {
        let records = touched
            .iter()
            .map(|v| ChangeRecord {
                entity: EntityKind::Patient,
                id: v.patient_id,
                state: v.state.clone(),
            })
            .collect();
        store.append_changes(records).await?;
        for v in &touched {
            store.write_patient_view(v).await?;
        }
    }

    let mut results = Vec::with_capacity(plans.len());
    for ((m, plan), status) in req.mutations.iter().zip(plans).zip(statuses) {
        match (plan, status) {
            (Plan::Done(r), _) => results.push(r),
            (Plan::Apply { .. }, Some(status)) => {
                store.finish_mutation(m.id, status).await?;
                results.push(result(m, status, None, None));
            }
            (Plan::Apply { .. }, None) => unreachable!("every applied plan has a status"),
        }
    }
    Ok(results)
}
