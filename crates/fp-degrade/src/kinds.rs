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
    bilinear, convolve_taps, curve, gaussian_blur, gradient_angles, max_filter, min_filter, quantile, resize_bilinear,
    shrink_area, smooth_field, smoothstep, standard_normal, stroke,
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

/// The share of the print's ink the finger no longer touches at severity 1.
const MOST_LOST: f32 = 0.5;

/// A finger touching only part of the sensor. The boundary of the contact
/// is a level line of `u + bend t^2 / d + wave(t)`, with `u` and `t` the
/// coordinates along and across a random direction and `d` the diagonal: a
/// line bent by up to 1.2 (convex contact, mostly) or -0.3, waving by two
/// sines of 2 to 6 pixels and 40 to 160 pixels period, ragged by a 12-pixel
/// random field of 2.5 pixels. The level is the one beyond which a share
/// `0.5 s` of the print's ink lies (ink: how much darker than the
/// background a pixel is, plus a little so that a blank image has some), so
/// that the finger loses that share whether the print fills the image or
/// not; the pixels beyond take the print's background level (its 0.95
/// quantile). Within `4 + 10 s` pixels inside it the pressure falls off:
/// ridges thin (a 3x3 maximum) and fade into the background.
pub(crate) fn partial_contact(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let angle = rng.random::<f32>() * std::f32::consts::TAU;
    let bend = rng.random_range(-0.3f32..1.2);
    let waves: [(f32, f32, f32); 2] = std::array::from_fn(|_| {
        (rng.random_range(2.0..6.0), rng.random_range(40.0..160.0), rng.random::<f32>() * std::f32::consts::TAU)
    });
    let ragged = smooth_field(w, h, 12.0, rng);
    let (cos, sin) = (angle.cos(), angle.sin());
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let diagonal = (w as f32).hypot(h as f32);
    let level_of: Vec<f32> = (0..px.len())
        .map(|i| {
            let (x, y) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
            let (u, t) = (x * cos + y * sin, -x * sin + y * cos);
            let wave: f32 =
                waves.iter().map(|&(a, period, phase)| a * (std::f32::consts::TAU * t / period + phase).sin()).sum();
            u + bend * t * t / diagonal + wave + 2.5 * ragged[i]
        })
        .collect();
    let background = quantile(px, 0.95);
    let ink: Vec<f64> = px.iter().map(|&p| f64::from((background - p).max(0.0)) + 1e-3).collect();
    let mut order: Vec<usize> = (0..px.len()).collect();
    order.sort_by(|&a, &b| level_of[b].total_cmp(&level_of[a]).then(a.cmp(&b)));
    // Down from the highest level until the share of the ink is reached.
    let lost = f64::from(MOST_LOST * s) * ink.iter().sum::<f64>();
    let mut seen = 0.0;
    let mut edge = level_of[order[0]];
    for &i in &order {
        seen += ink[i];
        edge = level_of[i];
        if seen >= lost {
            break;
        }
    }
    let band = 4.0 + 10.0 * s;
    let thin = max_filter(px, w, h, 1);
    for (i, p) in px.iter_mut().enumerate() {
        if level_of[i] > edge {
            *p = background;
            continue;
        }
        let fade = smoothstep(edge - band, edge, level_of[i]);
        let thinned = *p + (thin[i] - *p) * (2.0 * fade).min(1.0);
        *p = thinned + (background - thinned) * fade;
    }
}

/// The share of the image a cut reaches at severity 1, from its side.
const DEEPEST_CUT: f32 = 0.45;

