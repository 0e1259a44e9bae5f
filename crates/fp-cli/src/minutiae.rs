//! `fpae minutiae`: the minutiae NIST MINDTCT finds in one image, as a table,
//! JSON, NIST `xyt` text or an ISO/IEC 19794-2:2005 record, and drawn over the
//! image. Also what `restore` and `score` share to write the templates of
//! their prints: the format option, the resolution a print is read at, and the
//! writing itself.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use fp_figures::{Mark, MarkKind};
use fp_metrics::MetricsError;
use fp_metrics::minutiae::{MinutiaKind, Template};
use fp_metrics::templates::TemplateFormat;
use image::GrayImage;

use crate::shared::write_figure;

#[derive(Debug, clap::Args)]
pub struct MinutiaeArgs {
    /// The image (any format fpae reads), at its native resolution.
    image: PathBuf,
    /// Also draw the minutiae over the image into this PNG.
    #[arg(long, value_name = "OUT.png")]
    overlay: Option<PathBuf>,
    /// Scan resolution in pixels per inch (MINDTCT's quality estimate uses it, an ISO
    /// record records it). Default: what the nearest dataset.toml above the image says
    /// for its folder, else 500.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    ppi: Option<u16>,
    /// What to write: a table, the template as JSON, NIST xyt text (as MINDTCT writes
    /// it, BOZORTH3 reads it) or an ISO/IEC 19794-2:2005 finger minutiae record (binary).
    #[arg(long, value_enum, default_value = "table")]
    format: MinutiaeFormat,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Write it to FILE (atomically, creating its folder) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// What `fpae minutiae` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinutiaeFormat {
    /// A table for people.
    Table,
    /// The template as one JSON object.
    Json,
    /// NIST xyt text: `x y theta quality` per line.
    Xyt,
    /// An ISO/IEC 19794-2:2005 finger minutiae record.
    #[value(name = "iso19794-2")]
    Iso19794_2,
}

/// A template file format, as the commands that write templates take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateFormatArg {
    /// NIST xyt text (`<stem>.xyt`).
    Xyt,
    /// ISO/IEC 19794-2:2005 finger minutiae record (`<stem>.ist`).
    #[value(name = "iso19794-2")]
    Iso19794_2,
}

impl From<TemplateFormatArg> for TemplateFormat {
    fn from(arg: TemplateFormatArg) -> Self {
        match arg {
            TemplateFormatArg::Xyt => TemplateFormat::Xyt,
            TemplateFormatArg::Iso19794_2 => TemplateFormat::Iso19794_2,
        }
    }
}

pub fn run(args: MinutiaeArgs) -> anyhow::Result<ExitCode> {
    let format = if args.json { MinutiaeFormat::Json } else { args.format };
    let template_format = match format {
        MinutiaeFormat::Xyt => Some(TemplateFormat::Xyt),
        MinutiaeFormat::Iso19794_2 => Some(TemplateFormat::Iso19794_2),
        MinutiaeFormat::Table | MinutiaeFormat::Json => None,
    };
    let to_stdout = args.out.is_none();
    if to_stdout && template_format.is_some_and(|f| !f.is_text()) && std::io::stdout().is_terminal() {
        bail!("an ISO/IEC 19794-2 record is binary: write it to a file with --out FILE, or redirect the output");
    }
    let resolution = Resolution::of(&args.image, args.ppi)?;
    let image = fp_data::decode_gray(&args.image)?;
    let (w, h) = image.dimensions();
    let template = Template::detect_with_kinds(image.as_raw(), w as usize, h as usize, resolution.ppi)
        .with_context(|| format!("cannot find minutiae in {}", args.image.display()))?;
    // The picture first: printing may end the process (output piped into `head`).
    if let Some(out) = &args.overlay {
        let figure = fp_figures::minutiae_figure(&image, &marks(&template)).context("cannot draw the minutiae")?;
        write_figure(out, &figure)?;
    }
    let bytes = match (format, template_format) {
        (_, Some(f)) => f.encode(&template, resolution.ppi).with_context(|| format!("cannot write {f}"))?,
        (MinutiaeFormat::Json, None) => {
            format!("{}\n", serde_json::to_string(&template).expect("a template serializes")).into_bytes()
        }
        _ => table(&args.image, &template, &resolution).into_bytes(),
    };
    match &args.out {
        Some(out) => write_creating_folder(out, bytes)?,
        None => std::io::stdout().write_all(&bytes).context("cannot write to standard output")?,
    }
    // Paths of what was written, unless standard output carries the data itself.
    if format == MinutiaeFormat::Table || !to_stdout {
        for path in args.overlay.iter().chain(&args.out) {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The minutiae as a table for people, with a line about the image first.
fn table(path: &Path, template: &Template, resolution: &Resolution) -> String {
    let count = |kind| template.minutiae.iter().filter(|m| m.kind == Some(kind)).count();
    let mut out = format!(
        "{}: {}x{} at {}, {} minutiae ({} endings, {} bifurcations); {}\n",
        path.display(),
        template.width,
        template.height,
        resolution,
        template.len(),
        count(MinutiaKind::Ending),
        count(MinutiaKind::Bifurcation),
        if template.is_computable() { "BOZORTH3 can score it" } else { "too few for BOZORTH3 (it needs 10)" }
    );
    out += &format!("{:>5} {:>5} {:>5} {:>7}  kind\n", "x", "y", "angle", "quality");
    for m in &template.minutiae {
        let kind = match m.kind {
            Some(MinutiaKind::Ending) => "ending",
            Some(MinutiaKind::Bifurcation) => "bifurcation",
            None => "-",
        };
        out += &format!("{:>5} {:>5} {:>5} {:>7}  {kind}\n", m.x, m.y, m.angle, m.quality);
    }
    out
}

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
    pub fn of(path: &Path, given: Option<u16>) -> anyhow::Result<Self> {
        if let Some(ppi) = given {
            return Ok(Self { ppi, manifest: None, given: true });
        }
        let described = fp_data::describe_image(path)
            .with_context(|| format!("cannot read the dataset manifest above {}", path.display()))?;
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
pub fn write_template(image: &GrayImage, ppi: u16, format: TemplateFormat, path: &Path) -> anyhow::Result<usize> {
    let (w, h) = image.dimensions();
    let template = match Template::detect_with_kinds(image.as_raw(), w as usize, h as usize, ppi) {
        // As the scorer counts it: no minutiae (and not computable), not an error.
        Err(MetricsError::TooSmallForMinutiae { .. }) => Template { width: w, height: h, minutiae: Vec::new() },
        found => found.with_context(|| format!("cannot find the minutiae for {}", path.display()))?,
    };
    let bytes = format.encode(&template, ppi).with_context(|| format!("cannot write {}", path.display()))?;
    write_creating_folder(path, bytes)?;
    Ok(template.minutiae.len())
}

/// Writes `bytes` to `path` atomically, creating its folder.
fn write_creating_folder(path: &Path, bytes: Vec<u8>) -> anyhow::Result<()> {
    crate::shared::create_parent(path)?;
    fp_io::write_file_atomically(path, bytes)?;
    Ok(())
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
