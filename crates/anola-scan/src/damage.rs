//! Deterministic test material: QR rendering and seeded damage that imitates bad captures.
//!
//! Used by this crate's tests and by `anola-scan-bench`; anything that needs a "photo of a
//! printed card gone wrong" can use it. The same `(payload, damage, seed)` always gives the same
//! pixels, so a failing case can be replayed.

use image::{DynamicImage, ImageEncoder};
use qrcode::{Color, EcLevel, QrCode};

use crate::geom::Homography;
use crate::gray::Gray;

/// A rendered QR code.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub image: Gray,
    /// QR version (1–40) the encoder chose.
    pub version: i16,
    /// Modules per side.
    pub modules: usize,
}

/// Render `payload` at medium error correction (what health cards use), `module_px` pixels per
/// module (fractional sizes are area-sampled, as a camera would), with a 4-module quiet zone and
/// `margin_modules` more white around it (room for rotation and perspective).
pub fn render(payload: &str, module_px: f64, margin_modules: usize) -> Result<Rendered, String> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| e.to_string())?;
    let version = match code.version() {
        qrcode::Version::Normal(v) => v,
        qrcode::Version::Micro(v) => v,
    };
    let n = code.width();
    let colors = code.to_colors();
    let border = 4 + margin_modules;
    let total = n + 2 * border;
    let module_px = module_px.clamp(0.25, 64.0);
    let side = ((total as f64 * module_px).round() as usize).max(1);
    let dark = |mx: isize, my: isize| -> bool {
        let (mx, my) = (mx - border as isize, my - border as isize);
        mx >= 0 && my >= 0 && (mx as usize) < n && (my as usize) < n && colors[my as usize * n + mx as usize] == Color::Dark
    };
    let mut image = Gray::new(side, side, 255);
    // 4x4 supersampling per output pixel.
    const SS: usize = 4;
    for y in 0..side {
        for x in 0..side {
            let mut black = 0;
            for sy in 0..SS {
                let my = ((y as f64 + (sy as f64 + 0.5) / SS as f64) / module_px).floor() as isize;
                for sx in 0..SS {
                    let mx = ((x as f64 + (sx as f64 + 0.5) / SS as f64) / module_px).floor() as isize;
                    if dark(mx, my) {
                        black += 1;
                    }
                }
            }
            image.data[y * side + x] = (255 - black * 255 / (SS * SS)) as u8;
        }
    }
    Ok(Rendered {
        image,
        version,
        modules: n,
    })
}

/// One kind of damage at one strength.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Damage {
    Clean,
    /// Additive Gaussian noise with this standard deviation (grey levels).
    Noise {
        sigma: f64,
    },
    /// Box blur with this radius in pixels (window 2r+1): motion / defocus smear.
    BoxBlur {
        radius: usize,
    },
    /// Gaussian blur (defocus), sigma in pixels.
    GaussianBlur {
        sigma: f64,
    },
    /// Rotation by this many degrees (sign chosen by the seed).
    Rotate {
        degrees: f64,
    },
    /// Perspective: each corner moves inwards/sideways by up to this fraction of the side.
    Perspective {
        strength: f64,
    },
    /// Shrink so that a module is `module_px` pixels (from the rendered module size).
    Small {
        module_px: f64,
    },
    /// Squeeze all greys into `[base, base + range]` (low light, washed out print).
    LowContrast {
        base: u8,
        range: u8,
    },
    /// Uneven light: brightness falls linearly to `1 - depth` across the image diagonal.
    Shadow {
        depth: f64,
    },
    /// Re-encode as JPEG at this quality.
    Jpeg {
        quality: u8,
    },
    /// Motion blur: the average along a `length`-pixel line at a seeded angle (a hand moving
    /// while the shutter is open).
    MotionBlur {
        length: f64,
    },
    /// A camera frame: the card (white, with the code at `module_px` pixels per module) lies
    /// at a seeded place, angle and tilt on a cluttered, unevenly lit 960x720 desk, then the
    /// frame gets a mild [`Damage::Photo`] treatment.
    Scene {
        module_px: f64,
    },
    /// A phone photo of a printed card: slight perspective, rotation, defocus, sensor noise, dim
    /// light and JPEG, all scaled by `level` (0–1 moderate, above 1 bad).
    Photo {
        level: f64,
    },
}

