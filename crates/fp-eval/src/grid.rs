//! A grid of validation prints over what the model makes of them (`fpae
//! reconstruct --grid`, the end of `fpae train`, the report's prints). A
//! restoration model's grid shows its degraded inputs too, damaged by its
//! training mix or by chosen kinds at a chosen severity.

use std::path::{Path, PathBuf};

use fp_degrade::Degradation;
use fp_figures::Tile;
use fp_metrics::minutiae::{Correspondence, Template, Tolerance, match_score};
use fp_train::{Subset, TaskKind, TrainedModel};
use image::GrayImage;
use rayon::prelude::*;

use crate::evaluate::load_run_data;
use crate::images::{to_gray, write_figure};
use crate::templates::marks;
use crate::{EvalError, Result};

/// File name of the reconstruction grid in a run directory.
pub const GRID_FILE: &str = "reconstructions.png";
/// Most tiles per row of a grid; more images wrap into further row pairs.
pub const GRID_COLUMNS: usize = 8;

/// Damage of chosen kinds for a restoration model's grid, in place of its training mix.
#[derive(Debug, Clone, PartialEq)]
pub struct GridDamage {
    /// The kinds, which the grid's prints take in turn (at least one).
    pub kinds: Vec<Degradation>,
    /// Their severity, in [0, 1].
    pub severity: f32,
}

impl GridDamage {
    /// The kind of the grid's `k`-th print.
    fn kind(&self, k: usize) -> Degradation {
        self.kinds[k % self.kinds.len()]
    }

    /// `clean` (`width x height` values of the print at `relative`) damaged as
    /// the grid's `k`-th print, with the seed the benchmark gives that print,
    /// kind and severity.
    fn apply(&self, clean: &[f32], (width, height): (usize, usize), relative: &str, k: usize) -> Vec<f32> {
        let kind = self.kind(k);
        let mut pixels = clean.to_vec();
        let seed = crate::benchmark::damage_seed(relative, kind, self.severity);
        kind.apply_seeded(&mut pixels, width, height, self.severity, seed);
        pixels
    }

    /// The caption of the grid's `k`-th degraded print: `noise 0.6`.
    fn caption(&self, k: usize) -> String {
        format!("{} {:.1}", self.kind(k), self.severity)
    }
}

/// What a grid shows.
#[derive(Debug, Clone)]
pub struct GridOptions {
    /// How many validation prints.
    pub images: usize,
    /// Prints per model batch.
    pub batch: usize,
    /// Each print at its own size with its minutiae and BOZORTH3 scores.
    pub minutiae: bool,
    /// The prints evenly spaced over the validation split instead of the first ones.
    pub spread: bool,
    /// Chosen damage for a restoration model's inputs (its training mix when `None`).
    pub damage: Option<GridDamage>,
    /// The validation prints of this dataset root, split by the model's rules, instead
    /// of those of the model's own data.
    pub data: Option<std::path::PathBuf>,
}

impl GridOptions {
    /// The first `images` validation prints, as training draws them at its end.
    pub fn first(images: usize, batch: usize) -> Self {
        Self { images, batch, minutiae: false, spread: false, damage: None, data: None }
    }
}

/// Draws validation images over their reconstructions, captioned with each
/// reconstruction's PSNR and SSIM; a restoration model's degraded inputs above
/// them; with `minutiae`, at the originals' size with the minutiae drawn over
/// each and BOZORTH3 scores against the original.
pub fn write_grid(model: &TrainedModel, out: &Path, options: &GridOptions) -> Result<PathBuf> {
    let grid = grid_rows(model, options)?;
    let image = fp_figures::grid(&grid.rows, Some(&grid.title))
        .map_err(|source| EvalError::Draw { what: "the grid", source: Box::new(source) })?;
    write_figure(out, &image)
}

/// The tiles of a grid, row by row, with its title: see [`write_grid`].
#[derive(Debug, Clone)]
pub struct GridRows {
    /// The rows of tiles, top to bottom; they repeat [`GridRows::names`] for
    /// every [`GRID_COLUMNS`] prints.
    pub rows: Vec<Vec<Tile>>,
    /// What each row of a band shows: `degraded`, `restored`, `clean` for a
    /// restoration model; `original`, `reconstruction` otherwise.
    pub names: &'static [&'static str],
    /// The grid's title.
    pub title: String,
}

