//! The scores of an evaluation, laid out once and rendered everywhere.
//!
//! A [`Report`] is a list of [`ScoreTable`]s whose rows are [`GroupScore`]s
//! (a dataset, a sensor, a degradation at a severity, or everything), each
//! with the place in the evaluation's JSON where its numbers live. The
//! columns are [`Measure`]s, defined once in [`measures`] by their JSON key:
//! the terminal table ([`text`]), the JSON (the evaluation itself, serialized)
//! and the HTML page ([`html`]) all read a cell's number from the row's JSON
//! by that key, so they cannot disagree, and adding a measure is one line.

pub mod html;
pub mod measures;
pub mod text;

use fp_metrics::GroupScore;
use serde_json::Value;

pub use measures::{Format, Measure};

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
    /// The scores, serialized as the evaluation's JSON has them.
    pub scores: Value,
}

impl ScoreRow {
    /// A row of `score`, found in the evaluation's JSON at `json_path`.
    pub fn new(label: impl Into<String>, json_path: &[&str], score: &GroupScore) -> Self {
        Self {
            label: label.into(),
            json_path: json_path.iter().map(|&k| k.to_owned()).collect(),
            scores: serde_json::to_value(score).expect("a group score serializes"),
        }
    }

    /// A row of any scores, as serialized at `json_path` in the evaluation's JSON.
    pub fn from_json(label: impl Into<String>, json_path: Vec<String>, scores: Value) -> Self {
        Self { label: label.into(), json_path, scores }
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
