//! Seeded degradations of fingerprint images, in plain Rust (no LibTorch).
//!
//! A [`Degradation`] turns a clean print (f32 values in [0, 1], row-major) into
//! a damaged one at a severity in [0, 1]; the same seed always gives the same
//! damage. A [`Pipeline`] is what a restoration task's `[task]` section
//! configures: each [`Step`] applies one kind with a probability and a severity
//! drawn from a range.
//!
//! Adding a kind touches one place: a variant of [`Degradation`] with its
//! `apply` arm.
#![warn(missing_docs)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What can be wrong with a pipeline's configuration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DegradeError {
    /// A setting has a value outside its allowed range.
    #[error("{field}: {expected}")]
    InvalidSetting {
        /// The setting, as named in the config file.
        field: String,
        /// What was expected and what was found.
        expected: String,
    },
}

/// The kinds of damage, by the name a config file gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Degradation {
    /// Additive Gaussian noise; severity 1 is a standard deviation of 0.5.
    Noise,
}

impl Degradation {
    /// Every kind, in the order figures and tables list them.
    pub const ALL: [Degradation; 1] = [Degradation::Noise];

    /// The kind's name in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Degradation::Noise => "noise",
        }
    }

    /// Damages `pixels` (`width * height` values in [0, 1]) in place at
    /// `severity` (clamped to [0, 1]), drawing randomness from `rng` only.
    /// Values stay in [0, 1].
    pub fn apply(self, pixels: &mut [f32], width: usize, height: usize, severity: f32, rng: &mut ChaCha8Rng) {
        debug_assert_eq!(pixels.len(), width * height, "one value per pixel");
        let severity = severity.clamp(0.0, 1.0);
        match self {
            Degradation::Noise => {
                let sigma = 0.5 * severity;
                for p in pixels.iter_mut() {
                    *p = (*p + sigma * standard_normal(rng)).clamp(0.0, 1.0);
                }
            }
        }
    }
}

/// A standard normal sample (Box-Muller), from the generator alone so that it
/// is the same on every platform.
fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// One step of a [`Pipeline`]: a kind, how often it happens and how badly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The kind of damage.
    pub kind: Degradation,
    /// Chance in [0, 1] that an image gets this damage.
    #[serde(default = "always")]
    pub probability: f32,
    /// Severity range; each damaged image draws its severity uniformly from it.
    #[serde(default = "full_range")]
    pub severity: [f32; 2],
}

fn always() -> f32 {
    1.0
}

fn full_range() -> [f32; 2] {
    [0.0, 1.0]
}

/// Damages applied one after the other, each with its own probability.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pipeline {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// Checks probabilities and severity ranges; `field` names the pipeline in errors.
    pub fn validate(&self, field: &str) -> Result<(), DegradeError> {
        for (i, step) in self.steps.iter().enumerate() {
            let bad = |what: &str, expected: String| DegradeError::InvalidSetting {
                field: format!("{field}[{i}].{what}"),
                expected,
            };
            if !(0.0..=1.0).contains(&step.probability) {
                return Err(bad("probability", format!("expected a number in [0, 1], got {}", step.probability)));
            }
            let [lo, hi] = step.severity;
            if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo > hi {
                return Err(bad(
                    "severity",
                    format!("expected [low, high] with 0 <= low <= high <= 1, got [{lo}, {hi}]"),
                ));
            }
        }
        Ok(())
    }

    /// Damages one image in place; everything random comes from `seed`, so the
    /// same image and seed give the same bytes.
    pub fn apply(&self, pixels: &mut [f32], width: usize, height: usize, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for step in &self.steps {
            // Both draws happen whether or not the step applies, so that one
            // step's outcome never shifts the randomness of the next.
            let happens = rng.random::<f32>() < step.probability;
            let [lo, hi] = step.severity;
            let severity = lo + (hi - lo) * rng.random::<f32>();
            let mut step_rng = ChaCha8Rng::seed_from_u64(rng.random());
            if happens {
                step.kind.apply(pixels, width, height, severity, &mut step_rng);
            }
        }
    }
}

/// A seed for one image of one epoch, mixed from its parts (SplitMix64), so
/// that any sample's damage can be made again without replaying the others.
pub fn sample_seed(parts: &[u64]) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for &part in parts {
        state = splitmix(state ^ part);
    }
    state
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ridges(w: usize, h: usize) -> Vec<f32> {
        (0..w * h).map(|i| 0.5 + 0.4 * ((i % w) as f32 * 0.8).sin()).collect()
    }

    fn distance(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / a.len() as f64
    }

    #[test]
    fn the_same_seed_gives_the_same_values_and_another_seed_others() {
        let pipeline =
            Pipeline { steps: vec![Step { kind: Degradation::Noise, probability: 1.0, severity: [0.2, 0.8] }] };
        let clean = ridges(20, 12);
        let run = |seed| {
            let mut p = clean.clone();
            pipeline.apply(&mut p, 20, 12, seed);
            p
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn damage_grows_with_severity_for_every_kind() {
        let clean = ridges(40, 30);
        for kind in Degradation::ALL {
            let at = |severity| {
                let mut p = clean.clone();
                kind.apply(&mut p, 40, 30, severity, &mut ChaCha8Rng::seed_from_u64(3));
                distance(&p, &clean)
            };
            let (none, low, high) = (at(0.0), at(0.3), at(0.9));
            assert_eq!(none, 0.0, "{kind:?} at severity 0");
            assert!(low > 0.0 && high > 2.0 * low, "{kind:?}: {low} then {high}");
        }
    }

    #[test]
    fn probability_zero_leaves_the_image_alone() {
        let pipeline =
            Pipeline { steps: vec![Step { kind: Degradation::Noise, probability: 0.0, severity: [1.0, 1.0] }] };
        let clean = ridges(8, 8);
        let mut p = clean.clone();
        pipeline.apply(&mut p, 8, 8, 1);
        assert_eq!(p, clean);
    }

    #[test]
    fn pipelines_parse_from_toml_and_bad_values_name_the_step() {
        #[derive(Deserialize)]
        struct Task {
            degradations: Pipeline,
        }
        let t: Task = toml::from_str("[[degradations]]\nkind = \"noise\"\nseverity = [0.1, 0.4]\n").unwrap();
        assert_eq!(t.degradations.steps, [Step { kind: Degradation::Noise, probability: 1.0, severity: [0.1, 0.4] }]);
        let err = toml::from_str::<Task>("[[degradations]]\nkind = \"fog\"\n").err().unwrap().to_string();
        assert!(err.contains("unknown variant `fog`") && err.contains("`noise`"), "{err}");
        let bad = Pipeline { steps: vec![Step { kind: Degradation::Noise, probability: 1.0, severity: [0.5, 0.2] }] };
        assert_eq!(
            bad.validate("task.degradations").unwrap_err().to_string(),
            "task.degradations[0].severity: expected [low, high] with 0 <= low <= high <= 1, got [0.5, 0.2]"
        );
    }

    #[test]
    fn sample_seeds_differ_by_every_part() {
        let base = sample_seed(&[13, 2, 5, 0]);
        assert_eq!(base, sample_seed(&[13, 2, 5, 0]));
        for other in [[14, 2, 5, 0], [13, 3, 5, 0], [13, 2, 6, 0], [13, 2, 5, 1]] {
            assert_ne!(base, sample_seed(&other), "{other:?}");
        }
    }
}
