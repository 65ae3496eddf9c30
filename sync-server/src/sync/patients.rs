//! Patient rules beyond the merge: conflict history for concurrent field edits, and duplicate
//! detection by identity keys.

use super::batch::Batch;
use crate::store::{Claim, Store, StoreError, Version};
use anola_protocol::conflict::ConflictKind;
use anola_protocol::wire::EntityKind;
use anola_protocol::Mutation;
use uuid::Uuid;

/// Records every value a concurrent edit overwrote (or that lost to a newer one). An edit is
/// concurrent when the device did not see the value it replaced: its `base` stamp differs from the
/// stamp the server holds.
pub async fn record_overwrites<S: Store>(batch: &mut Batch<'_, S>, old: Option<&Version>, m: &Mutation) -> Result<(), StoreError> {
    let Some(old) = old else { return Ok(()) };
    for (field, incoming) in m.state().0 {
        let Some(base) = m.base.get(&field) else { continue };
        let Some(current) = old.state.0.get(&field) else { continue };
        if base.as_ref() == Some(&current.hlc) || current.value == incoming.value || current.hlc == incoming.hlc {
            continue;
        }
        let (kept, lost) = if incoming.hlc > current.hlc {
            (&incoming, current)
        } else {
            (current, &incoming)
        };
        let parts = [
            "overwrite".to_string(),
            m.entity_id.to_string(),
            field.clone(),
            kept.hlc.to_string(),
            lost.hlc.to_string(),
        ];
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let kind = ConflictKind::FieldOverwritten {
            field: field.clone(),
            kept_value: kept.value.clone(),
            kept_hlc: kept.hlc.clone(),
            lost_value: lost.value.clone(),
            lost_hlc: lost.hlc.clone(),
        };
        batch.note(EntityKind::Patient, m.entity_id, &refs, kind).await?;
    }
    Ok(())
}

fn normalized(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Identity keys of a patient: its national id, and name + date of birth + phone together.
fn identity_keys(clinic: &str, v: &Version) -> Vec<(String, &'static str)> {
    let mut keys = Vec::new();
    if let Some(nid) = v.text("national_id").map(normalized).filter(|s| !s.is_empty()) {
        keys.push((format!("{clinic}:nid:{nid}"), "same national id"));
    }
    if let (Some(f), Some(g), Some(d), Some(p)) = (
        v.text("family_name"),
        v.text("given_name"),
        v.text("date_of_birth"),
        v.text("phone"),
    ) {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        keys.push((
            format!("{clinic}:nmp:{}|{}|{d}|{digits}", normalized(f), normalized(g)),
            "same name, date of birth and phone",
        ));
    }
    keys
}

fn is_live(v: &Version) -> bool {
    merged_into(v).is_none() && v.state.0.get("deleted").is_none_or(|s| s.value != serde_json::json!(true))
}

/// Claims the identity keys of the given patients (before, after) in one round trip; a key held
/// by another live patient makes the two merge candidates. Keys a patient no longer has are released.
pub async fn detect_duplicates<S: Store>(batch: &mut Batch<'_, S>, patients: &[(Option<Version>, Version)]) -> Result<(), StoreError> {
    let clinic = batch.clinic.to_owned();
    let mut wanted: Vec<(String, Uuid)> = Vec::new();
    let mut reasons: Vec<&'static str> = Vec::new();
    for (old, new) in patients {
        let keys = if is_live(new) { identity_keys(&clinic, new) } else { Vec::new() };
        if let Some(old) = old {
            for (k, _) in identity_keys(&clinic, old) {
                if !keys.iter().any(|(n, _)| *n == k) {
                    batch.store.release(&k, new.id).await?;
                }
            }
        }
        for (k, reason) in keys {
            wanted.push((k, new.id));
            reasons.push(reason);
        }
    }
    let claims = batch.store.claim_many(&wanted).await?;
    for (((key, me), reason), claim) in wanted.iter().zip(reasons).zip(claims) {
        let Claim::HeldBy(other) = claim else { continue };
        // A holder that was merged away or deleted no longer counts: take the key over.
        let live = batch.head(EntityKind::Patient, other).await?.is_some_and(|h| is_live(&h));
        if !live {
            batch.store.release(key, other).await?;
            batch.store.claim(key, *me).await?;
            continue;
        }
        let mut pair = [other, *me];
        pair.sort();
        let (a, b) = (pair[0].to_string(), pair[1].to_string());
        batch
            .note(
                EntityKind::Patient,
                *me,
                &["duplicate", &a, &b],
                ConflictKind::PossibleDuplicate {
                    patients: pair.to_vec(),
                    reason: reason.to_owned(),
                },
            )
            .await?;
    }
    Ok(())
}

/// Whether a patient head was merged into another one.
pub fn merged_into(v: &Version) -> Option<Uuid> {
    v.state
        .0
        .get("merged_into")
        .and_then(|s| s.value.as_str())
        .and_then(|s| s.parse().ok())
}
