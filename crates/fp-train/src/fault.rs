//! Test seam: faults injected at the storage points of a run.
//!
//! A run must survive being killed at any moment and a disk that fills up.
//! The kill-anywhere soak (`cargo xtask soak`) and this crate's tests prove it
//! by stopping training exactly where it would hurt most: between the files of
//! a checkpoint, before a rename, in the middle of a history line. This module
//! owns the names of those points; `run.rs` and `history.rs` mark them by
//! calling `reach`.
//!
//! Nothing happens in normal use. A fault is armed either for the whole process
//! by the environment variable [`FAULT_ENV`], read once,
//!
//! ```text
//! FPAE_FAULT=<point>:<n>[:<action>]     e.g. FPAE_FAULT=history-mid-append:3
//! ```
//!
//! or for the calling thread by [`arm_on_this_thread`] (in-process tests, which
//! run in parallel). It acts the `n`-th time (1-based, counted from the start of
//! the process or from arming) that `point` is reached. Without either, reaching
//! a point costs two checks of an empty cell.
//!
//! Actions: `abort` (the default) ends the process at once, as SIGKILL would;
//! `error` makes the write fail with [`std::io::ErrorKind::StorageFull`], as a
//! full disk would; `panic` unwinds without running any clean-up, which an
//! in-process test can catch to look at what a kill would have left.

use std::cell::Cell;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Result, TrainError};

/// The environment variable that arms a fault for the whole process.
pub const FAULT_ENV: &str = "FPAE_FAULT";

/// A place in the storage code of a run where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// A checkpoint's `model.safetensors` and `model.toml` are in its temporary
    /// folder; the optimiser state is not.
    CheckpointAfterWeights,
    /// The optimiser state is written too; `state.json` is not.
    CheckpointAfterOptimizer,
    /// The temporary folder is complete and about to be renamed into place.
    CheckpointBeforeRename,
    /// The checkpoint is in place; `last` does not point at it yet.
    CheckpointBeforeLinks,
    /// A new `last` or `best` link exists under a temporary name and is about
    /// to be renamed over the old one.
    LinkBeforeRename,
    /// `last` points at the new checkpoint, `best` not yet (epochs that improved).
    CheckpointBetweenLinks,
    /// An old checkpoint that is being removed has lost its `state.json`, not yet its other files.
    PruneMidRemove,
    /// Half of an epoch's `history.csv` line is written.
    HistoryMidAppend,
    /// The epoch is appended to `history.csv`, not yet to `history.jsonl`.
    HistoryBetweenFiles,
    /// A rewritten history file (when resuming) is complete under its
    /// temporary name, not renamed yet.
    HistoryBeforeRename,
}

impl FaultPoint {
    /// Every point, in the order a run reaches them.
    pub const ALL: [FaultPoint; 10] = [
        Self::HistoryBeforeRename,
        Self::CheckpointAfterWeights,
        Self::CheckpointAfterOptimizer,
        Self::CheckpointBeforeRename,
        Self::CheckpointBeforeLinks,
        Self::LinkBeforeRename,
        Self::CheckpointBetweenLinks,
        Self::PruneMidRemove,
        Self::HistoryMidAppend,
        Self::HistoryBetweenFiles,
    ];

    /// The point's name in [`FAULT_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Self::CheckpointAfterWeights => "checkpoint-after-weights",
            Self::CheckpointAfterOptimizer => "checkpoint-after-optimizer",
            Self::CheckpointBeforeRename => "checkpoint-before-rename",
            Self::CheckpointBeforeLinks => "checkpoint-before-links",
            Self::LinkBeforeRename => "link-before-rename",
            Self::CheckpointBetweenLinks => "checkpoint-between-links",
            Self::PruneMidRemove => "prune-mid-remove",
            Self::HistoryMidAppend => "history-mid-append",
            Self::HistoryBetweenFiles => "history-between-files",
            Self::HistoryBeforeRename => "history-before-rename",
        }
    }
}

impl fmt::Display for FaultPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultPoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
            format!("unknown fault point {s:?}; the points are {}", names.join(", "))
        })
    }
}

/// What an armed fault does when its point is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// End the process at once (`std::process::abort`), like SIGKILL.
    Abort,
    /// Fail the write with [`std::io::ErrorKind::StorageFull`].
    Error,
    /// Panic, skipping every clean-up (for in-process tests that catch it).
    Panic,
}

/// A fault: `action` at the `nth` time `point` is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Where.
    pub point: FaultPoint,
    /// At which visit, from 1.
    pub nth: usize,
    /// What happens.
    pub action: FaultAction,
}

impl FromStr for Fault {
    type Err = String;
    /// `<point>:<n>[:abort|error|panic]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(':');
        let point = parts.next().unwrap_or_default().parse()?;
        let nth = match parts.next().map(str::parse::<usize>) {
            Some(Ok(n)) if n >= 1 => n,
            _ => return Err("expected <point>:<n>[:abort|error|panic] with n >= 1".into()),
        };
        let action = match parts.next() {
            None | Some("abort") => FaultAction::Abort,
            Some("error") => FaultAction::Error,
            Some("panic") => FaultAction::Panic,
            Some(other) => return Err(format!("unknown action {other:?}; expected abort, error or panic")),
        };
        if parts.next().is_some() {
            return Err("expected <point>:<n>[:abort|error|panic]".into());
        }
        Ok(Self { point, nth, action })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            FaultAction::Abort => "abort",
            FaultAction::Error => "error",
            FaultAction::Panic => "panic",
        };
        write!(f, "{}:{}:{action}", self.point, self.nth)
    }
}

