//! Finding a dataset's images: a recursive walk of each root in a stable order,
//! with every file's finger identity, subset (database) and resolution taken
//! from the root's [`DatasetManifest`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::manifest::{DatasetManifest, MANIFEST_FILE, Naming};

/// File extensions taken as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["tif", "tiff", "png", "bmp", "jpg", "jpeg"];

/// Identity of an FVC image parsed from `DBn_B/FFF_I.tif`: a finger is only the
/// same finger within one dataset and one subset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FingerId {
    /// The dataset's name, e.g. `fvc2002`.
    pub dataset: String,
    /// Database (sensor) folder, e.g. `DB1_B`.
    pub database: String,
    /// Finger number, e.g. 101.
    pub finger: u32,
    /// Impression number, 1..=8 in FVC.
    pub impression: u32,
}

impl FingerId {
    /// Parses an FVC-style path of dataset `dataset`: the file stem is
    /// `<finger>_<impression>` and the parent folder names the database. `None`
    /// for anything else.
    pub fn parse(dataset: &str, relative: &Path) -> Option<Self> {
        let stem = relative.file_stem()?.to_str()?;
        let (finger, impression) = stem.split_once('_')?;
        let database = relative.parent()?.file_name()?.to_str()?.to_owned();
        Some(Self {
            dataset: dataset.to_owned(),
            database,
            finger: finger.parse().ok()?,
            impression: impression.parse().ok()?,
        })
    }
}

/// One image file found under a dataset root, with what its manifest says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSource {
    /// Full path of the file.
    pub path: PathBuf,
    /// Path relative to its dataset root, with `/` separators.
    pub relative: String,
    /// FVC identity, when the dataset uses FVC naming and the path follows it.
    pub id: Option<FingerId>,
    /// The dataset's name, from its manifest (or its root folder's name).
    pub dataset: String,
    /// The database (sensor) this image belongs to: its subset folder, e.g.
    /// `DB1_B`, or `fvc2002/DB1_B` when several datasets are loaded together, so
    /// that per-database tables never merge two datasets' subsets.
    pub database: String,
    /// Scan resolution in pixels per inch, from the manifest.
    pub ppi: u16,
}

impl ImageSource {
    /// The image at `relative` (with `/` separators) under `root`, described as
    /// `manifest` says: its identity follows the manifest's naming, its database
    /// is its subset folder (the FVC database, else the folder it sits in, `.`
    /// at the top) and its resolution is that subset's.
    pub fn new(root: &Path, relative: impl Into<String>, manifest: &DatasetManifest) -> Self {
        let relative = relative.into();
        let id = match manifest.naming {
            Naming::Fvc => FingerId::parse(&manifest.name, Path::new(&relative)),
            Naming::None => None,
        };
        let database = match &id {
            Some(id) => id.database.clone(),
            None => match relative.rsplit_once('/') {
                Some((folder, _)) => folder.to_owned(),
                None => ".".to_owned(),
            },
        };
        Self {
            path: root.join(&relative),
            ppi: manifest.ppi(&database),
            dataset: manifest.name.clone(),
            database,
            relative,
            id,
        }
    }

    /// The same image with its database qualified by its dataset,
    /// `fvc2002/DB1_B`: how images are named when several datasets are combined.
    pub fn qualified(self) -> Self {
        Self { database: format!("{}/{}", self.dataset, self.database), ..self }
    }

    /// The database (sensor) this image belongs to: the `database` field.
    pub fn database(&self) -> String {
        self.database.clone()
    }
}

/// The images of one or more dataset roots, and the manifests that describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// One manifest per root, in the order of the roots (a default one for a
    /// root without `dataset.toml`).
    pub manifests: Vec<DatasetManifest>,
    /// Every image: the roots in the order given, each sorted by relative path.
    pub sources: Vec<ImageSource>,
}

/// Whether a file name has one of [`IMAGE_EXTENSIONS`].
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Finds every image under `root`, recursively, sorted by relative path so the
/// order is the same on every machine, described by the root's manifest.
pub fn discover(root: &Path) -> Result<Vec<ImageSource>> {
    Ok(discover_roots(&[root.to_owned()])?.sources)
}

