//! The training loop: epochs of shuffled batches, validation, checkpoints,
//! early stopping and interruption.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use fp_data::{Dataset, Split};
use fp_model::{Autoencoder, Placement};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::history::{self, EpochRecord};
use crate::init::{InitWeights, StartingModel};
use crate::loss::LossKind;
use crate::optim::Optimizer;
use crate::run::{OPTIMIZER_FILE, RunDir, TrainState};
use crate::task::{Batch, Pairs};

/// Receives progress as training goes; every method does nothing by default.
pub trait Observer {
    /// An epoch begins (1-based), with its number of batches; `first_batch` > 0 when resuming mid-epoch.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize, _batches: usize, _first_batch: usize) {}
    /// A batch finished; `running_loss` is the epoch's mean training loss so far.
    fn batch_finished(&mut self, _batch: usize, _running_loss: f64) {}
    /// An epoch finished and was checkpointed.
    fn epoch_finished(&mut self, _record: &EpochRecord, _improved: bool) {}
}

/// An [`Observer`] that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;
impl Observer for Silent {}

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All configured epochs ran.
    Completed {
        /// Epochs done.
        epochs: usize,
    },
    /// The validation loss stopped improving for `patience` epochs.
    EarlyStopped {
        /// Epochs done.
        epochs: usize,
        /// Epoch with the lowest validation loss.
        best_epoch: usize,
    },
    /// A stop was requested; a checkpoint was written after the current batch.
    Interrupted {
        /// Epochs fully done.
        epochs: usize,
        /// Batches done of the next epoch.
        batches: usize,
    },
}

/// The order of the training samples in `epoch` (1-based): a seeded shuffle of its
/// own, so any epoch's order can be rebuilt when resuming (and `fpae pairs`
/// visits the samples in the same order).
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(&mut rng);
    order
}

/// One optimisation step on `batch`: forward, loss against the target,
/// backward, update. Returns the batch's loss (before the update). A NaN loss
/// is stepped on like any other; the caller decides what to do about it.
pub fn train_step(model: &Autoencoder, optimizer: &mut Optimizer, loss: LossKind, batch: &Batch) -> Tensor {
    optimizer.zero_grad();
    let value = loss.compute(&model.forward_t(&batch.input, true), &batch.target);
    value.backward();
    optimizer.step();
    value.detach()
}

/// Mean loss of `model` over validation `batches` (whole images, any size),
/// weighted by images, without gradients.
pub fn mean_loss(model: &Autoencoder, loss: LossKind, batches: &[(Vec<usize>, Batch)]) -> f64 {
    tch::no_grad(|| {
        let mut sum = 0.0;
        let mut images = 0;
        for (indices, batch) in batches {
            let output = model.forward_any_size(&batch.input, false);
            sum += loss.compute(&output, &batch.target).double_value(&[]) * indices.len() as f64;
            images += indices.len();
        }
        sum / images.max(1) as f64
    })
}

/// What a training run works on: the run folder it writes into, the config, where it
/// computes (resolved by the caller from `config.train.device` and
/// `config.train.precision`), the data and its split, and whether it continues the run
/// (`resume`) or starts it.
#[derive(Debug, Clone, Copy)]
pub struct TrainingJob<'a> {
    /// The run folder: config, checkpoints, history.
    pub run: &'a RunDir,
    /// The resolved configuration.
    pub config: &'a Config,
    /// Device, precision and memory format.
    pub placement: Placement,
    /// The loaded images.
    pub data: &'a Dataset,
    /// Which of them train and which validate.
    pub split: &'a Split,
    /// Continue from the run's last checkpoint instead of starting.
    pub resume: bool,
}

/// Trains (or, with `job.resume`, continues training) the model of `job.config`,
/// writing everything into `job.run`.
///
/// `stop` is polled after every batch: once it is set, a checkpoint is written
/// and the function returns [`Outcome::Interrupted`].
pub fn train(job: TrainingJob<'_>, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<Outcome> {
    let TrainingJob { run, config, placement, data, split, resume } = job;
    let mut session = Session::start(run, config, placement, data, resume)?;
    session.announce(split, resume);
    let pairs = Pairs::new(data, config);
    let val_batches = pairs.val_batches(&split.val, config.train.batch_size, session.device);
    while session.state.epochs_done < config.train.epochs {
        if let Some(outcome) = session.patience_exhausted() {
            return Ok(outcome);
        }
        let totals = match session.train_epoch(&pairs, &split.train, observer, stop)? {
            EpochProgress::Done(totals) => totals,
            EpochProgress::Interrupted(outcome) => return Ok(outcome),
        };
        let val_loss = mean_loss(&session.model, config.train.loss, &val_batches);
        let (record, improved) = session.finish_epoch(totals, val_loss)?;
        observer.epoch_finished(&record, improved);
        if stop.load(Ordering::SeqCst) && session.state.epochs_done < config.train.epochs {
            return Ok(Outcome::Interrupted { epochs: session.state.epochs_done, batches: 0 });
        }
    }
    Ok(Outcome::Completed { epochs: session.state.epochs_done })
}

