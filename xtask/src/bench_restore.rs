//! `cargo xtask bench restore`: a trained restoration model next to pyfing's
//! two enhancement pipelines, on the fixed restoration benchmark, scored the same way.
//!
//! The benchmark (`fpae benchmark make`, made once into `target/bench/fvc2002-restore-v1`)
//! holds every clean FVC2002 print and the validation prints under each kind of
//! damage at severities 0.3, 0.6 and 0.9 (`degraded/<kind>/<severity>/<DB>/<stem>.png`).
//! The chosen severities are linked into `target/bench/restore-in/<kind>/<severity>`,
//! and that one folder goes, from scratch and timed by the wall clock, through
//!
//! - `fpae restore MODEL` into `target/bench/restore-out/fpae`, and
//! - each baseline of pyfing 0.7.3 (`xtask/bench/pyfing_enhance.py`, run with
//!   the Python of the peers' venv, see [`crate::peers`]) into
//!   `target/bench/restore-out/pyfing-<pipeline>`: `pyfing-gabor`, the classical
//!   pipeline (GMFS segmentation, GBFOE orientations, XSFFE frequencies, GBFEN
//!   Gabor enhancement), and `pyfing-snfen`, the learned one (SUFS, SNFOE,
//!   SNFFE, SNFEN),
//!
//! - the same model in two other runtimes, timed only (their outputs are fpae's
//!   to within a grey level or two, so they are not scored): the PyTorch twin
//!   (`python -m fpae_torch.bench --engine torch`: channels-last, bf16 autocast
//!   only where the CPU computes bf16 natively, the best allocator installed
//!   preloaded) into `restore-out/pytorch-twin`, and ONNX Runtime on the model
//!   exported by `fpae export --format onnx` (`--engine onnx`: every graph
//!   optimisation, intra-op threads = the cores) into `restore-out/onnxruntime`,
//!   both batching as fpae does (`--batch` prints in path order, one size at a
//!   time, cut to fpae's 512 MiB activation budget),
//!
//! all with the same number of cores. Every timed pass records the peak RSS of
//! its process (`VmHWM`, polled; for pyfing its worker processes' added up),
//! and the report gives each tool's time per print and per megapixel, and
//! fpae's GFLOP/s: the convolutions it executes (its sub-pixel decoder's
//! counted at their real cost, see [`crate::bench::work`]) over its wall clock,
//! against the CPU's derived peak. `fpae score` then measures every set of
//! candidates against the clean prints: the degraded inputs themselves, fpae's
//! restorations and each baseline's enhancements. The same tools also process
//! the clean validation prints (`restore-in-clean`), scored as they are: the
//! do-no-harm rows. The report has one table per kind and severity, a summary per
//! severity averaged over the kinds (over those where a measure is defined) with
//! the share of the identity gap recovered (also for the better pyfing pipeline
//! of each kind, `pyfing-best`), the do-no-harm table and the time per print of
//! every tool. It is written to `target/bench/restore.json` and printed as the
//! last line.
//!
//! The timed passes over the degraded prints run `--repeats` times, the tools
//! interleaved (fpae, gabor, snfen, fpae, ...); each tool's time is the median
//! of its passes, with their range and the load other processes put on the
//! machine during each. Like `cargo xtask bench train`, it refuses to start
//! while other processes keep the CPU busy, unless `--force`
//! ([`crate::bench::load`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::bench::work::{Conv, CpuInfo, Peak};
use crate::bench::{Alloc, Allocators, alloc_name};
use crate::{fetch, libtorch, peers, project_root};

/// One of pyfing's enhancement pipelines, a baseline of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Baseline {
    /// The classical pipeline: GMFS, GBFOE, XSFFE, GBFEN.
    Gabor,
    /// The learned pipeline: SUFS, SNFOE, SNFFE, SNFEN.
    Snfen,
}

impl Baseline {
    /// The script's `--pipeline` value.
    fn pipeline(self) -> &'static str {
        match self {
            Baseline::Gabor => "gabor",
            Baseline::Snfen => "snfen",
        }
    }

    /// Its rows' name in the tables and the JSON.
    fn method(self) -> &'static str {
        match self {
            Baseline::Gabor => "pyfing-gabor",
            Baseline::Snfen => "pyfing-snfen",
        }
    }
}

/// The candidate sets, in the order of the tables' rows.
const METHODS: [&str; 4] = ["degraded", "fpae", "pyfing-gabor", "pyfing-snfen"];
/// The better pyfing pipeline of each kind, by its type-II rate: a summary row.
const BEST_PEER: &str = "pyfing-best";

/// Extensions of the images fpae and the pyfing script read.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "tif", "tiff", "bmp", "jpg", "jpeg"];

/// Options of `cargo xtask bench restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreBenchArgs {
    /// The restoration model: a run directory or a saved model directory.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The benchmark folder; made with `fpae benchmark make` from data/fvc2002 when it
    /// has no benchmark.toml [default: target/bench/fvc2002-restore-v1]
    #[arg(long, value_name = "DIR")]
    bench_dir: Option<PathBuf>,
    /// A severity to measure; repeat for several [default: every severity of the benchmark]
    #[arg(long = "severity", value_name = "S")]
    severities: Vec<f64>,
    /// A pyfing pipeline to compare with; repeat for both [default: gabor and snfen]
    #[arg(long = "baseline", value_name = "PIPELINE", value_enum)]
    baselines: Vec<Baseline>,
    /// Compare with no pyfing pipeline.
    #[arg(long, conflicts_with = "baselines")]
    no_pyfing: bool,
    /// Do not time the same model run by the PyTorch twin.
    #[arg(long)]
    no_twin: bool,
    /// Do not time the same model, exported as ONNX, run by ONNX Runtime.
    #[arg(long)]
    no_onnx: bool,
    /// A kind of damage to measure (its folder under degraded/, e.g. noise); repeat for
    /// several [default: every kind of the benchmark]
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// Prints per inference batch at most, for fpae restore (its --batch) and for the twin and
    /// ONNX Runtime alike; all three cut batches of large prints to fpae's 512 MiB of activations.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Another fpae (a binary, or a script that runs one) to time beside this one, interleaved
    /// and with the same arguments, as `fpae-baseline` (not scored): how a change to fpae's
    /// speed is measured.
    #[arg(long, value_name = "BIN")]
    fpae_baseline: Option<PathBuf>,
    /// Do not install a missing allocator for the twin (Debian's libtcmalloc-minimal4 and
    /// libjemalloc2, with `apt-get install -y` when run as root).
    #[arg(long)]
    no_install: bool,
    /// Skip the do-no-harm rows (every tool on the clean validation prints).
    #[arg(long)]
    no_clean: bool,
    /// Cores for each tool: fpae's threads and pyfing's worker processes [default: all cores]
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Timed passes of each tool over the degraded prints, interleaved across the tools; each
    /// tool's time is their median (the scores come from the last pass, the same every time).
    #[arg(long, value_name = "R", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Measure even when other processes keep more than 0.2 core busy (the report is marked
    /// "quiet": false; its times are not comparable with a quiet machine's).
    #[arg(long)]
    force: bool,
}

/// The measures one row of a table shows; NaN where a measure is missing.
#[derive(Debug, Clone, Copy)]
struct Metrics {
    images: f64,
    psnr: f64,
    ssim: f64,
    type1: f64,
    type2: f64,
    type2_originals: f64,
    impostor: f64,
    recall: f64,
    precision: f64,
    not_computable: f64,
}

impl Metrics {
    const NAN: Self = Self {
        images: f64::NAN,
        psnr: f64::NAN,
        ssim: f64::NAN,
        type1: f64::NAN,
        type2: f64::NAN,
        type2_originals: f64::NAN,
        impostor: f64::NAN,
        recall: f64::NAN,
        precision: f64::NAN,
        not_computable: f64::NAN,
    };

    /// The measures of one group of `fpae score --json`.
    fn of(group: &Value) -> Self {
        let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let id = |key: &str| num(&group["identity"][key]);
        Self {
            images: num(&group["images"]),
            psnr: num(&group["psnr"]),
            ssim: num(&group["ssim"]),
            type1: id("type1_rate_40"),
            type2: id("type2_rate_40"),
            type2_originals: id("type2_rate_40_originals"),
            impostor: id("impostor_rate_40"),
            recall: id("minutiae_recall"),
            precision: id("minutiae_precision"),
            not_computable: id("not_computable"),
        }
    }

