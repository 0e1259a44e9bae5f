//! `fpae restore`: a restoration model applied to a collection of prints at
//! their own size, resumable and splittable across the tasks of a cluster job,
//! optionally with each restored print's minutiae template beside it, its
//! inputs listed in a manifest and its results logged one JSON line a print
//! (`fp_train::ResultsLog`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::bail;
use fp_metrics::templates::TemplateFormat;
use fp_train::{ResultLine, ResultStatus, ResultsLog, TaskKind};

use fp_eval::apply::{ApplyOptions, Job, Report, apply_to_files_reporting, jobs, refuse_shared_outputs};
use fp_eval::templates::{Resolution, template_path, write_template};

use crate::shared::{Bars, ModelAndInputs, ModelArgs, TemplateFormatArg};

#[derive(Debug, clap::Args)]
#[command(override_usage = "fpae restore [OPTIONS] --out <OUT> <MODEL> <IMAGE|DIR>...\n       \
                            fpae restore [OPTIONS] --out <OUT> --model <MODEL> <IMAGE|DIR>...\n       \
                            fpae restore [OPTIONS] --out <OUT> <MODEL> --manifest <FILE|-> [--results <FILE.jsonl>]")]
pub struct RestoreArgs {
    #[command(flatten)]
    what: ModelAndInputs,
    /// The folder to write into: a folder's images keep their paths below it
    /// (`DIR/noise/0.6/DB1_B/101_1.tif` -> `OUT/noise/0.6/DB1_B/101_1.png`), a file given
    /// alone is written as `OUT/<stem>.png`.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Restore only shard K of N (0 <= K < N): every N-th image of the sorted list,
    /// starting at the K-th; e.g. `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Read the input paths from FILE, one a line (`-`: standard input) instead of
    /// the arguments: blank lines and lines starting with `#` are skipped, relative
    /// paths are relative to FILE's folder (the working directory for `-`), and each
    /// output goes to OUT/<the path as written, extension .png> (an absolute path
    /// without its leading `/`).
    #[arg(long, value_name = "FILE|-")]
    manifest: Option<PathBuf>,
    /// Append one JSON line a print to FILE.jsonl: input, output, sha256, ms,
    /// minutiae (with --templates), status ok|skipped|error and error. With it, a
    /// print is skipped only when its latest ok line names its output and that file
    /// still has the recorded SHA-256; others are restored (again).
    #[arg(long, value_name = "FILE.jsonl")]
    results: Option<PathBuf>,
    /// Restore again images whose output already exists (by default they are skipped,
    /// so an interrupted job continues where it stopped).
    #[arg(long)]
    force: bool,
    /// Also write the minutiae of each restored print beside it (NIST MINDTCT, with
    /// endings and bifurcations): `<stem>.xyt` (NIST xyt) or `<stem>.ist` (ISO/IEC
    /// 19794-2:2005). An image whose template is missing is restored again.
    #[arg(long, value_enum, value_name = "FORMAT")]
    templates: Option<TemplateFormatArg>,
    /// Scan resolution of the inputs in pixels per inch, for their minutiae. Default:
    /// what the nearest dataset.toml above each input says, else 500.
    #[arg(long, value_name = "N", requires = "templates", value_parser = clap::value_parser!(u16).range(1..))]
    ppi: Option<u16>,
    #[command(flatten)]
    model_args: ModelArgs,
}

/// One of N equal parts of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This part, from 0.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = text.split_once('/').and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Self { index, count }),
            _ => Err(format!("expected K/N with 0 <= K < N, e.g. 0/4, got {text:?}")),
        }
    }
}

