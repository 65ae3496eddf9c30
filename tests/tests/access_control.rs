//! Access control against the real server binary: the role matrix (every role × every kind of
//! data × read and write, field level), another clinic's device, tampered / expired / replayed
//! tokens, a reused refresh token, brute-force lockout, administrators without their second
//! factor, and a revoked device. Expectations are written out here, not derived from access.rs.

use anola_e2e::accounts::{admin_token, raw_device, RawDevice, ADMIN, ADMIN_PASSWORD, STAFF_PASSWORD};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const PROVIDER: &str = "22222222-2222-4222-8222-222222222222";

struct Env {
    _ferret: Ferret,
    server: ServerProc,
    dbname: String,
    http: reqwest::Client,
}

async fn env() -> Env {
    let ferret = Ferret::start();
    let dbname = unique_db("access");
    let server = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let e = Env {
        _ferret: ferret,
        server,
        dbname,
        http: reqwest::Client::new(),
    };
    let token = admin_token(&e.url()).await;
    let p = json!({"id": PROVIDER, "clinic_id": "main", "given_name": "Amani", "family_name": "Kariuki", "active": true});
    let r = e
        .http
        .put(format!("{}/admin/providers/{PROVIDER}", e.url()))
        .bearer_auth(token)
        .json(&p)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "provider: {}", r.status());
    e
}

impl Env {
    fn url(&self) -> String {
        self.server.url()
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn push(&self, d: &RawDevice, m: Value) -> (u16, Value) {
        let mut m = m;
        m["id"] = json!(Uuid::now_v7());
        m["author"] = json!(d.user_id);
        let body = json!({"protocol_version": 1, "device_id": d.device_id, "clinic_id": d.clinic_id, "mutations": [m]});
        self.call(
            d.sign(self.http.post(format!("{}/sync/push", self.url())))
                .json(&d.signed_body(&body)),
        )
        .await
    }

    /// Every change the device may pull, from the beginning.
    async fn pull_all(&self, d: &RawDevice) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let body = json!({"protocol_version": 1, "device_id": d.device_id, "clinic_id": d.clinic_id, "cursor": cursor});
            let (s, v) = self
                .call(d.sign(self.http.post(format!("{}/sync/pull", self.url()))).json(&body))
                .await;
            assert_eq!(s, 200, "pull: {v}");
            out.extend(v["changes"].as_array().unwrap().iter().cloned());
            cursor = v["cursor"].as_str().map(str::to_owned);
            if !v["has_more"].as_bool().unwrap() {
                return out;
            }
        }
    }
}

fn hlc(n: u64) -> String {
    format!("{:015}-00000-matrix", 1_790_000_000_000u64 + n)
}

fn patient_create(id: Uuid, given: &str, fw: Option<&str>) -> Value {
    let mut fields = json!({"given_name": given, "family_name": "Matrix", "date_of_birth": "1980-01-01", "clinic_id": "main",
                            "phone": "+254700000001", "allergies": [{"allergen": "penicillin", "severity": "severe"}]});
    if let Some(fw) = fw {
        fields["field_worker_id"] = json!(fw);
    }
    json!({"entity": "patient", "entity_id": id, "op": "create", "hlc": hlc(1), "fields": fields})
}

fn appointment_create(id: Uuid, patient: Uuid, hour: u32) -> Value {
    json!({"entity": "appointment", "entity_id": id, "op": "create", "hlc": hlc(2), "fields": {
        "patient_id": patient, "provider_id": PROVIDER, "clinic_id": "main", "date": "2031-05-05",
        "start_time": format!("{hour:02}:00"), "duration_minutes": 30, "status": "scheduled", "symptoms": ["cough"]}})
}

fn record_create(id: Uuid, patient: Uuid) -> Value {
    json!({"entity": "medical_record", "entity_id": id, "op": "create", "hlc": hlc(3), "fields": {
        "record_id": id, "patient_id": patient, "clinic_id": "main", "author": "Dr Matrix", "consultation_notes": "chest clear"}})
}

fn update(entity: &str, id: Uuid, fields: Value, n: u64) -> Value {
    json!({"entity": entity, "entity_id": id, "op": "update", "hlc": hlc(10 + n), "fields": fields})
}

/// What one role's device pulled: patients (with their field names), appointments, records.
#[derive(Debug, Default)]
struct Seen {
    patients: Vec<(Uuid, Vec<String>)>,
    appointments: Vec<(Uuid, Vec<String>)>,
    records: usize,
}

