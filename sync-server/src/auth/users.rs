//! Creating and disabling accounts, the staff roster devices sync, and the first administrator.

use super::token::Claims;
use super::{now_ms, password, rfc3339, AuthError};
use crate::store::accounts::{AccountStore, UserFact, UserRecord};
use crate::store::Inserted;
use anola_protocol::auth::{NewUser, SessionUser};
use anola_protocol::{ErrorCode, Role, UserType};
use uuid::Uuid;

pub fn session_user(u: &UserRecord) -> SessionUser {
    SessionUser {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        user_type: u.user_type,
        role: u.role,
        clinic_id: u.clinic_id.clone(),
        field_worker_id: u.field_worker_id.clone(),
        platform_admin: u.platform_admin,
        totp_enabled: u.totp_enabled,
        disabled_at: u.disabled_at.map(rfc3339),
        patient_id: u.patient_id,
    }
}

fn invalid(field: &str, message: &str) -> AuthError {
    AuthError::field(ErrorCode::ValidationFailed, field, message)
}

pub async fn create<S: AccountStore>(store: &S, admin: &Claims, req: &NewUser) -> Result<SessionUser, AuthError> {
    let username = req.username.trim();
    if username.len() < 3 || username.len() > 64 || !username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(invalid("username", "username must be 3–64 letters, digits, '.', '_' or '-'"));
    }
    let display = req.display_name.trim();
    if display.is_empty() || display.chars().count() > 100 {
        return Err(invalid("display_name", "display_name must be 1–100 characters"));
    }
    if let Some(c) = &req.clinic_id {
        crate::sync::validate::clinic_id(c).map_err(|b| AuthError::Refused(b.code, b.message, b.field))?;
    }
    let platform_admin = req.user_type == UserType::Admin && req.clinic_id.is_none();
    match (&req.clinic_id, platform_admin) {
        (_, true) if !admin.pa => {
            return Err(AuthError::new(
                ErrorCode::Forbidden,
                "only a platform administrator creates platform administrators",
            ))
        }
        (Some(c), false) if !admin.administers(c) => return Err(AuthError::new(ErrorCode::Forbidden, "you do not administer this clinic")),
        (None, false) if !admin.pa => return Err(invalid("clinic_id", "clinic_id is required")),
        _ => {}
    }
    match req.role {
        Some(Role::Kiosk) => return Err(invalid("role", "kiosk is a device mode, not a person's role")),
        Some(_) if req.clinic_id.is_none() => return Err(invalid("clinic_id", "staff roles belong to a clinic")),
        Some(Role::FieldWorker) if req.field_worker_id.as_deref().is_none_or(str::is_empty) => {
            return Err(invalid("field_worker_id", "a field worker needs field_worker_id"))
        }
        None if matches!(req.user_type, UserType::Provider) || (req.user_type == UserType::Admin && !platform_admin) => {
            return Err(invalid("role", "clinic staff need a role"))
        }
        _ => {}
    }
    if let Some(why) = password::policy_violation(username, &req.password) {
        return Err(AuthError::field(ErrorCode::WeakPassword, "password", why));
    }
    let user = UserRecord {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        display_name: display.to_owned(),
        user_type: req.user_type,
        role: req.role,
        clinic_id: req.clinic_id.clone(),
        field_worker_id: req.field_worker_id.clone(),
        platform_admin,
        password_hash: password::hash(&req.password),
        totp_secret: None,
        totp_enabled: false,
        created_at: now_ms(),
        disabled_at: None,
        patient_id: None,
        sessions_ended_at: None,
    };
    if store.insert_user(&user).await? == Inserted::Taken {
        return Err(AuthError::field(ErrorCode::AlreadyExists, "username", "this username is taken"));
    }
    tracing::info!(user = %user.id, "account created");
    Ok(session_user(&user))
}

pub async fn disable<S: AccountStore>(store: &S, admin: &Claims, id: Uuid) -> Result<SessionUser, AuthError> {
    let Some(mut user) = store.user_by_id(id).await? else {
        return Err(AuthError::new(ErrorCode::NotFound, "no such user"));
    };
    let allowed = admin.pa || user.clinic_id.as_deref().is_some_and(|c| admin.administers(c));
    if !allowed || (user.platform_admin && !admin.pa) {
        return Err(AuthError::new(ErrorCode::Forbidden, "you do not administer this account"));
    }
    if user.disabled_at.is_none() {
        user.disabled_at = Some(now_ms());
        store.set_user_fact(user.id, &UserFact::Disabled { at: user.disabled_at }).await?;
        tracing::info!(user = %user.id, "account disabled");
    }
    Ok(session_user(&user))
}

/// Creates the platform administrator `username` unless that name exists (start-up bootstrap).
pub async fn bootstrap_admin<S: AccountStore>(
    store: &S,
    username: &str,
    password_text: &str,
    totp_secret: Option<&str>,
) -> Result<bool, AuthError> {
    if store.user_by_username(username).await?.is_some() {
        return Ok(false);
    }
    if let Some(why) = password::policy_violation(username, password_text) {
        return Err(AuthError::field(ErrorCode::WeakPassword, "ANOLA_BOOTSTRAP_ADMIN_PASSWORD", why));
    }
    let user = UserRecord {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        display_name: "Platform administrator".into(),
        user_type: UserType::Admin,
        role: None,
        clinic_id: None,
        field_worker_id: None,
        platform_admin: true,
        password_hash: password::hash(password_text),
        totp_secret: totp_secret.map(|s| s.trim().to_uppercase()),
        totp_enabled: totp_secret.is_some(),
        created_at: now_ms(),
        disabled_at: None,
        patient_id: None,
        sessions_ended_at: None,
    };
    Ok(store.insert_user(&user).await? == Inserted::Yes)
}
