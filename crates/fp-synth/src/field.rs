//! The fields a master fingerprint is grown from: pattern class, singular
//! points, ridge orientation, ridge period and the fingertip's outline.
//!
//! Orientation follows the zero-pole model of Sherlock and Monro: around each
//! core the ridge direction turns by half a turn, around each delta by minus
//! half a turn. Far from the singular points that model flattens every ridge to
//! one direction, which real prints do not do, so a smooth arch field (ridges
//! bulging towards the fingertip) is added there. Adding a continuous angle
//! field never creates or removes a singular point, which is why the correction
//! is an added angle and not a blend of direction vectors (a blend can cancel
//! and leave a spurious singularity). Arches have no singular points and use
//! the arch field alone.
//!
//! Inside this crate angles are in image coordinates (x right, y down, angles
//! from +x towards +y); the public ground truth converts them to angles as the
//! image is viewed.

use std::f64::consts::PI;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Henry pattern class of a finger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Ridges cross the finger and bulge towards the tip; no singular point.
    Arch,
    /// A sharp arch: one core right above one delta, close together.
    TentedArch,
    /// Ridges enter from the left, turn round a core and leave to the left;
    /// the delta sits below the core to the right.
    LeftLoop,
    /// The mirror image of a left loop.
    RightLoop,
    /// Ridges circle (or spiral round) two close cores, with a delta on each side below.
    Whorl,
}

impl Class {
    /// Every class, in the order of the enum.
    pub const ALL: [Class; 5] = [Class::Arch, Class::TentedArch, Class::LeftLoop, Class::RightLoop, Class::Whorl];

    /// How often each class of [`Class::ALL`] occurs in real fingers (Wilson,
    /// Watson and Paek, as quoted by SFinGe): 3.7% arches, 2.9% tented arches,
    /// 33.8% left loops, 31.7% right loops, 27.9% whorls.
    pub const FREQUENCIES: [f64; 5] = [0.037, 0.029, 0.338, 0.317, 0.279];

    /// The class's name in configs and ground truth, e.g. `left-loop`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Arch => "arch",
            Class::TentedArch => "tented-arch",
            Class::LeftLoop => "left-loop",
            Class::RightLoop => "right-loop",
            Class::Whorl => "whorl",
        }
    }

    /// How many cores and deltas a master of this class has.
    pub fn singular_counts(self) -> (usize, usize) {
        match self {
            Class::Arch => (0, 0),
            Class::TentedArch | Class::LeftLoop | Class::RightLoop => (1, 1),
            Class::Whorl => (2, 2),
        }
    }

    /// Draws a class with the real-world frequencies.
    pub(crate) fn draw(rng: &mut impl Rng) -> Class {
        let u: f64 = rng.random();
        let mut total = 0.0;
        for (class, p) in Class::ALL.iter().zip(Class::FREQUENCIES) {
            total += p;
            if u < total {
                return *class;
            }
        }
        Class::Whorl
    }
}

/// Whether a singular point is a core or a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SingularKind {
    /// Ridges turn round it by half a turn (the innermost point of a loop or whorl).
    Core,
    /// Three ridge flows meet at it (a triangle of ridges).
    Delta,
}

/// A core or delta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SingularPoint {
    /// Core or delta.
    pub kind: SingularKind,
    /// Column in pixels, from the left.
    pub x: f32,
    /// Row in pixels, from the top.
    pub y: f32,
    /// For a core, the direction from the core along the loop's arms (out of
    /// its open end), in radians `[0, 2π)` counter-clockwise from east as the
    /// image is viewed. `None` for a delta.
    pub direction: Option<f32>,
}

/// A smooth random field: a sum of a few plane waves of long wavelength, scaled
/// to a standard deviation of about 1.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SmoothField {
    waves: Vec<[f64; 3]>,
    scale: f64,
}

impl SmoothField {
    /// `count` waves of wavelengths between `shortest` and `longest` pixels.
    pub(crate) fn draw(rng: &mut impl Rng, count: usize, shortest: f64, longest: f64) -> Self {
        let waves: Vec<[f64; 3]> = (0..count)
            .map(|_| {
                let wavelength = rng.random_range(shortest..longest);
                let direction = rng.random_range(0.0..PI);
                let k = 2.0 * PI / wavelength;
                [k * direction.cos(), k * direction.sin(), rng.random_range(0.0..2.0 * PI)]
            })
            .collect();
        // Each unit cosine has variance 1/2.
        let scale = 1.0 / (count.max(1) as f64 * 0.5).sqrt();
        Self { waves, scale }
    }

