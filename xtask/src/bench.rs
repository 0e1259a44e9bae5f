//! `cargo xtask bench train`: our training and inference throughput next to
//! PyTorch eager's, measured in the same run on the same machine.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{fetch, libtorch, project_root};

/// Options of `cargo xtask bench train`.
#[derive(Debug, clap::Args)]
pub struct TrainBenchArgs {
    /// Device to measure: cpu, cuda or cuda:N.
    #[arg(long, value_name = "D", default_value = "cpu")]
    device: String,
    /// Images per step.
    #[arg(long, value_name = "B", default_value_t = 128)]
    batch: usize,
    /// Timed steps per measurement (the median is reported); 2 untimed steps come first.
    #[arg(long, value_name = "S", default_value_t = 5)]
    steps: usize,
    /// Skip the PyTorch measurements.
    #[arg(long)]
    no_pytorch: bool,
}

/// A number of one measurement (`fpae bench --json` and torch_bench.py print the same keys).
fn field(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

pub fn train(args: &TrainBenchArgs) -> Result<()> {
    let provision = libtorch::setup()?;
    let python = match provision {
        libtorch::Provision::Managed { python } => python,
        libtorch::Provision::User => PathBuf::from("python3"),
    };
    crate::cargo(&["build", "--quiet", "-p", "fp-cli"], &[])?;
    let fpae = project_root().join("target").join("debug").join("fpae");
    // The options fpae bench and torch_bench.py share.
    let common = |mode: &str, precision: &str| -> Vec<String> {
        let (batch, steps) = (args.batch.to_string(), args.steps.to_string());
        ["--mode", mode, "--precision", precision, "--device", &args.device, "--batch", &batch, "--steps", &steps]
            .into_iter()
            .chain(["--warmup", "2"])
            .map(String::from)
            .collect()
    };
    let mut ours = serde_json::Map::new();
    let mut torch = serde_json::Map::new();
    for mode in ["train", "infer"] {
        for precision in ["f32", "bf16"] {
            eprintln!("fpae: {mode}, {precision} ...");
            let mut cmd = Command::new(&fpae);
            cmd.args(["bench", "--json"]).args(common(mode, precision));
            ours.insert(format!("{mode}_{precision}"), json_line(&mut cmd)?);
            if !args.no_pytorch {
                let p = if precision == "bf16" { "bf16cl" } else { "f32" };
                eprintln!("PyTorch: {mode}, {p} ...");
                let script = project_root().join("xtask").join("bench").join("torch_bench.py");
                let mut cmd = Command::new(&python);
                cmd.arg(&script).args(common(mode, p));
                torch.insert(format!("{mode}_{p}"), json_line(&mut cmd)?);
                // PyTorch with the allocator fpae links (and its settings), for a like-for-like view.
                if let Some(jemalloc) = system_jemalloc() {
                    eprintln!("PyTorch with jemalloc: {mode}, {p} ...");
                    let mut cmd = Command::new(&python);
                    cmd.arg(&script).args(common(mode, p));
                    cmd.env("LD_PRELOAD", jemalloc).env("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1");
                    torch.insert(format!("{mode}_{p}_jemalloc"), json_line(&mut cmd)?);
                }
            }
        }
    }
    let data = data_load_times()?;
    let report = summarise(args, &ours, &torch, data.as_ref());
    print_table(&report);
    let dir = project_root().join("target").join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("train.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("written to {}", path.display());
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A system jemalloc to preload into PyTorch (Debian's `libjemalloc2`), if installed.
fn system_jemalloc() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
        "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
        "/usr/lib/libjemalloc.so.2",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Runs a command and parses the last line of its output as JSON.
fn json_line(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{cmd:?} failed ({}):\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr));
    }
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("{cmd:?} printed no JSON: {stdout}"))
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

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn summarise(
    args: &TrainBenchArgs,
    ours: &serde_json::Map<String, Value>,
    torch: &serde_json::Map<String, Value>,
    data: Option<&Value>,
) -> Value {
    let ips = |m: &serde_json::Map<String, Value>, k: &str| m.get(k).map_or(f64::NAN, |v| field(v, "images_per_sec"));
    let rss = |m: &serde_json::Map<String, Value>, k: &str| m.get(k).map_or(f64::NAN, |v| field(v, "peak_rss_mb"));
    let torch_best_infer = ips(torch, "infer_f32").max(ips(torch, "infer_bf16cl"));
    let null_if_nan = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    let ratio = |a: f64, b: f64| null_if_nan(a / b);
    json!({
        "ours_f32_train_ips": null_if_nan(ips(ours, "train_f32")),
        "ours_bf16_train_ips": null_if_nan(ips(ours, "train_bf16")),
        "torch_f32_train_ips": null_if_nan(ips(torch, "train_f32")),
        "torch_bf16cl_train_ips": null_if_nan(ips(torch, "train_bf16cl")),
        "ours_f32_infer_ips": null_if_nan(ips(ours, "infer_f32")),
        "ours_bf16_infer_ips": null_if_nan(ips(ours, "infer_bf16")),
        "torch_f32_infer_ips": null_if_nan(ips(torch, "infer_f32")),
        "torch_bf16cl_infer_ips": null_if_nan(ips(torch, "infer_bf16cl")),
        "torch_best_infer_ips": null_if_nan(torch_best_infer),
        "torch_jemalloc_f32_train_ips": null_if_nan(ips(torch, "train_f32_jemalloc")),
        "torch_jemalloc_bf16cl_train_ips": null_if_nan(ips(torch, "train_bf16cl_jemalloc")),
        "torch_jemalloc_f32_infer_ips": null_if_nan(ips(torch, "infer_f32_jemalloc")),
        "torch_jemalloc_bf16cl_infer_ips": null_if_nan(ips(torch, "infer_bf16cl_jemalloc")),
        "torch_jemalloc_bf16cl_peak_rss_mb": null_if_nan(rss(torch, "train_bf16cl_jemalloc")),
        "ours_peak_rss_mb": null_if_nan(rss(ours, "train_bf16")),
        "torch_peak_rss_mb": null_if_nan(rss(torch, "train_bf16cl")),
        "ours_f32_peak_rss_mb": null_if_nan(rss(ours, "train_f32")),
        "torch_f32_peak_rss_mb": null_if_nan(rss(torch, "train_f32")),
        "ratio_f32_train": ratio(ips(ours, "train_f32"), ips(torch, "train_f32")),
        "ratio_bf16_train": ratio(ips(ours, "train_bf16"), ips(torch, "train_bf16cl")),
        "ratio_bf16_over_f32_ours": ratio(ips(ours, "train_bf16"), ips(ours, "train_f32")),
        "ratio_infer_best": ratio(ips(ours, "infer_f32").max(ips(ours, "infer_bf16")), torch_best_infer),
        "ratio_peak_rss": ratio(rss(ours, "train_bf16"), rss(torch, "train_bf16cl")),
        "data_cold_ms": data.map_or(Value::Null, |d| d["cold_ms"].clone()),
        "data_cached_ms": data.map_or(Value::Null, |d| d["cached_ms"].clone()),
        "threads": ours.get("train_f32").map_or(Value::Null, |v| v["threads"].clone()),
        "cpu": cpu_model(),
        "device": args.device,
        "batch": args.batch,
        "steps": args.steps,
    })
}

fn print_table(r: &Value) {
    let f = |k: &str| r[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.1}"));
    let x = |k: &str| r[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.2}x"));
    println!(
        "\n{} (device {}, batch {}, median of {} steps)",
        r["cpu"].as_str().unwrap_or(""),
        r["device"],
        r["batch"],
        r["steps"]
    );
    println!("{:<34} {:>10} {:>10} {:>8}", "images/s", "fpae", "PyTorch", "ratio");
    println!(
        "{:<34} {:>10} {:>10} {:>8}",
        "train f32",
        f("ours_f32_train_ips"),
        f("torch_f32_train_ips"),
        x("ratio_f32_train")
    );
    println!(
        "{:<34} {:>10} {:>10} {:>8}",
        "train bf16 (PyTorch: autocast+CL)",
        f("ours_bf16_train_ips"),
        f("torch_bf16cl_train_ips"),
        x("ratio_bf16_train")
    );
    println!("{:<34} {:>10} {:>10}", "infer f32", f("ours_f32_infer_ips"), f("torch_f32_infer_ips"));
    println!(
        "{:<34} {:>10} {:>10}",
        "infer bf16 (PyTorch: autocast+CL)",
        f("ours_bf16_infer_ips"),
        f("torch_bf16cl_infer_ips")
    );
    println!("{:<34} {:>10} {:>10} {:>8}", "infer, best mode", "", f("torch_best_infer_ips"), x("ratio_infer_best"));
    println!(
        "{:<34} {:>10} {:>10} {:>8}",
        "peak RSS MB, train bf16",
        f("ours_peak_rss_mb"),
        f("torch_peak_rss_mb"),
        x("ratio_peak_rss")
    );
    println!("{:<34} {:>10} {:>10}", "peak RSS MB, train f32", f("ours_f32_peak_rss_mb"), f("torch_f32_peak_rss_mb"));
    println!("{:<34} {:>10}", "our bf16 over our f32 (train)", x("ratio_bf16_over_f32_ours"));
    if r["torch_jemalloc_bf16cl_train_ips"].is_number() {
        println!("PyTorch with jemalloc preloaded (the allocator and settings fpae links):");
        println!("{:<34} {:>10} {:>10}", "  train f32", "", f("torch_jemalloc_f32_train_ips"));
        println!("{:<34} {:>10} {:>10}", "  train bf16 autocast+CL", "", f("torch_jemalloc_bf16cl_train_ips"));
        println!("{:<34} {:>10} {:>10}", "  infer f32", "", f("torch_jemalloc_f32_infer_ips"));
        println!("{:<34} {:>10} {:>10}", "  infer bf16 autocast+CL", "", f("torch_jemalloc_bf16cl_infer_ips"));
        println!("{:<34} {:>10} {:>10}", "  peak RSS MB, train bf16", "", f("torch_jemalloc_bf16cl_peak_rss_mb"));
    }
    println!("{:<34} {:>10} {:>10}", "data load ms, cold / cached", f("data_cold_ms"), f("data_cached_ms"));
}
