//! Dataset manifests: a `dataset.toml` in a dataset root names the dataset, says
//! how its files name fingers, and gives each subset's (sensor's) scan resolution,
//! so that nothing about a dataset has to be guessed from folder names.
//!
//! ```toml
//! name = "fvc2002"
//! naming = "fvc"          # <subset>/<finger>_<impression>.<ext>; "none": no finger identity
//! default_ppi = 500       # for folders not listed below (optional, default 500)
//! [subsets.DB2_B]
//! ppi = 569
//! sensor = "optical, Biometrika FX2000"   # optional free text
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The manifest's file name inside a dataset root.
pub const MANIFEST_FILE: &str = "dataset.toml";

/// The resolution assumed where nothing says otherwise: FVC's nominal 500 ppi.
pub const DEFAULT_PPI: u16 = 500;

/// What a dataset root says about itself, from its `dataset.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetManifest {
    /// The dataset's name, e.g. `fvc2002`; qualifies subset names when several
    /// datasets are loaded together.
    pub name: String,
    /// How file names identify fingers.
    #[serde(default)]
    pub naming: Naming,
    /// Resolution of subsets not listed in `subsets`.
    #[serde(default = "default_ppi")]
    pub default_ppi: u16,
    /// Per-subset (per-sensor) facts, keyed by the subset's folder name, e.g. `DB2_B`.
    #[serde(default)]
    pub subsets: BTreeMap<String, SubsetInfo>,
}

fn default_ppi() -> u16 {
    DEFAULT_PPI
}

/// How a dataset's file names identify fingers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Naming {
    /// FVC style: `<subset>/<finger>_<impression>.<ext>`.
    #[default]
    Fvc,
    /// No finger identity: every image counts as a finger of its own.
    None,
}

/// What a manifest says about one subset (one sensor's folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetInfo {
    /// Scan resolution in pixels per inch.
    pub ppi: u16,
    /// The sensor, as free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
}

impl DatasetManifest {
    /// The manifest assumed for a dataset without one: FVC naming and 500 ppi everywhere.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), naming: Naming::Fvc, default_ppi: DEFAULT_PPI, subsets: BTreeMap::new() }
    }

    /// Reads `root/dataset.toml`. Without one, the dataset is named after the
    /// root folder, with FVC naming and 500 ppi for every subset (and a warning
    /// saying so).
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(MANIFEST_FILE);
        match std::fs::metadata(&path) {
            Ok(_) => Self::read(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let manifest = Self::new(folder_name(root));
                tracing::warn!(
                    root = %root.display(),
                    "no {MANIFEST_FILE} in the dataset root; assuming dataset {:?}, FVC file names and {DEFAULT_PPI} ppi \
                     for every subset",
                    manifest.name
                );
                Ok(manifest)
            }
            Err(source) => Err(DataError::Io { path, source }),
        }
    }

    /// Reads and checks the manifest file at `path` (any name).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
        let manifest: Self =
            toml::from_str(&text).map_err(|source| DataError::Manifest { path: path.to_owned(), source })?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// The resolution of `subset`: its own entry, else `default_ppi`.
    pub fn ppi(&self, subset: &str) -> u16 {
        self.subsets.get(subset).map_or(self.default_ppi, |s| s.ppi)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let invalid =
            |field: String, expected: String| DataError::ManifestValue { path: path.to_owned(), field, expected };
        if self.name.is_empty() || self.name.contains(['/', '\\']) {
            return Err(invalid(
                "name".into(),
                format!("expected a non-empty name without '/' or '\\', got {:?}", self.name),
            ));
        }
        if self.default_ppi == 0 {
            return Err(invalid("default_ppi".into(), "expected 1..=65535 pixels per inch, got 0".into()));
        }
        if let Some((subset, _)) = self.subsets.iter().find(|(_, s)| s.ppi == 0) {
            return Err(invalid(format!("subsets.{subset}.ppi"), "expected 1..=65535 pixels per inch, got 0".into()));
        }
        Ok(())
    }
}

/// The last component of `root`, resolving `.` and the like; `dataset` when it has none.
fn folder_name(root: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    name(root)
        .or_else(|| std::fs::canonicalize(root).ok().as_deref().and_then(name))
        .unwrap_or_else(|| "dataset".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_manifest_with_subsets_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            "name = \"mine\"\nnaming = \"none\"\ndefault_ppi = 1000\n\
             [subsets.DB2_B]\nppi = 569\nsensor = \"optical\"\n[subsets.DB3_B]\nppi = 500\n",
        )
        .unwrap();
        let m = DatasetManifest::load(dir.path()).unwrap();
        assert_eq!((m.name.as_str(), m.naming), ("mine", Naming::None));
        assert_eq!((m.ppi("DB2_B"), m.ppi("DB3_B"), m.ppi("elsewhere")), (569, 500, 1000));
        assert_eq!(m.subsets["DB2_B"].sensor.as_deref(), Some("optical"));
        assert_eq!(m.subsets["DB3_B"].sensor, None);

        // Only the name is required.
        std::fs::write(dir.path().join(MANIFEST_FILE), "name = \"bare\"\n").unwrap();
        assert_eq!(DatasetManifest::load(dir.path()).unwrap(), DatasetManifest::new("bare"));
    }

    #[test]
    fn a_missing_manifest_gives_the_folder_name_fvc_naming_and_500_ppi() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fvc2004");
        std::fs::create_dir(&root).unwrap();
        let m = DatasetManifest::load(&root).unwrap();
        assert_eq!(m, DatasetManifest::new("fvc2004"));
        assert_eq!((m.naming, m.ppi("DB2_B")), (Naming::Fvc, 500));
        // `.` is named after the folder it stands for.
        assert!(!DatasetManifest::load(Path::new(".")).map(|m| m.name).unwrap_or_default().is_empty());
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        std::fs::write(&path, "name = \"x\"\n[subsets.DB1_B]\nppi = 500\ndpi = 500\n").unwrap();
        let err = DatasetManifest::load(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot parse dataset manifest {}", path.display()));
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("unknown field `dpi`"), "{cause}");

        std::fs::write(&path, "name = \"x\"\nnaming = \"nist\"\n").unwrap();
        let err = DatasetManifest::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn out_of_range_values_name_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        std::fs::write(&path, "name = \"x\"\n[subsets.DB2_B]\nppi = 0\n").unwrap();
        assert_eq!(
            DatasetManifest::load(dir.path()).unwrap_err().to_string(),
            format!("{}: subsets.DB2_B.ppi: expected 1..=65535 pixels per inch, got 0", path.display())
        );
        std::fs::write(&path, "name = \"a/b\"\n").unwrap();
        let err = DatasetManifest::load(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: name: ", path.display())), "{err}");
    }
}
