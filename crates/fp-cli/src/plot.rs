//! `fpae plot`: a run's training and validation loss per epoch, as a PNG.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use fp_figures::{LossPlot, LossPoint};

/// File name of the loss plot in a run directory.
pub const LOSS_PLOT_FILE: &str = "loss.png";

#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// The run directory.
    run_dir: PathBuf,
    /// Where to write the PNG (default: RUN_DIR/loss.png).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Logarithmic loss axis.
    #[arg(long)]
    log: bool,
}

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| args.run_dir.join(LOSS_PLOT_FILE));
    let path = write_loss_plot(&args.run_dir, &out, args.log)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Plots the history of the run in `run_dir` into `out`.
pub fn write_loss_plot(run_dir: &Path, out: &Path, log_scale: bool) -> anyhow::Result<PathBuf> {
    crate::shared::write_figure(out, &loss_plot(run_dir, log_scale)?)
}

/// The loss plot of the run in `run_dir`.
pub fn loss_plot(run_dir: &Path, log_scale: bool) -> anyhow::Result<image::RgbImage> {
    let records = fp_train::history::read(run_dir)?;
    if records.is_empty() {
        bail!("{}: no finished epoch to plot yet", run_dir.display());
    }
    let points: Vec<LossPoint> =
        records.iter().map(|r| LossPoint { epoch: r.epoch, train: r.train_loss, val: r.val_loss }).collect();
    let name = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let style = LossPlot { title: format!("Training and validation loss ({name})"), log_scale, ..LossPlot::default() };
    fp_figures::loss_plot(&points, &style).with_context(|| format!("cannot plot {}", run_dir.display()))
}
