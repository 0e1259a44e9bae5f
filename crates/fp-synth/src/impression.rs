//! Impressions of a master: where and how hard the finger touched the
//! sensor, and what the sensor made of it.
//!
//! A master point `q` lands in the impression at
//! `p = sweep(c' + s R(r) (q + d(q) - c) + t)`: first the elastic
//! [`Distortion`] `d`, then the rigid [`Transform`] (rotation `r` about the
//! master's centre `c`, scale `s = ppi / 500`, translation `t` from the
//! impression's centre `c'`), then, for a thermal sweep sensor, the row
//! stretch of [`Sweep`]. Rendering runs the map backwards for each pixel,
//! through a coarse grid of inverted points.

use std::f64::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::field::SmoothField;
use crate::master::MasterFinger;

/// How a sensor renders a print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// An optical (FTIR) scanner: light grey-white background, dark ridges,
    /// moderate noise, slightly soft focus.
    Optical,
    /// A capacitive chip: more contrast, darker overall, gain varying from
    /// block to block of the chip, more noise.
    Capacitive,
    /// A thermal sweep sensor: the finger is swept over a strip, so rows are
    /// stretched unevenly, and each row has its own offset (streaks).
    Thermal,
}

impl Style {
    /// Every style, in the order of the enum.
    pub const ALL: [Style; 3] = [Style::Optical, Style::Capacitive, Style::Thermal];

    /// The style's name in configs and ground truth, e.g. `optical`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Optical => "optical",
            Style::Capacitive => "capacitive",
            Style::Thermal => "thermal",
        }
    }
}

/// The rigid part of the map from master to impression.
///
/// `x' = cx' + s (cos r (x - cx) + sin r (y - cy)) + dx`,
/// `y' = cy' + s (-sin r (x - cx) + cos r (y - cy)) + dy`,
/// where `(cx, cy)` is the master's centre, `(cx', cy')` the impression's
/// and `s = ppi / 500`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// Horizontal shift in impression pixels (positive: right).
    pub dx: f32,
    /// Vertical shift in impression pixels (positive: down).
    pub dy: f32,
    /// Rotation in radians, counter-clockwise as the image is viewed.
    pub rotation: f32,
    /// Impression pixels per master pixel (`ppi / 500`).
    pub scale: f32,
    /// The master's centre column (rotation centre), in master pixels.
    pub master_center_x: f32,
    /// The master's centre row, in master pixels.
    pub master_center_y: f32,
    /// The impression's centre column, in impression pixels.
    pub center_x: f32,
    /// The impression's centre row, in impression pixels.
    pub center_y: f32,
}

/// One plane wave of the distortion field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wave {
    /// Wave vector, x part, in radians per master pixel.
    pub kx: f32,
    /// Wave vector, y part, in radians per master pixel.
    pub ky: f32,
    /// Phase in radians.
    pub phase: f32,
    /// Displacement amplitude along x, in master pixels.
    pub ax: f32,
    /// Displacement amplitude along y, in master pixels.
    pub ay: f32,
}

/// A smooth elastic distortion in master coordinates, after Cappelli's
/// plastic model: a rigid disc round the centre of contact, where the skin
/// sticks to the plate, and a displacement that grows outside it.
///
/// `d(q) = w(|q - c|) Σ (ax, ay) cos(kx x + ky y + phase)` with
/// `w(ρ) = smoothstep((ρ - rigid_radius) / ramp)` (0 inside the disc, 1 past
/// the ramp).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distortion {
    /// Centre of contact, column in master pixels.
    pub center_x: f32,
    /// Centre of contact, row in master pixels.
    pub center_y: f32,
    /// Radius of the undistorted disc, in master pixels.
    pub rigid_radius: f32,
    /// Width of the ramp from no to full displacement, in master pixels.
    pub ramp: f32,
    /// The waves summed.
    pub waves: Vec<Wave>,
}

