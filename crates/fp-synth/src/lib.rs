//! Seeded synthetic fingerprints with ground truth, after SFinGe (Cappelli,
//! Maio and Maltoni), in plain Rust (no LibTorch).
//!
//! A finger starts as a [`MasterFinger`]: a pattern class, singular points
//! placed for that class, an orientation field (zero-pole model with an arch
//! correction far from the singular points), a ridge-period map and a
//! fingertip outline; its ridges are grown by iterated Gabor filtering from a
//! few random spikes, and its minutiae are read off the grown pattern. Each
//! [`Impression`] of the finger then moves, rotates and elastically distorts
//! the master, presses it harder or lighter (thicker or thinner ridges, breaks
//! on a dry finger), touches only part of it, and renders it as one of a few
//! sensor [`Style`]s: dark ridges on a light background, 8 bits per pixel.
//! Every impression comes with a [`GroundTruth`].
//!
//! Everything random is drawn from ChaCha8 streams derived from the seed and
//! the finger (and impression) index alone, so any subset of a set of fingers
//! regenerates byte for byte, whatever the number of threads.
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::ops::Range;
use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod field;
mod gabor;
mod gray;
mod impression;
mod master;
mod minutiae;
mod output;
mod overlay;
mod truth;

pub use field::{Class, Outline, SingularKind, SingularPoint};
pub use gray::{Gray, Rgb};
pub use impression::{Contact, Distortion, ImpressionParams, Style, Sweep, Touch, Transform, Wave};
pub use master::MasterFinger;
pub use minutiae::{Minutia, MinutiaKind};
pub use output::{DATASET_FILE, MANIFEST_FILE, Manifest, Summary, dataset_manifest, file_stem, write_fingers};
pub use overlay::render_overlay;
pub use truth::{BlockMap, GroundTruth, MappedMinutia, TRUTH_VERSION};

/// What can go wrong generating or writing prints.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A setting has a value outside its allowed range.
    #[error("{field}: {expected}")]
    InvalidSetting {
        /// The setting, as named in the config.
        field: &'static str,
        /// What was expected and what was found.
        expected: String,
    },
    /// A folder could not be created.
    #[error(transparent)]
    Io(#[from] fp_io::FileError),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] fp_io::AtomicWriteError),
    /// An image could not be encoded as PNG or written.
    #[error(transparent)]
    Png(#[from] fp_io::PngError),
    /// Serialising ground truth or the manifest failed.
    #[error("cannot serialise {}", path.display())]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = SynthError> = std::result::Result<T, E>;

/// Which pattern class each finger gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassChoice {
    /// Drawn per finger with the real-world frequencies of [`Class::FREQUENCIES`].
    Mixed,
    /// Every finger an arch.
    Arch,
    /// Every finger a tented arch.
    TentedArch,
    /// Every finger a left loop.
    LeftLoop,
    /// Every finger a right loop.
    RightLoop,
    /// Every finger a whorl.
    Whorl,
}

/// Which sensor style each finger's impressions get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StyleChoice {
    /// Drawn per finger, each style equally likely; all impressions of a finger
    /// come from the same sensor, as in an FVC database.
    Mixed,
    /// Every finger optical.
    Optical,
    /// Every finger capacitive.
    Capacitive,
    /// Every finger a thermal sweep.
    Thermal,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthConfig {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Resolution the prints stand for, in pixels per inch. The ridge
    /// geometry is scaled from 500 ppi (a ridge period of about 9 px).
    pub ppi: u16,
    /// Pattern class of each finger.
    pub class: ClassChoice,
    /// Sensor style of each finger.
    pub style: StyleChoice,
    /// Impressions per finger.
    pub impressions: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self { width: 400, height: 500, ppi: 500, class: ClassChoice::Mixed, style: StyleChoice::Mixed, impressions: 8 }
    }
}

/// Smallest image side accepted, in pixels: room for a few ridges round a core.
pub const MIN_SIDE: usize = 64;
/// Largest image side accepted, in pixels.
pub const MAX_SIDE: usize = 4096;

