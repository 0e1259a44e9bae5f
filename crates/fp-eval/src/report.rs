//! One self-contained HTML page about a run: its config and environment, the
//! loss curve, pixel and identity tables per dataset and sensor, validation
//! prints with their minutiae (degraded, restored and clean for a restoration
//! model, one view at a time), and the restoration benchmarks the run was
//! evaluated on. `fpae report` writes it, and `fpae train` at its end.

use std::path::{Path, PathBuf};

use fp_report::html::{Page, Section};
use fp_train::{Evaluation, Subset, TrainedModel};

use crate::benchmark::BenchmarkEvaluation;
use crate::environment::Environment;
use crate::grid::{GRID_COLUMNS, GridOptions};
use crate::{EvalError, Progress, Result, tables};

/// The report's file in a run directory.
pub const REPORT_FILE: &str = "report.html";
/// The evaluation the report shows, in a run directory (what `fpae evaluate --out` writes).
pub const EVALUATION_FILE: &str = "evaluation.json";

/// What a report shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    /// Validation prints in the pictures (at most one band of the grid).
    pub prints: usize,
    /// Identity measures in the evaluation, when it must be made.
    pub identity: bool,
    /// Prints per model batch.
    pub batch: usize,
}

/// Writes the report on the run in `dir`, whose chosen checkpoint is `model`,
/// to `out` (atomically), making and saving the run's evaluation first when
/// `dir` has none as new as the checkpoint. `current` is the environment the
/// report is made in.
pub fn write_report(
    dir: &Path,
    model: &TrainedModel,
    out: &Path,
    options: &ReportOptions,
    current: &Environment,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let evaluation = run_evaluation(dir, model, options, progress)?;
    let mut sections = vec![Section::Facts { title: "Run".to_owned(), facts: run_facts(dir, model, &evaluation) }];
    if let Ok(plot) = crate::plot::loss_plot(dir, false) {
        let png = fp_figures::encode_png(&plot).map_err(|source| EvalError::EncodeFigure {
            path: dir.join(crate::plot::LOSS_PLOT_FILE),
            source: Box::new(source),
        })?;
        sections.push(Section::Figure {
            title: "Loss".to_owned(),
            caption: "Training and validation loss per epoch".to_owned(),
            png,
        });
    }
    let subject =
        format!("Evaluation: {} validation prints, checkpoint of epoch {}", evaluation.all.images, model.epoch);
    sections
        .push(Section::Scores { report: tables::evaluation(&evaluation, subject), source: EVALUATION_FILE.to_owned() });
    if options.prints > 0 {
        sections.push(print_views(model, options)?);
    }
    for (name, benchmark) in benchmarks(dir)? {
        let title = benchmark.benchmark.name.clone();
        sections.push(Section::Scores { report: tables::benchmark(&benchmark), source: name });
        // The figure `fpae evaluate --benchmark --figure` left beside the evaluation.
        if let Ok(png) = std::fs::read(crate::benchmark::figure_beside_evaluation(dir, &title)) {
            let caption = format!(
                "One print for each of {} at severity {}: degraded, restored, every other tool's output and \
                 clean, with minutiae and BOZORTH3 scores against the clean print",
                crate::benchmark::FIGURE_KINDS.join(", "),
                crate::benchmark::FIGURE_SEVERITY
            );
            sections.push(Section::Figure { title: format!("{title}: one print per kind"), caption, png });
        }
    }
    let config = std::fs::read_to_string(dir.join(fp_train::CONFIG_FILE)).unwrap_or_default();
    sections.push(Section::Code { title: "Configuration".to_owned(), text: config });
    let trained = match Environment::read(dir)? {
        Some(e) => e.facts(),
        None => vec![("recorded".to_owned(), "not recorded (the run predates environment.json)".to_owned())],
    };
    sections.push(Section::Facts { title: "Training environment".to_owned(), facts: trained });
    sections.push(Section::Facts { title: "Report environment".to_owned(), facts: current.facts() });
    let name = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let name = name.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let page = Page {
        title: format!("fpae report: {name}"),
        subtitle: format!("{} — {}", dir.display(), model.config.model.kind_name()),
        sections,
    };
    if let Some(folder) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| EvalError::CreateDir { dir: folder.to_owned(), source })?;
    }
    fp_io::write_file_atomically(out, fp_report::html::render(&page))?;
    Ok(out.to_owned())
}

/// The run's evaluation on its validation prints: `dir/evaluation.json` when
/// it is as new as the checkpoint, covers the validation split and has what is
/// asked for, else made now and written there.
fn run_evaluation(
    dir: &Path,
    model: &TrainedModel,
    options: &ReportOptions,
    progress: &dyn Progress,
) -> Result<Evaluation> {
    let path = dir.join(EVALUATION_FILE);
    let checkpoint_time =
        std::fs::metadata(model.checkpoint.join(fp_train::STATE_FILE)).and_then(|m| m.modified()).ok();
    let saved_time = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    if let (Some(saved), Some(checkpoint)) = (saved_time, checkpoint_time)
        && saved >= checkpoint
        && let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(saved) = serde_json::from_str::<Evaluation>(&text)
        && (saved.all.identity.is_some() || !options.identity)
    {
        let (data, split) = crate::evaluate::load_run_data(model, None)?;
        if saved.all.images == Subset::Val.indices(&split, data.len()).len() {
            return Ok(saved);
        }
    }
    let evaluation = crate::evaluate::evaluate(model, None, Subset::Val, options.batch, options.identity, progress)?;
    let json = serde_json::to_string_pretty(&evaluation).expect("the evaluation serializes");
    fp_io::write_file_atomically(&path, format!("{json}\n"))?;
    Ok(evaluation)
}