impl Distortion {
    fn displacement(&self, x: f64, y: f64) -> (f64, f64) {
        let rho = ((x - self.center_x as f64).powi(2) + (y - self.center_y as f64).powi(2)).sqrt();
        let u = ((rho - self.rigid_radius as f64) / self.ramp as f64).clamp(0.0, 1.0);
        let w = u * u * (3.0 - 2.0 * u);
        if w == 0.0 {
            return (0.0, 0.0);
        }
        let (mut dx, mut dy) = (0.0, 0.0);
        for wave in &self.waves {
            let c = (wave.kx as f64 * x + wave.ky as f64 * y + wave.phase as f64).cos();
            dx += wave.ax as f64 * c;
            dy += wave.ay as f64 * c;
        }
        (w * dx, w * dy)
    }
}

/// The row stretch of a thermal sweep: impression row `y` shows the
/// unstretched row `cy' + (y - cy') / stretch + wobble_amplitude sin(2π y / wobble_wavelength + wobble_phase)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Mean stretch of the rows (above 1: the print looks taller).
    pub stretch: f32,
    /// Amplitude of the uneven sweep speed, in pixels.
    pub wobble_amplitude: f32,
    /// Wavelength of the uneven sweep speed, in pixels.
    pub wobble_wavelength: f32,
    /// Phase of the uneven sweep speed, in radians.
    pub wobble_phase: f32,
}

impl Sweep {
    fn unstretched(&self, y: f64, center: f64) -> f64 {
        center
            + (y - center) / self.stretch as f64
            + self.wobble_amplitude as f64
                * (2.0 * PI * y / self.wobble_wavelength as f64 + self.wobble_phase as f64).sin()
    }

    /// The impression row showing unstretched row `v` (the inverse of `unstretched`,
    /// which increases with `y`), by bisection.
    fn stretched(&self, v: f64, center: f64) -> f64 {
        let span = 4.0 * (v - center).abs() + 100.0;
        let (mut lo, mut hi) = (center - span, center + span);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.unstretched(mid, center) < v { lo = mid } else { hi = mid }
        }
        0.5 * (lo + hi)
    }
}

/// The finger's contact with the sensor: an ellipse in master coordinates;
/// only the part of the finger inside both it and the outline is printed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Centre column in master pixels.
    pub center_x: f32,
    /// Centre row in master pixels.
    pub center_y: f32,
    /// Half width in master pixels.
    pub half_width: f32,
    /// Half height in master pixels.
    pub half_height: f32,
}

impl Contact {
    fn radius(&self, x: f64, y: f64) -> f64 {
        let u = (x - self.center_x as f64) / self.half_width as f64;
        let v = (y - self.center_y as f64) / self.half_height as f64;
        (u * u + v * v).sqrt()
    }
}

/// Everything that differs between two impressions of one finger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpressionParams {
    /// Sensor style.
    pub style: Style,
    /// How the finger met the sensor.
    #[serde(flatten)]
    pub touch: Touch,
}

/// How the finger met the sensor in one impression: placement, distortion,
/// contact, pressure and dryness. The ground truth of the impression embeds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    /// Rigid placement.
    pub transform: Transform,
    /// Elastic distortion.
    pub distortion: Distortion,
    /// Row stretch, for a thermal sweep only.
    pub sweep: Option<Sweep>,
    /// The part of the finger touching the sensor.
    pub contact: Contact,
    /// Pressure in `[-1, 1]`: above 0 ridges spread and valleys narrow, below
    /// 0 ridges thin (a light touch).
    pub pressure: f32,
    /// Dryness in `[0, 1]`: the share of ridge broken into gaps grows with it.
    pub dryness: f32,
}

