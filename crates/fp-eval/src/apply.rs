//! A trained model applied to image files: decoded in parallel, run through
//! the model in batches of one size, written as PNGs atomically (and, for
//! `restore --templates`, followed by whatever else each output needs), each
//! job reported with its time and its output's SHA-256. Used by `reconstruct`,
//! `restore` and the benchmark evaluation.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use fp_train::TrainedModel;
use image::GrayImage;
use rayon::prelude::*;

use crate::images::write_gray_png_hashed;
use crate::{EvalError, Progress, Result, error_chain};

/// One file to apply the model to, and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The image to read.
    pub input: PathBuf,
    /// The PNG to write.
    pub output: PathBuf,
}

/// How [`apply_to_files`] works.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Resize each output back to its input's original size.
    pub original_size: bool,
    /// Images per model batch (and per decoding round).
    pub batch: usize,
    /// What the progress bar says is going on.
    pub verb: &'static str,
}

/// How many outputs were written and how many inputs failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Outputs written.
    pub written: usize,
    /// Inputs that could not be read, processed or written (each reported on stderr).
    pub failed: usize,
}

impl Outcome {
    /// What to say when some of `total` inputs could not be `what` (`restored`):
    /// `None` when none failed.
    pub fn failure(&self, total: usize, what: &str) -> Option<String> {
        (self.failed > 0).then(|| format!("{} of {total} images could not be {what}", self.failed))
    }
}

/// What became of one job, as [`apply_to_files_reporting`] tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Milliseconds spent on it: its decoding, its writing (and whatever ran
    /// after), and its share of its batch's model time.
    pub ms: f64,
    /// The output written, or the error (naming the file) that stopped it.
    pub result: Result<Written, String>,
}

/// An output written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// SHA-256 of the PNG file.
    pub sha256: String,
    /// Minutiae found in it, when what ran after the write looked for them.
    pub minutiae: Option<usize>,
}

/// One input image, prepared for the model.
struct Prepared {
    job: usize,
    pixels: Vec<u8>,
    size: (u32, u32),
    original: (u32, u32),
}

/// Runs `model` over every job's image, `options.batch` at a time: decoding in
/// parallel, images of one size through the model together, outputs written
/// atomically (a file is either absent or whole). A file that cannot be read or
/// written is reported to `progress` with its path and counted; the others go on.
pub fn apply_to_files(model: &TrainedModel, jobs: &[Job], options: ApplyOptions, progress: &dyn Progress) -> Outcome {
    apply_to_files_reporting(model, jobs, options, progress, &|_, _| Ok(None), &mut |_, _| {})
}

/// Like [`apply_to_files`], and `after` runs on each output once it is written
/// (in parallel, with the job and the image written), returning the number of
/// minutiae it found if it looked for them; its error counts the input as
/// failed. `report_job` hears what became of each job, batch after batch.
pub fn apply_to_files_reporting(
    model: &TrainedModel,
    jobs: &[Job],
    options: ApplyOptions,
    progress: &dyn Progress,
    after: &(dyn Fn(&Job, &GrayImage) -> Result<Option<usize>> + Sync),
    report_job: &mut dyn FnMut(&Job, Report),
) -> Outcome {
    let preprocess = model.config.data.preprocess();
    let scaling = model.scaling;
    let bar = progress.bar(jobs.len(), "images", options.verb);
    let report = |path: &Path, err: &EvalError| bar.error(&naming(path, err));
    let mut outcome = Outcome { written: 0, failed: 0 };
    let batch = options.batch.max(1);
    for (first, chunk) in (0..jobs.len()).step_by(batch).zip(jobs.chunks(batch)) {
        let batch_started = Instant::now();
        let loaded: Vec<(Result<Prepared>, f64)> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, job)| {
                let started = Instant::now();
                let prepared = fp_data::load_one(&job.input, &preprocess).map(|(pixels, original)| Prepared {
                    job: first + k,
                    pixels,
                    size: preprocess.output_size(original),
                    original,
                });
                (prepared.map_err(EvalError::from), milliseconds(started))
            })
            .collect();
        let decoded = Instant::now();
        let mut ready = Vec::with_capacity(loaded.len());
        let mut ms = Vec::with_capacity(loaded.len());
        for ((result, took), job) in loaded.into_iter().zip(chunk) {
            match result {
                Ok(p) => {
                    ready.push(p);
                    ms.push(took);
                }
                Err(e) => {
                    report(&job.input, &e);
                    report_job(job, Report { ms: took, result: Err(naming(&job.input, &e)) });
                    outcome.failed += 1;
                }
            }
        }
        let mut outputs: Vec<Vec<f32>> = vec![Vec::new(); ready.len()];
        let mut by_size: BTreeMap<(u32, u32), Vec<usize>> = BTreeMap::new();
        for (k, p) in ready.iter().enumerate() {
            by_size.entry(p.size).or_default().push(k);
        }
        for ((w, h), members) in by_size {
            let started = Instant::now();
            let (w, h) = (w as usize, h as usize);
            let mut values = vec![0f32; members.len() * w * h];
            for (&k, out) in members.iter().zip(values.chunks_mut(w * h)) {
                scaling.apply(&ready[k].pixels, out);
            }
            let result = model.apply(&values, w, h, batch);
            for (&k, out) in members.iter().zip(result.chunks(w * h)) {
                outputs[k] = out.to_vec();
            }
            let took = milliseconds(started);
            tracing::debug!("{} images of {w}x{h}: model {took:.0} ms", members.len());
            let share = took / members.len() as f64;
            for &k in &members {
                ms[k] += share;
            }
        }
        let computed = Instant::now();
        let written: Vec<(Result<Written>, f64)> = ready
            .par_iter()
            .zip(outputs.par_iter())
            .map(|(p, values)| {
                let started = Instant::now();
                let job = &jobs[p.job];
                let result = (|| {
                    let mut pixels = scaling.invert(values, &p.pixels);
                    let (mut w, mut h) = p.size;
                    if options.original_size {
                        pixels = fp_data::restore_size(&pixels, &preprocess, p.original, &job.input)?;
                        (w, h) = p.original;
                    }
                    let image = GrayImage::from_raw(w, h, pixels).expect("one value per pixel");
                    let sha256 = write_gray_png_hashed(&job.output, &image)?;
                    let minutiae = after(job, &image)?;
                    Ok(Written { sha256, minutiae })
                })();
                (result, milliseconds(started))
            })
            .collect();
        tracing::debug!(
            "batch of {}: decoding {:.0} ms, model {:.0} ms, writing {:.0} ms",
            chunk.len(),
            (decoded - batch_started).as_secs_f64() * 1e3,
            (computed - decoded).as_secs_f64() * 1e3,
            milliseconds(computed)
        );
        for (((result, took), p), before) in written.into_iter().zip(&ready).zip(&ms) {
            let job = &jobs[p.job];
            let ms = before + took;
            match result {
                Ok(done) => {
                    outcome.written += 1;
                    report_job(job, Report { ms, result: Ok(done) });
                }
                Err(e) => {
                    report(&job.input, &e);
                    report_job(job, Report { ms, result: Err(naming(&job.input, &e)) });
                    outcome.failed += 1;
                }
            }
        }
        bar.inc(chunk.len());
    }
    bar.finish();
    outcome
}

