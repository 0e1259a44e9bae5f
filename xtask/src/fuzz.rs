//! `cargo xtask fuzz [--seconds N] [--target NAME]... [--jobs J]`: builds the
//! libFuzzer binaries of `crates/fp-fuzz` with coverage instrumentation and runs
//! each target for N seconds, from its committed seeds and its regression inputs
//! plus the corpus it grew on earlier runs (`target/fuzz/corpus/<target>`).
//!
//! libFuzzer fails an input that panics (or crashes), that runs longer than
//! [`INPUT_TIMEOUT_S`], or that pushes the process over [`RSS_LIMIT_MB`]; the
//! binaries' allocator aborts on a single Rust allocation above 512 MiB. A
//! failing input is copied at once into `crates/fp-fuzz/regressions/<target>/`,
//! where `cargo test -p fp-fuzz` replays it until the bug is fixed (and for
//! good after that).
//!
//! It works on stable Rust: instead of `cargo fuzz` (which wants nightly for its
//! sanitizers), it passes the same LLVM coverage flags itself; libfuzzer-sys
//! builds libFuzzer from source with the C++ compiler.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::project_root;

/// The longest one input may take, in seconds (fp-fuzz's `INPUT_TIME_LIMIT`).
const INPUT_TIMEOUT_S: u64 = 10;
/// The most memory a fuzzing process may hold, in MiB (LibTorch's allocations included).
const RSS_LIMIT_MB: u64 = 2048;
/// The longest input libFuzzer makes, in bytes: room for small images, archives and models.
const MAX_INPUT_LEN: usize = 64 * 1024;

/// Coverage instrumentation as `cargo fuzz build -s none` passes it, with debug
/// assertions (and so overflow checks) on, as in a dev build.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cllvm-args=-sanitizer-coverage-stack-depth \
    --cfg fuzzing -Cdebug-assertions";

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Seconds to fuzz each target.
    #[arg(long, default_value_t = 60, value_name = "N")]
    seconds: u64,
    /// Fuzz only this target (repeatable): image, config, model, fetch_manifest, fetch_archive.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// How many targets to fuzz at once, each in one process on one core.
    #[arg(long, default_value_t = 1, value_name = "J")]
    jobs: usize,
}

/// What one target's run did.
#[derive(Debug)]
struct TargetRun {
    name: String,
    seconds: f64,
    executions: Option<u64>,
    corpus: usize,
    /// The failing input, as kept under `regressions/`, and libFuzzer's word for the failure.
    failure: Option<(PathBuf, String)>,
    log: PathBuf,
}