impl ImpressionParams {
    /// Draws the parameters of one impression of `master`.
    pub(crate) fn draw(
        rng: &mut ChaCha8Rng,
        master: &MasterFinger,
        style: Style,
        scale: f64,
        size: (usize, usize),
    ) -> Self {
        let outline = master.outline;
        // Most impressions sit near the middle; some are placed carelessly,
        // moved and turned far (up to 35 degrees), as FVC asked of some of its
        // volunteers' impressions.
        let careless = rng.random::<f32>() < 0.3;
        // Shifts are shares of the image's shorter side (80 and 28 px at 400x500).
        let side = size.0.min(size.1) as f32;
        let (shift, turn) = if careless { (0.2 * side, 35.0f32) } else { (0.07 * side, 12.0f32) };
        let transform = Transform {
            dx: rng.random_range(-shift..shift),
            dy: rng.random_range(-shift..shift),
            rotation: rng.random_range(-turn..turn).to_radians(),
            scale: scale as f32,
            master_center_x: master.width as f32 / 2.0,
            master_center_y: master.height as f32 / 2.0,
            center_x: size.0 as f32 / 2.0,
            center_y: size.1 as f32 / 2.0,
        };
        // A quarter of the impressions touch with only part of the finger (a
        // tip, a side).
        let (size, offset) = if rng.random::<f32>() < 0.4 { (rng.random_range(0.4..0.75), 0.35) } else { (1.0, 0.08) };
        let contact = Contact {
            center_x: outline.center_x + rng.random_range(-offset..offset) * outline.half_width,
            center_y: outline.center_y + rng.random_range(-offset..offset + 0.02) * outline.top,
            half_width: outline.half_width * size * rng.random_range(0.95..1.15),
            half_height: outline.top * size * rng.random_range(1.05..1.35),
        };
        let amplitude = rng.random_range(2.0..8.0);
        let waves = (0..3)
            .map(|_| {
                let wavelength: f64 = rng.random_range(200.0..450.0);
                let direction: f64 = rng.random_range(0.0..PI);
                let k = 2.0 * PI / wavelength;
                let along: f64 = rng.random_range(0.0..2.0 * PI);
                Wave {
                    kx: (k * direction.cos()) as f32,
                    ky: (k * direction.sin()) as f32,
                    phase: rng.random_range(0.0..2.0 * PI) as f32,
                    ax: (amplitude * along.cos()) as f32,
                    ay: (amplitude * along.sin()) as f32,
                }
            })
            .collect();
        let distortion = Distortion {
            center_x: contact.center_x,
            center_y: contact.center_y,
            rigid_radius: rng.random_range(30.0..60.0),
            ramp: rng.random_range(80.0..140.0),
            waves,
        };
        let sweep = (style == Style::Thermal).then(|| {
            let wavelength = rng.random_range(90.0..220.0);
            Sweep {
                stretch: rng.random_range(1.0..1.15),
                // Keep the sweep monotone: the wobble's slope stays below half the mean one.
                wobble_amplitude: rng.random_range(0.0..1.0) * wavelength / (2.0 * std::f32::consts::PI) * 0.4,
                wobble_wavelength: wavelength,
                wobble_phase: rng.random_range(0.0..std::f32::consts::TAU),
            }
        });
        let pressure = rng.random_range(-0.7..0.9);
        let dryness = if rng.random::<f32>() < 0.4 { rng.random_range(0.4..1.0) } else { rng.random_range(0.0..0.3) };
        Self { style, touch: Touch { transform, distortion, sweep, contact, pressure, dryness } }
    }

