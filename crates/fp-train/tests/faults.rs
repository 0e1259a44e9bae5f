//! Faults at the storage points of a run (the `fp_train::fault` test seam): a
//! kill at any of them, or a write that fails there, loses nothing. After a
//! resume the run ends exactly where an uninterrupted one does: the same
//! history, bit-identical weights and optimiser state in `last` and `best`, and
//! no temporaries or stray checkpoints.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use fp_train::fault::{Fault, FaultAction, FaultPoint, arm_on_this_thread};
use fp_train::{Config, Outcome, RunDir, Silent, TrainError, TrainingJob};

mod common;

use common::{dataset, placement, split};

const EPOCHS: usize = 4;

/// The shared tiny config, trained for [`EPOCHS`] epochs in f32.
fn config() -> Config {
    let mut c = common::config(EPOCHS);
    c.train.precision = fp_model::Precision::F32;
    c
}

/// One process's attempt at the run in `dir`: creates it, or resumes it when it
/// has a config, and trains with `fault` armed. A `panic` fault stands for a
/// kill: it is caught, the run directory stays as the kill would leave it, and
/// the lock goes (as the kernel releases it). `None` when the attempt was killed.
fn attempt(dir: &Path, fault: Option<Fault>) -> Option<Result<Outcome, TrainError>> {
    arm_on_this_thread(fault);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let resume = dir.join("config.toml").exists();
        let (run, cfg) =
            if resume { RunDir::open_for_resume(dir, &[])? } else { (RunDir::create(dir, &config())?, config()) };
        let (data, split) = (dataset(), split());
        let job =
            TrainingJob { run: &run, config: &cfg, placement: placement(&cfg), data: &data, split: &split, resume };
        fp_train::train(job, &mut Silent, &AtomicBool::new(false))
    }));
    arm_on_this_thread(None);
    result.ok()
}

/// Resumes the run in `dir` until it completes.
fn finish(dir: &Path) {
    let outcome = attempt(dir, None).expect("no fault is armed").expect("the resumed run finishes");
    assert_eq!(outcome, Outcome::Completed { epochs: EPOCHS });
}

/// An uninterrupted run.
fn straight(dir: &Path) {
    let run = RunDir::create(dir, &config()).unwrap();
    let (config, data, split) = (config(), dataset(), split());
    let job = TrainingJob {
        run: &run,
        config: &config,
        placement: placement(&config),
        data: &data,
        split: &split,
        resume: false,
    };
    let outcome = fp_train::train(job, &mut Silent, &AtomicBool::new(false)).unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: EPOCHS });
}

/// The history without its wall-clock columns (seconds, images/s), as text.
fn history_rows(dir: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    let jsonl = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    assert_eq!(csv.lines().count(), jsonl.lines().count() + 1, "{csv}\n{jsonl}");
    csv.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            format!("{},{},{},{}", f[0], f[1], f[2], f[5])
        })
        .collect()
}

/// Every entry under `dir`, relative, sorted (`train.log` aside, which says what happened).
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["", "checkpoints"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            out.push(if sub.is_empty() { name } else { format!("{sub}/{name}") });
        }
    }
    out.retain(|n| n != "train.log");
    out.sort();
    out
}

/// Asserts that the run in `got` ended exactly as the uninterrupted run in `want`.
fn assert_same_run(want: &Path, got: &Path, case: &str) {
    assert_eq!(history_rows(got), history_rows(want), "{case}: history");
    assert_eq!(entries(got), entries(want), "{case}: files (no temporaries, no stray checkpoints)");
    for link in ["last", "best"] {
        let (a, b) = (want.join("checkpoints").join(link), got.join("checkpoints").join(link));
        assert_eq!(std::fs::read_link(&b).unwrap(), std::fs::read_link(&a).unwrap(), "{case}: {link} link");
        for file in ["model.safetensors", "model.toml", "optimizer.safetensors"] {
            let same = std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap();
            assert!(same, "{case}: {link}/{file} differs");
        }
        let (sa, sb) = (RunDir::read_state(&a).unwrap(), RunDir::read_state(&b).unwrap());
        assert_eq!((sa.epochs_done, sa.steps, sa.best), (sb.epochs_done, sb.steps, sb.best), "{case}: {link} state");
    }
}

