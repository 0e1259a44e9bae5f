//! A private folder for each run of a target, for the readers that take paths:
//! the input is written there as the file the real code reads, and the folder
//! is removed when the run ends. It lies in `/dev/shm` where that exists, so
//! that fuzzing writes to memory, not to the disk.

use std::path::Path;

/// A fresh, empty folder, removed on drop.
pub(crate) fn folder() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("fp-fuzz-");
        b
    };
    let dir = if shm.is_dir() { builder.tempdir_in(shm) } else { builder.tempdir() };
    dir.expect("a scratch folder can be created")
}

/// Writes `bytes` to `path`.
pub(crate) fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write the scratch file {}: {e}", path.display()));
}