/// A sensor's edge across the print: from a random side's middle, a line
/// `0.45 s` of the image's size across that side inwards, tilted by up to
/// 0.2 radians (11 degrees) and bent by a sagitta of up to 6% of the half
/// side; beyond it everything is white. 60% of the time a dark rim (grey
/// 0.1 to 0.45, 1 to 3 pixels wide, opacity `0.5 + 0.5 s`) lines the cut,
/// as a sensor's frame or the shadow of its edge.
pub(crate) fn cut_edge(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let side = rng.random_range(0..4usize);
    let tilt = rng.random_range(-0.2f32..0.2);
    let sag = rng.random_range(-0.06f32..0.06);
    let rim = rng.random_bool(0.6);
    let rim_grey = rng.random_range(0.1f32..0.45);
    let rim_width = rng.random_range(1.0f32..3.0);
    let (wf, hf) = (w as f32, h as f32);
    // The side's middle, the inward normal there, and the size across.
    let (mid, inward, across) = match side {
        0 => ((wf / 2.0, -0.5), (0.0, 1.0), hf),
        1 => ((wf - 0.5, hf / 2.0), (-1.0, 0.0), wf),
        2 => ((wf / 2.0, hf - 0.5), (0.0, -1.0), hf),
        _ => ((-0.5, hf / 2.0), (1.0, 0.0), wf),
    };
    let (cos, sin) = (tilt.cos(), tilt.sin());
    let normal: (f32, f32) = (inward.0 * cos - inward.1 * sin, inward.0 * sin + inward.1 * cos);
    let half_side = if side % 2 == 0 { wf / 2.0 } else { hf / 2.0 };
    let depth = DEEPEST_CUT * s * across;
    let opacity = 0.5 + 0.5 * s;
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = ((i % w) as f32 - mid.0, (i / w) as f32 - mid.1);
        let (inside, along) = (x * normal.0 + y * normal.1, -x * normal.1 + y * normal.0);
        // How far inside the cut the pixel lies (negative: beyond it).
        let t = along / half_side.max(1.0);
        let d = inside - depth + sag * half_side * (1.0 - t * t);
        if d <= -0.5 {
            *p = 1.0;
            continue;
        }
        if rim {
            let dark = 1.0 - smoothstep(rim_width - 0.5, rim_width + 0.5, d);
            *p += (rim_grey - *p) * dark * opacity;
        }
        let white = (0.5 - d).clamp(0.0, 1.0);
        *p += (1.0 - *p) * white;
    }
}

/// Uneven pressure: a pressure field, the sum of a smooth random field
/// (bumps half the print across, normalised over the image: mean 0,
/// standard deviation 0.7) and a ramp from -1 to 1 across the image in a
/// random direction (a finger tilted or rolled presses one side harder),
/// scaled by `1.2 s` and clamped to [-1, 1], sets a local strength `a`. The
/// ramp makes sure that every print has both a heavy and a light side. Where the finger presses harder (`a > 0`) ridges
/// thicken and merge (blended by `a` with the 3x3 minimum of a 0.8-pixel
/// blur) and darken `0.4 a` of the way towards the ridges around them; where
/// it presses less (`a < 0`) they thin (the 3x3 maximum), lighten `0.4 |a|`
/// of the way towards the valleys around them, and break where a 5-pixel
/// random field passes `1.9 - 1.7 |a|` standard deviations; the blurred
/// 7x7 minimum and the 9x9 maximum give the ridges' and valleys' levels.
pub(crate) fn uneven_pressure(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let bumps = smooth_field(w, h, w.max(h) as f32 / 2.0, rng);
    let gaps = smooth_field(w, h, 5.0, rng);
    let angle = rng.random::<f32>() * std::f32::consts::TAU;
    let n = bumps.len() as f64;
    let mean = bumps.iter().map(|&b| f64::from(b)).sum::<f64>() / n;
    let std = (bumps.iter().map(|&b| (f64::from(b) - mean).powi(2)).sum::<f64>() / n).sqrt().max(1e-6);
    let (cos, sin) = (angle.cos(), angle.sin());
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    // Half the image's extent along the ramp, where the ramp reaches ±1.
    let reach = (cx * cos.abs() + cy * sin.abs()).max(1.0);
    let strength: Vec<f32> = (0..bumps.len())
        .map(|i| {
            let (x, y) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
            let bump = 0.7 * ((f64::from(bumps[i]) - mean) / std) as f32;
            (1.2 * s * (bump + (x * cos + y * sin) / reach)).clamp(-1.0, 1.0)
        })
        .collect();
    press(px, w, h, &strength, &gaps);
}

/// [`uneven_pressure`] with the local strengths `a` (in [-1, 1]) and the gap field given.
fn press(px: &mut [f32], w: usize, h: usize, strength: &[f32], gaps: &[f32]) {
    let thick = min_filter(&gaussian_blur(px, w, h, 0.8), w, h, 1);
    let thin = max_filter(px, w, h, 1);
    // The ridges' level around each pixel, blurred so that merged ridges
    // are round, not the minimum's squares.
    let dark = gaussian_blur(&min_filter(px, w, h, 3), w, h, 2.0);
    let light = max_filter(px, w, h, 4);
    for i in 0..px.len() {
        let a = strength[i];
        px[i] = if a >= 0.0 {
            let merged = px[i] + (thick[i] - px[i]) * a;
            merged + (dark[i] - merged) * 0.4 * a
        } else {
            let b = -a;
            let thinned = px[i] + (thin[i] - px[i]) * b;
            let faded = thinned + (light[i] - thinned) * 0.4 * b;
            let threshold = 1.9 - 1.7 * b;
            faded + (light[i] - faded) * smoothstep(threshold, threshold + 0.5, gaps[i])
        };
    }
}

