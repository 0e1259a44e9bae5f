//! One function per kind of damage, each called by its arm of
//! [`Degradation::apply`](crate::Degradation::apply) with a severity in
//! (0, 1] (severity 0 never gets here).
//!
//! Every random choice that does not depend on the severity (where a
//! scratch runs, the shape of a stain, the direction of a motion blur) is
//! drawn before the severity is used, so one seed gives the same damage at
//! every severity, only stronger: damage grows with severity, and a figure of
//! severities shows one scene getting worse. Constants are in pixels of a
//! 500 ppi print (a ridge period is about 9 pixels).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::raster::{
    bilinear, convolve_taps, curve, gaussian_blur, max_filter, min_filter, quantile, resize_bilinear, shrink_area,
    smooth_field, smoothstep, standard_normal, stroke,
};

/// Additive Gaussian noise of standard deviation `0.5 s`.
pub(crate) fn noise(px: &mut [f32], _w: usize, _h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let sigma = 0.5 * s;
    for p in px.iter_mut() {
        *p = (*p + sigma * standard_normal(rng)).clamp(0.0, 1.0);
    }
}

/// A fraction `0.25 s^2` of the pixels turned black or white (even odds).
pub(crate) fn salt_pepper(px: &mut [f32], _w: usize, _h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let fraction = 0.25 * s * s;
    for p in px.iter_mut() {
        // Both draws for every pixel, so a higher severity hits a superset of pixels.
        let (hit, white) = (rng.random::<f32>(), rng.random::<bool>());
        if hit < fraction {
            *p = if white { 1.0 } else { 0.0 };
        }
    }
}

/// Gaussian blur of standard deviation `3 s` pixels.
pub(crate) fn blur(px: &mut [f32], w: usize, h: usize, s: f32, _rng: &mut ChaCha8Rng) {
    let blurred = gaussian_blur(px, w, h, 3.0 * s);
    px.copy_from_slice(&blurred);
}

/// The average along a line `16 s` pixels long in a random direction
/// through each pixel (a finger or camera moving during capture).
pub(crate) fn motion_blur(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let angle = rng.random::<f32>() * std::f32::consts::PI;
    let (dx, dy) = (angle.cos(), angle.sin());
    let length = 16.0 * s;
    // A sample about every pixel along the line, at least its two ends, each
    // spread over its four neighbours as bilinear sampling would: the kernel
    // is the same for every pixel, so it is built once.
    let samples = (length.ceil() as usize + 1).max(2);
    let reach = (length / 2.0).ceil() as usize + 1;
    let side = 2 * reach + 1;
    let mut kernel = vec![0.0f32; side * side];
    for k in 0..samples {
        let t = length * (k as f32 / (samples - 1) as f32 - 0.5);
        let (x, y) = (reach as f32 + t * dx, reach as f32 + t * dy);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as usize, y0 as usize);
        let weight = 1.0 / samples as f32;
        kernel[y0 * side + x0] += weight * (1.0 - fx) * (1.0 - fy);
        kernel[y0 * side + x0 + 1] += weight * fx * (1.0 - fy);
        kernel[(y0 + 1) * side + x0] += weight * (1.0 - fx) * fy;
        kernel[(y0 + 1) * side + x0 + 1] += weight * fx * fy;
    }
    let taps: Vec<(isize, isize, f32)> = kernel
        .iter()
        .enumerate()
        .filter(|&(_, &k)| k > 0.0)
        .map(|(i, &k)| ((i % side) as isize - reach as isize, (i / side) as isize - reach as isize, k))
        .collect();
    px.copy_from_slice(&convolve_taps(px, w, h, &taps));
}

/// A washed-out print: gamma `1 / (1 + 1.5 s)` lightens the mid-tones, then
/// the contrast shrinks by `1 - 0.7 s` towards white, which lifts the black
/// level to `0.7 s` (brighter and flatter).
pub(crate) fn contrast(px: &mut [f32], _w: usize, _h: usize, s: f32, _rng: &mut ChaCha8Rng) {
    let exponent = 1.0 / (1.0 + 1.5 * s);
    let range = 1.0 - 0.7 * s;
    for p in px.iter_mut() {
        *p = 1.0 - (1.0 - p.powf(exponent)) * range;
    }
}

