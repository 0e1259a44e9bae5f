//! SSIM against values computed independently with scikit-image 0.26
//! (`structural_similarity(gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False, data_range=1)`) by `ssim_reference.py` beside
//! this file, on images both sides build from the same formulas.

use fp_metrics::{MetricsError, ssim};

fn ridges(w: usize, h: usize, period: f64, angle: f64, dx: f64) -> Vec<f32> {
    let (c, s) = (angle.cos(), angle.sin());
    let mut img = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let t = ((x as f64 + dx) * c + y as f64 * s) / period;
            img.push((0.5 + 0.4 * (2.0 * std::f64::consts::PI * t).sin()) as f32);
        }
    }
    img
}

fn hash_noise(w: usize, h: usize, amplitude: f64) -> Vec<f32> {
    let mut img = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let v = ((x * 73856093) ^ (y * 19349663)) % 1009;
            img.push((amplitude * (v as f64 / 1008.0 - 0.5)) as f32);
        }
    }
    img
}

fn map(a: &[f32], f: impl Fn(f32) -> f32) -> Vec<f32> {
    a.iter().map(|&v| f(v)).collect()
}

fn plus_noise(a: &[f32], amplitude: f64) -> Vec<f32> {
    a.iter().zip(hash_noise(40, 32, amplitude)).map(|(&v, n)| (v + n).clamp(0.0, 1.0)).collect()
}

fn assert_close(name: &str, got: f64, expected: f64) {
    assert!((got - expected).abs() < 1e-3, "{name}: got {got:.6}, scikit-image gives {expected:.6}");
}

/// Name, the two images, their width and height, and scikit-image's SSIM.
type Case = (&'static str, Vec<f32>, Vec<f32>, usize, usize, f64);

#[test]
fn ssim_matches_scikit_image() {
    let a = ridges(40, 32, 8.0, 0.3, 0.0);
    let cases: Vec<Case> = vec![
        ("identical", a.clone(), a.clone(), 40, 32, 1.000000),
        ("shift_1px", a.clone(), ridges(40, 32, 8.0, 0.3, 1.0), 40, 32, 0.704952),
        ("shift_2px", a.clone(), ridges(40, 32, 8.0, 0.3, 2.0), 40, 32, 0.061764),
        ("noise_0.2", a.clone(), plus_noise(&a, 0.2), 40, 32, 0.973835),
        ("noise_0.6", a.clone(), plus_noise(&a, 0.6), 40, 32, 0.827842),
        ("contrast_half", a.clone(), map(&a, |v| 0.5 * v + 0.25), 40, 32, 0.792811),
        ("inverted", a.clone(), map(&a, |v| 1.0 - v), 40, 32, -0.844386),
        ("constants", vec![0.2; 37 * 23], vec![0.6; 37 * 23], 37, 23, 0.600100),
        ("other_pattern_37x23", ridges(37, 23, 8.0, 0.3, 0.0), ridges(37, 23, 5.0, 1.2, 0.0), 37, 23, 0.009575),
    ];
    for (name, x, y, w, h, expected) in cases {
        assert_close(name, ssim(&x, &y, w, h).unwrap(), expected);
    }
}

#[test]
fn constant_images_follow_the_luminance_term() {
    // With no variance, SSIM is (2ab + C1) / (a^2 + b^2 + C1).
    let (a, b, c1) = (0.3f64, 0.7f64, 1e-4);
    let expected = (2.0 * a * b + c1) / (a * a + b * b + c1);
    let got = ssim(&[a as f32; 144], &[b as f32; 144], 12, 12).unwrap();
    assert_close("constants", got, expected);
}

#[test]
fn images_smaller_than_the_window_are_refused() {
    assert_eq!(
        ssim(&[0.0; 100], &[0.0; 100], 10, 10),
        Err(MetricsError::TooSmall { width: 10, height: 10, window: 11 })
    );
    assert!(matches!(ssim(&[0.0; 144], &[0.0; 144], 12, 11), Err(MetricsError::SizeMismatch { .. })));
}
