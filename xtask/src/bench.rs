//! `cargo xtask bench train`: our training and inference throughput next to
//! PyTorch eager's, plain and with a tuned allocator (jemalloc or tcmalloc,
//! whichever is faster), measured in the same run on the same machine; as
//! GFLOP/s against the CPU's peak; at one thread and at all; and inference of
//! whole FVC2002 prints at their own sizes. With `--config`, a recipe's training
//! step (the restoration U-Net with its loss and optimiser) next to PyTorch's.
//!
//! Every measurement is repeated `--repeats` times, the repeats of all
//! measurements interleaved ([`repeats`]), and reported as the median with its
//! spread; the load of other processes is recorded for each run, and the bench
//! refuses to start on a busy machine unless `--force` ([`load`]).

pub(crate) mod load;
pub(crate) mod repeats;
pub(crate) mod work;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::{fetch, libtorch, project_root};
use work::{CpuInfo, Peak, Work};

/// Options of `cargo xtask bench train`.
#[derive(Debug, clap::Args)]
pub struct TrainBenchArgs {
    /// Device to measure: cpu, cuda or cuda:N.
    #[arg(long, value_name = "D", default_value = "cpu")]
    device: String,
    /// Images per step [default: 128, or the recipe's batch_size with --config].
    #[arg(long, value_name = "B")]
    batch: Option<usize>,
    /// Timed steps per measurement (the median is reported); 2 untimed steps come first.
    #[arg(long, value_name = "S", default_value_t = 5)]
    steps: usize,
    /// Height and width of the random images [default: 224, or the side the recipe trains on].
    #[arg(long, value_name = "PX")]
    size: Option<i64>,
    /// Measure this recipe's training step instead of the tutorial's (e.g. configs/restore.toml:
    /// the restoration U-Net on 128x128 crops with its batch, loss and optimiser), fpae against
    /// the PyTorch twin; training only, no inference, scaling or native-size rows.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Runs of each measurement (each the median of --steps steps), interleaved across the
    /// measurements (A B A B ...); the table shows their median and range.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Measure even when other processes keep more than 0.2 core busy (the result is marked
    /// "quiet": false and its numbers are not comparable with a quiet machine's).
    #[arg(long)]
    force: bool,
    /// Skip the PyTorch measurements.
    #[arg(long)]
    no_pytorch: bool,
    /// Measure bf16 even where the CPU has neither AVX512-BF16 nor AMX-BF16 (LibTorch
    /// emulates bf16 there, slower than f32, and these measurements are skipped).
    #[arg(long)]
    bf16: bool,
    /// Do not install missing allocators (Debian's libjemalloc2 and libtcmalloc-minimal4,
    /// with `apt-get install -y` when run as root).
    #[arg(long)]
    no_install: bool,
    /// Prints per batch of the native-size inference.
    #[arg(long, value_name = "B", default_value_t = 16)]
    native_batch: usize,
    /// Prints for the native-size inference [default: data/fvc2002, fetched when missing].
    #[arg(long, value_name = "DIR")]
    native_dir: Option<PathBuf>,
    /// Import FVC2002 from this folder when data/fvc2002 is missing (see fetch-data --from).
    #[arg(long, value_name = "PATH")]
    from: Option<PathBuf>,
    /// Skip the thread scaling (training at 1 thread).
    #[arg(long)]
    no_scaling: bool,
    /// Skip the profile of one PyTorch training step.
    #[arg(long)]
    no_profile: bool,
}

/// The allocator a PyTorch measurement runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alloc {
    Glibc,
    Jemalloc,
    Tcmalloc,
    /// The faster of jemalloc and tcmalloc, decided when it is needed.
    Tuned,
}

/// Who is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Torch(Alloc),
}

/// One measurement of the plan.
#[derive(Debug, Clone)]
struct Job {
    who: Who,
    mode: &'static str,
    /// f32 or bf16 (PyTorch's bf16 is autocast + channels-last).
    precision: &'static str,
    /// `Some(1)` for the thread scaling; none for the default (one thread per physical core).
    threads: Option<usize>,
    plain_upsampling: bool,
    native: bool,
}

impl Job {
    fn new(who: Who, mode: &'static str, precision: &'static str) -> Self {
        Self { who, mode, precision, threads: None, plain_upsampling: false, native: false }
    }

    /// The key of its result: `ours_train_f32`, `torch_infer_bf16cl_jemalloc`,
    /// `ours_train_f32_plain`, `torch_native_tuned`, ... (the tuned allocator's
    /// scaling and native-size runs under `_tuned`, whichever allocator it is).
    fn key(&self) -> String {
        let precision = match (self.who, self.precision) {
            (Who::Torch(_), "bf16") => "bf16cl",
            (_, p) => p,
        };
        let who = if self.who == Who::Ours { "ours" } else { "torch" };
        let mut key = if self.native { format!("{who}_native") } else { format!("{who}_{}_{precision}", self.mode) };
        if self.plain_upsampling {
            key.push_str("_plain");
        }
        if let Some(n) = self.threads {
            key.push_str(&format!("_{n}thread"));
        }
        match self.who {
            Who::Torch(Alloc::Jemalloc) => key.push_str("_jemalloc"),
            Who::Torch(Alloc::Tcmalloc) => key.push_str("_tcmalloc"),
            Who::Torch(Alloc::Tuned) => key.push_str("_tuned"),
            _ => {}
        }
        key
    }

    /// What it measures, for the progress lines; `who` as resolved (the tuned allocator named).
    fn label(&self, who: Who) -> String {
        let who = match who {
            Who::Ours => "fpae",
            Who::Torch(Alloc::Glibc) => "PyTorch",
            Who::Torch(Alloc::Jemalloc) => "PyTorch + jemalloc",
            Who::Torch(Alloc::Tcmalloc) => "PyTorch + tcmalloc",
            Who::Torch(Alloc::Tuned) => "PyTorch tuned",
        };
        let what = if self.native { "infer at native sizes".to_owned() } else { self.mode.to_owned() };
        let mut s = format!("{who}: {what} {}", self.precision);
        if self.plain_upsampling {
            s.push_str(", plain upsampling");
        }
        if let Some(n) = self.threads {
            s.push_str(&format!(", {n} thread"));
        }
        s
    }

    /// Rough relative cost, for the time-left estimate.
    fn cost(&self, default_threads: usize) -> f64 {
        let base = if self.mode == "train" && !self.native { 3.0 } else { 1.0 };
        let slow = if self.who == Who::Torch(Alloc::Glibc) { 2.0 } else { 1.0 };
        base * slow * self.threads.map_or(1.0, |n| default_threads.max(1) as f64 / n as f64)
    }
}

