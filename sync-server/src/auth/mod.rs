//! Accounts, sessions and devices (docs/security.md). The rules live here, written against
//! `AccountStore`; HTTP handlers only translate.

pub mod devices;
pub mod password;
pub mod sessions;
pub mod token;
pub mod users;

use crate::store::StoreError;
use anola_protocol::{ErrorBody, ErrorCode};

/// Failed sign-ins that lock an account (Simple.org: 5).
pub const MAX_FAILURES: usize = 5;
/// How long a lock lasts, and the window failures are counted in (Simple.org: 20 minutes).
pub const LOCK_MS: i64 = 20 * 60 * 1000;
/// Access tokens are short-lived: a disabled account or revoked device stops within this time
/// even for endpoints that only check the token.
pub const ACCESS_TTL_SECS: u64 = 15 * 60;
/// Refresh tokens rotate on every use and expire after this long unused.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Enrolment codes are for the person standing at the device now.
pub const ENROLMENT_TTL_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{1}")]
    Refused(ErrorCode, String, Option<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AuthError::Refused(code, message.into(), None)
    }

    pub fn field(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        AuthError::Refused(code, message.into(), Some(field.to_owned()))
    }

    pub fn body(&self) -> Option<ErrorBody> {
        match self {
            AuthError::Refused(code, message, field) => {
                let mut b = ErrorBody::new(*code, message.clone());
                b.field = field.clone();
                Some(b)
            }
            AuthError::Store(_) => None,
        }
    }
}

pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the OS random number generator is available");
    b
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two secrets' digests.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Background pruning of dead account documents, so the collections sign-in and refresh touch
/// hold only what is live.
pub mod prune {
    use super::{now_ms, ACCESS_TTL_SECS, LOCK_MS, REFRESH_TTL_MS};
    use crate::store::accounts::{AccountStore, PruneCutoffs};
    use crate::store::StoreError;

    /// The cut-offs at `now`. A spent mark or a family revocation must outlive every token it
    /// could refuse: a refresh token lives `REFRESH_TTL_MS` from its issue, an access token
    /// `ACCESS_TTL_SECS`; a day of margin covers clock differences between server processes.
    pub fn cutoffs(now: i64) -> PruneCutoffs {
        const MARGIN_MS: i64 = 24 * 3600 * 1000;
        PruneCutoffs {
            expired_before: now - MARGIN_MS,
            marks_before: now - REFRESH_TTL_MS - ACCESS_TTL_SECS as i64 * 1000 - MARGIN_MS,
            failures_before: now - LOCK_MS - MARGIN_MS,
        }
    }

    pub async fn once<S: AccountStore>(store: &S) -> Result<u64, StoreError> {
        store.prune(&cutoffs(now_ms())).await
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn marks_outlive_the_tokens_they_refuse() {
            let now = 10_000_000_000_000;
            let c = cutoffs(now);
            // A token issued just before the mark's cut-off would already be expired.
            assert!(c.marks_before + REFRESH_TTL_MS < now);
            assert!(c.failures_before + LOCK_MS < now);
            assert!(c.expired_before < now);
        }
    }
}
