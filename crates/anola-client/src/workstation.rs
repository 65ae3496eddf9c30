//! `Workstation`: the clinic device as the app and the CLI see it — enrolment, sign-in (online and
//! offline), lock and quick PIN unlock, sign-out, remote wipe — handing out the unlocked `Clinic`.
//!
//! Why it is built this way (docs/security.md):
//!
//! - **Opening reads the vault, never the replica.** The replica is encrypted and its key is only
//!   reachable through a sign-in: online, the server returns the device's key-encryption secret
//!   (`device_kek`) to a staff member of the device's clinic; offline, a staff member who signed in
//!   online on this device before unwraps their own copy of the key with their password.
//! - **Offline sign-in is limited by a lockout** (5 consecutive failures lock that account on this
//!   device for 20 minutes); online refusals of a password count too.
//! - **The PIN is a convenience for the same person, in this process only.** The data key is kept
//!   in memory wrapped under a PIN-derived key; nothing PIN-related is ever written to disk, because
//!   a short PIN on disk could be brute-forced offline and would become the real strength of the
//!   encryption (see `security::pin`). Five wrong PINs drop it and the password is required.
//! - **Tokens stay in memory.** The refresh token is never written to the vault; a restart needs a
//!   sign-in. After an offline sign-in there are no tokens: work continues locally and syncing
//!   waits for an online sign-in (`DeviceState::online_session`).
//! - **A revoked device erases itself** at the first answer `device_revoked`: replica files and the
//!   vault are deleted and the keys dropped; a notice explains it on the next screen.
//! - **Plain HTTP is refused** except to this machine, so passwords and the device key never cross
//!   a network in clear unless an operator explicitly allows it.

use crate::clinic::{Actor, Clinic, ClinicConfig, SecurityEvent, SecurityHook};
use crate::error::ClientError;
use crate::security::pin::{valid_pin, PinOutcome, PinSlot};
use crate::security::vault::{DeviceRecord, PasswordCheck, PasswordKey, UserEntry, Vault};
use crate::security::{key_from_b64, new_staff_key, DataKey};
use crate::store::audit::entry as audit_entry;
use crate::store::{LocalStore, Scope, Signer, DB_FILE};
use crate::sync::round::client_error;
use crate::sync::transport::{Credentials, Transport, TransportError};
use anola_protocol::access::Role;
use anola_protocol::auth::{AuditAction, AuditEntry, EnrolRequest, EnrolResponse, LoginRequest, LoginResponse, SessionUser};
use anola_protocol::signing::{self, StaffKey};
use anola_protocol::ErrorCode;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Shown after a remote wipe.
pub const REVOKED_NOTICE: &str = "This device was revoked by an administrator; its local data was erased.";
/// Default inactivity before the device locks itself.
pub const DEFAULT_AUTO_LOCK: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone)]
pub struct WorkstationConfig {
    /// Holds `clinic.sqlite3` (the encrypted replica) and `vault.json`.
    pub data_dir: PathBuf,
    pub server_url: String,
    /// Allow `http://` to another machine (development only; passwords would cross in clear).
    pub allow_insecure_http: bool,
    /// Lock after this long without `touch()`; zero never locks.
    pub auto_lock_after: Duration,
    /// Start the clinic's background sync task (on the current tokio runtime) at each sign-in.
    pub background_sync: bool,
    /// The background task's polling interval when the server does not hold live pulls.
    pub idle_interval: Duration,
}

impl WorkstationConfig {
    pub fn new(data_dir: impl Into<PathBuf>, server_url: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            server_url: server_url.into(),
            allow_insecure_http: false,
            auto_lock_after: DEFAULT_AUTO_LOCK,
            background_sync: false,
            idle_interval: crate::sync::task::IDLE_INTERVAL,
        }
    }
}

/// The enrolment, as screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSummary {
    pub device_id: String,
    pub name: String,
    pub clinic_id: String,
    /// The ceiling of what anyone may do on this device.
    pub role: Role,
    pub field_worker_id: Option<String>,
}

/// A staff member who may sign in on this device offline (unlock screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownUser {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Option<Role>,
    /// RFC 3339, while an offline lockout is in force.
    pub locked_until: Option<String>,
}

