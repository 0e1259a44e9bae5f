//! What a model learns, and the (input, target) pairs it learns from.
//!
//! A `reconstruct` task gives the model each image as input and target; a
//! `restore` task gives it a degraded copy as input and the clean image as
//! target. At native resolution (`data.resize = "none"`) the training samples
//! are random square crops, `data.crops_per_image` per image and epoch.
//!
//! Every random choice (crop position, damage) comes from a seed mixed from the
//! run's seed, the epoch, the image and the crop, so any batch of any epoch can
//! be made again exactly, which is what makes a resumed run equal an
//! uninterrupted one. [`Pairs`] is the one place where images become tensors.

use fp_data::{Dataset, ResizeMode};
use fp_degrade::{Applied, Pipeline, sample_seed};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::config::Config;
use crate::error::{Result, TrainError};

/// The `[task]` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// `reconstruct` (the tutorial) or `restore`.
    pub kind: TaskKind,
    /// With `restore`: the damage done to each input, step by step.
    pub degradations: Pipeline,
    /// With `restore`: instead of each step with its own probability, each
    /// input gets a number of the steps drawn uniformly from `[fewest, most]`,
    /// chosen at random among those with a probability above 0, in random order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compose: Option<[usize; 2]>,
    /// With `restore`: damage that moves ridges (`elastic`) moves the target's
    /// ridges too, so that the model learns to restore how ridges look and to
    /// leave where they are alone: no restorer can know the undistorted
    /// geometry, and matchers tolerate it. Off, the target is always the clean print.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warp_targets: bool,
}

/// The tasks on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Output the input image again.
    #[default]
    Reconstruct,
    /// Output the clean image from a degraded copy.
    Restore,
}

impl TaskKind {
    /// Every task, in declaration order.
    pub const ALL: [TaskKind; 2] = [TaskKind::Reconstruct, TaskKind::Restore];

    /// The names config files use, in declaration order.
    pub const NAMES: &'static [&'static str] = &[TaskKind::Reconstruct.as_str(), TaskKind::Restore.as_str()];

    /// The task's name, as config files spell it (`task.kind`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskKind::Reconstruct => "reconstruct",
            TaskKind::Restore => "restore",
        }
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TaskConfig {
    /// Checks that the degradations fit the task.
    pub fn validate(&self) -> Result<()> {
        self.degradations
            .validate("task.degradations")
            .map_err(|e| TrainError::InvalidSetting { field: "task.degradations", expected: e.to_string() })?;
        match (self.kind, self.degradations.steps.is_empty()) {
            (TaskKind::Restore, true) => Err(TrainError::InvalidSetting {
                field: "task.degradations",
                expected: "a restore task needs at least one degradation, e.g. [[task.degradations]] kind = \"noise\""
                    .into(),
            }),
            (TaskKind::Reconstruct, false) => Err(TrainError::InvalidSetting {
                field: "task.degradations",
                expected: "only a restore task degrades its inputs; set task.kind = \"restore\"".into(),
            }),
            _ => Ok(()),
        }?;
        if self.warp_targets && self.kind != TaskKind::Restore {
            return Err(TrainError::InvalidSetting {
                field: "task.warp_targets",
                expected: "only a restore task degrades its inputs; set task.kind = \"restore\"".into(),
            });
        }
        if let Some(kinds) = self.compose {
            if self.kind != TaskKind::Restore {
                return Err(TrainError::InvalidSetting {
                    field: "task.compose",
                    expected: "only a restore task degrades its inputs; set task.kind = \"restore\"".into(),
                });
            }
            self.degradations.validate_composition("task.compose", kinds).map_err(|e| {
                let expected = match e {
                    fp_degrade::DegradeError::InvalidSetting { expected, .. } => expected,
                    other => other.to_string(),
                };
                TrainError::InvalidSetting { field: "task.compose", expected }
            })?;
        }
        Ok(())
    }

    /// Damages one input in place as the task says, and with `warp_targets` the
    /// damage that moves ridges moves `target`'s (the clean image) the same way;
    /// everything random comes from `seed`. Returns the damage applied, in order.
    pub fn damage(
        &self,
        pixels: &mut [f32],
        target: Option<&mut [f32]>,
        width: usize,
        height: usize,
        seed: u64,
    ) -> Vec<Applied> {
        let target = target.filter(|_| self.warp_targets);
        match self.compose {
            Some(kinds) => self.degradations.apply_composed_to_pair(pixels, target, width, height, seed, kinds),
            None => self.degradations.apply_to_pair(pixels, target, width, height, seed),
        }
    }
}

