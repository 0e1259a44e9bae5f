//! Minutiae of a fingerprint image and how two sets of them compare.
//!
//! Detection is NIST MINDTCT and matching is NIST BOZORTH3, both through their
//! pure-Rust ports (`fprint-mindtct`, `fprint-bozorth3`). This module adds what
//! an evaluation needs around them: minutiae in image coordinates, sorted by
//! quality (BOZORTH3 keeps only the first 150 it is given), the "not
//! computable" case made explicit, and the one-to-one correspondence of two
//! minutiae sets within a distance and angle tolerance.

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// Fewest minutiae a print needs for BOZORTH3 to score it. With fewer, its
/// score is 0 whatever the other print is, which means "cannot tell", not "no match".
pub const MIN_COMPUTABLE: usize = fprint_bozorth3::MIN_COMPUTABLE_BOZORTH_MINUTIAE;

/// The customary BOZORTH3 decision threshold: a score of at least 40 is taken as the same finger.
pub const BOZORTH_THRESHOLD: u32 = 40;

/// Smallest width or height MINDTCT can process.
pub const MIN_SIDE: usize = fprint_mindtct::MIN_DETECTABLE_DIM;

/// Whether a minutia is the end of a ridge or the fork of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinutiaKind {
    /// A ridge ends.
    Ending,
    /// A ridge splits in two.
    Bifurcation,
}

/// One minutia in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minutia {
    /// Column in pixels, from the left.
    pub x: i32,
    /// Row in pixels, from the top.
    pub y: i32,
    /// Direction in whole degrees `0..360`, counter-clockwise from east as the
    /// image is viewed (MINDTCT's `xyt` angle).
    pub angle: i32,
    /// MINDTCT's reliability estimate, `0..=100`.
    pub quality: i32,
    /// Ending or bifurcation, when it was asked for ([`Template::detect_with_kinds`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MinutiaKind>,
}

/// The minutiae of one image, most reliable first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// The minutiae, sorted by quality (highest first; ties keep MINDTCT's order).
    pub minutiae: Vec<Minutia>,
}

impl Template {
    /// Detects the minutiae of a `width x height` 8-bit grayscale image (row-major,
    /// 0 black) scanned at `ppi` pixels per inch. The resolution only enters
    /// MINDTCT's quality estimate: the image must be at its native scale for the
    /// minutiae to be right.
    pub fn detect(pixels: &[u8], width: usize, height: usize, ppi: u16) -> Result<Self> {
        let image = gray_image(pixels, width, height, ppi)?;
        let minutiae = fprint_mindtct::detect_minutiae(image)
            .into_iter()
            .map(|m| XytMinutia { x: m.x, y: m.y, theta: m.theta, quality: m.quality }.to_minutia(height as u32))
            .collect();
        Ok(Self::sorted(width, height, minutiae))
    }

    /// Like [`detect`](Self::detect), and also tells endings from bifurcations.
    /// It runs detection twice, so it is meant for pictures, not for metrics.
    pub fn detect_with_kinds(pixels: &[u8], width: usize, height: usize, ppi: u16) -> Result<Self> {
        let mut template = Self::detect(pixels, width, height, ppi)?;
        // MINDTCT's public output has no type; its last diagnostic list before
        // the output (after false-minutia removal) has it, at the same position
        // and direction. Ridge counting, the only later stage, only drops entries.
        let typed = fprint_mindtct::debug_removed_minutiae(gray_image(pixels, width, height, ppi)?);
        for m in &mut template.minutiae {
            m.kind = typed
                .iter()
                .find(|t| t.x == m.x && t.y == m.y && xyt_angle(t.direction) == m.angle)
                .map(|t| if t.kind == 0 { MinutiaKind::Bifurcation } else { MinutiaKind::Ending });
        }
        Ok(template)
    }

    /// A template of a `width x height` image, its minutiae sorted by quality
    /// (highest first, ties in the order given).
    pub(crate) fn sorted(width: usize, height: usize, mut minutiae: Vec<Minutia>) -> Self {
        minutiae.sort_by_key(|m| std::cmp::Reverse(m.quality));
        Self { width: width as u32, height: height as u32, minutiae }
    }

    /// Number of minutiae.
    pub fn len(&self) -> usize {
        self.minutiae.len()
    }

    /// Whether no minutiae were found.
    pub fn is_empty(&self) -> bool {
        self.minutiae.is_empty()
    }