/// Pixels of the image per short break at severity 1.
const PIXELS_PER_BREAK: f32 = 250.0;
/// Most long creases a print gets (at severity 1).
const CREASES: usize = 3;

/// Ridges broken by creases and cuts in the skin: `ceil(s n)` short breaks,
/// `n` one per 250 pixels of the image, each a light stroke 5 to 10 pixels
/// long and 2.6 to 4.6 wide (times `0.8 + 0.2 s`), across the local ridge flow
/// (within 0.3 radians; a fifth of them at random angles); from severity
/// 0.5, `ceil(3 (2 s - 1))` long creases, gently curved light strokes 0.2 to
/// 0.6 of the diagonal long and 2 to 4 pixels wide. Both take the valleys'
/// level around them (the largest value within 4 pixels), so that a break
/// looks like the valley next to it.
pub(crate) fn ridge_breaks(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let most = ((w * h) as f32 / PIXELS_PER_BREAK).ceil() as usize;
    let breaks: Vec<_> = (0..most)
        .map(|_| {
            let centre = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
            let length = rng.random_range(5.0f32..10.0);
            let radius = rng.random_range(0.8f32..1.8);
            let random_angle = rng.random_bool(0.2).then(|| rng.random::<f32>() * std::f32::consts::PI);
            let jitter = rng.random_range(-0.3f32..0.3);
            (centre, length, radius, random_angle, jitter)
        })
        .collect();
    let diagonal = (w as f32).hypot(h as f32);
    let creases: Vec<_> = (0..CREASES)
        .map(|_| {
            let centre = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
            let angle = rng.random::<f32>() * std::f32::consts::PI;
            let length = diagonal * rng.random_range(0.2..0.6);
            let bend = length * rng.random_range(-0.1..0.1);
            let radius = rng.random_range(0.5f32..1.5);
            (centre, angle, length, bend, radius)
        })
        .collect();
    let across = gradient_angles(px, w, h, 4.0);
    let light = max_filter(px, w, h, 4);
    let mut coverage = vec![0.0; px.len()];
    let count = (most as f32 * s).ceil() as usize;
    for &(centre, length, radius, random_angle, jitter) in &breaks[..count] {
        let (x, y) = ((centre.0 as usize).min(w - 1), (centre.1 as usize).min(h - 1));
        let angle = random_angle.unwrap_or(across[y * w + x] + jitter);
        let (dx, dy) = (angle.cos() * length / 2.0, angle.sin() * length / 2.0);
        let path = [(centre.0 - dx, centre.1 - dy), (centre.0 + dx, centre.1 + dy)];
        stroke(&mut coverage, w, h, &path, radius * (0.8 + 0.2 * s));
    }
    let long = (CREASES as f32 * (2.0 * s - 1.0)).ceil().max(0.0) as usize;
    for &(centre, angle, length, bend, radius) in &creases[..long] {
        let (dx, dy) = (angle.cos() * length / 2.0, angle.sin() * length / 2.0);
        let control = (centre.0 - angle.sin() * bend, centre.1 + angle.cos() * bend);
        stroke(
            &mut coverage,
            w,
            h,
            &curve((centre.0 - dx, centre.1 - dy), control, (centre.0 + dx, centre.1 + dy)),
            radius,
        );
    }
    for ((p, c), l) in px.iter_mut().zip(&coverage).zip(&light) {
        *p += (l - *p).max(0.0) * c;
    }
}

/// JPEG's worst quality here, at severity 1, and its best, near severity 0.
const JPEG_QUALITY: [f32; 2] = [5.0, 60.0];

/// Lossy JPEG compression at quality `round(5 + 55 (1 - s)^2)`, from 60
/// down to 5, faster at first (32 at severity 0.3, 14 at 0.6, 6 at 0.9),
/// since high qualities barely touch a print: the values rounded
/// to 8 bits, encoded and decoded by the `image` crate, with the 8x8 block
/// grid shifted by a random 0 to 7 pixels each way, as in a print cropped
/// after it was compressed.
pub(crate) fn jpeg(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let offset = (rng.random_range(0..8usize), rng.random_range(0..8usize));
    let [worst, best] = JPEG_QUALITY;
    let quality = (worst + (best - worst) * (1.0 - s).powi(2)).round() as u8;
    jpeg_round_trip(px, w, h, quality, offset);
}

