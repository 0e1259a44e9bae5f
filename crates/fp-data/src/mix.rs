//! Training images from several dataset roots in set proportions: real prints
//! and synthetic ones, say, at one to three, whatever their numbers.
//!
//! Each root is oversampled to its share, never cut: the epoch holds every
//! training image at least once, and the roots under their share hold some of
//! theirs twice or more, chosen by the split's seed, so that the epoch's
//! samples come from the roots as `data.mix` weighs them.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::DataConfig;
use crate::dataset::Dataset;
use crate::error::{DataError, Result};

/// The training images of an epoch: `train` itself without `config.mix`,
/// else `train` with images repeated so that each root's share of the list is
/// its weight's share of the weights (to within one image per root). Roots are
/// told by the path of each image; the list is grouped by root, in `train`'s
/// order (training shuffles it every epoch).
pub fn mix(dataset: &Dataset, config: &DataConfig, train: &[usize]) -> Result<Vec<usize>> {
    let Some(weights) = &config.mix else { return Ok(train.to_vec()) };
    let roots = config.root.as_slice();
    let mut by_root: Vec<Vec<usize>> = vec![Vec::new(); roots.len()];
    for &i in train {
        let path = &dataset.items[i].source.path;
        if let Some(r) = roots.iter().position(|root| path.starts_with(root)) {
            by_root[r].push(i);
        }
    }
    if let Some(empty) = by_root.iter().position(Vec::is_empty) {
        return Err(DataError::InvalidSetting {
            field: "mix",
            expected: format!("every weighed root to have training images, but {} has none", roots[empty].display()),
        });
    }
    let counts = mixed_counts(&by_root.iter().map(Vec::len).collect::<Vec<_>>(), weights);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6d69_785f_726f_6f74);
    let mut out = Vec::with_capacity(counts.iter().sum());
    for (images, count) in by_root.iter().zip(counts) {
        for _ in 0..count / images.len() {
            out.extend_from_slice(images);
        }
        let mut rest = images.clone();
        rest.shuffle(&mut rng);
        out.extend_from_slice(&rest[..count % images.len()]);
    }
    Ok(out)
}

/// How many samples each root of `sizes` images gets so that the counts are in
/// proportion to `weights` and none is below its size: the smallest total
/// where every root fits, each count rounded (and raised to its size).
fn mixed_counts(sizes: &[usize], weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let total = sizes.iter().zip(weights).map(|(&n, &w)| n as f64 / (w / sum)).fold(0.0, f64::max);
    sizes.iter().zip(weights).map(|(&n, &w)| ((total * w / sum).round() as usize).max(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_weights_and_never_cut_a_root() {
        // 768 real, 320 synthetic at one to one: the synthetic ones are repeated.
        assert_eq!(mixed_counts(&[768, 320], &[1.0, 1.0]), [768, 768]);
        // One to three: the real ones now set the pace from the other side.
        assert_eq!(mixed_counts(&[768, 320], &[1.0, 3.0]), [768, 2304]);
        // Shares equal to the sizes' own: nothing repeated.
        assert_eq!(mixed_counts(&[300, 100], &[3.0, 1.0]), [300, 100]);
        assert_eq!(mixed_counts(&[10], &[2.0]), [10]);
        // Three roots, the middle one the largest for its weight.
        assert_eq!(mixed_counts(&[10, 40, 5], &[1.0, 2.0, 1.0]), [20, 40, 20]);
    }
}
