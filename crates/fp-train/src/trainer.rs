use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use fp_data::{Dataset, Split};
use fp_model::{Autoencoder, InputSize};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Reduction, Tensor};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::history::{self, EpochRecord};
use crate::optim::Optimizer;
use crate::run::{OPTIMIZER_FILE, RunDir, TrainState};

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

/// Copies the images `indices` of `data` into one `[n, 1, H, W]` tensor on `device`.
/// This is the one place where images become tensors.
pub fn images_to_tensor(data: &Dataset, indices: &[usize], device: Device) -> Tensor {
    let per_image = data.height * data.width;
    let mut buf = Vec::with_capacity(indices.len() * per_image);
    for &i in indices {
        buf.extend_from_slice(data.image(i));
    }
    Tensor::from_slice(&buf).view([indices.len() as i64, 1, data.height as i64, data.width as i64]).to_device(device)
}

/// The order of the training images in `epoch` (1-based): a seeded shuffle of its
/// own, so any epoch's order can be rebuilt when resuming.
fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(&mut rng);
    order
}

/// One optimisation step on the batch `xs`: forward, MSE against the input,
/// backward, update. Returns the batch's loss (before the update). A NaN loss
/// is stepped on like any other; the caller decides what to do about it.
pub fn train_step(model: &Autoencoder, optimizer: &mut Optimizer, xs: &Tensor) -> Tensor {
    optimizer.zero_grad();
    let loss = model.forward_t(xs, true).mse_loss(xs, Reduction::Mean);
    loss.backward();
    optimizer.step();
    loss.detach()
}

/// Mean squared error of `model` over `images`, in batches, without gradients.
pub fn mean_loss(model: &Autoencoder, images: &Tensor, batch_size: usize) -> f64 {
    let n = images.size()[0];
    tch::no_grad(|| {
        let mut sum = Tensor::zeros([], (Kind::Double, images.device()));
        let mut start = 0;
        while start < n {
            let len = (batch_size as i64).min(n - start);
            let xs = images.narrow(0, start, len);
            let loss = model.forward_t(&xs, false).mse_loss(&xs, Reduction::Mean);
            sum += loss.to_kind(Kind::Double) * len as f64;
            start += len;
        }
        sum.double_value(&[]) / n as f64
    })
}

