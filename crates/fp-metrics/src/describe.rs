//! A dataset of prints as the matcher sees them: how many minutiae MINDTCT
//! finds, how far apart the ridges are, how much of each image is finger, and
//! how well BOZORTH3 tells its fingers apart.
//!
//! Per print there are three measures:
//!
//! - **minutiae**: the MINDTCT count, detected once per print (through the
//!   template cache of [`crate::gallery`] when one is given);
//! - **ridge period** in pixels ([`ridge_period`]): the median over the
//!   print's foreground blocks of each block's dominant period, found by
//!   projecting the block across its ridges and autocorrelating the
//!   projection; in millimetres it is `period_px / ppi * 25.4`;
//! - **foreground fraction** ([`foreground_mask`]): the share of the image in
//!   blocks whose grey-level spread marks them as ridges, not background.
//!
//! Per database and over the whole dataset the prints are summarised by the
//! median, lowest and highest of each measure, and by two match rates at the
//! BOZORTH3 threshold of 40 (the same comparisons [`crate::identity`] makes of
//! the originals):
//!
//! - **type II** (genuine): every ordered pair of distinct impressions of one
//!   finger, the first as probe;
//! - **impostor**: each finger's first impression against the first impression
//!   of every other finger of its database (ordered pairs).
//!
//! A pair where either print has fewer than
//! [`MIN_COMPUTABLE`](crate::minutiae::MIN_COMPUTABLE) minutiae cannot be
//! scored: it is counted as not computable and left out of the rate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::folders::Progress;
use crate::gallery::{Detector, GalleryError, TemplateCache, gallery_prints};
use crate::minutiae::{BOZORTH_THRESHOLD, match_score};

/// Millimetres per inch, to turn a period in pixels at a resolution into a length.
const MM_PER_INCH: f64 = 25.4;

/// Side of the square blocks the foreground is decided on, in pixels.
pub const SEGMENT_BLOCK: usize = 16;
/// Side of the square blocks a ridge period is measured in, in pixels.
pub const PERIOD_BLOCK: usize = 32;

/// What can go wrong while describing a dataset; every variant names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// The folder holds no images.
    #[error("{path}: no images in this folder")]
    Empty {
        /// The folder.
        path: PathBuf,
    },
    /// The dataset could not be listed or an image decoded.
    #[error(transparent)]
    Data(#[from] fp_data::DataError),
    /// An image could not be read or its minutiae found.
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

/// The measures of one print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintDescription {
    /// Path relative to the dataset root.
    pub file: String,
    /// Its database (sensor).
    pub database: String,
    /// Finger and impression number, when the file name says so.
    pub finger: Option<(u32, u32)>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution in pixels per inch, from the dataset's manifest.
    pub ppi: u16,
    /// Minutiae MINDTCT finds.
    pub minutiae: usize,
    /// Median ridge period in pixels; `None` when no block shows clear ridges.
    pub ridge_period_px: Option<f64>,
    /// The same in millimetres (`period_px / ppi * 25.4`).
    pub ridge_period_mm: Option<f64>,
    /// Share of the image that is foreground, in [0, 1].
    pub foreground: f64,
}

/// The median, lowest and highest of a measure over a group of prints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none. NaNs are left out.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Self { median, min: v[0], max: v[n - 1] })
    }
}

/// BOZORTH3 comparisons of one kind and how many of them match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairRate {
    /// Comparisons made.
    pub pairs: usize,
    /// Comparisons that cannot be scored (a print under 10 minutiae).
    pub not_computable: usize,
    /// Computable comparisons scoring at least 40.
    pub matched: usize,
    /// `matched` over the computable comparisons; `None` when none is computable.
    pub rate_40: Option<f64>,
}

