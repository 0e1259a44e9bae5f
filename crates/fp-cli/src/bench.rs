//! `fpae bench`: the tutorial's model timed on random images, training steps or
//! inference batches, on this machine; or inference of a folder of prints at
//! their own sizes (`--native`); or the training step of a recipe's model,
//! loss and optimiser (`--config`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use fp_model::{Autoencoder, DeviceSpec, Placement, Precision};
use fp_train::{Config, LossKind, Optimizer, TaskKind, TrainConfig};
use serde::Serialize;
use tch::{Device, Kind, Tensor, nn};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to time: training steps or inference batches [default: train; infer with --native].
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Precision: f32, bf16 (mixed) or auto.
    #[arg(long, value_name = "P", default_value = "auto")]
    precision: Precision,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, value_name = "D", default_value = "auto")]
    device: DeviceSpec,
    /// Images per step [default: 128, or the config's train.batch_size].
    #[arg(long, value_name = "N")]
    batch: Option<usize>,
    /// Timed steps (the median is reported); with --native, timed passes over all the prints.
    #[arg(long, value_name = "N", default_value_t = 10)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, value_name = "N", default_value_t = 3)]
    warmup: usize,
    /// Image height and width [default: 224, or the side the config trains on: its crop or image size].
    #[arg(long, value_name = "PX")]
    size: Option<i64>,
    /// Time the training step of this recipe instead of the tutorial's: its model,
    /// loss, optimiser, seed and batch size, on random images of the size it trains
    /// on; a restoration recipe's targets are images of their own (the clean crops),
    /// its inputs the degraded ones. Data loading and degradation are not timed.
    #[arg(long, value_name = "FILE", conflicts_with = "native")]
    config: Option<PathBuf>,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
    /// Compute each upsampling convolution plainly (upsample, then convolve)
    /// instead of from the low-resolution input, for comparison.
    #[arg(long)]
    plain_upsampling: bool,
    /// Time inference of the prints under DIR at their own sizes instead of random
    /// square images: batches of --batch prints in sorted path order, each padded at
    /// the bottom and right (repeating edge pixels) to the largest height and width in
    /// it, rounded up to the model's stride. Warm-up runs one batch of each padded size.
    #[arg(long, value_name = "DIR")]
    native: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Train,
    Infer,
}

/// What one benchmark measured.
#[derive(Debug, Serialize)]
struct Measurement {
    mode: Mode,
    precision: String,
    compute: String,
    device: String,
    threads: i32,
    batch: usize,
    steps: usize,
    median_step_ms: f64,
    images_per_sec: f64,
    peak_rss_mb: Option<f64>,
    /// Whether the upsampling convolutions ran as sub-pixel convolutions.
    subpixel: bool,
    /// The layers computed as sub-pixel convolutions (none with --plain-upsampling).
    subpixel_layers: Vec<String>,
    /// The model's kind (`tutorial-cae`, `unet`).
    model: &'static str,
    /// The training loss (`mse`, `ssim+l1`, ...).
    loss: LossKind,
    /// With --config: the recipe file.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<PathBuf>,
    /// Height and width of the random images; none with --native.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<i64>,
    /// With --native: prints, batches and pixels before and after padding.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    native: Option<NativeStats>,
}

/// What a pass over a folder of prints at their own sizes holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct NativeStats {
    images: usize,
    batches: usize,
    pixels: i64,
    padded_pixels: i64,
}

/// One batch of prints at their own sizes: which prints, and the height and
/// width all of them are padded to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NativeBatch {
    range: Range<usize>,
    height: i64,
    width: i64,
}

/// The batches of prints of heights and widths `sizes`: consecutive runs of
/// `batch` in the given order, each padded to the largest height and the
/// largest width in it, rounded up to a multiple of `stride`.
fn native_batches(sizes: &[(i64, i64)], batch: usize, stride: i64) -> Vec<NativeBatch> {
    let round_up = |v: i64| (v + stride - 1) / stride * stride;
    (0..sizes.len())
        .step_by(batch.max(1))
        .map(|start| {
            let range = start..(start + batch.max(1)).min(sizes.len());
            let height = round_up(sizes[range.clone()].iter().map(|s| s.0).max().unwrap_or(0));
            let width = round_up(sizes[range.clone()].iter().map(|s| s.1).max().unwrap_or(0));
            NativeBatch { range, height, width }
        })
        .collect()
}

/// The pixel counts of `batches` of prints of sizes `sizes`.
fn native_stats(sizes: &[(i64, i64)], batches: &[NativeBatch]) -> NativeStats {
    NativeStats {
        images: sizes.len(),
        batches: batches.len(),
        pixels: sizes.iter().map(|(h, w)| h * w).sum(),
        padded_pixels: batches.iter().map(|b| b.range.len() as i64 * b.height * b.width).sum(),
    }
}