    fn fields(&self) -> [(&'static str, f64); 10] {
        [
            ("images", self.images),
            ("psnr", self.psnr),
            ("ssim", self.ssim),
            ("type1_rate_40", self.type1),
            ("type2_rate_40", self.type2),
            ("type2_rate_40_originals", self.type2_originals),
            ("impostor_rate_40", self.impostor),
            ("minutiae_recall", self.recall),
            ("minutiae_precision", self.precision),
            ("not_computable", self.not_computable),
        ]
    }

    /// The mean of each measure over `all`, leaving out the NaNs.
    fn mean(all: &[Self]) -> Self {
        let m = |f: fn(&Self) -> f64| mean(all.iter().map(f));
        Self {
            images: m(|x| x.images),
            psnr: m(|x| x.psnr),
            ssim: m(|x| x.ssim),
            type1: m(|x| x.type1),
            type2: m(|x| x.type2),
            type2_originals: m(|x| x.type2_originals),
            impostor: m(|x| x.impostor),
            recall: m(|x| x.recall),
            precision: m(|x| x.precision),
            not_computable: m(|x| x.not_computable),
        }
    }

    fn to_json(self) -> Value {
        Value::Object(self.fields().into_iter().map(|(k, v)| (k.to_owned(), number(v))).collect())
    }
}

/// The mean of the finite values, NaN when there are none.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// A JSON number, or null for NaN and infinities.
fn number(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

/// The share of the identity gap between the degraded prints and the clean
/// originals (type-II match rate at 40) that a method closes.
fn gap_recovered(method_type2: f64, degraded_type2: f64, originals_type2: f64) -> f64 {
    let gap = originals_type2 - degraded_type2;
    if gap.abs() < 1e-12 { f64::NAN } else { (method_type2 - degraded_type2) / gap }
}

/// The degraded prints chosen for this run, linked into one folder.
#[derive(Debug)]
struct Selection {
    /// `restore-in`: `<kind>/<severity>` links into the benchmark's degraded folder.
    dir: PathBuf,
    kinds: Vec<String>,
    /// Severity folder names (`0.3`), in increasing order.
    severities: Vec<String>,
    images: usize,
}

pub fn run(args: &RestoreBenchArgs) -> Result<()> {
    let root = project_root();
    let bench_root = root.join("target").join("bench");
    let bench_dir = args.bench_dir.clone().unwrap_or_else(|| bench_root.join("fvc2002-restore-v1"));
    if !args.model.exists() {
        bail!("--model {}: no such run or model directory", args.model.display());
    }
    if let Some(&bad) = args.severities.iter().find(|s| !(0.0..=1.0).contains(*s)) {
        bail!("--severity {bad}: severities lie in [0, 1]");
    }
    let workers = match args.workers {
        Some(0) => bail!("--workers must be at least 1"),
        Some(n) => n,
        None => cores(),
    };

    let provision = libtorch::setup()?;
    crate::cargo(&["build", "--quiet", "--release", "-p", "fp-cli"], &[])?;
    let fpae = root.join("target").join("release").join("fpae");

    if !bench_dir.join("benchmark.toml").is_file() {
        make_benchmark(&fpae, &bench_dir)?;
    }
    let baselines: Vec<Baseline> = if args.no_pyfing {
        Vec::new()
    } else if args.baselines.is_empty() {
        vec![Baseline::Gabor, Baseline::Snfen]
    } else {
        let mut chosen = args.baselines.clone();
        chosen.sort();
        chosen.dedup();
        chosen
    };
    let python = if baselines.is_empty() { None } else { Some(peers::python()?) };
    let torch_python = match provision {
        libtorch::Provision::Managed { python } => python,
        libtorch::Provision::User => PathBuf::from("python3"),
    };
    let allocators = if args.no_twin { Allocators::default() } else { Allocators::find(!args.no_install) };
    // The twin's allocator: tcmalloc measured fastest for PyTorch on this project's
    // CPUs (docs/performance.md), then jemalloc with fpae's settings.
    let torch_alloc = match (&allocators.tcmalloc, &allocators.jemalloc) {
        (Some(_), _) => Alloc::Tcmalloc,
        (None, Some(_)) => Alloc::Jemalloc,
        _ => Alloc::Glibc,
    };
    let onnx = if args.no_onnx {
        None
    } else {
        peers::ensure_test_onnx(&torch_python)?;
        Some(export_onnx(&fpae, &args.model, &bench_root.join("restore-model.onnx"))?)
    };

    let selection = select(&bench_dir, &args.severities, &args.kinds, &bench_root.join("restore-in"))?;
    eprintln!(
        "{} degraded prints: {} kinds at severities {}",
        selection.images,
        selection.kinds.len(),
        selection.severities.join(", ")
    );
    let clean_in = bench_root.join("restore-in-clean");
    let clean = if args.no_clean { None } else { Some(select_clean(&bench_dir, &clean_in)?) };
    let baseline = match &args.fpae_baseline {
        Some(bin) => Some(fs::canonicalize(bin).with_context(|| format!("--fpae-baseline {}", bin.display()))?),
        None => None,
    };
    let runner = Runner {
        fpae: &fpae,
        baseline: baseline.as_deref(),
        model: &args.model,
        peers_python: python.as_deref(),
        torch_python: &torch_python,
        onnx: onnx.as_deref(),
        allocators: &allocators,
        torch_alloc,
        workers,
        batch: args.batch as usize,
    };
    // The prints' sizes, the batches they get and the network's convolutions at each
    // padded size (for the megapixels and FLOPs); nothing is timed.
    let plan = runner.plan(&selection.dir);

    // Every tool on the degraded prints (timed, the tools' passes interleaved), then on the clean ones.
    let (quiet_at_start, idle) = crate::bench::load::require_idle(args.force)?;
    let out_root = bench_root.join("restore-out");
    let clean_root = bench_root.join("restore-out-clean");
    let runtimes = [(!args.no_twin).then_some(Tool::Twin), onnx.as_ref().map(|_| Tool::Onnx)];
    let tools: Vec<Tool> = std::iter::once(Tool::Fpae)
        .chain(baseline.as_ref().map(|_| Tool::Baseline))
        .chain(runtimes.into_iter().flatten())
        .chain(baselines.iter().map(|&b| Tool::Pyfing(b)))
        .collect();
    let mut passes: Vec<Vec<Value>> = vec![Vec::new(); tools.len()];
    for round in 0..args.repeats {
        // The OpenMP wait policy fpae would choose now, given to the twin too.
        let policy = wait_policy(&fpae, workers)?;
        for (i, &tool) in tools.iter().enumerate() {
            eprintln!("pass {}/{} of {}:", round + 1, args.repeats, tool.method());
            let before = crate::bench::load::sample();
            let out = out_root.join(tool.method());
            let mut timing = tool.process(&runner, &selection.dir, &out, &policy)?;
            timing["other_load"] = crate::bench::load::other_load_since(before.as_ref());
            passes[i].push(timing);
        }
    }
    let mut timings = Map::new();
    let mut candidates: Vec<(&str, PathBuf)> = vec![("degraded", selection.dir.clone())];
    let mut clean_candidates: Vec<(&str, PathBuf)> = vec![("degraded", clean_in.clone())];
    let mut busiest = 0.0f64;
    let megapixels = plan.as_ref().map_or(f64::NAN, |p| p.megapixels);
    for (&tool, runs) in tools.iter().zip(&passes) {
        let mut timing = timing_of_passes(runs, selection.images);
        timing["per_megapixel_s"] = number(timing["seconds"].as_f64().unwrap_or(f64::NAN) / megapixels);
        for load in timing["other_load"].as_array().into_iter().flatten().filter_map(Value::as_f64) {
            busiest = busiest.max(load);
        }
        timings.insert(tool.method().to_owned(), timing);
        if !tool.scored() {
            continue;
        }
        candidates.push((tool.method(), out_root.join(tool.method())));
        if clean.is_some() {
            let out = clean_root.join(tool.method());
            tool.process(&runner, &clean_in, &out, &wait_policy(&fpae, workers)?)?;
            clean_candidates.push((tool.method(), out));
        }
    }
    let quiet = quiet_at_start && busiest <= crate::bench::load::IDLE_THRESHOLD_CORES;
    if quiet_at_start && !quiet {
        eprintln!(
            "warning: other processes became busy during the timed passes (up to {busiest:.2} cores): \
             the report is marked \"quiet\": false"
        );
    }
    let load =
        json!({"quiet": quiet, "repeats": args.repeats, "idle_check": idle.to_json(), "other_load_max": busiest});

    let originals = bench_dir.join("clean");
    let score = |method: &str, dir: &Path| -> Result<Value> {
        eprintln!("scoring {method} ({}) ...", dir.display());
        let mut cmd = Command::new(&fpae);
        cmd.args(["score", "--json", "--originals"]).arg(&originals).arg("--candidates").arg(dir);
        let (value, status) = json_stdout(&mut cmd)?;
        if !status.success() {
            bail!("`fpae score` of {} failed ({status})", dir.display());
        }
        Ok(value)
    };
    let mut scores: BTreeMap<&str, Value> = BTreeMap::new();
    for (method, dir) in &candidates {
        scores.insert(method, score(method, dir)?);
    }
    let mut clean_scores: BTreeMap<&str, Value> = BTreeMap::new();
    if clean.is_some() {
        for (method, dir) in &clean_candidates {
            let name = if *method == "degraded" { "clean" } else { method };
            clean_scores.insert(name, score(name, dir)?);
        }
    }

    let work = work_report(plan.as_ref(), &timings, workers, &fpae_precision(&fpae)?);
    let mut report = summarise(args, &bench_dir, &selection, workers, &scores, &clean_scores, timings);
    for (k, v) in load.as_object().into_iter().flatten() {
        report[k] = v.clone();
    }
    report["work"] = work;
    report["batch"] = json!(args.batch);
    report["megapixels"] = number(megapixels);
    report["cpu_bf16_native"] =
        json!(CpuInfo::parse(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default()).bf16_native());
    print_report(&report);
    let path = bench_root.join("restore.json");
    write_atomically(&path, &(serde_json::to_string_pretty(&report)? + "\n"))?;
    eprintln!("written to {}", path.display());
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A tool that processes a folder of prints into another.
#[derive(Debug, Clone, Copy)]
enum Tool {
    /// `fpae restore MODEL`.
    Fpae,
    /// `--fpae-baseline`'s fpae, the same way.
    Baseline,
    /// The same model in PyTorch: `python -m fpae_torch.bench --engine torch`.
    Twin,
    /// The same model exported as ONNX, in onnxruntime: `python -m fpae_torch.bench --engine onnx`.
    Onnx,
    /// A pyfing pipeline through `xtask/bench/pyfing_enhance.py`.
    Pyfing(Baseline),
}

/// What the tools run with.
struct Runner<'a> {
    fpae: &'a Path,
    /// `--fpae-baseline`.
    baseline: Option<&'a Path>,
    model: &'a Path,
    /// The peers' venv, for pyfing.
    peers_python: Option<&'a Path>,
    /// LibTorch's venv (torch, onnxruntime), for the twin and ONNX Runtime.
    torch_python: &'a Path,
    /// The model as ONNX, when ONNX Runtime is measured.
    onnx: Option<&'a Path>,
    allocators: &'a Allocators,
    /// The allocator preloaded into the twin.
    torch_alloc: Alloc,
    workers: usize,
    batch: usize,
}

/// The prints of a run as the twin's `--plan` sees them.
#[derive(Debug)]
struct Plan {
    /// Megapixels of the prints at their own sizes.
    megapixels: f64,
    /// FLOPs of the network's convolutions over every print at its padded size:
    /// the plain network's, and fpae's (sub-pixel decoder at its real cost).
    model_flops: f64,
    fpae_flops: f64,
    /// Each size: height, width, prints, padded size and batch.
    sizes: Value,
}

impl Runner<'_> {
    /// `python -m fpae_torch.bench` in LibTorch's venv, with the repository's package.
    fn fpae_torch_bench(&self, input: &Path) -> Command {
        let mut cmd = Command::new(self.torch_python);
        cmd.env("PYTHONPATH", project_root().join("python")).args(["-m", "fpae_torch.bench"]);
        cmd.arg(self.model).arg(input).arg("--threads").arg(self.workers.to_string());
        cmd.arg("--batch").arg(self.batch.to_string());
        cmd
    }

    /// The twin's `--plan` of `input`: none, with a warning, when it fails.
    fn plan(&self, input: &Path) -> Option<Plan> {
        let mut cmd = self.fpae_torch_bench(input);
        cmd.arg("--plan");
        let plan = match json_stdout(&mut cmd) {
            Ok((v, status)) if status.success() => v,
            Ok((_, status)) => {
                eprintln!("warning: the plan of the prints failed ({status}): no megapixels or GFLOP/s");
                return None;
            }
            Err(e) => {
                eprintln!("warning: the plan of the prints failed: {e:#}: no megapixels or GFLOP/s");
                return None;
            }
        };
        Some(plan_of(&plan))
    }
}

/// The megapixels and FLOPs of a `--plan` report.
fn plan_of(plan: &Value) -> Plan {
    let (mut megapixels, mut model_flops, mut fpae_flops) = (0.0, 0.0, 0.0);
    let mut sizes = Vec::new();
    for size in plan["sizes"].as_array().into_iter().flatten() {
        let int = |v: &Value| v.as_i64().unwrap_or(0);
        let prints = int(&size["prints"]) as f64;
        megapixels += prints * (int(&size["height"]) * int(&size["width"])) as f64 / 1e6;
        let convs: Vec<Conv> = size["convs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Conv {
                name: c["name"].as_str().unwrap_or("?").to_owned(),
                height: int(&c["height"]),
                width: int(&c["width"]),
                cin: int(&c["cin"]),
                cout: int(&c["cout"]),
                kernel: int(&c["kernel"]),
                after_upsampling: c["after_upsampling"].as_bool().unwrap_or(false),
            })
            .collect();
        model_flops += prints * 2.0 * convs.iter().map(|c| c.macs() as f64).sum::<f64>();
        fpae_flops += prints * 2.0 * convs.iter().map(|c| c.subpixel_macs() as f64).sum::<f64>();
        let mut shown = size.clone();
        if let Some(o) = shown.as_object_mut() {
            o.remove("convs");
        }
        sizes.push(shown);
    }
    if model_flops == 0.0 {
        (model_flops, fpae_flops) = (f64::NAN, f64::NAN);
    }
    Plan { megapixels, model_flops, fpae_flops, sizes: Value::Array(sizes) }
}

