//! `cargo xtask soak`: kills training at random moments and checks that nothing
//! is lost.
//!
//! The soak trains a tiny model on tiny synthetic prints (16x16, a few dozen
//! checkpoints and history appends per second) with the built `fpae` binary,
//! and ends it `--kills` times: half of the kills are SIGKILLs at seeded random
//! moments (during start-up, or a random fraction of an epoch after a given
//! epoch was recorded), half abort the process at a named storage point through
//! fp-train's fault-injection test seam (`FPAE_FAULT=<point>:<n>`: between the
//! files of a checkpoint, before a rename, half-way through a history line...).
//! After each kill it continues the run (`fpae train --resume`), and at the end
//! compares it with an uninterrupted run of the same config: the history rows
//! (but their wall-clock columns), `checkpoints/last` and `best` (where they
//! point; `model.safetensors`, `model.toml` and `optimizer.safetensors` byte for
//! byte; `state.json` but its timings) and the list of files, which shows any
//! temporary or stray checkpoint left behind.
//!
//! In f32 on the CPU, and in bf16 as well where the CPU computes it natively
//! (AVX512-BF16 or AMX-BF16 in `/proc/cpuinfo`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::project_root;

/// Options of `cargo xtask soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How many times to kill the run (in each precision).
    #[arg(long, value_name = "N", default_value_t = 20)]
    kills: usize,
    /// Seed of the kill moments and of the run.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Soak the release build of fpae instead of the debug one.
    #[arg(long)]
    release: bool,
    /// Keep the soak's folder (under target/soak/) even when everything matched.
    #[arg(long)]
    keep: bool,
}

/// Environment variable of fp-train's fault-injection test seam.
pub const FAULT_ENV: &str = "FPAE_FAULT";

/// The storage points of fp-train's fault seam (`fp_train::fault::FaultPoint`;
/// xtask links no workspace crate, so the names are repeated here).
pub const FAULT_POINTS: [&str; 10] = [
    "checkpoint-after-weights",
    "checkpoint-after-optimizer",
    "checkpoint-before-rename",
    "checkpoint-before-links",
    "link-before-rename",
    "checkpoint-between-links",
    "prune-mid-remove",
    "history-mid-append",
    "history-between-files",
    "history-before-rename",
];

pub fn run(args: &SoakArgs) -> Result<()> {
    crate::libtorch::setup()?;
    let fpae = build_fpae(args.release)?;
    let work = project_root().join("target").join("soak").join(format!("seed-{}", args.seed));
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("cannot remove {}", work.display()))?;
    }
    let soak = Soak { fpae, kills: args.kills, seed: args.seed, work: work.clone() };
    match soak.run() {
        Ok(_) if !args.keep => {
            let _ = std::fs::remove_dir_all(&work);
            Ok(())
        }
        Ok(_) => {
            println!("the soak's runs are in {}", work.display());
            Ok(())
        }
        Err(e) => Err(e.context(format!("the soak's runs are kept in {}", work.display()))),
    }
}

/// Builds `fpae` with cargo and returns the path of the binary.
pub fn build_fpae(release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "-p", "fp-cli", "--bin", "fpae"];
    if release {
        args.push("--release");
    }
    cargo_fpae(&args)
}

/// Runs `cargo ARGS` (quietly) in the repository root and returns the `fpae`
/// binary it reports having built.
fn cargo_fpae(args: &[&str]) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root()).args(args).args(["--quiet", "--message-format=json-render-diagnostics"]);
    let out = cmd.stderr(Stdio::inherit()).output().context("cannot run cargo")?;
    if !out.status.success() {
        bail!("`cargo {}` failed ({})", args.join(" "), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let executable = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact" && m["target"]["name"] == "fpae" && m["profile"]["test"] == false
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from));
    executable.with_context(|| format!("`cargo {}` built no fpae executable", args.join(" ")))
}

/// The CPU's model name and whether it computes bf16 natively, from `/proc/cpuinfo`.
pub fn cpu() -> (String, bool) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    let flags = field("flags").unwrap_or_default();
    let bf16 = flags.split_whitespace().any(|f| f == "avx512_bf16" || f == "amx_bf16");
    (field("model name").unwrap_or_else(|| "unknown CPU".into()), bf16)
}

/// One soak: `kills` kills of a run in each precision the CPU has, in `work`.
#[derive(Debug)]
pub struct Soak {
    /// The `fpae` binary.
    pub fpae: PathBuf,
    /// Kills per precision.
    pub kills: usize,
    /// Seed of the kill moments and of the run.
    pub seed: u64,
    /// A folder for the data, the runs and the logs (created).
    pub work: PathBuf,
}

