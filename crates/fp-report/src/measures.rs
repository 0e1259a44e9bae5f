//! The measures a report shows. A [`Quantity`] is one number of a score,
//! read from the score's fields (a misspelt quantity does not compile) and
//! named by its key in the score's JSON; a [`Measure`] is a column: a quantity
//! with its heading and how it is written.

use fp_metrics::identity::{IdentitySummary, ImageIdentity};
use fp_metrics::{GroupScore, Quality};
use serde_json::Value;

/// How a measure's number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A whole number.
    Count,
    /// A number with this many decimals.
    Decimals(usize),
    /// A rate in [0, 1], written in percent with one decimal.
    Percent,
}

/// The scores one row of a table shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Scores {
    /// A group's means ([`GroupScore`], boxed: it is several times a print's size).
    Group(Box<GroupScore>),
    /// One print's scores (an entry of an evaluation's `per_image`).
    Image {
        /// Its pixel measures.
        quality: Quality,
        /// Its minutiae and matcher scores, when measured.
        identity: Option<ImageIdentity>,
    },
}

impl Scores {
    fn quality(&self) -> &Quality {
        match self {
            Scores::Group(group) => &group.quality,
            Scores::Image { quality, .. } => quality,
        }
    }

    fn summary(&self) -> Option<&IdentitySummary> {
        match self {
            Scores::Group(group) => group.identity.as_ref(),
            Scores::Image { .. } => None,
        }
    }

    fn image_identity(&self) -> Option<&ImageIdentity> {
        match self {
            Scores::Group(_) => None,
            Scores::Image { identity, .. } => identity.as_ref(),
        }
    }
}

/// One number of a group's or a print's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Prints in the group.
    Images,
    /// Mean squared error.
    Mse,
    /// PSNR in dB.
    Psnr,
    /// SSIM.
    Ssim,
    /// Prints whose identity was measured.
    IdentityImages,
    /// Minutiae in the original (mean over a group).
    MinutiaeOriginal,
    /// Minutiae in the output (mean over a group).
    MinutiaeReconstruction,
    /// The original's minutiae found again in a print's output.
    MinutiaeMatched,
    /// Share of the originals' minutiae found again.
    MinutiaeRecall,
    /// Share of the outputs' minutiae that are the originals'.
    MinutiaePrecision,
    /// Type I match rate at BOZORTH3 score 40.
    Type1Rate40,
    /// The resize round trip's type I rate at 40.
    CeilingType1Rate40,
    /// Type II match rate at 40.
    Type2Rate40,
    /// The originals' type II rate at 40.
    Type2Rate40Originals,
    /// Type I rate at the zero-false-match threshold.
    Type1RateZeroFm,
    /// The round trip's type I rate at that threshold.
    CeilingType1RateZeroFm,
    /// False match rate at 40.
    ImpostorRate40,
    /// Prints BOZORTH3 could not compare.
    NotComputable,
    /// A print's BOZORTH3 score against its original.
    Type1Score,
    /// The round trip's score against the original.
    CeilingType1Score,
}

impl Quantity {
    /// Every quantity.
    pub const ALL: [Quantity; 20] = [
        Quantity::Images,
        Quantity::Mse,
        Quantity::Psnr,
        Quantity::Ssim,
        Quantity::IdentityImages,
        Quantity::MinutiaeOriginal,
        Quantity::MinutiaeReconstruction,
        Quantity::MinutiaeMatched,
        Quantity::MinutiaeRecall,
        Quantity::MinutiaePrecision,
        Quantity::Type1Rate40,
        Quantity::CeilingType1Rate40,
        Quantity::Type2Rate40,
        Quantity::Type2Rate40Originals,
        Quantity::Type1RateZeroFm,
        Quantity::CeilingType1RateZeroFm,
        Quantity::ImpostorRate40,
        Quantity::NotComputable,
        Quantity::Type1Score,
        Quantity::CeilingType1Score,
    ];

