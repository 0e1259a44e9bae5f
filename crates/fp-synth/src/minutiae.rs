//! Minutiae of a binary ridge map: Zhang–Suen thinning, then the crossing
//! number of each skeleton pixel (1 for a ridge ending, 3 for a bifurcation).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::field::image_to_viewed_direction;

/// Whether a minutia is the end of a ridge or the fork of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinutiaKind {
    /// A ridge ends.
    Ending,
    /// A ridge splits in two.
    Bifurcation,
}

/// One minutia.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Minutia {
    /// Ending or bifurcation.
    pub kind: MinutiaKind,
    /// Column in pixels, from the left.
    pub x: f32,
    /// Row in pixels, from the top.
    pub y: f32,
    /// Radians in `[0, 2π)`, counter-clockwise from east as the image is
    /// viewed. An ending points from its ridge out past the end; a
    /// bifurcation points from its single stem into the fork, between the two branches.
    pub direction: f32,
}

/// The 8 neighbours clockwise from north, as `(dx, dy)`.
const NEIGHBOURS: [(isize, isize); 8] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// Thins a binary map (`true` on ridges) to one-pixel-wide lines, in place
/// (Zhang and Suen, 1984). Border pixels are taken as background.
pub(crate) fn thin(map: &mut [bool], width: usize, height: usize) {
    let mut remove = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for y in 1..height.saturating_sub(1) {
                for x in 1..width - 1 {
                    if !map[y * width + x] {
                        continue;
                    }
                    let p: [bool; 8] = std::array::from_fn(|i| {
                        let (dx, dy) = NEIGHBOURS[i];
                        map[(y as isize + dy) as usize * width + (x as isize + dx) as usize]
                    });
                    let b = p.iter().filter(|v| **v).count();
                    if !(2..=6).contains(&b) {
                        continue;
                    }
                    let a = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                    if a != 1 {
                        continue;
                    }
                    // p[0] north, p[2] east, p[4] south, p[6] west.
                    let ok =
                        if pass == 0 { !(p[2] && p[4] && (p[0] || p[6])) } else { !(p[0] && p[6] && (p[2] || p[4])) };
                    if ok {
                        remove.push(y * width + x);
                    }
                }
            }
            changed |= !remove.is_empty();
            for &i in &remove {
                map[i] = false;
            }
        }
        if !changed {
            break;
        }
    }
}

fn neighbours(skeleton: &[bool], width: usize, height: usize, x: usize, y: usize) -> [bool; 8] {
    std::array::from_fn(|i| {
        let (dx, dy) = NEIGHBOURS[i];
        let (nx, ny) = (x as isize + dx, y as isize + dy);
        nx >= 0
            && ny >= 0
            && (nx as usize) < width
            && (ny as usize) < height
            && skeleton[ny as usize * width + nx as usize]
    })
}

/// Follows the skeleton from `(x, y)` through its neighbour `first` for up to
/// `steps` pixels, stopping at a fork or an end; returns the last pixel reached.
fn trace(skeleton: &[bool], width: usize, height: usize, x: usize, y: usize, first: usize, steps: usize) -> (f64, f64) {
    let start = (x as isize, y as isize);
    // The minutia's other neighbours belong to it, not to this branch.
    let around = neighbours(skeleton, width, height, x, y);
    let mut visited: Vec<(isize, isize)> =
        (0..8).filter(|&i| around[i]).map(|i| (start.0 + NEIGHBOURS[i].0, start.1 + NEIGHBOURS[i].1)).collect();
    visited.push(start);
    let mut current = (start.0 + NEIGHBOURS[first].0, start.1 + NEIGHBOURS[first].1);
    for _ in 1..steps {
        let n = neighbours(skeleton, width, height, current.0 as usize, current.1 as usize);
        let next: Vec<(isize, isize)> = (0..8)
            .filter(|&i| n[i])
            .map(|i| (current.0 + NEIGHBOURS[i].0, current.1 + NEIGHBOURS[i].1))
            .filter(|p| !visited.contains(p))
            .collect();
        let step = match next.as_slice() {
            [only] => *only,
            // A staircase corner: a 4-neighbour and a diagonal next to each
            // other are one line, not a fork; step on the 4-neighbour.
            [a, b] if (a.0 - b.0).abs() + (a.1 - b.1).abs() == 1 => {
                if a.0 == current.0 || a.1 == current.1 {
                    *a
                } else {
                    *b
                }
            }
            _ => break,
        };
        visited.push(current);
        current = step;
    }
    (current.0 as f64, current.1 as f64)
}