/// What a soak found, per precision.
#[derive(Debug)]
pub struct SoakReport {
    /// Precision, kills survived, seconds.
    pub precisions: Vec<(String, usize, f64)>,
}

/// One planned kill.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    /// SIGKILL a random fraction of the start-up time after the launch.
    Startup(f64),
    /// SIGKILL a random fraction of an epoch after the history has `epochs` rows.
    AfterEpoch { epochs: usize, fraction: f64 },
    /// Abort at a storage point, around epoch `epochs`.
    Fault { point: &'static str, epochs: usize },
}

/// SplitMix64: a few lines of seeded randomness, the same everywhere.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }
}

/// Epochs of the soak's run for `kills` kills: room for every kill to land
/// before the end, and a few checkpoints between kills.
fn epochs_for(kills: usize) -> usize {
    4 * kills + 20
}

/// The kills, seeded: half SIGKILLs, half faults at storage points, at epochs
/// spread over the run (in order) and never in its last 3 epochs, so every kill
/// lands before the run ends.
fn plan(seed: u64, kills: usize, epochs: usize) -> Vec<Plan> {
    let mut rng = Rng(seed);
    let mut at: Vec<usize> = (0..kills).map(|_| rng.below(epochs - 2)).collect();
    at.sort_unstable();
    at.into_iter()
        .map(|epochs| match rng.below(10) {
            0 | 1 => Plan::Startup(rng.unit()),
            2..=4 => Plan::AfterEpoch { epochs, fraction: rng.unit() },
            _ => Plan::Fault { point: FAULT_POINTS[rng.below(FAULT_POINTS.len())], epochs },
        })
        .collect()
}

/// How long the uninterrupted run took to start and per epoch.
#[derive(Debug, Clone, Copy)]
struct Timing {
    startup: Duration,
    epoch: Duration,
}

