//! Atomic file writes: every file fpae produces is written under a temporary
//! name in its destination folder, synced, and renamed over the destination,
//! so a reader (or a process killed mid-write) sees the old file or the new
//! one, never a part of either.
//!
//! This is the one place that does it; the other crates call it.
#![warn(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` atomically with what `write` writes: `write` receives a
/// temporary path in the same folder (ending in `path`'s file name, so its
/// extension is kept), which is then synced and renamed over `path`. On any
/// error the temporary file is removed and `path` is left as it was.
pub fn write_atomically<E>(path: &Path, write: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E>
where
    E: From<AtomicWriteError>,
{
    let tmp = temporary_path(path);
    let result = write(&tmp).and_then(|()| {
        let fail = |source| AtomicWriteError { path: path.to_owned(), source };
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")));
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces `path` atomically with `contents`.
pub fn write_file_atomically(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), AtomicWriteError> {
    write_atomically(path, |tmp| {
        std::fs::write(tmp, contents).map_err(|source| AtomicWriteError { path: path.to_owned(), source })
    })
}

/// Creates the folder `path` whole or not at all: `fill` writes its contents
/// into a staging folder beside it (`.<name>.partial-<pid>`), which is renamed
/// to `path` when `fill` succeeds and removed when it fails. `path` must not
/// exist yet (the caller says so in its own words).
pub fn create_dir_atomically<T, E>(path: &Path, fill: impl FnOnce(&Path) -> Result<T, E>) -> Result<T, E>
where
    E: From<AtomicWriteError>,
{
    let fail = |source| AtomicWriteError { path: path.to_owned(), source };
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(fail)?;
    let result = fill(&staging).and_then(|value| {
        std::fs::rename(&staging, path).map_err(fail)?;
        sync_dir(parent);
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct AtomicWriteError {
    /// The file that was being replaced.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// A file or folder that could not be read or written: what every library
/// crate's error enum wraps as its `Io` variant, so the path is always named.
#[derive(Debug, thiserror::Error)]
#[error("cannot access {path}")]
pub struct FileError {
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

impl FileError {
    /// `source` met at `path`.
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self { path: path.into(), source }
    }
}

impl From<AtomicWriteError> for FileError {
    fn from(e: AtomicWriteError) -> Self {
        Self { path: e.path, source: e.source }
    }
}

/// Encodes `pixels` (`width` by `height`, row after row, laid out as `colour` says) as PNG
/// and replaces `path` atomically with it; returns the bytes written (e.g. to hash them).
#[cfg(feature = "png")]
pub fn write_png_atomically(
    path: &Path,
    pixels: &[u8],
    width: u32,
    height: u32,
    colour: image::ExtendedColorType,
) -> Result<Vec<u8>, PngError> {
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    image::ImageEncoder::write_image(encoder, pixels, width, height, colour)
        .map_err(|source| PngError::Encode { path: path.to_owned(), source: Box::new(source) })?;
    write_file_atomically(path, &bytes)?;
    Ok(bytes)
}

/// An image could not be written as PNG ([`write_png_atomically`]).
#[cfg(feature = "png")]
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The pixels could not be encoded.
    #[error("cannot encode {}", path.display())]
    Encode {
        /// Where the image was to be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<image::ImageError>,
    },
    /// The encoded image could not be written.
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
}

/// A temporary name beside `path`, unique within this process and across
/// processes: `.<pid>.tmp-<n>-<name>`. The leading dot keeps it out of
/// dataset discovery and listings.
pub fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{}.tmp-{}-{name}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// Whether `name` is one of the temporary names this crate gives
/// ([`temporary_path`]: `.<pid>.tmp-<n>-<name>`; [`create_dir_atomically`]:
/// `.<name>.partial-<pid>`). Whole files never have such names.
pub fn is_temporary(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && (name.contains(".tmp-") || name.contains(".partial-"))
}

/// Removes the temporaries that writers killed in `dir` left behind (files,
/// folders and links whose names [`is_temporary`] recognises; not recursive),
/// and returns what it removed. Only for a folder that nothing else writes at
/// the same time (e.g. one its writer holds locked): a live writer's temporary
/// looks the same.
pub fn remove_temporaries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_temporary(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        removed.push(path);
    }
    if !removed.is_empty() {
        sync_dir(dir);
    }
    removed.sort();
    Ok(removed)
}

/// Makes renames in `dir` durable; best effort (not every platform can open a directory).
pub fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/made");
        let n = create_dir_atomically(&out, |staging| {
            write_file_atomically(&staging.join("a.txt"), "a")?;
            Ok::<_, AtomicWriteError>(1)
        })
        .unwrap();
        assert_eq!((n, std::fs::read_to_string(out.join("a.txt")).unwrap().as_str()), (1, "a"));
        assert_eq!(std::fs::read_dir(dir.path().join("nested")).unwrap().count(), 1, "no staging folder left");

        let failed = dir.path().join("nested/failed");
        let err: Result<(), AtomicWriteError> = create_dir_atomically(&failed, |staging| {
            write_file_atomically(&staging.join("a.txt"), "a")?;
            Err(AtomicWriteError { path: staging.join("b.txt"), source: io::Error::other("disk full") })
        });
        assert!(err.is_err());
        assert!(!failed.exists());
        assert_eq!(std::fs::read_dir(dir.path().join("nested")).unwrap().count(), 1, "the staging folder is removed");
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_file_atomically(&path, "one").unwrap();
        write_file_atomically(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_file_atomically(&path, "old").unwrap();
        let result: Result<(), AtomicWriteError> = write_atomically(&path, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err(AtomicWriteError { path: path.clone(), source: io::Error::other("disk full") })
        });
        assert_eq!(result.unwrap_err().to_string(), format!("cannot write {}", path.display()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporaries_left_by_killed_writers_are_recognised_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let kept = ["a.txt", ".lock", "step-000012", ".hidden", "x.tmp-1"];
        for name in kept {
            std::fs::write(dir.path().join(name), "whole").unwrap();
        }
        let file = temporary_path(&dir.path().join("history.csv"));
        std::fs::write(&file, "half").unwrap();
        let folder = temporary_path(&dir.path().join("step-000013"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("model.safetensors"), "half").unwrap();
        let staging = dir.path().join(".out.partial-42");
        std::fs::create_dir(&staging).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("step-000012", temporary_path(&dir.path().join("last"))).unwrap();
        let removed = remove_temporaries(dir.path()).unwrap();
        assert_eq!(removed.len(), if cfg!(unix) { 4 } else { 3 }, "{removed:?}");
        assert!(removed.contains(&file) && removed.contains(&folder) && removed.contains(&staging));
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        left.sort();
        let mut expected: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn writing_into_a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/a.txt");
        let err = write_file_atomically(&path, "x").unwrap_err();
        assert_eq!(err.path, path);
    }
}
