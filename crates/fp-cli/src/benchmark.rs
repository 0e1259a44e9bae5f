//! `fpae benchmark make`: a fixed restoration benchmark, so that numbers from
//! different models and tools compare (see `fp_eval::benchmark` for what it holds).

use std::path::PathBuf;
use std::process::ExitCode;

use fp_degrade::Degradation;
use fp_eval::benchmark::{Published, make, v1_kinds};

use crate::shared::{Bars, kind_parser};

#[derive(Debug, clap::Args)]
pub struct BenchmarkArgs {
    #[command(subcommand)]
    command: BenchmarkCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchmarkCommand {
    /// Make the restoration benchmark of a dataset: its validation prints with each kind of damage at
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
    /// Damage only of this kind; repeat for several (default: version 1's 13 kinds). Other kinds
    /// than version 1's make a benchmark named after them, such as `fvc2002-restore-v1-jpeg+smudge`:
    /// the same prints, severities and seeds, to measure a model on damage it was not trained with
    #[arg(long = "kind", value_name = "KIND", value_parser = kind_parser())]
    kinds: Vec<Degradation>,
}

pub fn run(args: BenchmarkArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        BenchmarkCommand::Make(args) => {
            let kinds = match args.kinds.is_empty() {
                true => v1_kinds(),
                false => args.kinds,
            };
            let spec = make(&args.data, &args.out, &kinds, &Bars)?;
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
