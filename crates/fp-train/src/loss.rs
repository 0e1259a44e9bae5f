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
    /// `ssim+l1` plus [`ORIENTATION_WEIGHT`] times [`orientation_loss`]: a
    /// term on ridge structure, so that a hole or a scratch left in place costs
    /// as much as the ridges it hides, not only their few grey levels.
    #[serde(rename = "ssim+l1+orientation")]
    SsimL1Orientation,
}

/// The weight of the ridge-orientation term in `ssim+l1+orientation`.
pub const ORIENTATION_WEIGHT: f64 = 0.25;

impl LossKind {
    /// The loss of `output` against `target` (both `[N, 1, H, W]`, f32): a scalar
    /// tensor, mean over the batch.
    pub fn compute(self, output: &Tensor, target: &Tensor) -> Tensor {
        match self {
            LossKind::Mse => output.mse_loss(target, Reduction::Mean),
            LossKind::L1 => output.l1_loss(target, Reduction::Mean),
            LossKind::SsimL1 => ssim_l1(output, target),
            LossKind::SsimL1Orientation => {
                ssim_l1(output, target) + orientation_loss(output, target) * ORIENTATION_WEIGHT
            }
        }
    }
}

fn ssim_l1(output: &Tensor, target: &Tensor) -> Tensor {
    let ssim = mean_ssim(output, target);
    (1.0 - ssim) * 0.84 + output.l1_loss(target, Reduction::Mean) * 0.16
}

/// Standard deviation in pixels of the window over which the structure tensor
/// is averaged: about half a ridge period at 500 ppi.
const ORIENTATION_SIGMA: f64 = 4.0;

/// How far the local ridge flow of `output` is from that of `target` (both
/// `[N, 1, H, W]`): the mean squared distance between their orientation
/// vectors, from the gradient structure tensor `J` averaged over a Gaussian
/// window ([`ORIENTATION_SIGMA`]) as `((Jxx - Jyy), 2 Jxy) / (Jxx + Jyy + eps)`:
/// the doubled-angle orientation scaled by its coherence. Ridges in the wrong
/// direction cost up to 4, ridges missing (a flat hole) cost their coherence,
/// and a change of brightness or contrast costs nothing.
pub fn orientation_loss(output: &Tensor, target: &Tensor) -> Tensor {
    let (o, t) = (orientation_field(output), orientation_field(target));
    (o - t).square().sum_dim_intlist([1i64].as_slice(), false, Kind::Float).mean(Kind::Float)
}

/// `[N, 2, H', W']`: the coherence-scaled doubled-angle orientation of `x`
/// (valid positions of the Sobel filter and the window).
fn orientation_field(x: &Tensor) -> Tensor {
    let device = x.device();
    let sobel_x = Tensor::from_slice(&[-1f32, 0., 1., -2., 0., 2., -1., 0., 1.]).view([1, 1, 3, 3]).to_device(device);
    let sobel_y = sobel_x.transpose(2, 3).contiguous();
    let conv = |t: &Tensor, k: &Tensor| t.conv2d(k, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
    let (gx, gy) = (conv(x, &sobel_x), conv(x, &sobel_y));
    let size = gx.size();
    let side = (2 * (2.0 * ORIENTATION_SIGMA).ceil() as i64 + 1).min(size[2]).min(size[3]);
    let window = gaussian_window(side, ORIENTATION_SIGMA, device);
    let (jxx, jyy, jxy) = (conv(&(&gx * &gx), &window), conv(&(&gy * &gy), &window), conv(&(&gx * &gy), &window));
    // eps: a flat region (a hole, the background) has no orientation and no coherence.
    let energy = &jxx + &jyy + 1e-3;
    Tensor::cat(&[(&jxx - &jyy) / &energy, jxy * 2.0 / &energy], 1)
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
        for kind in [LossKind::Mse, LossKind::L1, LossKind::SsimL1, LossKind::SsimL1Orientation] {
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

    /// Diagonal ridges 9 px apart, values in [0.1, 0.9].
    fn ridges(h: i64, w: i64, angle: f64) -> Tensor {
        let (c, s) = (angle.cos(), angle.sin());
        let v: Vec<f32> = (0..h * w)
            .map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                (0.5 + 0.4 * ((x * c + y * s) * std::f64::consts::TAU / 9.0).sin()) as f32
            })
            .collect();
        Tensor::from_slice(&v).view([1, 1, h, w])
    }

    #[test]
    fn the_orientation_term_sees_missing_and_turned_ridges_not_brightness() {
        let clean = ridges(64, 64, 0.6);
        let loss = |x: &Tensor| orientation_loss(x, &clean).double_value(&[]);
        assert!(loss(&clean).abs() < 1e-9);
        // Brighter and flatter: the same ridges, no orientation cost.
        let washed = &clean * 0.5 + 0.45;
        // A hole of the background level in the middle.
        let mask = Tensor::ones([1, 1, 64, 64], (Kind::Float, Device::Cpu));
        let _ = mask.narrow(2, 16, 32).narrow(3, 16, 32).fill_(0.0);
        let holed = &clean * &mask + (1.0 - &mask) * 0.9;
        let turned = ridges(64, 64, 0.6 + std::f64::consts::FRAC_PI_2);
        let (w, h, t) = (loss(&washed), loss(&holed), loss(&turned));
        assert!(w < 0.01, "washed out: {w}");
        assert!(h > 0.2, "a hole: {h}");
        assert!(t > 2.0 && t > h, "turned by 90 degrees: {t} (hole {h})");
        // The washed-out copy is further in L1 than the holed one, yet costs less here.
        let l1 = |x: &Tensor| x.l1_loss(&clean, Reduction::Mean).double_value(&[]);
        assert!(l1(&washed) > l1(&holed), "{} vs {}", l1(&washed), l1(&holed));
    }

    #[test]
    fn loss_names_parse() {
        #[derive(Deserialize)]
        struct T {
            loss: LossKind,
        }
        assert_eq!(toml::from_str::<T>("loss = \"ssim+l1\"").unwrap().loss, LossKind::SsimL1);
        assert_eq!(toml::from_str::<T>("loss = \"l1\"").unwrap().loss, LossKind::L1);
        assert_eq!(toml::from_str::<T>("loss = \"ssim+l1+orientation\"").unwrap().loss, LossKind::SsimL1Orientation);
        assert!(toml::from_str::<T>("loss = \"l2\"").is_err());
    }
}