impl PairRate {
    /// The rate of a set of scores (`None`: not computable).
    fn of(scores: impl IntoIterator<Item = Option<u32>>) -> Self {
        let mut rate = Self::default();
        for score in scores {
            rate.pairs += 1;
            match score {
                None => rate.not_computable += 1,
                Some(s) if s >= BOZORTH_THRESHOLD => rate.matched += 1,
                Some(_) => {}
            }
        }
        let computable = rate.pairs - rate.not_computable;
        rate.rate_40 = (computable > 0).then(|| rate.matched as f64 / computable as f64);
        rate
    }
}

/// The measures of a group of prints: a database, or the whole dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDescription {
    /// Prints in the group.
    pub prints: usize,
    /// Distinct fingers among them (prints without a finger number are not counted).
    pub fingers: usize,
    /// Minutiae per print.
    pub minutiae: Option<Spread>,
    /// Ridge period per print, in pixels (prints without one are left out).
    pub ridge_period_px: Option<Spread>,
    /// Ridge period per print, in millimetres.
    pub ridge_period_mm: Option<Spread>,
    /// Foreground fraction per print.
    pub foreground: Option<Spread>,
    /// Prints under 10 minutiae, which BOZORTH3 cannot score.
    pub not_computable_prints: usize,
    /// Genuine comparisons: every ordered pair of distinct impressions of a finger.
    pub type2: PairRate,
    /// Impostor comparisons: first impressions of different fingers of a database.
    pub impostor: PairRate,
}

/// A dataset as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDescription {
    /// The dataset's folder.
    pub root: PathBuf,
    /// The dataset's name, from its manifest.
    pub dataset: String,
    /// Over every print.
    pub overall: GroupDescription,
    /// Per database (sensor), by name.
    pub databases: BTreeMap<String, GroupDescription>,
    /// Every print, in the order the dataset lists them.
    pub prints: Vec<PrintDescription>,
}

