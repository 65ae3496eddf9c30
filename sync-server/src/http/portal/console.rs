//! The clinic administrator's console: what the portal needs beyond the existing `/admin/*`
//! endpoints (account enable/role/password/TOTP reset, enrolment codes with a QR, device names,
//! the clinic's providers and prices, linking a patient's own account).

use crate::auth::{devices, now_ms, password, users, AuthError};
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::guard::Admin;
use crate::http::routes::AppState;
use crate::store::accounts::{UserFact, UserRecord};
use crate::store::Store;
use crate::sync::validate;
use anola_protocol::auth::{NewEnrolmentCode, NewUser, SessionUser};
use anola_protocol::portal::{DeviceRename, EnrolmentCodeView, NewPatientAccount, PasswordReset};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ErrorBody, ErrorCode, Provider, Role, UserType};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError(ErrorBody::new(ErrorCode::ValidationFailed, format!("{field}: {message}")).with_field(field))
}

/// A UUID from the path, or a 400 naming `field` (axum's own rejection is plain text).
pub fn uuid_param(raw: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError(ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: must be a UUID")).with_field(field)))
}

/// What an administrator may do to another account.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Power {
    /// Enable, change the role.
    Manage,
    /// Reset the password or the authenticator: for another administrator's account only a
    /// platform administrator may (a clinic administrator could otherwise take over a peer).
    Reset,
}

/// The account `id`, if this administrator may act on it: never their own (a stolen session must
/// not reset its own password or TOTP; they sign in again instead), never a platform
/// administrator's unless they are one, and only in clinics they administer.
async fn managed<S: Store>(state: &AppState<S>, admin: &Admin, raw_id: &str, power: Power) -> Result<UserRecord, ApiError> {
    let id = uuid_param(raw_id, "id")?;
    let Some(user) = state.store.user_by_id(id).await? else {
        return Err(ApiError(ErrorBody::new(ErrorCode::NotFound, "no such user").with_field("id")));
    };
    if user.id == admin.0.sub {
        return Err(ApiError::new(ErrorCode::Forbidden, "you cannot change your own account here"));
    }
    let allowed = admin.0.pa || user.clinic_id.as_deref().is_some_and(|c| admin.0.administers(c));
    if !allowed || (user.platform_admin && !admin.0.pa) {
        return Err(ApiError::new(ErrorCode::Forbidden, "you do not administer this account"));
    }
    if power == Power::Reset && user.role == Some(Role::ClinicAdmin) && !admin.0.pa {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a platform administrator resets another administrator's password or authenticator",
        ));
    }
    Ok(user)
}

/// Saves `facts`, then tells the clinic's devices (their offline sign-in roster follows it).
async fn change<S: Store>(state: &AppState<S>, mut user: UserRecord, facts: &[UserFact]) -> Result<Json<SessionUser>, ApiError> {
    for fact in facts {
        state.store.set_user_fact(user.id, fact).await?;
        fact.apply(&mut user);
        tracing::info!(user = %user.id, fact = fact.name(), "account changed in the portal");
    }
    let view = users::session_user(&user);
    if user.clinic_id.is_some() && user.role.is_some() {
        crate::sync::announce::staff(state.store.as_ref(), &view).await?;
    }
    Ok(Json(view))
}

/// Ends every session of the account issued until now (it signs in again with what changed).
fn end_sessions() -> UserFact {
    UserFact::SessionsEnded { at: now_ms() }
}

pub async fn enable_user<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = managed(&state, &admin, &id, Power::Manage).await?;
    change(&state, user, &[UserFact::Disabled { at: None }]).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: Role,
}

pub async fn set_role<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RoleChange>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = managed(&state, &admin, &id, Power::Manage).await?;
    if user.role.is_none() {
        return Err(invalid("role", "only clinic staff have a role"));
    }
    match req.role {
        Role::Kiosk => return Err(invalid("role", "kiosk is a device mode, not a person's role")),
        Role::FieldWorker if user.field_worker_id.as_deref().is_none_or(str::is_empty) => {
            return Err(invalid(
                "role",
                "this account has no field_worker_id: create a field worker's account instead",
            ))
        }
        _ => {}
    }
    if req.role == Role::ClinicAdmin && user.user_type != UserType::Admin && !admin.0.pa {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a platform administrator makes new administrators",
        ));
    }
    change(&state, user, &[UserFact::Role { role: Some(req.role) }, end_sessions()]).await
}

pub async fn reset_password<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PasswordReset>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = managed(&state, &admin, &id, Power::Reset).await?;
    if let Some(why) = password::policy_violation(&user.username, &req.password) {
        return Err(ApiError(ErrorBody::new(ErrorCode::WeakPassword, why).with_field("password")));
    }
    let hash = password::hash(&req.password);
    change(&state, user, &[UserFact::Password { hash }, end_sessions()]).await
}