/// Everything the sign-in, lock and main screens need to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceState {
    pub enrolled: bool,
    pub device: Option<DeviceSummary>,
    /// Who is signed in (also while locked: the lock screen names them).
    pub user: Option<SessionUser>,
    /// The role they act in here: their own, never more than the device's.
    pub role: Option<Role>,
    /// Signed in but locked: `unlock_with_pin` (when `pin_set`) or `sign_in` again.
    pub locked: bool,
    pub pin_set: bool,
    /// The session holds server tokens (an online sign-in): sync can run.
    pub online_session: bool,
    pub known_users: Vec<KnownUser>,
    pub notice: Option<String>,
    /// Kiosk mode: self check-in only (always on a kiosk-enrolled device).
    pub kiosk: bool,
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(unix_secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

struct Session {
    user: SessionUser,
    actor: Actor,
    /// `None` while locked.
    clinic: Option<Arc<Clinic>>,
    /// The data key, only while unlocked (to set a PIN).
    key: Option<DataKey>,
    /// The staff member's signing key, only while unlocked (ADR 0014).
    signer: Option<Signer>,
    pin: Option<PinSlot>,
    credentials: Arc<Credentials>,
    last_activity_ms: i64,
    /// Kiosk mode: the clinic acts as role kiosk until a staff PIN leaves it.
    kiosk: bool,
}

#[derive(Default)]
struct State {
    vault: Option<Vault>,
    session: Option<Session>,
}

struct Shared {
    cfg: WorkstationConfig,
    transport: Transport,
    clock: RwLock<Clock>,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

/// The device. Cheap to clone (one shared state).
#[derive(Clone)]
pub struct Workstation {
    shared: Arc<Shared>,
}

/// Refuses `http://` to anything but this machine unless `allow_insecure_http`.
pub fn check_server_url(url: &str, allow_insecure_http: bool) -> Result<(), ClientError> {
    let u = reqwest::Url::parse(url).map_err(|e| ClientError::InsecureServer {
        message: format!("the server address {url:?} is not a URL: {e}"),
    })?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_insecure_http => Ok(()),
        "http" => Err(ClientError::InsecureServer {
            message: format!(
                "refusing plain http:// to {}: passwords and device keys would cross the network unencrypted; use https:// (or allow insecure HTTP for development)",
                u.host_str().unwrap_or("?")
            ),
        }),
        other => Err(ClientError::InsecureServer {
            message: format!("unsupported server URL scheme {other}: use https://"),
        }),
    }
}

fn storage(e: impl std::fmt::Display) -> ClientError {
    ClientError::Storage { message: e.to_string() }
}

/// Deletes the replica's files (database, WAL, shared memory).
fn remove_replica_files(dir: &Path) -> Result<(), ClientError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = dir.join(format!("{DB_FILE}{suffix}"));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(storage(format!("cannot erase {}: {e}", p.display()))),
        }
    }
    Ok(())
}

/// A replica written before encryption (plain SQLite) is encrypted in place under `key`, so its
/// unsent changes survive enrolment; any other leftover (encrypted under a lost key) is erased.
fn adopt_existing_replica(dir: &Path, key: &DataKey) -> Result<(), ClientError> {
    let path = dir.join(DB_FILE);
    if !path.exists() {
        return Ok(());
    }
    let plain = rusqlite::Connection::open(&path).ok().filter(|c| {
        c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .is_ok()
    });
    let Some(conn) = plain else {
        return remove_replica_files(dir);
    };
    let tmp = dir.join(format!("{DB_FILE}.encrypting"));
    let _ = std::fs::remove_file(&tmp);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS encrypted KEY \"x'{}'\"", key.hex().as_str()),
        [tmp.to_string_lossy()],
    )?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"))?;
    drop(conn);
    remove_replica_files(dir)?;
    std::fs::rename(&tmp, &path).map_err(storage)?;
    Ok(())
}