/// A dry finger: ridges thinned (blended by `s` with a 3x3 maximum), pulled
/// `0.4 s` of the way towards the light level around them, and cut by small
/// gaps (blobs of a 5-pixel random field above `2 - 2.2 s` standard
/// deviations) where they take that light level.
pub(crate) fn dry(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let field = smooth_field(w, h, 5.0, rng);
    let thin = max_filter(px, w, h, 1);
    // The valleys' level around each pixel: a gap shows it, a print's
    // background stays as it is.
    let light = max_filter(px, w, h, 4);
    let threshold = 2.0 - 2.2 * s;
    for i in 0..px.len() {
        let thinned = px[i] + (thin[i] - px[i]) * s;
        let faded = thinned + (light[i] - thinned) * 0.4 * s;
        let gap = smoothstep(threshold, threshold + 0.5, field[i]);
        px[i] = faded + (light[i] - faded) * gap;
    }
}

/// A wet finger: ink spreads (blur of `0.8 s` pixels), ridges thicken
/// (blended by `s` with a 3x3 minimum) and valleys darken `0.3 s` of the way
/// towards the ridges around them; dark smudges (blobs of a 16-pixel random
/// field above `2.4 - 2.2 s` standard deviations) fill the valleys with ink.
pub(crate) fn wet(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let field = smooth_field(w, h, 16.0, rng);
    let spread = gaussian_blur(px, w, h, 0.8 * s);
    let thick = min_filter(&spread, w, h, 1);
    // The ridges' level around each pixel, what a valley fills up to; blurred
    // so that smudges are round, not the minimum's squares.
    let dark = gaussian_blur(&min_filter(px, w, h, 3), w, h, 2.0);
    let threshold = 2.4 - 2.2 * s;
    for i in 0..px.len() {
        let merged = spread[i] + (thick[i] - spread[i]) * s;
        let filled = merged + (dark[i] - merged) * 0.3 * s;
        let smudge = smoothstep(threshold, threshold + 0.6, field[i]);
        px[i] = filled + (dark[i].min(filled) - filled) * smudge;
    }
}

/// Low-frequency stains: blobs of a random field with bumps a fifth of the
/// print across, their edges made ragged by a field 4 times finer, darken
/// it by up to `0.55 s` (multiplied), a little more at their rims (as a
/// drying drop leaves a ring); a field twice as coarse shades it by `±0.15 s`
/// per standard deviation (added).
pub(crate) fn stain(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let scale = w.max(h) as f32 / 5.0;
    let stains = smooth_field(w, h, scale, rng);
    let ragged = smooth_field(w, h, scale / 4.0, rng);
    let shading = smooth_field(w, h, 2.0 * scale, rng);
    for i in 0..px.len() {
        let level = stains[i] + 0.3 * ragged[i];
        let inside = smoothstep(0.6, 0.9, level);
        let rim = smoothstep(0.6, 0.75, level) - smoothstep(0.75, 1.1, level);
        let tint = 0.55 * s * (0.75 * inside + 0.25 * rim);
        px[i] = (px[i] * (1.0 - tint) + 0.15 * s * shading[i]).clamp(0.0, 1.0);
    }
}

/// Most scratches a print gets (at severity 1).
const SCRATCHES: usize = 16;

/// `ceil(16 s)` scratches: gently curved strokes across up to 0.9 of the
/// print's diagonal, 1 to 5 pixels wide times `0.5 + 0.5 s`, either light
/// (0.85 to 1) or dark (0 to 0.2), 70% to 100% opaque.
pub(crate) fn scratch(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let diagonal = (w as f32).hypot(h as f32);
    let count = (SCRATCHES as f32 * s).ceil() as usize;
    for k in 0..SCRATCHES {
        // Every scratch is drawn from the generator, used or not, so that
        // the first ones are the same at every severity.
        let centre = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
        let angle = rng.random::<f32>() * std::f32::consts::PI;
        let length = diagonal * rng.random_range(0.3..0.9);
        let bend = length * rng.random_range(-0.15..0.15);
        let radius = rng.random_range(0.5..2.5) * (0.5 + 0.5 * s);
        let grey = if rng.random::<bool>() { rng.random_range(0.85..1.0) } else { rng.random_range(0.0..0.2) };
        let opacity = rng.random_range(0.7..1.0);
        if k >= count {
            continue;
        }
        let (dx, dy) = (angle.cos() * length / 2.0, angle.sin() * length / 2.0);
        let a = (centre.0 - dx, centre.1 - dy);
        let b = (centre.0 + dx, centre.1 + dy);
        let control = (centre.0 - angle.sin() * bend, centre.1 + angle.cos() * bend);
        let mut coverage = vec![0.0; px.len()];
        stroke(&mut coverage, w, h, &curve(a, control, b), radius);
        for (p, c) in px.iter_mut().zip(&coverage) {
            *p += (grey - *p) * c * opacity;
        }
    }
}

