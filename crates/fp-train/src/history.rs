//! The per-epoch history of a run: `history.csv` and `history.jsonl`.
//!
//! An epoch is appended after its checkpoint is written, and resuming rewrites
//! both files from the checkpoint's own copy of the history, so a line half
//! appended by a killed process, or appended after the checkpoint it resumes
//! from, never survives. An append that fails (a full disk) cuts both files
//! back to what they held before it.
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::fault::{self, FaultPoint};

/// Header line of `history.csv`.
pub const HISTORY_CSV_HEADER: &str = "epoch,train_loss,val_loss,seconds,images_per_sec,lr";
/// File name of the CSV history.
pub const HISTORY_CSV: &str = "history.csv";
/// File name of the JSON-lines history.
pub const HISTORY_JSONL: &str = "history.jsonl";

/// What one epoch of training measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training MSE over the epoch's images (as Keras reports it).
    pub train_loss: f64,
    /// Mean validation MSE at the end of the epoch.
    pub val_loss: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
    /// Training images per second (training steps only).
    pub images_per_sec: f64,
    /// Learning rate.
    pub lr: f64,
}

impl EpochRecord {
    fn csv_line(&self) -> String {
        format!(
            "{},{},{},{:.3},{:.2},{}",
            self.epoch, self.train_loss, self.val_loss, self.seconds, self.images_per_sec, self.lr
        )
    }
}

/// Appends one epoch to `history.csv` and `history.jsonl` in `dir`, creating
/// them (with the CSV header) if needed. On an error both files are cut back to
/// their length before the call, and the error names the file that failed.
pub fn append(dir: &Path, record: &EpochRecord) -> Result<()> {
    let csv = dir.join(HISTORY_CSV);
    let jsonl = dir.join(HISTORY_JSONL);
    let before = [(&csv, file_len(&csv)), (&jsonl, file_len(&jsonl))];
    let result = append_to_both(&csv, &jsonl, record);
    if result.is_err() {
        for (path, len) in before {
            restore_len(path, len);
        }
    }
    result
}

fn append_to_both(csv: &Path, jsonl: &Path, record: &EpochRecord) -> Result<()> {
    let new = !csv.exists();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(csv).map_err(TrainError::io(csv))?;
    let mut text = String::new();
    if new {
        text.push_str(HISTORY_CSV_HEADER);
        text.push('\n');
    }
    text.push_str(&record.csv_line());
    text.push('\n');
    let bytes = text.as_bytes();
    // One write, unless a test wants to stop in the middle of the line.
    let split = if fault::armed_at(FaultPoint::HistoryMidAppend) { bytes.len() / 2 } else { bytes.len() };
    file.write_all(&bytes[..split]).map_err(TrainError::io(csv))?;
    fault::reach(FaultPoint::HistoryMidAppend, csv)?;
    file.write_all(&bytes[split..]).map_err(TrainError::io(csv))?;
    fault::reach(FaultPoint::HistoryBetweenFiles, jsonl)?;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(jsonl).map_err(TrainError::io(jsonl))?;
    let line = serde_json::to_string(record).expect("a record serializes") + "\n";
    file.write_all(line.as_bytes()).map_err(TrainError::io(jsonl))
}

/// The length of `path`, `None` when it does not exist.
fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Cuts `path` back to `len` bytes, or removes it when it did not exist; best
/// effort, since resuming rewrites the history anyway.
fn restore_len(path: &Path, len: Option<u64>) {
    let restored = match len {
        Some(len) if file_len(path) != Some(len) => {
            std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(len))
        }
        Some(_) => Ok(()),
        None => std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
    };
    if let Err(e) = restored {
        tracing::warn!("cannot restore {} after a failed append: {e}", path.display());
    }
}

/// Rewrites both history files to hold exactly `records` (atomically), e.g. when
/// resuming from a checkpoint older than the last appended epoch.
pub fn rewrite(dir: &Path, records: &[EpochRecord]) -> Result<()> {
    let mut csv = format!("{HISTORY_CSV_HEADER}\n");
    let mut jsonl = String::new();
    for r in records {
        csv.push_str(&r.csv_line());
        csv.push('\n');
        jsonl.push_str(&(serde_json::to_string(r).expect("a record serializes") + "\n"));
    }
    for (name, text) in [(HISTORY_CSV, csv), (HISTORY_JSONL, jsonl)] {
        let path = dir.join(name);
        fp_io::write_atomically(&path, |tmp| -> Result<()> {
            std::fs::write(tmp, &text).map_err(TrainError::io(&path))?;
            fault::reach(FaultPoint::HistoryBeforeRename, &path)
        })?;
    }
    Ok(())
}

