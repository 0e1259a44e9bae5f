//! `fpae train`: trains the model of a config file into a run directory, or
//! continues a run, and ends with the loss plot, the reconstruction grid and
//! the run's report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use fp_eval::environment::Environment;
use fp_eval::grid::{GRID_FILE, GridOptions, write_grid};
use fp_eval::plot::{LOSS_PLOT_FILE, write_loss_plot};
use fp_eval::report::{REPORT_FILE, ReportOptions, write_report};
use fp_model::{DeviceSpec, Placement, Precision};
use fp_train::{Config, EpochRecord, Observer, Outcome, RunDir, TrainConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::shared::{Bars, environment_of, program};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Configuration file (TOML); not needed with --resume.
    config: Option<PathBuf>,
    /// Override a setting, e.g. `--set train.epochs=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Write the run here instead of `<runs_dir>/<name>-<timestamp>`.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Start from the weights of MODEL instead of random ones (sets train.init): a run
    /// directory (its best checkpoint), a checkpoint, an exported model folder, or the
    /// name of a ready-made model in models/. The config's [model] must be its network.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Continue the run in RUN_DIR from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// Device: auto, cpu, cuda or cuda:N (overrides train.device).
    #[arg(long, value_name = "D")]
    device: Option<DeviceSpec>,
    /// Precision: f32, bf16 (mixed) or auto (overrides train.precision).
    #[arg(long, value_name = "P")]
    precision: Option<Precision>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    // The fault-injection test seam: a malformed value is refused before anything is written.
    if let Some(fault) = fp_train::fault::env_fault()? {
        tracing::warn!("{}={fault}: a fault will be injected (a test seam)", fp_train::fault::FAULT_ENV);
    }
    let command_line = |train: &mut TrainConfig| {
        if let Some(device) = args.device {
            train.device = device;
        }
        if let Some(precision) = args.precision {
            train.precision = precision;
        }
    };
    let (run, config, resume) = match (&args.resume, &args.config) {
        (Some(dir), _) => {
            let (run, config) = RunDir::open_for_resume_with(dir, &args.set, command_line)?;
            (run, config, true)
        }
        (None, Some(file)) => {
            let mut config = Config::load(file, &args.set)?;
            command_line(&mut config.train);
            if let Some(model) = &args.init {
                config.train.init = Some(model.clone());
            }
            if let Some(given) = &config.train.init {
                let source = crate::shared::resolve_model(given).context("train.init")?;
                // Checked before the run directory exists, so a mismatch leaves nothing behind.
                fp_train::InitWeights::find(&source, &config.model)?;
                config.train.init = Some(source);
            }
            let path = args.run_dir.clone().unwrap_or_else(|| RunDir::default_path(&config, file));
            let run = RunDir::create(&path, &config)?;
            (run, config, false)
        }
        (None, None) => bail!("give a CONFIG file to train, or --resume RUN_DIR to continue a run"),
    };
    tracing::info!("run directory: {}", run.path().display());
    let placement = Placement::resolve(config.train.device, config.train.precision)?;
    Environment::current(&program(), &placement.device, &placement.compute.to_string()).write(run.path())?;

    let data =
        fp_data::load(&config.data).with_context(|| format!("cannot load the images under {}", config.data.root))?;
    let split = fp_data::training_split(&data, &config.data)?;
    let size = match data.uniform_size() {
        Some((w, h)) => format!("{w}x{h}"),
        None => "native sizes".to_owned(),
    };
    let distinct = split.train.iter().collect::<std::collections::BTreeSet<_>>().len();
    let mixed = match &config.data.mix {
        Some(weights) => format!(" ({} an epoch, mixed {weights:?} from the roots)", split.train.len()),
        None => String::new(),
    };
    tracing::info!(
        "{} images ({size}): {distinct} for training{mixed}, {} for validation ({:?} split)",
        data.len(),
        split.val.len(),
        config.data.split
    );

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting now (the last checkpoint is intact)");
                exit_at_once(130);
            }
            eprintln!("\ninterrupt: finishing the current batch and writing a checkpoint (again to quit at once)");
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let mut progress = Progress::default();
    let outcome = match fp_train::train(
        fp_train::TrainingJob { run: &run, config: &config, placement, data: &data, split: &split, resume },
        &mut progress,
        &stop,
    ) {
        Ok(outcome) => outcome,
        // A write failed (a full disk, a read-only folder): the run keeps its last checkpoint.
        Err(e @ fp_train::TrainError::Io { .. }) => {
            progress.clear();
            let hint = format!(
                "training stopped; the last checkpoint and the history are whole: once files can be written, \
                 continue with `fpae train --resume {}`",
                run.path().display()
            );
            return Err(anyhow::Error::new(e).context(hint));
        }
        Err(e) => return Err(e.into()),
    };
    progress.clear();
    let dir = run.path().display();
    match outcome {
        Outcome::Completed { epochs } => {
            tracing::info!("finished {epochs} epochs; best model in {dir}/checkpoints/best");
            write_figures(&run, &config, placement)?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::EarlyStopped { epochs, best_epoch } => {
            tracing::info!(
                "stopped early after {epochs} epochs (best: epoch {best_epoch}); best model in {dir}/checkpoints/best"
            );
            write_figures(&run, &config, placement)?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Interrupted { epochs, batches } => {
            tracing::info!(
                "interrupted after {epochs} epochs and {batches} batches; checkpoint written. Continue with: fpae train --resume {dir}"
            );
            Ok(ExitCode::from(130))
        }
    }
}

/// Ends the process without running exit handlers. `std::process::exit` would
/// tear down LibTorch's global state while the training thread is still inside
/// a LibTorch call, which then fails with a confusing error. Nothing is lost:
/// every file is written to a temporary name and renamed.
fn exit_at_once(code: i32) -> ! {
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: `_exit` only ends the process; it touches no state of this one.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}

/// Images in the reconstruction grid written at the end of training (the tutorial shows 5).
const GRID_IMAGES: usize = 5;

/// The tutorial's two pictures, written into the run directory: the loss plot
/// and validation images over their reconstructions by the best model, run on
/// the training's `placement`.
fn write_figures(run: &RunDir, config: &Config, placement: Placement) -> anyhow::Result<()> {
    let again = |what: &str| {
        format!("the run is complete, but {what} failed; retry it alone with `fpae {what} {}`", run.path().display())
    };
    let plot = write_loss_plot(run.path(), &run.path().join(LOSS_PLOT_FILE), false).with_context(|| again("plot"))?;
    tracing::info!("loss plot: {}", plot.display());
    let model = fp_train::TrainedModel::load(run.path(), fp_train::Checkpoint::Best, placement)?;
    let out = run.path().join(GRID_FILE);
    let grid = write_grid(&model, &out, &GridOptions::first(GRID_IMAGES, config.train.batch_size))
        .with_context(|| again("reconstruct --grid 5"))?;
    tracing::info!("reconstructions: {}", grid.display());
    let options = ReportOptions { prints: GRID_IMAGES, identity: true, batch: config.train.batch_size };
    let current = environment_of(&model);
    let report = write_report(run.path(), &model, &run.path().join(REPORT_FILE), &options, &current, &Bars)
        .with_context(|| again("report"))?;
    tracing::info!("report: {}", report.display());
    println!("{}", report.display());
    Ok(())
}

/// A progress bar per epoch on a terminal (indicatif draws nothing elsewhere),
/// and one log line per finished epoch.
#[derive(Default)]
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize, first_batch: usize) {
        self.clear();
        let bar = ProgressBar::new(batches as u64).with_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg} ({elapsed}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        bar.set_position(first_batch as u64);
        self.bar = Some(bar);
    }

    fn batch_finished(&mut self, batch: usize, running_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
            bar.set_message(format!("{running_loss:.5}"));
        }
    }

    fn epoch_finished(&mut self, r: &EpochRecord, improved: bool) {
        self.clear();
        tracing::info!(
            "epoch {}: train_loss {:.6} val_loss {:.6} ({:.1} s, {:.1} images/s){}",
            r.epoch,
            r.train_loss,
            r.val_loss,
            r.seconds,
            r.images_per_sec,
            if improved { " *" } else { "" }
        );
    }
}
