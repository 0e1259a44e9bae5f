//! A trained model applied to a dataset: reconstructions and their quality.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fp_data::{AppliedScaling, Dataset, ResizeMode, Split};
use fp_metrics::identity::{IdentityReport, ImageIdentity};
use fp_metrics::{GroupScore, Quality};
use fp_model::{Autoencoder, InputSize, Placement};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::run::{Checkpoint, RunDir};
use crate::task::{Pairs, same_size_runs};

/// The activations one inference batch may make on the CPU, as
/// [`fp_model::ModelConfig::activation_bytes`] counts them (every layer's
/// output added up): it keeps restoring a collection of any size within about
/// a gigabyte, where larger batches would not be faster per image.
pub const CPU_ACTIVATION_BUDGET: u64 = 512 << 20;

/// A model loaded from a run, with what is needed to feed it new images.
#[derive(Debug)]
pub struct TrainedModel {
    /// The model.
    pub model: Autoencoder,
    /// Its input size.
    pub input: InputSize,
    /// How the training images were scaled; new images are scaled the same way.
    pub scaling: AppliedScaling,
    /// The run's configuration.
    pub config: Config,
    /// The checkpoint the weights came from.
    pub checkpoint: PathBuf,
    /// Epochs trained when the checkpoint was written.
    pub epoch: usize,
    /// Where the model runs.
    pub device: Device,
    _vars: nn::VarStore,
}

impl TrainedModel {
    /// Loads checkpoint `which` of the run in `dir` onto `placement`'s
    /// device, to compute in its precision and layout.
    /// `dir` may also be a model folder written by [`export_model`], whose one
    /// checkpoint is used whatever `which` says.
    pub fn load(dir: &Path, which: Checkpoint, placement: Placement) -> Result<Self> {
        let Placement { device, compute } = placement;
        let (run, config) = RunDir::open(dir, &[])?;
        let is_model_folder = dir.join(fp_model::MODEL_WEIGHTS_FILE).is_file();
        let checkpoint = if is_model_folder { dir.to_owned() } else { run.checkpoint(which) };
        if !checkpoint.join(crate::STATE_FILE).is_file() {
            return Err(TrainError::RunDir {
                path: dir.to_owned(),
                reason: format!("has no `{which}` checkpoint yet (no epoch has finished)"),
            });
        }
        let state = RunDir::read_state(&checkpoint)?;
        let (stored, _) = fp_model::read_model_config(&checkpoint)?;
        if stored != config.model {
            let inline = |model: &fp_model::ModelConfig| {
                toml::to_string(model).map_or_else(|_| format!("{model:?}"), |t| t.trim().replace('\n', ", "))
            };
            return Err(TrainError::RunDir {
                path: dir.to_owned(),
                reason: format!(
                    "its configuration's [model] ({}) is not the network its checkpoint's {} describes ({}); \
                     restore the configuration the weights were trained with",
                    inline(&config.model),
                    fp_model::MODEL_CONFIG_FILE,
                    inline(&stored)
                ),
            });
        }
        let mut saved = fp_model::load(&checkpoint, device)?;
        saved.model.set_compute(compute);
        let checkpoint = std::fs::canonicalize(&checkpoint).unwrap_or(checkpoint);
        Ok(Self {
            model: saved.model,
            input: saved.input,
            scaling: state.scaling,
            config,
            checkpoint,
            epoch: state
                .best
                .filter(|_| which == Checkpoint::Best || is_model_folder)
                .map_or(state.epochs_done, |(_, epoch)| epoch),
            device,
            _vars: saved.vars,
        })
    }

    /// Whether the model works on prints at their own size (`data.resize = "none"`).
    pub fn native_resolution(&self) -> bool {
        self.config.data.resize == ResizeMode::None
    }

    /// The largest batch of `width x height` images, at most `batch_size`, whose
    /// activations stay within [`CPU_ACTIVATION_BUDGET`] on the CPU (at least
    /// one image); other devices take `batch_size` as asked.
    pub fn batch_within_budget(&self, width: usize, height: usize, batch_size: usize) -> usize {
        let batch_size = batch_size.max(1);
        if self.device != Device::Cpu {
            return batch_size;
        }
        let input = InputSize { height: height as i64, width: width as i64 };
        let per_image = self.config.model.activation_bytes(input).max(1);
        batch_size.min(usize::try_from(CPU_ACTIVATION_BUDGET / per_image).unwrap_or(usize::MAX).max(1))
    }