    /// Its key in the score's JSON, dotted for nested objects
    /// (`identity.type1_rate_40`): the HTML page's `data-key`.
    pub const fn key(self) -> &'static str {
        match self {
            Quantity::Images => "images",
            Quantity::Mse => "mse",
            Quantity::Psnr => "psnr",
            Quantity::Ssim => "ssim",
            Quantity::IdentityImages => "identity.images",
            Quantity::MinutiaeOriginal => "identity.minutiae_original",
            Quantity::MinutiaeReconstruction => "identity.minutiae_reconstruction",
            Quantity::MinutiaeMatched => "identity.minutiae_matched",
            Quantity::MinutiaeRecall => "identity.minutiae_recall",
            Quantity::MinutiaePrecision => "identity.minutiae_precision",
            Quantity::Type1Rate40 => "identity.type1_rate_40",
            Quantity::CeilingType1Rate40 => "identity.ceiling_type1_rate_40",
            Quantity::Type2Rate40 => "identity.type2_rate_40",
            Quantity::Type2Rate40Originals => "identity.type2_rate_40_originals",
            Quantity::Type1RateZeroFm => "identity.type1_rate_zero_fm",
            Quantity::CeilingType1RateZeroFm => "identity.ceiling_type1_rate_zero_fm",
            Quantity::ImpostorRate40 => "identity.impostor_rate_40",
            Quantity::NotComputable => "identity.not_computable",
            Quantity::Type1Score => "identity.type1_score",
            Quantity::CeilingType1Score => "identity.ceiling_type1_score",
        }
    }

    /// The quantity's number in `scores`, if it has one. A number JSON cannot
    /// hold (the infinite PSNR of an identical pair) counts as none, as in
    /// the JSON, so that the tables show what the JSON has.
    pub fn value(self, scores: &Scores) -> Option<f64> {
        let count = |n: usize| Some(n as f64);
        let quality = scores.quality();
        let summary = scores.summary();
        let image = scores.image_identity();
        let value = match self {
            Quantity::Images => match scores {
                Scores::Group(group) => count(group.images),
                Scores::Image { .. } => None,
            },
            Quantity::Mse => Some(quality.mse),
            Quantity::Psnr => Some(quality.psnr),
            Quantity::Ssim => Some(quality.ssim),
            Quantity::IdentityImages => summary.and_then(|s| count(s.images)),
            Quantity::MinutiaeOriginal => {
                summary.map(|s| s.minutiae_original).or_else(|| image.and_then(|i| count(i.minutiae_original)))
            }
            Quantity::MinutiaeReconstruction => summary
                .map(|s| s.minutiae_reconstruction)
                .or_else(|| image.and_then(|i| count(i.minutiae_reconstruction))),
            Quantity::MinutiaeMatched => image.and_then(|i| count(i.minutiae_matched)),
            Quantity::MinutiaeRecall => summary.and_then(|s| s.minutiae_recall),
            Quantity::MinutiaePrecision => summary.and_then(|s| s.minutiae_precision),
            Quantity::Type1Rate40 => summary.and_then(|s| s.type1_rate_40),
            Quantity::CeilingType1Rate40 => summary.and_then(|s| s.ceiling_type1_rate_40),
            Quantity::Type2Rate40 => summary.and_then(|s| s.type2_rate_40),
            Quantity::Type2Rate40Originals => summary.and_then(|s| s.type2_rate_40_originals),
            Quantity::Type1RateZeroFm => summary.and_then(|s| s.type1_rate_zero_fm),
            Quantity::CeilingType1RateZeroFm => summary.and_then(|s| s.ceiling_type1_rate_zero_fm),
            Quantity::ImpostorRate40 => summary.and_then(|s| s.impostor_rate_40),
            Quantity::NotComputable => summary.and_then(|s| count(s.not_computable)),
            Quantity::Type1Score => image.and_then(|i| i.type1_score).map(f64::from),
            Quantity::CeilingType1Score => image.and_then(|i| i.ceiling_type1_score).map(f64::from),
        };
        value.filter(|v| v.is_finite())
    }

    /// The number a reader of the JSON finds at [`Quantity::key`] in a
    /// serialized score: what the page's `data-key` promises, and what tests
    /// hold [`Quantity::value`] to.
    pub fn in_json(self, json: &Value) -> Option<f64> {
        self.key().split('.').try_fold(json, |v, key| v.get(key))?.as_f64()
    }
}

