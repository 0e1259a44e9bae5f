//! Ridges grown by iterated, spatially varying Gabor filtering, as in SFinGe.
//!
//! Each iteration filters the current pattern at every foreground pixel with
//! the Gabor kernel tuned to that pixel's ridge orientation and period, then
//! amplifies and clips the result to `[-1, 1]`. Started from a few isolated
//! spikes, each spike grows into a patch of parallel ridges that follows the
//! orientation field; where patches meet out of phase, and where the period
//! asks for more or fewer ridges, the pattern settles with ridge endings and
//! bifurcations: the minutiae come out of the growth, they are not placed.
//!
//! Kernels come from a fixed bank over quantised orientation and period. The
//! dot products accumulate in eight lanes in a fixed order, so the result is
//! the same on every machine and with any number of threads.

use std::f64::consts::PI;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::field::PERIOD_RANGE;

/// Orientation bins over `[0, π)`.
pub(crate) const ANGLES: usize = 32;
/// Period bins over [`PERIOD_RANGE`].
pub(crate) const PERIODS: usize = 8;
/// Marks a pixel that is not filtered (background).
pub(crate) const NO_KERNEL: u16 = u16::MAX;
/// Lanes of the dot product; kernel rows are padded to a multiple of it.
const LANES: usize = 8;
/// Side of the blocks used to skip filtering where the pattern is still empty.
const BLOCK: usize = 8;

/// The kernel standard deviation as a fraction of the ridge period: wide
/// enough to keep ridges continuous, narrow enough to follow a core's curvature.
const SIGMA_PER_PERIOD: f64 = 0.42;

/// One kernel row: taps `dx0 .. dx0 + len` at row offset `dy` (zero-padded at the end).
#[derive(Debug, Clone, Copy)]
struct Row {
    dy: isize,
    dx0: isize,
    start: usize,
    len: usize,
}

/// A circular Gabor kernel with rows padded to whole lanes.
#[derive(Debug)]
struct Kernel {
    rows: Vec<Row>,
    coefficients: Vec<f32>,
}

/// Every kernel of the bank.
#[derive(Debug)]
pub(crate) struct Bank {
    kernels: Vec<Kernel>,
    radius: usize,
}

/// The period (pixels) of a period bin.
fn bin_period(bin: usize) -> f64 {
    PERIOD_RANGE.0 + (PERIOD_RANGE.1 - PERIOD_RANGE.0) * bin as f64 / (PERIODS - 1) as f64
}

/// The kernel index for a ridge orientation (image coordinates, radians) and period (pixels).
pub(crate) fn kernel_index(orientation: f64, period: f64) -> u16 {
    let a = ((orientation.rem_euclid(PI) / PI * ANGLES as f64).round() as usize) % ANGLES;
    let step = (PERIOD_RANGE.1 - PERIOD_RANGE.0) / (PERIODS - 1) as f64;
    let p = ((period - PERIOD_RANGE.0) / step).round().clamp(0.0, (PERIODS - 1) as f64) as usize;
    (a * PERIODS + p) as u16
}

impl Kernel {
    fn new(orientation: f64, period: f64) -> Self {
        let sigma = SIGMA_PER_PERIOD * period;
        let radius = (2.1 * sigma).ceil() as isize;
        // Normal to the ridges: the direction along which the kernel oscillates.
        let (nx, ny) = (-orientation.sin(), orientation.cos());
        let mut rows = Vec::new();
        let mut taps = Vec::new();
        for dy in -radius..=radius {
            let half = ((radius * radius - dy * dy) as f64).sqrt().floor() as isize;
            let len = (2 * half + 1) as usize;
            let padded = len.div_ceil(LANES) * LANES;
            rows.push(Row { dy, dx0: -half, start: taps.len(), len: padded });
            for i in 0..padded {
                let dx = -half + i as isize;
                if i < len {
                    let (fx, fy) = (dx as f64, dy as f64);
                    let envelope = (-(fx * fx + fy * fy) / (2.0 * sigma * sigma)).exp();
                    let phase = 2.0 * PI * (fx * nx + fy * ny) / period;
                    taps.push(Some((envelope, phase)));
                } else {
                    taps.push(None);
                }
            }
        }
        // Remove the mean in proportion to the envelope, so that flat areas
        // give no response, then scale so that a unit sinusoid along the
        // normal gives a unit response.
        let (sum, envelope_sum) =
            taps.iter().flatten().fold((0.0, 0.0), |(s, e), &(env, phase)| (s + env * phase.cos(), e + env));
        let dc = sum / envelope_sum;
        let gain: f64 = taps.iter().flatten().map(|&(env, phase)| (env * phase.cos() - dc * env) * phase.cos()).sum();
        let coefficients =
            taps.iter().map(|t| t.map_or(0.0, |(env, phase)| ((env * phase.cos() - dc * env) / gain) as f32)).collect();
        Self { rows, coefficients }
    }