impl Soak {
    /// Runs the soak in f32, and in bf16 where the CPU has it; an error describes
    /// the first difference from the uninterrupted run.
    pub fn run(&self) -> Result<SoakReport> {
        let (model, bf16) = cpu();
        let precisions: &[&str] = if bf16 { &["f32", "bf16"] } else { &["f32"] };
        println!(
            "soak: {} kills per precision, seed {}, {}\nCPU: {model} ({})",
            self.kills,
            self.seed,
            self.fpae.strip_prefix(project_root()).unwrap_or(&self.fpae).display(),
            if bf16 { "AVX512-BF16: f32 and bf16" } else { "no AVX512-BF16 or AMX-BF16: f32 only" }
        );
        std::fs::create_dir_all(&self.work).with_context(|| format!("cannot create {}", self.work.display()))?;
        let data = self.work.join("data");
        write_prints(&data)?;
        let mut report = SoakReport { precisions: Vec::new() };
        for precision in precisions {
            let started = Instant::now();
            let survived = self.soak(precision, &data)?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{precision}: survived {survived} kills in {seconds:.1} s: the history, checkpoints/last and best \
                 (weights, optimizer state, state) are bit-identical to the uninterrupted run's, with no temporary \
                 or stray files"
            );
            report.precisions.push((precision.to_string(), survived, seconds));
        }
        Ok(report)
    }

    /// One precision: the uninterrupted run, the killed one, the comparison.
    fn soak(&self, precision: &str, data: &Path) -> Result<usize> {
        let dir = self.work.join(precision);
        std::fs::create_dir_all(&dir)?;
        let epochs = epochs_for(self.kills);
        let config = dir.join("soak.toml");
        std::fs::write(&config, config_text(data, &self.work.join("cache"), epochs, precision, self.seed))?;
        let reference = dir.join("uninterrupted");
        let timing = self.uninterrupted(&config, &reference, epochs)?;
        println!(
            "{precision}: uninterrupted run: {epochs} epochs, start-up {:.2} s, {:.1} ms per epoch (checkpoint and \
             history append included)",
            timing.startup.as_secs_f64(),
            timing.epoch.as_secs_f64() * 1e3
        );
        let run = dir.join("killed");
        let mut rng = Rng(self.seed ^ 0x5EED);
        let mut untidy = 0;
        for (i, planned) in plan(self.seed, self.kills, epochs).into_iter().enumerate() {
            let log = dir.join(format!("attempt-{:02}.log", i + 1));
            let epochs_before = epochs_done(&run);
            let (moment, status) = match planned {
                Plan::Startup(fraction) => {
                    let mut child = self.launch(&config, &run, None, &log)?;
                    let after = timing.startup.mul_f64(fraction);
                    std::thread::sleep(after);
                    (format!("SIGKILL {:.3} s after launch (start-up)", after.as_secs_f64()), kill(&mut child)?)
                }
                Plan::AfterEpoch { epochs: target, fraction } => {
                    let mut child = self.launch(&config, &run, None, &log)?;
                    let history = run.join("history.csv");
                    while history_rows(&history) < target && child.try_wait()?.is_none() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let after = timing.epoch.mul_f64(fraction);
                    std::thread::sleep(after);
                    let moment =
                        format!("SIGKILL {:.1} ms after epoch {target} was recorded", after.as_secs_f64() * 1e3);
                    (moment, kill(&mut child)?)
                }
                Plan::Fault { point, epochs: target } => {
                    let fault =
                        fault_spec(point, target, epochs_before, run.join("checkpoints/last").exists(), &mut rng);
                    let mut child = self.launch(&config, &run, Some(&fault), &log)?;
                    (format!("abort at {FAULT_ENV}={fault}"), child.wait()?)
                }
            };
            if status.success() {
                bail!("kill {}: the run finished before {moment}; see {}", i + 1, log.display());
            }
            if signal(&status).is_none() {
                bail!("kill {}: fpae failed ({status}) instead of being killed: {}", i + 1, tail(&log));
            }
            if moment.starts_with("abort") && signal(&status) != Some(SIGABRT) {
                bail!("kill {}: {moment} did not abort fpae ({status}): {}", i + 1, tail(&log));
            }
            let left = what_was_left(&run);
            if left != NOTHING_LEFT {
                untidy += 1;
            }
            println!("  kill {:>2}: {moment:<58} epochs {epochs_before:>3} -> {:>3}; {left}", i + 1, epochs_done(&run));
        }
        println!("{precision}: {untidy} of {} kills left something for the resume to tidy", self.kills);
        let log = dir.join("final.log");
        let status = self.launch(&config, &run, None, &log)?.wait()?;
        if !status.success() {
            bail!("the last resume failed ({status}): {}", tail(&log));
        }
        let differences = compare(&reference, &run)?;
        if !differences.is_empty() {
            bail!("{precision}: the killed run differs from the uninterrupted one:\n  {}", differences.join("\n  "));
        }
        Ok(self.kills)
    }

    /// The run without kills, timing its start-up (to the first history row) and epochs.
    fn uninterrupted(&self, config: &Path, run: &Path, epochs: usize) -> Result<Timing> {
        let log = run.with_extension("log");
        let started = Instant::now();
        let mut child = self.launch(config, run, None, &log)?;
        let history = run.join("history.csv");
        let mut first = None;
        let mut last = None;
        while child.try_wait()?.is_none() {
            let rows = history_rows(&history);
            if rows >= 1 && first.is_none() {
                first = Some(started.elapsed());
            }
            if rows >= epochs && last.is_none() {
                last = Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("the uninterrupted run failed ({status}): {}", tail(&log));
        }
        let end = started.elapsed();
        let (first, last) = (first.unwrap_or(end), last.unwrap_or(end));
        let epoch = (last.saturating_sub(first)).div_f64((epochs - 1) as f64);
        Ok(Timing { startup: first.saturating_sub(epoch), epoch })
    }

    /// Starts `fpae train` on `run`: a new run, or `--resume` once it has a config.
    fn launch(&self, config: &Path, run: &Path, fault: Option<&str>, log: &Path) -> Result<Child> {
        let mut cmd = Command::new(&self.fpae);
        cmd.args(["--threads", "1", "train"]);
        if run.join("config.toml").exists() {
            cmd.arg("--resume").arg(run);
        } else {
            cmd.arg(config).arg("--run-dir").arg(run);
        }
        cmd.current_dir(&self.work).env_remove("RUST_LOG").env_remove(FAULT_ENV);
        cmd.env("XDG_CACHE_HOME", self.work.join("cache"));
        if let Some(fault) = fault {
            cmd.env(FAULT_ENV, fault);
        }
        let file = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
        cmd.spawn().with_context(|| format!("cannot run {}", self.fpae.display()))
    }
}

