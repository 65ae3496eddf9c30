//! Security headers on every response: a strict Content-Security-Policy (only this origin's
//! scripts, styles and connections; no framing, plugins or inline script), no MIME sniffing, no
//! referrer, no powerful browser features, and HSTS when the server speaks TLS. API answers are
//! never cached (they hold patient data).

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn headers(State(tls): State<bool>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = !path.starts_with("/portal/") || path.starts_with("/portal/api/");
    let page_asset = path.starts_with("/portal/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let fixed: [(HeaderName, &'static str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    if tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        if api {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if !page_asset {
            // The page itself is checked on every load, so an upgrade takes effect at once; its
            // assets have content hashes in their names.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
    }
    resp
}
