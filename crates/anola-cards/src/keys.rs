//! Signing keys (server side) and their public JWKs (what `/.well-known/jwks.json` serves and what
//! devices cache to verify offline).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use p256::{EncodedPoint, FieldBytes};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::KeyError;

/// An ES256 (P-256) card signing key with its key id. `Debug` shows only the key id.
#[derive(Clone)]
pub struct SigningKey {
    inner: p256::ecdsa::SigningKey,
    kid: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        Self::wrap(p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }

    /// From the raw 32-byte big-endian secret scalar.
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::InvalidPrivateKey(format!(
                "a P-256 secret scalar is 32 bytes, not {}",
                bytes.len()
            )));
        }
        let inner = p256::ecdsa::SigningKey::from_bytes(FieldBytes::from_slice(bytes))
            .map_err(|_| KeyError::InvalidPrivateKey("the scalar is zero or not below the curve order".into()))?;
        Ok(Self::wrap(inner))
    }

    /// The raw 32-byte secret scalar (wiped from memory when dropped).
    pub fn to_scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.inner.to_bytes().into())
    }

    /// From a PKCS#8 DER private key (`-----BEGIN PRIVATE KEY-----` once base64-decoded).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self::wrap)
            .map_err(|e| KeyError::InvalidPrivateKey(format!("not a P-256 PKCS#8 key: {e}")))
    }

    /// PKCS#8 DER (wiped from memory when dropped).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        // Encoding a valid in-memory key cannot fail.
        let doc = self.inner.to_pkcs8_der().expect("PKCS#8 encoding of a valid P-256 key");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// From a PKCS#8 PEM private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
            .map(Self::wrap)
            .map_err(|e| KeyError::InvalidPrivateKey(format!("not a P-256 PKCS#8 PEM key: {e}")))
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings; wiped from memory when dropped).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        self.inner
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 PEM encoding of a valid P-256 key")
    }

    /// The key id: base64url SHA-256 JWK thumbprint (RFC 7638) of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, ready for a [`JwkSet`].
    pub fn public_jwk(&self) -> Jwk {
        Jwk::from_verifying_key(self.inner.verifying_key())
    }

    /// The 64-byte `r || s` ES256 signature of `message`.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        let sig: Signature = self.inner.sign(message);
        sig.to_bytes().into()
    }

    fn wrap(inner: p256::ecdsa::SigningKey) -> Self {
        let (x, y) = coordinates(inner.verifying_key());
        let kid = thumbprint(&x, &y);
        SigningKey { inner, kid }
    }
}

/// A public P-256 key as a JSON Web Key (RFC 7517/7518), with `use: "sig"` and `alg: "ES256"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    pub crv: String,
    /// base64url (no padding) of the 32-byte x coordinate.
    pub x: String,
    /// base64url (no padding) of the 32-byte y coordinate.
    pub y: String,
}

impl Jwk {
    fn from_verifying_key(vk: &VerifyingKey) -> Self {
        let (x, y) = coordinates(vk);
        Jwk {
            kty: "EC".into(),
            kid: thumbprint(&x, &y),
            use_: Some("sig".into()),
            alg: Some("ES256".into()),
            crv: "P-256".into(),
            x,
            y,
        }
    }

    /// The RFC 7638 thumbprint of this key's members (what `kid` must equal).
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.x, &self.y)
    }

    /// The verifying key, after checking the JWK describes an ES256 signing key on P-256, its point
    /// is on the curve and its `kid` is its thumbprint.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let bad = |m: &str| KeyError::InvalidPublicKey(m.to_owned());
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(bad("not an EC P-256 key"));
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") || self.alg.as_deref().is_some_and(|a| a != "ES256") {
            return Err(bad("not an ES256 signing key"));
        }
        let coord = |s: &str| -> Result<[u8; 32], KeyError> {
            let v = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad("a coordinate is not base64url"))?;
            v.try_into().map_err(|_| bad("a coordinate is not 32 bytes"))
        };
        let (x, y) = (coord(&self.x)?, coord(&self.y)?);
        let point = EncodedPoint::from_affine_coordinates(FieldBytes::from_slice(&x), FieldBytes::from_slice(&y), false);
        let vk = VerifyingKey::from_encoded_point(&point).map_err(|_| bad("the point is not on the P-256 curve"))?;
        if self.kid != self.thumbprint() {
            return Err(bad("kid is not the key's RFC 7638 thumbprint"));
        }
        Ok(vk)
    }
}