/// fpae's executed GFLOP/s (over the wall clock of its passes' median) against the
/// CPU's peak on `workers` cores for `precision` (what fpae restored in), with the work
/// they come from.
fn work_report(plan: Option<&Plan>, timings: &Map<String, Value>, workers: usize, precision: &str) -> Value {
    let cpu = CpuInfo::parse(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let max_khz = fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let peak = Peak::derive(&cpu, max_khz, workers);
    let Some(plan) = plan else { return Value::Null };
    let seconds = |tool: &str| timings.get(tool).and_then(|t| t["seconds"].as_f64()).unwrap_or(f64::NAN);
    let fpae_gflops = plan.fpae_flops / 1e9 / seconds("fpae");
    let peak_f32 = peak.as_ref().map_or(f64::NAN, |p| p.f32_gflops);
    let peak_bf16 = peak.as_ref().and_then(|p| p.bf16_gflops);
    let peak_used = match (precision, peak_bf16) {
        ("bf16", Some(g)) => g,
        _ => peak_f32,
    };
    json!({
        "megapixels": number(plan.megapixels),
        "sizes": plan.sizes,
        "model_gflop": number(plan.model_flops / 1e9),
        "fpae_executed_gflop": number(plan.fpae_flops / 1e9),
        "fpae_gflops": number(fpae_gflops),
        "fpae_model_gflops": number(plan.model_flops / 1e9 / seconds("fpae")),
        "peak_gflops_f32": number(peak_f32),
        "peak_gflops_bf16": number(peak_bf16.unwrap_or(f64::NAN)),
        "fpae_precision": precision,
        "fpae_fraction_of_peak": number(fpae_gflops / peak_used),
        "peak_derivation": peak.as_ref().map(Peak::derivation),
    })
}

/// `fpae export MODEL --format onnx --out PATH`, replacing what is there.
fn export_onnx(fpae: &Path, model: &Path, path: &Path) -> Result<PathBuf> {
    if path.exists() {
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    eprintln!("exporting {} as ONNX to {} ...", model.display(), path.display());
    let mut cmd = Command::new(fpae);
    cmd.arg("export").arg(model).args(["--format", "onnx", "--out"]).arg(path);
    run_to_stderr(&mut cmd)?;
    Ok(path.to_path_buf())
}

/// A command's exit status, standard output, wall time and peak memory.
struct Measured {
    status: ExitStatus,
    stdout: String,
    seconds: f64,
    /// The largest of the process's own high-water mark (`VmHWM`) and, with
    /// `tree`, the resident memory of it and its descendants added up, as polled.
    peak_rss_mb: Option<f64>,
}

/// How often [`run_measured`] polls the process's memory.
const RSS_POLL: Duration = Duration::from_millis(100);

/// Runs `cmd`, its stderr on ours and its stdout captured (`capture`) or on our
/// stderr, polling its peak memory (and its descendants', with `tree`).
fn run_measured(cmd: &mut Command, capture: bool, tree: bool) -> Result<Measured> {
    cmd.stderr(Stdio::inherit());
    cmd.stdout(if capture { Stdio::piped() } else { Stdio::from(std::io::stderr()) });
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("cannot run {cmd:?}"))?;
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        })
    });
    let pid = child.id();
    let mut peak_kb: Option<u64> = None;
    let status = loop {
        if let Some(status) = child.try_wait().with_context(|| format!("cannot wait for {cmd:?}"))? {
            break status;
        }
        let hwm = status_kb(pid, "VmHWM:");
        let tree_rss =
            if tree { Some(descendants(pid).iter().filter_map(|&p| status_kb(p, "VmRSS:")).sum()) } else { None };
        if let Some(kb) = hwm.into_iter().chain(tree_rss).max() {
            peak_kb = Some(peak_kb.map_or(kb, |p| p.max(kb)));
        }
        std::thread::sleep(RSS_POLL);
    };
    let seconds = started.elapsed().as_secs_f64();
    let stdout = reader.map(|r| r.join().unwrap_or_default()).unwrap_or_default();
    Ok(Measured { status, stdout, seconds, peak_rss_mb: peak_kb.map(|kb| kb as f64 / 1024.0) })
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM:`, `VmRSS:`).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kb(&text, field)
}

fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// `pid` and every process descended from it, from the parents in `/proc/*/stat`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 1..];
            Some((p, rest.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found
}

impl Tool {
    fn method(self) -> &'static str {
        match self {
            Tool::Fpae => "fpae",
            Tool::Baseline => "fpae-baseline",
            Tool::Twin => "pytorch-twin",
            Tool::Onnx => "onnxruntime",
            Tool::Pyfing(b) => b.method(),
        }
    }

    /// Whether its outputs are scored: not the twin's and ONNX Runtime's, the
    /// same network as fpae's, timed only.
    fn scored(self) -> bool {
        !matches!(self, Tool::Baseline | Tool::Twin | Tool::Onnx)
    }

    /// Processes every print under `input` into `out` (emptied first) with
    /// the runner's cores, fpae and the twin with OpenMP wait `policy`; its
    /// timing as JSON (`seconds`, wall clock of the whole command, and `peak_rss_mb`).
    fn process(self, r: &Runner<'_>, input: &Path, out: &Path, policy: &str) -> Result<Value> {
        clear(out)?;
        let workers = r.workers;
        eprintln!("{} on {}, {workers} cores ...", self.method(), input.display());
        match self {
            Tool::Fpae | Tool::Baseline => {
                let bin =
                    if matches!(self, Tool::Baseline) { r.baseline.context("no --fpae-baseline")? } else { r.fpae };
                let mut cmd = Command::new(bin);
                cmd.arg("--threads").arg(workers.to_string()).arg("restore").arg(r.model).arg(input);
                cmd.arg("--out").arg(out).arg("--batch").arg(r.batch.to_string());
                let policy = match self {
                    // The baseline's script sets the policy it measures.
                    Tool::Baseline => Value::Null,
                    _ => {
                        set_wait_policy(&mut cmd, policy);
                        json!(policy)
                    }
                };
                let run = run_measured(&mut cmd, false, false)?;
                if !run.status.success() {
                    bail!("{cmd:?} failed ({})", run.status);
                }
                Ok(json!({
                    "seconds": run.seconds,
                    "threads": workers,
                    "batch": r.batch,
                    "peak_rss_mb": run.peak_rss_mb,
                    "omp_wait_policy": policy,
                }))
            }
            Tool::Twin | Tool::Onnx => {
                let mut cmd = r.fpae_torch_bench(input);
                cmd.arg("--out").arg(out);
                if let (Tool::Onnx, Some(onnx)) = (self, r.onnx) {
                    cmd.args(["--engine", "onnx", "--onnx"]).arg(onnx);
                } else {
                    cmd.args(["--engine", "torch"]);
                    r.allocators.preload(&mut cmd, r.torch_alloc);
                    // OpenMP threads that wait as fpae's do in this pass (libgomp's default
                    // on an idle machine, asleep on a busy one: crates/fp-cli/src/openmp.rs).
                    set_wait_policy(&mut cmd, policy);
                }
                let run = run_measured(&mut cmd, true, false)?;
                let report = last_json_line(&run.stdout);
                if !run.status.success() {
                    bail!("{cmd:?} failed ({}): {}", run.status, run.stdout);
                }
                let report = report.with_context(|| format!("{cmd:?} printed no JSON line: {}", run.stdout))?;
                let mut timing = json!({
                    "seconds": run.seconds,
                    "threads": workers,
                    "batch": r.batch,
                    "peak_rss_mb": run.peak_rss_mb,
                    "script": report,
                });
                if matches!(self, Tool::Twin) {
                    timing["allocator"] = json!(alloc_name(r.torch_alloc));
                }
                Ok(timing)
            }
            Tool::Pyfing(baseline) => {
                let python = r.peers_python.context("the pyfing baselines need the peers' Python")?;
                let script = project_root().join("xtask").join("bench").join("pyfing_enhance.py");
                let mut cmd = Command::new(python);
                cmd.arg(&script).arg(input).arg(out).arg("--pipeline").arg(baseline.pipeline());
                cmd.arg("--workers").arg(workers.to_string());
                cmd.env("KERAS_BACKEND", peers::KERAS_BACKEND);
                let run = run_measured(&mut cmd, true, true)?;
                let report = last_json_line(&run.stdout)
                    .with_context(|| format!("{cmd:?} ({}) printed no JSON line: {}", run.status, run.stdout))?;
                // Exit status 1: some prints could not be enhanced; they are named above and missing from the scores.
                if !run.status.success() && run.status.code() != Some(1) {
                    bail!("{} --pipeline {} failed ({})", script.display(), baseline.pipeline(), run.status);
                }
                let failed = report["failed"].as_u64().unwrap_or(0);
                if failed > 0 {
                    eprintln!(
                        "warning: {} could not enhance {failed} prints; they are left out of its scores",
                        self.method()
                    );
                }
                Ok(json!({
                    "seconds": run.seconds,
                    "workers": workers,
                    "peak_rss_mb": run.peak_rss_mb,
                    "script": report,
                    "packages": peers::pins(),
                }))
            }
        }
    }
}

/// The JSON value on the last non-empty line of `stdout`.
fn last_json_line(stdout: &str) -> Result<Value> {
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("not JSON: {line:?}"))
}

/// One tool's timed passes as its timing: the first pass's fields, with
/// `seconds` the median of the passes, `seconds_min`, `seconds_max` and
/// `seconds_repeats` (every pass's, in order), `per_image_s` from the median,
/// and `other_load` and `omp_wait_policy` (each pass's).
fn timing_of_passes(runs: &[Value], images: usize) -> Value {
    let mut timing = runs.first().cloned().unwrap_or_else(|| json!({}));
    let seconds: Vec<f64> = runs.iter().map(|r| r["seconds"].as_f64().unwrap_or(f64::NAN)).collect();
    let spread = crate::bench::repeats::spread(&seconds);
    let median = spread.map_or(f64::NAN, |s| s.median);
    timing["seconds"] = number(median);
    timing["seconds_min"] = number(spread.map_or(f64::NAN, |s| s.min));
    timing["seconds_max"] = number(spread.map_or(f64::NAN, |s| s.max));
    timing["seconds_repeats"] = json!(seconds.iter().map(|&s| number(s)).collect::<Vec<_>>());
    timing["per_image_s"] = number(median / images as f64);
    timing["other_load"] = json!(runs.iter().map(|r| r["other_load"].clone()).collect::<Vec<_>>());
    if timing.get("omp_wait_policy").is_some() {
        timing["omp_wait_policy"] = json!(runs.iter().map(|r| r["omp_wait_policy"].clone()).collect::<Vec<_>>());
    }
    let peaks: Vec<f64> = runs.iter().filter_map(|r| r["peak_rss_mb"].as_f64()).collect();
    timing["peak_rss_mb"] = peaks.iter().copied().reduce(f64::max).map_or(Value::Null, |p| json!(p));
    timing["peak_rss_mb_repeats"] = json!(runs.iter().map(|r| r["peak_rss_mb"].clone()).collect::<Vec<_>>());
    timing
}

/// Runs `cmd` with OpenMP wait `policy`: `OMP_WAIT_POLICY` set to it, or unset
/// for `default` (libgomp's own).
fn set_wait_policy(cmd: &mut Command, policy: &str) {
    match policy {
        "default" => cmd.env_remove("OMP_WAIT_POLICY"),
        _ => cmd.env("OMP_WAIT_POLICY", policy),
    };
}

/// The OpenMP wait policy `fpae --threads WORKERS restore` would run with now
/// (`fpae wait-policy`): `default` (libgomp's) on an idle machine, `passive` on
/// a busy one, or the caller's `OMP_WAIT_POLICY`.
fn wait_policy(fpae: &Path, workers: usize) -> Result<String> {
    let out = Command::new(fpae)
        .arg("--threads")
        .arg(workers.to_string())
        .arg("wait-policy")
        .output()
        .with_context(|| format!("cannot run {}", fpae.display()))?;
    if !out.status.success() {
        bail!("{} wait-policy failed ({})", fpae.display(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The precision `fpae restore` computes in here with precision `auto` (`fpae
/// precision`): `bf16` or `f32`, as fp-model decides it.
fn fpae_precision(fpae: &Path) -> Result<String> {
    let out = Command::new(fpae).arg("precision").output().with_context(|| format!("cannot run {}", fpae.display()))?;
    let precision = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !matches!(precision.as_str(), "bf16" | "f32") {
        bail!("{} precision failed ({}): {precision:?}", fpae.display(), out.status);
    }
    Ok(precision)
}

/// `fpae benchmark make` from data/fvc2002 into `bench_dir`.
fn make_benchmark(fpae: &Path, bench_dir: &Path) -> Result<()> {
    if bench_dir.exists() {
        bail!(
            "{} exists but holds no benchmark.toml: not a finished benchmark; remove it or choose another --bench-dir",
            bench_dir.display()
        );
    }
    let data = fetch::Dataset::Fvc2002.data_dir();
    if !data.is_dir() {
        bail!("{} is missing; run `cargo xtask fetch-data` first", data.display());
    }
    eprintln!("making the benchmark {} from {} ...", bench_dir.display(), data.display());
    let mut cmd = Command::new(fpae);
    cmd.args(["benchmark", "make", "--data"]).arg(&data).arg("--out").arg(bench_dir);
    run_to_stderr(&mut cmd)
}

/// Links the chosen severities of the chosen kinds (every kind when `only_kinds`
/// is empty) in `bench_dir/degraded` into `dir` (emptied first) as `<kind>/<severity>`.
fn select(bench_dir: &Path, severities: &[f64], only_kinds: &[String], dir: &Path) -> Result<Selection> {
    let degraded = bench_dir.join("degraded");
    let degraded = fs::canonicalize(&degraded).with_context(|| format!("cannot open {}", degraded.display()))?;
    clear(dir)?;
    let all_kinds = sorted_subfolders(&degraded)?;
    if let Some(missing) = only_kinds.iter().find(|k| !all_kinds.contains(k)) {
        bail!("{}: no kind {missing} (it has {})", degraded.display(), all_kinds.join(", "));
    }
    let mut kinds = Vec::new();
    let mut chosen: Vec<(f64, String)> = Vec::new();
    let mut available: Vec<(f64, String)> = Vec::new();
    let mut images = 0;
    for kind in all_kinds.into_iter().filter(|k| only_kinds.is_empty() || only_kinds.contains(k)) {
        let mut linked = false;
        for severity in sorted_subfolders(&degraded.join(&kind))? {
            let Ok(value) = severity.parse::<f64>() else { continue };
            if !available.iter().any(|(_, s)| *s == severity) {
                available.push((value, severity.clone()));
            }
            if !severities.is_empty() && !severities.iter().any(|s| (s - value).abs() < 1e-6) {
                continue;
            }
            let target = degraded.join(&kind).join(&severity);
            let link = dir.join(&kind).join(&severity);
            fs::create_dir_all(dir.join(&kind))
                .with_context(|| format!("cannot create {}", dir.join(&kind).display()))?;
            std::os::unix::fs::symlink(&target, &link)
                .with_context(|| format!("cannot link {} to {}", link.display(), target.display()))?;
            images += count_images(&target)?;
            if !chosen.iter().any(|(_, s)| *s == severity) {
                chosen.push((value, severity));
            }
            linked = true;
        }
        if linked {
            kinds.push(kind);
        }
    }
    available.sort_by(|a, b| a.0.total_cmp(&b.0));
    let names = |v: &[(f64, String)]| v.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(missing) = severities.iter().find(|s| !available.iter().any(|(v, _)| (*s - v).abs() < 1e-6)) {
        bail!("{}: no severity {missing} (it has {})", degraded.display(), names(&available));
    }
    if images == 0 {
        bail!("{}: no degraded prints (expected <kind>/<severity>/<DB>/<stem>.png)", degraded.display());
    }
    chosen.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Selection { dir: dir.to_path_buf(), kinds, severities: chosen.into_iter().map(|(_, s)| s).collect(), images })
}

/// Links the clean prints of the benchmark's validation fingers (those under
/// its first kind and severity) into `dir` (emptied first) as `<DB>/<stem>.png`:
/// the do-no-harm inputs. Returns how many.
fn select_clean(bench_dir: &Path, dir: &Path) -> Result<usize> {
    let degraded = bench_dir.join("degraded");
    let clean = fs::canonicalize(bench_dir.join("clean"))
        .with_context(|| format!("cannot open {}", bench_dir.join("clean").display()))?;
    let kind = sorted_subfolders(&degraded)?
        .into_iter()
        .next()
        .with_context(|| format!("{}: no kinds", degraded.display()))?;
    let severity = sorted_subfolders(&degraded.join(&kind))?
        .into_iter()
        .next()
        .with_context(|| format!("{}: no severities", degraded.join(&kind).display()))?;
    let val = degraded.join(&kind).join(&severity);
    clear(dir)?;
    let mut n = 0;
    for db in sorted_subfolders(&val)? {
        fs::create_dir_all(dir.join(&db)).with_context(|| format!("cannot create {}", dir.join(&db).display()))?;
        let mut names: Vec<String> = fs::read_dir(val.join(&db))
            .with_context(|| format!("cannot list {}", val.join(&db).display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|name| !name.starts_with('.') && name.ends_with(".png"))
            .collect();
        names.sort();
        for name in names {
            let target = clean.join(&db).join(&name);
            if !target.is_file() {
                bail!("{}: the clean print of {} is missing", target.display(), val.join(&db).join(&name).display());
            }
            std::os::unix::fs::symlink(&target, dir.join(&db).join(&name))
                .with_context(|| format!("cannot link {}", dir.join(&db).join(&name).display()))?;
            n += 1;
        }
    }
    if n == 0 {
        bail!("{}: no validation prints", val.display());
    }
    Ok(n)
}

/// The names of the visible subfolders of `dir`, sorted.
fn sorted_subfolders(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Images under `dir`, recursively, following links and skipping hidden names, as fpae does.
fn count_images(dir: &Path) -> Result<usize> {
    let mut n = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            n += count_images(&path)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            n += 1;
        }
    }
    Ok(n)
}

/// Removes `dir` (one of our own output folders) if it exists and creates it empty.
fn clear(dir: &Path) -> Result<()> {
    if fs::symlink_metadata(dir).is_ok() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Runs a command with its output on our stderr (our stdout ends with the JSON line).
pub(crate) fn run_to_stderr(cmd: &mut Command) -> Result<()> {
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd.status().with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Runs a command, its stderr on ours, and parses the last line of its stdout as JSON.
pub(crate) fn json_stdout(cmd: &mut Command) -> Result<(Value, ExitStatus)> {
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    match serde_json::from_str(line) {
        Ok(value) => Ok((value, out.status)),
        Err(e) => bail!("{cmd:?} ({}) printed no JSON line ({e}): {stdout}", out.status),
    }
}

/// Writes `text` to a temporary file beside `path`, syncs it and renames it into place.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().context("the report path has no folder")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().context("the report path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(crate) fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `kind/severity` -> (kind, severity folder name).
fn split_group(group: &str) -> Option<(&str, &str)> {
    group.rsplit_once('/')
}

fn summarise(
    args: &RestoreBenchArgs,
    bench_dir: &Path,
    selection: &Selection,
    workers: usize,
    scores: &BTreeMap<&str, Value>,
    clean_scores: &BTreeMap<&str, Value>,
    timing: Map<String, Value>,
) -> Value {
    let methods: Vec<&str> = METHODS.into_iter().filter(|m| scores.contains_key(m)).collect();
    let peers: Vec<&str> = methods.iter().copied().filter(|m| m.starts_with("pyfing-")).collect();
    // Groups, by kind then by severity value.
    let mut group_names: Vec<String> = scores
        .values()
        .filter_map(|s| s["groups"].as_object())
        .flat_map(|g| g.keys().cloned())
        .filter(|g| split_group(g).is_some())
        .collect();
    group_names.sort_by(|a, b| {
        let (ka, sa) = split_group(a).unwrap_or_default();
        let (kb, sb) = split_group(b).unwrap_or_default();
        ka.cmp(kb).then(sa.parse::<f64>().unwrap_or(f64::NAN).total_cmp(&sb.parse::<f64>().unwrap_or(f64::NAN)))
    });
    group_names.dedup();

    let metrics = |method: &str, group: &str| -> Metrics {
        scores.get(method).map_or(Metrics::NAN, |s| {
            let g = &s["groups"][group];
            if g.is_null() { Metrics::NAN } else { Metrics::of(g) }
        })
    };
    // The better pyfing pipeline of a group by its type-II rate, with its measures.
    let best_peer = |group: &str| -> Option<(&str, Metrics)> {
        peers
            .iter()
            .map(|&p| (p, metrics(p, group)))
            .filter(|(_, m)| m.type2.is_finite())
            .max_by(|a, b| a.1.type2.total_cmp(&b.1.type2))
    };

    let mut groups = Map::new();
    for name in &group_names {
        let (kind, severity) = split_group(name).unwrap_or_default();
        let mut entry = Map::new();
        entry.insert("kind".into(), json!(kind));
        entry.insert("severity".into(), number(severity.parse().unwrap_or(f64::NAN)));
        for &method in &methods {
            entry.insert(method.into(), scores[method]["groups"][name.as_str()].clone());
        }
        if let Some((peer, _)) = best_peer(name) {
            entry.insert("best_peer".into(), json!(peer));
        }
        groups.insert(name.clone(), Value::Object(entry));
    }

    // Per severity (and over every group), the mean over the kinds.
    let mut summary = Map::new();
    let mut buckets: Vec<(String, Vec<&String>)> =
        selection.severities.iter().map(|s| (s.clone(), Vec::new())).collect();
    for name in &group_names {
        let severity = split_group(name).map_or("", |(_, s)| s);
        if let Some((_, members)) = buckets.iter_mut().find(|(s, _)| s == severity) {
            members.push(name);
        }
    }
    buckets.push(("all".into(), group_names.iter().collect()));
    for (severity, members) in buckets {
        let mean_of = |method: &str| Metrics::mean(&members.iter().map(|g| metrics(method, g)).collect::<Vec<_>>());
        let degraded = mean_of("degraded");
        let originals_type2 = degraded.type2_originals;
        let mut entry = Map::new();
        entry.insert("kinds".into(), json!(members.len()));
        entry.insert("originals_type2_rate_40".into(), number(originals_type2));
        let mut gaps = Map::new();
        for &method in &methods {
            let m = mean_of(method);
            entry.insert(method.into(), m.to_json());
            if method != "degraded" {
                gaps.insert(method.into(), number(gap_recovered(m.type2, degraded.type2, originals_type2)));
            }
        }
        if peers.len() > 1 {
            let best: Vec<Metrics> = members.iter().map(|g| best_peer(g).map_or(Metrics::NAN, |(_, m)| m)).collect();
            let m = Metrics::mean(&best);
            entry.insert(BEST_PEER.into(), m.to_json());
            gaps.insert(BEST_PEER.into(), number(gap_recovered(m.type2, degraded.type2, originals_type2)));
        }
        entry.insert("gap_recovered".into(), Value::Object(gaps));
        summary.insert(severity, Value::Object(entry));
    }

    // Do no harm: every tool on the clean validation prints, against the prints as they are.
    let mut do_no_harm = Map::new();
    for (&method, s) in clean_scores {
        do_no_harm.insert(method.to_owned(), Metrics::of(&s["all"]).to_json());
    }

    let all: Map<String, Value> = methods.iter().map(|&m| (m.to_owned(), scores[m]["all"].clone())).collect();
    json!({
        "benchmark": crate::shown_path(bench_dir),
        "model": args.model.display().to_string(),
        "kinds": selection.kinds,
        "severities": selection.severities,
        "images": selection.images,
        "cpu": cpu_model(),
        "cores": cores(),
        "workers": workers,
        "timing": timing,
        "summary": summary,
        "do_no_harm": do_no_harm,
        "groups": groups,
        "all": all,
    })
}

/// A rate in percent, with one decimal.
fn pct(v: f64) -> String {
    if v.is_finite() { format!("{:.1}", 100.0 * v) } else { "n/a".into() }
}

fn fixed(v: f64, decimals: usize) -> String {
    if v.is_finite() { format!("{v:.decimals$}") } else { "n/a".into() }
}

fn metric_cells(m: &Metrics, not_computable_decimals: usize) -> Vec<String> {
    vec![
        fixed(m.psnr, 2),
        fixed(m.ssim, 3),
        pct(m.type1),
        pct(m.type2),
        pct(m.impostor),
        pct(m.recall),
        pct(m.precision),
        fixed(m.not_computable, not_computable_decimals),
    ]
}

const COLUMNS: [&str; 8] =
    ["PSNR", "SSIM", "type-I@40", "type-II@40", "impostor@40", "minutiae recall", "precision", "not computable"];

fn markdown_row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

fn markdown_header(first: &str, extra: &[&str]) -> String {
    let names: Vec<String> =
        std::iter::once(first).chain(COLUMNS).chain(extra.iter().copied()).map(String::from).collect();
    let rule: Vec<String> = names.iter().enumerate().map(|(i, _)| if i == 0 { "---" } else { "---:" }.into()).collect();
    format!("{}\n{}", markdown_row(&names), markdown_row(&rule))
}

fn print_report(r: &Value) {
    let methods: Vec<&str> = METHODS.into_iter().filter(|m| r["all"].get(m).is_some()).collect();
    println!(
        "\nRestoration of {} by {} (rates in %; BOZORTH3 at score >= 40; not computable: prints under 10 minutiae)",
        r["benchmark"].as_str().unwrap_or("?"),
        r["model"].as_str().unwrap_or("?")
    );
    if let Some(groups) = r["groups"].as_object() {
        for (name, g) in groups {
            let images = g["degraded"]["images"].as_u64().map_or("n/a".into(), |n| n.to_string());
            println!(
                "\n### {} {} ({images} prints)\n",
                g["kind"].as_str().unwrap_or(name),
                fixed_severity(&g["severity"])
            );
            println!("{}", markdown_header("", &[]));
            for &method in &methods {
                let m = if g[method].is_null() { Metrics::NAN } else { Metrics::of(&g[method]) };
                let best = if g["best_peer"].as_str() == Some(method) { " (better pyfing)" } else { "" };
                println!("{}", markdown_row(&[vec![format!("{method}{best}")], metric_cells(&m, 0)].concat()));
            }
        }
    }

    println!("\n### Mean over the kinds\n");
    println!(
        "gap recovered: (type-II of the method - type-II of the degraded prints) / (type-II of the clean originals - type-II of the degraded prints); {BEST_PEER}: the better pyfing pipeline of each kind\n"
    );
    println!("{}", markdown_header("severity", &["gap recovered"]));
    if let Some(summary) = r["summary"].as_object() {
        for (severity, s) in summary {
            let rows = methods.iter().copied().chain(s.get(BEST_PEER).map(|_| BEST_PEER));
            for method in rows {
                let m = if s[method].is_null() { Metrics::NAN } else { summary_metrics(&s[method]) };
                let gap = if method == "degraded" {
                    "-".into()
                } else {
                    pct(s["gap_recovered"][method].as_f64().unwrap_or(f64::NAN))
                };
                let first = format!("{severity} {method}");
                println!("{}", markdown_row(&[vec![first], metric_cells(&m, 1), vec![gap]].concat()));
            }
            let originals = s["originals_type2_rate_40"].as_f64().unwrap_or(f64::NAN);
            let mut cells = vec![format!("{severity} clean originals")];
            cells.extend(COLUMNS.iter().enumerate().map(|(i, _)| if i == 3 { pct(originals) } else { "-".into() }));
            cells.push("-".into());
            println!("{}", markdown_row(&cells));
        }
    }

    if let Some(harm) = r["do_no_harm"].as_object().filter(|h| !h.is_empty()) {
        println!("\n### Do no harm: the clean validation prints, processed\n");
        println!("{}", markdown_header("", &["type-II change"]));
        let clean_type2 = harm.get("clean").map_or(f64::NAN, |c| summary_metrics(c).type2);
        for name in std::iter::once("clean").chain(methods.iter().copied().filter(|m| *m != "degraded")) {
            let Some(v) = harm.get(name) else { continue };
            let m = summary_metrics(v);
            let change = if name == "clean" {
                "-".into()
            } else if m.type2.is_finite() && clean_type2.is_finite() {
                format!("{:+.1}", 100.0 * (m.type2 - clean_type2))
            } else {
                "n/a".into()
            };
            let first = if name == "clean" { "clean, as they are".to_owned() } else { name.to_owned() };
            println!("{}", markdown_row(&[vec![first], metric_cells(&m, 0), vec![change]].concat()));
        }
    }

    println!("\n### Time per print\n");
    println!(
        "{} ({} cores), {} prints; each time the median of {} passes (range in brackets)",
        r["cpu"].as_str().unwrap_or("unknown CPU"),
        r["cores"],
        r["images"],
        r["repeats"]
    );
    if r["quiet"] == false {
        println!(
            "NOT QUIET (--force or load during the passes): other processes up to {:.2} cores; these times are \
             under load and not comparable with a quiet machine's",
            r["other_load_max"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let range = |t: &Value| {
        format!(
            "[{}-{} s]",
            fixed(t["seconds_min"].as_f64().unwrap_or(f64::NAN), 1),
            fixed(t["seconds_max"].as_f64().unwrap_or(f64::NAN), 1)
        )
    };
    let timing = &r["timing"];
    let f = &timing["fpae"];
    println!(
        "- fpae restore: {} s per print ({} s in all {}, {}; wall clock of the whole command)",
        fixed(f["per_image_s"].as_f64().unwrap_or(f64::NAN), 4),
        fixed(f["seconds"].as_f64().unwrap_or(f64::NAN), 1),
        range(f),
        plural(&f["threads"], "thread")
    );
    print_speed_table(r);
    let mut any_peer = false;
    for method in methods.iter().filter(|m| m.starts_with("pyfing-")) {
        let p = &timing[*method];
        any_peer = true;
        let stages: Vec<&str> =
            p["script"]["stages"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
        println!(
            "- {method} {} ({}; Keras {} on {}): {} s per print ({} s in all {}, {}; wall clock of the whole \
             command; {} s per print once its imports are done)",
            p["script"]["pyfing"].as_str().unwrap_or("?"),
            stages.join(", "),
            p["script"]["keras"].as_str().unwrap_or("?"),
            p["script"]["keras_backend"].as_str().unwrap_or("?"),
            fixed(p["per_image_s"].as_f64().unwrap_or(f64::NAN), 4),
            fixed(p["seconds"].as_f64().unwrap_or(f64::NAN), 1),
            range(p),
            plural(&p["workers"], "worker process"),
            fixed(p["script"]["per_image_s"].as_f64().unwrap_or(f64::NAN), 4)
        );
    }
    if !any_peer {
        println!("- pyfing: not measured (--no-pyfing)");
    }
}

/// The same model in three runtimes (and pyfing) side by side: per print, per
/// megapixel, peak RSS; then fpae's GFLOP/s against the peak.
fn print_speed_table(r: &Value) {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "\n{} prints, {} megapixels, batches of at most {} (cut to 512 MiB of activations); wall clock of each \
         whole command, the median of its passes\n",
        r["images"],
        fixed(num(&r["megapixels"]), 2),
        r["batch"]
    );
    println!("{}", speed_table(r));
    if let Some(derivation) = r["work"]["peak_derivation"].as_str() {
        println!("  {derivation}");
    }
}

/// The speed table of a `bench restore` report, in Markdown (docs-check renders
/// docs/performance.md's from the JSON with it): each tool's time per print and
/// per megapixel (the median of its passes), every pass's time and the load
/// other processes put on the machine during it, its peak RSS and its time over
/// fpae's; then a line with fpae's executed GFLOP/s against the peak of the precision
/// it ran in.
pub(crate) fn speed_table(r: &Value) -> String {
    let timing = &r["timing"];
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let fpae = num(&timing["fpae"]["seconds"]);
    let mut out = String::from(
        "| tool | s per print | s per megapixel | passes (s) | other load (cores) | peak RSS (MB) | time over fpae's |\n\
         | --- | ---: | ---: | --- | --- | ---: | ---: |\n",
    );
    let names = ["fpae", "fpae-baseline", "pytorch-twin", "onnxruntime", "pyfing-gabor", "pyfing-snfen"];
    for name in names.into_iter().filter(|n| timing.get(n).is_some()) {
        let t = &timing[name];
        let list = |key: &str, decimals: usize| -> String {
            let v: Vec<String> = t[key].as_array().into_iter().flatten().map(|v| fixed(num(v), decimals)).collect();
            v.join(", ")
        };
        let what = match name {
            "fpae" => "fpae restore".to_owned(),
            "fpae-baseline" => "fpae restore, baseline (`--fpae-baseline`)".to_owned(),
            "pytorch-twin" => format!(
                "PyTorch {} twin ({}, {}, {})",
                t["script"]["torch"].as_str().unwrap_or("?"),
                t["script"]["precision"].as_str().unwrap_or("?"),
                if t["script"]["channels_last"] == true { "channels-last" } else { "NCHW" },
                t["allocator"].as_str().unwrap_or("?")
            ),
            "onnxruntime" => format!("ONNX Runtime {}", t["script"]["onnxruntime"].as_str().unwrap_or("?")),
            other => other.to_owned(),
        };
        let ratio =
            if name == "fpae" { "1.00x".to_owned() } else { format!("{}x", fixed(num(&t["seconds"]) / fpae, 2)) };
        out += &format!(
            "| {what} | {} | {} | {} | {} | {} | {ratio} |\n",
            fixed(num(&t["per_image_s"]), 3),
            fixed(num(&t["per_megapixel_s"]), 3),
            list("seconds_repeats", 1),
            list("other_load", 2),
            fixed(num(&t["peak_rss_mb"]), 0)
        );
    }
    let w = &r["work"];
    if w.is_object() {
        // Results from before the field was recorded ran in f32.
        let precision = w["fpae_precision"].as_str().unwrap_or("f32");
        out += &format!(
            "\nfpae executes {} GFLOP of convolutions on these prints at their padded sizes (the plain network {}): \
             {} GFLOP/s over its wall clock, {} % of the {precision} peak of {} GFLOP/s.\n",
            fixed(num(&w["fpae_executed_gflop"]), 1),
            fixed(num(&w["model_gflop"]), 1),
            fixed(num(&w["fpae_gflops"]), 1),
            fixed(100.0 * num(&w["fpae_fraction_of_peak"]), 0),
            fixed(num(&w[format!("peak_gflops_{precision}").as_str()]), 1),
        );
    }
    out
}

/// `1 thread`, `2 threads`.
fn plural(n: &Value, noun: &str) -> String {
    match n.as_u64() {
        Some(1) => format!("1 {noun}"),
        Some(n) => format!("{n} {noun}{}", if noun.ends_with('s') { "es" } else { "s" }),
        None => format!("? {noun}s"),
    }
}

fn fixed_severity(v: &Value) -> String {
    v.as_f64().map_or("n/a".into(), |s| format!("{s:.1}"))
}

/// The measures of a summary entry (written by [`Metrics::to_json`]).
fn summary_metrics(v: &Value) -> Metrics {
    let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Metrics {
        images: num("images"),
        psnr: num("psnr"),
        ssim: num("ssim"),
        type1: num("type1_rate_40"),
        type2: num("type2_rate_40"),
        type2_originals: num("type2_rate_40_originals"),
        impostor: num("impostor_rate_40"),
        recall: num("minutiae_recall"),
        precision: num("minutiae_precision"),
        not_computable: num("not_computable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fpae's GFLOP/s are set against the peak of the precision it ran in; a report
    /// from before the precision was recorded ran in f32.
    #[test]
    fn the_speed_line_names_the_peak_of_fpaes_precision() {
        let mut report = json!({
            "timing": {"fpae": {"seconds": 2.0, "per_image_s": 0.03, "per_megapixel_s": 0.2}},
            "work": {"fpae_executed_gflop": 900.0, "model_gflop": 1000.0, "fpae_gflops": 450.0,
                     "fpae_fraction_of_peak": 0.1, "peak_gflops_f32": 300.0, "peak_gflops_bf16": 4500.0,
                     "fpae_precision": "bf16"}
        });
        let table = speed_table(&report);
        assert!(table.contains("10 % of the bf16 peak of 4500.0 GFLOP/s"), "{table}");
        report["work"].as_object_mut().unwrap().remove("fpae_precision");
        let table = speed_table(&report);
        assert!(table.contains("of the f32 peak of 300.0 GFLOP/s"), "{table}");
    }

    /// `xtask/bench/test_pyfing_enhance.py`: the script's inversion, masking,
    /// path mapping, database recognition and pipeline choice, with numpy alone
    /// (LibTorch's Python, where `cargo xtask test` puts numpy, else python3).
    #[test]
    fn pyfing_script_pure_parts() {
        let venv = libtorch::install_dir().unwrap().join("venv").join("bin").join("python");
        let has_numpy = |python: &Path| {
            Command::new(python).args(["-c", "import numpy"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        };
        let python = [venv, PathBuf::from("python3")].into_iter().find(|p| has_numpy(p)).unwrap_or_else(|| {
            panic!("no Python with numpy for the pyfing script's tests: run `cargo xtask test`, which installs it")
        });
        let test = project_root().join("xtask").join("bench").join("test_pyfing_enhance.py");
        let out = Command::new(&python).arg(&test).env_remove("KERAS_BACKEND").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}:\n{stderr}", test.display());
        assert!(stderr.contains("\nOK"), "{stderr}");
    }

    #[test]
    fn missing_measures_are_nan_and_left_out_of_means() {
        let group = json!({"images": 4, "psnr": 20.0, "ssim": null, "identity": {"type2_rate_40": 0.5}});
        let m = Metrics::of(&group);
        assert_eq!(m.psnr, 20.0);
        assert!(m.ssim.is_nan() && m.type1.is_nan());
        let no_identity = Metrics::of(&json!({"images": 4, "psnr": 30.0}));
        let mean = Metrics::mean(&[m, no_identity]);
        assert_eq!(mean.psnr, 25.0);
        assert_eq!(mean.type2, 0.5);
        assert!(mean.recall.is_nan());
        assert_eq!(mean.to_json()["recall"], Value::Null);
    }

    #[test]
    fn the_better_pyfing_pipeline_is_chosen_per_kind_and_clean_prints_make_the_do_no_harm_rows() {
        let group = |type2: f64| json!({"images": 64, "psnr": 20.0, "identity": {"type2_rate_40": type2, "type2_rate_40_originals": 0.8}});
        let set = |noise: f64, dry: f64| json!({"groups": {"noise/0.6": group(noise), "dry/0.6": group(dry)}, "all": group((noise + dry) / 2.0)});
        let scores: BTreeMap<&str, Value> = [
            ("degraded", set(0.4, 0.4)),
            ("fpae", set(0.5, 0.45)),
            ("pyfing-gabor", set(0.6, 0.3)),
            ("pyfing-snfen", set(0.2, 0.7)),
        ]
        .into_iter()
        .collect();
        let clean: BTreeMap<&str, Value> =
            [("clean", set(0.8, 0.8)), ("fpae", set(0.79, 0.79)), ("pyfing-snfen", set(0.7, 0.74))]
                .into_iter()
                .collect();
        let args = RestoreBenchArgs {
            model: PathBuf::from("m"),
            bench_dir: None,
            severities: vec![0.6],
            baselines: vec![],
            no_pyfing: false,
            no_twin: false,
            no_onnx: false,
            kinds: vec![],
            batch: 32,
            no_install: false,
            fpae_baseline: None,
            no_clean: false,
            workers: Some(2),
            repeats: 1,
            force: false,
        };
        let selection = Selection {
            dir: PathBuf::from("in"),
            kinds: vec!["dry".into(), "noise".into()],
            severities: vec!["0.6".into()],
            images: 128,
        };
        let r = summarise(&args, Path::new("b"), &selection, 2, &scores, &clean, Map::new());
        assert_eq!(r["groups"]["noise/0.6"]["best_peer"], "pyfing-gabor");
        assert_eq!(r["groups"]["dry/0.6"]["best_peer"], "pyfing-snfen");
        let s = &r["summary"]["0.6"];
        // The better pipeline per kind: (0.6 + 0.7) / 2 = 0.65; gap (0.65 - 0.4) / (0.8 - 0.4).
        assert!((s[BEST_PEER]["type2_rate_40"].as_f64().unwrap() - 0.65).abs() < 1e-12);
        assert!((s["gap_recovered"][BEST_PEER].as_f64().unwrap() - 0.625).abs() < 1e-12);
        assert!((s["gap_recovered"]["fpae"].as_f64().unwrap() - 0.1875).abs() < 1e-12);
        assert!((r["do_no_harm"]["pyfing-snfen"]["type2_rate_40"].as_f64().unwrap() - 0.72).abs() < 1e-12);
        assert!(r["do_no_harm"].get("pyfing-gabor").is_none());
    }

    #[test]
    fn a_tools_time_is_the_median_of_its_passes_with_their_range_and_load() {
        let passes = [
            json!({"seconds": 30.0, "threads": 2, "other_load": 0.1, "omp_wait_policy": "active"}),
            json!({"seconds": 20.0, "threads": 2, "other_load": 1.5, "omp_wait_policy": "passive"}),
            json!({"seconds": 25.0, "threads": 2, "other_load": null, "omp_wait_policy": "active"}),
        ];
        let t = timing_of_passes(&passes, 100);
        assert_eq!((t["seconds"].as_f64(), t["per_image_s"].as_f64()), (Some(25.0), Some(0.25)));
        assert_eq!((t["seconds_min"].as_f64(), t["seconds_max"].as_f64()), (Some(20.0), Some(30.0)));
        assert_eq!(t["seconds_repeats"], json!([30.0, 20.0, 25.0]));
        assert_eq!(t["other_load"], json!([0.1, 1.5, null]));
        assert_eq!(t["omp_wait_policy"], json!(["active", "passive", "active"]));
        assert_eq!(t["threads"], 2);
        assert_eq!(timing_of_passes(&[], 10)["seconds"], Value::Null);
    }

    #[test]
    fn a_plan_gives_megapixels_and_the_flops_of_both_counts() {
        // Two 300x300 prints padded to 304x304: a 3x3 convolution 1 -> 2 at 304x304
        // (304 * 304 * 1 * 2 * 9 = 1,663,488 multiply-adds) and a 3x3 convolution
        // 4 -> 2 after an upsampling to 304x304: plain 304 * 304 * 4 * 2 * 9 =
        // 6,653,952; as four 2x2 phases on the 153x153 grid 153 * 153 * 4 * 8 * 4 = 2,996,352.
        let plan = json!({"prints": 2, "sizes": [{"height": 300, "width": 300, "prints": 2, "batch": 2,
            "padded": [304, 304], "convs": [
                {"name": "a", "height": 304, "width": 304, "cin": 1, "cout": 2, "kernel": 3, "after_upsampling": false},
                {"name": "b", "height": 304, "width": 304, "cin": 4, "cout": 2, "kernel": 3, "after_upsampling": true}]}]});
        let p = plan_of(&plan);
        assert!((p.megapixels - 0.18).abs() < 1e-12);
        assert_eq!(p.model_flops, 2.0 * 2.0 * (1_663_488.0 + 6_653_952.0));
        assert_eq!(p.fpae_flops, 2.0 * 2.0 * (1_663_488.0 + 2_996_352.0));
        assert!(p.sizes[0].get("convs").is_none() && p.sizes[0]["batch"] == 2);
        // No convolutions known: no FLOPs rather than zero.
        assert!(
            plan_of(&json!({"sizes": [{"height": 8, "width": 8, "prints": 1, "convs": null}]})).model_flops.is_nan()
        );
    }

    #[test]
    fn peak_memory_is_read_from_proc_status() {
        let status = "Name:\tfpae\nVmPeak:\t 9000 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  700000 kB\n";
        assert_eq!(parse_status_kb(status, "VmHWM:"), Some(812_345));
        assert_eq!(parse_status_kb(status, "VmRSS:"), Some(700_000));
        assert_eq!(parse_status_kb(status, "VmSwap:"), None);
        // This process: a high-water mark at least the resident memory read before it (other
        // tests' threads allocate meanwhile), and itself among its descendants.
        let me = std::process::id();
        let rss = status_kb(me, "VmRSS:").unwrap();
        assert!(status_kb(me, "VmHWM:").unwrap() >= rss);
        assert_eq!(descendants(me)[0], me);
    }

    #[test]
    fn gap_recovered_is_the_share_of_the_identity_gap_closed() {
        assert!((gap_recovered(0.7, 0.5, 0.9) - 0.5).abs() < 1e-12);
        assert!((gap_recovered(0.4, 0.5, 0.9) + 0.25).abs() < 1e-12);
        assert!(gap_recovered(0.9, 0.9, 0.9).is_nan());
    }

    #[test]
    fn selection_links_the_chosen_severities_of_every_kind() {
        let tmp = tempfile::tempdir().unwrap();
        let bench = tmp.path().join("bench");
        for kind in ["blur", "noise"] {
            for severity in ["0.3", "0.6", "0.9"] {
                let db = bench.join("degraded").join(kind).join(severity).join("DB1_B");
                fs::create_dir_all(&db).unwrap();
                fs::write(db.join("101_1.png"), b"").unwrap();
                fs::write(db.join("notes.txt"), b"").unwrap();
            }
        }
        let dir = tmp.path().join("in");
        let s = select(&bench, &[0.9, 0.3], &[], &dir).unwrap();
        assert_eq!(s.kinds, ["blur", "noise"]);
        assert_eq!(s.severities, ["0.3", "0.9"]);
        assert_eq!(s.images, 4);
        assert!(dir.join("noise/0.9/DB1_B/101_1.png").is_file());
        assert!(!dir.join("noise/0.6").exists());
        // Again, with everything: the folder is remade, not added to.
        let s = select(&bench, &[], &[], &dir).unwrap();
        assert_eq!(s.severities, ["0.3", "0.6", "0.9"]);
        assert_eq!(s.images, 6);
        let err = select(&bench, &[0.5], &[], &dir).unwrap_err().to_string();
        assert!(err.contains("no severity 0.5") && err.contains("0.3, 0.6, 0.9"), "{err}");
        // One kind only; a kind the benchmark lacks is named.
        let s = select(&bench, &[0.6], &["noise".to_owned()], &dir).unwrap();
        assert_eq!((s.kinds.as_slice(), s.images), (["noise".to_owned()].as_slice(), 1));
        assert!(!dir.join("blur").exists());
        let err = select(&bench, &[], &["rain".to_owned()], &dir).unwrap_err().to_string();
        assert!(err.contains("no kind rain") && err.contains("blur, noise"), "{err}");

        // The do-no-harm inputs: the clean prints of the validation fingers only.
        let clean_dir = tmp.path().join("in-clean");
        let err = select_clean(&bench, &clean_dir).unwrap_err().to_string();
        assert!(err.contains("clean"), "{err}");
        for name in ["101_1.png", "102_1.png"] {
            fs::create_dir_all(bench.join("clean/DB1_B")).unwrap();
            fs::write(bench.join("clean/DB1_B").join(name), name).unwrap();
        }
        assert_eq!(select_clean(&bench, &clean_dir).unwrap(), 1);
        assert_eq!(fs::read_to_string(clean_dir.join("DB1_B/101_1.png")).unwrap(), "101_1.png");
        assert!(!clean_dir.join("DB1_B/102_1.png").exists());
    }
}
