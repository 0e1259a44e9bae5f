//! A trained model applied to image files: decoded in parallel, run through
//! the model in batches of one size, written as PNGs atomically (and, for
//! `restore --templates`, followed by whatever else each output needs), each
//! job reported with its time and its output's SHA-256. Shared by
//! `reconstruct` and `restore`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use fp_train::TrainedModel;
use image::GrayImage;
use rayon::prelude::*;

use crate::shared::{create_parent, progress};

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
    /// Success, or failure after saying how many of `total` could not be `what`.
    pub fn exit_code(&self, total: usize, what: &str) -> ExitCode {
        if self.failed == 0 {
            return ExitCode::SUCCESS;
        }
        eprintln!("error: {} of {total} images could not be {what}", self.failed);
        ExitCode::FAILURE
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
/// written is reported with its path and counted; the others go on.
pub fn apply_to_files(model: &TrainedModel, jobs: &[Job], options: ApplyOptions) -> Outcome {
    apply_to_files_reporting(model, jobs, options, &|_, _| Ok(None), &mut |_, _| {})
}

/// Like [`apply_to_files`], and `after` runs on each output once it is written
/// (in parallel, with the job and the image written), returning the number of
/// minutiae it found if it looked for them; its error counts the input as
/// failed. `report_job` hears what became of each job, batch after batch.
pub fn apply_to_files_reporting(
    model: &TrainedModel,
    jobs: &[Job],
    options: ApplyOptions,
    after: &(dyn Fn(&Job, &GrayImage) -> anyhow::Result<Option<usize>> + Sync),
    report_job: &mut dyn FnMut(&Job, Report),
) -> Outcome {
    let preprocess = model.config.data.preprocess();
    let scaling = model.scaling;
    let bar = progress(jobs.len(), "images");
    bar.set_message(options.verb);
    let report =
        |path: &Path, err: &anyhow::Error| bar.suspend(|| eprintln!("error: {}", crate::shared::naming(path, err)));
    let mut outcome = Outcome { written: 0, failed: 0 };
    let batch = options.batch.max(1);
    for (first, chunk) in (0..jobs.len()).step_by(batch).zip(jobs.chunks(batch)) {
        let loaded: Vec<(anyhow::Result<Prepared>, f64)> = chunk
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
                (prepared.map_err(anyhow::Error::from), milliseconds(started))
            })
            .collect();
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
                    report_job(job, Report { ms: took, result: Err(crate::shared::naming(&job.input, &e)) });
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
            let share = milliseconds(started) / members.len() as f64;
            for &k in &members {
                ms[k] += share;
            }
        }
        let written: Vec<(anyhow::Result<Written>, f64)> = ready
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
                    let sha256 = write_png(&job.output, &image)?;
                    let minutiae = after(job, &image)?;
                    Ok(Written { sha256, minutiae })
                })();
                (result, milliseconds(started))
            })
            .collect();
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
                    report_job(job, Report { ms, result: Err(crate::shared::naming(&job.input, &e)) });
                    outcome.failed += 1;
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    outcome
}

/// Milliseconds since `started`.
fn milliseconds(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// Encodes `image` as PNG and writes it atomically, creating its folder;
/// returns the file's SHA-256.
fn write_png(path: &Path, image: &GrayImage) -> anyhow::Result<String> {
    create_parent(path)?;
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    fp_io::write_file_atomically(path, &bytes)?;
    Ok(fp_train::sha256_hex(&bytes))
}