/// A training run in progress: the model, its optimiser and the state a
/// checkpoint saves.
struct Session<'a> {
    run: &'a RunDir,
    config: &'a Config,
    device: Device,
    vars: nn::VarStore,
    model: Autoencoder,
    optimizer: Optimizer,
    state: TrainState,
    last_checkpoint: Option<PathBuf>,
}

/// How the training part of an epoch ended.
enum EpochProgress {
    /// Every batch ran.
    Done(EpochTotals),
    /// A stop was requested and a checkpoint written mid-epoch.
    Interrupted(Outcome),
}

/// What the training batches of an epoch measured.
struct EpochTotals {
    epoch: usize,
    loss_sum: f64,
    samples: usize,
    train_seconds: f64,
    started: Instant,
}

impl<'a> Session<'a> {
    /// Builds the model and optimiser; with `resume`, restores them and the
    /// training state from the run's last checkpoint.
    fn start(run: &'a RunDir, config: &'a Config, placement: Placement, data: &Dataset, resume: bool) -> Result<Self> {
        let t = &config.train;
        let device = placement.device;
        config.model.validate_input(config.training_input())?;
        // A resumed run takes its weights from its own checkpoint, never again from
        // `train.init`. A run killed before its first checkpoint starts afresh.
        let checkpoint = if resume { run.last_checkpoint() } else { None };
        let start = if checkpoint.is_some() {
            StartingModel::random(config, device)?
        } else {
            StartingModel::new(config, device)?
        };
        let StartingModel { mut vars, mut model, init } = start;
        model.set_compute(placement.compute);
        tracing::info!("computing in {} (precision = \"{}\")", model.compute(), t.precision);
        let params = vars.variables().into_iter().filter(|(_, v)| v.requires_grad()).collect();
        let mut optimizer = Optimizer::new(params, t);
        let mut state = TrainState::new(data.scaling);
        if let Some(source) = init.as_ref().and_then(InitWeights::state)
            && source.scaling != data.scaling
        {
            let line = format!(
                "warning: the initial weights were trained on pixels scaled as {:?}, this run's data is scaled as {:?}",
                source.scaling, data.scaling
            );
            tracing::warn!("{line}");
            run.log(&line);
        }
        state.init = init;
        let mut last_checkpoint = None;
        if resume && checkpoint.is_none() {
            let line =
                "no checkpoint to resume from (stopped before its first epoch ended): starting from the beginning";
            tracing::info!("{line}");
            run.log(line);
            if run.path().join(history::HISTORY_CSV).exists() {
                history::rewrite(run.path(), &[])?;
            }
        }
        if let Some(checkpoint) = checkpoint {
            state = RunDir::read_state(&checkpoint)?;
            fp_model::load_weights(&mut vars, &checkpoint.join(fp_model::MODEL_WEIGHTS_FILE))?;
            let opt_path = checkpoint.join(OPTIMIZER_FILE);
            optimizer
                .load_state(&fp_model::read_tensors(&opt_path)?)
                .map_err(|reason| TrainError::RunDir { path: opt_path.clone(), reason })?;
            // Drop history rows appended after this checkpoint was written.
            history::rewrite(run.path(), &state.history)?;
            last_checkpoint = Some(checkpoint);
        }
        Ok(Self { run, config, device, vars, model, optimizer, state, last_checkpoint })
    }

    /// Says in the run's log what is about to happen.
    fn announce(&self, split: &Split, resume: bool) {
        let (device, compute) = (self.device, self.model.compute());
        match &self.last_checkpoint {
            Some(checkpoint) if resume => self.run.log(&format!(
                "resumed from {} (epoch {}, batch {}) on {device:?} in {compute}",
                checkpoint.display(),
                self.state.epochs_done,
                self.state.batches_done
            )),
            _ => {
                if let Some(init) = &self.state.init {
                    let line = format!(
                        "starting from the weights of {} ({}, sha256 {})",
                        init.source.display(),
                        init.weights_file().display(),
                        init.sha256
                    );
                    tracing::info!("{line}");
                    self.run.log(&line);
                }
                self.run.log(&format!(
                    "training on {device:?} in {compute}: {} train / {} validation images",
                    split.train.len(),
                    split.val.len()
                ))
            }
        }
    }

    /// `Some` when the validation loss has not improved for `train.patience` epochs.
    fn patience_exhausted(&self) -> Option<Outcome> {
        let patience = self.config.train.patience?;
        let best_epoch = self.state.best.map_or(0, |(_, epoch)| epoch);
        if self.state.epochs_done - best_epoch < patience {
            return None;
        }
        self.run.log(&format!(
            "early stop after epoch {}: no improvement since epoch {best_epoch}",
            self.state.epochs_done
        ));
        Some(Outcome::EarlyStopped { epochs: self.state.epochs_done, best_epoch })
    }

