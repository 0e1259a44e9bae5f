//! Ground truth of an impression: what was generated, in the impression's
//! own coordinates where it can be, serialisable as JSON.

use serde::{Deserialize, Serialize};

use crate::field::{Class, SingularPoint, image_to_viewed_direction};
use crate::impression::{ImpressionParams, Style, Touch};
use crate::master::MasterFinger;
use crate::minutiae::{Minutia, MinutiaKind};

/// Version of the ground-truth format; it changes whenever a field does.
pub const TRUTH_VERSION: u32 = 1;

/// Side of the block grid of the orientation and period maps, in impression pixels.
pub(crate) const BLOCK_STEP: usize = 8;

/// Values on a grid of blocks: value `(i, j)` belongs to the point
/// `(i * step + step / 2, j * step + step / 2)` of the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMap {
    /// Columns of blocks.
    pub width: usize,
    /// Rows of blocks.
    pub height: usize,
    /// Block side in pixels.
    pub step: usize,
    /// `width * height` values, row after row.
    pub values: Vec<f32>,
}

impl BlockMap {
    /// The value of block `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.values[j * self.width + i]
    }
}

/// A master minutia as it appears in an impression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MappedMinutia {
    /// Index of the minutia in [`GroundTruth::master_minutiae`].
    pub master_index: usize,
    /// The minutia in impression coordinates.
    #[serde(flatten)]
    pub minutia: Minutia,
}

/// Everything known about one impression.
///
/// Positions are in pixels from the top-left corner; angles are in radians,
/// counter-clockwise from east as the image is viewed, so a direction `a` is
/// the step `(cos a, -sin a)` in (column, row). Fields named `master_*` are
/// in master coordinates (500 ppi, before the impression's placement);
/// everything else is in the impression's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Format version, [`TRUTH_VERSION`].
    pub version: u32,
    /// The set's seed.
    pub seed: u64,
    /// Index of the finger in the set, from 0 (its file name counts from 1).
    pub finger: usize,
    /// Index of the impression of that finger, from 0 (its file name counts from 1).
    pub impression: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Resolution in pixels per inch.
    pub ppi: u16,
    /// Master width in pixels (at 500 ppi).
    pub master_width: usize,
    /// Master height in pixels (at 500 ppi).
    pub master_height: usize,
    /// Henry class of the finger.
    pub class: Class,
    /// Sensor style.
    pub style: Style,
    /// Cores and deltas mapped into the impression, whether or not they fall
    /// inside it; a core's `direction` is turned with the print.
    pub singular_points: Vec<SingularPoint>,
    /// Cores and deltas of the master.
    pub master_singular_points: Vec<SingularPoint>,
    /// Ridge orientation in radians `[0, π)` at each block centre, where
    /// `foreground` is 1; 0 elsewhere.
    pub orientation: BlockMap,
    /// Ridge period in pixels at each block centre, where `foreground` is 1; 0 elsewhere.
    pub period: BlockMap,
    /// 1 where the block centre shows the finger in contact with the sensor, else 0.
    pub foreground: BlockMap,
    /// Minutiae of the master (master coordinates).
    pub master_minutiae: Vec<Minutia>,
    /// The master minutiae that land inside the impression's contact area, mapped into it.
    pub minutiae: Vec<MappedMinutia>,
    /// How the finger met the sensor: the rigid placement of the master, the
    /// elastic distortion (applied in master coordinates before the placement),
    /// a thermal sweep's row stretch (after it), the part of the finger that
    /// touched (master coordinates), pressure and dryness.
    #[serde(flatten)]
    pub touch: Touch,
}

/// Contact strength above which a point counts as printed.
const PRINTED: f64 = 0.5;

/// A map's local Jacobian by central differences.
fn jacobian(f: impl Fn(f64, f64) -> (f64, f64), x: f64, y: f64) -> [[f64; 2]; 2] {
    let h = 0.5;
    let (a, b) = (f(x + h, y), f(x - h, y));
    let (c, d) = (f(x, y + h), f(x, y - h));
    [[(a.0 - b.0) / (2.0 * h), (c.0 - d.0) / (2.0 * h)], [(a.1 - b.1) / (2.0 * h), (c.1 - d.1) / (2.0 * h)]]
}