fn seen(changes: &[Value]) -> Seen {
    let mut s = Seen::default();
    for c in changes {
        let id: Uuid = c["id"].as_str().unwrap().parse().unwrap();
        let fields = || -> Vec<String> { c["state"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default() };
        match c["entity"].as_str().unwrap() {
            "patient" => s.patients.push((id, fields())),
            "appointment" => s.appointments.push((id, fields())),
            "medical_record" => s.records += 1,
            _ => {}
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_reads_and_writes_exactly_its_share() {
    let e = env().await;
    let url = e.url();
    // Seed as a clinician: an assigned patient and an unassigned one, an appointment, a record.
    let clin = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let (assigned, unassigned, appt, rec) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for m in [
        patient_create(assigned, "Assigned", Some("fw-1")),
        patient_create(unassigned, "Unassigned", None),
        appointment_create(appt, assigned, 9),
        record_create(rec, assigned),
    ] {
        let (s, b) = e.push(&clin, m).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["results"][0]["status"], "applied", "{b}");
    }

    let devices = [
        ("front desk", raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await),
        ("clinician", raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await),
        (
            "field worker",
            raw_device(&url, "main", Role::FieldWorker, Role::FieldWorker, Some("fw-1")).await,
        ),
        (
            "clinic admin",
            raw_device(&url, "main", Role::ClinicAdmin, Role::ClinicAdmin, None).await,
        ),
        // A kiosk runs under the front desk's session and is limited by its own role.
        ("kiosk", raw_device(&url, "main", Role::Kiosk, Role::FrontDesk, None).await),
    ];

    // Reads: (patients seen, sees allergies, sees phone, appointments, sees symptoms, records).
    let reads: [(&str, usize, bool, bool, usize, bool, usize); 5] = [
        ("front desk", 2, false, true, 1, false, 0),
        ("clinician", 2, true, true, 1, true, 1),
        ("field worker", 1, true, true, 1, true, 1),
        ("clinic admin", 2, true, true, 1, true, 1),
        ("kiosk", 2, false, false, 1, false, 0),
    ];
    for ((name, d), (n2, patients, allergies, phone, appts, symptoms, records)) in devices.iter().zip(reads) {
        assert_eq!(*name, n2);
        let s = seen(&e.pull_all(d).await);
        let has = |list: &Vec<(Uuid, Vec<String>)>, f: &str| list.iter().any(|(_, fs)| fs.iter().any(|x| x == f));
        assert_eq!(s.patients.len(), patients, "{name}: patients {s:?}");
        assert_eq!(has(&s.patients, "allergies"), allergies, "{name}: allergies");
        assert_eq!(has(&s.patients, "phone"), phone, "{name}: phone");
        assert!(has(&s.patients, "given_name"), "{name}: names");
        assert_eq!(s.appointments.len(), appts, "{name}: appointments");
        assert_eq!(has(&s.appointments, "symptoms"), symptoms, "{name}: symptoms");
        assert_eq!(s.records, records, "{name}: medical records");
    }

    // Writes: each attempt alone; true = applied, false = 403 forbidden with nothing applied.
    type Make = Box<dyn Fn(u64) -> Value>;
    let attempts: Vec<(&str, Make)> = vec![
        (
            "register a patient",
            Box::new(|_| {
                let mut m = patient_create(Uuid::now_v7(), "New", Some("fw-1"));
                m["fields"].as_object_mut().unwrap().remove("allergies");
                m
            }),
        ),
        (
            "change a phone",
            Box::new(move |n| update("patient", assigned, json!({"phone": format!("+25470000{n:04}")}), n)),
        ),
        (
            "change allergies",
            Box::new(move |n| update("patient", assigned, json!({"allergies": []}), n)),
        ),
        (
            "book",
            Box::new(move |n| {
                let mut m = appointment_create(Uuid::now_v7(), assigned, 10 + (n % 8) as u32);
                m["fields"].as_object_mut().unwrap().remove("symptoms");
                m
            }),
        ),
        (
            "mark arrived",
            Box::new(move |n| update("appointment", appt, json!({"status": "checked_in"}), n)),
        ),
        (
            "move a booking",
            Box::new(move |n| update("appointment", appt, json!({"start_time": "15:00"}), n)),
        ),
        ("write a record", Box::new(move |_| record_create(Uuid::now_v7(), assigned))),
    ];
    let writes: [(&str, [bool; 7]); 5] = [
        ("front desk", [true, true, false, true, true, true, false]),
        ("clinician", [true, true, true, true, true, true, true]),
        ("field worker", [true, true, true, true, true, true, true]),
        ("clinic admin", [true, true, true, true, true, true, true]),
        ("kiosk", [false, false, false, false, true, false, false]),
    ];
    let mut n = 0;
    for ((name, d), (n2, allowed)) in devices.iter().zip(writes) {
        assert_eq!(*name, n2);
        for ((what, make), ok) in attempts.iter().zip(allowed) {
            n += 1;
            let (s, b) = e.push(d, make(n)).await;
            if ok {
                assert_eq!(s, 200, "{name} may {what}: {b}");
                assert_ne!(b["results"][0]["status"], "rejected", "{name} may {what}: {b}");
            } else {
                assert_eq!(s, 403, "{name} may not {what}: {b}");
                assert_eq!(b["code"], "forbidden", "{b}");
                assert!(b["errors"][0]["field"].as_str().unwrap().starts_with("mutations[0]"), "{b}");
            }
        }
    }

    // A field worker's device changes only its assigned patients, and registers patients as its own.
    let fw = &devices[2].1;
    for (what, m) in [
        (
            "edit an unassigned patient",
            update("patient", unassigned, json!({"phone": "+254700999999"}), 500),
        ),
        ("book for an unassigned patient", {
            let mut m = appointment_create(Uuid::now_v7(), unassigned, 16);
            m["fields"].as_object_mut().unwrap().remove("symptoms");
            m
        }),
        (
            "write a record for an unassigned patient",
            record_create(Uuid::now_v7(), unassigned),
        ),
        ("register a patient for another worker", {
            let mut m = patient_create(Uuid::now_v7(), "Other", Some("fw-2"));
            m["fields"].as_object_mut().unwrap().remove("allergies");
            m
        }),
        (
            "reassign a patient",
            update("patient", assigned, json!({"field_worker_id": "fw-2"}), 501),
        ),
    ] {
        let (s, b) = e.push(fw, m).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (403, Some("forbidden")),
            "a field worker may not {what}: {b}"
        );
    }

    // Nobody writes what only the server writes.
    let provider_write =
        json!({"entity": "provider", "entity_id": PROVIDER, "op": "update", "hlc": hlc(99), "fields": {"given_name": "X"}});
    let (s, _) = e.push(&devices[3].1, provider_write).await;
    assert!(s == 400 || s == 403 || s == 422, "a provider pushed by a device: {s}");

    // Staff endpoints: only administrators with their second factor.
    for (name, d) in &devices[..3] {
        let (s, b) = e
            .call(
                e.http
                    .get(format!("{url}/admin/conflicts?clinic_id=main"))
                    .bearer_auth(&d.access_token),
            )
            .await;
        assert_eq!((s, b["code"].as_str()), (403, Some("forbidden")), "{name}: {b}");
    }
    let (s, b) = e
        .call(
            e.http
                .get(format!("{url}/admin/conflicts?clinic_id=main"))
                .bearer_auth(&devices[3].1.access_token),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (401, Some("mfa_required")),
        "a clinic admin without TOTP: {b}"
    );
    let _ = e.dbname.len();
}

#[tokio::test(flavor = "multi_thread")]
async fn another_clinics_device_gets_nothing_of_this_clinic() {
    let e = env().await;
    let url = e.url();
    let main = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let (s, b) = e.push(&main, patient_create(Uuid::now_v7(), "MainOnly", None)).await;
    assert_eq!(s, 200, "{b}");

    let east = raw_device(&url, "east", Role::ClinicAdmin, Role::ClinicAdmin, None).await;
    // Asking for clinic main with east's device: refused, naming the field.
    let body = json!({"protocol_version": 1, "device_id": east.device_id, "clinic_id": "main"});
    let (s, b) = e.call(east.sign(e.http.post(format!("{url}/sync/pull"))).json(&body)).await;
    assert_eq!(
        (s, b["code"].as_str(), b["field"].as_str()),
        (403, Some("forbidden"), Some("clinic_id")),
        "{b}"
    );
    // Pretending to be main's device with east's key: refused.
    let body = json!({"protocol_version": 1, "device_id": main.device_id, "clinic_id": "main"});
    let (s, b) = e.call(east.sign(e.http.post(format!("{url}/sync/pull"))).json(&body)).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("forbidden")), "{b}");
    // East's own pull holds nothing of main.
    assert!(seen(&e.pull_all(&east).await).patients.is_empty());
    // Main's device with an east staff member's token: refused.
    let mixed = RawDevice {
        access_token: east.access_token.clone(),
        ..main.clone()
    };
    let body = json!({"protocol_version": 1, "device_id": main.device_id, "clinic_id": "main"});
    let (s, b) = e.call(mixed.sign(e.http.post(format!("{url}/sync/pull"))).json(&body)).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("forbidden")), "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_expired_replayed_and_reused_tokens_are_refused() {
    let e = env().await;
    let url = e.url();
    let d = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let me = |token: String| e.call(e.http.get(format!("{url}/auth/me")).bearer_auth(token));
    assert_eq!(me(d.access_token.clone()).await.0, 200);

    // Tampered: one character of the signature, then of the claims.
    let mut t = d.access_token.clone().into_bytes();
    let last = t.len() - 2;
    t[last] = if t[last] == b'A' { b'B' } else { b'A' };
    let (s, b) = me(String::from_utf8(t).unwrap()).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{b}");
    let parts: Vec<&str> = d.access_token.split('.').collect();
    let forged = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    assert_eq!(me(forged).await.0, 401);

    // Expired: a token signed with the server's own key, one minute past its end.
    let client = mongodb::Client::with_uri_str(e._ferret.uri()).await.unwrap();
    let secret = client
        .database(&e.dbname)
        .collection::<mongodb::bson::Document>("server_secrets")
        .find_one(mongodb::bson::doc! {"_id": "token"})
        .await
        .unwrap()
        .unwrap();
    use base64::Engine;
    // Sealed at rest: opened here with the test servers' sealing secret.
    let sealer = anola_sync_server::store::sealing::SecretSealer::new(anola_e2e::accounts::SEALING_SECRET, None);
    let opened = sealer.open("server_secret:token", secret.get_str("value").unwrap()).unwrap();
    let key = anola_sync_server::auth::token::TokenKey::new(base64::engine::general_purpose::STANDARD.decode(opened.value).unwrap());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = key.sign(&anola_sync_server::auth::token::Claims {
        sub: d.user_id,
        role: Some(Role::Clinician),
        clinic: Some("main".into()),
        pa: false,
        mfa: false,
        fam: Uuid::new_v4(),
        iat: now - 3600,
        exp: now - 60,
        jti: Uuid::new_v4(),
    });
    let (s, b) = me(expired).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("token_expired")), "{b}");

    // Refresh rotates; presenting the spent token again ends the whole family.
    let refresh = |t: String| e.call(e.http.post(format!("{url}/auth/refresh")).json(&json!({"refresh_token": t})));
    let (s, b) = refresh(d.refresh_token.clone()).await;
    assert_eq!(s, 200, "{b}");
    let second = b["tokens"]["refresh_token"].as_str().unwrap().to_owned();
    let second_access = b["tokens"]["access_token"].as_str().unwrap().to_owned();
    let (s, b) = refresh(d.refresh_token.clone()).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("refresh_token_reused")), "{b}");
    let (s, _) = refresh(second).await;
    assert_eq!(s, 401, "the descendant of a reused token is revoked too");
    // Replayed access token of the revoked family: refused at once, not at expiry.
    let (s, b) = me(second_access).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{b}");
    let (s, _) = me(d.access_token.clone()).await;
    assert_eq!(s, 401, "the original sign-in's access token is revoked with its family");
}

