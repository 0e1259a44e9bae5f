//! The ready-made models in the repository's `models/`: each card states the
//! sha256 of the weights beside it and the sections a user looks for, each
//! model stays small, and `fpae models` lists every one of them.

mod common;

use std::path::{Path, PathBuf};

use common::{fpae, text};
use sha2::Digest;

/// Most bytes a ready-made model's weights may take (the restoration U-Net with dilated context,
/// 3.3 million f32 parameters, takes 13.4 MB).
const MAX_WEIGHTS_BYTES: u64 = 16_000_000;

/// Sections every card has, as `## ` headings.
const CARD_SECTIONS: [&str; 4] = ["What it is", "Reproduce", "Results", "Limits"];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folders of `models/` that hold a model (a `model.toml`), sorted by name.
fn ready_made() -> Vec<(String, PathBuf)> {
    let mut models: Vec<(String, PathBuf)> = std::fs::read_dir(repository().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.toml").is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    models.sort();
    models
}

#[test]
fn every_card_states_its_weights_sha256_and_sections_and_every_model_is_small() {
    let models = ready_made();
    assert!(models.len() >= 2, "models/ holds {} models", models.len());
    for (name, folder) in models {
        let weights = std::fs::read(folder.join("model.safetensors")).unwrap();
        assert!(weights.len() as u64 <= MAX_WEIGHTS_BYTES, "{name}: {} bytes of weights", weights.len());
        let digest: String = sha2::Sha256::digest(&weights).iter().map(|b| format!("{b:02x}")).collect();
        let card = std::fs::read_to_string(folder.join("MODEL.md")).unwrap();
        assert!(card.starts_with(&format!("# {name}\n")), "{name}: the card's title is not the model's name");
        assert!(card.contains(&format!("`{digest}`")), "{name}: MODEL.md does not state the sha256 {digest}");
        for section in CARD_SECTIONS {
            assert!(card.contains(&format!("\n## {section}\n")), "{name}: MODEL.md has no section \"{section}\"");
        }
    }
}

#[test]
fn fpae_models_lists_each_ready_made_model_with_its_summary() {
    let out = fpae(&["models"], &repository());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    let models = ready_made();
    assert_eq!(lines.len(), models.len(), "{listing}");
    for ((name, _), line) in models.iter().zip(&lines) {
        let summary = line.strip_prefix(name.as_str()).map(str::trim).unwrap_or_default();
        assert!(summary.ends_with('.') && summary.len() > 20, "{name}: {line:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The numbers each card states on a small fixed subset, measured again

/// Set to record each model's `check.json` again instead of comparing with it.
const RECORD_VAR: &str = "FPAE_RECORD_CHECKS";

/// The prints every check runs on: impressions 1 and 2 of the first finger of each
/// database that the by-finger split with seed 13 holds out (the same fingers in FVC2002
/// and FVC2000, and the fingers of the `fvc2002-restore-v1` and `fvc2000-restore-v1`
/// benchmarks), so that no model trained by finger has seen them.
const PRINTS: [&str; 8] = [
    "DB1_B/105_1.tif",
    "DB1_B/105_2.tif",
    "DB2_B/105_1.tif",
    "DB2_B/105_2.tif",
    "DB3_B/101_1.tif",
    "DB3_B/101_2.tif",
    "DB4_B/103_1.tif",
    "DB4_B/103_2.tif",
];

/// The damage a restoration model's check restores: these kinds at this severity, seeded.
const DAMAGE_KINDS: [&str; 4] = ["noise", "blur", "dry", "scratch"];
const DAMAGE_SEVERITY: &str = "0.6";
const DAMAGE_SEED: &str = "0";

/// How far a measured number may stray from the recorded one, in absolute terms. The
/// checks run the network with one thread, so on one machine the outputs are the same
/// bytes every time; the slack is for another CPU. LibTorch sums convolutions in another
/// order there (other vector widths, other kernels), which moves a few output pixels by a
/// grey level: measured here between one and two threads, one of the eight restorations
/// of `restore-fvc2002` differed in a few pixels and PSNR moved by 3e-7 dB. A pixel that
/// moves can also move or drop a minutia, and so, rarely, a match: the rates may differ
/// by one comparison of the eight. A wrong model, preprocessing or matcher moves these
/// numbers by far more.
const TOLERANCE: [(&str, f64); 8] = [
    ("mse", 0.0002),
    ("psnr", 0.05),
    ("ssim", 0.002),
    ("minutiae_recall", 0.02),
    ("minutiae_precision", 0.02),
    ("type1_rate_40", 0.125),
    ("type2_rate_40", 0.125),
    ("type2_rate_40_originals", 0.0),
];

/// A ready-made model and the dataset its check runs on; restoration models restore
/// damaged copies of the prints, the others reconstruct the prints themselves.
struct Check {
    model: &'static str,
    dataset: &'static str,
    restoration: bool,
}

/// `fpae` in `cwd` with one thread, its caches under `cwd/cache`; fails the test when it fails.
fn fpae_ok(args: &[&str], cwd: &Path) -> String {
    let mut all = vec!["--threads", "1"];
    all.extend_from_slice(args);
    let out = fpae(&all, cwd);
    assert!(out.status.success(), "fpae {}: {}", all.join(" "), text(&out.stderr));
    text(&out.stdout)
}

/// The measures a check keeps from the `all` row of `fpae score --json`.
fn measures(score_json: &str) -> serde_json::Value {
    let score: serde_json::Value = serde_json::from_str(score_json).expect("fpae score --json prints JSON");
    let all = &score["all"];
    let mut kept = serde_json::Map::new();
    kept.insert("images".into(), all["images"].clone());
    for (name, _) in TOLERANCE {
        let value = if all[name].is_number() { &all[name] } else { &all["identity"][name] };
        assert!(value.is_number(), "fpae score --json has no number {name}: {score_json}");
        kept.insert(name.into(), value.clone());
    }
    serde_json::Value::Object(kept)
}

/// Runs `check` on the prints of `PRINTS` and returns what `check.json` records: the
/// subset, the commands, the tolerance and the measures of the model's outputs (and of
/// the damaged inputs for a restoration model).
fn measure(check: &Check, data: &Path) -> serde_json::Value {
    let model = repository().join("models").join(check.model);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for print in PRINTS {
        let to = root.join("clean").join(print);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(data.join(print), &to).unwrap();
    }
    let manifest = repository().join("data").join(format!("{}.dataset.toml", check.dataset));
    std::fs::copy(&manifest, root.join("clean/dataset.toml")).unwrap();

    let mut commands = Vec::new();
    let mut record = serde_json::Map::new();
    let input = if check.restoration {
        let mut databases: Vec<&str> = PRINTS.iter().map(|p| p.split('/').next().unwrap()).collect();
        databases.dedup();
        // `degrade` names its outputs by the stem alone, so each database gets a call.
        let mut args = vec!["degrade", "clean/<db>", "--out", "flat/<db>"];
        for kind in DAMAGE_KINDS {
            args.extend(["--kind", kind]);
        }
        args.extend(["--severity", DAMAGE_SEVERITY, "--seed", DAMAGE_SEED]);
        commands.push(format!("fpae --threads 1 {} (for each <db>)", args.join(" ")));
        for db in databases {
            let args: Vec<String> = args.iter().map(|a| a.replace("<db>", db)).collect();
            fpae_ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), root);
            // `degrade` writes `<stem>.<kind>-0.60.png`; `score` matches by path, so each
            // kind goes into a folder of its own: `damaged/<kind>/<db>/<stem>.png`.
            for entry in std::fs::read_dir(root.join("flat").join(db)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                let (stem, rest) = name.split_once('.').unwrap();
                let kind = rest.rsplit_once('-').unwrap().0;
                let to = root.join("damaged").join(kind).join(db).join(format!("{stem}.png"));
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::rename(&path, &to).unwrap();
            }
        }
        commands.push("(each `flat/<db>/<stem>.<kind>-0.60.png` moved to `damaged/<kind>/<db>/<stem>.png`)".into());
        let args = ["score", "--originals", "clean", "--candidates", "damaged", "--json"];
        commands.push(format!("fpae --threads 1 {}", args.join(" ")));
        record.insert("damaged".into(), measures(&fpae_ok(&args, root)));
        "damaged"
    } else {
        "clean"
    };
    let model_arg = model.to_str().unwrap();
    let args = ["restore", model_arg, input, "--out", "out", "--precision", "f32", "--device", "cpu"];
    fpae_ok(&args, root);
    commands
        .push(format!("fpae --threads 1 {}", args.join(" ").replace(model_arg, &format!("models/{}", check.model))));
    let args = ["score", "--originals", "clean", "--candidates", "out", "--json"];
    commands.push(format!("fpae --threads 1 {}", args.join(" ")));
    record.insert("output".into(), measures(&fpae_ok(&args, root)));

    let mut json = serde_json::json!({
        "model": check.model,
        "dataset": check.dataset,
        "prints": PRINTS,
        "damage": if check.restoration {
            serde_json::json!({"kinds": DAMAGE_KINDS, "severity": DAMAGE_SEVERITY, "seed": DAMAGE_SEED})
        } else {
            serde_json::Value::Null
        },
        "commands": commands,
        "tolerance": TOLERANCE.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
    });
    json.as_object_mut().unwrap().extend(record);
    json
}

/// Measures `check` again and holds it to the model's `check.json` (or records it there).
fn card_numbers_hold(check: &Check) {
    let Some(data) = fp_testkit::dataset(check.dataset) else { return };
    let measured = measure(check, &data);
    let path = repository().join("models").join(check.model).join("check.json");
    if std::env::var_os(RECORD_VAR).is_some() {
        let text = format!("{}\n", serde_json::to_string_pretty(&measured).unwrap());
        let staging = path.with_extension("json.tmp");
        std::fs::write(&staging, text).unwrap();
        std::fs::rename(&staging, &path).unwrap();
        return;
    }
    let recorded: serde_json::Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
        Err(e) => panic!(
            "cannot read {} ({e}); record it with {RECORD_VAR}=1 cargo test -p fp-cli --test models",
            path.display()
        ),
    };
    // What was measured, and how, must be what was recorded; the numbers within the tolerance.
    for key in ["model", "dataset", "prints", "damage", "commands"] {
        assert_eq!(
            measured[key],
            recorded[key],
            "{}: {key} differs from this test's; record it again ({RECORD_VAR}=1)",
            path.display()
        );
    }
    for (name, tolerance) in TOLERANCE {
        assert_eq!(
            recorded["tolerance"][name].as_f64(),
            Some(tolerance),
            "{}: the tolerance of {name} differs from this test's; record it again ({RECORD_VAR}=1)",
            path.display()
        );
    }
    let mut problems = Vec::new();
    for row in ["damaged", "output"] {
        assert_eq!(measured[row].is_null(), recorded[row].is_null(), "{}: {row}", path.display());
        if measured[row].is_null() {
            continue;
        }
        assert_eq!(measured[row]["images"], recorded[row]["images"], "{}: {row} images", path.display());
        for (name, tolerance) in TOLERANCE {
            let now = measured[row][name].as_f64().unwrap();
            let then = recorded[row][name].as_f64().unwrap_or(f64::NAN);
            // A missing recorded number (NaN) is outside any tolerance.
            let within = (now - then).abs() <= tolerance + 1e-12;
            if !within {
                problems.push(format!("{row} {name}: measured {now}, recorded {then} (tolerance {tolerance})"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} on {}: {}\n(record it again with {RECORD_VAR}=1 cargo test -p fp-cli --test models when the change is meant)",
        check.model,
        path.display(),
        problems.join("; ")
    );
}

#[test]
fn card_numbers_of_tutorial_fvc2002_hold() {
    card_numbers_hold(&Check { model: "tutorial-fvc2002", dataset: "fvc2002", restoration: false });
}

#[test]
fn card_numbers_of_native_cae_fvc2002_hold() {
    card_numbers_hold(&Check { model: "native-cae-fvc2002", dataset: "fvc2002", restoration: false });
}

#[test]
fn card_numbers_of_native_cae_fvc2000_hold() {
    card_numbers_hold(&Check { model: "native-cae-fvc2000", dataset: "fvc2000", restoration: false });
}

#[test]
fn card_numbers_of_restore_hold() {
    card_numbers_hold(&Check { model: "restore", dataset: "fvc2000", restoration: true });
}

#[test]
fn card_numbers_of_restore_fvc2002_hold() {
    card_numbers_hold(&Check { model: "restore-fvc2002", dataset: "fvc2002", restoration: true });
}

#[test]
fn card_numbers_of_restore_fvc2000_2002_hold() {
    card_numbers_hold(&Check { model: "restore-fvc2000-2002", dataset: "fvc2000", restoration: true });
}

#[test]
fn every_ready_made_model_has_a_checked_card() {
    let checked = [
        "native-cae-fvc2000",
        "native-cae-fvc2002",
        "restore",
        "restore-fvc2000-2002",
        "restore-fvc2002",
        "tutorial-fvc2002",
    ];
    let names: Vec<String> = ready_made().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, checked, "a model in models/ needs a card_numbers_of_* test here, and its check.json");
}
