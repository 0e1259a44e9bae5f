//! `fpae export`: one checkpoint of a run as a self-contained model folder,
//! which `restore`, `reconstruct` and `evaluate` take in place of the run.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::shared::Checkpoint;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The run directory.
    run_dir: PathBuf,
    /// The model folder to create (config.toml, model.toml, model.safetensors, state.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Which checkpoint of the run.
    #[arg(long, value_enum, default_value = "best")]
    checkpoint: Checkpoint,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        anyhow::bail!("--out {}: already exists; choose another folder", args.out.display());
    }
    fp_train::export_model(&args.run_dir, args.checkpoint.name(), &args.out)?;
    println!("{}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
