//! Restoration benchmarks: what `fpae benchmark make` writes, so that numbers
//! from different models and tools compare, and a model's evaluation on one
//! (`fpae evaluate RUN --benchmark DIR`).
//!
//! A benchmark is a folder:
//!
//! ```text
//! benchmark.toml                          what it is made of, and a digest of its files
//! clean/dataset.toml                      the source dataset's manifest (resolutions, naming)
//! clean/<DB>/<finger>_<impression>.png    every clean print, the matcher's gallery
//! degraded/<kind>/<severity>/<DB>/<stem>.png
//!                                         the validation prints, each kind at each severity
//! ```
//!
//! The validation prints are those of the by-finger split that
//! `configs/restore.toml` trains with (seed 13, a fifth of each database's
//! fingers), so a model trained that way has never seen their fingers. Every
//! damaged file's seed is mixed from the benchmark's seed, the file's relative
//! path, the kind's name and the severity: the same source gives the same bytes
//! on every machine, which `digest` (over paths and pixels) records. A change to a degradation's code
//! changes the bytes, so it needs a new version of the benchmark.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fp_data::{DatasetManifest, ImageSource, SplitKind};
use fp_degrade::Degradation;
use fp_train::TrainedModel;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use fp_metrics::folders::FolderScores;
use fp_metrics::gallery::TemplateCache;

use crate::apply::{ApplyOptions, Job, apply_to_files};
use crate::environment::Environment;
use crate::images::{read_values, to_gray, write_gray_png};
use crate::score::score_with_progress;
use crate::{EvalError, Progress, Result};

/// The description file of a benchmark folder.
pub const BENCHMARK_FILE: &str = "benchmark.toml";
/// Its folder of clean prints.
pub const CLEAN_DIR: &str = "clean";
/// Its folder of degraded prints.
pub const DEGRADED_DIR: &str = "degraded";

/// What a benchmark is made of. Version 1: every kind at 0.3, 0.6 and 0.9.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkSpec {
    /// `<dataset>-restore-v<version>`.
    pub name: String,
    /// The source dataset's name.
    pub dataset: String,
    /// How validation fingers are chosen: by finger, with this fraction and seed.
    pub val_fraction: f64,
    /// Seed of the split.
    pub split_seed: u64,
    /// Seed of the damage.
    pub seed: u64,
    /// The kinds, by name.
    pub kinds: Vec<String>,
    /// The severities.
    pub severities: Vec<f32>,
    /// Clean prints (all of the dataset's).
    pub clean: usize,
    /// Degraded prints: validation prints x kinds x severities.
    pub degraded: usize,
    /// SHA-256 over every degraded file's relative path and pixels, in path order.
    pub digest: String,
}

/// The kinds of version 1, by name: a kind added later is not in it.
pub const V1_KINDS: [&str; 13] = [
    "noise",
    "salt-pepper",
    "blur",
    "motion-blur",
    "contrast",
    "dry",
    "wet",
    "stain",
    "scratch",
    "occlusion",
    "background",
    "low-resolution",
    "elastic",
];
/// The severities of version 1.
pub const V1_SEVERITIES: [f32; 3] = [0.3, 0.6, 0.9];
/// The seed of version 1's damage.
pub const V1_SEED: u64 = 2018;
/// The split of `configs/restore.toml`.
const V1_SPLIT_SEED: u64 = 13;
const V1_VAL_FRACTION: f64 = 0.2;

/// A published benchmark: what `benchmark make` wrote from the verified dataset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedBenchmark {
    /// Clean prints.
    pub clean: usize,
    /// Degraded prints.
    pub degraded: usize,
    /// SHA-256 over the degraded files' paths and pixels.
    pub digest: String,
}

/// The published benchmarks by name (`data/restore-benchmarks.toml`, built in).
pub fn published() -> std::collections::BTreeMap<String, PublishedBenchmark> {
    toml::from_str(include_str!("../../../data/restore-benchmarks.toml"))
        .expect("data/restore-benchmarks.toml is valid (a test reads it)")
}

