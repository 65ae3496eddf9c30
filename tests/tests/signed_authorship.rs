//! Proven authorship (ADR 0014), from outside over raw HTTP with real devices' credentials: a
//! write names its author only when the author signed it with a key they registered on that
//! device, a record's author is the signer's account name, a shared device still uploads what a
//! colleague signed, a disabled account's key stops at the disable time, and audit entries are
//! marked verified only when signed.

use anola_e2e::accounts::{admin_token, colleague_on, get_json, raw_device, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::auth::{AuditAction, AuditEntry};
use anola_protocol::signing::StaffKey;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Hlc, Mutation, PushRequest, Role, PROTOCOL_VERSION};
use serde_json::{json, Value};
use uuid::Uuid;

struct Env {
    _ferret: Ferret,
    server: ServerProc,
    http: reqwest::Client,
}

fn env() -> Env {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("signed"), &[]);
    Env {
        _ferret: ferret,
        server,
        http: reqwest::Client::new(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn mutation(entity: EntityKind, id: Uuid, author: Uuid, wall_ms: u64, fields: Value) -> Mutation {
    Mutation {
        id: Uuid::now_v7(),
        entity,
        entity_id: id,
        op: Op::Create,
        hlc: Hlc::new(wall_ms, 0, "signedtest"),
        fields,
        base: Default::default(),
        author: Some(author),
        signature: None,
    }
}

fn patient(author: Uuid) -> Mutation {
    mutation(
        EntityKind::Patient,
        Uuid::now_v7(),
        author,
        now_ms(),
        json!({"given_name": "Signed", "family_name": "Patient", "date_of_birth": "1980-01-01", "clinic_id": "main"}),
    )
}

fn record(patient: Uuid, author: Uuid, wall_ms: u64, author_text: &str) -> Mutation {
    let id = Uuid::now_v7();
    mutation(
        EntityKind::MedicalRecord,
        id,
        author,
        wall_ms,
        json!({"record_id": id, "patient_id": patient, "clinic_id": "main", "author": author_text, "consultation_notes": "chest clear"}),
    )
}

impl Env {
    /// Pushes `mutations` through `through`'s device and session, exactly as given.
    async fn push(&self, through: &RawDevice, mutations: Vec<Mutation>, audit: Vec<AuditEntry>) -> (u16, Value) {
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: through.device_id.clone(),
            clinic_id: through.clinic_id.clone(),
            mutations,
            audit,
        };
        let r = through
            .sign(self.http.post(format!("{}/sync/push", self.server.url())))
            .json(&req)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A clinician's device with a front-desk colleague signed in on it too, and a patient the
    /// clinician registered; returns both sessions and the patient's id.
    async fn shared_device(&self) -> (RawDevice, RawDevice, Uuid) {
        let url = self.server.url();
        let clinician = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
        let front_desk = colleague_on(&url, &clinician, Role::FrontDesk).await;
        let p = clinician.signed(patient(clinician.user_id));
        let pid = p.entity_id;
        let (s, b) = self.push(&clinician, vec![p], vec![]).await;
        assert!(applied(s, &b), "{b}");
        (clinician, front_desk, pid)
    }

    /// The stored author text of record version `id`, as a device pulls it.
    async fn record_author(&self, dev: &RawDevice, id: Uuid) -> Option<String> {
        let mut cursor: Option<String> = None;
        loop {
            let body =
                json!({"protocol_version": PROTOCOL_VERSION, "device_id": dev.device_id, "clinic_id": dev.clinic_id, "cursor": cursor});
            let r = dev
                .sign(self.http.post(format!("{}/sync/pull", self.server.url())))
                .json(&body)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            for c in v["changes"].as_array().unwrap() {
                if c["entity"] == "medical_record" && c["id"] == json!(id) {
                    return c["doc"]["author"].as_str().map(str::to_owned);
                }
            }
            cursor = v["cursor"].as_str().map(str::to_owned);
            if !v["has_more"].as_bool().unwrap_or(false) {
                return None;
            }
        }
    }
}

/// The refusal of mutation 0 of a push: (status, per-mutation code, field).
fn refusal(s: u16, b: &Value) -> (u16, String, String) {
    let e = b["errors"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["mutation_index"] == 0))
        .cloned()
        .unwrap_or(Value::Null);
    (
        s,
        e["code"].as_str().unwrap_or("").to_owned(),
        e["field"].as_str().unwrap_or("").to_owned(),
    )
}

fn applied(s: u16, b: &Value) -> bool {
    s == 200 && b["results"].as_array().is_some_and(|r| r.iter().all(|r| r["status"] == "applied"))
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_signer_is_an_author() {
    let e = env();
    let url = e.server.url();
    let (clinician, front_desk, pid) = e.shared_device().await;

    // A front-desk user on the clinician's device writes a record naming the clinician, signed
    // with their own key: refused, and nothing is stored.
    let mut spoof = record(pid, clinician.user_id, now_ms(), "Dr. Clinician");
    front_desk.sign_mutation(&mut spoof);
    let spoof_id = spoof.entity_id;
    let (s, b) = e.push(&front_desk, vec![spoof.clone()], vec![]).await;
    assert_eq!(
        refusal(s, &b),
        (403, "signature_invalid".into(), "mutations[0].signature".into()),
        "{b}"
    );
    // Sent again: the same answer.
    let (s2, b2) = e.push(&front_desk, vec![spoof], vec![]).await;
    assert_eq!(refusal(s2, &b2), refusal(s, &b));
    assert_eq!(e.record_author(&clinician, spoof_id).await, None, "a refused write stored nothing");

    // Registering a patient in another staff member's name: the same.
    let mut p2 = patient(clinician.user_id);
    front_desk.sign_mutation(&mut p2);
    let (s, b) = e.push(&front_desk, vec![p2], vec![]).await;
    assert_eq!(refusal(s, &b).1, "signature_invalid", "{b}");

    // Unsigned: refused.
    let (s, b) = e
        .push(&clinician, vec![record(pid, clinician.user_id, now_ms(), "x")], vec![])
        .await;
    assert_eq!(refusal(s, &b).1, "signature_missing", "{b}");

    // Signed with a key nobody registered: refused.
    let stranger = StaffKey::from_seed(&[42; 32]);
    let mut m = record(pid, clinician.user_id, now_ms(), "x");
    stranger.sign_mutation(&mut m);
    let (s, b) = e.push(&clinician, vec![m], vec![]).await;
    assert_eq!(refusal(s, &b).1, "signing_key_unknown", "{b}");

    // Signed, then changed on the way: refused.
    let mut m = clinician.signed(record(pid, clinician.user_id, now_ms(), "x"));
    m.fields["consultation_notes"] = json!("tampered");
    let (s, b) = e.push(&clinician, vec![m], vec![]).await;
    assert_eq!(refusal(s, &b).1, "signature_invalid", "{b}");

    // The clinician's key from this device, pushed through another device of the clinic: refused.
    let elsewhere = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let m = clinician.signed(record(pid, clinician.user_id, now_ms(), "x"));
    let (s, b) = e.push(&elsewhere, vec![m], vec![]).await;
    assert_eq!(refusal(s, &b).1, "signature_invalid", "{b}");

    // The clinician's own signed write goes through.
    let honest = clinician.signed(record(pid, clinician.user_id, now_ms(), "typed by hand"));
    let honest_id = honest.entity_id;
    let (s, b) = e.push(&clinician, vec![honest], vec![]).await;
    assert!(applied(s, &b), "{b}");
    // The stored author is the account's name, not the text the device sent.
    assert_eq!(e.record_author(&clinician, honest_id).await.as_deref(), Some("Test clinician"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_device_uploads_a_colleagues_signed_writes_until_their_account_is_disabled() {
    let e = env();
    let url = e.server.url();
    let (clinician, front_desk, pid) = e.shared_device().await;

    // Written and signed by the clinician (offline, say), uploaded later in a front-desk
    // colleague's session on the same device.
    let offline = clinician.signed(record(pid, clinician.user_id, now_ms(), "Dr. Offline"));
    let (s, b) = e.push(&front_desk, vec![offline], vec![]).await;
    assert!(applied(s, &b), "{b}");

    // The clinician's account is disabled: their key is revoked from that moment.
    let admin = admin_token(&url).await;
    let before_disable = now_ms() - 1_000;
    let r = e
        .http
        .post(format!("{url}/admin/users/{}/disable", clinician.user_id))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let after_disable = now_ms() + 1_000;

    let late = clinician.signed(record(pid, clinician.user_id, after_disable, "x"));
    let (s, b) = e.push(&front_desk, vec![late], vec![]).await;
    assert_eq!(refusal(s, &b).1, "signing_key_revoked", "{b}");
    // What they signed before the disable still uploads.
    let early = clinician.signed(record(pid, clinician.user_id, before_disable, "x"));
    let (s, b) = e.push(&front_desk, vec![early], vec![]).await;
    assert!(applied(s, &b), "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_entries_are_verified_only_when_their_user_signed_them() {
    let e = env();
    let url = e.server.url();
    let (clinician, front_desk, pid) = e.shared_device().await;
    let entry = |user: Uuid| AuditEntry {
        id: Uuid::now_v7(),
        at: "2026-12-03T10:00:00Z".into(),
        user_id: Some(user),
        device_id: clinician.device_id.clone(),
        action: AuditAction::ViewPatient,
        entity: Some(EntityKind::Patient),
        entity_id: Some(pid),
        patient_id: Some(pid),
        signature: None,
        verified: None,
    };
    let mut signed = entry(clinician.user_id);
    clinician.signing_key.sign_audit(&mut signed);
    let unsigned = entry(clinician.user_id);
    // The front desk claims the clinician looked, signing with their own key.
    let mut claimed = entry(clinician.user_id);
    front_desk.signing_key.sign_audit(&mut claimed);
    let (s, b) = e
        .push(&clinician, vec![], vec![signed.clone(), unsigned.clone(), claimed.clone()])
        .await;
    assert_eq!(s, 200, "{b}");

    let admin = admin_token(&url).await;
    let history = get_json(&format!("{url}/admin/patients/{pid}/access?clinic_id=main"), &admin).await;
    let verified = |id: Uuid| {
        history["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == json!(id))
            .map(|x| x["verified"].clone())
    };
    assert_eq!(verified(signed.id), Some(json!(true)), "{history}");
    assert_eq!(verified(unsigned.id), Some(json!(false)), "kept, but not vouched for: {history}");
    assert_eq!(verified(claimed.id), Some(json!(false)), "{history}");
}

/// A clinician's device enrolled at `url`, with one synced patient; signed out.
async fn clinician_device_with_a_patient(dir: &std::path::Path, url: &str, given: &str) -> anola_protocol::Patient {
    let (ws, clinic) = anola_e2e::workstations::enrolled(dir, url, "main", Role::Clinician, None).await;
    let p = clinic
        .register_patient(
            serde_json::from_value(json!({"given_name": given, "family_name": "Signed", "date_of_birth": "1988-04-12"})).unwrap(),
        )
        .unwrap();
    clinic.sync_now().await.unwrap();
    ws.sign_out().await;
    p
}

/// The app end to end: a clinician signs in online once (the key is made and registered), later
/// signs in offline on the same device and writes; a colleague's online session on that device
/// uploads the write, which the server accepts as the clinician's.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_signs_offline_writes_and_a_colleague_uploads_them() {
    use anola_client::workstation::{Workstation, WorkstationConfig};
    use anola_e2e::accounts::{ensure_staff, staff_name, STAFF_PASSWORD};
    let e = env();
    let url = e.server.url();
    let dir = tempfile::tempdir().unwrap();
    let p = clinician_device_with_a_patient(dir.path(), &url, "Offline").await;

    // The same device with the server out of reach: an offline sign-in, then a record.
    let offline = Workstation::open(WorkstationConfig::new(dir.path(), "http://127.0.0.1:9")).unwrap();
    let s = offline
        .sign_in(&staff_name("main", Role::Clinician, None), STAFF_PASSWORD, None)
        .await
        .unwrap();
    assert!(!s.online_session);
    let c = offline.clinic().unwrap();
    let written = c
        .add_record(
            serde_json::from_value(json!({"patient_id": p.id, "author": "whatever was typed", "consultation_notes": "offline visit"}))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(written.fields.author, "Test clinician", "the device names the signed-in account");
    offline.sign_out().await;
    drop((offline, c));

    // A front-desk colleague signs in online on that device and syncs.
    let admin = admin_token(&url).await;
    let front_desk = ensure_staff(&url, &admin, "main", Role::FrontDesk, None).await;
    let online = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();
    let s = online.sign_in(&front_desk, STAFF_PASSWORD, None).await.unwrap();
    assert!(s.online_session);
    let c = online.clinic().unwrap();
    c.sync_now().await.unwrap();
    let status = c.status().unwrap();
    assert_eq!((status.pending, status.rejected), (0, 0), "{:?}", c.rejected_list().unwrap());

    let reader = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    assert_eq!(e.record_author(&reader, written.id).await.as_deref(), Some("Test clinician"));
}

/// The upgrade day: a clinician's vault entry predates signatures. Signing in offline makes their
/// key on the spot; what they write waits on the device (a colleague's sync does not send it, so it
/// is not refused), and goes once their next online sign-in has registered the key.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_made_offline_waits_for_its_registration() {
    use anola_client::workstation::{Workstation, WorkstationConfig};
    use anola_e2e::accounts::{ensure_staff, staff_name, STAFF_PASSWORD};
    let e = env();
    let url = e.server.url();
    let dir = tempfile::tempdir().unwrap();
    let p = clinician_device_with_a_patient(dir.path(), &url, "Upgrade").await;
    // As an older app left it: no signing key in the clinician's vault entry.
    let vault_path = dir.path().join("vault.json");
    let mut vault: Value = serde_json::from_str(&std::fs::read_to_string(&vault_path).unwrap()).unwrap();
    for u in vault["users"].as_array_mut().unwrap() {
        let u = u.as_object_mut().unwrap();
        u.remove("signing_public");
        u.remove("signing_key");
        u.remove("signing_registered");
    }
    std::fs::write(&vault_path, serde_json::to_vec(&vault).unwrap()).unwrap();

    let clinician = staff_name("main", Role::Clinician, None);
    let offline = Workstation::open(WorkstationConfig::new(dir.path(), "http://127.0.0.1:9")).unwrap();
    offline.sign_in(&clinician, STAFF_PASSWORD, None).await.unwrap();
    let written = offline
        .clinic()
        .unwrap()
        .add_record(serde_json::from_value(json!({"patient_id": p.id, "author": "-", "consultation_notes": "written offline"})).unwrap())
        .unwrap();
    offline.sign_out().await;
    drop(offline);

    // A colleague syncs: the clinician's write is not sent (so not refused), it waits.
    let admin = admin_token(&url).await;
    let front_desk = ensure_staff(&url, &admin, "main", Role::FrontDesk, None).await;
    let ws = Workstation::open(WorkstationConfig::new(dir.path(), &url)).unwrap();
    ws.sign_in(&front_desk, STAFF_PASSWORD, None).await.unwrap();
    let c = ws.clinic().unwrap();
    c.sync_now().await.unwrap();
    let s = c.status().unwrap();
    assert_eq!((s.pending, s.rejected), (1, 0), "{:?}", c.rejected_list().unwrap());
    ws.sign_out().await;

    // The clinician signs in online: the key is registered and the write goes.
    ws.sign_in(&clinician, STAFF_PASSWORD, None).await.unwrap();
    let c = ws.clinic().unwrap();
    c.sync_now().await.unwrap();
    let s = c.status().unwrap();
    assert_eq!((s.pending, s.rejected), (0, 0), "{:?}", c.rejected_list().unwrap());
    let reader = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    assert_eq!(e.record_author(&reader, written.id).await.as_deref(), Some("Test clinician"));
}
