//! The vault: `vault.json` next to the replica, the device's only readable state before sign-in.
//!
//! It holds no secret in clear except the device id and secret, which alone grant nothing (every
//! sync request also needs a staff member's token). Everything else is either public within the
//! clinic (who the staff are) or wrapped: the replica's data key under the server-held device key,
//! and once per staff member under a key derived from their password (offline sign-in).
//!
//! Offline sign-in lockout (as in Simple.org's app): `MAX_FAILURES` consecutive wrong passwords lock
//! that staff member on this device for `LOCKOUT_SECS`. The counter lives in the vault so it
//! survives restarts; someone who edits the file to reset it still pays one Argon2id derivation per
//! guess, which is what protects the key.
//!
//! Written atomically: a temporary file is written and fsynced, then renamed over the old one, and
//! the directory is fsynced, so a crash leaves either the old or the new vault.

use super::kdf::KdfParams;
use super::wrap::{unwrap, unwrap_staff_key, wrap, wrap_staff_key, UnwrapError, Wrapped};
use super::DataKey;
use anola_protocol::access::Role;
use anola_protocol::auth::{AuditEntry, SessionUser};
use anola_protocol::signing::{self, StaffKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub const VAULT_FILE: &str = "vault.json";
/// Consecutive wrong offline passwords before a lockout.
pub const MAX_FAILURES: u32 = 5;
/// How long an offline lockout lasts.
pub const LOCKOUT_SECS: i64 = 20 * 60;
/// Sign-in audit entries kept while the replica cannot be opened (oldest dropped beyond).
pub const MAX_PENDING_AUDIT: usize = 1000;
const VERSION: u32 = 1;

/// The device's enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: String,
    pub device_secret: String,
    pub clinic_id: String,
    pub role: Role,
    #[serde(default)]
    pub field_worker_id: Option<String>,
    pub name: String,
    pub enrolled_at: String,
}

impl DeviceRecord {
    /// The `x-anola-device-key` header value.
    pub fn header(&self) -> String {
        format!("{}:{}", self.device_id, self.device_secret)
    }
}

/// One staff member who signed in online on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    pub user: SessionUser,
    pub kdf: KdfParams,
    /// The data key under Argon2id(password).
    pub wrapped_key: Wrapped,
    /// This staff member's signing key on this device (ADR 0014): its public part in the clear
    /// (base64), its private part under the same Argon2id(password) key as the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_public: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<Wrapped>,
    /// Whether the server confirmed the key. A key made at an offline sign-in is not registered
    /// until this staff member's next online sign-in; what it signs waits in the outbox until then.
    #[serde(default = "registered_default")]
    pub signing_registered: bool,
    /// Consecutive failed offline (or refused online) sign-ins.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Unix seconds until which offline sign-in is refused.
    #[serde(default)]
    pub locked_until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per sign-in: boxing the key would buy nothing
pub enum PasswordCheck {
    /// The data key, and the staff member's signing key when they have one on this device.
    Ok(DataKey, Option<StaffKey>),
    Wrong {
        attempts_left: u32,
    },
    /// Locked until this unix second (now, or by this failure).
    Locked {
        until: i64,
    },
}

fn user_aad(device_id: &str, user_id: Uuid) -> Vec<u8> {
    format!("anola/replica-key/user/v1/{device_id}/{user_id}").into_bytes()
}

fn registered_default() -> bool {
    true
}

fn signing_aad(device_id: &str, user_id: Uuid) -> Vec<u8> {
    format!("anola/signing-key/user/v1/{device_id}/{user_id}").into_bytes()
}

/// A password-derived key with the parameters that derived it: what a vault entry is wrapped under.
pub struct PasswordKey {
    pub kdf: KdfParams,
    pub kek: zeroize::Zeroizing<[u8; 32]>,
}

impl PasswordKey {
    /// A fresh salt and the current parameters.
    pub fn derive_new(password: &str) -> Result<PasswordKey, super::kdf::KdfError> {
        let kdf = KdfParams::new_random();
        let kek = kdf.derive(password.as_bytes())?;
        Ok(PasswordKey { kdf, kek })
    }
}

fn device_aad(device_id: &str) -> Vec<u8> {
    format!("anola/replica-key/device/v1/{device_id}").into_bytes()
}