/// Describes the dataset under `root` (its `dataset.toml` gives resolutions
/// and naming). Minutiae come from `cache` when it holds them. `progress`
/// hears the number of steps, twice the number of prints (each print's
/// minutiae, then its image measures), then each step done.
pub fn describe(
    root: &Path,
    cache: Option<&TemplateCache>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<DatasetDescription, DescribeError> {
    let sources = fp_data::discover(root)?;
    if sources.is_empty() {
        return Err(DescribeError::Empty { path: root.to_owned() });
    }
    progress(Progress::Total(2 * sources.len()));
    let done = || progress(Progress::Done);
    let detector = Detector::default();
    let gallery = gallery_prints(&sources, cache, &detector, &done)?;
    detector.warn_too_small();
    let prints: Vec<PrintDescription> = sources
        .par_iter()
        .zip(&gallery)
        .map(|(source, print)| {
            let image = fp_data::decode_gray(&source.path)?;
            let (w, h) = image.dimensions();
            let mask = foreground_mask(image.as_raw(), w as usize, h as usize);
            let period = ridge_period(image.as_raw(), w as usize, h as usize, &mask);
            done();
            Ok(PrintDescription {
                file: source.relative.clone(),
                database: print.key.database.clone(),
                finger: print.key.finger,
                width: w,
                height: h,
                ppi: source.ppi,
                minutiae: print.template.len(),
                ridge_period_px: period,
                ridge_period_mm: period.map(|p| p / f64::from(source.ppi) * MM_PER_INCH),
                foreground: mask.fraction(),
            })
        })
        .collect::<Result<_, DescribeError>>()?;

    let pairs = comparison_pairs(&prints);
    let scores: Vec<Option<u32>> =
        pairs.par_iter().map(|p| match_score(&gallery[p.probe].template, &gallery[p.gallery].template)).collect();
    let (all, pairs, scores) = (&prints, &pairs, &scores);
    let group = |in_group: &dyn Fn(&str) -> bool| {
        let members: Vec<&PrintDescription> = all.iter().filter(|p| in_group(&p.database)).collect();
        let scored = |genuine: bool| {
            pairs
                .iter()
                .zip(scores)
                .filter(move |(p, _)| p.genuine == genuine && in_group(&all[p.probe].database))
                .map(|(_, &s)| s)
        };
        summarise(&members, PairRate::of(scored(true)), PairRate::of(scored(false)))
    };
    let mut names: Vec<&str> = prints.iter().map(|p| p.database.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let databases = names.iter().map(|&db| (db.to_owned(), group(&|d| d == db))).collect();
    Ok(DatasetDescription {
        root: root.to_owned(),
        dataset: sources[0].dataset.clone(),
        overall: group(&|_| true),
        databases,
        prints,
    })
}

fn summarise(members: &[&PrintDescription], type2: PairRate, impostor: PairRate) -> GroupDescription {
    let mut fingers: Vec<(&str, u32)> =
        members.iter().filter_map(|p| p.finger.map(|(f, _)| (p.database.as_str(), f))).collect();
    fingers.sort_unstable();
    fingers.dedup();
    GroupDescription {
        prints: members.len(),
        fingers: fingers.len(),
        minutiae: Spread::of(members.iter().map(|p| p.minutiae as f64)),
        ridge_period_px: Spread::of(members.iter().filter_map(|p| p.ridge_period_px)),
        ridge_period_mm: Spread::of(members.iter().filter_map(|p| p.ridge_period_mm)),
        foreground: Spread::of(members.iter().map(|p| p.foreground)),
        not_computable_prints: members.iter().filter(|p| p.minutiae < crate::minutiae::MIN_COMPUTABLE).count(),
        type2,
        impostor,
    }
}

/// One BOZORTH3 comparison to make: indices of the probe and the gallery print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair {
    probe: usize,
    gallery: usize,
    /// Two impressions of one finger (else two fingers' first impressions).
    genuine: bool,
}

/// The genuine and impostor comparisons of the module docs, within each database.
fn comparison_pairs(prints: &[PrintDescription]) -> Vec<Pair> {
    // (database, finger) -> the finger's prints as (impression, index), in impression order.
    let mut fingers: BTreeMap<(&str, u32), Vec<(u32, usize)>> = BTreeMap::new();
    for (i, p) in prints.iter().enumerate() {
        if let Some((finger, impression)) = p.finger {
            fingers.entry((p.database.as_str(), finger)).or_default().push((impression, i));
        }
    }
    let mut pairs = Vec::new();
    for impressions in fingers.values_mut() {
        impressions.sort_unstable();
        for &(_, probe) in impressions.iter() {
            for &(_, gallery) in impressions.iter().filter(|&&(_, g)| g != probe) {
                pairs.push(Pair { probe, gallery, genuine: true });
            }
        }
    }
    let firsts: Vec<(&str, usize)> = fingers.iter().map(|(&(db, _), imps)| (db, imps[0].1)).collect();
    for &(db, probe) in &firsts {
        for &(_, gallery) in firsts.iter().filter(|&&(d, g)| d == db && g != probe) {
            pairs.push(Pair { probe, gallery, genuine: false });
        }
    }
    pairs
}

/// Which [`SEGMENT_BLOCK`]-pixel blocks of an image are foreground.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForegroundMask {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Columns of blocks (the last one may be narrower than a block).
    pub columns: usize,
    /// Rows of blocks (the last one may be lower than a block).
    pub rows: usize,
    /// `columns * rows` flags, row after row.
    pub blocks: Vec<bool>,
}

impl ForegroundMask {
    /// Whether block `(column, row)` is foreground.
    pub fn get(&self, column: usize, row: usize) -> bool {
        self.blocks[row * self.columns + column]
    }

    /// Whether the pixel rectangle `[x0, x1) x [y0, y1)` lies wholly in foreground blocks.
    pub fn covers(&self, (x0, y0): (usize, usize), (x1, y1): (usize, usize)) -> bool {
        let (c0, c1) = (x0 / SEGMENT_BLOCK, (x1 - 1) / SEGMENT_BLOCK);
        let (r0, r1) = (y0 / SEGMENT_BLOCK, (y1 - 1) / SEGMENT_BLOCK);
        (r0..=r1).all(|r| (c0..=c1).all(|c| c < self.columns && r < self.rows && self.get(c, r)))
    }

