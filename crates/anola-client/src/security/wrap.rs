//! Key wrapping: the data key encrypted under a key-encryption key with AES-256-GCM.
//!
//! The associated data binds a wrapped key to its purpose (which device, which user), so a wrapped
//! key copied from one vault entry to another does not unwrap. A wrong key-encryption key fails the
//! GCM tag check: that is how a wrong password is detected without storing any password hash.

use super::{b64, random_bytes, unb64, DataKey};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anola_protocol::signing::StaffKey;
use serde::{Deserialize, Serialize};

/// A wrapped data key, as stored in the vault (base64 fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapped {
    /// 96-bit random GCM nonce.
    pub nonce: String,
    /// The 32-byte key plus the 16-byte tag.
    pub ciphertext: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// The key-encryption key (password, PIN, device secret) is not the one this was wrapped with.
    #[error("wrong key")]
    WrongKey,
    #[error("malformed wrapped key")]
    Malformed,
}

pub fn wrap(kek: &[u8; 32], key: &DataKey, aad: &[u8]) -> Wrapped {
    let cipher = Aes256Gcm::new(kek.into());
    let nonce: [u8; 12] = random_bytes();
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: key.as_bytes(), aad })
        .expect("AES-GCM encryption of 32 bytes cannot fail");
    Wrapped {
        nonce: b64(&nonce),
        ciphertext: b64(&ct),
    }
}

pub fn unwrap(kek: &[u8; 32], w: &Wrapped, aad: &[u8]) -> Result<DataKey, UnwrapError> {
    let nonce = unb64(&w.nonce).filter(|n| n.len() == 12).ok_or(UnwrapError::Malformed)?;
    let ct = unb64(&w.ciphertext).ok_or(UnwrapError::Malformed)?;
    let cipher = Aes256Gcm::new(kek.into());
    let pt = zeroize::Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad })
            .map_err(|_| UnwrapError::WrongKey)?,
    );
    let arr: [u8; 32] = pt.as_slice().try_into().map_err(|_| UnwrapError::Malformed)?;
    Ok(DataKey::from_bytes(arr))
}

/// A staff member's signing key (its 32-byte seed) wrapped like a data key.
pub fn wrap_staff_key(kek: &[u8; 32], key: &StaffKey, aad: &[u8]) -> Wrapped {
    wrap(kek, &DataKey::from_bytes(*key.seed()), aad)
}

pub fn unwrap_staff_key(kek: &[u8; 32], w: &Wrapped, aad: &[u8]) -> Result<StaffKey, UnwrapError> {
    Ok(StaffKey::from_seed(unwrap(kek, w, aad)?.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let key = DataKey::random();
        let kek = [9u8; 32];
        let w = wrap(&kek, &key, b"ctx");
        assert_eq!(unwrap(&kek, &w, b"ctx").unwrap(), key);
        assert_eq!(unwrap(&[8u8; 32], &w, b"ctx"), Err(UnwrapError::WrongKey));
        // Bound to its context: the same wrap does not open for another purpose.
        assert_eq!(unwrap(&kek, &w, b"other"), Err(UnwrapError::WrongKey));
        let garbled = Wrapped {
            nonce: "!!".into(),
            ciphertext: w.ciphertext.clone(),
        };
        assert_eq!(unwrap(&kek, &garbled, b"ctx"), Err(UnwrapError::Malformed));
    }
}
