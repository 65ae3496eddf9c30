//! The portal's cookies: reading them from a request and building the `Set-Cookie` headers of a
//! session (with the `cookie` crate, so quoting and attributes follow RFC 6265).

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// How a cookie is sent back: HttpOnly unless the page must read it (the CSRF token); Secure
/// whenever the server speaks TLS; SameSite=Strict always (a link from another site arrives
/// without the session); `max_age` 0 deletes it.
pub struct Spec<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub http_only: bool,
    pub secure: bool,
    pub max_age_secs: i64,
}

pub fn set(spec: Spec<'_>) -> HeaderValue {
    let c = Cookie::build((spec.name.to_owned(), spec.value.to_owned()))
        .path(spec.path.to_owned())
        .http_only(spec.http_only)
        .secure(spec.secure)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(spec.max_age_secs))
        .build();
    HeaderValue::from_str(&c.encoded().to_string()).expect("cookie values are percent-encoded ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; anola_session=tok.en; b=2"));
        assert_eq!(get(&h, "anola_session").as_deref(), Some("tok.en"));
        assert_eq!(get(&h, "missing"), None);
    }

    #[test]
    fn session_cookies_are_strict_and_http_only() {
        let v = set(Spec {
            name: "anola_session",
            value: "x",
            path: "/",
            http_only: true,
            secure: true,
            max_age_secs: 60,
        });
        let s = v.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=60"] {
            assert!(s.contains(part), "{s} lacks {part}");
        }
    }
}
