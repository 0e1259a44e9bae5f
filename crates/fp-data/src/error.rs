//! The crate's error type: one variant per failure, each naming its file or setting.

use std::path::PathBuf;

/// Everything that can go wrong while loading a dataset. Every variant that
/// concerns a file names it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a decodable image.
    #[error("cannot decode image {path}")]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },
    /// A path given as an image is a folder, a named pipe, a socket or a
    /// device: reading it would fail or wait forever.
    #[error("{path}: is {found}, expected an image file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, e.g. `a named pipe`.
        found: &'static str,
    },
    /// An image's header claims more pixels than the decoder may allocate (a
    /// decompression bomb, a corrupt header, or no fingerprint).
    #[error(
        "cannot decode image {path}: its header claims {width}x{height} pixels, more than the decoder's \
         {limit_mib} MiB limit"
    )]
    TooLarge {
        /// The image file.
        path: PathBuf,
        /// Width its header claims.
        width: u32,
        /// Height its header claims.
        height: u32,
        /// The decoder's allocation limit in MiB.
        limit_mib: u64,
    },
    /// An image decoded to zero width or height.
    #[error("image {path} is empty ({width}x{height})")]
    EmptyImage {
        /// The image file.
        path: PathBuf,
        /// Decoded width.
        width: u32,
        /// Decoded height.
        height: u32,
    },
    /// The dataset root holds no image.
    #[error("no images under {root} (looked for .tif, .tiff, .png, .bmp, .jpg, .jpeg, recursively)")]
    NoImages {
        /// The folder searched.
        root: PathBuf,
    },
    /// A setting has a value outside its allowed range.
    #[error("data.{field}: {expected}")]
    InvalidSetting {
        /// The setting, as named in the config file.
        field: &'static str,
        /// What was expected and what was found.
        expected: String,
    },
    /// A dataset manifest (`dataset.toml`) is not valid TOML or has an unknown or
    /// mistyped key.
    #[error("cannot parse dataset manifest {path}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A dataset manifest parses but holds a value outside its allowed range.
    #[error("{path}: {field}: {expected}")]
    ManifestValue {
        /// The manifest file.
        path: PathBuf,
        /// The key, e.g. `subsets.DB2_B.ppi`.
        field: String,
        /// What was expected and what was found.
        expected: String,
    },
    /// Two dataset roots of one load carry the same dataset name.
    #[error("dataset roots {first} and {second} are both named {name:?}; rename one in its dataset.toml")]
    DuplicateDataset {
        /// The shared name.
        name: String,
        /// The first root with that name.
        first: PathBuf,
        /// The second root with that name.
        second: PathBuf,
    },
    /// A dataset's pixel buffer does not hold exactly its images' pixels.
    #[error("dataset of {images} images needs {expected} pixel values, got {got}")]
    PixelCount {
        /// Number of images.
        images: usize,
        /// Sum of the images' width x height.
        expected: usize,
        /// Length of the buffer given.
        got: usize,
    },
    /// The images cannot be split as asked.
    #[error("cannot split: {0}")]
    Split(String),
    /// The resizer rejected an image.
    #[error("cannot resize {path}: {message}")]
    Resize {
        /// The image file.
        path: PathBuf,
        /// The resizer's message.
        message: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl From<fp_io::AtomicWriteError> for DataError {
    fn from(e: fp_io::AtomicWriteError) -> Self {
        Self::Io { path: e.path, source: e.source }
    }
}