/// One column of a score table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The number it shows.
    pub quantity: Quantity,
    /// The column heading.
    pub heading: &'static str,
    /// The heading over a run of neighbouring columns (`type I`); empty for none.
    pub band: &'static str,
    /// How the number is written.
    pub format: Format,
    /// What it means, one sentence (the HTML page's tooltip and legend).
    pub meaning: &'static str,
}

impl Measure {
    /// The measure's number in `scores`, if it has one.
    pub fn value(&self, scores: &Scores) -> Option<f64> {
        self.quantity.value(scores)
    }

    /// Its key in a score's JSON (see [`Quantity::key`]).
    pub fn key(&self) -> &'static str {
        self.quantity.key()
    }

    /// The number as the tables write it: `-` when there is none.
    pub fn cell(&self, value: Option<f64>) -> String {
        let Some(v) = value else { return "-".to_owned() };
        match self.format {
            Format::Count => format!("{v:.0}"),
            Format::Decimals(d) => format!("{v:.d$}"),
            Format::Percent => format!("{:.1}", 100.0 * v),
        }
    }

    /// How far a written cell may be from the number: half its last digit.
    pub fn rounding(&self) -> f64 {
        match self.format {
            Format::Count => 0.5,
            Format::Decimals(d) => 0.5 * 10f64.powi(-(d as i32)),
            Format::Percent => 0.0005,
        }
    }
}

const fn measure(
    quantity: Quantity,
    heading: &'static str,
    band: &'static str,
    format: Format,
    meaning: &'static str,
) -> Measure {
    Measure { quantity, heading, band, format, meaning }
}

const IMAGES: Measure = measure(Quantity::Images, "images", "", Format::Count, "Number of prints in the group.");
const MSE: Measure =
    measure(Quantity::Mse, "MSE", "", Format::Decimals(6), "Mean squared error of the pixels in [0, 1].");
const PSNR: Measure =
    measure(Quantity::Psnr, "PSNR (dB)", "", Format::Decimals(2), "Peak signal-to-noise ratio, mean over the prints.");
const SSIM: Measure = measure(
    Quantity::Ssim,
    "SSIM",
    "",
    Format::Decimals(4),
    "Structural similarity (Gaussian window 11, sigma 1.5), mean over the prints.",
);
const RECALL: Measure = measure(
    Quantity::MinutiaeRecall,
    "recall",
    "minutiae",
    Format::Percent,
    "Share of the original's minutiae found again within 8 px and 30 degrees.",
);
const PRECISION: Measure = measure(
    Quantity::MinutiaePrecision,
    "prec.",
    "minutiae",
    Format::Percent,
    "Share of the output's minutiae that are the original's.",
);
const TYPE1: Measure = measure(
    Quantity::Type1Rate40,
    "@40",
    "type I",
    Format::Percent,
    "Output matches its own original: BOZORTH3 score at least 40.",
);
const TYPE2: Measure = measure(
    Quantity::Type2Rate40,
    "@40",
    "type II",
    Format::Percent,
    "Output matches the finger's other impressions at score 40 or more.",
);
const TYPE2_ORIGINALS: Measure = measure(
    Quantity::Type2Rate40Originals,
    "originals",
    "type II",
    Format::Percent,
    "The same for the originals: what the matcher does with clean prints.",
);
const IMPOSTOR: Measure = measure(
    Quantity::ImpostorRate40,
    "@40",
    "false match",
    Format::Percent,
    "Output matches another finger at score 40 or more.",
);
const NOT_COMPUTABLE: Measure = measure(
    Quantity::NotComputable,
    "not comp.",
    "",
    Format::Count,
    "Prints with too few minutiae for BOZORTH3 to compare.",
);

/// Pixel measures of reconstructions against their originals.
pub const PIXELS: &[Measure] = &[IMAGES, MSE, PSNR, SSIM];