    /// Applies the model to `values`: whole images of `width x height`, one
    /// after the other, in batches of `batch_size` or fewer (see
    /// [`TrainedModel::batch_within_budget`]). Any size works: the model pads
    /// each batch to a multiple of its stride and crops the output back.
    pub fn apply(&self, values: &[f32], width: usize, height: usize, batch_size: usize) -> Vec<f32> {
        let per_image = width * height;
        assert_eq!(values.len() % per_image, 0, "whole images of the given size");
        let batch_size = self.batch_within_budget(width, height, batch_size);
        let mut out = Vec::with_capacity(values.len());
        tch::no_grad(|| {
            for chunk in values.chunks(per_image * batch_size) {
                let n = (chunk.len() / per_image) as i64;
                let xs = Tensor::from_slice(chunk).view([n, 1, height as i64, width as i64]).to_device(self.device);
                out.extend(tensor_values(&self.model.forward_any_size(&xs, false)));
            }
        });
        out
    }

    /// The model's outputs for the images `indices` of `data`, one vector per
    /// image at that image's size. The inputs are what validation shows the
    /// model: the images, or their degraded copies for a restoration model.
    /// `done` hears the number of images finished after each batch.
    pub fn reconstruct_dataset(
        &self,
        data: &Dataset,
        indices: &[usize],
        batch_size: usize,
        mut done: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        self.check_size(data)?;
        let pairs = Pairs::new(data, &self.config);
        let mut out = Vec::with_capacity(indices.len());
        for run in same_size_runs(data, indices, batch_size) {
            let (w, h) = data.size(run[0]);
            let inputs: Vec<f32> = run.iter().flat_map(|&i| pairs.val_input(i)).collect();
            let values = self.apply(&inputs, w, h, batch_size);
            out.extend(values.chunks(w * h).map(<[f32]>::to_vec));
            done(out.len());
        }
        Ok(out)
    }

    fn check_size(&self, data: &Dataset) -> Result<()> {
        if self.native_resolution() {
            return Ok(());
        }
        let expected = (self.input.width as usize, self.input.height as usize);
        match data.uniform_size() {
            Some(size) if size == expected => Ok(()),
            found => Err(TrainError::RunDir {
                path: self.checkpoint.clone(),
                reason: format!(
                    "the model takes {}x{} images, the data was prepared at {}",
                    expected.0,
                    expected.1,
                    found.map_or("several sizes".to_owned(), |(w, h)| format!("{w}x{h}"))
                ),
            }),
        }
    }
}

/// Writes checkpoint `which` of the run in `run_dir` as a self-contained model
/// folder at `out`: the run's `config.toml` and the checkpoint's model, weights
/// and state, without the optimiser. The folder is assembled beside `out` and
/// renamed into place, so `out` is either absent or whole; it must not exist.
pub fn export_model(run_dir: &Path, which: Checkpoint, out: &Path) -> Result<()> {
    let (run, _) = RunDir::open(run_dir, &[])?;
    let checkpoint = run.checkpoint(which);
    if !checkpoint.join(crate::STATE_FILE).is_file() {
        return Err(TrainError::RunDir {
            path: run_dir.to_owned(),
            reason: format!("has no `{which}` checkpoint yet (no epoch has finished)"),
        });
    }
    if out.exists() {
        return Err(TrainError::RunDir {
            path: out.to_owned(),
            reason: "already exists; choose another folder".into(),
        });
    }
    fp_io::create_dir_atomically(out, |staging| -> Result<()> {
        let files = [
            (run_dir.join(crate::CONFIG_FILE), crate::CONFIG_FILE),
            (checkpoint.join(fp_model::MODEL_CONFIG_FILE), fp_model::MODEL_CONFIG_FILE),
            (checkpoint.join(fp_model::MODEL_WEIGHTS_FILE), fp_model::MODEL_WEIGHTS_FILE),
            (checkpoint.join(crate::STATE_FILE), crate::STATE_FILE),
        ];
        for (from, name) in files {
            let bytes = std::fs::read(&from).map_err(TrainError::io(&from))?;
            fp_io::write_file_atomically(&staging.join(name), bytes)?;
        }
        Ok(())
    })
}

