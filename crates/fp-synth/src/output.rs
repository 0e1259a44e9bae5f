//! Writing a set of synthetic fingers to a folder, as a dataset fpae reads.
//!
//! ```text
//! dataset.toml                        the dataset's manifest: name, naming, each style's resolution
//! synth.json                          how the set was made (enough to make it again), written last
//! <style>/<finger>_<impression>.png   every impression (both counted from 1, as in FVC's 101_1.tif)
//! <style>/<finger>_<impression>.json  its ground truth
//! ```
//!
//! Each sensor style is a subset folder, like an FVC database folder (`DB1_B`):
//! a finger's impressions all come from one style, and fingers are numbered
//! across the whole set. Every file is written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::truth::TRUTH_VERSION;
use crate::{Result, Style, SynthConfig, SynthError, generate_finger};

/// Name of the manifest written beside the prints.
pub const MANIFEST_FILE: &str = "synth.json";
/// Name of the dataset manifest fpae reads (fp-data's `dataset.toml`).
pub const DATASET_FILE: &str = "dataset.toml";

/// How a set of prints was made: enough to make it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The generator, `fp-synth`.
    pub generator: String,
    /// The generator's version.
    pub version: String,
    /// Version of the ground-truth files ([`TRUTH_VERSION`]).
    pub truth_version: u32,
    /// The settings.
    pub config: SynthConfig,
    /// The set's seed.
    pub seed: u64,
    /// Number of fingers, numbered 1 to `count` in the file names.
    pub count: usize,
}

/// What [`write_fingers`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The folder written to.
    pub out_dir: PathBuf,
    /// Fingers written.
    pub fingers: usize,
    /// Images written (fingers times impressions).
    pub images: usize,
    /// Fingers per class name.
    pub classes: BTreeMap<String, usize>,
    /// Fingers per style name.
    pub styles: BTreeMap<String, usize>,
    /// Mean number of master minutiae per finger.
    pub mean_minutiae: f64,
}

/// The file stem of an impression: `<finger + 1>_<impression + 1>`, like FVC's `101_1`.
pub fn file_stem(finger: usize, impression: usize) -> String {
    format!("{}_{}", finger + 1, impression + 1)
}

fn to_json<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| SynthError::Json { path: path.to_path_buf(), source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The `dataset.toml` of a set: FVC naming, one subset per sensor style at the set's resolution.
pub fn dataset_manifest(config: &SynthConfig, seed: u64) -> String {
    let mut text = format!(
        "# Synthetic fingerprints made by `fpae synth` (fp-synth {}, seed {seed}); see docs/synthetic.md.\n\
         name = \"synth\"\nnaming = \"fvc\"\ndefault_ppi = {}\n",
        env!("CARGO_PKG_VERSION"),
        config.ppi
    );
    for style in Style::ALL {
        text += &format!(
            "\n[subsets.{}]\nppi = {}\nsensor = \"synthetic, fp-synth {} style\"\n",
            style.name(),
            config.ppi,
            style.name()
        );
    }
    text
}

/// Generates fingers `0..count` of the set `seed` in parallel and writes them
/// to `out_dir` (created if missing) as a dataset: [`DATASET_FILE`], each
/// finger's images and ground truth in its style's folder, and the manifest
/// last, so that its presence means the set is complete.
pub fn write_fingers(config: &SynthConfig, seed: u64, count: usize, out_dir: &Path) -> Result<Summary> {
    config.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|source| fp_io::FileError::new(out_dir, source))?;
    let path = out_dir.join(DATASET_FILE);
    fp_io::write_file_atomically(&path, dataset_manifest(config, seed).as_bytes())?;
    let written: Vec<(String, String, usize)> = (0..count)
        .into_par_iter()
        .map(|f| {
            let finger = generate_finger(config, seed, f)?;
            let dir = out_dir.join(finger.style.name());
            std::fs::create_dir_all(&dir).map_err(|source| fp_io::FileError::new(&dir, source))?;
            for (i, impression) in finger.impressions.iter().enumerate() {
                let stem = file_stem(f, i);
                impression.image.write_png(&dir.join(format!("{stem}.png")))?;
                let path = dir.join(format!("{stem}.json"));
                fp_io::write_file_atomically(&path, &to_json(&impression.truth, &path)?)?;
            }
            tracing::debug!(finger = f + 1, "written");
            Ok((finger.master.class.name().to_owned(), finger.style.name().to_owned(), finger.master.minutiae.len()))
        })
        .collect::<Result<_>>()?;
    let manifest = Manifest {
        generator: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        truth_version: TRUTH_VERSION,
        config: *config,
        seed,
        count,
    };
    let path = out_dir.join(MANIFEST_FILE);
    fp_io::write_file_atomically(&path, &to_json(&manifest, &path)?)?;
    let mut classes = BTreeMap::new();
    let mut styles = BTreeMap::new();
    for (class, style, _) in &written {
        *classes.entry(class.clone()).or_insert(0) += 1;
        *styles.entry(style.clone()).or_insert(0) += 1;
    }
    let total: usize = written.iter().map(|w| w.2).sum();
    Ok(Summary {
        out_dir: out_dir.to_path_buf(),
        fingers: count,
        images: count * config.impressions,
        classes,
        styles,
        mean_minutiae: if count == 0 { 0.0 } else { total as f64 / count as f64 },
    })
}