/// What the seeds of a sample are mixed for, so that two uses never share one.
const CROP: u64 = 1;
const DAMAGE: u64 = 2;
/// The epoch number validation pairs are made for: no training epoch is 0, so
/// validation inputs are the same at every epoch and differ from every training input.
const VALIDATION_EPOCH: u64 = 0;

/// One (input, target) batch on a device: `[N, 1, H, W]` f32 each.
#[derive(Debug)]
pub struct Batch {
    /// What the model sees.
    pub input: Tensor,
    /// What it should output.
    pub target: Tensor,
}

/// One training sample as the training loop draws it, before it becomes a tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The dataset index of the image it comes from.
    pub image: usize,
    /// Which of the image's crops of the epoch it is (0 without crops).
    pub crop: usize,
    /// The top-left corner of the window in the stored image; `(0, 0)` for a whole image.
    pub origin: (usize, usize),
    /// `(width, height)` of the sample.
    pub size: (usize, usize),
    /// The clean values, row-major, scaled as the dataset is.
    pub target: Vec<f32>,
    /// The damaged values the model sees, or `None` when the task takes its targets as inputs.
    pub input: Option<Vec<f32>>,
    /// The damage done to the input, in order (empty for `reconstruct`).
    pub damage: Vec<Applied>,
}

/// Makes the training and validation pairs of a run from its dataset.
#[derive(Debug, Clone, Copy)]
pub struct Pairs<'a> {
    data: &'a Dataset,
    task: &'a TaskConfig,
    seed: u64,
    /// Side and count of the random crops per image at native resolution.
    crops: Option<(usize, usize)>,
}

impl<'a> Pairs<'a> {
    /// The pairs `config` trains on, drawn from `data`.
    pub fn new(data: &'a Dataset, config: &'a Config) -> Self {
        let crops = (data.preprocess.resize == ResizeMode::None)
            .then_some((config.data.crop as usize, config.data.crops_per_image));
        Self { data, task: &config.task, seed: config.train.seed, crops }
    }

    /// Training samples in one epoch over `images` images: one per image, or
    /// `crops_per_image` per image at native resolution. Sample `s` is crop
    /// `s % crops_per_image` of image `s / crops_per_image`.
    pub fn samples(&self, images: usize) -> usize {
        images * self.crops.map_or(1, |(_, n)| n)
    }

    /// The (image, crop) of training sample `sample` (indices as described
    /// in [`samples`](Self::samples)), where `images` maps image positions to
    /// dataset indices.
    pub fn pick(&self, images: &[usize], sample: usize) -> (usize, usize) {
        let per_image = self.crops.map_or(1, |(_, n)| n);
        (images[sample / per_image], sample % per_image)
    }

    /// The training sample of `epoch` made from crop `crop` of dataset image
    /// `image`: a random window at native resolution (the whole print is
    /// damaged before cropping), else the whole image. Every random choice
    /// comes from the run's seed, `epoch`, `image` and `crop`, so the same
    /// arguments always give the same sample; [`train_batch`](Self::train_batch)
    /// is made of these, and `fpae pairs` writes them.
    pub fn train_sample(&self, image: usize, crop: usize, epoch: usize) -> Sample {
        let epoch = epoch as u64;
        let damage_seed = sample_seed(&[self.seed, epoch, image as u64, crop as u64, DAMAGE]);
        let restore = self.task.kind == TaskKind::Restore;
        let Some((side, _)) = self.crops else {
            let mut target = self.data.image(image).to_vec();
            let size = self.data.size(image);
            let (input, damage) = match restore {
                true => {
                    let mut input = target.clone();
                    let damage = self.task.damage(&mut input, Some(&mut target), size.0, size.1, damage_seed);
                    (Some(input), damage)
                }
                false => (None, Vec::new()),
            };
            return Sample { image, crop, origin: (0, 0), size, target, input, damage };
        };
        let mut rng = ChaCha8Rng::seed_from_u64(sample_seed(&[self.seed, epoch, image as u64, crop as u64, CROP]));
        let origin = self.data.random_crop_origin(image, side, &mut rng);
        let mut target = vec![0f32; side * side];
        self.data.crop(image, origin.0, origin.1, side, &mut target);
        let (mut input, mut damage) = (None, Vec::new());
        if restore {
            // The whole print is damaged before cropping, so that damage
            // sized by the print (stains, occlusions, scratches) looks as
            // it does on whole prints at evaluation.
            let size = self.data.size(image);
            let mut damaged = self.data.image(image).to_vec();
            let mut warped = self.task.warp_targets.then(|| damaged.clone());
            damage = self.task.damage(&mut damaged, warped.as_deref_mut(), size.0, size.1, damage_seed);
            let mut window = vec![0f32; side * side];
            fp_data::crop_square(&damaged, size, origin, side, &mut window);
            input = Some(window);
            if let Some(warped) = warped {
                fp_data::crop_square(&warped, size, origin, side, &mut target);
            }
        }
        Sample { image, crop, origin, size: (side, side), target, input, damage }
    }

