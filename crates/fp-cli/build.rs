//! Build script of the `fpae` binary: the LibTorch rpath (shared with the
//! other crates that link LibTorch), and what a run records about the program
//! that made it: the LibTorch version (`FPAE_LIBTORCH_VERSION`) and the git
//! commit of the source (`FPAE_COMMIT`), each `unknown` when it cannot be found.

#[path = "../../build/torch_rpath.rs"]
mod torch_rpath;

use std::path::{Path, PathBuf};

fn main() {
    torch_rpath::main();
    println!("cargo:rustc-env=FPAE_LIBTORCH_VERSION={}", libtorch_version().unwrap_or_else(|| "unknown".into()));
    println!("cargo:rustc-env=FPAE_COMMIT={}", commit().unwrap_or_else(|| "unknown".into()));
}

/// The version the PyTorch wheel (`torch/version.py`) or the LibTorch archive
/// (`build-version`) beside the library directory names.
fn libtorch_version() -> Option<String> {
    let lib = PathBuf::from(std::env::var_os("DEP_TCH_LIBTORCH_LIB")?);
    let root = std::fs::canonicalize(&lib).unwrap_or(lib).parent()?.to_owned();
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text.lines().find(|l| l.starts_with("__version__"))?;
        return Some(line.split(['\'', '"']).nth(1)?.to_owned());
    }
    std::fs::read_to_string(root.join("build-version")).ok().map(|v| v.trim().to_owned())
}

/// The commit checked out in the repository around this crate, rebuilt when it changes.
fn commit() -> Option<String> {
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git");
    let head = git.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    let text = std::fs::read_to_string(&head).ok()?;
    let commit = match text.trim().strip_prefix("ref: ") {
        Some(reference) => {
            let file = git.join(reference);
            println!("cargo:rerun-if-changed={}", file.display());
            match std::fs::read_to_string(&file) {
                Ok(id) => id.trim().to_owned(),
                // A packed ref: `<id> <name>` lines in packed-refs.
                Err(_) => {
                    let packed = git.join("packed-refs");
                    println!("cargo:rerun-if-changed={}", packed.display());
                    let packed = std::fs::read_to_string(packed).ok()?;
                    packed.lines().find(|l| l.ends_with(reference))?.split(' ').next()?.to_owned()
                }
            }
        }
        None => text.trim().to_owned(),
    };
    (commit.len() >= 12).then(|| commit[..12].to_owned())
}
