//! Helpers the commands share: loading a run's data, progress bars, writing PNGs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fp_data::{Dataset, Split};
use fp_model::{DeviceSpec, Precision};
use fp_train::TrainedModel;
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};

/// `--checkpoint`: [`fp_train::Checkpoint`] as a flag's choices (clap stays out
/// of the library), with their help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckpointArg {
    /// The one with the lowest validation loss.
    Best,
    /// The newest.
    Last,
}

impl From<CheckpointArg> for fp_train::Checkpoint {
    fn from(arg: CheckpointArg) -> Self {
        match arg {
            CheckpointArg::Best => fp_train::Checkpoint::Best,
            CheckpointArg::Last => fp_train::Checkpoint::Last,
        }
    }
}

/// How `evaluate` and `reconstruct` load and run a run's model.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Which checkpoint of the run to use.
    #[arg(long, value_enum, default_value = "best")]
    pub checkpoint: CheckpointArg,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, value_name = "D", default_value = "auto")]
    pub device: DeviceSpec,
    /// Precision: f32, bf16 (mixed) or auto (bf16 where the hardware runs it natively).
    #[arg(long, value_name = "P", default_value = "auto")]
    pub precision: Precision,
    /// Images per inference batch, at most: on the CPU a batch of large prints is
    /// cut so that its activations stay within 512 MiB.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub batch: usize,
}

impl ModelArgs {
    /// The chosen checkpoint of the run in `run_dir` (or the model folder there,
    /// or the ready-made model of that name in `models/`), on the chosen device
    /// and precision.
    pub fn load(&self, run_dir: &Path) -> anyhow::Result<TrainedModel> {
        let device = self.device.resolve()?;
        let dir = resolve_model(run_dir)?;
        Ok(TrainedModel::load(&dir, self.checkpoint.into(), device, self.precision)?)
    }
}

/// The model a command applies and what it applies it to: the model either
/// by `--model` or as the first positional argument, so that
/// `fpae restore MODEL IMAGE` and `fpae restore --model MODEL IMAGE` agree.
#[derive(Debug, clap::Args)]
pub struct ModelAndInputs {
    /// The model: a run directory, a model folder written by `fpae export`, or the
    /// name of a ready-made model in models/ (`fpae models` lists them). Without
    /// --model, the first positional argument is the model.
    #[arg(long = "model", value_name = "MODEL")]
    model: Option<PathBuf>,
    /// [MODEL] then the images (any size or format) or folders of images.
    #[arg(value_name = "INPUT")]
    positional: Vec<PathBuf>,
}

impl ModelAndInputs {
    /// The model and the inputs, in that order; an error when no model is given.
    pub fn split(&self) -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
        match (&self.model, self.positional.split_first()) {
            (Some(model), _) => Ok((model.clone(), self.positional.clone())),
            (None, Some((model, inputs))) => Ok((model.clone(), inputs.to_vec())),
            (None, None) => bail!("give the model: --model MODEL or MODEL as the first argument"),
        }
    }
}

/// Where ready-made models live, relative to the working directory (the repository root).
pub const MODELS_DIR: &str = "models";

/// The model folders under `dir` (those with a config), by name, sorted.
pub fn model_folders(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut folders: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(fp_train::CONFIG_FILE).is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    folders.sort();
    folders
}

/// A run directory or model folder as given, or else the ready-made model of
/// that name under [`MODELS_DIR`]; an error lists the ready-made ones.
pub fn resolve_model(given: &Path) -> anyhow::Result<PathBuf> {
    if given.exists() {
        return Ok(given.to_owned());
    }
    let named = Path::new(MODELS_DIR).join(given);
    if given.components().count() == 1 && named.is_dir() {
        return Ok(named);
    }
    let names: Vec<String> = model_folders(Path::new(MODELS_DIR)).into_iter().map(|(name, _)| name).collect();
    let known = if names.is_empty() { "none here".to_owned() } else { names.join(", ") };
    bail!(
        "{}: no such run directory or model folder, and no ready-made model of that name in {MODELS_DIR}/ ({known})",
        given.display()
    )
}

/// The images a trained model is judged on: the run's data (or the images
/// under `data_root`), prepared and scaled exactly as for training, and split
/// the same way.
pub fn load_run_data(model: &TrainedModel, data_root: Option<&Path>) -> anyhow::Result<(Dataset, Split)> {
    let mut config = model.config.data.clone();
    if let Some(root) = data_root {
        config.root = root.into();
    }
    let data = fp_data::load(&config)
        .with_context(|| format!("cannot load the images under {}", config.root))?
        .with_scaling(model.scaling);
    let split = fp_data::split_dataset(&data, &config)?;
    Ok((data, split))
}

