//! What the commands share as a command-line program: flags that several
//! take, resolving a model by path or name, checking output paths before any
//! work, progress bars, and what the program knows of its own build.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use fp_degrade::Degradation;
use fp_eval::apply::Outcome;
use fp_eval::environment::{Environment, Program};
use fp_eval::images::file_in_the_way;
use fp_metrics::templates::TemplateFormat;
use fp_model::{DeviceSpec, Placement, Precision};
use fp_train::TrainedModel;
use indicatif::{ProgressBar, ProgressStyle};

pub use fp_eval::images::{create_parent, to_gray, write_figure, write_gray_png};

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
        let placement = Placement::resolve(self.device, self.precision)?;
        let dir = resolve_model(run_dir)?;
        Ok(TrainedModel::load(&dir, self.checkpoint.into(), placement)?)
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

/// Progress bars on the terminal (indicatif draws nothing elsewhere) for the
/// library jobs, with each failed item's line printed above the bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bars;

impl fp_eval::Progress for Bars {
    fn bar(&self, len: usize, unit: &str, message: &str) -> Box<dyn fp_eval::Bar + '_> {
        let bar = progress(len, unit);
        bar.set_message(message.to_owned());
        Box::new(TerminalBar(bar))
    }
}

/// One of [`Bars`]' bars.
struct TerminalBar(ProgressBar);

impl fp_eval::Bar for TerminalBar {
    fn set_length(&self, len: usize) {
        self.0.set_length(len as u64);
    }

    fn set_position(&self, position: usize) {
        self.0.set_position(position as u64);
    }

    fn inc(&self, n: usize) {
        self.0.inc(n as u64);
    }

    fn error(&self, line: &str) {
        self.0.suspend(|| eprintln!("error: {line}"));
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The output flags of the commands that measure prints against clean ones
/// (`score`, `describe`): JSON on standard output or into a file, and the
/// cache of the clean prints' minutiae.
#[derive(Debug, clap::Args)]
pub struct MeasureOutput {
    /// Print one JSON object (with every print's measures) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write that JSON, with every print's measures, to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Do not read or write the cache of the minutiae of the clean prints (the
    /// dataset's, or the originals').
    #[arg(long)]
    pub no_cache: bool,
}

impl MeasureOutput {
    /// Checks, before any work, that `--out` can be written.
    pub fn prepare(&self) -> anyhow::Result<()> {
        match &self.out {
            Some(out) => prepare_out_file(out, "--out"),
            None => Ok(()),
        }
    }

    /// The minutiae cache, unless `--no-cache`.
    pub fn cache(&self) -> Option<fp_metrics::gallery::TemplateCache> {
        if self.no_cache { None } else { fp_metrics::gallery::TemplateCache::default_location() }
    }
}

/// Success, or failure after saying how many of `total` inputs could not be `what`.
pub fn exit_code(outcome: &Outcome, total: usize, what: &str) -> ExitCode {
    match outcome.failure(total, what) {
        None => ExitCode::SUCCESS,
        Some(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// This program, as its build script found it.
pub fn program() -> Program<'static> {
    Program { version: env!("CARGO_PKG_VERSION"), commit: env!("FPAE_COMMIT"), libtorch: env!("FPAE_LIBTORCH_VERSION") }
}

/// This program running `model` where and how it was loaded to compute.
pub fn environment_of(model: &fp_train::TrainedModel) -> Environment {
    Environment::current(&program(), &model.device, &model.model.compute().to_string())
}

/// A template file format, as the commands that write templates take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateFormatArg {
    /// NIST xyt text (`<stem>.xyt`).
    Xyt,
    /// ISO/IEC 19794-2:2005 finger minutiae record (`<stem>.ist`).
    #[value(name = "iso19794-2")]
    Iso19794_2,
}

impl From<TemplateFormatArg> for TemplateFormat {
    fn from(arg: TemplateFormatArg) -> Self {
        match arg {
            TemplateFormatArg::Xyt => TemplateFormat::Xyt,
            TemplateFormatArg::Iso19794_2 => TemplateFormat::Iso19794_2,
        }
    }
}

/// Accepts the kinds' names only, and lists them when given another.
pub fn kind_parser() -> impl TypedValueParser<Value = Degradation> {
    PossibleValuesParser::new(Degradation::names())
        .map(|name| name.parse::<Degradation>().expect("clap passes only the listed names"))
}

/// A severity of damage, in [0, 1].
pub fn parse_severity(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
        _ => Err(format!("expected a number in [0, 1], got {text}")),
    }
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

pub use fp_eval::apply::unique_stems;