/// Finds the images of several dataset roots: each root's manifest is read (see
/// [`DatasetManifest::load`]) and its images found as [`discover`] does; the
/// result keeps the roots in the order given. With more than one root every
/// database is qualified by its dataset ([`ImageSource::qualified`]), and two
/// roots with the same dataset name are an error.
pub fn discover_roots(roots: &[PathBuf]) -> Result<Catalog> {
    let manifests = roots.iter().map(|root| DatasetManifest::load(root)).collect::<Result<Vec<_>>>()?;
    for (j, later) in manifests.iter().enumerate() {
        if let Some(i) = manifests[..j].iter().position(|m| m.name == later.name) {
            return Err(DataError::DuplicateDataset {
                name: later.name.clone(),
                first: roots[i].clone(),
                second: roots[j].clone(),
            });
        }
    }
    let mut sources = Vec::new();
    for (root, manifest) in roots.iter().zip(&manifests) {
        let found = discover_with(root, manifest)?;
        if roots.len() > 1 {
            sources.extend(found.into_iter().map(ImageSource::qualified));
        } else {
            sources.extend(found);
        }
    }
    Ok(Catalog { manifests, sources })
}

/// The images under `root` described by `manifest`, sorted by relative path.
fn discover_with(root: &Path, manifest: &DatasetManifest) -> Result<Vec<ImageSource>> {
    let sources: Vec<ImageSource> =
        list_images(root)?.into_iter().map(|relative| ImageSource::new(root, relative, manifest)).collect();
    if sources.is_empty() {
        return Err(DataError::NoImages { root: root.to_owned() });
    }
    Ok(sources)
}

/// The image file at `path` as the nearest dataset manifest above it describes
/// it: the closest folder above the file that holds a `dataset.toml` is taken
/// as its dataset root, and the file is described as [`ImageSource::new`] does
/// (its subset's resolution, its finger identity). `None` when no folder above
/// it has a manifest. The path is made absolute first; links are not resolved.
pub fn describe_image(path: &Path) -> Result<Option<ImageSource>> {
    let absolute = std::path::absolute(path).map_err(DataError::io(path))?;
    for root in absolute.ancestors().skip(1) {
        let manifest_path = root.join(MANIFEST_FILE);
        if manifest_path.is_file() {
            let manifest = DatasetManifest::read(&manifest_path)?;
            let relative = absolute.strip_prefix(root).expect("an ancestor is a prefix");
            let relative: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            return Ok(Some(ImageSource::new(root, relative.join("/"), &manifest)));
        }
    }
    Ok(None)
}

/// A `/`-separated relative path without its file extension:
/// `DB1_B/101_1.tif` -> `DB1_B/101_1`; a dot in a folder name is not an extension.
pub fn without_extension(relative: &str) -> &str {
    match relative.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => stem,
        _ => relative,
    }
}

/// The image files under `root`, recursively (following links, skipping hidden
/// names and, with a warning, links that loop), as `/`-separated paths relative
/// to `root`, sorted. No manifest is
/// read: for folders of outputs rather than datasets.
pub fn list_images(root: &Path) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    walk_root(root, &mut paths)?;
    let mut relative: Vec<String> = paths
        .iter()
        .map(|path| {
            let rel = path.strip_prefix(root).expect("walked under root");
            rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
        })
        .collect();
    relative.sort();
    Ok(relative)
}

/// The folders being walked, outermost first: each as the walk names it and as
/// its canonical path, to recognise a link back to one of them.
type Ancestors = Vec<(PathBuf, PathBuf)>;

fn walk_root(root: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let canonical = std::fs::canonicalize(root).map_err(DataError::io(root))?;
    walk(root, out, &mut vec![(root.to_owned(), canonical)])
}

