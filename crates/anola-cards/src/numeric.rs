//! The SMART Health Cards numeric QR text: `shc:/` then two decimal digits per JWS character
//! (`ord(c) - 45`, zero-padded), so the bulk of the QR is one numeric-mode segment (3.33 bits per
//! digit, 6.67 bits per JWS character, against 8 in byte mode).

use crate::error::CardError;

/// The prefix every card QR text starts with (a byte-mode segment in the QR).
pub const QR_PREFIX: &str = "shc:/";

/// The lowest character a JWS can hold (`-`, 45); digits pairs are `ord(c) - 45`.
const OFFSET: u8 = b'-';
/// The highest digit pair: `z` (122) - 45.
const MAX_PAIR: u8 = b'z' - OFFSET;

/// Encodes a compact JWS as `shc:/` + digits. Fails on characters outside `-`..=`z` (never the
/// case for a base64url JWS).
pub fn encode_qr_text(jws: &str) -> Result<String, CardError> {
    let mut out = String::with_capacity(QR_PREFIX.len() + 2 * jws.len());
    out.push_str(QR_PREFIX);
    for b in jws.bytes() {
        if !(OFFSET..=b'z').contains(&b) {
            return Err(CardError::malformed("the token holds a character that numeric mode cannot carry"));
        }
        let n = b - OFFSET;
        out.push(char::from(b'0' + n / 10));
        out.push(char::from(b'0' + n % 10));
    }
    Ok(out)
}

/// Decodes `shc:/` + digits back to the JWS text. Rejects a missing prefix, a non-digit, an odd
/// number of digits and any pair above 77.
pub fn decode_qr_text(text: &str) -> Result<String, CardError> {
    let digits = text
        .strip_prefix(QR_PREFIX)
        .ok_or_else(|| CardError::malformed("the code does not start with shc:/"))?
        .as_bytes();
    if digits.is_empty() {
        return Err(CardError::malformed("the code holds no data after shc:/"));
    }
    if digits.len() % 2 != 0 {
        return Err(CardError::malformed("the code has an odd number of digits"));
    }
    let mut out = String::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        if !pair[0].is_ascii_digit() || !pair[1].is_ascii_digit() {
            return Err(CardError::malformed("the code holds a character that is not a digit"));
        }
        let n = (pair[0] - b'0') * 10 + (pair[1] - b'0');
        if n > MAX_PAIR {
            return Err(CardError::malformed("the code holds a digit pair above 77"));
        }
        out.push(char::from(n + OFFSET));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(encode_qr_text("-.z").unwrap(), "shc:/000177");
        assert_eq!(encode_qr_text("eyJ").unwrap(), "shc:/567629");
        assert_eq!(decode_qr_text("shc:/567629").unwrap(), "eyJ");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "shc:",
            "shc:/",
            "shc:/5",
            "shc:/567",
            "shc:/78",
            "shc:/99",
            "SHC:/5676",
            "shc:/56a6",
            "shc:/+1",
            "x shc:/56",
        ] {
            let err = decode_qr_text(bad).unwrap_err();
            assert_eq!(err.code(), "malformed", "{bad:?}");
        }
        assert!(decode_qr_text("shc:/77").is_ok());
        assert!(encode_qr_text("a b").is_err());
        assert!(encode_qr_text("{").is_err());
        assert!(encode_qr_text("é").is_err());
    }
}
