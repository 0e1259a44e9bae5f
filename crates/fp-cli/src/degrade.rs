//! `fpae degrade`: seeded degraded copies of prints, or a figure of each
//! kind of damage at three severities.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use fp_degrade::Degradation;
use fp_degrade::seeds::file_damage_seed;
use fp_figures::Tile;
use image::GrayImage;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use rayon::prelude::*;

use fp_eval::images::read_values;

use crate::shared::{kind_parser, parse_severity, progress, to_gray, write_gray_png};

/// The severities of the figure's columns, after the clean print.
const FIGURE_SEVERITIES: [f32; 3] = [0.3, 0.6, 0.9];
/// The figure shows at most this many pixels of each side of the print,
/// around its centre, at full resolution, where noise and ridges can be
/// seen: 52 whole FVC prints make a PNG of 2.6 MB, 52 such crops 450 kB.
const FIGURE_TILE: u32 = 112;

#[derive(Debug, clap::Args)]
pub struct DegradeArgs {
    /// Images (any size or format) or folders of images to degrade.
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<PathBuf>,
    /// The folder to write the degraded copies into, as `<stem>.<kind>-<severity>.png`.
    #[arg(long, value_name = "DIR", required_unless_present = "figure")]
    out: Option<PathBuf>,
    /// A kind of damage; repeat for several (default: every kind).
    #[arg(long = "kind", value_name = "K", value_parser = kind_parser())]
    kinds: Vec<Degradation>,
    /// How bad the damage is, from 0 (none) to 1.
    #[arg(long, value_name = "S", default_value_t = 0.6, value_parser = parse_severity)]
    severity: f32,
    /// Seed of the damage; each file's is mixed from it, the file's name and the kind.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Instead of files: one PNG of the first image with each kind at severities 0.3, 0.6 and 0.9.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["out", "severity"])]
    figure: Option<PathBuf>,
}

pub fn run(args: DegradeArgs) -> anyhow::Result<ExitCode> {
    let mut kinds: Vec<Degradation> = Vec::new();
    for &kind in if args.kinds.is_empty() { &Degradation::ALL[..] } else { &args.kinds } {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let files = crate::shared::expand_inputs(&args.images)?;
    let stems = crate::shared::unique_stems(&files);
    if let Some(figure) = &args.figure {
        let path = write_kinds_figure(&files[0], &stems[0], &kinds, args.seed, figure)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let out_dir = args.out.as_deref().expect("clap requires --out without --figure");
    crate::shared::create_out_dir(out_dir, "--out")?;

    let bar = progress(files.len(), "images");
    bar.set_message("degrading");
    let results: Vec<anyhow::Result<usize>> = files
        .par_iter()
        .zip(&stems)
        .map(|(file, stem)| {
            let written = degrade_file(file, stem, &kinds, args.severity, args.seed, out_dir);
            bar.inc(1);
            written
        })
        .collect();
    bar.finish_and_clear();
    let mut written = 0;
    let mut failures = 0;
    for (result, file) in results.into_iter().zip(&files) {
        match result {
            Ok(n) => written += n,
            Err(e) => {
                eprintln!("error: {}", fp_eval::apply::naming(file, e.as_ref()));
                failures += 1;
            }
        }
    }
    if failures > 0 {
        eprintln!("error: {failures} of {} images could not be degraded", files.len());
    }
    println!("{written} degraded images in {}", out_dir.display());
    Ok(if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Writes one degraded copy of `file` per kind; returns how many.
fn degrade_file(
    file: &Path,
    stem: &str,
    kinds: &[Degradation],
    severity: f32,
    seed: u64,
    out_dir: &Path,
) -> anyhow::Result<usize> {
    let (clean, w, h) = read_values(file)?;
    for &kind in kinds {
        let mut pixels = clean.clone();
        kind.apply_seeded(&mut pixels, w, h, severity, file_damage_seed(seed, stem, kind));
        let path = out_dir.join(format!("{stem}.{kind}-{severity:.2}.png"));
        write_gray_png(&path, &to_gray(&pixels, w, h))?;
    }
    Ok(kinds.len())
}

/// Draws the first image with each kind at [`FIGURE_SEVERITIES`], one row
/// per kind, the clean print first; each tile shows at most
/// [`FIGURE_TILE`] pixels square around the print's centre.
fn write_kinds_figure(
    file: &Path,
    stem: &str,
    kinds: &[Degradation],
    seed: u64,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let (clean, w, h) = read_values(file).with_context(|| format!("{}", file.display()))?;
    let tile = |values: &[f32], caption: String| Tile::gray(&centre_crop(&to_gray(values, w, h)), vec![caption]);
    let rows: Vec<Vec<Tile>> = kinds
        .par_iter()
        .map(|&kind| {
            let mut row = vec![tile(&clean, format!("{kind}: clean"))];
            for severity in FIGURE_SEVERITIES {
                let mut pixels = clean.clone();
                kind.apply_seeded(&mut pixels, w, h, severity, file_damage_seed(seed, stem, kind));
                row.push(tile(&pixels, format!("{kind} {severity:.1}")));
            }
            row
        })
        .collect();
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let title = format!("Degradations of {name} at severity 0.3, 0.6 and 0.9 (seed {seed})");
    let figure = fp_figures::grid(&rows, Some(&title)).context("cannot draw the figure")?;
    // Everything in the figure is grey, so it is stored as a grayscale PNG,
    // a third of the RGB one's size.
    let gray = image::DynamicImage::ImageRgb8(figure).into_luma8();
    let mut bytes = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, FilterType::Adaptive);
    gray.write_with_encoder(encoder).with_context(|| format!("cannot encode {}", out.display()))?;
    crate::shared::create_parent(out)?;
    fp_io::write_file_atomically(out, bytes)?;
    Ok(out.to_owned())
}

/// The middle [`FIGURE_TILE`] x [`FIGURE_TILE`] pixels (or fewer, for a smaller image).
fn centre_crop(image: &GrayImage) -> GrayImage {
    let (w, h) = (image.width().min(FIGURE_TILE), image.height().min(FIGURE_TILE));
    image::imageops::crop_imm(image, (image.width() - w) / 2, (image.height() - h) / 2, w, h).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_outside_zero_to_one_are_refused() {
        assert_eq!(parse_severity("0.25"), Ok(0.25));
        for bad in ["1.5", "-0.1", "NaN", "x"] {
            assert_eq!(parse_severity(bad), Err(format!("expected a number in [0, 1], got {bad}")));
        }
    }
}