/// Collects the images under `dir` (the last of `ancestors`). Symbolic links are
/// followed, because datasets are often linked in; a link that leads back to a
/// folder being walked, or to itself, is a loop, skipped with a warning so the
/// walk ends and finds every image once. Other unreadable entries are errors.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, ancestors: &mut Ancestors) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(DataError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(DataError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue; // hidden files and our own staging folders
        }
        let is_link = entry.file_type().map_err(DataError::io(&path))?.is_symlink();
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) if is_link && link_cycle(&path) => {
                tracing::warn!("skipping {}: a symbolic link loop (the link leads back to itself)", path.display());
                continue;
            }
            Err(e) => return Err(DataError::io(&path)(e)),
        };
        if meta.is_dir() {
            let canonical = if is_link {
                std::fs::canonicalize(&path).map_err(DataError::io(&path))?
            } else {
                ancestors.last().expect("the root is walked").1.join(&name)
            };
            if let Some((holder, _)) = ancestors.iter().find(|(_, c)| *c == canonical) {
                tracing::warn!(
                    "skipping {}: a symbolic link loop (it leads back to {}, which holds it)",
                    path.display(),
                    holder.display()
                );
                continue;
            }
            ancestors.push((path.clone(), canonical));
            let walked = walk(&path, out, ancestors);
            ancestors.pop();
            walked?;
        } else if meta.is_file() && is_image_path(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether the link at `link` leads, through links only, back to a link on
/// its way: it can never be resolved. Chains longer than the 40 links Linux
/// follows count as loops too.
fn link_cycle(link: &Path) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut current = link.to_owned();
    for _ in 0..40 {
        if !seen.insert(current.clone()) {
            return true;
        }
        match std::fs::read_link(&current) {
            Ok(target) => current = current.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_described_by_the_nearest_manifest_above_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sets/fvc");
        std::fs::create_dir_all(root.join("DB2_B")).unwrap();
        std::fs::write(root.join(MANIFEST_FILE), "name = \"fvc\"\n[subsets.DB2_B]\nppi = 569\n").unwrap();
        let described = describe_image(&root.join("DB2_B/101_2.tif")).unwrap().unwrap();
        assert_eq!((described.relative.as_str(), described.ppi), ("DB2_B/101_2.tif", 569));
        assert_eq!(described.id.map(|id| (id.finger, id.impression)), Some((101, 2)));
        assert_eq!(describe_image(&root.join("DB1_B/101_1.tif")).unwrap().map(|s| s.ppi), Some(500));
        // A manifest beside the file counts; none above it gives None.
        std::fs::write(root.join("DB2_B").join(MANIFEST_FILE), "name = \"inner\"\ndefault_ppi = 1000\n").unwrap();
        assert_eq!(describe_image(&root.join("DB2_B/101_2.tif")).unwrap().map(|s| s.ppi), Some(1000));
        assert_eq!(describe_image(&dir.path().join("sets/loose.png")).unwrap(), None);
    }

    #[test]
    fn extensions_are_taken_from_the_file_name_only() {
        assert_eq!(without_extension("DB1_B/101_1.tif"), "DB1_B/101_1");
        assert_eq!(without_extension("a.b/c"), "a.b/c");
        assert_eq!(without_extension("a.b/c.d.png"), "a.b/c.d");
    }

    #[test]
    fn parses_fvc_names() {
        let id = FingerId::parse("fvc2002", Path::new("DB2_B/107_3.tif")).unwrap();
        assert_eq!(id, FingerId { dataset: "fvc2002".into(), database: "DB2_B".into(), finger: 107, impression: 3 });
        assert_eq!(FingerId::parse("x", Path::new("scans/left-thumb.png")), None);
        assert_eq!(FingerId::parse("x", Path::new("107_3.tif")), None);
        assert_eq!(FingerId::parse("x", Path::new("DB1_B/10x_3.tif")), None);
    }

    #[test]
    fn a_source_takes_its_identity_database_and_ppi_from_the_manifest() {
        let mut manifest = DatasetManifest::new("fvc2002");
        manifest.subsets.insert("DB2_B".into(), crate::SubsetInfo { ppi: 569, sensor: None });
        let root = Path::new("/d");
        let s = ImageSource::new(root, "DB2_B/107_3.tif", &manifest);
        assert_eq!((s.dataset.as_str(), s.database(), s.ppi), ("fvc2002", "DB2_B".to_owned(), 569));
        assert_eq!(s.path, Path::new("/d/DB2_B/107_3.tif"));
        assert_eq!(s.id.as_ref().map(|id| id.finger), Some(107));
        assert_eq!(s.clone().qualified().database, "fvc2002/DB2_B");

        let other = ImageSource::new(root, "scans/left/thumb.png", &manifest);
        assert_eq!((other.id, other.database.as_str(), other.ppi), (None, "scans/left", 500));
        assert_eq!(ImageSource::new(root, "top.png", &manifest).database, ".");

        // Without FVC naming the same path has no finger identity.
        let plain = DatasetManifest { naming: Naming::None, ..manifest };
        let s = ImageSource::new(root, "DB2_B/107_3.tif", &plain);
        assert_eq!((s.id, s.database.as_str(), s.ppi), (None, "DB2_B", 569));
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

    fn tree(root: &Path, files: &[&str], manifest: Option<&str>) {
        for rel in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        if let Some(text) = manifest {
            std::fs::write(root.join("dataset.toml"), text).unwrap();
        }
    }

    #[test]
    fn combined_roots_keep_their_order_and_qualify_databases() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("second"), dir.path().join("first"));
        tree(&a, &["DB2_B/102_1.tif", "DB1_B/101_1.tif"], Some("name = \"fvc2002\"\n[subsets.DB2_B]\nppi = 569\n"));
        tree(&b, &["DB2_B/101_1.tif"], None);
        let catalog = discover_roots(&[a.clone(), b.clone()]).unwrap();
        let names: Vec<_> = catalog.sources.iter().map(|s| (s.database(), s.relative.as_str(), s.ppi)).collect();
        assert_eq!(
            names,
            [
                ("fvc2002/DB1_B".to_owned(), "DB1_B/101_1.tif", 500),
                ("fvc2002/DB2_B".to_owned(), "DB2_B/102_1.tif", 569),
                ("first/DB2_B".to_owned(), "DB2_B/101_1.tif", 500),
            ]
        );
        assert_eq!(catalog.manifests.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["fvc2002", "first"]);
        // The finger identity keeps the plain subset and adds the dataset.
        let id = catalog.sources[2].id.as_ref().unwrap();
        assert_eq!((id.dataset.as_str(), id.database.as_str()), ("first", "DB2_B"));
        // One root alone is not qualified.
        assert_eq!(discover(&a).unwrap()[0].database, "DB1_B");
    }

    #[test]
    fn two_roots_with_one_name_are_an_error_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        tree(&a, &["DB1_B/101_1.tif"], Some("name = \"same\"\n"));
        tree(&b, &["DB1_B/101_1.tif"], Some("name = \"same\"\n"));
        let err = discover_roots(&[a.clone(), b.clone()]).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "dataset roots {} and {} are both named \"same\"; rename one in its dataset.toml",
                a.display(),
                b.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_link_loops_are_skipped_and_every_image_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        tree(&root, &["a/1_1.png", "b/2_1.png"], None);
        // A link to the folder above, two links to the root (which would double the
        // walk at every level), a link to itself and a pair of links to each other.
        std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("a/root1")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("a/root2")).unwrap();
        std::os::unix::fs::symlink("self", root.join("b/self")).unwrap();
        std::os::unix::fs::symlink("pong", root.join("b/ping")).unwrap();
        std::os::unix::fs::symlink("ping", root.join("b/pong")).unwrap();
        // A link to a sibling folder is no loop: its images are found through it too.
        std::os::unix::fs::symlink("../b", root.join("a/b-link")).unwrap();
        assert_eq!(list_images(&root).unwrap(), ["a/1_1.png", "a/b-link/2_1.png", "b/2_1.png"]);

        // A dangling link is still an error naming it.
        std::os::unix::fs::symlink("gone.png", root.join("b/dangling.png")).unwrap();
        let err = list_images(&root).unwrap_err().to_string();
        assert_eq!(err, format!("cannot access {}", root.join("b/dangling.png").display()));
    }

    #[test]
    fn empty_root_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("no images under ") && err.contains(&dir.path().display().to_string()), "{err}");
    }
}
