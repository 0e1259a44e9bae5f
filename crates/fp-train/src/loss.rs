//! What training minimises: the distance between the model's output and its target.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor};

/// The `train.loss` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LossKind {
    /// Mean squared error (the tutorial).
    #[default]
    #[serde(rename = "mse")]
    Mse,
    /// Mean absolute error.
    #[serde(rename = "l1")]
    L1,
    /// `0.84 (1 - SSIM) + 0.16 L1`, the mix Zhao et al. ("Loss Functions for
    /// Image Restoration with Neural Networks", 2017) found best for restoration;
    /// SSIM with an 11x11 Gaussian window of sigma 1.5 over the valid region.
    #[serde(rename = "ssim+l1")]
    SsimL1,
}

impl LossKind {
    /// The loss of `output` against `target` (both `[N, 1, H, W]`, f32): a scalar
    /// tensor, mean over the batch.
    pub fn compute(self, output: &Tensor, target: &Tensor) -> Tensor {
        match self {
            LossKind::Mse => output.mse_loss(target, Reduction::Mean),
            LossKind::L1 => output.l1_loss(target, Reduction::Mean),
            LossKind::SsimL1 => {
                let ssim = mean_ssim(output, target);
                (1.0 - ssim) * 0.84 + output.l1_loss(target, Reduction::Mean) * 0.16
            }
        }
    }
}

/// Side of the SSIM window.
const WINDOW: i64 = 11;

/// Mean SSIM (data range 1, Gaussian window 11 / sigma 1.5, the constants of
/// Wang et al. 2004) over the positions where the window fits, as
/// `fp_metrics::ssim` computes it, but differentiable. Images smaller than the
/// window are compared with a window of their own size.
pub fn mean_ssim(x: &Tensor, y: &Tensor) -> Tensor {
    let size = x.size();
    let side = WINDOW.min(size[2]).min(size[3]);
    let window = gaussian_window(side, 1.5, x.device());
    let filter = |t: &Tensor| t.conv2d(&window, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let (mx, my) = (filter(x), filter(y));
    let (mx2, my2, mxy) = (&mx * &mx, &my * &my, &mx * &my);
    let vx = filter(&(x * x)) - &mx2;
    let vy = filter(&(y * y)) - &my2;
    let cov = filter(&(x * y)) - &mxy;
    let num = (mxy * 2.0 + c1) * (cov * 2.0 + c2);
    let den = (mx2 + my2 + c1) * (vx + vy + c2);
    (num / den).mean(Kind::Float)
}

fn gaussian_window(side: i64, sigma: f64, device: Device) -> Tensor {
    let half = (side - 1) as f64 / 2.0;
    let g: Vec<f32> = (0..side).map(|i| (-((i as f64 - half).powi(2)) / (2.0 * sigma * sigma)).exp() as f32).collect();
    let g = Tensor::from_slice(&g);
    let g = &g / g.sum(Kind::Float);
    g.outer(&g).view([1, 1, side, side]).to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(seed: i64) -> Tensor {
        tch::manual_seed(seed);
        Tensor::rand([2, 1, 24, 20], (Kind::Float, Device::Cpu))
    }

    #[test]
    fn every_loss_is_zero_for_identical_images_and_positive_otherwise() {
        let (a, b) = (image(1), image(2));
        for kind in [LossKind::Mse, LossKind::L1, LossKind::SsimL1] {
            assert!(kind.compute(&a, &a).double_value(&[]).abs() < 1e-6, "{kind:?}");
            assert!(kind.compute(&a, &b).double_value(&[]) > 0.05, "{kind:?}");
        }
    }

    #[test]
    fn ssim_matches_fp_metrics() {
        // A smooth image and a noisy copy: the differentiable SSIM here and the
        // reference implementation in fp-metrics agree.
        let (w, h) = (20usize, 24usize);
        let clean: Vec<f32> =
            (0..w * h).map(|i| 0.5 + 0.4 * ((i % w) as f32 * 0.7 + (i / w) as f32 * 0.3).sin()).collect();
        let noisy: Vec<f32> =
            clean.iter().enumerate().map(|(i, v)| v + 0.1 * ((i * 7919 % 13) as f32 / 13.0 - 0.5)).collect();
        let reference = fp_metrics::Quality::measure(&clean, &noisy, w, h).unwrap().ssim;
        let t = |v: &[f32]| Tensor::from_slice(v).view([1, 1, h as i64, w as i64]);
        let ours = mean_ssim(&t(&clean), &t(&noisy)).double_value(&[]);
        assert!((ours - reference).abs() < 1e-4, "{ours} vs {reference}");
    }

    #[test]
    fn loss_names_parse() {
        #[derive(Deserialize)]
        struct T {
            loss: LossKind,
        }
        assert_eq!(toml::from_str::<T>("loss = \"ssim+l1\"").unwrap().loss, LossKind::SsimL1);
        assert_eq!(toml::from_str::<T>("loss = \"l1\"").unwrap().loss, LossKind::L1);
        assert!(toml::from_str::<T>("loss = \"l2\"").is_err());
    }
}
