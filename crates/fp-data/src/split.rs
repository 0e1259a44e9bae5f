//! Reproducible training/validation splits: at random, by whole fingers, or by
//! whole databases.

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
/// - `ByFinger`: within each database of each dataset, `round(val_fraction *
///   fingers)` whole fingers (at least one) go to validation, so no finger, that is
///   no (dataset, subset, finger), is on both sides and every database is
///   represented on both. Images without an FVC identity count as fingers of
///   their own. Each dataset draws from its own generator seeded with `seed`,
///   so a dataset's validation fingers are the same whether it is loaded alone
///   or combined with others (a model trained on both never sees the fingers
///   held out from either one alone).
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
            // (dataset, database) -> finger key -> image indices, all in sorted
            // order. Finger 101 of two datasets, or of two subsets, is two fingers.
            let mut groups: BTreeMap<(&str, &str), BTreeMap<String, Vec<usize>>> = BTreeMap::new();
            for (i, s) in sources.iter().enumerate() {
                let finger = match &s.id {
                    Some(id) => format!("{}/{}/{:010}", id.dataset, id.database, id.finger),
                    None => s.relative.clone(),
                };
                groups.entry((&s.dataset, &s.database)).or_default().entry(finger).or_default().push(i);
            }
            let mut rngs: BTreeMap<&str, ChaCha8Rng> = BTreeMap::new();
            for ((dataset, _), fingers) in &groups {
                let rng = rngs.entry(dataset).or_insert_with(|| ChaCha8Rng::seed_from_u64(seed));
                let mut fingers: Vec<&Vec<usize>> = fingers.values().collect();
                if fingers.len() < 2 {
                    continue; // a single finger cannot be on both sides
                }
                let n_val = ((val_fraction * fingers.len() as f64).round() as usize).clamp(1, fingers.len() - 1);
                fingers.shuffle(rng);
                for images in &fingers[..n_val] {
                    for &i in *images {
                        is_val[i] = true;
                    }
                }
            }
        }
        SplitKind::ByDatabase => {
            let present: std::collections::BTreeSet<&str> = sources.iter().map(|s| s.database.as_str()).collect();
            if let Some(missing) = val_databases.iter().find(|db| !present.contains(db.as_str())) {
                return Err(DataError::Split(format!(
                    "data.val_databases names {missing:?}, but the databases found are {present:?}"
                )));
            }
            for (i, s) in sources.iter().enumerate() {
                is_val[i] = val_databases.contains(&s.database);
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
    use std::path::Path;

    use super::*;
    use crate::manifest::DatasetManifest;

    fn fvc(dbs: usize, fingers: u32, impressions: u32) -> Vec<ImageSource> {
        fvc_named("fvc2002", dbs, fingers, impressions)
    }

    fn fvc_named(dataset: &str, dbs: usize, fingers: u32, impressions: u32) -> Vec<ImageSource> {
        let manifest = DatasetManifest::new(dataset);
        let mut out = Vec::new();
        for d in 1..=dbs {
            for f in 101..101 + fingers {
                for i in 1..=impressions {
                    out.push(ImageSource::new(Path::new("/x"), format!("DB{d}_B/{f}_{i}.tif"), &manifest));
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
        // The first image of each validation finger.
        assert_eq!(s.val.iter().step_by(8).copied().collect::<Vec<_>>(), SEED13_BY_FINGER_VAL_STARTS);
        let val_fingers: std::collections::HashSet<_> = s.val.iter().map(|&i| key(i)).collect();
        assert!(s.train.iter().all(|&i| !val_fingers.contains(&key(i))));
        for d in 1..=4 {
            let db = format!("DB{d}_B");
            assert!(val_fingers.iter().any(|(x, _)| *x == db), "{db} missing from validation");
        }
    }

    // Recorded with the code before datasets had names (and manifests): a single
    // dataset's by-finger split did not change when they got them.
    const SEED13_BY_FINGER_VAL_STARTS: [usize; 8] = [32, 56, 112, 144, 160, 184, 256, 304];

    #[test]
    fn combined_datasets_split_by_finger_never_share_a_dataset_subset_finger() {
        // Two datasets with the same subset and finger numbers, qualified as a
        // combined load qualifies them.
        let sources: Vec<ImageSource> = fvc_named("fvc2002", 2, 5, 4)
            .into_iter()
            .chain(fvc_named("fvc2000", 2, 5, 4))
            .map(ImageSource::qualified)
            .collect();
        let s = split(&sources, SplitKind::ByFinger, 0.2, 13, &[]).unwrap();
        // One of five fingers held out per (dataset, subset): 4 groups x 1 finger x 4 impressions.
        assert_eq!(s.val.len(), 4 * 4);
        let key = |i: usize| {
            let id = sources[i].id.as_ref().unwrap();
            (id.dataset.clone(), id.database.clone(), id.finger)
        };
        let val: std::collections::HashSet<_> = s.val.iter().map(|&i| key(i)).collect();
        assert!(s.train.iter().all(|&i| !val.contains(&key(i))));
        // Each dataset's subsets are groups of their own: both datasets are on both sides.
        for dataset in ["fvc2002", "fvc2000"] {
            for db in ["DB1_B", "DB2_B"] {
                assert_eq!(val.iter().filter(|(d, s, _)| d == dataset && s == db).count(), 1, "{dataset}/{db}");
            }
        }
        // Each dataset keeps the validation fingers it has alone.
        for (offset, dataset) in [(0, "fvc2002"), (40, "fvc2000")] {
            let alone = split(&fvc_named(dataset, 2, 5, 4), SplitKind::ByFinger, 0.2, 13, &[]).unwrap();
            let combined: Vec<usize> =
                s.val.iter().filter(|&&i| (offset..offset + 40).contains(&i)).map(|&i| i - offset).collect();
            assert_eq!(combined, alone.val, "{dataset}");
        }
        // The by-database split uses the qualified names.
        let s = split(&sources, SplitKind::ByDatabase, 0.2, 13, &["fvc2000/DB2_B".into()]).unwrap();
        assert!(s.val.iter().all(|&i| sources[i].database == "fvc2000/DB2_B"));
        assert_eq!(s.val.len(), 20);
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
