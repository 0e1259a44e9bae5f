use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cache;
use crate::config::{DataConfig, Preprocess, Scaling};
use crate::decode::{decode_gray, resize_gray};
use crate::discover::{ImageSource, discover};
use crate::error::{DataError, Result};

/// One image of a dataset: where it came from and its size before resizing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// The file and its FVC identity.
    pub source: ImageSource,
    /// Width of the decoded original.
    pub original_width: u32,
    /// Height of the decoded original.
    pub original_height: u32,
}

/// How 8-bit pixels were mapped to [0, 1]; kept with a model so that new
/// images are scaled the same way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AppliedScaling {
    /// `value / divisor` (the dataset maximum, or 255).
    Divide {
        /// The divisor.
        divisor: f32,
    },
    /// Each image's own minimum..maximum stretched to 0..1.
    PerImageMinMax,
}

impl AppliedScaling {
    /// Scales one image's pixels into `out` (same length).
    pub fn apply(&self, pixels: &[u8], out: &mut [f32]) {
        assert_eq!(pixels.len(), out.len(), "one output value per pixel");
        match *self {
            AppliedScaling::Divide { divisor } => {
                let inv = 1.0 / divisor;
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = f32::from(p) * inv;
                }
            }
            AppliedScaling::PerImageMinMax => {
                let (min, max) = pixel_range(pixels);
                let range = f32::from(max - min);
                for (o, &p) in out.iter_mut().zip(pixels) {
                    *o = if range > 0.0 { f32::from(p - min) / range } else { 0.0 };
                }
            }
        }
    }

    /// Maps model values back to 8-bit pixels, the inverse of [`apply`](Self::apply):
    /// `original` is the 8-bit image the values were scaled from (per-image
    /// min-max needs its range). Values are clamped to what 8 bits can hold.
    pub fn invert(&self, values: &[f32], original: &[u8]) -> Vec<u8> {
        let (offset, factor) = match *self {
            AppliedScaling::Divide { divisor } => (0.0, divisor),
            AppliedScaling::PerImageMinMax => {
                let (min, max) = pixel_range(original);
                (f32::from(min), f32::from(max - min))
            }
        };
        values.iter().map(|&v| (offset + v * factor).round().clamp(0.0, 255.0) as u8).collect()
    }
}

/// Smallest and largest value of 8-bit pixels (0, 0 when empty).
fn pixel_range(pixels: &[u8]) -> (u8, u8) {
    let min = pixels.iter().copied().min().unwrap_or(0);
    let max = pixels.iter().copied().max().unwrap_or(0);
    (min, max)
}

/// The f32 values of a dataset: owned, or mapped read-only from a cache entry.
/// Either way it reads as a `[f32]`.
pub struct Pixels(PixelStorage);

enum PixelStorage {
    Owned(Vec<f32>),
    Mapped { map: memmap2::Mmap, offset: usize },
}

impl Pixels {
    /// Views `map[offset..]` as f32 values; `None` if misaligned or not a whole number of values.
    pub(crate) fn mapped(map: memmap2::Mmap, offset: usize) -> Option<Self> {
        bytemuck::try_cast_slice::<u8, f32>(map.get(offset..)?).ok()?;
        Some(Self(PixelStorage::Mapped { map, offset }))
    }

    /// Whether the values are mapped from the on-disk cache.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, PixelStorage::Mapped { .. })
    }
}

impl From<Vec<f32>> for Pixels {
    fn from(v: Vec<f32>) -> Self {
        Self(PixelStorage::Owned(v))
    }
}

impl std::ops::Deref for Pixels {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match &self.0 {
            PixelStorage::Owned(v) => v,
            PixelStorage::Mapped { map, offset } => bytemuck::cast_slice(&map[*offset..]),
        }
    }
}

impl Clone for Pixels {
    fn clone(&self) -> Self {
        Self::from(self.to_vec())
    }
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pixels({} values{})", self.len(), if self.is_mapped() { ", mapped" } else { "" })
    }
}

