//! What `minutiae`, `restore`, `score` and the figures share about a print's
//! minutiae: the resolution it is read at, where its template file goes,
//! writing that file, and its minutiae as marks to draw.

use std::path::{Path, PathBuf};

use fp_figures::{Mark, MarkKind};
use fp_metrics::MetricsError;
use fp_metrics::minutiae::{MinutiaKind, Template};
use fp_metrics::templates::TemplateFormat;
use image::GrayImage;

use crate::images::write_creating_folder;
use crate::{EvalError, Result};

/// A template's minutiae as marks to draw.
pub fn marks(template: &Template) -> Vec<Mark> {
    template
        .minutiae
        .iter()
        .map(|m| Mark {
            x: f64::from(m.x),
            y: f64::from(m.y),
            angle: f64::from(m.angle),
            kind: match m.kind {
                Some(MinutiaKind::Ending) => MarkKind::Ending,
                Some(MinutiaKind::Bifurcation) => MarkKind::Bifurcation,
                None => MarkKind::Other,
            },
        })
        .collect()
}

/// The scan resolution a print's minutiae are found at, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Pixels per inch.
    pub ppi: u16,
    /// The manifest that gave it, when one did.
    pub manifest: Option<PathBuf>,
    /// Whether it was given on the command line.
    pub given: bool,
}

impl Resolution {
    /// The resolution of the image at `path`: `given` when set, else what the
    /// nearest dataset manifest above it says for its subset, as the scorer reads
    /// a dataset's resolutions, else [`fp_data::DEFAULT_PPI`].
    pub fn of(path: &Path, given: Option<u16>) -> Result<Self> {
        if let Some(ppi) = given {
            return Ok(Self { ppi, manifest: None, given: true });
        }
        let described = fp_data::describe_image(path)
            .map_err(|source| EvalError::ManifestAbove { path: path.to_owned(), source: Box::new(source) })?;
        Ok(match described {
            Some(source) => {
                let root = source.path.ancestors().nth(source.relative.split('/').count()).map(Path::to_path_buf);
                Self { ppi: source.ppi, manifest: root.map(|r| r.join(fp_data::MANIFEST_FILE)), given: false }
            }
            None => Self { ppi: fp_data::DEFAULT_PPI, manifest: None, given: false },
        })
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.manifest, self.given) {
            (_, true) => write!(f, "{} ppi", self.ppi),
            (Some(manifest), false) => write!(f, "{} ppi (from {})", self.ppi, manifest.display()),
            (None, false) => write!(f, "{} ppi (no dataset.toml above it; --ppi sets it)", self.ppi),
        }
    }
}

/// Where the template of the image at `image` goes: beside it, or at the same
/// place under another folder, with the format's extension.
pub fn template_path(image: &Path, format: TemplateFormat) -> PathBuf {
    image.with_extension(format.extension())
}

/// Finds the minutiae of `image` (scanned at `ppi`), telling endings from
/// bifurcations, and writes them to `path` in `format`, atomically, creating
/// its folder. An image too small for MINDTCT gets an empty template. Returns
/// the number of minutiae written.
pub fn write_template(image: &GrayImage, ppi: u16, format: TemplateFormat, path: &Path) -> Result<usize> {
    let (w, h) = image.dimensions();
    let template = match Template::detect_with_kinds(image.as_raw(), w as usize, h as usize, ppi) {
        // As the scorer counts it: no minutiae (and not computable), not an error.
        Err(MetricsError::TooSmallForMinutiae { .. }) => Template { width: w, height: h, minutiae: Vec::new() },
        found => {
            found.map_err(|source| EvalError::TemplateMinutiae { path: path.to_owned(), source: Box::new(source) })?
        }
    };
    let bytes = format
        .encode(&template, ppi)
        .map_err(|source| EvalError::EncodeTemplate { path: path.to_owned(), source: Box::new(source) })?;
    write_creating_folder(path, bytes)?;
    Ok(template.minutiae.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_go_beside_their_image_with_the_formats_extension() {
        let image = Path::new("out/noise/0.6/DB1_B/101_1.png");
        assert_eq!(template_path(image, TemplateFormat::Xyt), Path::new("out/noise/0.6/DB1_B/101_1.xyt"));
        assert_eq!(template_path(image, TemplateFormat::Iso19794_2), Path::new("out/noise/0.6/DB1_B/101_1.ist"));
    }

    #[test]
    fn the_resolution_comes_from_the_option_then_the_manifest_then_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("set/DB2_B/101_1.png");
        assert_eq!(Resolution::of(&image, None).unwrap().ppi, fp_data::DEFAULT_PPI);
        std::fs::create_dir_all(image.parent().unwrap()).unwrap();
        std::fs::write(dir.path().join("set/dataset.toml"), "name = \"set\"\n[subsets.DB2_B]\nppi = 569\n").unwrap();
        let found = Resolution::of(&image, None).unwrap();
        assert_eq!(
            (found.ppi, found.manifest),
            (569, Some(std::path::absolute(dir.path().join("set/dataset.toml")).unwrap()))
        );
        assert_eq!(Resolution::of(&image, Some(1000)).unwrap().ppi, 1000);
    }
}
