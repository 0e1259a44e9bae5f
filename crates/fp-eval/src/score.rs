//! Any folder of processed prints scored against its clean originals, with
//! progress, and the minutiae templates of the prints it scored.

use std::path::Path;

use fp_metrics::folders::{FolderScores, Progress as Step, score_folders_where};
use fp_metrics::gallery::TemplateCache;
use fp_metrics::templates::TemplateFormat;
use rayon::prelude::*;

use crate::templates::{template_path, write_template};
use crate::{Progress, Result};

/// Scores the candidates `keep` accepts (see [`score_folders_where`]), its
/// bar saying `message`.
pub fn score_with_progress(
    originals: &Path,
    candidates: &Path,
    keep: &dyn Fn(&str) -> bool,
    cache: Option<&TemplateCache>,
    message: &str,
    progress: &dyn Progress,
) -> Result<FolderScores> {
    let bar = progress.bar(0, "prints", message);
    let on_progress = |p: Step| match p {
        Step::Total(n) => bar.set_length(n),
        Step::Done => bar.inc(1),
    };
    let scores = score_folders_where(originals, candidates, keep, cache, &on_progress)?;
    bar.finish();
    Ok(scores)
}

/// Writes the template of every scored candidate under `dir`, at the
/// candidate's relative path with the format's extension, found at its
/// original's resolution (what the originals' dataset.toml says, as scoring
/// read it) so that the minutiae are the ones scored.
pub fn write_candidate_templates(
    scores: &FolderScores,
    format: TemplateFormat,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let manifest_path = scores.originals.join(fp_data::MANIFEST_FILE);
    let manifest = if manifest_path.is_file() {
        fp_data::DatasetManifest::read(&manifest_path)?
    } else {
        fp_data::DatasetManifest::new("originals")
    };
    let bar = progress.bar(scores.per_image.len(), "prints", &format!("{format} templates"));
    scores.per_image.par_iter().try_for_each(|candidate| -> Result<()> {
        let ppi = fp_data::ImageSource::new(&scores.originals, candidate.original.as_str(), &manifest).ppi;
        let image = fp_data::decode_gray(&scores.candidates.join(&candidate.file))?;
        write_template(&image, ppi, format, &template_path(&dir.join(&candidate.file), format))?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish();
    Ok(())
}
