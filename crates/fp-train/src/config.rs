use std::path::{Path, PathBuf};

use fp_data::{DataConfig, ResizeMode};
use fp_model::{DeviceSpec, ModelConfig, Precision};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::loss::LossKind;
use crate::task::{TaskConfig, TaskKind};

/// A whole training configuration: the `[data]`, `[model]`, `[task]`, `[train]`
/// and `[output]` sections of a TOML file. Every section and key is optional
/// and defaults to the tutorial's setting; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Images and preprocessing.
    pub data: DataConfig,
    /// The network: `kind` and its shape.
    pub model: ModelConfig,
    /// What the network learns: to reconstruct its input, or to restore a degraded copy.
    pub task: TaskConfig,
    /// The optimisation.
    pub train: TrainConfig,
    /// Where runs are written.
    pub output: OutputConfig,
}

/// The `[train]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub learning_rate: f64,
    /// RMSprop: decay of the running mean of squared gradients.
    pub rho: f64,
    /// Adam: decay of the running mean of gradients.
    pub beta1: f64,
    /// Adam: decay of the running mean of squared gradients.
    pub beta2: f64,
    /// Added to the denominator for stability (Keras' default 1e-7).
    pub epsilon: f64,
    /// Seed of the weight initialisation and of the per-epoch shuffles.
    pub seed: u64,
    /// Start from these trained weights instead of random ones: a model folder
    /// (`fpae export`'s output), a checkpoint (`RUN/checkpoints/last`) or a run
    /// directory (its best checkpoint). `[model]` must describe the same network.
    /// The optimiser, epochs and history start afresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
    /// Stop when the validation loss has not improved for this many epochs.
    pub patience: Option<usize>,
    /// Where to train.
    pub device: DeviceSpec,
    /// `f32`, `bf16` mixed precision, or `auto` (bf16 where the hardware runs it natively).
    pub precision: Precision,
    /// What is minimised: `mse` (the tutorial), `l1`, `ssim+l1` or `ssim+l1+orientation`.
    pub loss: LossKind,
}

impl Default for TrainConfig {
    /// The tutorial: RMSprop with Keras' defaults (lr 0.001, rho 0.9, epsilon 1e-7),
    /// batch 128, 300 epochs.
    fn default() -> Self {
        Self {
            epochs: 300,
            batch_size: 128,
            optimizer: OptimizerKind::Rmsprop,
            learning_rate: 1e-3,
            rho: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            seed: 13,
            init: None,
            patience: None,
            device: DeviceSpec::Auto,
            precision: Precision::Auto,
            loss: LossKind::Mse,
        }
    }
}

/// The optimisers on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// RMSprop as in Keras 2 and LibTorch: `p -= lr * g / (sqrt(v) + eps)`.
    Rmsprop,
    /// Adam as in LibTorch, with bias correction.
    Adam,
}

/// The `[output]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Folder that holds the run directories.
    pub runs_dir: PathBuf,
    /// Name of runs; default: the config file's name.
    pub name: Option<String>,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { runs_dir: PathBuf::from("runs"), name: None }
    }
}

impl Config {
    /// Reads a config file, applies `KEY=VALUE` overrides (`train.epochs=5`),
    /// and validates the result.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(TrainError::io(path))?;
        Self::from_toml(&text, overrides, path)
    }

    /// Parses config text (`origin` names it in errors), then overrides and validates.
    pub fn from_toml(text: &str, overrides: &[String], origin: &Path) -> Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|source| TrainError::ConfigFile { path: origin.to_owned(), source })?;
        for item in overrides {
            apply_override(&mut table, item)?;
        }
        check_kind(&table, "model", &fp_model::ModelConfig::KINDS)?;
        check_kind(&table, "task", TaskKind::NAMES)?;
        // Parse through text so that errors point at the offending line and key.
        let merged = toml::to_string(&table).expect("a TOML table serializes");
        let config: Config =
            toml::from_str(&merged).map_err(|source| TrainError::ConfigFile { path: origin.to_owned(), source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting against its allowed range.
    pub fn validate(&self) -> Result<()> {
        self.data.validate()?;
        self.model.validate()?;
        // The model checked itself above; what is left is the training input, a setting of [data].
        self.model.validate_input(self.training_input()).map_err(|e| TrainError::InvalidSetting {
            field: match self.data.resize {
                ResizeMode::None => "data.crop",
                _ => "data.height, data.width",
            },
            expected: e.to_string(),
        })?;
        self.task.validate()?;
        let t = &self.train;
        let bad = |field, expected: String| Err(TrainError::InvalidSetting { field, expected });
        if !(1..=1_000_000).contains(&t.epochs) {
            return bad("train.epochs", format!("expected 1..=1000000, got {}", t.epochs));
        }
        if !(1..=65_536).contains(&t.batch_size) {
            return bad("train.batch_size", format!("expected 1..=65536, got {}", t.batch_size));
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0 && t.learning_rate <= 10.0) {
            return bad("train.learning_rate", format!("expected a number in (0, 10], got {}", t.learning_rate));
        }
        for (field, v) in [("train.rho", t.rho), ("train.beta1", t.beta1), ("train.beta2", t.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return bad(field, format!("expected a number in [0, 1), got {v}"));
            }
        }
        if !(t.epsilon.is_finite() && t.epsilon > 0.0 && t.epsilon <= 1.0) {
            return bad("train.epsilon", format!("expected a number in (0, 1], got {}", t.epsilon));
        }
        if t.init.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return bad("train.init", "expected a model folder, checkpoint or run directory, got \"\"".into());
        }
        if t.patience == Some(0) {
            return bad("train.patience", "expected at least 1 epoch (leave it out to disable)".into());
        }
        if let Some(name) = &self.output.name
            && (name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.'))
        {
            return bad("output.name", format!("expected a plain folder name, got {name:?}"));
        }
        Ok(())
    }

    /// The size of the images the model trains on: the data's size, or the
    /// crop side at native resolution.
    pub fn training_input(&self) -> fp_model::InputSize {
        match self.data.resize {
            ResizeMode::None => {
                fp_model::InputSize { height: i64::from(self.data.crop), width: i64::from(self.data.crop) }
            }
            _ => fp_model::InputSize { height: i64::from(self.data.height), width: i64::from(self.data.width) },
        }
    }

    /// The resolved configuration as TOML, as written into run directories.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the config serializes")
    }
}

