//! Structural similarity (Wang, Bovik, Sheikh and Simoncelli, 2004).

use crate::{MetricsError, Result, check_same_len};

/// Settings of [`ssim_with`]. The defaults are the paper's and scikit-image's
/// `structural_similarity(gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsimParams {
    /// Standard deviation of the Gaussian weighting window.
    pub sigma: f64,
    /// The window reaches `truncate * sigma` pixels each side (rounded), so 3.5
    /// with sigma 1.5 gives an 11x11 window.
    pub truncate: f64,
    /// Luminance stabiliser: `C1 = (k1 * data_range)^2`.
    pub k1: f64,
    /// Contrast stabiliser: `C2 = (k2 * data_range)^2`.
    pub k2: f64,
    /// Difference between the largest and smallest possible pixel value.
    pub data_range: f64,
}

impl Default for SsimParams {
    fn default() -> Self {
        Self { sigma: 1.5, truncate: 3.5, k1: 0.01, k2: 0.03, data_range: 1.0 }
    }
}

impl SsimParams {
    fn radius(&self) -> usize {
        (self.truncate * self.sigma + 0.5) as usize
    }

    /// The normalised 1-D Gaussian weights, `2 * radius + 1` of them.
    fn weights(&self) -> Vec<f64> {
        let r = self.radius() as i64;
        let w: Vec<f64> = (-r..=r).map(|x| (-0.5 * (x * x) as f64 / (self.sigma * self.sigma)).exp()).collect();
        let sum: f64 = w.iter().sum();
        w.into_iter().map(|v| v / sum).collect()
    }
}

/// Mean SSIM of two `width x height` images with values in [0, 1], with the
/// default [`SsimParams`].
pub fn ssim(a: &[f32], b: &[f32], width: usize, height: usize) -> Result<f64> {
    ssim_with(a, b, width, height, &SsimParams::default())
}

/// Mean SSIM of two `width x height` images.
///
/// Local means, variances and the covariance are Gaussian-weighted (borders
/// mirrored, `d c b a | a b c d`), variances use the population normalisation,
/// and the mean is taken over the pixels at least `radius` away from the
/// border, as scikit-image does.
pub fn ssim_with(a: &[f32], b: &[f32], width: usize, height: usize, params: &SsimParams) -> Result<f64> {
    check_same_len(a, b)?;
    if a.len() != width * height {
        return Err(MetricsError::SizeMismatch { left: width * height, right: a.len() });
    }
    let window = 2 * params.radius() + 1;
    if width < window || height < window {
        return Err(MetricsError::TooSmall { width, height, window });
    }
    let weights = params.weights();
    let x: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    let product = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(u, v)| u * v).collect::<Vec<f64>>();
    let blur = |img: &[f64]| gaussian_blur(img, width, height, &weights);
    let (mu_x, mu_y) = (blur(&x), blur(&y));
    let (xx, yy, xy) = (blur(&product(&x, &x)), blur(&product(&y, &y)), blur(&product(&x, &y)));

    let c1 = (params.k1 * params.data_range).powi(2);
    let c2 = (params.k2 * params.data_range).powi(2);
    let pad = params.radius();
    let (mut sum, mut n) = (0.0, 0usize);
    for row in pad..height - pad {
        for col in pad..width - pad {
            let i = row * width + col;
            let (mx, my) = (mu_x[i], mu_y[i]);
            let var_x = xx[i] - mx * mx;
            let var_y = yy[i] - my * my;
            let cov = xy[i] - mx * my;
            let s = ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (var_x + var_y + c2));
            sum += s;
            n += 1;
        }
    }
    Ok(sum / n as f64)
}

/// Separable Gaussian filter with mirrored borders (scipy's `reflect` mode).
fn gaussian_blur(img: &[f64], width: usize, height: usize, weights: &[f64]) -> Vec<f64> {
    let r = weights.len() / 2;
    let mut rows = vec![0.0; img.len()];
    for y in 0..height {
        let line = &img[y * width..(y + 1) * width];
        for x in 0..width {
            rows[y * width + x] = weights.iter().enumerate().map(|(k, w)| w * line[reflect(x + k, r, width)]).sum();
        }
    }
    let mut out = vec![0.0; img.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] =
                weights.iter().enumerate().map(|(k, w)| w * rows[reflect(y + k, r, height) * width + x]).sum();
        }
    }
    out
}

/// Index `i - r` mirrored into `0..n` (`d c b a | a b c d | d c b a`).
fn reflect(i: usize, r: usize, n: usize) -> usize {
    let mut j = i as i64 - r as i64;
    let n = n as i64;
    loop {
        if j < 0 {
            j = -j - 1;
        } else if j >= n {
            j = 2 * n - j - 1;
        } else {
            return j as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_mirrors_including_the_edge_sample() {
        let idx: Vec<usize> = (0..9).map(|i| reflect(i, 3, 3)).collect();
        // positions -3..6 of a 3-sample line
        assert_eq!(idx, [2, 1, 0, 0, 1, 2, 2, 1, 0]);
    }

    #[test]
    fn window_is_11_by_11_with_unit_sum() {
        let w = SsimParams::default().weights();
        assert_eq!(w.len(), 11);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w[5] > w[4] && (w[4] - w[6]).abs() < 1e-15);
    }
}
