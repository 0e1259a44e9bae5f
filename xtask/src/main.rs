//! Project automation for fpae, run as `cargo xtask <command>`.
//!
//! xtask depends on no workspace crate and never on tch, so it builds in seconds
//! on a machine where LibTorch is not installed yet.

mod bench;
mod bench_restore;
mod bench_synth;
mod debian;
mod docs_check;
mod fetch;
mod fuzz;
mod libtorch;
mod peers;
mod ray;
mod soak;
mod venv;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "fpae project automation", version)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install LibTorch (torch==2.13.0 from PyPI) into a shared per-user cache and wire the build to it.
    Setup,
    /// Set up LibTorch (and Debian's chromium, for the report's browser test) if needed, then run
    /// every test of the workspace. A test that needs the real datasets, a browser or a capability
    /// fails without it, unless FPAE_SKIP names it (data, browser, capability or all); the skipped
    /// tests are listed at the end. Then docs-check, whatever the tests gave.
    Test {
        /// Extra arguments passed to `cargo test` (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Download the FVC2002 (default) or FVC2000 B sets into data/<dataset> and verify them against data/<dataset>.sha256.
    FetchData(fetch::FetchArgs),
    /// Set up LibTorch and fetch the data if missing; restore damaged validation prints with the
    /// ready-made model restore (one picture, no training); then the tutorial end to end:
    /// train configs/quick.toml, evaluate it, plot the losses and draw validation images over
    /// their reconstructions, plain and with minutiae.
    Demo {
        /// Import the data from this folder instead of downloading it (see fetch-data --from).
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
    },
    /// Kill `fpae train` at random moments and at every storage point (--kills N, seeded by --seed),
    /// resume it each time, and check that it ends bit-identical to an uninterrupted run.
    Soak(soak::SoakArgs),
    /// Fuzz every reader of untrusted input (images, configs with --set, saved models, fetch-data's
    /// manifest and archives) with libFuzzer for --seconds each; a failing input is kept as a
    /// regression case of `cargo test -p fp-fuzz`, and the exit status is 1.
    Fuzz(fuzz::FuzzArgs),
    /// Benchmarks that print a table and, as their last line, one JSON object.
    #[command(subcommand)]
    Bench(Bench),
    /// Check that the docs agree with their sources: the README's command table with the clap
    /// definitions, tables and quoted numbers with the result files in docs/bench, the README's
    /// test count with the tests in the tree. --write rewrites what differs.
    DocsCheck(docs_check::DocsCheckArgs),
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Cold and cached load of data/fvc2002 at 224x224: `{"images", "cold_ms", "cached_ms"}`.
    Data,
    /// Training and inference images/s in f32 and bf16, peak memory and data load times,
    /// next to PyTorch eager measured in the same run; also written to target/bench/train.json.
    Train(bench::TrainBenchArgs),
    /// A restoration model next to pyfing's classical enhancement on the restoration benchmark
    /// (made if missing): time per print, pixel and identity measures per kind and severity;
    /// also written to target/bench/restore.json.
    Restore(bench_restore::RestoreBenchArgs),
    /// Synthetic prints from `fpae synth` next to the real FVC sets as the matcher sees them
    /// (minutiae, ridge period, foreground, type-II and impostor rates) and the generation speed;
    /// also written to target/bench/synth.json, with sample pictures of each set.
    Synth(bench_synth::SynthBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Task::Setup => {
            if let libtorch::Provision::Managed { python } = libtorch::setup()? {
                println!("its Python (for comparisons against PyTorch): {}", python.display());
            }
            Ok(())
        }
        Task::Test { args } => test(&args),
        Task::FetchData(args) => fetch::run(&args),
        Task::Demo { from } => demo(from),
        Task::Soak(args) => soak::run(&args),
        Task::Fuzz(args) => fuzz::run(&args),
        Task::Bench(Bench::Train(args)) => bench::train(&args),
        Task::Bench(Bench::Restore(args)) => bench_restore::run(&args),
        Task::Bench(Bench::Synth(args)) => bench_synth::run(&args),
        Task::DocsCheck(args) => docs_check::run(&args),
        Task::Bench(Bench::Data) => {
            let data = fetch::Dataset::Fvc2002.data_dir();
            if !data.is_dir() {
                bail!("{} is missing; run `cargo xtask fetch-data` first", data.display());
            }
            let data = data.to_string_lossy().into_owned();
            cargo(&["run", "--quiet", "--release", "-p", "fp-data", "--example", "bench_load"], &[data])
        }
    }
}