impl Damage {
    /// Short class name (the bench's row label).
    pub fn class(&self) -> &'static str {
        match self {
            Damage::Clean => "clean",
            Damage::Noise { .. } => "noise",
            Damage::BoxBlur { .. } => "box blur",
            Damage::GaussianBlur { .. } => "gaussian blur",
            Damage::Rotate { .. } => "rotation",
            Damage::Perspective { .. } => "perspective",
            Damage::Small { .. } => "small code",
            Damage::LowContrast { .. } => "low contrast",
            Damage::Shadow { .. } => "uneven light",
            Damage::Jpeg { .. } => "jpeg",
            Damage::MotionBlur { .. } => "motion blur",
            Damage::Scene { .. } => "camera frame 960x720",
            Damage::Photo { .. } => "photo (combined)",
        }
    }

    /// Strength as text (the bench's level column).
    pub fn level(&self) -> String {
        match *self {
            Damage::Clean => "-".into(),
            Damage::Noise { sigma } => format!("σ={sigma}"),
            Damage::BoxBlur { radius } => format!("r={radius} px"),
            Damage::GaussianBlur { sigma } => format!("σ={sigma} px"),
            Damage::Rotate { degrees } => format!("±{degrees}°"),
            Damage::Perspective { strength } => format!("{:.0}% corners", strength * 100.0),
            Damage::Small { module_px } => format!("{module_px} px/module"),
            Damage::LowContrast { base, range } => format!("{base}..{}", base as u16 + range as u16),
            Damage::Shadow { depth } => format!("{:.0}% darker", depth * 100.0),
            Damage::Jpeg { quality } => format!("q={quality}"),
            Damage::MotionBlur { length } => format!("{length} px"),
            Damage::Scene { module_px } => format!("{module_px} px/module"),
            Damage::Photo { level } => format!("level {level}"),
        }
    }

    /// Apply to `img` with a deterministic seed. `module_px` is the rendered module size (used by
    /// `Small`).
    pub fn apply(&self, img: &Gray, module_px: f64, seed: u64) -> Gray {
        let mut rng = fastrand::Rng::with_seed(seed);
        match *self {
            Damage::Clean => img.clone(),
            Damage::Noise { sigma } => add_noise(img, sigma, &mut rng),
            Damage::BoxBlur { radius } => img.box_blur(radius),
            Damage::GaussianBlur { sigma } => img.gaussian_blur(sigma),
            Damage::Rotate { degrees } => {
                let sign = if rng.bool() { 1.0 } else { -1.0 };
                img.rotate(sign * degrees, 255)
            }
            Damage::Perspective { strength } => perspective(img, strength, &mut rng),
            Damage::Small { module_px: target } => img.scaled((target / module_px).min(1.0)),
            Damage::LowContrast { base, range } => low_contrast(img, base, range),
            Damage::Shadow { depth } => shadow(img, depth, &mut rng),
            Damage::Jpeg { quality } => jpeg(img, quality),
            Damage::MotionBlur { length } => motion_blur(img, length, rng.f64() * std::f64::consts::PI),
            Damage::Scene { module_px: target } => scene(img, target / module_px, &mut rng),
            Damage::Photo { level } => {
                let l = level.max(0.0);
                let mut g = perspective(img, 0.06 * l, &mut rng);
                let sign = if rng.bool() { 1.0 } else { -1.0 };
                g = g.rotate(sign * 6.0 * l, 255);
                g = g.gaussian_blur(0.4 + 0.8 * l);
                g = shadow(&g, 0.35 * l, &mut rng);
                g = low_contrast(&g, (40.0 * l) as u8, (255.0 - 150.0 * l.min(1.4)).max(30.0) as u8);
                g = add_noise(&g, 3.0 + 7.0 * l, &mut rng);
                jpeg(&g, (85.0 - 25.0 * l).clamp(20.0, 95.0) as u8)
            }
        }
    }
}

