//! `cargo xtask bench restore`: a trained restoration model next to a classical
//! baseline, on the fixed restoration benchmark, scored the same way.
//!
//! The benchmark (`fpae benchmark make`, made once into `target/bench/fvc2002-restore-v1`)
//! holds every clean FVC2002 print and the validation prints under each kind of
//! damage at severities 0.3, 0.6 and 0.9 (`degraded/<kind>/<severity>/<DB>/<stem>.png`).
//! The chosen severities are linked into `target/bench/restore-in/<kind>/<severity>`,
//! and that one folder goes, from scratch and timed by the wall clock, through
//!
//! - `fpae restore MODEL` into `target/bench/restore-out/fpae`, and
//! - pyfing 0.7.3's classical pipeline (GMFS segmentation, GBFOE orientations,
//!   XSFFE frequencies, GBFEN Gabor enhancement; `xtask/bench/pyfing_enhance.py`,
//!   run with the Python of the LibTorch venv, where pyfing and Keras are
//!   installed on first use) into `target/bench/restore-out/pyfing`,
//!
//! both with the same number of cores. `fpae score` then measures three sets of
//! candidates against the clean prints: the degraded inputs themselves, fpae's
//! restorations and pyfing's enhancements. The report has one table per kind and
//! severity, a summary per severity averaged over the kinds (over those where a
//! measure is defined) with the share of the identity gap recovered, and the
//! time per print of both tools. It is written to `target/bench/restore.json`
//! and printed as the last line.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::{fetch, libtorch, project_root};

/// pyfing and what it imports beyond numpy (Keras on the torch backend,
/// OpenCV, SciPy), at the versions this benchmark was made with. pyfing's
/// package declares no dependencies itself; none of these asks for another torch.
const PYFING_PACKAGES: [(&str, &str); 4] =
    [("pyfing", "0.7.3"), ("keras", "3.15.1"), ("opencv-python-headless", "4.14.0.94"), ("scipy", "1.17.1")];

/// The candidate sets, in the order of the tables' rows.
const METHODS: [&str; 3] = ["degraded", "fpae", "pyfing"];

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
    /// Skip the pyfing baseline.
    #[arg(long)]
    no_pyfing: bool,
    /// Cores for each tool: fpae's threads and pyfing's worker processes [default: all cores]
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
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
    let python = if args.no_pyfing { None } else { Some(pyfing_python(provision)?) };

    let selection = select(&bench_dir, &args.severities, &bench_root.join("restore-in"))?;
    eprintln!(
        "{} degraded prints: {} kinds at severities {}",
        selection.images,
        selection.kinds.len(),
        selection.severities.join(", ")
    );

    let out_root = bench_root.join("restore-out");
    let fpae_out = out_root.join("fpae");
    clear(&fpae_out)?;
    eprintln!("fpae restore, {workers} threads ...");
    let mut cmd = Command::new(&fpae);
    cmd.arg("--threads").arg(workers.to_string()).arg("restore").arg(&args.model).arg(&selection.dir);
    cmd.arg("--out").arg(&fpae_out);
    let started = Instant::now();
    run_to_stderr(&mut cmd)?;
    let fpae_seconds = started.elapsed().as_secs_f64();
    let fpae_timing = json!({
        "seconds": fpae_seconds,
        "per_image_s": number(fpae_seconds / selection.images as f64),
        "threads": workers,
    });

    let mut pyfing_timing = Value::Null;
    let pyfing_out = out_root.join("pyfing");
    if let Some(python) = &python {
        clear(&pyfing_out)?;
        eprintln!("pyfing, {workers} workers ...");
        let script = root.join("xtask").join("bench").join("pyfing_enhance.py");
        let mut cmd = Command::new(python);
        cmd.arg(&script).arg(&selection.dir).arg(&pyfing_out).arg("--workers").arg(workers.to_string());
        cmd.env("KERAS_BACKEND", "torch");
        let started = Instant::now();
        let (report, status) = json_stdout(&mut cmd)?;
        let seconds = started.elapsed().as_secs_f64();
        // Exit status 1: some prints could not be enhanced; they are named above and missing from the scores.
        if !status.success() && status.code() != Some(1) {
            bail!("{} failed ({status})", script.display());
        }
        let failed = report["failed"].as_u64().unwrap_or(0);
        if failed > 0 {
            eprintln!("warning: pyfing could not enhance {failed} prints; they are left out of its scores");
        }
        pyfing_timing = json!({
            "seconds": seconds,
            "per_image_s": number(seconds / selection.images as f64),
            "workers": workers,
            "script": report,
            "packages": PYFING_PACKAGES.iter().map(|(p, v)| format!("{p}=={v}")).collect::<Vec<_>>(),
        });
    }

    let originals = bench_dir.join("clean");
    let mut scores: BTreeMap<&str, Value> = BTreeMap::new();
    for (method, candidates) in [("degraded", &selection.dir), ("fpae", &fpae_out), ("pyfing", &pyfing_out)] {
        if method == "pyfing" && python.is_none() {
            continue;
        }
        eprintln!("scoring {method} ...");
        let mut cmd = Command::new(&fpae);
        cmd.args(["score", "--json", "--originals"]).arg(&originals).arg("--candidates").arg(candidates);
        let (value, status) = json_stdout(&mut cmd)?;
        if !status.success() {
            bail!("`fpae score` of {} failed ({status})", candidates.display());
        }
        scores.insert(method, value);
    }

    let report = summarise(args, &bench_dir, &selection, workers, &scores, fpae_timing, pyfing_timing);
    print_report(&report);
    let path = bench_root.join("restore.json");
    write_atomically(&path, &(serde_json::to_string_pretty(&report)? + "\n"))?;
    eprintln!("written to {}", path.display());
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
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

