//! `fpae models`: the ready-made models in `models/`, one line each.

use std::path::Path;
use std::process::ExitCode;

use crate::shared::{MODELS_DIR, model_folders};

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {}

pub fn run(_args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let models = list(Path::new(MODELS_DIR));
    if models.is_empty() {
        println!("no ready-made models in {MODELS_DIR}/ (run fpae from the repository root)");
        return Ok(ExitCode::SUCCESS);
    }
    let width = models.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, summary) in models {
        println!("{name:<width$}  {summary}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Each model folder under `dir` (one with a config), sorted by name, with the
/// first sentence of its `MODEL.md` card after the title.
fn list(dir: &Path) -> Vec<(String, String)> {
    model_folders(dir)
        .into_iter()
        .map(|(name, path)| {
            let card = std::fs::read_to_string(path.join("MODEL.md")).unwrap_or_default();
            (name, first_sentence(&card))
        })
        .collect()
}

/// The first sentence of the first paragraph that is not a heading.
fn first_sentence(card: &str) -> String {
    let paragraph: Vec<&str> = card
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('#'))
        .take_while(|l| !l.is_empty())
        .collect();
    let text = paragraph.join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_summed_up_by_its_first_sentence() {
        let card = "# name\n\nA U-Net that restores\nprints. More here.\n\n## What\n";
        assert_eq!(first_sentence(card), "A U-Net that restores prints.");
        assert_eq!(first_sentence(""), "");
    }

    #[test]
    fn only_folders_with_a_config_are_models() {
        let dir = tempfile::tempdir().unwrap();
        for (name, config) in [("b", true), ("a", true), ("notes", false)] {
            let folder = dir.path().join(name);
            std::fs::create_dir_all(&folder).unwrap();
            if config {
                std::fs::write(folder.join(fp_train::CONFIG_FILE), "").unwrap();
            }
        }
        std::fs::write(dir.path().join("a/MODEL.md"), "# a\n\nModel a. Details.\n").unwrap();
        assert_eq!(list(dir.path()), [("a".to_owned(), "Model a.".to_owned()), ("b".to_owned(), String::new())]);
    }
}
