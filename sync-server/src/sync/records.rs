//! Medical records are append-only: a version is inserted once under its id and never changed by
//! sync; amendments are new versions. Two amendments of one version both stay, and a
//! `ConcurrentAmendments` note flags them for the clinician.

use super::batch::Batch;
use crate::store::{Claim, Inserted, Store, StoreError};
use anola_protocol::conflict::ConflictKind;
use anola_protocol::wire::EntityKind;
use anola_protocol::{MedicalRecordVersion, Mutation, RecordFields};

pub enum RecordOutcome {
    Stored,
    /// A different version already has this id: versions are immutable.
    Immutable,
}

/// Inserts the record versions of a push in one round trip; returns, per version, whether it is
/// stored (newly, or already with the same content) or refused as a different version under a
/// taken id. Stored versions are announced and their amendment targets claimed.
pub async fn append_all<S: Store>(
    batch: &mut Batch<'_, S>,
    items: Vec<(&Mutation, RecordFields)>,
) -> Result<Vec<RecordOutcome>, StoreError> {
    let versions: Vec<MedicalRecordVersion> = items
        .into_iter()
        .map(|(m, fields)| MedicalRecordVersion {
            id: m.entity_id,
            fields,
            hlc: m.hlc.clone(),
            device_id: batch.device.to_owned(),
        })
        .collect();
    let docs = versions
        .iter()
        .map(|v| Ok((v.id, serde_json::to_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let inserted = batch.store.insert_docs(EntityKind::MedicalRecord, &docs).await?;
    let mut out = Vec::with_capacity(versions.len());
    for ((version, (_, doc)), ins) in versions.into_iter().zip(docs).zip(inserted) {
        if ins == Inserted::Taken {
            let stored = batch.store.get_doc(EntityKind::MedicalRecord, version.id).await?;
            let same = stored
                .and_then(|s| serde_json::from_value::<MedicalRecordVersion>(s).ok())
                // The author's name comes from the account and may have changed since a first
                // attempt; the signed author id and everything else must match.
                .is_some_and(|s| {
                    s.hlc == version.hlc
                        && s.fields
                            == RecordFields {
                                author: s.fields.author.clone(),
                                ..version.fields.clone()
                            }
                });
            if !same {
                out.push(RecordOutcome::Immutable);
                continue;
            }
        }
        batch.announce_doc(EntityKind::MedicalRecord, version.id, doc);
        claim_amendment(batch, &version).await?;
        out.push(RecordOutcome::Stored);
    }
    Ok(out)
}

async fn claim_amendment<S: Store>(batch: &mut Batch<'_, S>, version: &MedicalRecordVersion) -> Result<(), StoreError> {
    let (amends, record_id) = (version.fields.amends, version.fields.record_id);
    let id = version.id;
    if let Some(target) = amends {
        if let Claim::HeldBy(other) = batch.store.claim(&format!("amends:{target}"), id).await? {
            let mut versions = [other, id];
            versions.sort();
            let (a, b) = (versions[0].to_string(), versions[1].to_string());
            batch
                .note(
                    EntityKind::MedicalRecord,
                    record_id,
                    &["amendments", &target.to_string(), &a, &b],
                    ConflictKind::ConcurrentAmendments {
                        record_id,
                        amends: target,
                        versions: versions.to_vec(),
                    },
                )
                .await?;
        }
    }
    Ok(())
}
