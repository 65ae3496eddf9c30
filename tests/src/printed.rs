//! Printed cards for the scanning tests and the card bench: the app's own SVG rendered at 300 dpi,
//! and captures of it saved as JPEG.

use std::io::Cursor;

use anola_scan::gray::Gray;

/// Module size of a card QR (version 13, 0.636 mm per module) printed at 300 dpi.
pub const PRINTED_MODULE_PX: f64 = 0.636 / 25.4 * 300.0;

/// The card as printed at 300 dpi, in grey.
pub fn print(svg: &str) -> Gray {
    let png = anola_client::card_print::card_png(svg, 300.0).expect("print at 300 dpi");
    Gray::from_dynamic(&image::load_from_memory(&png).expect("the printed PNG"))
}

/// A capture saved as a JPEG file's bytes (quality 75, as phones and webcams save).
pub fn jpeg_bytes(g: &Gray) -> Vec<u8> {
    let mut out = Vec::new();
    anola_scan::damage::to_dynamic(g)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("JPEG encoding into memory");
    out
}
