//! The `[data]` configuration section: dataset roots, preprocessing, scaling,
//! split and cache settings, validated in one place.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DataError, Result};

/// The `[data]` section of a configuration: where the images are and how they
/// become model input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Folder, or list of folders, searched recursively for images. Each may hold a
    /// `dataset.toml` manifest (see [`DatasetManifest`](crate::DatasetManifest)).
    pub root: Roots,
    /// Model input height in pixels (ignored with `resize = "none"`).
    pub height: u32,
    /// Model input width in pixels (ignored with `resize = "none"`).
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
    /// Side of the square random training crops, in pixels; used only with
    /// `resize = "none"`, where images keep their own sizes.
    pub crop: u32,
    /// Random training crops drawn from each image per epoch; used only with
    /// `resize = "none"`.
    pub crops_per_image: usize,
    /// Cache the preprocessed images on disk.
    pub cache: bool,
    /// Where the cache lives; default `$XDG_CACHE_HOME/fpae/datasets`.
    pub cache_dir: Option<PathBuf>,
    /// The share of each root among the training samples of an epoch, as
    /// relative weights in the order of `root` (`[1.0, 3.0]`: a quarter from
    /// the first root, three quarters from the second). Roots are oversampled
    /// to their share, never cut: every training image is seen every epoch.
    /// Unset, each image counts once ([`mix`](crate::mix)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mix: Option<Vec<f64>>,
}

impl Default for DataConfig {
    /// The tutorial's preprocessing: 224x224, bilinear stretch, divide by the dataset maximum,
    /// random 80/20 split with seed 13.
    fn default() -> Self {
        Self {
            root: Roots::from("data/fvc2002"),
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
            crop: 128,
            crops_per_image: 8,
            cache: true,
            cache_dir: None,
            mix: None,
        }
    }
}

