//! A small 8-bit greyscale image and the pixel operations the decoder and the damage generator use.
//!
//! Everything here is plain integer / float arithmetic over a `Vec<u8>`, bounded by the image size:
//! no allocation depends on pixel values and no index leaves the buffer.

use image::DynamicImage;

/// 8-bit greyscale, row-major, 0 = black, 255 = white.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gray {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

impl Gray {
    pub fn new(w: usize, h: usize, fill: u8) -> Self {
        Gray {
            w,
            h,
            data: vec![fill; w * h],
        }
    }

    /// Greyscale of any image; transparent pixels are composited over white (a transparent PNG
    /// of a QR code has its "white" modules transparent, often black underneath).
    pub fn from_dynamic(img: &DynamicImage) -> Self {
        let w = img.width() as usize;
        let h = img.height() as usize;
        if img.color().has_alpha() {
            let la = img.to_luma_alpha8();
            let data = la
                .pixels()
                .map(|p| {
                    let [l, a] = p.0;
                    ((l as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8
                })
                .collect();
            Gray { w, h, data }
        } else {
            Gray {
                w,
                h,
                data: img.to_luma8().into_raw(),
            }
        }
    }

    /// The `w` x `h` rectangle at `(x, y)`, clipped to the image.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Gray {
        let x = x.min(self.w);
        let y = y.min(self.h);
        let w = w.min(self.w - x);
        let h = h.min(self.h - y);
        let mut data = Vec::with_capacity(w * h);
        for row in y..y + h {
            data.extend_from_slice(&self.data[row * self.w + x..row * self.w + x + w]);
        }
        Gray { w, h, data }
    }

    pub fn to_image(&self) -> image::GrayImage {
        image::GrayImage::from_raw(self.w as u32, self.h as u32, self.data.clone()).expect("buffer size matches dimensions")
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.w + x]
    }

