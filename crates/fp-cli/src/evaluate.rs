//! `fpae evaluate`: a trained model's reconstructions of a dataset (or a
//! restoration benchmark) measured in pixels and identity.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use fp_eval::benchmark::{self, BenchmarkModel, BenchmarkRequest};
use fp_eval::evaluate::evaluate;
use fp_train::Subset;

use crate::shared::{Bars, ModelArgs, environment_of};

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run directory.
    run_dir: PathBuf,
    /// Which images: the validation split, the training split, or all.
    #[arg(long, value_enum, default_value = "val")]
    split: SplitArg,
    /// Evaluate on the images under DIR instead of the run's data (same preprocessing and split rules).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Skip the minutiae and matcher measures (MSE, PSNR and SSIM only).
    #[arg(long, conflicts_with = "benchmark")]
    no_identity: bool,
    /// Instead of the run's data: a restoration benchmark folder (`fpae benchmark make`). Its
    /// degraded prints are restored into RUN/restored/<benchmark> (finished ones are kept), and
    /// each kind and severity gets three rows: the degraded input, the restoration and, with
    /// --classical, classical enhancement. Its clean prints are restored too (into
    /// RUN/restored/<benchmark>-clean), for the "clean restored" rows: do no harm.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "split"])]
    benchmark: Option<PathBuf>,
    /// With --benchmark: classical enhancements of its degraded prints, in the same layout
    /// (as `cargo xtask bench restore` writes them with pyfing).
    #[arg(long, value_name = "DIR", requires = "benchmark")]
    classical: Option<PathBuf>,
    /// With --benchmark: another tool's outputs of its degraded prints, in the same layout, scored
    /// in rows of that name; repeat for several (`--peer pyfing-snfen=target/bench/restore-out/pyfing-snfen`).
    #[arg(long = "peer", value_name = "NAME=DIR", requires = "benchmark", value_parser = parse_peer)]
    peers: Vec<(String, PathBuf)>,
    /// With --benchmark: also draw one print per kind (noise, dry, scratch, occlusion at 0.6)
    /// degraded, restored, enhanced by each other tool and clean, with minutiae and BOZORTH3 scores, into FILE.
    #[arg(long, value_name = "FILE", requires = "benchmark")]
    figure: Option<PathBuf>,
    /// With --benchmark: only this severity; repeat for several (default: all).
    #[arg(long = "severity", value_name = "S", requires = "benchmark")]
    severities: Vec<f32>,
    #[command(flatten)]
    model: ModelArgs,
}

/// `NAME=DIR` of `--peer`: a name of letters, digits, `-` and `_`.
fn parse_peer(text: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = text.split_once('=').ok_or_else(|| format!("expected NAME=DIR, not {text:?}"))?;
    let reserved = ["degraded", "restored", "classical", "all"];
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || reserved.contains(&name)
    {
        return Err(format!(
            "{name:?}: a peer's name is letters, digits, - and _, and not one of {}",
            reserved.join(", ")
        ));
    }
    if dir.is_empty() {
        return Err(format!("expected NAME=DIR, not {text:?}"));
    }
    Ok((name.to_owned(), PathBuf::from(dir)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SplitArg {
    Val,
    Train,
    All,
}

impl From<SplitArg> for Subset {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Val => Subset::Val,
            SplitArg::Train => Subset::Train,
            SplitArg::All => Subset::All,
        }
    }
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    if let Some(benchmark) = &args.benchmark {
        return evaluate_on_benchmark(&args, benchmark);
    }
    if let Some(out) = &args.out {
        crate::shared::prepare_out_file(out, "--out")?;
    }
    let model = args.model.load(&args.run_dir)?;
    let evaluation =
        evaluate(&model, args.data.as_deref(), args.split.into(), args.model.batch, !args.no_identity, &Bars)?;
    let json = serde_json::to_string_pretty(&evaluation).expect("the evaluation serializes");
    if let Some(out) = &args.out {
        fp_io::write_file_atomically(out, format!("{json}\n"))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&evaluation).expect("the evaluation serializes"));
    } else {
        println!(
            "{}: checkpoint {} (epoch {}), {} split, {} images",
            args.run_dir.display(),
            fp_train::Checkpoint::from(args.model.checkpoint),
            model.epoch,
            Subset::from(args.split),
            evaluation.all.images
        );
        let report = fp_eval::tables::evaluation(&evaluation, args.run_dir.display().to_string());
        print!("{}", fp_report::text::render(&report));
        if let Some(out) = &args.out {
            println!("{}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `fpae evaluate RUN --benchmark DIR [--classical DIR] [--peer NAME=DIR]`.
fn evaluate_on_benchmark(args: &EvaluateArgs, bench_dir: &Path) -> anyhow::Result<ExitCode> {
    let spec = benchmark::read_spec(bench_dir)?;
    spec.check_severities(&args.severities)?;
    let model_dir = crate::shared::resolve_model(&args.run_dir)?;
    let model = args.model.load(&model_dir)?;
    let request = BenchmarkRequest {
        bench_dir,
        classical: args.classical.as_deref(),
        peers: &args.peers,
        severities: &args.severities,
    };
    let environment = environment_of(&model);
    let on = BenchmarkModel {
        given: &args.run_dir,
        dir: &model_dir,
        model: &model,
        batch: args.model.batch,
        environment: &environment,
    };
    let evaluation = benchmark::evaluate(on, spec, request, &Bars)?;
    if let Some(out) = &args.out {
        fp_io::write_file_atomically(out, format!("{}\n", evaluation.to_json_pretty()))
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        println!("{}", evaluation.to_json_line());
    } else {
        print!("{}", fp_report::text::render(&fp_eval::tables::benchmark(&evaluation)));
    }
    if let Some(figure) = &args.figure {
        let path = benchmark::draw_figure(&model_dir, &evaluation.benchmark.name, request, figure)?;
        if !args.json {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
