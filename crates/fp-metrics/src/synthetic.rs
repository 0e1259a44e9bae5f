//! Fingerprint-like test patterns, for checking minutiae and matcher code
//! without real prints.

use std::f64::consts::PI;

/// A `width x height` 8-bit image of curved parallel ridges (period 9 px, like
/// a 500 ppi print) whose phase winds once around each of a few random points,
/// so that a ridge ends or forks at each of them: about one per 4,500 pixels,
/// placed 30 px or more from the border. The same `seed` gives the same finger;
/// `shift` moves the pattern by that many pixels (another impression of it).
pub fn ridge_pattern(width: usize, height: usize, seed: u64, shift: (f64, f64)) -> Vec<u8> {
    let mut state = seed;
    let mut uniform = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let direction = uniform() * PI;
    let bend = 10.0 + 10.0 * uniform();
    let margin = 30.0;
    let count = (width * height).div_ceil(4500);
    let windings: Vec<(f64, f64, f64)> = (0..count)
        .map(|_| {
            let x = margin + uniform() * (width as f64 - 2.0 * margin).max(0.0);
            let y = margin + uniform() * (height as f64 - 2.0 * margin).max(0.0);
            (x, y, if uniform() < 0.5 { 1.0 } else { -1.0 })
        })
        .collect();
    let mut pixels = vec![0u8; width * height];
    for (i, p) in pixels.iter_mut().enumerate() {
        let (x, y) = ((i % width) as f64 - shift.0, (i / width) as f64 - shift.1);
        let flow = x * direction.cos() + y * direction.sin() + bend * ((y / 60.0).sin() + (x / 70.0).cos());
        let phase = 2.0 * PI / 9.0 * flow + windings.iter().map(|&(wx, wy, s)| s * (y - wy).atan2(x - wx)).sum::<f64>();
        *p = (128.0 + 100.0 * phase.cos()) as u8;
    }
    pixels
}
