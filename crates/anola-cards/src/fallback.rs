//! The short numeric fallback code printed under each QR, for cards whose QR will not read: 11
//! digits of HMAC-SHA256(server secret, card id) and one Damm check digit, shown as
//! `1234-5678-9012`.
//!
//! The check digit catches every single mistyped digit and every swap of two neighbouring digits
//! before any look-up. The code is not a signature: it only names a card, so the device (or the
//! server) matches it against the codes of the cards it knows. Derived with a secret, codes cannot
//! be computed from a card id, and the 10^11 space makes guessing a valid code of a real card
//! unlikely.

use hmac::{Hmac, Mac};
use p256::elliptic_curve::subtle::ConstantTimeEq as _;
use sha2::Sha256;

use crate::error::FallbackCodeError;

/// Digits in a fallback code, check digit included.
pub const FALLBACK_DIGITS: usize = 12;

/// The Damm algorithm's quasigroup of order 10 (totally anti-symmetric, zero diagonal).
pub const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit of `digits` (0..=9 each): appending it makes the whole run check to 0.
fn damm(digits: &[u8]) -> u8 {
    digits.iter().fold(0, |interim, &d| DAMM[usize::from(interim)][usize::from(d)])
}

/// The fallback code of `card_id` under the server's `secret`, formatted `1234-5678-9012`.
pub fn fallback_code(card_id: &str, secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"anola-card-fallback-v1\0");
    mac.update(card_id.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&tag[..8]);
    // 2^64 / 10^11 ≈ 1.8e8, so the modulo bias is below 1e-8.
    let mut n = u64::from_be_bytes(first) % 100_000_000_000;
    let mut digits = [0u8; FALLBACK_DIGITS];
    for d in digits[..FALLBACK_DIGITS - 1].iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    digits[FALLBACK_DIGITS - 1] = damm(&digits[..FALLBACK_DIGITS - 1]);
    format_digits(&digits)
}

/// Checks a typed code's shape and check digit (dashes and spaces ignored) and returns it in the
/// canonical `1234-5678-9012` form. Says nothing about whether a card has this code.
pub fn check_fallback_format(code: &str) -> Result<String, FallbackCodeError> {
    if code.len() > 64 {
        return Err(FallbackCodeError::WrongLength(code.chars().filter(char::is_ascii_digit).count()));
    }
    let mut digits = Vec::with_capacity(FALLBACK_DIGITS);
    for c in code.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            '-' | ' ' => {}
            _ => return Err(FallbackCodeError::NotDigits),
        }
    }
    if digits.len() != FALLBACK_DIGITS {
        return Err(FallbackCodeError::WrongLength(digits.len()));
    }
    if damm(&digits) != 0 {
        return Err(FallbackCodeError::BadCheckDigit);
    }
    Ok(format_digits(&digits))
}

/// Whether `code` (any accepted typing) is the fallback code of `card_id`; constant-time compare.
pub fn fallback_code_matches(card_id: &str, secret: &[u8], code: &str) -> bool {
    match check_fallback_format(code) {
        Ok(canonical) => bool::from(canonical.as_bytes().ct_eq(fallback_code(card_id, secret).as_bytes())),
        Err(_) => false,
    }
}