/// The Python that runs the pyfing script, with pyfing and its imports
/// installed: into our LibTorch venv when missing, beside its torch, which
/// stays at [`libtorch::TORCH_VERSION`]. A Python of the user's own is only checked.
fn pyfing_python(provision: libtorch::Provision) -> Result<PathBuf> {
    let (python, managed) = match provision {
        libtorch::Provision::Managed { python } => (python, true),
        libtorch::Provision::User => (PathBuf::from("python3"), false),
    };
    let pins: Vec<String> = PYFING_PACKAGES.iter().map(|(p, v)| format!("{p}=={v}")).collect();
    if pyfing_installed(&python)? {
        return Ok(python);
    }
    if !managed {
        bail!(
            "pyfing is not installed in your Python (python3); install it with `python3 -m pip install {}` \
             or run with --no-pyfing",
            pins.join(" ")
        );
    }
    let log = libtorch::setup_log()?;
    eprintln!("installing {} into {} ...", pins.join(" "), python.display());
    eprintln!("  pip's output: {}", log.display());
    let started = Instant::now();
    let torch = format!("torch=={}", libtorch::TORCH_VERSION);
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]).arg(&torch).args(&pins);
    libtorch::run_logged(&mut cmd, &log).context("cannot install pyfing; or run with --no-pyfing")?;
    eprintln!("installed in {:.0} s", started.elapsed().as_secs_f64());
    if !pyfing_installed(&python)? {
        bail!("pip installed {} into {}, but their versions do not match", pins.join(" "), python.display());
    }
    Ok(python)
}

/// Whether `python` holds every pinned package at its version, and our torch.
fn pyfing_installed(python: &Path) -> Result<bool> {
    let mut wanted: Vec<(&str, &str)> = PYFING_PACKAGES.to_vec();
    wanted.push(("torch", libtorch::TORCH_VERSION));
    let wanted = wanted.iter().map(|(p, v)| format!("({p:?}, {v:?})")).collect::<Vec<_>>().join(", ");
    // Versions from the installed metadata: no import of torch needed. A local
    // version (`2.13.0+cpu`) counts as its release.
    let code = format!(
        "import sys\nfrom importlib.metadata import version\n\
         def ok(p, v):\n    try:\n        return version(p).split('+')[0] == v\n    except Exception:\n        return False\n\
         sys.exit(0 if all(ok(p, v) for p, v in [{wanted}]) else 1)\n"
    );
    let status = Command::new(python)
        .arg("-c")
        .arg(code)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?;
    Ok(status.success())
}

