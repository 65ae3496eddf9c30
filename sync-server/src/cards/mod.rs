//! Health cards: ES256 signing keys (rotatable; every key stays in the JWKS so older cards keep
//! verifying), issuing and replacing a patient's card, revocation, and what devices cache to
//! verify cards offline (token format: the `anola-cards` crate; docs/health-cards.md).

pub mod sealing;

use crate::auth::{now_ms, random_bytes, rfc3339, AuthError};
use crate::store::accounts::DeviceRecord;
use crate::store::cards::{CardKeyRecord, CardRecord};
use crate::store::{Inserted, Store, StoreError};
use anola_cards::{JwkSet, SigningKey};
use anola_protocol::cards::{CardSummary, CardsSync, IssuedCard};
use anola_protocol::wire::EntityKind;
use anola_protocol::ErrorCode;
use sealing::KeySealer;
use uuid::Uuid;

/// Cards are valid for five years; a lost card is replaced, not waited out.
const VALIDITY_SECS: i64 = 5 * 365 * 24 * 3600;
const FALLBACK_SECRET: &str = "card_fallback";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The signing key in use: the newest. The first call on a new database makes one.
pub async fn active_key<S: Store>(store: &S, sealer: &KeySealer) -> Result<SigningKey, StoreError> {
    let mut keys = store.card_keys().await?;
    if keys.is_empty() {
        rotate(store, sealer).await?;
        keys = store.card_keys().await?;
    }
    let newest = keys
        .iter()
        .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
        .ok_or_else(|| corrupt("no card signing key after creating one"))?;
    SigningKey::from_pkcs8_pem(&sealer.open(&newest.kid, &newest.pkcs8_pem)?).map_err(corrupt)
}

/// Makes a new signing key the active one; earlier keys stay published.
pub async fn rotate<S: Store>(store: &S, sealer: &KeySealer) -> Result<anola_cards::Jwk, StoreError> {
    let key = SigningKey::generate();
    store
        .insert_card_key(&CardKeyRecord {
            kid: key.kid().to_owned(),
            pkcs8_pem: sealer.seal(key.kid(), &key.to_pkcs8_pem())?,
            created_at: now_ms(),
        })
        .await?;
    tracing::info!(kid = key.kid(), sealed = sealer.is_sealing(), "card signing key created");
    Ok(key.public_jwk())
}

/// At start-up: with a secret, seals keys stored before it was set when `seal_existing` (an
/// explicit, one-time choice: see `sealing`), then checks that every stored key opens, so a
/// missing or wrong secret stops the server instead of failing card requests one by one.
pub async fn prepare_keys<S: Store>(store: &S, sealer: &KeySealer, seal_existing: bool) -> Result<usize, StoreError> {
    let mut sealed = 0;
    for mut k in store.card_keys().await? {
        let plain = !KeySealer::is_sealed(&k.pkcs8_pem);
        if sealer.is_sealing() && ((seal_existing && plain) || sealer.needs_resealing(&k.kid, &k.pkcs8_pem)) {
            let pem = if plain {
                k.pkcs8_pem.clone()
            } else {
                sealer.open(&k.kid, &k.pkcs8_pem)?
            };
            k.pkcs8_pem = sealer.seal(&k.kid, &pem)?;
            store.replace_card_key(&k).await?;
            tracing::info!(kid = %k.kid, "stored card signing key sealed");
            sealed += 1;
        }
        SigningKey::from_pkcs8_pem(&sealer.open(&k.kid, &k.pkcs8_pem)?).map_err(corrupt)?;
    }
    Ok(sealed)
}

