//! Fuzz targets for every reader of untrusted input in fpae: image decoding and
//! preprocessing, training configs with `--set` overrides, saved models
//! (`model.toml` and `model.safetensors`), and `fetch-data`'s SHA-256 manifest and
//! zip archives.
//!
//! Each target is a plain `fn(&[u8])` that calls the real entry point and panics
//! only when the code under test misbehaves (panics itself, or breaks a property
//! such as "a resolved config parses back to itself"); errors are the expected
//! answer to bad input. `cargo xtask fuzz` runs them under libFuzzer (the binaries
//! in `src/bin`, built with the `libfuzzer` feature), which also fails an input
//! that hangs or allocates more than [`ALLOCATION_LIMIT`] in one piece; the
//! regression test (`tests/regressions.rs`) replays every seed and every input
//! that once failed, kept under `seeds/<target>` and `regressions/<target>`, with
//! the same limits, in a plain `cargo test`.
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod alloc_limit;
mod replay;
mod scratch;
pub mod targets;

pub use alloc_limit::{ALLOCATION_LIMIT, LimitedAllocator};
pub use replay::{Failure, INPUT_TIME_LIMIT, replay};
pub use targets::{TARGETS, Target};

/// The crate's root folder, where `seeds/` and `regressions/` live.
pub fn crate_dir() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}
