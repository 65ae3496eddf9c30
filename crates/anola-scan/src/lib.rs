//! Anola QR scanning: read health-card QR codes from real, imperfect captures.
//!
//! [`decode`] takes any image and returns the text of the QR code(s) it reads;
//! [`decode_file`] does the same for a PNG or JPEG file; [`decode_with_effort`] with
//! [`Effort::Quick`] is the cheap per-frame call for a live camera. Errors have stable codes:
//! `no_code_found`, `unreadable` (something code-shaped was found but not read),
//! `image_unreadable`. Nothing here panics on any input: sizes are checked, huge images are
//! shrunk first, file decoding has size limits, and the third-party decoder runs under
//! `catch_unwind` (rqrr has internal assertions that damaged input can trip).
//!
//! No camera or UI code lives here: callers hand in pixels (camera frames, image files, scanner
//! screenshots).
//!
//! # How it reads damaged captures
//!
//! Plain [`rqrr`] (a port of quirc) binarises with a running row mean, finds finder patterns
//! by flood-filling regions, counts timing-pattern transitions on that bitmap to get the size,
//! and reads each module as one binarised pixel. Blur merges a finder's one-module rings, noise
//! flips single pixels (wrong size, wrong modules), and small modules vanish, so it reads few
//! damaged captures (41% of the benchmark set below). This crate keeps rqrr only for the last
//! step (format information, Reed–Solomon correction, data segments) and does the rest itself:
//!
//! 1. **Greyscale and size.** Alpha is composited over white; anything over
//!    [`MAX_WORK_SIDE`] pixels is shrunk by area averaging (which also averages noise away).
//! 2. **Contrast stretch** (1st–99th percentile to 0–255): low light and washed-out prints use
//!    a narrow grey band; thresholds and sampling then work on the full range.
//! 3. **Binarisation for the finder search**, two ways: against the local mean (window 1/8 of
//!    the image: survives shadows and uneven light) and against the local min/max midpoint in
//!    small blocks (survives blur: next to a quiet zone or inside a finder the mean drifts to
//!    one colour and a blurred one-module ring lands on the wrong side; the midpoint does not).
//! 4. **Finder patterns** by 1:1:3:1:1 run ratios along rows, cross-checked down the column,
//!    along the row again and along a diagonal, with a retry half a module to each side so one
//!    noisy pixel does not hide a finder; hits are merged across rows.
//! 5. **Geometry**: finder triples ordered by how square they are; size from finder distance
//!    and module size, each candidate size (±2 versions) scored on both timing patterns on
//!    the greyscale; the bottom-right alignment pattern found by template matching (coarse,
//!    then to 1/8 module) gives a 4-point perspective map. For version 7+ every alignment
//!    pattern is then located and the map refitted by least squares (twice); without an
//!    alignment pattern (version 1) the fourth corner is searched for the sharpest sampling.
//! 6. **Sampling**: each module is the mean of 5 bilinear samples around its centre on the
//!    greyscale (not one binarised pixel), thresholded against the mean of the modules within
//!    ±4 (or one 2-means threshold), optionally sharpened at module level to undo blur.
//! 7. **Fallbacks**, in order, only when the above fails: rqrr on the capture as it is (several
//!    codes in one frame), a smoothed copy with larger blocks, 2x upscaling for small images,
//!    rqrr on our own binarisation and on a half-size copy. Rotation needs no extra pass:
//!    finder runs and the perspective map work at any angle.
//!
//! The first variant that yields text wins; [`Decoded::variant`] says which one it was.
//!
//! # Measured (release build, the 2-core dev box; `docs/benchmarks.md` has the full table)
//!
//! `cargo run --release -p anola-scan --bin anola-scan-bench -- --payloads 10`: 1,110 seeded
//! damaged captures (30 payloads: card ids and `shc:/` tokens, QR versions 1–20, at 37 damage
//! levels). Correct reads: plain rqrr 455, **anola-scan 966**, `Effort::Quick` 947,
//! `zbarimg` 0.23.92 723; anola-scan reads at least as many as zbar at every damage level and
//! never returned wrong text. Decode time of a clean card capture from a PNG file: median
//! 8.4 ms (12.8 ms p95); of any capture it read: median 7.0 ms, p95 81 ms; giving up on an
//! unreadable one: median 210 ms, p95 449 ms (`Effort::Quick` gives up in ~30 ms on a 960x720
//! frame). Where reads fall off (zbar's too, lower): box blur r = 3 px (a 1.75-module window)
//! 1/30, Gaussian σ = 0.6 module 8/30, 10-px motion blur 5/30, corners moved by 20% 25/30; a
//! code at 1.6 px/module inside a 960x720 camera frame and the worst combined "photo" level
//! 0/30.

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
/// Stills larger than this are shrunk to it before the full-resolution tile pass (a 12 MP photo,
/// 4032 px wide, is tiled as it is).
pub const MAX_TILED_SIDE: usize = 4800;
/// Files bigger than this (either side) are refused before their pixels are decoded.
pub const MAX_FILE_SIDE: u32 = 16_384;
/// Smallest side that can hold a version-1 code (21 modules) at ~1 px per module.
pub const MIN_SIDE: usize = 21;