    /// Where master point `(x, y)` lands in the impression.
    pub(crate) fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let (ddx, ddy) = self.touch.distortion.displacement(x, y);
        let t = &self.touch.transform;
        let (u, v) = (x + ddx - t.master_center_x as f64, y + ddy - t.master_center_y as f64);
        let (s, c) = (t.rotation as f64).sin_cos();
        let scale = t.scale as f64;
        let px = t.center_x as f64 + scale * (c * u + s * v) + t.dx as f64;
        let py = t.center_y as f64 + scale * (-s * u + c * v) + t.dy as f64;
        match &self.touch.sweep {
            Some(sweep) => (px, sweep.stretched(py, t.center_y as f64)),
            None => (px, py),
        }
    }

    /// The master point shown at impression point `(x, y)`.
    pub(crate) fn backward(&self, x: f64, y: f64) -> (f64, f64) {
        let t = &self.touch.transform;
        let y = match &self.touch.sweep {
            Some(sweep) => sweep.unstretched(y, t.center_y as f64),
            None => y,
        };
        let (u, v) = (
            (x - t.dx as f64 - t.center_x as f64) / t.scale as f64,
            (y - t.dy as f64 - t.center_y as f64) / t.scale as f64,
        );
        let (s, c) = (t.rotation as f64).sin_cos();
        let (qx, qy) = (t.master_center_x as f64 + c * u - s * v, t.master_center_y as f64 + s * u + c * v);
        // q + d(q) = q': d is small and smooth, so the fixed point converges fast.
        let (mut x, mut y) = (qx, qy);
        for _ in 0..6 {
            let (ddx, ddy) = self.touch.distortion.displacement(x, y);
            (x, y) = (qx - ddx, qy - ddy);
        }
        (x, y)
    }

    /// How firmly master point `(x, y)` touches the sensor: 1 well inside the
    /// contact, falling to 0 across a band at its edge.
    pub(crate) fn contact_at(&self, master: &MasterFinger, x: f64, y: f64) -> f64 {
        let edge = |r: f64, width: f64| ((1.0 - r) / width).clamp(0.0, 1.0);
        edge(master.outline.radius(x, y), 0.07) * edge(self.touch.contact.radius(x, y), 0.10)
    }
}

/// Side of the grid on which the backward map is computed exactly.
const GRID: usize = 8;

/// The backward map sampled every [`GRID`] pixels, interpolated in between.
pub(crate) struct BackwardGrid {
    columns: usize,
    points: Vec<(f64, f64)>,
}

impl BackwardGrid {
    pub(crate) fn new(params: &ImpressionParams, width: usize, height: usize) -> Self {
        let columns = width / GRID + 2;
        let rows = height / GRID + 2;
        let points = (0..rows)
            .flat_map(|j| (0..columns).map(move |i| params.backward((i * GRID) as f64, (j * GRID) as f64)))
            .collect();
        Self { columns, points }
    }

    pub(crate) fn at(&self, x: f64, y: f64) -> (f64, f64) {
        let (gx, gy) = (x / GRID as f64, y / GRID as f64);
        let (i, j) = (gx.floor() as usize, gy.floor() as usize);
        let (fx, fy) = (gx - i as f64, gy - j as f64);
        let p = |i: usize, j: usize| self.points[j * self.columns + i];
        let (a, b, c, d) = (p(i, j), p(i + 1, j), p(i, j + 1), p(i + 1, j + 1));
        let lerp = |u: f64, v: f64, t: f64| u + (v - u) * t;
        (lerp(lerp(a.0, b.0, fx), lerp(c.0, d.0, fx), fy), lerp(lerp(a.1, b.1, fx), lerp(c.1, d.1, fx), fy))
    }
}

/// Bilinear sample of a master-sized map; 0 outside it.
fn sample(values: &[f32], width: usize, height: usize, x: f64, y: f64) -> f64 {
    if !(x >= 0.0 && y >= 0.0 && x < (width - 1) as f64 && y < (height - 1) as f64) {
        return 0.0;
    }
    let (i, j) = (x as usize, y as usize);
    let (fx, fy) = (x - i as f64, y - j as f64);
    let at = |i: usize, j: usize| values[j * width + i] as f64;
    let top = at(i, j) + (at(i + 1, j) - at(i, j)) * fx;
    let bottom = at(i, j + 1) + (at(i + 1, j + 1) - at(i, j + 1)) * fx;
    top + (bottom - top) * fy
}

fn smoothstep(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * (3.0 - 2.0 * u)
}

