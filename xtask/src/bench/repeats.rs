//! Repeated measurements: the order they run in and what is reported of them.
//!
//! Each repeat of a measurement is one process that reports its own median step
//! time. The repeats of all measurements are interleaved (A B C, A B C, ...)
//! rather than run back to back (A A A, B B B, ...), so that a change in the
//! machine's state over the run (another program starting, the clock
//! throttling) falls on every program alike instead of on whichever ran then.

use serde_json::{Map, Value, json};

/// The order of `repeats` rounds over `jobs` measurements: (round, job) pairs,
/// each round running every job once, in plan order.
pub fn interleaved(jobs: usize, repeats: usize) -> Vec<(usize, usize)> {
    (0..repeats).flat_map(|round| (0..jobs).map(move |job| (round, job))).collect()
}

/// The median of the repeats and how far they spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// First and third quartiles, linearly interpolated (numpy's default).
    pub q1: f64,
    pub q3: f64,
}

/// The spread of `values` (NaNs left out); none when no value is left.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let at = q * (v.len() - 1) as f64;
        let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
    };
    Some(Spread { median: quantile(0.5), min: v[0], max: v[v.len() - 1], q1: quantile(0.25), q3: quantile(0.75) })
}

/// One measurement's repeats (the JSON objects `fpae bench --json` and
/// torch_bench.py print, each with the `other_load` of its run) as one object:
/// the first repeat's fields, with `images_per_sec` the median of the repeats,
/// `images_per_sec_min`, `_max`, `_q1`, `_q3` and `_repeats` (every repeat's,
/// in the order run), `other_load` (each repeat's), `peak_rss_mb` the largest,
/// and `repeats` their number. None when there are no repeats.
pub fn aggregate(runs: &[Value]) -> Option<Value> {
    let first = runs.first()?;
    let mut out: Map<String, Value> = first.as_object().cloned().unwrap_or_default();
    let ips: Vec<f64> = runs.iter().map(|r| r["images_per_sec"].as_f64().unwrap_or(f64::NAN)).collect();
    let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    match spread(&ips) {
        Some(s) => {
            out.insert("images_per_sec".into(), num(s.median));
            out.insert("images_per_sec_min".into(), num(s.min));
            out.insert("images_per_sec_max".into(), num(s.max));
            out.insert("images_per_sec_q1".into(), num(s.q1));
            out.insert("images_per_sec_q3".into(), num(s.q3));
        }
        None => {
            out.insert("images_per_sec".into(), Value::Null);
        }
    }
    out.insert("images_per_sec_repeats".into(), json!(ips.iter().map(|&v| num(v)).collect::<Vec<_>>()));
    out.insert("other_load".into(), json!(runs.iter().map(|r| r["other_load"].clone()).collect::<Vec<_>>()));
    let rss = runs.iter().filter_map(|r| r["peak_rss_mb"].as_f64()).fold(f64::NAN, f64::max);
    out.insert("peak_rss_mb".into(), num(rss));
    out.insert("repeats".into(), json!(runs.len()));
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_run_every_job_once_in_plan_order() {
        assert_eq!(interleaved(2, 3), [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]);
        assert_eq!(interleaved(3, 1), [(0, 0), (0, 1), (0, 2)]);
        assert!(interleaved(0, 5).is_empty());
        assert!(interleaved(4, 0).is_empty());
    }

    #[test]
    fn median_and_quartiles_by_hand() {
        // Sorted: 1 2 3 4 10. Median 3; q1 at index 1 = 2, q3 at index 3 = 4.
        let s = spread(&[10.0, 2.0, 4.0, 1.0, 3.0]).unwrap();
        assert_eq!(s, Spread { median: 3.0, min: 1.0, max: 10.0, q1: 2.0, q3: 4.0 });
        // Even count: the median is halfway between the middle two; q1 at index
        // 0.75 = 1 + 0.75 (2 - 1), q3 at index 2.25 = 4 + 0.25 (8 - 4).
        let s = spread(&[8.0, 1.0, 4.0, 2.0]).unwrap();
        assert_eq!((s.median, s.q1, s.q3), (3.0, 1.75, 5.0));
        let one = spread(&[7.5]).unwrap();
        assert_eq!((one.median, one.min, one.max, one.q1, one.q3), (7.5, 7.5, 7.5, 7.5, 7.5));
        assert_eq!(spread(&[f64::NAN, 2.0]).unwrap().median, 2.0);
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[f64::NAN]), None);
    }

    #[test]
    fn repeats_aggregate_to_their_median_with_spread_and_each_runs_load() {
        let runs = [
            json!({"mode": "train", "images_per_sec": 12.0, "peak_rss_mb": 900.0, "threads": 2, "other_load": 0.05}),
            json!({"mode": "train", "images_per_sec": 10.0, "peak_rss_mb": 950.0, "threads": 2, "other_load": 0.8}),
            json!({"mode": "train", "images_per_sec": 11.0, "peak_rss_mb": 920.0, "threads": 2, "other_load": null}),
        ];
        let a = aggregate(&runs).unwrap();
        assert_eq!(a["images_per_sec"], 11.0);
        assert_eq!((a["images_per_sec_min"].as_f64(), a["images_per_sec_max"].as_f64()), (Some(10.0), Some(12.0)));
        assert_eq!(a["images_per_sec_repeats"], json!([12.0, 10.0, 11.0]));
        assert_eq!(a["other_load"], json!([0.05, 0.8, null]));
        assert_eq!(a["peak_rss_mb"], 950.0);
        assert_eq!(
            (a["repeats"].as_u64(), a["mode"].as_str(), a["threads"].as_u64()),
            (Some(3), Some("train"), Some(2))
        );
        assert_eq!(aggregate(&[]), None);
    }
}