/// How a benchmark just made compares with the published one of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The same counts and digest.
    Same,
    /// A published benchmark of that name has other bytes.
    Differs(PublishedBenchmark),
    /// None is published under that name.
    Unknown,
}

impl Published {
    /// Compares `spec` with the published benchmark of its name.
    pub fn check(spec: &BenchmarkSpec) -> Self {
        match published().remove(&spec.name) {
            None => Published::Unknown,
            Some(p) if p.digest == spec.digest && p.clean == spec.clean && p.degraded == spec.degraded => {
                Published::Same
            }
            Some(p) => Published::Differs(p),
        }
    }
}

/// The kinds of version 1, parsed.
pub fn v1_kinds() -> Vec<Degradation> {
    V1_KINDS.iter().map(|k| k.parse().expect("version 1 names existing kinds")).collect()
}

/// The name of the benchmark of `dataset` under `kinds`: `<dataset>-restore-v1` for
/// version 1's kinds, in its order; otherwise the kinds joined by `+` follow, as in
/// `fvc2002-restore-v1-jpeg+smudge` (version 1's severities, seed and split, other damage).
fn benchmark_name(dataset: &str, kinds: &[Degradation]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    match names == V1_KINDS {
        true => format!("{dataset}-restore-v1"),
        false => format!("{dataset}-restore-v1-{}", names.join("+")),
    }
}

/// Writes the benchmark of the dataset at `data` under `kinds` (version 1's are
/// [`v1_kinds`]) into `out`: into a temporary sibling folder first, renamed into
/// place when complete, so that `out` is either absent or whole.
pub fn make(data: &Path, out: &Path, kinds: &[Degradation], progress: &dyn Progress) -> Result<BenchmarkSpec> {
    if kinds.is_empty() {
        return Err(EvalError::NoKinds);
    }
    if let Some(twice) = kinds.iter().enumerate().find_map(|(i, k)| kinds[..i].contains(k).then_some(*k)) {
        return Err(EvalError::KindTwice { kind: twice.name() });
    }
    if out.exists() {
        return Err(EvalError::OutExists { path: out.to_owned() });
    }
    let manifest = DatasetManifest::load(data)
        .map_err(|source| EvalError::Dataset { dir: data.to_owned(), source: Box::new(source) })?;
    let sources = fp_data::discover(data)?;
    if sources.is_empty() {
        return Err(EvalError::NoImages { dir: data.to_owned() });
    }
    let split = fp_data::split(&sources, SplitKind::ByFinger, V1_VAL_FRACTION, V1_SPLIT_SEED, &[])?;
    fp_io::create_dir_atomically(out, |staging| write_into(staging, &manifest, &sources, &split.val, kinds, progress))
}

