//! A run's training and validation loss per epoch, as a picture (`fpae plot`,
//! the end of `fpae train`, the report).

use std::path::{Path, PathBuf};

use fp_figures::{LossPlot, LossPoint};

use crate::{EvalError, Result};

/// File name of the loss plot in a run directory.
pub const LOSS_PLOT_FILE: &str = "loss.png";

/// Plots the history of the run in `run_dir` into `out`.
pub fn write_loss_plot(run_dir: &Path, out: &Path, log_scale: bool) -> Result<PathBuf> {
    crate::images::write_figure(out, &loss_plot(run_dir, log_scale)?)
}

/// The loss plot of the run in `run_dir`.
pub fn loss_plot(run_dir: &Path, log_scale: bool) -> Result<image::RgbImage> {
    let records = fp_train::history::read(run_dir)?;
    if records.is_empty() {
        return Err(EvalError::NoEpoch { run_dir: run_dir.to_owned() });
    }
    let points: Vec<LossPoint> =
        records.iter().map(|r| LossPoint { epoch: r.epoch, train: r.train_loss, val: r.val_loss }).collect();
    let name = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let style = LossPlot { title: format!("Training and validation loss ({name})"), log_scale, ..LossPlot::default() };
    fp_figures::loss_plot(&points, &style)
        .map_err(|source| EvalError::Plot { run_dir: run_dir.to_owned(), source: Box::new(source) })
}
