//! Staff signatures: who wrote a change is proven, not claimed (ADR 0014).
//!
//! Every staff member has an Ed25519 key per device, made at their first online sign-in there and
//! registered with the server in that sign-in. A device signs each mutation and audit entry with
//! the key of the staff member who made it; the server verifies the signature against the
//! registered key and refuses unsigned, mis-signed, unknown-key and revoked-key writes.
//!
//! What is signed is a domain tag followed by the *canonical JSON* of the value without its
//! `signature` field: object keys sorted by their bytes, no whitespace, strings and numbers as
//! serde_json writes them. Device and server compute it from the same types, so a value that
//! survives a JSON round trip (the device's outbox, the wire, the server's parse) signs the same.

use crate::auth::AuditEntry;
use crate::wire::Mutation;
use base64::Engine;
use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MUTATION_DOMAIN: &[u8] = b"anola/mutation/v1\n";
const AUDIT_DOMAIN: &[u8] = b"anola/audit/v1\n";

/// A signature and the key that made it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// `key_id` of the signing key's public part.
    pub key: String,
    /// The 64-byte Ed25519 signature, base64 (standard alphabet, padded).
    pub sig: String,
}

/// Why a signature does not hold. Each maps to a stable error code of a refused write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the change is not signed by its author")]
    Missing,
    #[error("the signature does not match the change and the author's key")]
    Invalid,
}

impl SignatureError {
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Invalid => "signature_invalid",
        }
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A key's id: the first 16 bytes of SHA-256 of its public part, in hex.
pub fn key_id(public: &[u8; 32]) -> String {
    Sha256::digest(public)[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a base64 public key.
pub fn public_key_from_b64(s: &str) -> Option<[u8; 32]> {
    let bytes = b64().decode(s.trim()).ok()?;
    let key: [u8; 32] = bytes.try_into().ok()?;
    // Rejects encodings that are not points of the curve.
    ed25519_dalek::VerifyingKey::from_bytes(&key).ok()?;
    Some(key)
}

pub fn public_key_b64(public: &[u8; 32]) -> String {
    b64().encode(public)
}

/// A staff member's signing key (the private part). Zeroed when dropped; never printed.
#[derive(Clone)]
pub struct StaffKey(ed25519_dalek::SigningKey);

impl StaffKey {
    pub fn from_seed(seed: &[u8; 32]) -> StaffKey {
        StaffKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32 secret bytes, for wrapping under the staff member's password.
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn id(&self) -> String {
        key_id(&self.public())
    }

    fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        Signature {
            key: self.id(),
            sig: b64().encode(self.0.sign(bytes).to_bytes()),
        }
    }

    /// Signs `m` in place (replacing any earlier signature).
    pub fn sign_mutation(&self, m: &mut Mutation) {
        m.signature = None;
        m.signature = Some(self.sign_bytes(&mutation_bytes(m)));
    }

    /// Signs `e` in place (replacing any earlier signature).
    pub fn sign_audit(&self, e: &mut AuditEntry) {
        e.signature = None;
        e.signature = Some(self.sign_bytes(&audit_bytes(e)));
    }
}

/// Two keys are the same key when their public parts are (which compares no secret bytes).
impl PartialEq for StaffKey {
    fn eq(&self, other: &Self) -> bool {
        self.public() == other.public()
    }
}

impl Eq for StaffKey {}

impl std::fmt::Debug for StaffKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaffKey({})", self.id())
    }
}

/// The bytes a mutation's signature covers.
pub fn mutation_bytes(m: &Mutation) -> Vec<u8> {
    signed_bytes(MUTATION_DOMAIN, serde_json::to_value(m), &["signature"])
}

/// The bytes an audit entry's signature covers (`verified` is the server's, never signed).
pub fn audit_bytes(e: &AuditEntry) -> Vec<u8> {
    signed_bytes(AUDIT_DOMAIN, serde_json::to_value(e), &["signature", "verified"])
}

fn signed_bytes(domain: &[u8], value: serde_json::Result<serde_json::Value>, unsigned: &[&str]) -> Vec<u8> {
    let mut value = value.expect("protocol types serialize to JSON");
    if let Some(o) = value.as_object_mut() {
        for k in unsigned {
            o.remove(*k);
        }
    }
    let mut out = domain.to_vec();
    canonical_json(&value, &mut out);
    out
}

/// Writes `v` as canonical JSON: keys sorted by bytes, no insignificant whitespace.
pub fn canonical_json(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::to_string(k).expect("a string serializes").as_bytes());
                out.push(b':');
                canonical_json(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(serde_json::to_string(scalar).expect("a scalar serializes").as_bytes()),
    }
}

