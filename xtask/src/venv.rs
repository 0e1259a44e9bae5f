//! A Python venv of pinned packages beside LibTorch's install, installed on first
//! use from PyPI and marked complete by a file holding its pins: the restoration
//! peers' (`peers.rs`) and the Ray Data example's (`ray.rs`).

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{libtorch, peers};

/// One pinned venv: where it lives and what goes in it.
pub struct PinnedVenv<'a> {
    /// The name of the install's folder, beside LibTorch's; the venv is its `venv` folder.
    pub folder: &'a str,
    /// The file written last into a finished install, holding its pins one a line.
    pub marker: &'a str,
    /// The packages and their versions, which the installed metadata must match.
    pub packages: &'a [(&'a str, &'a str)],
    /// What pip installs (`name==version`, extras included).
    pub pins: &'a [String],
    /// What is installed and why, for the progress line (`Ray (...) ... for ...`).
    pub what: &'a str,
    /// The context of a failed pip install.
    pub failure: &'a str,
}

impl PinnedVenv<'_> {
    /// The folder of the install, beside LibTorch's.
    fn install_dir(&self) -> Result<PathBuf> {
        let libtorch = libtorch::install_dir()?;
        let parent = libtorch.parent().context("the LibTorch install folder has no parent")?;
        Ok(parent.join(self.folder))
    }

    /// The Python of the venv, installed first when missing or outdated; a rerun
    /// with the install complete costs one file read.
    pub fn python(&self) -> Result<PathBuf> {
        let dir = self.install_dir()?;
        let venv = dir.join("venv");
        let python = venv.join("bin").join("python");
        let marker = dir.join(self.marker);
        let wanted = self.pins.join("\n") + "\n";
        if python.is_file() && fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
            return Ok(python);
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let log = dir.join("setup.log");
        let started = Instant::now();
        eprintln!("installing {} into {} ...", self.what, venv.display());
        eprintln!("  pip's output: {}", log.display());
        if !python.is_file() {
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "venv"]).arg(&venv);
            libtorch::run_logged(&mut cmd, &log).context(
                "cannot create a Python venv; install Python's venv module (on Debian/Ubuntu: `apt-get install python3-venv`)",
            )?;
        }
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]).args(self.pins);
        libtorch::run_logged(&mut cmd, &log).context(self.failure.to_owned())?;
        if !peers::installed(&python, self.packages)? {
            bail!("pip installed {} into {}, but their versions do not match", self.pins.join(" "), venv.display());
        }
        fs::write(&marker, wanted).with_context(|| format!("cannot write {}", marker.display()))?;
        eprintln!("installed in {:.0} s", started.elapsed().as_secs_f64());
        Ok(python)
    }
}