impl UserEntry {
    /// Wraps `key` for `user` under their password (fresh salt, current parameters).
    pub fn new(device_id: &str, user: SessionUser, password: &str, key: &DataKey) -> Result<UserEntry, super::kdf::KdfError> {
        Ok(Self::wrapped(device_id, user, PasswordKey::derive_new(password)?, key, None))
    }

    /// Wraps `key` and `signer` for `user` under an already derived password key.
    pub fn wrapped(device_id: &str, user: SessionUser, pk: PasswordKey, key: &DataKey, signer: Option<&StaffKey>) -> UserEntry {
        let (signing_public, signing_key) = match signer {
            Some(s) => (
                Some(signing::public_key_b64(&s.public())),
                Some(wrap_staff_key(&pk.kek, s, &signing_aad(device_id, user.id))),
            ),
            None => (None, None),
        };
        UserEntry {
            wrapped_key: wrap(&pk.kek, key, &user_aad(device_id, user.id)),
            signing_public,
            signing_key,
            signing_registered: true,
            user,
            kdf: pk.kdf,
            failed_attempts: 0,
            locked_until: None,
        }
    }

    /// With the right password: the password key this entry is wrapped under and the signing key
    /// it holds. Counts nothing (the server decides an online sign-in).
    pub fn open_signing_key(&self, device_id: &str, password: &str) -> Option<(PasswordKey, StaffKey)> {
        let wrapped = self.signing_key.as_ref()?;
        let kek = self.kdf.derive(password.as_bytes()).ok()?;
        let key = unwrap_staff_key(&kek, wrapped, &signing_aad(device_id, self.user.id)).ok()?;
        Some((
            PasswordKey {
                kdf: self.kdf.clone(),
                kek,
            },
            key,
        ))
    }

    /// The lockout end, if one is in force at `now` (unix seconds).
    pub fn locked_at(&self, now: i64) -> Option<i64> {
        self.locked_until.filter(|u| *u > now)
    }

    /// Counts one failed sign-in; returns the lockout end if this failure started one.
    pub fn record_failure(&mut self, now: i64) -> Option<i64> {
        if self.locked_until.is_some_and(|u| u <= now) {
            // An expired lockout starts a fresh count.
            self.locked_until = None;
        }
        self.failed_attempts += 1;
        if self.failed_attempts >= MAX_FAILURES {
            self.failed_attempts = 0;
            self.locked_until = Some(now + LOCKOUT_SECS);
            return self.locked_until;
        }
        None
    }

    pub fn record_success(&mut self) {
        self.failed_attempts = 0;
        self.locked_until = None;
    }