/// A bar counting `what` (drawn only on a terminal).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{elapsed}}, eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    )
}

/// Model values in [0, 1] as an 8-bit grayscale picture.
pub fn to_gray(values: &[f32], width: usize, height: usize) -> GrayImage {
    let pixels = values.iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    GrayImage::from_raw(width as u32, height as u32, pixels).expect("width * height values")
}

/// The file that stands where `dir` or a folder above it should be, if any.
fn file_in_the_way(dir: &Path) -> Option<&Path> {
    dir.ancestors().filter(|a| !a.as_os_str().is_empty()).find(|a| a.exists() && !a.is_dir())
}

/// Creates the output folder `dir` (given as `flag`, e.g. `--out`) and its
/// parents. A file standing where a folder is needed is named: `dir` itself
/// (`--out x: is a file, expected a folder`) or one above it.
pub fn create_out_dir(dir: &Path, flag: &str) -> anyhow::Result<()> {
    check_out_dir(dir, flag)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{flag} {}: cannot create this folder", dir.display()))
}

/// Checks, before any work, that the output folder `dir` (given as `flag`)
/// can be created: neither it nor a folder above it is a file.
pub fn check_out_dir(dir: &Path, flag: &str) -> anyhow::Result<()> {
    match file_in_the_way(dir) {
        Some(file) if file == dir => bail!("{flag} {}: is a file, expected a folder", dir.display()),
        Some(file) => bail!("{flag} {}: {} is a file, expected a folder", dir.display(), file.display()),
        None => Ok(()),
    }
}

/// Checks, before any work, that the output file `path` (given as `flag`) can
/// be written: it is not a folder, and its folder exists or is created.
pub fn prepare_out_file(path: &Path, flag: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("{flag} {}: is a folder, expected a file", path.display());
    }
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
    if let Some(file) = file_in_the_way(dir) {
        bail!("{flag} {}: {} is a file, expected a folder", path.display(), file.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{flag} {}: cannot create its folder", path.display()))
}

/// Creates the folder of an output file, naming a file that stands in the way.
pub fn create_parent(path: &Path) -> anyhow::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
    if let Some(file) = file_in_the_way(dir) {
        bail!("cannot write {}: {} is a file, expected a folder", path.display(), file.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// The error about the file `path`, with the path in front unless the
/// message already names it (`cannot decode image a.png: ...`).
pub fn naming(path: &Path, err: &anyhow::Error) -> String {
    let message = format!("{err:#}");
    let shown = path.display().to_string();
    if message.contains(&shown) { message } else { format!("{shown}: {message}") }
}

/// Encodes a grayscale image as PNG and writes it atomically, creating its folder.
pub fn write_gray_png(path: &Path, image: &GrayImage) -> anyhow::Result<()> {
    create_parent(path)?;
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    fp_io::write_file_atomically(path, bytes)?;
    Ok(())
}

/// Writes a figure as PNG atomically, creating its folder.
pub fn write_figure(path: &Path, image: &image::RgbImage) -> anyhow::Result<PathBuf> {
    create_parent(path)?;
    let bytes = fp_figures::encode_png(image).with_context(|| format!("cannot encode {}", path.display()))?;
    fp_io::write_file_atomically(path, bytes)?;
    Ok(path.to_owned())
}

/// The files a command works on: each argument, or the images found under it if it is a folder.
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let found = fp_data::discover(input)?;
            if found.is_empty() {
                bail!("{}: no images in this folder", input.display());
            }
            files.extend(found.into_iter().map(|s| s.path));
        } else {
            // Missing or unreadable files are reported one by one later.
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Each file's stem; stems that occur more than once (`DB1_B/101_1.tif` and
/// `DB2_B/101_1.tif`) get their folder's name in front, then a number if that
/// is still not unique.
pub fn unique_stems(files: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for f in files {
        *counts.entry(stem(f)).or_default() += 1;
    }
    let mut used: HashMap<String, usize> = HashMap::new();
    files
        .iter()
        .map(|f| {
            let s = stem(f);
            let base = match f.parent().and_then(|p| p.file_name()) {
                Some(parent) if counts[&s] > 1 => format!("{}_{s}", parent.to_string_lossy()),
                _ => s,
            };
            let n = used.entry(base.clone()).or_default();
            *n += 1;
            if *n == 1 { base } else { format!("{base}-{n}") }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_stay_unique() {
        let files: Vec<PathBuf> = ["a/DB1_B/101_1.tif", "a/DB2_B/101_1.tif", "b/x.png", "c/DB1_B/101_1.png"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(unique_stems(&files), ["DB1_B_101_1", "DB2_B_101_1", "x", "DB1_B_101_1-2"]);
    }
}
