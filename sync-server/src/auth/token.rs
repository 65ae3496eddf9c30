//! Access tokens: compact HS256 JWTs signed with the server's secret. Short-lived (15 minutes) and
//! checked without a database read; anything that must take effect at once (a disabled account, a
//! revoked device) is also checked against storage where it matters (sync, admin).

use anola_protocol::{ErrorCode, Role};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthError;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub clinic: Option<String>,
    #[serde(default)]
    pub pa: bool,
    /// Signed in with a second factor.
    pub mfa: bool,
    /// The refresh-token family of the sign-in this token came from.
    pub fam: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

impl Claims {
    /// May administer `clinic` (users, devices, merges, access history).
    pub fn administers(&self, clinic: &str) -> bool {
        self.pa || (self.role == Some(Role::ClinicAdmin) && self.clinic.as_deref() == Some(clinic))
    }

    pub fn is_admin(&self) -> bool {
        self.pa || self.role == Some(Role::ClinicAdmin)
    }
}

pub struct TokenKey {
    secret: Vec<u8>,
    ttl_secs: u64,
}

impl TokenKey {
    pub fn new(secret: Vec<u8>) -> Self {
        Self {
            secret,
            ttl_secs: super::ACCESS_TTL_SECS,
        }
    }

    /// Access tokens signed with this key live `ttl_secs` (ANOLA_ACCESS_TOKEN_TTL_SECS).
    pub fn with_ttl(mut self, ttl_secs: u64) -> Self {
        self.ttl_secs = ttl_secs;
        self
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    fn mac(&self) -> Hmac<sha2::Sha256> {
        Hmac::<sha2::Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let body = format!(
            "{}.{}",
            B64.encode(HEADER),
            B64.encode(serde_json::to_vec(claims).expect("claims serialise"))
        );
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        format!("{body}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    /// Checks signature, header and expiry (`now` in Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        let bad = || AuthError::new(ErrorCode::Unauthenticated, "the access token is not one this server issued");
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let sig = B64.decode(s).map_err(|_| bad())?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(c.as_bytes());
        mac.verify_slice(&sig).map_err(|_| bad())?;
        // Only after the signature: the header must be exactly ours ("alg": "none" never passes).
        if B64.decode(h).map_err(|_| bad())? != HEADER.as_bytes() {
            return Err(bad());
        }
        let claims: Claims = serde_json::from_slice(&B64.decode(c).map_err(|_| bad())?).map_err(|_| bad())?;
        if claims.exp <= now {
            return Err(AuthError::new(ErrorCode::TokenExpired, "the access token expired; refresh it"));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::new_v4(),
            role: Some(Role::Clinician),
            clinic: Some("main".into()),
            pa: false,
            mfa: false,
            fam: Uuid::new_v4(),
            iat: 0,
            exp,
            jti: Uuid::new_v4(),
        }
    }

    fn code(e: AuthError) -> ErrorCode {
        e.body().unwrap().code
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let key = TokenKey::new(b"k".repeat(32));
        let c = claims(100);
        let t = key.sign(&c);
        assert_eq!(key.verify(&t, 50).unwrap(), c);
        assert_eq!(code(key.verify(&t, 100).unwrap_err()), ErrorCode::TokenExpired);
        // Another key, a changed claim, a stripped signature, garbage.
        assert_eq!(
            code(TokenKey::new(b"x".repeat(32)).verify(&t, 50).unwrap_err()),
            ErrorCode::Unauthenticated
        );
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(serde_json::to_vec(&Claims { pa: true, ..c.clone() }).unwrap());
        parts[1] = &forged;
        assert_eq!(code(key.verify(&parts.join("."), 50).unwrap_err()), ErrorCode::Unauthenticated);
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), t.split('.').nth(1).unwrap());
        assert_eq!(code(key.verify(&none, 50).unwrap_err()), ErrorCode::Unauthenticated);
        assert_eq!(code(key.verify("a.b", 50).unwrap_err()), ErrorCode::Unauthenticated);
    }
}
