//! Accounts for tests, made the way an operator makes them: the server's bootstrap administrator
//! (provisioned with a known TOTP secret), staff created through `/admin/users`, devices enrolled
//! with one-time codes from `/admin/clinics/{c}/enrolment-codes`.

use anola_protocol::auth::{EnrolmentCode, LoginResponse, NewEnrolmentCode, NewUser};
use anola_protocol::{Role, UserType};
use serde_json::{json, Value};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "harness root passphrase";
/// Base32; every test server's bootstrap administrator is provisioned with it.
pub const ADMIN_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const STAFF_PASSWORD: &str = "harness staff passphrase";

/// The environment a test server needs for its bootstrap administrator.
/// The test servers' sealing secret (every process of a test shares it, as production's must).
pub const SEALING_SECRET: &str = "test sealing secret: 7fQ2kL9xW4mN1pR8vT3zY6bC";

pub fn server_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ANOLA_BOOTSTRAP_ADMIN", ADMIN),
        ("ANOLA_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("ANOLA_BOOTSTRAP_ADMIN_TOTP_SECRET", ADMIN_TOTP_SECRET),
        ("ANOLA_SEALING_SECRET", SEALING_SECRET),
    ]
}

pub fn totp_now(secret_base32: &str) -> String {
    let secret = anola_protocol::totp::base32_decode(secret_base32).expect("base32 secret");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    anola_protocol::totp::code_at(&secret, now)
}

/// Runs a future to completion from synchronous test code (the CLI-driven tests).
pub fn block_on<F: std::future::Future + Send + 'static>(f: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .join()
    .expect("harness thread")
}

/// `GET url` with `token` as the bearer; its JSON answer.
pub async fn get_json(url: &str, token: &str) -> Value {
    let resp = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("GET sent");
    resp.json().await.expect("a JSON answer")
}

async fn post(url: &str, token: Option<&str>, body: Value) -> Result<Value, (u16, Value)> {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| (0, json!({"message": e.to_string()})))?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 300 {
        Err((status, v))
    } else {
        Ok(v)
    }
}

pub async fn login(server: &str, username: &str, password: &str, totp: Option<String>) -> Result<LoginResponse, (u16, Value)> {
    let v = post(
        &format!("{server}/auth/login"),
        None,
        json!({"username": username, "password": password, "totp": totp}),
    )
    .await?;
    Ok(serde_json::from_value(v).expect("login response"))
}

/// A fresh access token of the platform administrator (with its second factor).
pub async fn admin_token(server: &str) -> String {
    login(server, ADMIN, ADMIN_PASSWORD, Some(totp_now(ADMIN_TOTP_SECRET)))
        .await
        .expect("the bootstrap administrator signs in")
        .tokens
        .access_token
}

/// The harness's user name for a staff role in a clinic.
pub fn staff_name(clinic: &str, role: Role, field_worker: Option<&str>) -> String {
    match field_worker {
        Some(fw) => format!("h.{}.{clinic}.{fw}", role.as_str()),
        None => format!("h.{}.{clinic}", role.as_str()),
    }
}

/// Creates (once) a staff member with `role` in `clinic`; returns their user name.
pub async fn ensure_staff(server: &str, token: &str, clinic: &str, role: Role, field_worker: Option<&str>) -> String {
    let username = staff_name(clinic, role, field_worker);
    let user = NewUser {
        username: username.clone(),
        password: STAFF_PASSWORD.into(),
        display_name: format!("Test {}", role.as_str()),
        user_type: if role == Role::ClinicAdmin {
            UserType::Admin
        } else {
            UserType::Provider
        },
        role: Some(role),
        clinic_id: Some(clinic.into()),
        field_worker_id: field_worker.map(str::to_owned),
    };
    match post(&format!("{server}/admin/users"), Some(token), serde_json::to_value(&user).unwrap()).await {
        Ok(_) => {}
        Err((409, _)) => {}
        Err(e) => panic!("creating {username}: {e:?}"),
    }
    username
}

pub async fn enrolment_code(server: &str, token: &str, clinic: &str, role: Role, field_worker: Option<&str>) -> String {
    let body = NewEnrolmentCode {
        role,
        field_worker_id: field_worker.map(str::to_owned),
    };
    let v = post(
        &format!("{server}/admin/clinics/{clinic}/enrolment-codes"),
        Some(token),
        serde_json::to_value(&body).unwrap(),
    )
    .await
    .unwrap_or_else(|e| panic!("enrolment code: {e:?}"));
    serde_json::from_value::<EnrolmentCode>(v).unwrap().code
}

/// What a device needs to be enrolled and used by a staff member.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub code: String,
    pub username: String,
    pub password: String,
}

/// Makes a staff member and a one-time code for a device of `role` in `clinic`.
pub async fn prepare_device(server: &str, clinic: &str, role: Role, field_worker: Option<&str>) -> Enrolment {
    let token = admin_token(server).await;
    let staff_role = if role == Role::Kiosk { Role::FrontDesk } else { role };
    let username = ensure_staff(server, &token, clinic, staff_role, field_worker).await;
    Enrolment {
        code: enrolment_code(server, &token, clinic, role, field_worker).await,
        username,
        password: STAFF_PASSWORD.into(),
    }
}

