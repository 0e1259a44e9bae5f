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