#[tokio::test(flavor = "multi_thread")]
async fn guessing_passwords_locks_the_account() {
    let e = env().await;
    let url = e.url();
    let d = raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await;
    let user = anola_e2e::accounts::staff_name("main", Role::FrontDesk, None);
    let login = |pw: &str| {
        e.call(
            e.http
                .post(format!("{url}/auth/login"))
                .json(&json!({"username": user, "password": pw})),
        )
    };
    for i in 0..4 {
        let (s, b) = login("not the password at all").await;
        assert_eq!((s, b["code"].as_str()), (401, Some("invalid_credentials")), "attempt {i}: {b}");
    }
    let (s, b) = login("not the password at all").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (423, Some("account_locked")),
        "the fifth failure locks: {b}"
    );
    // Locked: even the right password is refused, with the time it ends.
    let (s, b) = login(STAFF_PASSWORD).await;
    assert_eq!((s, b["code"].as_str()), (423, Some("account_locked")), "{b}");
    assert!(b["message"].as_str().unwrap().contains("until"), "{b}");
    // An unknown name answers like a wrong password.
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/auth/login"))
                .json(&json!({"username": "nobody-here", "password": "x"})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("invalid_credentials")), "{b}");
    let _ = d;

    // The administrator needs the TOTP code; a wrong code counts as a failure.
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/auth/login"))
                .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str(), b["field"].as_str()),
        (401, Some("mfa_required"), Some("totp")),
        "{b}"
    );
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/auth/login"))
                .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD, "totp": "000000"})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("invalid_credentials")), "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_device_is_refused_at_its_next_contact() {
    let e = env().await;
    let url = e.url();
    let d = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    e.pull_all(&d).await;
    let token = admin_token(&url).await;
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/admin/devices/{}/revoke", d.device_id))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["revoked_at"].is_string(), "{b}");
    let body = json!({"protocol_version": 1, "device_id": d.device_id, "clinic_id": "main"});
    let (s, b) = e.call(d.sign(e.http.post(format!("{url}/sync/pull"))).json(&body)).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("device_revoked")), "{b}");
    // Signing in on it no longer hands out its key-encryption secret.
    let user = anola_e2e::accounts::staff_name("main", Role::Clinician, None);
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/auth/login"))
                .header(anola_protocol::auth::DEVICE_KEY_HEADER, d.device_key())
                .json(&json!({"username": user, "password": STAFF_PASSWORD})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("device_revoked")), "{b}");
    // The code it was enrolled with cannot enrol again.
    let (s, b) = e
        .call(
            e.http
                .post(format!("{url}/devices/enrol"))
                .json(&json!({"code": "AAAA-BBBB-CCCC", "name": "thief"})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (422, Some("invalid_enrolment_code")), "{b}");
}