/// The widest and tallest tile encoded at once: a multiple of the 8-pixel
/// blocks below JPEG's limit of 65535 pixels a side. Blocks are coded
/// independently, so tiling a huge image changes nothing but that it fits.
const JPEG_TILE: usize = 8 * 4096;

/// Encodes the image at `quality` (1 to 100) and decodes it back, with
/// `offset` columns and rows of its edge pixels added before its left and top
/// sides (cropped again after), which moves the block grid.
fn jpeg_round_trip(px: &mut [f32], w: usize, h: usize, quality: u8, offset: (usize, usize)) {
    use image::ImageEncoder;
    let (pw, ph) = (w + offset.0, h + offset.1);
    let padded: Vec<u8> = (0..pw * ph)
        .map(|i| {
            let (x, y) = ((i % pw).saturating_sub(offset.0), (i / pw).saturating_sub(offset.1));
            (px[y * w + x].clamp(0.0, 1.0) * 255.0).round() as u8
        })
        .collect();
    let mut decoded = padded.clone();
    for ty in (0..ph).step_by(JPEG_TILE) {
        for tx in (0..pw).step_by(JPEG_TILE) {
            let (tw, th) = (JPEG_TILE.min(pw - tx), JPEG_TILE.min(ph - ty));
            let tile: Vec<u8> = (0..th).flat_map(|y| &padded[(ty + y) * pw + tx..][..tw]).copied().collect();
            let mut bytes = Vec::new();
            let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).write_image(
                &tile,
                tw as u32,
                th as u32,
                image::ExtendedColorType::L8,
            );
            // An image this function encoded itself always decodes; were
            // either step to fail, the tile would keep its 8-bit values.
            let Ok(()) = encoded else { continue };
            let Ok(back) = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) else { continue };
            let back = back.into_luma8();
            if back.dimensions() != (tw as u32, th as u32) {
                continue;
            }
            for (y, row) in back.as_raw().chunks_exact(tw).enumerate() {
                decoded[(ty + y) * pw + tx..][..tw].copy_from_slice(row);
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            px[y * w + x] = f32::from(decoded[(y + offset.1) * pw + x + offset.0]) / 255.0;
        }
    }
}

/// A soft, wobbly elliptic blob: 1 inside, 0 outside, over a rim a fifth of
/// its radius; a smooth field moves its edge by a fifth of its radius per
/// standard deviation.
struct Blob {
    centre: (f32, f32),
    radii: (f32, f32),
    angle: f32,
}

impl Blob {
    /// A blob centred within the middle 80% of the image, with half-axes
    /// `lo` to `hi` times the image's shorter side.
    fn random(w: usize, h: usize, lo: f32, hi: f32, rng: &mut ChaCha8Rng) -> Blob {
        let short = w.min(h) as f32;
        Blob {
            centre: (w as f32 * rng.random_range(0.1..0.9), h as f32 * rng.random_range(0.1..0.9)),
            radii: (short * rng.random_range(lo..hi), short * rng.random_range(lo..hi)),
            angle: rng.random::<f32>() * std::f32::consts::PI,
        }
    }

    fn mask(&self, w: usize, h: usize, wobble: &[f32]) -> Vec<f32> {
        let (cos, sin) = (self.angle.cos(), self.angle.sin());
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - self.centre.0, (i / w) as f32 - self.centre.1);
                let (u, v) =
                    ((x * cos + y * sin) / self.radii.0.max(1.0), (-x * sin + y * cos) / self.radii.1.max(1.0));
                1.0 - smoothstep(0.8, 1.0, u.hypot(v) + 0.2 * wobble[i])
            })
            .collect()
    }
}

