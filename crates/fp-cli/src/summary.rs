//! `fpae summary`: the Keras-style layer table of a config's model.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fp_model::Summary;
use fp_train::Config;

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// Configuration file (TOML).
    config: PathBuf,
    /// Override a setting, e.g. `--set model.filters=[16,32,64]` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(args: SummaryArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, &args.set)?;
    // At native resolution the model trains on crops; the table shows that size.
    let input = config.training_input();
    let summary = Summary::new(&config.model, input).context("cannot summarise the model")?;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}
