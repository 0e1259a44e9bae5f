//! `fpae reconstruct`: a trained model applied to image files, or a grid of
//! validation prints over what the model makes of them. A restoration model's
//! grid shows its degraded inputs too, damaged by its training mix or by
//! chosen kinds at a chosen severity (`--kind`, `--severity`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use fp_degrade::Degradation;
use fp_eval::apply::{ApplyOptions, Job, apply_to_files};
use fp_eval::grid::{GRID_FILE, GridDamage, GridOptions, write_grid};
use fp_train::TrainedModel;

use crate::shared::{Bars, ModelAndInputs, ModelArgs, kind_parser, parse_severity, resolve_model};

#[derive(Debug, clap::Args)]
#[command(override_usage = "fpae reconstruct [OPTIONS] --out <DIR> <MODEL> <IMAGE|DIR>...\n       \
                            fpae reconstruct [OPTIONS] --grid <N> <MODEL>\n       \
                            (or --model <MODEL> in place of the first <MODEL>)")]
pub struct ReconstructArgs {
    #[command(flatten)]
    what: ModelAndInputs,
    /// Instead of files: a PNG of the first N validation images over their reconstructions.
    #[arg(long, value_name = "N", conflicts_with_all = ["original_size"])]
    grid: Option<usize>,
    /// Output: the folder for reconstructions of IMAGEs, or the grid's file (default MODEL/reconstructions.png; NAME-reconstructions.png here for a ready-made model given by NAME).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Resize each reconstruction back to its input's original size.
    #[arg(long)]
    original_size: bool,
    /// With --grid: show each image at its original size with its minutiae drawn
    /// over it, and each reconstruction's minutiae and BOZORTH3 score against it.
    #[arg(long, requires = "grid")]
    minutiae: bool,
    /// With --grid: the N images evenly spaced over the validation split (so from
    /// each of its databases) instead of the first N.
    #[arg(long, requires = "grid")]
    spread: bool,
    /// With --grid and a restoration model: damage the prints with this kind instead
    /// of the model's training mix; repeat for several, which the prints take in
    /// turn. Seeded from each print's path, as `fpae benchmark make` seeds it.
    #[arg(long = "kind", value_name = "K", requires = "grid", value_parser = kind_parser())]
    kinds: Vec<Degradation>,
    /// With --grid: the validation prints of the dataset at DIR (split by the model's rules: a
    /// model trained on it never saw them) instead of those of the model's own data.
    #[arg(long, value_name = "DIR", requires = "grid")]
    data: Option<PathBuf>,
    /// With --kind: how bad the damage is, from 0 (none) to 1.
    #[arg(long, value_name = "S", default_value_t = 0.6, requires = "kinds", value_parser = parse_severity)]
    severity: f32,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: ReconstructArgs) -> anyhow::Result<ExitCode> {
    let (model_path, images) = args.what.split()?;
    match (args.grid, images.is_empty()) {
        (Some(_), false) => bail!("--grid draws the model's validation prints: give no images with it"),
        (None, true) => bail!("give the images or folders of images to reconstruct after the model, or --grid N"),
        _ => {}
    }
    let model = args.model.load(&model_path)?;
    if let Some(images) = args.grid {
        let out = match &args.out {
            Some(out) => out.clone(),
            // A ready-made model's folder stays as shipped: its grid comes here.
            None if !model_path.exists() => PathBuf::from(format!("{}-{GRID_FILE}", model_path.display())),
            None => resolve_model(&model_path)?.join(GRID_FILE),
        };
        crate::shared::prepare_out_file(&out, "--out")?;
        let damage =
            (!args.kinds.is_empty()).then(|| GridDamage { kinds: args.kinds.clone(), severity: args.severity });
        let options = GridOptions {
            images,
            batch: args.model.batch,
            minutiae: args.minutiae,
            spread: args.spread,
            damage,
            data: args.data.clone(),
        };
        let path = write_grid(&model, &out, &options)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(out_dir) = &args.out else {
        bail!("give --out DIR: the folder to write the reconstructions into");
    };
    reconstruct_files(&model, &images, out_dir, args.original_size, args.model.batch)
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
    crate::shared::create_out_dir(out_dir, "--out")?;
    let jobs: Vec<Job> = crate::shared::unique_stems(&files)
        .into_iter()
        .zip(files)
        .map(|(stem, input)| Job { input, output: out_dir.join(format!("{stem}.png")) })
        .collect();
    let outcome = apply_to_files(model, &jobs, ApplyOptions { original_size, batch, verb: "reconstructing" }, &Bars);
    println!("{} reconstructions in {}", outcome.written, out_dir.display());
    Ok(crate::shared::exit_code(&outcome, jobs.len(), "reconstructed"))
}