/// A JWK Set: `{"keys": [...]}`, the body of `/.well-known/jwks.json`. Holds the current key and
/// the keys of recent rotations, so cards signed before a rotation still verify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    pub fn new(keys: Vec<Jwk>) -> Self {
        JwkSet { keys }
    }

    /// The key with this `kid`, if any.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

fn coordinates(vk: &VerifyingKey) -> (String, String) {
    let point = vk.to_encoded_point(false);
    // An uncompressed point of a valid key always has both coordinates.
    let x = point.x().expect("uncompressed point has x");
    let y = point.y().expect("uncompressed point has y");
    (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_style_thumbprint_of_a_known_key() {
        // The P-256 key of RFC 7515 appendix A.3.
        let jwk = Jwk {
            kty: "EC".into(),
            kid: String::new(),
            use_: None,
            alg: None,
            crv: "P-256".into(),
            x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into(),
            y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into(),
        };
        // Computed independently (Python hashlib over the RFC 7638 canonical JSON).
        let expected = "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U".to_string();
        assert_eq!(jwk.thumbprint(), expected);
        assert_eq!(jwk.thumbprint().len(), 43);
        // With the right kid the key loads.
        let jwk = Jwk { kid: expected, ..jwk };
        jwk.verifying_key().unwrap();
        // A wrong kid, a point off the curve or a wrong curve does not.
        assert!(Jwk {
            kid: "x".into(),
            ..jwk.clone()
        }
        .verifying_key()
        .is_err());
        assert!(Jwk {
            y: jwk.x.clone(),
            ..jwk.clone()
        }
        .verifying_key()
        .is_err());
        assert!(Jwk {
            crv: "P-384".into(),
            ..jwk.clone()
        }
        .verifying_key()
        .is_err());
        assert!(Jwk {
            alg: Some("RS256".into()),
            ..jwk
        }
        .verifying_key()
        .is_err());
    }

    #[test]
    fn key_round_trips() {
        let k = SigningKey::generate();
        assert_eq!(k.kid().len(), 43);
        assert_eq!(k.public_jwk().kid, k.kid());
        assert_eq!(k.public_jwk().thumbprint(), k.kid());
        let raw = k.to_scalar_bytes();
        assert_eq!(SigningKey::from_scalar_bytes(&raw[..]).unwrap().kid(), k.kid());
        assert_eq!(SigningKey::from_pkcs8_der(&k.to_pkcs8_der()).unwrap().kid(), k.kid());
        let pem = k.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(SigningKey::from_pkcs8_pem(&pem).unwrap().kid(), k.kid());
        assert!(SigningKey::from_scalar_bytes(&[0u8; 32]).is_err());
        assert!(SigningKey::from_scalar_bytes(&[0xff; 32]).is_err());
        assert!(SigningKey::from_scalar_bytes(&[1u8; 31]).is_err());
        assert!(SigningKey::from_pkcs8_der(b"not a key").is_err());
        assert!(!format!("{k:?}").contains(&URL_SAFE_NO_PAD.encode(&raw[..])));
        let other = SigningKey::generate();
        assert_ne!(other.kid(), k.kid());
    }

    #[test]
    fn jwk_json_shape() {
        let k = SigningKey::generate();
        let set = JwkSet::new(vec![k.public_jwk()]);
        let json = serde_json::to_value(&set).unwrap();
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["kid"], k.kid());
        let back: JwkSet = serde_json::from_value(json).unwrap();
        assert_eq!(back, set);
        assert!(back.find(k.kid()).is_some());
        back.keys[0].verifying_key().unwrap();
    }
}
