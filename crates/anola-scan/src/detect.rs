//! Our own QR locator and sampler; rqrr only turns the sampled module grid into text.
//!
//! rqrr (like quirc) finds finder patterns by flood-filling regions of a binarised image,
//! measures the code's size by counting timing-pattern transitions on that bitmap, and reads
//! every module as one binarised pixel. Each of those steps breaks on blur, noise and small
//! modules: a blurred ring merges with its neighbours, one flipped pixel on the timing line
//! changes the version, one noisy pixel flips a module. This module does those steps the way
//! camera decoders (ZXing, zbar) do:
//!
//! 1. finder patterns are found by 1:1:3:1:1 run ratios along rows, cross-checked down the
//!    column and along the row again, and merged across rows (robust to blurred edges);
//! 2. the three finders are ordered, the size is estimated from their distance and module size,
//!    and each candidate size (±4 modules) is scored on both timing patterns before use;
//! 3. the bottom-right alignment pattern is located by template matching on the greyscale
//!    image around its affine estimate, giving a 4-point perspective map;
//! 4. each module is read as the mean of several greyscale samples around its centre and
//!    thresholded against the mean of the modules around it (not against one pixel), with
//!    optional module-level sharpening that undoes part of a blur;
//! 5. rqrr's decoder does format information, Reed–Solomon correction and the data.

use crate::geom::Homography;
use crate::gray::Gray;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Finder {
    pub x: f64,
    pub y: f64,
    pub module: f64,
    pub count: u32,
}

type Pt = (f64, f64);

/// Finder-pattern candidates in a binarised image (`true` = black), best first.
pub(crate) fn find_finders(bits: &[bool], w: usize, h: usize) -> Vec<Finder> {
    let mut found: Vec<Finder> = Vec::new();
    if bits.len() != w * h || w < 7 || h < 7 {
        return found;
    }
    let mut runs: Vec<(usize, usize)> = Vec::with_capacity(w / 2);
    for y in 0..h {
        let row = &bits[y * w..(y + 1) * w];
        // Run-length encode the row: (start, length), colour alternates; first run's colour is
        // row[0].
        runs.clear();
        let mut start = 0;
        for x in 1..=w {
            if x == w || row[x] != row[start] {
                runs.push((start, x - start));
                start = x;
            }
        }
        let first_black = row[0];
        for i in 0..runs.len().saturating_sub(4) {
            let black = (i % 2 == 0) == first_black;
            if !black {
                continue;
            }
            let c = [runs[i].1, runs[i + 1].1, runs[i + 2].1, runs[i + 3].1, runs[i + 4].1];
            if !ratio_ok(&c) {
                continue;
            }
            let total: usize = c.iter().sum();
            let cx = runs[i + 2].0 as f64 + runs[i + 2].1 as f64 / 2.0;
            let Some((cy, vtotal)) = cross_check_near(bits, w, h, cx as usize, y, total, true) else {
                continue;
            };
            let Some((cx2, htotal)) = cross_check_near(bits, w, h, cx as usize, cy as usize, total, false) else {
                continue;
            };
            // And once more vertically through the refined centre.
            let Some((cy2, vtotal2)) = cross_check_near(bits, w, h, cx2 as usize, cy as usize, total, true) else {
                continue;
            };
            // A finder is 1:1:3:1:1 along the diagonal too; most look-alikes in the data are not.
            if !diagonal_ok(bits, w, h, cx2 as usize, cy2 as usize, total) {
                continue;
            }
            let module = (htotal + vtotal.max(vtotal2)) as f64 / 14.0;
            add_candidate(&mut found, cx2, cy2, module);
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.count));
    let strong = found.iter().filter(|f| f.count >= 2).count();
    if strong >= 3 {
        found.retain(|f| f.count >= 2);
    }
    found
}

fn ratio_ok(c: &[usize; 5]) -> bool {
    let total: usize = c.iter().sum();
    if total < 7 || c.contains(&0) {
        return false;
    }
    let m = total as f64 / 7.0;
    let var = m * 0.7;
    (m - c[0] as f64).abs() < var
        && (m - c[1] as f64).abs() < var
        && (3.0 * m - c[2] as f64).abs() < 3.0 * var
        && (m - c[3] as f64).abs() < var
        && (m - c[4] as f64).abs() < var
}