    /// Share of the image's pixels in foreground blocks, in [0, 1].
    pub fn fraction(&self) -> f64 {
        if self.width == 0 || self.height == 0 {
            return 0.0;
        }
        let mut pixels = 0usize;
        for r in 0..self.rows {
            for c in 0..self.columns {
                if self.get(c, r) {
                    let w = SEGMENT_BLOCK.min(self.width - c * SEGMENT_BLOCK);
                    let h = SEGMENT_BLOCK.min(self.height - r * SEGMENT_BLOCK);
                    pixels += w * h;
                }
            }
        }
        pixels as f64 / (self.width * self.height) as f64
    }
}

/// The smallest grey-level standard deviation of a foreground block, in grey
/// levels: sensor noise on a blank background stays below it.
pub const MIN_FOREGROUND_STD: f64 = 6.0;
/// A block is foreground when its standard deviation reaches this share of the
/// image's typical ridge contrast (the 90th percentile of the block deviations).
pub const FOREGROUND_SHARE: f64 = 0.35;

/// Segments a `width x height` 8-bit image (row-major) by block-wise grey-level
/// variance: ridges alternate dark and light, so a block of finger has a large
/// spread of grey levels and a block of background a small one. The image is
/// cut into [`SEGMENT_BLOCK`]-pixel blocks (smaller at the right and bottom
/// edges); a block is foreground when its standard deviation is at least
/// [`MIN_FOREGROUND_STD`] and at least [`FOREGROUND_SHARE`] of the 90th
/// percentile of all blocks' deviations, a threshold that follows each
/// sensor's contrast. No smoothing or hole filling follows.
pub fn foreground_mask(pixels: &[u8], width: usize, height: usize) -> ForegroundMask {
    let (columns, rows) = (width.div_ceil(SEGMENT_BLOCK), height.div_ceil(SEGMENT_BLOCK));
    let mut stds = Vec::with_capacity(columns * rows);
    for r in 0..rows {
        for c in 0..columns {
            let (x0, y0) = (c * SEGMENT_BLOCK, r * SEGMENT_BLOCK);
            let (x1, y1) = ((x0 + SEGMENT_BLOCK).min(width), (y0 + SEGMENT_BLOCK).min(height));
            let (mut sum, mut sum2) = (0.0f64, 0.0f64);
            for y in y0..y1 {
                for &v in &pixels[y * width + x0..y * width + x1] {
                    let v = f64::from(v);
                    sum += v;
                    sum2 += v * v;
                }
            }
            let n = ((x1 - x0) * (y1 - y0)) as f64;
            let mean = sum / n;
            stds.push((sum2 / n - mean * mean).max(0.0).sqrt());
        }
    }
    let mut sorted = stds.clone();
    sorted.sort_by(f64::total_cmp);
    let typical = sorted.get((sorted.len() * 9 / 10).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0);
    let threshold = MIN_FOREGROUND_STD.max(FOREGROUND_SHARE * typical);
    ForegroundMask { width, height, columns, rows, blocks: stds.iter().map(|&s| s >= threshold).collect() }
}

/// Shortest and longest ridge period measured, in pixels: 3 px is the
/// shortest a sampled sinusoid can show, 25 px covers 1000 ppi prints.
const PERIOD_RANGE: (f64, f64) = (3.0, 25.0);
/// Length of the projection across the ridges, in pixels: about five periods at 500 ppi.
const SIGNATURE_LENGTH: usize = 48;
/// Width of the projection along the ridges, in pixels.
const SIGNATURE_WIDTH: usize = 16;
/// Blocks whose orientation coherence is below this are skipped (cores,
/// deltas, scars and noise have no single ridge direction).
const MIN_COHERENCE: f64 = 0.4;
/// Blocks whose autocorrelation peak is below this are skipped (no clear period).
const MIN_PEAK: f64 = 0.3;