    pub(crate) fn at(&self, x: f64, y: f64) -> f64 {
        self.scale * self.waves.iter().map(|w| (w[0] * x + w[1] * y + w[2]).cos()).sum::<f64>()
    }
}

/// Ridges bulging towards the fingertip: the level lines of
/// `F(x, y) = y + A(y) exp(-(x - xc)² / 2w²)`, where the bulge `A` fades
/// from `amplitude` near the top to nothing at the bottom.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArchField {
    center_x: f64,
    width: f64,
    amplitude: f64,
    fade_y: f64,
    fade_length: f64,
}

impl ArchField {
    /// Ridge direction (image coordinates) in `(-π/2, π/2)`, 0 where ridges are level.
    fn angle(&self, x: f64, y: f64) -> f64 {
        let u = (x - self.center_x) / self.width;
        let s = (-0.5 * u * u).exp();
        let ds = -u / self.width * s;
        let logistic = 1.0 / (1.0 + ((y - self.fade_y) / self.fade_length).exp());
        let a = self.amplitude * logistic;
        let da = -a * (1.0 - logistic) / self.fade_length;
        // The ridge runs along the level line, perpendicular to grad F = (a ds, 1 + da s).
        (-a * ds).atan2(1.0 + da * s)
    }
}

/// The fingertip's outline: an ellipse above its centre and a squarer
/// superellipse below, as a finger pressed on a plate looks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outline {
    /// Centre column in pixels.
    pub center_x: f32,
    /// Centre row in pixels.
    pub center_y: f32,
    /// Half the width, in pixels.
    pub half_width: f32,
    /// Distance from the centre up to the tip, in pixels.
    pub top: f32,
    /// Distance from the centre down to the bottom edge, in pixels (often past the image).
    pub bottom: f32,
}

impl Outline {
    /// 1 on the outline, below 1 inside and above outside: the shape's own
    /// radius function, not a distance.
    pub(crate) fn radius(&self, x: f64, y: f64) -> f64 {
        let u = (x - self.center_x as f64) / self.half_width as f64;
        if y < self.center_y as f64 {
            let v = (y - self.center_y as f64) / self.top as f64;
            (u * u + v * v).sqrt()
        } else {
            let v = (y - self.center_y as f64) / self.bottom as f64;
            (u.powi(4) + v.powi(4)).sqrt().sqrt()
        }
    }

    /// Whether a point lies inside.
    pub(crate) fn contains(&self, x: f64, y: f64) -> bool {
        self.radius(x, y) <= 1.0
    }
}

/// Everything the ridge pattern of one master is grown from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub class: Class,
    pub outline: Outline,
    pub cores: Vec<(f64, f64)>,
    pub deltas: Vec<(f64, f64)>,
    /// Ridge direction far from every singular point, before the arch correction.
    theta0: f64,
    arch: ArchField,
    /// How far (standard deviation, px) the pure zero-pole field reaches round the singular points.
    reach: f64,
    jitter: SmoothField,
    jitter_amplitude: f64,
    base_period: f64,
    period_field: SmoothField,
    period_amplitude: f64,
}

/// Shortest and longest ridge period the generator uses, in pixels at 500 ppi.
pub(crate) const PERIOD_RANGE: (f64, f64) = (7.5, 11.0);