    /// The response at padded position `(x, y)` of a buffer with row length `stride`.
    #[inline]
    fn apply(&self, buffer: &[f32], stride: usize, x: usize, y: usize) -> f32 {
        let mut acc = [0f32; LANES];
        for row in &self.rows {
            let base = (y as isize + row.dy) as usize * stride + (x as isize + row.dx0) as usize;
            let source = &buffer[base..base + row.len];
            let taps = &self.coefficients[row.start..row.start + row.len];
            for (s, k) in source.chunks_exact(LANES).zip(taps.chunks_exact(LANES)) {
                for lane in 0..LANES {
                    acc[lane] += s[lane] * k[lane];
                }
            }
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }
}

impl Bank {
    /// The bank, built once per process.
    pub(crate) fn get() -> &'static Bank {
        static BANK: OnceLock<Bank> = OnceLock::new();
        BANK.get_or_init(|| {
            let mut kernels = Vec::with_capacity(ANGLES * PERIODS);
            for a in 0..ANGLES {
                for p in 0..PERIODS {
                    kernels.push(Kernel::new(PI * a as f64 / ANGLES as f64, bin_period(p)));
                }
            }
            let radius = kernels.iter().flat_map(|k| k.rows.iter().map(|r| r.dy.unsigned_abs())).max().unwrap_or(0);
            Bank { kernels, radius }
        })
    }
}

/// A zero-padded image buffer wide enough for every kernel.
struct Padded {
    data: Vec<f32>,
    stride: usize,
    pad: usize,
}

impl Padded {
    fn new(width: usize, height: usize, pad: usize) -> Self {
        // LANES extra columns on the right: padded rows may read past the kernel.
        let stride = width + 2 * pad + LANES;
        Self { data: vec![0.0; stride * (height + 2 * pad)], stride, pad }
    }
}

/// Grows a ridge pattern over a `width x height` image.
///
/// `kernels` holds each pixel's [`kernel_index`], or [`NO_KERNEL`] outside the
/// finger; the pattern starts as `start` (row-major) plus the spikes `seeds`,
/// each `(x, y, value)`. Returns the final
/// unclipped filter response, about a sinusoid in `[-1, 1]` across the
/// ridges, positive on ridges, 0 outside the finger.
pub(crate) fn grow(
    width: usize,
    height: usize,
    kernels: &[u16],
    start: &[f32],
    seeds: &[(usize, usize, f32)],
    iterations: usize,
    gain: f32,
) -> Vec<f32> {
    debug_assert_eq!(kernels.len(), width * height);
    let bank = Bank::get();
    let pad = bank.radius;
    let mut current = Padded::new(width, height, pad);
    let mut next = Padded::new(width, height, pad);
    let stride = current.stride;
    for (y, row) in start.chunks_exact(width).enumerate() {
        current.data[(y + pad) * stride + pad..(y + pad) * stride + pad + width].copy_from_slice(row);
    }
    for &(x, y, value) in seeds {
        current.data[(y + pad) * stride + x + pad] = value;
    }
    let blocks_x = width.div_ceil(BLOCK);
    let blocks_y = height.div_ceil(BLOCK);
    let reach = pad.div_ceil(BLOCK);
    for iteration in 0..=iterations {
        let last = iteration == iterations;
        let needed = needed_blocks(&current, width, height, blocks_x, blocks_y, reach);
        let source = &current.data;
        next.data[pad * stride..(pad + height) * stride].par_chunks_mut(stride).enumerate().for_each(|(y, row)| {
            let out = &mut row[pad..pad + width];
            for (x, o) in out.iter_mut().enumerate() {
                let k = kernels[y * width + x];
                *o = if k == NO_KERNEL || !needed[(y / BLOCK) * blocks_x + x / BLOCK] {
                    0.0
                } else {
                    let v = bank.kernels[k as usize].apply(source, stride, x + pad, y + pad);
                    if last { v } else { (gain * v).clamp(-1.0, 1.0) }
                };
            }
        });
        std::mem::swap(&mut current, &mut next);
    }
    let mut response = Vec::with_capacity(width * height);
    for y in 0..height {
        let start = (y + current.pad) * stride + current.pad;
        response.extend_from_slice(&current.data[start..start + width]);
    }
    response
}