/// A near-normal sample of unit variance: the sum of four uniform 16-bit
/// draws (Irwin–Hall), cheap enough for every pixel and exact in any float mode.
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let bits: u64 = rng.random();
    let sum = (bits & 0xffff) + ((bits >> 16) & 0xffff) + ((bits >> 32) & 0xffff) + (bits >> 48);
    // Four uniforms on [0, 1) have mean 2 and variance 1/3.
    (sum as f64 / 65536.0 - 2.0) * 3f64.sqrt()
}

/// A [`SmoothField`] sampled every [`GRID`] pixels of an image and
/// interpolated in between: the fields vary over tens of pixels, so this
/// loses nothing visible and saves most of the cosines.
struct CoarseField {
    columns: usize,
    values: Vec<f64>,
}

impl CoarseField {
    fn new(field: &SmoothField, width: usize, height: usize) -> Self {
        let columns = width / GRID + 2;
        let rows = height / GRID + 2;
        let values =
            (0..rows).flat_map(|j| (0..columns).map(move |i| field.at((i * GRID) as f64, (j * GRID) as f64))).collect();
        Self { columns, values }
    }

    fn at(&self, x: usize, y: usize) -> f64 {
        let (i, j) = (x / GRID, y / GRID);
        let (fx, fy) = ((x % GRID) as f64 / GRID as f64, (y % GRID) as f64 / GRID as f64);
        let v = |i: usize, j: usize| self.values[j * self.columns + i];
        let top = v(i, j) + (v(i + 1, j) - v(i, j)) * fx;
        let bottom = v(i, j + 1) + (v(i + 1, j + 1) - v(i, j + 1)) * fx;
        top + (bottom - top) * fy
    }
}

/// Separable Gaussian blur of standard deviation `sigma`, borders clamped.
pub(crate) fn blur(values: &mut [f32], width: usize, height: usize, sigma: f64) {
    if sigma <= 0.0 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f32> =
        (-radius..=radius).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32).collect();
    let total: f32 = weights.iter().sum();
    let weights: Vec<f32> = weights.iter().map(|w| w / total).collect();
    let mut scratch = vec![0f32; values.len()];
    for y in 0..height {
        for x in 0..width {
            let mut s = 0.0;
            for (k, w) in weights.iter().enumerate() {
                let xx = (x as isize + k as isize - radius).clamp(0, width as isize - 1) as usize;
                s += w * values[y * width + xx];
            }
            scratch[y * width + x] = s;
        }
    }
    for y in 0..height {
        for x in 0..width {
            let mut s = 0.0;
            for (k, w) in weights.iter().enumerate() {
                let yy = (y as isize + k as isize - radius).clamp(0, height as isize - 1) as usize;
                s += w * scratch[yy * width + x];
            }
            values[y * width + x] = s;
        }
    }
}

