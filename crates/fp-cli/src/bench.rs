use std::process::ExitCode;
use std::time::Instant;

use fp_model::{Autoencoder, DeviceSpec, ModelConfig, Precision};
use fp_train::{Optimizer, TrainConfig};
use serde::Serialize;
use tch::{Device, Kind, Tensor, nn};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to time: training steps or inference batches.
    #[arg(long, value_enum, default_value = "train")]
    mode: Mode,
    /// Precision: f32, bf16 (mixed) or auto.
    #[arg(long, value_name = "P", default_value = "auto")]
    precision: Precision,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, value_name = "D", default_value = "auto")]
    device: DeviceSpec,
    /// Images per step.
    #[arg(long, value_name = "N", default_value_t = 128)]
    batch: usize,
    /// Timed steps (the median is reported).
    #[arg(long, value_name = "N", default_value_t = 10)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, value_name = "N", default_value_t = 3)]
    warmup: usize,
    /// Image height and width.
    #[arg(long, value_name = "PX", default_value_t = 224)]
    size: i64,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
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
}

/// Times the tutorial's model (default config) on random images, the way
/// training and inference run it, excluding warm-up steps.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let device = args.device.resolve()?;
    let compute = args.precision.resolve(device);
    let vars = nn::VarStore::new(device);
    let mut model = Autoencoder::new(&vars.root(), &ModelConfig::default(), 13)?;
    model.set_compute(compute);
    let mut optimizer = Optimizer::new(vars.variables().into_iter().collect(), &TrainConfig::default());
    // Two batches' worth of images resident on the device, batches drawn by index as in training.
    let pool = 2 * args.batch as i64;
    let images = Tensor::rand([pool, 1, args.size, args.size], (Kind::Float, device));
    let mut times = Vec::with_capacity(args.steps);
    for step in 0..args.warmup + args.steps.max(1) {
        let index = Tensor::randperm(pool, (Kind::Int64, device)).narrow(0, 0, args.batch as i64);
        let started = Instant::now();
        let xs = images.index_select(0, &index);
        let out = match args.mode {
            Mode::Train => {
                let batch = fp_train::Batch { input: xs.shallow_clone(), target: xs };
                fp_train::train_step(&model, &mut optimizer, fp_train::LossKind::Mse, &batch)
            }
            Mode::Infer => model.reconstruct(&xs, args.batch).mean(Kind::Float),
        };
        // Reading a value waits for the device, so the time covers the whole step.
        let _ = out.double_value(&[]);
        if step >= args.warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let result = Measurement {
        mode: args.mode,
        precision: args.precision.to_string(),
        compute: compute.to_string(),
        device: device_name(device),
        threads: tch::get_num_threads(),
        batch: args.batch,
        steps: times.len(),
        median_step_ms: median * 1e3,
        images_per_sec: args.batch as f64 / median,
        peak_rss_mb: peak_rss_mb(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&result).expect("the measurement serializes"));
    } else {
        println!(
            "{:?} at {}x{}, batch {}, {} on {} ({} threads): {:.1} images/s (median step {:.0} ms), peak RSS {}",
            args.mode,
            args.size,
            args.size,
            args.batch,
            result.compute,
            result.device,
            result.threads,
            result.images_per_sec,
            result.median_step_ms,
            result.peak_rss_mb.map_or("unknown".into(), |m| format!("{m:.0} MB"))
        );
    }
    Ok(ExitCode::SUCCESS)
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
