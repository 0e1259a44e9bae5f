use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use fp_figures::Tile;
use fp_metrics::minutiae::{Correspondence, Template, Tolerance, match_score};
use fp_train::{Subset, TaskKind, TrainedModel};
use image::GrayImage;
use rayon::prelude::*;

use crate::apply::{ApplyOptions, Job, apply_to_files};
use crate::minutiae::marks;
use crate::shared::{ModelArgs, load_run_data, to_gray, write_figure};

/// File name of the reconstruction grid in a run directory.
pub const GRID_FILE: &str = "reconstructions.png";
/// Most tiles per row of a grid; more images wrap into further row pairs.
const GRID_COLUMNS: usize = 8;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["grid", "images"]))]
pub struct ReconstructArgs {
    /// The run directory.
    run_dir: PathBuf,
    /// Images (any size or format) or folders of images to reconstruct.
    #[arg(value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// Instead of files: a PNG of the first N validation images over their reconstructions.
    #[arg(long, value_name = "N", conflicts_with_all = ["images", "original_size"])]
    grid: Option<usize>,
    /// Output: the folder for reconstructions of IMAGEs, or the grid's file (default RUN_DIR/reconstructions.png).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Resize each reconstruction back to its input's original size.
    #[arg(long)]
    original_size: bool,
    /// With --grid: show each image at its original size with its minutiae drawn
    /// over it, and each reconstruction's minutiae and BOZORTH3 score against it.
    #[arg(long, requires = "grid")]
    minutiae: bool,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: ReconstructArgs) -> anyhow::Result<ExitCode> {
    let model = args.model.load(&args.run_dir)?;
    if let Some(n) = args.grid {
        let out = args.out.clone().unwrap_or_else(|| args.run_dir.join(GRID_FILE));
        let path = write_grid(&model, n, &out, args.model.batch, args.minutiae)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(out_dir) = &args.out else {
        bail!("give --out DIR: the folder to write the reconstructions into");
    };
    reconstruct_files(&model, &args.images, out_dir, args.original_size, args.model.batch)
}

/// Draws the first `n` validation images of the model's run over their
/// reconstructions, captioned with each reconstruction's PSNR and SSIM; with
/// `minutiae`, at the originals' size with the minutiae drawn over both.
pub fn write_grid(model: &TrainedModel, n: usize, out: &Path, batch: usize, minutiae: bool) -> anyhow::Result<PathBuf> {
    if n == 0 {
        bail!("--grid needs at least one image");
    }
    let (data, split) = load_run_data(model, None)?;
    let indices: Vec<usize> = Subset::Val.indices(&split, data.len()).into_iter().take(n).collect();
    let recon = model.reconstruct_dataset(&data, &indices, batch, |_| {})?;
    let scores = fp_train::score(&data, &indices, &recon)?;
    let pairs: Vec<(Tile, Tile)> = if minutiae {
        indices
            .par_iter()
            .zip(recon.par_iter())
            .zip(&scores.per_image)
            .map(|((&i, values), s)| minutiae_tiles(&data, i, values, s))
            .collect::<anyhow::Result<_>>()?
    } else {
        indices
            .iter()
            .zip(&recon)
            .zip(&scores.per_image)
            .map(|((&i, r), s)| {
                let (w, h) = data.size(i);
                let original = Tile::gray(&to_gray(data.image(i), w, h), vec![s.file.clone()]);
                let caption = vec![format!("PSNR {:.2} dB", s.psnr), format!("SSIM {:.3}", s.ssim)];
                (original, Tile::gray(&to_gray(r, w, h), caption))
            })
            .collect()
    };
    // A restoration model's grid shows what it was given above what it made.
    let restore = model.config.task.kind == TaskKind::Restore && !minutiae;
    let inputs: Vec<Tile> = if restore {
        let task = fp_train::Pairs::new(&data, &model.config);
        indices
            .iter()
            .map(|&i| {
                let (w, h) = data.size(i);
                Tile::gray(&to_gray(&task.val_input(i), w, h), vec!["degraded input".to_owned()])
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for (k, chunk) in pairs.chunks(GRID_COLUMNS).enumerate() {
        if restore {
            rows.push(inputs[k * GRID_COLUMNS..k * GRID_COLUMNS + chunk.len()].to_vec());
            rows.push(chunk.iter().map(|p| p.1.clone()).collect());
            rows.push(chunk.iter().map(|p| p.0.clone()).collect());
        } else {
            rows.push(chunk.iter().map(|p| p.0.clone()).collect());
            rows.push(chunk.iter().map(|p| p.1.clone()).collect());
        }
    }
    let title = if minutiae {
        format!("Minutiae of validation images (top) and of their reconstructions (below), epoch {}", model.epoch)
    } else if restore {
        format!(
            "Degraded validation inputs (top), their restorations and the clean prints (bottom), epoch {}",
            model.epoch
        )
    } else {
        format!("Validation images (top) and reconstructions (below), epoch {}", model.epoch)
    };
    let image = fp_figures::grid(&rows, Some(&title)).context("cannot draw the grid")?;
    write_figure(out, &image)
}

/// Image `i` and its reconstruction at the original's size, minutiae drawn over each.
fn minutiae_tiles(
    data: &fp_data::Dataset,
    i: usize,
    values: &[f32],
    score: &fp_train::ImageScore,
) -> anyhow::Result<(Tile, Tile)> {
    let source = &data.items[i].source;
    let views = fp_metrics::gallery::NativeViews::of(data, i, values)?;
    let (w, h) = views.size;
    let detect = |pixels: &[u8]| {
        Template::detect_with_kinds(pixels, w as usize, h as usize, source.ppi)
            .with_context(|| format!("cannot find minutiae in {}", source.path.display()))
    };
    let (original, reconstruction) = (detect(&views.original)?, detect(&views.reconstruction)?);
    let found = Correspondence::between(&original.minutiae, &reconstruction.minutiae, Tolerance::default());
    let bozorth = match match_score(&reconstruction, &original) {
        Some(s) => format!("BOZORTH3 {s}"),
        None => "BOZORTH3 not computable".to_owned(),
    };
    let tile = |pixels: Vec<u8>, template: &Template, caption| -> anyhow::Result<Tile> {
        let image = GrayImage::from_raw(w, h, pixels).expect("width * height pixels");
        Ok(Tile { image: fp_figures::minutiae_overlay(&image, &marks(template))?, caption })
    };
    let original_caption = vec![score.file.clone(), format!("{} minutiae", original.len())];
    let recon_caption = vec![
        format!("PSNR {:.2} dB, SSIM {:.3}", score.psnr, score.ssim),
        format!("{} minutiae, {} found", reconstruction.len(), found.matched),
        bozorth,
    ];
    Ok((
        tile(views.original, &original, original_caption)?,
        tile(views.reconstruction, &reconstruction, recon_caption)?,
    ))
}

/// Reconstructs user images into `out_dir` as PNGs named after their stems;
/// a file that cannot be read is reported and skipped, and the exit code is then 1.
fn reconstruct_files(
    model: &TrainedModel,
    inputs: &[PathBuf],
    out_dir: &Path,
    original_size: bool,
    batch: usize,
) -> anyhow::Result<ExitCode> {
    let files = crate::shared::expand_inputs(inputs)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let jobs: Vec<Job> = crate::shared::unique_stems(&files)
        .into_iter()
        .zip(files)
        .map(|(stem, input)| Job { input, output: out_dir.join(format!("{stem}.png")) })
        .collect();
    let outcome = apply_to_files(model, &jobs, ApplyOptions { original_size, batch, verb: "reconstructing" });
    println!("{} reconstructions in {}", outcome.written, out_dir.display());
    Ok(outcome.exit_code(jobs.len(), "reconstructed"))
}