/// The tiles [`write_grid`] draws.
pub fn grid_rows(model: &TrainedModel, options: &GridOptions) -> Result<GridRows> {
    if options.images == 0 {
        return Err(EvalError::EmptyGrid);
    }
    let restore = model.config.task.kind == TaskKind::Restore;
    let damage = options.damage.as_ref();
    if damage.is_some() && !restore {
        return Err(EvalError::DamageForReconstruction { checkpoint: model.checkpoint.clone() });
    }
    let (data, split) = load_run_data(model, options.data.as_deref())?;
    let indices = pick(&Subset::Val.indices(&split, data.len()), options.images, options.spread);
    // What the model is given: the print, its degraded copy as validation
    // makes it, or the chosen damage.
    let pairs = fp_train::Pairs::new(&data, &model.config);
    let inputs: Vec<Vec<f32>> = indices
        .iter()
        .enumerate()
        .map(|(k, &i)| match damage {
            Some(d) => d.apply(data.image(i), data.size(i), &data.items[i].source.relative, k),
            None => pairs.val_input(i),
        })
        .collect();
    let input_caption = |k: usize| damage.map_or_else(|| "degraded input".to_owned(), |d| d.caption(k));
    let mut recon: Vec<Vec<f32>> = Vec::with_capacity(indices.len());
    for run in fp_train::same_size_runs(&data, &indices, options.batch) {
        let (w, h) = data.size(run[0]);
        let first = recon.len();
        let values: Vec<f32> = inputs[first..first + run.len()].concat();
        recon.extend(model.apply(&values, w, h, options.batch).chunks(w * h).map(<[f32]>::to_vec));
    }
    let scores = fp_train::score(&data, &indices, &recon)?;
    // Per print, top to bottom: the degraded input (restoration models only),
    // the model's output, the original.
    let columns: Vec<Vec<Tile>> = if options.minutiae {
        indices
            .par_iter()
            .enumerate()
            .map(|(k, &i)| {
                let input = restore.then(|| (inputs[k].as_slice(), input_caption(k)));
                minutiae_tiles(&data, i, input, &recon[k], &scores.per_image[k])
            })
            .collect::<Result<_>>()?
    } else {
        indices
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let (w, h) = data.size(i);
                let s = &scores.per_image[k];
                let mut column = Vec::new();
                if restore {
                    column.push(Tile::gray(&to_gray(&inputs[k], w, h), vec![input_caption(k)]));
                }
                let caption = vec![format!("PSNR {:.2} dB", s.quality.psnr), format!("SSIM {:.3}", s.quality.ssim)];
                column.push(Tile::gray(&to_gray(&recon[k], w, h), caption));
                column.push(Tile::gray(&to_gray(data.image(i), w, h), vec![s.file.clone()]));
                column
            })
            .collect()
    };
    let mut rows = Vec::new();
    for chunk in columns.chunks(GRID_COLUMNS) {
        // A reconstruction model's grid has its originals on top.
        let order: Vec<usize> = if restore { vec![0, 1, 2] } else { vec![1, 0] };
        for r in order {
            rows.push(chunk.iter().map(|column| column[r].clone()).collect());
        }
    }
    let degraded = damage.map_or_else(
        || "Degraded validation prints".to_owned(),
        |d| {
            let kinds: Vec<&str> = d.kinds.iter().take(indices.len()).map(|k| k.name()).collect();
            format!("Validation prints with {} at severity {:.1}", kinds.join(", "), d.severity)
        },
    );
    let title = match (options.minutiae, restore) {
        (true, true) => format!(
            "{degraded} (top), restored (middle) and clean (bottom), with minutiae and BOZORTH3 scores against the clean print; epoch {}",
            model.epoch
        ),
        (true, false) => {
            format!("Minutiae of validation images (top) and of their reconstructions (below), epoch {}", model.epoch)
        }
        (false, true) => {
            format!("{degraded} (top), their restorations and the clean prints (bottom), epoch {}", model.epoch)
        }
        (false, false) => format!("Validation images (top) and reconstructions (below), epoch {}", model.epoch),
    };
    let names: &'static [&'static str] =
        if restore { &["degraded", "restored", "clean"] } else { &["original", "reconstruction"] };
    Ok(GridRows { rows, names, title })
}

/// `images` of the validation indices `val`: the first ones, or with `spread`
/// evenly spaced over them, from the first on.
fn pick(val: &[usize], images: usize, spread: bool) -> Vec<usize> {
    if !spread || images >= val.len() {
        return val.iter().copied().take(images).collect();
    }
    (0..images).map(|k| val[k * val.len() / images]).collect()
}