/// The minutiae of a one-pixel-wide skeleton, keeping those where `keep(x, y)`
/// holds, and dropping pairs closer than `min_distance` (spurs, bridges and
/// small holes left by thinning).
pub(crate) fn detect(
    skeleton: &[bool],
    width: usize,
    height: usize,
    min_distance: f32,
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<Minutia> {
    let mut found = Vec::new();
    for y in 1..height.saturating_sub(1) {
        for x in 1..width - 1 {
            if !skeleton[y * width + x] {
                continue;
            }
            let p = neighbours(skeleton, width, height, x, y);
            let crossings = (0..8).filter(|&i| p[i] != p[(i + 1) % 8]).count() / 2;
            let kind = match crossings {
                1 => MinutiaKind::Ending,
                3 => MinutiaKind::Bifurcation,
                _ => continue,
            };
            // Branch starts: a set neighbour not preceded by a set one (a run of
            // set neighbours counts as one branch), preferring 4-neighbours.
            let starts: Vec<usize> = (0..8)
                .filter(|&i| p[i] && !p[(i + 7) % 8])
                .map(|i| if i % 2 == 1 && p[(i + 1) % 8] { (i + 1) % 8 } else { i })
                .collect();
            let ends: Vec<(f64, f64)> = starts.iter().map(|&s| trace(skeleton, width, height, x, y, s, 10)).collect();
            let angles: Vec<f64> = ends.iter().map(|&(ex, ey)| (ey - y as f64).atan2(ex - x as f64)).collect();
            let direction = match (kind, angles.as_slice()) {
                (MinutiaKind::Ending, [a]) => a + PI,
                (MinutiaKind::Bifurcation, [a, b, c]) => {
                    // The two branches are the closest pair of the three directions.
                    let gap = |u: f64, v: f64| (u - v + PI).rem_euclid(2.0 * PI) - PI;
                    let pairs = [(*a, *b), (*b, *c), (*a, *c)];
                    let (u, v) = pairs
                        .iter()
                        .copied()
                        .min_by(|p, q| gap(p.0, p.1).abs().total_cmp(&gap(q.0, q.1).abs()))
                        .unwrap_or((*a, *b));
                    u + 0.5 * gap(v, u)
                }
                _ => continue,
            };
            if keep(x, y) {
                found.push(Minutia { kind, x: x as f32, y: y as f32, direction: image_to_viewed_direction(direction) });
            }
        }
    }
    let close = |a: &Minutia, b: &Minutia| (a.x - b.x).powi(2) + (a.y - b.y).powi(2) < min_distance * min_distance;
    found
        .iter()
        .enumerate()
        .filter(|(i, m)| !found.iter().enumerate().any(|(j, n)| *i != j && close(m, n)))
        .map(|(_, m)| *m)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two opposite corners of a filled rectangle.
    type Rectangle = ((usize, usize), (usize, usize));

    fn draw(width: usize, height: usize, lines: &[Rectangle]) -> Vec<bool> {
        let mut map = vec![false; width * height];
        for &((x0, y0), (x1, y1)) in lines {
            for y in y0.min(y1)..=y0.max(y1) {
                for x in x0.min(x1)..=x0.max(x1) {
                    map[y * width + x] = true;
                }
            }
        }
        map
    }

    #[test]
    fn a_thick_bar_thins_to_a_line_with_two_endings_pointing_outwards() {
        let (w, h) = (60, 20);
        // A bar 4 px thick from x = 10 to 49.
        let mut map = draw(w, h, &[((10, 8), (49, 11))]);
        thin(&mut map, w, h);
        for x in 14..46 {
            assert_eq!((0..h).filter(|&y| map[y * w + x]).count(), 1, "column {x}");
        }
        let mut found = detect(&map, w, h, 3.0, |_, _| true);
        found.sort_by(|a, b| a.x.total_cmp(&b.x));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|m| m.kind == MinutiaKind::Ending));
        // The left end points west (π), the right one east (0).
        assert!((found[0].direction - std::f32::consts::PI).abs() < 0.2, "{found:?}");
        assert!(found[1].direction < 0.2 || found[1].direction > 6.1, "{found:?}");
    }

    #[test]
    fn a_fork_is_one_bifurcation_pointing_into_it() {
        let (w, h) = (60, 41);
        // A stem from the left that splits at (30, 20) into two diagonal arms going right.
        let mut map = draw(w, h, &[((5, 20), (30, 20))]);
        for i in 1..=18 {
            map[(20 - i) * w + 30 + i] = true;
            map[(20 + i) * w + 30 + i] = true;
        }
        let found = detect(&map, w, h, 3.0, |_, _| true);
        let forks: Vec<&Minutia> = found.iter().filter(|m| m.kind == MinutiaKind::Bifurcation).collect();
        assert_eq!(forks.len(), 1, "{found:?}");
        assert_eq!((forks[0].x, forks[0].y), (30.0, 20.0));
        // The arms leave at -45° and +45°: their bisector, away from the stem, points east.
        assert!(forks[0].direction < 0.1 || forks[0].direction > 6.18, "{found:?}");
        // The three free ends are endings pointing out of their lines.
        assert_eq!(found.len(), 4, "{found:?}");
    }
}