/// The ready-made restoration model the demo starts with.
const DEMO_RESTORE_MODEL: &str = "restore";
/// The damage of the demo's restoration picture: one validation print per kind,
/// the prints spread over the four sensors, at [`DEMO_SEVERITY`].
const DEMO_KINDS: [&str; 5] = ["noise", "blur", "dry", "wet", "scratch"];
/// The severity of the demo's damage, in [0, 1].
const DEMO_SEVERITY: &str = "0.6";

fn demo(from: Option<PathBuf>) -> Result<()> {
    let started = std::time::Instant::now();
    libtorch::setup()?;
    // The restoration picture shows validation prints of the dataset fetched here.
    let dataset = fetch::Dataset::Fvc2002;
    fetch::run(&fetch::FetchArgs::new(dataset, from))?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let run_dir = project_root().join("runs").join(format!("demo-{stamp}"));
    let run = run_dir.to_string_lossy().into_owned();

    // First what needs no training: the ready-made model restores damaged prints.
    let restoration = run_dir.join("restoration.png");
    let restoration_out = restoration.to_string_lossy();
    let images = DEMO_KINDS.len().to_string();
    let demo_data = dataset.data_dir().to_string_lossy().into_owned();
    let mut restore: Vec<&str> = vec![
        "reconstruct",
        DEMO_RESTORE_MODEL,
        "--grid",
        &images,
        "--spread",
        "--minutiae",
        "--data",
        &demo_data,
        "--severity",
        DEMO_SEVERITY,
    ];
    for kind in DEMO_KINDS {
        restore.extend(["--kind", kind]);
    }
    restore.extend(["--out", &restoration_out]);
    println!("\n$ fpae {}", restore.join(" "));
    fpae(&restore)?;
    println!("\nRestoration by the ready-made model {DEMO_RESTORE_MODEL}, no training: {}", restoration.display());
    println!(
        "  {images} validation prints damaged by {} at severity {DEMO_SEVERITY} (top), restored (middle) and clean \
         (bottom), with minutiae and BOZORTH3 scores against the clean print",
        DEMO_KINDS.join(", ")
    );
    println!(
        "\nNext: training the tutorial's autoencoder briefly (configs/quick.toml), then its evaluation and pictures."
    );

    let evaluation = run_dir.join("evaluation.json");
    let minutiae = run_dir.join("minutiae.png");
    let steps: [&[&str]; 5] = [
        &["train", "configs/quick.toml", "--run-dir", &run],
        &["evaluate", &run],
        &["plot", &run],
        &["reconstruct", &run, "--grid", "5"],
        &["reconstruct", &run, "--grid", "5", "--minutiae", "--out", &minutiae.to_string_lossy()],
    ];
    for step in steps {
        println!("\n$ fpae {}", step.join(" "));
        fpae(step)?;
    }
    println!();
    println!("demo finished in {:.0} s", started.elapsed().as_secs_f64());
    println!("  restoration:      {}", restoration.display());
    println!("  run directory:    {}", run_dir.display());
    println!("  loss plot:        {}", run_dir.join("loss.png").display());
    println!("  reconstructions:  {}", run_dir.join("reconstructions.png").display());
    println!("  minutiae:         {}", minutiae.display());
    println!("  report:           {}", run_dir.join("report.html").display());
    println!("  evaluation:       {}", evaluation.display());
    println!("  loss history:     {}", run_dir.join("history.csv").display());
    println!("  best model:       {}", run_dir.join("checkpoints").join("best").display());
    println!("  training log:     {}", run_dir.join("train.log").display());
    println!("Restore your own prints with the ready-made model:");
    println!("  cargo run --release -p fp-cli -- restore {DEMO_RESTORE_MODEL} YOUR_PRINTS/ --out restored/");
    println!("Apply the quick model to your own prints with:");
    println!("  cargo run -p fp-cli -- reconstruct {run} IMAGE... --out DIR [--original-size]");
    Ok(())
}

