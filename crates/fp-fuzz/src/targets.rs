//! The fuzz targets, one module per reader, and [`TARGETS`], the list that the
//! regression test and the libFuzzer binaries (`src/bin/<name>.rs`) share.

pub mod config;
pub mod fetch;
pub mod image;
pub mod model;

/// One fuzz target: a name (also its binary's, and its folder's under `seeds/`
/// and `regressions/`) and the function that runs one input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name: `image`, `config`, ...
    pub name: &'static str,
    /// Runs one input; panics only when the code under test misbehaves.
    pub run: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: [Target; 5] = [
    Target { name: "image", run: image::decode_and_preprocess },
    Target { name: "config", run: config::parse_with_overrides },
    Target { name: "model", run: model::load_saved_model },
    Target { name: "fetch_manifest", run: fetch::read_manifest },
    Target { name: "fetch_archive", run: fetch::import_archive },
];

/// Splits `input` at its first NUL byte: the text before it, and what follows
/// (`None` without a NUL). Targets whose input is several files use it.
pub(crate) fn split_at_nul(input: &[u8]) -> (&[u8], Option<&[u8]>) {
    match input.iter().position(|&b| b == 0) {
        Some(i) => (&input[..i], Some(&input[i + 1..])),
        None => (input, None),
    }
}
