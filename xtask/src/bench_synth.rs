//! `cargo xtask bench synth`: synthetic prints from `fpae synth` next to real
//! FVC sets, as the matcher sees them.
//!
//! The synthetic set (`--fingers` x `--impressions` at 400x500, 500 ppi, every
//! class and sensor style) is generated from scratch into
//! `target/bench/synth-<seed>`, timed by the wall clock of the whole command.
//! `fpae describe --json` then measures it and each real set (by default
//! `data/fvc2002` and `data/fvc2000`): minutiae per print, ridge period,
//! foreground, BOZORTH3 type-II and impostor rates at 40, per database. The
//! report is a markdown table with a row per database, the generation speed
//! and the CPU; it is written to `target/bench/synth.json` and printed as the
//! last line. Pictures: `target/bench/<name>-sample.png`, eight prints of each
//! set, and `target/bench/synth-master.png`, the first finger's master with its
//! orientation field and singular points.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::bench_restore::{cores, cpu_model, json_stdout, run_to_stderr, write_atomically};
use crate::{fetch, libtorch, project_root};

/// Options of `cargo xtask bench synth`.
#[derive(Debug, clap::Args)]
pub struct SynthBenchArgs {
    /// Synthetic fingers to generate.
    #[arg(long, value_name = "N", default_value_t = 80)]
    fingers: usize,
    /// Impressions of each synthetic finger.
    #[arg(long, value_name = "K", default_value_t = 8)]
    impressions: usize,
    /// Seed of the synthetic set.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// A real dataset to compare with; repeat for several [default: data/fvc2002 and data/fvc2000]
    #[arg(long = "real", value_name = "DIR")]
    real: Vec<PathBuf>,
}

/// Size of the synthetic prints: the goal's 400x500 at 500 ppi.
const SIZE: &str = "400x500";