/// A device enrolled over plain HTTP, with its staff member signed in: for tests that speak the
/// wire protocol themselves.
#[derive(Debug, Clone)]
pub struct RawDevice {
    pub device_id: String,
    pub secret: String,
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: uuid::Uuid,
    pub clinic_id: String,
    /// The key-encryption secret the server handed the device at enrolment.
    pub kek: String,
    /// The staff member's signing key on this device, registered at sign-in (ADR 0014).
    pub signing_key: anola_protocol::signing::StaffKey,
}

impl RawDevice {
    pub fn device_key(&self) -> String {
        format!("{}:{}", self.device_id, self.secret)
    }

    /// Signs `m` as this device's staff member.
    pub fn sign_mutation(&self, m: &mut anola_protocol::Mutation) {
        self.signing_key.sign_mutation(m);
    }

    /// `m`, signed as this device's staff member.
    pub fn signed(&self, mut m: anola_protocol::Mutation) -> anola_protocol::Mutation {
        self.sign_mutation(&mut m);
        m
    }

    /// `body` (a push) with every mutation authored by this device's staff member signed, as the
    /// app signs them; mutations that do not parse (bad-input tests) or name another author are
    /// left as they are.
    pub fn signed_body(&self, body: &Value) -> Value {
        let mut body = body.clone();
        if let Some(ms) = body.get_mut("mutations").and_then(Value::as_array_mut) {
            for m in ms.iter_mut() {
                let Ok(mut parsed) = serde_json::from_value::<anola_protocol::Mutation>(m.clone()) else {
                    continue;
                };
                if parsed.author == Some(self.user_id) && parsed.signature.is_none() {
                    self.sign_mutation(&mut parsed);
                    *m = serde_json::to_value(&parsed).expect("a mutation serializes");
                }
            }
        }
        body
    }

    /// Adds the device key and bearer token to a request.
    pub fn sign(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header(anola_protocol::auth::DEVICE_KEY_HEADER, self.device_key())
            .bearer_auth(&self.access_token)
    }
}

/// Enrols a device of `role` in `clinic` and signs in a staff member of `staff_role` on it.
pub async fn raw_device(server: &str, clinic: &str, role: Role, staff_role: Role, field_worker: Option<&str>) -> RawDevice {
    let token = admin_token(server).await;
    let username = ensure_staff(server, &token, clinic, staff_role, field_worker).await;
    let code = enrolment_code(server, &token, clinic, role, field_worker).await;
    let enrolled: anola_protocol::auth::EnrolResponse = serde_json::from_value(
        post(
            &format!("{server}/devices/enrol"),
            None,
            json!({"code": code, "name": "raw test device"}),
        )
        .await
        .unwrap_or_else(|e| panic!("enrol: {e:?}")),
    )
    .unwrap();
    sign_in_on(
        server,
        &enrolled.device_id,
        &enrolled.device_secret,
        clinic,
        &enrolled.device_kek,
        &username,
    )
    .await
}

/// Signs `username` in on an enrolled device over plain HTTP with a new signing key, as the app
/// does at an online sign-in; several staff may share one device this way.
pub async fn sign_in_on(server: &str, device_id: &str, secret: &str, clinic: &str, kek: &str, username: &str) -> RawDevice {
    let signing_key = anola_protocol::signing::StaffKey::from_seed(&rand_seed());
    let resp = reqwest::Client::new()
        .post(format!("{server}/auth/login"))
        .header(anola_protocol::auth::DEVICE_KEY_HEADER, format!("{device_id}:{secret}"))
        .json(&json!({"username": username, "password": STAFF_PASSWORD,
                      "signing_key": anola_protocol::signing::public_key_b64(&signing_key.public())}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "staff sign-in on the device: {}", resp.status());
    let login: LoginResponse = resp.json().await.unwrap();
    assert_eq!(
        login.signing_key_id,
        Some(signing_key.id()),
        "the sign-in registers the signing key"
    );
    RawDevice {
        signing_key,
        device_id: device_id.to_owned(),
        secret: secret.to_owned(),
        access_token: login.tokens.access_token,
        refresh_token: login.tokens.refresh_token,
        user_id: login.user.id,
        clinic_id: clinic.to_owned(),
        kek: kek.to_owned(),
    }
}

/// Another staff member (`staff_role`, created if needed) signed in on `dev`'s device.
pub async fn colleague_on(server: &str, dev: &RawDevice, staff_role: Role) -> RawDevice {
    let token = admin_token(server).await;
    let username = ensure_staff(server, &token, &dev.clinic_id, staff_role, None).await;
    sign_in_on(server, &dev.device_id, &dev.secret, &dev.clinic_id, &dev.kek, &username).await
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(16) {
        chunk.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    seed
}

/// Creates the bootstrap administrator in an in-process server's store (what the binary does at
/// start-up from `server_env()`).
pub async fn bootstrap_in_process<S: anola_sync_server::Store>(store: &S) {
    anola_sync_server::auth::users::bootstrap_admin(store, ADMIN, ADMIN_PASSWORD, Some(ADMIN_TOTP_SECRET))
        .await
        .expect("bootstrap administrator");
}