/// `<point>:<n>` for a fault meant to land around epoch `target` of a run that
/// has `done` epochs: checkpoint and history points are reached once per epoch,
/// links once or twice; `best` and pruning only in some epochs, so those act at
/// their first visit; the history is rewritten (twice, CSV then JSON lines) only
/// when a run resumes from a checkpoint.
fn fault_spec(point: &'static str, target: usize, done: usize, has_checkpoint: bool, rng: &mut Rng) -> String {
    let n = match point {
        "history-before-rename" if has_checkpoint => 1 + rng.below(2),
        "history-before-rename" => return fault_spec("checkpoint-after-weights", target, done, false, rng),
        "checkpoint-between-links" | "prune-mid-remove" => 1,
        _ => target.saturating_sub(done).max(1),
    };
    format!("{point}:{n}")
}

/// The signal `std::process::abort` raises.
const SIGABRT: i32 = 6;

/// Sends SIGKILL and waits; the status of a process that had already ended is its own.
fn kill(child: &mut Child) -> Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let _ = child.kill();
    Ok(child.wait()?)
}

/// The signal that ended a process, if one did.
fn signal(status: &ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// The last lines of a log, to show why a process failed.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!("{}:\n{}", log.display(), lines[lines.len().saturating_sub(15)..].join("\n"))
}

/// Whole rows of a history file (the header and a torn last line not counted).
fn history_rows(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
}

/// Epochs done by the run's last checkpoint.
fn epochs_done(run: &Path) -> usize {
    let state = std::fs::read_to_string(run.join("checkpoints/last/state.json")).unwrap_or_default();
    serde_json::from_str::<Value>(&state).ok().and_then(|s| s["epochs_done"].as_u64()).unwrap_or(0) as usize
}

/// Whether a file name is a temporary that fpae writes before a rename.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && (name.contains(".tmp-") || name.contains(".partial"))
}

/// What [`what_was_left`] says of a run directory as a whole run has it.
const NOTHING_LEFT: &str = "left nothing to tidy";

/// What a kill left in the run directory that a whole run does not have.
fn what_was_left(run: &Path) -> String {
    let mut left = Vec::new();
    if !run.join("config.toml").exists() {
        left.push("no run yet".to_owned());
    }
    let temporaries: Vec<String> =
        files(run).into_iter().filter(|f| f.rsplit('/').next().is_some_and(is_temporary)).collect();
    if !temporaries.is_empty() {
        left.push(format!("temporaries {}", temporaries.join(" ")));
    }
    let csv = std::fs::read(run.join("history.csv")).unwrap_or_default();
    if csv.last().is_some_and(|&c| c != b'\n') {
        left.push("a torn history line".into());
    }
    let rows = history_rows(&run.join("history.csv"));
    let done = epochs_done(run);
    if rows != done && run.join("checkpoints/last").exists() {
        left.push(format!("history at epoch {rows}"));
    }
    let json_rows = std::fs::read(run.join("history.jsonl")).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    if json_rows != rows {
        left.push(format!("history.jsonl at epoch {json_rows}"));
    }
    let link = |l: &str| std::fs::read_link(run.join("checkpoints").join(l)).ok();
    let steps = files(&run.join("checkpoints")).into_iter().filter(|f| f.starts_with("step-") && !f.contains('/'));
    let stray: Vec<String> =
        steps.filter(|s| ![link("last"), link("best")].contains(&Some(PathBuf::from(s)))).collect();
    if !stray.is_empty() {
        left.push(format!("unlinked {}", stray.join(" ")));
    }
    if link("last").is_some() && link("best").is_none() {
        left.push("no best link".into());
    }
    if left.is_empty() { NOTHING_LEFT.into() } else { format!("left {}", left.join(", ")) }
}

/// Every file, folder and link under `dir`, relative, sorted (links not followed).
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The columns of `history.csv` and keys of `history.jsonl` that measure wall-clock time.
const WALL_CLOCK: [&str; 2] = ["seconds", "images_per_sec"];

/// `history.csv` without its wall-clock columns.
fn csv_rows(run: &Path) -> Result<Vec<String>> {
    let path = run.join("history.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let header: Vec<&str> = text.lines().next().unwrap_or_default().split(',').collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| !WALL_CLOCK.contains(&header[i])).collect();
    Ok(text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            keep.iter().map(|&i| fields.get(i).copied().unwrap_or("?")).collect::<Vec<_>>().join(",")
        })
        .collect())
}