/// Image `i` at the original's size, minutiae drawn over it, with the model's
/// output `values` and, for a restoration model, the degraded input it was
/// given (with its caption): the output and the input each captioned with
/// their minutiae found again and their BOZORTH3 score against the original.
/// Returned top to bottom: input, output, original.
fn minutiae_tiles(
    data: &fp_data::Dataset,
    i: usize,
    input: Option<(&[f32], String)>,
    values: &[f32],
    score: &fp_train::ImageScore,
) -> Result<Vec<Tile>> {
    let source = &data.items[i].source;
    let views = fp_metrics::gallery::NativeViews::of(data, i, values)?;
    let (w, h) = views.size;
    let detect = |pixels: &[u8]| {
        Template::detect_with_kinds(pixels, w as usize, h as usize, source.ppi)
            .map_err(|e| EvalError::Minutiae { path: source.path.clone(), source: Box::new(e) })
    };
    let original = detect(&views.original)?;
    let tile = |pixels: Vec<u8>, template: &Template, caption| -> Result<Tile> {
        let image = GrayImage::from_raw(w, h, pixels).expect("width * height pixels");
        Ok(Tile { image: fp_figures::minutiae_overlay(&image, &marks(template))?, caption })
    };
    // Minutiae found again and BOZORTH3 score against the original.
    let against_original = |template: &Template| {
        let found = Correspondence::between(&original.minutiae, &template.minutiae, Tolerance::default());
        let bozorth = match match_score(template, &original) {
            Some(s) => format!("BOZORTH3 {s}"),
            None => "BOZORTH3 not computable".to_owned(),
        };
        [format!("{} minutiae, {} found", template.len(), found.matched), bozorth]
    };
    let mut tiles = Vec::new();
    if let Some((input, caption)) = input {
        let pixels = fp_metrics::gallery::NativeViews::of(data, i, input)?.reconstruction;
        let template = detect(&pixels)?;
        let mut lines = vec![caption];
        lines.extend(against_original(&template));
        tiles.push(tile(pixels, &template, lines)?);
    }
    let reconstruction = detect(&views.reconstruction)?;
    let mut lines = vec![format!("PSNR {:.2} dB, SSIM {:.3}", score.quality.psnr, score.quality.ssim)];
    lines.extend(against_original(&reconstruction));
    tiles.push(tile(views.reconstruction, &reconstruction, lines)?);
    let original_caption = vec![score.file.clone(), format!("{} minutiae", original.len())];
    tiles.push(tile(views.original, &original, original_caption)?);
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_evenly_spaced_prints_from_the_first() {
        let val: Vec<usize> = (100..164).collect();
        assert_eq!(pick(&val, 4, true), [100, 116, 132, 148]);
        assert_eq!(pick(&val, 4, false), [100, 101, 102, 103]);
        assert_eq!(pick(&val[..3], 5, true), [100, 101, 102]);
        assert_eq!(pick(&val, 1, true), [100]);
    }

    #[test]
    fn chosen_damage_takes_the_kinds_in_turn_and_is_seeded_by_the_print() {
        let damage = GridDamage { kinds: vec![Degradation::Noise, Degradation::Occlusion], severity: 0.6 };
        let clean = vec![0.5f32; 64 * 64];
        let noise = damage.apply(&clean, (64, 64), "DB1_B/101_1.tif", 0);
        assert_ne!(noise, clean, "the damage is there");
        assert_eq!(noise, damage.apply(&clean, (64, 64), "DB1_B/101_1.tif", 2), "the same kind two prints later");
        assert_ne!(noise, damage.apply(&clean, (64, 64), "DB1_B/101_2.tif", 0), "another print, other noise");
        let mut expected = clean.clone();
        let seed = crate::benchmark::damage_seed("DB1_B/101_1.tif", Degradation::Noise, 0.6);
        Degradation::Noise.apply_seeded(&mut expected, 64, 64, 0.6, seed);
        assert_eq!(noise, expected, "the benchmark's damage of that print");
        assert_ne!(damage.apply(&clean, (64, 64), "DB1_B/101_1.tif", 1), noise, "the second print is occluded");
        assert_eq!((damage.caption(0), damage.caption(3)), ("noise 0.6".to_owned(), "occlusion 0.6".to_owned()));
    }
}