/// Renders one impression of `master` at `width x height`.
pub(crate) fn render(
    master: &MasterFinger,
    params: &ImpressionParams,
    rng: &mut ChaCha8Rng,
    width: usize,
    height: usize,
) -> Vec<u8> {
    let grid = BackwardGrid::new(params, width, height);
    let n = width * height;
    // Ink: 1 on a ridge's centre line, 0 in valleys and off the finger.
    let threshold_field = CoarseField::new(&SmoothField::draw(rng, 5, 60.0, 200.0), width, height);
    let patches = CoarseField::new(&SmoothField::draw(rng, 8, 25.0, 90.0), width, height);
    // Fine noise roughens the ridge edges; blurred white noise of standard
    // deviation σ has a standard deviation of about 1 / (2 √π σ).
    let roughness_sigma = 1.2;
    let mut rough: Vec<f32> = (0..n).map(|_| gaussian(rng) as f32).collect();
    blur(&mut rough, width, height, roughness_sigma);
    let rough_scale = (2.0 * PI.sqrt() * roughness_sigma) as f32;
    let pressure = params.touch.pressure as f64 * 0.45;
    let pore_strength = rng.random_range(0.2..0.5);
    let mut ink = vec![0f32; n];
    let mut contact = vec![0f32; n];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let (qx, qy) = grid.at(x as f64, y as f64);
            let c = params.contact_at(master, qx, qy);
            if c <= 0.0 {
                continue;
            }
            let r = sample(&master.ridge, master.width, master.height, qx, qy);
            let pore = sample(&master.pores, master.width, master.height, qx, qy);
            // Light contact at the edge of the finger thins the ridges until they vanish.
            let t =
                -pressure + 1.2 * (1.0 - c) + 0.12 * threshold_field.at(x, y) + 0.12 * (rough[i] * rough_scale) as f64;
            let k = smoothstep(0.5 + (r - t) / 0.5) * (1.0 - pore_strength * pore);
            let shade = 1.0 - 0.22 * (0.5 + 0.5 * patches.at(x, y)).clamp(0.0, 1.0);
            ink[i] = (k * shade) as f32;
            contact[i] = c as f32;
        }
    }
    if params.touch.dryness > 0.0 {
        // Dry skin: blotches of a few pixels where the ridge does not print.
        let mut gaps: Vec<f32> = (0..n).map(|_| gaussian(rng) as f32).collect();
        blur(&mut gaps, width, height, 1.6);
        // The blurred noise has a standard deviation of about 1 / (2 √π σ) ≈
        // 0.18: from 2.6 of them (0.5% of the ridge gone) to 1.2 (11%).
        let cut = 0.176 * (2.6 - 1.4 * params.touch.dryness);
        for (i, g) in ink.iter_mut().zip(&gaps) {
            if *g > cut {
                *i *= 0.15;
            }
        }
    }
    match params.style {
        Style::Optical => optical(&mut ink, &contact, rng, width, height),
        Style::Capacitive => capacitive(&mut ink, &contact, rng, width, height),
        Style::Thermal => thermal(&mut ink, &contact, rng, width, height),
    }
}

