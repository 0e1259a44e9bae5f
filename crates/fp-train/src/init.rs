//! The weights a new run starts from: random ones drawn from `train.seed`, or
//! trained ones (`train.init`). For the latter: finding the weights a path
//! names, checking that they are the network the configuration describes, and
//! recording which bytes they were.
//!
//! `train.init` names a model folder (`fpae export`'s output, or a checkpoint
//! such as `RUN/checkpoints/last`: `model.toml` beside `model.safetensors`) or a
//! run directory, whose `best` checkpoint is used. Only the weights are taken:
//! the optimiser, the epoch counter and the history start afresh.

use std::path::{Path, PathBuf};

use fp_model::{Autoencoder, MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, ModelConfig, ModelError};
use serde::{Deserialize, Serialize};
use tch::{Device, nn};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::run::{CONFIG_FILE, STATE_FILE};

/// The model a new run trains, before its first step.
#[derive(Debug)]
pub struct StartingModel {
    /// The variables (weights) of the model.
    pub vars: nn::VarStore,
    /// The model.
    pub model: Autoencoder,
    /// Where the weights came from, when `train.init` named them.
    pub init: Option<InitWeights>,
}

impl StartingModel {
    /// The network of `config.model` on `device` with the weights a new run
    /// starts from: those `train.init` names (checked against `config.model`
    /// first), or else drawn from `train.seed`.
    pub fn new(config: &Config, device: Device) -> Result<Self> {
        let mut start = Self::random(config, device)?;
        if let Some(source) = &config.train.init {
            let init = InitWeights::find(source, &config.model)?;
            init.load_into(&mut start.vars)?;
            start.init = Some(init);
        }
        Ok(start)
    }

    /// The network of `config.model` on `device` with weights drawn from
    /// `train.seed`, whatever `train.init` says.
    pub fn random(config: &Config, device: Device) -> Result<Self> {
        let vars = nn::VarStore::new(device);
        let model = Autoencoder::new(&vars.root(), &config.model, config.train.seed)?;
        Ok(Self { vars, model, init: None })
    }
}

/// The weights a run started from, as its checkpoints record them (in
/// `state.json`, under `init`) so that the run can be made again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitWeights {
    /// `train.init` as the configuration gives it.
    pub source: PathBuf,
    /// The model folder or checkpoint the weights were read from: `source` itself, or the
    /// `best` checkpoint under it when it is a run directory (relative when `source` is).
    pub checkpoint: PathBuf,
    /// SHA-256 of its `model.safetensors`, in lowercase hex.
    pub sha256: String,
}

impl InitWeights {
    /// Finds the weights `source` names and checks them against `model`: the
    /// `[model]` of its `model.toml` must equal `model`, and `model.safetensors`
    /// must hold exactly the tensors, by name and shape, of the network `model`
    /// builds. Returns where they are and their digest; loads nothing into a
    /// model that trains.
    pub fn find(source: &Path, model: &ModelConfig) -> Result<Self> {
        let checkpoint = model_folder(source)?;
        let wrap = |error: ModelError| TrainError::Init { path: source.to_owned(), error: Box::new(error) };
        let (found, _) = fp_model::read_model_config(&checkpoint).map_err(wrap)?;
        // Build the configured network on the CPU and load the file into it:
        // this checks every tensor's name and shape against the configuration.
        let mut scratch = nn::VarStore::new(Device::Cpu);
        Autoencoder::new(&scratch.root(), model, 0)?;
        let loaded = fp_model::load_weights(&mut scratch, &checkpoint.join(MODEL_WEIGHTS_FILE));
        if found != *model {
            return Err(TrainError::InitMismatch {
                model_file: checkpoint.join(MODEL_CONFIG_FILE),
                differences: differences(&found, model),
                weights: loaded.err().map(Box::new),
            });
        }
        loaded.map_err(wrap)?;
        let weights = checkpoint.join(MODEL_WEIGHTS_FILE);
        let sha256 = crate::collection::sha256_file(&weights).map_err(TrainError::io(&weights))?;
        // Kept as found from `source` (relative when it is, e.g. `models/restore-fvc2002`),
        // not made absolute: a run's state.json, and every model exported from it, would
        // otherwise carry the path of the machine it trained on.
        Ok(Self { source: source.to_owned(), checkpoint, sha256 })
    }

    /// The weights file.
    pub fn weights_file(&self) -> PathBuf {
        self.checkpoint.join(MODEL_WEIGHTS_FILE)
    }

    /// Copies the weights into `vars`, the variables of a model built from the
    /// `[model]` they were checked against (names and shapes are checked again).
    pub fn load_into(&self, vars: &mut nn::VarStore) -> Result<()> {
        fp_model::load_weights(vars, &self.weights_file())
            .map_err(|error| TrainError::Init { path: self.source.clone(), error: Box::new(error) })
    }

    /// The training state saved with the weights, if they have one (every
    /// checkpoint and exported model does).
    pub fn state(&self) -> Option<crate::TrainState> {
        crate::RunDir::read_state(&self.checkpoint).ok()
    }
}

/// The folder holding `model.toml` and `model.safetensors` that `source` names:
/// itself, or the `best` checkpoint of the run directory it is.
fn model_folder(source: &Path) -> Result<PathBuf> {
    if source.join(MODEL_WEIGHTS_FILE).is_file() {
        return Ok(source.to_owned());
    }
    let best = source.join("checkpoints").join(crate::Checkpoint::Best.as_str());
    if source.join(CONFIG_FILE).is_file() && best.join(STATE_FILE).is_file() {
        return Ok(best);
    }
    Err(TrainError::InitNotFound { path: source.to_owned() })
}

/// The settings in which the `[model]` of a weights file (`found`) differs from
/// the configuration's (`configured`), as `key = found there, configured in the config`.
fn differences(found: &ModelConfig, configured: &ModelConfig) -> String {
    let table = |m: &ModelConfig| toml::Table::try_from(m).expect("a model config serializes as a table");
    let (found, configured) = (table(found), table(configured));
    let mut keys: Vec<&String> = found.keys().chain(configured.keys()).collect();
    keys.sort_by_key(|k| (*k != "kind", *k));
    keys.dedup();
    let show = |v: Option<&toml::Value>| v.map_or("nothing".to_owned(), ToString::to_string);
    let differing: Vec<String> = keys
        .into_iter()
        // Another kind differs in everything; its name says enough.
        .filter(|k| found.get(*k) != configured.get(*k) && (found["kind"] == configured["kind"] || *k == "kind"))
        .map(|k| format!("{k} = {} there, {} in the config", show(found.get(k)), show(configured.get(k))))
        .collect();
    differing.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_setting_with_both_values() {
        let unet = |width: u32| -> ModelConfig {
            toml::from_str(&format!("kind = \"unet\"\nbase_width = {width}\ndepth = 2\n")).unwrap()
        };
        assert_eq!(differences(&unet(4), &unet(8)), "base_width = 4 there, 8 in the config");
        assert_eq!(
            differences(&unet(4), &ModelConfig::default()),
            "kind = \"unet\" there, \"tutorial-cae\" in the config"
        );
    }
}