/// A preprocessed dataset in memory: `len()` images of `1 x height x width` f32
/// values in [0, 1], stored contiguously as `N x 1 x H x W`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// All pixels, `N x 1 x H x W`, row-major.
    pub images: Pixels,
    /// Per-image metadata, same order as `images`.
    pub items: Vec<ImageMeta>,
    /// The scaling that produced `images`.
    pub scaling: AppliedScaling,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.images[i * n..(i + 1) * n]
    }

    /// The same images scaled as `target` instead: a model trained with one
    /// dataset maximum must see other data divided by that same maximum.
    pub fn with_scaling(self, target: AppliedScaling) -> Self {
        let factor = match (self.scaling, target) {
            (AppliedScaling::Divide { divisor: from }, AppliedScaling::Divide { divisor: to }) if from != to => {
                from / to
            }
            _ => return Self { scaling: target, ..self },
        };
        let images: Vec<f32> = self.images.par_iter().map(|&v| v * factor).collect();
        Self { images: images.into(), scaling: target, ..self }
    }

    /// Smallest and largest pixel value.
    pub fn min_max(&self) -> (f32, f32) {
        self.images.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }
}

/// Where a load got its pixels from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// Decoded and resized from the image files.
    Decoded,
    /// Read from the on-disk cache.
    Cache,
}

/// Loads, preprocesses and scales every image under `config.root`.
pub fn load(config: &DataConfig) -> Result<Dataset> {
    load_with_source(config).map(|(d, _)| d)
}

/// Like [`load`], also telling whether the cache was used.
pub fn load_with_source(config: &DataConfig) -> Result<(Dataset, LoadSource)> {
    config.validate()?;
    let started = Instant::now();
    let sources = discover(&config.root)?;
    let preprocess = config.preprocess();
    let cache_path = match config.cache_dir.clone().or_else(cache::default_cache_dir) {
        Some(dir) if config.cache => {
            let key = cache::cache_key(&config.root, &sources, &preprocess, config.scale, config.skip_unreadable)?;
            Some(dir.join(format!("{key}.fpcache")))
        }
        _ => None,
    };
    if let Some(path) = &cache_path
        && let Some((header, images)) = cache::read(path)
    {
        tracing::debug!(images = header.items.len(), ms = started.elapsed().as_millis(), "dataset cache hit");
        let dataset = Dataset {
            height: header.height,
            width: header.width,
            images,
            items: header.items,
            scaling: header.scaling,
        };
        return Ok((dataset, LoadSource::Cache));
    }
    let dataset = scale(preprocess_parallel(&sources, &preprocess, config.skip_unreadable)?, config.scale);
    tracing::info!(
        images = dataset.len(),
        ms = started.elapsed().as_millis(),
        root = %config.root.display(),
        "decoded and resized dataset"
    );
    if let Some(path) = &cache_path {
        let header = cache::CacheHeader {
            items: dataset.items.clone(),
            height: dataset.height,
            width: dataset.width,
            scaling: dataset.scaling,
        };
        if let Err(e) = cache::write(path, &header, &dataset.images) {
            tracing::warn!("cannot write the dataset cache: {e}");
        }
    }
    Ok((dataset, LoadSource::Decoded))
}

/// Preprocessed 8-bit images: `items.len()` images of `height * width` bytes each.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// Per-image metadata, in dataset order.
    pub items: Vec<ImageMeta>,
    /// Image height.
    pub height: u32,
    /// Image width.
    pub width: u32,
    /// Row-major pixels of all images, one after the other.
    pub pixels: Vec<u8>,
}