impl SynthConfig {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("width", self.width), ("height", self.height)] {
            if !(MIN_SIDE..=MAX_SIDE).contains(&value) {
                return Err(SynthError::InvalidSetting {
                    field,
                    expected: format!("expected {MIN_SIDE} to {MAX_SIDE} pixels, got {value}"),
                });
            }
        }
        if !(250..=1000).contains(&self.ppi) {
            return Err(SynthError::InvalidSetting {
                field: "ppi",
                expected: format!("expected 250 to 1000 pixels per inch, got {}", self.ppi),
            });
        }
        if !(1..=100).contains(&self.impressions) {
            return Err(SynthError::InvalidSetting {
                field: "impressions",
                expected: format!("expected 1 to 100 impressions per finger, got {}", self.impressions),
            });
        }
        Ok(())
    }

    /// The size the master is grown at: the image size scaled to 500 ppi, so
    /// that ridges keep their physical period at any resolution.
    fn master_size(&self) -> (usize, usize) {
        let scale = 500.0 / self.ppi as f64;
        ((self.width as f64 * scale).round() as usize, (self.height as f64 * scale).round() as usize)
    }
}

/// One impression of a finger: the image and what is known about it.
#[derive(Debug, Clone)]
pub struct Impression {
    /// The print, 8-bit grayscale, dark ridges on a light background.
    pub image: Gray,
    /// Its ground truth.
    pub truth: GroundTruth,
}

