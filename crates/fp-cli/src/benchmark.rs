//! `fpae benchmark make`: a fixed restoration benchmark, so that numbers from
//! different models and tools compare (see `fp_eval::benchmark` for what it holds).

use std::path::PathBuf;
use std::process::ExitCode;

use fp_eval::benchmark::{Published, make};

use crate::shared::Bars;

#[derive(Debug, clap::Args)]
pub struct BenchmarkArgs {
    #[command(subcommand)]
    command: BenchmarkCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchmarkCommand {
    /// Make the restoration benchmark of a dataset: its validation prints with every kind of damage at
    /// severities 0.3, 0.6 and 0.9, next to every clean print.
    Make(MakeArgs),
}

#[derive(Debug, clap::Args)]
struct MakeArgs {
    /// The dataset root (with its dataset.toml).
    #[arg(long, value_name = "DIR", default_value = "data/fvc2002")]
    data: PathBuf,
    /// The benchmark folder to create; it must not exist yet.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: BenchmarkArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        BenchmarkCommand::Make(args) => {
            let spec = make(&args.data, &args.out, &Bars)?;
            println!(
                "{}: {} clean and {} degraded prints in {} (digest {})",
                spec.name,
                spec.clean,
                spec.degraded,
                args.out.display(),
                &spec.digest[..16]
            );
            match Published::check(&spec) {
                Published::Same => println!("the same bytes as the published {}: its numbers compare", spec.name),
                Published::Differs(published) => tracing::warn!(
                    "{} differs from the published benchmark of that name (digest {}..., {} degraded prints): \
                     numbers made on it do not compare with the published ones",
                    spec.name,
                    &published.digest[..published.digest.len().min(16)],
                    published.degraded
                ),
                Published::Unknown => {}
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
