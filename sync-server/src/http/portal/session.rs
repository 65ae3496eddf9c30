//! Sign-in for the browser: the same accounts and rules as `/auth/*` (argon2id, lockout, TOTP),
//! but the tokens travel only in HttpOnly cookies, never in a body the page's scripts can read.

use super::cookies::{self, Spec};
use super::csrf;
use crate::auth::{sessions, REFRESH_TTL_MS};
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::routes::AppState;
use crate::store::Store;
use anola_protocol::auth::{LoginRequest, LoginResponse};
use anola_protocol::portal::{PortalSession, CSRF_COOKIE, REFRESH_COOKIE, SESSION_COOKIE};
use anola_protocol::ErrorCode;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// The refresh cookie goes only to the refresh and sign-out endpoints.
const REFRESH_PATH: &str = "/portal/api/session";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalLogin {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
}

pub async fn sign_in<S: Store>(State(state): State<AppState<S>>, JsonBody(req): JsonBody<PortalLogin>) -> Result<Response, ApiError> {
    let key = state.token_key().await?;
    let login = LoginRequest {
        username: req.username,
        password: req.password,
        totp: req.totp,
        signing_key: None,
    };
    let resp = sessions::login(state.store.as_ref(), key, &login, None).await?;
    tracing::info!(user = %resp.user.id, "portal sign-in");
    Ok(with_cookies(resp, state.secure_cookies))
}

pub async fn refresh<S: Store>(State(state): State<AppState<S>>, req: Request) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    csrf::check(&parts)?;
    let Some(token) = cookies::get(&parts.headers, REFRESH_COOKIE) else {
        return Err(ApiError::new(ErrorCode::Unauthenticated, "the session has ended: sign in again"));
    };
    let key = state.token_key().await?;
    let resp = sessions::refresh(state.store.as_ref(), key, &token, None).await?;
    Ok(with_cookies(resp, state.secure_cookies))
}

pub async fn sign_out<S: Store>(State(state): State<AppState<S>>, req: Request) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    csrf::check(&parts)?;
    if let Some(token) = cookies::get(&parts.headers, REFRESH_COOKIE) {
        sessions::logout(state.store.as_ref(), &token).await?;
    }
    let mut headers = HeaderMap::new();
    for (name, path, http_only) in [
        (SESSION_COOKIE, "/", true),
        (REFRESH_COOKIE, REFRESH_PATH, true),
        (CSRF_COOKIE, "/", false),
    ] {
        headers.append(
            header::SET_COOKIE,
            cookies::set(Spec {
                name,
                value: "",
                path,
                http_only,
                secure: state.secure_cookies,
                max_age_secs: 0,
            }),
        );
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

fn with_cookies(resp: LoginResponse, secure: bool) -> Response {
    let csrf = hex(&crate::auth::random_bytes::<24>());
    // The session cookie lives as long as the sign-in may: the token in it expires after
    // `expires_in`, the server then answers `token_expired`, and the page refreshes it. A cookie
    // that vanished with the token would turn every expiry into a sign-out.
    let session_secs = REFRESH_TTL_MS / 1000;
    let mut headers = HeaderMap::new();
    let cookies = [
        (SESSION_COOKIE, resp.tokens.access_token.as_str(), "/", true, session_secs),
        (
            REFRESH_COOKIE,
            resp.tokens.refresh_token.as_str(),
            REFRESH_PATH,
            true,
            REFRESH_TTL_MS / 1000,
        ),
        (CSRF_COOKIE, csrf.as_str(), "/", false, REFRESH_TTL_MS / 1000),
    ];
    for (name, value, path, http_only, max_age_secs) in cookies {
        headers.append(
            header::SET_COOKIE,
            cookies::set(Spec {
                name,
                value,
                path,
                http_only,
                secure,
                max_age_secs,
            }),
        );
    }
    let body = PortalSession {
        user: resp.user,
        csrf_token: csrf,
        expires_in: resp.tokens.expires_in,
    };
    (headers, Json(body)).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
