//! The Python that fpae's LibTorch came from, and fpae's Python package
//! (`python/fpae_torch` in the repository) run in it: `fpae export --format
//! onnx` and the tests that compare fpae with PyTorch find their Python here.
//!
//! `cargo xtask setup` installs LibTorch from the PyPI torch wheel into a venv,
//! so that venv's Python has the very torch fpae links. Its place is known when
//! fpae is built: the build script records the LibTorch library directory
//! (`FPAE_LIBTORCH_LIB`), and the venv is the folder above it that holds a
//! `pyvenv.cfg`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{ModelError, Result};

/// The variable that names a Python to use instead of LibTorch's.
pub const PYTHON_VAR: &str = "FPAE_PYTHON";

/// The repository this fpae was built from.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python that has the torch fpae's LibTorch comes from: `FPAE_PYTHON` when
/// set; the `python3` on `PATH` when `LIBTORCH_USE_PYTORCH` builds against it;
/// else `bin/python` of the venv that holds the LibTorch fpae was built with,
/// or that `.libtorch` in the repository leads into.
pub fn libtorch_python() -> Result<PathBuf> {
    if let Some(python) = std::env::var_os(PYTHON_VAR) {
        return Ok(PathBuf::from(python));
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        return Ok(PathBuf::from("python3"));
    }
    let mut looked = Vec::new();
    let built_with = option_env!("FPAE_LIBTORCH_LIB").map(PathBuf::from);
    for start in built_with.into_iter().chain([repository().join(".libtorch")]) {
        let venv = start
            .canonicalize()
            .ok()
            .and_then(|dir| dir.ancestors().find(|d| d.join("pyvenv.cfg").is_file()).map(Path::to_owned));
        match venv.map(|v| v.join("bin/python")).filter(|p| p.is_file()) {
            Some(python) => return Ok(python),
            None => looked.push(format!("no venv above {}", start.display())),
        }
    }
    Err(ModelError::NoPython { looked: looked.join(", ") })
}

/// The folder that holds the `fpae_torch` package in the repository fpae was
/// built from, when it is still there (else the package must be installed in
/// the Python, `pip install ./python`).
pub fn package_root() -> Option<PathBuf> {
    let root = repository().join("python");
    root.join("fpae_torch/__init__.py").is_file().then(|| root.canonicalize().unwrap_or(root))
}

/// `python -m MODULE` of the `fpae_torch` package, in [`libtorch_python`], with
/// [`package_root`] first on `PYTHONPATH` and no bytecode written into it.
pub fn module_command(module: &str) -> Result<Command> {
    let mut cmd = Command::new(libtorch_python()?);
    cmd.arg("-m").arg(module).env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(root) = package_root() {
        let mut paths = vec![root];
        paths.extend(std::env::var_os("PYTHONPATH").iter().flat_map(std::env::split_paths));
        cmd.env("PYTHONPATH", std::env::join_paths(paths).expect("paths without separators"));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_found_in_this_repository() {
        let root = package_root().expect("python/fpae_torch in the repository");
        assert!(root.join("fpae_torch/model.py").is_file(), "{}", root.display());
        let cmd = module_command("fpae_torch").unwrap();
        let pythonpath = cmd.get_envs().find(|(k, _)| *k == "PYTHONPATH").and_then(|(_, v)| v).unwrap();
        assert!(std::env::split_paths(pythonpath).next() == Some(root));
    }
}
