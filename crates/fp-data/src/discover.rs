use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// File extensions taken as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["tif", "tiff", "png", "bmp", "jpg", "jpeg"];

/// Identity of an FVC image parsed from `DBn_B/FFF_I.tif`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FingerId {
    /// Database (sensor) folder, e.g. `DB1_B`.
    pub database: String,
    /// Finger number, e.g. 101.
    pub finger: u32,
    /// Impression number, 1..=8 in FVC.
    pub impression: u32,
}

impl FingerId {
    /// Parses an FVC-style path: the file stem is `<finger>_<impression>` and the
    /// parent folder names the database. `None` for anything else.
    pub fn parse(relative: &Path) -> Option<Self> {
        let stem = relative.file_stem()?.to_str()?;
        let (finger, impression) = stem.split_once('_')?;
        let database = relative.parent()?.file_name()?.to_str()?.to_owned();
        Some(Self { database, finger: finger.parse().ok()?, impression: impression.parse().ok()? })
    }
}

/// One image file found under a dataset root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSource {
    /// Full path of the file.
    pub path: PathBuf,
    /// Path relative to the dataset root, with `/` separators.
    pub relative: String,
    /// FVC identity, when the path follows the FVC naming.
    pub id: Option<FingerId>,
}

impl ImageSource {
    /// The database (sensor) this image belongs to: the FVC database, else its folder.
    pub fn database(&self) -> String {
        match &self.id {
            Some(id) => id.database.clone(),
            None => match self.relative.rsplit_once('/') {
                Some((folder, _)) => folder.to_owned(),
                None => ".".to_owned(),
            },
        }
    }

    /// The scan resolution in pixels per inch: 569 for an FVC2002 `DB2` folder
    /// (its optical sensor), 500 (FVC's nominal resolution) for everything else.
    pub fn nominal_ppi(&self) -> u16 {
        match &self.id {
            Some(id) if id.database.starts_with("DB2_") => 569,
            _ => 500,
        }
    }
}

/// Whether a file name has one of [`IMAGE_EXTENSIONS`].
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Finds every image under `root`, recursively, sorted by relative path so the
/// order is the same on every machine.
pub fn discover(root: &Path) -> Result<Vec<ImageSource>> {
    let mut paths = Vec::new();
    walk(root, &mut paths)?;
    let mut sources: Vec<ImageSource> = paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(root).expect("walked under root");
            let relative = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            ImageSource { id: FingerId::parse(rel), relative, path }
        })
        .collect();
    sources.sort_by(|a, b| a.relative.cmp(&b.relative));
    if sources.is_empty() {
        return Err(DataError::NoImages { root: root.to_owned() });
    }
    Ok(sources)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(DataError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(DataError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue; // hidden files and our own staging folders
        }
        // Follow symbolic links: datasets are often linked in.
        let meta = std::fs::metadata(&path).map_err(DataError::io(&path))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() && is_image_path(&path) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fvc_names() {
        let id = FingerId::parse(Path::new("DB2_B/107_3.tif")).unwrap();
        assert_eq!(id, FingerId { database: "DB2_B".into(), finger: 107, impression: 3 });
        assert_eq!(FingerId::parse(Path::new("scans/left-thumb.png")), None);
        assert_eq!(FingerId::parse(Path::new("107_3.tif")), None);
        assert_eq!(FingerId::parse(Path::new("DB1_B/10x_3.tif")), None);
    }

    #[test]
    fn discovers_sorted_recursively_and_skips_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["b/2_1.png", "a/10_1.TIF", "a/9_1.tif", "a/notes.txt", "c/d/x.bmp", ".hidden/1_1.tif"] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let found: Vec<_> = discover(dir.path()).unwrap().into_iter().map(|s| s.relative).collect();
        assert_eq!(found, ["a/10_1.TIF", "a/9_1.tif", "b/2_1.png", "c/d/x.bmp"]);
    }

    #[test]
    fn empty_root_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("no images under ") && err.contains(&dir.path().display().to_string()), "{err}");
    }
}
