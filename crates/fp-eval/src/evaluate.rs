//! A trained model judged on its own data: the images prepared and split as
//! for training, reconstructed, and measured in pixels and identity (what
//! `fpae evaluate` prints and `fpae report` shows).

use std::path::Path;

use fp_data::{Dataset, Split};
use fp_metrics::gallery::TemplateCache;
use fp_train::{Evaluation, Subset, TrainedModel};

use crate::{EvalError, Progress, Result};

/// The images a trained model is judged on: the run's data (or the images
/// under `data_root`), prepared and scaled exactly as for training, and split
/// the same way.
pub fn load_run_data(model: &TrainedModel, data_root: Option<&Path>) -> Result<(Dataset, Split)> {
    let mut config = model.config.data.clone();
    if let Some(root) = data_root {
        config.root = root.into();
        // The run's weights per root (`data.mix`) shape its training epochs; other data has its own roots.
        config.mix = None;
    }
    let data = fp_data::load(&config)
        .map_err(|source| EvalError::LoadImages { root: config.root.to_string(), source: Box::new(source) })?
        .with_scaling(model.scaling);
    let split = fp_data::split_dataset(&data, &config)?;
    Ok((data, split))
}

/// Reconstructs the chosen images with `model` and measures them, with the
/// identity measures when `identity` is set.
pub fn evaluate(
    model: &TrainedModel,
    data_root: Option<&Path>,
    subset: Subset,
    batch: usize,
    identity: bool,
    progress: &dyn Progress,
) -> Result<Evaluation> {
    let (data, split) = load_run_data(model, data_root)?;
    let indices = subset.indices(&split, data.len());
    let bar = progress.bar(indices.len(), "images", "reconstructing");
    let recon = model.reconstruct_dataset(&data, &indices, batch, |done| bar.set_position(done))?;
    bar.finish();
    let evaluation = fp_train::score(&data, &indices, &recon)?;
    if !identity {
        return Ok(evaluation);
    }
    let cache = if model.config.data.cache { TemplateCache::default_location() } else { None };
    let bar = progress.bar(data.len() + 2 * indices.len(), "prints", "minutiae");
    let report = fp_metrics::gallery::assess_identity(&data, &indices, &recon, cache.as_ref(), &|| bar.inc(1))?;
    bar.finish();
    Ok(evaluation.with_identity(report))
}
