//! The scores of an evaluation, laid out once and rendered everywhere.
//!
//! A [`Report`] is a list of [`ScoreTable`]s whose rows are [`GroupScore`]s
//! (a dataset, a sensor, a degradation at a severity, or everything) or one
//! print's scores, each with the place in the evaluation's JSON where its
//! numbers live. The columns are [`Measure`]s, defined once in [`measures`]:
//! each reads its number from the row's scores by value, through a
//! [`Quantity`], and names the key that number has in the JSON. The terminal
//! table ([`text`]) and the HTML page ([`html`]) both read cells that way, so
//! they cannot disagree, and a test holds every key to the JSON.

pub mod html;
pub mod measures;
pub mod text;

use fp_metrics::identity::ImageIdentity;
use fp_metrics::{GroupScore, Quality};
use serde_json::Value;

pub use measures::{Format, Measure, Quantity, Scores};

/// What an evaluation measured, as tables of group scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What was evaluated: model, checkpoint, data.
    pub subject: String,
    /// The tables, in reading order.
    pub tables: Vec<ScoreTable>,
}

/// One table: a row per group, a column per measure.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreTable {
    /// Its title (one line).
    pub title: String,
    /// What the columns are, in order.
    pub measures: &'static [Measure],
    /// The rows, in order.
    pub rows: Vec<ScoreRow>,
    /// Whether the page shows it folded (long tables, such as one row per print).
    pub folded: bool,
}

/// One group's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The row's name: `DB1_B`, `noise/0.6 restored`, `all`.
    pub label: String,
    /// Where the group is in the evaluation's JSON, key by key from its top
    /// (`["per_database", "DB1_B"]`; empty for the top level itself).
    pub json_path: Vec<String>,
    /// The scores.
    pub scores: Scores,
}

impl ScoreRow {
    /// A row of `score`, found in the evaluation's JSON at `json_path`.
    pub fn new(label: impl Into<String>, json_path: &[&str], score: &GroupScore) -> Self {
        Self {
            label: label.into(),
            json_path: json_path.iter().map(|&k| k.to_owned()).collect(),
            scores: Scores::Group(Box::new(score.clone())),
        }
    }

    /// A row of one print's scores, found in the evaluation's JSON at `json_path`.
    pub fn image(
        label: impl Into<String>,
        json_path: Vec<String>,
        quality: Quality,
        identity: Option<ImageIdentity>,
    ) -> Self {
        Self { label: label.into(), json_path, scores: Scores::Image { quality, identity } }
    }

    /// The value of `measure` in this row (`None` when not measured or not computable).
    pub fn value(&self, measure: &Measure) -> Option<f64> {
        measure.value(&self.scores)
    }
}

impl ScoreTable {
    /// Whether any row has a value in column `measure`.
    pub fn has_values(&self, measure: &Measure) -> bool {
        self.rows.iter().any(|row| row.value(measure).is_some())
    }
}

/// The part of `json` at `path` (key by key; a number indexes an array), if there is one.
pub fn lookup<'a>(json: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(json, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => v.get(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_keys_and_array_indices() {
        let json = serde_json::json!({"per_image": [{"psnr": 1.0}, {"psnr": 2.0}], "all": {"psnr": 3.0}});
        let path = |p: &[&str]| p.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(lookup(&json, &path(&["per_image", "1", "psnr"])), Some(&serde_json::json!(2.0)));
        assert_eq!(lookup(&json, &path(&["all"])), Some(&serde_json::json!({"psnr": 3.0})));
        assert_eq!(lookup(&json, &path(&["per_image", "2"])), None);
        assert_eq!(lookup(&json, &path(&["per_image", "x"])), None);
        assert_eq!(lookup(&json, &[]), Some(&json));
    }
}