/// A JSON value without wall-clock fields: records' `seconds` and
/// `images_per_sec`, the state's `partial_seconds`, at any depth.
fn without_wall_clock(mut value: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in WALL_CLOCK.iter().chain(&["partial_seconds"]) {
                    map.remove(*key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

fn json_lines(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .map(|l| serde_json::from_str(l).map(without_wall_clock).with_context(|| format!("{}: {l}", path.display())))
        .collect()
}

/// The differences between a run and the uninterrupted `reference`, in words.
fn compare(reference: &Path, run: &Path) -> Result<Vec<String>> {
    let mut diffs = Vec::new();
    let (want, got) = (csv_rows(reference)?, csv_rows(run)?);
    if want != got {
        let first = want.iter().zip(&got).position(|(a, b)| a != b).unwrap_or(want.len().min(got.len()));
        diffs.push(format!(
            "history.csv: {} rows against {}; first difference at line {}: {:?} against {:?}",
            got.len(),
            want.len(),
            first + 1,
            got.get(first),
            want.get(first)
        ));
    }
    if json_lines(&reference.join("history.jsonl"))? != json_lines(&run.join("history.jsonl"))? {
        diffs.push("history.jsonl differs".into());
    }
    for file in ["config.toml"] {
        if std::fs::read(reference.join(file))? != std::fs::read(run.join(file))? {
            diffs.push(format!("{file} differs"));
        }
    }
    for link in ["last", "best"] {
        let (a, b) = (reference.join("checkpoints").join(link), run.join("checkpoints").join(link));
        let (ta, tb) = (std::fs::read_link(&a).ok(), std::fs::read_link(&b).ok());
        if ta != tb {
            diffs.push(format!("checkpoints/{link} points at {tb:?}, the uninterrupted run's at {ta:?}"));
        }
        for file in ["model.safetensors", "model.toml", "optimizer.safetensors"] {
            match (std::fs::read(a.join(file)), std::fs::read(b.join(file))) {
                (Ok(x), Ok(y)) if x == y => {}
                (Ok(_), Ok(_)) => diffs.push(format!("checkpoints/{link}/{file} differs")),
                (_, Err(e)) | (Err(e), _) => diffs.push(format!("checkpoints/{link}/{file}: {e}")),
            }
        }
        let state = |dir: &Path| -> Result<Value> {
            let text = std::fs::read_to_string(dir.join("state.json"))?;
            Ok(without_wall_clock(serde_json::from_str(&text)?))
        };
        match (state(&a), state(&b)) {
            (Ok(x), Ok(y)) if x == y => {}
            (Ok(_), Ok(_)) => diffs.push(format!("checkpoints/{link}/state.json differs (wall-clock fields aside)")),
            (_, Err(e)) | (Err(e), _) => diffs.push(format!("checkpoints/{link}/state.json: {e}")),
        }
    }
    let (want, got) = (files(reference), files(run));
    let extra: Vec<&String> = got.iter().filter(|f| !want.contains(f)).collect();
    let missing: Vec<&String> = want.iter().filter(|f| !got.contains(f)).collect();
    if !extra.is_empty() {
        diffs.push(format!("files the uninterrupted run has not: {extra:?}"));
    }
    if !missing.is_empty() {
        diffs.push(format!("files missing: {missing:?}"));
    }
    Ok(diffs)
}

/// The soak's training config: the tutorial's network with 4 and 8 filters on
/// 16x16 images, batch 4, on the CPU, a checkpoint per epoch of 3 batches.
fn config_text(data: &Path, cache: &Path, epochs: usize, precision: &str, seed: u64) -> String {
    let quote = |p: &Path| serde_json::to_string(&p.to_string_lossy()).expect("a string serializes");
    let mut s = String::new();
    let _ = writeln!(s, "[data]\nroot = {}\nheight = 16\nwidth = 16\ncache_dir = {}\n", quote(data), quote(cache));
    let _ = writeln!(s, "[model]\nfilters = [4, 8]\n");
    let _ = write!(
        s,
        "[train]\nepochs = {epochs}\nbatch_size = 4\nseed = {seed}\ndevice = \"cpu\"\nprecision = \"{precision}\"\n"
    );
    s
}

/// Two databases of 4 fingers x 2 impressions: 20x20 ridge-like 8-bit BMPs,
/// named as FVC names them (`DB1_B/101_1.bmp`).
fn write_prints(root: &Path) -> Result<()> {
    for (d, db) in ["DB1_B", "DB2_B"].into_iter().enumerate() {
        let folder = root.join(db);
        std::fs::create_dir_all(&folder)?;
        for finger in 101..105u32 {
            for impression in 1..3u32 {
                let phase = (finger + impression) as f32 + d as f32 * 0.5;
                let pixel = |x: u32, y: u32| {
                    let v = (x as f32 * 0.8 + y as f32 * 0.3 + phase).sin() * 0.5 + 0.5;
                    (v * 250.0) as u8
                };
                std::fs::write(folder.join(format!("{finger}_{impression}.bmp")), bmp(20, 20, pixel))?;
            }
        }
    }
    Ok(())
}

/// An 8-bit grey BMP (a 256-entry grey palette, rows bottom-up, padded to 4 bytes).
fn bmp(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let row = width.div_ceil(4) * 4;
    let offset = 14 + 40 + 256 * 4;
    let size = offset + row * height;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"BM");
    for v in [size, 0, offset] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [40u32, width, height] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    for v in [0u32, row * height, 2835, 2835, 256, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for g in 0..=255u8 {
        out.extend_from_slice(&[g, g, g, 0]);
    }
    for y in (0..height).rev() {
        out.extend((0..width).map(|x| pixel(x, y)));
        out.extend(std::iter::repeat_n(0, (row - width) as usize));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_seeded_ordered_and_end_before_the_run() {
        let epochs = epochs_for(20);
        let a = plan(7, 20, epochs);
        assert_eq!(a, plan(7, 20, epochs));
        assert_ne!(a, plan(8, 20, epochs));
        let at = |p: &Plan| match p {
            Plan::Startup(_) => None,
            Plan::AfterEpoch { epochs, .. } | Plan::Fault { epochs, .. } => Some(*epochs),
        };
        let targets: Vec<usize> = a.iter().filter_map(at).collect();
        assert!(targets.is_sorted() && targets.iter().all(|&e| e + 3 <= epochs), "{targets:?}");
        let faults = plan(1, 400, epochs_for(400)).iter().filter(|p| matches!(p, Plan::Fault { .. })).count();
        assert!((160..240).contains(&faults), "{faults} faults of 400");
    }

    #[test]
    fn wall_clock_fields_are_left_out_of_comparisons() {
        let a: Value = serde_json::from_str(r#"{"epochs_done":2,"partial_seconds":1.5,"history":[{"epoch":1,"train_loss":0.5,"seconds":0.1,"images_per_sec":9.0}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"epochs_done":2,"partial_seconds":0.0,"history":[{"epoch":1,"train_loss":0.5,"seconds":0.7,"images_per_sec":3.0}]}"#).unwrap();
        assert_eq!(without_wall_clock(a.clone()), without_wall_clock(b));
        let c: Value = serde_json::from_str(r#"{"epochs_done":2,"history":[{"epoch":1,"train_loss":0.25}]}"#).unwrap();
        assert_ne!(without_wall_clock(a), without_wall_clock(c));
        assert!(is_temporary(".123.tmp-4-step-000012") && is_temporary(".out.partial-9") && !is_temporary(".lock"));
    }

    #[test]
    fn prints_are_valid_bmps() {
        let b = bmp(5, 3, |x, y| (x * 10 + y) as u8);
        assert_eq!(&b[..2], b"BM");
        assert_eq!(u32::from_le_bytes(b[2..6].try_into().unwrap()) as usize, b.len());
        assert_eq!(b.len(), 14 + 40 + 1024 + 8 * 3);
        // The last row in the file is the image's first: x = 0..5, y = 0.
        assert_eq!(&b[b.len() - 8..b.len() - 3], &[0, 10, 20, 30, 40]);
    }

    /// The soak in small: 5 kills of a real `fpae train`, then the comparison
    /// with the uninterrupted run (`cargo xtask soak` runs 20 or more).
    #[test]
    fn five_kills_lose_nothing() {
        // The fpae that `cargo test --workspace` builds for fp-cli's own tests: within that
        // run this only checks it is fresh, where `cargo build -p fp-cli` would build a
        // second copy of the dependencies with other features.
        let fpae = cargo_fpae(&["test", "--workspace", "--no-run"]).expect("fpae builds");
        let work = tempfile::tempdir().unwrap();
        let soak = Soak { fpae, kills: 5, seed: 3, work: work.path().to_owned() };
        let report = soak.run().unwrap_or_else(|e| panic!("{e:#}"));
        assert!(report.precisions.iter().all(|(_, kills, _)| *kills == 5), "{report:?}");
        assert_eq!(report.precisions[0].0, "f32");
    }
}
