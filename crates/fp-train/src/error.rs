//! The errors of configuring, running and evaluating training.

use std::path::PathBuf;

/// Errors of configuring and running training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration file could not be parsed.
    #[error("{path}: invalid configuration")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's error, which names the key.
        #[source]
        source: toml::de::Error,
    },
    /// A `--set KEY=VALUE` override is malformed.
    #[error("--set {0}")]
    Override(String),
    /// A setting is outside its allowed range.
    #[error("{field}: {expected}")]
    InvalidSetting {
        /// The setting, as `section.key`.
        field: &'static str,
        /// What was expected and what was found.
        expected: String,
    },
    /// The loss stopped being a finite number.
    #[error(
        "training diverged: the loss is {value} at epoch {epoch}, batch {batch}; {}",
        match last_checkpoint {
            Some(p) => format!("the last good checkpoint is {}", p.display()),
            None => "no checkpoint was written yet".to_owned(),
        }
    )]
    NonFiniteLoss {
        /// The loss value (NaN or infinite).
        value: f64,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// The last checkpoint, kept as it was.
        last_checkpoint: Option<PathBuf>,
    },
    /// A run directory is not usable as asked.
    #[error("run directory {path}: {reason}")]
    RunDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint's state file is unreadable.
    #[error("{path}: invalid checkpoint state")]
    State {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// An output folder that must be new (or empty) is not.
    #[error("{path}: {reason}")]
    OutputExists {
        /// The folder.
        path: PathBuf,
        /// What is in the way.
        reason: String,
    },
    /// A manifest of inputs has a line that names no usable file.
    #[error("{path}, line {line}: {reason}")]
    Manifest {
        /// The manifest (`<stdin>` for standard input).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A results log has a line that is not a result.
    #[error("{path}, line {line}: not a result line")]
    ResultsLine {
        /// The log.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] fp_io::FileError),
    /// `train.init` names no model folder, checkpoint or run directory.
    #[error(
        "train.init: {path}: neither a model folder ({} beside {}) nor a run directory with a `best` checkpoint",
        fp_model::MODEL_CONFIG_FILE,
        fp_model::MODEL_WEIGHTS_FILE
    )]
    InitNotFound {
        /// What `train.init` says.
        path: PathBuf,
    },
    /// The weights `train.init` names are another network than the configuration's `[model]`.
    #[error("train.init: {model_file} describes another network than the config's [model]: {differences}")]
    InitMismatch {
        /// The `model.toml` beside the weights.
        model_file: PathBuf,
        /// Each differing setting, with its value there and in the config.
        differences: String,
        /// The first tensor of the weights that the configured network has not
        /// (by name or shape), if any.
        #[source]
        weights: Option<Box<fp_model::ModelError>>,
    },
    /// The weights `train.init` names could not be read, or do not fit the configured network.
    #[error("train.init: cannot start from {}", path.display())]
    Init {
        /// What `train.init` says.
        path: PathBuf,
        /// What is wrong with the weights.
        #[source]
        error: Box<fp_model::ModelError>,
    },
    /// The data could not be loaded or split.
    #[error(transparent)]
    Data(#[from] fp_data::DataError),
    /// The model could not be built, saved or loaded.
    #[error(transparent)]
    Model(#[from] fp_model::ModelError),
    /// A reconstruction could not be measured.
    #[error("cannot measure the reconstruction of {file}")]
    Metrics {
        /// The original image.
        file: PathBuf,
        /// What went wrong.
        #[source]
        source: fp_metrics::MetricsError,
    },
    /// The identity of the outputs could not be measured.
    #[error(transparent)]
    Identity(#[from] fp_metrics::gallery::GalleryError),
    /// The chosen subset of images is empty.
    #[error("no images to evaluate")]
    NothingToEvaluate,
    /// The fault-injection test seam ([`crate::fault`]) is given a malformed fault.
    #[error("{}={spec}: {reason}", crate::fault::FAULT_ENV)]
    Fault {
        /// The value given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// LibTorch reported an error.
    #[error("LibTorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io(fp_io::FileError::new(path, source))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

impl From<fp_io::AtomicWriteError> for TrainError {
    fn from(e: fp_io::AtomicWriteError) -> Self {
        Self::Io(e.into())
    }
}