/// Whether reconstructions still identify their finger, next to the ceiling a
/// plain resize round trip reaches.
pub const IDENTITY: &[Measure] = &[
    measure(Quantity::IdentityImages, "images", "", Format::Count, "Number of prints in the group."),
    measure(Quantity::MinutiaeOriginal, "orig.", "minutiae", Format::Decimals(0), "Minutiae per original print, mean."),
    measure(
        Quantity::MinutiaeReconstruction,
        "rec.",
        "minutiae",
        Format::Decimals(0),
        "Minutiae per output print, mean.",
    ),
    RECALL,
    PRECISION,
    measure(
        Quantity::Type1Rate40,
        "recon",
        "type I @40",
        Format::Percent,
        "Output matches its own original: BOZORTH3 score at least 40.",
    ),
    measure(
        Quantity::CeilingType1Rate40,
        "ceiling",
        "type I @40",
        Format::Percent,
        "The same for a plain resize round trip of the original: the best any model can do at this size.",
    ),
    measure(
        Quantity::Type2Rate40,
        "recon",
        "type II @40",
        Format::Percent,
        "Output matches the finger's other impressions at score 40 or more.",
    ),
    measure(
        Quantity::Type2Rate40Originals,
        "originals",
        "type II @40",
        Format::Percent,
        "The same for the originals: what the matcher does with clean prints.",
    ),
    measure(
        Quantity::Type1RateZeroFm,
        "recon",
        "type I, zero FM",
        Format::Percent,
        "Type I at the lowest threshold where no original matches another finger.",
    ),
    measure(
        Quantity::CeilingType1RateZeroFm,
        "ceiling",
        "type I, zero FM",
        Format::Percent,
        "The ceiling's type I at that threshold.",
    ),
    IMPOSTOR,
    NOT_COMPUTABLE,
];

/// Pixels and identity of processed prints against their clean originals:
/// `fpae score` and the restoration benchmark.
pub const SCORES: &[Measure] =
    &[IMAGES, PSNR, SSIM, RECALL, PRECISION, TYPE1, TYPE2, TYPE2_ORIGINALS, IMPOSTOR, NOT_COMPUTABLE];

/// One print's measures (an entry of an evaluation's `per_image`).
pub const IMAGE: &[Measure] = &[
    MSE,
    PSNR,
    SSIM,
    measure(Quantity::MinutiaeOriginal, "orig.", "minutiae", Format::Decimals(0), "Minutiae in the original print."),
    measure(
        Quantity::MinutiaeReconstruction,
        "output",
        "minutiae",
        Format::Decimals(0),
        "Minutiae in the model's output.",
    ),
    measure(
        Quantity::MinutiaeMatched,
        "found",
        "minutiae",
        Format::Count,
        "The original's minutiae found again in the output (within 8 px and 30 degrees).",
    ),
    measure(
        Quantity::Type1Score,
        "output",
        "BOZORTH3 vs original",
        Format::Count,
        "BOZORTH3 score of the output against its original (40 or more counts as a match).",
    ),
    measure(
        Quantity::CeilingType1Score,
        "ceiling",
        "BOZORTH3 vs original",
        Format::Count,
        "The same for a plain resize round trip of the original.",
    ),
];

/// Every measure of every table, a quantity possibly more than once (written the same way).
pub fn all() -> impl Iterator<Item = &'static Measure> {
    PIXELS.iter().chain(IDENTITY).chain(SCORES).chain(IMAGE)
}

