//! How close a reconstruction is to its original, in plain Rust (no LibTorch).
//!
//! Images are row-major grayscale `f32` slices with values in `[0, data_range]`.
//! [`mse`] and [`psnr`] compare pixels; [`ssim`] compares local structure the
//! way Wang et al. (2004) define it, with the Gaussian-weighted statistics that
//! scikit-image's `structural_similarity(..., gaussian_weights=True)` uses.
//!
//! [`minutiae`] detects minutiae (NIST MINDTCT) and compares two sets of them;
//! [`identity`] asks whether reconstructions still match their finger with
//! NIST's BOZORTH3 matcher; [`gallery`] does that for a whole dataset's
//! outputs, caching the originals' minutiae; [`folders`] scores any folder of
//! processed prints against a folder of clean originals, whatever made them;
//! [`templates`] writes and reads minutiae in the formats other fingerprint
//! systems read (NIST `xyt`, ISO/IEC 19794-2:2005).

pub mod describe;
pub mod folders;
pub mod gallery;
pub mod identity;
pub mod minutiae;
mod ssim;
pub mod synthetic;
pub mod templates;

use serde::{Deserialize, Serialize};

pub use ssim::{SsimParams, ssim, ssim_with};

/// Errors of the metrics.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetricsError {
    /// The two images (or an image and its stated size) do not agree.
    #[error("image sizes differ: {left} vs {right} values")]
    SizeMismatch {
        /// Values in the first image (or `width * height`).
        left: usize,
        /// Values in the second image.
        right: usize,
    },
    /// The image is smaller than the SSIM window.
    #[error("a {width}x{height} image is smaller than the {window}x{window} SSIM window")]
    TooSmall {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// Window side.
        window: usize,
    },
    /// The image is too small for the minutiae detector.
    #[error("a {width}x{height} image is too small to find minutiae in: each side must be at least {min} pixels")]
    TooSmallForMinutiae {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// The smallest side the detector takes.
        min: usize,
    },
}

/// Result type of this crate.
pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

/// Mean squared error between two images of the same size.
pub fn mse(a: &[f32], b: &[f32]) -> Result<f64> {
    check_same_len(a, b)?;
    if a.is_empty() {
        return Ok(0.0);
    }
    let sum: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    Ok(sum / a.len() as f64)
}

/// Peak signal-to-noise ratio in dB for a given mean squared error:
/// `10 log10(data_range^2 / mse)`; infinite for identical images.
pub fn psnr_from_mse(mse: f64, data_range: f64) -> f64 {
    if mse <= 0.0 { f64::INFINITY } else { 10.0 * (data_range * data_range / mse).log10() }
}

/// Peak signal-to-noise ratio in dB of `b` against `a`; infinite for identical images.
pub fn psnr(a: &[f32], b: &[f32], data_range: f64) -> Result<f64> {
    Ok(psnr_from_mse(mse(a, b)?, data_range))
}

/// The three measures of one reconstruction against its original (data range 1),
/// or their means over a group. Every score that has them embeds this struct
/// with `#[serde(flatten)]`, so their JSON keeps `mse`, `psnr`, `ssim` in place.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Mean squared error.
    pub mse: f64,
    /// Peak signal-to-noise ratio, dB.
    pub psnr: f64,
    /// Mean structural similarity.
    pub ssim: f64,
}

impl Quality {
    /// Measures `reconstruction` against `original`, both `width x height` in [0, 1].
    pub fn measure(original: &[f32], reconstruction: &[f32], width: usize, height: usize) -> Result<Self> {
        let mse = mse(original, reconstruction)?;
        Ok(Self { mse, psnr: psnr_from_mse(mse, 1.0), ssim: ssim(original, reconstruction, width, height)? })
    }

    /// The mean of each measure over `items` (`None` when empty). PSNR is the
    /// mean of the per-image values, as image-quality papers report it; an
    /// identical pair (infinite PSNR) makes the mean infinite.
    pub fn mean<'a>(items: impl IntoIterator<Item = &'a Quality>) -> Option<Self> {
        let (mut n, mut sum) = (0usize, Quality { mse: 0.0, psnr: 0.0, ssim: 0.0 });
        for q in items {
            n += 1;
            sum.mse += q.mse;
            sum.psnr += q.psnr;
            sum.ssim += q.ssim;
        }
        (n > 0).then(|| Quality { mse: sum.mse / n as f64, psnr: sum.psnr / n as f64, ssim: sum.ssim / n as f64 })
    }
}

/// Mean quality over a group of images, with the group's identity measures when measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    /// Number of images.
    pub images: usize,
    /// Mean MSE, PSNR (dB, the mean of the per-image values) and SSIM.
    #[serde(flatten)]
    pub quality: Quality,
    /// Identity measures of the group, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<identity::IdentitySummary>,
}

impl GroupScore {
    /// The means of `qualities`, without identity measures (`None` when empty).
    pub fn of<'a>(qualities: impl IntoIterator<Item = &'a Quality>) -> Option<Self> {
        let qualities: Vec<&Quality> = qualities.into_iter().collect();
        Quality::mean(qualities.iter().copied()).map(|quality| Self {
            images: qualities.len(),
            quality,
            identity: None,
        })
    }
}

fn check_same_len(a: &[f32], b: &[f32]) -> Result<()> {
    if a.len() != b.len() {
        return Err(MetricsError::SizeMismatch { left: a.len(), right: b.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_and_psnr_of_a_known_difference() {
        let a = [0.0f32, 0.5, 1.0, 0.25];
        let b = [0.1f32, 0.5, 0.9, 0.25];
        let m = mse(&a, &b).unwrap();
        assert!((m - 0.005).abs() < 1e-8, "{m}");
        assert!((psnr(&a, &b, 1.0).unwrap() - 23.0103).abs() < 1e-3);
        assert_eq!(psnr(&a, &a, 1.0).unwrap(), f64::INFINITY);
        assert_eq!(mse(&a, &b[..3]), Err(MetricsError::SizeMismatch { left: 4, right: 3 }));
    }

    #[test]
    fn quality_means_each_field() {
        let q = [Quality { mse: 0.01, psnr: 20.0, ssim: 0.5 }, Quality { mse: 0.03, psnr: 16.0, ssim: 0.7 }];
        let m = Quality::mean(&q).unwrap();
        assert!((m.mse - 0.02).abs() < 1e-12 && (m.psnr - 18.0).abs() < 1e-12 && (m.ssim - 0.6).abs() < 1e-12);
        assert_eq!(Quality::mean(&[]), None);
    }

    #[test]
    fn a_group_score_serializes_its_quality_in_place() {
        // `fpae evaluate --json` and `fpae score --json` have always written these keys in this order.
        let q = [Quality { mse: 0.25, psnr: 6.0, ssim: 0.5 }];
        let group = GroupScore::of(&q).unwrap();
        let json = serde_json::to_string(&group).unwrap();
        assert_eq!(json, r#"{"images":1,"mse":0.25,"psnr":6.0,"ssim":0.5}"#);
        assert_eq!(serde_json::from_str::<GroupScore>(&json).unwrap(), group);
    }
}
