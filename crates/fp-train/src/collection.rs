//! Restoring a collection too large for one command line: a manifest of
//! input paths, and a results log of one JSON line per print that lets a
//! rerun (after a kill, a preemption, a failed node) skip what is done.
//!
//! A manifest has one path a line; blank lines and lines starting with `#`
//! are skipped, and relative paths are relative to a base folder (the
//! manifest's own, or the working directory for standard input). Each entry
//! is written under the output folder at the path it was given with, so that
//! any batch of a collection names its outputs the same way whatever else is
//! in the batch.
//!
//! The results log is appended to, a line at a time; a line cut short by a
//! kill (the last, without its newline) is removed when the log is opened again.
//! A print counts as done when its latest `ok` line names the same output and
//! that file still has the SHA-256 the line records.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, TrainError};

/// One print named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The file to read: the entry, under the base folder when it is relative.
    pub input: PathBuf,
    /// Where its output goes below the output folder, without extension: the
    /// entry as written (an absolute one without its root).
    pub output_stem: PathBuf,
}

/// The entries of manifest text `text`; `base` is the folder relative entries
/// are relative to, `origin` names the manifest in errors. An entry with a
/// `..` component is an error, since its output would leave the output folder.
pub fn parse_manifest(text: &str, base: &Path, origin: &Path) -> Result<Vec<ManifestEntry>> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let path = Path::new(entry);
        let mut output_stem = PathBuf::new();
        for part in path.components() {
            match part {
                Component::Normal(name) => output_stem.push(name),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    return Err(TrainError::Manifest {
                        path: origin.to_owned(),
                        line: n + 1,
                        reason: format!(
                            "{entry}: expected a path without `..` (its output would leave the output folder)"
                        ),
                    });
                }
            }
        }
        if output_stem.as_os_str().is_empty() {
            return Err(TrainError::Manifest {
                path: origin.to_owned(),
                line: n + 1,
                reason: format!("{entry}: expected the path of an image"),
            });
        }
        output_stem.set_extension("");
        entries.push(ManifestEntry { input: base.join(path), output_stem });
    }
    Ok(entries)
}

/// Reads a manifest from `path`, or from `stdin` when `path` is `-`
/// (relative entries then relative to the working directory).
pub fn read_manifest(path: &Path, stdin: impl Read) -> Result<Vec<ManifestEntry>> {
    if path == Path::new("-") {
        let mut text = String::new();
        let mut stdin = stdin;
        stdin.read_to_string(&mut text).map_err(TrainError::io("standard input"))?;
        return parse_manifest(&text, Path::new(""), Path::new("<stdin>"));
    }
    let text = std::fs::read_to_string(path).map_err(TrainError::io(path))?;
    parse_manifest(&text, path.parent().unwrap_or(Path::new("")), path)
}

/// What became of one print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    /// Restored and written.
    Ok,
    /// Left alone: an earlier `ok` line and its output are still there.
    Skipped,
    /// Not restored; `error` says why.
    Error,
}

/// One line of a results log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultLine {
    /// The input file, as read.
    pub input: String,
    /// The output file.
    pub output: String,
    /// SHA-256 of the output file (`ok` and `skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Milliseconds spent on this print: its decoding and writing, and its
    /// share of its batch's model time (`ok` and `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    /// Minutiae found in the output, when they were looked for (`restore --templates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutiae: Option<usize>,
    /// `ok`, `skipped` or `error`.
    pub status: ResultStatus,
    /// What went wrong (`error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A results log open for appending, with what its earlier lines say is done.
#[derive(Debug)]
pub struct ResultsLog {
    path: PathBuf,
    file: std::fs::File,
    /// By input: the latest `ok` line, unless an `error` line came after it.
    done: HashMap<String, ResultLine>,
}