/// [`cross_check`] along the line through (x, y), or if one noisy pixel spoils it, along the
/// parallel lines half a module to either side.
fn cross_check_near(bits: &[bool], w: usize, h: usize, x: usize, y: usize, expect: usize, vertical: bool) -> Option<(f64, usize)> {
    let d = (expect / 14).max(1);
    for off in [0isize, -(d as isize), d as isize] {
        let (xx, yy) = if vertical {
            (x as isize + off, y as isize)
        } else {
            (x as isize, y as isize + off)
        };
        if xx < 0 || yy < 0 {
            continue;
        }
        if let Some(r) = cross_check(bits, w, h, xx as usize, yy as usize, expect, vertical) {
            return Some(r);
        }
    }
    None
}

/// Walk from (x, y) (which should be in the centre stone) along the column (`vertical`) or the
/// row in both directions and check the 1:1:3:1:1 pattern. Returns the refined centre
/// coordinate along that axis and the pattern's total length.
fn cross_check(bits: &[bool], w: usize, h: usize, x: usize, y: usize, expect: usize, vertical: bool) -> Option<(f64, usize)> {
    if x >= w || y >= h {
        return None;
    }
    let (len, pos) = if vertical { (h, y) } else { (w, x) };
    let at = |i: usize| if vertical { bits[i * w + x] } else { bits[y * w + i] };
    if !at(pos) {
        return None;
    }
    let max = expect * 2 + 4;
    let mut c = [0usize; 5];
    // Backwards: centre, white, black.
    let mut i = pos as isize;
    while i >= 0 && at(i as usize) && c[2] <= max {
        c[2] += 1;
        i -= 1;
    }
    let centre_start = (i + 1) as usize;
    while i >= 0 && !at(i as usize) && c[1] <= max {
        c[1] += 1;
        i -= 1;
    }
    while i >= 0 && at(i as usize) && c[0] <= max {
        c[0] += 1;
        i -= 1;
    }
    // Forwards.
    let mut j = pos + 1;
    while j < len && at(j) && c[2] <= max {
        c[2] += 1;
        j += 1;
    }
    let centre_end = j;
    while j < len && !at(j) && c[3] <= max {
        c[3] += 1;
        j += 1;
    }
    while j < len && at(j) && c[4] <= max {
        c[4] += 1;
        j += 1;
    }
    if !ratio_ok(&c) {
        return None;
    }
    let total: usize = c.iter().sum();
    // The other direction saw a pattern of similar size.
    if 2 * total < expect || total > 2 * expect + 2 {
        return None;
    }
    Some(((centre_start + centre_end) as f64 / 2.0, total))
}

/// The 1:1:3:1:1 check along either diagonal through (x, y) (either passes: under rotation one
/// diagonal may cut a corner of the pattern). Lengths along a diagonal are in steps of one pixel
/// in x and y, i.e. sqrt(2) px.
fn diagonal_ok(bits: &[bool], w: usize, h: usize, x: usize, y: usize, expect: usize) -> bool {
    let at = |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && bits[y as usize * w + x as usize];
    if !at(x as isize, y as isize) {
        return false;
    }
    let max = expect as isize * 2 + 4;
    for sx in [1isize, -1] {
        let mut c = [0usize; 5];
        let (x, y) = (x as isize, y as isize);
        let mut i = 0isize;
        while i <= max && at(x - i * sx, y - i) {
            c[2] += 1;
            i += 1;
        }
        while i <= max && !at(x - i * sx, y - i) && i < max {
            c[1] += 1;
            i += 1;
        }
        while i <= max && at(x - i * sx, y - i) {
            c[0] += 1;
            i += 1;
        }
        let mut j = 1isize;
        while j <= max && at(x + j * sx, y + j) {
            c[2] += 1;
            j += 1;
        }
        while j <= max && !at(x + j * sx, y + j) && j < max {
            c[3] += 1;
            j += 1;
        }
        while j <= max && at(x + j * sx, y + j) {
            c[4] += 1;
            j += 1;
        }
        let total: usize = c.iter().sum();
        // Along the diagonal the pattern is sqrt(2) longer in pixels but counted in diagonal
        // steps, i.e. the same count; allow the usual slack.
        if ratio_ok(&c) && 2 * total >= expect && total <= 2 * expect + 2 {
            return true;
        }
    }
    false
}