impl GroundTruth {
    /// The ground truth of an impression of `master` drawn with `params`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        master: &MasterFinger,
        params: &ImpressionParams,
        seed: u64,
        finger: usize,
        impression: usize,
        width: usize,
        height: usize,
        ppi: u16,
    ) -> Self {
        let inside = |x: f64, y: f64| x >= 0.0 && y >= 0.0 && x < width as f64 && y < height as f64;
        // A direction in master image coordinates, carried through the map
        // by following a short step along it.
        let map_direction = |x: f64, y: f64, angle: f64| {
            let (px, py) = params.forward(x, y);
            let (ax, ay) = params.forward(x + 3.0 * angle.cos(), y + 3.0 * angle.sin());
            ((px, py), (ay - py).atan2(ax - px))
        };
        let singular_points = master
            .singular_points
            .iter()
            .map(|sp| {
                let direction = sp.direction.map(|d| -(d as f64));
                let ((x, y), mapped) = map_direction(sp.x as f64, sp.y as f64, direction.unwrap_or(0.0));
                SingularPoint {
                    kind: sp.kind,
                    x: x as f32,
                    y: y as f32,
                    direction: sp.direction.map(|_| image_to_viewed_direction(mapped)),
                }
            })
            .collect();
        let minutiae = master
            .minutiae
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let ((x, y), mapped) = map_direction(m.x as f64, m.y as f64, -(m.direction as f64));
                (inside(x, y) && params.contact_at(master, m.x as f64, m.y as f64) >= PRINTED).then_some(
                    MappedMinutia {
                        master_index: i,
                        minutia: Minutia {
                            kind: m.kind,
                            x: x as f32,
                            y: y as f32,
                            direction: image_to_viewed_direction(mapped),
                        },
                    },
                )
            })
            .collect();
        let (bw, bh) = (width / BLOCK_STEP, height / BLOCK_STEP);
        let mut orientation = Vec::with_capacity(bw * bh);
        let mut period = Vec::with_capacity(bw * bh);
        let mut foreground = Vec::with_capacity(bw * bh);
        for j in 0..bh {
            for i in 0..bw {
                let (x, y) = ((i * BLOCK_STEP + BLOCK_STEP / 2) as f64, (j * BLOCK_STEP + BLOCK_STEP / 2) as f64);
                let (qx, qy) = params.backward(x, y);
                if params.contact_at(master, qx, qy) < PRINTED {
                    orientation.push(0.0);
                    period.push(0.0);
                    foreground.push(0.0);
                    continue;
                }
                // The ridges' normal is a covector: it maps through the
                // transpose of the backward map's Jacobian, and the period
                // shrinks by the length it gains.
                let theta = master.layout.orientation(qx, qy);
                let t = master.layout.period(qx, qy);
                let j = jacobian(|x, y| params.backward(x, y), x, y);
                let (nx, ny) = (-theta.sin(), theta.cos());
                let (mx, my) = (j[0][0] * nx + j[1][0] * ny, j[0][1] * nx + j[1][1] * ny);
                let length = (mx * mx + my * my).sqrt();
                // Ridge direction: the normal turned back by a quarter turn.
                let mapped = my.atan2(mx) - std::f64::consts::FRAC_PI_2;
                orientation.push(crate::field::image_to_viewed_orientation(mapped));
                period.push((t / length) as f32);
                foreground.push(1.0);
            }
        }
        let block = |values| BlockMap { width: bw, height: bh, step: BLOCK_STEP, values };
        Self {
            version: TRUTH_VERSION,
            seed,
            finger,
            impression,
            width,
            height,
            ppi,
            master_width: master.width,
            master_height: master.height,
            class: master.class,
            style: params.style,
            singular_points,
            master_singular_points: master.singular_points.clone(),
            orientation: block(orientation),
            period: block(period),
            foreground: block(foreground),
            master_minutiae: master.minutiae.clone(),
            minutiae,
            touch: params.touch.clone(),
        }
    }

    /// How many mapped minutiae are endings and how many bifurcations.
    pub fn minutia_counts(&self) -> (usize, usize) {
        let endings = self.minutiae.iter().filter(|m| m.minutia.kind == MinutiaKind::Ending).count();
        (endings, self.minutiae.len() - endings)
    }
}
