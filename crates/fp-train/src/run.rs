//! Run directories and checkpoints.
//!
//! ```text
//! runs/<name>-<timestamp>/
//!   config.toml              the resolved configuration
//!   history.csv, .jsonl      one row per finished epoch
//!   train.log                what happened, in plain lines
//!   checkpoints/
//!     step-000123/           model.safetensors, model.toml, optimizer.safetensors, state.json
//!     last -> step-000123    the newest checkpoint
//!     best -> step-000096    the one with the lowest validation loss
//! ```
//!
//! A checkpoint directory is written under a temporary name and renamed; the
//! `last` and `best` links are replaced by renaming a new link over them. Both
//! are atomic, so killing the process at any moment leaves every link pointing
//! at a whole checkpoint. What a kill can leave besides, `RunDir::recover`
//! tidies when the run is resumed: temporaries, a checkpoint no link points at,
//! and a `best` link one step behind `last`. A write that fails (a full disk)
//! removes its temporaries and returns an error naming the file, leaving the
//! previous checkpoint as it was.
//!
//! The storage points marked with `fault::reach` are where the tests inject
//! kills and write errors (see [`crate::fault`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use fp_data::AppliedScaling;
use fp_model::{InputSize, ModelConfig};
use serde::{Deserialize, Serialize};
use tch::nn;

use crate::config::{Config, TrainConfig};
use crate::error::{Result, TrainError};
use crate::fault::{self, FaultPoint};
use crate::history::EpochRecord;
use crate::init::InitWeights;
use crate::optim::Optimizer;

/// File name of the resolved configuration in a run directory.
pub const CONFIG_FILE: &str = "config.toml";
/// File name of the optimiser state in a checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File name of the training state in a checkpoint.
pub const STATE_FILE: &str = "state.json";

/// File in a run directory that the process writing the run holds locked.
pub const LOCK_FILE: &str = ".lock";

/// Which checkpoint of a run: each is a link of this name under `checkpoints/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// The one with the lowest validation loss.
    Best,
    /// The newest.
    Last,
}

impl Checkpoint {
    /// Both, best first.
    pub const ALL: [Checkpoint; 2] = [Checkpoint::Best, Checkpoint::Last];

    /// The link's name, and how commands and messages name the checkpoint.
    pub const fn as_str(self) -> &'static str {
        match self {
            Checkpoint::Best => "best",
            Checkpoint::Last => "last",
        }
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a training run keeps everything it writes.
///
/// A `RunDir` made by [`create`](Self::create) or [`open_for_resume`](Self::open_for_resume)
/// is the run's only writer: it holds an exclusive lock on `.lock` in the
/// directory (an OS file lock, released by the kernel when the process ends,
/// however it ends, so a killed run never leaves a stale lock). A second writer is
/// refused with an error naming the process that holds it. [`open`](Self::open)
/// only reads and takes no lock.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    /// The locked file, held for as long as any clone of this value lives.
    lock: Option<std::sync::Arc<std::fs::File>>,
}

/// Everything besides weights that resuming needs, saved in each checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Fully finished epochs.
    pub epochs_done: usize,
    /// Batches already done of the next epoch (non-zero only after an interruption).
    pub batches_done: usize,
    /// Sum of per-image training losses over those batches.
    pub partial_loss_sum: f64,
    /// Seconds spent on those batches.
    pub partial_seconds: f64,
    /// Optimiser steps taken in total.
    pub steps: usize,
    /// Lowest validation loss so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// The history up to `epochs_done`.
    pub history: Vec<EpochRecord>,
    /// How the training images were scaled, to scale new images the same way.
    pub scaling: AppliedScaling,
    /// The trained weights the run started from (`train.init`), with their digest;
    /// `None` for random initialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitWeights>,
}

impl TrainState {
    /// The state before the first step, for data scaled by `scaling`.
    pub fn new(scaling: AppliedScaling) -> Self {
        Self {
            epochs_done: 0,
            batches_done: 0,
            partial_loss_sum: 0.0,
            partial_seconds: 0.0,
            steps: 0,
            best: None,
            history: Vec::new(),
            scaling,
            init: None,
        }
    }
}

impl RunDir {
    /// `<runs_dir>/<name>-<YYYYmmdd-HHMMSS>`, the name being `output.name` or the config file's stem.
    pub fn default_path(config: &Config, config_file: &Path) -> PathBuf {
        let name = config
            .output
            .name
            .clone()
            .or_else(|| config_file.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "run".to_owned());
        let stamp = jiff::ZonedDateTime::now().strftime("%Y%m%d-%H%M%S").to_string();
        config.output.runs_dir.join(format!("{name}-{stamp}"))
    }