pub fn run(args: &SynthBenchArgs) -> Result<()> {
    if args.fingers == 0 || args.impressions == 0 {
        bail!("--fingers and --impressions must be at least 1");
    }
    let real: Vec<PathBuf> = if args.real.is_empty() {
        let defaults = [fetch::Dataset::Fvc2002, fetch::Dataset::Fvc2000];
        for dataset in defaults {
            if !dataset.data_dir().is_dir() {
                bail!(
                    "{} is missing; run `cargo xtask fetch-data {}` first (or name other sets with --real)",
                    dataset.data_dir().display(),
                    dataset.name()
                );
            }
        }
        defaults.iter().map(|d| d.data_dir()).collect()
    } else {
        for dir in &args.real {
            if !dir.is_dir() {
                bail!("--real {}: no such folder", dir.display());
            }
        }
        args.real.clone()
    };

    let root = project_root();
    let bench_root = root.join("target").join("bench");
    libtorch::setup()?;
    crate::cargo(&["build", "--quiet", "--release", "-p", "fp-cli"], &[])?;
    let fpae = root.join("target").join("release").join("fpae");

    // Generation, timed: the set is made from scratch.
    let synth_dir = bench_root.join(format!("synth-{}", args.seed));
    remove(&synth_dir)?;
    let prints = args.fingers * args.impressions;
    eprintln!("generating {prints} synthetic prints into {} ...", synth_dir.display());
    let mut cmd = Command::new(&fpae);
    cmd.args(["synth", "--size", SIZE]).args(["--count", &args.fingers.to_string()]);
    cmd.args(["--impressions", &args.impressions.to_string(), "--seed", &args.seed.to_string()]);
    cmd.arg("--out").arg(&synth_dir);
    let started = Instant::now();
    run_to_stderr(&mut cmd)?;
    let seconds = started.elapsed().as_secs_f64();

    // The master picture, apart so that it does not count in the timing.
    let master = bench_root.join("synth-master.png");
    let overlay_dir = bench_root.join("synth-overlay");
    remove(&overlay_dir)?;
    let mut cmd = Command::new(&fpae);
    cmd.args(["synth", "--size", SIZE, "--count", "1", "--seed", &args.seed.to_string()]);
    cmd.arg("--out").arg(&overlay_dir).arg("--overlay").arg(&master);
    run_to_stderr(&mut cmd)?;
    remove(&overlay_dir)?;

    let mut sets: Vec<(String, PathBuf)> = vec![("synth".to_owned(), synth_dir.clone())];
    for dir in &real {
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        sets.push((name, dir.clone()));
    }
    let mut described = Map::new();
    let mut samples = Vec::new();
    for (name, dir) in &sets {
        eprintln!("describing {name} ({}) ...", dir.display());
        let sample = bench_root.join(format!("{name}-sample.png"));
        let mut cmd = Command::new(&fpae);
        cmd.arg("describe").arg(dir).arg("--json").arg("--sample").arg(&sample);
        let (mut value, status) = json_stdout(&mut cmd)?;
        if !status.success() {
            bail!("`fpae describe {}` failed ({status})", dir.display());
        }
        // Every print's measures stay with `fpae describe --out`; the report keeps the summaries.
        if let Some(object) = value.as_object_mut() {
            object.remove("prints");
        }
        described.insert(name.clone(), value);
        samples.push(crate::shown_path(&sample));
    }

    let report = json!({
        "synth": {
            "dir": crate::shown_path(&synth_dir),
            "fingers": args.fingers,
            "impressions": args.impressions,
            "seed": args.seed,
            "size": SIZE,
            "prints": prints,
            "seconds": seconds,
            "prints_per_s": prints as f64 / seconds,
        },
        "cpu": cpu_model(),
        "cores": cores(),
        "datasets": described,
        "figures": {"samples": samples, "master": crate::shown_path(&master)},
    });
    print_report(&report);
    let path = bench_root.join("synth.json");
    write_atomically(&path, &(serde_json::to_string_pretty(&report)? + "\n"))?;
    eprintln!("written to {}", path.display());
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Removes `dir` and everything in it, if it is there.
fn remove(dir: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dir).is_ok() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

const COLUMNS: [&str; 8] = [
    "dataset / database",
    "prints",
    "minutiae median (range)",
    "ridge period px (range)",
    "period mm",
    "foreground",
    "type-II@40",
    "impostor@40",
];

/// A table row of one group of `fpae describe --json` (`overall` or a database).
fn row(label: &str, g: &Value) -> Vec<String> {
    let spread = |key: &str, decimals: usize| match (
        g[key]["median"].as_f64(),
        g[key]["min"].as_f64(),
        g[key]["max"].as_f64(),
    ) {
        (Some(m), Some(lo), Some(hi)) => format!("{m:.decimals$} ({lo:.decimals$}-{hi:.decimals$})"),
        _ => "n/a".into(),
    };
    let median =
        |key: &str, decimals: usize| g[key]["median"].as_f64().map_or("n/a".into(), |m| format!("{m:.decimals$}"));
    let rate = |key: &str| {
        let computable =
            g[key]["pairs"].as_u64().unwrap_or(0).saturating_sub(g[key]["not_computable"].as_u64().unwrap_or(0));
        g[key]["rate_40"].as_f64().map_or("n/a".into(), |r| format!("{:.1} % of {computable}", 100.0 * r))
    };
    vec![
        label.to_owned(),
        g["prints"].as_u64().map_or("n/a".into(), |n| n.to_string()),
        spread("minutiae", 0),
        spread("ridge_period_px", 1),
        median("ridge_period_mm", 3),
        median("foreground", 2),
        rate("type2"),
        rate("impostor"),
    ]
}

fn markdown_row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

/// The table of a report: a row per database and one per dataset, the synthetic set first.
/// docs/synthetic.md shows it as rendered from docs/bench/synth.json (`cargo xtask docs-check`).
pub(crate) fn markdown_table(r: &Value) -> String {
    let mut lines = vec![markdown_row(&COLUMNS.map(String::from))];
    let rule: Vec<String> = (0..COLUMNS.len()).map(|i| if i == 0 { "---" } else { "---:" }.into()).collect();
    lines.push(markdown_row(&rule));
    if let Some(datasets) = r["datasets"].as_object() {
        // The synthetic set first, then the real ones by name (as serde_json keeps keys).
        let mut names: Vec<&String> = datasets.keys().collect();
        names.sort_by_key(|n| *n != "synth");
        for name in names {
            let d = &datasets[name];
            if let Some(databases) = d["databases"].as_object() {
                for (db, g) in databases {
                    lines.push(markdown_row(&row(&format!("{name} {db}"), g)));
                }
            }
            lines.push(markdown_row(&row(&format!("**{name} all**"), &d["overall"])));
        }
    }
    lines.join("\n")
}

fn print_report(r: &Value) {
    println!("\nSynthetic prints next to real ones (BOZORTH3 rates at score >= 40, over computable pairs)\n");
    println!("{}", markdown_table(r));
    let s = &r["synth"];
    println!(
        "\nGeneration: {} prints ({} fingers x {} impressions, {}) in {:.1} s: {:.1} prints/s, wall clock of the \
         whole `fpae synth` command",
        s["prints"],
        s["fingers"],
        s["impressions"],
        s["size"].as_str().unwrap_or("?"),
        s["seconds"].as_f64().unwrap_or(f64::NAN),
        s["prints_per_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!("{} ({} cores)", r["cpu"].as_str().unwrap_or("unknown CPU"), r["cores"]);
    let figures = &r["figures"];
    for sample in figures["samples"].as_array().into_iter().flatten() {
        println!("{}", sample.as_str().unwrap_or("?"));
    }
    println!("{}", figures["master"].as_str().unwrap_or("?"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_medians_ranges_and_rates_or_say_n_a() {
        let group = json!({
            "prints": 80,
            "minutiae": {"median": 38.0, "min": 12.0, "max": 71.0},
            "ridge_period_px": {"median": 9.04, "min": 7.5, "max": 11.3},
            "ridge_period_mm": {"median": 0.4592, "min": 0.38, "max": 0.57},
            "foreground": {"median": 0.714, "min": 0.3, "max": 0.9},
            "type2": {"pairs": 560, "not_computable": 10, "matched": 330, "rate_40": 0.6},
            "impostor": {"pairs": 90, "not_computable": 0, "matched": 0, "rate_40": 0.0},
        });
        assert_eq!(
            row("fvc2002 DB1_B", &group),
            ["fvc2002 DB1_B", "80", "38 (12-71)", "9.0 (7.5-11.3)", "0.459", "0.71", "60.0 % of 550", "0.0 % of 90"]
        );
        let empty = json!({"prints": 3, "minutiae": null, "type2": {"pairs": 0, "not_computable": 0, "rate_40": null}});
        assert_eq!(row("x", &empty)[2..], ["n/a"; 6].map(String::from)[..]);
    }
}