    /// Bilinear sample at a real-valued position (pixel centres at integer + 0.5); outside the
    /// image the value is `outside`.
    #[inline]
    pub fn sample(&self, x: f64, y: f64, outside: u8) -> f64 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        if !(fx > -1.0 && fy > -1.0 && fx < self.w as f64 && fy < self.h as f64) {
            return outside as f64;
        }
        let x0 = fx.floor();
        let y0 = fy.floor();
        let ax = fx - x0;
        let ay = fy - y0;
        let (x0, y0) = (x0 as isize, y0 as isize);
        let get = |x: isize, y: isize| -> f64 {
            if x < 0 || y < 0 || x >= self.w as isize || y >= self.h as isize {
                outside as f64
            } else {
                self.data[y as usize * self.w + x as usize] as f64
            }
        };
        let top = get(x0, y0) * (1.0 - ax) + get(x0 + 1, y0) * ax;
        let bottom = get(x0, y0 + 1) * (1.0 - ax) + get(x0 + 1, y0 + 1) * ax;
        top * (1.0 - ay) + bottom * ay
    }

    /// Resize to `nw` x `nh`: area averaging when shrinking (every source pixel counts, so
    /// noise averages out), bilinear when growing.
    pub fn resize(&self, nw: usize, nh: usize) -> Gray {
        let nw = nw.max(1);
        let nh = nh.max(1);
        if self.w == 0 || self.h == 0 {
            return Gray::new(nw, nh, 255);
        }
        if nw <= self.w && nh <= self.h {
            self.shrink_area(nw, nh)
        } else {
            let sx = self.w as f64 / nw as f64;
            let sy = self.h as f64 / nh as f64;
            let mut out = Gray::new(nw, nh, 255);
            for y in 0..nh {
                let cy = ((y as f64 + 0.5) * sy).clamp(0.5, self.h as f64 - 0.5);
                for x in 0..nw {
                    let cx = ((x as f64 + 0.5) * sx).clamp(0.5, self.w as f64 - 0.5);
                    out.data[y * nw + x] = self.sample(cx, cy, 255).round().clamp(0.0, 255.0) as u8;
                }
            }
            out
        }
    }

    fn shrink_area(&self, nw: usize, nh: usize) -> Gray {
        // Separable box filter with fractional pixel coverage: exact area averaging.
        let horizontal = shrink_axis(&self.data, self.w, self.h, nw);
        // Transpose trick: run the same 1-D routine over columns.
        let t = transpose(&horizontal, nw, self.h);
        let v = shrink_axis(&t, self.h, nw, nh);
        let data = transpose(&v, nh, nw);
        Gray { w: nw, h: nh, data }
    }

    /// Scale by a factor (both axes), at least 1x1.
    pub fn scaled(&self, factor: f64) -> Gray {
        let nw = ((self.w as f64 * factor).round() as usize).max(1);
        let nh = ((self.h as f64 * factor).round() as usize).max(1);
        self.resize(nw, nh)
    }

    /// Linear contrast stretch: the `lo_frac` and `1 - hi_frac` percentiles go to 0 and 255.
    /// Low-light and washed-out captures use only a narrow grey band; thresholds and the
    /// decoder's sampling work on the full range afterwards.
    pub fn stretch(&self, lo_frac: f64, hi_frac: f64) -> Gray {
        let hist = self.histogram();
        let n = self.data.len() as f64;
        let lo = percentile(&hist, n * lo_frac);
        let hi = percentile(&hist, (n * (1.0 - hi_frac)).min(n - 1.0));
        if hi <= lo {
            return self.clone();
        }
        let range = (hi - lo) as f64;
        let lut: Vec<u8> = (0..256)
            .map(|v: i32| (((v - lo as i32) as f64 * 255.0 / range).round()).clamp(0.0, 255.0) as u8)
            .collect();
        Gray {
            w: self.w,
            h: self.h,
            data: self.data.iter().map(|&v| lut[v as usize]).collect(),
        }
    }

    /// Histogram equalisation (global): spreads crowded grey levels apart.
    pub fn equalize(&self) -> Gray {
        let hist = self.histogram();
        let n = self.data.len() as u64;
        if n == 0 {
            return self.clone();
        }
        let mut cdf = [0u64; 256];
        let mut acc = 0u64;
        for (i, &c) in hist.iter().enumerate() {
            acc += c as u64;
            cdf[i] = acc;
        }
        let first = cdf.iter().copied().find(|&c| c > 0).unwrap_or(0);
        let denom = (n - first).max(1);
        let lut: Vec<u8> = cdf.iter().map(|&c| ((c.saturating_sub(first)) * 255 / denom) as u8).collect();
        Gray {
            w: self.w,
            h: self.h,
            data: self.data.iter().map(|&v| lut[v as usize]).collect(),
        }
    }

    pub fn histogram(&self) -> [u32; 256] {
        let mut hist = [0u32; 256];
        for &v in &self.data {
            hist[v as usize] += 1;
        }
        hist
    }

    /// Box blur with radius `r` (window 2r+1), edges clamped.
    pub fn box_blur(&self, r: usize) -> Gray {
        if r == 0 || self.w == 0 || self.h == 0 {
            return self.clone();
        }
        let h = box_axis(&self.data, self.w, self.h, r);
        let t = transpose(&h, self.w, self.h);
        let v = box_axis(&t, self.h, self.w, r);
        Gray {
            w: self.w,
            h: self.h,
            data: transpose(&v, self.h, self.w),
        }
    }

    /// Gaussian blur with standard deviation `sigma` (separable, kernel radius 3 sigma).
    pub fn gaussian_blur(&self, sigma: f64) -> Gray {
        if sigma.is_nan() || sigma <= 0.05 || self.w == 0 || self.h == 0 {
            return self.clone();
        }
        let r = ((sigma * 3.0).ceil() as usize).max(1);
        let mut kernel: Vec<f64> = (0..=2 * r)
            .map(|i| {
                let d = i as f64 - r as f64;
                (-d * d / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        let sum: f64 = kernel.iter().sum();
        kernel.iter_mut().for_each(|k| *k /= sum);
        let h = convolve_axis(&self.data, self.w, self.h, &kernel);
        let t = transpose(&h, self.w, self.h);
        let v = convolve_axis(&t, self.h, self.w, &kernel);
        Gray {
            w: self.w,
            h: self.h,
            data: transpose(&v, self.h, self.w),
        }
    }

    /// Adaptive (local-mean) threshold: a pixel is black when it is darker than the mean of the
    /// (2r+1)² window around it by more than `offset` grey levels. Uneven lighting (a shadow
    /// across a card, a bright flash spot) defeats one global threshold but not a local one.
    /// Returns `true` for black.
    pub fn adaptive_threshold(&self, r: usize, offset: i32) -> Vec<bool> {
        let (w, h) = (self.w, self.h);
        if w == 0 || h == 0 {
            return Vec::new();
        }
        let iw = w + 1;
        let mut integral = vec![0u64; iw * (h + 1)];
        for y in 0..h {
            let mut row = 0u64;
            for x in 0..w {
                row += self.data[y * w + x] as u64;
                integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
            }
        }
        let mut out = vec![false; w * h];
        for y in 0..h {
            let y0 = y.saturating_sub(r);
            let y1 = (y + r + 1).min(h);
            for x in 0..w {
                let x0 = x.saturating_sub(r);
                let x1 = (x + r + 1).min(w);
                let sum = integral[y1 * iw + x1] + integral[y0 * iw + x0] - integral[y0 * iw + x1] - integral[y1 * iw + x0];
                let count = ((y1 - y0) * (x1 - x0)) as u64;
                let v = self.data[y * w + x] as i64 * count as i64;
                out[y * w + x] = v < (sum as i64 - offset as i64 * count as i64);
            }
        }
        out
    }

    /// Local min/max (Bernsen-style) threshold: each pixel against the midpoint of the darkest
    /// and brightest values in the blocks around it (`block` px blocks, 5x5 neighbourhood).
    /// Unlike a local mean this does not depend on how much of the window is black: next to a
    /// quiet zone or inside a finder pattern the mean drifts towards one colour and a blurred
    /// one-module ring falls on the wrong side; the midpoint between the two levels does not.
    /// Blocks with little contrast around them take the global midpoint. Returns `true` for
    /// black.
    pub fn minmax_threshold(&self, block: usize) -> Vec<bool> {
        let (w, h) = (self.w, self.h);
        if w == 0 || h == 0 {
            return Vec::new();
        }
        let b = block.max(2);
        let (bw, bh) = (w.div_ceil(b), h.div_ceil(b));
        let mut mins = vec![255u8; bw * bh];
        let mut maxs = vec![0u8; bw * bh];
        for y in 0..h {
            for x in 0..w {
                let v = self.data[y * w + x];
                let i = (y / b) * bw + x / b;
                mins[i] = mins[i].min(v);
                maxs[i] = maxs[i].max(v);
            }
        }
        let hist = self.histogram();
        let n = self.data.len() as f64;
        let lo = percentile(&hist, n * 0.01) as i32;
        let hi = percentile(&hist, (n * 0.99).min(n - 1.0)) as i32;
        let global = (lo + hi) / 2;
        let min_range = ((hi - lo) / 4).max(8);
        let mut thr = vec![global; bw * bh];
        for by in 0..bh {
            for bx in 0..bw {
                let (mut mn, mut mx) = (255i32, 0i32);
                for ny in by.saturating_sub(2)..(by + 3).min(bh) {
                    for nx in bx.saturating_sub(2)..(bx + 3).min(bw) {
                        mn = mn.min(mins[ny * bw + nx] as i32);
                        mx = mx.max(maxs[ny * bw + nx] as i32);
                    }
                }
                if mx - mn >= min_range {
                    thr[by * bw + bx] = (mn + mx) / 2;
                }
            }
        }
        let mut out = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                out[y * w + x] = (self.data[y * w + x] as i32) < thr[(y / b) * bw + x / b];
            }
        }
        out
    }

    /// Otsu's global threshold (the level that best separates two classes of grey).
    pub fn otsu(&self) -> u8 {
        let hist = self.histogram();
        let total = self.data.len() as f64;
        if total == 0.0 {
            return 128;
        }
        let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
        let (mut w_b, mut sum_b, mut best, mut best_t) = (0.0, 0.0, -1.0, 128u8);
        for (t, &c) in hist.iter().enumerate() {
            w_b += c as f64;
            if w_b == 0.0 {
                continue;
            }
            let w_f = total - w_b;
            if w_f == 0.0 {
                break;
            }
            sum_b += t as f64 * c as f64;
            let m_b = sum_b / w_b;
            let m_f = (sum_all - sum_b) / w_f;
            let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
            if between > best {
                best = between;
                best_t = t as u8;
            }
        }
        best_t
    }

    /// Rotate by `degrees` about the centre, keeping the size; uncovered corners are `fill`.
    pub fn rotate(&self, degrees: f64, fill: u8) -> Gray {
        let (s, c) = degrees.to_radians().sin_cos();
        let cx = self.w as f64 / 2.0;
        let cy = self.h as f64 / 2.0;
        let mut out = Gray::new(self.w, self.h, fill);
        for y in 0..self.h {
            let dy = y as f64 + 0.5 - cy;
            for x in 0..self.w {
                let dx = x as f64 + 0.5 - cx;
                // Inverse mapping: where in the source does this output pixel come from.
                let sx = c * dx + s * dy + cx;
                let sy = -s * dx + c * dy + cy;
                out.data[y * self.w + x] = self.sample(sx, sy, fill).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }
}

fn percentile(hist: &[u32; 256], rank: f64) -> u8 {
    let mut acc = 0f64;
    for (i, &c) in hist.iter().enumerate() {
        acc += c as f64;
        if acc > rank {
            return i as u8;
        }
    }
    255
}

fn transpose(data: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            out[x * h + y] = data[y * w + x];
        }
    }
    out
}

