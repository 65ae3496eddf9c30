//! The printable card as a PNG at print resolution, for card printers and print paths that take
//! bitmaps (the app's own print preview uses the SVG).

use std::sync::{Arc, OnceLock};

use crate::error::ClientError;

/// Print resolutions accepted (a card printer is 300 dpi; 600 for office lasers).
pub const DPI_RANGE: std::ops::RangeInclusive<f32> = 72.0..=1200.0;

/// Sans-serif families to print with, in order of preference (the card SVG asks for Helvetica /
/// Arial / sans-serif; Linux machines often have neither of the first two).
const SANS: &[&str] = &["Helvetica", "Arial", "Liberation Sans", "DejaVu Sans", "Noto Sans", "FreeSans"];

/// The system fonts, loaded once (listing them takes tens of milliseconds), with `sans-serif`
/// pointed at a family that exists; `None` when the machine has no usable font at all.
fn fonts() -> Option<Arc<resvg::usvg::fontdb::Database>> {
    static FONTS: OnceLock<Option<Arc<resvg::usvg::fontdb::Database>>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            let has = |name: &str| db.faces().any(|f| f.families.iter().any(|(n, _)| n == name));
            let family = SANS.iter().find(|n| has(n)).map(|n| n.to_string()).or_else(|| {
                // Any other text face, but never a symbol, emoji or maths font.
                let symbolic = |n: &str| {
                    ["symbol", "emoji", "dingbat", "math", "icon"]
                        .iter()
                        .any(|w| n.to_lowercase().contains(w))
                };
                db.faces()
                    .filter_map(|f| f.families.first().map(|(n, _)| n.clone()))
                    .find(|n| !symbolic(n))
            })?;
            db.set_sans_serif_family(family);
            Some(Arc::new(db))
        })
        .clone()
}

/// Renders a card SVG (from [`crate::render_card_svg`], sized in millimetres) to PNG bytes at
/// `dpi` dots per inch: 85.6 × 54 mm at 300 dpi is 1011 × 638 pixels. The QR's modules are
/// drawn with crisp edges, so each is a whole number of dots wide or close to it.
pub fn card_png(svg: &str, dpi: f32) -> Result<Vec<u8>, ClientError> {
    if !DPI_RANGE.contains(&dpi) {
        return Err(ClientError::validation(vec![anola_protocol::FieldError {
            field: "dpi".into(),
            code: "out_of_range".into(),
            message: "must be between 72 and 1200".into(),
            mutation_index: None,
        }]));
    }
    let internal = |what: &str, e: String| ClientError::Internal {
        message: format!("{what}: {e}"),
    };
    // A card without its name and fallback code must not be printed.
    let fontdb = fonts().ok_or_else(|| ClientError::Internal {
        message: "no font is installed to print the card's text (Debian: apt-get install fonts-dejavu-core)".into(),
    })?;
    let options = resvg::usvg::Options {
        // usvg turns millimetres into pixels at this density; the pixmap is then exactly the
        // card at `dpi`.
        dpi,
        fontdb,
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options).map_err(|e| internal("card SVG", e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| internal("card size", format!("{}x{}", size.width(), size.height())))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::identity(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| internal("card PNG", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_prints_at_300_dpi_and_its_qr_reads_back() {
        let qr = "shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133314564376531415906402203064504590856435503414245413640370636654171372412363803043756220467374075323239254334433260573601064529316112327425284350767265";
        let svg = crate::render_card_svg("Amina Kadi", "AH-7F3K-2M9Q", qr, "1234-5678-9012", "2031-01-02T00:00:00Z").unwrap();
        let png = card_png(&svg, 300.0).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        // 85.6 x 53.98 mm at 300 dpi.
        assert_eq!((img.width(), img.height()), (1011, 638));
        assert_eq!(crate::card_image::card_text_from_image(&png).unwrap(), qr);
        // The text on the left half (name, card id, fallback code) was drawn: dark pixels there.
        let gray = img.to_luma8();
        let dark_left = gray.enumerate_pixels().filter(|(x, _, p)| *x < 400 && p.0[0] < 128).count();
        assert!(dark_left > 2_000, "the card's text is missing ({dark_left} dark pixels)");
        assert!(matches!(card_png(&svg, 20.0), Err(ClientError::ValidationFailed { .. })));
        assert!(matches!(card_png("<svg", 300.0), Err(ClientError::Internal { .. })));
    }
}