/// Trains (or, with `resume`, continues training) the model of `config` on
/// `data` split by `split`, writing everything into `run`.
///
/// `stop` is polled after every batch: once it is set, a checkpoint is written
/// and the function returns [`Outcome::Interrupted`].
pub fn train(
    run: &RunDir,
    config: &Config,
    data: &Dataset,
    split: &Split,
    resume: bool,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
) -> Result<Outcome> {
    let device = config.train.device.resolve()?;
    let t = &config.train;
    let input = InputSize { height: data.height as i64, width: data.width as i64 };
    config.model.validate_input(input)?;

    let mut vars = nn::VarStore::new(device);
    let mut model = Autoencoder::new(&vars.root(), &config.model, t.seed)?;
    let compute = t.precision.resolve(device);
    model.set_compute(compute);
    tracing::info!("computing in {compute} (precision = \"{}\")", t.precision);
    let mut optimizer = Optimizer::new(vars.variables().into_iter().collect(), t);

    let mut state = TrainState {
        epochs_done: 0,
        batches_done: 0,
        partial_loss_sum: 0.0,
        partial_seconds: 0.0,
        steps: 0,
        best: None,
        history: Vec::new(),
        scaling: data.scaling,
    };
    let mut last_checkpoint = None;
    if resume {
        let Some(checkpoint) = run.last_checkpoint() else {
            return Err(TrainError::RunDir {
                path: run.path().to_owned(),
                reason: "has no checkpoint to resume from".into(),
            });
        };
        state = RunDir::read_state(&checkpoint)?;
        fp_model::load_weights(&mut vars, &checkpoint.join(fp_model::MODEL_WEIGHTS_FILE))?;
        let opt_path = checkpoint.join(OPTIMIZER_FILE);
        optimizer
            .load_state(&fp_model::read_tensors(&opt_path)?)
            .map_err(|reason| TrainError::RunDir { path: opt_path.clone(), reason })?;
        // Drop history rows appended after this checkpoint was written.
        history::rewrite(run.path(), &state.history)?;
        run.log(&format!(
            "resumed from {} (epoch {}, batch {}) on {device:?} in {compute}",
            checkpoint.display(),
            state.epochs_done,
            state.batches_done
        ));
        last_checkpoint = Some(checkpoint);
    } else {
        run.log(&format!(
            "training on {device:?} in {compute}: {} train / {} validation images",
            split.train.len(),
            split.val.len()
        ));
    }

    let train_images = images_to_tensor(data, &split.train, device);
    let val_images = images_to_tensor(data, &split.val, device);
    let n_train = split.train.len();
    let batches = n_train.div_ceil(t.batch_size);

    while state.epochs_done < t.epochs {
        let best_epoch = state.best.map_or(0, |(_, epoch)| epoch);
        if let Some(patience) = t.patience
            && state.epochs_done - best_epoch >= patience
        {
            run.log(&format!("early stop after epoch {}: no improvement since epoch {best_epoch}", state.epochs_done));
            return Ok(Outcome::EarlyStopped { epochs: state.epochs_done, best_epoch });
        }
        let epoch = state.epochs_done + 1;
        let order = epoch_order(t.seed, epoch, n_train);
        // The epoch's order goes to the device once; each batch is a slice of it,
        // and its images are gathered from the resident training set there.
        let order_on_device = Tensor::from_slice(&order).to_device(device);
        observer.epoch_started(epoch, t.epochs, batches, state.batches_done);
        let epoch_started = Instant::now();
        let mut loss_sum = state.partial_loss_sum;
        let mut images_done = (state.batches_done * t.batch_size).min(n_train);
        let mut train_seconds = state.partial_seconds;
        for batch in state.batches_done..batches {
            let started = Instant::now();
            let chunk = &order[batch * t.batch_size..((batch + 1) * t.batch_size).min(n_train)];
            let index = order_on_device.narrow(0, (batch * t.batch_size) as i64, chunk.len() as i64);
            let loss = train_step(&model, &mut optimizer, &train_images.index_select(0, &index));
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                run.log(&format!("stopped: loss {value} at epoch {epoch}, batch {}", batch + 1));
                return Err(TrainError::NonFiniteLoss { value, epoch, batch: batch + 1, last_checkpoint });
            }
            state.steps += 1;
            loss_sum += value * chunk.len() as f64;
            images_done += chunk.len();
            train_seconds += started.elapsed().as_secs_f64();
            observer.batch_finished(batch + 1, loss_sum / images_done as f64);

            if stop.load(Ordering::SeqCst) && batch + 1 < batches {
                state.batches_done = batch + 1;
                state.partial_loss_sum = loss_sum;
                state.partial_seconds = train_seconds;
                let path = run.save_checkpoint(&vars, &config.model, input, &optimizer, &state, false)?;
                run.log(&format!("interrupted at epoch {epoch}, batch {}; checkpoint {}", batch + 1, path.display()));
                return Ok(Outcome::Interrupted { epochs: state.epochs_done, batches: batch + 1 });
            }
        }
        let train_loss = loss_sum / n_train as f64;
        let val_loss = mean_loss(&model, &val_images, t.batch_size);
        if !val_loss.is_finite() {
            return Err(TrainError::NonFiniteLoss { value: val_loss, epoch, batch: batches, last_checkpoint });
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            seconds: epoch_started.elapsed().as_secs_f64() + state.partial_seconds,
            images_per_sec: n_train as f64 / train_seconds.max(1e-9),
            lr: optimizer.learning_rate(),
        };
        let improved = state.best.is_none_or(|(best, _)| val_loss < best);
        if improved {
            state.best = Some((val_loss, epoch));
        }
        state.epochs_done = epoch;
        state.batches_done = 0;
        state.partial_loss_sum = 0.0;
        state.partial_seconds = 0.0;
        state.history.push(record.clone());
        let path = run.save_checkpoint(&vars, &config.model, input, &optimizer, &state, improved)?;
        last_checkpoint = Some(path);
        history::append(run.path(), &record)?;
        run.log(&format!(
            "epoch {epoch}/{}: train_loss {train_loss:.6} val_loss {val_loss:.6} ({:.1} s, {:.1} images/s){}",
            t.epochs,
            record.seconds,
            record.images_per_sec,
            if improved { ", best so far" } else { "" }
        ));
        observer.epoch_finished(&record, improved);
        if stop.load(Ordering::SeqCst) && state.epochs_done < t.epochs {
            return Ok(Outcome::Interrupted { epochs: state.epochs_done, batches: 0 });
        }
    }
    Ok(Outcome::Completed { epochs: state.epochs_done })
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