/// A patient's (or sponsor's) own account may be tied to a clinic, but never opens a clinic
/// device: signing in with a device key is refused (no key-encryption secret is handed out) and a
/// device session with such an account is refused; the staff roster leaves it out.
#[tokio::test(flavor = "multi_thread")]
async fn a_patient_account_never_works_on_a_clinic_device() {
    let e = env().await;
    let url = e.url();
    let admin = admin_token(&url).await;
    let dev = raw_device(&url, "main", Role::FrontDesk, Role::FrontDesk, None).await;
    let patient_user = format!("pat.{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (s, v) = e
        .call(e.http.post(format!("{url}/admin/users")).bearer_auth(&admin).json(&json!({
            "username": patient_user, "password": STAFF_PASSWORD, "display_name": "A Patient",
            "user_type": "patient", "clinic_id": "main"
        })))
        .await;
    assert_eq!(s, 200, "{v}");
    let login = json!({"username": patient_user, "password": STAFF_PASSWORD});
    let (s, v) = e
        .call(
            e.http
                .post(format!("{url}/auth/login"))
                .header(anola_protocol::auth::DEVICE_KEY_HEADER, dev.device_key())
                .json(&login),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    // Signed in without a device (the portal's way), the token still opens no device session.
    let (s, v) = e.call(e.http.post(format!("{url}/auth/login")).json(&login)).await;
    assert_eq!(s, 200, "{v}");
    let token = v["tokens"]["access_token"].as_str().unwrap().to_owned();
    let pull = json!({"protocol_version": 3, "device_id": dev.device_id, "clinic_id": "main"});
    let (s, v) = e
        .call(
            e.http
                .post(format!("{url}/sync/pull"))
                .bearer_auth(&token)
                .header(anola_protocol::auth::DEVICE_KEY_HEADER, dev.device_key())
                .json(&pull),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    let (s, roster) = e
        .call(
            e.http
                .get(format!("{url}/sync/staff"))
                .bearer_auth(&dev.access_token)
                .header(anola_protocol::auth::DEVICE_KEY_HEADER, dev.device_key()),
        )
        .await;
    assert_eq!(s, 200);
    assert!(!roster.to_string().contains(&patient_user), "patients are not staff: {roster}");
}