pub fn run(args: &FuzzArgs) -> Result<()> {
    if args.seconds == 0 || args.jobs == 0 {
        bail!("--seconds and --jobs must be at least 1");
    }
    let fuzz_crate = project_root().join("crates/fp-fuzz");
    let all = target_names(&fuzz_crate)?;
    let targets: Vec<String> = if args.targets.is_empty() {
        all.clone()
    } else {
        for name in &args.targets {
            if !all.contains(name) {
                bail!("--target {name}: no such fuzz target; the targets are {}", all.join(", "));
            }
        }
        args.targets.clone()
    };
    crate::libtorch::setup()?;
    let bin_dir = build(&fuzz_crate)?;
    let work = project_root().join("target/fuzz");
    println!(
        "fuzzing {} for {} s each, {} at a time; CPU: {}",
        targets.join(", "),
        args.seconds,
        args.jobs,
        cpu_model()
    );
    let queue = Mutex::new(targets.iter().cloned().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(targets.len()) {
            scope.spawn(|| {
                loop {
                    // Its own statement: in a `while let`, the lock would be held while fuzzing.
                    let next = queue.lock().expect("no panics while locked").pop_front();
                    let Some(name) = next else { break };
                    let run = fuzz_one(&name, &bin_dir, &fuzz_crate, &work, args.seconds);
                    if let Ok(run) = &run {
                        print_run(run);
                    }
                    results.lock().expect("no panics while locked").push((name, run));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("no panics while locked");
    results.sort_by_key(|(name, _)| targets.iter().position(|t| t == name));
    println!("\n{:<16} {:>8} {:>12} {:>8} {:>8}  failures", "target", "seconds", "executions", "exec/s", "corpus");
    let mut failed = Vec::new();
    for (name, run) in &results {
        match run {
            Ok(run) => {
                let execs = run.executions.map_or("?".to_owned(), |n| n.to_string());
                let rate = run.executions.map_or("?".to_owned(), |n| format!("{:.0}", n as f64 / run.seconds));
                let failures = match &run.failure {
                    None => "0".to_owned(),
                    Some((kept, what)) => {
                        failed.push(name.clone());
                        format!("1 ({what}; kept as {})", kept.display())
                    }
                };
                println!("{name:<16} {:>8.0} {execs:>12} {rate:>8} {:>8}  {failures}", run.seconds, run.corpus);
            }
            Err(e) => {
                failed.push(name.clone());
                println!("{name:<16} error: {e:#}");
            }
        }
    }
    println!(
        "corpora: {}; seeds and regression inputs: {}",
        work.join("corpus").display(),
        fuzz_crate.join("{seeds,regressions}").display()
    );
    if !failed.is_empty() {
        bail!(
            "fuzzing failed for {}: each failing input is now a regression case, so `cargo test -p fp-fuzz` \
             fails until it is fixed; see the logs under {}",
            failed.join(", "),
            work.join("logs").display()
        );
    }
    Ok(())
}

/// The targets: the binaries in `crates/fp-fuzz/src/bin`, by name.
fn target_names(fuzz_crate: &Path) -> Result<Vec<String>> {
    let bins = fuzz_crate.join("src/bin");
    let mut names = Vec::new();
    for entry in fs::read_dir(&bins).with_context(|| format!("cannot read {}", bins.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem()
        {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Builds the instrumented binaries; returns the folder they are in. An explicit
/// `--target` keeps the flags away from build scripts and proc macros, and a
/// target folder of their own away from the normal build's artifacts.
fn build(fuzz_crate: &Path) -> Result<PathBuf> {
    let host = host_triple()?;
    let target_dir = project_root().join("target/fuzz");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building the fuzz targets (instrumented, release, {host}) into {}", target_dir.display());
    let status = Command::new(cargo)
        .current_dir(project_root())
        .args(["build", "--release", "--bins", "--features", "libfuzzer", "--manifest-path"])
        .arg(fuzz_crate.join("Cargo.toml"))
        .args(["--target", &host, "--target-dir"])
        .arg(&target_dir)
        .env("RUSTFLAGS", RUSTFLAGS.split_whitespace().collect::<Vec<_>>().join(" "))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the fuzz targets failed ({status})");
    }
    Ok(target_dir.join(host).join("release"))
}

/// The triple of this machine, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-vV").output().context("cannot run rustc -vV")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().find_map(|l| l.strip_prefix("host: ")).map(str::to_owned).context("rustc -vV names no host triple")
}

/// The CPU's model name, from /proc/cpuinfo.
fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Fuzzes one target for `seconds`; its output goes to `work/logs/<name>.log`.
fn fuzz_one(name: &str, bin_dir: &Path, fuzz_crate: &Path, work: &Path, seconds: u64) -> Result<TargetRun> {
    let corpus = work.join("corpus").join(name);
    let artifacts = work.join("artifacts").join(name);
    let logs = work.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = logs.join(format!("{name}.log"));
    let log_file = fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut command = Command::new(bin_dir.join(name));
    // The first folder is where libFuzzer adds what it finds; the others it only reads.
    command.arg(&corpus).arg(fuzz_crate.join("seeds").join(name));
    let regressions = fuzz_crate.join("regressions").join(name);
    if regressions.is_dir() {
        command.arg(&regressions);
    }
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_S}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-max_len={MAX_INPUT_LEN}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .stdin(Stdio::null());
    println!("{name}: fuzzing, output in {}", log.display());
    let started = Instant::now();
    let status = command.status().with_context(|| format!("cannot run {}", bin_dir.join(name).display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log).with_context(|| format!("cannot read {}", log.display()))?;
    let executions = final_stat(&text, "stat::number_of_executed_units");
    let corpus_size = fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    let failure = if status.success() {
        None
    } else {
        let what = failure_kind(&text);
        let artifact = text
            .lines()
            .find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| PathBuf::from(p.trim())))
            .with_context(|| format!("{name} failed ({status}: {what}) but left no input; see {}", log.display()))?;
        Some((keep_as_regression(&artifact, &regressions)?, what))
    };
    Ok(TargetRun { name: name.to_owned(), seconds, executions, corpus: corpus_size, failure, log })
}

/// The value of a `stat::...: N` line of libFuzzer's final statistics.
fn final_stat(log: &str, key: &str) -> Option<u64> {
    log.lines().rev().find_map(|l| l.strip_prefix(key)?.trim_start_matches(':').trim().parse().ok())
}

/// libFuzzer's summary of a failure: `deadly signal` (a panic or crash),
/// `timeout`, `out-of-memory (...)`, or the allocator's own message.
fn failure_kind(log: &str) -> String {
    if let Some(line) = log.lines().find(|l| l.starts_with("==fp-fuzz==")) {
        return line.trim_start_matches("==fp-fuzz==").trim().to_owned();
    }
    log.lines()
        .find_map(|l| l.strip_prefix("SUMMARY: libFuzzer: "))
        .map_or_else(|| "no summary in the log".to_owned(), str::to_owned)
}

/// Copies a failing input into the target's regression folder, under its
/// libFuzzer name (`crash-<sha1>`, `timeout-<sha1>`, `oom-<sha1>`).
fn keep_as_regression(artifact: &Path, regressions: &Path) -> Result<PathBuf> {
    fs::create_dir_all(regressions).with_context(|| format!("cannot create {}", regressions.display()))?;
    let kept = regressions.join(artifact.file_name().context("an artifact has a file name")?);
    fs::copy(artifact, &kept).with_context(|| format!("cannot copy {} to {}", artifact.display(), kept.display()))?;
    Ok(kept)
}

fn print_run(run: &TargetRun) {
    let execs = run.executions.map_or("?".to_owned(), |n| n.to_string());
    match &run.failure {
        None => println!("{}: {execs} executions in {:.0} s, no failure", run.name, run.seconds),
        Some((kept, what)) => println!(
            "{}: FAILED after {:.0} s ({what}); the input is kept as {}; log: {}",
            run.name,
            run.seconds,
            kept.display(),
            run.log.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzers_final_statistics_and_failures() {
        let log = "#2\tINITED cov: 10\nstat::number_of_executed_units: 123456\nstat::average_exec_per_sec:     205\n\
                   ==12== ERROR: libFuzzer: timeout after 10 seconds\nSUMMARY: libFuzzer: timeout\n";
        assert_eq!(final_stat(log, "stat::number_of_executed_units"), Some(123456));
        assert_eq!(final_stat(log, "stat::average_exec_per_sec"), Some(205));
        assert_eq!(final_stat(log, "stat::peak_rss_mb"), None);
        assert_eq!(failure_kind(log), "timeout");
        let alloc = "==fp-fuzz== a single allocation of 600000000 bytes, above the limit of 536870912 bytes\n\
                     SUMMARY: libFuzzer: deadly signal\n";
        assert_eq!(failure_kind(alloc), "a single allocation of 600000000 bytes, above the limit of 536870912 bytes");
    }

    #[test]
    fn the_targets_are_the_binaries_of_fp_fuzz() {
        let names = target_names(&project_root().join("crates/fp-fuzz")).unwrap();
        assert_eq!(names, ["config", "fetch_archive", "fetch_manifest", "image", "model"]);
    }
}