/// A `kind` that names no known variant is an error naming `section.kind` and
/// the allowed values, before serde's less specific message.
fn check_kind(table: &toml::Table, section: &'static str, allowed: &[&str]) -> Result<()> {
    let kind = table.get(section).and_then(|s| s.get("kind"));
    match kind {
        None => Ok(()),
        Some(toml::Value::String(k)) if allowed.contains(&k.as_str()) => Ok(()),
        Some(other) => {
            let list = allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            let field = if section == "model" { "model.kind" } else { "task.kind" };
            Err(TrainError::InvalidSetting { field, expected: format!("expected one of {list}, got {other}") })
        }
    }
}

/// Sets `section.key = value` in `table`; the value is read as TOML (`5`, `0.1`,
/// `true`, `[8, 16]`, `"text"`), else a bracketed list that is not TOML as a list
/// of plain strings (`[data/a, data/b]`, what a shell leaves of `["data/a","data/b"]`
/// unquoted), else as a plain string.
fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    let (key, raw) = item
        .split_once('=')
        .ok_or_else(|| TrainError::Override(format!("{item:?}: expected KEY=VALUE, e.g. train.epochs=5")))?;
    let key = key.trim();
    let path: Vec<&str> = key.split('.').collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(TrainError::Override(format!("{item:?}: expected a key like train.epochs")));
    }
    let value = toml::from_str::<toml::Table>(&format!("v = {}", raw.trim()))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .or_else(|| plain_list(raw.trim()))
        .unwrap_or_else(|| toml::Value::String(raw.trim().to_owned()));
    let mut node = table;
    for part in &path[..path.len() - 1] {
        let entry = node.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node =
            entry.as_table_mut().ok_or_else(|| TrainError::Override(format!("{item:?}: {part} is not a section")))?;
    }
    node.insert(path[path.len() - 1].to_owned(), value);
    Ok(())
}

/// `[a, b]` as a TOML array of the strings `a` and `b`; `None` unless `raw` is bracketed.
fn plain_list(raw: &str) -> Option<toml::Value> {
    let items = raw.strip_prefix('[')?.strip_suffix(']')?;
    let items = items.split(',').map(str::trim).filter(|s| !s.is_empty());
    Some(toml::Value::Array(items.map(|s| toml::Value::String(s.to_owned())).collect()))
}

