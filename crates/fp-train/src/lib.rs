//! Training of fingerprint autoencoders: configuration files, the training loop,
//! run directories with atomic checkpoints, history, resuming, and evaluating
//! trained models.
//!
//! This crate is where images (from fp-data) become tensors for the model
//! (from fp-model): see [`Pairs`].
#![warn(missing_docs)]

mod collection;
mod config;
mod error;
mod evaluate;
pub mod fault;
pub mod history;
mod init;
mod loss;
mod optim;
mod run;
mod shards;
mod task;
mod trainer;

pub use collection::{
    ManifestEntry, ResultLine, ResultStatus, ResultsLog, parse_manifest, read_manifest, sha256_file, sha256_hex,
};
pub use config::{Config, OptimizerKind, OutputConfig, TrainConfig, configs_dir};
pub use error::{Result, TrainError};
pub use evaluate::{CPU_ACTIVATION_BUDGET, Evaluation, ImageScore, Subset, TrainedModel, export_model, score};
pub use fp_metrics::GroupScore;
pub use history::EpochRecord;
pub use init::{InitWeights, StartingModel};
pub use loss::{LossKind, mean_ssim};
pub use optim::Optimizer;
pub use run::{CONFIG_FILE, Checkpoint, LOCK_FILE, OPTIMIZER_FILE, RunDir, STATE_FILE, TrainState};
pub use shards::{
    CropBox, DEFAULT_SHARD_SIZE, SHARDS_FORMAT, SHARDS_MANIFEST, SHARDS_VERSION, SampleRecord, ShardEntry,
    ShardOptions, ShardsManifest, read_shard, stream_samples, write_shards,
};
pub use task::{Batch, Pairs, Sample, TaskConfig, TaskKind, same_size_runs};
pub use trainer::{Observer, Outcome, Silent, TrainingJob, epoch_order, mean_loss, train, train_step};