/// Every image under `dir` (sorted by relative path), decoded to grayscale, as
/// `[1, 1, H, W]` f32 tensors in [0, 1] on `device`.
fn load_prints(dir: &Path, device: Device) -> anyhow::Result<Vec<Tensor>> {
    let files = fp_data::list_images(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    if files.is_empty() {
        bail!("no images under {}", dir.display());
    }
    files
        .iter()
        .map(|relative| {
            let path = dir.join(relative);
            let gray = fp_data::decode_gray(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let (w, h) = (i64::from(gray.width()), i64::from(gray.height()));
            Ok((Tensor::from_slice(gray.as_raw()).view([1, 1, h, w]).to_kind(Kind::Float) / 255.0).to_device(device))
        })
        .collect()
}

/// What is timed: the tutorial's setup, or a recipe's.
struct Setup {
    config: Config,
    batch: usize,
    size: i64,
    /// Whether inputs and targets are different images (a restoration recipe).
    separate_targets: bool,
}

impl Setup {
    fn new(args: &BenchArgs) -> anyhow::Result<Self> {
        let Some(path) = &args.config else {
            return Ok(Self {
                config: Config::default(),
                batch: args.batch.unwrap_or(128),
                size: args.size.unwrap_or(224),
                separate_targets: false,
            });
        };
        let config = Config::load(path, &[]).with_context(|| format!("cannot read the recipe {}", path.display()))?;
        let input = config.training_input();
        if input.height != input.width && args.size.is_none() {
            bail!(
                "{}: trains on {}x{} images; bench times square ones, so give --size",
                path.display(),
                input.height,
                input.width
            );
        }
        let size = args.size.unwrap_or(input.height);
        config
            .model
            .validate_input(fp_model::InputSize { height: size, width: size })
            .with_context(|| format!("--size {size} does not fit the model of {}", path.display()))?;
        Ok(Self {
            batch: args.batch.unwrap_or(config.train.batch_size),
            size,
            separate_targets: config.task.kind == TaskKind::Restore,
            config,
        })
    }
}

/// Times the tutorial's model (default config) or a recipe's (`--config`) on
/// random images, the way training and inference run it, excluding warm-up
/// steps; or, with `--native`, inference of a folder of prints at their own sizes.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mode = match (args.mode, &args.native) {
        (Some(Mode::Train), Some(_)) => bail!("--native times inference only; leave out --mode train"),
        (Some(mode), _) => mode,
        (None, Some(_)) => Mode::Infer,
        (None, None) => Mode::Train,
    };
    let setup = Setup::new(&args)?;
    let Placement { device, compute } = Placement::resolve(args.device, args.precision)?;
    let vars = nn::VarStore::new(device);
    let mut model = Autoencoder::new(&vars.root(), &setup.config.model, setup.config.train.seed)?;
    model.set_compute(compute);
    model.set_exact_subpixel(!args.plain_upsampling);
    let (times, native) = match &args.native {
        Some(dir) => {
            let (times, stats) = time_native(&model, device, dir, &args, setup.batch)?;
            (times, Some(stats))
        }
        None => (time_random(&model, &vars, mode, &args, &setup), None),
    };
    let median = times[times.len() / 2];
    let images_per_step = native.as_ref().map_or(setup.batch, |n| n.images);
    let result = Measurement {
        mode,
        precision: args.precision.to_string(),
        compute: compute.to_string(),
        device: device_name(device),
        threads: tch::get_num_threads(),
        batch: setup.batch,
        steps: times.len(),
        median_step_ms: median * 1e3,
        images_per_sec: images_per_step as f64 / median,
        peak_rss_mb: peak_rss_mb(),
        subpixel: !args.plain_upsampling,
        subpixel_layers: model.subpixel_layers().into_iter().map(String::from).collect(),
        model: setup.config.model.kind_name(),
        loss: setup.config.train.loss,
        config: args.config.clone(),
        size: native.is_none().then_some(setup.size),
        native,
    };
    if args.json {
        println!("{}", serde_json::to_string(&result).expect("the measurement serializes"));
    } else {
        let what = match &result.native {
            Some(n) => format!(
                "{} prints at their own sizes ({} batches, {:.0} % padding)",
                n.images,
                n.batches,
                100.0 * (n.padded_pixels as f64 / n.pixels as f64 - 1.0)
            ),
            None => format!("{:?} {} at {}x{}", mode, result.model, setup.size, setup.size),
        };
        println!(
            "{what}, batch {}, {} on {} ({} threads): {:.1} images/s (median {} {:.0} ms), peak RSS {}",
            setup.batch,
            result.compute,
            result.device,
            result.threads,
            result.images_per_sec,
            if result.native.is_some() { "pass" } else { "step" },
            result.median_step_ms,
            result.peak_rss_mb.map_or("unknown".into(), |m| format!("{m:.0} MB"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Seconds of each timed step on random square images, sorted.
fn time_random(model: &Autoencoder, vars: &nn::VarStore, mode: Mode, args: &BenchArgs, setup: &Setup) -> Vec<f64> {
    let device = vars.device();
    let train: &TrainConfig = &setup.config.train;
    let mut optimizer = Optimizer::new(vars.variables().into_iter().collect(), train);
    // Two batches' worth of images resident on the device, batches drawn by index as in training.
    let (batch, size) = (setup.batch as i64, setup.size);
    let pool = 2 * batch;
    let images = Tensor::rand([pool, 1, size, size], (Kind::Float, device));
    let targets = setup.separate_targets.then(|| Tensor::rand([pool, 1, size, size], (Kind::Float, device)));
    let mut times = Vec::with_capacity(args.steps);
    for step in 0..args.warmup + args.steps.max(1) {
        let index = Tensor::randperm(pool, (Kind::Int64, device)).narrow(0, 0, batch);
        let started = Instant::now();
        let xs = images.index_select(0, &index);
        let out = match mode {
            Mode::Train => {
                let target = targets.as_ref().map_or_else(|| xs.shallow_clone(), |t| t.index_select(0, &index));
                let batch = fp_train::Batch { input: xs, target };
                fp_train::train_step(model, &mut optimizer, train.loss, &batch)
            }
            Mode::Infer => model.reconstruct(&xs, setup.batch).mean(Kind::Float),
        };
        // Reading a value waits for the device, so the time covers the whole step.
        let _ = out.double_value(&[]);
        if step >= args.warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// Seconds of each timed pass over the prints under `dir` at their own sizes
/// (padding and batching included, decoding not), sorted, and what a pass holds.
fn time_native(
    model: &Autoencoder,
    device: Device,
    dir: &Path,
    args: &BenchArgs,
    batch: usize,
) -> anyhow::Result<(Vec<f64>, NativeStats)> {
    let prints = load_prints(dir, device)?;
    let sizes: Vec<(i64, i64)> = prints.iter().map(|x| (x.size()[2], x.size()[3])).collect();
    let batches = native_batches(&sizes, batch, model.stride());
    let run_batch = |b: &NativeBatch| {
        let padded: Vec<Tensor> = prints[b.range.clone()]
            .iter()
            .map(|x| {
                let (h, w) = (x.size()[2], x.size()[3]);
                if (h, w) == (b.height, b.width) {
                    x.shallow_clone()
                } else {
                    x.pad([0, b.width - w, 0, b.height - h], "replicate", None)
                }
            })
            .collect();
        let xs = Tensor::cat(&padded, 0);
        let _ = model.reconstruct(&xs, b.range.len()).mean(Kind::Float).double_value(&[]);
    };
    if args.warmup > 0 {
        let mut seen = Vec::new();
        for b in &batches {
            if !seen.contains(&(b.height, b.width)) {
                seen.push((b.height, b.width));
                run_batch(b);
            }
        }
    }
    let mut times = Vec::with_capacity(args.steps);
    for _ in 0..args.steps.max(1) {
        let started = Instant::now();
        batches.iter().for_each(run_batch);
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times, native_stats(&sizes, &batches)))
}

fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(n) => format!("cuda:{n}"),
        _ => "cpu".into(),
    }
}

/// The process's peak resident memory (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_batches_pad_to_the_largest_print_rounded_to_the_stride() {
        // Two of FVC2002's sizes: DB1 388 x 374 (H x W), DB2 560 x 296.
        let sizes = [(374, 388), (374, 388), (374, 388), (560, 296), (560, 296)];
        let batches = native_batches(&sizes, 2, 4);
        assert_eq!(
            batches,
            [
                NativeBatch { range: 0..2, height: 376, width: 388 },
                NativeBatch { range: 2..4, height: 560, width: 388 },
                NativeBatch { range: 4..5, height: 560, width: 296 },
            ]
        );
        let stats = native_stats(&sizes, &batches);
        assert_eq!(stats.images, 5);
        assert_eq!(stats.batches, 3);
        assert_eq!(stats.pixels, 3 * 374 * 388 + 2 * 560 * 296);
        assert_eq!(stats.padded_pixels, 2 * 376 * 388 + 2 * 560 * 388 + 560 * 296);
    }

    #[test]
    fn native_batches_cover_every_print_once() {
        let sizes: Vec<(i64, i64)> = (0..7).map(|i| (100 + i, 200 - i)).collect();
        for batch in [0, 1, 3, 7, 100] {
            let covered: Vec<usize> = native_batches(&sizes, batch, 8).into_iter().flat_map(|b| b.range).collect();
            assert_eq!(covered, (0..7).collect::<Vec<_>>(), "batch {batch}");
        }
        assert!(native_batches(&[], 4, 4).is_empty());
    }
}
