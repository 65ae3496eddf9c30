//! Staff and health cards reach devices through their clinic's change log (protocol v2), like any
//! other change: an idle round carries nothing about them, and a device learns a disabled account
//! or a revoked card at its next pull, without downloading whole lists.
//!
//! Each write that changes what devices hold about a person or a card appends one record after the
//! write itself. If the process dies between the two, the request failed and is retried (creating,
//! disabling, revoking and issuing are all safe to repeat), which appends the record then.

use crate::cards::{card_summary, fallback_secret};
use crate::store::cards::CardRecord;
use crate::store::{Store, StoreError};
use anola_protocol::auth::SessionUser;
use anola_protocol::wire::EntityKind;
use anola_protocol::ChangeRecord;
use std::collections::BTreeMap;

fn staff_record(u: &SessionUser) -> Result<ChangeRecord, StoreError> {
    Ok(ChangeRecord {
        entity: EntityKind::Staff,
        id: u.id,
        state: None,
        doc: Some(serde_json::to_value(u).map_err(|e| StoreError::Corrupt(e.to_string()))?),
    })
}

/// A clinic's staff member was created or changed (platform accounts without a clinic: nothing).
pub async fn staff<S: Store>(store: &S, user: &SessionUser) -> Result<(), StoreError> {
    let Some(clinic) = user.clinic_id.as_deref() else { return Ok(()) };
    store.append_changes(clinic, vec![staff_record(user)?]).await?;
    Ok(())
}

fn card_records(cards: &[CardRecord], secret: &[u8]) -> Result<Vec<ChangeRecord>, StoreError> {
    cards
        .iter()
        .map(|c| {
            Ok(ChangeRecord {
                entity: EntityKind::Card,
                id: c.patient_id,
                state: None,
                doc: Some(serde_json::to_value(card_summary(c, secret)).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            })
        })
        .collect()
}

/// Cards were issued or revoked (each as it is now); `secret` is `cards::fallback_secret`.
pub async fn cards<S: Store>(store: &S, clinic: &str, cards: &[CardRecord], secret: &[u8]) -> Result<(), StoreError> {
    if cards.is_empty() {
        return Ok(());
    }
    let records = card_records(cards, secret)?;
    store.append_changes(clinic, records).await?;
    Ok(())
}

/// Once per database, at start-up: staff and cards that existed before they travelled through the
/// log are appended to it, so a device enrolled from now on learns them by pulling. Scans users
/// and cards once; later starts read one marker document.
pub async fn existing<S: Store>(store: &S) -> Result<(), StoreError> {
    if store.migration_done("staff_and_cards_in_log_v1").await? {
        return Ok(());
    }
    let mut by_clinic: BTreeMap<String, Vec<ChangeRecord>> = BTreeMap::new();
    for u in store.all_users().await? {
        if let Some(clinic) = u.clinic_id.clone() {
            by_clinic
                .entry(clinic)
                .or_default()
                .push(staff_record(&crate::auth::users::session_user(&u))?);
        }
    }
    let secret = fallback_secret(store).await?;
    for c in store.all_cards().await? {
        let record = card_records(std::slice::from_ref(&c), &secret)?;
        by_clinic.entry(c.clinic_id).or_default().extend(record);
    }
    for (clinic, records) in by_clinic {
        store.append_changes(&clinic, records).await?;
    }
    store.mark_migration_done("staff_and_cards_in_log_v1").await
}