/// Clears a staff member's TOTP: they enrol a new authenticator at their next sign-in.
pub async fn reset_totp<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = managed(&state, &admin, &id, Power::Reset).await?;
    let cleared = UserFact::Totp {
        secret: None,
        enabled: false,
    };
    change(&state, user, &[cleared, end_sessions()]).await
}

pub async fn enrolment_code<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
    JsonBody(req): JsonBody<NewEnrolmentCode>,
) -> Result<Json<EnrolmentCodeView>, ApiError> {
    validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    let code = devices::create_code(state.store.as_ref(), &admin.0, &clinic, &req).await?;
    let qr = qrcode::QrCode::new(code.code.as_bytes()).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Json(EnrolmentCodeView { code, qr_svg }))
}

pub async fn rename_device<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path((clinic, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<DeviceRename>,
) -> Result<StatusCode, ApiError> {
    admin.require(&clinic)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "name must be 1–100 characters"));
    }
    match state.store.device(&id).await? {
        Some(d) if d.clinic_id == clinic => {}
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such device in this clinic")),
    }
    state.store.rename_device(&id, &clinic, name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn providers<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
) -> Result<Json<Vec<Provider>>, ApiError> {
    validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    let ids = state.store.find_views(EntityKind::Provider, "clinic_id", &clinic).await?;
    let keys: Vec<(EntityKind, Uuid)> = ids.iter().map(|id| (EntityKind::Provider, *id)).collect();
    let mut out = Vec::new();
    for v in state.store.heads(&keys).await?.into_iter().flatten() {
        let mut values = v.state.values();
        values.insert("id".into(), serde_json::Value::String(v.id.to_string()));
        if let Ok(p) = serde_json::from_value::<Provider>(serde_json::Value::Object(values)) {
            out.push(p);
        }
    }
    out.sort_by(|a, b| (&a.family_name, &a.given_name).cmp(&(&b.family_name, &b.given_name)));
    Ok(Json(out))
}

pub async fn prices<S: Store>(State(state): State<AppState<S>>, _admin: Admin) -> Result<Json<anola_protocol::money::PriceList>, ApiError> {
    let list = state
        .ledger
        .read(|b| anola_protocol::money::PriceList {
            items: b.prices.values().cloned().collect(),
            fee_bps: b.fee_bps,
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::DatabaseUnavailable, e.to_string()))?;
    Ok(Json(list))
}

/// A required query parameter, or a 400 naming it.
fn query_param(q: &std::collections::HashMap<String, String>, name: &str) -> Result<String, ApiError> {
    q.get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .ok_or_else(|| ApiError(ErrorBody::new(ErrorCode::InvalidRequest, format!("{name}: required (1–200 characters)")).with_field(name)))
}

/// A patient of the clinic by card id or patient id (both indexed lookups).
pub async fn find_patient<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Vec<anola_protocol::portal::PatientSelf>>, ApiError> {
    let clinic = query_param(&params, "clinic_id")?;
    let q = query_param(&params, "q")?;
    validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    let ids = match Uuid::parse_str(&q) {
        Ok(id) => vec![id],
        Err(_) => state.store.find_views(EntityKind::Patient, "health_card_id", &q).await?,
    };
    let keys: Vec<(EntityKind, Uuid)> = ids.iter().map(|id| (EntityKind::Patient, *id)).collect();
    let mut out = Vec::new();
    for v in state.store.heads(&keys).await?.into_iter().flatten() {
        let p = super::patient::self_view(v.id, &v.state.values());
        if p.clinic_id == clinic {
            out.push(p);
        }
    }
    Ok(Json(out))
}

/// Creates a patient's own account, linked to their record (the seed's patient user).
pub async fn patient_account<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(patient): Path<String>,
    JsonBody(req): JsonBody<NewPatientAccount>,
) -> Result<Json<SessionUser>, ApiError> {
    let patient = uuid_param(&patient, "patient_id")?;
    let head = state.store.heads(&[(EntityKind::Patient, patient)]).await?.pop().flatten();
    let Some(clinic) = head.as_ref().and_then(|h| h.text("clinic_id").map(str::to_owned)) else {
        return Err(ApiError(
            ErrorBody::new(ErrorCode::NotFound, "no such patient").with_field("patient_id"),
        ));
    };
    admin.require(&clinic)?;
    let display = head
        .map(|h| super::patient::self_view(patient, &h.state.values()))
        .map(|p| format!("{} {}", p.given_name, p.family_name))
        .unwrap_or_else(|| "Patient".into());
    let new = NewUser {
        username: req.username,
        password: req.password,
        display_name: display,
        user_type: UserType::Patient,
        role: None,
        clinic_id: Some(clinic),
        field_worker_id: None,
    };
    let mut user = users::create(state.store.as_ref(), &admin.0, &new).await?;
    state
        .store
        .set_user_fact(user.id, &UserFact::Patient { patient_id: Some(patient) })
        .await
        .map_err(AuthError::from)?;
    user.patient_id = Some(patient);
    tracing::info!(user = %user.id, at = now_ms(), "patient account linked");
    Ok(Json(user))
}