/// The measure read from `key` (a page's `data-key`), in whichever table it appears.
pub fn by_key(key: &str) -> Option<&'static Measure> {
    all().find(|m| m.key() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(identity: bool) -> Scores {
        let mut group = GroupScore::of(&[Quality { mse: 0.1, psnr: 21.4567, ssim: 0.5 }]).unwrap();
        if identity {
            let mut summary = IdentitySummary::of(std::iter::empty(), None);
            summary.type1_rate_40 = Some(0.53125);
            summary.not_computable = 2;
            group.identity = Some(summary);
        }
        Scores::Group(Box::new(group))
    }

    #[test]
    fn values_are_read_from_the_scores_and_written_by_format() {
        let (with, without) = (group(true), group(false));
        assert_eq!(PSNR.value(&with), Some(21.4567));
        assert_eq!(PSNR.cell(PSNR.value(&with)), "21.46");
        assert_eq!(TYPE1.cell(TYPE1.value(&with)), "53.1");
        assert_eq!(NOT_COMPUTABLE.cell(NOT_COMPUTABLE.value(&with)), "2");
        assert_eq!(IMAGES.cell(IMAGES.value(&with)), "1");
        assert_eq!(RECALL.value(&with), None, "no minutiae compared");
        assert_eq!(TYPE1.value(&without), None);
        assert_eq!(RECALL.cell(None), "-");
        let identical = Scores::Image { quality: Quality { mse: 0.0, psnr: f64::INFINITY, ssim: 1.0 }, identity: None };
        assert_eq!(PSNR.value(&identical), None, "JSON has no infinite number: null, and `-` in the tables");
    }

    #[test]
    fn a_quantity_is_written_one_way_in_every_table() {
        for a in all() {
            for b in all().filter(|b| b.quantity == a.quantity) {
                assert_eq!(a.format, b.format, "{}", a.key());
            }
        }
    }

    #[test]
    fn every_key_finds_the_value_in_the_scores_json() {
        // Scores with every field set, serialized: each quantity's key must find there
        // the number its accessor reads, or be absent from that kind of score.
        let mut summary = fp_metrics::identity::IdentitySummary::of(std::iter::empty(), None);
        let mut next = 0.0;
        let mut rate = || {
            next += 0.0625;
            Some(next)
        };
        summary.images = 7;
        summary.minutiae_original = 41.5;
        summary.minutiae_reconstruction = 38.25;
        summary.minutiae_recall = rate();
        summary.minutiae_precision = rate();
        summary.type1_rate_40 = rate();
        summary.ceiling_type1_rate_40 = rate();
        summary.type2_rate_40 = rate();
        summary.type2_rate_40_originals = rate();
        summary.type1_rate_zero_fm = rate();
        summary.ceiling_type1_rate_zero_fm = rate();
        summary.impostor_rate_40 = rate();
        summary.not_computable = 3;
        let mut group = GroupScore::of(&[Quality { mse: 0.1, psnr: 10.0, ssim: 0.5 }]).unwrap();
        group.identity = Some(summary);
        let group_json = serde_json::to_value(&group).unwrap();
        let image = ImageIdentity {
            minutiae_original: 40,
            minutiae_reconstruction: 35,
            minutiae_round_trip: 39,
            minutiae_matched: 30,
            minutiae_matched_round_trip: 37,
            type1_score: Some(88),
            ceiling_type1_score: Some(120),
            type2_scores: vec![],
            type2_scores_originals: vec![],
            ceiling_type2_scores: vec![],
            impostor_scores: vec![],
        };
        let quality = Quality { mse: 0.2, psnr: 7.0, ssim: 0.25 };
        let image_json = serde_json::json!({
            "mse": quality.mse, "psnr": quality.psnr, "ssim": quality.ssim,
            "identity": serde_json::to_value(&image).unwrap(),
        });
        let scored = [
            (Scores::Group(Box::new(group)), group_json),
            (Scores::Image { quality, identity: Some(image) }, image_json),
        ];
        for quantity in Quantity::ALL {
            let mut found = 0;
            for (scores, json) in &scored {
                assert_eq!(quantity.value(scores), quantity.in_json(json), "{} in {json}", quantity.key());
                found += usize::from(quantity.value(scores).is_some());
            }
            assert!(found > 0, "{} is in no score", quantity.key());
        }
        for m in PIXELS.iter().chain(IDENTITY).chain(SCORES) {
            assert!(m.value(&scored[0].0).is_some(), "{} is not a number of a group score", m.key());
        }
        for m in IMAGE {
            assert!(m.value(&scored[1].0).is_some(), "{} is not a number of a print's scores", m.key());
        }
    }
}