    /// Whether BOZORTH3 can score this print (at least [`MIN_COMPUTABLE`] minutiae).
    pub fn is_computable(&self) -> bool {
        self.minutiae.len() >= MIN_COMPUTABLE
    }

    /// The minutiae in MINDTCT's `xyt` form (origin bottom left), in quality
    /// order: what BOZORTH3 reads, and what an `.xyt` file holds.
    pub fn to_xyt(&self) -> Vec<XytMinutia> {
        self.minutiae.iter().map(|m| m.to_xyt(self.height)).collect()
    }

    /// The minutiae as BOZORTH3 reads them: [`to_xyt`](Self::to_xyt) without the quality.
    fn to_bozorth(&self) -> Vec<fprint_bozorth3::Minutia> {
        self.to_xyt().into_iter().map(|m| fprint_bozorth3::Minutia::from_xyt(m.x, m.y, m.theta)).collect()
    }
}

impl Minutia {
    /// This minutia of an image `height` pixels high in MINDTCT's `xyt` form.
    pub fn to_xyt(&self, height: u32) -> XytMinutia {
        XytMinutia { x: self.x, y: height as i32 - self.y, theta: self.angle, quality: self.quality }
    }
}

/// One minutia as NIST MINDTCT writes it to an `.xyt` file and BOZORTH3 reads
/// it (the "NIST internal" representation of `lfs2nist_minutia_XYT`): origin at
/// the bottom left of the image, `y` upwards, so that `y = height - row`; the
/// direction in whole degrees `0..360`, 0 pointing right, counter-clockwise.
/// Only the origin differs from [`Minutia`]: the two convert with
/// [`Minutia::to_xyt`] and [`XytMinutia::to_minutia`], the one place where
/// either direction is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XytMinutia {
    /// Column in pixels, from the left.
    pub x: i32,
    /// Row in pixels, from the bottom: `height - row`.
    pub y: i32,
    /// Direction in whole degrees `0..360`, counter-clockwise from east.
    pub theta: i32,
    /// MINDTCT's reliability estimate, `0..=100`.
    pub quality: i32,
}

impl XytMinutia {
    /// This minutia in the image coordinates of [`Minutia`] (origin top left),
    /// for an image `height` pixels high; the type is not in `xyt` form.
    pub fn to_minutia(&self, height: u32) -> Minutia {
        Minutia { x: self.x, y: height as i32 - self.y, angle: self.theta, quality: self.quality, kind: None }
    }
}

/// The BOZORTH3 score of `probe` against `gallery`, or `None` when either has
/// fewer than [`MIN_COMPUTABLE`] minutiae. Scores are not symmetric: keep the
/// print under test as the probe.
pub fn match_score(probe: &Template, gallery: &Template) -> Option<u32> {
    (probe.is_computable() && gallery.is_computable())
        .then(|| fprint_bozorth3::match_score(&probe.to_bozorth(), &gallery.to_bozorth()))
}

/// MINDTCT's `xyt` angle of an internal direction (0..32, 11.25 degrees each).
fn xyt_angle(direction: i32) -> i32 {
    (270 - (f64::from(direction) * 11.25).round() as i32).rem_euclid(360)
}

fn gray_image(pixels: &[u8], width: usize, height: usize, ppi: u16) -> Result<fprint_mindtct::GrayImage<'_>> {
    if pixels.len() != width * height {
        return Err(MetricsError::SizeMismatch { left: width * height, right: pixels.len() });
    }
    fprint_mindtct::GrayImage::new(pixels, width, height, ppi).map_err(|_| MetricsError::TooSmallForMinutiae {
        width,
        height,
        min: MIN_SIDE,
    })
}

/// When a minutia of one set is taken to be the same as one of another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Largest distance between the two positions, in pixels.
    pub distance: f64,
    /// Largest difference between the two directions, in degrees (the short way round).
    pub angle: i32,
}

impl Default for Tolerance {
    /// 8 pixels and 30 degrees: at 500 ppi, 8 pixels is 0.4 mm, under the
    /// ~0.45 mm ridge period, so a match is on the same ridge end or fork.
    fn default() -> Self {
        Self { distance: 8.0, angle: 30 }
    }
}

impl Tolerance {
    /// Whether `a` and `b` are within this tolerance of each other.
    pub fn accepts(&self, a: &Minutia, b: &Minutia) -> bool {
        distance(a, b) <= self.distance && angle_difference(a.angle, b.angle) <= self.angle
    }
}

