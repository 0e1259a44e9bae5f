//! A trained model applied to image files: decoded in parallel, run through
//! the model in batches of one size, written as PNGs atomically (and, for
//! `restore --templates`, followed by whatever else each output needs). Shared
//! by `reconstruct` and `restore`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fp_train::TrainedModel;
use image::GrayImage;
use rayon::prelude::*;

use crate::shared::{progress, write_gray_png};

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
    apply_to_files_then(model, jobs, options, &|_, _| Ok(()))
}

/// Like [`apply_to_files`], and `after` runs on each output once it is written
/// (in parallel, with the job and the image written); its error counts the
/// input as failed.
pub fn apply_to_files_then(
    model: &TrainedModel,
    jobs: &[Job],
    options: ApplyOptions,
    after: &(dyn Fn(&Job, &GrayImage) -> anyhow::Result<()> + Sync),
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
        let loaded: Vec<anyhow::Result<Prepared>> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, job)| {
                let (pixels, original) = fp_data::load_one(&job.input, &preprocess)?;
                Ok(Prepared { job: first + k, pixels, size: preprocess.output_size(original), original })
            })
            .collect();
        let mut ready = Vec::with_capacity(loaded.len());
        for (result, job) in loaded.into_iter().zip(chunk) {
            match result {
                Ok(p) => ready.push(p),
                Err(e) => {
                    report(&job.input, &e);
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
            let (w, h) = (w as usize, h as usize);
            let mut values = vec![0f32; members.len() * w * h];
            for (&k, out) in members.iter().zip(values.chunks_mut(w * h)) {
                scaling.apply(&ready[k].pixels, out);
            }
            let result = model.apply(&values, w, h, batch);
            for (&k, out) in members.iter().zip(result.chunks(w * h)) {
                outputs[k] = out.to_vec();
            }
        }
        let written: Vec<anyhow::Result<()>> = ready
            .par_iter()
            .zip(outputs.par_iter())
            .map(|(p, values)| {
                let job = &jobs[p.job];
                let mut pixels = scaling.invert(values, &p.pixels);
                let (mut w, mut h) = p.size;
                if options.original_size {
                    pixels = fp_data::restore_size(&pixels, &preprocess, p.original, &job.input)?;
                    (w, h) = p.original;
                }
                let image = GrayImage::from_raw(w, h, pixels).expect("one value per pixel");
                write_gray_png(&job.output, &image)?;
                after(job, &image)
            })
            .collect();
        for (result, p) in written.into_iter().zip(&ready) {
            match result {
                Ok(()) => outcome.written += 1,
                Err(e) => {
                    report(&jobs[p.job].input, &e);
                    outcome.failed += 1;
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    outcome
}