    /// Creates a new run directory and writes the resolved config into it. A
    /// directory that already holds a run is refused (resume it instead).
    pub fn create(path: &Path, config: &Config) -> Result<Self> {
        let already = || TrainError::RunDir {
            path: path.to_owned(),
            reason: "already holds a run; continue it with `--resume`, or choose another directory".into(),
        };
        if path.exists() && !path.is_dir() {
            return Err(TrainError::RunDir { path: path.to_owned(), reason: "is a file, expected a folder".into() });
        }
        if path.join(CONFIG_FILE).exists() {
            return Err(already());
        }
        let checkpoints = path.join("checkpoints");
        std::fs::create_dir_all(&checkpoints).map_err(TrainError::io(&checkpoints))?;
        let lock = lock(path)?;
        // Checked again under the lock: another process may have created it meanwhile.
        if path.join(CONFIG_FILE).exists() {
            return Err(already());
        }
        let run = Self { path: path.to_owned(), lock: Some(lock) };
        // What an earlier attempt, killed before it wrote the config, may have left.
        run.recover()?;
        fp_io::write_file_atomically(&path.join(CONFIG_FILE), config.to_toml())?;
        Ok(run)
    }

    /// Opens an existing run directory and reads its config with `overrides`.
    pub fn open(path: &Path, overrides: &[String]) -> Result<(Self, Config)> {
        let config_path = path.join(CONFIG_FILE);
        if !config_path.is_file() {
            return Err(TrainError::RunDir {
                path: path.to_owned(),
                reason: format!("no {CONFIG_FILE}: not a run directory"),
            });
        }
        let config = Config::load(&config_path, overrides)?;
        Ok((Self { path: path.to_owned(), lock: None }, config))
    }

    /// Opens a run to continue it. Only `train.epochs`, `train.patience`,
    /// `train.device` and `train.precision` may be changed by `overrides`:
    /// anything else would make the continuation a different experiment. The
    /// updated config is written back.
    pub fn open_for_resume(path: &Path, overrides: &[String]) -> Result<(Self, Config)> {
        Self::open_for_resume_with(path, overrides, |_| {})
    }

    /// Like [`open_for_resume`](Self::open_for_resume), and `adjust` may change
    /// the same four settings as typed values (the command line's `--device`
    /// and `--precision`).
    pub fn open_for_resume_with(
        path: &Path,
        overrides: &[String],
        adjust: impl FnOnce(&mut TrainConfig),
    ) -> Result<(Self, Config)> {
        let (mut run, original) = Self::open(path, &[])?;
        run.lock = Some(lock(path)?);
        run.recover()?;
        let mut config = Config::load(&path.join(CONFIG_FILE), overrides)?;
        adjust(&mut config.train);
        let mut comparable = config.clone();
        comparable.train.epochs = original.train.epochs;
        comparable.train.patience = original.train.patience;
        comparable.train.device = original.train.device;
        comparable.train.precision = original.train.precision;
        if comparable != original {
            return Err(TrainError::RunDir {
                path: path.to_owned(),
                reason: "only train.epochs, train.patience, train.device and train.precision can change when resuming"
                    .into(),
            });
        }
        config.validate()?;
        if config != original {
            fp_io::write_file_atomically(&path.join(CONFIG_FILE), config.to_toml())?;
        }
        Ok((run, config))
    }

    /// The run directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `checkpoints/last` or `checkpoints/best`.
    pub fn checkpoint(&self, which: Checkpoint) -> PathBuf {
        self.path.join("checkpoints").join(which.as_str())
    }

    /// The newest checkpoint, if one was written.
    pub fn last_checkpoint(&self) -> Option<PathBuf> {
        let p = self.checkpoint(Checkpoint::Last);
        p.join(STATE_FILE).is_file().then_some(p)
    }