/// Shrink every row of a `w` x `h` buffer to `nw` samples by exact area averaging.
fn shrink_axis(data: &[u8], w: usize, h: usize, nw: usize) -> Vec<u8> {
    let mut out = vec![0u8; nw * h];
    let scale = w as f64 / nw as f64;
    // Precompute, for each output sample, the covered source range with fractional ends.
    let spans: Vec<(usize, usize, f64, f64)> = (0..nw)
        .map(|i| {
            let a = i as f64 * scale;
            let b = ((i + 1) as f64 * scale).min(w as f64);
            let ia = a.floor() as usize;
            let ib = (b.ceil() as usize).min(w).max(ia + 1);
            (ia, ib, a, b)
        })
        .collect();
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for (i, &(ia, ib, a, b)) in spans.iter().enumerate() {
            let mut acc = 0.0;
            let mut weight = 0.0;
            for (x, &v) in row.iter().enumerate().take(ib).skip(ia) {
                let lo = (x as f64).max(a);
                let hi = ((x + 1) as f64).min(b);
                let cover = (hi - lo).max(0.0);
                acc += v as f64 * cover;
                weight += cover;
            }
            out[y * nw + i] = if weight > 0.0 {
                (acc / weight).round().clamp(0.0, 255.0) as u8
            } else {
                255
            };
        }
    }
    out
}

