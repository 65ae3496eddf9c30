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
        // HTTP/1.1 names the host in `Host`; HTTP/2 (which the TLS listener offers) in the URI.
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(req: Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn token_and_origin_are_both_needed() {
        let ok = |b: axum::http::request::Builder| b.header("cookie", "anola_csrf=abc").header(CSRF_HEADER, "abc");
        let base = || Request::post("/portal/api/x");
        assert!(check(&parts(
            ok(base()
                .header("host", "clinic.example:8787")
                .header("origin", "https://Clinic.example:8787"))
            .body(())
            .unwrap()
        ))
        .is_ok());
        // HTTP/2: no Host header, the authority is in the URI.
        assert!(check(&parts(
            ok(Request::post("https://clinic.example/portal/api/x").header("origin", "https://clinic.example"))
                .body(())
                .unwrap()
        ))
        .is_ok());
        assert!(check(&parts(
            ok(base().header("host", "clinic.example").header("origin", "https://evil.example"))
                .body(())
                .unwrap()
        ))
        .is_err());
        assert!(check(&parts(
            base()
                .header("cookie", "anola_csrf=abc")
                .header(CSRF_HEADER, "abd")
                .body(())
                .unwrap()
        ))
        .is_err());
        assert!(
            check(&parts(base().header(CSRF_HEADER, "abc").body(()).unwrap())).is_err(),
            "no cookie"
        );
        assert!(
            check(&parts(Request::get("/portal/api/x").body(()).unwrap())).is_ok(),
            "reads need no token"
        );
    }
}