/// Writes the clean prints, the degraded ones and the description into `dir`.
fn write_into(
    dir: &Path,
    manifest: &DatasetManifest,
    sources: &[ImageSource],
    val: &[usize],
    kinds: &[Degradation],
    progress: &dyn Progress,
) -> Result<BenchmarkSpec> {
    let clean_dir = dir.join(CLEAN_DIR);
    std::fs::create_dir_all(&clean_dir).map_err(|source| EvalError::CreateDir { dir: clean_dir.clone(), source })?;
    let manifest_text = toml::to_string(manifest).expect("a manifest serializes");
    fp_io::write_file_atomically(&clean_dir.join(fp_data::MANIFEST_FILE), manifest_text)?;

    let jobs = sources.len() + val.len() * kinds.len() * V1_SEVERITIES.len();
    let bar = progress.bar(jobs, "prints", "making the benchmark");
    sources.par_iter().try_for_each(|source| -> Result<()> {
        let (values, w, h) = read_values(&source.path)?;
        write_gray_png(&clean_dir.join(png_name(&source.relative)), &to_gray(&values, w, h))?;
        bar.inc(1);
        Ok(())
    })?;
    let mut degraded: Vec<(String, [u8; 32])> = val
        .par_iter()
        .map(|&i| -> Result<Vec<(String, [u8; 32])>> {
            let source = &sources[i];
            let (clean, w, h) = read_values(&source.path)?;
            let mut written = Vec::new();
            for &kind in kinds {
                let kind_name = kind.name();
                for severity in V1_SEVERITIES {
                    let mut pixels = clean.clone();
                    kind.apply_seeded(&mut pixels, w, h, severity, damage_seed(&source.relative, kind, severity));
                    let relative = format!("{DEGRADED_DIR}/{kind_name}/{severity:.1}/{}", png_name(&source.relative));
                    let image = to_gray(&pixels, w, h);
                    write_gray_png(&dir.join(&relative), &image)?;
                    let hash = file_hash(&relative, image.as_raw());
                    written.push((relative, hash));
                    bar.inc(1);
                }
            }
            Ok(written)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    bar.finish();
    degraded.sort_by(|a, b| a.0.cmp(&b.0));

    let spec = BenchmarkSpec {
        name: benchmark_name(&manifest.name, kinds),
        dataset: manifest.name.clone(),
        val_fraction: V1_VAL_FRACTION,
        split_seed: V1_SPLIT_SEED,
        seed: V1_SEED,
        kinds: kinds.iter().map(|k| k.name().to_owned()).collect(),
        severities: V1_SEVERITIES.to_vec(),
        clean: sources.len(),
        degraded: degraded.len(),
        digest: digest(&degraded),
    };
    let text = format!(
        "# A restoration benchmark made by `fpae benchmark make`; see docs/restoration.md.\n{}",
        toml::to_string(&spec).expect("the spec serializes")
    );
    fp_io::write_file_atomically(&dir.join(BENCHMARK_FILE), text)?;
    Ok(spec)
}

/// The seed of the damage of `kind` at `severity` to the print at `relative`
/// (its path in the dataset, `DB1_B/105_1.tif`) in the version-1 benchmarks.
pub fn damage_seed(relative: &str, kind: Degradation, severity: f32) -> u64 {
    fp_degrade::seeds::benchmark_damage_seed(V1_SEED, relative, kind, severity)
}

/// Reads a benchmark folder's description, naming the folder when it is not one.
pub fn read_spec(dir: &Path) -> Result<BenchmarkSpec> {
    let path = dir.join(BENCHMARK_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|source| EvalError::NotABenchmark { dir: dir.to_owned(), source })?;
    toml::from_str(&text).map_err(|source| EvalError::Spec { path, source: Box::new(source) })
}

impl BenchmarkSpec {
    /// An error unless every one of `severities` is one of the benchmark's.
    pub fn check_severities(&self, severities: &[f32]) -> Result<()> {
        match severities.iter().find(|s| !self.severities.contains(s)) {
            Some(&severity) => {
                Err(EvalError::Severity { severity, benchmark: self.name.clone(), available: self.severities.clone() })
            }
            None => Ok(()),
        }
    }
}

/// The folder of a run (or model folder) that holds its restorations of each
/// benchmark, `restored/<benchmark>/`, and their evaluations, `restored/<benchmark>.json`.
pub const RESTORED_DIR: &str = "restored";

/// A model's evaluation on a benchmark: the degraded inputs, the model's
/// restorations and, when given, classical enhancements, each scored against
/// the clean prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchmarkEvaluation {
    /// The benchmark.
    pub benchmark: BenchmarkSpec,
    /// The model (run or model folder) and its checkpoint's epoch.
    pub model: PathBuf,
    /// Epochs trained when the checkpoint was written.
    pub epoch: usize,
    /// Seconds per restored print (only prints restored by this evaluation count).
    pub restore_seconds_per_image: Option<f64>,
    /// The degraded prints as they are.
    pub degraded: FolderScores,
    /// The model's restorations.
    pub restored: FolderScores,
    /// Classical enhancement, when given.
    pub classical: Option<FolderScores>,
    /// Other tools' outputs by name (`pyfing-gabor`, `pyfing-snfen`), when given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peers: BTreeMap<String, FolderScores>,
    /// Do no harm: the model's restorations of the clean prints themselves,
    /// scored against them (a restoration model should leave an undamaged
    /// print as the matcher sees it). Absent from evaluations saved before it
    /// was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_restored: Option<FolderScores>,
    /// Where and how the restorations were computed: fpae's commit, the CPU, the
    /// threads and the precision. Absent from evaluations saved before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

/// What `fpae evaluate RUN --benchmark DIR` is asked for, besides the model.
#[derive(Debug, Clone, Copy)]
pub struct BenchmarkRequest<'a> {
    /// The benchmark folder.
    pub bench_dir: &'a Path,
    /// Classical enhancements of its degraded prints, in the same layout.
    pub classical: Option<&'a Path>,
    /// Other tools' outputs of its degraded prints, by name, in the same layout.
    pub peers: &'a [(String, PathBuf)],
    /// Only these severities (all when empty).
    pub severities: &'a [f32],
}

/// The model a benchmark evaluation restores with.
#[derive(Debug, Clone, Copy)]
pub struct BenchmarkModel<'a> {
    /// The model as the user named it (a run, a model folder or a ready-made model's name).
    pub given: &'a Path,
    /// Its folder, where its restorations and their evaluation are kept.
    pub dir: &'a Path,
    /// The loaded checkpoint.
    pub model: &'a TrainedModel,
    /// Prints per model batch.
    pub batch: usize,
    /// Where and how it computes, recorded in the evaluation.
    pub environment: &'a Environment,
}

