//! Health cards against the real server: issue → QR text → verified offline with the published
//! keys; replacing a card revokes the old one and devices learn it; other keys, foreign issuers
//! and tampering are refused; keys rotate without invalidating earlier cards; roles and clinics
//! are respected.

use anola_cards::{JwkSet, RevocationList};
use anola_e2e::accounts::{admin_token, raw_device, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::cards::{CardsSync, IssuedCard};
use anola_protocol::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const ISSUER: &str = "https://anola.health";

async fn register(url: &str, d: &RawDevice) -> Uuid {
    register_for(url, d, None).await
}

/// A patient assigned to `worker` (a field worker), or to nobody.
async fn register_for(url: &str, d: &RawDevice, worker: Option<&str>) -> Uuid {
    let id = Uuid::now_v7();
    let mut fields = json!({"given_name": "Carded", "family_name": "Patient", "date_of_birth": "1990-01-01", "clinic_id": d.clinic_id});
    if let Some(w) = worker {
        fields["field_worker_id"] = json!(w);
    }
    let body = json!({"protocol_version": 1, "device_id": d.device_id, "clinic_id": d.clinic_id, "mutations": [{
        "id": Uuid::now_v7(), "entity": "patient", "entity_id": id, "op": "create", "author": d.user_id,
        "hlc": "001790000000000-00000-cards",
        "fields": fields}]});
    let r = d
        .sign(reqwest::Client::new().post(format!("{url}/sync/push")))
        .json(&d.signed_body(&body))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    id
}

async fn issue(url: &str, d: &RawDevice, patient: Uuid) -> (u16, Value) {
    let r = d
        .sign(reqwest::Client::new().post(format!("{url}/cards/issue")))
        .json(&json!({"patient_id": patient}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn cards_sync(url: &str, d: &RawDevice) -> CardsSync {
    d.sign(reqwest::Client::new().get(format!("{url}/sync/cards")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test(flavor = "multi_thread")]
async fn cards_are_issued_verified_offline_replaced_and_rotated() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("cards"), &[]);
    let url = server.url();
    let desk = raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await;
    let patient = register(&url, &desk).await;

    let (s, v) = issue(&url, &desk, patient).await;
    assert_eq!(s, 200, "{v}");
    let first: IssuedCard = serde_json::from_value(v).unwrap();
    assert!(first.qr_text.starts_with("shc:/"));
    assert!(
        anola_cards::card_qr_version(&first.qr_text).is_some_and(|v| v <= 22),
        "QR too large"
    );
    assert!(anola_cards::check_fallback_format(&first.fallback_code).is_ok());

    // Offline verification with the published keys: nothing but the key set and the text.
    let jwks: JwkSet = reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let none = RevocationList::new();
    let card = anola_cards::verify(&first.qr_text, &jwks, &[ISSUER], &none, now()).expect("a fresh card verifies");
    assert_eq!(
        (card.claims.card_id.as_str(), card.claims.patient_id),
        (first.card_id.as_str(), patient)
    );
    // A wedge scanner types the text with an Enter at the end.
    assert!(anola_cards::verify(&format!("{}\n", first.qr_text), &jwks, &[ISSUER], &none, now()).is_ok());
    let foreign = anola_cards::verify(&first.qr_text, &jwks, &["https://elsewhere.example"], &none, now()).unwrap_err();
    assert_eq!(foreign.code(), "foreign_issuer");
    let mut tampered = first.qr_text.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'1' { b'2' } else { b'1' };
    let e = anola_cards::verify(std::str::from_utf8(&tampered).unwrap(), &jwks, &[ISSUER], &none, now()).unwrap_err();
    assert!(["forged", "malformed"].contains(&e.code()), "{e}");
    // The same claims signed with a key of our own making.
    let mallory = anola_cards::SigningKey::generate();
    let fake = anola_cards::issue_qr_text(
        &anola_cards::CardClaims::new(ISSUER, &mallory, first.card_id.clone(), patient, now(), now() + 3600),
        &mallory,
    )
    .unwrap();
    assert_eq!(
        anola_cards::verify(&fake, &jwks, &[ISSUER], &none, now()).unwrap_err().code(),
        "unknown_key"
    );

    // A replacement revokes the first card; devices learn it at their next sync.
    let (s, v) = issue(&url, &desk, patient).await;
    assert_eq!(s, 200, "{v}");
    let second: IssuedCard = serde_json::from_value(v).unwrap();
    assert_eq!(second.replaced, vec![first.card_id.clone()]);
    let sync = cards_sync(&url, &desk).await;
    assert_eq!(sync.issuer, ISSUER);
    assert_eq!(sync.revoked, vec![first.card_id.clone()]);
    assert_eq!(sync.cards.len(), 2);
    assert!(sync
        .cards
        .iter()
        .any(|c| c.card_id == second.card_id && c.fallback_code == second.fallback_code && !c.revoked));
    let mut revoked = RevocationList::new();
    for id in &sync.revoked {
        revoked.revoke(id.clone());
    }
    let jwks: JwkSet = serde_json::from_value(sync.jwks.clone()).unwrap();
    assert_eq!(
        anola_cards::verify(&first.qr_text, &jwks, &[ISSUER], &revoked, now())
            .unwrap_err()
            .code(),
        "revoked"
    );
    assert!(anola_cards::verify(&second.qr_text, &jwks, &[ISSUER], &revoked, now()).is_ok());

    // Key rotation: a new key signs new cards; the old key stays published.
    let token = admin_token(&url).await;
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/card-keys/rotate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, v) = issue(&url, &desk, patient).await;
    let third: IssuedCard = serde_json::from_value(v).unwrap();
    let jwks: JwkSet = reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let none = RevocationList::new();
    let k2 = anola_cards::verify(&third.qr_text, &jwks, &[ISSUER], &none, now())
        .unwrap()
        .claims
        .kid;
    let k1 = anola_cards::verify(&second.qr_text, &jwks, &[ISSUER], &none, now())
        .unwrap()
        .claims
        .kid;
    assert_ne!(k1, k2, "the rotated key signs new cards; the old one still verifies");

    // An administrator revokes a lost card.
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/cards/{}/revoke", third.card_id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(cards_sync(&url, &desk).await.revoked.contains(&third.card_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn kiosks_and_other_clinics_cannot_issue_cards() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("cardroles"), &[]);
    let url = server.url();
    let desk = raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await;
    let patient = register(&url, &desk).await;
    let kiosk = raw_device(&url, "main", Role::Kiosk, Role::FrontDesk, None).await;
    let (s, v) = issue(&url, &kiosk, patient).await;
    assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    let east = raw_device(&url, "east", Role::Clinician, Role::Clinician, None).await;
    let (s, v) = issue(&url, &east, patient).await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (404, Some("not_found"), Some("patient_id")),
        "{v}"
    );
    let (s, v) = issue(&url, &desk, Uuid::now_v7()).await;
    assert_eq!(s, 404, "{v}");
}

/// Card signing keys are sealed at rest: under the server's sealing secret by default, under
/// `ANOLA_CARD_KEY_SECRET` once one is set (keys sealed the default way are sealed again under it
/// at start-up, and the same key keeps signing); a rotated key is sealed too; a server with
/// another secret, or without the one the keys are sealed with, refuses to start and says why.
#[tokio::test(flavor = "multi_thread")]
async fn card_signing_keys_are_sealed_at_rest() {
    const SECRET: &str = "harness card key secret, 32+ characters long";
    let sealed_env = [("ANOLA_CARD_KEY_SECRET", SECRET)];
    let ferret = Ferret::start();
    let port = free_port();
    let db = unique_db("sealed");
    // No dedicated secret: the key is sealed under the server's sealing secret.
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let url = server.url();
    let desk = raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await;
    let patient = register(&url, &desk).await;
    let (s, v) = issue(&url, &desk, patient).await;
    assert_eq!(s, 200, "{v}");
    let first: IssuedCard = serde_json::from_value(v).unwrap();
    server.kill();
    let stored = stored_keys(&ferret, &db).await;
    assert!(!stored.contains("PRIVATE KEY") && stored.contains("sealed:v1:"), "{stored}");
    let before = stored.clone();

    // A dedicated secret is set: the key is sealed again under it and the same key signs.
    let server = ServerProc::start(port, ferret.uri(), &db, &sealed_env);
    let stored = stored_keys(&ferret, &db).await;
    assert!(stored.contains("sealed:v1:") && stored != before, "sealed again: {stored}");
    let (s, v) = issue(&url, &desk, patient).await;
    assert_eq!(s, 200, "{v}");
    let second: IssuedCard = serde_json::from_value(v).unwrap();
    let kid = |qr: &str| anola_cards::decode_unverified(qr).map(|c| c.kid).unwrap();
    assert_eq!(kid(&first.qr_text), kid(&second.qr_text));
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/card-keys/rotate"))
        .bearer_auth(admin_token(&url).await)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    let stored = stored_keys(&ferret, &db).await;
    assert_eq!(stored.matches("sealed:v1:").count(), 2, "{stored}");
    server.kill();

    // Without the secret, or with another one: the server refuses to start and says why.
    let refused = ServerProc::start_refused(port, ferret.uri(), &db, &[]);
    assert!(refused.contains("ANOLA_CARD_KEY_SECRET"), "{refused}");
    let other = [("ANOLA_CARD_KEY_SECRET", "another random secret: Zq8v3LmW1xR7tY0pK5nB9c")];
    let refused = ServerProc::start_refused(port, ferret.uri(), &db, &other);
    assert!(refused.contains("does not open"), "{refused}");
}

/// The stored `card_keys` documents, as text.
async fn stored_keys(ferret: &Ferret, db: &str) -> String {
    use futures::TryStreamExt;
    let docs: Vec<mongodb::bson::Document> = ferret
        .client()
        .await
        .database(db)
        .collection::<mongodb::bson::Document>("card_keys")
        .find(mongodb::bson::doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    format!("{docs:?}")
}

/// Cards follow a field worker's scope: the worker's device lists only its patients' cards and
/// revocations, and may not issue (and so revoke the card of) another worker's patient.
#[tokio::test(flavor = "multi_thread")]
async fn a_field_workers_device_sees_and_issues_only_its_patients_cards() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("cardscope"), &[]);
    let url = server.url();
    let desk = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let fw = raw_device(&url, "main", Role::FieldWorker, Role::FieldWorker, Some("fw-7")).await;
    let mine = register_for(&url, &desk, Some("fw-7")).await;
    let other = register_for(&url, &desk, Some("fw-8")).await;
    for p in [mine, other] {
        let (s, v) = issue(&url, &desk, p).await;
        assert_eq!(s, 200, "{v}");
    }
    let seen = cards_sync(&url, &fw).await;
    assert_eq!(seen.cards.len(), 1, "{:?}", seen.cards);
    assert_eq!(seen.cards[0].patient_id, mine);
    let (s, v) = issue(&url, &fw, other).await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (403, Some("forbidden"), Some("patient_id")),
        "{v}"
    );
    let (s, v) = issue(&url, &fw, mine).await;
    assert_eq!(s, 200, "its own patient's card: {v}");
}
