//! `fpae report`: one self-contained HTML page about a run: its config and
//! environment, the loss curve, pixel and identity tables per dataset and
//! sensor, validation prints with their minutiae (degraded, restored and clean
//! for a restoration model, one view at a time), and the restoration
//! benchmarks the run was evaluated on. `fpae train` writes it at its end.

use std::path::PathBuf;
use std::process::ExitCode;

use fp_eval::report::{REPORT_FILE, ReportOptions, write_report};

use crate::shared::{Bars, ModelArgs, environment_of};

/// Prints shown by default.
const DEFAULT_PRINTS: usize = 5;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The run directory (or an exported model folder).
    run_dir: PathBuf,
    /// Where to write the page (default: RUN_DIR/report.html).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Validation prints to show.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PRINTS)]
    prints: usize,
    /// Skip the minutiae and matcher measures when the run's evaluation must be made.
    #[arg(long)]
    no_identity: bool,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let dir = crate::shared::resolve_model(&args.run_dir)?;
    let out = args.out.clone().unwrap_or_else(|| dir.join(REPORT_FILE));
    crate::shared::prepare_out_file(&out, "--out")?;
    let model = args.model.load(&dir)?;
    let options = ReportOptions { prints: args.prints, identity: !args.no_identity, batch: args.model.batch };
    let current = environment_of(&model);
    let path = write_report(&dir, &model, &out, &options, &current, &Bars)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