/// A finger: its master and its impressions.
#[derive(Debug, Clone)]
pub struct Finger {
    /// Index of the finger in its set, from 0.
    pub index: usize,
    /// The master fingerprint, at 500 ppi.
    pub master: MasterFinger,
    /// Sensor style of every impression.
    pub style: Style,
    /// The impressions, in order.
    pub impressions: Vec<Impression>,
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream for `(seed, finger, impression)`; the master uses
/// `impression = u64::MAX`. Each index is mixed in turn, so nearby indices
/// give unrelated streams.
fn stream(seed: u64, finger: usize, impression: u64) -> ChaCha8Rng {
    let key = mix(mix(mix(seed ^ 0x5851_f42d_4c95_7f2d).wrapping_add(finger as u64)).wrapping_add(impression));
    ChaCha8Rng::seed_from_u64(key)
}

/// Generates finger `finger_index` of the set `seed`: its master and
/// `config.impressions` impressions. The result depends only on the config,
/// the seed and the index.
pub fn generate_finger(config: &SynthConfig, seed: u64, finger_index: usize) -> Result<Finger> {
    config.validate()?;
    let mut rng = stream(seed, finger_index, u64::MAX);
    let class = match config.class {
        ClassChoice::Mixed => Class::draw(&mut rng),
        ClassChoice::Arch => Class::Arch,
        ClassChoice::TentedArch => Class::TentedArch,
        ClassChoice::LeftLoop => Class::LeftLoop,
        ClassChoice::RightLoop => Class::RightLoop,
        ClassChoice::Whorl => Class::Whorl,
    };
    let style = match config.style {
        StyleChoice::Mixed => Style::ALL[rand::Rng::random_range(&mut rng, 0..Style::ALL.len())],
        StyleChoice::Optical => Style::Optical,
        StyleChoice::Capacitive => Style::Capacitive,
        StyleChoice::Thermal => Style::Thermal,
    };
    let (mw, mh) = config.master_size();
    let master = MasterFinger::generate(class, mw, mh, &mut rng);
    let scale = config.ppi as f64 / 500.0;
    let impressions = (0..config.impressions)
        .into_par_iter()
        .map(|i| {
            let mut rng = stream(seed, finger_index, i as u64);
            let params = ImpressionParams::draw(&mut rng, &master, style, scale, (config.width, config.height));
            let pixels = impression::render(&master, &params, &mut rng, config.width, config.height);
            let truth =
                GroundTruth::new(&master, &params, seed, finger_index, i, config.width, config.height, config.ppi);
            Impression { image: Gray { width: config.width, height: config.height, pixels }, truth }
        })
        .collect();
    tracing::debug!(finger = finger_index, class = class.name(), ?style, "generated finger");
    Ok(Finger { index: finger_index, master, style, impressions })
}

/// Generates the fingers `fingers` of the set `seed` in parallel (see [`generate_finger`]).
pub fn generate_parallel(config: &SynthConfig, seed: u64, fingers: Range<usize>) -> Result<Vec<Finger>> {
    config.validate()?;
    fingers.into_par_iter().map(|f| generate_finger(config, seed, f)).collect()
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn small(impressions: usize) -> SynthConfig {
        SynthConfig { width: 200, height: 250, impressions, ..SynthConfig::default() }
    }

    fn pixels(fingers: &[Finger]) -> Vec<Vec<u8>> {
        fingers.iter().flat_map(|f| f.impressions.iter().map(|i| i.image.pixels.clone())).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_whatever_the_threads_or_the_subset() {
        let config = small(2);
        let pool = |threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let one = pool(1).install(|| generate_parallel(&config, 42, 0..3).unwrap());
        let two = pool(2).install(|| generate_parallel(&config, 42, 0..3).unwrap());
        assert_eq!(pixels(&one), pixels(&two));
        assert_eq!(one[2].impressions[1].truth, two[2].impressions[1].truth);
        // Finger 2 alone is finger 2 of the set.
        let alone = generate_finger(&config, 42, 2).unwrap();
        assert_eq!(pixels(&[alone]), pixels(&one[2..]));
        // Another seed, or another finger, is another print.
        let other = generate_parallel(&config, 43, 0..1).unwrap();
        assert_ne!(pixels(&other)[0], pixels(&one)[0]);
        assert_ne!(pixels(&one)[0], pixels(&one)[2]);
    }

    #[test]
    fn each_class_has_its_singular_points() {
        let choices = [
            (ClassChoice::Arch, Class::Arch),
            (ClassChoice::TentedArch, Class::TentedArch),
            (ClassChoice::LeftLoop, Class::LeftLoop),
            (ClassChoice::RightLoop, Class::RightLoop),
            (ClassChoice::Whorl, Class::Whorl),
        ];
        for (choice, class) in choices {
            let config = SynthConfig { class: choice, ..small(1) };
            let finger = generate_finger(&config, 5, 0).unwrap();
            let truth = &finger.impressions[0].truth;
            assert_eq!(truth.class, class);
            let cores = truth.singular_points.iter().filter(|s| s.kind == SingularKind::Core).count();
            let deltas = truth.singular_points.len() - cores;
            assert_eq!((cores, deltas), class.singular_counts(), "{class:?}");
            assert!(truth.singular_points.iter().all(|s| s.direction.is_some() == (s.kind == SingularKind::Core)));
        }
        // A left loop's delta lies right of its core, a right loop's left of it.
        for (choice, sign) in [(ClassChoice::LeftLoop, 1.0), (ClassChoice::RightLoop, -1.0)] {
            for seed in 0..4 {
                let master = generate_finger(&SynthConfig { class: choice, ..small(1) }, seed, 0).unwrap().master;
                let (core, delta) = (master.singular_points[0], master.singular_points[1]);
                assert!(sign * (delta.x - core.x) > 0.0 && delta.y > core.y, "{choice:?} {core:?} {delta:?}");
            }
        }
    }

    /// Sobel gradients of an image at `(x, y)`.
    fn gradient(image: &Gray, x: usize, y: usize) -> (f64, f64) {
        let p = |dx: isize, dy: isize| image.get((x as isize + dx) as usize, (y as isize + dy) as usize) as f64;
        let gx = (p(1, -1) + 2.0 * p(1, 0) + p(1, 1)) - (p(-1, -1) + 2.0 * p(-1, 0) + p(-1, 1));
        let gy = (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1)) - (p(-1, -1) + 2.0 * p(0, -1) + p(1, -1));
        (gx, gy)
    }

    /// Blocks well inside the print: the block and its 8 neighbours in the
    /// foreground, and a 33 px window round its centre inside the image.
    fn inner_blocks(truth: &GroundTruth) -> Vec<(usize, usize)> {
        let f = &truth.foreground;
        let mut blocks = Vec::new();
        for j in 3..f.height - 3 {
            for i in 3..f.width - 3 {
                if (j - 1..=j + 1).all(|jj| (i - 1..=i + 1).all(|ii| f.get(ii, jj) == 1.0)) {
                    blocks.push((i, j));
                }
            }
        }
        blocks
    }

    #[test]
    fn the_orientation_truth_matches_the_orientation_seen_in_the_image() {
        let finger = generate_finger(&small(3), 11, 0).unwrap();
        for impression in &finger.impressions {
            let (image, truth) = (&impression.image, &impression.truth);
            let mut total = 0.0;
            let blocks = inner_blocks(truth);
            assert!(blocks.len() > 40, "{} blocks", blocks.len());
            for &(i, j) in &blocks {
                let (cx, cy) = (i * truth.orientation.step + 4, j * truth.orientation.step + 4);
                // The gradient structure tensor over a 17 x 17 window.
                let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
                for y in cy - 8..=cy + 8 {
                    for x in cx - 8..=cx + 8 {
                        let (gx, gy) = gradient(image, x, y);
                        (xx, yy, xy) = (xx + gx * gx, yy + gy * gy, xy + gx * gy);
                    }
                }
                // Ridges run across the dominant gradient; rows grow downwards,
                // so the angle as viewed is the negated image angle.
                let across = 0.5 * (2.0 * xy).atan2(xx - yy);
                let seen = (-(across + PI / 2.0)).rem_euclid(PI);
                let stored = truth.orientation.get(i, j) as f64;
                let difference = (seen - stored).rem_euclid(PI);
                total += difference.min(PI - difference);
            }
            let mean = (total / blocks.len() as f64).to_degrees();
            assert!(mean < 12.0, "impression {}: mean orientation error {mean:.1}°", truth.impression);
        }
    }

    #[test]
    fn the_period_truth_matches_the_ridge_spacing_seen_in_the_image() {
        let finger = generate_finger(&SynthConfig { style: StyleChoice::Optical, ..small(2) }, 12, 0).unwrap();
        for impression in &finger.impressions {
            let (image, truth) = (&impression.image, &impression.truth);
            let mut ratios = Vec::new();
            for (i, j) in inner_blocks(truth) {
                let (cx, cy) = ((i * 8 + 4) as f64, (j * 8 + 4) as f64);
                // Image angle of the ridges, and the unit normal across them.
                let theta = -(truth.orientation.get(i, j) as f64);
                let (ux, uy) = (theta.cos(), theta.sin());
                let (nx, ny) = (-uy, ux);
                // The profile across the ridges, averaged along them, every half pixel over 32 px.
                let profile: Vec<f64> = (-32..=32)
                    .map(|t| {
                        let t = t as f64 * 0.5;
                        (-3..=3)
                            .map(|s| {
                                let s = s as f64;
                                let x = (cx + t * nx + s * ux).round() as usize;
                                let y = (cy + t * ny + s * uy).round() as usize;
                                image.get(x.min(image.width - 1), y.min(image.height - 1)) as f64
                            })
                            .sum::<f64>()
                    })
                    .collect();
                let mean = profile.iter().sum::<f64>() / profile.len() as f64;
                let crossings = profile.windows(2).filter(|w| (w[0] > mean) != (w[1] > mean)).count();
                if crossings >= 4 {
                    // Two crossings per period over 32 px.
                    ratios.push(64.0 / crossings as f64 / truth.period.get(i, j) as f64);
                }
            }
            ratios.sort_by(f64::total_cmp);
            let median = ratios[ratios.len() / 2];
            assert!((median - 1.0).abs() < 0.12, "impression {}: median period ratio {median:.3}", truth.impression);
        }
    }

    #[test]
    fn mapped_minutiae_follow_the_transform_and_stay_in_the_image() {
        let finger = generate_finger(&small(4), 3, 1).unwrap();
        for impression in &finger.impressions {
            let truth = &impression.truth;
            assert!(truth.minutiae.len() > 5, "{} minutiae", truth.minutiae.len());
            for m in &truth.minutiae {
                assert!(m.minutia.x >= 0.0 && m.minutia.y >= 0.0);
                assert!((m.minutia.x as usize) < truth.width && (m.minutia.y as usize) < truth.height);
                let master = truth.master_minutiae[m.master_index];
                assert_eq!(master.kind, m.minutia.kind);
                // The direction turns by about the rotation (distortion adds a little).
                let turn = (m.minutia.direction - master.direction - truth.touch.transform.rotation)
                    .rem_euclid(std::f32::consts::TAU);
                assert!(turn.min(std::f32::consts::TAU - turn) < 0.2, "{master:?} -> {m:?}");
            }
        }
    }

    #[test]
    fn impressions_of_a_finger_match_and_other_fingers_do_not() {
        use fp_metrics::minutiae::{BOZORTH_THRESHOLD, Template, match_score};
        let config = SynthConfig { impressions: 3, style: StyleChoice::Optical, ..SynthConfig::default() };
        let fingers = generate_parallel(&config, 2024, 0..4).unwrap();
        let prints: Vec<(usize, Template)> = fingers
            .iter()
            .flat_map(|f| f.impressions.iter().map(move |i| (f.index, &i.image)))
            .map(|(f, image)| (f, Template::detect(&image.pixels, image.width, image.height, 500).unwrap()))
            .collect();
        for (_, template) in &prints {
            assert!((20..=150).contains(&template.len()), "{} minutiae", template.len());
        }
        let (mut genuine, mut genuine_matched, mut impostor_matched) = (0, 0, 0);
        for a in 0..prints.len() {
            for b in a + 1..prints.len() {
                let matched = match_score(&prints[a].1, &prints[b].1).unwrap_or(0) >= BOZORTH_THRESHOLD;
                if prints[a].0 == prints[b].0 {
                    genuine += 1;
                    genuine_matched += matched as usize;
                } else {
                    impostor_matched += matched as usize;
                }
            }
        }
        // 4 fingers x 3 impressions: 12 genuine pairs and 54 impostor pairs.
        assert_eq!(genuine, 12);
        assert!(genuine_matched >= 8, "{genuine_matched} of 12 genuine pairs matched");
        assert_eq!(impostor_matched, 0, "impostor pairs matched");
    }

    #[test]
    fn configs_reject_unknown_fields_and_out_of_range_values() {
        let parsed: SynthConfig = serde_json::from_str(r#"{"width": 300, "class": "whorl"}"#).unwrap();
        assert_eq!(parsed, SynthConfig { width: 300, class: ClassChoice::Whorl, ..SynthConfig::default() });
        assert!(serde_json::from_str::<SynthConfig>(r#"{"widht": 300}"#).is_err());
        let bad = SynthConfig { height: 10, ..SynthConfig::default() };
        assert!(matches!(generate_finger(&bad, 0, 0), Err(SynthError::InvalidSetting { field: "height", .. })));
        let none = SynthConfig { impressions: 0, ..SynthConfig::default() };
        assert!(matches!(none.validate(), Err(SynthError::InvalidSetting { field: "impressions", .. })));
    }

    #[test]
    fn lower_resolutions_keep_the_ridge_period_in_inches() {
        // At 250 ppi a 9 px period at 500 ppi is 4.5 px.
        let config = SynthConfig { width: 128, height: 160, ppi: 250, ..small(1) };
        let truth = generate_finger(&config, 8, 0).unwrap().impressions.remove(0).truth;
        assert_eq!((truth.master_width, truth.master_height), (256, 320));
        let periods: Vec<f32> = truth.period.values.iter().copied().filter(|p| *p > 0.0).collect();
        let mean = periods.iter().sum::<f32>() / periods.len() as f32;
        assert!((3.6..5.6).contains(&mean), "mean period {mean}");
    }

    #[test]
    fn write_fingers_writes_fvc_names_truth_and_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let config = SynthConfig { width: 128, height: 160, style: StyleChoice::Optical, ..small(2) };
        let summary = write_fingers(&config, 9, 2, dir.path()).unwrap();
        assert_eq!((summary.fingers, summary.images), (2, 4));
        let listing = |d: &std::path::Path| {
            let mut names: Vec<String> =
                std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            names.sort();
            names
        };
        assert_eq!(listing(dir.path()), [DATASET_FILE, "optical", MANIFEST_FILE]);
        let expected = ["1_1.json", "1_1.png", "1_2.json", "1_2.png", "2_1.json", "2_1.png", "2_2.json", "2_2.png"];
        assert_eq!(listing(&dir.path().join("optical")), expected);
        let dataset = std::fs::read_to_string(dir.path().join(DATASET_FILE)).unwrap();
        assert!(dataset.contains("naming = \"fvc\"") && dataset.contains("[subsets.thermal]\nppi = 500"), "{dataset}");
        let manifest: Manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!((manifest.config, manifest.seed, manifest.count), (config, 9, 2));
        // The files hold what generate_finger makes.
        let finger = generate_finger(&config, 9, 1).unwrap();
        let png = image::open(dir.path().join("optical/2_2.png")).unwrap().into_luma8();
        assert_eq!(png.into_raw(), finger.impressions[1].image.pixels);
        let truth: GroundTruth =
            serde_json::from_slice(&std::fs::read(dir.path().join("optical/2_2.json")).unwrap()).unwrap();
        assert_eq!(truth, finger.impressions[1].truth);
    }
}
