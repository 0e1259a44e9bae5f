//! `fpae score`: pixel and identity measures of any folder of processed prints
//! against their clean originals, whatever made them, and on request the
//! minutiae templates of the prints it scored.

use std::path::PathBuf;
use std::process::ExitCode;

use fp_eval::score::{score_with_progress, write_candidate_templates};

use crate::shared::{Bars, MeasureOutput, TemplateFormatArg};

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// The clean prints: a dataset root (its dataset.toml gives resolutions and naming),
    /// e.g. a benchmark's `clean` folder.
    #[arg(long, value_name = "DIR")]
    originals: PathBuf,
    /// The processed prints, each named like its original, optionally below group folders
    /// (`noise/0.6/DB1_B/101_1.png` for `DB1_B/101_1.tif`).
    #[arg(long, value_name = "DIR")]
    candidates: PathBuf,
    #[command(flatten)]
    output: MeasureOutput,
    /// Also write each candidate's minutiae, as they were scored and with endings and
    /// bifurcations told apart, into --templates-out: NIST xyt or ISO/IEC 19794-2:2005.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "templates_out")]
    templates: Option<TemplateFormatArg>,
    /// The folder for --templates: each candidate's template at its path below it
    /// (`noise/0.6/DB1_B/101_1.png` -> `DIR/noise/0.6/DB1_B/101_1.xyt`).
    #[arg(long, value_name = "DIR", requires = "templates")]
    templates_out: Option<PathBuf>,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    args.output.prepare()?;
    if let Some(dir) = &args.templates_out {
        crate::shared::check_out_dir(dir, "--templates-out")?;
    }
    let cache = args.output.cache();
    let scores = score_with_progress(&args.originals, &args.candidates, &|_| true, cache.as_ref(), "minutiae", &Bars)?;
    if let (Some(format), Some(dir)) = (args.templates, &args.templates_out) {
        write_candidate_templates(&scores, format.into(), dir, &Bars)?;
    }
    if let Some(out) = &args.output.out {
        let json = serde_json::to_string_pretty(&scores).expect("scores serialize");
        fp_io::write_file_atomically(out, format!("{json}\n"))?;
    }
    if args.output.json {
        println!("{}", serde_json::to_string(&scores).expect("scores serialize"));
    } else {
        print!("{}", fp_report::text::render(&fp_eval::tables::folder_scores(&scores)));
        for path in args.output.out.iter().chain(&args.templates_out) {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
