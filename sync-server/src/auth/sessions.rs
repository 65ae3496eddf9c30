//! Signing in, refreshing and signing out; TOTP enrolment.
//!
//! Lockout counts failures as documents (`login_failures`): FerretDB has no atomic increment, and
//! a lost update to a counter would let parallel guesses slip past the limit.

use super::devices::{self, DeviceKey};
use super::token::{Claims, TokenKey};
use super::users::session_user;
use super::{now_ms, password, random_bytes, rfc3339, sha256_hex, AuthError, LOCK_MS, MAX_FAILURES, REFRESH_TTL_MS};
use crate::store::accounts::{AccountStore, RefreshRecord, SigningKeyRecord, UserFact, UserRecord};
use crate::store::Inserted;
use anola_protocol::auth::{LoginRequest, LoginResponse, TokenPair, TotpSetup};
use anola_protocol::{signing, totp, ErrorCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use uuid::Uuid;

/// When the account is locked until (ms), if it is.
async fn locked_until<S: AccountStore>(store: &S, user: &UserRecord, now: i64) -> Result<Option<i64>, AuthError> {
    let failures = store.login_failures_since(user.id, now - LOCK_MS).await?;
    if failures.len() >= MAX_FAILURES {
        let until = failures[failures.len() - MAX_FAILURES] + LOCK_MS;
        if until > now {
            return Ok(Some(until));
        }
    }
    Ok(None)
}

fn locked_error(until: i64) -> AuthError {
    AuthError::new(
        ErrorCode::AccountLocked,
        format!("too many failed sign-ins; the account is locked until {}", rfc3339(until)),
    )
}

async fn failed<S: AccountStore>(store: &S, user: &UserRecord, now: i64, field: &str) -> AuthError {
    if let Err(e) = store.record_login_failure(user.id, now).await {
        return e.into();
    }
    match locked_until(store, user, now).await {
        Ok(Some(until)) => locked_error(until),
        Ok(None) => AuthError::field(ErrorCode::InvalidCredentials, field, "wrong user name, password or code"),
        Err(e) => e,
    }
}

pub async fn login<S: AccountStore>(
    store: &S,
    key: &TokenKey,
    req: &LoginRequest,
    device: Option<&DeviceKey>,
) -> Result<LoginResponse, AuthError> {
    if req.username.trim().is_empty() || req.username.len() > 64 {
        return Err(AuthError::field(
            ErrorCode::InvalidRequest,
            "username",
            "username must be 1–64 characters",
        ));
    }
    // Bounds the work an anonymous caller can make argon2 do.
    if req.password.len() > 1024 {
        return Err(AuthError::field(ErrorCode::InvalidRequest, "password", "password is too long"));
    }
    let now = now_ms();
    let Some(user) = store.user_by_username(req.username.trim()).await? else {
        password::verify_dummy(&req.password);
        return Err(AuthError::field(
            ErrorCode::InvalidCredentials,
            "password",
            "wrong user name, password or code",
        ));
    };
    if let Some(until) = locked_until(store, &user, now).await? {
        return Err(locked_error(until));
    }
    if !password::verify(&req.password, &user.password_hash) {
        return Err(failed(store, &user, now, "password").await);
    }
    if user.disabled_at.is_some() {
        return Err(AuthError::new(
            ErrorCode::AccountDisabled,
            "this account was disabled by an administrator",
        ));
    }
    if user.totp_enabled {
        let Some(code) = req.totp.as_deref() else {
            return Err(AuthError::field(
                ErrorCode::MfaRequired,
                "totp",
                "enter the 6-digit code from your authenticator",
            ));
        };
        let secret = user.totp_secret.as_deref().and_then(totp::base32_decode).unwrap_or_default();
        if !totp::verify(&secret, code, (now / 1000) as u64) {
            return Err(failed(store, &user, now, "totp").await);
        }
    }
    store.clear_login_failures(user.id).await?;
    let device_kek = device_kek_for(store, &user, device).await?;
    let signing_key_id = match (&req.signing_key, device) {
        (Some(public), Some(dk)) if device_kek.is_some() && user.role.is_some() => {
            Some(register_signing_key(store, &user, &dk.device_id, public, now).await?)
        }
        (Some(_), _) => {
            return Err(AuthError::field(
                ErrorCode::InvalidRequest,
                "signing_key",
                "a signing key is registered only by clinic staff signing in on an enrolled device of their clinic",
            ))
        }
        (None, _) => None,
    };
    let mut resp = issue(store, key, &user, Uuid::new_v4(), user.totp_enabled, device, device_kek).await?;
    resp.signing_key_id = signing_key_id;
    Ok(resp)
}

/// Registers the public part of a signing key a device made for `user` (ADR 0014). Idempotent: a
/// retried sign-in registers the same key again.
async fn register_signing_key<S: AccountStore>(
    store: &S,
    user: &UserRecord,
    device_id: &str,
    public_b64: &str,
    now: i64,
) -> Result<String, AuthError> {
    let Some(public) = signing::public_key_from_b64(public_b64) else {
        return Err(AuthError::field(
            ErrorCode::InvalidRequest,
            "signing_key",
            "signing_key must be a base64 Ed25519 public key (32 bytes)",
        ));
    };
    let record = SigningKeyRecord {
        key_id: signing::key_id(&public),
        user_id: user.id,
        device_id: device_id.to_owned(),
        public_key: signing::public_key_b64(&public),
        created_at: now,
    };
    if store.insert_signing_key(&record).await? == Inserted::Taken {
        let stored = store.signing_key(&record.key_id).await?;
        if !stored.is_some_and(|s| s.user_id == record.user_id && s.device_id == record.device_id && s.public_key == record.public_key) {
            return Err(AuthError::field(
                ErrorCode::AlreadyExists,
                "signing_key",
                "this signing key is registered to another staff member or device; make a new one",
            ));
        }
    }
    Ok(record.key_id)
}

/// The device's key-encryption secret, for staff of the device's clinic on a valid device.
async fn device_kek_for<S: AccountStore>(store: &S, user: &UserRecord, device: Option<&DeviceKey>) -> Result<Option<String>, AuthError> {
    let Some(dk) = device else { return Ok(None) };
    let d = devices::authenticate(store, dk).await?;
    // Devices are for clinic staff: a patient's (or sponsor's) account never opens a replica.
    if !user.platform_admin && user.role.is_none() {
        return Err(AuthError::new(ErrorCode::Forbidden, "only clinic staff sign in on a clinic device"));
    }
    if !user.platform_admin && user.clinic_id.as_deref() != Some(d.clinic_id.as_str()) {
        return Err(AuthError::new(ErrorCode::Forbidden, "this device belongs to another clinic"));
    }
    Ok(Some(d.kek))
}

async fn issue<S: AccountStore>(
    store: &S,
    key: &TokenKey,
    user: &UserRecord,
    family: Uuid,
    mfa: bool,
    device: Option<&DeviceKey>,
    device_kek: Option<String>,
) -> Result<LoginResponse, AuthError> {
    let now = now_ms();
    let refresh = B64.encode(random_bytes::<32>());
    store
        .insert_refresh(&RefreshRecord {
            hash: sha256_hex(refresh.as_bytes()),
            family,
            user_id: user.id,
            device_id: device.map(|d| d.device_id.clone()),
            mfa,
            expires_at: now + REFRESH_TTL_MS,
        })
        .await?;
    let claims = Claims {
        sub: user.id,
        role: user.role,
        clinic: user.clinic_id.clone(),
        pa: user.platform_admin,
        mfa,
        fam: family,
        iat: now / 1000,
        exp: now / 1000 + key.ttl_secs() as i64,
        jti: Uuid::new_v4(),
    };
    let admin = user.platform_admin || user.role == Some(anola_protocol::Role::ClinicAdmin);
    Ok(LoginResponse {
        tokens: TokenPair {
            access_token: key.sign(&claims),
            expires_in: key.ttl_secs(),
            refresh_token: refresh,
        },
        user: session_user(user),
        // Staff without admin rights need no second factor; administrators do.
        mfa: mfa || !admin,
        device_kek,
        signing_key_id: None,
    })
}

pub async fn refresh<S: AccountStore>(
    store: &S,
    key: &TokenKey,
    token: &str,
    device: Option<&DeviceKey>,
) -> Result<LoginResponse, AuthError> {
    let hash = sha256_hex(token.as_bytes());
    let gone = || AuthError::new(ErrorCode::Unauthenticated, "this session has ended; sign in again");
    let Some(rec) = store.refresh_by_hash(&hash).await? else {
        return Err(gone());
    };
    if store.family_revoked(rec.family).await? || rec.expires_at <= now_ms() {
        return Err(gone());
    }
    if store.spend_refresh(&hash).await? == Inserted::Taken {
        // A spent token came back: someone holds a copy. End every session of this sign-in.
        store.revoke_family(rec.family).await?;
        tracing::warn!(user = %rec.user_id, "refresh token reused; token family revoked");
        return Err(AuthError::new(
            ErrorCode::RefreshTokenReused,
            "this refresh token was already used; every session of this sign-in is now ended",
        ));
    }
    let Some(user) = store.user_by_id(rec.user_id).await? else {
        return Err(gone());
    };
    if user.disabled_at.is_some() {
        store.revoke_family(rec.family).await?;
        return Err(AuthError::new(
            ErrorCode::AccountDisabled,
            "this account was disabled by an administrator",
        ));
    }
    // A token issued before an administrator reset the password or TOTP, or changed the role.
    if user.sessions_ended_at.is_some_and(|at| rec.expires_at - super::REFRESH_TTL_MS < at) {
        store.revoke_family(rec.family).await?;
        return Err(gone());
    }
    let device_kek = device_kek_for(store, &user, device).await?;
    issue(store, key, &user, rec.family, rec.mfa, device, device_kek).await
}

pub async fn logout<S: AccountStore>(store: &S, token: &str) -> Result<(), AuthError> {
    if let Some(rec) = store.refresh_by_hash(&sha256_hex(token.as_bytes())).await? {
        store.revoke_family(rec.family).await?;
    }
    Ok(())
}

/// The signed-in user, checked against storage (disabled accounts stop at once).
pub async fn current_user<S: AccountStore>(store: &S, claims: &Claims) -> Result<UserRecord, AuthError> {
    let user = store
        .user_by_id(claims.sub)
        .await?
        .ok_or_else(|| AuthError::new(ErrorCode::Unauthenticated, "this account no longer exists"))?;
    if user.disabled_at.is_some() {
        return Err(AuthError::new(
            ErrorCode::AccountDisabled,
            "this account was disabled by an administrator",
        ));
    }
    // `iat` has whole seconds: a token issued in the second of the reset is ended too (at worst a
    // sign-in made in that same second must be repeated), never one issued before it kept.
    let ended = user.sessions_ended_at.is_some_and(|at| claims.iat * 1000 <= at);
    if ended || store.family_revoked(claims.fam).await? {
        return Err(AuthError::new(ErrorCode::Unauthenticated, "this session has ended; sign in again"));
    }
    Ok(user)
}

pub async fn totp_setup<S: AccountStore>(store: &S, claims: &Claims) -> Result<TotpSetup, AuthError> {
    let user = current_user(store, claims).await?;
    if user.totp_enabled {
        return Err(AuthError::new(ErrorCode::AlreadyExists, "two-factor sign-in is already enabled"));
    }
    let secret = totp::base32_encode(&random_bytes::<20>());
    let fact = UserFact::Totp {
        secret: Some(secret.clone()),
        enabled: false,
    };
    store.set_user_fact(user.id, &fact).await?;
    Ok(TotpSetup {
        otpauth_uri: format!(
            "otpauth://totp/Anola%20Health:{}?secret={secret}&issuer=Anola%20Health&algorithm=SHA1&digits=6&period=30",
            user.username
        ),
        secret_base32: secret,
    })
}

pub async fn totp_confirm<S: AccountStore>(store: &S, claims: &Claims, code: &str) -> Result<(), AuthError> {
    let user = current_user(store, claims).await?;
    let Some(secret) = user.totp_secret.as_deref().and_then(totp::base32_decode) else {
        return Err(AuthError::field(ErrorCode::InvalidRequest, "code", "start with /auth/totp/setup"));
    };
    if !totp::verify(&secret, code, (now_ms() / 1000) as u64) {
        return Err(AuthError::field(
            ErrorCode::InvalidCredentials,
            "code",
            "the code does not match; check the device clock",
        ));
    }
    // The secret that was verified is the one enabled (a set-up racing this one cannot swap it).
    let fact = UserFact::Totp {
        secret: user.totp_secret.clone(),
        enabled: true,
    };
    store.set_user_fact(user.id, &fact).await?;
    Ok(())
}