/// The file the tests append a line to for every test they skip (`FPAE_SKIP_LOG`).
const SKIP_LOG: &str = "test-skips.log";

/// `cargo test --workspace` with what the tests need set up, then the list of
/// tests that skipped something (only where `FPAE_SKIP` allowed it).
fn test(args: &[String]) -> Result<()> {
    if let libtorch::Provision::Managed { python } = libtorch::setup()? {
        // The pyfing script's pure parts are tested with numpy alone.
        peers::ensure_test_numpy(&python)?;
        // fpae's ONNX export is checked in onnxruntime.
        peers::ensure_test_onnx(&python)?;
    }
    // The report's test opens it in a real browser.
    debian::ensure_program("chromium", "chromium", "for the report's browser test");
    let target = project_root().join("target");
    std::fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
    let log = target.join(SKIP_LOG);
    match std::fs::remove_file(&log) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove {}", log.display()));
        }
        _ => {}
    }
    let mut cmd = cargo_command(&["test", "--workspace"], args);
    cmd.env("FPAE_SKIP_LOG", &log);
    // The Ray Data example runs under Ray in a venv of its own. Without it that one
    // test fails (or skips, as FPAE_SKIP allows) and the others still run.
    match ray::python() {
        Ok(python) => {
            cmd.env(ray::PYTHON_ENV, python);
        }
        Err(e) => eprintln!("warning: no Ray for the Ray Data example's test: {e:#}"),
    }
    let result = run_cargo(cmd, &["test", "--workspace"]).and(test_patched_crates(&target));
    // The docs are checked after the tests (whose build includes fpae's), whatever the
    // tests gave, so that one run reports both.
    eprintln!("\nchecking the docs against their sources (cargo xtask docs-check)");
    let docs = docs_check::run(&docs_check::DocsCheckArgs { write: false, fpae_help: None });
    let skipped = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = skipped.lines().filter(|l| !l.trim().is_empty()).collect();
    if !lines.is_empty() {
        eprintln!("\n{} skipped as FPAE_SKIP allowed (they tested nothing):", plural(lines.len(), "test"));
        for line in lines {
            eprintln!("  {line}");
        }
    }
    result.and(docs)
}

/// The tests of each patched copy of a published crate under `third_party/`
/// (not workspace members), built into `target/third_party`.
fn test_patched_crates(target: &Path) -> Result<()> {
    let root = project_root().join("third_party");
    let entries = std::fs::read_dir(&root).with_context(|| format!("cannot read {}", root.display()))?;
    let mut manifests: Vec<PathBuf> =
        entries.filter_map(|e| Some(e.ok()?.path().join("Cargo.toml"))).filter(|m| m.is_file()).collect();
    manifests.sort();
    for manifest in manifests {
        let path = manifest.to_string_lossy().into_owned();
        let args = ["test", "--manifest-path", path.as_str()];
        let mut cmd = cargo_command(&args, &[]);
        cmd.env("CARGO_TARGET_DIR", target.join("third_party"));
        run_cargo(cmd, &args)?;
    }
    Ok(())
}

/// `1 test`, `2 tests`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Runs `fpae` (built from this workspace) with `args`.
fn fpae(args: &[&str]) -> Result<()> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    cargo(&["run", "--quiet", "-p", "fp-cli"], &args)
}

/// The repository root (the parent of this crate's manifest directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the repository root")
        .to_path_buf()
}

/// `path` relative to the repository root when it lies there, for result files that are
/// committed (no machine's absolute path in them); otherwise as it is.
pub(crate) fn shown_path(path: &Path) -> String {
    path.strip_prefix(project_root()).unwrap_or(path).display().to_string()
}

/// Runs the cargo that runs us, in the repository root, streaming its output.
pub(crate) fn cargo(args: &[&str], extra: &[String]) -> Result<()> {
    run_cargo(cargo_command(args, extra), args)
}

/// The cargo that runs us, in the repository root, with `args` and, after `--`, `extra`.
fn cargo_command(args: &[&str], extra: &[String]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root()).args(args);
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    cmd
}

/// Runs a cargo command made by [`cargo_command`] with `args`, streaming its output.
fn run_cargo(mut cmd: Command, args: &[&str]) -> Result<()> {
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
