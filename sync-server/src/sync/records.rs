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

pub async fn append<S: Store>(batch: &mut Batch<'_, S>, m: &Mutation, fields: RecordFields) -> Result<RecordOutcome, StoreError> {
    let amends = fields.amends;
    let record_id = fields.record_id;
    let version = MedicalRecordVersion {
        id: m.entity_id,
        fields,
        hlc: m.hlc.clone(),
        device_id: batch.device.to_owned(),
    };
    let doc = serde_json::to_value(&version).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if batch.store.insert_doc(EntityKind::MedicalRecord, m.entity_id, &doc).await? == Inserted::Taken {
        let stored = batch.store.get_doc(EntityKind::MedicalRecord, m.entity_id).await?;
        let same = stored
            .and_then(|s| serde_json::from_value::<MedicalRecordVersion>(s).ok())
            .is_some_and(|s| s.hlc == version.hlc && s.fields == version.fields);
        if !same {
            return Ok(RecordOutcome::Immutable);
        }
    }
    batch.announce_doc(EntityKind::MedicalRecord, m.entity_id, doc);
    if let Some(target) = amends {
        if let Claim::HeldBy(other) = batch.store.claim(&format!("amends:{target}"), m.entity_id).await? {
            let mut versions = [other, m.entity_id];
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
    Ok(RecordOutcome::Stored)
}
