//! The one error type of fp-eval: each variant names the file or folder and
//! what was expected, and keeps its cause as its source.

use std::path::PathBuf;

use fp_data::DataError;
use fp_figures::FigureError;
use fp_metrics::MetricsError;
use fp_metrics::folders::FolderError;
use fp_metrics::gallery::GalleryError;
use fp_metrics::templates::TemplateError;
use fp_train::TrainError;

/// Results of fp-eval.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;

/// What can go wrong while benchmarking, applying a model or reporting. The
/// other crates' errors are boxed, so that a `Result` of this crate stays small.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or preparing images failed.
    #[error(transparent)]
    Data(Box<DataError>),
    /// Loading or running the model failed.
    #[error(transparent)]
    Train(Box<TrainError>),
    /// A measure could not be computed.
    #[error(transparent)]
    Metrics(Box<MetricsError>),
    /// A folder of candidates could not be scored against its originals.
    #[error(transparent)]
    Folder(Box<FolderError>),
    /// The identity measures of a dataset failed.
    #[error(transparent)]
    Gallery(Box<GalleryError>),
    /// A figure could not be drawn.
    #[error(transparent)]
    Figure(Box<FigureError>),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] fp_io::AtomicWriteError),
    /// A file stands where a folder of an output is needed.
    #[error("cannot write {}: {} is a file, expected a folder", path.display(), file.display())]
    FileInTheWay {
        /// The output.
        path: PathBuf,
        /// The file in the way.
        file: PathBuf,
    },
    /// A folder could not be created.
    #[error("cannot create {}", dir.display())]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A folder could not be removed.
    #[error("cannot remove {}", dir.display())]
    RemoveDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An image could not be encoded as PNG or written.
    #[error(transparent)]
    Png(#[from] fp_io::PngError),
    /// A figure could not be encoded as PNG.
    #[error("cannot encode {}", path.display())]
    EncodeFigure {
        /// Where it was to be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<FigureError>,
    },
    /// A figure could not be drawn.
    #[error("cannot draw {what}")]
    Draw {
        /// What it shows.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<FigureError>,
    },
    /// A folder of inputs could not be listed.
    #[error("cannot list {}", dir.display())]
    List {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Box<DataError>,
    },
    /// A folder that should hold images holds none.
    #[error("{}: no images in this folder", dir.display())]
    NoImages {
        /// The folder.
        dir: PathBuf,
    },
    /// Two inputs would be written to one output.
    #[error("two inputs would both be written to {}; restore them into separate folders", path.display())]
    SharedOutput {
        /// The output.
        path: PathBuf,
    },
    /// The dataset manifest above an image could not be read.
    #[error("cannot read the dataset manifest above {}", path.display())]
    ManifestAbove {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<DataError>,
    },
    /// The dataset a benchmark is made from could not be read.
    #[error("cannot read the dataset at {}", dir.display())]
    Dataset {
        /// Its root.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Box<DataError>,
    },
    /// The images of a run could not be loaded.
    #[error("cannot load the images under {root}")]
    LoadImages {
        /// Their root (or roots).
        root: String,
        /// Why.
        #[source]
        source: Box<DataError>,
    },
    /// The minutiae of an image could not be found.
    #[error("cannot find minutiae in {}", path.display())]
    Minutiae {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<MetricsError>,
    },
    /// The minutiae for a template file could not be found.
    #[error("cannot find the minutiae for {}", path.display())]
    TemplateMinutiae {
        /// The template file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<MetricsError>,
    },
    /// A template could not be encoded.
    #[error("cannot write {}", path.display())]
    EncodeTemplate {
        /// The template file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<TemplateError>,
    },
    /// A benchmark is to be made of no kind of damage.
    #[error("--kind: a benchmark needs at least one kind of damage")]
    NoKinds,
    /// A benchmark is to be made with a kind of damage named twice.
    #[error("--kind {kind}: given twice; name each kind once")]
    KindTwice {
        /// The kind.
        kind: &'static str,
    },
    /// A benchmark is to be made where something exists already.
    #[error("--out {}: already exists; remove it or choose another folder", path.display())]
    OutExists {
        /// The folder.
        path: PathBuf,
    },
    /// A folder given as a benchmark is not one.
    #[error(
        "{}: not a benchmark folder (no {}; make one with `fpae benchmark make`)",
        dir.display(),
        crate::benchmark::BENCHMARK_FILE
    )]
    NotABenchmark {
        /// The folder.
        dir: PathBuf,
        /// Why its description could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A benchmark's description is not valid.
    #[error("cannot read {}", path.display())]
    Spec {
        /// The description file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A severity was asked for that the benchmark does not have.
    #[error("--severity {severity}: the benchmark {benchmark} has severities {available:?}")]
    Severity {
        /// The severity asked for.
        severity: f32,
        /// The benchmark's name.
        benchmark: String,
        /// Its severities.
        available: Vec<f32>,
    },
    /// Some benchmark prints could not be restored.
    #[error("{failed} of {total} benchmark prints could not be restored")]
    RestoreFailed {
        /// How many failed.
        failed: usize,
        /// Of how many.
        total: usize,
    },
    /// A folder of a benchmark evaluation could not be scored.
    #[error("cannot score {}", path.display())]
    Score {
        /// The folder of candidates.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<EvalError>,
    },
    /// A saved benchmark evaluation is not one.
    #[error("{}: not a benchmark evaluation (fpae evaluate --benchmark writes it)", path.display())]
    NotABenchmarkEvaluation {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A run's recorded environment is not one.
    #[error("{}: not an environment record (fpae train writes it)", path.display())]
    NotAnEnvironment {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A run has no finished epoch to plot.
    #[error("{}: no finished epoch to plot yet", run_dir.display())]
    NoEpoch {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// A run's loss could not be plotted.
    #[error("cannot plot {}", run_dir.display())]
    Plot {
        /// The run directory.
        run_dir: PathBuf,
        /// Why.
        #[source]
        source: Box<FigureError>,
    },
    /// A grid of no prints was asked for.
    #[error("--grid needs at least one image")]
    EmptyGrid,
    /// Chosen damage was asked of a model that reconstructs.
    #[error(
        "--kind: {} reconstructs its inputs; damage is for a restoration model (task.kind = \"restore\")",
        checkpoint.display()
    )]
    DamageForReconstruction {
        /// The model's checkpoint.
        checkpoint: PathBuf,
    },
}

/// `From` for the boxed variants: each library's error becomes its variant of
/// [`EvalError`], boxed (they are large, and `?` should not make every result so).
macro_rules! boxed_from {
    ($($error:ty => $variant:ident),* $(,)?) => {$(
        impl From<$error> for EvalError {
            fn from(e: $error) -> Self {
                EvalError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from! {
    DataError => Data,
    TrainError => Train,
    MetricsError => Metrics,
    FolderError => Folder,
    GalleryError => Gallery,
    FigureError => Figure,
}

/// An error and its causes, outermost first, joined by `: ` (as anyhow's `{:#}` shows them).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause_outermost_first() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = EvalError::Score {
            path: "restored".into(),
            source: Box::new(EvalError::Read { path: "restored/a.json".into(), source: io }),
        };
        assert_eq!(error_chain(&err), "cannot score restored: cannot read restored/a.json: no such file");
    }
}