impl Workstation {
    /// Reads the vault (never the replica) and checks the server address.
    pub fn open(cfg: WorkstationConfig) -> Result<Workstation, ClientError> {
        check_server_url(&cfg.server_url, cfg.allow_insecure_http)?;
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| storage(format!("cannot create {}: {e}", cfg.data_dir.display())))?;
        let vault = Vault::load(&cfg.data_dir).map_err(storage)?;
        let ws = Workstation {
            shared: Arc::new(Shared {
                transport: Transport::new(&cfg.server_url),
                cfg,
                clock: RwLock::new(Arc::new(system_ms)),
                state: Mutex::new(State { vault, session: None }),
                changed: watch::channel(0).0,
            }),
        };
        ws.spawn_auto_lock_timer();
        Ok(ws)
    }

    fn spawn_auto_lock_timer(&self) {
        if self.shared.cfg.auto_lock_after.is_zero() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(self.auto_lock_task());
        }
    }

    /// The inactivity timer as a future, for apps that open the workstation outside a tokio
    /// runtime and spawn it themselves (`open` spawns it when called inside one). Ends when the
    /// workstation is dropped.
    pub fn auto_lock_task(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let period = self.shared.cfg.auto_lock_after;
        let tick = (period / 4).clamp(Duration::from_secs(1), Duration::from_secs(15));
        async move {
            if period.is_zero() {
                return;
            }
            loop {
                tokio::time::sleep(tick).await;
                let Some(shared) = weak.upgrade() else { return };
                Workstation { shared }.check_auto_lock();
            }
        }
    }

    /// Replaces the clock (unix milliseconds): tests of lockouts and auto-lock.
    #[doc(hidden)]
    pub fn set_clock(&self, clock: impl Fn() -> i64 + Send + Sync + 'static) {
        *self.shared.clock.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(clock);
    }

    fn now_ms(&self) -> i64 {
        (self.shared.clock.read().unwrap_or_else(|p| p.into_inner()))()
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ticks whenever `state()` may have changed (sign-in, lock, wipe…).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    pub fn config(&self) -> &WorkstationConfig {
        &self.shared.cfg
    }

    /// What the screens show now.
    pub fn state(&self) -> DeviceState {
        self.check_auto_lock();
        let now_s = self.now_ms() / 1000;
        let st = self.st();
        let device = st.vault.as_ref().and_then(|v| v.device.as_ref());
        let session = st.session.as_ref();
        DeviceState {
            enrolled: device.is_some(),
            device: device.map(|d| DeviceSummary {
                device_id: d.device_id.clone(),
                name: d.name.clone(),
                clinic_id: d.clinic_id.clone(),
                role: d.role,
                field_worker_id: d.field_worker_id.clone(),
            }),
            user: session.map(|s| s.user.clone()),
            role: session.map(|s| s.actor.role),
            locked: session.is_some_and(|s| s.clinic.is_none()),
            pin_set: session.is_some_and(|s| s.pin.is_some()),
            online_session: session.is_some_and(|s| s.credentials.has_session()),
            known_users: st
                .vault
                .as_ref()
                .map(|v| {
                    v.users
                        .iter()
                        .map(|u| KnownUser {
                            user_id: u.user.id,
                            username: u.user.username.clone(),
                            display_name: u.user.display_name.clone(),
                            role: u.user.role,
                            locked_until: u.locked_at(now_s).map(rfc3339),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            notice: st.vault.as_ref().and_then(|v| v.notice.clone()),
            kiosk: session.is_some_and(|s| s.kiosk),
        }
    }

    fn device(&self) -> Result<DeviceRecord, ClientError> {
        self.st()
            .vault
            .as_ref()
            .and_then(|v| v.device.clone())
            .ok_or_else(|| ClientError::NotEnrolled {
                message: "this device is not enrolled in a clinic: enrol it with a code from a clinic administrator".into(),
            })
    }

    /// Enrols the device with a single-use code, creates its encrypted replica, and signs the staff
    /// member in online.
    pub async fn enrol(
        &self,
        code: &str,
        device_name: &str,
        username: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Result<DeviceState, ClientError> {
        if self.device().is_ok() {
            return Err(ClientError::AlreadyEnrolled {
                message: "this device is already enrolled".into(),
            });
        }
        let resp = self
            .shared
            .transport
            .enrol(&EnrolRequest {
                code: code.trim().to_owned(),
                name: device_name.to_owned(),
            })
            .await
            .map_err(client_error)?;
        self.install_enrolment(resp, device_name)?;
        self.sign_in(username, password, totp).await
    }

    /// The network-free half of enrolment: replica and vault for an enrolment the server granted.
    #[doc(hidden)]
    pub fn install_enrolment(&self, resp: EnrolResponse, device_name: &str) -> Result<(), ClientError> {
        let kek = key_from_b64(&resp.device_kek).ok_or_else(|| ClientError::Internal {
            message: "the server sent a malformed device key".into(),
        })?;
        let dir = &self.shared.cfg.data_dir;
        let key = DataKey::random();
        adopt_existing_replica(dir, &key)?;
        // Creates (or migrates) the replica under the new key, in the enrolled scope.
        LocalStore::open_scoped(
            dir,
            &Scope {
                clinic_id: resp.clinic_id.clone(),
                field_worker_id: resp.field_worker_id.clone(),
                device_id: Some(resp.device_id.clone()),
            },
            &key,
        )?;
        let mut vault = Vault::new();
        vault.device = Some(DeviceRecord {
            device_id: resp.device_id,
            device_secret: resp.device_secret,
            clinic_id: resp.clinic_id,
            role: resp.role,
            field_worker_id: resp.field_worker_id,
            name: device_name.to_owned(),
            enrolled_at: crate::store::audit::rfc3339_now(),
        });
        vault.wrap_for_device(&kek, &key);
        vault.save(dir).map_err(storage)?;
        self.st().vault = Some(vault);
        self.notify();
        Ok(())
    }

    /// Signs a staff member in: online when the server answers, otherwise offline against this
    /// device's vault (only staff who signed in online here before).
    pub async fn sign_in(&self, username: &str, password: &str, totp: Option<&str>) -> Result<DeviceState, ClientError> {
        let device = self.device()?;
        // The signing key this sign-in registers: the one this staff member already has here
        // (opened with the password, whose derived key then re-wraps the entry), else a new one.
        let kept = {
            let st = self.st();
            let entry = st.vault.as_ref().and_then(|v| v.user(username.trim())).cloned();
            drop(st);
            entry.and_then(|e| e.open_signing_key(&device.device_id, password))
        };
        let signer = kept.as_ref().map(|(_, k)| k.clone()).unwrap_or_else(new_staff_key);
        let mut req = LoginRequest {
            username: username.trim().to_owned(),
            password: password.to_owned(),
            totp: totp.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
            signing_key: Some(signing::public_key_b64(&signer.public())),
        };
        let mut answer = self.shared.transport.login(&req, Some(device.header())).await;
        // A server older than signatures does not know the field, and a server refuses it for an
        // account that may not sign on this device: sign in without registering a key (writes
        // then cannot be signed, and such a server or account cannot take them anyway).
        if let Err(TransportError::Refused { body, .. }) = &answer {
            if body.code == ErrorCode::InvalidRequest
                && (body.field.as_deref() == Some("signing_key") || body.message.contains("signing_key"))
            {
                req.signing_key = None;
                answer = self.shared.transport.login(&req, Some(device.header())).await;
            }
        }
        match answer {
            Ok(resp) => self.finish_sign_in(resp, password, Some(signer), kept.map(|(pk, _)| pk)),
            // No usable answer (unreachable, timed out, 5xx, not our protocol): sign in offline.
            // A refusal (401, 403, 423) is never bypassed this way.
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "server unavailable; offline sign-in");
                self.offline_sign_in(username.trim(), password)
            }
            Err(e) => {
                let err = client_error(e);
                self.after_refusal(username.trim(), &err);
                Err(err)
            }
        }
    }

    fn after_refusal(&self, username: &str, err: &ClientError) {
        match err {
            ClientError::DeviceRevoked { .. } => self.wipe(),
            ClientError::AccountDisabled { .. } => {
                let id = self.st().vault.as_mut().and_then(|v| v.user_mut(username).map(|u| u.user.id));
                if let Some(id) = id {
                    self.remove_user(id);
                }
            }
            ClientError::InvalidCredentials { .. } | ClientError::AccountLocked { .. } | ClientError::MfaRequired { .. } => {
                let now_s = self.now_ms() / 1000;
                let mut st = self.st();
                let Some(vault) = st.vault.as_mut() else { return };
                let device_id = vault.device.as_ref().map(|d| d.device_id.clone()).unwrap_or_default();
                let mut user_id = None;
                if let Some(u) = vault.user_mut(username) {
                    user_id = Some(u.user.id);
                    // A password the server refused counts towards the offline lockout too.
                    if matches!(err, ClientError::InvalidCredentials { .. }) {
                        u.record_failure(now_s);
                    }
                }
                vault.push_audit(audit_entry(&device_id, user_id, AuditAction::SignInFailed, None, None, None));
                if let Err(e) = vault.save(&self.shared.cfg.data_dir) {
                    tracing::warn!(error = %e, "could not save the vault");
                }
            }
            _ => {}
        }
    }

    /// Completes an online sign-in from the server's answer: unwraps the data key with the
    /// device key, re-wraps it under this user's password for offline sign-in, opens the replica.
    #[doc(hidden)]
    pub fn finish_online_sign_in(&self, resp: LoginResponse, password: &str) -> Result<DeviceState, ClientError> {
        self.finish_sign_in(resp, password, None, None)
    }

    /// `finish_online_sign_in` with the signing key the request sent and, when the vault entry was
    /// opened already, its password key. A key the server did not confirm (a server older than
    /// signatures, an account that may not sign here) is kept, unregistered: its writes wait.
    fn finish_sign_in(
        &self,
        resp: LoginResponse,
        password: &str,
        signer: Option<StaffKey>,
        password_key: Option<PasswordKey>,
    ) -> Result<DeviceState, ClientError> {
        let registered = signer
            .as_ref()
            .is_some_and(|s| resp.signing_key_id.as_deref() == Some(s.id().as_str()));
        if !resp.mfa {
            return Err(ClientError::MfaRequired {
                message: "this account must set up two-factor sign-in before it can open a clinic device".into(),
            });
        }
        if resp.user.disabled_at.is_some() {
            return Err(ClientError::AccountDisabled {
                message: "this account was disabled by an administrator".into(),
            });
        }
        let Some(kek) = resp.device_kek.as_deref().and_then(key_from_b64) else {
            return Err(ClientError::Forbidden {
                field: Some("clinic_id".into()),
                message: "this account may not open this device (it is not staff of the device's clinic)".into(),
            });
        };
        let device = self.device()?;
        let key = {
            let mut st = self.st();
            let vault = st.vault.as_mut().ok_or_else(|| ClientError::NotEnrolled {
                message: "this device is not enrolled".into(),
            })?;
            let key = vault.unwrap_with_device_kek(&kek).map_err(|_| ClientError::ReplicaUnreadable {
                message: "the server's device key does not open this device's replica key; re-enrol the device".into(),
            })?;
            let pk = match password_key {
                Some(pk) => pk,
                None => PasswordKey::derive_new(password).map_err(storage)?,
            };
            let mut entry = UserEntry::wrapped(&device.device_id, resp.user.clone(), pk, &key, signer.as_ref());
            entry.signing_registered = registered || signer.is_none();
            vault.put_user(entry);
            vault.save(&self.shared.cfg.data_dir).map_err(storage)?;
            key
        };
        let creds = Arc::new(Credentials::new(Some(device.header()), Some(resp.tokens)));
        self.open_session(resp.user, key, signer, creds, AuditAction::SignIn)
    }

    fn offline_sign_in(&self, username: &str, password: &str) -> Result<DeviceState, ClientError> {
        let device = self.device()?;
        let now_s = self.now_ms() / 1000;
        let (outcome, user) = {
            let mut st = self.st();
            let vault = st.vault.as_mut().ok_or_else(|| ClientError::NotEnrolled {
                message: "this device is not enrolled".into(),
            })?;
            let (outcome, user) = match vault.user_mut(username) {
                Some(entry) => (
                    Some(entry.check_password(&device.device_id, password, now_s)),
                    Some(entry.user.clone()),
                ),
                None => (None, None),
            };
            if !matches!(outcome, Some(PasswordCheck::Ok(..))) {
                let id = user.as_ref().map(|u| u.id);
                vault.push_audit(audit_entry(&device.device_id, id, AuditAction::SignInFailed, None, None, None));
            }
            vault.save(&self.shared.cfg.data_dir).map_err(storage)?;
            (outcome, user)
        };
        self.notify();
        match (outcome, user) {
            (Some(PasswordCheck::Ok(key, signer)), Some(user)) => {
                let creds = Arc::new(Credentials::new(Some(device.header()), None));
                self.open_session(user, key, signer, creds, AuditAction::SignIn)
            }
            (Some(PasswordCheck::Wrong { attempts_left }), _) => Err(ClientError::InvalidCredentials {
                message: format!(
                    "wrong user name or password (offline sign-in; {attempts_left} attempt(s) left before this account is locked on this device)"
                ),
            }),
            (Some(PasswordCheck::Locked { until }), _) => Err(ClientError::AccountLocked {
                until: Some(rfc3339(until)),
                message: format!("too many failed sign-ins on this device; try again after {}", rfc3339(until)),
            }),
            _ => Err(ClientError::InvalidCredentials {
                message: "wrong user name or password (the server is unreachable: offline sign-in works only for staff who signed in on this device while online)".into(),
            }),
        }
    }

    fn hook(&self) -> SecurityHook {
        let weak = Arc::downgrade(&self.shared);
        Arc::new(move |ev| {
            if let Some(shared) = weak.upgrade() {
                Workstation { shared }.on_security_event(ev);
            }
        })
    }

    fn open_clinic(
        &self,
        device: &DeviceRecord,
        actor: &Actor,
        key: &DataKey,
        signer: Option<&Signer>,
        unregistered: Vec<String>,
        creds: &Arc<Credentials>,
    ) -> Result<Arc<Clinic>, ClientError> {
        Clinic::open(ClinicConfig {
            data_dir: self.shared.cfg.data_dir.clone(),
            server_url: self.shared.cfg.server_url.clone(),
            clinic_id: device.clinic_id.clone(),
            field_worker_id: device.field_worker_id.clone(),
            device_id: Some(device.device_id.clone()),
            key: key.clone(),
            actor: actor.clone(),
            signer: signer.cloned(),
            unregistered_keys: unregistered,
            credentials: Some(creds.clone()),
            on_security_event: Some(self.hook()),
            idle_interval: self.shared.cfg.idle_interval,
        })
    }

    fn open_session(
        &self,
        user: SessionUser,
        key: DataKey,
        signing_key: Option<StaffKey>,
        creds: Arc<Credentials>,
        action: AuditAction,
    ) -> Result<DeviceState, ClientError> {
        let device = self.device()?;
        let Some(user_role) = user.role else {
            return Err(ClientError::Forbidden {
                field: Some("role".into()),
                message: "this account has no clinic role and cannot use a clinic device".into(),
            });
        };
        let actor = Actor {
            user_id: user.id,
            role: Actor::effective_role(device.role, user_role),
            field_worker_id: user.field_worker_id.clone().or_else(|| device.field_worker_id.clone()),
        };
        self.close_session(ClientError::SignedOut {
            message: "another staff member signed in on this device".into(),
        });
        let signer = signing_key.map(|key| Signer {
            key,
            display_name: user.display_name.clone(),
        });
        let unregistered = self.st().vault.as_ref().map(Vault::unregistered_keys).unwrap_or_default();
        let clinic = self.open_clinic(&device, &actor, &key, signer.as_ref(), unregistered, &creds)?;
        {
            let mut st = self.st();
            let mut events: Vec<AuditEntry> = st.vault.as_mut().map(|v| std::mem::take(&mut v.pending_audit)).unwrap_or_default();
            let mut now = audit_entry(&device.device_id, Some(user.id), action, None, None, None);
            if let Some(s) = &signer {
                s.key.sign_audit(&mut now);
            }
            events.push(now);
            clinic.record_audit(&events)?;
            if events.len() > 1 {
                if let Some(v) = st.vault.as_ref() {
                    v.save(&self.shared.cfg.data_dir).map_err(storage)?;
                }
            }
            st.session = Some(Session {
                user,
                actor,
                clinic: Some(clinic.clone()),
                key: Some(key),
                signer,
                pin: None,
                credentials: creds,
                last_activity_ms: self.now_ms(),
                kiosk: device.role == Role::Kiosk,
            });
            if device.role == Role::Kiosk {
                clinic.set_kiosk(true);
            }
        }
        if self.shared.cfg.background_sync && tokio::runtime::Handle::try_current().is_ok() {
            clinic.ensure_background_sync();
        }
        self.notify();
        Ok(self.state())
    }

    /// Closes the current session's clinic (if any) and forgets the session.
    fn close_session(&self, reason: ClientError) -> Option<Session> {
        let s = self.st().session.take();
        if let Some(c) = s.as_ref().and_then(|s| s.clinic.as_ref()) {
            c.close(reason);
        }
        s
    }

    /// Records activity: postpones the auto-lock.
    pub fn touch(&self) {
        let now = self.now_ms();
        if let Some(s) = self.st().session.as_mut() {
            if s.clinic.is_some() {
                s.last_activity_ms = now;
            }
        }
    }

    /// Locks when the inactivity limit has passed (called lazily and by a timer).
    pub fn check_auto_lock(&self) {
        let limit = self.shared.cfg.auto_lock_after;
        if limit.is_zero() {
            return;
        }
        let now = self.now_ms();
        let due = self
            .st()
            .session
            .as_ref()
            .is_some_and(|s| !s.kiosk && s.clinic.is_some() && now - s.last_activity_ms >= limit.as_millis() as i64);
        if due {
            tracing::info!("locking after inactivity");
            self.lock();
        }
    }

    /// Enters kiosk mode: the clinic handed out acts as role kiosk (`check_in` and `verify_card`
    /// only; everything else is `forbidden`) until `leave_kiosk` with the signed-in staff
    /// member's PIN. Needs a PIN set (`pin_required` otherwise). Kiosk mode does not auto-lock.
    pub fn enter_kiosk(&self) -> Result<DeviceState, ClientError> {
        let clinic = self.clinic()?;
        let device = self.device()?;
        {
            let mut st = self.st();
            let s = st.session.as_mut().ok_or_else(|| ClientError::SignedOut {
                message: "nobody is signed in".into(),
            })?;
            if s.pin.is_none() && device.role != Role::Kiosk {
                return Err(ClientError::PinRequired {
                    message: "set a PIN before entering kiosk mode: leaving it takes your PIN".into(),
                });
            }
            s.kiosk = true;
        }
        clinic.set_kiosk(true);
        self.notify();
        Ok(self.state())
    }

    /// Leaves kiosk mode with the PIN of the staff member who is signed in. Wrong PINs count as
    /// for `unlock_with_pin`: five drop the PIN, and then only a password sign-in ends kiosk mode.
    /// A kiosk-enrolled device never leaves it.
    pub fn leave_kiosk(&self, pin: &str) -> Result<DeviceState, ClientError> {
        let device = self.device()?;
        if device.role == Role::Kiosk {
            return Err(ClientError::Forbidden {
                field: None,
                message: "this device is enrolled as a kiosk: it is always in kiosk mode".into(),
            });
        }
        let mut st = self.st();
        let Some(s) = st.session.as_mut() else {
            return Err(ClientError::SignedOut {
                message: "nobody is signed in on this device".into(),
            });
        };
        if !s.kiosk {
            drop(st);
            return Ok(self.state());
        }
        let Some(slot) = s.pin.as_mut() else {
            return Err(ClientError::PinRequired {
                message: "no PIN is set any more: sign in with your password to leave kiosk mode".into(),
            });
        };
        let user_id = s.user.id;
        match slot.try_unlock(pin) {
            PinOutcome::Unlocked(..) => {
                s.kiosk = false;
                let clinic = s.clinic.clone();
                s.last_activity_ms = (self.shared.clock.read().unwrap_or_else(|p| p.into_inner()))();
                drop(st);
                if let Some(c) = clinic {
                    c.set_kiosk(false);
                }
                self.notify();
                Ok(self.state())
            }
            outcome => Err(self.pin_failed(st, &device.device_id, user_id, outcome, " to leave kiosk mode")),
        }
    }

    /// Sets a 4–8 digit PIN for quick unlock by the signed-in staff member, in this process only.
    pub fn set_pin(&self, pin: &str) -> Result<DeviceState, ClientError> {
        self.clinic()?;
        if self.st().session.as_ref().is_some_and(|s| s.kiosk) {
            return Err(ClientError::Forbidden {
                field: Some("pin".into()),
                message: "the PIN cannot be changed in kiosk mode".into(),
            });
        }
        if !valid_pin(pin) {
            return Err(ClientError::ValidationFailed {
                message: "pin: 4 to 8 digits".into(),
                errors: vec![anola_protocol::FieldError {
                    field: "pin".into(),
                    code: "invalid_pin".into(),
                    message: "4 to 8 digits".into(),
                    mutation_index: None,
                }],
            });
        }
        {
            let mut st = self.st();
            let s = st.session.as_mut().ok_or_else(|| ClientError::SignedOut {
                message: "nobody is signed in".into(),
            })?;
            let key = s.key.as_ref().ok_or_else(|| ClientError::Locked {
                message: "the device is locked".into(),
            })?;
            s.pin = PinSlot::new(pin, key, s.signer.as_ref().map(|s| &s.key));
        }
        self.notify();
        Ok(self.state())
    }

    /// Locks the device: the clinic is closed and the data key dropped (kept only PIN-wrapped in
    /// memory when a PIN is set). Unsent changes wait safely in the replica.
    pub fn lock(&self) -> DeviceState {
        let clinic = {
            let mut st = self.st();
            match st.session.as_mut() {
                Some(s) => {
                    s.key = None;
                    s.signer = None;
                    s.clinic.take()
                }
                None => None,
            }
        };
        if let Some(c) = clinic {
            let device_id = c.device_id();
            let _ = c.record_audit(&[audit_entry(
                &device_id,
                Some(c.actor().user_id),
                AuditAction::Lock,
                None,
                None,
                None,
            )]);
            c.close(ClientError::Locked {
                message: "the device is locked".into(),
            });
            self.notify();
        }
        self.state()
    }

    /// A wrong PIN (unlock or leaving kiosk mode): audited in the vault; five drop the PIN, after
    /// which only the password helps (`then` says for what).
    fn pin_failed(
        &self,
        mut st: std::sync::MutexGuard<'_, State>,
        device_id: &str,
        user_id: Uuid,
        outcome: PinOutcome,
        then: &str,
    ) -> ClientError {
        if matches!(outcome, PinOutcome::Exhausted) {
            if let Some(s) = st.session.as_mut() {
                s.pin = None;
            }
        }
        if let Some(v) = st.vault.as_mut() {
            v.push_audit(audit_entry(device_id, Some(user_id), AuditAction::UnlockFailed, None, None, None));
            let _ = v.save(&self.shared.cfg.data_dir);
        }
        drop(st);
        self.notify();
        ClientError::InvalidCredentials {
            message: match outcome {
                PinOutcome::Wrong { remaining } => format!("wrong PIN; {remaining} attempt(s) left"),
                _ => format!("too many wrong PINs: sign in with your password{then}"),
            },
        }
    }

    /// Unlocks with the PIN set in this process by the same staff member. Five wrong PINs drop the
    /// PIN: the password is then required (`sign_in`).
    pub fn unlock_with_pin(&self, pin: &str) -> Result<DeviceState, ClientError> {
        let device = self.device()?;
        let mut st = self.st();
        let Some(s) = st.session.as_mut() else {
            return Err(ClientError::SignedOut {
                message: "nobody is signed in: sign in with your password".into(),
            });
        };
        if s.clinic.is_some() {
            drop(st);
            return Ok(self.state());
        }
        let Some(slot) = s.pin.as_mut() else {
            return Err(ClientError::Locked {
                message: "no PIN is set: sign in with your password".into(),
            });
        };
        let user_id = s.user.id;
        match slot.try_unlock(pin) {
            PinOutcome::Unlocked(key, signing_key) => {
                let signer = signing_key.map(|key| Signer {
                    key,
                    display_name: s.user.display_name.clone(),
                });
                let unregistered = st.vault.as_ref().map(Vault::unregistered_keys).unwrap_or_default();
                let Some(s) = st.session.as_mut() else {
                    return Err(ClientError::SignedOut {
                        message: "nobody is signed in: sign in with your password".into(),
                    });
                };
                let clinic = self.open_clinic(&device, &s.actor, &key, signer.as_ref(), unregistered, &s.credentials)?;
                let mut unlocked = audit_entry(&device.device_id, Some(user_id), AuditAction::Unlock, None, None, None);
                if let Some(s) = &signer {
                    s.key.sign_audit(&mut unlocked);
                }
                clinic.record_audit(&[unlocked])?;
                if s.kiosk {
                    clinic.set_kiosk(true);
                }
                s.clinic = Some(clinic.clone());
                s.key = Some(key);
                s.signer = signer;
                s.last_activity_ms = (self.shared.clock.read().unwrap_or_else(|p| p.into_inner()))();
                drop(st);
                if self.shared.cfg.background_sync && tokio::runtime::Handle::try_current().is_ok() {
                    clinic.ensure_background_sync();
                }
                self.notify();
                Ok(self.state())
            }
            outcome => Err(self.pin_failed(st, &device.device_id, user_id, outcome, "")),
        }
    }

    /// Signs out: closes the clinic, drops the keys and the tokens, and revokes the session on the
    /// server when it answers (best effort, a few seconds at most).
    pub async fn sign_out(&self) -> DeviceState {
        let session = self.close_session(ClientError::SignedOut {
            message: "signed out".into(),
        });
        self.notify();
        if let Some(token) = session.and_then(|s| s.credentials.take_refresh_token()) {
            let _ = tokio::time::timeout(Duration::from_secs(3), self.shared.transport.logout(token)).await;
        }
        self.state()
    }

    /// The unlocked engine; errors `not_enrolled`, `signed_out` or `locked` otherwise. Does not
    /// count as activity (status polling must not keep a device unlocked): the app calls `touch()`
    /// on user input.
    pub fn clinic(&self) -> Result<Arc<Clinic>, ClientError> {
        self.check_auto_lock();
        let mut st = self.st();
        if st.vault.as_ref().and_then(|v| v.device.as_ref()).is_none() {
            return Err(ClientError::NotEnrolled {
                message: "this device is not enrolled in a clinic".into(),
            });
        }
        let Some(s) = st.session.as_mut() else {
            return Err(ClientError::SignedOut {
                message: "nobody is signed in on this device".into(),
            });
        };
        match &s.clinic {
            Some(c) => Ok(c.clone()),
            None => Err(ClientError::Locked {
                message: "the device is locked".into(),
            }),
        }
    }

    fn on_security_event(&self, ev: SecurityEvent) {
        match ev {
            SecurityEvent::StaffChanged(users) => {
                let gone: Vec<Uuid> = {
                    let mut st = self.st();
                    let Some(vault) = st.vault.as_mut() else { return };
                    let clinic = vault.device.as_ref().map(|d| d.clinic_id.clone());
                    let mut gone = Vec::new();
                    let mut changed = false;
                    for u in &users {
                        let Some(entry) = vault.users.iter_mut().find(|e| e.user.id == u.id) else {
                            continue;
                        };
                        let other_clinic = clinic.as_deref().is_some_and(|c| u.clinic_id.as_deref() != Some(c));
                        if u.disabled_at.is_some() || other_clinic {
                            gone.push(u.id);
                        } else if entry.user != *u {
                            entry.user = u.clone();
                            changed = true;
                        }
                    }
                    if changed {
                        let _ = vault.save(&self.shared.cfg.data_dir);
                    }
                    gone
                };
                for id in gone {
                    self.remove_user(id);
                }
            }
            SecurityEvent::DeviceRevoked => self.wipe(),
            SecurityEvent::AccountDisabled { user_id } => self.remove_user(user_id),
        }
    }

    /// Forgets a staff member on this device (account disabled or removed); signs them out if
    /// they are the one signed in.
    fn remove_user(&self, user_id: Uuid) {
        let current = {
            let mut st = self.st();
            if let Some(v) = st.vault.as_mut() {
                if v.remove_user(user_id) {
                    if let Err(e) = v.save(&self.shared.cfg.data_dir) {
                        tracing::warn!(error = %e, "could not save the vault");
                    }
                }
            }
            st.session.as_ref().is_some_and(|s| s.user.id == user_id)
        };
        if current {
            self.close_session(ClientError::AccountDisabled {
                message: "this account was disabled by an administrator".into(),
            });
        }
        self.notify();
    }

    /// Remote wipe: erases the replica and the vault and drops every key; keeps only a notice.
    fn wipe(&self) {
        tracing::warn!("device revoked: erasing local data");
        self.close_session(ClientError::DeviceRevoked {
            message: REVOKED_NOTICE.into(),
        });
        let dir = &self.shared.cfg.data_dir;
        if let Err(e) = remove_replica_files(dir) {
            tracing::error!(error = %e, "could not erase the replica");
        }
        let _ = Vault::delete(dir);
        let mut notice_only = Vault::new();
        notice_only.notice = Some(REVOKED_NOTICE.into());
        if let Err(e) = notice_only.save(dir) {
            tracing::error!(error = %e, "could not write the notice");
        }
        self.st().vault = Some(notice_only);
        self.notify();
    }
}

#[cfg(test)]
mod tests;