    /// Appends a line to `train.log`.
    pub fn log(&self, line: &str) {
        let path = self.path.join("train.log");
        let stamp = jiff::ZonedDateTime::now().strftime("%Y-%m-%d %H:%M:%S").to_string();
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{stamp} {line}"));
        if let Err(e) = result {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }

    /// Writes a checkpoint and points `last` (and `best` when `is_best`) at it.
    ///
    /// On an error (a full disk, a read-only directory) nothing of the new
    /// checkpoint is left unless `last` already points at it, and the error
    /// names the file that could not be written.
    #[allow(clippy::too_many_arguments)]
    pub fn save_checkpoint(
        &self,
        vars: &nn::VarStore,
        model: &ModelConfig,
        input: InputSize,
        optimizer: &Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> Result<PathBuf> {
        let dir = self.path.join("checkpoints");
        let name = format!("step-{:06}", state.steps);
        let final_dir = dir.join(&name);
        let tmp = fp_io::temporary_path(&final_dir);
        let written = (|| -> Result<()> {
            fp_model::save(&tmp, vars, model, input)?;
            fault::reach(FaultPoint::CheckpointAfterWeights, &tmp.join(OPTIMIZER_FILE))?;
            fp_model::save_tensors(&tmp.join(OPTIMIZER_FILE), &optimizer.state_tensors())?;
            fault::reach(FaultPoint::CheckpointAfterOptimizer, &tmp.join(STATE_FILE))?;
            let json = serde_json::to_string_pretty(state).expect("the state serializes");
            fp_io::write_file_atomically(&tmp.join(STATE_FILE), json)?;
            fault::reach(FaultPoint::CheckpointBeforeRename, &final_dir)?;
            if final_dir.exists() {
                // The same step saved again, by a run resumed from an earlier checkpoint: no
                // link points at it (`recover` removes such checkpoints; this is in case).
                std::fs::remove_dir_all(&final_dir).map_err(TrainError::io(&final_dir))?;
            }
            std::fs::rename(&tmp, &final_dir).map_err(TrainError::io(&final_dir))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        fp_io::sync_dir(&dir);
        let linked = fault::reach(FaultPoint::CheckpointBeforeLinks, &dir.join(Checkpoint::Last.as_str()))
            .and_then(|()| point_link(&dir, Checkpoint::Last.as_str(), &name));
        if let Err(e) = linked {
            // Nothing points at the new checkpoint: it goes, and `last` stays the previous one.
            let _ = std::fs::remove_dir_all(&final_dir);
            return Err(e);
        }
        if is_best {
            fault::reach(FaultPoint::CheckpointBetweenLinks, &dir.join(Checkpoint::Best.as_str()))?;
            point_link(&dir, Checkpoint::Best.as_str(), &name)?;
        }
        self.prune(&dir);
        Ok(final_dir)
    }

    /// Removes checkpoint directories that neither `last` nor `best` points at.
    /// Best effort: what is left is removed next time.
    fn prune(&self, dir: &Path) {
        let keep: Vec<PathBuf> =
            Checkpoint::ALL.iter().filter_map(|l| std::fs::read_link(dir.join(l.as_str())).ok()).collect();
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_step = name.to_string_lossy().starts_with("step-");
            if is_step && !keep.iter().any(|k| k.as_os_str() == name) {
                // `state.json` first: a checkpoint half removed is never taken for a whole one.
                let _ = std::fs::remove_file(entry.path().join(STATE_FILE));
                if fault::reach(FaultPoint::PruneMidRemove, &entry.path()).is_err() {
                    return;
                }
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Tidies what a writer killed at any moment can leave in the run, so that
    /// it continues as if it had never been interrupted: removes temporaries
    /// (in the run directory and `checkpoints/`), points `best` at the last
    /// checkpoint when that one was the best (the kill came between the two
    /// links), and removes checkpoints that no link points at. Called by
    /// [`create`](Self::create) and [`open_for_resume`](Self::open_for_resume)
    /// under the run's lock, so no live writer's temporaries are touched.
    fn recover(&self) -> Result<()> {
        let dir = self.path.join("checkpoints");
        for folder in [&self.path, &dir] {
            if !folder.is_dir() {
                continue;
            }
            let removed = fp_io::remove_temporaries(folder).map_err(TrainError::io(folder))?;
            for path in removed {
                tracing::info!("removed {}, left by an interrupted write", path.display());
                self.log(&format!("removed {}, left by an interrupted write", path.display()));
            }
        }
        if let Some(last) = self.last_checkpoint() {
            let state = Self::read_state(&last)?;
            let last_is_best = state.batches_done == 0 && state.best.is_some_and(|(_, e)| e == state.epochs_done);
            let target = std::fs::read_link(&last).map_err(TrainError::io(&last))?;
            let best = std::fs::read_link(dir.join(Checkpoint::Best.as_str())).ok();
            if last_is_best && best.as_ref() != Some(&target) {
                point_link(&dir, Checkpoint::Best.as_str(), &target.to_string_lossy())?;
                self.log(&format!(
                    "pointed checkpoints/best at {}, as the interrupted writer was about to",
                    target.display()
                ));
            }
        }
        if dir.is_dir() {
            self.prune(&dir);
        }
        Ok(())
    }

    /// Reads the training state of a checkpoint.
    pub fn read_state(checkpoint: &Path) -> Result<TrainState> {
        let path = checkpoint.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(TrainError::io(&path))?;
        serde_json::from_str(&text).map_err(|source| TrainError::State { path, source })
    }
}

/// Takes the exclusive lock of the run directory `dir`, writing this process's
/// id into the lock file so that a refused writer can say who holds it.
fn lock(dir: &Path) -> Result<std::sync::Arc<std::fs::File>> {
    use std::io::{Read, Seek};
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(TrainError::io(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { "another process".to_owned() } else { format!("process {holder}") };
            return Err(TrainError::RunDir {
                path: dir.to_owned(),
                reason: format!(
                    "is in use by {who}, which is writing this run; wait for it to finish or stop it first"
                ),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(TrainError::io(&path)(e)),
    }
    let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| {
        use std::io::Write;
        writeln!(file, "{}", std::process::id())
    });
    written.map_err(TrainError::io(&path))?;
    Ok(std::sync::Arc::new(file))
}

/// Atomically points `dir/link` at `target` (a name inside `dir`).
fn point_link(dir: &Path, link: &str, target: &str) -> Result<()> {
    let path = dir.join(link);
    let tmp = fp_io::temporary_path(&path);
    symlink(Path::new(target), &tmp).map_err(TrainError::io(&tmp))?;
    let renamed = fault::reach(FaultPoint::LinkBeforeRename, &path)
        .and_then(|()| std::fs::rename(&tmp, &path).map_err(TrainError::io(&path)));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    fp_io::sync_dir(dir);
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("checkpoint links need a Unix file system"))
}