/// Most missing regions a print gets (at severity 1).
const OCCLUSIONS: usize = 4;

/// `ceil(4 s)` missing regions: rotated rectangles or irregular blobs, each
/// 12% to 25% of the shorter side in half-size times `0.5 + 0.5 s`, filled
/// with the print's background level (half of them), black or a random grey.
pub(crate) fn occlusion(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let background = quantile(px, 0.9);
    let count = (OCCLUSIONS as f32 * s).ceil() as usize;
    let short = w.min(h) as f32;
    for k in 0..OCCLUSIONS {
        let centre = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
        let size = short * rng.random_range(0.12..0.25) * (0.5 + 0.5 * s);
        let aspect: f32 = rng.random_range(0.5..2.0);
        let (half_w, half_h) = (size * aspect.sqrt(), size / aspect.sqrt());
        let angle = rng.random::<f32>() * std::f32::consts::PI;
        let blob = rng.random::<bool>();
        let wobble = [rng.random::<f32>() * 6.3, rng.random::<f32>() * 6.3];
        let fill = match rng.random::<f32>() {
            f if f < 0.5 => background,
            f if f < 0.8 => 0.0,
            _ => rng.random::<f32>(),
        };
        if k >= count {
            continue;
        }
        let (cos, sin) = (angle.cos(), angle.sin());
        let inside = |x: f32, y: f32| {
            let (u, v) = (x * cos + y * sin, -x * sin + y * cos);
            if blob {
                let (nu, nv) = (u / half_w, v / half_h);
                let theta = nv.atan2(nu);
                let edge = 1.0 + 0.25 * (3.0 * theta + wobble[0]).sin() + 0.15 * (5.0 * theta + wobble[1]).sin();
                nu.hypot(nv) <= edge
            } else {
                u.abs() <= half_w && v.abs() <= half_h
            }
        };
        // The blob's wobble reaches 1.4 times its half-size.
        let reach = 1.4 * half_w.max(half_h);
        let x0 = (centre.0 - reach).floor().max(0.0) as usize;
        let y0 = (centre.1 - reach).floor().max(0.0) as usize;
        let x1 = ((centre.0 + reach).ceil() as usize).min(w);
        let y1 = ((centre.1 + reach).ceil() as usize).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                if inside(x as f32 - centre.0, y as f32 - centre.1) {
                    px[y * w + x] = fill;
                }
            }
        }
    }
}

/// Clutter under the print, on its light pixels only (ridges cover it): a
/// mottled paper texture, and ruled lines or rows of text-like glyphs (or
/// both), darkening the light parts by up to `0.85 s` of the clutter's ink.
pub(crate) fn background(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let mottle = smooth_field(w, h, 6.0, rng);
    let mut ink: Vec<f32> = mottle.iter().map(|&m| 0.35 * smoothstep(0.3, 2.0, m)).collect();
    let lines = rng.random_bool(0.6);
    let text = !lines || rng.random_bool(0.6);
    if lines {
        ruled_lines(&mut ink, w, h, rng);
    }
    if text {
        glyph_rows(&mut ink, w, h, rng);
    }
    for (p, k) in px.iter_mut().zip(&ink) {
        let light = smoothstep(0.35, 0.8, *p);
        *p *= 1.0 - 0.85 * s * k * light;
    }
}

