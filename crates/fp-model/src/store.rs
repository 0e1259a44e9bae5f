//! A model as one self-describing directory: `model.safetensors` (the
//! weights) beside `model.toml` (the input size and the `[model]` config that
//! rebuilds the network), each written atomically.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor, nn};

use crate::config::{InputSize, ModelConfig};
use crate::error::{ModelError, Result};
use crate::model::Autoencoder;

/// File name of a saved model's weights.
pub const MODEL_WEIGHTS_FILE: &str = "model.safetensors";
/// File name of a saved model's description.
pub const MODEL_CONFIG_FILE: &str = "model.toml";

/// What `model.toml` holds: enough to rebuild the model without anything else.
/// Files written before there were model kinds have no `model.kind`, and load
/// as the tutorial's network they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    input: InputSize,
    model: ModelConfig,
}

/// A model loaded from a directory, with the variables that hold its weights.
#[derive(Debug)]
pub struct SavedModel {
    /// The variables (weights) of the model.
    pub vars: nn::VarStore,
    /// The model.
    pub model: Autoencoder,
    /// The input size it was trained at.
    pub input: InputSize,
}

/// Saves a model into `dir` (created if needed) as `model.safetensors` and
/// `model.toml`, each written atomically. The weights are every variable of
/// `vars`, batch normalisation's running statistics included.
pub fn save(dir: &Path, vars: &nn::VarStore, config: &ModelConfig, input: InputSize) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io(fp_io::FileError::new(dir.to_owned(), source)))?;
    let weights = dir.join(MODEL_WEIGHTS_FILE);
    fp_io::write_atomically(&weights, |tmp| {
        // Weights may be in channels-last layout; files hold them contiguous.
        let named: Vec<(String, Tensor)> = vars.variables().into_iter().map(|(n, t)| (n, t.contiguous())).collect();
        Tensor::write_safetensors(&named, tmp)
            .map_err(|source| ModelError::Torch { context: format!("cannot write {}", weights.display()), source })
    })?;
    let text = toml::to_string(&ModelFile { input, model: config.clone() }).expect("model config serializes");
    Ok(fp_io::write_file_atomically(&dir.join(MODEL_CONFIG_FILE), text)?)
}

/// Loads the model saved in `dir` onto `device`, of whatever kind `model.toml` says.
pub fn load(dir: &Path, device: Device) -> Result<SavedModel> {
    let (model_config, input) = read_model_config(dir)?;
    let weights = dir.join(MODEL_WEIGHTS_FILE);
    check_weights_size(&weights, &model_config)?;
    let mut vars = nn::VarStore::new(device);
    let model = Autoencoder::new(&vars.root(), &model_config, 0)?;
    load_weights(&mut vars, &weights)?;
    Ok(SavedModel { vars, model, input })
}

/// Checks, before any variable is allocated, that the weights file has at
/// least one byte per parameter of the network `config` describes: no tensor
/// type takes less, so a smaller file cannot hold the weights. Without it, a
/// `model.toml` describing a huge network beside a small weights file would
/// allocate (and initialise) gigabytes before the mismatch showed. A file that
/// is too small because it is damaged is reported as damaged.
fn check_weights_size(path: &Path, config: &ModelConfig) -> Result<()> {
    let io_err = |source| ModelError::Io(fp_io::FileError::new(path.to_owned(), source));
    let bytes = std::fs::metadata(path).map_err(io_err)?.len();
    let parameters: u64 =
        config.graph().variables().iter().flatten().map(|v| u64::try_from(v.numel()).unwrap_or(u64::MAX)).sum();
    if parameters <= bytes {
        return Ok(());
    }
    if let Some(problem) = safetensors_problem(&std::fs::read(path).map_err(io_err)?) {
        return Err(ModelError::CorruptWeights { path: path.to_owned(), problem });
    }
    Err(ModelError::WeightsTooSmall { path: path.to_owned(), parameters, bytes })
}

