//! Fingerprint dataset I/O and preprocessing, in plain Rust (no LibTorch).
//!
//! [`discover`] finds images under a root in a stable order, [`load`] decodes and
//! resizes them in parallel (rayon) into an `N x 1 x H x W` f32 buffer with
//! per-image metadata, caching the result on disk, and [`split()`] divides them
//! into training and validation sets reproducibly.
#![warn(missing_docs)]

pub mod cache;
mod config;
mod dataset;
mod decode;
mod discover;
mod error;
mod split;

pub use config::{DataConfig, Preprocess, ResizeFilter, ResizeMode, Scaling, SplitKind};
pub use dataset::{
    AppliedScaling, Dataset, ImageMeta, LoadSource, Pixels, Preprocessed, load, load_one, load_with_source,
    preprocess_parallel, scale,
};
pub use decode::{decode_gray, resize_gray, restore_size};
pub use discover::{FingerId, IMAGE_EXTENSIONS, ImageSource, discover, is_image_path};
pub use error::{DataError, Result};
pub use split::{Split, split};

/// Splits a loaded dataset as its configuration says.
pub fn split_dataset(dataset: &Dataset, config: &DataConfig) -> Result<Split> {
    let sources: Vec<ImageSource> = dataset.items.iter().map(|m| m.source.clone()).collect();
    split(&sources, config.split, config.val_fraction, config.seed, &config.val_databases)
}
