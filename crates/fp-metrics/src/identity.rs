//! Does a reconstruction still identify its finger? BOZORTH3 scores of
//! reconstructions against the dataset's original prints.
//!
//! For each evaluated image there are three prints: its original, its
//! reconstruction, and its *round trip* (the original shrunk to the model's
//! input size and grown back with no model in between; the best any model of
//! that input size can do). Every comparison puts the print under test as the
//! probe and an original as the gallery:
//!
//! - **type I**: reconstruction vs its own original;
//! - **type II**: reconstruction vs the other impressions of the same finger,
//!   next to the original vs those impressions (the finger's genuine scores
//!   before and after);
//! - **impostor**: reconstruction vs the first impression of every other finger
//!   of its database (must stay low);
//! - the **ceiling**: type I and type II with the round trip as probe.
//!
//! A match is a score of at least the threshold: [`BOZORTH_THRESHOLD`] (40),
//! and the dataset's zero-false-match threshold, one above the highest score of
//! any original against another finger's first impression. A comparison where
//! either print has fewer than [`MIN_COMPUTABLE`](crate::minutiae::MIN_COMPUTABLE)
//! minutiae cannot be scored: it is counted as not computable and left out of
//! the rates, never counted as a failed match.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::minutiae::{BOZORTH_THRESHOLD, Correspondence, Template, Tolerance, match_score};

/// Where a print comes from: its database (sensor) and, when known, its finger and impression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintKey {
    /// Database (sensor) name; prints are only compared within one.
    pub database: String,
    /// Finger and impression number, when the file name says so (FVC's `FFF_I`).
    pub finger: Option<(u32, u32)>,
}

/// One original print of the dataset.
#[derive(Debug, Clone)]
pub struct GalleryPrint {
    /// Whose print it is.
    pub key: PrintKey,
    /// Its minutiae at native size.
    pub template: Template,
}

/// One evaluated image: what the model made of a gallery print.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Index of its original in the gallery.
    pub original: usize,
    /// Minutiae of the reconstruction, resized back to the original's size.
    pub reconstruction: Template,
    /// Minutiae of the round trip (original to model size and back, no model).
    pub round_trip: Template,
}

/// The identity measures of one evaluated image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageIdentity {
    /// Minutiae in the original.
    pub minutiae_original: usize,
    /// Minutiae in the reconstruction.
    pub minutiae_reconstruction: usize,
    /// Minutiae in the round trip.
    pub minutiae_round_trip: usize,
    /// Original minutiae found again in the reconstruction.
    pub minutiae_matched: usize,
    /// Original minutiae found again in the round trip.
    pub minutiae_matched_round_trip: usize,
    /// Type-I score (reconstruction vs original); `None` when not computable.
    pub type1_score: Option<u32>,
    /// Type-I score of the round trip; `None` when not computable.
    pub ceiling_type1_score: Option<u32>,
    /// Type-II scores, reconstruction vs each other impression of the finger.
    pub type2_scores: Vec<Option<u32>>,
    /// The same impressions scored with the original as probe.
    pub type2_scores_originals: Vec<Option<u32>>,
    /// The same impressions scored with the round trip as probe.
    pub ceiling_type2_scores: Vec<Option<u32>>,
    /// Reconstruction vs the first impression of each other finger of the database.
    pub impostor_scores: Vec<Option<u32>>,
}