    /// Runs the training batches of the next epoch, from where the state says
    /// it stopped. A requested stop writes a checkpoint after the current batch.
    fn train_epoch(
        &mut self,
        pairs: &Pairs<'_>,
        train: &[usize],
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<EpochProgress> {
        let t = &self.config.train;
        let epoch = self.state.epochs_done + 1;
        let n = pairs.samples(train.len());
        let batches = n.div_ceil(t.batch_size);
        let order = epoch_order(t.seed, epoch, n);
        observer.epoch_started(epoch, t.epochs, batches, self.state.batches_done);
        let started = Instant::now();
        let mut loss_sum = self.state.partial_loss_sum;
        let mut samples = (self.state.batches_done * t.batch_size).min(n);
        let mut train_seconds = self.state.partial_seconds;
        for batch in self.state.batches_done..batches {
            let step_started = Instant::now();
            let chunk = &order[batch * t.batch_size..((batch + 1) * t.batch_size).min(n)];
            let pair = pairs.train_batch(train, chunk, epoch, self.device);
            let value = train_step(&self.model, &mut self.optimizer, t.loss, &pair).double_value(&[]);
            if !value.is_finite() {
                self.run.log(&format!("stopped: loss {value} at epoch {epoch}, batch {}", batch + 1));
                let last_checkpoint = self.last_checkpoint.clone();
                return Err(TrainError::NonFiniteLoss { value, epoch, batch: batch + 1, last_checkpoint });
            }
            self.state.steps += 1;
            loss_sum += value * chunk.len() as f64;
            samples += chunk.len();
            train_seconds += step_started.elapsed().as_secs_f64();
            observer.batch_finished(batch + 1, loss_sum / samples as f64);

            if stop.load(Ordering::SeqCst) && batch + 1 < batches {
                self.state.batches_done = batch + 1;
                self.state.partial_loss_sum = loss_sum;
                self.state.partial_seconds = train_seconds;
                let path = self.checkpoint(false)?;
                self.run.log(&format!(
                    "interrupted at epoch {epoch}, batch {}; checkpoint {}",
                    batch + 1,
                    path.display()
                ));
                return Ok(EpochProgress::Interrupted(Outcome::Interrupted {
                    epochs: self.state.epochs_done,
                    batches: batch + 1,
                }));
            }
        }
        Ok(EpochProgress::Done(EpochTotals { epoch, loss_sum, samples: n, train_seconds, started }))
    }

    /// Records a finished epoch: history row, checkpoint (and `best` when it
    /// improved), log line.
    fn finish_epoch(&mut self, totals: EpochTotals, val_loss: f64) -> Result<(EpochRecord, bool)> {
        let EpochTotals { epoch, loss_sum, samples, train_seconds, started } = totals;
        if !val_loss.is_finite() {
            let batches = samples.div_ceil(self.config.train.batch_size);
            let last_checkpoint = self.last_checkpoint.clone();
            return Err(TrainError::NonFiniteLoss { value: val_loss, epoch, batch: batches, last_checkpoint });
        }
        let train_loss = loss_sum / samples as f64;
        let record = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            seconds: started.elapsed().as_secs_f64() + self.state.partial_seconds,
            images_per_sec: samples as f64 / train_seconds.max(1e-9),
            lr: self.optimizer.learning_rate(),
        };
        let improved = self.state.best.is_none_or(|(best, _)| val_loss < best);
        if improved {
            self.state.best = Some((val_loss, epoch));
        }
        self.state.epochs_done = epoch;
        self.state.batches_done = 0;
        self.state.partial_loss_sum = 0.0;
        self.state.partial_seconds = 0.0;
        self.state.history.push(record.clone());
        let path = self.checkpoint(improved)?;
        self.last_checkpoint = Some(path);
        history::append(self.run.path(), &record)?;
        self.run.log(&format!(
            "epoch {epoch}/{}: train_loss {train_loss:.6} val_loss {val_loss:.6} ({:.1} s, {:.1} images/s){}",
            self.config.train.epochs,
            record.seconds,
            record.images_per_sec,
            if improved { ", best so far" } else { "" }
        ));
        Ok((record, improved))
    }

    fn checkpoint(&self, is_best: bool) -> Result<PathBuf> {
        let input = self.config.training_input();
        self.run.save_checkpoint(&self.vars, &self.config.model, input, &self.optimizer, &self.state, is_best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_orders_are_permutations_that_differ_by_epoch() {
        let a = epoch_order(13, 1, 50);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        assert_eq!(a, epoch_order(13, 1, 50));
        assert_ne!(a, epoch_order(13, 2, 50));
        assert_ne!(a, epoch_order(14, 1, 50));
    }
}