fn box_axis(data: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        let mut prefix = vec![0u32; w + 1];
        for x in 0..w {
            prefix[x + 1] = prefix[x] + row[x] as u32;
        }
        for x in 0..w {
            let a = x.saturating_sub(r);
            let b = (x + r + 1).min(w);
            out[y * w + x] = ((prefix[b] - prefix[a]) as f64 / (b - a) as f64).round() as u8;
        }
    }
    out
}

fn convolve_axis(data: &[u8], w: usize, h: usize, kernel: &[f64]) -> Vec<u8> {
    let r = kernel.len() / 2;
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let sx = (x + k).saturating_sub(r).min(w - 1);
                acc += row[sx] as f64 * kv;
            }
            out[y * w + x] = acc.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_averages_area() {
        let g = Gray {
            w: 4,
            h: 2,
            data: vec![0, 255, 0, 255, 0, 255, 0, 255],
        };
        let s = g.resize(2, 1);
        assert_eq!(s.data, vec![128, 128]);
        let s = g.resize(3, 1);
        assert_eq!(s.w, 3);
    }

    #[test]
    fn stretch_fills_range() {
        let g = Gray {
            w: 4,
            h: 1,
            data: vec![100, 110, 120, 130],
        };
        let s = g.stretch(0.0, 0.0);
        assert_eq!(s.data[0], 0);
        assert_eq!(s.data[3], 255);
    }

    #[test]
    fn adaptive_threshold_finds_dark_pixel() {
        let mut g = Gray::new(9, 9, 200);
        g.data[4 * 9 + 4] = 20;
        let t = g.adaptive_threshold(2, 5);
        assert!(t[4 * 9 + 4]);
        assert_eq!(t.iter().filter(|&&b| b).count(), 1);
    }

    #[test]
    fn blurs_keep_flat_images_flat() {
        let g = Gray::new(7, 5, 77);
        assert_eq!(g.box_blur(2), g);
        assert_eq!(g.gaussian_blur(1.5), g);
        assert_eq!(g.rotate(10.0, 77), g);
    }
}
