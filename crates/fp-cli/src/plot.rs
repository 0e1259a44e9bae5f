//! `fpae plot`: a run's training and validation loss per epoch, as a PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use fp_eval::plot::{LOSS_PLOT_FILE, write_loss_plot};

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
