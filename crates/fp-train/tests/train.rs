//! Training on tiny synthetic images: learning, determinism, resume, interruption, NaN guard.

use std::sync::atomic::{AtomicBool, Ordering};

use fp_data::{Dataset, ResizeMode, Split};
use fp_model::{ModelConfig, TutorialCaeConfig};
use fp_train::{Config, EpochRecord, Observer, Outcome, Pairs, RunDir, Silent, TaskKind, TrainError, TrainingJob};
use tch::Tensor;

mod common;

use common::{SIDE, config, dataset, placement, sized_dataset, split};

fn history(run: &RunDir) -> Vec<EpochRecord> {
    fp_train::history::read(run.path()).unwrap()
}

fn weights(run: &RunDir) -> Vec<(String, Tensor)> {
    let mut w = fp_model::read_tensors(&run.checkpoint(fp_train::Checkpoint::Last).join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn max_diff(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|((na, ta), (nb, tb))| {
            assert_eq!(na, nb);
            (ta - tb).abs().max().double_value(&[])
        })
        .fold(0.0, f64::max)
}

fn new_run(dir: &std::path::Path, config: &Config) -> RunDir {
    RunDir::create(dir, config).unwrap()
}

fn no_stop() -> AtomicBool {
    AtomicBool::new(false)
}

/// The training job of `run` with `config` on `data` split by `split`, placed as `config` says.
fn job<'a>(run: &'a RunDir, config: &'a Config, data: &'a Dataset, split: &'a Split, resume: bool) -> TrainingJob<'a> {
    TrainingJob { run, config, placement: placement(config), data, split, resume }
}

#[test]
fn training_reduces_the_loss_and_writes_the_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(6);
    let run = new_run(dir.path(), &cfg);
    let outcome = fp_train::train(job(&run, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: 6 });
    let h = history(&run);
    assert_eq!(h.iter().map(|r| r.epoch).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert!(h[5].train_loss < 0.7 * h[0].train_loss, "{h:#?}");
    assert!(h[5].val_loss < 0.7 * h[0].val_loss, "{h:#?}");
    assert!(h.iter().all(|r| r.images_per_sec > 0.0 && r.lr == 3e-3));

    let csv = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "epoch,train_loss,val_loss,seconds,images_per_sec,lr");
    assert_eq!(std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap().lines().count(), 6);
    let saved = Config::load(&dir.path().join("config.toml"), &[]).unwrap();
    assert_eq!(saved, cfg);
    // last and best are whole, loadable models.
    for which in fp_train::Checkpoint::ALL {
        let loaded = fp_model::load(&run.checkpoint(which), tch::Device::Cpu).unwrap();
        assert_eq!(loaded.model.config(), &cfg.model);
    }
    let best = RunDir::read_state(&run.checkpoint(fp_train::Checkpoint::Best)).unwrap();
    let min_val = h.iter().map(|r| r.val_loss).fold(f64::MAX, f64::min);
    assert_eq!(best.best.unwrap().0, min_val);
    // Only the checkpoints that last and best point at are kept.
    let steps = std::fs::read_dir(dir.path().join("checkpoints"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("step-"))
        .count();
    assert!(steps <= 2, "{steps}");
    assert!(std::fs::read_to_string(dir.path().join("train.log")).unwrap().contains("epoch 6/6"));
}

#[test]
fn training_is_deterministic_on_cpu() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config(2);
    let (ra, rb) = (new_run(a.path(), &cfg), new_run(b.path(), &cfg));
    fp_train::train(job(&ra, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    fp_train::train(job(&rb, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    let losses = |r: &RunDir| history(r).iter().map(|e| (e.train_loss, e.val_loss)).collect::<Vec<_>>();
    assert_eq!(losses(&ra), losses(&rb));
    assert_eq!(max_diff(&weights(&ra), &weights(&rb)), 0.0);
}

#[test]
fn two_epochs_plus_resumed_two_equal_four_straight() {
    let (straight, resumed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let r4 = new_run(straight.path(), &config(4));
    fp_train::train(job(&r4, &config(4), &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();

    let r2 = new_run(resumed.path(), &config(2));
    fp_train::train(job(&r2, &config(2), &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    drop(r2); // the first process ends, and with it its hold on the run
    let err = RunDir::open_for_resume(resumed.path(), &["train.learning_rate=0.1".into()]).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("only train.epochs, train.patience, train.device and train.precision can change when resuming")
    );
    let (r2, cfg) = RunDir::open_for_resume(resumed.path(), &["train.epochs=4".into()]).unwrap();
    assert_eq!(Config::load(&resumed.path().join("config.toml"), &[]).unwrap().train.epochs, 4);
    let outcome = fp_train::train(job(&r2, &cfg, &dataset(), &split(), true), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: 4 });
    assert!(max_diff(&weights(&r4), &weights(&r2)) <= 1e-6);
    let (h4, h2) = (history(&r4), history(&r2));
    assert_eq!(h2.len(), 4);
    for (a, b) in h4.iter().zip(&h2) {
        assert!((a.val_loss - b.val_loss).abs() < 1e-9, "{a:?} {b:?}");
    }
}

/// Requests a stop after a given number of batches, like Ctrl-C would.
struct StopAfter<'a> {
    batches: usize,
    seen: usize,
    stop: &'a AtomicBool,
}

impl Observer for StopAfter<'_> {
    fn batch_finished(&mut self, _batch: usize, _loss: f64) {
        self.seen += 1;
        if self.seen == self.batches {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn an_interrupted_run_checkpoints_mid_epoch_and_resumes_exactly() {
    let (straight, stopped) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config(3);
    let r = new_run(straight.path(), &cfg);
    fp_train::train(job(&r, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();

    // 3 batches per epoch: stop after the 5th batch, i.e. mid-way through epoch 2.
    let s = new_run(stopped.path(), &cfg);
    let stop = AtomicBool::new(false);
    let mut observer = StopAfter { batches: 5, seen: 0, stop: &stop };
    let outcome = fp_train::train(job(&s, &cfg, &dataset(), &split(), false), &mut observer, &stop).unwrap();
    assert_eq!(outcome, Outcome::Interrupted { epochs: 1, batches: 2 });
    let state = RunDir::read_state(&s.checkpoint(fp_train::Checkpoint::Last)).unwrap();
    assert_eq!((state.epochs_done, state.batches_done, state.steps), (1, 2, 5));
    assert_eq!(history(&s).len(), 1);

    drop(s);
    let (s, cfg) = RunDir::open_for_resume(stopped.path(), &[]).unwrap();
    let outcome = fp_train::train(job(&s, &cfg, &dataset(), &split(), true), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: 3 });
    assert!(max_diff(&weights(&r), &weights(&s)) <= 1e-6);
    let (hr, hs) = (history(&r), history(&s));
    assert!((hr[1].train_loss - hs[1].train_loss).abs() < 1e-9, "{hr:?} {hs:?}");
}

#[test]
fn a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(1);
    let run = new_run(dir.path(), &cfg);
    fp_train::train(job(&run, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    let good = weights(&run);

    // Poison one training image and continue for a second epoch.
    let clean = dataset();
    let mut values = clean.images.to_vec();
    values[3 * SIDE * SIDE + 7] = f32::NAN;
    let poisoned = Dataset::new(clean.items.clone(), values, clean.scaling, clean.preprocess).unwrap();
    drop(run);
    let (run, cfg) = RunDir::open_for_resume(dir.path(), &["train.epochs=2".into()]).unwrap();
    let err = fp_train::train(job(&run, &cfg, &poisoned, &split(), true), &mut Silent, &no_stop()).unwrap_err();
    assert!(matches!(err, TrainError::NonFiniteLoss { epoch: 2, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("training diverged: the loss is NaN at epoch 2, batch "), "{text}");
    assert!(
        text.ends_with(&format!(
            "the last good checkpoint is {}",
            run.checkpoint(fp_train::Checkpoint::Last).display()
        )),
        "{text}"
    );
    assert_eq!(max_diff(&good, &weights(&run)), 0.0);
    assert_eq!(RunDir::read_state(&run.checkpoint(fp_train::Checkpoint::Last)).unwrap().epochs_done, 1);
}

#[test]
fn an_existing_run_directory_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    new_run(dir.path(), &config(1));
    let err = RunDir::create(dir.path(), &config(1)).unwrap_err().to_string();
    assert!(err.ends_with("already holds a run; continue it with `--resume`, or choose another directory"), "{err}");
    // A run stopped before its first checkpoint has nothing to continue: resuming starts it over.
    let empty = tempfile::tempdir().unwrap();
    let run = new_run(empty.path(), &config(1));
    let outcome = fp_train::train(job(&run, &config(1), &dataset(), &split(), true), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: 1 });
    assert_eq!(history(&run).len(), 1);
}

#[test]
fn a_run_directory_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(1);
    let first = new_run(dir.path(), &cfg);
    fp_train::train(job(&first, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    // While `first` lives, nobody else may write the run; readers may.
    let err = RunDir::open_for_resume(dir.path(), &["train.epochs=2".into()]).unwrap_err().to_string();
    let pid = std::process::id();
    assert!(err.contains(&format!("is in use by process {pid}, which is writing this run")), "{err}");
    let err = RunDir::create(dir.path(), &cfg).unwrap_err().to_string();
    assert!(err.contains("in use by") || err.contains("already holds a run"), "{err}");
    assert!(RunDir::open(dir.path(), &[]).is_ok());
    let clone = first.clone();
    drop(first);
    assert!(RunDir::open_for_resume(dir.path(), &[]).is_err(), "a clone still holds the lock");
    drop(clone);
    let (resumed, cfg) = RunDir::open_for_resume(dir.path(), &["train.epochs=2".into()]).unwrap();
    fp_train::train(job(&resumed, &cfg, &dataset(), &split(), true), &mut Silent, &no_stop()).unwrap();
    assert_eq!(history(&resumed).iter().map(|r| r.epoch).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn patience_stops_a_run_that_no_longer_improves() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(6);
    // Updates far below f32 resolution leave the weights, and so the validation
    // loss, exactly unchanged: no epoch after the first improves.
    cfg.train.learning_rate = 1e-12;
    cfg.train.patience = Some(2);
    let run = new_run(dir.path(), &cfg);
    let outcome = fp_train::train(job(&run, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::EarlyStopped { epochs: 3, best_epoch: 1 });
    assert_eq!(history(&run).len(), 3);
}

#[test]
fn bf16_mixed_precision_learns_and_keeps_f32_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(6);
    cfg.train.precision = fp_model::Precision::Bf16;
    let run = new_run(dir.path(), &cfg);
    fp_train::train(job(&run, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    let h = history(&run);
    assert!(h[5].train_loss < 0.7 * h[0].train_loss, "{h:#?}");
    assert!(h[5].val_loss < 0.7 * h[0].val_loss, "{h:#?}");
    assert!(weights(&run).iter().all(|(_, t)| t.kind() == tch::Kind::Float), "master weights stay f32");
    assert!(std::fs::read_to_string(dir.path().join("train.log")).unwrap().contains("bf16 mixed precision"));

    // The same run in f32 ends close to it: bf16 changes rounding, not the optimisation.
    let dir32 = tempfile::tempdir().unwrap();
    cfg.train.precision = fp_model::Precision::F32;
    let run32 = new_run(dir32.path(), &cfg);
    fp_train::train(job(&run32, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    let h32 = history(&run32);
    let (a, b) = (h[5].val_loss, h32[5].val_loss);
    assert!((a - b).abs() < 0.25 * b, "bf16 {a} vs f32 {b}");
    assert!(a != b, "bf16 really computed in bf16");
}

/// A restoration run at native resolution: images of three sizes (none a
/// multiple of the model's stride), 8x8 crops, Gaussian noise on the inputs.
fn native_restore_config(epochs: usize) -> Config {
    let mut c = config(epochs);
    c.data.resize = ResizeMode::None;
    c.data.crop = 8;
    c.data.crops_per_image = 3;
    c.task = toml::from_str(
        "kind = \"restore\"\n[[degradations]]\nkind = \"noise\"\nprobability = 0.8\nseverity = [0.1, 0.4]\n",
    )
    .unwrap();
    c.validate().unwrap();
    c
}

fn native_dataset() -> Dataset {
    sized_dataset(|i| [(13, 11), (18, 9), (10, 15)][i % 3], ResizeMode::None)
}

#[test]
fn restore_pairs_are_reproducible_and_differ_by_epoch() {
    let data = native_dataset();
    let cfg = native_restore_config(1);
    assert_eq!(cfg.task.kind, TaskKind::Restore);
    let pairs = Pairs::new(&data, &cfg);
    let train = split().train;
    assert_eq!(pairs.samples(train.len()), 18 * 3);
    let batch = |epoch| pairs.train_batch(&train, &[0, 7, 53], epoch, tch::Device::Cpu);
    let (a, b, c) = (batch(1), batch(1), batch(2));
    assert_eq!(a.input.size(), [3, 1, 8, 8]);
    assert!(a.input.equal(&b.input) && a.target.equal(&b.target), "same epoch, same pairs");
    assert!(!a.input.equal(&a.target), "the input is a degraded copy of the target");
    assert!(!a.target.equal(&c.target) && !a.input.equal(&c.input), "another epoch, other crops and damage");
    // Validation inputs are whole images, degraded the same way every time.
    let val = pairs.val_batches(&split().val, 8, tch::Device::Cpu);
    assert_eq!(val.iter().map(|(i, _)| i.len()).sum::<usize>(), 6);
    for (indices, b) in &val {
        let (w, h) = data.size(indices[0]);
        assert_eq!(b.input.size(), [indices.len() as i64, 1, h as i64, w as i64]);
    }
    assert_eq!(pairs.val_input(20), pairs.val_input(20));
    assert_ne!(pairs.val_input(20), data.image(20));
}

#[test]
fn warped_targets_move_with_the_damage_that_moves_ridges_and_only_with_it() {
    let data = native_dataset();
    let with = |kind: &str, warp: bool| {
        let mut cfg = native_restore_config(1);
        cfg.task = toml::from_str(&format!(
            "kind = \"restore\"\nwarp_targets = {warp}\n[[degradations]]\nkind = \"{kind}\"\nseverity = [1.0, 1.0]\n"
        ))
        .unwrap();
        cfg.validate().unwrap();
        cfg
    };
    let clean_crop = |s: &fp_train::Sample| {
        let mut window = vec![0f32; 64];
        data.crop(s.image, s.origin.0, s.origin.1, 8, &mut window);
        window
    };
    let train = split().train;
    // Elastic damage alone, its target warped: the input is exactly the target, moved ridges and all.
    let warped = with("elastic", true);
    let pairs = Pairs::new(&data, &warped);
    for sample in [0, 7, 53] {
        let (image, crop) = pairs.pick(&train, sample);
        let s = pairs.train_sample(image, crop, 1);
        assert_eq!(s.input.as_deref(), Some(&s.target[..]), "sample {sample}");
        assert_ne!(s.target, clean_crop(&s), "sample {sample}: the target moved");
    }
    for (_, b) in pairs.val_batches(&split().val, 8, tch::Device::Cpu) {
        assert!(b.input.equal(&b.target), "validation targets are warped too");
    }
    // Not warped, or damage that does not move ridges: the target is the clean crop.
    for cfg in [with("elastic", false), with("noise", true)] {
        let pairs = Pairs::new(&data, &cfg);
        let (image, crop) = pairs.pick(&train, 7);
        let s = pairs.train_sample(image, crop, 1);
        assert_eq!(s.target, clean_crop(&s));
        assert_ne!(s.input.as_deref(), Some(&s.target[..]));
    }
    // Only a restore task has targets to warp.
    let mut reconstruct = config(1);
    reconstruct.task.warp_targets = true;
    let err = reconstruct.validate().unwrap_err().to_string();
    assert!(err.contains("task.warp_targets") && err.contains("restore"), "{err}");
}

#[test]
fn a_native_restore_run_learns_and_resumes_exactly() {
    let (straight, resumed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let data = native_dataset();
    let r4 = new_run(straight.path(), &native_restore_config(4));
    fp_train::train(job(&r4, &native_restore_config(4), &data, &split(), false), &mut Silent, &no_stop()).unwrap();
    let h4 = history(&r4);
    assert!(h4[3].val_loss < h4[0].val_loss, "{h4:#?}");

    // Two epochs, a stop in the middle of the third, then a resume to four.
    let cfg = native_restore_config(4);
    let r = new_run(resumed.path(), &cfg);
    let stop = AtomicBool::new(false);
    let mut observer = StopAfter { batches: 20, seen: 0, stop: &stop };
    let outcome = fp_train::train(job(&r, &cfg, &data, &split(), false), &mut observer, &stop).unwrap();
    assert_eq!(outcome, Outcome::Interrupted { epochs: 2, batches: 6 });
    drop(r);
    let (r, cfg) = RunDir::open_for_resume(resumed.path(), &[]).unwrap();
    fp_train::train(job(&r, &cfg, &data, &split(), true), &mut Silent, &no_stop()).unwrap();
    let h = history(&r);
    let losses = |h: &[EpochRecord]| h.iter().map(|e| (e.train_loss, e.val_loss)).collect::<Vec<_>>();
    assert_eq!(losses(&h), losses(&h4), "the resumed run's history is the uninterrupted one's");
    assert_eq!(max_diff(&weights(&r4), &weights(&r)), 0.0);
}

/// A tiny run trained for one epoch and exported, in `dir/source` and `dir/model`.
fn exported_source(dir: &std::path::Path, cfg: &Config) -> (RunDir, std::path::PathBuf) {
    let run = new_run(&dir.join("source"), cfg);
    fp_train::train(job(&run, cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    let model = dir.join("model");
    fp_train::export_model(run.path(), fp_train::Checkpoint::Best, &model).unwrap();
    (run, model)
}

fn read_sorted(file: &std::path::Path) -> Vec<(String, Tensor)> {
    let mut w = fp_model::read_tensors(file).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn sha256_hex(file: &std::path::Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(file).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_run_started_from_exported_weights_begins_with_them_and_records_their_digest() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1);
    cfg.train.precision = fp_model::Precision::F32;
    let (source, model) = exported_source(dir.path(), &cfg);
    let exported = read_sorted(&model.join("model.safetensors"));

    let mut tuned = cfg.clone();
    tuned.train.init = Some(model.clone());
    tuned.train.seed = 99;
    let start = fp_train::StartingModel::new(&tuned, tch::Device::Cpu).unwrap();
    let mut before: Vec<(String, Tensor)> = start.vars.variables().into_iter().collect();
    before.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(max_diff(&before, &exported), 0.0, "the weights before the first step are the exported ones");
    // ... so the validation loss before any step is the one the source ended its epoch with.
    let val = Pairs::new(&dataset(), &tuned).val_batches(&split().val, 8, tch::Device::Cpu);
    assert_eq!(fp_train::mean_loss(&start.model, tuned.train.loss, &val), history(&source)[0].val_loss);
    let init = start.init.unwrap();
    assert_eq!(init.source, model);
    assert_eq!(init.checkpoint, model);
    assert_eq!(init.sha256, sha256_hex(&model.join("model.safetensors")));

    // Given by a relative path, the weights are recorded by it, not by where it leads on this
    // machine (a link here, to the temporary folder).
    let here = tempfile::tempdir_in(".").unwrap();
    std::os::unix::fs::symlink(&model, here.path().join("model")).unwrap();
    let relative = std::path::PathBuf::from(here.path().file_name().unwrap()).join("model");
    let mut by_relative = tuned.clone();
    by_relative.train.init = Some(relative.clone());
    let found = fp_train::StartingModel::new(&by_relative, tch::Device::Cpu).unwrap().init.unwrap();
    assert_eq!((found.source, found.checkpoint), (relative.clone(), relative));

    // A run directory stands for its best checkpoint.
    let mut from_run = tuned.clone();
    from_run.train.init = Some(source.path().to_owned());
    let start = fp_train::StartingModel::new(&from_run, tch::Device::Cpu).unwrap();
    assert_eq!(start.init.unwrap().sha256, init.sha256);

    // Training records where the weights came from, in the config, the state and the log.
    let run = new_run(&dir.path().join("tuned"), &tuned);
    fp_train::train(job(&run, &tuned, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();
    assert_eq!(Config::load(&run.path().join("config.toml"), &[]).unwrap().train.init, Some(model.clone()));
    let state = RunDir::read_state(&run.checkpoint(fp_train::Checkpoint::Last)).unwrap();
    assert_eq!(state.init.as_ref(), Some(&init));
    assert_eq!((state.epochs_done, state.steps, state.history.len()), (1, 3, 1), "a fresh epoch counter");
    let log = std::fs::read_to_string(run.path().join("train.log")).unwrap();
    assert!(log.contains(&format!("starting from the weights of {}", model.display())), "{log}");
    assert!(log.contains(&format!("sha256 {}", init.sha256)), "{log}");
    assert!(max_diff(&weights(&run), &exported) > 0.0, "and then it trains");
}

#[test]
fn initial_weights_of_another_network_are_refused_naming_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = exported_source(dir.path(), &config(1));

    let mut wider = config(1);
    wider.model = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![4, 16], kernel_size: 3 });
    wider.train.init = Some(model.clone());
    let run = new_run(&dir.path().join("wider"), &wider);
    let err = fp_train::train(job(&run, &wider, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap_err();
    let cause = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
    assert_eq!(
        err.to_string(),
        format!(
            "train.init: {} describes another network than the config's [model]: filters = [4, 8] there, [4, 16] in the config",
            model.join("model.toml").display()
        )
    );
    let weights_file = model.join("model.safetensors");
    let expected = "tensor \"dec1.bias\" has shape [8], but the model config expects [16]";
    assert_eq!(cause, format!("{}: {expected}", weights_file.display()));
    assert!(run.last_checkpoint().is_none() && !run.path().join("history.csv").exists(), "nothing was trained");

    let mut unet = config(1);
    unet.model = toml::from_str("kind = \"unet\"\ndepth = 1\nbase_width = 4\n").unwrap();
    unet.train.init = Some(model.clone());
    let err = fp_train::StartingModel::new(&unet, tch::Device::Cpu).unwrap_err().to_string();
    assert!(err.ends_with("kind = \"tutorial-cae\" there, \"unet\" in the config"), "{err}");

    let mut nowhere = config(1);
    nowhere.train.init = Some(dir.path().join("nothing"));
    let err = fp_train::StartingModel::new(&nowhere, tch::Device::Cpu).unwrap_err().to_string();
    assert!(err.ends_with("nothing: neither a model folder (model.toml beside model.safetensors) nor a run directory with a `best` checkpoint"), "{err}");
}

#[test]
fn a_run_started_from_trained_weights_resumes_exactly_without_reading_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = exported_source(dir.path(), &config(1));
    let mut cfg = config(3);
    cfg.train.init = Some(model.clone());

    let straight = new_run(&dir.path().join("straight"), &cfg);
    fp_train::train(job(&straight, &cfg, &dataset(), &split(), false), &mut Silent, &no_stop()).unwrap();

    // 3 batches per epoch: stop in the middle of epoch 2.
    let stopped = new_run(&dir.path().join("stopped"), &cfg);
    let stop = AtomicBool::new(false);
    let mut observer = StopAfter { batches: 5, seen: 0, stop: &stop };
    let outcome = fp_train::train(job(&stopped, &cfg, &dataset(), &split(), false), &mut observer, &stop).unwrap();
    assert_eq!(outcome, Outcome::Interrupted { epochs: 1, batches: 2 });
    drop(stopped);
    // The resumed run continues from its own checkpoint: the initial weights are not needed any more.
    let init = RunDir::read_state(&dir.path().join("stopped/checkpoints/last")).unwrap().init.unwrap();
    std::fs::remove_dir_all(&model).unwrap();
    let (resumed, cfg) = RunDir::open_for_resume(&dir.path().join("stopped"), &[]).unwrap();
    let outcome = fp_train::train(job(&resumed, &cfg, &dataset(), &split(), true), &mut Silent, &no_stop()).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: 3 });
    assert_eq!(max_diff(&weights(&straight), &weights(&resumed)), 0.0);
    let losses = |r: &RunDir| history(r).iter().map(|e| (e.train_loss, e.val_loss)).collect::<Vec<_>>();
    assert_eq!(losses(&straight), losses(&resumed));
    assert_eq!(RunDir::read_state(&resumed.checkpoint(fp_train::Checkpoint::Last)).unwrap().init, Some(init));
    drop(resumed);
    let err =
        RunDir::open_for_resume(&dir.path().join("stopped"), &["train.init=elsewhere".into()]).unwrap_err().to_string();
    assert!(err.ends_with("can change when resuming"), "{err}");
}
