use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use fp_metrics::gallery::TemplateCache;
use fp_metrics::identity::IdentitySummary;
use fp_train::{Evaluation, Subset, TrainedModel};

use crate::shared::{ModelArgs, load_run_data, progress};

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
    /// --classical, classical enhancement.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "split"])]
    benchmark: Option<PathBuf>,
    /// With --benchmark: classical enhancements of its degraded prints, in the same layout
    /// (as `cargo xtask bench restore` writes them with pyfing).
    #[arg(long, value_name = "DIR", requires = "benchmark")]
    classical: Option<PathBuf>,
    /// With --benchmark: also draw one print per kind (noise, dry, scratch, occlusion at 0.6)
    /// degraded, restored, enhanced and clean, with minutiae and BOZORTH3 scores, into FILE.
    #[arg(long, value_name = "FILE", requires = "benchmark")]
    figure: Option<PathBuf>,
    /// With --benchmark: only this severity; repeat for several (default: all).
    #[arg(long = "severity", value_name = "S", requires = "benchmark")]
    severities: Vec<f32>,
    #[command(flatten)]
    model: ModelArgs,
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
        let request = crate::benchmark::BenchmarkRequest {
            bench_dir: benchmark,
            classical: args.classical.as_deref(),
            severities: &args.severities,
            json: args.json,
            out: args.out.as_deref(),
            figure: args.figure.as_deref(),
        };
        return crate::benchmark::evaluate(&args.run_dir, &args.model, request);
    }
    let model = args.model.load(&args.run_dir)?;
    let evaluation = evaluate(&model, args.data.as_deref(), args.split.into(), args.model.batch, !args.no_identity)?;
    let json = serde_json::to_string_pretty(&evaluation).expect("the evaluation serializes");
    if let Some(out) = &args.out {
        fp_io::write_file_atomically(out, format!("{json}\n"))
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&evaluation).expect("the evaluation serializes"));
    } else {
        println!(
            "{}: checkpoint {} (epoch {}), {} split, {} images",
            args.run_dir.display(),
            args.model.checkpoint.name(),
            model.epoch,
            format!("{:?}", args.split).to_lowercase(),
            evaluation.images
        );
        print!("{}", table(&evaluation));
        if let Some(identity) = &evaluation.identity {
            println!();
            print!("{}", identity_table(&evaluation, identity));
        }
        if let Some(out) = &args.out {
            println!("{}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reconstructs the chosen images with `model` and measures them, with the
/// identity measures when `identity` is set.
pub fn evaluate(
    model: &TrainedModel,
    data_root: Option<&Path>,
    subset: Subset,
    batch: usize,
    identity: bool,
) -> anyhow::Result<Evaluation> {
    let (data, split) = load_run_data(model, data_root)?;
    let indices = subset.indices(&split, data.len());
    let bar = progress(indices.len(), "images");
    bar.set_message("reconstructing");
    let recon = model.reconstruct_dataset(&data, &indices, batch, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    let evaluation = fp_train::score(&data, &indices, &recon)?;
    if !identity {
        return Ok(evaluation);
    }
    let cache = if model.config.data.cache { TemplateCache::default_location() } else { None };
    let bar = progress(data.len() + 2 * indices.len(), "prints");
    bar.set_message("minutiae");
    let report = fp_metrics::gallery::assess_identity(&data, &indices, &recon, cache.as_ref(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(evaluation.with_identity(report))
}

/// The per-database table with an `all` row.
fn table(e: &Evaluation) -> String {
    let mut out = format!("{:<12} {:>6} {:>10} {:>10} {:>7}\n", "database", "images", "MSE", "PSNR (dB)", "SSIM");
    let row = |name: &str, images: usize, mse: f64, psnr: f64, ssim: f64| {
        format!("{name:<12} {images:>6} {mse:>10.6} {psnr:>10.2} {ssim:>7.4}\n")
    };
    for (db, g) in &e.per_database {
        out += &row(db, g.images, g.mse, g.psnr, g.ssim);
    }
    out += &row("all", e.images, e.mse, e.psnr, e.ssim);
    out
}

/// The identity measures per database with an `all` row: rates in percent of
/// the computable comparisons.
fn identity_table(e: &Evaluation, all: &IdentitySummary) -> String {
    let zero_fm = all.zero_fm_threshold.map_or("none".to_owned(), |t| format!(">= {t}"));
    let mut out = format!(
        "identity: BOZORTH3 match rates (%) at score >= 40 and at the zero-false-match threshold ({zero_fm}); \
         minutiae matched within 8 px and 30 degrees\n"
    );
    out += &identity_columns(["", "", "minutiae", "", "", "type I", "", "type II", "", "zero-FM", "", "false", "not"]);
    out += &identity_columns([
        "database", "images", "orig/rec", "recall", "prec.", "recon", "ceiling", "recon", "origin.", "type I",
        "ceiling", "match", "comp.",
    ]);
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}", 100.0 * v));
    let row = |name: &str, s: &IdentitySummary| {
        let cells = [
            name.to_owned(),
            s.images.to_string(),
            format!("{:.0}/{:.0}", s.minutiae_original, s.minutiae_reconstruction),
            pct(s.minutiae_recall),
            pct(s.minutiae_precision),
            pct(s.type1_rate_40),
            pct(s.ceiling_type1_rate_40),
            pct(s.type2_rate_40),
            pct(s.type2_rate_40_originals),
            pct(s.type1_rate_zero_fm),
            pct(s.ceiling_type1_rate_zero_fm),
            pct(s.impostor_rate_40),
            s.not_computable.to_string(),
        ];
        identity_columns(cells.each_ref().map(String::as_str))
    };
    for (db, g) in &e.per_database {
        if let Some(s) = &g.identity {
            out += &row(db, s);
        }
    }
    out += &row("all", all);
    out
}

/// One line of the identity table: name, images, three minutiae columns, then
/// groups of type I, type II, zero-FM and the last two columns.
fn identity_columns(c: [&str; 13]) -> String {
    format!(
        "{:<12} {:>6} {:>9} {:>6} {:>6} | {:>6} {:>7} {:>6} {:>7} | {:>6} {:>7} | {:>6} {:>5}\n",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12]
    )
}