/// Identity measures over a group of evaluated images. Rates are the share of
/// computable comparisons that match (`None` when there are none); recall and
/// precision pool the minutiae of all images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitySummary {
    /// Images in the group.
    pub images: usize,
    /// Type-I match rate at threshold 40.
    pub type1_rate_40: Option<f64>,
    /// Type-II match rate at threshold 40 (reconstructions as probes).
    pub type2_rate_40: Option<f64>,
    /// Type-II match rate at threshold 40 with the originals as probes.
    pub type2_rate_40_originals: Option<f64>,
    /// Type-I match rate of the round trip at threshold 40: the ceiling.
    pub ceiling_type1_rate_40: Option<f64>,
    /// Type-II match rate of the round trip at threshold 40.
    pub ceiling_type2_rate_40: Option<f64>,
    /// Share of reconstruction impostor comparisons scoring 40 or more (false matches).
    pub impostor_rate_40: Option<f64>,
    /// The dataset's zero-false-match threshold (see the module docs); `None`
    /// without impostor comparisons of originals.
    pub zero_fm_threshold: Option<u32>,
    /// Type-I match rate at the zero-false-match threshold.
    pub type1_rate_zero_fm: Option<f64>,
    /// Type-II match rate at the zero-false-match threshold.
    pub type2_rate_zero_fm: Option<f64>,
    /// Type-II match rate of the originals at the zero-false-match threshold.
    pub type2_rate_zero_fm_originals: Option<f64>,
    /// Type-I match rate of the round trip at the zero-false-match threshold.
    pub ceiling_type1_rate_zero_fm: Option<f64>,
    /// Median type-I score.
    pub type1_median: Option<f64>,
    /// Median type-I score of the round trip.
    pub ceiling_type1_median: Option<f64>,
    /// Median type-II score (reconstructions as probes).
    pub type2_median: Option<f64>,
    /// Median type-II score with the originals as probes.
    pub type2_median_originals: Option<f64>,
    /// Highest impostor score of a reconstruction.
    pub impostor_max: Option<u32>,
    /// Mean minutiae count of the originals.
    pub minutiae_original: f64,
    /// Mean minutiae count of the reconstructions.
    pub minutiae_reconstruction: f64,
    /// Share of original minutiae found in the reconstruction (within the tolerance).
    pub minutiae_recall: Option<f64>,
    /// Share of reconstruction minutiae that are in the original.
    pub minutiae_precision: Option<f64>,
    /// The same recall for the round trip.
    pub ceiling_minutiae_recall: Option<f64>,
    /// The same precision for the round trip.
    pub ceiling_minutiae_precision: Option<f64>,
    /// Images whose type-I comparison cannot be scored (reconstruction or original under 10 minutiae).
    pub not_computable: usize,
    /// Reconstructions under 10 minutiae.
    pub not_computable_reconstructions: usize,
    /// Originals under 10 minutiae.
    pub not_computable_originals: usize,
}

/// The identity measures of a set of evaluated images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityReport {
    /// Over all evaluated images.
    pub summary: IdentitySummary,
    /// Per database.
    pub per_database: BTreeMap<String, IdentitySummary>,
    /// Per evaluated image, in the order of the probes.
    pub per_image: Vec<ImageIdentity>,
}

/// Scores every probe against the gallery (in parallel) and summarises.
pub fn assess(gallery: &[GalleryPrint], probes: &[Probe], tolerance: Tolerance) -> IdentityReport {
    let first_impressions = first_impressions(gallery);
    let impostors_of = |i: usize| -> Vec<usize> {
        let key = &gallery[i].key;
        let Some((finger, _)) = key.finger else { return Vec::new() };
        first_impressions.iter().filter(|(k, _)| k.0 == key.database && k.1 != finger).map(|(_, &j)| j).collect()
    };
    let original_impostor_max = (0..gallery.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            impostors_of(i).into_iter().filter_map(move |j| match_score(&gallery[i].template, &gallery[j].template))
        })
        .max();
    let zero_fm_threshold = original_impostor_max.map(|max| max + 1);

    // What depends on the original alone is scored once per original, however
    // many probes share it (a restoration benchmark has one per kind and severity).
    let mut originals: Vec<usize> = probes.iter().map(|p| p.original).collect();
    originals.sort_unstable();
    originals.dedup();
    let scores = |probe: &Template, against: &[usize]| -> Vec<Option<u32>> {
        against.iter().map(|&j| match_score(probe, &gallery[j].template)).collect()
    };
    let per_original: BTreeMap<usize, OriginalScores> = originals
        .par_iter()
        .map(|&i| {
            let mates = mates_of(gallery, i);
            let of_original = scores(&gallery[i].template, &mates);
            let self_score = match_score(&gallery[i].template, &gallery[i].template);
            (i, (mates, of_original, self_score))
        })
        .collect();

    let per_image: Vec<ImageIdentity> = probes
        .par_iter()
        .map(|probe| {
            let original = &gallery[probe.original];
            let (mates, type2_originals, self_score) = &per_original[&probe.original];
            // At native resolution the round trip is the original itself.
            let (ceiling_type1, ceiling_type2) = if probe.round_trip == original.template {
                (*self_score, type2_originals.clone())
            } else {
                (match_score(&probe.round_trip, &original.template), scores(&probe.round_trip, mates))
            };
            let found = Correspondence::between(&original.template.minutiae, &probe.reconstruction.minutiae, tolerance);
            let found_rt = Correspondence::between(&original.template.minutiae, &probe.round_trip.minutiae, tolerance);
            ImageIdentity {
                minutiae_original: original.template.len(),
                minutiae_reconstruction: probe.reconstruction.len(),
                minutiae_round_trip: probe.round_trip.len(),
                minutiae_matched: found.matched,
                minutiae_matched_round_trip: found_rt.matched,
                type1_score: match_score(&probe.reconstruction, &original.template),
                ceiling_type1_score: ceiling_type1,
                type2_scores: scores(&probe.reconstruction, mates),
                type2_scores_originals: type2_originals.clone(),
                ceiling_type2_scores: ceiling_type2,
                impostor_scores: scores(&probe.reconstruction, &impostors_of(probe.original)),
            }
        })
        .collect();

    let summary = IdentitySummary::of(per_image.iter(), zero_fm_threshold);
    let mut groups: BTreeMap<&str, Vec<&ImageIdentity>> = BTreeMap::new();
    for (probe, image) in probes.iter().zip(&per_image) {
        groups.entry(&gallery[probe.original].key.database).or_default().push(image);
    }
    let per_database = groups
        .into_iter()
        .map(|(db, images)| (db.to_owned(), IdentitySummary::of(images.into_iter(), zero_fm_threshold)))
        .collect();
    IdentityReport { summary, per_database, per_image }
}