/// Reads and checks `model.toml` of the model saved in `dir`: the network it
/// describes and the input size it was trained at.
pub fn read_model_config(dir: &Path) -> Result<(ModelConfig, InputSize)> {
    let config_path = dir.join(MODEL_CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path)
        .map_err(|source| ModelError::Io(fp_io::FileError::new(config_path.clone(), source)))?;
    let file: ModelFile =
        toml::from_str(&text).map_err(|source| ModelError::ConfigFile { path: config_path, source })?;
    file.model.validate_input(file.input)?;
    Ok((file.model, file.input))
}

/// Copies the tensors of a safetensors file into `vars`, checking first that the
/// file has exactly the variables' names and shapes.
pub fn load_weights(vars: &mut nn::VarStore, path: &Path) -> Result<()> {
    let variables = vars.variables();
    if !path.is_file() {
        return Err(ModelError::Io(fp_io::FileError::new(path, std::io::ErrorKind::NotFound.into())));
    }
    let mut tensors = read_tensors(path)?;
    // Check in name order, so the error names the same tensor every time.
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let names: BTreeSet<&String> = tensors.iter().map(|(n, _)| n).collect();
    if let Some(name) = names.iter().find(|n| !variables.contains_key(**n)) {
        return Err(ModelError::UnexpectedTensor { path: path.to_owned(), name: (*name).clone() });
    }
    let mut wanted: Vec<&String> = variables.keys().collect();
    wanted.sort();
    if let Some(name) = wanted.iter().find(|n| !names.contains(**n)) {
        return Err(ModelError::MissingTensor { path: path.to_owned(), name: (*name).clone() });
    }
    for (name, src) in &tensors {
        let dst = &variables[name];
        if src.size() != dst.size() {
            return Err(ModelError::ShapeMismatch {
                path: path.to_owned(),
                name: name.clone(),
                expected: dst.size(),
                found: src.size(),
            });
        }
    }
    tch::no_grad(|| {
        for (name, src) in &tensors {
            let mut dst = variables[name].shallow_clone();
            dst.copy_(&src.to_device(dst.device()).to_kind(dst.kind()));
        }
    });
    Ok(())
}

/// Saves named tensors (e.g. optimizer state) to a safetensors file atomically.
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let contiguous: Vec<(&str, Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t.contiguous())).collect();
    fp_io::write_atomically(path, |tmp| {
        Tensor::write_safetensors(&contiguous, tmp)
            .map_err(|source| ModelError::Torch { context: format!("cannot write {}", path.display()), source })
    })
}

/// Reads every tensor of a safetensors file.
pub fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io(fp_io::FileError::new(path.to_owned(), source)))?;
    if let Some(problem) = safetensors_problem(&bytes) {
        return Err(ModelError::CorruptWeights { path: path.to_owned(), problem });
    }
    Tensor::read_safetensors(path)
        .map_err(|source| ModelError::Torch { context: format!("cannot read {}", path.display()), source })
}

/// What makes `bytes` unreadable as a safetensors file, in words, if anything:
/// an 8-byte little-endian header length, a JSON header of that length, then
/// every tensor's bytes at the offsets the header gives.
fn safetensors_problem(bytes: &[u8]) -> Option<String> {
    let Some(length) = bytes.get(..8) else {
        return Some(format!("{} bytes, shorter than the 8-byte header length", bytes.len()));
    };
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let available = bytes.len() as u64 - 8;
    if length > available {
        return Some(format!("the header claims {length} bytes but only {available} follow: truncated"));
    }
    let header: serde_json::Value = match serde_json::from_slice(&bytes[8..8 + length as usize]) {
        Ok(header) => header,
        Err(e) => return Some(format!("the header is not valid JSON: {e}")),
    };
    let Some(entries) = header.as_object() else { return Some("the header is not a JSON object".to_owned()) };
    let data = available - length;
    let mut needed = 0u64;
    for (name, entry) in entries.iter().filter(|(name, _)| name.as_str() != "__metadata__") {
        let end = entry.get("data_offsets").and_then(|o| o.get(1)).and_then(serde_json::Value::as_u64);
        match end {
            Some(end) => needed = needed.max(end),
            None => return Some(format!("tensor {name:?} has no data_offsets")),
        }
    }
    (needed > data).then(|| format!("the tensors need {needed} bytes of data but only {data} are there: truncated"))
}