/// Evaluates `model` on the benchmark `spec` (read from `request.bench_dir`):
/// restores the degraded prints it has not restored yet into
/// `<model>/restored/<benchmark>/` (those of other weights, precision or fpae are made again), scores them, the degraded prints and every
/// other tool's outputs against the clean prints, restores and scores the clean
/// prints themselves (do no harm, `<model>/restored/<benchmark>-clean/`), and saves the evaluation
/// beside the restorations (`<model>/restored/<benchmark>.json`) for `fpae report`.
pub fn evaluate(
    model: BenchmarkModel<'_>,
    spec: BenchmarkSpec,
    request: BenchmarkRequest<'_>,
    progress: &dyn Progress,
) -> Result<BenchmarkEvaluation> {
    let BenchmarkRequest { bench_dir, classical, peers, severities } = request;
    spec.check_severities(severities)?;
    // Candidates are `<kind>/<severity>/...`: keep the chosen severities.
    let wanted: Vec<String> = severities.iter().map(|s| format!("{s:.1}")).collect();
    let keep =
        |relative: &str| wanted.is_empty() || relative.split('/').nth(1).is_some_and(|s| wanted.iter().any(|w| w == s));
    let restored_dir = model.dir.join(RESTORED_DIR).join(&spec.name);
    let clean_restored_dir = clean_restorations_dir(model.dir, &spec.name);
    let made_by = made_by(model.model, model.environment)?;
    forget_other_restorations(&restored_dir, &made_by)?;
    forget_other_restorations(&clean_restored_dir, &made_by)?;
    let degraded_dir = bench_dir.join(DEGRADED_DIR);
    let clean_dir = bench_dir.join(CLEAN_DIR);
    let jobs: Vec<Job> = crate::apply::jobs(std::slice::from_ref(&degraded_dir), &restored_dir)?
        .into_iter()
        .filter(|j| !j.output.exists())
        .filter(|j| j.input.strip_prefix(&degraded_dir).is_ok_and(|r| keep(&r.to_string_lossy())))
        .collect();
    let clean_jobs: Vec<Job> = crate::apply::jobs(std::slice::from_ref(&clean_dir), &clean_restored_dir)?
        .into_iter()
        .filter(|j| !j.output.exists())
        .collect();
    let seconds_per_image = restore_all(model, &jobs, progress)?;
    restore_all(model, &clean_jobs, progress)?;
    let cache = TemplateCache::default_location();
    let score = |candidates: &Path, what: &str| {
        score_with_progress(&clean_dir, candidates, &keep, cache.as_ref(), &format!("scoring {what}"), progress)
            .map_err(|source| EvalError::Score { path: candidates.to_owned(), source: Box::new(source) })
    };
    let evaluation = BenchmarkEvaluation {
        degraded: score(&degraded_dir, "degraded prints")?,
        restored: score(&restored_dir, "restorations")?,
        classical: classical.map(|dir| score(dir, "classical enhancements")).transpose()?,
        peers: peers.iter().map(|(name, dir)| Ok((name.clone(), score(dir, name)?))).collect::<Result<_>>()?,
        clean_restored: Some(
            score_with_progress(
                &clean_dir,
                &clean_restored_dir,
                &|_| true,
                cache.as_ref(),
                "scoring restorations of the clean prints",
                progress,
            )
            .map_err(|source| EvalError::Score { path: clean_restored_dir.clone(), source: Box::new(source) })?,
        ),
        benchmark: spec,
        model: model.given.to_owned(),
        epoch: model.model.epoch,
        restore_seconds_per_image: seconds_per_image,
        environment: Some(model.environment.clone()),
    };
    // Saved beside the restorations for `fpae report`.
    let saved = model.dir.join(RESTORED_DIR).join(format!("{}.json", evaluation.benchmark.name));
    fp_io::write_file_atomically(&saved, format!("{}\n", evaluation.to_json_pretty()))?;
    Ok(evaluation)
}

