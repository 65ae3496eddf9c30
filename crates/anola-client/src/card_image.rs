//! A card read from a picture: a photo of a printed card, a screenshot, a flatbed scan. The text
//! it yields goes through the same verification as a wedge or camera scan.

use crate::error::ClientError;

/// Pictures bigger than this are refused before decoding (a phone photo is 3–8 MB).
pub const MAX_IMAGE_BYTES: usize = 40 * 1024 * 1024;

/// The card text in an image file's bytes (PNG or JPEG): of several codes, the one that looks
/// like a health card (`shc:/`). Refusals are `card_rejected` with reason `image_unreadable`
/// (not a picture, too big), `no_code_found` or `unreadable` (a code too damaged to read).
pub fn card_text_from_image(bytes: &[u8]) -> Result<String, ClientError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ClientError::card_rejected(
            "image_unreadable",
            format!("the picture is larger than {} MB", MAX_IMAGE_BYTES / (1024 * 1024)),
        ));
    }
    let texts = anola_scan::load_image_bytes(bytes)
        .and_then(|img| anola_scan::decode(&img))
        .map_err(|e| {
            let message = match &e {
                anola_scan::ScanError::NoCodeFound => {
                    "no QR code was found in the picture: take it again with the whole code in view, or type the fallback code".to_owned()
                }
                anola_scan::ScanError::Unreadable => {
                    "a QR code was found but it is too damaged or blurred to read: take it again closer and in focus, or type the fallback code".to_owned()
                }
                anola_scan::ScanError::ImageUnreadable(why) => format!("the file is not a readable PNG or JPEG picture ({why})"),
            };
            ClientError::card_rejected(e.code(), message)
        })?;
    anola_scan::card_text(texts).ok_or_else(|| ClientError::card_rejected("no_code_found", "no QR code was found in the picture"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anola_scan::damage::{self, Damage};
    use std::io::Cursor;

    fn png(g: &anola_scan::gray::Gray) -> Vec<u8> {
        let mut out = Vec::new();
        damage::to_dynamic(g)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_photo_of_a_code_gives_its_text_and_junk_gets_a_reason() {
        let r = damage::render("shc:/5676290952432060346029243740", 5.0, 2).unwrap();
        let photo = Damage::Photo { level: 0.6 }.apply(&r.image, 5.0, 3);
        assert_eq!(card_text_from_image(&png(&photo)).unwrap(), "shc:/5676290952432060346029243740");

        let reason = |b: &[u8]| match card_text_from_image(b) {
            Err(ClientError::CardRejected { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(b""), "image_unreadable");
        assert_eq!(reason(b"not a picture at all"), "image_unreadable");
        assert_eq!(reason(&png(&anola_scan::gray::Gray::new(300, 200, 255))), "no_code_found");
        assert_eq!(reason(&vec![0u8; MAX_IMAGE_BYTES + 1]), "image_unreadable");
    }
}
