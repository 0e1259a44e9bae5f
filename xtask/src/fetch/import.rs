//! The parts of `fetch-data` that read untrusted input: the SHA-256 manifest
//! (`data/<dataset>.sha256`) and the zip archives, downloaded or given with
//! `--from`, whose images are extracted and verified against it.
//!
//! This file is also compiled into the `fp-fuzz` crate (through `#[path]`), which
//! fuzzes it, because xtask must depend on no workspace crate and is no library.
//! So it uses only std, anyhow, sha2 and zip, and never prints: what it skips it
//! returns to the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// File name of a dataset's description inside its folder (read by fp-data).
pub const DESCRIPTION_FILE: &str = "dataset.toml";

/// Whether a file name is one of the images a dataset holds (`.tif`, `.tiff`).
pub fn is_image_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".tif") || lower.ends_with(".tiff")
}

/// Extracts the image files of `archive` into `target`. Files may sit at the
/// archive root or inside one top-level folder. Entries that would escape the
/// target (absolute paths, `..`) and symbolic links are refused. Returns the
/// names of the entries skipped because they are not images.
pub fn extract_zip(archive: &Path, target: &Path) -> Result<Vec<String>> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{}: not a readable zip archive (truncated or corrupt?)", archive.display()))?;
    fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
    let mut skipped = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).with_context(|| format!("{}: corrupt entry #{i}", archive.display()))?;
        let raw_name = entry
            .name()
            .with_context(|| format!("{}: entry #{i} has an unreadable name", archive.display()))?
            .into_owned();
        let Some(rel) = safe_relative_path(&raw_name) else {
            bail!("{}: entry {raw_name:?} escapes the target folder; refusing the archive", archive.display());
        };
        if entry.is_symlink() {
            bail!("{}: entry {raw_name:?} is a symbolic link; refusing the archive", archive.display());
        }
        if entry.is_dir() {
            continue;
        }
        let file_name = rel.file_name().expect("file entries have a name").to_string_lossy().into_owned();
        // Accept files at the root or inside a single top-level folder.
        if rel.components().count() > 2 {
            bail!("{}: entry {raw_name:?} is nested deeper than one folder", archive.display());
        }
        if !is_image_name(&file_name) {
            skipped.push(raw_name);
            continue;
        }
        let out_path = target.join(&file_name);
        if out_path.exists() {
            bail!("{}: {file_name} appears twice in the archive", archive.display());
        }
        let mut out = File::create(&out_path).with_context(|| format!("cannot create {}", out_path.display()))?;
        io::copy(&mut entry, &mut out)
            .with_context(|| format!("{}: cannot extract {raw_name:?} (truncated or corrupt?)", archive.display()))?;
    }
    Ok(skipped)
}

/// The entry name as a relative path of normal components only, if it is one.
pub(crate) fn safe_relative_path(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') || name.starts_with('\\') || name.contains('\\') {
        return None;
    }
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The expected SHA-256 of every file, keyed by `DBn_B/<file>`.
#[derive(Debug)]
pub struct Manifest {
    pub(crate) entries: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads a `sha256sum`-style manifest.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?;
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = line.split_once("  ").filter(|(hash, name)| {
                hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty()
            });
            let Some((hash, name)) = parsed else {
                bail!("{}:{}: expected `<64 hex digits>  <DBn_B/file>`, got {line:?}", path.display(), i + 1);
            };
            entries.insert(name.to_owned(), hash.to_ascii_lowercase());
        }
        if entries.is_empty() {
            bail!("{}: the manifest lists no files", path.display());
        }
        Ok(Self { entries })
    }

    /// Checks that `dir` holds exactly the manifest's files with the right hashes.
    pub fn verify_dir(&self, dir: &Path) -> Result<()> {
        let mut found = BTreeSet::new();
        for db_entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let db_entry = db_entry?;
            let db = db_entry.file_name().to_string_lossy().into_owned();
            if db == DESCRIPTION_FILE {
                continue;
            }
            if !db_entry.file_type()?.is_dir() {
                bail!("unknown file {db} in {} (not in the manifest)", dir.display());
            }
            for file in fs::read_dir(db_entry.path())? {
                let file = file?;
                found.insert(format!("{db}/{}", file.file_name().to_string_lossy()));
            }
        }
        if let Some(unknown) = found.iter().find(|name| !self.entries.contains_key(*name)) {
            bail!("unknown file {unknown}: it is not in the manifest");
        }
        let missing: Vec<_> = self.entries.keys().filter(|name| !found.contains(*name)).collect();
        if let Some(first) = missing.first() {
            bail!(
                "wrong file count: {} of {} files present; missing {first}{}",
                found.len(),
                self.entries.len(),
                if missing.len() > 1 { format!(" and {} more", missing.len() - 1) } else { String::new() }
            );
        }
        for (name, expected) in &self.entries {
            let got = sha256_file(&dir.join(name))?;
            if &got != expected {
                bail!("{name}: SHA-256 mismatch (expected {expected}, got {got})");
            }
        }
        Ok(())
    }
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    sha256_reader(&mut file).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn sha256_reader(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
