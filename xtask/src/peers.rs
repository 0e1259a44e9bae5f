//! The Python environment of the restoration peers: pyfing 0.7.3 with both of
//! its pipelines (classical Gabor and learned SNFEN), on Keras 3 with the
//! TensorFlow CPU backend, in a venv of its own beside LibTorch's
//! (`~/.cache/fpae/pyfing-0.7.3/venv`), installed on first use from PyPI at
//! pinned versions.
//!
//! Why TensorFlow: SNFEN runs faster on Keras's TensorFlow backend than on its
//! torch backend (docs/restoration.md has the measurement). A venv of its own
//! keeps TensorFlow's pins away from the torch that fpae links.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::{libtorch, venv};

/// The packages of the peers' venv, at the versions the published numbers were made with.
/// pyfing's package declares no dependencies itself.
pub const PACKAGES: [(&str, &str); 6] = [
    ("pyfing", "0.7.3"),
    ("keras", "3.15.1"),
    ("tensorflow-cpu", "2.21.0"),
    ("opencv-python-headless", "4.14.0.94"),
    ("scipy", "1.17.1"),
    ("numpy", "2.4.6"),
];

/// The Keras backend the peers run on.
pub const KERAS_BACKEND: &str = "tensorflow";

/// Written last into a finished install: the pins it holds, one a line.
const COMPLETE_MARKER: &str = "fpae-peers.complete";

/// `name==version` for every pinned package.
pub fn pins() -> Vec<String> {
    PACKAGES.iter().map(|(p, v)| format!("{p}=={v}")).collect()
}

/// The Python of the peers' venv, installed first when missing or outdated.
pub fn python() -> Result<PathBuf> {
    let pins = pins();
    venv::PinnedVenv {
        folder: "pyfing-0.7.3",
        marker: COMPLETE_MARKER,
        packages: &PACKAGES,
        pins: &pins,
        what: &format!("the restoration peers ({})", pins.join(" ")),
        failure: "cannot install the restoration peers; or run with --no-pyfing",
    }
    .python()
}

/// Whether `python` holds every package of `wanted` at its version (a local
/// version, `2.13.0+cpu`, counts as its release). Reads the installed metadata:
/// nothing is imported.
pub fn installed(python: &Path, wanted: &[(&str, &str)]) -> Result<bool> {
    let wanted = wanted.iter().map(|(p, v)| format!("({p:?}, {v:?})")).collect::<Vec<_>>().join(", ");
    let code = format!(
        "import sys\nfrom importlib.metadata import version\n\
         def ok(p, v):\n    try:\n        return version(p).split('+')[0] == v\n    except Exception:\n        return False\n\
         sys.exit(0 if all(ok(p, v) for p, v in [{wanted}]) else 1)\n"
    );
    let status = Command::new(python)
        .arg("-c")
        .arg(code)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?;
    Ok(status.success())
}

/// numpy in LibTorch's venv, for the tests of the pyfing script's pure parts
/// (`xtask/bench/test_pyfing_enhance.py`), which need nothing else.
pub fn ensure_test_numpy(python: &Path) -> Result<()> {
    let numpy = PACKAGES.iter().find(|(p, _)| *p == "numpy").copied().expect("numpy is pinned");
    if installed(python, &[numpy])? {
        return Ok(());
    }
    eprintln!("installing numpy=={} into {} for the pyfing script's tests ...", numpy.1, python.display());
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]).arg(format!("numpy=={}", numpy.1));
    libtorch::run_logged(&mut cmd, &libtorch::setup_log()?).context("cannot install numpy for the tests")
}

/// The ONNX packages in LibTorch's venv, for the test that runs `fpae export
/// --format onnx`'s graphs in onnxruntime (`crates/fp-cli/tests/pytorch.rs`);
/// `onnx` also lets the export write its metadata.
pub const ONNX_TEST_PACKAGES: [(&str, &str); 2] = [("onnx", "1.23.2"), ("onnxruntime", "1.31.1")];

/// [`ONNX_TEST_PACKAGES`] in LibTorch's venv, installed when missing.
pub fn ensure_test_onnx(python: &Path) -> Result<()> {
    if installed(python, &ONNX_TEST_PACKAGES)? {
        return Ok(());
    }
    let pins: Vec<String> = ONNX_TEST_PACKAGES.iter().map(|(p, v)| format!("{p}=={v}")).collect();
    eprintln!("installing {} into {} for the ONNX export's test ...", pins.join(" "), python.display());
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"]).args(&pins);
    libtorch::run_logged(&mut cmd, &libtorch::setup_log()?).context("cannot install onnx and onnxruntime for the tests")
}