/// Parallel lines 12 to 28 pixels apart, tilted up to 17 degrees, as on a
/// ruled card, at an ink level of 0.5 to 0.9.
fn ruled_lines(ink: &mut [f32], w: usize, h: usize, rng: &mut ChaCha8Rng) {
    let angle = rng.random_range(-0.3f32..0.3);
    let spacing = rng.random_range(12.0f32..28.0);
    let radius = rng.random_range(0.5..1.2);
    let level = rng.random_range(0.5..0.9);
    let (dx, dy) = (angle.cos(), angle.sin());
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let reach = (w as f32).hypot(h as f32) / 2.0;
    let mut coverage = vec![0.0; ink.len()];
    let mut offset = -reach + rng.random::<f32>() * spacing;
    while offset < reach {
        // The line's foot on the normal through the centre, then both ways along it.
        let (fx, fy) = (cx - dy * offset, cy + dx * offset);
        stroke(&mut coverage, w, h, &[(fx - dx * reach, fy - dy * reach), (fx + dx * reach, fy + dy * reach)], radius);
        offset += spacing;
    }
    for (k, c) in ink.iter_mut().zip(&coverage) {
        *k = k.max(c * level);
    }
}

/// Segments glyphs are made of, in a unit box: three verticals, three
/// horizontals, two diagonals.
const GLYPH_STROKES: [[(f32, f32); 2]; 8] = [
    [(0.0, 0.0), (0.0, 1.0)],
    [(0.5, 0.0), (0.5, 1.0)],
    [(1.0, 0.0), (1.0, 1.0)],
    [(0.0, 0.0), (1.0, 0.0)],
    [(0.0, 0.5), (1.0, 0.5)],
    [(0.0, 1.0), (1.0, 1.0)],
    [(0.0, 1.0), (1.0, 0.0)],
    [(0.0, 0.0), (1.0, 1.0)],
];

/// Rows of words of 2 to 8 glyphs (each 2 or 3 strokes of [`GLYPH_STROKES`]),
/// 8 to 16 pixels tall, at an ink level of 0.6 to 1: printed text under the print.
fn glyph_rows(ink: &mut [f32], w: usize, h: usize, rng: &mut ChaCha8Rng) {
    let size = rng.random_range(8.0f32..16.0);
    let level = rng.random_range(0.6..1.0);
    let radius = (size / 14.0).max(0.5);
    let mut coverage = vec![0.0; ink.len()];
    let mut y = rng.random::<f32>() * size;
    while y < h as f32 {
        let mut x = rng.random::<f32>() * size * 2.0;
        let end = w as f32 * rng.random_range(0.5..1.0);
        while x < end {
            for _ in 0..rng.random_range(2..=8) {
                let glyph_w = size * rng.random_range(0.5..0.75);
                for _ in 0..rng.random_range(2..=3) {
                    let [a, b] = GLYPH_STROKES[rng.random_range(0..GLYPH_STROKES.len())];
                    let at = |(u, v): (f32, f32)| (x + u * glyph_w, y + v * size);
                    stroke(&mut coverage, w, h, &[at(a), at(b)], radius);
                }
                x += glyph_w + size * 0.3;
            }
            x += size * 0.7;
        }
        y += size * rng.random_range(1.5..2.2);
    }
    for (k, c) in ink.iter_mut().zip(&coverage) {
        *k = k.max(c * level);
    }
}

/// Shrunk by `1 + 4 s` (averaging the area under each small pixel), then
/// enlarged back with bilinear interpolation: at severity 0.9 a ridge period
/// spans about one small pixel.
pub(crate) fn low_resolution(px: &mut [f32], w: usize, h: usize, s: f32, _rng: &mut ChaCha8Rng) {
    let factor = 1.0 + 4.0 * s;
    let small_w = ((w as f32 / factor).round() as usize).max(1);
    let small_h = ((h as f32 / factor).round() as usize).max(1);
    let small = shrink_area(px, w, h, small_w, small_h);
    px.copy_from_slice(&resize_bilinear(&small, small_w, small_h, w, h));
}

/// A smooth random displacement (bumps about 24 pixels across, `4 s` pixels
/// standard deviation along each axis: ridges bend by up to about a period), resampled bilinearly: skin pressed
/// and twisted against the sensor.
pub(crate) fn elastic(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let shift_x = smooth_field(w, h, 24.0, rng);
    let shift_y = smooth_field(w, h, 24.0, rng);
    let amplitude = 4.0 * s;
    let src = px.to_vec();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            px[i] = bilinear(&src, w, h, x as f32 + amplitude * shift_x[i], y as f32 + amplitude * shift_y[i]);
        }
    }
}