/// Read every QR code in `img`. Never panics.
pub fn decode(img: &DynamicImage) -> Result<Vec<String>, ScanError> {
    decode_detailed(img).map(|d| d.texts)
}

/// Of the texts read from one image, the one that looks like a health card (`shc:/…`), else the
/// first non-blank one (a fallback-code sticker, or a code the caller will refuse by name).
pub fn card_text(texts: Vec<String>) -> Option<String> {
    let card = texts.iter().position(|t| t.starts_with("shc:/"));
    let mut texts = texts.into_iter().filter(|t| !t.trim().is_empty());
    match card {
        Some(_) => texts.find(|t| t.starts_with("shc:/")),
        None => texts.next(),
    }
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
    decode_limited(reader)
}

/// [`load_image`] for bytes already in memory (a file picked or dropped in the app).
pub fn load_image_bytes(bytes: &[u8]) -> Result<DynamicImage, ScanError> {
    if bytes.is_empty() {
        return Err(ScanError::ImageUnreadable("the file is empty".into()));
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ScanError::ImageUnreadable(e.to_string()))?;
    decode_limited(reader)
}

fn decode_limited<R: std::io::BufRead + std::io::Seek>(reader: image::ImageReader<R>) -> Result<DynamicImage, ScanError> {
    if reader.format().is_none() {
        return Err(ScanError::ImageUnreadable("not a PNG or JPEG image".into()));
    }
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

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Effort {
    /// Only the first two variants (local-mean and min/max thresholds through our locator):
    /// reads clean, tilted, noisy, dim, small and moderately blurred codes, and gives up on a
    /// frame without a code in about a tenth of the thorough time. For live camera frames,
    /// where the next frame comes anyway.
    Quick,
    /// Every variant (what [`decode`] does): for a still, a file, or the last frame.
    #[default]
    Thorough,
}

/// Like [`decode`], also saying which preprocessing variant read the code.
pub fn decode_detailed(img: &DynamicImage) -> Result<Decoded, ScanError> {
    decode_with_effort(img, Effort::Thorough)
}

/// [`decode_detailed`] with a choice of [`Effort`].
pub fn decode_with_effort(img: &DynamicImage, effort: Effort) -> Result<Decoded, ScanError> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(ScanError::ImageUnreadable("empty image".into()));
    }
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(ScanError::NoCodeFound);
    }
    let gray = Gray::from_dynamic(img);
    decode_gray_inner(&gray, &[], effort)
}

/// The decoding pipeline on a greyscale image.
pub fn decode_gray(input: &Gray) -> Result<Decoded, ScanError> {
    decode_gray_skipping(input, &[])
}

/// [`decode_gray`] without the named pipeline variants (for measuring what each one adds).
#[doc(hidden)]
pub fn decode_gray_skipping(input: &Gray, skip: &[&str]) -> Result<Decoded, ScanError> {
    decode_gray_inner(input, skip, Effort::Thorough)
}

