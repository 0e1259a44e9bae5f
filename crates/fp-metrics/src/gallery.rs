//! Identity measures of a dataset's reconstructions against its original
//! prints (see [`crate::identity`]), with the originals' minutiae cached on disk
//! by file content, and the native-size views the minutiae are found in.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fp_data::{Dataset, ImageSource, Preprocess, ResizeFilter};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::MetricsError;
use crate::identity::{GalleryPrint, IdentityReport, PrintKey, Probe, assess};
use crate::minutiae::{Template, Tolerance};

/// What can go wrong while assessing a dataset's reconstructions. Every variant
/// names the file.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// An original could not be read.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An original could not be decoded or resized.
    #[error(transparent)]
    Data(#[from] fp_data::DataError),
    /// Minutiae could not be found in an image.
    #[error("cannot measure the reconstruction of {file}")]
    Metrics {
        /// The original image.
        file: PathBuf,
        /// What went wrong.
        #[source]
        source: MetricsError,
    },
}

type Result<T, E = GalleryError> = std::result::Result<T, E>;

/// Version of what a cached template depends on besides the file: the detector
/// and the way its output is ordered. Bump it when either changes.
const TEMPLATE_VERSION: &str = "mindtct-0.1.0-v1";

/// Where the minutiae of original images are kept between evaluations: one
/// JSON file per image content (SHA-256 of the file) and resolution.
#[derive(Debug, Clone)]
pub struct TemplateCache {
    dir: PathBuf,
}

impl TemplateCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default: `minutiae` in fpae's cache folder, if there is a home.
    pub fn default_location() -> Option<Self> {
        Some(Self::new(fp_data::cache::cache_root()?.join("minutiae")))
    }

    fn entry(&self, file_hash: &str, ppi: u16) -> PathBuf {
        self.dir.join(TEMPLATE_VERSION).join(format!("{file_hash}-{ppi}.json"))
    }

    fn read(&self, file_hash: &str, ppi: u16) -> Option<Template> {
        let text = std::fs::read(self.entry(file_hash, ppi)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn write(&self, file_hash: &str, ppi: u16, template: &Template) {
        let path = self.entry(file_hash, ppi);
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).map_err(|e| e.to_string()).and_then(|()| {
            let json = serde_json::to_vec(template).expect("a template serializes");
            fp_io::write_file_atomically(&path, json).map_err(|e| e.to_string())
        });
        if let Err(e) = written {
            tracing::warn!("cannot cache minutiae in {}: {e}", path.display());
        }
    }
}

