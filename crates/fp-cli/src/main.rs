//! `fpae`: train, evaluate and apply convolutional fingerprint autoencoders.

mod bench;
mod benchmark;
mod data;
mod degrade;
mod describe;
mod evaluate;
mod export;
mod help_json;
mod minutiae;
mod models;
mod openmp;
mod pairs;
mod plot;
mod reconstruct;
mod report;
mod restore;
mod score;
mod shared;
mod summary;
mod synth;
mod train;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

// With `override_allocator_on_supported_platforms`, jemalloc also serves
// LibTorch's C++ allocations; see Cargo.toml for why.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's start-up options (it reads this C symbol, `const char *malloc_conf`).
/// Freed pages are kept for reuse instead of being returned to the OS: a training
/// step frees and reallocates the same large buffers, and returning them made
/// every step fault them in again (about 2x slower on a 2-core CPU). The process
/// keeps its peak heap, as PyTorch's caching allocators do.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code, non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static malloc_conf: &[u8; 36] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1\0";

/// Convolutional autoencoders that learn to reconstruct fingerprint images.
#[derive(Debug, Parser)]
#[command(name = "fpae", version, about)]
struct Cli {
    /// More log output (-v: debug, -vv: trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// CPU threads for LibTorch and image decoding (default: one per physical core).
    #[arg(long, value_name = "N", global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Describe the dataset a config file prepares and write a preview of its first images.
    Data(data::DataArgs),
    /// Print the model's layers, output shapes and parameter counts, like Keras' model.summary().
    Summary(summary::SummaryArgs),
    /// Train the autoencoder described by a config file (or continue a run with --resume).
    Train(train::TrainArgs),
    /// Measure a trained model's reconstructions: MSE, PSNR, SSIM and whether they still identify the finger.
    Evaluate(evaluate::EvaluateArgs),
    /// Find the minutiae of one image (NIST MINDTCT): a table, JSON, NIST xyt or an ISO/IEC 19794-2 record.
    Minutiae(minutiae::MinutiaeArgs),
    /// Plot a run's training and validation loss per epoch.
    Plot(plot::PlotArgs),
    /// Write one self-contained HTML page about a run: config, environment, loss, tables and prints.
    Report(report::ReportArgs),
    /// Apply a trained model to images, or draw validation images over their reconstructions.
    Reconstruct(reconstruct::ReconstructArgs),
    /// Time training steps or inference of the tutorial's model, or a recipe's training step, on this machine.
    Bench(bench::BenchArgs),
    /// Write seeded degraded copies of images, or a figure of every kind of damage at three severities.
    Degrade(degrade::DegradeArgs),
    /// Make the fixed restoration benchmark of a dataset (every kind of damage at three severities).
    Benchmark(benchmark::BenchmarkArgs),
    /// Restore degraded prints with a trained model, at their own size; resumable and shardable.
    Restore(restore::RestoreArgs),
    /// Write one checkpoint of a run as a self-contained model folder (no optimiser state), or a model's network as ONNX.
    Export(export::ExportArgs),
    /// List the ready-made models in models/, one line each.
    Models(models::ModelsArgs),
    /// Score any folder of processed prints against their clean originals: pixels, minutiae, matcher.
    Score(score::ScoreArgs),
    /// Generate synthetic fingerprints (several impressions of each finger) with their ground truth, as a dataset.
    Synth(synth::SynthArgs),
    /// Write the (damaged input, clean target) samples training with a config draws as WebDataset tar shards.
    Pairs(pairs::PairsArgs),
    /// Describe a dataset as the matcher sees it: minutiae, ridge period, foreground, genuine and impostor rates.
    Describe(describe::DescribeArgs),
    /// Print every command and flag as JSON (for `cargo xtask docs-check`).
    #[command(hide = true)]
    HelpJson,
    /// Print the OpenMP wait policy `restore` would run with now, for `--threads`: `passive`, `default` (libgomp's: spin a while, then sleep) or the user's (for `cargo xtask bench restore`).
    #[command(hide = true)]
    WaitPolicy,
    /// Print the precision `restore` computes in on this CPU with precision `auto`: `bf16` or `f32` (for `cargo xtask bench restore`).
    #[command(hide = true)]
    Precision,
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Restore(_) | Command::Reconstruct(_)) {
        openmp::wait_passively_when_busy(cli.threads);
    }
    init_logging(cli.verbose);
    if let Some(n) = cli.threads {
        set_threads(n);
    }
    match run(cli.command, cli.threads) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    match command {
        Command::Data(args) => data::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Minutiae(args) => minutiae::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Report(args) => report::run(args),
        Command::Reconstruct(args) => reconstruct::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Degrade(args) => degrade::run(args),
        Command::Benchmark(args) => benchmark::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Score(args) => score::run(args),
        Command::Export(args) => export::run(args),
        Command::Models(args) => models::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Describe(args) => describe::run(args),
        Command::Pairs(args) => pairs::run(args),
        Command::HelpJson => help_json::run(&Cli::command()),
        Command::WaitPolicy => {
            println!("{}", openmp::chosen_policy(threads).as_deref().unwrap_or("default"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Precision => {
            let compute = fp_model::Precision::Auto.resolve(tch::Device::Cpu);
            println!("{}", if compute.bf16 { "bf16" } else { "f32" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Output piped into a program that stops reading (`fpae minutiae X | head`)
/// ends fpae quietly, as it ends any Unix tool, instead of a panic in the next
/// `println!` (Rust ignores SIGPIPE by default).
fn restore_sigpipe() {
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: runs first in `main`, before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Uses `n` threads for LibTorch's operators and for rayon's decoding pool.
fn set_threads(n: usize) {
    let n = n.max(1);
    tch::set_num_threads(n as i32);
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        tracing::warn!("cannot size the decoding thread pool: {e}");
    }
    tracing::debug!("{n} threads");
}

/// Logs go to stderr; RUST_LOG (e.g. `RUST_LOG=fp_train=debug`) overrides `-v`.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}
