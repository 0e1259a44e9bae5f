//! Raster helpers the kinds share: separable Gaussian blur, square min/max
//! filters, bilinear sampling and resizing, smooth random fields and strokes.
//!
//! Images are `width * height` f32 values, row-major. Reads outside the image
//! repeat its edge pixels. Every loop runs in a fixed order and every random
//! draw comes from the generator passed in, so results are the same for a seed
//! on every run.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A standard normal sample (Box-Muller), from the generator alone so that it
/// is the same on every platform.
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Hermite smoothstep: 0 below `lo`, 1 above `hi`, smooth in between.
pub(crate) fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Runs `pass` over every row, then over every column (through a transposed
/// copy), so that a 1-D filter becomes its separable 2-D version.
fn separable(src: &[f32], width: usize, height: usize, pass: impl Fn(&[f32], &mut [f32])) -> Vec<f32> {
    let mut rows = vec![0.0; src.len()];
    for (line, out) in src.chunks_exact(width).zip(rows.chunks_exact_mut(width)) {
        pass(line, out);
    }
    let columns = transpose(&rows, width, height);
    let mut filtered = vec![0.0; src.len()];
    for (line, out) in columns.chunks_exact(height).zip(filtered.chunks_exact_mut(height)) {
        pass(line, out);
    }
    transpose(&filtered, height, width)
}

/// The `height x width` transpose of a `width x height` image.
fn transpose(src: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut out = vec![0.0; src.len()];
    for y in 0..height {
        for x in 0..width {
            out[x * height + y] = src[y * width + x];
        }
    }
    out
}

/// Gaussian blur with standard deviation `sigma` pixels, as two 1-D passes
/// with a kernel cut at 3 sigma; `sigma <= 0` copies the image.
pub(crate) fn gaussian_blur(src: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 {
        return src.to_vec();
    }
    let radius = (3.0 * sigma).ceil() as usize;
    let mut kernel: Vec<f32> =
        (0..=2 * radius).map(|i| (-0.5 * ((i as f32 - radius as f32) / sigma).powi(2)).exp()).collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    separable(src, width, height, |line, out| {
        // The line with its edge values repeated `radius` times on each side,
        // so that the inner loop needs no bounds logic.
        let first = line[0];
        let last = line[line.len() - 1];
        let padded: Vec<f32> = std::iter::repeat_n(first, radius)
            .chain(line.iter().copied())
            .chain(std::iter::repeat_n(last, radius))
            .collect();
        for (o, window) in out.iter_mut().zip(padded.windows(kernel.len())) {
            *o = kernel.iter().zip(window).map(|(k, v)| k * v).sum();
        }
    })
}

/// Convolves with a sparse kernel given as `(dx, dy, weight)` taps: each
/// output pixel is the weighted sum of the pixels at its offsets (edge pixels
/// repeated outside the image).
pub(crate) fn convolve_taps(src: &[f32], width: usize, height: usize, taps: &[(isize, isize, f32)]) -> Vec<f32> {
    let reach = taps.iter().map(|&(dx, dy, _)| dx.abs().max(dy.abs())).max().unwrap_or(0) as usize;
    let (pw, ph) = (width + 2 * reach, height + 2 * reach);
    let mut padded = Vec::with_capacity(pw * ph);
    for py in 0..ph {
        let y = py.saturating_sub(reach).min(height - 1);
        for px in 0..pw {
            padded.push(src[y * width + px.saturating_sub(reach).min(width - 1)]);
        }
    }
    let offsets: Vec<(usize, f32)> = taps
        .iter()
        .map(|&(dx, dy, w)| (((dy + reach as isize) * pw as isize + dx + reach as isize) as usize, w))
        .collect();
    // Tap by tap over whole rows, which vectorises; every pixel still sums
    // its taps in the same order.
    let mut out = vec![0.0; width * height];
    for &(offset, weight) in &offsets {
        for (y, row) in out.chunks_exact_mut(width).enumerate() {
            let shifted = &padded[y * pw + offset..][..width];
            for (o, v) in row.iter_mut().zip(shifted) {
                *o += weight * v;
            }
        }
    }
    out
}

/// The largest value in the `(2 radius + 1)` square around each pixel: it
/// widens light regions (and thins dark ridges).
pub(crate) fn max_filter(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    extreme_filter(src, width, height, radius, f32::max)
}

/// The smallest value in the `(2 radius + 1)` square around each pixel: it
/// widens dark regions (and thickens dark ridges).
pub(crate) fn min_filter(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    extreme_filter(src, width, height, radius, f32::min)
}

fn extreme_filter(
    src: &[f32],
    width: usize,
    height: usize,
    radius: usize,
    pick: impl Fn(f32, f32) -> f32 + Copy,
) -> Vec<f32> {
    separable(src, width, height, |line, out| {
        for (x, o) in out.iter_mut().enumerate() {
            let window = &line[x.saturating_sub(radius)..(x + radius + 1).min(line.len())];
            *o = window.iter().copied().reduce(pick).expect("the window holds the pixel itself");
        }
    })
}

/// The image's value at the real position `(x, y)` (pixel centres at whole
/// numbers), interpolated between its four neighbours; outside the image the
/// edge pixels repeat.
pub(crate) fn bilinear(src: &[f32], width: usize, height: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize| src[yy * width + xx];
    let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
    let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// Resizes with bilinear interpolation, pixel centres aligned (as
/// `align_corners = false` in PyTorch).
pub(crate) fn resize_bilinear(src: &[f32], width: usize, height: usize, to_w: usize, to_h: usize) -> Vec<f32> {
    let (sx, sy) = (width as f32 / to_w as f32, height as f32 / to_h as f32);
    let mut out = Vec::with_capacity(to_w * to_h);
    for y in 0..to_h {
        let fy = (y as f32 + 0.5) * sy - 0.5;
        for x in 0..to_w {
            out.push(bilinear(src, width, height, (x as f32 + 0.5) * sx - 0.5, fy));
        }
    }
    out
}

/// Shrinks by averaging the area of the source under each output pixel
/// (fractional pixels weighted by how much of them is covered).
pub(crate) fn shrink_area(src: &[f32], width: usize, height: usize, to_w: usize, to_h: usize) -> Vec<f32> {
    let columns = area_weights(width, to_w);
    let rows = area_weights(height, to_h);
    let mut narrow = vec![0.0; to_w * height];
    for y in 0..height {
        let line = &src[y * width..(y + 1) * width];
        for (x, weights) in columns.iter().enumerate() {
            narrow[y * to_w + x] = weights.iter().map(|&(i, w)| w * line[i]).sum();
        }
    }
    let mut out = vec![0.0; to_w * to_h];
    for (y, weights) in rows.iter().enumerate() {
        for x in 0..to_w {
            out[y * to_w + x] = weights.iter().map(|&(i, w)| w * narrow[i * to_w + x]).sum();
        }
    }
    out
}

/// For each of `to` output cells, the source cells it covers and their share
/// of it (the shares sum to 1).
fn area_weights(from: usize, to: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = from as f64 / to as f64;
    (0..to)
        .map(|j| {
            let (start, end) = (j as f64 * scale, (j + 1) as f64 * scale);
            (start.floor() as usize..(end.ceil() as usize).min(from))
                .map(|i| {
                    let covered = (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0);
                    (i, (covered / scale) as f32)
                })
                .collect()
        })
        .collect()
}

/// A smooth random field with zero mean and unit standard deviation whose
/// bumps are about `scale` pixels across: Gaussian white noise on a grid of
/// cells `scale / 4` apart, blurred by two cells (`scale / 2` pixels),
/// normalised and interpolated bilinearly, so its cost does not grow with
/// `scale`.
pub(crate) fn smooth_field(width: usize, height: usize, scale: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Four cells per bump keep the bilinear interpolation's creases far
    // smaller than the bumps.
    let cell = (scale / 4.0).max(1.0);
    // Margin cells on each side, so that the blur sees no edge effects
    // inside the image.
    const MARGIN: usize = 4;
    let grid_w = ((width - 1) as f32 / cell).ceil() as usize + 1 + 2 * MARGIN;
    let grid_h = ((height - 1) as f32 / cell).ceil() as usize + 1 + 2 * MARGIN;
    let noise: Vec<f32> = (0..grid_w * grid_h).map(|_| standard_normal(rng)).collect();
    let mut grid = gaussian_blur(&noise, grid_w, grid_h, 2.0);
    let n = grid.len() as f64;
    let mean = grid.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = grid.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt().max(1e-6);
    grid.iter_mut().for_each(|v| *v = ((f64::from(*v) - mean) / std) as f32);
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let gy = y as f32 / cell + MARGIN as f32;
        for x in 0..width {
            out.push(bilinear(&grid, grid_w, grid_h, x as f32 / cell + MARGIN as f32, gy));
        }
    }
    out
}

/// Paints a round-ended stroke of `radius` pixels along the polyline `path`
/// into `coverage` (values in [0, 1], anti-aliased over one pixel), keeping
/// the larger of the old and new coverage.
pub(crate) fn stroke(coverage: &mut [f32], width: usize, height: usize, path: &[(f32, f32)], radius: f32) {
    let mut stamp = |cx: f32, cy: f32| {
        let reach = radius + 1.0;
        let x0 = (cx - reach).floor().max(0.0) as usize;
        let y0 = (cy - reach).floor().max(0.0) as usize;
        let x1 = ((cx + reach).ceil() as isize).min(width as isize - 1);
        let y1 = ((cy + reach).ceil() as isize).min(height as isize - 1);
        if x1 < 0 || y1 < 0 {
            return;
        }
        for y in y0..=y1 as usize {
            for x in x0..=x1 as usize {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                let c = (radius + 0.5 - d).clamp(0.0, 1.0);
                let old = &mut coverage[y * width + x];
                *old = old.max(c);
            }
        }
    };
    if let [(x, y)] = path {
        stamp(*x, *y);
    }
    for pair in path.windows(2) {
        let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
        // Discs every half pixel overlap into a smooth band.
        let steps = ((bx - ax).hypot(by - ay) * 2.0).ceil().max(1.0) as usize;
        for k in 0..=steps {
            let t = k as f32 / steps as f32;
            stamp(ax + (bx - ax) * t, ay + (by - ay) * t);
        }
    }
}

/// Points along the quadratic Bezier curve from `a` to `b` bent towards
/// `control`, a polyline fine enough for [`stroke`].
pub(crate) fn curve(a: (f32, f32), control: (f32, f32), b: (f32, f32)) -> Vec<(f32, f32)> {
    const SEGMENTS: usize = 24;
    (0..=SEGMENTS)
        .map(|k| {
            let t = k as f32 / SEGMENTS as f32;
            let (u, v, w) = ((1.0 - t).powi(2), 2.0 * t * (1.0 - t), t * t);
            (u * a.0 + v * control.0 + w * b.0, u * a.1 + v * control.1 + w * b.1)
        })
        .collect()
}

/// The direction across the ridges around each pixel, an angle in
/// (-pi/2, pi/2] from the x axis: the dominant gradient direction of the
/// image (blurred by one pixel) over a Gaussian window of `sigma` pixels, from
/// the averaged structure tensor, so that opposite gradients on the two sides
/// of a ridge agree instead of cancelling.
pub(crate) fn gradient_angles(src: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    let smooth = gaussian_blur(src, width, height, 1.0);
    let at = |x: usize, y: usize| smooth[y * width + x];
    let mut xx = vec![0.0; src.len()];
    let mut yy = vec![0.0; src.len()];
    let mut xy = vec![0.0; src.len()];
    for y in 0..height {
        for x in 0..width {
            // Central differences, one-sided at the edges (zero on a 1-pixel side).
            let gx = (at((x + 1).min(width - 1), y) - at(x.saturating_sub(1), y)) / 2.0;
            let gy = (at(x, (y + 1).min(height - 1)) - at(x, y.saturating_sub(1))) / 2.0;
            let i = y * width + x;
            (xx[i], yy[i], xy[i]) = (gx * gx, gy * gy, gx * gy);
        }
    }
    let (xx, yy, xy) = (
        gaussian_blur(&xx, width, height, sigma),
        gaussian_blur(&yy, width, height, sigma),
        gaussian_blur(&xy, width, height, sigma),
    );
    (0..src.len()).map(|i| 0.5 * (2.0 * xy[i]).atan2(xx[i] - yy[i])).collect()
}

/// The value below which `fraction` of the pixels lie, from a 256-bin
/// histogram of values in [0, 1].
pub(crate) fn quantile(src: &[f32], fraction: f32) -> f32 {
    let mut counts = [0usize; 256];
    for &v in src {
        counts[(v.clamp(0.0, 1.0) * 255.0).round() as usize] += 1;
    }
    let wanted = (fraction.clamp(0.0, 1.0) * src.len() as f32).ceil() as usize;
    let mut seen = 0;
    for (bin, &count) in counts.iter().enumerate() {
        seen += count;
        if seen >= wanted.max(1) {
            return bin as f32 / 255.0;
        }
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn blur_keeps_a_constant_image_and_the_mean_of_a_spike() {
        let flat = vec![0.4; 12 * 9];
        assert!(gaussian_blur(&flat, 12, 9, 2.0).iter().all(|v| (v - 0.4).abs() < 1e-6));
        let mut spike = vec![0.0; 21 * 21];
        spike[10 * 21 + 10] = 1.0;
        let blurred = gaussian_blur(&spike, 21, 21, 1.5);
        // The kernel sums to 1 and fits inside the image (radius 5 < 10).
        assert!((blurred.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Separable: symmetric under the transpose.
        assert!((blurred[10 * 21 + 13] - blurred[13 * 21 + 10]).abs() < 1e-7);
    }

    #[test]
    fn taps_shift_and_average() {
        let img: Vec<f32> = (0..12).map(|i| i as f32).collect();
        // One tap one pixel to the right: each pixel takes its right
        // neighbour's value, the last column repeats itself.
        let shifted = convolve_taps(&img, 4, 3, &[(1, 0, 1.0)]);
        assert_eq!(shifted, [1.0, 2.0, 3.0, 3.0, 5.0, 6.0, 7.0, 7.0, 9.0, 10.0, 11.0, 11.0]);
        let averaged = convolve_taps(&img, 4, 3, &[(0, -1, 0.5), (0, 1, 0.5)]);
        assert_eq!(averaged[5], 5.0);
        assert_eq!(averaged[1], (1.0 + 5.0) / 2.0);
    }

    #[test]
    fn min_and_max_filters_grow_a_dark_dot_and_shrink_it() {
        let mut img = vec![1.0; 7 * 7];
        img[3 * 7 + 3] = 0.0;
        assert_eq!(min_filter(&img, 7, 7, 1).iter().filter(|&&v| v == 0.0).count(), 9);
        assert!(max_filter(&img, 7, 7, 1).iter().all(|&v| v == 1.0));
    }

    #[test]
    fn bilinear_interpolates_between_pixels_and_repeats_the_edges() {
        let img = [0.0, 1.0, 0.5, 0.5];
        assert_eq!(bilinear(&img, 2, 2, 0.5, 0.0), 0.5);
        // Middle of all four: (0 + 1 + 0.5 + 0.5) / 4.
        assert_eq!(bilinear(&img, 2, 2, 0.5, 0.5), 0.5);
        assert_eq!(bilinear(&img, 2, 2, -3.0, 9.0), 0.5);
    }

    #[test]
    fn area_shrinking_averages_and_same_size_resizing_is_exact() {
        // 3 -> 2 cells: [a + b/2, b/2 + c] / 1.5.
        let row = [0.0, 0.6, 0.9];
        let out = shrink_area(&row, 3, 1, 2, 1);
        assert!((out[0] - 0.2).abs() < 1e-6 && (out[1] - 0.8).abs() < 1e-6, "{out:?}");
        let img: Vec<f32> = (0..20).map(|i| i as f32 / 20.0).collect();
        assert_eq!(shrink_area(&img, 5, 4, 5, 4), img);
        assert_eq!(resize_bilinear(&img, 5, 4, 5, 4), img);
    }

    #[test]
    fn smooth_fields_are_normalised_and_seeded() {
        let field = |seed| smooth_field(60, 50, 10.0, &mut ChaCha8Rng::seed_from_u64(seed));
        let f = field(1);
        let mean = f.iter().sum::<f32>() / f.len() as f32;
        let std = (f.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / f.len() as f32).sqrt();
        // The grid is normalised; interpolation between its points loses some variance.
        assert!(mean.abs() < 0.3 && (0.5..1.2).contains(&std), "mean {mean}, std {std}");
        assert_eq!(f, field(1));
        assert_ne!(f, field(2));
        // Smooth: neighbours differ far less than the field varies.
        let step = f.chunks(60).flat_map(|row| row.windows(2).map(|p| (p[1] - p[0]).abs())).fold(0.0, f32::max);
        assert!(step < 0.5, "{step}");
    }

    #[test]
    fn strokes_cover_their_path_and_nothing_far_from_it() {
        let mut c = vec![0.0; 20 * 10];
        stroke(&mut c, 20, 10, &[(2.0, 5.0), (17.0, 5.0)], 1.0);
        // Radius 1 plus half a pixel of anti-aliasing: full on the line, half
        // one pixel off it, nothing two pixels off.
        assert_eq!(c[5 * 20 + 10], 1.0);
        assert_eq!(c[6 * 20 + 10], 0.5);
        assert_eq!(c[7 * 20 + 10], 0.0);
        assert_eq!(c[5 * 20 + 19], 0.0);
    }

    #[test]
    fn gradient_angles_point_across_straight_ridges() {
        // Ridges along x (a stripe every 9 rows): the gradient runs along y,
        // an angle of pi/2 (or, the same direction, -pi/2).
        let (w, h) = (40, 36);
        let rows: Vec<f32> =
            (0..w * h).map(|i| 0.5 + 0.4 * (std::f32::consts::TAU * (i / w) as f32 / 9.0).cos()).collect();
        let angles = gradient_angles(&rows, w, h, 3.0);
        let across = angles[18 * w + 20];
        assert!((across.abs() - std::f32::consts::FRAC_PI_2).abs() < 0.01, "{across}");
        // The transposed pattern, ridges along y: angle 0.
        let columns: Vec<f32> =
            (0..w * h).map(|i| 0.5 + 0.4 * (std::f32::consts::TAU * (i % w) as f32 / 9.0).cos()).collect();
        let along = gradient_angles(&columns, w, h, 3.0)[18 * w + 20];
        assert!(along.abs() < 0.01, "{along}");
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let v: Vec<f32> = (0..=100).map(|i| i as f32 / 100.0).collect();
        assert!((quantile(&v, 0.9) - 0.9).abs() < 0.01);
        assert_eq!(quantile(&v, 0.0), 0.0);
    }
}