/// The difference between two directions in degrees, the short way round (`0..=180`).
pub fn angle_difference(a: i32, b: i32) -> i32 {
    let d = (a - b).rem_euclid(360);
    d.min(360 - d)
}

fn distance(a: &Minutia, b: &Minutia) -> f64 {
    f64::from(a.x - b.x).hypot(f64::from(a.y - b.y))
}

/// How many minutiae of two sets of the same image correspond one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correspondence {
    /// Minutiae of the reference set (the original).
    pub reference: usize,
    /// Minutiae of the candidate set (the reconstruction).
    pub candidate: usize,
    /// Pairs matched within the tolerance, each minutia used at most once.
    pub matched: usize,
}

impl Correspondence {
    /// Pairs minutiae of `candidate` with those of `reference` within
    /// `tolerance`, one to one, closest pairs first.
    pub fn between(reference: &[Minutia], candidate: &[Minutia], tolerance: Tolerance) -> Self {
        let mut pairs: Vec<(f64, usize, usize)> = reference
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                candidate
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| tolerance.accepts(r, c))
                    .map(move |(j, c)| (distance(r, c), i, j))
            })
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let (mut used_r, mut used_c) = (vec![false; reference.len()], vec![false; candidate.len()]);
        let mut matched = 0;
        for (_, i, j) in pairs {
            if !used_r[i] && !used_c[j] {
                used_r[i] = true;
                used_c[j] = true;
                matched += 1;
            }
        }
        Self { reference: reference.len(), candidate: candidate.len(), matched }
    }

    /// Share of the reference minutiae found in the candidate (`None` when the reference has none).
    pub fn recall(&self) -> Option<f64> {
        (self.reference > 0).then(|| self.matched as f64 / self.reference as f64)
    }

    /// Share of the candidate minutiae that are in the reference (`None` when the candidate has none).
    pub fn precision(&self) -> Option<f64> {
        (self.candidate > 0).then(|| self.matched as f64 / self.candidate as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: i32, y: i32, angle: i32) -> Minutia {
        Minutia { x, y, angle, quality: 50, kind: None }
    }

    #[test]
    fn angle_difference_wraps_around_zero() {
        assert_eq!(angle_difference(350, 10), 20);
        assert_eq!(angle_difference(10, 350), 20);
        assert_eq!(angle_difference(0, 180), 180);
        assert_eq!(angle_difference(359, 0), 1);
        assert_eq!(angle_difference(90, 60), 30);
        assert_eq!(angle_difference(-30, 330), 0);
    }

    #[test]
    fn tolerance_edges() {
        let t = Tolerance::default();
        let a = m(100, 100, 345);
        assert!(t.accepts(&a, &m(108, 100, 345)), "8 px is inside");
        assert!(!t.accepts(&a, &m(106, 106, 345)), "8.49 px is outside");
        assert!(t.accepts(&a, &m(100, 100, 15)), "30 degrees across 0/360 is inside");
        assert!(!t.accepts(&a, &m(100, 100, 16)), "31 degrees across 0/360 is outside");
        assert!(!t.accepts(&a, &m(100, 100, 165)), "the opposite direction is outside");
    }

    #[test]
    fn correspondence_is_one_to_one_closest_first() {
        let reference = [m(0, 0, 0), m(20, 0, 90)];
        // Two candidates near the first reference minutia: only one may take it.
        let candidate = [m(3, 0, 10), m(1, 0, 350), m(60, 60, 0)];
        let c = Correspondence::between(&reference, &candidate, Tolerance::default());
        assert_eq!(c, Correspondence { reference: 2, candidate: 3, matched: 1 });
        assert_eq!(c.recall(), Some(0.5));
        assert_eq!(c.precision(), Some(1.0 / 3.0));
        let none = Correspondence::between(&[], &candidate, Tolerance::default());
        assert_eq!((none.recall(), none.precision()), (None, Some(0.0)));
    }

    #[test]
    fn xyt_angles_of_internal_directions() {
        assert_eq!(xyt_angle(0), 270);
        assert_eq!(xyt_angle(8), 180);
        assert_eq!(xyt_angle(2), 247); // 22.5 rounds away from zero, as NIST's sround
        assert_eq!(xyt_angle(24), 0);
        assert_eq!(xyt_angle(31), 281);
    }
}