/// A latent print over the print and a smear. The second print is the
/// print itself (blurred by a pixel) rotated by 0.3 to 1.2 radians either
/// way, scaled by 0.9 to 1.1 and shifted by up to 15% of the shorter side;
/// within a blob of half-axes 20% to 40% of the shorter side its ink (how
/// far it is from the print's light level, its 0.9 quantile, towards its
/// dark level, its 0.1 quantile) darkens the print by up to `0.6 s`
/// (multiplied). A second blob (half-axes 15% to 30%) is smeared: blended by
/// `0.25 + 0.75 s` with the average along a line `4 + 20 s` pixels long in a
/// random direction.
pub(crate) fn smudge(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let ghost_blob = Blob::random(w, h, 0.2, 0.4, rng);
    let turn = rng.random_range(0.3f32..1.2) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let scale = rng.random_range(0.9f32..1.1);
    let short = w.min(h) as f32;
    let shift = (short * rng.random_range(-0.15..0.15), short * rng.random_range(-0.15..0.15));
    let smear_blob = Blob::random(w, h, 0.15, 0.3, rng);
    let smear_angle = rng.random::<f32>() * std::f32::consts::PI;
    let wobble = smooth_field(w, h, short / 3.0, rng);

    let ghost_mask = ghost_blob.mask(w, h, &wobble);
    let source = gaussian_blur(px, w, h, 1.0);
    let (light, dark) = (quantile(px, 0.9), quantile(px, 0.1));
    let (cos, sin) = (turn.cos(), turn.sin());
    let (cx, cy) = ghost_blob.centre;
    if light - dark > 1e-3 {
        for (i, p) in px.iter_mut().enumerate() {
            if ghost_mask[i] <= 0.0 {
                continue;
            }
            let (x, y) = (((i % w) as f32 - cx) / scale, ((i / w) as f32 - cy) / scale);
            let (sx, sy) = (cx + x * cos - y * sin + shift.0, cy + x * sin + y * cos + shift.1);
            let ink = ((light - bilinear(&source, w, h, sx, sy)) / (light - dark)).clamp(0.0, 1.0);
            *p *= 1.0 - 0.6 * s * ghost_mask[i] * ink;
        }
    }

    // The smear's blob takes the wobble field mirrored, so its edge differs
    // from the latent print's.
    let mirrored: Vec<f32> = wobble.iter().rev().copied().collect();
    let smear_mask = smear_blob.mask(w, h, &mirrored);
    let length = 4.0 + 20.0 * s;
    let samples = length.ceil() as usize + 1;
    let (dx, dy) = (smear_angle.cos(), smear_angle.sin());
    let before = px.to_vec();
    let blend = 0.25 + 0.75 * s;
    for (i, p) in px.iter_mut().enumerate() {
        if smear_mask[i] <= 0.0 {
            continue;
        }
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        let mean = (0..samples)
            .map(|k| {
                let t = length * (k as f32 / (samples - 1) as f32 - 0.5);
                bilinear(&before, w, h, x + t * dx, y + t * dy)
            })
            .sum::<f32>()
            / samples as f32;
        *p += (mean - *p) * blend * smear_mask[i];
    }
}

/// Pixels of the image per cluster of dead or hot pixels at severity 1.
const PIXELS_PER_CLUSTER: f32 = 3000.0;

