//! Anola QR scanning: read health-card QR codes from real, imperfect captures.
//!
//! [`decode`] takes any image and returns the text of every QR code it could read. It is built
//! on [`rqrr`] (a pure-Rust port of quirc) but does not hand rqrr the raw capture once and give
//! up: it runs a short, ordered list of preprocessing variants and stops at the first one that
//! reads. See the `PIPELINE` notes below and `docs/benchmarks.md` for the measured effect.
//!
//! No camera or UI code lives here: callers hand in pixels (camera frames, image files, scanner
//! screenshots).

pub mod damage;
mod detect;
pub mod geom;
pub mod gray;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use image::DynamicImage;

use gray::Gray;

/// Why nothing was read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// No QR code was found anywhere in the image.
    #[error("no QR code found in the image")]
    NoCodeFound,
    /// Something shaped like a QR code was found but could not be read (too damaged, cut off,
    /// not UTF-8).
    #[error("a QR code was found but could not be read")]
    Unreadable,
    /// The file or pixels are not a usable image (unknown format, truncated, empty, too large).
    #[error("image unreadable: {0}")]
    ImageUnreadable(String),
}

impl ScanError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::NoCodeFound => "no_code_found",
            ScanError::Unreadable => "unreadable",
            ScanError::ImageUnreadable(_) => "image_unreadable",
        }
    }
}

/// A successful read and which preprocessing variant produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The text of each code read (usually one).
    pub texts: Vec<String>,
    /// Name of the variant that read it (`"plain"` for the unprocessed fast path).
    pub variant: &'static str,
    /// How many variants were run, this one included.
    pub attempts: usize,
}

/// Larger inputs are shrunk (area averaging) to this many pixels on the long side before
/// anything else; a QR code that fills a tenth of a 12-megapixel photo still has > 3 px modules.
pub const MAX_WORK_SIDE: usize = 1600;
/// Files bigger than this (either side) are refused before their pixels are decoded.
pub const MAX_FILE_SIDE: u32 = 16_384;
/// Smallest side that can hold a version-1 code (21 modules) at ~1 px per module.
pub const MIN_SIDE: usize = 21;

/// Read every QR code in `img`. Never panics.
pub fn decode(img: &DynamicImage) -> Result<Vec<String>, ScanError> {
    decode_detailed(img).map(|d| d.texts)
}

/// Read an image file (PNG or JPEG) and decode it.
pub fn decode_file(path: impl AsRef<Path>) -> Result<Vec<String>, ScanError> {
    let img = load_image(path.as_ref())?;
    decode(&img)
}

/// Load a PNG/JPEG with size limits (a tiny file that claims to be 100,000 px wide is refused
/// before any allocation).
pub fn load_image(path: &Path) -> Result<DynamicImage, ScanError> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| ScanError::ImageUnreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| ScanError::ImageUnreadable(e.to_string()))?;
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_FILE_SIDE);
    limits.max_image_height = Some(MAX_FILE_SIDE);
    limits.max_alloc = Some(1024 * 1024 * 1024);
    reader.limits(limits);
    match catch_unwind(AssertUnwindSafe(|| reader.decode())) {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(e)) => Err(ScanError::ImageUnreadable(e.to_string())),
        Err(_) => Err(ScanError::ImageUnreadable("image decoder failed".into())),
    }
}

/// Like [`decode`], also saying which preprocessing variant read the code.
pub fn decode_detailed(img: &DynamicImage) -> Result<Decoded, ScanError> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(ScanError::ImageUnreadable("empty image".into()));
    }
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(ScanError::NoCodeFound);
    }
    let gray = Gray::from_dynamic(img);
    decode_gray(&gray)
}

/// The decoding pipeline on a greyscale image.
pub fn decode_gray(input: &Gray) -> Result<Decoded, ScanError> {
    decode_gray_skipping(input, &[])
}

/// [`decode_gray`] without the named pipeline variants (for measuring what each one adds).
#[doc(hidden)]
pub fn decode_gray_skipping(input: &Gray, skip: &[&str]) -> Result<Decoded, ScanError> {
    if input.w == 0 || input.h == 0 || input.data.len() != input.w * input.h {
        return Err(ScanError::ImageUnreadable("empty image".into()));
    }
    if input.w < MIN_SIDE || input.h < MIN_SIDE {
        return Err(ScanError::NoCodeFound);
    }
    let long = input.w.max(input.h);
    let base = if long > MAX_WORK_SIDE {
        input.scaled(MAX_WORK_SIDE as f64 / long as f64)
    } else {
        input.clone()
    };
    let mut run = Runner::default();
    match pipeline::run(&base, &mut run, skip) {
        Some(d) => Ok(d),
        None if run.grids_seen > 0 => Err(ScanError::Unreadable),
        None => Err(ScanError::NoCodeFound),
    }
}

/// What a plain `rqrr` call reads (rqrr's own thresholding on the greyscale image, no
/// preprocessing): the baseline the benchmark compares against.
pub fn decode_rqrr_only(img: &DynamicImage) -> Vec<String> {
    let g = Gray::from_dynamic(img);
    if g.w == 0 || g.h == 0 {
        return Vec::new();
    }
    let mut run = Runner::default();
    run.grey(&g).unwrap_or_default()
}

/// Only our locator on the stretched image (no rqrr detection): for timing experiments.
#[doc(hidden)]
pub fn decode_located_only(g: &Gray) -> Option<Vec<String>> {
    let stretched = g.stretch(0.01, 0.01);
    let bits = stretched.adaptive_threshold((g.w.min(g.h) / 8).max(3), 4);
    Runner::default().located(&stretched, &bits)
}

/// Runs rqrr on prepared images and keeps score.
#[derive(Default)]
struct Runner {
    attempts: usize,
    grids_seen: usize,
}

