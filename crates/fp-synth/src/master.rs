//! The master fingerprint: a finger's whole ridge pattern, before any sensor
//! sees it. Every impression of the finger is rendered from it.

use rand::Rng;
use rayon::prelude::*;

use crate::field::{Class, Layout, Outline, SingularPoint, image_to_viewed_orientation};
use crate::gabor::{self, NO_KERNEL};
use crate::gray::Gray;
use crate::minutiae::{self, Minutia};

/// Iterations of the Gabor growth: enough for the spikes' patches to meet and settle.
const GROWTH_ITERATIONS: usize = 20;
/// Amplification before clipping in each growth iteration.
const GROWTH_GAIN: f32 = 4.0;
/// Foreground area per starting spike, in pixels: fewer spikes grow longer
/// unbroken ridges, more leave more minutiae where their patches meet.
const AREA_PER_SEED: f64 = 10000.0;
/// Minutiae closer than this to the edge of the finger are not ground truth.
pub(crate) const MINUTIA_BORDER: f32 = 14.0;

/// A finger's ridge pattern with its ground truth, in master coordinates.
#[derive(Debug, Clone)]
pub struct MasterFinger {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Henry class.
    pub class: Class,
    /// The fingertip's outline.
    pub outline: Outline,
    /// Cores, then deltas (some may lie outside the outline, as on real prints).
    pub singular_points: Vec<SingularPoint>,
    /// Ridge endings and bifurcations of the binary ridge map, at least
    /// 14 px inside the outline, in row-major order of their position.
    pub minutiae: Vec<Minutia>,
    pub(crate) layout: Layout,
    /// Ridge intensity: about a sinusoid in `[-1, 1]` across the ridges,
    /// positive on a ridge, 0 outside the outline.
    pub(crate) ridge: Vec<f32>,
    /// Sweat pores: small bright spots on the ridges, 1 at a pore's centre.
    pub(crate) pores: Vec<f32>,
}

impl MasterFinger {
    /// Grows the master of a `class` finger, drawing everything random from `rng`.
    pub(crate) fn generate(class: Class, width: usize, height: usize, rng: &mut impl Rng) -> Self {
        let layout = Layout::draw(rng, class, width, height);
        let kernels: Vec<u16> = (0..height)
            .into_par_iter()
            .flat_map_iter(|y| {
                let layout = &layout;
                (0..width).map(move |x| {
                    let (fx, fy) = (x as f64, y as f64);
                    if layout.outline.contains(fx, fy) {
                        gabor::kernel_index(layout.orientation(fx, fy), layout.period(fx, fy))
                    } else {
                        NO_KERNEL
                    }
                })
            })
            .collect();
        let area = kernels.iter().filter(|k| **k != NO_KERNEL).count();
        let count = ((area as f64 / AREA_PER_SEED).round() as usize).max(1);
        let mut seeds = Vec::with_capacity(count);
        let mut attempts = 0;
        while seeds.len() < count && attempts < 100 * count {
            attempts += 1;
            let (x, y) = (rng.random_range(0..width), rng.random_range(0..height));
            if kernels[y * width + x] != NO_KERNEL {
                // A strong spike: its first filtering already gives a full-strength patch.
                seeds.push((x, y, if rng.random::<bool>() { 40.0 } else { -40.0 }));
            }
        }
        // Weak noise everywhere else: where two patches meet out of phase and
        // cancel, it breaks the tie, so that no area stays blank.
        let noise: Vec<f32> =
            kernels.iter().map(|k| if *k == NO_KERNEL { 0.0 } else { rng.random_range(-1e-5..1e-5) }).collect();
        let response = gabor::grow(width, height, &kernels, &noise, &seeds, GROWTH_ITERATIONS, GROWTH_GAIN);
        // The unclipped response of a settled pattern peaks near 4/π (a square
        // wave through a filter of unit gain); bring it to about [-1, 1].
        let ridge: Vec<f32> = response.iter().map(|v| (v * (std::f32::consts::PI / 4.0)).clamp(-1.0, 1.0)).collect();
        let foreground: Vec<bool> = kernels.iter().map(|k| *k != NO_KERNEL).collect();
        let minutiae = find_minutiae(&ridge, &foreground, width, height);
        let singular_points = layout.singular_points();
        let pores = place_pores(&ridge, width, height, rng);
        Self { width, height, class, outline: layout.outline, singular_points, minutiae, layout, ridge, pores }
    }

    /// Whether each pixel lies inside the finger's outline, row-major.
    pub fn foreground(&self) -> Vec<bool> {
        (0..self.height).flat_map(|y| (0..self.width).map(move |x| self.outline.contains(x as f64, y as f64))).collect()
    }

    /// Ridge intensity, row-major: about a sinusoid in `[-1, 1]` across the
    /// ridges, positive on a ridge, 0 outside the outline.
    pub fn ridge(&self) -> &[f32] {
        &self.ridge
    }

