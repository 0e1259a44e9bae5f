//! `fpae minutiae`: the minutiae NIST MINDTCT finds in one image, as a table,
//! JSON, NIST `xyt` text or an ISO/IEC 19794-2:2005 record, and drawn over the
//! image.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use fp_eval::images::write_creating_folder;
use fp_eval::templates::{Resolution, marks};
use fp_metrics::minutiae::{MinutiaKind, Template};
use fp_metrics::templates::TemplateFormat;

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