fn format_digits(digits: &[u8]) -> String {
    let mut out = String::with_capacity(FALLBACK_DIGITS + 2);
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(b'0' + d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damm_table_is_a_weakly_totally_antisymmetric_quasigroup() {
        for (i, row) in DAMM.iter().enumerate() {
            assert_eq!(row[i], 0);
            let mut row: Vec<u8> = row.to_vec();
            let mut col: Vec<u8> = (0..10).map(|j| DAMM[j][i]).collect();
            row.sort_unstable();
            col.sort_unstable();
            assert_eq!(row, (0..10).collect::<Vec<u8>>());
            assert_eq!(col, (0..10).collect::<Vec<u8>>());
        }
        // (c*x)*y == (c*y)*x implies x == y: what makes adjacent swaps detectable.
        for c in 0..10 {
            for x in 0..10 {
                for y in 0..10 {
                    if x != y {
                        assert_ne!(DAMM[usize::from(DAMM[c][x])][y], DAMM[usize::from(DAMM[c][y])][x]);
                    }
                }
            }
        }
        assert_eq!(damm(&[5, 7, 2]), 4); // the algorithm's textbook example
        assert_eq!(damm(&[5, 7, 2, 4]), 0);
    }

    #[test]
    fn codes_are_stable_well_formed_and_keyed() {
        let a = fallback_code("AH-LZ3K9Q2A-1A2B3C", b"secret one");
        assert_eq!(a, fallback_code("AH-LZ3K9Q2A-1A2B3C", b"secret one"));
        assert_eq!(a.len(), 14);
        assert_eq!(&a[4..5], "-");
        assert_eq!(check_fallback_format(&a).unwrap(), a);
        assert_ne!(a, fallback_code("AH-LZ3K9Q2A-1A2B3D", b"secret one"));
        assert_ne!(a, fallback_code("AH-LZ3K9Q2A-1A2B3C", b"secret two"));
        assert!(fallback_code_matches("AH-LZ3K9Q2A-1A2B3C", b"secret one", &a.replace('-', " ")));
        assert!(!fallback_code_matches("AH-LZ3K9Q2A-1A2B3C", b"secret two", &a));
    }

    #[test]
    fn every_single_digit_error_and_adjacent_swap_is_caught() {
        for i in 0..200 {
            let code = fallback_code(&format!("AH-TEST-{i}"), b"k");
            let digits: Vec<u8> = code.bytes().filter(u8::is_ascii_digit).collect();
            for pos in 0..FALLBACK_DIGITS {
                for wrong in b'0'..=b'9' {
                    if wrong != digits[pos] {
                        let mut d = digits.clone();
                        d[pos] = wrong;
                        let typed = String::from_utf8(d).unwrap();
                        assert_eq!(check_fallback_format(&typed), Err(FallbackCodeError::BadCheckDigit), "{typed}");
                    }
                }
                if pos + 1 < FALLBACK_DIGITS && digits[pos] != digits[pos + 1] {
                    let mut d = digits.clone();
                    d.swap(pos, pos + 1);
                    assert!(check_fallback_format(&String::from_utf8(d).unwrap()).is_err());
                }
            }
        }
    }

    #[test]
    fn format_errors() {
        assert_eq!(check_fallback_format("1234-5678-901"), Err(FallbackCodeError::WrongLength(11)));
        assert_eq!(check_fallback_format("1234-5678-90123"), Err(FallbackCodeError::WrongLength(13)));
        assert_eq!(check_fallback_format("1234-5678-901x"), Err(FallbackCodeError::NotDigits));
        assert_eq!(check_fallback_format("١٢٣٤-5678-9012"), Err(FallbackCodeError::NotDigits));
        assert_eq!(check_fallback_format(""), Err(FallbackCodeError::WrongLength(0)));
        assert!(check_fallback_format(&"1".repeat(10_000)).is_err());
        assert_eq!(check_fallback_format("000000000000").unwrap(), "0000-0000-0000");
    }
}

/// The UI's copy of the check-digit table (`ui/src/generated/checkDigit.ts`), generated from this
/// one; a test fails when the file is stale (`ANOLA_WRITE_GENERATED=1` rewrites it).
pub fn check_digit_ts() -> String {
    let mut s = String::from(
        "// Generated from crates/anola-cards/src/fallback.rs by its tests (ANOLA_WRITE_GENERATED=1 cargo test -p anola-cards generated). Do not edit.\n\n",
    );
    s.push_str(&format!(
        "/** Digits in a fallback code, check digit included. */\nexport const FALLBACK_DIGITS = {FALLBACK_DIGITS};\n\n"
    ));
    s.push_str("/** The Damm quasigroup: appending the interim digit makes a run check to 0. */\nexport const DAMM: readonly (readonly number[])[] = [\n");
    for row in DAMM {
        s.push_str(&format!("  [{}],\n", row.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")));
    }
    s.push_str("];\n");
    s
}

#[cfg(test)]
mod generated {
    #[test]
    fn generated_ts_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/generated/checkDigit.ts");
        let want = super::check_digit_ts();
        if std::env::var_os("ANOLA_WRITE_GENERATED").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            have, want,
            "ui/src/generated/checkDigit.ts is stale: run ANOLA_WRITE_GENERATED=1 cargo test -p anola-cards generated"
        );
    }
}