/// A number of one measurement (`fpae bench --json` and torch_bench.py print the same keys).
fn field(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

pub fn train(args: &TrainBenchArgs) -> Result<()> {
    let recipe = match &args.config {
        Some(path) => Some(std::fs::canonicalize(path).with_context(|| format!("--config {}", path.display()))?),
        None => None,
    };
    let provision = libtorch::setup()?;
    let python = match provision {
        libtorch::Provision::Managed { python } => python,
        libtorch::Provision::User => PathBuf::from("python3"),
    };
    crate::cargo(&["build", "--quiet", "-p", "fp-cli"], &[])?;
    let fpae = project_root().join("target").join("debug").join("fpae");
    let script = project_root().join("xtask").join("bench").join("torch_bench.py");

    let cpu = CpuInfo::parse(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let on_cpu = args.device == "cpu";
    let bf16_native = !on_cpu || cpu.bf16_native();
    let measure_bf16 = bf16_native || args.bf16;
    if !measure_bf16 {
        eprintln!(
            "this CPU has neither AVX512-BF16 nor AMX-BF16: bf16 is emulated (slower than f32), \
             so the bf16 measurements are skipped (--bf16 measures them anyway)"
        );
    }
    let allocators = if args.no_pytorch { Allocators::default() } else { Allocators::find(!args.no_install) };
    let native_dir = if recipe.is_some() { None } else { native_dir(args) };

    // Last before measuring: whatever the setup above ran is done.
    let (quiet_at_start, idle) = load::require_idle(args.force)?;

    let plan = plan(args, measure_bf16, bf16_native, &allocators, native_dir.is_some());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let repeats = args.repeats as usize;
    let order = repeats::interleaved(plan.len(), repeats);
    let mut runs: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut tuned: Option<Alloc> = None;
    let total_cost: f64 = repeats as f64 * plan.iter().map(|j| j.cost(threads)).sum::<f64>();
    let (mut done_cost, started) = (0.0, Instant::now());
    for (n, &(round, j)) in order.iter().enumerate() {
        let job = &plan[j];
        let who = match job.who {
            Who::Torch(Alloc::Tuned) => Who::Torch(*tuned.get_or_insert_with(|| allocators.faster(&aggregated(&runs)))),
            who => who,
        };
        let label = job.label(who);
        let left = if done_cost > 0.0 {
            let secs = started.elapsed().as_secs_f64() / done_cost * (total_cost - done_cost);
            format!(", about {:.0} min left", (secs / 60.0).ceil())
        } else {
            String::new()
        };
        eprintln!("[{}/{}] round {}/{repeats}: {label} ...{left}", n + 1, order.len(), round + 1);
        let mut cmd = match who {
            Who::Ours => ours_command(&fpae, args, job, native_dir.as_deref(), recipe.as_deref()),
            Who::Torch(alloc) => {
                let mut cmd = torch_command(&python, &script, args, job, native_dir.as_deref(), recipe.as_deref());
                allocators.preload(&mut cmd, alloc);
                cmd
            }
        };
        let before = load::sample();
        match json_line(&mut cmd) {
            Ok(mut v) => {
                v["other_load"] = load::other_load_since(before.as_ref());
                runs.entry(job.key()).or_default().push(v);
            }
            Err(e) => {
                eprintln!("warning: {label} failed: {e:#}");
                failed.push(format!("{label} (round {})", round + 1));
            }
        }
        done_cost += job.cost(threads);
    }
    let results = aggregated(&runs);
    let busiest = busiest_run(&runs);
    let quiet = quiet_at_start && busiest.as_ref().is_none_or(|(_, l)| *l <= load::IDLE_THRESHOLD_CORES);
    if let (true, Some((key, l))) = (quiet_at_start && !quiet, &busiest) {
        eprintln!(
            "warning: other processes became busy during the measurements (up to {l:.2} cores, in a run of \
             {key}): the result is marked \"quiet\": false"
        );
    }
    let tuned = tuned.or_else(|| (!args.no_pytorch).then(|| allocators.faster(&results)));
    if let (Some(a), Some(b)) = (results.get("ours_native"), results.get("torch_native_tuned"))
        && (&a["images"], &a["padded_pixels"]) != (&b["images"], &b["padded_pixels"])
    {
        eprintln!("warning: fpae and PyTorch batched the prints at their own sizes differently: {a} / {b}");
    }
    let same = ["batch", "size", "model", "loss"];
    if let (Some(a), Some(b)) = (results.get("ours_train_f32"), results.get("torch_train_f32"))
        && same.iter().any(|k| a[k] != b[k])
    {
        eprintln!(
            "warning: fpae and PyTorch trained different setups: {} / {}",
            json!(same.map(|k| &a[k])),
            json!(same.map(|k| &b[k]))
        );
    }
    let profile = match (tuned, args.no_profile || recipe.is_some()) {
        (Some(alloc), false) => {
            eprintln!("profiling one PyTorch training step (f32, {}) ...", alloc_name(alloc));
            profile_torch(&python, &script, args, &allocators, alloc)
        }
        _ => None,
    };
    let data = if recipe.is_some() { None } else { data_load_times()? };

    let peak = if on_cpu {
        let max_khz = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        Peak::derive(&cpu, max_khz, threads)
    } else {
        None
    };
    // The batch and size measured: the recipe's, as fpae resolved them.
    let measured = |k: &str| results.get("ours_train_f32").and_then(|v| v[k].as_i64());
    let batch = args.batch.map(|b| b as i64).or(measured("batch")).unwrap_or(128);
    let size = args.size.or(measured("size")).unwrap_or(224);
    let work = recipe.is_none().then(|| Work::tutorial(size));
    let report = summarise(
        &Setting {
            args,
            cpu: &cpu,
            peak: peak.as_ref(),
            work: work.as_ref(),
            tuned,
            bf16_native,
            batch,
            size,
            recipe: recipe.as_deref(),
            quiet,
            idle: &idle,
        },
        &results,
        data.as_ref(),
    );
    if let Some(profile) = profile {
        println!("\n{profile}");
    }
    print_table(&report, work.as_ref(), peak.as_ref());
    let dir = project_root().join("target").join("bench");
    let name = if recipe.is_some() { "train-recipe.json" } else { "train.json" };
    let path = dir.join(name);
    crate::bench_restore::write_atomically(&path, &(serde_json::to_string_pretty(&report)? + "\n"))?;
    eprintln!("written to {}", path.display());
    println!("{}", serde_json::to_string(&report)?);
    if !failed.is_empty() {
        bail!("{} measurement(s) failed: {}", failed.len(), failed.join("; "));
    }
    Ok(())
}

/// Each measurement's repeats as one result ([`repeats::aggregate`]), by key.
fn aggregated(runs: &BTreeMap<String, Vec<Value>>) -> Map<String, Value> {
    runs.iter().filter_map(|(k, v)| Some((k.clone(), repeats::aggregate(v)?))).collect()
}

/// The run during which other processes were busiest: its measurement's key and that load.
fn busiest_run(runs: &BTreeMap<String, Vec<Value>>) -> Option<(String, f64)> {
    runs.iter()
        .flat_map(|(k, v)| v.iter().filter_map(move |r| Some((k.clone(), r["other_load"].as_f64()?))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The measurements, in order: ours, PyTorch with each allocator, then the
/// thread scaling and the native-size inference with the tuned allocator; with
/// a recipe (--config), the training ones only.
fn plan(args: &TrainBenchArgs, measure_bf16: bool, bf16_native: bool, alloc: &Allocators, native: bool) -> Vec<Job> {
    let precisions: &[&'static str] = if measure_bf16 { &["f32", "bf16"] } else { &["f32"] };
    let recipe = args.config.is_some();
    let modes: &[&'static str] = if recipe { &["train"] } else { &["train", "infer"] };
    let mut plan = Vec::new();
    for &p in precisions {
        plan.push(Job::new(Who::Ours, "train", p));
        if p == "f32" && !recipe {
            plan.push(Job { plain_upsampling: true, ..Job::new(Who::Ours, "train", p) });
        }
        if !recipe {
            plan.push(Job::new(Who::Ours, "infer", p));
        }
    }
    let native_precision = if bf16_native { "bf16" } else { "f32" };
    let native = native && !recipe;
    if !args.no_scaling && !recipe {
        plan.push(Job { threads: Some(1), ..Job::new(Who::Ours, "train", "f32") });
    }
    if native {
        plan.push(Job { native: true, ..Job::new(Who::Ours, "infer", native_precision) });
    }
    if args.no_pytorch {
        return plan;
    }
    let mut allocs = vec![Alloc::Glibc];
    allocs.extend(alloc.jemalloc.as_ref().map(|_| Alloc::Jemalloc));
    allocs.extend(alloc.tcmalloc.as_ref().map(|_| Alloc::Tcmalloc));
    for a in allocs {
        for &p in precisions {
            for &mode in modes {
                plan.push(Job::new(Who::Torch(a), mode, p));
            }
        }
    }
    if !args.no_scaling && !recipe {
        plan.push(Job { threads: Some(1), ..Job::new(Who::Torch(Alloc::Tuned), "train", "f32") });
    }
    if native {
        plan.push(Job { native: true, ..Job::new(Who::Torch(Alloc::Tuned), "infer", native_precision) });
    }
    plan
}

/// The options fpae bench and torch_bench.py share. With a recipe, the batch
/// and size are the recipe's unless given, resolved by each program the same way.
fn common(args: &TrainBenchArgs, job: &Job, precision: &str, recipe: Option<&Path>) -> Vec<String> {
    let mut v: Vec<String> =
        ["--precision", precision, "--device", &args.device, "--steps"].into_iter().map(String::from).collect();
    if job.native {
        // One timed pass over every print; the warm-up runs one batch of each padded size.
        v.extend(["1".into(), "--warmup".into(), "1".into(), "--batch".into(), args.native_batch.to_string()]);
        return v;
    }
    v.extend([args.steps.to_string(), "--warmup".into(), "2".into(), "--mode".into(), job.mode.into()]);
    let (batch, size) = match recipe {
        Some(path) => {
            v.extend(["--config".into(), path.display().to_string()]);
            (args.batch, args.size)
        }
        None => (Some(args.batch.unwrap_or(128)), Some(args.size.unwrap_or(224))),
    };
    if let Some(b) = batch {
        v.extend(["--batch".into(), b.to_string()]);
    }
    if let Some(s) = size {
        v.extend(["--size".into(), s.to_string()]);
    }
    v
}

fn ours_command(
    fpae: &Path,
    args: &TrainBenchArgs,
    job: &Job,
    native_dir: Option<&Path>,
    recipe: Option<&Path>,
) -> Command {
    let mut cmd = Command::new(fpae);
    if let Some(n) = job.threads {
        cmd.args(["--threads", &n.to_string()]);
    }
    cmd.args(["bench", "--json"]).args(common(args, job, job.precision, recipe));
    if job.plain_upsampling {
        cmd.arg("--plain-upsampling");
    }
    if let (true, Some(dir)) = (job.native, native_dir) {
        cmd.arg("--native").arg(dir);
    }
    cmd
}

fn torch_command(
    python: &Path,
    script: &Path,
    args: &TrainBenchArgs,
    job: &Job,
    native_dir: Option<&Path>,
    recipe: Option<&Path>,
) -> Command {
    let precision = if job.precision == "bf16" { "bf16cl" } else { "f32" };
    let mut cmd = Command::new(python);
    cmd.arg(script).args(common(args, job, precision, recipe));
    if let Some(n) = job.threads {
        cmd.args(["--threads", &n.to_string()]);
    }
    if let (true, Some(dir)) = (job.native, native_dir) {
        cmd.arg("--native").arg(dir);
    }
    cmd
}

/// One PyTorch training step (f32) under torch.profiler: its table of the top
/// operators by self CPU time, or none (with a warning) when it fails.
fn profile_torch(
    python: &Path,
    script: &Path,
    args: &TrainBenchArgs,
    allocators: &Allocators,
    alloc: Alloc,
) -> Option<String> {
    let job = Job::new(Who::Torch(alloc), "train", "f32");
    let mut cmd = torch_command(python, script, args, &job, None, None);
    cmd.arg("--profile");
    allocators.preload(&mut cmd, alloc);
    match cmd.output() {
        Ok(out) if out.status.success() => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            // Everything but the JSON line.
            let lines: Vec<&str> = stdout.lines().collect();
            Some(lines[..lines.len().saturating_sub(1)].join("\n"))
        }
        Ok(out) => {
            eprintln!("warning: the PyTorch profile failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
            None
        }
        Err(e) => {
            eprintln!("warning: cannot run the PyTorch profile: {e}");
            None
        }
    }
}

/// The prints of the native-size inference: --native-dir, or data/fvc2002
/// (fetched when missing); none when they cannot be had.
fn native_dir(args: &TrainBenchArgs) -> Option<PathBuf> {
    if let Some(dir) = &args.native_dir {
        return Some(dir.clone());
    }
    let data = fetch::Dataset::Fvc2002.data_dir();
    if !data.is_dir() {
        eprintln!("{} is missing: fetching it for the native-size inference ...", data.display());
        if let Err(e) = fetch::run(&fetch::FetchArgs::new(fetch::Dataset::Fvc2002, args.from.clone())) {
            eprintln!(
                "warning: cannot fetch FVC2002 ({e:#}): native-size inference and data load times skipped \
                 (run `cargo xtask fetch-data`, or pass --from)"
            );
            return None;
        }
    }
    Some(data)
}

/// The allocators PyTorch can run with, preloaded, besides glibc's.
#[derive(Debug, Default)]
pub(crate) struct Allocators {
    pub(crate) jemalloc: Option<PathBuf>,
    pub(crate) tcmalloc: Option<PathBuf>,
}

const LIB_DIRS: [&str; 3] = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];

/// The first of `names` in one of [`LIB_DIRS`].
fn system_library(names: &[&str]) -> Option<PathBuf> {
    names.iter().flat_map(|n| LIB_DIRS.iter().map(move |d| Path::new(d).join(n))).find(|p| p.is_file())
}

impl Allocators {
    fn detect() -> Self {
        Self {
            jemalloc: system_library(&["libjemalloc.so.2"]),
            tcmalloc: system_library(&["libtcmalloc_minimal.so.4", "libtcmalloc.so.4"]),
        }
    }

    /// The installed allocators, installing the missing ones first when `install`
    /// and this is a Debian-like system run as root; otherwise says how to.
    pub(crate) fn find(install: bool) -> Self {
        let found = Self::detect();
        let missing: Vec<&str> =
            [(found.jemalloc.is_none(), "libjemalloc2"), (found.tcmalloc.is_none(), "libtcmalloc-minimal4")]
                .into_iter()
                .filter_map(|(m, pkg)| m.then_some(pkg))
                .collect();
        if missing.is_empty() {
            return found;
        }
        if install && crate::debian::can_install() {
            eprintln!("installing {} for the tuned PyTorch columns (apt-get install -y) ...", missing.join(" "));
            if !crate::debian::apt_install(&missing) {
                eprintln!("warning: apt-get could not install {}", missing.join(" "));
            }
        }
        let found = Self::detect();
        let still: Vec<&str> =
            [(found.jemalloc.is_none(), "libjemalloc2"), (found.tcmalloc.is_none(), "libtcmalloc-minimal4")]
                .into_iter()
                .filter_map(|(m, pkg)| m.then_some(pkg))
                .collect();
        if !still.is_empty() {
            eprintln!(
                "{} not installed: PyTorch is measured without {}. To include {}, install it \
                 (Debian/Ubuntu: `sudo apt-get install {}`) and run the bench again.",
                still.join(" and "),
                if still.len() == 2 { "them" } else { "it" },
                if still.len() == 2 { "them" } else { "it" },
                still.join(" ")
            );
        }
        found
    }

    /// Preloads `alloc` into `cmd`, with settings that keep freed pages for
    /// reuse as fpae's jemalloc does.
    pub(crate) fn preload(&self, cmd: &mut Command, alloc: Alloc) {
        match (alloc, &self.jemalloc, &self.tcmalloc) {
            (Alloc::Jemalloc, Some(lib), _) => {
                cmd.env("LD_PRELOAD", lib).env("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1");
            }
            (Alloc::Tcmalloc, _, Some(lib)) => {
                // Never return freed memory to the OS; no report of every large allocation.
                cmd.env("LD_PRELOAD", lib)
                    .env("TCMALLOC_RELEASE_RATE", "0")
                    .env("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", "1099511627776");
            }
            _ => {}
        }
    }

    /// The faster of jemalloc and tcmalloc in f32 training (whichever measured;
    /// glibc when neither did).
    fn faster(&self, results: &Map<String, Value>) -> Alloc {
        let ips = |k: &str| results.get(k).map_or(f64::NAN, |v| field(v, "images_per_sec"));
        faster_allocator(ips("torch_train_f32_jemalloc"), ips("torch_train_f32_tcmalloc"))
    }
}

/// The tuned allocator given jemalloc's and tcmalloc's f32 training
/// throughputs (NaN where not measured).
fn faster_allocator(jemalloc: f64, tcmalloc: f64) -> Alloc {
    match (jemalloc.is_finite(), tcmalloc.is_finite()) {
        (true, true) if tcmalloc > jemalloc => Alloc::Tcmalloc,
        (true, _) => Alloc::Jemalloc,
        (false, true) => Alloc::Tcmalloc,
        (false, false) => Alloc::Glibc,
    }
}

pub(crate) fn alloc_name(alloc: Alloc) -> &'static str {
    match alloc {
        Alloc::Glibc => "glibc",
        Alloc::Jemalloc => "jemalloc",
        Alloc::Tcmalloc => "tcmalloc",
        Alloc::Tuned => "tuned",
    }
}

/// Runs a command and parses the last line of its output as JSON.
fn json_line(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{cmd:?} failed ({}):\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr));
    }
    last_json(&stdout).with_context(|| format!("{cmd:?} printed no JSON"))
}

/// The JSON object on the last non-empty line of `stdout` (what fpae bench and
/// torch_bench.py print after anything else).
fn last_json(stdout: &str) -> Result<Value> {
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let value: Value = serde_json::from_str(line).with_context(|| format!("not JSON: {line:?}"))?;
    if !value.is_object() {
        bail!("not a JSON object: {line:?}");
    }
    Ok(value)
}

/// Cold and cached load times of data/fvc2002, when the data is there.
fn data_load_times() -> Result<Option<Value>> {
    let data = fetch::Dataset::Fvc2002.data_dir();
    if !data.is_dir() {
        eprintln!("{} is missing: data load times skipped (run `cargo xtask fetch-data`)", data.display());
        return Ok(None);
    }
    eprintln!("data loading ...");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root())
        .args(["run", "--quiet", "--release", "-p", "fp-data", "--example", "bench_load", "--"])
        .arg(&data);
    json_line(&mut cmd).map(Some)
}

/// What the summary needs besides the measurements.
struct Setting<'a> {
    args: &'a TrainBenchArgs,
    cpu: &'a CpuInfo,
    peak: Option<&'a Peak>,
    /// The tutorial network's arithmetic; none for a recipe.
    work: Option<&'a Work>,
    tuned: Option<Alloc>,
    bf16_native: bool,
    /// Images per step and their side, as measured.
    batch: i64,
    size: i64,
    /// The recipe measured (--config).
    recipe: Option<&'a Path>,
    /// Whether the machine was idle before and during every run.
    quiet: bool,
    idle: &'a load::IdleCheck,
}

