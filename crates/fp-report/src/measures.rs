//! The measures a report shows, each defined once by its key in the JSON of a
//! [`GroupScore`](fp_metrics::GroupScore), with its heading and how it is written.

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

/// One column of a score table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// Its key in a group's JSON, dotted for nested objects (`identity.type1_rate_40`).
    pub key: &'static str,
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
    /// The measure's number in `group` (a group's JSON), if it has one.
    pub fn value(&self, group: &Value) -> Option<f64> {
        self.key.split('.').try_fold(group, |v, key| v.get(key))?.as_f64()
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
    key: &'static str,
    heading: &'static str,
    band: &'static str,
    format: Format,
    meaning: &'static str,
) -> Measure {
    Measure { key, heading, band, format, meaning }
}

const IMAGES: Measure = measure("images", "images", "", Format::Count, "Number of prints in the group.");
const MSE: Measure = measure("mse", "MSE", "", Format::Decimals(6), "Mean squared error of the pixels in [0, 1].");
const PSNR: Measure =
    measure("psnr", "PSNR (dB)", "", Format::Decimals(2), "Peak signal-to-noise ratio, mean over the prints.");
const SSIM: Measure = measure(
    "ssim",
    "SSIM",
    "",
    Format::Decimals(4),
    "Structural similarity (Gaussian window 11, sigma 1.5), mean over the prints.",
);
const RECALL: Measure = measure(
    "identity.minutiae_recall",
    "recall",
    "minutiae",
    Format::Percent,
    "Share of the original's minutiae found again within 8 px and 30 degrees.",
);
const PRECISION: Measure = measure(
    "identity.minutiae_precision",
    "prec.",
    "minutiae",
    Format::Percent,
    "Share of the output's minutiae that are the original's.",
);
const TYPE1: Measure = measure(
    "identity.type1_rate_40",
    "@40",
    "type I",
    Format::Percent,
    "Output matches its own original: BOZORTH3 score at least 40.",
);
const TYPE2: Measure = measure(
    "identity.type2_rate_40",
    "@40",
    "type II",
    Format::Percent,
    "Output matches the finger's other impressions at score 40 or more.",
);
const TYPE2_ORIGINALS: Measure = measure(
    "identity.type2_rate_40_originals",
    "originals",
    "type II",
    Format::Percent,
    "The same for the originals: what the matcher does with clean prints.",
);
const IMPOSTOR: Measure = measure(
    "identity.impostor_rate_40",
    "@40",
    "false match",
    Format::Percent,
    "Output matches another finger at score 40 or more.",
);
const NOT_COMPUTABLE: Measure = measure(
    "identity.not_computable",
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
    measure("identity.images", "images", "", Format::Count, "Number of prints in the group."),
    measure(
        "identity.minutiae_original",
        "orig.",
        "minutiae",
        Format::Decimals(0),
        "Minutiae per original print, mean.",
    ),
    measure(
        "identity.minutiae_reconstruction",
        "rec.",
        "minutiae",
        Format::Decimals(0),
        "Minutiae per output print, mean.",
    ),
    RECALL,
    PRECISION,
    measure(
        "identity.type1_rate_40",
        "recon",
        "type I @40",
        Format::Percent,
        "Output matches its own original: BOZORTH3 score at least 40.",
    ),
    measure(
        "identity.ceiling_type1_rate_40",
        "ceiling",
        "type I @40",
        Format::Percent,
        "The same for a plain resize round trip of the original: the best any model can do at this size.",
    ),
    measure(
        "identity.type2_rate_40",
        "recon",
        "type II @40",
        Format::Percent,
        "Output matches the finger's other impressions at score 40 or more.",
    ),
    measure(
        "identity.type2_rate_40_originals",
        "originals",
        "type II @40",
        Format::Percent,
        "The same for the originals: what the matcher does with clean prints.",
    ),
    measure(
        "identity.type1_rate_zero_fm",
        "recon",
        "type I, zero FM",
        Format::Percent,
        "Type I at the lowest threshold where no original matches another finger.",
    ),
    measure(
        "identity.ceiling_type1_rate_zero_fm",
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
    measure("identity.minutiae_original", "orig.", "minutiae", Format::Decimals(0), "Minutiae in the original print."),
    measure(
        "identity.minutiae_reconstruction",
        "output",
        "minutiae",
        Format::Decimals(0),
        "Minutiae in the model's output.",
    ),
    measure(
        "identity.minutiae_matched",
        "found",
        "minutiae",
        Format::Count,
        "The original's minutiae found again in the output (within 8 px and 30 degrees).",
    ),
    measure(
        "identity.type1_score",
        "output",
        "BOZORTH3 vs original",
        Format::Count,
        "BOZORTH3 score of the output against its original (40 or more counts as a match).",
    ),
    measure(
        "identity.ceiling_type1_score",
        "ceiling",
        "BOZORTH3 vs original",
        Format::Count,
        "The same for a plain resize round trip of the original.",
    ),
];

/// Every measure of every table, a key possibly more than once (written the same way).
pub fn all() -> impl Iterator<Item = &'static Measure> {
    PIXELS.iter().chain(IDENTITY).chain(SCORES).chain(IMAGE)
}

/// The measure read from `key`, in whichever table it appears.
pub fn by_key(key: &str) -> Option<&'static Measure> {
    all().find(|m| m.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_by_dotted_keys_and_written_by_format() {
        let group = serde_json::json!({"images": 4, "psnr": 21.4567, "identity": {"type1_rate_40": 0.53125, "not_computable": 2}});
        assert_eq!(PSNR.value(&group), Some(21.4567));
        assert_eq!(PSNR.cell(PSNR.value(&group)), "21.46");
        assert_eq!(TYPE1.cell(TYPE1.value(&group)), "53.1");
        assert_eq!(NOT_COMPUTABLE.cell(NOT_COMPUTABLE.value(&group)), "2");
        assert_eq!(IMAGES.cell(IMAGES.value(&group)), "4");
        assert_eq!(RECALL.value(&group), None);
        assert_eq!(RECALL.cell(None), "-");
    }

    #[test]
    fn a_key_is_written_one_way_in_every_table() {
        for a in all() {
            for b in all().filter(|b| b.key == a.key) {
                assert_eq!(a.format, b.format, "{}", a.key);
            }
        }
    }

    #[test]
    fn every_key_is_a_field_of_a_group_score() {
        // A group score with identity, serialized: every measure must find its number there.
        let summary = fp_metrics::identity::IdentitySummary::of(std::iter::empty(), None);
        let mut group = fp_metrics::GroupScore::of(&[fp_metrics::Quality { mse: 0.1, psnr: 10.0, ssim: 0.5 }]).unwrap();
        group.identity = Some(summary);
        let json = serde_json::to_value(&group).unwrap();
        for m in PIXELS.iter().chain(IDENTITY).chain(SCORES) {
            let (first, rest) = m.key.split_once('.').unwrap_or((m.key, ""));
            let field = if rest.is_empty() { json.get(first) } else { json[first].get(rest) };
            assert!(field.is_some(), "{} is not a field of GroupScore's JSON: {json}", m.key);
        }
    }
}
