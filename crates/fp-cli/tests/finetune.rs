//! `fpae train --init`: a run that starts from another model's weights, named
//! by path or by its name in `models/`, and the error when the networks differ.

mod common;

use std::path::Path;

use common::{fpae, text};
use sha2::Digest;

/// 2 databases x 4 fingers x 2 impressions of 20x20 ridge-like images, and a
/// one-epoch config of the tutorial's network with filters [4, 8] at 16x16.
fn project(dir: &Path) {
    common::tiny_prints(dir);
    std::fs::write(
        dir.join("tiny.toml"),
        "[data]\nroot = \"data\"\nheight = 16\nwidth = 16\n\n[model]\nfilters = [4, 8]\n\n\
         [train]\nepochs = 1\nbatch_size = 4\ndevice = \"cpu\"\nprecision = \"f32\"\n",
    )
    .unwrap();
}

#[test]
fn train_init_starts_from_a_model_by_name_and_refuses_another_network() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let out = fpae(&["train", "tiny.toml", "--run-dir", "runs/source"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fpae(&["export", "runs/source", "--out", "models/base"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let digest: String = sha2::Sha256::digest(std::fs::read(root.join("models/base/model.safetensors")).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // By name, as --init or as train.init: the run records the resolved folder and the digest.
    for (run, how) in [("runs/flag", ["--init", "base"]), ("runs/key", ["--set", "train.init=base"])] {
        let out = fpae(&["train", "tiny.toml", "--run-dir", run, how[0], how[1]], root);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let config = std::fs::read_to_string(root.join(run).join("config.toml")).unwrap();
        assert!(config.contains("init = \"models/base\""), "{config}");
        let log = std::fs::read_to_string(root.join(run).join("train.log")).unwrap();
        assert!(log.contains("starting from the weights of models/base ("), "{log}");
        assert!(log.contains(&format!("sha256 {digest})")), "{log}");
    }
    // Resuming continues the run from its own checkpoint; a new init is refused.
    let out = fpae(&["train", "--resume", "runs/flag", "--set", "train.epochs=2"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fpae(&["train", "--resume", "runs/flag", "--init", "base"], root);
    assert!(text(&out.stderr).contains("cannot be used with"), "{}", text(&out.stderr));

    // Another network: named, before any run directory is made.
    let out = fpae(
        &["train", "tiny.toml", "--run-dir", "runs/wide", "--init", "base", "--set", "model.filters=[4,16]"],
        root,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "train.init: models/base/model.toml describes another network than the config's [model]: \
             filters = [4, 8] there, [4, 16] in the config: models/base/model.safetensors: \
             tensor \"dec1.bias\" has shape [8], but the model config expects [16]"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!root.join("runs/wide").exists());
    let out = fpae(&["train", "tiny.toml", "--init", "nothing"], root);
    assert!(
        text(&out.stderr).contains(
            "train.init: nothing: no such run directory or model folder, and no ready-made model of that name in models/ (base)"
        ),
        "{}",
        text(&out.stderr)
    );
}