/// The ridge period of a `width x height` 8-bit image (row-major) in pixels:
/// the median over its [`PERIOD_BLOCK`]-pixel blocks that lie wholly in the
/// foreground of `mask` of each block's period, `None` when no block has one.
///
/// In each block the ridge orientation comes from the gradient structure
/// tensor (central differences summed over the block); blocks with a
/// coherence under 0.4 are skipped. The image is then projected across the
/// ridges, as Hong, Wan and Jain (1998) do: a signature of 48 samples along
/// the ridge normal through the block's centre, each the mean of 16 bilinear
/// samples along the ridge; a block whose signature reaches into the
/// background is skipped. The period is the lag of the first peak of the
/// signature's normalised autocorrelation after it has gone negative,
/// refined to a fraction of a pixel by a parabola through the peak and its
/// neighbours; a peak under 0.3, or a lag outside 3 to 25 pixels, leaves
/// the block out. The median makes the estimate robust to the blocks where
/// noise or a minutia fools the projection.
pub fn ridge_period(pixels: &[u8], width: usize, height: usize, mask: &ForegroundMask) -> Option<f64> {
    let at = |x: usize, y: usize| f64::from(pixels[y * width + x]);
    let mut periods = Vec::new();
    for by in (0..height / PERIOD_BLOCK).map(|r| r * PERIOD_BLOCK) {
        for bx in (0..width / PERIOD_BLOCK).map(|c| c * PERIOD_BLOCK) {
            if !mask.covers((bx, by), (bx + PERIOD_BLOCK, by + PERIOD_BLOCK)) {
                continue;
            }
            let (mut gxx, mut gyy, mut gxy) = (0.0, 0.0, 0.0);
            for y in by.max(1)..(by + PERIOD_BLOCK).min(height - 1) {
                for x in bx.max(1)..(bx + PERIOD_BLOCK).min(width - 1) {
                    let gx = (at(x + 1, y) - at(x - 1, y)) / 2.0;
                    let gy = (at(x, y + 1) - at(x, y - 1)) / 2.0;
                    gxx += gx * gx;
                    gyy += gy * gy;
                    gxy += gx * gy;
                }
            }
            let energy = gxx + gyy;
            if energy <= 0.0 || ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt() / energy < MIN_COHERENCE {
                continue;
            }
            // The dominant gradient direction is the ridges' normal.
            let normal = 0.5 * (2.0 * gxy).atan2(gxx - gyy);
            let centre = (bx as f64 + PERIOD_BLOCK as f64 / 2.0, by as f64 + PERIOD_BLOCK as f64 / 2.0);
            if let Some(signature) = signature(pixels, mask, centre, normal) {
                periods.extend(dominant_period(&signature));
            }
        }
    }
    Spread::of(periods).map(|s| s.median)
}