/// Milliseconds since `started`.
fn milliseconds(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// The error about the file `path`, with the path in front unless the
/// message already names it (`cannot decode image a.png: ...`).
pub fn naming(path: &Path, err: &(dyn std::error::Error + 'static)) -> String {
    let message = error_chain(err);
    let shown = path.display().to_string();
    if message.contains(&shown) { message } else { format!("{shown}: {message}") }
}

/// Every input image and its output, sorted by input path within each
/// argument: a folder's images keep their relative paths under `out`, files
/// given directly are named by their (unique) stems.
pub fn jobs(inputs: &[PathBuf], out: &Path) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let mut loose = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let files = fp_data::list_images(input)
                .map_err(|source| EvalError::List { dir: input.clone(), source: Box::new(source) })?;
            if files.is_empty() {
                return Err(EvalError::NoImages { dir: input.clone() });
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
    let stems = unique_stems(&loose);
    jobs.extend(
        loose.into_iter().zip(stems).map(|(input, stem)| Job { input, output: out.join(format!("{stem}.png")) }),
    );
    refuse_shared_outputs(&jobs)?;
    Ok(jobs)
}

/// An error when two jobs would write the same output.
pub fn refuse_shared_outputs(jobs: &[Job]) -> Result<()> {
    let mut outputs: Vec<&PathBuf> = jobs.iter().map(|j| &j.output).collect();
    outputs.sort();
    if let Some(pair) = outputs.windows(2).find(|w| w[0] == w[1]) {
        return Err(EvalError::SharedOutput { path: pair[0].clone() });
    }
    Ok(())
}

/// Each file's stem; stems that occur more than once (`DB1_B/101_1.tif` and
/// `DB2_B/101_1.tif`) get their folder's name in front, then a number if that
/// is still not unique.
pub fn unique_stems(files: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for f in files {
        *counts.entry(stem(f)).or_default() += 1;
    }
    let mut used: HashMap<String, usize> = HashMap::new();
    files
        .iter()
        .map(|f| {
            let s = stem(f);
            let base = match f.parent().and_then(|p| p.file_name()) {
                Some(parent) if counts[&s] > 1 => format!("{}_{s}", parent.to_string_lossy()),
                _ => s,
            };
            let n = used.entry(base.clone()).or_default();
            *n += 1;
            if *n == 1 { base } else { format!("{base}-{n}") }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_stay_unique() {
        let files: Vec<PathBuf> = ["a/DB1_B/101_1.tif", "a/DB2_B/101_1.tif", "b/x.png", "c/DB1_B/101_1.png"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(unique_stems(&files), ["DB1_B_101_1", "DB2_B_101_1", "x", "DB1_B_101_1-2"]);
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