/// Copies a float tensor's values to the host.
fn tensor_values(t: &Tensor) -> Vec<f32> {
    let t = t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous().view([-1]);
    Vec::<f32>::try_from(&t).expect("a float tensor converts to Vec<f32>")
}

/// Which images of a dataset to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subset {
    /// The validation side of the run's split.
    Val,
    /// The training side.
    Train,
    /// Every image.
    All,
}

impl Subset {
    /// Every subset.
    pub const ALL: [Subset; 3] = [Subset::Val, Subset::Train, Subset::All];

    /// Its name, as the JSON and `--split` spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Subset::Val => "val",
            Subset::Train => "train",
            Subset::All => "all",
        }
    }

    /// The dataset indices of this subset, ascending.
    pub fn indices(self, split: &Split, len: usize) -> Vec<usize> {
        match self {
            Subset::Val => split.val.clone(),
            Subset::Train => split.train.clone(),
            Subset::All => (0..len).collect(),
        }
    }
}

impl std::fmt::Display for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quality of one reconstruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageScore {
    /// The file, relative to the data root.
    pub file: String,
    /// Its database (sensor).
    pub database: String,
    /// MSE, PSNR in dB and SSIM against the original (data range 1).
    #[serde(flatten)]
    pub quality: Quality,
    /// Minutiae and matcher scores, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ImageIdentity>,
}

/// How well a model reconstructs a set of images: means over all of them, per
/// database (sensor), and per image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The means over every image (PSNR in dB with data range 1, SSIM with a
    /// Gaussian window 11, sigma 1.5) and, when measured, whether
    /// reconstructions still identify their finger (minutiae and BOZORTH3 scores).
    #[serde(flatten)]
    pub all: GroupScore,
    /// The same means per database.
    pub per_database: BTreeMap<String, GroupScore>,
    /// Every image's scores, in dataset order.
    pub per_image: Vec<ImageScore>,
}

impl Evaluation {
    /// Adds identity measures made for the same images, in the same order.
    pub fn with_identity(mut self, report: IdentityReport) -> Self {
        assert_eq!(report.per_image.len(), self.per_image.len(), "identity of the same images");
        for (score, identity) in self.per_image.iter_mut().zip(report.per_image) {
            score.identity = Some(identity);
        }
        for (db, group) in &mut self.per_database {
            group.identity = report.per_database.get(db).cloned();
        }
        self.all.identity = Some(report.summary);
        self
    }
}

/// Scores reconstructions `recon` (one per index, in order, each of its
/// image's size) against the images `indices` of `data`, in parallel.
pub fn score(data: &Dataset, indices: &[usize], recon: &[Vec<f32>]) -> Result<Evaluation> {
    assert_eq!(recon.len(), indices.len(), "one reconstruction per index");
    let per_image: Vec<ImageScore> = indices
        .par_iter()
        .zip(recon.par_iter())
        .map(|(&i, r)| {
            let (w, h) = data.size(i);
            let q = Quality::measure(data.image(i), r, w, h)
                .map_err(|e| TrainError::Metrics { file: data.items[i].source.path.clone(), source: e })?;
            let source = &data.items[i].source;
            Ok(ImageScore { file: source.relative.clone(), database: source.database(), quality: q, identity: None })
        })
        .collect::<Result<_>>()?;
    let all = GroupScore::of(per_image.iter().map(|s| &s.quality)).ok_or(TrainError::NothingToEvaluate)?;
    let mut groups: BTreeMap<String, Vec<&ImageScore>> = BTreeMap::new();
    for s in &per_image {
        groups.entry(s.database.clone()).or_default().push(s);
    }
    let per_database = groups
        .into_iter()
        .filter_map(|(db, scores)| Some((db, GroupScore::of(scores.into_iter().map(|s| &s.quality))?)))
        .collect();
    Ok(Evaluation { all, per_database, per_image })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_is_named_as_its_json_names_it() {
        for subset in Subset::ALL {
            assert_eq!(serde_json::to_value(subset).unwrap(), subset.as_str());
            assert_eq!(subset.to_string(), subset.as_str());
        }
    }
}
