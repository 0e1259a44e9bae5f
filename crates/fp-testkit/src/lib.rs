//! What fpae's tests need from outside the tree, and one rule for when it is
//! missing: **the test fails**, naming what it needs and where it looked.
//!
//! A test that needs the real FVC datasets, a browser or a capability of the
//! machine asks for it here. When it is absent the test panics with a message
//! that says how to provide it. Only an explicit request skips it: the
//! environment variable [`SKIP_VAR`] (`FPAE_SKIP`) lists the needs that may be
//! missing, comma-separated (`FPAE_SKIP=data,browser`, or `all`). A skipped
//! test prints `skipped: ...` and appends the same line to the file named by
//! [`SKIP_LOG_VAR`] (`FPAE_SKIP_LOG`), which `cargo xtask test` sets, empties
//! before the run and prints at its end, so a skip is never silent.
//!
//! ```no_run
//! let Some(root) = fp_testkit::dataset("fvc2002") else { return };
//! # let _ = root;
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The variable that lists the needs a test run may skip: `data`, `browser`,
/// `capability`, or `all`, comma-separated.
pub const SKIP_VAR: &str = "FPAE_SKIP";
/// The variable naming the file every skip is appended to.
pub const SKIP_LOG_VAR: &str = "FPAE_SKIP_LOG";

/// Something a test needs from outside the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The real datasets beside the checkout (`../shared/data/<name>`).
    Data,
    /// A headless browser (Debian's chromium).
    Browser,
    /// A capability of the machine or the process (dropping a privilege, making a named pipe).
    Capability,
}

impl Need {
    /// The word [`SKIP_VAR`] names it by.
    pub fn word(self) -> &'static str {
        match self {
            Need::Data => "data",
            Need::Browser => "browser",
            Need::Capability => "capability",
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Whether the value of [`SKIP_VAR`] allows `need` to be missing.
pub fn skip_allowed(value: Option<&str>, need: Need) -> bool {
    value.is_some_and(|v| v.split(',').map(str::trim).any(|w| w == "all" || w == need.word()))
}

/// What a run does about a missing `need`, given the value of [`SKIP_VAR`]:
/// `Ok` with the line that records the skip, or `Err` with the failure message.
pub fn verdict(skip_value: Option<&str>, need: Need, what: &str) -> Result<String, String> {
    if skip_allowed(skip_value, need) {
        Ok(format!("{what} ({SKIP_VAR}={need})"))
    } else {
        Err(format!("{what}; this test needs it (set {SKIP_VAR}={need} to skip the tests that need it, saying so)"))
    }
}

/// `need` is missing, as `what` says: fails the calling test, or, when
/// [`SKIP_VAR`] allows it, records the skip and returns so that the test can.
///
/// # Panics
///
/// When [`SKIP_VAR`] does not name `need`: that is how the test fails.
pub fn missing(need: Need, what: &str) {
    let skipped = match verdict(std::env::var(SKIP_VAR).ok().as_deref(), need, what) {
        Ok(skipped) => skipped,
        Err(failure) => panic!("{failure}"),
    };
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("skipped: {test}: {skipped}");
    eprintln!("{line}");
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        // Appends of one short line are atomic between the test processes.
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            panic!("cannot record the skip in {}: {e}", PathBuf::from(log).display());
        }
    }
}

/// The workspace root (this crate lives in `crates/fp-testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The environment variable that points at a dataset elsewhere: `FPAE_FVC2002` for `fvc2002`.
pub fn dataset_var(name: &str) -> String {
    format!("FPAE_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// The real dataset `name` (`fvc2002`, `fvc2000`): the folder in its variable
/// ([`dataset_var`]) when set, else `../shared/data/<name>` beside the checkout;
/// it must hold `DB1_B`. `None` only when [`SKIP_VAR`] allows `data` to be
/// missing; otherwise a missing dataset fails the test.
pub fn dataset(name: &str) -> Option<PathBuf> {
    let var = dataset_var(name);
    let root = std::env::var_os(&var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("data").join(name));
    if root.join("DB1_B").is_dir() {
        return Some(root);
    }
    missing(Need::Data, &format!("the {name} B sets are not at {} (or set {var}=DIR)", root.display()));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_needs_may_be_skipped() {
        assert!(!skip_allowed(None, Need::Data));
        assert!(!skip_allowed(Some(""), Need::Data));
        assert!(!skip_allowed(Some("browser"), Need::Data));
        assert!(!skip_allowed(Some("dataset"), Need::Data));
        assert!(skip_allowed(Some("browser, data"), Need::Data));
        assert!(skip_allowed(Some("all"), Need::Capability));
        assert!(skip_allowed(Some("capability"), Need::Capability));
    }

    #[test]
    fn a_dataset_has_its_own_variable() {
        assert_eq!(dataset_var("fvc2002"), "FPAE_FVC2002");
        assert_eq!(dataset_var("my-set"), "FPAE_MY_SET");
    }

    #[test]
    fn a_missing_need_fails_unless_skipping_is_asked_for() {
        let failure = verdict(None, Need::Browser, "no browser here").unwrap_err();
        assert!(failure.contains("no browser here") && failure.contains("FPAE_SKIP=browser"), "{failure}");
        assert!(verdict(Some("data"), Need::Browser, "no browser here").is_err());
        let skipped = verdict(Some("data,browser"), Need::Browser, "no browser here").unwrap();
        assert_eq!(skipped, "no browser here (FPAE_SKIP=browser)");
    }
}