fn add_candidate(found: &mut Vec<Finder>, x: f64, y: f64, module: f64) {
    for f in found.iter_mut() {
        let tol = f.module.max(module) * 1.5;
        if (f.x - x).abs() <= tol && (f.y - y).abs() <= tol && (f.module - module).abs() <= f.module.max(module) * 0.6 {
            let n = f.count as f64;
            f.x = (f.x * n + x) / (n + 1.0);
            f.y = (f.y * n + y) / (n + 1.0);
            f.module = (f.module * n + module) / (n + 1.0);
            f.count += 1;
            return;
        }
    }
    found.push(Finder { x, y, module, count: 1 });
}

/// Plausible (top-left, top-right, bottom-left) triples, most square-like first.
pub(crate) fn triples(finders: &[Finder], max_finders: usize) -> Vec<[Finder; 3]> {
    let f = &finders[..finders.len().min(max_finders)];
    let mut out: Vec<(f64, [Finder; 3])> = Vec::new();
    for i in 0..f.len() {
        for j in i + 1..f.len() {
            for k in j + 1..f.len() {
                let t = [f[i], f[j], f[k]];
                let mods: Vec<f64> = t.iter().map(|p| p.module).collect();
                let mmax = mods.iter().cloned().fold(0.0, f64::max);
                let mmin = mods.iter().cloned().fold(f64::INFINITY, f64::min);
                if mmax > mmin * 2.0 {
                    continue;
                }
                // The corner opposite the longest side is top-left.
                let d = |a: &Finder, b: &Finder| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
                let sides = [(d(&t[1], &t[2]), 0), (d(&t[0], &t[2]), 1), (d(&t[0], &t[1]), 2)];
                let (hyp, tl) = sides.iter().cloned().fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
                let others: Vec<usize> = (0..3).filter(|&q| q != tl).collect();
                let (mut a, mut b) = (t[others[0]], t[others[1]]);
                let o = t[tl];
                let la = d(&o, &a);
                let lb = d(&o, &b);
                let m = (mmax + mmin) / 2.0;
                if la.min(lb) < 14.0 * m * 0.7 {
                    // Closer than a version-1 code allows.
                    continue;
                }
                let ratio = la.min(lb) / la.max(lb);
                let right = (hyp - (la * la + lb * lb).sqrt()).abs() / hyp;
                if ratio < 0.55 || right > 0.25 {
                    continue;
                }
                // Clockwise in image coordinates (y down): TR then BL.
                let cross = (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
                if cross < 0.0 {
                    std::mem::swap(&mut a, &mut b);
                }
                let score = (1.0 - ratio) + right + (mmax / mmin - 1.0) * 0.5;
                out.push((score, [o, a, b]));
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.into_iter().map(|(_, t)| t).collect()
}

/// The estimated version of a triple's code (from finder distance and module size).
fn estimated_version(t: &[Finder; 3]) -> i64 {
    let [tl, tr, bl] = t;
    let d = |a: &Finder, b: &Finder| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
    let m = (tl.module * 2.0 + tr.module + bl.module) / 4.0;
    let est = (d(tl, tr) + d(tl, bl)) / 2.0 / m + 7.0;
    ((est - 17.0) / 4.0).round() as i64
}

/// Everything needed to map module coordinates to the image for one candidate code.
struct Frame {
    dim: usize,
    h: Homography,
}

/// Try to read the code whose finders are `t` from `grey`. Returns the text.
/// `gate`: the least affine timing score worth the alignment search (0 to try every triple).
pub(crate) fn read_triple(grey: &Gray, t: &[Finder; 3], budget: &mut usize, gate: f64) -> Option<String> {
    let [tl, tr, bl] = t;
    let v0 = estimated_version(t);
    let versions: Vec<usize> = [v0, v0 - 1, v0 + 1, v0 - 2, v0 + 2]
        .into_iter()
        .filter(|v| (1..=40).contains(v))
        .map(|v| (17 + 4 * v) as usize)
        .collect();
    // Cheap gate before the alignment search: finder look-alikes in the data (many, in a
    // cluttered frame) have no timing pattern between them. The affine frame's timing rows run
    // next to the finders, so a real code scores well here even when tilted.
    let affine_timing = versions
        .iter()
        .filter_map(|&dim| frames(t, dim, &[]).pop())
        .map(|f| timing_score(grey, &f))
        .fold(0.0, f64::max);
    if affine_timing < gate {
        return None;
    }
    // The alignment pattern sits 3 modules in from the corner the finders imply; its position
    // hardly depends on the exact size, so it is searched for once.
    let dim0 = (17 + 4 * v0.clamp(2, 40)) as usize;
    let aligns = {
        let span = dim0 as f64 - 7.0;
        let ex = ((tr.x - tl.x) / span, (tr.y - tl.y) / span);
        let ey = ((bl.x - tl.x) / span, (bl.y - tl.y) / span);
        let k = dim0 as f64 - 10.0;
        let guess = (tl.x + k * (ex.0 + ey.0), tl.y + k * (ex.1 + ey.1));
        find_alignment(grey, guess, ex, ey, dim0)
    };
    let versions: Vec<usize> = [v0, v0 - 1, v0 + 1, v0 - 2, v0 + 2]
        .into_iter()
        .filter(|v| (1..=40).contains(v))
        .map(|v| (17 + 4 * v) as usize)
        .collect();
    let mut dims: Vec<(f64, Frame)> = Vec::new();
    let mut corner_search: Vec<usize> = Vec::new();
    for &dim in &versions {
        let candidates = frames(t, dim, &aligns);
        // The affine frame's timing rows lie next to the finders, so they are right even under
        // tilt: a good score there says the size is right and, if the frames below fail, the
        // corner search is worth its cost.
        if dim <= 41 && candidates.last().is_some_and(|f| timing_score(grey, f) >= 0.65) {
            corner_search.push(dim);
        }
        for frame in candidates {
            let s = timing_score(grey, &frame);
            if s >= 0.65 {
                dims.push((s, frame));
            }
        }
    }
    dims.sort_by(|a, b| b.0.total_cmp(&a.0));

    let try_frame = |frame: &Frame, sharpen: f64, budget: &mut usize| -> Option<Option<String>> {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let values = sample_modules(grey, frame, sharpen);
        for bits in [threshold_local(&values, frame.dim), threshold_global(&values)] {
            if let Some(text) = decode_bits(&bits, frame.dim) {
                return Some(Some(text));
            }
        }
        Some(None)
    };
    for (_, first) in dims.iter().take(4) {
        let refined = refine(grey, first, t);
        for (frame, sharpen) in [(Some(first), 0.0)]
            .into_iter()
            .chain([0.0, 0.6, 1.2].map(|s| (refined.as_ref(), s)))
            .chain([0.6, 1.2].map(|s| (Some(first), s)))
        {
            let Some(frame) = frame else { continue };
            match try_frame(frame, sharpen, budget) {
                None => return None,
                Some(Some(text)) => return Some(text),
                Some(None) => {}
            }
        }
    }
    for dim in corner_search.into_iter().take(2) {
        let Some(frame) = search_corner(grey, t, dim) else { continue };
        for sharpen in [0.0, 0.6] {
            match try_frame(&frame, sharpen, budget) {
                None => return None,
                Some(Some(text)) => return Some(text),
                Some(None) => {}
            }
        }
    }
    None
}

/// Candidate perspective frames for a code of `dim` modules: from the three finders plus the
/// located alignment pattern (or the parallelogram corner for version 1 / when none is found).
fn frames(t: &[Finder; 3], dim: usize, aligns: &[Pt]) -> Vec<Frame> {
    let [tl, tr, bl] = t;
    let n = dim as f64;
    let span = n - 7.0;
    let ex = ((tr.x - tl.x) / span, (tr.y - tl.y) / span);
    let ey = ((bl.x - tl.x) / span, (bl.y - tl.y) / span);
    let affine = |u: f64, v: f64| -> Pt {
        (
            tl.x + (u - 3.5) * ex.0 + (v - 3.5) * ey.0,
            tl.y + (u - 3.5) * ex.1 + (v - 3.5) * ey.1,
        )
    };
    let mut out = Vec::new();
    let src3 = [(3.5, 3.5), (n - 3.5, 3.5)];
    let dst3 = [(tl.x, tl.y), (tr.x, tr.y)];
    let make = |corner_mod: Pt, corner_img: Pt| -> Option<Frame> {
        let h = Homography::quad_to_quad(
            [src3[0], src3[1], corner_mod, (3.5, n - 3.5)],
            [dst3[0], dst3[1], corner_img, (bl.x, bl.y)],
        )?;
        Some(Frame { dim, h })
    };
    if dim > 21 {
        for &p in aligns {
            if let Some(f) = make((n - 6.5, n - 6.5), p) {
                out.push(f);
            }
        }
    }
    if let Some(f) = make((n - 3.5, n - 3.5), affine(n - 3.5, n - 3.5)) {
        out.push(f);
    }
    out
}

/// Without an alignment pattern (version 1, or one too damaged to find) the fourth corner of
/// the perspective map is only an affine guess, wrong by modules under tilt. Search around it
/// for the corner whose map samples the sharpest modules (largest mean distance from the
/// modules' mean grey: sampling between modules gives greys, on their centres black/white).
fn search_corner(grey: &Gray, t: &[Finder; 3], dim: usize) -> Option<Frame> {
    let [tl, tr, bl] = t;
    let n = dim as f64;
    let span = n - 7.0;
    let ex = ((tr.x - tl.x) / span, (tr.y - tl.y) / span);
    let ey = ((bl.x - tl.x) / span, (bl.y - tl.y) / span);
    let guess = (tl.x + (n - 7.0) * (ex.0 + ey.0), tl.y + (n - 7.0) * (ex.1 + ey.1));
    let make = |p: Pt| -> Option<Frame> {
        let h = Homography::quad_to_quad(
            [(3.5, 3.5), (n - 3.5, 3.5), (n - 3.5, n - 3.5), (3.5, n - 3.5)],
            [(tl.x, tl.y), (tr.x, tr.y), p, (bl.x, bl.y)],
        )?;
        Some(Frame { dim, h })
    };
    let sharpness = |f: &Frame| -> f64 {
        let mut vals = Vec::with_capacity(dim * dim);
        for y in 0..dim {
            for x in 0..dim {
                let (px, py) = f.h.map(x as f64 + 0.5, y as f64 + 0.5);
                vals.push(grey.sample(px, py, 255));
            }
        }
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        vals.iter().map(|v| (v - mean).abs()).sum::<f64>() / vals.len() as f64
    };
    let (mut best, mut best_p) = (f64::NEG_INFINITY, guess);
    let range = (n * 0.15).clamp(2.0, 5.0);
    for step in [0.5, 0.125] {
        let centre = best_p;
        let k = if step == 0.5 { (range / step) as i64 } else { 4 };
        for j in -k..=k {
            for i in -k..=k {
                let p = (
                    centre.0 + i as f64 * step * ex.0 + j as f64 * step * ey.0,
                    centre.1 + i as f64 * step * ex.1 + j as f64 * step * ey.1,
                );
                if let Some(f) = make(p) {
                    let s = sharpness(&f);
                    if s > best {
                        (best, best_p) = (s, p);
                    }
                }
            }
        }
    }
    make(best_p)
}

/// Alignment-pattern candidates near `guess`: local maxima of a 5x5-module template match on
/// the greyscale (white ring around a black centre inside a black ring), best first. A coarse
/// half-module grid over the search window, then a fine search around the three best maxima.
fn find_alignment(grey: &Gray, guess: Pt, ex: Pt, ey: Pt, dim: usize) -> Vec<Pt> {
    let radius = (dim as f64 * 0.15).clamp(4.0, 16.0);
    let score_at = |du: f64, dv: f64| align_score(grey, (guess.0 + du * ex.0 + dv * ey.0, guess.1 + du * ex.1 + dv * ey.1), ex, ey);
    let step = 0.5;
    let nsteps = (radius / step) as i64;
    let grid_w = (2 * nsteps + 1) as usize;
    let mut scores = vec![f64::NEG_INFINITY; grid_w * grid_w];
    for b in -nsteps..=nsteps {
        for a in -nsteps..=nsteps {
            scores[(b + nsteps) as usize * grid_w + (a + nsteps) as usize] = score_at(a as f64 * step, b as f64 * step);
        }
    }
    // Local maxima over a one-module neighbourhood.
    let nb = (1.0 / step) as i64;
    let mut cands: Vec<(f64, f64, f64)> = Vec::new();
    for b in 0..grid_w as i64 {
        for a in 0..grid_w as i64 {
            let s = scores[b as usize * grid_w + a as usize];
            if s <= 10.0 {
                continue;
            }
            let mut is_max = true;
            'n: for db in -nb..=nb {
                for da in -nb..=nb {
                    let (x, y) = (a + da, b + db);
                    if (da, db) != (0, 0) && x >= 0 && y >= 0 && x < grid_w as i64 && y < grid_w as i64 {
                        let o = scores[y as usize * grid_w + x as usize];
                        if o > s || (o == s && (db, da) < (0, 0)) {
                            is_max = false;
                            break 'n;
                        }
                    }
                }
            }
            if is_max {
                let (du, dv) = ((a - nsteps) as f64 * step, (b - nsteps) as f64 * step);
                // Prefer candidates near the estimate: a mild distance penalty.
                let dist = (du * du + dv * dv).sqrt();
                cands.push((s * (1.0 - 0.02 * dist), du, dv));
            }
        }
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0));
    cands
        .into_iter()
        .take(3)
        .map(|(_, du, dv)| {
            // Refine to an eighth of a module.
            let (mut best, mut bu, mut bv) = (f64::NEG_INFINITY, du, dv);
            for j in -4..=4 {
                for i in -4..=4 {
                    let (u, v) = (du + i as f64 * 0.125, dv + j as f64 * 0.125);
                    let s = score_at(u, v);
                    if s > best {
                        (best, bu, bv) = (s, u, v);
                    }
                }
            }
            (guess.0 + bu * ex.0 + bv * ey.0, guess.1 + bu * ex.1 + bv * ey.1)
        })
        .collect()
}

/// How much the greyscale around `p` looks like an alignment pattern (module vectors `ex`,
/// `ey`): the white ring's mean minus the mean of the black centre and the black outer ring.
fn align_score(grey: &Gray, p: Pt, ex: Pt, ey: Pt) -> f64 {
    let at = |a: f64, b: f64| grey.sample(p.0 + a * ex.0 + b * ey.0, p.1 + a * ex.1 + b * ey.1, 255);
    let centre = at(0.0, 0.0);
    let mut ring1 = 0.0;
    let mut ring2 = 0.0;
    for i in -1..=1 {
        let i = i as f64;
        ring1 += at(i, -1.0) + at(i, 1.0);
        ring2 += at(i, -2.0) + at(i, 2.0) + at(-2.0, i) + at(2.0, i);
    }
    ring1 += at(-1.0, 0.0) + at(1.0, 0.0);
    ring2 += at(-2.0, -2.0) + at(2.0, -2.0) + at(-2.0, 2.0) + at(2.0, 2.0);
    ring1 / 8.0 - 0.5 * (centre + ring2 / 16.0)
}

/// Centres of the alignment patterns of a code of `dim` modules (rows and columns; every
/// combination except the three under the finders), ISO/IEC 18004 Annex E.
fn alignment_positions(dim: usize) -> Vec<usize> {
    let v = (dim.saturating_sub(17)) / 4;
    if v < 2 {
        return Vec::new();
    }
    let count = v / 7 + 2;
    let step = if v == 32 {
        26
    } else {
        (v * 4 + count * 2 + 1) / (count * 2 - 2) * 2
    };
    let mut out = vec![6];
    let mut pos = dim - 7;
    let mut rest = Vec::new();
    while rest.len() + 1 < count {
        rest.push(pos);
        pos -= step;
    }
    rest.reverse();
    out.extend(rest);
    out
}

/// A better perspective map for a version 7+ code: every alignment pattern is located near
/// where `f` puts it, and the map is refitted by least squares to the finder centres and all
/// the patterns found (twice, the second pass starting from the first fit). A single
/// bottom-right pattern leaves the middle of a large code half a module off under blur and
/// tilt; a fit to a dozen points does not.
fn refine(grey: &Gray, f: &Frame, finders: &[Finder; 3]) -> Option<Frame> {
    let n = f.dim;
    let pos = alignment_positions(n);
    if pos.len() < 3 {
        return None;
    }
    let last = n - 7;
    let mut h = f.h;
    for pass in 0..2 {
        let mut src: Vec<Pt> = vec![(3.5, 3.5), (n as f64 - 3.5, 3.5), (3.5, n as f64 - 3.5)];
        let mut dst: Vec<Pt> = finders.iter().map(|p| (p.x, p.y)).collect();
        let window = if pass == 0 { 2.0 } else { 1.0 };
        for &ay in &pos {
            for &ax in &pos {
                let under_finder = matches!((ax, ay), (6, 6)) || (ax == 6 && ay == last) || (ax == last && ay == 6);
                if under_finder {
                    continue;
                }
                let (u, v) = (ax as f64 + 0.5, ay as f64 + 0.5);
                let c = h.map(u, v);
                let px = h.map(u + 0.5, v);
                let mx = h.map(u - 0.5, v);
                let py = h.map(u, v + 0.5);
                let my = h.map(u, v - 0.5);
                let ex = (px.0 - mx.0, px.1 - mx.1);
                let ey = (py.0 - my.0, py.1 - my.1);
                let steps = (window / 0.25) as i64;
                let (mut best, mut bp) = (f64::NEG_INFINITY, c);
                for j in -steps..=steps {
                    for i in -steps..=steps {
                        let (du, dv) = (i as f64 * 0.25, j as f64 * 0.25);
                        let p = (c.0 + du * ex.0 + dv * ey.0, c.1 + du * ex.1 + dv * ey.1);
                        let s = align_score(grey, p, ex, ey);
                        if s > best {
                            (best, bp) = (s, p);
                        }
                    }
                }
                if best > 20.0 {
                    src.push((u, v));
                    dst.push(bp);
                }
            }
        }
        if src.len() < 6 {
            return None;
        }
        h = fit_homography(&src, &dst)?;
    }
    Some(Frame { dim: n, h })
}

/// Least-squares homography through point pairs (normalised DLT with h33 = 1).
fn fit_homography(src: &[Pt], dst: &[Pt]) -> Option<Homography> {
    let norm = |pts: &[Pt]| -> Homography {
        let n = pts.len() as f64;
        let cx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let cy = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let d = pts.iter().map(|p| ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()).sum::<f64>() / n;
        let k = if d > 1e-9 { std::f64::consts::SQRT_2 / d } else { 1.0 };
        Homography([k, 0.0, -k * cx, 0.0, k, -k * cy, 0.0, 0.0, 1.0])
    };
    let ts = norm(src);
    let td = norm(dst);
    let mut ata = [[0.0f64; 9]; 8];
    for (s, d) in src.iter().zip(dst) {
        let (u, v) = ts.map(s.0, s.1);
        let (x, y) = td.map(d.0, d.1);
        for row in [
            [u, v, 1.0, 0.0, 0.0, 0.0, -u * x, -v * x, x],
            [0.0, 0.0, 0.0, u, v, 1.0, -u * y, -v * y, y],
        ] {
            for i in 0..8 {
                for j in 0..9 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
    }
    // Gaussian elimination with partial pivoting on the 8x8 normal equations.
    for col in 0..8 {
        let piv = (col..8).max_by(|&a, &b| ata[a][col].abs().total_cmp(&ata[b][col].abs()))?;
        if ata[piv][col].abs() < 1e-12 {
            return None;
        }
        ata.swap(col, piv);
        let pivot_row = ata[col];
        for (r, row) in ata.iter_mut().enumerate() {
            if r != col {
                let k = row[col] / pivot_row[col];
                for (c, v) in row.iter_mut().enumerate().skip(col) {
                    *v -= k * pivot_row[c];
                }
            }
        }
    }
    let hn: Vec<f64> = (0..8).map(|i| ata[i][8] / ata[i][i]).collect();
    let hn = Homography([hn[0], hn[1], hn[2], hn[3], hn[4], hn[5], hn[6], hn[7], 1.0]);
    let h = td.inverse()?.after(&hn).after(&ts);
    let k = h.0[8];
    if k.abs() < 1e-12 || h.0.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some(Homography(h.0.map(|v| v / k)))
}

/// Mean greyscale value of each module: 5 samples (centre and ±0.25 module diagonals).
fn sample_modules(grey: &Gray, f: &Frame, sharpen: f64) -> Vec<f64> {
    let n = f.dim;
    let mut v = vec![0.0; n * n];
    for y in 0..n {
        for x in 0..n {
            let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut acc = 0.0;
            for (dx, dy) in [(0.0, 0.0), (-0.2, -0.2), (0.2, -0.2), (-0.2, 0.2), (0.2, 0.2)] {
                let (px, py) = f.h.map(cx + dx, cy + dy);
                acc += grey.sample(px, py, 255);
            }
            v[y * n + x] = acc / 5.0;
        }
    }
    if sharpen > 0.0 {
        // Undo part of a blur: push each module away from the mean of its 4 neighbours.
        let src = v.clone();
        for y in 0..n {
            for x in 0..n {
                let mut acc = 0.0;
                let mut k = 0.0;
                for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < n && (ny as usize) < n {
                        acc += src[ny as usize * n + nx as usize];
                        k += 1.0;
                    }
                }
                let c = src[y * n + x];
                v[y * n + x] = c + sharpen * (c - acc / k);
            }
        }
    }
    v
}

/// Each module against the mean of the modules within ±4 (uneven light across the code).
fn threshold_local(values: &[f64], n: usize) -> Vec<bool> {
    let r = 4usize;
    let iw = n + 1;
    let mut integral = vec![0.0f64; iw * (n + 1)];
    for y in 0..n {
        let mut row = 0.0;
        for x in 0..n {
            row += values[y * n + x];
            integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
        }
    }
    let mut out = vec![false; n * n];
    for y in 0..n {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(n));
        for x in 0..n {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(n));
            let sum = integral[y1 * iw + x1] + integral[y0 * iw + x0] - integral[y0 * iw + x1] - integral[y1 * iw + x0];
            let mean = sum / ((y1 - y0) * (x1 - x0)) as f64;
            out[y * n + x] = values[y * n + x] < mean;
        }
    }
    out
}

/// Each module against one threshold midway between the two classes (2-means).
fn threshold_global(values: &[f64]) -> Vec<bool> {
    let mut t = values.iter().sum::<f64>() / values.len().max(1) as f64;
    for _ in 0..8 {
        let (mut a, mut na, mut b, mut nb) = (0.0, 0.0, 0.0, 0.0);
        for &v in values {
            if v < t {
                a += v;
                na += 1.0;
            } else {
                b += v;
                nb += 1.0;
            }
        }
        if na == 0.0 || nb == 0.0 {
            break;
        }
        t = (a / na + b / nb) / 2.0;
    }
    values.iter().map(|&v| v < t).collect()
}

/// Fraction of timing-pattern modules (row 6 and column 6 between the finders) that alternate
/// as they should, thresholded against their own mean.
fn timing_score(grey: &Gray, f: &Frame) -> f64 {
    let n = f.dim;
    if n < 21 {
        return 0.0;
    }
    let mut vals = Vec::with_capacity(2 * (n - 16));
    for i in 8..n - 8 {
        let (x, y) = f.h.map(i as f64 + 0.5, 6.5);
        vals.push((grey.sample(x, y, 255), i % 2 == 0));
        let (x, y) = f.h.map(6.5, i as f64 + 0.5);
        vals.push((grey.sample(x, y, 255), i % 2 == 0));
    }
    let mean = vals.iter().map(|v| v.0).sum::<f64>() / vals.len() as f64;
    let ok = vals.iter().filter(|(v, black)| (*v < mean) == *black).count();
    ok as f64 / vals.len() as f64
}

fn decode_bits(bits: &[bool], n: usize) -> Option<String> {
    let grid = rqrr::Grid::new(rqrr::SimpleGrid::from_func(n, |x, y| bits[y * n + x]));
    grid.decode().ok().map(|(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::damage;

    #[test]
    fn alignment_positions_match_the_standard() {
        assert_eq!(alignment_positions(21), Vec::<usize>::new());
        assert_eq!(alignment_positions(25), vec![6, 18]);
        assert_eq!(alignment_positions(45), vec![6, 22, 38]);
        assert_eq!(alignment_positions(69), vec![6, 34, 62]);
        assert_eq!(alignment_positions(93), vec![6, 30, 58, 86]);
        assert_eq!(alignment_positions(145), vec![6, 34, 60, 86, 112, 138]); // version 32
        assert_eq!(alignment_positions(177), vec![6, 30, 58, 86, 114, 142, 170]);
    }

    #[test]
    fn least_squares_homography_recovers_a_known_map() {
        let truth = Homography::square_to_quad([(10.0, 12.0), (300.0, 30.0), (280.0, 290.0), (5.0, 260.0)]).unwrap();
        let src: Vec<Pt> = (0..12).map(|i| ((i % 4) as f64 / 3.0, (i / 4) as f64 / 2.0)).collect();
        let dst: Vec<Pt> = src.iter().map(|p| truth.map(p.0, p.1)).collect();
        let fit = fit_homography(&src, &dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            let p = fit.map(s.0, s.1);
            assert!((p.0 - d.0).abs() < 1e-6 && (p.1 - d.1).abs() < 1e-6);
        }
    }

    #[test]
    fn finds_three_finders_on_a_clean_code() {
        let r = damage::render("AH-FIND-ERS1", 4.0, 4).unwrap();
        let bits: Vec<bool> = r.image.data.iter().map(|&v| v < 128).collect();
        let f = find_finders(&bits, r.image.w, r.image.h);
        assert!(f.len() >= 3, "{f:?}");
        let t = triples(&f, 8);
        assert!(!t.is_empty());
        let mut budget = 10;
        assert_eq!(read_triple(&r.image, &t[0], &mut budget, 0.0).as_deref(), Some("AH-FIND-ERS1"));
    }
}