    /// Offline sign-in: checks the lockout, then the password (the GCM tag is the verifier), and
    /// updates the counter.
    pub fn check_password(&mut self, device_id: &str, password: &str, now: i64) -> PasswordCheck {
        if let Some(until) = self.locked_at(now) {
            return PasswordCheck::Locked { until };
        }
        let result = self
            .kdf
            .derive(password.as_bytes())
            .map_err(|_| UnwrapError::Malformed)
            .and_then(|kek| Ok((unwrap(&kek, &self.wrapped_key, &user_aad(device_id, self.user.id))?, kek)));
        match result {
            Ok((k, kek)) => {
                self.record_success();
                // The password opened the data key; the signing key is under the same key. If this
                // entry has none (it predates signatures) or it does not open (damaged), one is
                // made now and registered at this staff member's next online sign-in; what it
                // signs meanwhile waits on the device (ADR 0014).
                let aad = signing_aad(device_id, self.user.id);
                let kept = self.signing_key.as_ref().and_then(|w| unwrap_staff_key(&kek, w, &aad).ok());
                let signer = match kept {
                    Some(s) => s,
                    None => {
                        let s = super::new_staff_key();
                        self.signing_public = Some(signing::public_key_b64(&s.public()));
                        self.signing_key = Some(wrap_staff_key(&kek, &s, &aad));
                        self.signing_registered = false;
                        s
                    }
                };
                PasswordCheck::Ok(k, Some(signer))
            }
            Err(_) => match self.record_failure(now) {
                Some(until) => PasswordCheck::Locked { until },
                None => PasswordCheck::Wrong {
                    attempts_left: MAX_FAILURES - self.failed_attempts,
                },
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    pub version: u32,
    #[serde(default)]
    pub device: Option<DeviceRecord>,
    /// The data key under the server-held `device_kek`.
    #[serde(default)]
    pub replica_key: Option<Wrapped>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// Sign-in events recorded while the replica was closed; moved into it at the next sign-in.
    #[serde(default)]
    pub pending_audit: Vec<AuditEntry>,
    /// Shown on the sign-in screen (e.g. after a remote wipe).
    #[serde(default)]
    pub notice: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("vault {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("vault {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> VaultError {
    VaultError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

impl Vault {
    pub fn new() -> Vault {
        Vault {
            version: VERSION,
            ..Default::default()
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(VAULT_FILE)
    }

    /// The vault in `dir`; `None` when there is none (a device never enrolled).
    pub fn load(dir: &Path) -> Result<Option<Vault>, VaultError> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| VaultError::Corrupt {
            path,
            message: e.to_string(),
        })
    }

    /// Writes the vault atomically (temp file, fsync, rename, directory fsync).
    pub fn save(&self, dir: &Path) -> Result<(), VaultError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let path = Self::path(dir);
        let tmp = dir.join(format!(".{VAULT_FILE}.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| io_err(&path, e))?;
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(|e| io_err(&tmp, e))?;
            f.write_all(&bytes).map_err(|e| io_err(&tmp, e))?;
            f.sync_all().map_err(|e| io_err(&tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn delete(dir: &Path) -> Result<(), VaultError> {
        let path = Self::path(dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    pub fn wrap_for_device(&mut self, device_kek: &[u8; 32], key: &DataKey) {
        let id = self.device.as_ref().map(|d| d.device_id.clone()).unwrap_or_default();
        self.replica_key = Some(wrap(device_kek, key, &device_aad(&id)));
    }

    pub fn unwrap_with_device_kek(&self, device_kek: &[u8; 32]) -> Result<DataKey, UnwrapError> {
        let id = self.device.as_ref().map(|d| d.device_id.as_str()).unwrap_or_default();
        let w = self.replica_key.as_ref().ok_or(UnwrapError::Malformed)?;
        unwrap(device_kek, w, &device_aad(id))
    }

    /// The ids of the staff's signing keys here that the server has not confirmed yet.
    pub fn unregistered_keys(&self) -> Vec<String> {
        self.users
            .iter()
            .filter(|u| !u.signing_registered)
            .filter_map(|u| u.signing_public.as_deref().and_then(signing::public_key_from_b64))
            .map(|public| signing::key_id(&public))
            .collect()
    }

    pub fn user(&self, username: &str) -> Option<&UserEntry> {
        self.users.iter().find(|u| u.user.username.eq_ignore_ascii_case(username))
    }

    pub fn user_mut(&mut self, username: &str) -> Option<&mut UserEntry> {
        self.users.iter_mut().find(|u| u.user.username.eq_ignore_ascii_case(username))
    }

    /// Adds or replaces the entry of `entry.user.id`.
    pub fn put_user(&mut self, entry: UserEntry) {
        self.users.retain(|u| u.user.id != entry.user.id);
        self.users.push(entry);
    }

    pub fn remove_user(&mut self, id: Uuid) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.user.id != id);
        before != self.users.len()
    }

    pub fn push_audit(&mut self, e: AuditEntry) {
        self.pending_audit.push(e);
        if self.pending_audit.len() > MAX_PENDING_AUDIT {
            let extra = self.pending_audit.len() - MAX_PENDING_AUDIT;
            self.pending_audit.drain(..extra);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use anola_protocol::access::UserType;

    pub(crate) fn user(name: &str, role: Role) -> SessionUser {
        SessionUser {
            id: Uuid::new_v4(),
            username: name.into(),
            display_name: name.into(),
            user_type: UserType::Provider,
            role: Some(role),
            clinic_id: Some("main".into()),
            field_worker_id: None,
            platform_admin: false,
            totp_enabled: false,
            disabled_at: None,
            patient_id: None,
        }
    }

    #[test]
    fn password_unwraps_and_wrong_password_fails() {
        let key = DataKey::random();
        let mut e = UserEntry::new("dev1", user("amina", Role::Clinician), "correct horse", &key).unwrap();
        assert!(matches!(e.check_password("dev1", "correct horse", 0), PasswordCheck::Ok(k, Some(_)) if k == key));
        assert_eq!(e.check_password("dev1", "wrong", 0), PasswordCheck::Wrong { attempts_left: 4 });
        // Bound to the device: the same entry copied into another device's vault does not open.
        assert!(matches!(e.check_password("dev2", "correct horse", 0), PasswordCheck::Wrong { .. }));
        // The password is not stored anywhere in the entry.
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("correct horse"));
    }

    #[test]
    fn lockout_after_five_failures_and_expiry() {
        let key = DataKey::random();
        let mut e = UserEntry::new("dev1", user("amina", Role::Clinician), "pw-right", &key).unwrap();
        let t0 = 1_000_000;
        for left in (1..MAX_FAILURES).rev() {
            assert_eq!(e.check_password("dev1", "nope", t0), PasswordCheck::Wrong { attempts_left: left });
        }
        let until = t0 + LOCKOUT_SECS;
        assert_eq!(e.check_password("dev1", "nope", t0), PasswordCheck::Locked { until });
        // Locked: even the right password is refused, without deriving anything.
        assert_eq!(e.check_password("dev1", "pw-right", t0 + 60), PasswordCheck::Locked { until });
        assert_eq!(e.check_password("dev1", "pw-right", until - 1), PasswordCheck::Locked { until });
        // Expired: the right password works and the counter is reset.
        assert!(matches!(e.check_password("dev1", "pw-right", until), PasswordCheck::Ok(k, Some(_)) if k == key));
        assert_eq!(e.failed_attempts, 0);
        assert_eq!(e.locked_until, None);
    }

    #[test]
    fn a_success_resets_the_count() {
        let key = DataKey::random();
        let mut e = UserEntry::new("d", user("a", Role::FrontDesk), "pw", &key).unwrap();
        for _ in 0..4 {
            e.check_password("d", "x", 0);
        }
        assert!(matches!(e.check_password("d", "pw", 0), PasswordCheck::Ok(..)));
        assert_eq!(e.check_password("d", "x", 0), PasswordCheck::Wrong { attempts_left: 4 });
    }

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Vault::load(dir.path()).unwrap(), None);
        let mut v = Vault::new();
        v.device = Some(DeviceRecord {
            device_id: "d1".into(),
            device_secret: "s".into(),
            clinic_id: "main".into(),
            role: Role::Clinician,
            field_worker_id: None,
            name: "laptop".into(),
            enrolled_at: "2026-01-01T00:00:00Z".into(),
        });
        let key = DataKey::random();
        v.wrap_for_device(&[3u8; 32], &key);
        v.save(dir.path()).unwrap();
        let back = Vault::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, v);
        assert_eq!(back.unwrap_with_device_kek(&[3u8; 32]).unwrap(), key);
        assert!(back.unwrap_with_device_kek(&[4u8; 32]).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(VAULT_FILE)]);
    }

    #[test]
    fn the_signing_key_opens_with_the_password_only() {
        let key = DataKey::random();
        let signer = StaffKey::from_seed(&[9; 32]);
        let pk = PasswordKey::derive_new("pw-right").unwrap();
        let mut e = UserEntry::wrapped("dev1", user("amina", Role::Clinician), pk, &key, Some(&signer));
        assert_eq!(
            e.signing_public.as_deref(),
            Some(signing::public_key_b64(&signer.public()).as_str())
        );
        assert!(e.open_signing_key("dev1", "pw-wrong").is_none());
        let (reopened, k) = e.open_signing_key("dev1", "pw-right").unwrap();
        assert_eq!(k, signer);
        // Re-wrapping under the password key it opened with keeps both keys.
        let again = UserEntry::wrapped("dev1", e.user.clone(), reopened, &key, Some(&k));
        assert_eq!(again.kdf, e.kdf);
        assert_eq!(
            e.check_password("dev1", "pw-right", 0),
            PasswordCheck::Ok(key.clone(), Some(signer.clone()))
        );
        // Bound to its device and user: the wrap does not open elsewhere.
        assert!(e.open_signing_key("dev2", "pw-right").is_none());
    }
}
