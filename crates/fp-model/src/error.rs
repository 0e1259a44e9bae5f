//! The crate's one error type.

use std::path::PathBuf;

/// Errors of building, saving and loading models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration value is outside its allowed range.
    #[error("model.{field}: {expected}")]
    InvalidConfig {
        /// The setting, as named in the config file.
        field: &'static str,
        /// What was expected and what was found.
        expected: String,
    },
    /// The input size does not fit the network.
    #[error("input size {height}x{width} must be divisible by {divisor} ({pools} pooling layers halve it)")]
    InputSize {
        /// Input height.
        height: i64,
        /// Input width.
        width: i64,
        /// Required divisor.
        divisor: i64,
        /// Number of 2x2 poolings.
        pools: usize,
    },
    /// A device name could not be parsed or the device is not available.
    #[error("device {spec:?}: {reason}")]
    Device {
        /// What the user asked for.
        spec: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A precision name could not be parsed.
    #[error("precision {0:?}: expected f32, bf16 or auto")]
    Precision(String),
    /// A weights file is too small to hold the model its config describes, by
    /// far: checked before the model is built, so that a config describing a
    /// huge network allocates nothing.
    #[error(
        "{path}: {bytes} bytes cannot hold the {parameters} parameters that model.toml describes (the file does \
         not match the model config)"
    )]
    WeightsTooSmall {
        /// The weights file.
        path: PathBuf,
        /// The parameters of the network the config describes.
        parameters: u64,
        /// The size of the weights file.
        bytes: u64,
    },
    /// A weights file does not match the model described by its config.
    #[error("{path}: tensor {name:?} has shape {found:?}, but the model config expects {expected:?}")]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// Shape in the model.
        expected: Vec<i64>,
        /// Shape in the file.
        found: Vec<i64>,
    },
    /// A weights file lacks a tensor the model needs.
    #[error("{path}: tensor {name:?} is missing (the file does not match the model config)")]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A weights file has a tensor the model does not know.
    #[error("{path}: unexpected tensor {name:?} (the file does not match the model config)")]
    UnexpectedTensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A weights file is not a readable safetensors file.
    #[error("{path}: not a valid safetensors file ({problem}); export or copy the model again")]
    CorruptWeights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong with it, in words.
        problem: String,
    },
    /// A model config file could not be parsed.
    #[error("{path}: invalid model config")]
    ConfigFile {
        /// The config file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] fp_io::FileError),
    /// No Python with torch was found to run fpae's Python package with.
    #[error(
        "no Python with torch found: {looked}. Run `cargo xtask setup`, which installs torch in a venv, \
         or set FPAE_PYTHON to a Python that has torch"
    )]
    NoPython {
        /// Where it was looked for.
        looked: String,
    },
    /// LibTorch reported an error.
    #[error("{context}")]
    Torch {
        /// What was being done.
        context: String,
        /// LibTorch's error.
        #[source]
        source: tch::TchError,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

impl From<fp_io::AtomicWriteError> for ModelError {
    fn from(e: fp_io::AtomicWriteError) -> Self {
        Self::Io(e.into())
    }
}