/// Decodes and resizes `sources` in parallel with rayon. An unreadable image is
/// an error naming it, or, with `skip_unreadable`, a warning and a skip.
pub fn preprocess_parallel(
    sources: &[ImageSource],
    preprocess: &Preprocess,
    skip_unreadable: bool,
) -> Result<Preprocessed> {
    type Decoded = Option<(ImageMeta, Vec<u8>)>;
    let results: Vec<Result<Decoded>> = sources
        .par_iter()
        .map(|source| match load_one(&source.path, preprocess) {
            Ok((pixels, (w, h))) => {
                Ok(Some((ImageMeta { source: source.clone(), original_width: w, original_height: h }, pixels)))
            }
            Err(e) if skip_unreadable => {
                tracing::warn!("skipping unreadable image: {e}");
                Ok(None)
            }
            Err(e) => Err(e),
        })
        .collect();
    let per_image = (preprocess.width * preprocess.height) as usize;
    let mut items = Vec::with_capacity(sources.len());
    let mut pixels = Vec::with_capacity(sources.len() * per_image);
    for result in results {
        if let Some((meta, p)) = result? {
            items.push(meta);
            pixels.extend_from_slice(&p);
        }
    }
    if items.is_empty() {
        return Err(DataError::Split("every image was unreadable and skipped".into()));
    }
    Ok(Preprocessed { items, height: preprocess.height, width: preprocess.width, pixels })
}

/// Decodes and resizes one image; returns the pixels and the original size.
pub fn load_one(path: &Path, preprocess: &Preprocess) -> Result<(Vec<u8>, (u32, u32))> {
    let gray = decode_gray(path)?;
    let pixels = resize_gray(&gray, preprocess, path)?;
    Ok((pixels, gray.dimensions()))
}

/// Scales 8-bit preprocessed images to f32 in [0, 1].
pub fn scale(set: Preprocessed, scaling: Scaling) -> Dataset {
    let applied = match scaling {
        Scaling::DatasetMax => {
            let max = set.pixels.par_iter().copied().max().unwrap_or(0);
            // An all-black dataset stays black rather than dividing by zero.
            AppliedScaling::Divide { divisor: f32::from(max.max(1)) }
        }
        Scaling::Max255 => AppliedScaling::Divide { divisor: 255.0 },
        Scaling::PerImageMinMax => AppliedScaling::PerImageMinMax,
    };
    let per_image = (set.height * set.width) as usize;
    let mut images = vec![0f32; set.pixels.len()];
    images.par_chunks_mut(per_image).zip(set.pixels.par_chunks(per_image)).for_each(|(out, px)| applied.apply(px, out));
    Dataset {
        height: set.height as usize,
        width: set.width as usize,
        images: images.into(),
        items: set.items,
        scaling: applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_scaling_divides_by_the_new_divisor() {
        let set = Preprocessed {
            items: vec![ImageMeta {
                source: ImageSource { path: "a.png".into(), relative: "a.png".into(), id: None },
                original_width: 2,
                original_height: 1,
            }],
            height: 1,
            width: 2,
            pixels: vec![100, 200],
        };
        let data = scale(set, Scaling::DatasetMax).with_scaling(AppliedScaling::Divide { divisor: 250.0 });
        assert_eq!(&data.images[..], &[0.4, 0.8]);
        assert_eq!(data.scaling, AppliedScaling::Divide { divisor: 250.0 });
    }

    #[test]
    fn invert_undoes_apply() {
        let pixels: Vec<u8> = vec![10, 40, 200, 7, 99];
        for scaling in [
            AppliedScaling::Divide { divisor: 200.0 },
            AppliedScaling::Divide { divisor: 255.0 },
            AppliedScaling::PerImageMinMax,
        ] {
            let mut values = vec![0f32; pixels.len()];
            scaling.apply(&pixels, &mut values);
            assert_eq!(scaling.invert(&values, &pixels), pixels, "{scaling:?}");
        }
        // Out-of-range values clamp instead of wrapping.
        assert_eq!(AppliedScaling::Divide { divisor: 255.0 }.invert(&[-0.5, 1.5], &[]), vec![0, 255]);
    }
}
