use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The `[data]` section of a configuration: where the images are and how they
/// become model input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Folder searched recursively for images.
    pub root: PathBuf,
    /// Model input height in pixels.
    pub height: u32,
    /// Model input width in pixels.
    pub width: u32,
    /// Resampling filter of the resize.
    pub filter: ResizeFilter,
    /// How the aspect ratio is handled.
    pub resize: ResizeMode,
    /// How 8-bit pixels become values in [0, 1].
    pub scale: Scaling,
    /// How images are divided into training and validation sets.
    pub split: SplitKind,
    /// Fraction of images (or fingers) held out for validation, for `random` and `by-finger`.
    pub val_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
    /// Databases held out for validation with `split = "by-database"`.
    pub val_databases: Vec<String>,
    /// Skip unreadable images with a warning instead of failing.
    pub skip_unreadable: bool,
    /// Cache the preprocessed images on disk.
    pub cache: bool,
    /// Where the cache lives; default `$XDG_CACHE_HOME/fpae/datasets`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for DataConfig {
    /// The tutorial's preprocessing: 224x224, bilinear stretch, divide by the dataset maximum,
    /// random 80/20 split with seed 13.
    fn default() -> Self {
        Self {
            root: PathBuf::from("data/fvc2002"),
            height: 224,
            width: 224,
            filter: ResizeFilter::Bilinear,
            resize: ResizeMode::Stretch,
            scale: Scaling::DatasetMax,
            split: SplitKind::Random,
            val_fraction: 0.2,
            seed: 13,
            val_databases: vec!["DB4_B".to_owned()],
            skip_unreadable: false,
            cache: true,
            cache_dir: None,
        }
    }
}

impl DataConfig {
    /// Checks every value against its allowed range.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("height", self.height), ("width", self.width)] {
            if !(1..=8192).contains(&value) {
                return Err(DataError::InvalidSetting {
                    field,
                    expected: format!("expected 1..=8192 pixels, got {value}"),
                });
            }
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(DataError::InvalidSetting {
                field: "val_fraction",
                expected: format!("expected a fraction strictly between 0 and 1, got {}", self.val_fraction),
            });
        }
        if self.split == SplitKind::ByDatabase && self.val_databases.is_empty() {
            return Err(DataError::InvalidSetting {
                field: "val_databases",
                expected: "split = \"by-database\" needs at least one database name, e.g. [\"DB4_B\"]".into(),
            });
        }
        Ok(())
    }

    /// The settings that decide the preprocessed pixels.
    pub fn preprocess(&self) -> Preprocess {
        Preprocess { height: self.height, width: self.width, filter: self.filter, resize: self.resize }
    }
}

/// The settings that turn one decoded image into model-sized 8-bit pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Output height.
    pub height: u32,
    /// Output width.
    pub width: u32,
    /// Resampling filter.
    pub filter: ResizeFilter,
    /// Aspect-ratio handling.
    pub resize: ResizeMode,
}

/// Resampling filters, as in Pillow (whose bilinear the tutorial used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeFilter {
    /// Nearest neighbour.
    Nearest,
    /// Bilinear (triangle) filter, antialiased when shrinking, like Pillow's `BILINEAR`.
    Bilinear,
    /// Catmull-Rom bicubic.
    Bicubic,
    /// Lanczos with a = 3.
    Lanczos3,
}

/// How the aspect ratio is handled when resizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeMode {
    /// Resize to exactly height x width, distorting the aspect ratio (the tutorial).
    Stretch,
    /// Fit inside height x width keeping the aspect ratio; fill the rest with the
    /// mean of the image's border pixels (its background).
    Pad,
    /// Cover height x width keeping the aspect ratio; cut the overflow, centred.
    Crop,
}

/// How 8-bit pixels become values in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scaling {
    /// Divide by the maximum over the whole dataset (the tutorial).
    #[serde(rename = "dataset-max")]
    DatasetMax,
    /// Divide by 255.
    #[serde(rename = "255")]
    Max255,
    /// Stretch each image's own minimum..maximum to 0..1.
    #[serde(rename = "per-image-minmax")]
    PerImageMinMax,
}

/// How images are divided into training and validation sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Images drawn at random (the tutorial); impressions of one finger fall on both sides.
    Random,
    /// Whole fingers drawn at random within each database: no finger on both sides.
    ByFinger,
    /// Whole databases (sensors) held out, named by `val_databases`.
    ByDatabase,
}
