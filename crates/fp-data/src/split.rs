use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::SplitKind;
use crate::discover::ImageSource;
use crate::error::{DataError, Result};

/// Indices into a dataset, in ascending order, for each side of a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training images.
    pub train: Vec<usize>,
    /// Validation images.
    pub val: Vec<usize>,
}

/// Splits `sources` deterministically: the same inputs and seed give the same
/// split on every platform (ChaCha8 is portable and the order of `sources` is
/// the sorted discovery order).
///
/// - `Random`: `ceil(val_fraction * n)` images at random, like scikit-learn's
///   `train_test_split(test_size=val_fraction)`.
/// - `ByFinger`: within each database, `round(val_fraction * fingers)` whole
///   fingers (at least one) go to validation, so no finger is on both sides and
///   every database is represented on both. Images without an FVC identity count
///   as fingers of their own.
/// - `ByDatabase`: the databases named in `val_databases` are validation.
pub fn split(
    sources: &[ImageSource],
    kind: SplitKind,
    val_fraction: f64,
    seed: u64,
    val_databases: &[String],
) -> Result<Split> {
    let n = sources.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut is_val = vec![false; n];
    match kind {
        SplitKind::Random => {
            let n_val = (val_fraction * n as f64).ceil() as usize;
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            for &i in &order[..n_val.min(n)] {
                is_val[i] = true;
            }
        }
        SplitKind::ByFinger => {
            // database -> finger key -> image indices, all in sorted order.
            let mut groups: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
            for (i, s) in sources.iter().enumerate() {
                let finger = match &s.id {
                    Some(id) => format!("{:010}", id.finger),
                    None => s.relative.clone(),
                };
                groups.entry(s.database()).or_default().entry(finger).or_default().push(i);
            }
            for fingers in groups.values() {
                let mut fingers: Vec<&Vec<usize>> = fingers.values().collect();
                if fingers.len() < 2 {
                    continue; // a single finger cannot be on both sides
                }
                let n_val = ((val_fraction * fingers.len() as f64).round() as usize).clamp(1, fingers.len() - 1);
                fingers.shuffle(&mut rng);
                for images in &fingers[..n_val] {
                    for &i in *images {
                        is_val[i] = true;
                    }
                }
            }
        }
        SplitKind::ByDatabase => {
            let present: std::collections::BTreeSet<String> = sources.iter().map(ImageSource::database).collect();
            if let Some(missing) = val_databases.iter().find(|db| !present.contains(*db)) {
                return Err(DataError::Split(format!(
                    "data.val_databases names {missing:?}, but the databases found are {present:?}"
                )));
            }
            for (i, s) in sources.iter().enumerate() {
                is_val[i] = val_databases.contains(&s.database());
            }
        }
    }
    let (val, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| is_val[i]);
    if train.is_empty() || val.is_empty() {
        return Err(DataError::Split(format!(
            "{kind:?} split of {n} images leaves {} for training and {} for validation; both need at least one",
            train.len(),
            val.len()
        )));
    }
    Ok(Split { train, val })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::FingerId;

    fn fvc(dbs: usize, fingers: u32, impressions: u32) -> Vec<ImageSource> {
        let mut out = Vec::new();
        for d in 1..=dbs {
            for f in 101..101 + fingers {
                for i in 1..=impressions {
                    let database = format!("DB{d}_B");
                    out.push(ImageSource {
                        path: format!("/x/{database}/{f}_{i}.tif").into(),
                        relative: format!("{database}/{f}_{i}.tif"),
                        id: Some(FingerId { database, finger: f, impression: i }),
                    });
                }
            }
        }
        out
    }

    #[test]
    fn random_split_is_80_20_and_reproducible() {
        let sources = fvc(4, 10, 8);
        let a = split(&sources, SplitKind::Random, 0.2, 13, &[]).unwrap();
        assert_eq!((a.train.len(), a.val.len()), (256, 64));
        assert_eq!(a, split(&sources, SplitKind::Random, 0.2, 13, &[]).unwrap());
        assert_ne!(a, split(&sources, SplitKind::Random, 0.2, 14, &[]).unwrap());
        // Portable: these indices are what ChaCha8 with seed 13 gives everywhere.
        assert_eq!(&a.val[..5], &SEED13_FIRST_VAL);
    }

    // Recorded from the first run of the test above; a change here means splits
    // changed for every user, which must be deliberate.
    const SEED13_FIRST_VAL: [usize; 5] = [21, 23, 27, 35, 37];

    #[test]
    fn by_finger_split_never_shares_a_finger_and_covers_every_database() {
        let sources = fvc(4, 10, 8);
        let s = split(&sources, SplitKind::ByFinger, 0.2, 13, &[]).unwrap();
        assert_eq!(s.val.len(), 4 * 2 * 8);
        let key = |i: usize| {
            let id = sources[i].id.as_ref().unwrap();
            (id.database.clone(), id.finger)
        };
        let val_fingers: std::collections::HashSet<_> = s.val.iter().map(|&i| key(i)).collect();
        assert!(s.train.iter().all(|&i| !val_fingers.contains(&key(i))));
        for d in 1..=4 {
            let db = format!("DB{d}_B");
            assert!(val_fingers.iter().any(|(x, _)| *x == db), "{db} missing from validation");
        }
    }

    #[test]
    fn by_database_split_holds_out_the_named_sensor() {
        let sources = fvc(4, 2, 2);
        let s = split(&sources, SplitKind::ByDatabase, 0.2, 13, &["DB4_B".into()]).unwrap();
        assert!(s.val.iter().all(|&i| sources[i].database() == "DB4_B"));
        assert_eq!(s.val.len(), 4);
        let err = split(&sources, SplitKind::ByDatabase, 0.2, 13, &["DB9_B".into()]).unwrap_err().to_string();
        assert!(err.contains("\"DB9_B\""), "{err}");
    }

    #[test]
    fn a_split_with_an_empty_side_is_an_error() {
        let sources = fvc(1, 1, 1);
        let err = split(&sources, SplitKind::Random, 0.2, 13, &[]).unwrap_err().to_string();
        assert!(err.contains("leaves 0 for training"), "{err}");
    }
}
