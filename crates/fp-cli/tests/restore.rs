//! The restoration workflow end to end on tiny synthetic prints: `benchmark
//! make`, `train` a tiny restoration U-Net, `restore` (resumable, sharded),
//! `export`, `score` and `evaluate --benchmark`.

mod common;

use std::path::Path;

use common::{fpae, last_line, text};
use image::GrayImage;

/// Every file under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// 2 databases x 5 fingers x 2 impressions of 96x96 synthetic prints, a
/// manifest, and a tiny restore config.
fn project(dir: &Path) {
    common::restore_project(dir, 5, 96, 2);
}

#[test]
fn benchmark_restore_score_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);

    // The benchmark: every clean print, and the validation fingers' prints
    // (one finger of five per database, 2 impressions each) x 13 kinds x 3 severities.
    let out = fpae(&["benchmark", "make", "--data", "data", "--out", "bench"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let files = listing(&root.join("bench"));
    let clean = files.iter().filter(|f| f.starts_with("clean/") && f.ends_with(".png")).count();
    let degraded: Vec<&String> = files.iter().filter(|f| f.starts_with("degraded/")).collect();
    assert_eq!(clean, 20);
    assert_eq!(degraded.len(), 4 * 13 * 3, "{degraded:?}");
    assert!(files.contains(&"clean/dataset.toml".to_owned()), "the manifest travels with the clean prints");
    assert!(degraded.iter().any(|f| f.starts_with("degraded/low-resolution/0.9/DB2_B/")), "{degraded:?}");
    let spec = std::fs::read_to_string(root.join("bench/benchmark.toml")).unwrap();
    assert!(spec.contains("name = \"synthetic-restore-v1\"") && spec.contains("degraded = 156"), "{spec}");

    // Made again elsewhere, it is the same to the byte; over an existing folder, refused.
    let out = fpae(&["benchmark", "make", "--data", "data", "--out", "bench2"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("bench2/benchmark.toml")).unwrap(), spec);
    for f in &degraded {
        assert_eq!(
            std::fs::read(root.join("bench").join(f)).unwrap(),
            std::fs::read(root.join("bench2").join(f)).unwrap()
        );
    }
    let out = fpae(&["benchmark", "make", "--data", "data", "--out", "bench"], root);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--out bench: already exists"), "{}", text(&out.stderr));

    // Other kinds make another benchmark, named after them, of the same prints and seeds:
    // a kind's damage is the same bytes as in version 1's benchmark.
    let args = ["benchmark", "make", "--data", "data", "--out", "other", "--kind", "jpeg", "--kind", "noise"];
    let out = fpae(&args, root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let other = listing(&root.join("other"));
    let other_degraded: Vec<&String> = other.iter().filter(|f| f.starts_with("degraded/")).collect();
    assert_eq!(other_degraded.len(), 4 * 2 * 3, "{other_degraded:?}");
    assert!(other_degraded.iter().all(|f| f.starts_with("degraded/jpeg/") || f.starts_with("degraded/noise/")));
    let other_spec = std::fs::read_to_string(root.join("other/benchmark.toml")).unwrap();
    assert!(other_spec.contains("name = \"synthetic-restore-v1-jpeg+noise\""), "{other_spec}");
    for f in other_degraded.iter().filter(|f| f.starts_with("degraded/noise/")) {
        assert_eq!(
            std::fs::read(root.join("other").join(f)).unwrap(),
            std::fs::read(root.join("bench").join(f)).unwrap()
        );
    }
    let twice = ["benchmark", "make", "--data", "data", "--out", "twice", "--kind", "jpeg", "--kind", "jpeg"];
    let out = fpae(&twice, root);
    assert!(!out.status.success() && !root.join("twice").exists());
    assert!(text(&out.stderr).contains("--kind jpeg: given twice"), "{}", text(&out.stderr));

    // A tiny restoration model.
    let out = fpae(&["train", "restore.toml", "--run-dir", "runs/r"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Its grid has a row of degraded inputs above the restorations and the clean prints.
    let out = fpae(&["reconstruct", "runs/r", "--grid", "2", "--out", "grid.png"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let grid = image::open(root.join("grid.png")).unwrap();
    assert!(grid.height() > 3 * (96 + 20), "three rows of 96-pixel prints: {}", grid.height());

    // Chosen kinds at a chosen severity, with minutiae: degraded, restored and
    // clean rows of 96-pixel prints with a 22-pixel legend strip and 2 or 3
    // caption lines (two rows would be 402 pixels high), the same every time.
    let kinds = |kinds: [&str; 2], out: &str| {
        let mut args = vec!["reconstruct", "runs/r", "--grid", "2", "--spread", "--minutiae", "--severity", "0.9"];
        for kind in kinds {
            args.extend(["--kind", kind]);
        }
        let out = fpae(&[&args[..], &["--out", out]].concat(), root);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read(root.join(last_line(&out))).unwrap()
    };
    let figure = kinds(["noise", "occlusion"], "kinds.png");
    let grid = image::load_from_memory(&figure).unwrap();
    assert!(grid.height() > 3 * 118 + 2 * 40, "three rows: {}", grid.height());
    assert_eq!(kinds(["noise", "occlusion"], "again.png"), figure, "the same damage every time");
    assert_ne!(kinds(["blur", "occlusion"], "blur.png"), figure, "the kinds are applied");
    let out = fpae(&["reconstruct", "runs/r", "--grid", "2", "--severity", "0.3"], root);
    assert!(!out.status.success(), "a severity needs a kind");

    // The validation prints of a dataset named by --data: the run's own gives the same grid,
    // a folder without prints is named in the error.
    let grid = |extra: &[&str], out: &str| {
        let args = [&["reconstruct", "runs/r", "--grid", "2", "--kind", "noise"][..], extra, &["--out", out]].concat();
        fpae(&args, root)
    };
    let own = grid(&[], "own.png");
    assert!(own.status.success(), "{}", text(&own.stderr));
    let named = grid(&["--data", "data"], "named.png");
    assert!(named.status.success(), "{}", text(&named.stderr));
    assert_eq!(std::fs::read(root.join("named.png")).unwrap(), std::fs::read(root.join("own.png")).unwrap());
    std::fs::create_dir(root.join("empty")).unwrap();
    let empty = grid(&["--data", "empty"], "empty.png");
    assert!(!empty.status.success() && text(&empty.stderr).contains("empty"), "{}", text(&empty.stderr));
    // A run that mixed several roots (`data.mix`) draws another dataset's prints without its mix.
    let config_path = root.join("runs/r/config.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let root_line = config.lines().find(|l| l.starts_with("root = ")).expect("the run's config names its root");
    let mixed = config.replacen(root_line, "root = [\"data\", \"data\"]\nmix = [1.0, 2.0]", 1);
    std::fs::write(&config_path, &mixed).unwrap();
    let named = grid(&["--data", "data"], "mixed.png");
    std::fs::write(&config_path, &config).unwrap();
    assert!(named.status.success(), "{}", text(&named.stderr));
    assert_eq!(std::fs::read(root.join("mixed.png")).unwrap(), std::fs::read(root.join("own.png")).unwrap());

    // Restore one kind: outputs mirror the folder, at each print's size.
    let out = fpae(&["restore", "runs/r", "bench/degraded/noise", "--out", "restored"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let restored = listing(&root.join("restored"));
    assert_eq!(restored.len(), 12, "{restored:?}");
    assert!(restored.iter().any(|f| f.starts_with("0.6/DB1_B/")), "{restored:?}");
    let img = image::open(root.join("restored").join(&restored[0])).unwrap();
    assert_eq!((img.width(), img.height()), (96, 96));

    // A second run skips what is done; --force does it again, to the same bytes.
    let first = std::fs::read(root.join("restored").join(&restored[0])).unwrap();
    let out = fpae(&["restore", "runs/r", "bench/degraded/noise", "--out", "restored"], root);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("0 restored, 12 already"), "{}", text(&out.stdout));
    let out = fpae(&["restore", "runs/r", "bench/degraded/noise", "--out", "restored", "--force"], root);
    assert!(text(&out.stdout).starts_with("12 restored"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read(root.join("restored").join(&restored[0])).unwrap(), first);

    // Shards partition the collection.
    for k in 0..3 {
        let shard = format!("{k}/3");
        let out = fpae(&["restore", "runs/r", "bench/degraded/noise", "--out", "sharded", "--shard", &shard], root);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(listing(&root.join("sharded")).len(), 4 * (k + 1), "after shard {shard}");
    }
    assert_eq!(listing(&root.join("sharded")), restored);

    // A model folder restores exactly as its run does.
    let out = fpae(&["export", "runs/r", "--out", "models/r"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(listing(&root.join("models/r")), ["config.toml", "model.safetensors", "model.toml", "state.json"]);
    let out = fpae(&["restore", "models/r", "bench/degraded/noise", "--out", "from-folder"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(root.join("from-folder").join(&restored[0])).unwrap(), first);
    // ... and so does the ready-made model of that name in models/.
    let out = fpae(&["restore", "r", "bench/degraded/noise/0.3", "--out", "by-name"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(listing(&root.join("by-name")).len(), 4);
    // `--model NAME` is the same as NAME in first place.
    let out = fpae(&["restore", "--model", "r", "bench/degraded/noise/0.3", "--out", "by-flag"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(listing(&root.join("by-flag")), listing(&root.join("by-name")));
    for name in listing(&root.join("by-name")) {
        let (flag, positional) = (root.join("by-flag").join(&name), root.join("by-name").join(&name));
        assert_eq!(std::fs::read(flag).unwrap(), std::fs::read(positional).unwrap(), "{name}");
    }
    // A ready-made model's grid is written here, not into its folder.
    let out = fpae(&["reconstruct", "r", "--grid", "2"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(root.join("r-reconstructions.png").is_file());
    assert!(!root.join("models/r/reconstructions.png").exists());
    let out = fpae(&["restore", "--model", "r", "--out", "nothing-given"], root);
    assert!(text(&out.stderr).contains("give the images or folders of images to restore"), "{}", text(&out.stderr));
    let out = fpae(&["restore", "nothing", "bench/degraded/noise/0.3", "--out", "by-name2"], root);
    assert!(
        text(&out.stderr).contains(
            "nothing: no such run directory or model folder, and no ready-made model of that name in models/ (r)"
        ),
        "{}",
        text(&out.stderr)
    );

    // An unreadable input is named, the others written, the exit code 1; nothing half-written.
    std::fs::create_dir_all(root.join("mixed")).unwrap();
    std::fs::copy(root.join("bench/clean/DB1_B/101_1.png"), root.join("mixed/good.png")).unwrap();
    std::fs::write(root.join("mixed/broken.png"), b"not a png").unwrap();
    let out = fpae(&["restore", "runs/r", "mixed", "--out", "mixed-out"], root);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("mixed/broken.png"), "{}", text(&out.stderr));
    assert_eq!(listing(&root.join("mixed-out")), ["good.png"]);
    let out = fpae(&["restore", "runs/r", "mixed", "--out", "m", "--shard", "2/2"], root);
    assert!(text(&out.stderr).contains("expected K/N with 0 <= K < N"), "{}", text(&out.stderr));

    // Scores: the clean prints score perfectly against themselves; the
    // degraded prints score worse the more severe the damage.
    let out = fpae(&["score", "--originals", "bench/clean", "--candidates", "bench/clean", "--json"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    assert_eq!(json["all"]["images"], 20);
    assert_eq!(json["all"]["ssim"], 1.0);
    for key in ["type1_rate_40", "type2_rate_40", "type2_rate_40_originals", "impostor_rate_40", "minutiae_recall"] {
        assert!(json["all"]["identity"].get(key).is_some(), "identity.{key} missing: {json}");
    }
    assert_eq!(json["all"]["identity"]["minutiae_recall"], json["all"]["identity"]["ceiling_minutiae_recall"]);

    let out = fpae(&["score", "--originals", "bench/clean", "--candidates", "bench/degraded", "--json"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    assert_eq!(json["groups"].as_object().unwrap().len(), 39);
    assert_eq!(json["groups"]["blur/0.3"]["images"], 4);
    // Per database (sensor): every candidate counted once, under its original's database.
    let databases = json["databases"].as_object().unwrap();
    let mut expected: Vec<String> =
        listing(&root.join("bench/clean")).iter().filter_map(|f| Some(f.split_once('/')?.0.to_owned())).collect();
    expected.dedup();
    assert_eq!(databases.keys().cloned().collect::<Vec<_>>(), expected);
    let per_database: u64 = databases.values().map(|d| d["images"].as_u64().unwrap()).sum();
    assert_eq!(per_database, json["all"]["images"].as_u64().unwrap());
    let ssim = |g: &str| json["groups"][g]["ssim"].as_f64().unwrap();
    assert!(ssim("noise/0.9") < ssim("noise/0.3"), "{} vs {}", ssim("noise/0.9"), ssim("noise/0.3"));

    // Mismatched folders are named.
    std::fs::create_dir_all(root.join("stray/DB1_B")).unwrap();
    std::fs::copy(root.join("bench/clean/DB1_B/101_1.png"), root.join("stray/DB1_B/999_1.png")).unwrap();
    let out = fpae(&["score", "--originals", "bench/clean", "--candidates", "stray"], root);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("stray/DB1_B/999_1.png: no original under bench/clean"),
        "{}",
        text(&out.stderr)
    );
    std::fs::create_dir_all(root.join("small/DB1_B")).unwrap();
    GrayImage::new(40, 30).save(root.join("small/DB1_B/101_1.png")).unwrap();
    let out = fpae(&["score", "--originals", "bench/clean", "--candidates", "small"], root);
    assert!(text(&out.stderr).contains("small/DB1_B/101_1.png is 40x30, its original"), "{}", text(&out.stderr));

    // The benchmark evaluation, one severity: restores and scores only those prints.
    let out = fpae(&["evaluate", "runs/r", "--benchmark", "bench", "--severity", "0.9", "--json"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    let groups: Vec<&String> = json["restored"]["groups"].as_object().unwrap().keys().collect();
    assert_eq!(groups.len(), 13);
    assert!(groups.iter().all(|g| g.ends_with("/0.9")), "{groups:?}");
    assert_eq!(listing(&root.join("runs/r/restored/synthetic-restore-v1")).len(), 52);
    let out = fpae(&["evaluate", "runs/r", "--benchmark", "bench", "--severity", "0.5"], root);
    assert!(text(&out.stderr).contains("--severity 0.5: the benchmark synthetic-restore-v1 has severities"));

    // The benchmark evaluation: degraded, restored and classical rows per kind and severity.
    let out = fpae(
        &[
            "evaluate",
            "runs/r",
            "--benchmark",
            "bench",
            "--classical",
            "bench/degraded",
            "--peer",
            "tool-b=bench/degraded",
            "--out",
            "eval.json",
            "--figure",
            "figs/bench.png",
        ],
        root,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for row in ["stain/0.6 degraded", "stain/0.6 restored", "stain/0.6 classical", "stain/0.6 tool-b", "all restored"] {
        assert!(table.contains(row), "{row} missing:\n{table}");
    }
    assert_eq!(listing(&root.join("runs/r/restored/synthetic-restore-v1")).len(), 156);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["restored"]["groups"].as_object().unwrap().len(), 39);
    assert_eq!(json["benchmark"]["degraded"], 156);
    // How the restorations were computed is recorded with them.
    let environment = &json["environment"];
    assert!(environment["cpu"].as_str().is_some_and(|c| !c.is_empty()), "{environment}");
    assert!(
        ["f32", "bf16"].iter().any(|p| environment["compute"].as_str().unwrap_or("").starts_with(p)),
        "{environment}"
    );
    // A peer's scores sit under its name; here it is the degraded prints again.
    assert_eq!(json["peers"]["tool-b"]["all"], json["degraded"]["all"]);
    // The figure: 4 kinds x (degraded, restored, classical, tool-b, clean) tiles
    // of the 96x96 prints with a legend strip, under a title; a copy beside the
    // evaluation for the report.
    let figure = image::open(root.join("figs/bench.png")).unwrap().to_rgb8();
    assert!(figure.width() >= 5 * 96, "{:?}", figure.dimensions());
    assert!(figure.height() >= 4 * 96, "{:?}", figure.dimensions());
    let copy = root.join("runs/r/restored/synthetic-restore-v1.png");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(root.join("figs/bench.png")).unwrap());
    for bad in ["restored=x", "=x", "a b=x", "tool"] {
        let out = fpae(&["evaluate", "runs/r", "--benchmark", "bench", "--peer", bad], root);
        assert!(!out.status.success() && text(&out.stderr).contains("--peer"), "{bad}: {}", text(&out.stderr));
    }
}

/// The published restoration benchmarks (`data/restore-benchmarks.toml`), made
/// again from the real FVC2002 and FVC2000 B sets beside the checkout: the same
/// bytes (digest over every degraded file's path and pixels), and `benchmark
/// make` says so. docs/restoration.md quotes the start of the FVC2002 digest.
#[cfg(unix)]
#[test]
fn the_published_benchmarks_are_made_again_bit_for_bit() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let published: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo.join("data/restore-benchmarks.toml")).unwrap()).unwrap();
    for dataset in ["fvc2002", "fvc2000"] {
        let Some(real) = fp_testkit::dataset(dataset) else { return };
        let name = format!("{dataset}-restore-v1");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // The dataset as fetch-data installs it: its manifest beside the four databases.
        let data = root.join(dataset);
        std::fs::create_dir(&data).unwrap();
        std::fs::copy(repo.join(format!("data/{dataset}.dataset.toml")), data.join("dataset.toml")).unwrap();
        for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
            std::os::unix::fs::symlink(real.join(db), data.join(db)).unwrap();
        }
        let out = fpae(&["benchmark", "make", "--data", dataset, "--out", "bench"], root);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = format!("the same bytes as the published {name}: its numbers compare");
        assert!(text(&out.stdout).contains(&said), "{}{}", text(&out.stdout), text(&out.stderr));
        let spec: toml::Table =
            toml::from_str(&std::fs::read_to_string(root.join("bench/benchmark.toml")).unwrap()).unwrap();
        let digest = spec["digest"].as_str().unwrap();
        assert_eq!(digest, published[&name]["digest"].as_str().unwrap(), "{name}");
        assert_eq!((spec["clean"].as_integer(), spec["degraded"].as_integer()), (Some(320), Some(2496)));
        if dataset == "fvc2002" {
            let docs = std::fs::read_to_string(repo.join("docs/restoration.md")).unwrap();
            assert!(docs.contains(&format!("`{}...`", &digest[..16])), "docs/restoration.md quotes the digest");
        }
    }
}

/// On the CPU, a batch of FVC-sized prints through the shipped restoration
/// U-Net is cut to what fits the activation budget, small prints keep the
/// batch asked for, and cutting changes no output.
#[test]
fn inference_batches_stay_within_the_activation_budget() {
    use fp_model::{InputSize, Placement};
    use fp_train::{CPU_ACTIVATION_BUDGET, TrainedModel};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/restore-fvc2002");
    let model =
        TrainedModel::load(&dir, fp_train::Checkpoint::Best, Placement::CPU_F32).expect("the ready-made model loads");
    let (w, h) = (388, 374);
    let batch = model.batch_within_budget(w, h, 32);
    let per_image = model.config.model.activation_bytes(InputSize { height: h as i64, width: w as i64 });
    assert!((1..32).contains(&batch), "an FVC2002 DB1 print's batch is cut, got {batch}");
    assert!(batch as u64 * per_image <= CPU_ACTIVATION_BUDGET, "{batch} x {per_image} bytes");
    assert!((batch as u64 + 1) * per_image > CPU_ACTIVATION_BUDGET, "the largest batch that fits");
    assert_eq!(model.batch_within_budget(32, 32, 32), 32, "small prints keep the batch asked for");

    let (w, h) = (160, 144);
    let small = model.batch_within_budget(w, h, 64);
    let images = small + 2;
    let values: Vec<f32> = (0..images * w * h).map(|i| ((i * 7919) % 251) as f32 / 250.0).collect();
    let together = model.apply(&values, w, h, images);
    let alone: Vec<f32> = values.chunks(w * h).flat_map(|one| model.apply(one, w, h, 1)).collect();
    let diff = together.iter().zip(&alone).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(small < images, "{images} prints of {w}x{h} need two batches");
    assert!(diff < 1e-5, "cut batches differ from one print at a time by {diff}");
}