/// A sensor's own patterns: per-row offsets (standard deviation `0.05 s`)
/// and a slow banding of rows (darkening by `0.04 s (1 + sin)`, a period of
/// 20 to 60 rows, so that it shows on a white background), per-column gains (standard deviation `0.04 s`), a grid of
/// 1-pixel lines 6 to 14 pixels apart darkening by `0.08 s`, pixel noise of
/// standard deviation `0.03 s`, and `ceil(s n)` clusters (`n` one per 3000
/// pixels, at least 2) of dead (black) or hot (white) pixels, discs of radius
/// 0.5 to 2.5 pixels.
pub(crate) fn sensor_noise(px: &mut [f32], w: usize, h: usize, s: f32, rng: &mut ChaCha8Rng) {
    let rows: Vec<f32> = (0..h).map(|_| standard_normal(rng)).collect();
    let columns: Vec<f32> = (0..w).map(|_| standard_normal(rng)).collect();
    let band_period = rng.random_range(20.0f32..60.0);
    let band_phase = rng.random::<f32>() * std::f32::consts::TAU;
    let pitch = rng.random_range(6usize..=14);
    let grid_offset = (rng.random_range(0..pitch), rng.random_range(0..pitch));
    let noise: Vec<f32> = (0..px.len()).map(|_| standard_normal(rng)).collect();
    let most = ((px.len() as f32 / PIXELS_PER_CLUSTER).ceil() as usize).max(2);
    let clusters: Vec<_> = (0..most)
        .map(|_| {
            let centre = (rng.random::<f32>() * w as f32, rng.random::<f32>() * h as f32);
            (centre, rng.random_range(0.5f32..2.5), if rng.random_bool(0.5) { 1.0 } else { 0.0 })
        })
        .collect();
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        let on_grid = (x + grid_offset.0) % pitch == 0 || (y + grid_offset.1) % pitch == 0;
        let band = (std::f32::consts::TAU * y as f32 / band_period + band_phase).sin();
        let offset = 0.05 * rows[y] - 0.04 * (1.0 + band) + 0.03 * noise[i] - if on_grid { 0.08 } else { 0.0 };
        *p = (*p * (1.0 + 0.04 * s * columns[x]) + s * offset).clamp(0.0, 1.0);
    }
    let count = (most as f32 * s).ceil() as usize;
    for &(centre, radius, value) in &clusters[..count] {
        let mut coverage = vec![0.0; px.len()];
        stroke(&mut coverage, w, h, &[centre], radius);
        for (p, c) in px.iter_mut().zip(&coverage) {
            if *c >= 0.5 {
                *p = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Straight ridges across the whole image, 9 pixels apart: dark ridge
    /// centres (0.1) on rows 4, 13, 22, ..., light valley centres (0.9) on
    /// rows 0, 9, 18, ... (`along_x`), or the same turned a quarter.
    fn stripes(w: usize, h: usize, along_x: bool) -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let across = if along_x { i / w } else { i % w };
                0.5 + 0.4 * (std::f32::consts::TAU * across as f32 / 9.0).cos()
            })
            .collect()
    }

    fn damaged(
        kind: fn(&mut [f32], usize, usize, f32, &mut ChaCha8Rng),
        clean: &[f32],
        w: usize,
        h: usize,
        s: f32,
        seed: u64,
    ) -> Vec<f32> {
        let mut px = clean.to_vec();
        kind(&mut px, w, h, s, &mut ChaCha8Rng::seed_from_u64(seed));
        px
    }

    #[test]
    fn partial_contact_loses_a_growing_share_of_the_print_to_the_background() {
        let (w, h) = (96, 80);
        let clean = stripes(w, h, false);
        let background = quantile(&clean, 0.95);
        for seed in 0..6 {
            let lost = |s| {
                let out = damaged(partial_contact, &clean, w, h, s, seed);
                let set = out.iter().zip(&clean).filter(|&(o, c)| *o == background && *c != background).count();
                set as f32 / clean.len() as f32
            };
            let [low, mid, high] = [0.3, 0.6, 0.9].map(lost);
            assert!(0.0 < low && low < mid && mid < high, "seed {seed}: {low} {mid} {high}");
            // The ink is spread evenly over stripes, so the share of pixels
            // lost is near the share of ink lost, 0.5 s = 0.45 (a few
            // pixels on the boundary have the background's level already).
            assert!((0.35..0.5).contains(&high), "seed {seed}: {high}");
        }
    }

    #[test]
    fn cut_edge_whitens_a_band_along_one_side() {
        let (w, h) = (90, 70);
        let clean = stripes(w, h, true);
        for seed in 0..8 {
            let outs = [0.3, 0.6, 0.9].map(|s| damaged(cut_edge, &clean, w, h, s, seed));
            let white = |out: &[f32], i: usize| out[i] == 1.0;
            // The outer line of pixels along each side: top, right, bottom, left.
            let sides: [Vec<usize>; 4] = [
                (0..w).collect(),
                (0..h).map(|y| y * w + w - 1).collect(),
                (0..w).map(|x| (h - 1) * w + x).collect(),
                (0..h).map(|y| y * w).collect(),
            ];
            let cut: Vec<usize> = (0..4).filter(|&k| sides[k].iter().all(|&i| white(&outs[1], i))).collect();
            assert_eq!(cut.len(), 1, "seed {seed}: one side is cut at severity 0.6, got {cut:?}");
            let side = cut[0];
            assert!(sides[side].iter().all(|&i| white(&outs[2], i)), "seed {seed}: the same side at 0.9");
            // The opposite side is far beyond the deepest cut (0.45 of the
            // image, plus at most a fifth of the half side for the tilt).
            assert!(sides[(side + 2) % 4].iter().all(|&i| !white(&outs[2], i)), "seed {seed}");
            let shares = outs.map(|out| out.iter().filter(|&&v| v == 1.0).count() as f32 / out.len() as f32);
            assert!(shares[0] < shares[1] && shares[1] < shares[2], "seed {seed}: {shares:?}");
            // 0.45 s of the image, give or take the bend and the rounding.
            assert!((shares[2] - 0.405).abs() < 0.06, "seed {seed}: {shares:?}");
        }
    }

    #[test]
    fn uneven_pressure_thickens_pressed_ridges_and_thins_the_others() {
        // Full pressure on the left half, none on the right; no gaps.
        let (w, h) = (80, 60);
        let clean = stripes(w, h, false);
        let strength: Vec<f32> = (0..w * h).map(|i| if i % w < w / 2 { 1.0 } else { -1.0 }).collect();
        let mut out = clean.clone();
        press(&mut out, w, h, &strength, &vec![-9.0; w * h]);
        // Share of ridge pixels (below 0.5) and mean level in the middle of
        // each half, away from the image's edges and the halves' border.
        let half = |img: &[f32], left: bool| {
            let xs = if left { 5..w / 2 - 5 } else { w / 2 + 5..w - 5 };
            let values: Vec<f32> = (5..h - 5).flat_map(|y| xs.clone().map(move |x| img[y * w + x])).collect();
            let ridge = values.iter().filter(|&&v| v < 0.5).count() as f32 / values.len() as f32;
            (ridge, values.iter().sum::<f32>() / values.len() as f32)
        };
        let (clean_ridge, clean_mean) = half(&clean, true);
        let (pressed_ridge, pressed_mean) = half(&out, true);
        let (light_ridge, light_mean) = half(&out, false);
        // The stripes are half ridge: a 3x3 minimum adds two pixels of 9 to
        // each ridge, a maximum takes two away, and the shift towards the
        // levels around moves them further.
        assert!(pressed_ridge > clean_ridge + 0.15, "{pressed_ridge} vs {clean_ridge}");
        assert!(light_ridge < clean_ridge - 0.15, "{light_ridge} vs {clean_ridge}");
        assert!(pressed_mean < clean_mean - 0.1 && light_mean > clean_mean + 0.1, "{pressed_mean} {light_mean}");
    }

    /// Runs of light pixels (above 0.5) along the ridge centres of
    /// [`stripes`] along x: the breaks that cut them.
    fn gaps_along_ridges(img: &[f32], w: usize, h: usize) -> Vec<usize> {
        let mut runs = Vec::new();
        for y in (4..h).step_by(9) {
            let mut run = 0;
            for x in 0..w {
                if img[y * w + x] > 0.5 {
                    run += 1;
                } else if run > 0 {
                    runs.push(run);
                    run = 0;
                }
            }
            if run > 0 {
                runs.push(run);
            }
        }
        runs
    }

    #[test]
    fn ridge_breaks_cut_across_ridges_and_leave_valleys_alone() {
        let (w, h) = (120, 99);
        let clean = stripes(w, h, true);
        assert!(gaps_along_ridges(&clean, w, h).is_empty());
        for seed in 0..4 {
            let counts = [0.3, 0.6, 0.9].map(|s| {
                let out = damaged(ridge_breaks, &clean, w, h, s, seed);
                // Valleys are already at the level breaks take.
                for y in (0..h).step_by(9) {
                    assert_eq!(out[y * w..][..w], clean[y * w..][..w], "seed {seed}, row {y}");
                }
                gaps_along_ridges(&out, w, h).len()
            });
            assert!(0 < counts[0] && counts[0] < counts[1] && counts[1] < counts[2], "seed {seed}: {counts:?}");
            // Across the ridges, breaks are short along them: 2.6 to 4.6
            // pixels wide (the fifth at random angles and the ones that
            // overlap run longer). No creases below severity 0.5.
            let runs = gaps_along_ridges(&damaged(ridge_breaks, &clean, w, h, 0.5, seed), w, h);
            let mean = runs.iter().sum::<usize>() as f32 / runs.len() as f32;
            assert!(mean < 5.5, "seed {seed}: {runs:?}");
        }
    }

    /// The mean absolute step between neighbouring columns of `error`, at the
    /// block grid's column boundaries (`x % 8 == phase`) and elsewhere.
    fn steps_at_and_off_block_edges(error: &[f32], w: usize, phase: usize) -> (f32, f32) {
        let (mut at, mut off) = ((0.0, 0), (0.0, 0));
        for row in error.chunks_exact(w) {
            for x in 1..w {
                let step = (row[x] - row[x - 1]).abs();
                let sum = if x % 8 == phase { &mut at } else { &mut off };
                (sum.0, sum.1) = (sum.0 + step, sum.1 + 1);
            }
        }
        (at.0 / at.1 as f32, off.0 / off.1 as f32)
    }

    #[test]
    fn jpeg_leaves_8x8_blocks_on_its_grid_and_worsens_with_severity() {
        // Oblique ridges, so that every block has detail to lose.
        let (w, h) = (96, 96);
        let clean: Vec<f32> = (0..w * h)
            .map(|i| 0.5 + 0.4 * (std::f32::consts::TAU * ((i % w) as f32 + 0.6 * (i / w) as f32) / 9.0).cos())
            .collect();
        let error = |quality, offset| {
            let mut out = clean.clone();
            jpeg_round_trip(&mut out, w, h, quality, offset);
            out.iter().zip(&clean).map(|(o, c)| o - c).collect::<Vec<f32>>()
        };
        let mean_abs = |e: &[f32]| e.iter().map(|v| v.abs()).sum::<f32>() / e.len() as f32;
        let [good, fair, poor] = [60, 32, 5].map(|q| mean_abs(&error(q, (0, 0))));
        assert!(good < fair && fair < poor, "{good} {fair} {poor}");
        // The error jumps where blocks meet: at x % 8 == 0, or at 3 when
        // three columns are added on the left (the grid moves with them).
        for (offset, phase) in [((0, 0), 0), ((5, 2), 3)] {
            let (at, off) = steps_at_and_off_block_edges(&error(5, offset), w, phase);
            assert!(at > 1.5 * off, "offset {offset:?}: {at} at block edges, {off} elsewhere");
        }
        // Through the public function, severity picks the quality.
        let [low, high] = [0.3, 0.9].map(|s| mean_abs(&damaged(jpeg, &clean, w, h, s, 1)));
        assert!(0.0 < low && low < high, "{low} {high}");
    }

    #[test]
    fn jpeg_tiles_images_wider_than_the_format_allows() {
        let (w, h) = (JPEG_TILE + 900, 3);
        let clean: Vec<f32> = (0..w * h).map(|i| 0.5 + 0.4 * (i as f32 / 3.0).sin()).collect();
        let mut out = clean.clone();
        jpeg_round_trip(&mut out, w, h, 90, (2, 1));
        let worst = out.iter().zip(&clean).map(|(o, c)| (o - c).abs()).fold(0.0, f32::max);
        // At quality 90 a smooth wave comes back within a few levels of 255,
        // across the tiles' border too.
        assert!(worst < 0.1, "{worst}");
    }

    #[test]
    fn smudge_darkens_blobs_of_the_print_and_leaves_the_rest() {
        let (w, h) = (96, 96);
        let clean = stripes(w, h, true);
        for seed in 0..6 {
            let out = damaged(smudge, &clean, w, h, 0.9, seed);
            let changed = out.iter().zip(&clean).filter(|(o, c)| o != c).count() as f32 / clean.len() as f32;
            // Two blobs, each at most 0.4 x 0.4 of the side in half-axes
            // (a disc of 0.5 of the image) plus its wobble.
            assert!((0.03..0.9).contains(&changed), "seed {seed}: {changed}");
            let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
            assert!(mean(&out) < mean(&clean), "seed {seed}: the second print adds ink");
        }
    }

    #[test]
    fn sensor_noise_stripes_rows_and_columns_and_sticks_pixels() {
        let (w, h) = (96, 96);
        let flat = vec![0.5; w * h];
        let std = |v: &[f32]| {
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
        };
        for seed in 0..6 {
            let out = damaged(sensor_noise, &flat, w, h, 1.0, seed);
            let kept: Vec<f32> = out.iter().map(|&v| if v == 0.0 || v == 1.0 { 0.5 } else { v }).collect();
            let rows: Vec<f32> = kept.chunks_exact(w).map(|r| r.iter().sum::<f32>() / w as f32).collect();
            let columns: Vec<f32> = (0..w).map(|x| (0..h).map(|y| kept[y * w + x]).sum::<f32>() / h as f32).collect();
            // Rows: offsets of 0.05 and banding of 0.04 sin (0.028) add to
            // about 0.057; columns: gains of 0.04 on 0.5 (0.02) and the
            // grid's lines (0.08 on one column in 6 to 14). Pixel noise
            // (0.03) averages to 0.003 over a line.
            assert!(std(&rows) > 0.03, "seed {seed}: {}", std(&rows));
            assert!(std(&columns) > 0.012, "seed {seed}: {}", std(&columns));
            let stuck =
                |s| damaged(sensor_noise, &flat, w, h, s, seed).iter().filter(|&&v| v == 0.0 || v == 1.0).count();
            let [low, high] = [0.3, 0.9].map(stuck);
            assert!(0 < low && low < high, "seed {seed}: {low} {high}");
        }
    }
}
