//! The `fpae` binary end to end on tiny synthetic data.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fpae, last_line, text};
use image::{GrayImage, Luma};

/// 2 databases x 4 fingers x 2 impressions of 20x20 ridge-like images, and a tiny config.
fn project(dir: &Path) {
    common::tiny_prints(dir);
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

/// Runs of columns holding a non-white pixel in rows `ys`: the tiles side by side.
fn tiles_in_band(img: &image::RgbImage, ys: std::ops::Range<u32>) -> Vec<u32> {
    let mut runs = Vec::new();
    let mut run = 0;
    for x in 0..img.width() {
        if ys.clone().any(|y| img.get_pixel(x, y).0 != [255, 255, 255]) {
            run += 1;
        } else if run > 0 {
            runs.push(run);
            run = 0;
        }
    }
    runs
}

#[test]
fn train_evaluate_plot_grid_and_reconstruct_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = fpae(&["train", "tiny.toml", "--run-dir", "runs/e2e"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Training ends with the tutorial's two pictures.
    assert!(dir.path().join("runs/e2e/loss.png").is_file());
    assert!(dir.path().join("runs/e2e/reconstructions.png").is_file());

    let out = fpae(&["evaluate", "runs/e2e", "--json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    // 16 images, 20% validation: 4 of them.
    assert_eq!(json["images"], 4);
    for key in ["mse", "psnr", "ssim"] {
        let v = json[key].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite(), "{key} = {}", json[key]);
    }
    let per_db = json["per_database"].as_object().unwrap();
    let counted: u64 = per_db.values().map(|g| g["images"].as_u64().unwrap()).sum();
    assert_eq!(counted, 4);
    assert!(per_db.values().all(|g| g["ssim"].as_f64().is_some_and(|s| s > -1.0 && s <= 1.0)));
    // 20x20 prints are too small for minutiae: every image is counted as not computable.
    for group in per_db.values().chain([&json]) {
        let identity = &group["identity"];
        for key in IDENTITY_KEYS {
            assert!(identity.get(key).is_some(), "identity.{key} missing in {group}");
        }
        assert_eq!(identity["not_computable"], group["images"], "{identity}");
        assert!(identity["type1_rate_40"].is_null(), "no rate without computable pairs: {identity}");
    }
    let out = fpae(&["evaluate", "runs/e2e", "--json", "--no-identity"], dir.path());
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    assert!(json.get("identity").is_none() && json["per_database"]["DB1_B"].get("identity").is_none(), "{json}");
    let all = fpae(&["evaluate", "runs/e2e", "--split", "all"], dir.path());
    assert!(text(&all.stdout).contains("all              16"), "{}", text(&all.stdout));

    let out = fpae(&["plot", "runs/e2e", "--out", "figs/loss.png", "--log"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(last_line(&out), "figs/loss.png");
    assert_eq!(image::open(dir.path().join("figs/loss.png")).unwrap().to_rgb8().dimensions(), (960, 600));

    let out = fpae(&["reconstruct", "runs/e2e", "--grid", "3", "--out", "figs/grid.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(last_line(&out), "figs/grid.png");
    let grid = image::open(dir.path().join("figs/grid.png")).unwrap().to_rgb8();
    // Layout: 12 px margin + 34 px title, then 16 px tiles (framed: 18 px wide)
    // with 1 caption line (18 + 4) + 10 px gap.
    let top = 12 + 34;
    assert_eq!(tiles_in_band(&grid, top..top + 16), vec![18; 3], "originals");
    let second = top + 16 + 22 + 10;
    assert_eq!(tiles_in_band(&grid, second..second + 16), vec![18; 3], "reconstructions");
    // Chosen damage is for restoration models only.
    let out = fpae(&["reconstruct", "runs/e2e", "--grid", "3", "--kind", "noise"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("damage is for a restoration model"), "{}", text(&out.stderr));

    // Any images, any size: 3 good ones and a corrupt one.
    let inputs = dir.path().join("mine");
    std::fs::create_dir_all(&inputs).unwrap();
    for (name, (w, h)) in [("a.png", (20, 20)), ("b.bmp", (30, 24)), ("c.tif", (17, 33))] {
        GrayImage::from_fn(w, h, |x, y| Luma([((x * 9 + y * 5) % 250) as u8])).save(inputs.join(name)).unwrap();
    }
    std::fs::write(inputs.join("broken.png"), b"not a png").unwrap();
    let out = fpae(
        &[
            "reconstruct",
            "runs/e2e",
            "mine/a.png",
            "mine/broken.png",
            "mine/b.bmp",
            "mine/c.tif",
            "--out",
            "out",
            "--original-size",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.png") && stderr.contains("cannot decode"), "{stderr}");
    assert!(stderr.contains("1 of 4 images could not be reconstructed"), "{stderr}");
    for (name, size) in [("a.png", (20, 20)), ("b.png", (30, 24)), ("c.png", (17, 33))] {
        assert_eq!(image::open(dir.path().join("out").join(name)).unwrap().to_luma8().dimensions(), size, "{name}");
    }
    assert!(!dir.path().join("out/broken.png").exists());

    // At model resolution, a folder of inputs works too.
    std::fs::remove_file(inputs.join("broken.png")).unwrap();
    let out = fpae(&["reconstruct", "runs/e2e", "mine", "--out", "small"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(last_line(&out), "3 reconstructions in small");
    for name in ["a.png", "b.png", "c.png"] {
        assert_eq!(image::open(dir.path().join("small").join(name)).unwrap().to_luma8().dimensions(), (16, 16));
    }
    // `--model` names the model as the first argument does.
    let out = fpae(&["reconstruct", "--model", "runs/e2e", "mine", "--out", "by-flag"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in ["a.png", "b.png", "c.png"] {
        let read = |folder: &str| std::fs::read(dir.path().join(folder).join(name)).unwrap();
        assert_eq!(read("by-flag"), read("small"), "{name}");
    }
    let out = fpae(&["reconstruct", "runs/e2e", "--grid", "2", "mine"], dir.path());
    assert!(text(&out.stderr).contains("--grid draws the model's validation prints"), "{}", text(&out.stderr));
    let out = fpae(&["reconstruct", "runs/e2e"], dir.path());
    assert!(text(&out.stderr).contains("or --grid N"), "{}", text(&out.stderr));
}

/// The identity keys other tools read from `fpae evaluate --json`.
const IDENTITY_KEYS: [&str; 7] = [
    "type1_rate_40",
    "type2_rate_40",
    "type2_rate_40_originals",
    "ceiling_type1_rate_40",
    "minutiae_recall",
    "minutiae_precision",
    "not_computable",
];

#[test]
fn evaluate_measures_identity_on_ridge_patterns() {
    // 2 databases x 3 fingers x 3 impressions of 280x280 synthetic prints, each
    // impression the finger's pattern shifted by a few pixels.
    let dir = tempfile::tempdir().unwrap();
    for (d, db) in ["DB1_B", "DB3_B"].into_iter().enumerate() {
        let folder = dir.path().join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 1..4u32 {
            for imp in 1..4u32 {
                let shift = (f64::from(imp) * 2.0 - 4.0, 2.0 - f64::from(imp));
                let pixels = fp_metrics::synthetic::ridge_pattern(280, 280, u64::from(finger) + 10 * d as u64, shift);
                let img = GrayImage::from_raw(280, 280, pixels).unwrap();
                img.save(folder.join(format!("10{finger}_{imp}.png"))).unwrap();
            }
        }
    }
    std::fs::write(
        dir.path().join("ridges.toml"),
        "[data]\nroot = \"data\"\nheight = 32\nwidth = 32\n\n[model]\nfilters = [4, 8]\n\n\
         [train]\nepochs = 1\nbatch_size = 6\ndevice = \"cpu\"\n",
    )
    .unwrap();
    let out = fpae(&["train", "ridges.toml", "--run-dir", "runs/r"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = fpae(&["evaluate", "runs/r", "--split", "all", "--json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    let identity = &json["identity"];
    for key in IDENTITY_KEYS {
        assert!(identity.get(key).is_some(), "identity.{key} missing: {identity}");
    }
    // The originals are sharp shifted copies of each other: genuine pairs score
    // far above impostor pairs, so all match at the zero-false-match threshold.
    assert_eq!(identity["not_computable_originals"], 0, "{identity}");
    assert!(identity["zero_fm_threshold"].as_u64().is_some_and(|t| t <= 20), "{identity}");
    assert!(identity["type2_median_originals"].as_f64().is_some_and(|m| m >= 40.0), "{identity}");
    for db in ["DB1_B", "DB3_B"] {
        let group = &json["per_database"][db]["identity"];
        assert_eq!(group["images"], 9, "{group}");
        assert_eq!(group["type2_rate_zero_fm_originals"], 1.0, "{group}");
    }
    let image = &json["per_image"][0]["identity"];
    assert_eq!(image["type2_scores_originals"].as_array().map(Vec::len), Some(2), "{image}");
    assert_eq!(image["impostor_scores"].as_array().map(Vec::len), Some(2), "{image}");

    // The originals' minutiae were cached, one entry per file; a second run reads them.
    let cached = walk(&dir.path().join("cache/fpae/minutiae")).len();
    assert_eq!(cached, 18);
    let again = fpae(&["evaluate", "runs/r", "--split", "all", "--json"], dir.path());
    assert_eq!(last_line(&again), last_line(&out));

    // One image's minutiae, as the library finds them, and drawn over it.
    let out = fpae(&["minutiae", "data/DB1_B/101_1.png", "--overlay", "figs/m.png", "--json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let template: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    let pixels = image::open(dir.path().join("data/DB1_B/101_1.png")).unwrap().to_luma8();
    let expected = fp_metrics::minutiae::Template::detect(pixels.as_raw(), 280, 280, 500).unwrap();
    assert_eq!(template["minutiae"].as_array().map(Vec::len), Some(expected.len()));
    assert!(template["minutiae"][0]["kind"].is_string(), "{template}");
    let overlay = image::open(dir.path().join("figs/m.png")).unwrap().to_rgb8();
    assert_eq!(overlay.dimensions(), (280, 280 + 22), "the print and a legend strip");
    let coloured = overlay.pixels().filter(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2]).count();
    assert!(coloured > 20 * expected.len(), "marks are drawn: {coloured} coloured pixels");

    // The grid with minutiae shows the originals at their own size (280 px, framed 282).
    let out = fpae(&["reconstruct", "runs/r", "--grid", "2", "--minutiae", "--out", "figs/g.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let grid = image::open(dir.path().join("figs/g.png")).unwrap().to_rgb8();
    assert_eq!(tiles_in_band(&grid, 12 + 34..12 + 34 + 280), vec![282; 2]);

    // The table names the measures.
    let out = fpae(&["evaluate", "runs/r"], dir.path());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("identity: BOZORTH3 match rates"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("DB3_B") && l.contains('|')), "{stdout}");
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn data_prints_the_tutorials_summary_and_a_preview() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let out = fpae(&["data", "tiny.toml", "--out", "preview.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("shape: (16, 16, 16, 1)"), "{stdout}");
    assert!(stdout.contains("min: 0") && stdout.contains("max: 1"), "{stdout}");
    assert!(stdout.contains("DB1_B             8       4   500  20x20"), "{stdout}");
    assert_eq!(last_line(&out), "preview.png");
    let preview = image::open(dir.path().join("preview.png")).unwrap().to_rgb8();
    assert_eq!(tiles_in_band(&preview, 46..62), vec![18; 5]);
}

#[test]
fn bench_prints_one_json_measurement() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, precision) in [("train", "f32"), ("infer", "bf16")] {
        let args = ["bench", "--json", "--mode", mode, "--precision", precision, "--device", "cpu"];
        let out =
            fpae(&[&args[..], &["--batch", "2", "--steps", "2", "--warmup", "0", "--size", "16"]].concat(), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
        assert_eq!(json["mode"], mode);
        assert_eq!(json["batch"], 2);
        assert!(json["images_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{json}");
        let bf16 = json["compute"].as_str().unwrap().starts_with("bf16");
        assert_eq!(bf16, precision == "bf16", "{json}");
    }
}

#[test]
fn bench_times_a_recipes_training_step_with_its_model_loss_batch_and_crop() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("restore.toml"),
        "[data]\nresize = \"none\"\ncrop = 16\n\n[model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\n\n\
         [task]\nkind = \"restore\"\n\n[[task.degradations]]\nkind = \"noise\"\nprobability = 0.5\n\n\
         [train]\nbatch_size = 3\noptimizer = \"adam\"\nloss = \"ssim+l1\"\n",
    )
    .unwrap();
    let args = ["bench", "--json", "--config", "restore.toml", "--precision", "f32", "--device", "cpu"];
    let out = fpae(&[&args[..], &["--steps", "2", "--warmup", "1"]].concat(), dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    assert_eq!((json["model"].as_str(), json["loss"].as_str()), (Some("unet"), Some("ssim+l1")), "{json}");
    assert_eq!((json["batch"].as_u64(), json["size"].as_u64()), (Some(3), Some(16)), "the recipe's: {json}");
    assert_eq!(json["subpixel_layers"], serde_json::json!(["up2", "up1"]), "{json}");
    assert_eq!(json["config"], "restore.toml");
    assert!(json["images_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{json}");
    // --size must suit the model: a depth-2 U-Net needs multiples of 4.
    let out = fpae(&[&args[..], &["--steps", "1", "--size", "18"]].concat(), dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--size 18 does not fit the model of restore.toml"), "{}", text(&out.stderr));
    // The tutorial's defaults without a recipe.
    let out =
        fpae(&["bench", "--json", "--precision", "f32", "--batch", "2", "--size", "16", "--steps", "1"], dir.path());
    let json: serde_json::Value = serde_json::from_str(&last_line(&out)).unwrap();
    assert_eq!((json["model"].as_str(), json["loss"].as_str()), (Some("tutorial-cae"), Some("mse")), "{json}");
    assert_eq!(json["subpixel_layers"], serde_json::json!(["dec2", "dec3"]), "{json}");
}

/// Two sensors of different sizes, neither a multiple of 4, and a config that
/// trains at native resolution on 16x16 crops.
fn native_project(dir: &Path, model: &str, task: &str) {
    for (db, (w, h)) in [("DB1_B", (30u32, 26u32)), ("DB2_B", (22, 35))] {
        let folder = dir.join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 101..104u32 {
            for imp in 1..3u32 {
                let img = GrayImage::from_fn(w, h, |x, y| {
                    Luma([(((x as f32 * 0.9 + y as f32 * 0.4 + finger as f32 + imp as f32).sin() * 0.5 + 0.5) * 250.0)
                        as u8])
                });
                img.save(folder.join(format!("{finger}_{imp}.png"))).unwrap();
            }
        }
    }
    std::fs::write(
        dir.join("native.toml"),
        format!(
            "[data]\nroot = \"data\"\nresize = \"none\"\ncrop = 16\ncrops_per_image = 2\nsplit = \"by-finger\"\n\n\
             [model]\n{model}\n\n{task}\n[train]\nepochs = 2\nbatch_size = 4\ndevice = \"cpu\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn native_resolution_trains_on_crops_and_keeps_every_size() {
    for (model, task) in [
        ("filters = [4, 8]", ""),
        (
            "kind = \"unet\"\ndepth = 2\nbase_width = 4",
            "[task]\nkind = \"restore\"\n[[task.degradations]]\nkind = \"noise\"\nseverity = [0.1, 0.3]\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        native_project(dir.path(), model, task);
        let out = fpae(&["train", "native.toml", "--run-dir", "runs/n"], dir.path());
        assert!(out.status.success(), "{model}: {}", text(&out.stderr));
        let csv = std::fs::read_to_string(dir.path().join("runs/n/history.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");

        let out = fpae(&["evaluate", "runs/n", "--json", "--no-identity"], dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["per_database"].as_object().unwrap().len(), 2, "{json}");
        assert!(json["psnr"].as_f64().unwrap() > 5.0, "{json}");

        let out = fpae(&["reconstruct", "runs/n", "data", "--out", "out"], dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        for (name, size) in [("DB1_B_101_1.png", (30, 26)), ("DB2_B_103_2.png", (22, 35))] {
            let img = image::open(dir.path().join("out").join(name)).unwrap();
            assert_eq!((img.width(), img.height()), size, "{name}");
        }
    }
}

#[test]
fn a_second_writer_of_a_run_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut first = Command::new(env!("CARGO_BIN_EXE_fpae"))
        .args(["train", "tiny.toml", "--run-dir", "runs/busy", "--set", "train.epochs=1000000"])
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first process is training (its first epoch is in the history).
    let history = dir.path().join("runs/busy/history.csv");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&history).map_or(0, |t| t.lines().count()) < 2 {
        assert!(started.elapsed().as_secs() < 120, "the first run did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = fpae(&["train", "--resume", "runs/busy"], dir.path());
    let stderr = text(&out.stderr);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("runs/busy: is in use by process {}", first.id())), "{stderr}");

    // Killed, the first writer leaves no stale lock: the run resumes, and every
    // epoch is in the history once.
    let done = std::fs::read_to_string(&history).unwrap().lines().count() - 1;
    let epochs = format!("train.epochs={}", done + 1);
    let out = fpae(&["train", "--resume", "runs/busy", "--set", &epochs], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(&history).unwrap();
    let epochs: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let expected: Vec<String> = (1..=epochs.len()).map(|e| e.to_string()).collect();
    assert_eq!(epochs, expected, "{csv}");
}