/// Scores the reconstructions `recon` (one per index, in order, each of its
/// image's size in `data`) against the originals of every image of `data`.
///
/// Each reconstruction is mapped back to 8-bit pixels with the data's scaling,
/// resized (bilinear) to its original's size, and its minutiae detected there,
/// at the resolution the dataset's manifest gives its subset: at a thumbnail's
/// size, minutiae are too close together for MINDTCT. The round trip takes the
/// same path from the original's resized pixels; at native resolution there is
/// no resize, and the round trip is the original itself. `done` hears each
/// template detected, of `data.len() + 2 * indices.len()`.
pub fn assess_identity(
    data: &Dataset,
    indices: &[usize],
    recon: &[Vec<f32>],
    cache: Option<&TemplateCache>,
    done: &(dyn Fn() + Sync),
) -> Result<IdentityReport> {
    assert_eq!(recon.len(), indices.len(), "one reconstruction per index");
    let sources: Vec<ImageSource> = data.items.iter().map(|item| item.source.clone()).collect();
    let detector = Detector::default();
    let started = std::time::Instant::now();
    let gallery = gallery_prints(&sources, cache, &detector, done)?;
    let probes: Vec<Probe> = indices
        .par_iter()
        .zip(recon.par_iter())
        .map(|(&i, values)| {
            let views = NativeViews::of(data, i, values)?;
            let source = &data.items[i].source;
            Ok(Probe {
                original: i,
                reconstruction: detector.detect(&views.reconstruction, views.size, source, done)?,
                round_trip: detector.detect(&views.round_trip, views.size, source, done)?,
            })
        })
        .collect::<Result<_>>()?;
    detector.warn_too_small();
    tracing::debug!(
        "minutiae of {} originals and {} reconstructions and round trips in {:.1} s",
        gallery.len(),
        2 * probes.len(),
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let report = assess(&gallery, &probes, Tolerance::default());
    tracing::debug!("BOZORTH3 comparisons in {:.1} s", started.elapsed().as_secs_f64());
    Ok(report)
}

/// Finds minutiae for the identity measures: an image too small for MINDTCT
/// gets an empty template (its comparisons are not computable), and is counted.
#[derive(Debug, Default)]
pub struct Detector {
    too_small: AtomicUsize,
}

impl Detector {
    /// The minutiae of an 8-bit image of `size` that stands for `source` (whose
    /// resolution it has; errors name its file). `done` hears each template.
    pub fn detect(
        &self,
        pixels: &[u8],
        (w, h): (u32, u32),
        source: &ImageSource,
        done: &(dyn Fn() + Sync),
    ) -> Result<Template> {
        let template = match Template::detect(pixels, w as usize, h as usize, source.ppi) {
            Err(MetricsError::TooSmallForMinutiae { .. }) => {
                self.too_small.fetch_add(1, Ordering::Relaxed);
                Ok(Template { width: w, height: h, minutiae: Vec::new() })
            }
            other => other.map_err(|e| GalleryError::Metrics { file: source.path.clone(), source: e }),
        };
        done();
        template
    }

    /// Logs how many images were too small to find minutiae in, if any.
    pub fn warn_too_small(&self) {
        let small = self.too_small.load(Ordering::Relaxed);
        if small > 0 {
            tracing::warn!(
                "{small} images are under {0}x{0} pixels, too small to find minutiae; they count as not computable",
                crate::minutiae::MIN_SIDE
            );
        }
    }
}

/// The original prints `sources` as a matcher's gallery: each file's minutiae,
/// read from `cache` when this content was seen before (keyed by the file's
/// SHA-256 and resolution), else detected and cached. `done` hears each print.
pub fn gallery_prints(
    sources: &[ImageSource],
    cache: Option<&TemplateCache>,
    detector: &Detector,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<GalleryPrint>> {
    let cached = AtomicUsize::new(0);
    let gallery = sources
        .par_iter()
        .map(|source| {
            let bytes =
                std::fs::read(&source.path).map_err(|e| GalleryError::Io { path: source.path.clone(), source: e })?;
            let hash = hex_sha256(&bytes);
            let template = match cache.and_then(|c| c.read(&hash, source.ppi)) {
                Some(template) => {
                    cached.fetch_add(1, Ordering::Relaxed);
                    done();
                    template
                }
                None => {
                    let image = fp_data::decode_gray(&source.path)?;
                    let template = detector.detect(image.as_raw(), image.dimensions(), source, done)?;
                    if let Some(cache) = cache {
                        cache.write(&hash, source.ppi, &template);
                    }
                    template
                }
            };
            let key = PrintKey {
                database: source.database(),
                finger: source.id.as_ref().map(|id| (id.finger, id.impression)),
            };
            Ok(GalleryPrint { key, template })
        })
        .collect::<Result<Vec<_>>>()?;
    tracing::debug!("{} of {} gallery templates from the cache", cached.into_inner(), sources.len());
    Ok(gallery)
}

/// An evaluated image at its original size, as its minutiae are found: the
/// original, the reconstruction and the round trip, 8-bit, row-major.
#[derive(Debug, Clone)]
pub struct NativeViews {
    /// Width and height of the original.
    pub size: (u32, u32),
    /// The original as decoded.
    pub original: Vec<u8>,
    /// The reconstruction, mapped back to 8 bits and resized (bilinear) to the original's size.
    pub reconstruction: Vec<u8>,
    /// The original resized to the model's size and back, with no model in between.
    pub round_trip: Vec<u8>,
}

impl NativeViews {
    /// The views of image `i` of `data`, whose reconstruction is `values`
    /// (at the size `data` holds image `i`).
    pub fn of(data: &Dataset, i: usize, values: &[f32]) -> Result<Self> {
        let path = &data.items[i].source.path;
        let original = fp_data::decode_gray(path)?;
        let size = original.dimensions();
        let resized = fp_data::resize_gray(&original, &data.preprocess, path)?;
        let back = Preprocess { filter: ResizeFilter::Bilinear, ..data.preprocess };
        let reconstruction = fp_data::restore_size(&data.scaling.invert(values, &resized), &back, size, path)?;
        let round_trip = fp_data::restore_size(&resized, &back, size, path)?;
        Ok(Self { size, original: original.into_raw(), reconstruction, round_trip })
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