/// What a kill leaves must be usable: `last`, when there is one, is a whole checkpoint.
fn assert_last_is_whole(dir: &Path, case: &str) {
    let last = dir.join("checkpoints/last");
    if last.exists() {
        RunDir::read_state(&last).unwrap_or_else(|e| panic!("{case}: {e}"));
        fp_model::load(&last, tch::Device::Cpu).unwrap_or_else(|e| panic!("{case}: {e}"));
        fp_model::read_tensors(&last.join("optimizer.safetensors")).unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

fn fault(spec: &str, action: FaultAction) -> Fault {
    Fault { action, ..spec.parse().unwrap() }
}

/// Each case: the faults of successive attempts (each must hit), then a clean resume.
/// Epochs all improve on this data, so each epoch writes `last` and `best`.
const KILL_CASES: &[&[&str]] = &[
    &["checkpoint-after-weights:1"], // before the first checkpoint: the resume starts afresh
    &["checkpoint-after-weights:2"],
    &["checkpoint-after-optimizer:3"],
    &["checkpoint-before-rename:2"],
    &["checkpoint-before-links:1"],
    &["checkpoint-before-links:4"],
    &["link-before-rename:1"], // `last` of epoch 1
    &["link-before-rename:4"], // `best` of epoch 2
    &["checkpoint-between-links:2"],
    &["checkpoint-between-links:4"], // the last epoch: nothing re-points `best` later
    &["prune-mid-remove:1"],
    &["prune-mid-remove:3"], // the last epoch's prune
    &["history-mid-append:2"],
    &["history-mid-append:4"],
    &["history-between-files:4"],
    &["checkpoint-after-optimizer:2", "history-before-rename:1"],
    &["checkpoint-after-optimizer:2", "history-before-rename:2", "checkpoint-before-links:1"],
];

#[test]
fn a_kill_at_any_storage_point_resumes_to_the_uninterrupted_run() {
    let root = tempfile::tempdir().unwrap();
    let want = root.path().join("straight");
    straight(&want);
    let mut covered = std::collections::HashSet::new();
    for (i, case) in KILL_CASES.iter().enumerate() {
        let name = case.join(" then ");
        let dir = root.path().join(format!("case-{i}"));
        for spec in *case {
            let killed = attempt(&dir, Some(fault(spec, FaultAction::Panic))).is_none();
            assert!(killed, "{name}: the fault {spec} was never reached");
            covered.insert(spec.split(':').next().unwrap().to_owned());
            assert_last_is_whole(&dir, &name);
        }
        finish(&dir);
        assert_same_run(&want, &dir, &name);
    }
    for point in FaultPoint::ALL {
        assert!(covered.contains(point.name()), "no case kills at {point}");
    }
}

#[test]
fn a_run_killed_between_its_links_gets_best_back_when_resumed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("run");
    assert!(attempt(&dir, Some(fault("checkpoint-between-links:4", FaultAction::Panic))).is_none());
    let link = |l: &str| std::fs::read_link(dir.join("checkpoints").join(l)).unwrap();
    assert_ne!(link("best"), link("last"), "the kill left `best` one checkpoint behind");
    drop(RunDir::open_for_resume(&dir, &[]).unwrap());
    assert_eq!(link("best"), link("last"), "resuming re-points it");
}

#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_the_start() {
    let root = tempfile::tempdir().unwrap();
    let (want, dir) = (root.path().join("straight"), root.path().join("run"));
    straight(&want);
    assert!(attempt(&dir, Some(fault("checkpoint-before-rename:1", FaultAction::Panic))).is_none());
    assert!(dir.join("config.toml").is_file() && !dir.join("checkpoints/last").exists());
    assert!(entries(&dir).iter().any(|e| e.contains(".tmp-")), "the kill left the unfinished checkpoint");
    finish(&dir);
    assert_same_run(&want, &dir, "killed in the first epoch");
    let log = std::fs::read_to_string(dir.join("train.log")).unwrap();
    assert!(log.contains("no checkpoint to resume from"), "{log}");
    assert!(log.contains("left by an interrupted write"), "{log}");
}

/// Each case: an error at a point. Training stops with an error naming the
/// file; the last checkpoint and the history are whole and agree; resuming
/// finishes the run.
const ERROR_CASES: &[&str] = &[
    "checkpoint-after-weights:2",
    "checkpoint-after-optimizer:2",
    "checkpoint-before-rename:3",
    "checkpoint-before-links:2",
    "link-before-rename:3",
    "checkpoint-between-links:2",
    "history-mid-append:2",
    "history-between-files:3",
];

#[test]
fn a_failed_write_stops_training_naming_the_file_and_keeps_the_run_resumable() {
    let root = tempfile::tempdir().unwrap();
    let want = root.path().join("straight");
    straight(&want);
    for (i, spec) in ERROR_CASES.iter().enumerate() {
        let dir = root.path().join(format!("case-{i}"));
        let err = attempt(&dir, Some(fault(spec, FaultAction::Error))).expect("an error is not a kill").unwrap_err();
        let TrainError::Io(fp_io::FileError { path, source }) = &err else { panic!("{spec}: {err:?}") };
        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{spec}");
        assert!(path.starts_with(&dir), "{spec}: {}", path.display());
        assert_eq!(err.to_string(), format!("cannot access {}", path.display()));
        let temporaries: Vec<String> = entries(&dir).into_iter().filter(|e| e.contains(".tmp-")).collect();
        assert!(temporaries.is_empty(), "{spec}: {temporaries:?}");
        assert_last_is_whole(&dir, spec);
        let state = RunDir::read_state(&dir.join("checkpoints/last")).unwrap();
        let rows = fp_train::history::read(&dir).unwrap();
        // The checkpoint comes first: the history has its epochs, or all but the newest.
        let key = |r: &fp_train::EpochRecord| (r.epoch, r.train_loss, r.val_loss, r.lr);
        let whole = rows.len() + 1 >= state.history.len()
            && rows.iter().map(key).eq(state.history[..rows.len()].iter().map(key));
        assert!(whole, "{spec}: the history is whole: {rows:?}");
        finish(&dir);
        assert_same_run(&want, &dir, spec);
    }
    // A checkpoint that cannot prune an old one is still saved, and the old one goes next time.
    let dir = root.path().join("prune");
    let outcome = attempt(&dir, Some(fault("prune-mid-remove:1", FaultAction::Error))).unwrap().unwrap();
    assert_eq!(outcome, Outcome::Completed { epochs: EPOCHS });
    assert_same_run(&want, &dir, "prune-mid-remove");
}
