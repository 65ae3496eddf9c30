use super::*;
use crate::clinic::{Actor, Clinic};
use crate::security::DataKey;
use anola_cards::{CardClaims, JwkSet, SigningKey};
use anola_protocol::cards::{CardSummary, CardsSync};
use std::sync::Arc;

const ISS: &str = "https://anola.test";

fn open(dir: &std::path::Path, role: Role) -> Arc<Clinic> {
    Clinic::open_headless(
        dir,
        DataKey::from_bytes([7; 32]),
        Actor::new(Uuid::new_v4(), role),
        "http://127.0.0.1:9",
    )
    .unwrap()
}

fn register(c: &Clinic, given: &str, family: &str) -> Patient {
    let f: PatientFields =
        serde_json::from_value(serde_json::json!({"given_name": given, "family_name": family, "date_of_birth": "1990-01-01"})).unwrap();
    c.register_patient(f).unwrap()
}

struct Issued {
    qr: String,
    code: String,
    card_id: String,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn card(key: &SigningKey, iss: &str, card_id: &str, patient: Uuid, exp: i64) -> Issued {
    let claims = CardClaims::new(iss, key, card_id, patient, now() - 60, exp);
    Issued {
        qr: anola_cards::issue_qr_text(&claims, key).unwrap(),
        code: anola_cards::fallback_code(card_id, b"test secret"),
        card_id: card_id.into(),
    }
}

fn cache(c: &Clinic, key: &SigningKey, cards: &[(&Issued, Uuid)], revoked: &[&str]) {
    let sync = CardsSync {
        issuer: ISS.into(),
        jwks: serde_json::to_value(JwkSet::new(vec![key.public_jwk()])).unwrap(),
        revoked: revoked.iter().map(|s| s.to_string()).collect(),
        cards: cards
            .iter()
            .map(|(i, p)| CardSummary {
                card_id: i.card_id.clone(),
                patient_id: *p,
                fallback_code: i.code.clone(),
                expires_at: now() + 86_400,
                revoked: false,
            })
            .collect(),
    };
    lock(&c.store).save_card_cache(&sync).unwrap();
}

fn reason(e: ClientError) -> String {
    match e {
        ClientError::CardRejected { reason, message } => {
            assert!(!message.is_empty());
            reason
        }
        other => panic!("not a card rejection: {other:?}"),
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn put_provider(c: &Clinic, active: bool) -> Uuid {
    let id = Uuid::new_v4();
    let doc = serde_json::json!({"id": id, "clinic_id": crate::store::DEFAULT_CLINIC, "given_name": "Achieng", "family_name": "Odhiambo", "active": active});
    lock(&c.store)
        .conn()
        .execute(
            "INSERT INTO providers(id, doc, family_name) VALUES (?1, ?2, 'Odhiambo')",
            rusqlite::params![id.to_string(), doc.to_string()],
        )
        .unwrap();
    id
}

#[test]
fn cards_verify_offline_by_qr_and_fallback_code_with_clear_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), Role::FrontDesk);
    let p = register(&c, "Amina", "Okafor");
    let key = SigningKey::generate();
    let good = card(&key, ISS, "AH-GOOD-0001", p.id, now() + 86_400);
    // Never synced: no keys.
    assert_eq!(reason(block(c.verify_card(&good.qr)).unwrap_err()), "no_keys");

    let lost = card(&key, ISS, "AH-LOST-0002", p.id, now() + 86_400);
    cache(&c, &key, &[(&good, p.id), (&lost, p.id)], &["AH-LOST-0002"]);
    // A wedge scanner's Enter and a camera's QR text both verify.
    let ok = block(c.verify_card(&format!("{}\r\n", good.qr))).unwrap();
    assert_eq!((ok.card_id.as_str(), ok.patient.id), ("AH-GOOD-0001", p.id));
    // The typed fallback code, with or without dashes.
    let by_code = block(c.verify_card(&good.code.replace('-', " "))).unwrap();
    assert_eq!(by_code.card_id, "AH-GOOD-0001");
    // Front desk sees no clinical fields.
    assert!(by_code.patient.allergies.is_none());

