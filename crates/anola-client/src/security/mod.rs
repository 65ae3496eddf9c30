//! Keys and secrets of a clinic device (docs/security.md).
//!
//! The replica (`clinic.sqlite3`) is encrypted with SQLCipher under a random 256-bit *data key*.
//! The data key is never stored in clear. It is kept, in the vault sidecar (`vault.json`), wrapped
//! (AES-256-GCM) under:
//!
//! - the device's key-encryption secret (`device_kek`), which only the server hands out, and only
//!   to a staff member of the device's clinic signing in online on an unrevoked device. A stolen
//!   device whose enrolment was revoked can therefore never be opened through this path;
//! - for each staff member who signed in online on this device: a key derived from their password
//!   with Argon2id, so they can sign in while the clinic is offline. The GCM tag is the password
//!   verifier: there is no password hash to steal, only a wrapped key whose unwrapping costs an
//!   Argon2id derivation per guess.
//!
//! A short PIN for quick unlock is deliberately kept out of this file (see `pin`).

pub mod kdf;
pub mod pin;
pub mod vault;
pub mod wrap;

use zeroize::Zeroize;

/// The replica's 256-bit SQLCipher key. Zeroed when dropped; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).expect("the OS random source is available");
        DataKey(k)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as SQLCipher's raw-key literal body: 64 hex digits.
    pub(crate) fn hex(&self) -> zeroize::Zeroizing<String> {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            s.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
        }
        zeroize::Zeroizing::new(s)
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A new signing key for a staff member on this device (ADR 0014).
pub fn new_staff_key() -> anola_protocol::signing::StaffKey {
    let seed = zeroize::Zeroizing::new(random_bytes::<32>());
    anola_protocol::signing::StaffKey::from_seed(&seed)
}

/// Random bytes for salts, nonces and keys.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the OS random source is available");
    b
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// A 32-byte secret from its base64 form (the server's `device_kek`).
pub(crate) fn key_from_b64(s: &str) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    let v = zeroize::Zeroizing::new(unb64(s)?);
    let arr: [u8; 32] = v.as_slice().try_into().ok()?;
    Some(zeroize::Zeroizing::new(arr))
}
