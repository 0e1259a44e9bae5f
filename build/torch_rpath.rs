//! Build script shared by the crates that link LibTorch.
//!
//! torch-sys reports the LibTorch library directory it linked against (as
//! `DEP_TCH_LIBTORCH_LIB`, since it declares `links = "tch"`). We embed that
//! directory, with symbolic links resolved, as an rpath in this crate's binaries
//! and tests, so they run without LD_LIBRARY_PATH. With a CUDA build of
//! LibTorch we also force `libtorch_cuda` to be linked: the linker's
//! `--as-needed` would otherwise drop it (no symbol of it is referenced
//! directly), and CUDA would silently be unavailable.

pub fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "macos" {
        return;
    }
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let lib = std::fs::canonicalize(&lib).unwrap_or_else(|_| lib.into());
        // Where the LibTorch came from, for finding its Python (fp_model::python).
        println!("cargo:rustc-env=FPAE_LIBTORCH_LIB={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if os == "linux" && lib.join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-ltorch_cuda,--pop-state");
        }
    }
}
