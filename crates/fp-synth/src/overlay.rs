//! A master drawn with its orientation field and singular points, for figures.

use crate::field::SingularKind;
use crate::gray::Rgb;
use crate::master::MasterFinger;

/// Colour of the orientation segments.
const FIELD: [u8; 3] = [0, 120, 255];
/// Colour of cores.
const CORE: [u8; 3] = [230, 30, 30];
/// Colour of deltas.
const DELTA: [u8; 3] = [0, 170, 60];
/// Colour of minutiae.
const MINUTIA: [u8; 3] = [255, 140, 0];

/// The master's clean print, lightened, with the ridge orientation drawn as a
/// short segment every `step` pixels inside the outline, cores as red circles
/// (with a tick towards their direction), deltas as green triangles and
/// minutiae as orange squares with a tick towards their direction.
pub fn render_overlay(master: &MasterFinger, step: usize) -> Rgb {
    let mut gray = master.to_gray();
    for p in &mut gray.pixels {
        // Lighten so that the drawing stands out.
        *p = 175 + (*p as u16 * 80 / 255) as u8;
    }
    let mut image = Rgb::from_gray(&gray);
    let step = step.max(4);
    let half = 0.4 * step as f64;
    for y in (step / 2..master.height).step_by(step) {
        for x in (step / 2..master.width).step_by(step) {
            let (fx, fy) = (x as f64, y as f64);
            if !master.outline.contains(fx, fy) {
                continue;
            }
            let theta = master.layout.orientation(fx, fy);
            let (dx, dy) = (half * theta.cos(), half * theta.sin());
            // Two pixels thick, so that the field reads at a glance.
            image.line((fx - dx, fy - dy), (fx + dx, fy + dy), FIELD);
            image.line((fx - dx + 1.0, fy - dy), (fx + dx + 1.0, fy + dy), FIELD);
        }
    }
    for m in &master.minutiae {
        let (x, y) = (m.x as f64, m.y as f64);
        let corners = [(x - 3.0, y - 3.0), (x + 3.0, y - 3.0), (x + 3.0, y + 3.0), (x - 3.0, y + 3.0)];
        for i in 0..4 {
            image.line(corners[i], corners[(i + 1) % 4], MINUTIA);
        }
        let (c, s) = ((m.direction as f64).cos(), -(m.direction as f64).sin());
        image.line((x + 3.0 * c, y + 3.0 * s), (x + 10.0 * c, y + 10.0 * s), MINUTIA);
    }
    for sp in &master.singular_points {
        let (x, y) = (sp.x as f64, sp.y as f64);
        match sp.kind {
            SingularKind::Core => {
                for r in [6.0, 7.0] {
                    for i in 0..64 {
                        let a = std::f64::consts::TAU * i as f64 / 64.0;
                        let b = std::f64::consts::TAU * (i + 1) as f64 / 64.0;
                        image.line((x + r * a.cos(), y + r * a.sin()), (x + r * b.cos(), y + r * b.sin()), CORE);
                    }
                }
                if let Some(d) = sp.direction {
                    // Directions are as viewed: rows grow downwards.
                    let (c, s) = ((d as f64).cos(), -(d as f64).sin());
                    image.line((x + 7.0 * c, y + 7.0 * s), (x + 18.0 * c, y + 18.0 * s), CORE);
                }
            }
            SingularKind::Delta => {
                let corners: Vec<(f64, f64)> = (0..3)
                    .map(|i| {
                        let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / 3.0;
                        (x + 8.0 * a.cos(), y + 8.0 * a.sin())
                    })
                    .collect();
                for i in 0..3 {
                    image.line(corners[i], corners[(i + 1) % 3], DELTA);
                }
            }
        }
    }
    image
}