/// The layers fpae computed as sub-pixel convolutions in the measurement
/// `result`: its `subpixel_layers`, or, from an fpae that does not list them,
/// every layer that can be when its `subpixel` is true.
fn subpixel_layers(result: Option<&Value>, work: &Work) -> Vec<String> {
    match result {
        Some(v) if v["subpixel_layers"].is_array() => {
            v["subpixel_layers"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(String::from)).collect()
        }
        Some(v) if v["subpixel"] == false => Vec::new(),
        _ => work.subpixel_capable(),
    }
}

fn summarise(cx: &Setting<'_>, results: &Map<String, Value>, data: Option<&Value>) -> Value {
    let get = |k: &str, f: &str| results.get(k).map_or(f64::NAN, |v| field(v, f));
    // Ours and PyTorch's results by key without the `ours_` / `torch_` prefix.
    let o = |k: &str| get(&format!("ours_{k}"), "images_per_sec");
    let t = |k: &str| get(&format!("torch_{k}"), "images_per_sec");
    let o_rss = |k: &str| get(&format!("ours_{k}"), "peak_rss_mb");
    let t_rss = |k: &str| get(&format!("torch_{k}"), "peak_rss_mb");
    let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    let ratio = |a: f64, b: f64| num(a / b);
    // The tuned allocator's main measurements are its own (`_jemalloc`,
    // `_tcmalloc`); its scaling and native-size ones are under `_tuned`.
    let tuned_suffix = match cx.tuned {
        Some(Alloc::Jemalloc) => "_jemalloc",
        Some(Alloc::Tcmalloc) => "_tcmalloc",
        _ => "",
    };
    let tuned = |k: &str| if cx.tuned.is_some() { t(&format!("{k}{tuned_suffix}")) } else { f64::NAN };
    let tuned_rss = |k: &str| if cx.tuned.is_some() { t_rss(&format!("{k}{tuned_suffix}")) } else { f64::NAN };
    // The ratios of the runs of the same round (run one after the other), their
    // median and range: how much the ratio itself moved.
    let paired = |ours: &str, torch: &str| {
        let repeats = |k: &str| -> Vec<f64> {
            results
                .get(k)
                .and_then(|v| v["images_per_sec_repeats"].as_array().cloned())
                .map_or_else(Vec::new, |a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        };
        let ratios: Vec<f64> = repeats(ours).iter().zip(repeats(torch)).map(|(a, b)| a / b).collect();
        repeats::spread(&ratios)
            .map_or(Value::Null, |s| json!({"median": num(s.median), "min": num(s.min), "max": num(s.max)}))
    };
    let torch_best_infer = t("infer_f32").max(t("infer_bf16cl"));
    let tuned_best_infer = tuned("infer_f32").max(tuned("infer_bf16cl"));
    let ours_best_infer = o("infer_f32").max(o("infer_bf16"));
    // Model FLOPs (the plain network) per image, and what fpae executes with its sub-pixel layers.
    let per_image = |f: &dyn Fn(&Work) -> f64| cx.work.map_or(f64::NAN, |w| f(w) / 1e9);
    let layers = cx.work.map(|w| subpixel_layers(results.get("ours_train_f32"), w)).unwrap_or_default();
    let train_gflop = per_image(&Work::train_flops);
    let forward_gflop = per_image(&Work::forward_flops);
    let ours_train_gflop = per_image(&|w| w.train_flops_executed(&layers));
    let ours_forward_gflop = per_image(&|w| w.forward_flops_executed(&layers));
    let native = |k: &str| results.get("ours_native").map_or(Value::Null, |v| v[k].clone());
    let fields: Vec<(&str, Value)> = vec![
        ("ours_f32_train_ips", json!(num(o("train_f32")))),
        ("ours_bf16_train_ips", json!(num(o("train_bf16")))),
        ("torch_f32_train_ips", json!(num(t("train_f32")))),
        ("torch_bf16cl_train_ips", json!(num(t("train_bf16cl")))),
        ("ours_f32_infer_ips", json!(num(o("infer_f32")))),
        ("ours_bf16_infer_ips", json!(num(o("infer_bf16")))),
        ("torch_f32_infer_ips", json!(num(t("infer_f32")))),
        ("torch_bf16cl_infer_ips", json!(num(t("infer_bf16cl")))),
        ("torch_best_infer_ips", json!(num(torch_best_infer))),
        ("torch_jemalloc_f32_train_ips", json!(num(t("train_f32_jemalloc")))),
        ("torch_jemalloc_bf16cl_train_ips", json!(num(t("train_bf16cl_jemalloc")))),
        ("torch_jemalloc_f32_infer_ips", json!(num(t("infer_f32_jemalloc")))),
        ("torch_jemalloc_bf16cl_infer_ips", json!(num(t("infer_bf16cl_jemalloc")))),
        ("torch_jemalloc_bf16cl_peak_rss_mb", json!(num(t_rss("train_bf16cl_jemalloc")))),
        ("torch_tcmalloc_f32_train_ips", json!(num(t("train_f32_tcmalloc")))),
        ("torch_tcmalloc_bf16cl_train_ips", json!(num(t("train_bf16cl_tcmalloc")))),
        ("torch_tcmalloc_f32_infer_ips", json!(num(t("infer_f32_tcmalloc")))),
        ("torch_tcmalloc_bf16cl_infer_ips", json!(num(t("infer_bf16cl_tcmalloc")))),
        ("torch_tuned_allocator", json!(cx.tuned.map_or(Value::Null, |a| json!(alloc_name(a))))),
        ("torch_tuned_f32_train_ips", json!(num(tuned("train_f32")))),
        ("torch_tuned_bf16_train_ips", json!(num(tuned("train_bf16cl")))),
        ("torch_tuned_f32_infer_ips", json!(num(tuned("infer_f32")))),
        ("torch_tuned_bf16_infer_ips", json!(num(tuned("infer_bf16cl")))),
        ("torch_tuned_best_infer_ips", json!(num(tuned_best_infer))),
        ("torch_tuned_f32_peak_rss_mb", json!(num(tuned_rss("train_f32")))),
        ("ours_f32_train_plain_ips", json!(num(o("train_f32_plain")))),
        ("ours_peak_rss_mb", json!(num(o_rss("train_bf16")))),
        ("torch_peak_rss_mb", json!(num(t_rss("train_bf16cl")))),
        ("ours_f32_peak_rss_mb", json!(num(o_rss("train_f32")))),
        ("torch_f32_peak_rss_mb", json!(num(t_rss("train_f32")))),
        ("ratio_f32_train", json!(ratio(o("train_f32"), t("train_f32")))),
        ("ratio_bf16_train", json!(ratio(o("train_bf16"), t("train_bf16cl")))),
        ("ratio_bf16_over_f32_ours", json!(ratio(o("train_bf16"), o("train_f32")))),
        ("ratio_infer_best", json!(ratio(ours_best_infer, torch_best_infer))),
        ("ratio_peak_rss", json!(ratio(o_rss("train_bf16"), t_rss("train_bf16cl")))),
        ("ratio_f32_train_tuned", json!(ratio(o("train_f32"), tuned("train_f32")))),
        ("ratio_bf16_train_tuned", json!(ratio(o("train_bf16"), tuned("train_bf16cl")))),
        ("ratio_f32_train_paired", paired("ours_train_f32", "torch_train_f32")),
        ("ratio_bf16_train_paired", paired("ours_train_bf16", "torch_train_bf16cl")),
        ("ratio_f32_train_tuned_paired", paired("ours_train_f32", &format!("torch_train_f32{tuned_suffix}"))),
        ("ratio_bf16_train_tuned_paired", paired("ours_train_bf16", &format!("torch_train_bf16cl{tuned_suffix}"))),
        ("ratio_infer_best_tuned", json!(ratio(ours_best_infer, tuned_best_infer))),
        ("ratio_subpixel_over_plain", json!(ratio(o("train_f32"), o("train_f32_plain")))),
        ("ours_native_infer_ips", json!(num(o("native")))),
        ("torch_tuned_native_infer_ips", json!(num(t("native_tuned")))),
        ("ratio_native_infer", json!(ratio(o("native"), t("native_tuned")))),
        ("native_images", json!(native("images"))),
        ("native_batch", json!(cx.args.native_batch)),
        ("native_pixels", json!(native("pixels"))),
        ("native_padded_pixels", json!(native("padded_pixels"))),
        ("native_precision", json!(native("compute"))),
        ("ours_f32_train_1thread_ips", json!(num(o("train_f32_1thread")))),
        ("torch_tuned_f32_train_1thread_ips", json!(num(t("train_f32_1thread_tuned")))),
        ("ours_thread_speedup", json!(ratio(o("train_f32"), o("train_f32_1thread")))),
        ("torch_tuned_thread_speedup", json!(ratio(tuned("train_f32"), t("train_f32_1thread_tuned")))),
        // Model FLOPs: the plain network's, the same for both programs.
        ("forward_gflop_per_image", json!(num(forward_gflop))),
        ("train_gflop_per_image", json!(num(train_gflop))),
        // Executed by fpae, its sub-pixel layers at their own cost.
        ("subpixel_layers", json!(layers)),
        ("forward_gflop_per_image_subpixel", json!(num(ours_forward_gflop))),
        ("train_gflop_per_image_subpixel", json!(num(ours_train_gflop))),
        ("peak_gflops_f32", json!(cx.peak.map_or(Value::Null, |p| json!(p.f32_gflops)))),
        ("peak_gflops_bf16", json!(cx.peak.and_then(|p| p.bf16_gflops).map_or(Value::Null, |g| json!(g)))),
        // `_gflops`: executed FLOPs per second (PyTorch and the plain upsampling execute the model's).
        ("ours_f32_train_gflops", json!(num(o("train_f32") * ours_train_gflop))),
        ("ours_bf16_train_gflops", json!(num(o("train_bf16") * ours_train_gflop))),
        ("ours_f32_infer_gflops", json!(num(o("infer_f32") * ours_forward_gflop))),
        ("ours_bf16_infer_gflops", json!(num(o("infer_bf16") * ours_forward_gflop))),
        ("ours_f32_train_plain_gflops", json!(num(o("train_f32_plain") * train_gflop))),
        // `_model_gflops`: model FLOPs per second, the useful work.
        ("ours_f32_train_model_gflops", json!(num(o("train_f32") * train_gflop))),
        ("ours_bf16_train_model_gflops", json!(num(o("train_bf16") * train_gflop))),
        ("ours_f32_infer_model_gflops", json!(num(o("infer_f32") * forward_gflop))),
        ("ours_bf16_infer_model_gflops", json!(num(o("infer_bf16") * forward_gflop))),
        ("torch_tuned_f32_train_gflops", json!(num(tuned("train_f32") * train_gflop))),
        ("torch_tuned_bf16_train_gflops", json!(num(tuned("train_bf16cl") * train_gflop))),
        ("torch_tuned_f32_infer_gflops", json!(num(tuned("infer_f32") * forward_gflop))),
        ("torch_tuned_bf16_infer_gflops", json!(num(tuned("infer_bf16cl") * forward_gflop))),
        ("bf16_native", json!(cx.bf16_native)),
        ("data_cold_ms", json!(data.map_or(Value::Null, |d| d["cold_ms"].clone()))),
        ("data_cached_ms", json!(data.map_or(Value::Null, |d| d["cached_ms"].clone()))),
        ("threads", json!(results.get("ours_train_f32").map_or(Value::Null, |v| v["threads"].clone()))),
        ("cpu", json!(cx.cpu.model)),
        ("device", json!(cx.args.device)),
        ("batch", json!(cx.batch)),
        ("size", json!(cx.size)),
        ("steps", json!(cx.args.steps)),
        ("config", json!(cx.recipe.map(|p| p.display().to_string()))),
        ("model", results.get("ours_train_f32").map_or(Value::Null, |v| v["model"].clone())),
        ("loss", results.get("ours_train_f32").map_or(Value::Null, |v| v["loss"].clone())),
        ("repeats", json!(cx.args.repeats)),
        ("quiet", json!(cx.quiet)),
        ("idle_check", cx.idle.to_json()),
        (
            "other_load_max",
            json!(num(results
                .values()
                .flat_map(|v| v["other_load"].as_array().cloned().unwrap_or_default())
                .filter_map(|l| l.as_f64())
                .fold(f64::NAN, f64::max))),
        ),
        // Every measurement: the median of its repeats (images_per_sec), their range and
        // quartiles, each repeat's value and the other processes' load during it.
        ("measurements", Value::Object(results.clone())),
    ];
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A measurement's median with the range of its repeats, `12.3 (11.9-12.8)`;
/// the median alone for one repeat, `-` when not measured.
fn spread_cell(m: &Value) -> String {
    let f = |k: &str| m[k].as_f64();
    match (f("images_per_sec"), f("images_per_sec_min"), f("images_per_sec_max")) {
        (Some(med), Some(lo), Some(hi)) if m["repeats"].as_u64().unwrap_or(1) > 1 => {
            format!("{med:.1} ({lo:.1}-{hi:.1})")
        }
        (Some(med), _, _) => format!("{med:.1}"),
        _ => "-".into(),
    }
}

/// The training measurements of a recipe's report (`--config`) in Markdown, one
/// row per measurement, f32 first, then bf16 where it was measured: crops per second
/// (the median of the runs, their range and every run's), the load other processes
/// put on the machine during each run, the peak RSS and the speed over fpae's in the
/// same precision; docs-check renders docs/performance.md's restoration training
/// tables from the JSON with it.
pub(crate) fn recipe_table(r: &Value) -> String {
    let m = &r["measurements"];
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let fixed = |v: f64, d: usize| if v.is_finite() { format!("{v:.d$}") } else { "n/a".to_owned() };
    let list = |v: &Value, d: usize| -> String {
        let items: Vec<String> = v.as_array().into_iter().flatten().map(|x| fixed(num(x), d)).collect();
        items.join(", ")
    };
    let mut out = String::from(
        "| training step | crops/s | runs (crops/s) | other load (cores) | peak RSS (MB) | over fpae's |\n\
         | --- | ---: | --- | --- | ---: | ---: |\n",
    );
    // Per precision: fpae's key, the twin's key stem and how the twin computed.
    let precisions = [
        ("f32", "ours_train_f32", "torch_train_f32", ""),
        ("bf16", "ours_train_bf16", "torch_train_bf16cl", ", bf16 autocast, channels-last"),
    ];
    for (precision, ours_key, torch, how) in precisions {
        let ours = num(&m[ours_key]["images_per_sec"]);
        let rows = [
            (ours_key.to_owned(), format!("fpae, {precision}")),
            (torch.to_owned(), format!("PyTorch twin, glibc malloc{how}")),
            (format!("{torch}_jemalloc"), format!("PyTorch twin + jemalloc{how}")),
            (format!("{torch}_tcmalloc"), format!("PyTorch twin + tcmalloc{how}")),
        ];
        for (key, name) in rows {
            let v = &m[key.as_str()];
            if v.is_null() {
                continue;
            }
            let ips = num(&v["images_per_sec"]);
            out += &format!(
                "| {name} | {} ({}-{}) | {} | {} | {} | {}x |\n",
                fixed(ips, 2),
                fixed(num(&v["images_per_sec_min"]), 2),
                fixed(num(&v["images_per_sec_max"]), 2),
                list(&v["images_per_sec_repeats"], 2),
                list(&v["other_load"], 2),
                fixed(num(&v["peak_rss_mb"]), 0),
                fixed(ips / ours, 2)
            );
        }
    }
    out
}

fn print_table(r: &Value, work: Option<&Work>, peak: Option<&Peak>) {
    let f = |k: &str| r[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.1}"));
    let x = |k: &str| r[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.2}x"));
    // The ratio of the medians with the range of the rounds' own ratios.
    let xp = |k: &str| match (
        r[k].as_f64(),
        r[format!("{k}_paired")]["min"].as_f64(),
        r[format!("{k}_paired")]["max"].as_f64(),
    ) {
        (Some(v), Some(lo), Some(hi)) if r["repeats"].as_u64().unwrap_or(1) > 1 => format!("{v:.2}x ({lo:.2}-{hi:.2})"),
        _ => x(k),
    };
    // A measurement by its key, with its spread.
    let m = |k: &str| spread_cell(&r["measurements"][k]);
    let tuned = r["torch_tuned_allocator"].as_str().unwrap_or("none");
    // The tuned allocator's main measurements are its own (`_jemalloc`, `_tcmalloc`).
    let tuned_suffix = match tuned {
        "jemalloc" => "_jemalloc",
        "tcmalloc" => "_tcmalloc",
        _ => "",
    };
    let mt = |k: &str| if tuned == "none" { "-".to_owned() } else { m(&format!("torch_{k}{tuned_suffix}")) };
    let recipe = r["config"].as_str();
    let what = match recipe {
        Some(path) => format!("recipe {path}: {} with loss {}, ", r["model"].as_str().unwrap_or("?"), r["loss"]),
        None => String::new(),
    };
    println!(
        "\n{} (device {}, {} threads; {what}batch {} at {}x{}; each cell the median of {} runs (min-max), \
         each run the median of {} steps)",
        r["cpu"].as_str().unwrap_or(""),
        r["device"].as_str().unwrap_or(""),
        r["threads"],
        r["batch"],
        r["size"],
        r["size"],
        r["repeats"],
        r["steps"]
    );
    if r["quiet"] == true {
        println!("machine idle: other processes at most {} cores during the runs", f("other_load_max"));
    } else {
        println!(
            "NOT QUIET (--force or load during the runs): other processes up to {} cores; \
             these numbers are under load and not comparable with a quiet machine's",
            f("other_load_max")
        );
    }
    if tuned == "glibc" {
        println!("PyTorch = eager on glibc malloc; tuned = the same (neither jemalloc nor tcmalloc measured)");
    } else {
        println!(
            "PyTorch = eager on glibc malloc; tuned = eager with {tuned} preloaded (the faster of jemalloc and tcmalloc)"
        );
    }
    let row = |label: &str, ours: String, torch: String, tuned: String, vs: String, vs_tuned: String| {
        println!("{label:<36} {ours:>20} {torch:>20} {tuned:>20} {vs:>18} {vs_tuned:>18}");
    };
    let s = String::new;
    let unit = if recipe.is_some() { "crops/s" } else { "images/s" };
    row(unit, "fpae".into(), "PyTorch".into(), "tuned".into(), "vs eager".into(), "vs tuned".into());
    row(
        "train f32",
        m("ours_train_f32"),
        m("torch_train_f32"),
        mt("train_f32"),
        xp("ratio_f32_train"),
        xp("ratio_f32_train_tuned"),
    );
    if recipe.is_none() {
        row("train f32, plain upsampling", m("ours_train_f32_plain"), s(), s(), s(), s());
    }
    row(
        "train bf16 (PyTorch: autocast+CL)",
        m("ours_train_bf16"),
        m("torch_train_bf16cl"),
        mt("train_bf16cl"),
        xp("ratio_bf16_train"),
        xp("ratio_bf16_train_tuned"),
    );
    if recipe.is_none() {
        row("infer f32", m("ours_infer_f32"), m("torch_infer_f32"), mt("infer_f32"), s(), s());
        row(
            "infer bf16 (PyTorch: autocast+CL)",
            m("ours_infer_bf16"),
            m("torch_infer_bf16cl"),
            mt("infer_bf16cl"),
            s(),
            s(),
        );
        row(
            "infer, best mode",
            s(),
            f("torch_best_infer_ips"),
            f("torch_tuned_best_infer_ips"),
            x("ratio_infer_best"),
            x("ratio_infer_best_tuned"),
        );
        // "f32, NCHW" -> "f32".
        let native_precision = r["native_precision"].as_str().map_or("-", |p| p.split(',').next().unwrap_or(p));
        let native_label = format!("infer, own sizes ({native_precision}, b{})", r["native_batch"]);
        row(&native_label, m("ours_native"), s(), m("torch_native_tuned"), s(), x("ratio_native_infer"));
        row("train f32, 1 thread", m("ours_train_f32_1thread"), s(), m("torch_train_f32_1thread_tuned"), s(), s());
        row(
            &format!("  speed-up, {} threads over 1", r["threads"]),
            x("ours_thread_speedup"),
            s(),
            x("torch_tuned_thread_speedup"),
            s(),
            s(),
        );
    }
    row(
        "peak RSS MB, train f32",
        f("ours_f32_peak_rss_mb"),
        f("torch_f32_peak_rss_mb"),
        f("torch_tuned_f32_peak_rss_mb"),
        s(),
        s(),
    );
    row(
        "peak RSS MB, train bf16",
        f("ours_peak_rss_mb"),
        f("torch_peak_rss_mb"),
        f("torch_jemalloc_bf16cl_peak_rss_mb"),
        x("ratio_peak_rss"),
        s(),
    );
    println!("{:<36} {:>20}", "our bf16 over our f32 (train)", x("ratio_bf16_over_f32_ours"));
    if recipe.is_none() {
        println!("{:<36} {:>20}", "our sub-pixel over plain (train f32)", x("ratio_subpixel_over_plain"));
        println!("{:<36} {:>20} {:>20}", "data load ms, cold / cached", f("data_cold_ms"), f("data_cached_ms"));
    }
    if r["torch_jemalloc_f32_train_ips"].is_number() || r["torch_tcmalloc_f32_train_ips"].is_number() {
        println!(
            "\n{:<36} {:>20} {:>20} {:>20}",
            format!("PyTorch {unit} by allocator"),
            "glibc",
            "jemalloc",
            "tcmalloc"
        );
        let modes: &[(&str, &str)] = if recipe.is_some() {
            &[("train f32", "train_f32"), ("train bf16", "train_bf16cl")]
        } else {
            &[
                ("train f32", "train_f32"),
                ("infer f32", "infer_f32"),
                ("train bf16", "train_bf16cl"),
                ("infer bf16", "infer_bf16cl"),
            ]
        };
        for (label, mode) in modes {
            println!(
                "{label:<36} {:>20} {:>20} {:>20}",
                m(&format!("torch_{mode}")),
                m(&format!("torch_{mode}_jemalloc")),
                m(&format!("torch_{mode}_tcmalloc"))
            );
        }
    }
    let Some(work) = work else {
        return;
    };
    println!("\n{}", work.derivation());
    let Some(peak) = peak else {
        println!("no CPU peak (not a CPU run, or no clock in /proc/cpuinfo)");
        return;
    };
    println!("{}", peak.derivation());
    let pct = |gflops: &str, peak: Option<f64>| match (r[gflops].as_f64(), peak) {
        (Some(g), Some(p)) => format!("{g:>7.1} {:>4.0} %", 100.0 * g / p),
        (Some(g), None) => format!("{g:>7.1}      "),
        _ => format!("{:>7}      ", "-"),
    };
    println!(
        "\n{:<36} {:>14} {:>11} {:>14}",
        "GFLOP/s (executed; model: plain net)", "fpae  % peak", "fpae model", "tuned  % peak"
    );
    for (label, ours, model, torch, p) in [
        (
            "train f32",
            "ours_f32_train_gflops",
            "ours_f32_train_model_gflops",
            "torch_tuned_f32_train_gflops",
            Some(peak.f32_gflops),
        ),
        (
            "train bf16",
            "ours_bf16_train_gflops",
            "ours_bf16_train_model_gflops",
            "torch_tuned_bf16_train_gflops",
            peak.bf16_gflops,
        ),
        (
            "infer f32",
            "ours_f32_infer_gflops",
            "ours_f32_infer_model_gflops",
            "torch_tuned_f32_infer_gflops",
            Some(peak.f32_gflops),
        ),
        (
            "infer bf16",
            "ours_bf16_infer_gflops",
            "ours_bf16_infer_model_gflops",
            "torch_tuned_bf16_infer_gflops",
            peak.bf16_gflops,
        ),
    ] {
        println!("{label:<36} {:>14} {:>11} {:>14}", pct(ours, p), f(model), pct(torch, p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torch_bench_script_recipe_parts() {
        // LibTorch's Python has torch; `cargo xtask setup` installs it.
        let python = libtorch::install_dir().unwrap().join("venv").join("bin").join("python");
        assert!(python.is_file(), "no LibTorch Python at {}: run `cargo xtask setup`", python.display());
        let test = project_root().join("xtask").join("bench").join("test_torch_bench.py");
        let out = Command::new(&python).arg(&test).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}:\n{stderr}", test.display());
        assert!(stderr.contains("\nOK"), "{stderr}");
    }

    #[test]
    fn the_last_json_line_is_read_past_a_profile_table() {
        let out = "one train step, f32, batch 4 at 32x32; top operators by self CPU time:\n\
                   ----  ----\n   aten::convolution_backward  54.20%  {not json}\n----\n\n\
                   {\"mode\": \"train\", \"images_per_sec\": 57.6, \"peak_rss_mb\": 680.9, \"threads\": 1}\n\n";
        let v = last_json(out).unwrap();
        assert_eq!(field(&v, "images_per_sec"), 57.6);
        assert_eq!(v["threads"], 1);
        assert!(field(&v, "missing").is_nan());
        assert!(last_json("").is_err());
        assert!(last_json("{\"a\": 1}\nTraceback (most recent call last):\n").is_err());
        assert!(last_json("[1, 2]\n").is_err());
    }

    #[test]
    fn the_faster_allocator_is_tuned() {
        assert_eq!(faster_allocator(11.2, 10.9), Alloc::Jemalloc);
        assert_eq!(faster_allocator(11.2, 11.5), Alloc::Tcmalloc);
        assert_eq!(faster_allocator(f64::NAN, 9.0), Alloc::Tcmalloc);
        assert_eq!(faster_allocator(9.0, f64::NAN), Alloc::Jemalloc);
        assert_eq!(faster_allocator(f64::NAN, f64::NAN), Alloc::Glibc);
    }

    fn args(extra: &[&str]) -> TrainBenchArgs {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: TrainBenchArgs,
        }
        Cli::parse_from(std::iter::once("bench").chain(extra.iter().copied())).args
    }

    #[test]
    fn the_plan_skips_bf16_unless_native_or_asked_and_names_each_result() {
        let allocators = Allocators { jemalloc: Some("je.so".into()), tcmalloc: Some("tc.so".into()) };
        let keys = |plan: Vec<Job>| plan.iter().map(|j| format!("{:?}:{}", j.who, j.key())).collect::<Vec<_>>();
        let avx2 = keys(plan(&args(&[]), false, false, &allocators, true));
        assert_eq!(
            avx2,
            [
                "Ours:ours_train_f32",
                "Ours:ours_train_f32_plain",
                "Ours:ours_infer_f32",
                "Ours:ours_train_f32_1thread",
                "Ours:ours_native",
                "Torch(Glibc):torch_train_f32",
                "Torch(Glibc):torch_infer_f32",
                "Torch(Jemalloc):torch_train_f32_jemalloc",
                "Torch(Jemalloc):torch_infer_f32_jemalloc",
                "Torch(Tcmalloc):torch_train_f32_tcmalloc",
                "Torch(Tcmalloc):torch_infer_f32_tcmalloc",
                "Torch(Tuned):torch_train_f32_1thread_tuned",
                "Torch(Tuned):torch_native_tuned",
            ]
        );
        let bf16 = keys(plan(&args(&["--no-scaling"]), true, true, &Allocators::default(), false));
        assert_eq!(
            bf16,
            [
                "Ours:ours_train_f32",
                "Ours:ours_train_f32_plain",
                "Ours:ours_infer_f32",
                "Ours:ours_train_bf16",
                "Ours:ours_infer_bf16",
                "Torch(Glibc):torch_train_f32",
                "Torch(Glibc):torch_infer_f32",
                "Torch(Glibc):torch_train_bf16cl",
                "Torch(Glibc):torch_infer_bf16cl",
            ]
        );
        assert_eq!(plan(&args(&["--no-pytorch", "--no-scaling"]), false, false, &allocators, false).len(), 3);
    }

    /// Each precision's rows are set against fpae's in the same precision, and a
    /// precision that was not measured has no rows.
    #[test]
    fn the_recipe_table_compares_within_each_precision() {
        let run = |ips: f64| json!({"images_per_sec": ips, "images_per_sec_min": ips, "images_per_sec_max": ips});
        let mut report = json!({"measurements": {
            "ours_train_f32": run(10.0), "torch_train_f32_jemalloc": run(8.0),
            "ours_train_bf16": run(20.0), "torch_train_bf16cl_tcmalloc": run(16.0),
        }});
        let table = recipe_table(&report);
        let row =
            |name: &str| table.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap_or_default().to_owned();
        assert!(row("PyTorch twin + jemalloc").ends_with("| 0.80x |"), "{table}");
        assert!(row("PyTorch twin + tcmalloc, bf16 autocast, channels-last").ends_with("| 0.80x |"), "{table}");
        assert!(row("fpae, bf16").ends_with("| 1.00x |"), "{table}");
        report["measurements"].as_object_mut().unwrap().retain(|k, _| !k.contains("bf16"));
        assert_eq!(recipe_table(&report).lines().count(), 4, "{}", recipe_table(&report));
    }

    #[test]
    fn a_recipe_measures_training_only_and_passes_its_file() {
        let allocators = Allocators { jemalloc: Some("je.so".into()), tcmalloc: None };
        let a = args(&["--config", "configs/restore.toml"]);
        let keys: Vec<String> = plan(&a, true, true, &allocators, true).iter().map(Job::key).collect();
        assert_eq!(
            keys,
            [
                "ours_train_f32",
                "ours_train_bf16",
                "torch_train_f32",
                "torch_train_bf16cl",
                "torch_train_f32_jemalloc",
                "torch_train_bf16cl_jemalloc"
            ]
        );
        let job = Job::new(Who::Ours, "train", "f32");
        let recipe = Path::new("/r/restore.toml");
        let v = common(&a, &job, "f32", Some(recipe));
        assert!(v.windows(2).any(|w| w == ["--config", "/r/restore.toml"]), "{v:?}");
        assert!(!v.contains(&"--batch".to_owned()) && !v.contains(&"--size".to_owned()), "the recipe's: {v:?}");
        let v = common(&args(&["--config", "x.toml", "--batch", "8"]), &job, "f32", Some(recipe));
        assert!(v.windows(2).any(|w| w == ["--batch", "8"]), "{v:?}");
        // The tutorial's defaults.
        let v = common(&args(&[]), &job, "f32", None);
        assert!(v.windows(2).any(|w| w == ["--batch", "128"]) && v.windows(2).any(|w| w == ["--size", "224"]));
        assert_eq!(args(&[]).repeats, 5);
    }

    #[test]
    fn fpae_executes_only_the_layers_it_names_as_sub_pixel() {
        let work = Work::tutorial(224);
        let named = json!({"subpixel": true, "subpixel_layers": ["dec3"]});
        assert_eq!(subpixel_layers(Some(&named), &work), ["dec3"]);
        assert!(subpixel_layers(Some(&json!({"subpixel": false})), &work).is_empty());
        assert_eq!(subpixel_layers(Some(&json!({"subpixel": true})), &work), ["dec2", "dec3"]);
        assert_eq!(subpixel_layers(None, &work), ["dec2", "dec3"]);
    }

    #[test]
    fn cells_show_the_median_and_range_of_the_repeats() {
        let runs = [json!({"images_per_sec": 12.04}), json!({"images_per_sec": 10.0}), json!({"images_per_sec": 11.0})];
        assert_eq!(spread_cell(&repeats::aggregate(&runs).unwrap()), "11.0 (10.0-12.0)");
        assert_eq!(spread_cell(&repeats::aggregate(&runs[..1]).unwrap()), "12.0");
        assert_eq!(spread_cell(&Value::Null), "-");
        let mut by_key = BTreeMap::new();
        by_key.insert(
            "a".to_owned(),
            runs.iter()
                .map(|r| {
                    let mut r = r.clone();
                    r["other_load"] = json!(r["images_per_sec"].as_f64().unwrap() / 10.0);
                    r
                })
                .collect::<Vec<_>>(),
        );
        assert_eq!(busiest_run(&by_key), Some(("a".to_owned(), 1.204)));
        assert_eq!(aggregated(&by_key)["a"]["images_per_sec"], 11.0);
    }

    #[test]
    fn paired_ratios_divide_the_runs_of_the_same_round() {
        let runs = |ips: &[f64]| ips.iter().map(|&v| json!({"images_per_sec": v})).collect::<Vec<_>>();
        let mut by_key = BTreeMap::new();
        by_key.insert("ours_train_f32".to_owned(), runs(&[12.0, 9.0, 10.0]));
        by_key.insert("torch_train_f32".to_owned(), runs(&[6.0, 6.0, 4.0]));
        let results = aggregated(&by_key);
        let a = args(&[]);
        let cpu = CpuInfo::parse("processor : 0\n");
        let idle = load::IdleCheck { load: 0.0, consumers: Vec::new(), verdict: load::Verdict::Quiet };
        let cx = Setting {
            args: &a,
            cpu: &cpu,
            peak: None,
            work: None,
            tuned: None,
            bf16_native: false,
            batch: 16,
            size: 128,
            recipe: Some(Path::new("configs/restore.toml")),
            quiet: true,
            idle: &idle,
        };
        let r = summarise(&cx, &results, None);
        // Rounds: 12 / 6 = 2, 9 / 6 = 1.5, 10 / 4 = 2.5; the medians' ratio is 10 / 6.
        assert_eq!(r["ratio_f32_train_paired"], json!({"median": 2.0, "min": 1.5, "max": 2.5}));
        assert!((r["ratio_f32_train"].as_f64().unwrap() - 10.0 / 6.0).abs() < 1e-12);
        assert_eq!(r["train_gflop_per_image"], Value::Null, "no FLOPs derived for a recipe");
        assert_eq!(r["config"], "configs/restore.toml");
    }

    #[test]
    fn tuned_columns_read_the_faster_allocator_and_bf16_stays_null_when_skipped() {
        let a = args(&[]);
        let cpu = CpuInfo::parse("processor : 0\nvendor_id : AuthenticAMD\ncpu MHz : 2000\nflags : avx2 fma\n");
        let peak = Peak::derive(&cpu, None, 1);
        let work = Work::tutorial(224);
        let m = |ips: f64| json!({"images_per_sec": ips, "peak_rss_mb": 1000.0, "threads": 1});
        let mut results = Map::new();
        for (k, v) in [
            ("ours_train_f32", 12.0),
            ("ours_train_f32_plain", 10.0),
            ("torch_train_f32", 4.0),
            ("torch_train_f32_jemalloc", 11.0),
            ("torch_train_f32_tcmalloc", 11.5),
            ("torch_infer_f32_tcmalloc", 30.0),
            ("ours_train_f32_1thread", 6.0),
        ] {
            results.insert(k.into(), m(v));
        }
        let tuned = Some(Allocators::default().faster(&results));
        let idle = load::IdleCheck { load: 0.05, consumers: Vec::new(), verdict: load::Verdict::Quiet };
        let cx = Setting {
            args: &a,
            cpu: &cpu,
            peak: peak.as_ref(),
            work: Some(&work),
            tuned,
            bf16_native: false,
            batch: 128,
            size: 224,
            recipe: None,
            quiet: true,
            idle: &idle,
        };
        let r = summarise(&cx, &results, None);
        assert_eq!(r["torch_tuned_allocator"], "tcmalloc");
        assert_eq!(r["torch_tuned_f32_train_ips"], 11.5);
        assert_eq!(r["torch_tuned_best_infer_ips"], 30.0);
        assert_eq!(r["torch_tuned_bf16_train_ips"], Value::Null);
        assert_eq!(r["ours_bf16_train_gflops"], Value::Null);
        assert_eq!(r["peak_gflops_bf16"], Value::Null);
        assert_eq!(r["peak_gflops_f32"], 2.0 * 8.0 * 2.0 * 2.0);
        // Model FLOPs per second count the plain network; executed ones fpae's sub-pixel layers
        // (every capable one: these results do not name them).
        assert!((r["ours_f32_train_model_gflops"].as_f64().unwrap() - 12.0 * 11.33).abs() < 0.1);
        let executed = work.train_flops_executed(&work.subpixel_capable()) / 1e9;
        assert!((r["ours_f32_train_gflops"].as_f64().unwrap() - 12.0 * executed).abs() < 1e-9);
        assert!(executed < 0.8 * 11.33, "{executed}");
        let close = |k: &str, want: f64| (r[k].as_f64().unwrap() - want).abs() < 1e-9;
        assert!(close("ours_f32_train_plain_gflops", 10.0 * work.train_flops() / 1e9));
        assert!(close("torch_tuned_f32_train_gflops", 11.5 * work.train_flops() / 1e9));
        assert_eq!(r["quiet"], true);
        // Single runs without their repeats listed: no paired ratios.
        assert_eq!(r["ratio_f32_train_paired"], Value::Null);
        assert_eq!(r["measurements"]["ours_train_f32"]["images_per_sec"], 12.0);
        assert_eq!(r["ours_f32_train_plain_ips"], 10.0);
        assert_eq!(r["ours_thread_speedup"], 2.0);
        assert_eq!(r["torch_f32_train_ips"], 4.0);
        assert_eq!(r["ratio_f32_train"], 3.0);
        assert_eq!(r["torch_tuned_thread_speedup"], Value::Null);
    }
}
