//! The ready-made models in the repository's `models/`: each card states the
//! sha256 of the weights beside it and the sections a user looks for, each
//! model stays small, and `fpae models` lists every one of them.

mod common;

use std::path::{Path, PathBuf};

use common::{fpae, text};
use sha2::Digest;

/// Most bytes a ready-made model's weights may take.
const MAX_WEIGHTS_BYTES: u64 = 10_000_000;

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