impl Layout {
    /// Draws a layout of `class` for a `width x height` image at 500 ppi.
    pub(crate) fn draw(rng: &mut impl Rng, class: Class, width: usize, height: usize) -> Self {
        let (w, h) = (width as f64, height as f64);
        let outline = Outline {
            center_x: (w * (0.5 + rng.random_range(-0.03..0.03))) as f32,
            center_y: (h * (0.5 + rng.random_range(-0.02..0.04))) as f32,
            half_width: (w * rng.random_range(0.38..0.46)) as f32,
            top: (h * rng.random_range(0.40..0.47)) as f32,
            bottom: (h * rng.random_range(0.45..0.56)) as f32,
        };
        let (fx, fy) = (outline.center_x as f64, outline.center_y as f64);
        // Distances between singular points are physical (ridge counts), so
        // they scale with the pixel size of a 500 ppi print, not the image.
        let mut cores = Vec::new();
        let mut deltas = Vec::new();
        match class {
            Class::Arch => {}
            Class::TentedArch => {
                let c = (fx + rng.random_range(-0.06..0.06) * w, fy + rng.random_range(-0.10..0.05) * h);
                cores.push(c);
                deltas.push((c.0 + rng.random_range(-8.0..8.0), c.1 + rng.random_range(40.0..70.0)));
            }
            Class::LeftLoop | Class::RightLoop => {
                let side = if class == Class::LeftLoop { 1.0 } else { -1.0 };
                let c =
                    (fx + rng.random_range(-0.08..0.08) * w - side * 0.04 * w, fy + rng.random_range(-0.14..0.02) * h);
                cores.push(c);
                deltas.push((c.0 + side * rng.random_range(45.0..100.0), c.1 + rng.random_range(80.0..140.0)));
            }
            Class::Whorl => {
                let center = (fx + rng.random_range(-0.06..0.06) * w, fy + rng.random_range(-0.10..0.04) * h);
                let spread = rng.random_range(4.0..22.0);
                let tilt = rng.random_range(-1.2..1.2) + PI / 2.0;
                let (s, c) = tilt.sin_cos();
                cores.push((center.0 - spread * c, center.1 - spread * s));
                cores.push((center.0 + spread * c, center.1 + spread * s));
                for side in [-1.0, 1.0] {
                    deltas.push((
                        center.0 + side * rng.random_range(70.0..120.0),
                        center.1 + rng.random_range(70.0..130.0),
                    ));
                }
            }
        }
        let arch = ArchField {
            center_x: cores.first().map_or(fx, |c| c.0) + rng.random_range(-10.0..10.0),
            width: outline.half_width as f64 * rng.random_range(0.45..0.7),
            amplitude: rng.random_range(35.0..70.0),
            fade_y: cores.first().map_or(fy, |c| c.1) + rng.random_range(0.0..60.0),
            fade_length: rng.random_range(45.0..70.0),
        };
        let class_arch = matches!(class, Class::Arch);
        Self {
            class,
            outline,
            cores,
            deltas,
            theta0: rng.random_range(-0.08..0.08),
            arch: if class_arch { ArchField { amplitude: arch.amplitude * 1.3, ..arch } } else { arch },
            reach: rng.random_range(55.0..85.0),
            jitter: SmoothField::draw(rng, 6, 120.0, 400.0),
            jitter_amplitude: rng.random_range(0.02..0.06),
            base_period: rng.random_range(8.3..9.6),
            period_field: SmoothField::draw(rng, 5, 150.0, 450.0),
            period_amplitude: rng.random_range(0.2..0.45),
        }
    }

    fn nearest_singular_distance_sq(&self, x: f64, y: f64) -> f64 {
        self.cores
            .iter()
            .chain(&self.deltas)
            .map(|&(sx, sy)| (x - sx).powi(2) + (y - sy).powi(2))
            .fold(f64::INFINITY, f64::min)
    }

    /// Ridge direction at a point, in image coordinates, reduced to `[0, π)`.
    pub(crate) fn orientation(&self, x: f64, y: f64) -> f64 {
        let mut theta = self.theta0;
        for &(cx, cy) in &self.cores {
            theta += 0.5 * (y - cy).atan2(x - cx);
        }
        for &(dx, dy) in &self.deltas {
            theta -= 0.5 * (y - dy).atan2(x - dx);
        }
        let d2 = self.nearest_singular_distance_sq(x, y);
        let weight = if d2.is_finite() { 1.0 - (-0.5 * d2 / (self.reach * self.reach)).exp() } else { 1.0 };
        theta += weight * self.arch.angle(x, y);
        theta += self.jitter_amplitude * self.jitter.at(x, y);
        theta.rem_euclid(PI)
    }

    /// Ridge period at a point, in pixels: a smooth random variation round
    /// the finger's own period, a little longer near singular points.
    pub(crate) fn period(&self, x: f64, y: f64) -> f64 {
        let d2 = self.nearest_singular_distance_sq(x, y);
        let near = if d2.is_finite() { 0.6 * (-0.5 * d2 / (45.0 * 45.0)).exp() } else { 0.0 };
        let t = self.base_period + self.period_amplitude * self.period_field.at(x, y) + near;
        t.clamp(PERIOD_RANGE.0, PERIOD_RANGE.1)
    }