impl Shard {
    /// Whether item `i` of the sorted list belongs to this shard.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

pub fn run(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let (model_path, inputs) = args.what.split()?;
    match &args.manifest {
        Some(_) if !inputs.is_empty() => bail!("give the inputs after the model or with --manifest, not both"),
        None if inputs.is_empty() => {
            bail!("give the images or folders of images to restore after the model, or --manifest FILE")
        }
        _ => {}
    }
    crate::shared::check_out_dir(&args.out, "--out")?;
    let all = match &args.manifest {
        Some(manifest) => manifest_jobs(manifest, &args.out)?,
        None => jobs(&inputs, &args.out)?,
    };
    let total = all.len();
    let mine: Vec<Job> = match args.shard {
        Some(shard) => all.into_iter().enumerate().filter(|(i, _)| shard.contains(*i)).map(|(_, j)| j).collect(),
        None => all,
    };
    let in_shard = mine.len();
    if let Some(shard) = args.shard {
        tracing::info!("shard {}/{}: {in_shard} of {total} images", shard.index, shard.count);
    }
    let templates = args.templates.map(TemplateFormat::from);
    let mut results = match &args.results {
        Some(path) => {
            crate::shared::prepare_out_file(path, "--results")?;
            Some(ResultsLog::open(path)?)
        }
        None => None,
    };
    let has_template = |j: &Job| templates.is_none_or(|f| template_path(&j.output, f).exists());
    let mut todo = Vec::with_capacity(mine.len());
    for job in mine {
        // Done already: with a results log, its `skipped` line to append.
        let done: Option<Option<ResultLine>> = match &results {
            _ if args.force => None,
            Some(log) => log.skip(&job.input, &job.output).filter(|_| has_template(&job)).map(Some),
            None => (job.output.exists() && has_template(&job)).then_some(None),
        };
        match (done, results.as_mut()) {
            (Some(Some(line)), Some(log)) => log.append(&line)?,
            (Some(_), _) => {}
            (None, _) => todo.push(job),
        }
    }
    let skipped = in_shard - todo.len();
    if skipped > 0 {
        tracing::info!("{skipped} images already restored in {} (--force restores them again)", args.out.display());
    }
    if todo.is_empty() {
        println!("0 restored, {skipped} already in {}", args.out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let model = args.model_args.load(&model_path)?;
    if model.config.task.kind != TaskKind::Restore {
        tracing::warn!(
            "{} was trained to reconstruct clean prints, not to restore degraded ones",
            model_path.display()
        );
    }
    crate::shared::create_out_dir(&args.out, "--out")?;
    let started = std::time::Instant::now();
    let options = ApplyOptions { original_size: true, batch: args.model_args.batch, verb: "restoring" };
    let ppi = match templates {
        Some(_) => resolutions(&todo, args.ppi)?,
        None => HashMap::new(),
    };
    let write = |job: &Job, image: &image::GrayImage| match templates {
        Some(format) => write_template(image, ppi[&job.input], format, &template_path(&job.output, format)).map(Some),
        None => Ok(None),
    };
    let mut log_error = None;
    let mut record = |job: &Job, report: Report| {
        let Some(log) = results.as_mut().filter(|_| log_error.is_none()) else { return };
        if let Err(e) = log.append(&result_line(job, report)) {
            log_error = Some(e);
        }
    };
    let outcome = apply_to_files_reporting(&model, &todo, options, &Bars, &write, &mut record);
    if let Some(e) = log_error {
        return Err(anyhow::Error::new(e).context("cannot append to the results log"));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} restored, {skipped} already in {} ({:.3} s per image)",
        outcome.written,
        args.out.display(),
        seconds / outcome.written.max(1) as f64
    );
    Ok(crate::shared::exit_code(&outcome, todo.len(), "restored"))
}

/// The results line of a job the model ran on (or failed to).
fn result_line(job: &Job, report: Report) -> ResultLine {
    let (sha256, minutiae, status, error) = match report.result {
        Ok(done) => (Some(done.sha256), done.minutiae, ResultStatus::Ok, None),
        Err(message) => (None, None, ResultStatus::Error, Some(message)),
    };
    ResultLine {
        input: job.input.display().to_string(),
        output: job.output.display().to_string(),
        sha256,
        ms: Some((report.ms * 1000.0).round() / 1000.0),
        minutiae,
        status,
        error,
    }
}

/// The jobs a manifest (`-` for standard input) lists, in its order: each
/// entry's output is OUT/<entry as written>.png.
fn manifest_jobs(manifest: &Path, out: &Path) -> anyhow::Result<Vec<Job>> {
    let entries = fp_train::read_manifest(manifest, std::io::stdin().lock())?;
    if entries.is_empty() {
        bail!(
            "{}: lists no images",
            if manifest == Path::new("-") { "<stdin>".into() } else { manifest.display().to_string() }
        );
    }
    let jobs: Vec<Job> = entries
        .into_iter()
        .map(|e| Job { input: e.input, output: out.join(format!("{}.png", e.output_stem.display())) })
        .collect();
    refuse_shared_outputs(&jobs)?;
    Ok(jobs)
}

/// The resolution of each job's input, for its minutiae: `given`, else its
/// dataset manifest's, else the default, which is logged once with how many
/// inputs it stands for.
fn resolutions(jobs: &[Job], given: Option<u16>) -> anyhow::Result<HashMap<PathBuf, u16>> {
    let mut ppi = HashMap::with_capacity(jobs.len());
    let mut defaulted = 0;
    for job in jobs {
        let resolution = Resolution::of(&job.input, given)?;
        defaulted += usize::from(resolution.manifest.is_none() && !resolution.given);
        ppi.insert(job.input.clone(), resolution.ppi);
    }
    if defaulted > 0 {
        tracing::warn!(
            "{defaulted} of {} inputs have no dataset.toml above them: their minutiae are found at {} ppi (--ppi sets it)",
            jobs.len(),
            fp_data::DEFAULT_PPI
        );
    }
    Ok(ppi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_list_without_overlap() {
        let shard: Shard = "1/3".parse().unwrap();
        let mine: Vec<usize> = (0..8).filter(|&i| shard.contains(i)).collect();
        assert_eq!(mine, [1, 4, 7]);
        let all: usize = (0..3).map(|k| (0..8).filter(|&i| Shard { index: k, count: 3 }.contains(i)).count()).sum();
        assert_eq!(all, 8);
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