impl ResultsLog {
    /// Opens (or creates) the log at `path` and reads what it holds. A line
    /// that is not a result is an error naming it, except a last line without
    /// its newline, which a kill cut short and which is removed.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(TrainError::io(path))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(TrainError::io(path))?;
        let mut done: HashMap<String, ResultLine> = HashMap::new();
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: ResultLine = match serde_json::from_str(line) {
                Ok(parsed) => parsed,
                Err(_) if n + 1 == lines.len() && !complete => {
                    tracing::warn!("{}: line {} was cut short by a kill; removing it", path.display(), n + 1);
                    continue;
                }
                Err(source) => return Err(TrainError::ResultsLine { path: path.to_owned(), line: n + 1, source }),
            };
            match parsed.status {
                ResultStatus::Ok => {
                    done.insert(parsed.input.clone(), parsed);
                }
                ResultStatus::Error => {
                    done.remove(&parsed.input);
                }
                ResultStatus::Skipped => {}
            }
        }
        if !text.is_empty() && !complete {
            // Drop the remnant, so that the next line starts on a line of its own.
            let whole = text.rfind('\n').map_or(0, |i| i + 1);
            file.set_len(whole as u64).map_err(TrainError::io(path))?;
        }
        Ok(Self { path: path.to_owned(), file, done })
    }

    /// The `skipped` line for `input` when the log says it was restored into
    /// `output` and that file still has the SHA-256 recorded; `None` when it
    /// must be restored (again).
    pub fn skip(&self, input: &Path, output: &Path) -> Option<ResultLine> {
        let line = self.done.get(&input.display().to_string())?;
        let recorded = line.sha256.as_deref()?;
        if line.output != output.display().to_string() {
            return None;
        }
        let found = sha256_file(output).ok()?;
        (found == recorded).then(|| ResultLine { ms: None, status: ResultStatus::Skipped, error: None, ..line.clone() })
    }

    /// Appends `line` (one write, then a flush to the file).
    pub fn append(&mut self, line: &ResultLine) -> Result<()> {
        let mut text = serde_json::to_string(line).expect("a result line serializes");
        text.push('\n');
        self.file.write_all(text.as_bytes()).map_err(TrainError::io(&self.path))?;
        self.file.flush().map_err(TrainError::io(&self.path))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the file at `path`, in lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_skip_comments_and_keep_the_entries_paths_for_outputs() {
        let text = "# scans of 2024\n\nDB1_B/101_1.tif\n  ./x/2.png  \n/abs/scans/3.bmp\n";
        let entries = parse_manifest(text, Path::new("/lists"), Path::new("m.txt")).unwrap();
        let got: Vec<(&Path, &Path)> = entries.iter().map(|e| (e.input.as_path(), e.output_stem.as_path())).collect();
        assert_eq!(
            got,
            [
                (Path::new("/lists/DB1_B/101_1.tif"), Path::new("DB1_B/101_1")),
                (Path::new("/lists/./x/2.png"), Path::new("x/2")),
                (Path::new("/abs/scans/3.bmp"), Path::new("abs/scans/3")),
            ]
        );
        let err = parse_manifest("a.png\n../b.png\n", Path::new(""), Path::new("m.txt")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.txt, line 2: ../b.png: expected a path without `..` (its output would leave the output folder)"
        );
        let stdin = read_manifest(Path::new("-"), "a/b.tif\n".as_bytes()).unwrap();
        assert_eq!(stdin[0].input, Path::new("a/b.tif"));
    }

    #[test]
    fn a_log_skips_what_it_recorded_whole_and_survives_a_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.png");
        std::fs::write(&out, b"restored").unwrap();
        let log_path = dir.path().join("results.jsonl");
        let ok = |input: &str, sha: &str| ResultLine {
            input: input.into(),
            output: out.display().to_string(),
            sha256: Some(sha.into()),
            ms: Some(3.5),
            minutiae: Some(12),
            status: ResultStatus::Ok,
            error: None,
        };
        {
            let mut log = ResultsLog::open(&log_path).unwrap();
            log.append(&ok("a.tif", &sha256_hex(b"restored"))).unwrap();
            log.append(&ok("b.tif", "0000")).unwrap();
            log.append(&ok("c.tif", &sha256_hex(b"restored"))).unwrap();
            log.append(&ResultLine { status: ResultStatus::Error, error: Some("boom".into()), ..ok("c.tif", "") })
                .unwrap();
        }
        // A kill in the middle of a line.
        std::fs::OpenOptions::new().append(true).open(&log_path).unwrap().write_all(b"{\"input\":\"d.t").unwrap();
        let mut log = ResultsLog::open(&log_path).unwrap();
        let skipped = log.skip(Path::new("a.tif"), &out).unwrap();
        assert_eq!((skipped.status, skipped.minutiae, skipped.ms), (ResultStatus::Skipped, Some(12), None));
        assert!(log.skip(Path::new("b.tif"), &out).is_none(), "another SHA-256: restored again");
        assert!(log.skip(Path::new("c.tif"), &out).is_none(), "failed after its ok line");
        assert!(log.skip(Path::new("a.tif"), &dir.path().join("elsewhere.png")).is_none());
        log.append(&skipped).unwrap();
        drop(log);
        let text = std::fs::read_to_string(&log_path).unwrap();
        let last: ResultLine = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last, skipped, "the cut line was removed before appending");
        assert!(!text.contains("d.t"), "{text}");
        std::fs::write(&out, b"changed").unwrap();
        assert!(ResultsLog::open(&log_path).unwrap().skip(Path::new("a.tif"), &out).is_none());

        std::fs::write(&log_path, "{\"input\":1}\n").unwrap();
        let err = ResultsLog::open(&log_path).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}, line 1: not a result line", log_path.display())), "{err}");
    }
}
