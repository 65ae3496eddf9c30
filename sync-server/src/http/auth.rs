//! `/auth/*` (sign-in, refresh, sign-out, TOTP), `/devices/enrol`, and the account and device
//! administration under `/admin`.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::{device_key, Admin, Bearer};
use super::routes::AppState;
use crate::auth::{devices, sessions, users};
use crate::store::Store;
use anola_protocol::auth::{
    AccessHistory, DeviceInfo, EnrolRequest, EnrolResponse, EnrolmentCode, LoginRequest, LoginResponse, NewEnrolmentCode, NewUser,
    RefreshRequest, SessionUser, TotpConfirm, TotpSetup,
};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/auth/login", post(login::<S>))
        .route("/auth/refresh", post(refresh::<S>))
        .route("/auth/logout", post(logout::<S>))
        .route("/auth/me", get(me::<S>))
        .route("/auth/totp/setup", post(totp_setup::<S>))
        .route("/auth/totp/confirm", post(totp_confirm::<S>))
        .route("/devices/enrol", post(enrol::<S>))
        .route("/admin/users", post(create_user::<S>))
        .route("/admin/users/{id}/disable", post(disable_user::<S>))
        .route("/admin/clinics/{clinic}/users", get(clinic_users::<S>))
        .route("/admin/clinics/{clinic}/enrolment-codes", post(enrolment_code::<S>))
        .route("/admin/clinics/{clinic}/devices", get(clinic_devices::<S>))
        .route("/admin/devices/{id}/revoke", post(revoke_device::<S>))
        .route("/admin/patients/{id}/access", get(access_history::<S>))
}

/// The optional device key of a sign-in (it unlocks the device's replica key).
struct MaybeDevice(Option<devices::DeviceKey>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(MaybeDevice(device_key(parts)?))
    }
}

async fn login<S: Store>(
    State(state): State<AppState<S>>,
    MaybeDevice(device): MaybeDevice,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let key = state.token_key().await?;
    Ok(Json(sessions::login(state.store.as_ref(), key, &req, device.as_ref()).await?))
}

async fn refresh<S: Store>(
    State(state): State<AppState<S>>,
    MaybeDevice(device): MaybeDevice,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let key = state.token_key().await?;
    Ok(Json(
        sessions::refresh(state.store.as_ref(), key, &req.refresh_token, device.as_ref()).await?,
    ))
}

async fn logout<S: Store>(State(state): State<AppState<S>>, JsonBody(req): JsonBody<RefreshRequest>) -> Result<StatusCode, ApiError> {
    sessions::logout(state.store.as_ref(), &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me<S: Store>(State(state): State<AppState<S>>, Bearer(claims): Bearer) -> Result<Json<SessionUser>, ApiError> {
    let user = sessions::current_user(state.store.as_ref(), &claims).await?;
    Ok(Json(users::session_user(&user)))
}

async fn totp_setup<S: Store>(State(state): State<AppState<S>>, Bearer(claims): Bearer) -> Result<Json<TotpSetup>, ApiError> {
    Ok(Json(sessions::totp_setup(state.store.as_ref(), &claims).await?))
}

async fn totp_confirm<S: Store>(
    State(state): State<AppState<S>>,
    Bearer(claims): Bearer,
    JsonBody(req): JsonBody<TotpConfirm>,
) -> Result<StatusCode, ApiError> {
    sessions::totp_confirm(state.store.as_ref(), &claims, &req.code).await?;
    let user = sessions::current_user(state.store.as_ref(), &claims).await?;
    crate::sync::announce::staff(state.store.as_ref(), &users::session_user(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enrol<S: Store>(State(state): State<AppState<S>>, JsonBody(req): JsonBody<EnrolRequest>) -> Result<Json<EnrolResponse>, ApiError> {
    Ok(Json(devices::enrol(state.store.as_ref(), &req).await?))
}

async fn create_user<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    JsonBody(req): JsonBody<NewUser>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = users::create(state.store.as_ref(), &admin.0, &req).await?;
    crate::sync::announce::staff(state.store.as_ref(), &user).await?;
    Ok(Json(user))
}

async fn disable_user<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<Uuid>,
) -> Result<Json<SessionUser>, ApiError> {
    let user = users::disable(state.store.as_ref(), &admin.0, id).await?;
    crate::sync::announce::staff(state.store.as_ref(), &user).await?;
    Ok(Json(user))
}

async fn clinic_users<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
) -> Result<Json<Vec<SessionUser>>, ApiError> {
    admin.require(&clinic)?;
    let list = state.store.users_of_clinic(&clinic).await?;
    Ok(Json(list.iter().map(users::session_user).collect()))
}

async fn enrolment_code<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
    JsonBody(req): JsonBody<NewEnrolmentCode>,
) -> Result<Json<EnrolmentCode>, ApiError> {
    crate::sync::validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    Ok(Json(devices::create_code(state.store.as_ref(), &admin.0, &clinic, &req).await?))
}

async fn clinic_devices<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
) -> Result<Json<Vec<DeviceInfo>>, ApiError> {
    admin.require(&clinic)?;
    let list = state.store.devices_of_clinic(&clinic).await?;
    Ok(Json(list.iter().map(devices::info).collect()))
}

async fn revoke_device<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<DeviceInfo>, ApiError> {
    Ok(Json(devices::revoke(state.store.as_ref(), &admin.0, &id).await?))
}

#[derive(Deserialize)]
struct ClinicQuery {
    clinic_id: String,
}

async fn access_history<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(patient): Path<Uuid>,
    Query(q): Query<ClinicQuery>,
) -> Result<Json<AccessHistory>, ApiError> {
    admin.require(&q.clinic_id)?;
    let entries = state.store.audit_for_patient(&q.clinic_id, patient).await?;
    Ok(Json(AccessHistory { entries }))
}