/// Links the chosen severities of every kind in `bench_dir/degraded` into
/// `dir` (emptied first) as `<kind>/<severity>`.
fn select(bench_dir: &Path, severities: &[f64], dir: &Path) -> Result<Selection> {
    let degraded = bench_dir.join("degraded");
    let degraded = fs::canonicalize(&degraded).with_context(|| format!("cannot open {}", degraded.display()))?;
    clear(dir)?;
    let mut kinds = Vec::new();
    let mut chosen: Vec<(f64, String)> = Vec::new();
    let mut available: Vec<(f64, String)> = Vec::new();
    let mut images = 0;
    for kind in sorted_subfolders(&degraded)? {
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
fn run_to_stderr(cmd: &mut Command) -> Result<()> {
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd.status().with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Runs a command, its stderr on ours, and parses the last line of its stdout as JSON.
fn json_stdout(cmd: &mut Command) -> Result<(Value, ExitStatus)> {
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    match serde_json::from_str(line) {
        Ok(value) => Ok((value, out.status)),
        Err(e) => bail!("{cmd:?} ({}) printed no JSON line ({e}): {stdout}", out.status),
    }
}

/// Writes `text` to a temporary file beside `path`, syncs it and renames it into place.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
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
    fpae_timing: Value,
    pyfing_timing: Value,
) -> Value {
    let methods: Vec<&str> = METHODS.into_iter().filter(|m| scores.contains_key(m)).collect();
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

    let mut groups = Map::new();
    for name in &group_names {
        let (kind, severity) = split_group(name).unwrap_or_default();
        let mut entry = Map::new();
        entry.insert("kind".into(), json!(kind));
        entry.insert("severity".into(), number(severity.parse().unwrap_or(f64::NAN)));
        for &method in &methods {
            entry.insert(method.into(), scores[method]["groups"][name.as_str()].clone());
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
        entry.insert("gap_recovered".into(), Value::Object(gaps));
        summary.insert(severity, Value::Object(entry));
    }

    let all: Map<String, Value> = methods.iter().map(|&m| (m.to_owned(), scores[m]["all"].clone())).collect();
    json!({
        "benchmark": bench_dir.display().to_string(),
        "model": args.model.display().to_string(),
        "kinds": selection.kinds,
        "severities": selection.severities,
        "images": selection.images,
        "cpu": cpu_model(),
        "cores": cores(),
        "workers": workers,
        "fpae": fpae_timing,
        "pyfing": pyfing_timing,
        "summary": summary,
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
                println!("{}", markdown_row(&[vec![method.to_owned()], metric_cells(&m, 0)].concat()));
            }
        }
    }

    println!("\n### Mean over the kinds\n");
    println!(
        "gap recovered: (type-II of the method - type-II of the degraded prints) / (type-II of the clean originals - type-II of the degraded prints)\n"
    );
    println!("{}", markdown_header("severity", &["gap recovered"]));
    if let Some(summary) = r["summary"].as_object() {
        for (severity, s) in summary {
            for &method in &methods {
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

    println!("\n### Time per print\n");
    println!("{} ({} cores), {} prints", r["cpu"].as_str().unwrap_or("unknown CPU"), r["cores"], r["images"]);
    let f = &r["fpae"];
    println!(
        "- fpae restore: {} s per print ({} s in all, {}; wall clock of the whole command)",
        fixed(f["per_image_s"].as_f64().unwrap_or(f64::NAN), 4),
        fixed(f["seconds"].as_f64().unwrap_or(f64::NAN), 1),
        plural(&f["threads"], "thread")
    );
    let p = &r["pyfing"];
    if p.is_null() {
        println!("- pyfing: not measured (--no-pyfing)");
    } else {
        println!(
            "- pyfing {} (GMFS, GBFOE, XSFFE, GBFEN): {} s per print ({} s in all, {}; wall clock of the whole \
             command; {} s per print once its imports are done)",
            p["script"]["pyfing"].as_str().unwrap_or("?"),
            fixed(p["per_image_s"].as_f64().unwrap_or(f64::NAN), 4),
            fixed(p["seconds"].as_f64().unwrap_or(f64::NAN), 1),
            plural(&p["workers"], "worker process"),
            fixed(p["script"]["per_image_s"].as_f64().unwrap_or(f64::NAN), 4)
        );
    }
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
        let s = select(&bench, &[0.9, 0.3], &dir).unwrap();
        assert_eq!(s.kinds, ["blur", "noise"]);
        assert_eq!(s.severities, ["0.3", "0.9"]);
        assert_eq!(s.images, 4);
        assert!(dir.join("noise/0.9/DB1_B/101_1.png").is_file());
        assert!(!dir.join("noise/0.6").exists());
        // Again, with everything: the folder is remade, not added to.
        let s = select(&bench, &[], &dir).unwrap();
        assert_eq!(s.severities, ["0.3", "0.6", "0.9"]);
        assert_eq!(s.images, 6);
        let err = select(&bench, &[0.5], &dir).unwrap_err().to_string();
        assert!(err.contains("no severity 0.5") && err.contains("0.3, 0.6, 0.9"), "{err}");
    }
}
