//! `fpae restore`: a restoration model applied to a collection of prints at
//! their own size, resumable and splittable across the tasks of a cluster job,
//! optionally with each restored print's minutiae template beside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, bail};
use fp_metrics::templates::TemplateFormat;
use fp_train::TaskKind;

use crate::apply::{ApplyOptions, Job, apply_to_files, apply_to_files_then};
use crate::minutiae::{Resolution, TemplateFormatArg, template_path, write_template};
use crate::shared::{ModelAndInputs, ModelArgs};

#[derive(Debug, clap::Args)]
#[command(override_usage = "fpae restore [OPTIONS] --out <OUT> <MODEL> <IMAGE|DIR>...\n       \
                            fpae restore [OPTIONS] --out <OUT> --model <MODEL> <IMAGE|DIR>...")]
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
    if inputs.is_empty() {
        bail!("give the images or folders of images to restore after the model");
    }
    crate::shared::check_out_dir(&args.out, "--out")?;
    let all = jobs(&inputs, &args.out)?;
    let total = all.len();
    let mine: Vec<Job> = match args.shard {
        Some(shard) => all.into_iter().enumerate().filter(|(i, _)| shard.contains(*i)).map(|(_, j)| j).collect(),
        None => all,
    };
    let in_shard = mine.len();
    let templates = args.templates.map(TemplateFormat::from);
    let done = |j: &Job| j.output.exists() && templates.is_none_or(|f| template_path(&j.output, f).exists());
    let todo: Vec<Job> = if args.force { mine } else { mine.into_iter().filter(|j| !done(j)).collect() };
    let skipped = in_shard - todo.len();
    if let Some(shard) = args.shard {
        tracing::info!("shard {}/{}: {in_shard} of {total} images", shard.index, shard.count);
    }
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
    let outcome = match templates {
        None => apply_to_files(&model, &todo, options),
        Some(format) => {
            let ppi = resolutions(&todo, args.ppi)?;
            let write = |job: &Job, image: &image::GrayImage| {
                write_template(image, ppi[&job.input], format, &template_path(&job.output, format))
            };
            apply_to_files_then(&model, &todo, options, &write)
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} restored, {skipped} already in {} ({:.3} s per image)",
        outcome.written,
        args.out.display(),
        seconds / outcome.written.max(1) as f64
    );
    Ok(outcome.exit_code(todo.len(), "restored"))
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

/// Every input image and its output, sorted by input path within each
/// argument: a folder's images keep their relative paths under `out`, files
/// given directly are named by their (unique) stems.
pub(crate) fn jobs(inputs: &[PathBuf], out: &Path) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let mut loose = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let files = fp_data::list_images(input).with_context(|| format!("cannot list {}", input.display()))?;
            if files.is_empty() {
                bail!("{}: no images in this folder", input.display());
            }
            for relative in files {
                let output = out.join(format!("{}.png", fp_data::without_extension(&relative)));
                jobs.push(Job { input: input.join(&relative), output });
            }
        } else {
            // A missing or unreadable file is reported when it is read.
            loose.push(input.clone());
        }
    }
    let stems = crate::shared::unique_stems(&loose);
    jobs.extend(
        loose.into_iter().zip(stems).map(|(input, stem)| Job { input, output: out.join(format!("{stem}.png")) }),
    );
    let mut outputs: Vec<&PathBuf> = jobs.iter().map(|j| &j.output).collect();
    outputs.sort();
    if let Some(pair) = outputs.windows(2).find(|w| w[0] == w[1]) {
        bail!("two inputs would both be written to {}; restore them into separate folders", pair[0].display());
    }
    Ok(jobs)
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

    #[test]
    fn folder_inputs_keep_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("in/noise/0.6/DB1_B");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("101_1.tif"), b"").unwrap();
        std::fs::write(sub.join("notes.txt"), b"").unwrap();
        let out = dir.path().join("out");
        let jobs = jobs(&[dir.path().join("in"), PathBuf::from("x/a.png")], &out).unwrap();
        let outputs: Vec<&Path> = jobs.iter().map(|j| j.output.as_path()).collect();
        assert_eq!(outputs, [out.join("noise/0.6/DB1_B/101_1.png"), out.join("a.png")]);
    }
}