/// An original's mates, its scores against them, and its score against itself.
type OriginalScores = (Vec<usize>, Vec<Option<u32>>, Option<u32>);

/// For each (database, finger), the gallery index of its lowest-numbered impression.
fn first_impressions(gallery: &[GalleryPrint]) -> BTreeMap<(String, u32), usize> {
    let mut first: BTreeMap<(String, u32), (u32, usize)> = BTreeMap::new();
    for (i, print) in gallery.iter().enumerate() {
        if let Some((finger, impression)) = print.key.finger {
            let entry = first.entry((print.key.database.clone(), finger)).or_insert((impression, i));
            if impression < entry.0 {
                *entry = (impression, i);
            }
        }
    }
    first.into_iter().map(|(k, (_, i))| (k, i)).collect()
}

/// Gallery indices of the other impressions of print `i`'s finger.
fn mates_of(gallery: &[GalleryPrint], i: usize) -> Vec<usize> {
    let key = &gallery[i].key;
    let Some((finger, impression)) = key.finger else { return Vec::new() };
    (0..gallery.len())
        .filter(|&j| {
            let other = &gallery[j].key;
            other.database == key.database && other.finger.is_some_and(|(f, imp)| f == finger && imp != impression)
        })
        .collect()
}

impl IdentitySummary {
    /// Summarises a group of images' measures; `zero_fm` is the dataset's
    /// zero-false-match threshold (the report's `summary.zero_fm_threshold`).
    pub fn of<'a>(images: impl Iterator<Item = &'a ImageIdentity> + Clone, zero_fm: Option<u32>) -> Self {
        summarise(images, zero_fm)
    }
}

