//! Who is calling: bearer tokens, device keys and administrators, as extractors. Each failure is
//! an `ApiError` with a stable code (401 unauthenticated / token_expired / device_*, 403 forbidden).

use super::error::ApiError;
use super::routes::AppState;
use crate::auth::devices::{self, DeviceKey};
use crate::auth::token::Claims;
use crate::auth::{sessions, AuthError};
use crate::store::accounts::{DeviceRecord, UserRecord};
use crate::store::Store;
use anola_protocol::auth::DEVICE_KEY_HEADER;
use anola_protocol::ErrorCode;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            refused => ApiError(refused.body().expect("a refusal has a body")),
        }
    }
}

/// The access token of a request: the `Authorization: Bearer` header (devices, CLI), or the
/// portal's HttpOnly session cookie. A cookie is sent by the browser on its own, so a request
/// authenticated by it that changes anything must also prove it came from the portal's page
/// (`super::portal::csrf::check`).
fn bearer(parts: &Parts) -> Result<String, ApiError> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the Authorization header must be Bearer <access token>"));
    }
    if let Some(token) = super::portal::cookies::get(&parts.headers, anola_protocol::portal::SESSION_COOKIE) {
        super::portal::csrf::check(parts)?;
        return Ok(token);
    }
    Err(ApiError::new(
        ErrorCode::Unauthenticated,
        "sign in first: send Authorization: Bearer <access token>",
    ))
}

pub fn device_key(parts: &Parts) -> Result<Option<DeviceKey>, ApiError> {
    match parts.headers.get(DEVICE_KEY_HEADER) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| ApiError::new(ErrorCode::DeviceNotEnrolled, "the device key header is not text"))?;
            Ok(Some(DeviceKey::parse(s)?))
        }
    }
}

/// A valid access token (signature and expiry only).
pub struct Bearer(pub Claims);

impl<S: Store> FromRequestParts<AppState<S>> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let key = state.token_key().await?;
        let now = crate::auth::now_ms() / 1000;
        Ok(Bearer(key.verify(&token, now)?))
    }
}

/// An administrator who passed the second factor, with an account still active.
pub struct Admin(pub Claims);

impl<S: Store> FromRequestParts<AppState<S>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let Bearer(mut claims) = Bearer::from_request_parts(parts, state).await?;
        // The stored account decides, not the token: a demoted administrator stops at once.
        let user = sessions::current_user(state.store.as_ref(), &claims).await?;
        claims.role = user.role;
        claims.clinic = user.clinic_id.clone();
        claims.pa = user.platform_admin;
        if !claims.is_admin() {
            return Err(ApiError::new(ErrorCode::Forbidden, "this needs a clinic or platform administrator"));
        }
        if !claims.mfa {
            return Err(ApiError(
                anola_protocol::ErrorBody::new(
                    ErrorCode::MfaRequired,
                    "administrators sign in with a TOTP code: enrol one at /auth/totp/setup, then sign in again",
                )
                .with_field("totp"),
            ));
        }
        Ok(Admin(claims))
    }
}

impl Admin {
    pub fn require(&self, clinic: &str) -> Result<(), ApiError> {
        if self.0.administers(clinic) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("you do not administer clinic {clinic}"),
            ))
        }
    }
}

/// An enrolled, unrevoked device with an active staff member of its clinic signed in on it.
pub struct DeviceSession {
    pub device: DeviceRecord,
    pub user: UserRecord,
}

impl<S: Store> FromRequestParts<AppState<S>> for DeviceSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        // The device first: a revoked device must learn so even when its user's token expired.
        let key = device_key(parts)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::DeviceNotEnrolled,
                "sync needs an enrolled device: send x-anola-device-key: <device_id>:<secret>",
            )
        })?;
        let device = devices::authenticate(state.store.as_ref(), &key).await?;
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let user = sessions::current_user(state.store.as_ref(), &claims).await?;
        if !user.platform_admin && user.role.is_none() {
            return Err(ApiError::new(ErrorCode::Forbidden, "only clinic staff work on a clinic device"));
        }
        if !user.platform_admin && user.clinic_id.as_deref() != Some(device.clinic_id.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the signed-in account is not staff of this device's clinic",
            ));
        }
        Ok(DeviceSession { device, user })
    }
}