    assert_eq!(reason(block(c.verify_card(&lost.qr)).unwrap_err()), "revoked");
    assert_eq!(reason(block(c.verify_card(&lost.code)).unwrap_err()), "revoked");
    let unknown_code = anola_cards::fallback_code("AH-NOPE-0003", b"test secret");
    assert_eq!(reason(block(c.verify_card(&unknown_code)).unwrap_err()), "unknown_card");
    // One digit wrong: the check digit catches it.
    let mut typo = good.code.clone().into_bytes();
    typo[0] = if typo[0] == b'1' { b'2' } else { b'1' };
    assert_eq!(
        reason(block(c.verify_card(std::str::from_utf8(&typo).unwrap())).unwrap_err()),
        "malformed"
    );
    let other_key = SigningKey::generate();
    let forged = card(&other_key, ISS, "AH-GOOD-0001", p.id, now() + 86_400);
    assert_eq!(reason(block(c.verify_card(&forged.qr)).unwrap_err()), "unknown_key");
    let foreign = card(&key, "https://elsewhere.example", "AH-FRGN-0004", p.id, now() + 86_400);
    assert_eq!(reason(block(c.verify_card(&foreign.qr)).unwrap_err()), "foreign_issuer");
    let expired = card(&key, ISS, "AH-OLD0-0005", p.id, now() - 10);
    assert_eq!(reason(block(c.verify_card(&expired.qr)).unwrap_err()), "expired");
    let mut tampered = good.qr.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'1' { b'2' } else { b'1' };
    let r = reason(block(c.verify_card(std::str::from_utf8(&tampered).unwrap())).unwrap_err());
    assert!(["forged", "malformed"].contains(&r.as_str()), "{r}");
    assert_eq!(reason(block(c.verify_card(&"9".repeat(20_000))).unwrap_err()), "too_large");
    assert_eq!(reason(block(c.verify_card("hello")).unwrap_err()), "malformed");
    assert_eq!(reason(block(c.verify_card("  \n")).unwrap_err()), "malformed");
    // A genuine card whose patient is not on this (offline, headless) device.
    let stranger = card(&key, ISS, "AH-STRA-0006", Uuid::new_v4(), now() + 86_400);
    assert_eq!(reason(block(c.verify_card(&stranger.qr)).unwrap_err()), "unknown_patient");
    // The error's wire form.
    let json = serde_json::to_value(block(c.verify_card(&lost.qr)).unwrap_err()).unwrap();
    assert_eq!(
        (json["code"].as_str(), json["reason"].as_str()),
        (Some("card_rejected"), Some("revoked"))
    );
}

#[test]
fn check_in_marks_todays_appointment_or_creates_a_walk_in_with_queue_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), Role::FrontDesk);
    let amina = register(&c, "amina", "Okafor");
    let baraka = register(&c, "Baraka", "Mwangi");
    let key = SigningKey::generate();
    let a_card = card(&key, ISS, "AH-AAAA-0001", amina.id, now() + 86_400);
    let b_card = card(&key, ISS, "AH-BBBB-0002", baraka.id, now() + 86_400);
    cache(&c, &key, &[(&a_card, amina.id), (&b_card, baraka.id)], &[]);

    // No provider yet: a walk-in cannot be created, and says so.
    let e = block(c.check_in(&b_card.qr)).unwrap_err();
    assert_eq!(e.code(), "validation_failed");
    assert!(e.to_string().contains("provider"), "{e}");

    let provider = put_provider(&c, true);
    let booked: AppointmentFields = serde_json::from_value(serde_json::json!({
        "patient_id": amina.id, "provider_id": provider, "date": c.local_today(), "start_time": "00:00",
        "duration_minutes": 30, "status": "scheduled",
    }))
    .unwrap();
    let appt = c.book_appointment(booked).unwrap();
    let first = block(c.check_in(&a_card.qr)).unwrap();
    assert_eq!(
        (first.queue_number, first.appointment_id, first.walk_in, first.initials.as_str()),
        (1, appt.id, false, "A. O.")
    );
    assert_eq!(c.get_appointment(appt.id).unwrap().status, Some(AppointmentStatus::CheckedIn));
    // A second scan shows the same number, changes nothing.
    let again = block(c.check_in(&a_card.qr)).unwrap();
    assert_eq!((again.queue_number, again.already_checked_in), (1, true));

    let walk = block(c.check_in(&b_card.code)).unwrap();
    assert!(walk.walk_in);
    assert_eq!((walk.queue_number, walk.initials.as_str()), (2, "B. M."));
    let w = c.get_appointment(walk.appointment_id).unwrap();
    assert_eq!(w.status, Some(AppointmentStatus::CheckedIn));
    assert_eq!(
        (w.provider_id, w.duration_minutes, w.date.clone()),
        (Some(provider), Some(15), Some(c.local_today()))
    );
    let start = minutes_of(w.start_time.as_deref().unwrap()).unwrap();
    assert_eq!(start % 15, 0);
    // Writes are audited like any other.
    let log = c.audit_log().unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == AuditAction::Write && e.entity_id == Some(walk.appointment_id)));
}

