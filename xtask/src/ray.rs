//! The Python environment of the Ray Data example (`docs/examples/ray_restore.py`):
//! Ray 2.60.0 with its Data library and pandas, in a venv of its own beside
//! LibTorch's (`~/.cache/fpae/ray-2.60.0/venv`), installed on first use from
//! PyPI at pinned versions. `cargo xtask test` hands its Python to the example's
//! test in crates/fp-cli/tests/scale.rs through [`PYTHON_ENV`].
//!
//! A venv of its own keeps Ray's pins (pyarrow, protobuf, ...) away from the
//! torch that fpae links and from the restoration peers' TensorFlow.

use std::path::PathBuf;

use anyhow::Result;

use crate::venv;

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

/// The Python of Ray's venv, installed first when missing or outdated; a rerun
/// with the install complete costs one file read.
pub fn python() -> Result<PathBuf> {
    let pins = pins();
    venv::PinnedVenv {
        folder: "ray-2.60.0",
        marker: COMPLETE_MARKER,
        packages: &PACKAGES,
        pins: &pins,
        what: &format!("Ray ({}) for the Ray Data example's test", pins.join(" ")),
        failure: "cannot install Ray",
    }
    .python()
}