/// Reads `history.csv` from a run directory.
pub fn read(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join(HISTORY_CSV);
    let text = std::fs::read_to_string(&path).map_err(TrainError::io(&path))?;
    let bad =
        |line: usize, what: &str| TrainError::RunDir { path: path.clone(), reason: format!("line {line}: {what}") };
    let mut lines = text.lines();
    if lines.next() != Some(HISTORY_CSV_HEADER) {
        return Err(bad(1, &format!("expected the header {HISTORY_CSV_HEADER}")));
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok());
        match (f.len(), f[0].parse::<usize>().ok(), num(1), num(2), num(3), num(4), num(5)) {
            (6, Some(epoch), Some(train_loss), Some(val_loss), Some(seconds), Some(images_per_sec), Some(lr)) => {
                out.push(EpochRecord { epoch, train_loss, val_loss, seconds, images_per_sec, lr })
            }
            _ => return Err(bad(i + 2, &format!("expected 6 numbers, got {line:?}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 0.5 / epoch as f64,
            val_loss: 0.25,
            seconds: 1.5,
            images_per_sec: 10.0,
            lr: 1e-3,
        }
    }

    #[test]
    fn append_rewrite_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &rec(1)).unwrap();
        append(dir.path(), &rec(2)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(HISTORY_CSV)).unwrap();
        assert_eq!(
            text,
            format!("{HISTORY_CSV_HEADER}\n1,0.5,0.25,1.500,10.00,0.001\n2,0.25,0.25,1.500,10.00,0.001\n")
        );
        assert_eq!(read(dir.path()).unwrap(), [rec(1), rec(2)]);
        assert_eq!(std::fs::read_to_string(dir.path().join(HISTORY_JSONL)).unwrap().lines().count(), 2);
        rewrite(dir.path(), &[rec(1)]).unwrap();
        assert_eq!(read(dir.path()).unwrap(), [rec(1)]);
        assert_eq!(std::fs::read_to_string(dir.path().join(HISTORY_JSONL)).unwrap().lines().count(), 1);
    }

    fn contents(dir: &Path) -> [String; 2] {
        [HISTORY_CSV, HISTORY_JSONL].map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
    }

    #[test]
    fn a_failed_append_leaves_both_files_as_they_were_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &rec(1)).unwrap();
        let before = contents(dir.path());
        for (point, file) in
            [(FaultPoint::HistoryMidAppend, HISTORY_CSV), (FaultPoint::HistoryBetweenFiles, HISTORY_JSONL)]
        {
            fault::arm_on_this_thread(Some(fault::Fault { point, nth: 1, action: fault::FaultAction::Error }));
            let err = append(dir.path(), &rec(2)).unwrap_err();
            fault::arm_on_this_thread(None);
            assert_eq!(err.to_string(), format!("cannot access {}", dir.path().join(file).display()), "{point}");
            assert_eq!(contents(dir.path()), before, "{point}");
        }
        // The first append of a run creates the files; failing, it leaves none.
        let empty = tempfile::tempdir().unwrap();
        fault::arm_on_this_thread(Some("history-between-files:1:error".parse().unwrap()));
        append(empty.path(), &rec(1)).unwrap_err();
        fault::arm_on_this_thread(None);
        assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_rewrite_keeps_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &rec(1)).unwrap();
        append(dir.path(), &rec(2)).unwrap();
        let before = contents(dir.path());
        fault::arm_on_this_thread(Some("history-before-rename:1:error".parse().unwrap()));
        let err = rewrite(dir.path(), &[rec(1)]).unwrap_err();
        fault::arm_on_this_thread(None);
        assert_eq!(err.to_string(), format!("cannot access {}", dir.path().join(HISTORY_CSV).display()));
        assert_eq!(contents(dir.path()), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary is left");
    }
}