fn decode_gray_inner(input: &Gray, skip: &[&str], effort: Effort) -> Result<Decoded, ScanError> {
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
    let mut run = Runner {
        quick: effort == Effort::Quick,
        ..Runner::default()
    };
    if let Some(d) = pipeline::run(&base, &mut run, skip, effort) {
        return Ok(d);
    }
    // A large photo with the card far away: shrinking it to the working size left the code's
    // modules under ~1.5 px. Look at the full resolution in overlapping working-size tiles (the
    // overlap is wider than any code that the shrunk pass could have missed, so each code lies
    // whole in some tile). Stills only: camera frames are never this large.
    if long > MAX_WORK_SIDE && effort == Effort::Thorough {
        // Beyond 12-16 MP, shrink to MAX_TILED_SIDE first: at most 36 tiles, a few seconds.
        let capped;
        let full = if long > MAX_TILED_SIDE {
            capped = input.scaled(MAX_TILED_SIDE as f64 / long as f64);
            &capped
        } else {
            input
        };
        for (x, y) in tiles(full.w, full.h, MAX_WORK_SIDE) {
            let tile = full.crop(x, y, MAX_WORK_SIDE, MAX_WORK_SIDE);
            let mut tile_run = Runner {
                quick: true,
                ..Runner::default()
            };
            let found = pipeline::run(&tile, &mut tile_run, skip, Effort::Quick);
            run.grids_seen += tile_run.grids_seen;
            run.attempts += tile_run.attempts;
            if let Some(mut d) = found {
                d.variant = "full-resolution tile";
                d.attempts = run.attempts;
                return Ok(d);
            }
        }
    }
    if run.grids_seen > 0 {
        Err(ScanError::Unreadable)
    } else {
        Err(ScanError::NoCodeFound)
    }
}

/// Top-left corners of `side`-pixel tiles covering a `w` x `h` image with half a tile of
/// overlap, the centre first (people aim the camera at the card).
fn tiles(w: usize, h: usize, side: usize) -> Vec<(usize, usize)> {
    let starts = |len: usize| -> Vec<usize> {
        if len <= side {
            return vec![0];
        }
        let step = side / 2;
        let mut v: Vec<usize> = (0..).map(|i| i * step).take_while(|&s| s + side < len).collect();
        // The last tile ends at the edge.
        v.push(len - side);
        v
    };
    let mut all: Vec<(usize, usize)> = starts(w)
        .into_iter()
        .flat_map(|x| starts(h).into_iter().map(move |y| (x, y)))
        .collect();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let half = side as f64 / 2.0;
    all.sort_by(|a, b| {
        let d = |p: &(usize, usize)| (p.0 as f64 + half - cx).hypot(p.1 as f64 + half - cy);
        d(a).total_cmp(&d(b))
    });
    all
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
    /// [`Effort::Quick`]: skip triples without a timing pattern before the alignment search.
    quick: bool,
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
        let gate = if self.quick { 0.55 } else { 0.0 };
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
                if let Some(text) = detect::read_triple(grey, t, &mut budget, gate) {
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
    use super::{Decoded, Effort, Gray, Runner, MIN_SIDE};

    pub(super) fn run(base: &Gray, run: &mut Runner, skip: &[&str], effort: Effort) -> Option<Decoded> {
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
        if effort == Effort::Quick {
            return None;
        }
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

#[cfg(test)]
mod tile_tests {
    use super::{card_text, tiles};

    #[test]
    fn card_text_prefers_a_card_and_skips_blanks() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(card_text(v(&["https://example.org", "shc:/5676"])).as_deref(), Some("shc:/5676"));
        assert_eq!(card_text(v(&[" ", "AH-1"])).as_deref(), Some("AH-1"));
        assert_eq!(card_text(v(&["  "])), None);
        assert_eq!(card_text(vec![]), None);
    }

    #[test]
    fn tiles_cover_the_image_with_overlap_centre_first() {
        for (w, h) in [(4032, 3024), (1601, 900), (1600, 1600), (9000, 1700), (2000, 16_000)] {
            let side = 1600;
            let t = tiles(w, h, side);
            // Every point, and every half-tile square, lies whole inside some tile.
            for py in (0..h).step_by(97) {
                for px in (0..w).step_by(97) {
                    let (qx, qy) = (px.min(w.saturating_sub(side / 2)), py.min(h.saturating_sub(side / 2)));
                    assert!(
                        t.iter()
                            .any(|&(x, y)| x <= qx && y <= qy && qx + (side / 2).min(w) <= x + side && qy + (side / 2).min(h) <= y + side),
                        "{w}x{h}: ({px},{py})"
                    );
                }
            }
            assert!(t.iter().all(|&(x, y)| x + side.min(w) <= w && y + side.min(h) <= h));
            let first = t[0];
            let centre = |p: (usize, usize)| ((p.0 + side / 2) as f64 - w as f64 / 2.0).hypot((p.1 + side / 2) as f64 - h as f64 / 2.0);
            assert!(t.iter().all(|&p| centre(p) >= centre(first)));
        }
    }
}
