//! Fingerprint dataset I/O and preprocessing, in plain Rust (no LibTorch).
//!
//! [`discover_roots`] finds images under one or more dataset roots in a stable
//! order, described by each root's `dataset.toml` ([`DatasetManifest`]); [`load`]
//! decodes and resizes them in parallel (rayon) into f32 values with per-image
//! metadata, all at one size (`N x 1 x H x W`) or each at its own
//! ([`ResizeMode::None`]), caching the result on disk; and [`split()`] divides
//! them into training and validation sets reproducibly.
#![warn(missing_docs)]

pub mod cache;
mod config;
mod dataset;
mod decode;
mod discover;
mod error;
mod manifest;
mod meta;
mod mix;
mod pixels;
mod scaling;
mod split;

pub use config::{DataConfig, Preprocess, ResizeFilter, ResizeMode, Roots, Scaling, SplitKind};
pub use dataset::{
    Dataset, LoadSource, Preprocessed, crop_square, load, load_one, load_with_source, preprocess_parallel, scale,
};
pub use decode::{decode_gray, resize_gray, restore_size};
pub use discover::{
    Catalog, FingerId, IMAGE_EXTENSIONS, ImageSource, describe_image, discover, discover_roots, is_image_path,
    list_images, without_extension,
};
pub use error::{DataError, Result};
pub use manifest::{DEFAULT_PPI, DatasetManifest, MANIFEST_FILE, Naming, SubsetInfo};
pub use meta::ImageMeta;
pub use mix::mix;
pub use pixels::Pixels;
pub use scaling::AppliedScaling;
pub use split::{Split, split};

/// Splits a loaded dataset as its configuration says.
pub fn split_dataset(dataset: &Dataset, config: &DataConfig) -> Result<Split> {
    let sources: Vec<ImageSource> = dataset.items.iter().map(|m| m.source.clone()).collect();
    split(&sources, config.split, config.val_fraction, config.seed, &config.val_databases)
}

/// The split training draws from: [`split_dataset`]'s, with the training
/// images mixed from the roots as `config.mix` weighs them ([`mix`]; some
/// repeated), and the validation images as they are.
pub fn training_split(dataset: &Dataset, config: &DataConfig) -> Result<Split> {
    let split = split_dataset(dataset, config)?;
    Ok(Split { train: mix(dataset, config, &split.train)?, val: split.val })
}