#[test]
fn walk_ins_avoid_the_providers_taken_slots() {
    let p = Uuid::new_v4();
    let taken: Appointment = serde_json::from_value(serde_json::json!({
        "id": Uuid::new_v4(), "provider_id": p, "start_time": "10:00", "duration_minutes": 30, "status": "checked_in"
    }))
    .unwrap();
    assert_eq!(walk_in_start(std::slice::from_ref(&taken), p, 10 * 60 + 7), 10 * 60 + 30);
    assert_eq!(walk_in_start(std::slice::from_ref(&taken), Uuid::new_v4(), 10 * 60 + 7), 10 * 60);
    assert_eq!(parse_offset("+03:00"), UtcOffset::from_hms(3, 0, 0).ok());
    assert_eq!(parse_offset("-0530"), UtcOffset::from_hms(-5, -30, 0).ok());
    assert_eq!(initials(Some(" émile"), None), "É. ?.");
}

#[test]
fn the_printable_card_is_id1_sized_with_a_readable_qr() {
    let key = SigningKey::generate();
    let c = card(&key, ISS, "AH-LZ3K9Q2A-1A2B3C", Uuid::new_v4(), now() + 86_400 * 365 * 5);
    let svg = render_card_svg("Amina <Okafor> & Co", &c.card_id, &c.qr, &c.code, "2031-01-02T00:00:00Z").unwrap();
    assert!(svg.contains(r#"width="85.6mm" height="53.98mm" viewBox="0 0 85.6 53.98""#), "{svg}");
    assert!(svg.contains("Amina &lt;Okafor&gt; &amp; Co"));
    assert!(svg.contains(&c.card_id) && svg.contains(&c.code) && svg.contains("2031-01-02"));
    assert_eq!(svg.matches("<path").count(), 1, "dark modules as one path");
    // Module size and fit: the QR with its quiet zone lies inside the card.
    let qr = anola_cards::card_qr_code(&c.qr).unwrap();
    let modules = (qr.width() + 2 * QR_QUIET_MODULES) as f64;
    let scale: f64 = svg.split("scale(").nth(1).unwrap().split(')').next().unwrap().parse().unwrap();
    assert!(scale >= MIN_MODULE_MM, "{scale}");
    let tx: f64 = svg.split("translate(").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(tx + scale * modules <= CARD_WIDTH_MM && scale * modules <= CARD_HEIGHT_MM);
    let dark = qr.to_colors().iter().filter(|c| **c == anola_cards::qrcode::Color::Dark).count();
    assert_eq!(svg.matches("h1v1h-1z").count(), dark);
    // A QR too large to print at 0.25 mm is refused, not drawn tiny.
    assert!(render_card_svg("X", "AH-X", &"9".repeat(20_000), "0", "").is_err());
}

#[test]
fn kiosk_mode_only_checks_in() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), Role::FrontDesk);
    let p = register(&c, "Amina", "Okafor");
    put_provider(&c, true);
    let key = SigningKey::generate();
    let k = card(&key, ISS, "AH-KKKK-0001", p.id, now() + 86_400);
    cache(&c, &key, &[(&k, p.id)], &[]);
    c.set_kiosk(true);
    assert_eq!(c.role(), Role::Kiosk);
    assert_eq!(c.list_patients("", 10).unwrap_err().code(), "forbidden");
    assert_eq!(c.get_patient(p.id).unwrap_err().code(), "forbidden");
    assert_eq!(c.list_appointments(None, None).unwrap_err().code(), "forbidden");
    assert_eq!(
        c.register_patient(serde_json::from_value(serde_json::json!({"given_name": "X"})).unwrap())
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(block(c.issue_card(p.id)).unwrap_err().code(), "forbidden");
    assert_eq!(c.audit_log().unwrap_err().code(), "forbidden");
    // The kiosk sees names only, and checks in (a walk-in: the staff member's role creates it).
    let seen = block(c.verify_card(&k.qr)).unwrap();
    assert_eq!(seen.patient.given_name.as_deref(), Some("Amina"));
    assert!(seen.patient.date_of_birth.is_none());
    let done = block(c.check_in(&k.qr)).unwrap();
    assert_eq!((done.queue_number, done.walk_in), (1, true));
    c.set_kiosk(false);
    assert!(c.list_patients("", 10).is_ok());

    // A kiosk device cannot create walk-ins (the server would refuse them): it says so.
    let dir2 = tempfile::tempdir().unwrap();
    let fd = open(dir2.path(), Role::FrontDesk);
    let q = register(&fd, "Baraka", "Mwangi");
    drop(fd);
    let kiosk = open(dir2.path(), Role::Kiosk);
    let kc = card(&key, ISS, "AH-KKKK-0002", q.id, now() + 86_400);
    cache(&kiosk, &key, &[(&kc, q.id)], &[]);
    let e = block(kiosk.check_in(&kc.qr)).unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("front desk"), "{e}");
}