    /// The training batch of samples `samples` (indices as described in
    /// [`samples`](Self::samples)) of `epoch`, where `images` maps image
    /// positions to dataset indices: the [`train_sample`](Self::train_sample)s
    /// of those samples, stacked.
    pub fn train_batch(&self, images: &[usize], samples: &[i64], epoch: usize, device: Device) -> Batch {
        let drawn: Vec<Sample> = samples
            .iter()
            .map(|&s| {
                let (image, crop) = self.pick(images, s as usize);
                self.train_sample(image, crop, epoch)
            })
            .collect();
        let (w, h) = drawn[0].size;
        let target: Vec<f32> = drawn.iter().flat_map(|s| s.target.iter().copied()).collect();
        let input = (self.task.kind == TaskKind::Restore)
            .then(|| drawn.iter().flat_map(|s| s.input.as_deref().unwrap_or(&s.target).iter().copied()).collect());
        self.batch(input, target, drawn.len(), (w, h), device)
    }

    /// Validation batches of whole images: consecutive images of one size,
    /// at most `batch_size` each, in the order of `indices`.
    pub fn val_batches(&self, indices: &[usize], batch_size: usize, device: Device) -> Vec<(Vec<usize>, Batch)> {
        let mut out = Vec::new();
        for group in same_size_runs(self.data, indices, batch_size) {
            let (w, h) = self.data.size(group[0]);
            let mut target = Vec::with_capacity(group.len() * w * h);
            for &i in &group {
                target.extend_from_slice(self.data.image(i));
            }
            let picks: Vec<(usize, usize)> = group.iter().map(|&i| (i, 0)).collect();
            let input = self.damaged(&mut target, &picks, VALIDATION_EPOCH, (w, h));
            let batch = self.batch(input, target, group.len(), (w, h), device);
            out.push((group, batch));
        }
        out
    }

    /// The model's input for image `i` as validation and evaluation show it:
    /// the image itself, or its degraded copy (the same at every epoch).
    pub fn val_input(&self, i: usize) -> Vec<f32> {
        let clean = self.data.image(i).to_vec();
        self.damaged(&mut clean.clone(), &[(i, 0)], VALIDATION_EPOCH, self.data.size(i)).unwrap_or(clean)
    }

    /// Degraded copies of `clean` (one image per pick), or `None` when the task
    /// takes its targets as inputs. With `task.warp_targets`, `clean` takes the
    /// damage that moves ridges, as each copy does.
    fn damaged(
        &self,
        clean: &mut [f32],
        picks: &[(usize, usize)],
        epoch: u64,
        (w, h): (usize, usize),
    ) -> Option<Vec<f32>> {
        if self.task.kind != TaskKind::Restore {
            return None;
        }
        let mut input = clean.to_vec();
        for ((pixels, target), &(image, crop)) in input.chunks_mut(w * h).zip(clean.chunks_mut(w * h)).zip(picks) {
            let seed = sample_seed(&[self.seed, epoch, image as u64, crop as u64, DAMAGE]);
            self.task.damage(pixels, Some(target), w, h, seed);
        }
        Some(input)
    }

    fn batch(
        &self,
        input: Option<Vec<f32>>,
        target: Vec<f32>,
        n: usize,
        (w, h): (usize, usize),
        device: Device,
    ) -> Batch {
        let shape = [n as i64, 1, h as i64, w as i64];
        let to_tensor = |v: &[f32]| Tensor::from_slice(v).view(shape).to_device(device);
        let target = to_tensor(&target);
        let input = match input {
            Some(values) => to_tensor(&values),
            None => target.shallow_clone(),
        };
        Batch { input, target }
    }
}

/// `indices` cut into runs of consecutive images of one size, each at most `batch_size` long.
pub fn same_size_runs(data: &Dataset, indices: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some(run) if run.len() < batch_size.max(1) && data.size(run[0]) == data.size(i) => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_named_as_config_files_name_it() {
        for kind in TaskKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(TaskKind::NAMES, ["reconstruct", "restore"]);
    }
}