impl Runner {
    /// rqrr's own binarisation (row-wise running mean) on a greyscale image.
    fn grey(&mut self, g: &Gray) -> Option<Vec<String>> {
        self.attempts += 1;
        let res = catch_unwind(AssertUnwindSafe(|| {
            let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(g.w, g.h, |x, y| g.data[y * g.w + x]);
            read_grids(prepared.detect_grids())
        }));
        self.finish(res)
    }

    /// A bitmap we binarised ourselves (`true` = black).
    fn bitmap(&mut self, w: usize, h: usize, bits: &[bool]) -> Option<Vec<String>> {
        self.attempts += 1;
        if bits.len() != w * h || w == 0 || h == 0 {
            return None;
        }
        let res = catch_unwind(AssertUnwindSafe(|| {
            let mut prepared = rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| bits[y * w + x]);
            read_grids(prepared.detect_grids())
        }));
        self.finish(res)
    }

    /// Our locator and sampler (detect.rs): finders found on `bits`, modules read from `grey`
    /// (same size).
    fn located(&mut self, grey: &Gray, bits: &[bool]) -> Option<Vec<String>> {
        self.attempts += 1;
        if bits.len() != grey.w * grey.h {
            return None;
        }
        let res = catch_unwind(AssertUnwindSafe(|| {
            let finders = detect::find_finders(bits, grey.w, grey.h);
            let triples = detect::triples(&finders, 10);
            let mut texts: Vec<String> = Vec::new();
            let mut used: Vec<(f64, f64)> = Vec::new();
            let mut budget = 40;
            for t in triples.iter().take(24) {
                if t.iter().any(|f| used.contains(&(f.x, f.y))) {
                    continue;
                }
                if let Some(text) = detect::read_triple(grey, t, &mut budget) {
                    used.extend(t.iter().map(|f| (f.x, f.y)));
                    if !texts.contains(&text) {
                        texts.push(text);
                    }
                    // One card per capture: a second code is only looked for by the plain
                    // path (rqrr reads every code it finds).
                    break;
                }
            }
            (triples.len().min(1), texts)
        }));
        self.finish(res)
    }

    fn finish(&mut self, res: std::thread::Result<(usize, Vec<String>)>) -> Option<Vec<String>> {
        match res {
            Ok((grids, texts)) => {
                self.grids_seen += grids;
                if texts.is_empty() {
                    None
                } else {
                    Some(texts)
                }
            }
            // rqrr has internal assertions that damaged input can trip; a panic there is
            // "this variant did not read".
            Err(_) => None,
        }
    }
}

fn read_grids<G: rqrr::BitGrid>(grids: Vec<rqrr::Grid<G>>) -> (usize, Vec<String>) {
    let n = grids.len();
    let mut texts = Vec::new();
    for g in grids {
        if let Ok((_, text)) = g.decode() {
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    (n, texts)
}

mod pipeline {
    //! PIPELINE: the ordered preprocessing variants. Cheap and likely first; each later step
    //! addresses captures the earlier ones miss (the bench's "variant that read" line shows how
    //! often each one is the one that reads).
    use super::{Decoded, Gray, Runner, MIN_SIDE};

    pub(super) fn run(base: &Gray, run: &mut Runner, skip: &[&str]) -> Option<Decoded> {
        macro_rules! attempt {
            ($name:expr, $e:expr) => {
                if !skip.contains(&$name) {
                    if let Some(texts) = $e {
                        return Some(Decoded {
                            texts,
                            variant: $name,
                            attempts: run.attempts,
                        });
                    }
                }
            };
        }
        let stretched = base.stretch(0.01, 0.01);
        let side = base.w.min(base.h);
        let long = base.w.max(base.h);

        // Our locator (detect.rs) on the contrast-stretched capture, binarised against the
        // local mean: clean, rotated, tilted, noisy, dim and unevenly lit codes.
        let bits = stretched.adaptive_threshold((side / 8).max(3), 4);
        attempt!("locate", run.located(&stretched, &bits));
        // Binarised against the local min/max midpoint in small blocks: blurred and small
        // codes, where a one-module ring next to the quiet zone falls below the local mean.
        let bits = stretched.minmax_threshold(6);
        attempt!("locate minmax6", run.located(&stretched, &bits));
        // rqrr's own detector and row-wise threshold on the capture as it is (several codes in
        // one frame; anything our locator's finder search misses).
        attempt!("rqrr", run.grey(base));
        // Blur: the same on a lightly smoothed copy, larger blocks.
        let blurred = stretched.gaussian_blur(1.0);
        let bits = blurred.minmax_threshold((side / 40).max(4));
        attempt!("locate blur1 minmax", run.located(&blurred, &bits));
        let bits = stretched.minmax_threshold(10);
        attempt!("locate minmax10", run.located(&stretched, &bits));
        // Noise: smoothing before the local-mean threshold.
        let bits = blurred.adaptive_threshold((side / 8).max(3), 2);
        attempt!("locate blur1", run.located(&blurred, &bits));
        // Small codes: twice the pixels per module for the finder search and the sampling.
        if long <= 1000 {
            let up = stretched.scaled(2.0);
            let bits = up.adaptive_threshold((up.w.min(up.h) / 8).max(3), 3);
            attempt!("locate up2", run.located(&up, &bits));
            attempt!("rqrr up2", run.grey(&up));
        }
        // rqrr on our binarisations.
        let bits = stretched.adaptive_threshold((side / 8).max(3), 4);
        attempt!("rqrr adaptive", run.bitmap(base.w, base.h, &bits));
        let down = stretched.scaled(0.5);
        if down.w.min(down.h) >= MIN_SIDE {
            attempt!("rqrr down2", run.grey(&down));
        }
        None
    }
}
