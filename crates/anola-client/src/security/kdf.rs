//! Password-based key derivation: Argon2id with OWASP's first recommended setting
//! (m = 19 MiB, t = 2, p = 1), a 16-byte random salt per wrap.
//!
//! The parameters are stored next to each wrapped key, so a later version can raise them: a user's
//! key is re-wrapped with the current parameters at each online sign-in.

use super::{b64, random_bytes, unb64};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Always `argon2id` for now.
    pub algorithm: String,
    /// base64, 16 bytes.
    pub salt: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key derivation failed: {0}")]
pub struct KdfError(pub String);

impl KdfParams {
    /// The current parameters with a fresh salt.
    pub fn new_random() -> Self {
        let salt: [u8; 16] = random_bytes();
        KdfParams {
            algorithm: "argon2id".into(),
            salt: b64(&salt),
            m_cost_kib: M_COST_KIB,
            t_cost: T_COST,
            p_cost: P_COST,
        }
    }

    /// Derives a 256-bit key-encryption key from `secret`.
    pub fn derive(&self, secret: &[u8]) -> Result<Zeroizing<[u8; 32]>, KdfError> {
        if self.algorithm != "argon2id" {
            return Err(KdfError(format!("unknown algorithm {}", self.algorithm)));
        }
        let salt = unb64(&self.salt).ok_or_else(|| KdfError("malformed salt".into()))?;
        let params = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32)).map_err(|e| KdfError(e.to_string()))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(secret, &salt, out.as_mut())
            .map_err(|e| KdfError(e.to_string()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_password_same_key_other_salt_other_key() {
        let p = KdfParams::new_random();
        assert_eq!(*p.derive(b"pw").unwrap(), *p.derive(b"pw").unwrap());
        assert_ne!(*p.derive(b"pw").unwrap(), *p.derive(b"pw2").unwrap());
        let q = KdfParams::new_random();
        assert_ne!(*p.derive(b"pw").unwrap(), *q.derive(b"pw").unwrap());
    }
}
