//! Workstation behaviour without a server: enrolment and the first online sign-in are fed the
//! server's answers directly; every later sign-in finds the server unreachable (offline path).

use super::*;
use crate::security::b64;
use crate::security::vault::tests::user;
use anola_protocol::auth::TokenPair;
use std::sync::atomic::{AtomicI64, Ordering};

const UNREACHABLE: &str = "http://127.0.0.1:9";
const KEK: [u8; 32] = [11; 32];
const T0: i64 = 1_800_000_000_000;

struct Device {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ws: Workstation,
    now: Arc<AtomicI64>,
    user: SessionUser,
}

fn login(user: &SessionUser) -> LoginResponse {
    LoginResponse {
        tokens: TokenPair {
            access_token: "access".into(),
            expires_in: 900,
            refresh_token: "refresh".into(),
        },
        user: user.clone(),
        mfa: true,
        device_kek: Some(b64(&KEK)),
        signing_key_id: None,
    }
}

fn device(device_role: Role, user_role: Role, auto_lock: Duration) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let mut cfg = WorkstationConfig::new(&path, UNREACHABLE);
    cfg.auto_lock_after = auto_lock;
    let ws = Workstation::open(cfg).unwrap();
    let now = Arc::new(AtomicI64::new(T0));
    let n = now.clone();
    ws.set_clock(move || n.load(Ordering::SeqCst));
    assert!(!ws.state().enrolled);
    assert_eq!(ws.clinic().unwrap_err().code(), "not_enrolled");
    ws.install_enrolment(
        EnrolResponse {
            device_id: "dev-1".into(),
            device_secret: "device-secret".into(),
            clinic_id: "main".into(),
            role: device_role,
            field_worker_id: None,
            device_kek: b64(&KEK),
        },
        "Front desk laptop",
    )
    .unwrap();
    let u = user("amina", user_role);
    ws.finish_online_sign_in(login(&u), "amina-password").unwrap();
    Device {
        _dir: dir,
        path,
        ws,
        now,
        user: u,
    }
}

