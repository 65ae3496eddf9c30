//! Passwords: argon2id hashes (PHC strings) and the password policy (OWASP ASVS level 2: length
//! 12–128, no composition rules, no common or name-derived passwords).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&super::random_bytes::<16>()).expect("16 bytes make a valid salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashing cannot fail with valid parameters")
        .to_string()
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the same time as a real check, so an unknown user name is not revealed by timing.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("anola-dummy-password-for-timing"));
    let _ = verify(password, phc);
}

const COMMON: &[&str] = &[
    "password1234",
    "123456789012",
    "qwertyuiop12",
    "passwordpassword",
    "iloveyou1234",
    "administrator",
    "welcome12345",
    "letmein12345",
    "changeme1234",
    "anolahealth1",
];

/// Why `password` is refused for `username`, if it is.
pub fn policy_violation(username: &str, password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < 12 {
        return Some("password must be at least 12 characters".into());
    }
    if n > 128 {
        return Some("password must be at most 128 characters".into());
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Some("password is too common".into());
    }
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Some("password must not contain the user name".into());
    }
    if password.chars().all(|c| c == password.chars().next().unwrap_or(' ')) {
        return Some("password must not be one repeated character".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterx", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn policy() {
        assert!(policy_violation("amina", "short").is_some());
        assert!(policy_violation("amina", "amina-is-my-name").is_some());
        assert!(policy_violation("amina", "Password1234").is_some());
        assert!(policy_violation("amina", "aaaaaaaaaaaaaa").is_some());
        assert!(policy_violation("amina", "blue kettle on the hill").is_none());
    }
}