/// Every published key (current and retired), as `/.well-known/jwks.json` serves it.
pub async fn jwks<S: Store>(store: &S, sealer: &KeySealer) -> Result<JwkSet, StoreError> {
    if store.card_keys().await?.is_empty() {
        active_key(store, sealer).await?;
    }
    let keys = store.card_keys().await?;
    let jwks = keys
        .iter()
        .map(|k| {
            SigningKey::from_pkcs8_pem(&sealer.open(&k.kid, &k.pkcs8_pem)?)
                .map(|s| s.public_jwk())
                .map_err(corrupt)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JwkSet::new(jwks))
}

fn new_card_id() -> String {
    let raw = anola_protocol::totp::base32_encode(&random_bytes::<5>());
    format!("AH-{}-{}", &raw[..4], &raw[4..8])
}

/// Issues a new card for a patient of the device's clinic and revokes the patient's earlier ones.
pub async fn issue<S: Store>(
    store: &S,
    sealer: &KeySealer,
    device: &DeviceRecord,
    patient_id: Uuid,
    issuer: &str,
) -> Result<IssuedCard, AuthError> {
    if !anola_protocol::access::may_write(device.role, EntityKind::Patient, Some("health_card_id")) {
        return Err(AuthError::new(
            ErrorCode::Forbidden,
            "this device's role may not issue health cards",
        ));
    }
    let head = store.heads(&[(EntityKind::Patient, patient_id)]).await?.pop().flatten();
    let values = head.map(|h| h.state.values());
    let clinic = values.as_ref().and_then(|v| v.get("clinic_id")).and_then(|v| v.as_str());
    if clinic != Some(device.clinic_id.as_str()) {
        return Err(AuthError::field(
            ErrorCode::NotFound,
            "patient_id",
            "no such patient in this clinic (sync the registration first)",
        ));
    }
    // A field worker's device holds (and may issue cards for, which revokes the earlier ones)
    // only the patients assigned to that worker.
    if let Some(worker) = &device.field_worker_id {
        let assigned = values.as_ref().and_then(|v| v.get("field_worker_id")).and_then(|v| v.as_str());
        if assigned != Some(worker.as_str()) {
            return Err(AuthError::field(
                ErrorCode::Forbidden,
                "patient_id",
                "this patient is not assigned to this device's field worker",
            ));
        }
    }
    let key = active_key(store, sealer).await?;
    let now = now_ms();
    let mut card = CardRecord {
        card_id: new_card_id(),
        patient_id,
        clinic_id: device.clinic_id.clone(),
        issued_at: now,
        expires_at: now + VALIDITY_SECS * 1000,
        revoked_at: None,
    };
    // 40 random bits: a collision is rare, and the unique insert makes it harmless.
    while store.insert_card(&card).await? == Inserted::Taken {
        card.card_id = new_card_id();
    }
    let mut replaced = Vec::new();
    let mut changed = vec![card.clone()];
    // Cards come in the order they were linked to the patient: only those before ours are
    // replaced, so two issuances at once leave the later one valid rather than revoking each other.
    for mut old in store
        .cards_of_patient(patient_id)
        .await?
        .into_iter()
        .take_while(|c| c.card_id != card.card_id)
    {
        if old.revoked_at.is_none() {
            store.revoke_card(&old.card_id, now, "replaced").await?;
            replaced.push(old.card_id.clone());
            old.revoked_at = Some(now);
            changed.push(old);
        }
    }
    let secret = fallback_secret(store).await?;
    crate::sync::announce::cards(store, &device.clinic_id, &changed, &secret).await?;
    let claims = anola_cards::CardClaims::new(issuer, &key, card.card_id.clone(), patient_id, now / 1000, card.expires_at / 1000);
    let qr_text = anola_cards::issue_qr_text(&claims, &key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tracing::info!(card = %card.card_id, "health card issued");
    Ok(IssuedCard {
        fallback_code: anola_cards::fallback_code(&card.card_id, &secret),
        card_id: card.card_id,
        patient_id,
        qr_text,
        issued_at: rfc3339(now),
        expires_at: rfc3339(card.expires_at),
        replaced,
    })
}

/// A patient's valid card as their portal prints it: the QR signed again for the same card (same
/// id, issue and expiry times), so the printout verifies like the card the clinic handed out.
pub struct CurrentCard {
    pub card_id: String,
    pub qr_text: String,
    pub fallback_code: String,
    pub expires_at: String,
}

pub async fn current_card<S: Store>(
    store: &S,
    sealer: &KeySealer,
    patient_id: Uuid,
    issuer: &str,
) -> Result<Option<CurrentCard>, StoreError> {
    let now = now_ms();
    let cards = store.cards_of_patient(patient_id).await?;
    let Some(card) = cards.into_iter().rev().find(|c| c.revoked_at.is_none() && c.expires_at > now) else {
        return Ok(None);
    };
    let key = active_key(store, sealer).await?;
    let claims = anola_cards::CardClaims::new(
        issuer,
        &key,
        card.card_id.clone(),
        patient_id,
        card.issued_at / 1000,
        card.expires_at / 1000,
    );
    let qr_text = anola_cards::issue_qr_text(&claims, &key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let secret = fallback_secret(store).await?;
    Ok(Some(CurrentCard {
        fallback_code: anola_cards::fallback_code(&card.card_id, &secret),
        card_id: card.card_id,
        qr_text,
        expires_at: rfc3339(card.expires_at),
    }))
}

/// Revokes a card (lost, stolen); devices learn it at their next sync.
pub async fn revoke<S: Store>(store: &S, card_id: &str, reason: &str) -> Result<String, AuthError> {
    let card = store
        .card(card_id)
        .await?
        .ok_or_else(|| AuthError::new(ErrorCode::NotFound, "no such card"))?;
    store.revoke_card(card_id, now_ms(), reason).await?;
    // As stored: the first revocation's time stays.
    let card = store.card(card_id).await?.unwrap_or(card);
    let secret = fallback_secret(store).await?;
    crate::sync::announce::cards(store, &card.clinic_id, std::slice::from_ref(&card), &secret).await?;
    Ok(card.clinic_id)
}

/// The secret fallback codes derive from (made once per database; one read after that).
pub async fn fallback_secret<S: Store>(store: &S) -> Result<Vec<u8>, StoreError> {
    store.named_secret(FALLBACK_SECRET, &random_bytes::<32>()).await
}

/// A card as devices cache it, with its fallback code under `secret` (`fallback_secret`).
pub fn card_summary(c: &CardRecord, secret: &[u8]) -> CardSummary {
    CardSummary {
        card_id: c.card_id.clone(),
        patient_id: c.patient_id,
        fallback_code: anola_cards::fallback_code(&c.card_id, secret),
        expires_at: c.expires_at / 1000,
        revoked: c.revoked_at.is_some(),
    }
}

/// The issuer and key set only: cards and revocations reach devices through the change log
/// (protocol v2), so a device asks for this when its cached keys are missing or old.
pub async fn keys_for_device<S: Store>(store: &S, sealer: &KeySealer, issuer: &str) -> Result<CardsSync, StoreError> {
    Ok(CardsSync {
        issuer: issuer.to_owned(),
        jwks: serde_json::to_value(jwks(store, sealer).await?).map_err(corrupt)?,
        revoked: Vec::new(),
        cards: Vec::new(),
    })
}

/// What a device of the clinic caches to verify cards and take fallback codes offline (the whole
/// list: an explicit refresh, and protocol v1 devices after every round).
pub async fn for_device<S: Store>(store: &S, sealer: &KeySealer, device: &DeviceRecord, issuer: &str) -> Result<CardsSync, StoreError> {
    let secret = fallback_secret(store).await?;
    let mut cards = store.cards_of_clinic(&device.clinic_id).await?;
    // Cards and revocations follow the device's scope: a field worker's device gets its
    // patients' cards only (one head read per patient with cards; a protocol v1 device's list).
    if let Some(worker) = &device.field_worker_id {
        let mut patients: Vec<(EntityKind, Uuid)> = cards.iter().map(|c| (EntityKind::Patient, c.patient_id)).collect();
        patients.sort();
        patients.dedup();
        let heads = store.heads(&patients).await?;
        let mine: std::collections::HashSet<Uuid> = patients
            .iter()
            .zip(heads)
            .filter(|(_, h)| h.as_ref().and_then(|h| h.text("field_worker_id")) == Some(worker.as_str()))
            .map(|((_, id), _)| *id)
            .collect();
        cards.retain(|c| mine.contains(&c.patient_id));
    }
    let jwks = serde_json::to_value(jwks(store, sealer).await?).map_err(corrupt)?;
    Ok(CardsSync {
        issuer: issuer.to_owned(),
        jwks,
        revoked: cards.iter().filter(|c| c.revoked_at.is_some()).map(|c| c.card_id.clone()).collect(),
        cards: cards.iter().map(|c| card_summary(c, &secret)).collect(),
    })
}