/// The fault [`FAULT_ENV`] arms, read once; an error if it is set but malformed.
pub fn env_fault() -> Result<Option<Fault>> {
    static FROM_ENV: OnceLock<Result<Option<Fault>, (String, String)>> = OnceLock::new();
    let parsed = FROM_ENV.get_or_init(|| match std::env::var(FAULT_ENV) {
        Err(_) => Ok(None),
        Ok(spec) => spec.parse().map(Some).map_err(|reason| (spec, reason)),
    });
    parsed.clone().map_err(|(spec, reason)| TrainError::Fault { spec, reason })
}

/// Visits of the environment's fault point in this process.
static ENV_VISITS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The fault armed on this thread, and the visits of its point so far.
    static ARMED: Cell<Option<(Fault, usize)>> = const { Cell::new(None) };
}

/// Arms `fault` for the calling thread (`None` disarms), with its visits
/// counted from now. It takes precedence over [`FAULT_ENV`]. For tests.
pub fn arm_on_this_thread(fault: Option<Fault>) {
    ARMED.with(|armed| armed.set(fault.map(|f| (f, 0))));
}

/// Whether a fault is armed for `point` on this thread or by the environment
/// (so that the caller can make the point reachable, e.g. split a write in two).
pub(crate) fn armed_at(point: FaultPoint) -> bool {
    let here = ARMED.with(|armed| armed.get()).is_some_and(|(f, _)| f.point == point);
    here || matches!(env_fault(), Ok(Some(f)) if f.point == point)
}

/// Marks `point`, where the next write concerns `path`. Does nothing unless a
/// fault armed for `point` is due: then it aborts the process, panics, or
/// returns a "no space left on device" error naming `path`.
pub(crate) fn reach(point: FaultPoint, path: &Path) -> Result<()> {
    let due = ARMED.with(|armed| {
        let (fault, visits) = armed.get()?;
        if fault.point != point {
            return None;
        }
        armed.set(Some((fault, visits + 1)));
        Some((visits + 1 == fault.nth).then_some(fault))
    });
    let due = match due {
        Some(due) => due,
        None => match env_fault() {
            Ok(Some(fault)) if fault.point == point => {
                let visits = ENV_VISITS.fetch_add(1, Ordering::SeqCst) + 1;
                (visits == fault.nth).then_some(fault)
            }
            _ => None,
        },
    };
    let Some(fault) = due else { return Ok(()) };
    match fault.action {
        FaultAction::Abort => {
            tracing::error!("injected fault {fault}: aborting at {}", path.display());
            std::process::abort()
        }
        FaultAction::Panic => panic!("injected fault {fault} at {}", path.display()),
        FaultAction::Error => {
            tracing::error!("injected fault {fault}: failing the write of {}", path.display());
            let source =
                std::io::Error::new(std::io::ErrorKind::StorageFull, format!("no space left on device ({FAULT_ENV})"));
            Err(TrainError::Io(fp_io::FileError::new(path, source)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        let f: Fault = "history-mid-append:3".parse().unwrap();
        assert_eq!(f, Fault { point: FaultPoint::HistoryMidAppend, nth: 3, action: FaultAction::Abort });
        assert_eq!(f.to_string(), "history-mid-append:3:abort");
        for point in FaultPoint::ALL {
            for action in ["abort", "error", "panic"] {
                let spec = format!("{point}:2:{action}");
                assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
            }
        }
        assert!("nowhere:1".parse::<Fault>().unwrap_err().starts_with("unknown fault point \"nowhere\""));
        assert!("link-before-rename:0".parse::<Fault>().is_err());
        assert!("link-before-rename".parse::<Fault>().is_err());
        assert!("link-before-rename:1:explode".parse::<Fault>().is_err());
        assert!("link-before-rename:1:error:x".parse::<Fault>().is_err());
    }

    #[test]
    fn an_armed_fault_acts_at_its_nth_visit_only() {
        let path = Path::new("dir/history.csv");
        arm_on_this_thread(Some("history-mid-append:2:error".parse().unwrap()));
        assert!(armed_at(FaultPoint::HistoryMidAppend) && !armed_at(FaultPoint::LinkBeforeRename));
        reach(FaultPoint::LinkBeforeRename, path).unwrap();
        reach(FaultPoint::HistoryMidAppend, path).unwrap();
        let err = reach(FaultPoint::HistoryMidAppend, path).unwrap_err();
        let TrainError::Io(fp_io::FileError { path: named, source }) = &err else { panic!("{err:?}") };
        assert_eq!((named.as_path(), source.kind()), (path, std::io::ErrorKind::StorageFull));
        reach(FaultPoint::HistoryMidAppend, path).unwrap();
        arm_on_this_thread(None);
        assert!(!armed_at(FaultPoint::HistoryMidAppend));
    }
}