/// Where a model's restorations of a benchmark's clean prints are kept:
/// `<model>/restored/<benchmark>-clean/`, beside those of its degraded prints.
pub fn clean_restorations_dir(model_dir: &Path, benchmark: &str) -> PathBuf {
    model_dir.join(RESTORED_DIR).join(format!("{benchmark}-clean"))
}

/// Restores `jobs` with `model`; the seconds per print, `None` when there were none.
fn restore_all(model: BenchmarkModel<'_>, jobs: &[Job], progress: &dyn Progress) -> Result<Option<f64>> {
    if jobs.is_empty() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let options = ApplyOptions { original_size: true, batch: model.batch, verb: "restoring" };
    let outcome = apply_to_files(model.model, jobs, options, progress);
    if outcome.failed > 0 {
        return Err(EvalError::RestoreFailed { failed: outcome.failed, total: jobs.len() });
    }
    Ok(Some(started.elapsed().as_secs_f64() / jobs.len() as f64))
}

/// What made a folder of restorations: the sha256 of the checkpoint's weights,
/// the precision they ran in and the fpae (version and commit) that ran them. A
/// run that trains on, another checkpoint or precision, or another fpae (whose
/// inference may compute otherwise) makes other restorations.
fn made_by(model: &TrainedModel, environment: &Environment) -> Result<String> {
    let weights = model.checkpoint.join(fp_model::MODEL_WEIGHTS_FILE);
    let hash = fp_train::sha256_file(&weights).map_err(|source| EvalError::Read { path: weights.clone(), source })?;
    Ok(format!(
        "weights sha256 {hash}, computed in {} by fpae {} (commit {})",
        model.model.compute(),
        environment.fpae,
        environment.commit
    ))
}

/// The file beside `<model>/restored/<benchmark>/` saying what made its restorations.
fn made_by_path(restored_dir: &Path) -> PathBuf {
    restored_dir.with_extension("made-by")
}

/// Keeps the restorations in `restored_dir` only if `made_by` made them: they
/// are reused by later evaluations, so those made otherwise (by an earlier epoch
/// of a run that trained on, another checkpoint, precision or build of fpae) are
/// removed and made again rather than scored under the wrong name.
fn forget_other_restorations(restored_dir: &Path, made_by: &str) -> Result<()> {
    let stamp = made_by_path(restored_dir);
    let recorded = std::fs::read_to_string(&stamp).ok();
    if recorded.as_deref().map(str::trim) == Some(made_by) {
        return Ok(());
    }
    if restored_dir.exists() {
        tracing::info!(
            "{} holds restorations made otherwise (other weights, precision or fpae): restoring again",
            restored_dir.display()
        );
        std::fs::remove_dir_all(restored_dir)
            .map_err(|source| EvalError::RemoveDir { dir: restored_dir.to_owned(), source })?;
    }
    crate::images::write_creating_folder(&stamp, format!("{made_by}\n"))
}