/// The projection of the image across the ridges through `centre`, along the
/// direction `normal` (radians, image coordinates); `None` when it leaves the
/// foreground, whose grey levels would bias the projection.
fn signature(pixels: &[u8], mask: &ForegroundMask, centre: (f64, f64), normal: f64) -> Option<Vec<f64>> {
    let (width, height) = (mask.width, mask.height);
    let (nx, ny) = (normal.cos(), normal.sin());
    let (tx, ty) = (-ny, nx);
    let bilinear = |x: f64, y: f64| -> Option<f64> {
        if x < 0.0 || y < 0.0 || x > (width - 1) as f64 || y > (height - 1) as f64 {
            return None;
        }
        if !mask.get(x as usize / SEGMENT_BLOCK, y as usize / SEGMENT_BLOCK) {
            return None;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let p = |x: usize, y: usize| f64::from(pixels[y * width + x]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    };
    (0..SIGNATURE_LENGTH)
        .map(|k| {
            let u = k as f64 - SIGNATURE_LENGTH as f64 / 2.0 + 0.5;
            let mut sum = 0.0;
            for d in 0..SIGNATURE_WIDTH {
                let v = d as f64 - SIGNATURE_WIDTH as f64 / 2.0 + 0.5;
                sum += bilinear(centre.0 + u * nx + v * tx, centre.1 + u * ny + v * ty)?;
            }
            Some(sum / SIGNATURE_WIDTH as f64)
        })
        .collect()
}

/// The period of a signature: the lag of the first autocorrelation peak after
/// the autocorrelation has gone negative, refined by a parabola (see [`ridge_period`]).
fn dominant_period(signature: &[f64]) -> Option<f64> {
    let n = signature.len();
    let mean = signature.iter().sum::<f64>() / n as f64;
    let s: Vec<f64> = signature.iter().map(|v| v - mean).collect();
    // Dividing by the number of products keeps long lags from being penalised.
    let r0 = s.iter().map(|v| v * v).sum::<f64>() / n as f64;
    if r0 <= f64::EPSILON {
        return None;
    }
    let max_lag = (PERIOD_RANGE.1.ceil() as usize + 1).min(n - 2);
    let r: Vec<f64> =
        (0..=max_lag).map(|k| (0..n - k).map(|i| s[i] * s[i + k]).sum::<f64>() / ((n - k) as f64 * r0)).collect();
    let negative = r.iter().position(|&v| v < 0.0)?;
    let k = (negative.max(1)..max_lag).find(|&k| r[k] >= r[k - 1] && r[k] > r[k + 1])?;
    if r[k] < MIN_PEAK {
        return None;
    }
    let curvature = r[k - 1] - 2.0 * r[k] + r[k + 1];
    let offset = if curvature < 0.0 { 0.5 * (r[k - 1] - r[k + 1]) / curvature } else { 0.0 };
    let period = k as f64 + offset.clamp(-0.5, 0.5);
    (PERIOD_RANGE.0..=PERIOD_RANGE.1).contains(&period).then_some(period)
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn radians(degrees: f64) -> f64 {
        degrees * PI / 180.0
    }

    /// A `w x h` sinusoid of `period` pixels whose ridges run at `angle`
    /// (radians, image coordinates), grey 128 +- 100.
    fn sinusoid(w: usize, h: usize, period: f64, angle: f64) -> Vec<u8> {
        let (nx, ny) = (-angle.sin(), angle.cos());
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                (128.0 + 100.0 * (2.0 * PI * (x * nx + y * ny) / period).cos()).round() as u8
            })
            .collect()
    }

    #[test]
    fn the_period_of_a_sinusoid_is_found_at_any_angle() {
        for (period, degrees) in [(9.0, 0.0), (9.0, 30.0), (7.5, 90.0), (11.3, 135.0), (14.0, 60.0)] {
            let (w, h) = (160, 192);
            let pixels = sinusoid(w, h, period, radians(degrees));
            let mask = foreground_mask(&pixels, w, h);
            assert_eq!(mask.fraction(), 1.0, "a sinusoid is all foreground");
            let found = ridge_period(&pixels, w, h, &mask).unwrap();
            // Sub-pixel refinement of a sampled, rounded sinusoid is good to a few hundredths.
            assert!((found - period).abs() < 0.15, "period {period} at {degrees} degrees: found {found}");
        }
    }

    #[test]
    fn the_period_survives_noise() {
        // Period 10 px at 75 degrees, plus uniform noise of +-40 grey levels
        // (an SNR of about 6 in amplitude): the median over blocks stays close.
        let (w, h) = (192, 192);
        let mut state = 11u64;
        let pixels: Vec<u8> = sinusoid(w, h, 10.0, radians(75.0))
            .into_iter()
            .map(|v| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = (state >> 33) as f64 / (1u64 << 31) as f64 * 80.0 - 40.0;
                (f64::from(v) + noise).clamp(0.0, 255.0) as u8
            })
            .collect();
        let mask = foreground_mask(&pixels, w, h);
        let found = ridge_period(&pixels, w, h, &mask).unwrap();
        assert!((found - 10.0).abs() < 0.3, "{found}");
    }

    #[test]
    fn a_blank_image_has_no_foreground_and_no_period() {
        let (w, h) = (100, 80);
        let pixels = vec![200u8; w * h];
        let mask = foreground_mask(&pixels, w, h);
        assert_eq!(mask.fraction(), 0.0);
        assert_eq!(ridge_period(&pixels, w, h, &mask), None);
        assert_eq!(dominant_period(&[5.0; 48]), None);
    }

    #[test]
    fn the_foreground_is_the_box_of_ridges() {
        // 160x128 of light noise (+-3 grey levels) with ridges in x 32..112,
        // y 16..96: 6,400 of 20,480 pixels, 0.3125 of the image, on block edges.
        let (w, h) = (160, 128);
        let ridges = sinusoid(w, h, 9.0, radians(20.0));
        let mut state = 7u64;
        let pixels: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if (32..112).contains(&x) && (16..96).contains(&y) {
                    ridges[i]
                } else {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (210 + (state >> 61) as i32 - 3) as u8
                }
            })
            .collect();
        let mask = foreground_mask(&pixels, w, h);
        assert!((mask.fraction() - 0.3125).abs() < 1e-12, "{}", mask.fraction());
        assert!(mask.get(2, 1) && mask.get(6, 5) && !mask.get(1, 1) && !mask.get(7, 6));
        assert!(mask.covers((32, 16), (112, 96)) && !mask.covers((16, 16), (48, 48)));
        let found = ridge_period(&pixels, w, h, &mask).unwrap();
        assert!((found - 9.0).abs() < 0.15, "{found}");
    }

    #[test]
    fn spreads_and_rates() {
        let s = Spread::of([4.0, 1.0, 3.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of([]), None);
        // Two of the three computable scores reach 40; one pair is not computable.
        let r = PairRate::of([Some(40), Some(39), None, Some(100)]);
        assert_eq!((r.pairs, r.not_computable, r.matched), (4, 1, 2));
        assert!((r.rate_40.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(PairRate::of([None]).rate_40, None);
    }

    fn print(database: &str, finger: u32, impression: u32) -> PrintDescription {
        PrintDescription {
            file: format!("{database}/{finger}_{impression}.png"),
            database: database.into(),
            finger: Some((finger, impression)),
            width: 1,
            height: 1,
            ppi: 500,
            minutiae: 0,
            ridge_period_px: None,
            ridge_period_mm: None,
            foreground: 0.0,
        }
    }

    #[test]
    fn pairs_are_ordered_genuine_pairs_and_first_impressions_of_other_fingers() {
        // Database A: finger 1 with impressions 2, 1, 3 and finger 2 with 5, 4;
        // database B: finger 1 twice. A has 3*2 + 2*1 genuine pairs, B 2.
        let prints = [
            print("A", 1, 2),
            print("A", 1, 1),
            print("A", 1, 3),
            print("A", 2, 5),
            print("A", 2, 4),
            print("B", 1, 1),
            print("B", 1, 2),
        ];
        let pairs = comparison_pairs(&prints);
        let genuine: Vec<(usize, usize)> = pairs.iter().filter(|p| p.genuine).map(|p| (p.probe, p.gallery)).collect();
        assert_eq!(genuine.len(), 10);
        assert!(genuine.contains(&(0, 2)) && genuine.contains(&(2, 0)) && genuine.contains(&(5, 6)));
        assert!(!genuine.iter().any(|&(a, b)| a == b || prints[a].database != prints[b].database));
        // Impostors: A's first impressions (index 1 of finger 1, index 4 of finger 2), both ways; B has one finger.
        let impostor: Vec<(usize, usize)> = pairs.iter().filter(|p| !p.genuine).map(|p| (p.probe, p.gallery)).collect();
        assert_eq!(impostor, vec![(1, 4), (4, 1)]);
    }
}
