//! `fpae train` when a write fails: a full disk, injected through fp-train's
//! fault-injection test seam (`FPAE_FAULT`), stops training with an error
//! naming the file; the run keeps its last checkpoint and history, and
//! `--resume` finishes it exactly as an uninterrupted run.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::text;

/// 16 ridge-like 20x20 prints and a 4-epoch config.
fn project(dir: &Path) {
    common::tiny_prints(dir);
    std::fs::write(
        dir.join("tiny.toml"),
        "[data]\nroot = \"data\"\nheight = 16\nwidth = 16\n\n[model]\nfilters = [4, 8]\n\n\
         [train]\nepochs = 4\nbatch_size = 4\ndevice = \"cpu\"\nprecision = \"f32\"\n",
    )
    .unwrap();
}

/// Runs `fpae train ARGS` in `dir` with `FPAE_FAULT=fault` (when given).
fn train(dir: &Path, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fpae"));
    cmd.args(["--threads", "1", "train"]).args(args).current_dir(dir);
    cmd.env("XDG_CACHE_HOME", dir.join("cache")).env_remove("RUST_LOG").env_remove("FPAE_FAULT");
    if let Some(fault) = fault {
        cmd.env("FPAE_FAULT", fault);
    }
    cmd.output().unwrap()
}

/// `history.csv` without its wall-clock columns.
fn losses(run: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join("history.csv")).unwrap();
    csv.lines()
        .map(|l| {
            l.split(',').enumerate().filter(|(i, _)| ![3, 4].contains(i)).map(|(_, f)| f).collect::<Vec<_>>().join(",")
        })
        .collect()
}

fn checkpoint_bytes(run: &Path, which: &str) -> Vec<Vec<u8>> {
    let dir = run.join("checkpoints").join(which);
    ["model.safetensors", "optimizer.safetensors"].map(|f| std::fs::read(dir.join(f)).unwrap()).to_vec()
}

fn temporaries(run: &Path) -> Vec<String> {
    [run.to_owned(), run.join("checkpoints")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".partial"))
        .collect()
}

#[test]
fn a_full_disk_stops_training_naming_the_file_and_resume_finishes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = train(dir.path(), &["tiny.toml", "--run-dir", "runs/straight"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The second checkpoint's optimiser state cannot be written.
    let out = train(dir.path(), &["tiny.toml", "--run-dir", "runs/full"], Some("checkpoint-after-optimizer:2:error"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.contains("continue with `fpae train --resume runs/full`"), "{stderr}");
    assert!(error.contains("runs/full/checkpoints/.") && error.contains("-step-000006/state.json: "), "{stderr}");
    assert!(error.ends_with("no space left on device (FPAE_FAULT)"), "{stderr}");
    let run = dir.path().join("runs/full");
    assert_eq!(temporaries(&run), Vec::<String>::new());
    assert_eq!(losses(&run), losses(&dir.path().join("runs/straight"))[..2], "the first epoch's history is whole");
    assert_eq!(std::fs::read_link(run.join("checkpoints/last")).unwrap(), Path::new("step-000003"));

    let out = train(dir.path(), &["--resume", "runs/full"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let straight = dir.path().join("runs/straight");
    assert_eq!(losses(&run), losses(&straight));
    for which in ["last", "best"] {
        assert!(checkpoint_bytes(&run, which) == checkpoint_bytes(&straight, which), "{which} differs");
    }
}

#[test]
fn a_malformed_fault_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = train(dir.path(), &["tiny.toml", "--run-dir", "runs/x"], Some("checkpoint-after-weight:1"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: FPAE_FAULT=checkpoint-after-weight:1: unknown fault point"), "{stderr}");
    assert!(!dir.path().join("runs").exists());
}