impl BenchmarkEvaluation {
    /// The evaluation as pretty JSON, as `--out` and the saved copy hold it (no final newline).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("the evaluation serializes")
    }

    /// The evaluation as one line of JSON, as `--json` prints it.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("the evaluation serializes")
    }
}

/// Draws the figure of [`write_figure`] for the evaluation of the model in
/// `model_dir` on the benchmark `benchmark` (its name) in `bench_dir`, with
/// classical enhancements and other tools' outputs when given, into `out`,
/// and a copy beside the evaluation ([`figure_beside_evaluation`]) where
/// `fpae report` shows it. Returns `out`.
pub fn draw_figure(model_dir: &Path, benchmark: &str, request: BenchmarkRequest<'_>, out: &Path) -> Result<PathBuf> {
    let restored_dir = model_dir.join(RESTORED_DIR).join(benchmark);
    let mut others: Vec<(String, &Path)> =
        request.classical.map(|dir| ("classical".to_owned(), dir)).into_iter().collect();
    others.extend(request.peers.iter().map(|(name, dir)| (name.clone(), dir.as_path())));
    let path = write_figure(request.bench_dir, &restored_dir, &others, out)?;
    let shown = figure_beside_evaluation(model_dir, benchmark);
    if shown != path {
        let png = std::fs::read(&path).map_err(|source| EvalError::Read { path: path.clone(), source })?;
        fp_io::write_file_atomically(&shown, png)?;
    }
    Ok(path)
}

/// The kinds the benchmark figure shows, one row each, at [`FIGURE_SEVERITY`].
pub const FIGURE_KINDS: [&str; 4] = ["noise", "dry", "scratch", "occlusion"];
/// The severity the benchmark figure shows.
pub const FIGURE_SEVERITY: &str = "0.6";

/// Where `evaluate --benchmark --figure` leaves a copy of its figure for `fpae
/// report`: beside the evaluation, `<model>/restored/<benchmark>.png`.
pub fn figure_beside_evaluation(model_dir: &Path, benchmark: &str) -> PathBuf {
    model_dir.join(RESTORED_DIR).join(format!("{benchmark}.png"))
}
/// Each tile shows this many pixels square around the print's centre.
const FIGURE_TILE: u32 = 240;

/// Draws, for one print per kind of [`FIGURE_KINDS`] at severity 0.6, the
/// degraded input, the restoration, every other tool's output (`others`, by
/// name) and the clean print, each with its minutiae and its BOZORTH3 score
/// against the clean print (found on the whole print; the tiles show its centre).
fn write_figure(bench_dir: &Path, restored_dir: &Path, others: &[(String, &Path)], out: &Path) -> Result<PathBuf> {
    use fp_metrics::minutiae::{Template, match_score};
    let clean_dir = bench_dir.join(CLEAN_DIR);
    let manifest = DatasetManifest::load(&clean_dir)?;
    let mut rows = Vec::new();
    for (row, kind) in FIGURE_KINDS.iter().enumerate() {
        let group = format!("{kind}/{FIGURE_SEVERITY}");
        let files = fp_data::list_images(&bench_dir.join(DEGRADED_DIR).join(&group))?;
        if files.is_empty() {
            continue;
        }
        // A different print in each row.
        let relative = &files[(row * 17) % files.len()];
        let database = relative.split('/').next().unwrap_or_default();
        let ppi = manifest.ppi(database);
        let mut columns: Vec<(String, PathBuf)> = vec![
            (format!("{kind} {FIGURE_SEVERITY}"), bench_dir.join(DEGRADED_DIR).join(&group).join(relative)),
            ("fpae".to_owned(), restored_dir.join(&group).join(relative)),
        ];
        for (name, dir) in others {
            columns.push((name.clone(), dir.join(&group).join(relative)));
        }
        columns.push((format!("clean {relative}"), clean_dir.join(relative)));
        let detect = |path: &Path| -> Result<(image::GrayImage, Template)> {
            let image = fp_data::decode_gray(path)?;
            let template =
                Template::detect_with_kinds(image.as_raw(), image.width() as usize, image.height() as usize, ppi)
                    .map_err(|source| EvalError::Minutiae { path: path.to_owned(), source: Box::new(source) })?;
            Ok((image, template))
        };
        let found: Vec<(String, image::GrayImage, Template)> = columns
            .par_iter()
            .map(|(name, path)| detect(path).map(|(image, template)| (name.clone(), image, template)))
            .collect::<Result<_>>()?;
        let clean_template = &found.last().expect("the clean column").2;
        let mut tiles = Vec::new();
        for (k, (name, image, template)) in found.iter().enumerate() {
            let overlay = fp_figures::minutiae_overlay(image, &crate::templates::marks(template))?;
            let (w, h) = (image.width().min(FIGURE_TILE), image.height().min(FIGURE_TILE));
            let crop =
                image::imageops::crop_imm(&overlay, (image.width() - w) / 2, (image.height() - h) / 2, w, h).to_image();
            let score = if k + 1 == found.len() {
                format!("{} minutiae", template.len())
            } else {
                let s = match_score(template, clean_template).map_or("n/c".to_owned(), |s| s.to_string());
                format!("{} minutiae, BOZORTH3 {s}", template.len())
            };
            tiles.push(fp_figures::Tile { image: crop, caption: vec![name.clone(), score] });
        }
        rows.push(tiles);
    }
    let title = format!(
        "Degraded (severity {FIGURE_SEVERITY}), restored by fpae{}, and clean; minutiae and BOZORTH3 scores against the clean print",
        others.iter().map(|(name, _)| format!(", {name}")).collect::<String>()
    );
    let image = fp_figures::grid(&rows, Some(&title))
        .map_err(|source| EvalError::Draw { what: "the figure", source: Box::new(source) })?;
    crate::images::write_figure(out, &image)
}

