//! Server secrets at rest: the token-signing secret, the fallback-code secret, each device's
//! key-encryption key and each account's TOTP secret are stored sealed (AES-256-GCM under a key
//! derived from the server's sealing secret, with what the value belongs to as associated data),
//! so a copy of the database alone mints no tokens, opens no stolen replica and passes no second
//! factor. The sealing secret lives outside the database (`ANOLA_SEALING_SECRET`, or a key file);
//! docs/security.md says how to rotate it.
//!
//! Values stored before sealing was turned on, or sealed under the previous secret during a
//! rotation, still open, and are reported stale so the store seals them again under the current
//! secret.

use crate::store::StoreError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "sealed:s1:";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// A 256-bit key for one purpose, derived from a secret (HKDF's extract step with a fixed label).
pub(crate) fn derive_key(label: &[u8], secret: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(label).expect("HMAC takes any key length");
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Nonce followed by the ciphertext (with its tag).
pub(crate) fn seal_bytes(key: &[u8; 32], aad: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
    let nonce: [u8; 12] = crate::auth::random_bytes::<12>();
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Corrupt("sealing a secret failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext of `raw` (`seal_bytes`' output), if it opens under `key` with `aad`.
pub(crate) fn open_bytes(key: &[u8; 32], aad: &str, raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < 12 + 16 {
        return None;
    }
    let (nonce, sealed) = raw.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

/// Seals and opens the server's secrets.
#[derive(Clone)]
pub struct SecretSealer {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSealer").field("rotating", &self.previous.is_some()).finish()
    }
}

/// A value read back: the plaintext, and whether it should be stored again (it was plain, or
/// sealed under the previous secret).
#[derive(Debug)]
pub struct Opened {
    pub value: String,
    pub stale: bool,
}

const LABEL: &[u8] = b"anola server secret sealing v1";

impl SecretSealer {
    /// `previous`: the secret being rotated away from, while values sealed under it remain.
    pub fn new(secret: &str, previous: Option<&str>) -> Self {
        SecretSealer {
            current: derive_key(LABEL, secret),
            previous: previous.map(|p| derive_key(LABEL, p)),
        }
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// What to store for `plain`, which belongs to `aad` (e.g. `device_kek:<device id>`).
    pub fn seal(&self, aad: &str, plain: &str) -> Result<String, StoreError> {
        Ok(format!("{PREFIX}{}", B64.encode(seal_bytes(&self.current, aad, plain.as_bytes())?)))
    }

    pub fn open(&self, aad: &str, stored: &str) -> Result<Opened, StoreError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(Opened {
                value: stored.to_owned(),
                stale: true,
            });
        };
        let raw = B64
            .decode(body)
            .map_err(|_| StoreError::Corrupt(format!("sealed {aad}: not base64")))?;
        let (plain, stale) = match open_bytes(&self.current, aad, &raw) {
            Some(p) => (p, false),
            None => match self.previous.as_ref().and_then(|k| open_bytes(k, aad, &raw)) {
                Some(p) => (p, true),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "sealed {aad} does not open with ANOLA_SEALING_SECRET (or ANOLA_SEALING_SECRET_PREVIOUS): a different secret, or the value was altered"
                    )))
                }
            },
        };
        Ok(Opened {
            value: String::from_utf8(plain).map_err(|_| StoreError::Corrupt(format!("sealed {aad}: not UTF-8 inside")))?,
            stale,
        })
    }
}

/// Opens `stored` with `sealer`, or takes it as plain when the store seals nothing (in-process
/// test servers); a sealed value without a sealer is an error naming the setting.
pub(crate) fn open_with(sealer: Option<&SecretSealer>, aad: &str, stored: &str) -> Result<Opened, StoreError> {
    match sealer {
        Some(s) => s.open(aad, stored),
        None if SecretSealer::is_sealed(stored) => Err(StoreError::Corrupt(format!(
            "{aad} is sealed: start the server with the ANOLA_SEALING_SECRET (or key file) it was sealed with"
        ))),
        None => Ok(Opened {
            value: stored.to_owned(),
            stale: false,
        }),
    }
}

/// `seal` with `sealer`, or the plain value when the store seals nothing.
pub(crate) fn seal_with(sealer: Option<&SecretSealer>, aad: &str, plain: &str) -> Result<String, StoreError> {
    match sealer {
        Some(s) => s.seal(aad, plain),
        None => Ok(plain.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_secret_and_owner() {
        let s = SecretSealer::new("a random secret of at least thirty-two chars", None);
        let stored = s.seal("device_kek:d1", "kek-value").unwrap();
        assert!(SecretSealer::is_sealed(&stored) && !stored.contains("kek-value"));
        let o = s.open("device_kek:d1", &stored).unwrap();
        assert_eq!((o.value.as_str(), o.stale), ("kek-value", false));
        assert!(s.open("device_kek:d2", &stored).is_err(), "moved to another owner");
        let other = SecretSealer::new("another random secret of thirty-two chars!", None);
        assert!(other.open("device_kek:d1", &stored).is_err());
        assert!(open_with(None, "device_kek:d1", &stored).is_err());
        // Plain values (from before sealing) open and are stale.
        assert!(s.open("x", "plain").unwrap().stale);
    }

    #[test]
    fn rotation_opens_old_values_and_marks_them_stale() {
        let old = SecretSealer::new("the old secret, thirty-two characters+", None);
        let stored = old.seal("token", "v").unwrap();
        let rotated = SecretSealer::new(
            "the new secret, thirty-two characters+",
            Some("the old secret, thirty-two characters+"),
        );
        let o = rotated.open("token", &stored).unwrap();
        assert_eq!((o.value.as_str(), o.stale), ("v", true));
        let resealed = rotated.seal("token", &o.value).unwrap();
        assert!(!rotated.open("token", &resealed).unwrap().stale);
    }
}
