//! What fpae gives engines that scale: `fpae pairs` (a config's training
//! samples as WebDataset shards) and `fpae restore --manifest --results` (a
//! collection listed in a file or on standard input, one JSON line a print, a
//! rerun that skips what is whole). The restoration model is the ready-made
//! `restore-fvc2002`, so nothing is trained.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{fpae, text};
use fp_train::{Config, Pairs, ResultLine, ResultStatus, SampleRecord, ShardsManifest};
use image::GrayImage;

fn gray(bytes: &[u8]) -> Vec<u8> {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap().into_luma8().into_raw()
}

fn manifest(dir: &Path) -> ShardsManifest {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn pairs_are_the_training_samples_in_shards() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // 2 sensors x 3 fingers x 2 impressions of 64x64 prints; 2 crops of 32x32 a print.
    common::restore_project(root, 3, 64, 2);
    let out = fpae(&["pairs", "restore.toml", "--count", "11", "--shard-size", "4", "--out", "shards"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("11 samples in 3 shards"), "{}", text(&out.stdout));

    let written = manifest(&root.join("shards"));
    assert_eq!((written.format.as_str(), written.version, written.count), ("fpae-pairs", 1, 11));
    assert_eq!(
        written.shards.iter().map(|s| (s.name.as_str(), s.samples)).collect::<Vec<_>>(),
        [("000000.tar", 4), ("000001.tar", 4), ("000002.tar", 3)]
    );
    let mut names: Vec<String> = std::fs::read_dir(root.join("shards"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["000000.tar", "000001.tar", "000002.tar", "manifest.json"], "no temporary files left");

    // Every sample has its three files.
    let mut samples: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for shard in &written.shards {
        let path = root.join("shards").join(&shard.name);
        assert_eq!(fp_train::sha256_file(&path).unwrap(), shard.sha256);
        let inside = fp_train::read_shard(&path).unwrap();
        assert_eq!(inside.len(), 3 * shard.samples, "{}", shard.name);
        for (name, bytes) in inside {
            let (key, part) = name.split_once('.').unwrap();
            samples.entry(key.to_owned()).or_default().insert(part.to_owned(), bytes);
        }
    }
    let keys: Vec<String> = (0..11).map(|n| format!("{n:09}")).collect();
    assert_eq!(samples.keys().cloned().collect::<Vec<_>>(), keys);
    for files in samples.values() {
        assert_eq!(files.keys().collect::<Vec<_>>(), ["input.png", "json", "target.png"]);
    }

    // They are what the training loop feeds the model at epoch 1 (8 training prints x 2 crops).
    let root_setting = format!("data.root={:?}", root.join("data").display().to_string());
    let config = Config::load(&root.join("restore.toml"), &[root_setting, "data.cache=false".into()]).unwrap();
    let data = fp_data::load(&config.data).unwrap();
    let split = fp_data::split_dataset(&data, &config.data).unwrap();
    let pairs = Pairs::new(&data, &config);
    let per_epoch = pairs.samples(split.train.len());
    assert_eq!(per_epoch, written.samples_per_epoch);
    let order = fp_train::epoch_order(config.train.seed, 1, per_epoch);
    let batch = pairs.train_batch(&split.train, &order[..11], 1, tch::Device::Cpu);
    let input = Vec::<f32>::try_from(batch.input.flatten(0, -1)).unwrap();
    let target = Vec::<f32>::try_from(batch.target.flatten(0, -1)).unwrap();
    let fp_data::AppliedScaling::Divide { divisor } = data.scaling else { panic!("{:?}", data.scaling) };
    let eight_bit = |v: &[f32]| -> Vec<u8> { v.iter().map(|x| (x * divisor).round() as u8).collect() };
    let val: Vec<&str> = split.val.iter().map(|&i| data.items[i].source.relative.as_str()).collect();
    for (n, files) in samples.values().enumerate() {
        let window = n * 32 * 32..(n + 1) * 32 * 32;
        assert_eq!(gray(&files["target.png"]), eight_bit(&target[window.clone()]), "sample {n}'s target");
        assert_eq!(gray(&files["input.png"]), eight_bit(&input[window]), "sample {n}'s input");
        let record: SampleRecord = serde_json::from_slice(&files["json"]).unwrap();
        assert_eq!((record.epoch, record.index, record.seed), (1, n, config.train.seed));
        assert!(!val.contains(&record.source.as_str()), "{} is a validation print", record.source);
        assert_eq!((record.crop_box.width, record.crop_box.height), (32, 32));
        assert!(!record.damage.is_empty() && record.damage.iter().all(|d| d.kind.name() == "noise"), "{record:?}");
    }

    // The same seed gives the same bytes; another seed others.
    let again = fpae(&["pairs", "restore.toml", "--count", "11", "--shard-size", "4", "--out", "again"], root);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let seeded =
        fpae(&["pairs", "restore.toml", "--count", "11", "--shard-size", "4", "--seed", "7", "--out", "s7"], root);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    for shard in &written.shards {
        let bytes = std::fs::read(root.join("shards").join(&shard.name)).unwrap();
        assert_eq!(bytes, std::fs::read(root.join("again").join(&shard.name)).unwrap(), "{}", shard.name);
        assert_ne!(bytes, std::fs::read(root.join("s7").join(&shard.name)).unwrap(), "{}", shard.name);
    }
    assert_eq!(manifest(&root.join("s7")).seed, 7);

    // A used folder and bad settings are clear errors, and leave nothing behind.
    let cases: [(&[&str], &str); 4] = [
        (&["--out", "shards"], "shards: already exists and is not empty; give a new or empty folder"),
        (&["--out", "bad", "--set", "task.kind=fog"], "task.kind"),
        (&["--out", "bad", "--set", "data.crops_per_image=0"], "crops_per_image: expected 1..=1024, got 0"),
        (&["--out", "bad", "--shard-size", "0"], "--shard-size: expected at least 1 sample per shard"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["pairs", "restore.toml", "--count", "3"];
        all.extend_from_slice(args);
        let out = fpae(&all, root);
        assert!(!out.status.success(), "{all:?}");
        assert!(text(&out.stderr).contains(expected), "{all:?}: {}", text(&out.stderr));
    }
    assert!(!root.join("bad").exists() || std::fs::read_dir(root.join("bad")).unwrap().next().is_none());
}

/// `restore-fvc2002`, the ready-made U-Net restoration model.
fn model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/restore-fvc2002").display().to_string()
}

/// The lines of a results log.
fn results(path: &Path) -> Vec<ResultLine> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Writes `n` `w x h` ridge prints as `dir/scans/DB1_B/10k_1.png`.
fn scans(dir: &Path, n: u64, (w, h): (u32, u32)) {
    let folder = dir.join("scans/DB1_B");
    std::fs::create_dir_all(&folder).unwrap();
    for k in 1..=n {
        let pixels = fp_metrics::synthetic::ridge_pattern(w as usize, h as usize, k, (0.0, 0.0));
        GrayImage::from_raw(w, h, pixels).unwrap().save(folder.join(format!("10{k}_1.png"))).unwrap();
    }
}

#[test]
fn restore_from_a_manifest_logs_each_print_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    scans(root, 3, (80, 72));
    // Paths relative to the manifest's folder, a comment, a blank line and a missing file.
    std::fs::write(
        root.join("scans/list.txt"),
        "# three prints and one that is not there\nDB1_B/101_1.png\n\nDB1_B/102_1.png\nDB1_B/gone.png\nDB1_B/103_1.png\n",
    )
    .unwrap();
    let model = model();
    let args = ["restore", &model, "--manifest", "scans/list.txt", "--out", "out", "--results", "log.jsonl"];
    let out = fpae(&args, root);
    assert_eq!(out.status.code(), Some(1), "a missing input fails the run at its end: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 restored"), "{}", text(&out.stdout));
    let lines = results(&root.join("log.jsonl"));
    assert_eq!(lines.len(), 4);
    let mut by_input: BTreeMap<String, ResultLine> = lines.into_iter().map(|l| (l.input.clone(), l)).collect();
    let gone = by_input.remove("scans/DB1_B/gone.png").unwrap();
    assert_eq!((gone.status, gone.sha256.as_deref()), (ResultStatus::Error, None));
    assert!(gone.error.as_deref().unwrap().contains("scans/DB1_B/gone.png"), "{gone:?}");
    for k in 1..=3 {
        let line = &by_input[&format!("scans/DB1_B/10{k}_1.png")];
        assert_eq!(line.status, ResultStatus::Ok);
        assert_eq!(line.output, format!("out/DB1_B/10{k}_1.png"));
        let written = root.join(&line.output);
        assert_eq!(line.sha256.as_deref(), Some(fp_train::sha256_file(&written).unwrap().as_str()));
        assert!(line.ms.is_some_and(|ms| ms > 0.0) && line.minutiae.is_none(), "{line:?}");
        assert_eq!(image::open(&written).unwrap().into_luma8().dimensions(), (80, 72), "at its own size");
    }

    // A rerun restores nothing: three `skipped` lines, the error again, the outputs untouched.
    let before: Vec<Vec<u8>> =
        (1..=3).map(|k| std::fs::read(root.join(format!("out/DB1_B/10{k}_1.png"))).unwrap()).collect();
    let out = fpae(&args, root);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = results(&root.join("log.jsonl"));
    let rerun = &lines[4..];
    let statuses: Vec<ResultStatus> = rerun.iter().map(|l| l.status).collect();
    assert_eq!(statuses, [ResultStatus::Skipped, ResultStatus::Skipped, ResultStatus::Skipped, ResultStatus::Error]);
    for line in &rerun[..3] {
        assert_eq!(line.sha256, by_input[&line.input].sha256);
    }
    let after: Vec<Vec<u8>> =
        (1..=3).map(|k| std::fs::read(root.join(format!("out/DB1_B/10{k}_1.png"))).unwrap()).collect();
    assert_eq!(before, after);

    // An output changed since its line was written is restored again.
    std::fs::write(root.join("out/DB1_B/102_1.png"), b"not the restoration").unwrap();
    std::fs::remove_file(root.join("scans/list.txt")).unwrap();
    std::fs::write(root.join("scans/list.txt"), "DB1_B/101_1.png\nDB1_B/102_1.png\n").unwrap();
    let out = fpae(&args, root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = results(&root.join("log.jsonl"));
    let third: Vec<(&str, ResultStatus)> = lines[8..].iter().map(|l| (l.input.as_str(), l.status)).collect();
    assert_eq!(third, [("scans/DB1_B/101_1.png", ResultStatus::Skipped), ("scans/DB1_B/102_1.png", ResultStatus::Ok)]);
    assert_eq!(std::fs::read(root.join("out/DB1_B/102_1.png")).unwrap(), before[1]);
}

#[test]
fn restore_reads_a_manifest_from_standard_input_and_counts_minutiae_with_templates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Large enough for MINDTCT to find minutiae.
    scans(root, 2, (160, 160));
    let model = model();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fpae"))
        .args(["restore", &model, "--manifest", "-", "--out", "out", "--results", "log.jsonl", "--templates", "xyt"])
        .current_dir(root.join("scans"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Relative to the working directory.
    child.stdin.take().unwrap().write_all(b"DB1_B/101_1.png\n# a comment\nDB1_B/102_1.png\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = results(&root.join("scans/log.jsonl"));
    assert_eq!(lines.iter().map(|l| l.input.as_str()).collect::<Vec<_>>(), ["DB1_B/101_1.png", "DB1_B/102_1.png"]);
    for line in &lines {
        let xyt = std::fs::read_to_string(root.join("scans").join(&line.output).with_extension("xyt")).unwrap();
        assert_eq!(line.minutiae, Some(xyt.lines().count()), "{line:?}");
        assert_eq!(line.status, ResultStatus::Ok);
    }
    assert!(lines.iter().any(|l| l.minutiae > Some(0)), "{lines:?}");

    // Inputs both ways at once, and a manifest with no images, are refused.
    let out = fpae(&["restore", &model, "scans/DB1_B", "--manifest", "x.txt", "--out", "o"], root);
    assert!(
        text(&out.stderr).contains("give the inputs after the model or with --manifest, not both"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(root.join("empty.txt"), "# nothing\n\n").unwrap();
    let out = fpae(&["restore", &model, "--manifest", "empty.txt", "--out", "o"], root);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("empty.txt: lists no images"), "{}", text(&out.stderr));
}

/// The Python of Ray's venv: `FPAE_RAY_PYTHON` (set by `cargo xtask test`, which
/// installs it), else that venv where `cargo xtask test` puts it, if it imports Ray.
fn ray_python() -> Option<std::path::PathBuf> {
    if let Some(python) = std::env::var_os("FPAE_RAY_PYTHON").filter(|v| !v.is_empty()) {
        return Some(python.into());
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    let python = cache.join("fpae/ray-2.60.0/venv/bin/python");
    let imports = Command::new(&python).args(["-c", "import ray.data, pandas"]).stderr(Stdio::null()).status();
    imports.is_ok_and(|s| s.success()).then_some(python)
}

/// A row the example writes to `--rows`.
#[derive(serde::Deserialize, Debug)]
struct RayRow {
    input: String,
    output: String,
    sha256: Option<String>,
    status: String,
    error: Option<String>,
}

/// Runs `docs/examples/ray_restore.py` in `root` and returns its rows by input.
fn ray_restore(python: &Path, root: &Path, rows: &str) -> BTreeMap<String, RayRow> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/ray_restore.py");
    let model = model();
    let out = Command::new(python)
        .arg(&example)
        .args(["scans", "out", "logs", "--model", &model, "--batch-size", "3", "--cpus-per-task", "1"])
        .args(["--fpae", env!("CARGO_BIN_EXE_fpae"), "--rows", rows])
        .current_dir(root)
        // A local Ray cluster of its own, whatever cluster this machine may belong to.
        .env_remove("RAY_ADDRESS")
        .env("XDG_CACHE_HOME", root.join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}:\n{}\n{}", example.display(), text(&out.stdout), text(&out.stderr));
    let rows: Vec<RayRow> = std::fs::read_to_string(root.join(rows))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(rows.len(), 8, "one row a print: {rows:?}");
    let summary = text(&out.stdout);
    let by_input: BTreeMap<String, RayRow> = rows.into_iter().map(|r| (r.input.clone(), r)).collect();
    assert_eq!(by_input.len(), 8, "no print twice");
    let statuses: Vec<&str> = by_input.values().map(|r| r.status.as_str()).collect();
    let ok = statuses.iter().filter(|s| **s == "ok").count();
    let skipped = statuses.iter().filter(|s| **s == "skipped").count();
    assert!(
        summary.contains(&format!(r#""prints": 8, "batches": 3, "ok": {ok}, "skipped": {skipped}, "error": 0"#)),
        "{summary}"
    );
    by_input
}

/// The Ray Data example of docs/scale.md restores every print once, one
/// `fpae restore` a batch with a log of its own, and a rerun finds each batch's
/// log and skips every print.
#[test]
fn the_ray_data_example_restores_each_print_and_a_rerun_skips_them() {
    let Some(python) = ray_python() else {
        return fp_testkit::missing(
            fp_testkit::Need::Capability,
            "no Python with Ray 2.60.0 (FPAE_RAY_PYTHON, or ~/.cache/fpae/ray-2.60.0/venv, which `cargo xtask test` installs)",
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    scans(root, 8, (80, 72));
    let first = ray_restore(&python, root, "rows.jsonl");
    let inputs: Vec<String> = (1..=8).map(|k| format!("DB1_B/10{k}_1.png")).collect();
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), inputs);
    for (input, row) in &first {
        assert_eq!((row.status.as_str(), row.error.as_deref()), ("ok", None), "{row:?}");
        let written = root.join("out").join(Path::new(input).with_extension("png"));
        assert_eq!(Path::new(&row.output), written, "OUT/<path relative to SCANS>.png");
        assert_eq!(row.sha256.as_deref(), Some(fp_train::sha256_file(&written).unwrap().as_str()), "{row:?}");
        assert_eq!(image::open(&written).unwrap().into_luma8().dimensions(), (80, 72));
    }
    // Three batches (3 + 3 + 2 prints), a log each, every print in exactly one of them.
    let logs: Vec<_> = std::fs::read_dir(root.join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(logs.len(), 3, "{logs:?}");
    let mut logged: Vec<String> = logs.iter().flat_map(|l| results(l)).map(|l| l.input).collect();
    logged.sort();
    assert_eq!(logged, inputs);

    let before: Vec<Vec<u8>> = first.values().map(|r| std::fs::read(&r.output).unwrap()).collect();
    let second = ray_restore(&python, root, "rows-again.jsonl");
    assert_eq!(second.keys().collect::<Vec<_>>(), first.keys().collect::<Vec<_>>());
    for (input, row) in &second {
        assert_eq!(row.status, "skipped", "{row:?}");
        assert_eq!(row.sha256, first[input].sha256);
    }
    let after: Vec<Vec<u8>> = first.values().map(|r| std::fs::read(&r.output).unwrap()).collect();
    assert_eq!(before, after, "the outputs are untouched");
    assert_eq!(std::fs::read_dir(root.join("logs")).unwrap().count(), 3, "the rerun used the same logs");
}
