//! On-disk cache of preprocessed, scaled datasets.
//!
//! The key hashes every input that decides the values or the metadata stored with
//! them: the list of dataset roots, each root's manifest (name, naming, ppi), each
//! file's dataset, relative path, size and modification time, every preprocessing
//! and scaling setting, and [`PIXELS_VERSION`], the version of the code that
//! computes the pixels. Any change gives a new key. The header stores each image's
//! size (images keep their own with `resize = "none"`) and the preprocessing. An entry is written to a temporary
//! name and renamed, so it is either whole or absent, and it is never modified in
//! place afterwards. A cached load maps the entry into memory instead of copying
//! it, which makes it a few milliseconds whatever the dataset size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Preprocess, Scaling};
use crate::discover::ImageSource;
use crate::error::{DataError, Result};
use crate::manifest::DatasetManifest;
use crate::meta::ImageMeta;
use crate::pixels::Pixels;
use crate::scaling::AppliedScaling;

/// Identifies the file layout; v2 stores per-image sizes and the preprocessing.
const MAGIC: &[u8; 16] = b"FPAE-DATASET-v2\n";
/// Version of the decoding, resizing and scaling code. Bump it whenever a change
/// there alters any output value, so that entries computed by older code are
/// never read again.
pub const PIXELS_VERSION: u32 = 3;
/// Pixel data starts at a multiple of this, so it can be viewed as f32 in place.
const ALIGN: usize = 64;

/// What a cache entry says about its pixels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheHeader {
    /// Per-image metadata with each image's stored size, in dataset order; the
    /// pixels are the images one after the other.
    pub items: Vec<ImageMeta>,
    /// The preprocessing that produced the images.
    pub preprocess: Preprocess,
    /// The scaling that produced the values.
    pub scaling: AppliedScaling,
}

/// fpae's cache folder: `$XDG_CACHE_HOME/fpae` or `~/.cache/fpae`.
pub fn cache_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("fpae"))
}

/// The default dataset cache folder: `datasets` in [`cache_root`].
pub fn default_cache_dir() -> Option<PathBuf> {
    Some(cache_root()?.join("datasets"))
}

/// The cache key of the sources found under `roots`, described by `manifests`
/// (one per root), under a preprocessing and scaling.
pub fn cache_key(
    roots: &[PathBuf],
    manifests: &[DatasetManifest],
    sources: &[ImageSource],
    preprocess: &Preprocess,
    scaling: Scaling,
    skip_unreadable: bool,
) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(MAGIC);
    hasher.update(PIXELS_VERSION.to_le_bytes());
    for root in roots {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
        hasher.update(format!("root {}\n", root.to_string_lossy()).as_bytes());
    }
    for manifest in manifests {
        // What the manifest means, not how its file is spelled: comments and key
        // order do not matter, every value does.
        hasher.update(b"manifest ");
        hasher.update(serde_json::to_vec(manifest).expect("a manifest serializes"));
        hasher.update(b"\n");
    }
    hasher.update(
        format!(
            "\n{}x{} {:?} {:?} {scaling:?} skip={skip_unreadable}\n",
            preprocess.width, preprocess.height, preprocess.filter, preprocess.resize
        )
        .as_bytes(),
    );
    for source in sources {
        let meta = std::fs::metadata(&source.path).map_err(DataError::io(&source.path))?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        hasher.update(format!("{}\t{}\t{}\t{mtime}\n", source.dataset, source.relative, meta.len()).as_bytes());
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Opens a cache entry; `None` when absent or damaged (it is then rebuilt).
pub fn read(path: &Path) -> Option<(CacheHeader, Pixels)> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: entries are only ever created under a temporary name and renamed
    // into place, never written in place, so the mapped bytes do not change
    // while mapped (a replacement is a new inode; this mapping keeps the old one).
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let rest = map.strip_prefix(MAGIC.as_slice())?;
    let header_len = usize::try_from(u64::from_le_bytes(rest.get(..8)?.try_into().ok()?)).ok()?;
    let header: CacheHeader = serde_json::from_slice(rest.get(8..8 + header_len)?).ok()?;
    let offset = data_offset(header_len);
    let expected = header.items.iter().map(ImageMeta::pixel_count).sum::<usize>() * 4;
    if map.len() != offset + expected {
        tracing::warn!(path = %path.display(), "damaged dataset cache entry; rebuilding it");
        return None;
    }
    let pixels = Pixels::mapped(map, offset)?;
    Some((header, pixels))
}

fn data_offset(header_len: usize) -> usize {
    (MAGIC.len() + 8 + header_len).div_ceil(ALIGN) * ALIGN
}

/// Writes a cache entry atomically (temporary file, then rename).
pub fn write(path: &Path, header: &CacheHeader, pixels: &[f32]) -> Result<()> {
    let dir = path.parent().expect("cache entries live in a folder");
    std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
    let header_bytes = serde_json::to_vec(header).expect("the header serializes");
    let padding = data_offset(header_bytes.len()) - (MAGIC.len() + 8 + header_bytes.len());
    fp_io::write_atomically(path, |tmp| {
        let write = || -> std::io::Result<()> {
            let mut file = std::io::BufWriter::new(std::fs::File::create(tmp)?);
            file.write_all(MAGIC)?;
            file.write_all(&(header_bytes.len() as u64).to_le_bytes())?;
            file.write_all(&header_bytes)?;
            file.write_all(&vec![0u8; padding])?;
            file.write_all(bytemuck::cast_slice(pixels))?;
            file.flush()
        };
        write().map_err(|source| DataError::Io { path: path.to_owned(), source })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ResizeFilter, ResizeMode};

    #[test]
    fn a_changed_manifest_or_root_list_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fvc2002");
        std::fs::create_dir_all(root.join("DB2_B")).unwrap();
        std::fs::write(root.join("DB2_B/101_1.tif"), b"x").unwrap();
        let mut manifest = DatasetManifest::new("fvc2002");
        let sources = vec![ImageSource::new(&root, "DB2_B/101_1.tif", &manifest)];
        let p = Preprocess { height: 8, width: 8, filter: ResizeFilter::Bilinear, resize: ResizeMode::None };
        let roots = [root.clone()];
        let key = |m: &DatasetManifest, roots: &[PathBuf]| {
            cache_key(roots, std::slice::from_ref(m), &sources, &p, Scaling::Max255, false).unwrap()
        };
        let base = key(&manifest, &roots);
        assert_eq!(base, key(&manifest, &roots));
        assert_eq!(base.len(), 64);

        manifest.subsets.insert("DB2_B".into(), crate::SubsetInfo { ppi: 569, sensor: None });
        let with_ppi = key(&manifest, &roots);
        assert_ne!(base, with_ppi);
        manifest.subsets.get_mut("DB2_B").unwrap().sensor = Some("optical".into());
        assert_ne!(with_ppi, key(&manifest, &roots));
        assert_ne!(base, key(&DatasetManifest::new("renamed"), &roots));
        assert_ne!(base, key(&DatasetManifest::new("fvc2002"), &[root.clone(), dir.path().join("other")]));
    }
}
