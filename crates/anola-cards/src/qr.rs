//! The QR symbol of a card: a byte-mode segment `shc:/` then one numeric-mode segment of digits,
//! at error-correction level M, in the smallest version that holds it.

use qrcode::bits::Bits;
use qrcode::{EcLevel, QrCode, Version};

use crate::error::CardError;
use crate::numeric::{decode_qr_text, QR_PREFIX};

/// The error-correction level cards are printed at (M: about 15% of the symbol may be damaged).
pub const QR_EC_LEVEL: EcLevel = EcLevel::M;

/// The largest QR version a card may need (the SMART Health Cards bound).
pub const MAX_QR_VERSION: i16 = 22;

/// The QR symbol for a card's `shc:/` text, at level M in the smallest version that fits (at most
/// [`MAX_QR_VERSION`]). Render it with `qrcode`'s renderers (enable its `svg` or `image` feature in
/// the crate that draws).
pub fn card_qr_code(qr_text: &str) -> Result<QrCode, CardError> {
    decode_qr_text(qr_text)?;
    let digits = &qr_text.as_bytes()[QR_PREFIX.len()..];
    for v in 1..=MAX_QR_VERSION {
        if let Ok(bits) = segments(Version::Normal(v), digits) {
            return QrCode::with_bits(bits, QR_EC_LEVEL).map_err(|e| CardError::malformed(format!("QR encoding failed: {e}")));
        }
    }
    Err(CardError::TooLarge {
        len: qr_text.len(),
        max: max_qr_text_len(),
    })
}

/// The QR version [`card_qr_code`] picks for `qr_text`, if it fits.
pub fn card_qr_version(qr_text: &str) -> Option<i16> {
    match card_qr_code(qr_text).ok()?.version() {
        Version::Normal(v) => Some(v),
        Version::Micro(_) => None,
    }
}

/// The longest `shc:/` text that fits version [`MAX_QR_VERSION`] at level M.
pub fn max_qr_text_len() -> usize {
    let version = Version::Normal(MAX_QR_VERSION);
    let (mut lo, mut hi) = (0usize, 8000usize);
    // Largest even digit count that fits (each JWS character is two digits).
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if segments(version, &vec![b'0'; mid * 2]).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    QR_PREFIX.len() + 2 * lo
}

fn segments(version: Version, digits: &[u8]) -> qrcode::types::QrResult<Bits> {
    let mut bits = Bits::new(version);
    bits.push_byte_data(QR_PREFIX.as_bytes())?;
    bits.push_numeric_data(digits)?;
    bits.push_terminator(QR_EC_LEVEL)?;
    Ok(bits)
}