    /// Ridge orientation at a point, in radians `[0, π)` counter-clockwise
    /// from east as the image is viewed.
    pub fn orientation_at(&self, x: f32, y: f32) -> f32 {
        image_to_viewed_orientation(self.layout.orientation(x as f64, y as f64))
    }

    /// Ridge period at a point, in pixels.
    pub fn period_at(&self, x: f32, y: f32) -> f32 {
        self.layout.period(x as f64, y as f64) as f32
    }

    /// The ridge pattern as a clean print: black ridges, white valleys and background.
    pub fn to_gray(&self) -> Gray {
        let pixels =
            self.ridge.iter().map(|&r| (255.0 * (0.5 - 0.5 * (3.0 * r).clamp(-1.0, 1.0))).round() as u8).collect();
        Gray { width: self.width, height: self.height, pixels }
    }
}

/// Sweat pores along the ridges: one per [`AREA_PER_PORE`] pixels of ridge
/// on average, each a Gaussian spot of standard deviation 0.9 px.
fn place_pores(ridge: &[f32], width: usize, height: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut pores = vec![0f32; width * height];
    let on_ridge = ridge.iter().filter(|r| **r > 0.5).count();
    let count = on_ridge / AREA_PER_PORE;
    let mut placed = 0;
    for _ in 0..20 * count {
        if placed == count {
            break;
        }
        let (x, y) = (rng.random_range(2..width.max(5) - 2), rng.random_range(2..height.max(5) - 2));
        if ridge[y * width + x] <= 0.5 {
            continue;
        }
        placed += 1;
        let (cx, cy) = (x as f32 + rng.random_range(-0.5..0.5), y as f32 + rng.random_range(-0.5..0.5));
        for yy in y - 2..=y + 2 {
            for xx in x - 2..=x + 2 {
                let d2 = (xx as f32 - cx).powi(2) + (yy as f32 - cy).powi(2);
                let p = &mut pores[yy * width + xx];
                *p = p.max((-d2 / (2.0 * 0.81)).exp());
            }
        }
    }
    pores
}

/// Ridge area per sweat pore, in pixels.
const AREA_PER_PORE: usize = 90;

/// Skeleton minutiae of the ridge map, away from the edge of the finger.
fn find_minutiae(ridge: &[f32], foreground: &[bool], width: usize, height: usize) -> Vec<Minutia> {
    let mut skeleton: Vec<bool> = ridge.iter().zip(foreground).map(|(r, f)| *f && *r > 0.0).collect();
    minutiae::thin(&mut skeleton, width, height);
    let inside = distance_inside(foreground, width, height);
    minutiae::detect(&skeleton, width, height, 6.0, |x, y| inside[y * width + x] >= MINUTIA_BORDER)
}

/// For each pixel of `mask`, the distance in pixels to the nearest pixel
/// outside it (the image border counts as outside); 0 outside. A two-pass
/// chamfer transform with steps 1 and √2, exact enough for a margin.
pub(crate) fn distance_inside(mask: &[bool], width: usize, height: usize) -> Vec<f32> {
    let diagonal = std::f32::consts::SQRT_2;
    let mut d: Vec<f32> = mask.iter().map(|m| if *m { f32::INFINITY } else { 0.0 }).collect();
    let at = |d: &[f32], x: isize, y: isize| {
        if x < 0 || y < 0 || x as usize >= width || y as usize >= height {
            0.0
        } else {
            d[y as usize * width + x as usize]
        }
    };
    for y in 0..height as isize {
        for x in 0..width as isize {
            let i = y as usize * width + x as usize;
            let best = (at(&d, x - 1, y) + 1.0)
                .min(at(&d, x, y - 1) + 1.0)
                .min(at(&d, x - 1, y - 1) + diagonal)
                .min(at(&d, x + 1, y - 1) + diagonal);
            d[i] = d[i].min(best);
        }
    }
    for y in (0..height as isize).rev() {
        for x in (0..width as isize).rev() {
            let i = y as usize * width + x as usize;
            let best = (at(&d, x + 1, y) + 1.0)
                .min(at(&d, x, y + 1) + 1.0)
                .min(at(&d, x + 1, y + 1) + diagonal)
                .min(at(&d, x - 1, y + 1) + diagonal);
            d[i] = d[i].min(best);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_inside_counts_steps_to_the_nearest_outside_pixel() {
        // A 7x5 mask, all inside: the centre (3, 2) is 3 steps from the image
        // border on the top and bottom (rows -1 and 5).
        let d = distance_inside(&[true; 35], 7, 5);
        assert_eq!(d[2 * 7 + 3], 3.0);
        assert_eq!(d[0], 1.0);
        let mut mask = vec![true; 35];
        mask[2 * 7 + 3] = false;
        let d = distance_inside(&mask, 7, 5);
        assert_eq!(d[2 * 7 + 3], 0.0);
        assert_eq!(d[2 * 7 + 4], 1.0);
        assert!((d[7 + 4] - std::f32::consts::SQRT_2).abs() < 1e-6);
    }
}