/// `DB1_B/101_1.tif` -> `DB1_B/101_1.png`.
fn png_name(relative: &str) -> String {
    format!("{}.png", fp_data::without_extension(relative))
}

/// SHA-256 of a file's relative path, a zero byte and its pixels (not its
/// PNG bytes, which depend on the encoder's version).
fn file_hash(relative: &str, pixels: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(relative.as_bytes());
    hasher.update([0]);
    hasher.update(pixels);
    hasher.finalize().into()
}

/// SHA-256 over the files' hashes, in path order, as hex.
fn digest(files: &[(String, [u8; 32])]) -> String {
    let mut hasher = Sha256::new();
    for (_, hash) in files {
        hasher.update(hash);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restorations_of_other_weights_are_forgotten() {
        let tmp = tempfile::tempdir().unwrap();
        let restored = tmp.path().join(RESTORED_DIR).join("bench-v1");
        let print = restored.join("noise/0.6/DB1_B/101_1.png");
        let put_print = || {
            std::fs::create_dir_all(print.parent().unwrap()).unwrap();
            std::fs::write(&print, b"png").unwrap();
        };
        // Restorations nobody vouches for (no stamp) are made again.
        put_print();
        forget_other_restorations(&restored, "epoch 7").unwrap();
        assert!(!print.exists());
        assert_eq!(std::fs::read_to_string(made_by_path(&restored)).unwrap(), "epoch 7\n");
        // The same weights keep theirs.
        put_print();
        forget_other_restorations(&restored, "epoch 7").unwrap();
        assert!(print.exists());
        // Other weights do not.
        forget_other_restorations(&restored, "epoch 8").unwrap();
        assert!(!print.exists());
        assert_eq!(std::fs::read_to_string(made_by_path(&restored)).unwrap(), "epoch 8\n");
    }

    #[test]
    fn version_one_names_only_existing_kinds_once() {
        for name in V1_KINDS {
            assert!(name.parse::<Degradation>().is_ok(), "{name}");
        }
        let mut sorted = V1_KINDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), V1_KINDS.len());
    }

    #[test]
    fn png_names_keep_folders() {
        assert_eq!(png_name("DB1_B/101_1.tif"), "DB1_B/101_1.png");
        assert_eq!(png_name("a.b/c"), "a.b/c.png");
    }
}
