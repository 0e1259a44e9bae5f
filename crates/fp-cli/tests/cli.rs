//! The `fpae` binary end to end on tiny synthetic data.

use std::path::Path;
use std::process::{Command, Output};

use image::{GrayImage, Luma};

fn fpae(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpae"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .env_remove("RUST_LOG")
        .output()
        .expect("fpae runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// 2 databases x 4 fingers x 2 impressions of 20x20 ridge-like images, and a tiny config.
fn project(dir: &Path) {
    for db in ["DB1_B", "DB2_B"] {
        let folder = dir.join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 101..105u32 {
            for imp in 1..3u32 {
                let img = GrayImage::from_fn(20, 20, |x, y| {
                    Luma([(((x as f32 * 0.8 + y as f32 * 0.3 + finger as f32 + imp as f32).sin() * 0.5 + 0.5) * 250.0) as u8])
                });
                img.save(folder.join(format!("{finger}_{imp}.png"))).unwrap();
            }
        }
    }
    std::fs::write(
        dir.join("tiny.toml"),
        "[data]\nroot = \"data\"\nheight = 16\nwidth = 16\n\n[model]\nfilters = [4, 8]\n\n\
         [train]\nepochs = 2\nbatch_size = 4\ndevice = \"cpu\"\n",
    )
    .unwrap();
}

#[test]
fn train_writes_a_run_and_resume_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = fpae(&["train", "tiny.toml", "--run-dir", "runs/one"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(dir.path().join("runs/one/history.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(dir.path().join("runs/one/checkpoints/best/model.safetensors").is_file());
    assert!(dir.path().join("runs/one/config.toml").is_file());

    // The same directory again is refused; resuming with more epochs continues it.
    let out = fpae(&["train", "tiny.toml", "--run-dir", "runs/one"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already holds a run"), "{}", text(&out.stderr));
    let out = fpae(&["train", "--resume", "runs/one", "--set", "train.epochs=3"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(dir.path().join("runs/one/history.csv")).unwrap();
    assert_eq!(csv.lines().last().unwrap().split(',').next(), Some("3"));
}

#[test]
fn bad_config_values_and_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = fpae(&["train", "tiny.toml", "--set", "train.batch_size=0"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "error: train.batch_size: expected 1..=65536, got 0");
    let out = fpae(&["train", "tiny.toml", "--set", "train.epoch=3"], dir.path());
    assert!(text(&out.stderr).contains("unknown field `epoch`"), "{}", text(&out.stderr));
    let out = fpae(&["train", "missing.toml"], dir.path());
    assert!(text(&out.stderr).contains("cannot access missing.toml"), "{}", text(&out.stderr));
    let out = fpae(&["train", "tiny.toml", "--device", "tpu"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("expected auto, cpu, cuda or cuda:N"), "{}", text(&out.stderr));
}

#[test]
fn summary_of_the_default_config_totals_314625() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = fpae(&["summary", "configs/default.toml"], &root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().last(), Some("Total params: 314,625"));
    assert!(stdout.contains("dec3 (Conv2D)"), "{stdout}");
}
