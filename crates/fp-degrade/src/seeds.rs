//! The seeds that tie one damaged file to its damage, so that any one output
//! can be made again alone and adding a file changes no other file's damage.
//!
//! Two schemes are in use and both are frozen: changing either changes
//! published bytes. [`benchmark_damage_seed`] made the restoration benchmarks
//! (their digests are in `data/restore-benchmarks.toml`); [`file_damage_seed`]
//! is what `fpae degrade` uses.

use crate::{Degradation, sample_seed};

/// 64-bit FNV-1a: a hash that is the same on every platform and Rust release
/// (std's hasher promises neither).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

/// The seed of a benchmark's damage of `kind` at `severity` to the print at
/// `relative` (its path in the dataset, `DB1_B/105_1.tif`), mixed from the
/// benchmark's seed, that path, the kind's name and the severity in
/// thousandths.
pub fn benchmark_damage_seed(benchmark_seed: u64, relative: &str, kind: Degradation, severity: f32) -> u64 {
    sample_seed(&[
        benchmark_seed,
        fnv1a(relative.as_bytes()),
        fnv1a(kind.name().as_bytes()),
        u64::from((severity * 1000.0).round() as u32),
    ])
}

/// The seed of one file's damage of one kind: mixed from the seed given, the
/// file's output name and the kind's place in [`Degradation::ALL`].
pub fn file_damage_seed(seed: u64, stem: &str, kind: Degradation) -> u64 {
    let place = Degradation::ALL.iter().position(|&k| k == kind).expect("ALL lists every kind");
    sample_seed(&[seed, fnv1a(stem.as_bytes()), place as u64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_reference_values() {
        // From the FNV reference test suite: "" and "a".
        assert_eq!(fnv1a(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xAF63_DC4C_8601_EC8C);
    }

    #[test]
    fn each_part_of_a_seed_changes_it() {
        let base = benchmark_damage_seed(2018, "DB1_B/101_1.tif", Degradation::Noise, 0.6);
        assert_ne!(base, benchmark_damage_seed(2019, "DB1_B/101_1.tif", Degradation::Noise, 0.6));
        assert_ne!(base, benchmark_damage_seed(2018, "DB1_B/101_2.tif", Degradation::Noise, 0.6));
        assert_ne!(base, benchmark_damage_seed(2018, "DB1_B/101_1.tif", Degradation::Blur, 0.6));
        assert_ne!(base, benchmark_damage_seed(2018, "DB1_B/101_1.tif", Degradation::Noise, 0.3));
        let file = file_damage_seed(7, "101_1", Degradation::Noise);
        assert_ne!(file, file_damage_seed(8, "101_1", Degradation::Noise));
        assert_ne!(file, file_damage_seed(7, "101_2", Degradation::Noise));
        assert_ne!(file, file_damage_seed(7, "101_1", Degradation::Blur));
    }
}