fn summarise<'a>(images: impl Iterator<Item = &'a ImageIdentity> + Clone, zero_fm: Option<u32>) -> IdentitySummary {
    let n = images.clone().count();
    let collect =
        |f: fn(&ImageIdentity) -> Vec<Option<u32>>| -> Vec<u32> { images.clone().flat_map(f).flatten().collect() };
    let type1 = collect(|i| vec![i.type1_score]);
    let ceiling1 = collect(|i| vec![i.ceiling_type1_score]);
    let type2 = collect(|i| i.type2_scores.clone());
    let type2_orig = collect(|i| i.type2_scores_originals.clone());
    let ceiling2 = collect(|i| i.ceiling_type2_scores.clone());
    let impostor = collect(|i| i.impostor_scores.clone());
    let at = |scores: &[u32], threshold: Option<u32>| threshold.and_then(|t| rate(scores, t));
    let sum = |f: fn(&ImageIdentity) -> usize| images.clone().map(f).sum::<usize>();
    let (originals, recons, round_trips) =
        (sum(|i| i.minutiae_original), sum(|i| i.minutiae_reconstruction), sum(|i| i.minutiae_round_trip));
    let share = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);
    let mean = |total: usize| if n > 0 { total as f64 / n as f64 } else { 0.0 };
    let few = |count: usize| count < crate::minutiae::MIN_COMPUTABLE;
    IdentitySummary {
        images: n,
        type1_rate_40: rate(&type1, BOZORTH_THRESHOLD),
        type2_rate_40: rate(&type2, BOZORTH_THRESHOLD),
        type2_rate_40_originals: rate(&type2_orig, BOZORTH_THRESHOLD),
        ceiling_type1_rate_40: rate(&ceiling1, BOZORTH_THRESHOLD),
        ceiling_type2_rate_40: rate(&ceiling2, BOZORTH_THRESHOLD),
        impostor_rate_40: rate(&impostor, BOZORTH_THRESHOLD),
        zero_fm_threshold: zero_fm,
        type1_rate_zero_fm: at(&type1, zero_fm),
        type2_rate_zero_fm: at(&type2, zero_fm),
        type2_rate_zero_fm_originals: at(&type2_orig, zero_fm),
        ceiling_type1_rate_zero_fm: at(&ceiling1, zero_fm),
        type1_median: median(&type1),
        ceiling_type1_median: median(&ceiling1),
        type2_median: median(&type2),
        type2_median_originals: median(&type2_orig),
        impostor_max: impostor.iter().copied().max(),
        minutiae_original: mean(originals),
        minutiae_reconstruction: mean(recons),
        minutiae_recall: share(sum(|i| i.minutiae_matched), originals),
        minutiae_precision: share(sum(|i| i.minutiae_matched), recons),
        ceiling_minutiae_recall: share(sum(|i| i.minutiae_matched_round_trip), originals),
        ceiling_minutiae_precision: share(sum(|i| i.minutiae_matched_round_trip), round_trips),
        not_computable: images.clone().filter(|i| i.type1_score.is_none()).count(),
        not_computable_reconstructions: images.clone().filter(|i| few(i.minutiae_reconstruction)).count(),
        not_computable_originals: images.clone().filter(|i| few(i.minutiae_original)).count(),
    }
}

/// Share of `scores` at or above `threshold` (`None` when there are no scores).
fn rate(scores: &[u32], threshold: u32) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().filter(|&&s| s >= threshold).count() as f64 / scores.len() as f64)
}

fn median(scores: &[u32]) -> Option<f64> {
    let mut s = scores.to_vec();
    s.sort_unstable();
    match s.len() {
        0 => None,
        n if n % 2 == 1 => Some(f64::from(s[n / 2])),
        n => Some((f64::from(s[n / 2 - 1]) + f64::from(s[n / 2])) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_medians() {
        assert_eq!(rate(&[10, 40, 39, 100], 40), Some(0.5));
        assert_eq!(rate(&[], 40), None);
        assert_eq!(median(&[5, 1, 3]), Some(3.0));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    fn key(db: &str, finger: u32, impression: u32) -> PrintKey {
        PrintKey { database: db.into(), finger: Some((finger, impression)) }
    }

    fn print(k: PrintKey) -> GalleryPrint {
        GalleryPrint { key: k, template: Template { width: 50, height: 50, minutiae: Vec::new() } }
    }

    #[test]
    fn mates_and_first_impressions_stay_within_a_database() {
        let gallery: Vec<GalleryPrint> = [
            key("A", 1, 2),
            key("A", 1, 1),
            key("A", 1, 3),
            key("A", 2, 5),
            key("A", 2, 4),
            key("B", 1, 1),
            key("B", 1, 2),
        ]
        .into_iter()
        .map(print)
        .collect();
        assert_eq!(mates_of(&gallery, 0), vec![1, 2]);
        assert_eq!(mates_of(&gallery, 5), vec![6]);
        let first = first_impressions(&gallery);
        assert_eq!(first[&("A".to_owned(), 1)], 1);
        assert_eq!(first[&("A".to_owned(), 2)], 4);
        assert_eq!(first[&("B".to_owned(), 1)], 5);
        let unknown = GalleryPrint { key: PrintKey { database: "A".into(), finger: None }, ..print(key("A", 0, 0)) };
        assert!(mates_of(&[unknown], 0).is_empty());
    }
}