/// A public key checked to be a curve point, with its id, parsed once: a server verifying a push
/// of hundreds of writes by one staff member decodes their key once, not per write.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    id: String,
}

impl PublicKey {
    pub fn from_bytes(public: &[u8; 32]) -> Option<PublicKey> {
        Some(PublicKey {
            key: ed25519_dalek::VerifyingKey::from_bytes(public).ok()?,
            id: key_id(public),
        })
    }

    pub fn from_b64(s: &str) -> Option<PublicKey> {
        PublicKey::from_bytes(&public_key_from_b64(s)?)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn verify_bytes(&self, signature: Option<&Signature>, bytes: &[u8]) -> Result<(), SignatureError> {
        let s = signature.ok_or(SignatureError::Missing)?;
        if s.key != self.id {
            return Err(SignatureError::Invalid);
        }
        let raw: [u8; 64] = b64()
            .decode(&s.sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureError::Invalid)?;
        self.key
            .verify_strict(bytes, &ed25519_dalek::Signature::from_bytes(&raw))
            .map_err(|_| SignatureError::Invalid)
    }

    /// Checks `m`'s signature against this key.
    pub fn verify_mutation(&self, m: &Mutation) -> Result<(), SignatureError> {
        self.verify_bytes(m.signature.as_ref(), &mutation_bytes(m))
    }

    /// Checks `e`'s signature against this key.
    pub fn verify_audit(&self, e: &AuditEntry) -> Result<(), SignatureError> {
        self.verify_bytes(e.signature.as_ref(), &audit_bytes(e))
    }
}

/// Checks `m`'s signature against the public key `public`.
pub fn verify_mutation(public: &[u8; 32], m: &Mutation) -> Result<(), SignatureError> {
    PublicKey::from_bytes(public).ok_or(SignatureError::Invalid)?.verify_mutation(m)
}

/// Checks `e`'s signature against the public key `public`.
pub fn verify_audit(public: &[u8; 32], e: &AuditEntry) -> Result<(), SignatureError> {
    PublicKey::from_bytes(public).ok_or(SignatureError::Invalid)?.verify_audit(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::wire::{EntityKind, Op};
    use uuid::Uuid;

    fn mutation() -> Mutation {
        Mutation {
            id: Uuid::now_v7(),
            entity: EntityKind::Patient,
            entity_id: Uuid::now_v7(),
            op: Op::Create,
            hlc: Hlc::new(1_700_000_000_000, 3, "dev.1"),
            fields: serde_json::json!({"z": 1, "a": {"y": [1, "two", null], "b": "é\"\n"}}),
            base: Default::default(),
            author: Some(Uuid::now_v7()),
            signature: None,
        }
    }

    #[test]
    fn a_signed_mutation_verifies_after_a_json_round_trip() {
        let key = StaffKey::from_seed(&[7; 32]);
        let mut m = mutation();
        key.sign_mutation(&mut m);
        let back: Mutation = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(verify_mutation(&key.public(), &back), Ok(()));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let key = StaffKey::from_seed(&[7; 32]);
        let mut m = mutation();
        key.sign_mutation(&mut m);
        let mut changed = m.clone();
        changed.author = Some(Uuid::now_v7());
        assert_eq!(verify_mutation(&key.public(), &changed), Err(SignatureError::Invalid));
        let mut changed = m.clone();
        changed.fields["z"] = serde_json::json!(2);
        assert_eq!(verify_mutation(&key.public(), &changed), Err(SignatureError::Invalid));
        let other = StaffKey::from_seed(&[8; 32]);
        assert_eq!(verify_mutation(&other.public(), &m), Err(SignatureError::Invalid));
        let mut unsigned = m.clone();
        unsigned.signature = None;
        assert_eq!(verify_mutation(&key.public(), &unsigned), Err(SignatureError::Missing));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut out = Vec::new();
        canonical_json(&serde_json::json!({"b": {"d": 1, "c": [true]}, "a": "x"}), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":"x","b":{"c":[true],"d":1}}"#);
    }

    #[test]
    fn public_keys_round_trip_and_ids_are_stable() {
        let key = StaffKey::from_seed(&[1; 32]);
        let b = public_key_b64(&key.public());
        assert_eq!(public_key_from_b64(&b), Some(key.public()));
        assert_eq!(key.id().len(), 32);
        assert_eq!(public_key_from_b64("bm90IGEga2V5"), None);
    }
}