/// The checkpoint as the page names it: relative to the directory the page is about
/// (`checkpoints/best`, or `model.safetensors` for a model folder), so that a page made on
/// one machine and committed or sent elsewhere carries no absolute path of it.
fn checkpoint_name(dir: &Path, checkpoint: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    match checkpoint.strip_prefix(&dir) {
        Ok(inside) if inside.as_os_str().is_empty() => fp_model::MODEL_WEIGHTS_FILE.to_owned(),
        Ok(inside) => inside.display().to_string(),
        Err(_) => checkpoint.display().to_string(),
    }
}

/// What the run is, in a few lines.
fn run_facts(dir: &Path, model: &TrainedModel, evaluation: &Evaluation) -> Vec<(String, String)> {
    let config = &model.config;
    let mut facts = vec![
        ("directory".to_owned(), dir.display().to_string()),
        ("task".to_owned(), config.task.kind.to_string()),
        ("model".to_owned(), config.model.kind_name().to_owned()),
        ("data".to_owned(), config.data.root.to_string()),
        ("checkpoint".to_owned(), format!("{} (epoch {})", checkpoint_name(dir, &model.checkpoint), model.epoch)),
        ("validation prints".to_owned(), evaluation.all.images.to_string()),
    ];
    if let Ok(history) = fp_train::history::read(dir)
        && let Some(best) = history.iter().min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
    {
        let seconds: f64 = history.iter().map(|r| r.seconds).sum();
        facts.push(("epochs trained".to_owned(), history.len().to_string()));
        facts.push(("best validation loss".to_owned(), format!("{:.6} (epoch {})", best.val_loss, best.epoch)));
        facts.push(("training time".to_owned(), format!("{:.1} min", seconds / 60.0)));
    }
    facts
}

/// The validation prints with their minutiae, one view per row of the grid.
fn print_views(model: &TrainedModel, options: &ReportOptions) -> Result<Section> {
    let grid_options = GridOptions {
        images: options.prints.min(GRID_COLUMNS),
        batch: options.batch,
        minutiae: true,
        spread: true,
        damage: None,
        data: None,
    };
    // Prints too small for the minutiae detector are shown without minutiae.
    let (grid, minutiae) = match crate::grid::grid_rows(model, &grid_options) {
        Ok(grid) => (grid, true),
        Err(e) => {
            tracing::warn!("the report shows the prints without minutiae: {e:#}");
            (crate::grid::grid_rows(model, &GridOptions { minutiae: false, ..grid_options })?, false)
        }
    };
    let marks = if minutiae {
        "with their minutiae (NIST MINDTCT) and BOZORTH3 scores against the clean original"
    } else {
        "with PSNR and SSIM (too small for minutiae)"
    };
    let views = grid
        .names
        .iter()
        .zip(&grid.rows)
        .map(|(name, row)| {
            let image = fp_figures::grid(std::slice::from_ref(row), None)
                .map_err(|source| EvalError::Draw { what: "the prints", source: Box::new(source) })?;
            let png = fp_figures::encode_png(&image)
                .map_err(|source| EvalError::Draw { what: "the prints", source: Box::new(source) })?;
            Ok(((*name).to_owned(), png))
        })
        .collect::<Result<Vec<_>>>()?;
    let caption = if grid.names.len() == 3 {
        format!(
            "{} validation prints degraded as validation degrades them, the model's restorations and the clean prints, \
             {marks}; epoch {}",
            grid.rows[0].len(),
            model.epoch
        )
    } else {
        format!(
            "{} validation prints and the model's reconstructions, {marks}; epoch {}",
            grid.rows[0].len(),
            model.epoch
        )
    };
    Ok(Section::Views { title: "Validation prints".to_owned(), caption, views })
}

/// The restoration benchmarks the model was evaluated on (`restored/<name>.json`
/// beside its restorations), by the file's path relative to `dir`.
fn benchmarks(dir: &Path) -> Result<Vec<(String, BenchmarkEvaluation)>> {
    let mut found = Vec::new();
    let restored = dir.join(crate::benchmark::RESTORED_DIR);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&restored)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| EvalError::Read { path: file.clone(), source })?;
        let evaluation: BenchmarkEvaluation = serde_json::from_str(&text)
            .map_err(|source| EvalError::NotABenchmarkEvaluation { path: file.clone(), source })?;
        let name = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        found.push((name, evaluation));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_is_named_relative_to_the_folder_the_page_is_about() {
        let dir = tempfile::tempdir().unwrap();
        let absolute = dir.path().canonicalize().unwrap();
        assert_eq!(checkpoint_name(dir.path(), &absolute.join("checkpoints").join("best")), "checkpoints/best");
        assert_eq!(checkpoint_name(dir.path(), &absolute), fp_model::MODEL_WEIGHTS_FILE);
        // A checkpoint elsewhere is named as it is.
        assert_eq!(checkpoint_name(dir.path(), Path::new("/elsewhere/best")), "/elsewhere/best");
    }
}
