//! The Python environment of the Ray Data example (`docs/examples/ray_restore.py`):
//! Ray 2.60.0 with its Data library and pandas, in a venv of its own beside
//! LibTorch's (`~/.cache/fpae/ray-2.60.0/venv`), installed on first use from
//! PyPI at pinned versions. `cargo xtask test` hands its Python to the example's
//! test in crates/fp-cli/tests/scale.rs through [`PYTHON_ENV`].
//!
//! A venv of its own keeps Ray's pins (pyarrow, protobuf, ...) away from the
//! torch that fpae links and from the restoration peers' TensorFlow.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{libtorch, peers};

/// The packages of the venv, at the versions the example was tested with: Ray
/// and what `ray[data]` and the example import.
pub const PACKAGES: [(&str, &str); 4] =
    [("ray", "2.60.0"), ("pandas", "3.1.1"), ("pyarrow", "26.0.1"), ("numpy", "2.4.6")];

/// The variable that tells the tests where the venv's Python is.
pub const PYTHON_ENV: &str = "FPAE_RAY_PYTHON";

/// Written last into a finished install: the pins it holds, one a line.
const COMPLETE_MARKER: &str = "fpae-ray.complete";

/// What pip installs: `name==version` for every pinned package, Ray with its Data extra.
pub fn pins() -> Vec<String> {
    PACKAGES.iter().map(|(p, v)| if *p == "ray" { format!("ray[data]=={v}") } else { format!("{p}=={v}") }).collect()
}

/// The folder of the install, beside LibTorch's.
pub fn install_dir() -> Result<PathBuf> {
    let libtorch = libtorch::install_dir()?;
    let parent = libtorch.parent().context("the LibTorch install folder has no parent")?;
    Ok(parent.join("ray-2.60.0"))
}

/// The Python of Ray's venv, installed first when missing or outdated; a rerun
/// with the install complete costs one file read.
pub fn python() -> Result<PathBuf> {
    let dir = install_dir()?;
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let marker = dir.join(COMPLETE_MARKER);
    let wanted = pins().join("\n") + "\n";
    if python.is_file() && fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(python);
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join("setup.log");
    let started = Instant::now();
    eprintln!("installing Ray ({}) into {} for the Ray Data example's test ...", pins().join(" "), venv.display());
    eprintln!("  pip's output: {}", log.display());
    if !python.is_file() {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(&venv);
        libtorch::run_logged(&mut cmd, &log).context(
            "cannot create a Python venv; install Python's venv module (on Debian/Ubuntu: `apt-get install python3-venv`)",
        )?;
    }
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]).args(pins());
    libtorch::run_logged(&mut cmd, &log).context("cannot install Ray")?;
    if !peers::installed(&python, &PACKAGES)? {
        bail!("pip installed {} into {}, but their versions do not match", pins().join(" "), venv.display());
    }
    fs::write(&marker, wanted).with_context(|| format!("cannot write {}", marker.display()))?;
    eprintln!("installed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(python)
}