/// Which blocks lie within `reach` blocks of a block with a non-zero value.
fn needed_blocks(buffer: &Padded, width: usize, height: usize, bx: usize, by: usize, reach: usize) -> Vec<bool> {
    let mut active = vec![false; bx * by];
    for y in 0..height {
        let start = (y + buffer.pad) * buffer.stride + buffer.pad;
        let row = &buffer.data[start..start + width];
        for (b, chunk) in row.chunks(BLOCK).enumerate() {
            if chunk.iter().any(|v| *v != 0.0) {
                active[(y / BLOCK) * bx + b] = true;
            }
        }
    }
    let mut needed = vec![false; bx * by];
    for j in 0..by {
        for i in 0..bx {
            if active[j * bx + i] {
                for jj in j.saturating_sub(reach)..(j + reach + 1).min(by) {
                    for ii in i.saturating_sub(reach)..(i + reach + 1).min(bx) {
                        needed[jj * bx + ii] = true;
                    }
                }
            }
        }
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_ignore_flat_areas_and_pass_a_matched_sinusoid_at_unit_gain() {
        let bank = Bank::get();
        let width = 2 * bank.radius + 1;
        for (i, kernel) in bank.kernels.iter().enumerate() {
            let orientation = PI * (i / PERIODS) as f64 / ANGLES as f64;
            let period = bin_period(i % PERIODS);
            let (nx, ny) = (-orientation.sin(), orientation.cos());
            let mut padded = Padded::new(width, width, bank.radius);
            let mut flat = Padded::new(width, width, bank.radius);
            for (j, v) in padded.data.iter_mut().enumerate() {
                let (x, y) = ((j % padded.stride) as f64, (j / padded.stride) as f64);
                *v = (2.0 * PI * (x * nx + y * ny) / period).cos() as f32;
            }
            flat.data.fill(1.0);
            let c = bank.radius + bank.radius;
            let expected = (2.0 * PI * (c as f64 * nx + c as f64 * ny) / period).cos() as f32;
            let got = kernel.apply(&padded.data, padded.stride, c, c);
            assert!((got - expected).abs() < 1e-3, "kernel {i}: {got} vs {expected}");
            assert!(kernel.apply(&flat.data, flat.stride, c, c).abs() < 1e-4, "kernel {i} passes a flat area");
        }
    }

    #[test]
    fn kernel_index_wraps_orientation_and_clamps_period() {
        assert_eq!(kernel_index(0.0, 9.0), kernel_index(PI, 9.0));
        assert_eq!(kernel_index(0.0, 1.0), 0);
        assert_eq!(kernel_index(PI - 1e-9, 100.0) as usize, PERIODS - 1);
    }

    #[test]
    fn a_single_spike_grows_into_parallel_ridges_of_the_asked_period() {
        let (width, height) = (96, 96);
        let k = kernel_index(0.0, 9.0);
        let response =
            grow(width, height, &vec![k; width * height], &vec![0.0; width * height], &[(48, 48, 40.0)], 12, 2.0);
        // Horizontal ridges: along the middle column the sign flips every half period.
        let column: Vec<f32> = (20..76).map(|y| response[y * width + 48]).collect();
        let flips = column.windows(2).filter(|w| (w[0] > 0.0) != (w[1] > 0.0)).count();
        // 56 rows at a period of 9 cross zero 2 * 56 / 9 ≈ 12.4 times.
        assert!((11..=14).contains(&flips), "{flips} sign changes");
        // And along a row the sign does not change.
        let row: Vec<f32> = (20..76).map(|x| response[48 * width + x]).collect();
        assert!(row.iter().all(|v| (*v > 0.0) == (row[0] > 0.0)));
    }
}