    /// The singular points, with each core's direction measured from the field.
    pub(crate) fn singular_points(&self) -> Vec<SingularPoint> {
        let cores = self.cores.iter().map(|&(x, y)| SingularPoint {
            kind: SingularKind::Core,
            x: x as f32,
            y: y as f32,
            direction: Some(self.core_direction(x, y)),
        });
        let deltas = self.deltas.iter().map(|&(x, y)| SingularPoint {
            kind: SingularKind::Delta,
            x: x as f32,
            y: y as f32,
            direction: None,
        });
        cores.chain(deltas).collect()
    }

    /// The direction of a core's loop arms: on a small circle round the core,
    /// the point where the ridges run along the radius.
    fn core_direction(&self, x: f64, y: f64) -> f32 {
        let radius = 6.0;
        let steps = 144;
        let mut best = (f64::NEG_INFINITY, 0.0);
        for i in 0..steps {
            let a = 2.0 * PI * i as f64 / steps as f64;
            let theta = self.orientation(x + radius * a.cos(), y + radius * a.sin());
            let along = (theta - a).cos().abs();
            if along > best.0 {
                best = (along, a);
            }
        }
        image_to_viewed_direction(best.1)
    }
}

/// A direction in image coordinates (y down) as an angle in `[0, 2π)`
/// counter-clockwise from east as the image is viewed.
pub(crate) fn image_to_viewed_direction(angle: f64) -> f32 {
    ((-angle).rem_euclid(2.0 * PI)) as f32
}

/// A ridge orientation in image coordinates as one in `[0, π)` as the image is viewed.
pub(crate) fn image_to_viewed_orientation(angle: f64) -> f32 {
    let a = (-angle).rem_euclid(PI);
    // Rounding can land exactly on π.
    if a >= PI { 0.0 } else { a as f32 }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The winding of the orientation round a closed circle, in half turns:
    /// +1 round a core, -1 round a delta, 0 round no singular point.
    fn winding(layout: &Layout, x: f64, y: f64, radius: f64) -> f64 {
        let steps = 720;
        let mut total = 0.0;
        let mut previous = layout.orientation(x + radius, y);
        for i in 1..=steps {
            let a = 2.0 * PI * i as f64 / steps as f64;
            let theta = layout.orientation(x + radius * a.cos(), y + radius * a.sin());
            // Orientations are modulo π: take the smallest step.
            let step = (theta - previous + PI / 2.0).rem_euclid(PI) - PI / 2.0;
            total += step;
            previous = theta;
        }
        total / PI
    }

    #[test]
    fn each_singular_point_winds_the_field_by_its_index_and_nothing_else_does() {
        for (seed, class) in Class::ALL.iter().enumerate() {
            let layout = Layout::draw(&mut ChaCha8Rng::seed_from_u64(seed as u64), *class, 400, 500);
            for &(x, y) in &layout.cores {
                assert!((winding(&layout, x, y, 2.0) - 1.0).abs() < 0.01, "{class:?} core");
            }
            for &(x, y) in &layout.deltas {
                assert!((winding(&layout, x, y, 2.0) + 1.0).abs() < 0.01, "{class:?} delta");
            }
            // A circle round everything winds by cores minus deltas: 0 for every class.
            assert!(winding(&layout, 200.0, 250.0, 600.0).abs() < 0.01, "{class:?} far");
        }
    }

    #[test]
    fn mixed_draws_follow_the_class_frequencies() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0usize; 5];
        for _ in 0..20_000 {
            let class = Class::draw(&mut rng);
            counts[Class::ALL.iter().position(|c| *c == class).unwrap()] += 1;
        }
        for (count, p) in counts.iter().zip(Class::FREQUENCIES) {
            // Binomial standard deviation at n = 20000 is at most 0.0035.
            assert!((*count as f64 / 20_000.0 - p).abs() < 0.015, "{counts:?}");
        }
    }

    #[test]
    fn viewed_angles_flip_the_vertical_axis() {
        // Straight up on screen is -π/2 in image coordinates, π/2 as viewed.
        assert!((image_to_viewed_direction(-PI / 2.0) - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        // A ridge falling to the right on screen (π/4 in image coordinates) is
        // at 135° as viewed.
        assert!((image_to_viewed_orientation(PI / 4.0) - 3.0 * std::f32::consts::FRAC_PI_4).abs() < 1e-6);
        assert_eq!(image_to_viewed_orientation(0.0), 0.0);
    }
}