/// The damage classes at the strengths the bench and the tests use: for each class, levels from
/// moderate to severe.
pub fn levels() -> Vec<Vec<Damage>> {
    vec![
        vec![Damage::Clean],
        vec![
            Damage::Noise { sigma: 30.0 },
            Damage::Noise { sigma: 50.0 },
            Damage::Noise { sigma: 70.0 },
        ],
        vec![
            Damage::BoxBlur { radius: 1 },
            Damage::BoxBlur { radius: 2 },
            Damage::BoxBlur { radius: 3 },
        ],
        vec![
            Damage::GaussianBlur { sigma: 1.2 },
            Damage::GaussianBlur { sigma: 1.8 },
            Damage::GaussianBlur { sigma: 2.4 },
        ],
        vec![
            Damage::Rotate { degrees: 5.0 },
            Damage::Rotate { degrees: 10.0 },
            Damage::Rotate { degrees: 15.0 },
        ],
        vec![
            Damage::Perspective { strength: 0.08 },
            Damage::Perspective { strength: 0.14 },
            Damage::Perspective { strength: 0.20 },
        ],
        vec![
            Damage::Small { module_px: 2.0 },
            Damage::Small { module_px: 1.5 },
            Damage::Small { module_px: 1.2 },
        ],
        vec![
            Damage::LowContrast { base: 60, range: 40 },
            Damage::LowContrast { base: 20, range: 20 },
            Damage::LowContrast { base: 5, range: 10 },
        ],
        vec![
            Damage::Shadow { depth: 0.5 },
            Damage::Shadow { depth: 0.7 },
            Damage::Shadow { depth: 0.85 },
        ],
        vec![
            Damage::Jpeg { quality: 30 },
            Damage::Jpeg { quality: 15 },
            Damage::Jpeg { quality: 8 },
        ],
        vec![
            Damage::MotionBlur { length: 4.0 },
            Damage::MotionBlur { length: 7.0 },
            Damage::MotionBlur { length: 10.0 },
        ],
        vec![
            Damage::Scene { module_px: 3.0 },
            Damage::Scene { module_px: 2.2 },
            Damage::Scene { module_px: 1.6 },
        ],
        vec![
            Damage::Photo { level: 0.6 },
            Damage::Photo { level: 1.0 },
            Damage::Photo { level: 1.4 },
        ],
    ]
}

/// A SMART-Health-Card-like payload: `shc:/` and `digits` digits in pairs 00–77 (the numeric
/// encoding of base64url characters).
pub fn shc_payload(rng: &mut fastrand::Rng, digits: usize) -> String {
    let mut s = String::with_capacity(5 + digits + 1);
    s.push_str("shc:/");
    for _ in 0..digits.div_ceil(2) {
        let v = rng.u8(0..78);
        s.push((b'0' + v / 10) as char);
        s.push((b'0' + v % 10) as char);
    }
    s.truncate(5 + digits);
    s
}

/// A card-id-like short payload (`AH-XXXX-XXXX`).
pub fn card_id_payload(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut part = || (0..4).map(|_| ALPHABET[rng.usize(0..ALPHABET.len())] as char).collect::<String>();
    format!("AH-{}-{}", part(), part())
}

/// A phone photo of a printed card taken from some distance: a 4032x3024 frame (12 MP) with the
/// card rotated up to 10 degrees at a seeded place on a dark table, scaled so the QR's modules
/// are `target_module_px` pixels (`card_module_px` is their size in `card`), defocused, noisy
/// and saved as JPEG. Shrinking such a photo to a working size loses small codes; reading it
/// needs the full resolution.
pub fn phone_photo(card: &Gray, card_module_px: f64, target_module_px: f64, seed: u64) -> Gray {
    const W: usize = 4032;
    const H: usize = 3024;
    let mut rng = fastrand::Rng::with_seed(seed);
    let c = card
        .scaled((target_module_px / card_module_px).min(1.0))
        .rotate(rng.f64() * 20.0 - 10.0, 70);
    let mut photo = Gray::new(W, H, 70 + rng.u8(0..40));
    let (cw, ch) = (c.w.min(W), c.h.min(H));
    let (ox, oy) = (rng.usize(0..=W - cw), rng.usize(0..=H - ch));
    for y in 0..ch {
        photo.data[(oy + y) * W + ox..(oy + y) * W + ox + cw].copy_from_slice(&c.data[y * c.w..y * c.w + cw]);
    }
    let photo = photo.gaussian_blur(1.0);
    let photo = add_noise(&photo, 8.0, &mut rng);
    jpeg(&photo, 80)
}

pub fn to_dynamic(g: &Gray) -> DynamicImage {
    DynamicImage::ImageLuma8(g.to_image())
}

fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    // Box–Muller.
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn add_noise(img: &Gray, sigma: f64, rng: &mut fastrand::Rng) -> Gray {
    let mut out = img.clone();
    for v in out.data.iter_mut() {
        *v = (*v as f64 + sigma * gaussian(rng)).round().clamp(0.0, 255.0) as u8;
    }
    out
}

fn motion_blur(img: &Gray, length: f64, angle: f64) -> Gray {
    let n = (length.ceil() as usize).max(1);
    let (s, c) = angle.sin_cos();
    let mut out = img.clone();
    for y in 0..img.h {
        for x in 0..img.w {
            let mut acc = 0.0;
            for i in 0..n {
                let t = (i as f64 + 0.5) / n as f64 * length - length / 2.0;
                acc += img.sample(x as f64 + 0.5 + t * c, y as f64 + 0.5 + t * s, 255);
            }
            out.data[y * img.w + x] = (acc / n as f64).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// The code (scaled by `scale`) on a white card on a cluttered desk, photographed.
fn scene(code: &Gray, scale: f64, rng: &mut fastrand::Rng) -> Gray {
    const W: usize = 960;
    const H: usize = 720;
    let code = code.scaled(scale.min(1.0));
    // Desk: mid grey with dark and light clutter (papers, pens, a keyboard's keys).
    let mut desk = Gray::new(W, H, 110 + rng.u8(0..40));
    for _ in 0..60 {
        let (w, h) = (rng.usize(4..120), rng.usize(4..120));
        let (x0, y0) = (rng.usize(0..W), rng.usize(0..H));
        let v = if rng.bool() { rng.u8(0..60) } else { rng.u8(170..255) };
        for y in y0..(y0 + h).min(H) {
            for x in x0..(x0 + w).min(W) {
                desk.data[y * W + x] = v;
            }
        }
    }
    // Card: ID-1 proportions (85.6 x 54 mm), code on its right half.
    let card_h = (code.h as f64 * 1.25).max(60.0) as usize;
    let card_w = ((card_h as f64 * 85.6 / 54.0) as usize).max(code.w + 20);
    let mut card = Gray::new(card_w, card_h, 250);
    // Printed text lines on the left half.
    for line in 0..6 {
        let y0 = card_h / 8 + line * card_h / 9;
        let len = rng.usize(card_w / 6..card_w / 2 - 10);
        for y in y0..(y0 + (card_h / 40).max(2)).min(card_h) {
            for x in 10..(10 + len).min(card_w) {
                card.data[y * card_w + x] = 40;
            }
        }
    }
    let (ox, oy) = (card_w - code.w - card_h / 10, (card_h - code.h) / 2);
    for y in 0..code.h {
        for x in 0..code.w {
            if ox + x < card_w && oy + y < card_h {
                card.data[(oy + y) * card_w + ox + x] = code.data[y * code.w + x];
            }
        }
    }
    // Place the card: rotation, tilt (perspective) and position, all seeded.
    let angle = (rng.f64() - 0.5) * 0.6;
    let (sa, ca) = angle.sin_cos();
    let (cw, ch) = (card_w as f64, card_h as f64);
    let cx = W as f64 * (0.35 + 0.3 * rng.f64());
    let cy = H as f64 * (0.35 + 0.3 * rng.f64());
    let tilt = 0.12 * rng.f64();
    let corners = [
        (-cw / 2.0, -ch / 2.0),
        (cw / 2.0, -ch / 2.0),
        (cw / 2.0, ch / 2.0),
        (-cw / 2.0, ch / 2.0),
    ];
    let mut quad = [(0.0, 0.0); 4];
    for (i, &(x, y)) in corners.iter().enumerate() {
        // Far edge (top) shorter: a card seen from a little in front.
        let x = if i < 2 { x * (1.0 - tilt) } else { x };
        quad[i] = (cx + x * ca - y * sa, cy + x * sa + y * ca);
    }
    if let Some(inv) = Homography::square_to_quad(quad).and_then(|h| h.inverse()) {
        for y in 0..H {
            for x in 0..W {
                let (u, v) = inv.map(x as f64 + 0.5, y as f64 + 0.5);
                if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
                    desk.data[y * W + x] = card.sample(u * cw, v * ch, 250).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    let mut g = desk.gaussian_blur(0.8);
    g = shadow(&g, 0.4, rng);
    g = low_contrast(&g, 15, 200);
    g = add_noise(&g, 6.0, rng);
    jpeg(&g, 70)
}

fn low_contrast(img: &Gray, base: u8, range: u8) -> Gray {
    let mut out = img.clone();
    for v in out.data.iter_mut() {
        *v = (base as f64 + *v as f64 * range as f64 / 255.0).round().clamp(0.0, 255.0) as u8;
    }
    out
}

fn shadow(img: &Gray, depth: f64, rng: &mut fastrand::Rng) -> Gray {
    let mut out = img.clone();
    let angle = rng.f64() * std::f64::consts::TAU;
    let (dx, dy) = (angle.cos(), angle.sin());
    let (w, h) = (img.w as f64, img.h as f64);
    // Project each pixel on the light direction; normalise to 0..1 over the image.
    let proj = |x: f64, y: f64| x * dx + y * dy;
    let corners = [proj(0.0, 0.0), proj(w, 0.0), proj(0.0, h), proj(w, h)];
    let lo = corners.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = corners.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let span = (hi - lo).max(1.0);
    for y in 0..img.h {
        for x in 0..img.w {
            let t = (proj(x as f64 + 0.5, y as f64 + 0.5) - lo) / span;
            let f = 1.0 - depth.clamp(0.0, 1.0) * t;
            let v = &mut out.data[y * img.w + x];
            *v = (*v as f64 * f).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn jpeg(img: &Gray, quality: u8) -> Gray {
    let mut buf = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality.clamp(1, 100));
    if enc
        .write_image(&img.data, img.w as u32, img.h as u32, image::ExtendedColorType::L8)
        .is_err()
    {
        return img.clone();
    }
    match image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg) {
        Ok(d) => Gray::from_dynamic(&d),
        Err(_) => img.clone(),
    }
}

fn perspective(img: &Gray, strength: f64, rng: &mut fastrand::Rng) -> Gray {
    if strength <= 0.0 {
        return img.clone();
    }
    let (w, h) = (img.w as f64, img.h as f64);
    let s = strength.min(0.3);
    // Each corner of the source moves inwards by a random amount in both axes: the print seen
    // from an angle (one edge shorter than the other) plus some skew.
    let mut jitter = |v: f64| v * (0.5 + 0.5 * rng.f64());
    let quad = [
        (jitter(s) * w, jitter(s) * h),
        (w - jitter(s) * w, jitter(s) * h * 0.3),
        (w - jitter(s) * w * 0.3, h - jitter(s) * h),
        (jitter(s) * w * 0.3, h - jitter(s) * h * 0.3),
    ];
    // The whole source image maps onto `quad` in the output.
    let Some(fwd) = Homography::square_to_quad(quad) else {
        return img.clone();
    };
    let Some(inv) = fwd.inverse() else { return img.clone() };
    let mut out = Gray::new(img.w, img.h, 255);
    for y in 0..img.h {
        for x in 0..img.w {
            let (u, v) = inv.map(x as f64 + 0.5, y as f64 + 0.5);
            out.data[y * img.w + x] = img.sample(u * w, v * h, 255).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_is_deterministic() {
        let r = render("AH-TEST-0001", 3.0, 4).unwrap();
        for class in levels() {
            for d in class {
                let a = d.apply(&r.image, 3.0, 7);
                let b = d.apply(&r.image, 3.0, 7);
                assert_eq!(a, b, "{d:?}");
            }
        }
    }

    #[test]
    fn shc_payload_shape() {
        let mut rng = fastrand::Rng::with_seed(1);
        let p = shc_payload(&mut rng, 701);
        assert_eq!(p.len(), 5 + 701);
        assert!(p[5..].bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn homography_round_trip() {
        let h = Homography::square_to_quad([(1.0, 2.0), (11.0, 1.0), (12.0, 13.0), (0.0, 10.0)]).unwrap();
        let (x, y) = h.map(1.0, 1.0);
        assert!((x - 12.0).abs() < 1e-9 && (y - 13.0).abs() < 1e-9);
        let inv = h.inverse().unwrap();
        let (u, v) = inv.map(x, y);
        assert!((u - 1.0).abs() < 1e-9 && (v - 1.0).abs() < 1e-9);
    }
}