impl DataConfig {
    /// Checks every value against its allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.root.is_empty() {
            return Err(DataError::InvalidSetting {
                field: "root",
                expected: "expected a folder or a non-empty list of folders, got []".into(),
            });
        }
        for (field, value) in [("height", self.height), ("width", self.width)] {
            if !(1..=8192).contains(&value) {
                return Err(DataError::InvalidSetting {
                    field,
                    expected: format!("expected 1..=8192 pixels, got {value}"),
                });
            }
        }
        if !(8..=4096).contains(&self.crop) {
            return Err(DataError::InvalidSetting {
                field: "crop",
                expected: format!("expected 8..=4096 pixels, got {}", self.crop),
            });
        }
        if !(1..=1024).contains(&self.crops_per_image) {
            return Err(DataError::InvalidSetting {
                field: "crops_per_image",
                expected: format!("expected 1..=1024, got {}", self.crops_per_image),
            });
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(DataError::InvalidSetting {
                field: "val_fraction",
                expected: format!("expected a fraction strictly between 0 and 1, got {}", self.val_fraction),
            });
        }
        if let Some(mix) = &self.mix
            && (mix.len() != self.root.len() || mix.iter().any(|w| !(w.is_finite() && *w > 0.0)))
        {
            return Err(DataError::InvalidSetting {
                field: "mix",
                expected: format!("expected one positive weight per root ({} roots), got {mix:?}", self.root.len()),
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

/// The settings that turn one decoded image into model-sized 8-bit pixels (or,
/// with [`ResizeMode::None`], leave its size alone).
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

impl Preprocess {
    /// The `(width, height)` an image of `original` size has after preprocessing:
    /// its own size with [`ResizeMode::None`], else `width x height`.
    pub fn output_size(&self, original: (u32, u32)) -> (u32, u32) {
        match self.resize {
            ResizeMode::None => original,
            ResizeMode::Stretch | ResizeMode::Pad | ResizeMode::Crop => (self.width, self.height),
        }
    }
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
    /// Keep every image at its native size and resolution; `height` and `width`
    /// are ignored, and training draws random `crop x crop` windows instead.
    None,
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

/// The dataset folder or folders of a configuration: `root = "data/fvc2002"` or
/// `root = ["data/fvc2002", "data/fvc2000"]`. A single folder serializes back as a
/// plain string, so configurations written before lists existed round-trip unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Roots(Vec<PathBuf>);

impl Roots {
    /// The folders, in configuration order.
    pub fn new(roots: Vec<PathBuf>) -> Self {
        Self(roots)
    }

    /// The folders, in configuration order.
    pub fn as_slice(&self) -> &[PathBuf] {
        &self.0
    }
}

impl std::ops::Deref for Roots {
    type Target = [PathBuf];
    fn deref(&self) -> &[PathBuf] {
        &self.0
    }
}

impl From<PathBuf> for Roots {
    fn from(root: PathBuf) -> Self {
        Self(vec![root])
    }
}

impl From<&Path> for Roots {
    fn from(root: &Path) -> Self {
        Self(vec![root.to_owned()])
    }
}

impl From<&str> for Roots {
    fn from(root: &str) -> Self {
        Self(vec![PathBuf::from(root)])
    }
}

impl From<Vec<PathBuf>> for Roots {
    fn from(roots: Vec<PathBuf>) -> Self {
        Self(roots)
    }
}

impl std::fmt::Display for Roots {
    /// The folders, separated by `, `.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, root) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", root.display())?;
        }
        Ok(())
    }
}

impl Serialize for Roots {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Roots {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a folder or a list of folders")]
        enum OneOrMany {
            One(PathBuf),
            Many(Vec<PathBuf>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(root) => Self(vec![root]),
            OneOrMany::Many(roots) => Self(roots),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        data: DataConfig,
    }

    #[test]
    fn a_single_root_and_a_list_parse_and_a_single_root_round_trips_as_a_string() {
        let one: File = toml::from_str("[data]\nroot = \"data/fvc2002\"\n").unwrap();
        assert_eq!(one.data.root.as_slice(), [PathBuf::from("data/fvc2002")]);
        let text = toml::to_string(&one).unwrap();
        assert!(text.contains("root = \"data/fvc2002\"\n"), "{text}");
        assert_eq!(toml::from_str::<File>(&text).unwrap(), one);

        let two: File = toml::from_str("[data]\nroot = [\"data/fvc2002\", \"data/fvc2000\"]\n").unwrap();
        assert_eq!(two.data.root.as_slice(), [PathBuf::from("data/fvc2002"), PathBuf::from("data/fvc2000")]);
        assert_eq!(two.data.root.to_string(), "data/fvc2002, data/fvc2000");
        let text = toml::to_string(&two).unwrap();
        assert_eq!(toml::from_str::<File>(&text).unwrap(), two);

        let err = toml::from_str::<File>("[data]\nroot = 3\n").unwrap_err().to_string();
        assert!(err.contains("a folder or a list of folders"), "{err}");
    }

    #[test]
    fn resize_none_and_crop_settings_parse_with_defaults() {
        let file: File = toml::from_str("[data]\nresize = \"none\"\n").unwrap();
        assert_eq!(file.data.resize, ResizeMode::None);
        assert_eq!((file.data.crop, file.data.crops_per_image), (128, 8));
        let file: File = toml::from_str("[data]\nresize = \"none\"\ncrop = 96\ncrops_per_image = 3\n").unwrap();
        assert_eq!((file.data.crop, file.data.crops_per_image), (96, 3));
        // Native size is kept; the other modes give the configured size.
        let p = file.data.preprocess();
        assert_eq!(p.output_size((300, 400)), (300, 400));
        assert_eq!(Preprocess { resize: ResizeMode::Pad, ..p }.output_size((300, 400)), (224, 224));
    }

    #[test]
    fn crop_settings_and_roots_are_validated_naming_the_field() {
        let err = |c: DataConfig| c.validate().unwrap_err().to_string();
        assert_eq!(err(DataConfig { crop: 4, ..DataConfig::default() }), "data.crop: expected 8..=4096 pixels, got 4");
        assert_eq!(
            err(DataConfig { crops_per_image: 0, ..DataConfig::default() }),
            "data.crops_per_image: expected 1..=1024, got 0"
        );
        assert_eq!(
            err(DataConfig { root: Roots::new(vec![]), ..DataConfig::default() }),
            "data.root: expected a folder or a non-empty list of folders, got []"
        );
        DataConfig { crop: 8, crops_per_image: 1024, ..DataConfig::default() }.validate().unwrap();
    }
}