/// Where the config files shipped with the project live, for tests.
pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, overrides: &[&str]) -> Result<Config> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Config::from_toml(text, &overrides, Path::new("test.toml"))
    }

    fn err(text: &str, overrides: &[&str]) -> String {
        let e = parse(text, overrides).unwrap_err();
        let mut s = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            s.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        s
    }

    #[test]
    fn empty_file_is_the_tutorial() {
        let c = parse("", &[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!((c.data.height, c.data.width, c.data.seed), (224, 224, 13));
        assert_eq!((c.train.batch_size, c.train.epochs, c.train.optimizer), (128, 300, OptimizerKind::Rmsprop));
        assert_eq!((c.train.learning_rate, c.train.rho, c.train.epsilon), (1e-3, 0.9, 1e-7));
        assert_eq!(c.model, ModelConfig::default());
        assert_eq!(c.task, TaskConfig::default());
    }

    #[test]
    fn unknown_model_kinds_and_tasks_name_the_field_and_the_allowed_values() {
        assert_eq!(
            err("[model]\nkind = \"resnet\"\n", &[]),
            "model.kind: expected one of `tutorial-cae`, `unet`, got \"resnet\""
        );
        assert_eq!(
            err("", &["task.kind=denoise"]),
            "task.kind: expected one of `reconstruct`, `restore`, got \"denoise\""
        );
        let e = err("[model]\nkind = \"unet\"\nfilters = [8]\n", &[]);
        assert!(e.contains("unknown field `filters`"), "{e}");
        let e = err("[task]\nkind = \"restore\"\n", &[]);
        assert!(e.starts_with("task.degradations: "), "{e}");
        let c = parse(
            "[model]\nkind = \"unet\"\n[task]\nkind = \"restore\"\n[[task.degradations]]\nkind = \"noise\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.model.kind_name(), "unet");
        assert_eq!(c.task.kind, TaskKind::Restore);
        // A composition of the steps: checked against them and the task.
        let restore = "[task]\nkind = \"restore\"\n[[task.degradations]]\nkind = \"noise\"\n[[task.degradations]]\nkind = \"jpeg\"\n";
        let c = parse(restore, &["task.compose=[1, 2]"]).unwrap();
        assert_eq!(c.task.compose, Some([1, 2]));
        let e = err(restore, &["task.compose=[1, 3]"]);
        assert!(e.starts_with("task.compose: ") && e.contains("1 <= most <= 2"), "{e}");
        let e = err("", &["task.compose=[1, 1]"]);
        assert!(e.starts_with("task.compose: only a restore task"), "{e}");
    }

    #[test]
    fn overrides_set_nested_keys_with_toml_values() {
        let c =
            parse("[train]\nepochs = 3\n", &["train.epochs=5", "model.filters=[8, 16]", "data.root=some/dir"]).unwrap();
        assert_eq!(c.train.epochs, 5);
        assert_eq!(
            c.model,
            ModelConfig::TutorialCae(fp_model::TutorialCaeConfig { filters: vec![8, 16], kernel_size: 3 })
        );
        assert_eq!(c.data.root, PathBuf::from("some/dir").into());
        assert!(err("", &["train.epochs"]).contains("expected KEY=VALUE"));
    }

    #[test]
    fn lists_of_folders_can_be_set_quoted_as_toml_or_bare() {
        let two: fp_data::Roots = vec![PathBuf::from("data/fvc2002"), PathBuf::from("data/fvc2000")].into();
        let quoted = parse("", &[r#"data.root=["data/fvc2002", "data/fvc2000"]"#]).unwrap();
        assert_eq!(quoted.data.root, two);
        let bare = parse("", &["data.root=[data/fvc2002,data/fvc2000]"]).unwrap();
        assert_eq!(bare.data.root, two);
        let init = parse("", &["train.init=models/restore-fvc2002"]).unwrap();
        assert_eq!(init.train.init, Some(PathBuf::from("models/restore-fvc2002")));
        assert!(init.to_toml().contains("init = \"models/restore-fvc2002\""));
        assert!(!Config::default().to_toml().contains("init"), "no init, no key");
        assert_eq!(
            err("", &["train.init="]),
            "train.init: expected a model folder, checkpoint or run directory, got \"\""
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_field() {
        let e = err("[train]\nepoch = 3\n", &[]);
        assert!(e.starts_with("test.toml: invalid configuration") && e.contains("unknown field `epoch`"), "{e}");
        let e = err("[trian]\n", &[]);
        assert!(e.contains("unknown field `trian`"), "{e}");
        assert_eq!(err("", &["train.batch_size=0"]), "train.batch_size: expected 1..=65536, got 0");
        assert_eq!(err("", &["train.rho=1.5"]), "train.rho: expected a number in [0, 1), got 1.5");
        assert_eq!(
            err("", &["data.height=222"]),
            "data.height, data.width: input size 222x224 must be divisible by 4 (2 pooling layers halve it)"
        );
        let e = err("[train]\noptimizer = \"sgd\"\n", &[]);
        assert!(e.contains("unknown variant `sgd`"), "{e}");
        let e = err("[train]\nepochs = \"many\"\n", &[]);
        assert!(e.contains("epochs") && e.contains("invalid type"), "{e}");
    }

    #[test]
    fn every_shipped_config_parses() {
        let mut n = 0;
        for entry in std::fs::read_dir(configs_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 4, "expected default, quick, native-cae and native-unet");
        let default = Config::load(&configs_dir().join("default.toml"), &[]).unwrap();
        assert_eq!(default.train, TrainConfig::default());
        assert_eq!(default.data, DataConfig::default());
        assert_eq!(default.model, ModelConfig::default());
        assert_eq!(default.task, TaskConfig::default());
    }
}