fn actions(c: &Clinic) -> Vec<AuditAction> {
    c.audit_log().unwrap().into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn online_then_offline_sign_in_with_lockout_and_expiry() {
    let d = device(Role::ClinicAdmin, Role::Clinician, Duration::ZERO);
    let s = d.ws.state();
    assert!(s.enrolled && !s.locked && s.online_session);
    assert_eq!(s.role, Some(Role::Clinician));
    assert_eq!(s.known_users.len(), 1);
    assert_eq!(s.device.as_ref().unwrap().name, "Front desk laptop");
    let c = d.ws.clinic().unwrap();
    assert_eq!(c.device_id(), "dev-1");
    assert_eq!(actions(&c), vec![AuditAction::SignIn]);
    drop(c);
    d.ws.sign_out().await;
    assert_eq!(d.ws.clinic().unwrap_err().code(), "signed_out");

    // The server is unreachable: offline sign-in against the vault.
    let s = d.ws.sign_in("amina", "amina-password", None).await.unwrap();
    assert!(!s.online_session && s.user.as_ref().unwrap().id == d.user.id);
    d.ws.sign_out().await;
    assert_eq!(d.ws.sign_in("nobody", "x", None).await.unwrap_err().code(), "invalid_credentials");
    for _ in 0..4 {
        let e = d.ws.sign_in("amina", "wrong", None).await.unwrap_err();
        assert_eq!(e.code(), "invalid_credentials");
    }
    match d.ws.sign_in("amina", "wrong", None).await.unwrap_err() {
        ClientError::AccountLocked { until, .. } => assert_eq!(until.as_deref(), Some(rfc3339(T0 / 1000 + 20 * 60).as_str())),
        other => panic!("{other:?}"),
    }
    assert!(d.ws.state().known_users[0].locked_until.is_some());
    // Locked: the right password is refused too, until 20 minutes have passed.
    d.now.store(T0 + 19 * 60 * 1000, Ordering::SeqCst);
    assert_eq!(
        d.ws.sign_in("amina", "amina-password", None).await.unwrap_err().code(),
        "account_locked"
    );
    d.now.store(T0 + 20 * 60 * 1000, Ordering::SeqCst);
    d.ws.sign_in("amina", "amina-password", None).await.unwrap();
    assert!(d.ws.state().known_users[0].locked_until.is_none());
    // Failed attempts made while the replica was closed were moved into its audit trail.
    let log = actions(&d.ws.clinic().unwrap());
    assert_eq!(log.iter().filter(|a| **a == AuditAction::SignInFailed).count(), 7);
    assert_eq!(log.iter().filter(|a| **a == AuditAction::SignIn).count(), 3);
    // The vault holds no password and no PIN, only wrapped keys.
    let vault = std::fs::read_to_string(d.path.join(crate::security::vault::VAULT_FILE)).unwrap();
    assert!(!vault.contains("amina-password") && !vault.contains("refresh"));
}

#[tokio::test]
async fn pin_quick_unlock_and_fallback_to_password() {
    let d = device(Role::Clinician, Role::Clinician, Duration::ZERO);
    assert_eq!(d.ws.set_pin("12").unwrap_err().code(), "validation_failed");
    d.ws.set_pin("2468").unwrap();
    let before = d.ws.clinic().unwrap();
    let s = d.ws.lock();
    assert!(s.locked && s.pin_set && s.user.is_some());
    assert_eq!(d.ws.clinic().unwrap_err().code(), "locked");
    // A handle taken before the lock is closed too.
    assert_eq!(before.list_patients("", 5).unwrap_err().code(), "locked");
    d.ws.unlock_with_pin("2468").unwrap();
    let c = d.ws.clinic().unwrap();
    assert_eq!(actions(&c), vec![AuditAction::SignIn, AuditAction::Lock, AuditAction::Unlock]);
    d.ws.lock();
    for _ in 0..4 {
        assert_eq!(d.ws.unlock_with_pin("0000").unwrap_err().code(), "invalid_credentials");
    }
    let e = d.ws.unlock_with_pin("0000").unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    let s = d.ws.state();
    assert!(s.locked && !s.pin_set);
    // The PIN no longer opens anything: the password is required.
    assert_eq!(d.ws.unlock_with_pin("2468").unwrap_err().code(), "locked");
    d.ws.sign_in("amina", "amina-password", None).await.unwrap();
    assert!(!d.ws.state().locked);
    // Nothing PIN-related was written: only the replica and the vault exist.
    let mut names: Vec<String> = std::fs::read_dir(&d.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(DB_FILE))
        .collect();
    names.sort();
    assert_eq!(names, vec![crate::security::vault::VAULT_FILE.to_owned()]);
    let log = actions(&d.ws.clinic().unwrap());
    assert_eq!(log.iter().filter(|a| **a == AuditAction::UnlockFailed).count(), 5);
}

#[test]
fn locks_itself_after_inactivity() {
    let d = device(Role::Clinician, Role::Clinician, Duration::from_secs(60));
    d.now.fetch_add(59_000, Ordering::SeqCst);
    d.ws.touch();
    d.now.fetch_add(59_000, Ordering::SeqCst);
    // Using the clinic (e.g. status polling) is not activity; touch() is.
    d.ws.clinic().unwrap();
    d.ws.touch();
    d.now.fetch_add(59_000, Ordering::SeqCst);
    assert!(!d.ws.state().locked);
    d.now.fetch_add(2_000, Ordering::SeqCst);
    assert!(d.ws.state().locked);
    assert_eq!(d.ws.clinic().unwrap_err().code(), "locked");
}

#[test]
fn the_device_role_caps_the_user_role() {
    let d = device(Role::Kiosk, Role::ClinicAdmin, Duration::ZERO);
    assert_eq!(d.ws.state().role, Some(Role::Kiosk));
    assert_eq!(d.ws.clinic().unwrap().actor().role, Role::Kiosk);
}

#[test]
fn revoked_device_erases_itself() {
    let d = device(Role::Clinician, Role::Clinician, Duration::ZERO);
    let c = d.ws.clinic().unwrap();
    assert!(d.path.join(DB_FILE).exists());
    d.ws.on_security_event(SecurityEvent::DeviceRevoked);
    assert_eq!(c.list_patients("", 1).unwrap_err().code(), "device_revoked");
    let s = d.ws.state();
    assert!(!s.enrolled && s.user.is_none() && s.known_users.is_empty());
    assert_eq!(s.notice.as_deref(), Some(REVOKED_NOTICE));
    assert_eq!(d.ws.clinic().unwrap_err().code(), "not_enrolled");
    for f in [DB_FILE.to_owned(), format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
        assert!(!d.path.join(f).exists());
    }
    // The notice survives a restart; nothing else does.
    let again = Workstation::open(WorkstationConfig::new(&d.path, UNREACHABLE)).unwrap();
    assert_eq!(again.state().notice.as_deref(), Some(REVOKED_NOTICE));
    assert!(!again.state().enrolled);
}

#[test]
fn staff_changes_update_or_forget_known_staff() {
    let d = device(Role::Clinician, Role::Clinician, Duration::ZERO);
    let mut renamed = d.user.clone();
    renamed.display_name = "Amina O.".into();
    d.ws.on_security_event(SecurityEvent::StaffChanged(vec![renamed]));
    assert_eq!(d.ws.state().known_users[0].display_name, "Amina O.");
    let mut disabled = d.user.clone();
    disabled.disabled_at = Some("2030-01-01T00:00:00Z".into());
    d.ws.on_security_event(SecurityEvent::StaffChanged(vec![disabled]));
    let s = d.ws.state();
    assert!(s.known_users.is_empty() && s.user.is_none());
    assert_eq!(d.ws.clinic().unwrap_err().code(), "signed_out");
}

#[test]
fn plain_http_only_to_this_machine() {
    for ok in [
        "https://anola.example.org",
        "http://127.0.0.1:8787",
        "http://localhost:1",
        "http://[::1]:8787",
    ] {
        check_server_url(ok, false).unwrap();
    }
    for bad in ["http://10.0.0.5:8787", "http://anola.example.org", "ftp://x", "not a url"] {
        assert_eq!(check_server_url(bad, false).unwrap_err().code(), "insecure_server", "{bad}");
    }
    check_server_url("http://10.0.0.5:8787", true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = Workstation::open(WorkstationConfig::new(dir.path(), "http://192.168.1.2"))
        .err()
        .unwrap();
    assert_eq!(e.code(), "insecure_server");
}

#[test]
fn a_plain_replica_is_encrypted_at_enrolment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES ('Okafor-Plain');")
            .unwrap();
    }
    let key = DataKey::random();
    adopt_existing_replica(dir.path(), &key).unwrap();
    let bytes = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"Okafor-Plain"));
    let conn = crate::store::open_encrypted(&dir.path().join(DB_FILE), &key).unwrap();
    let x: String = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(x, "Okafor-Plain");
}
