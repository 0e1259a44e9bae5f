//! [`AppliedScaling`]: how a dataset's 8-bit pixels became values in [0, 1], kept
//! with a model so that new images are scaled the same way, and inverted to get
//! 8-bit pixels back.

use serde::{Deserialize, Serialize};

/// How 8-bit pixels were mapped to [0, 1]; kept with a model so that new
/// images are scaled the same way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AppliedScaling {
    /// `value / divisor` (the dataset maximum, or 255).
    Divide {
        /// The divisor.
        divisor: f32,
    },
    /// Each image's own minimum..maximum stretched to 0..1.
    PerImageMinMax,
}

impl AppliedScaling {
    /// Scales one image's pixels into `out` (same length).
    pub fn apply(&self, pixels: &[u8], out: &mut [f32]) {
        assert_eq!(pixels.len(), out.len(), "one output value per pixel");
        match *self {
            AppliedScaling::Divide { divisor } => {
                let inv = 1.0 / divisor;
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = f32::from(p) * inv;
                }
            }
            AppliedScaling::PerImageMinMax => {
                let (min, max) = pixel_range(pixels);
                let range = f32::from(max - min);
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = if range > 0.0 { f32::from(p - min) / range } else { 0.0 };
                }
            }
        }
    }

    /// Maps model values back to 8-bit pixels, the inverse of [`apply`](Self::apply):
    /// `original` is the 8-bit image the values were scaled from (per-image
    /// min-max needs its range). Values are clamped to what 8 bits can hold.
    pub fn invert(&self, values: &[f32], original: &[u8]) -> Vec<u8> {
        let (offset, factor) = match *self {
            AppliedScaling::Divide { divisor } => (0.0, divisor),
            AppliedScaling::PerImageMinMax => {
                let (min, max) = pixel_range(original);
                (f32::from(min), f32::from(max - min))
            }
        };
        values.iter().map(|&v| (offset + v * factor).round().clamp(0.0, 255.0) as u8).collect()
    }
}

/// Smallest and largest value of 8-bit pixels (0, 0 when empty).
fn pixel_range(pixels: &[u8]) -> (u8, u8) {
    let min = pixels.iter().copied().min().unwrap_or(0);
    let max = pixels.iter().copied().max().unwrap_or(0);
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invert_undoes_apply() {
        let pixels: Vec<u8> = vec![10, 40, 200, 7, 99];
        for scaling in [
            AppliedScaling::Divide { divisor: 200.0 },
            AppliedScaling::Divide { divisor: 255.0 },
            AppliedScaling::PerImageMinMax,
        ] {
            let mut values = vec![0f32; pixels.len()];
            scaling.apply(&pixels, &mut values);
            assert_eq!(scaling.invert(&values, &pixels), pixels, "{scaling:?}");
        }
        // Out-of-range values clamp instead of wrapping.
        assert_eq!(AppliedScaling::Divide { divisor: 255.0 }.invert(&[-0.5, 1.5], &[]), vec![0, 255]);
    }
}
