//! On-disk cache of preprocessed, scaled datasets.
//!
//! The key hashes every input that decides the values: each file's relative path,
//! size and modification time, the dataset root, every preprocessing and scaling
//! setting, and [`PIXELS_VERSION`], the version of the code that computes the
//! pixels. Any change gives a new key. An entry is written to a temporary
//! name and renamed, so it is either whole or absent, and it is never modified in
//! place afterwards. A cached load maps the entry into memory instead of copying
//! it, which makes it a few milliseconds whatever the dataset size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Preprocess, Scaling};
use crate::dataset::{AppliedScaling, ImageMeta, Pixels};
use crate::discover::ImageSource;
use crate::error::{DataError, Result};

const MAGIC: &[u8; 16] = b"FPAE-DATASET-v1\n";
/// Version of the decoding, resizing and scaling code. Bump it whenever a change
/// there alters any output value, so that entries computed by older code are
/// never read again.
pub const PIXELS_VERSION: u32 = 3;
/// Pixel data starts at a multiple of this, so it can be viewed as f32 in place.
const ALIGN: usize = 64;

/// What a cache entry says about its pixels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheHeader {
    /// Per-image metadata, in dataset order.
    pub items: Vec<ImageMeta>,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
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

/// The cache key of a set of sources under a preprocessing and scaling.
pub fn cache_key(
    root: &Path,
    sources: &[ImageSource],
    preprocess: &Preprocess,
    scaling: Scaling,
    skip_unreadable: bool,
) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(MAGIC);
    hasher.update(PIXELS_VERSION.to_le_bytes());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    hasher.update(root.to_string_lossy().as_bytes());
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
        hasher.update(format!("{}\t{}\t{mtime}\n", source.relative, meta.len()).as_bytes());
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
    let expected = header.items.len() * header.height * header.width * 4;
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
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        file.write_all(MAGIC)?;
        file.write_all(&(header_bytes.len() as u64).to_le_bytes())?;
        file.write_all(&header_bytes)?;
        file.write_all(&vec![0u8; padding])?;
        file.write_all(bytemuck::cast_slice(pixels))?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        DataError::Io { path: path.to_owned(), source }
    })
}
