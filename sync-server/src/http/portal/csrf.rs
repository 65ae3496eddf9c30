//! Cross-site request forgery: a request authenticated by the session cookie that changes
//! anything must carry the `x-csrf-token` header equal to the `anola_csrf` cookie (a page of
//! another origin can make the browser send the cookie but can neither read it nor set the
//! header), and must not come from another origin (`Origin`, when the browser sends it).

use super::cookies;
use crate::http::error::ApiError;
use anola_protocol::portal::{CSRF_COOKIE, CSRF_HEADER};
use anola_protocol::ErrorCode;
use axum::http::request::Parts;
use axum::http::{header, Method};

pub fn check(parts: &Parts) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            return Err(refused("the request came from another site"));
        }
    }
    let cookie = cookies::get(&parts.headers, CSRF_COOKIE);
    let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (cookie, header) {
        (Some(c), Some(h)) if crate::auth::same(&c, h) => Ok(()),
        _ => Err(refused("send the x-csrf-token header with the value of the anola_csrf cookie")),
    }
}

fn refused(why: &str) -> ApiError {
    ApiError(anola_protocol::ErrorBody::new(ErrorCode::CsrfFailed, why).with_field(CSRF_HEADER))
}
