//! Card signing keys at rest. Whoever holds a signing key can make cards every Anola device
//! accepts offline, so with `ANOLA_CARD_KEY_SECRET` set, keys are stored sealed (AES-256-GCM
//! under HMAC-SHA256("anola card key sealing v1", secret), the key id as associated data): a
//! copy of the database alone cannot forge cards. With a secret set, an unsealed key is refused
//! (someone with write access to the database could otherwise plant a key of their own); keys
//! from before the secret was set are sealed by one start with `ANOLA_SEAL_EXISTING_CARD_KEYS=1`.

use base64::Engine;

use crate::store::sealing::{derive_key, open_bytes, seal_bytes};
use crate::store::StoreError;

const PREFIX: &str = "sealed:v1:";
const LABEL: &[u8] = b"anola card key sealing v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// Shortest secret accepted (characters): a random 32-character string has far more than the
/// 128 bits that matter here.
pub const MIN_SECRET_LEN: usize = 32;

/// Seals and opens stored signing keys.
#[derive(Clone)]
pub struct KeySealer {
    key: Option<[u8; 32]>,
    /// Keys that also open (the server's sealing secret's card key when a dedicated
    /// `ANOLA_CARD_KEY_SECRET` replaced it, the previous sealing secret's during a rotation);
    /// what they open is sealed again under `key`.
    fallbacks: Vec<[u8; 32]>,
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySealer").field("sealing", &self.key.is_some()).finish()
    }
}

impl KeySealer {
    /// No secret: keys are stored as plain PEM (development, tests, the demo).
    pub fn plain() -> Self {
        KeySealer {
            key: None,
            fallbacks: Vec::new(),
        }
    }

    pub fn with_secret(secret: &str) -> Self {
        // A fixed label: this key is for sealing card keys only.
        KeySealer {
            key: Some(derive_key(LABEL, secret)),
            fallbacks: Vec::new(),
        }
    }

    /// Keys sealed under `secret` (the server's sealing secret, which seals card keys when no
    /// dedicated card secret is set) still open, and `needs_resealing` says so.
    pub fn with_fallback(mut self, secret: &str) -> Self {
        self.fallbacks.push(derive_key(LABEL, secret));
        self
    }

    /// Whether a stored key opens only under the fallback secret (and should be sealed again).
    pub fn needs_resealing(&self, kid: &str, stored: &str) -> bool {
        let Some(key) = &self.key else {
            return false;
        };
        let raw = stored.strip_prefix(PREFIX).and_then(|b| B64.decode(b).ok());
        raw.is_some_and(|raw| open_bytes(key, kid, &raw).is_none() && self.fallbacks.iter().any(|f| open_bytes(f, kid, &raw).is_some()))
    }

    /// Whether `stored` is a sealed value (not plain PEM).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    pub fn is_sealing(&self) -> bool {
        self.key.is_some()
    }

    /// What to store for the PEM of key `kid`.
    pub fn seal(&self, kid: &str, pem: &str) -> Result<String, StoreError> {
        let Some(key) = &self.key else {
            return Ok(pem.to_owned());
        };
        let out = seal_bytes(key, kid, pem.as_bytes()).map_err(|_| StoreError::Corrupt("sealing a card signing key failed".into()))?;
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// The PEM of key `kid` from what was stored: sealed, or plain when no secret is set.
    pub fn open(&self, kid: &str, stored: &str) -> Result<String, StoreError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            if self.key.is_some() {
                return Err(StoreError::Corrupt(format!(
                    "card signing key {kid} is stored unsealed while card keys are sealed (ANOLA_CARD_KEY_SECRET, or else the server's sealing secret): if it was made before the secret was set, start once with ANOLA_SEAL_EXISTING_CARD_KEYS=1 to seal it; otherwise it was planted and must be removed"
                )));
            }
            return Ok(stored.to_owned());
        };
        let Some(key) = &self.key else {
            return Err(StoreError::Corrupt(format!(
                "card signing key {kid} is sealed: start the server with the ANOLA_CARD_KEY_SECRET it was sealed with"
            )));
        };
        let raw = B64
            .decode(body)
            .map_err(|_| StoreError::Corrupt(format!("card signing key {kid}: sealed value is not base64")))?;
        let opened = open_bytes(key, kid, &raw).or_else(|| self.fallbacks.iter().find_map(|f| open_bytes(f, kid, &raw)));
        let pem = opened.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "card signing key {kid} does not open with this ANOLA_CARD_KEY_SECRET (or, without one, the server's sealing secret): a different secret, or the value was altered"
            ))
        })?;
        String::from_utf8(pem).map_err(|_| StoreError::Corrupt(format!("card signing key {kid}: not UTF-8 inside")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

    #[test]
    fn sealed_keys_open_only_with_the_same_secret_and_kid() {
        let s = KeySealer::with_secret("a random secret of at least thirty-two chars");
        let stored = s.seal("kid-1", PEM).unwrap();
        assert!(stored.starts_with(PREFIX) && !stored.contains("PRIVATE KEY"));
        assert_eq!(s.open("kid-1", &stored).unwrap(), PEM);
        // Two seals of the same key differ (fresh nonce).
        assert_ne!(s.seal("kid-1", PEM).unwrap(), stored);
        let other = KeySealer::with_secret("another random secret of thirty-two chars!");
        assert!(matches!(other.open("kid-1", &stored), Err(StoreError::Corrupt(_))));
        assert!(
            matches!(s.open("kid-2", &stored), Err(StoreError::Corrupt(_))),
            "moved to another kid"
        );
        assert!(matches!(KeySealer::plain().open("kid-1", &stored), Err(StoreError::Corrupt(m)) if m.contains("ANOLA_CARD_KEY_SECRET")));
        let mut tampered = stored.clone();
        tampered.pop();
        tampered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert!(s.open("kid-1", &tampered).is_err());
        assert!(s.open("kid-1", "sealed:v1:!!!").is_err());
        assert!(s.open("kid-1", "sealed:v1:AAAA").is_err());
    }

    #[test]
    fn plain_keys_open_only_without_a_secret() {
        assert_eq!(KeySealer::plain().open("k", PEM).unwrap(), PEM);
        assert_eq!(KeySealer::plain().seal("k", PEM).unwrap(), PEM);
        let refused = KeySealer::with_secret(&"x".repeat(40)).open("k", PEM).unwrap_err();
        assert!(matches!(refused, StoreError::Corrupt(m) if m.contains("ANOLA_SEAL_EXISTING_CARD_KEYS")));
    }
}