fn quantise(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn optical(ink: &mut [f32], _contact: &[f32], rng: &mut ChaCha8Rng, width: usize, height: usize) -> Vec<u8> {
    blur(ink, width, height, rng.random_range(0.6..1.0));
    let background = rng.random_range(205.0..240.0);
    let ridge = rng.random_range(20.0..70.0);
    let noise = rng.random_range(3.0..8.0);
    let shading = CoarseField::new(&SmoothField::draw(rng, 4, 200.0, 600.0), width, height);
    let mut pixels = Vec::with_capacity(ink.len());
    for (i, &k) in ink.iter().enumerate() {
        let bg = background + 8.0 * shading.at(i % width, i / width);
        let v = bg - (bg - ridge) * k as f64 + noise * gaussian(rng) * (0.4 + 0.6 * k as f64);
        pixels.push(quantise(v));
    }
    pixels
}

fn capacitive(ink: &mut [f32], contact: &[f32], rng: &mut ChaCha8Rng, width: usize, height: usize) -> Vec<u8> {
    blur(ink, width, height, rng.random_range(0.4..0.7));
    let background = rng.random_range(120.0..175.0);
    let ridge = rng.random_range(15.0..55.0);
    let noise = rng.random_range(5.0..10.0);
    // The chip's gain varies from block to block of pixels: only the signal
    // (skin against the chip) shows it.
    let block = 16;
    let (bx, by) = (width.div_ceil(block), height.div_ceil(block));
    let gains: Vec<f64> = (0..bx * by).map(|_| 1.0 + 0.07 * gaussian(rng)).collect();
    let gradient = CoarseField::new(&SmoothField::draw(rng, 3, 400.0, 900.0), width, height);
    let mut pixels = Vec::with_capacity(ink.len());
    for (i, &k) in ink.iter().enumerate() {
        let (x, y) = (i % width, i / width);
        let gain = gains[(y / block) * bx + x / block];
        // Skin near the chip darkens the valleys a little, too.
        let bg = background + 6.0 * gradient.at(x, y);
        let signal = (bg - ridge) * k as f64 + 12.0 * contact[i] as f64;
        let v = bg - gain * signal + noise * gaussian(rng);
        pixels.push(quantise(v));
    }
    pixels
}

fn thermal(ink: &mut [f32], contact: &[f32], rng: &mut ChaCha8Rng, width: usize, height: usize) -> Vec<u8> {
    blur(ink, width, height, rng.random_range(0.7..1.1));
    let background = rng.random_range(170.0..215.0);
    let ridge = rng.random_range(30.0..80.0);
    let noise = rng.random_range(4.0..8.0);
    // Each row of a sweep is read separately: its own offset and gain.
    let offsets: Vec<f64> = (0..height).map(|_| 4.0 * gaussian(rng)).collect();
    let gains: Vec<f64> = (0..height).map(|_| 1.0 + 0.05 * gaussian(rng)).collect();
    let mut pixels = Vec::with_capacity(ink.len());
    for (i, &k) in ink.iter().enumerate() {
        let y = i / width;
        let bg = background - 20.0 * contact[i] as f64;
        let v = gains[y] * (bg - (bg - ridge) * k as f64) + offsets[y] + noise * gaussian(rng);
        pixels.push(quantise(v));
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ImpressionParams {
        ImpressionParams {
            style: Style::Thermal,
            touch: Touch {
                transform: Transform {
                    dx: 12.0,
                    dy: -7.0,
                    rotation: 0.2,
                    scale: 1.0,
                    master_center_x: 200.0,
                    master_center_y: 250.0,
                    center_x: 200.0,
                    center_y: 250.0,
                },
                distortion: Distortion {
                    center_x: 190.0,
                    center_y: 240.0,
                    rigid_radius: 40.0,
                    ramp: 100.0,
                    waves: vec![Wave { kx: 0.02, ky: 0.01, phase: 1.0, ax: 2.0, ay: -1.5 }],
                },
                sweep: Some(Sweep { stretch: 1.1, wobble_amplitude: 3.0, wobble_wavelength: 150.0, wobble_phase: 0.5 }),
                contact: Contact { center_x: 200.0, center_y: 240.0, half_width: 160.0, half_height: 200.0 },
                pressure: 0.0,
                dryness: 0.0,
            },
        }
    }

    #[test]
    fn backward_inverts_forward() {
        let p = params();
        for &(x, y) in &[(200.0, 250.0), (50.0, 60.0), (350.0, 450.0), (120.0, 400.0)] {
            let (ix, iy) = p.forward(x, y);
            let (bx, by) = p.backward(ix, iy);
            assert!((bx - x).abs() < 1e-3 && (by - y).abs() < 1e-3, "({x}, {y}) -> ({ix}, {iy}) -> ({bx}, {by})");
        }
    }

    #[test]
    fn rotation_is_counter_clockwise_as_viewed() {
        let mut p = params();
        p.touch.sweep = None;
        p.touch.distortion.waves.clear();
        p.touch.transform = Transform { dx: 0.0, dy: 0.0, rotation: std::f32::consts::FRAC_PI_2, ..p.touch.transform };
        // A point right of the centre goes above it (smaller row) after a quarter turn.
        let (x, y) = p.forward(210.0, 250.0);
        assert!((x - 200.0).abs() < 1e-4 && (y - 240.0).abs() < 1e-4, "({x}, {y})");
    }

    #[test]
    fn the_grid_stays_within_a_tenth_of_a_pixel_of_the_exact_map() {
        let p = params();
        let grid = BackwardGrid::new(&p, 400, 500);
        for &(x, y) in &[(3.0, 5.0), (201.5, 333.3), (399.0, 499.0)] {
            let exact = p.backward(x, y);
            let approx = grid.at(x, y);
            assert!((exact.0 - approx.0).abs() < 0.1 && (exact.1 - approx.1).abs() < 0.1, "{exact:?} vs {approx:?}");
        }
    }
}
