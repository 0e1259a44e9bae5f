//! The score tables of each kind of evaluation, as one [`Report`] value that
//! the terminal, the JSON and the HTML page all render.

use fp_metrics::GroupScore;
use fp_metrics::folders::FolderScores;
use fp_report::{Report, ScoreRow, ScoreTable, measures};
use fp_train::Evaluation;

use crate::benchmark::BenchmarkEvaluation;

/// A model's evaluation on a dataset: pixels per database and overall, then
/// (when measured) identity the same way. The rows' JSON places are those of
/// the serialized [`Evaluation`].
pub fn evaluation(evaluation: &Evaluation, subject: String) -> Report {
    let rows = |with: &dyn Fn(&GroupScore) -> bool| {
        let mut rows: Vec<ScoreRow> = evaluation
            .per_database
            .iter()
            .filter(|(_, g)| with(g))
            .map(|(db, g)| ScoreRow::new(db.as_str(), &["per_database", db], g))
            .collect();
        rows.push(ScoreRow::new("all", &[], &evaluation.all));
        rows
    };
    let mut tables = vec![ScoreTable {
        title: "pixels: the model's outputs against the originals".to_owned(),
        measures: measures::PIXELS,
        rows: rows(&|_| true),
        folded: false,
    }];
    if let Some(identity) = &evaluation.all.identity {
        let zero_fm = identity.zero_fm_threshold.map_or("none".to_owned(), |t| format!(">= {t}"));
        tables.push(ScoreTable {
            title: format!(
                "identity: BOZORTH3 match rates (%) at score >= 40 and at the zero-false-match threshold ({zero_fm}); \
                 minutiae matched within 8 px and 30 degrees"
            ),
            measures: measures::IDENTITY,
            rows: rows(&|g| g.identity.is_some()),
            folded: false,
        });
    }
    let per_image = evaluation
        .per_image
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let place = vec!["per_image".to_owned(), i.to_string()];
            ScoreRow::image(image.file.as_str(), place, image.quality, image.identity.clone())
        })
        .collect();
    tables.push(ScoreTable {
        title: format!("every print ({})", evaluation.per_image.len()),
        measures: measures::IMAGE,
        rows: per_image,
        folded: true,
    });
    Report { subject, tables }
}

/// `fpae score`: a row per group folder, per database when there are several,
/// and overall. The rows' JSON places are those of the serialized [`FolderScores`].
pub fn folder_scores(scores: &FolderScores) -> Report {
    let zero_fm = scores.all.identity.as_ref().and_then(|i| i.zero_fm_threshold);
    let title = format!(
        "{} against {}: BOZORTH3 match rates (%) at score >= 40 (zero-false-match threshold of the originals: {}); \
         minutiae matched within 8 px and 30 degrees",
        scores.candidates.display(),
        scores.originals.display(),
        zero_fm.map_or("none".to_owned(), |t| format!(">= {t}"))
    );
    let mut rows = Vec::new();
    for (name, group) in &scores.groups {
        if scores.groups.len() > 1 || !name.is_empty() {
            rows.push(ScoreRow::new(if name.is_empty() { "." } else { name }, &["groups", name], group));
        }
    }
    if scores.databases.len() > 1 {
        for (name, database) in &scores.databases {
            rows.push(ScoreRow::new(name.as_str(), &["databases", name], database));
        }
    }
    rows.push(ScoreRow::new("all", &["all"], &scores.all));
    Report {
        subject: scores.candidates.display().to_string(),
        tables: vec![ScoreTable { title, measures: measures::SCORES, rows, folded: false }],
    }
}

/// A restoration benchmark: per kind and severity a row for the degraded
/// input, the restoration and classical enhancement; then the same per
/// database (sensor) and overall; then the clean prints restored (do no
/// harm), per database and overall. The rows' JSON places are those of the
/// serialized [`BenchmarkEvaluation`].
pub fn benchmark(e: &BenchmarkEvaluation) -> Report {
    // (row name, JSON place of the scores, scores).
    let mut methods: Vec<(&str, Vec<&str>, &FolderScores)> =
        [("degraded", Some(&e.degraded)), ("restored", Some(&e.restored)), ("classical", e.classical.as_ref())]
            .into_iter()
            .filter_map(|(name, s)| Some((name, vec![name], s?)))
            .collect();
    methods.extend(e.peers.iter().map(|(name, s)| (name.as_str(), vec!["peers", name.as_str()], s)));
    fn place<'a>(at: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        at.iter().chain(rest).copied().collect()
    }
    let mut rows = Vec::new();
    for group in e.degraded.groups.keys() {
        for (name, at, scores) in &methods {
            if let Some(g) = scores.groups.get(group) {
                rows.push(ScoreRow::new(format!("{group} {name}"), &place(at, &["groups", group]), g));
            }
        }
    }
    for database in e.degraded.databases.keys() {
        for (name, at, scores) in &methods {
            if let Some(d) = scores.databases.get(database) {
                rows.push(ScoreRow::new(format!("{database} {name}"), &place(at, &["databases", database]), d));
            }
        }
    }
    for (name, at, scores) in &methods {
        rows.push(ScoreRow::new(format!("all {name}"), &place(at, &["all"]), &scores.all));
    }
    // Do no harm: the clean prints restored, against themselves ("originals" is the clean rate).
    if let Some(clean) = &e.clean_restored {
        if clean.databases.len() > 1 {
            for (database, d) in &clean.databases {
                let at = ["clean_restored", "databases", database.as_str()];
                rows.push(ScoreRow::new(format!("{database} clean restored"), &at, d));
            }
        }
        rows.push(ScoreRow::new("all clean restored", &["clean_restored", "all"], &clean.all));
    }
    let title = format!(
        "{} on {} (epoch {}); rates in % at BOZORTH3 score >= 40",
        e.model.display(),
        e.benchmark.name,
        e.epoch
    );
    Report {
        subject: format!("restoration benchmark {}", e.benchmark.name),
        tables: vec![ScoreTable { title, measures: measures::SCORES, rows, folded: false }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fp_metrics::Quality;

    /// Every row of `report` finds, at its JSON place in `json`, the numbers it shows.
    fn assert_rows_point_into(report: &Report, json: &serde_json::Value) {
        for table in &report.tables {
            for row in &table.rows {
                let group = fp_report::lookup(json, &row.json_path)
                    .unwrap_or_else(|| panic!("{:?} not in {json}", row.json_path));
                for m in table.measures {
                    assert_eq!(m.quantity.in_json(group), row.value(m), "{} of {}", m.key(), row.label);
                }
            }
        }
    }

    #[test]
    fn evaluation_rows_are_where_the_json_has_them() {
        let q = [Quality { mse: 0.02, psnr: 17.0, ssim: 0.4 }, Quality { mse: 0.01, psnr: 20.0, ssim: 0.6 }];
        let db1 = GroupScore::of(&q[..1]).unwrap();
        let db2 = GroupScore::of(&q[1..]).unwrap();
        let e = Evaluation {
            all: GroupScore::of(&q).unwrap(),
            per_database: [("DB1_B".to_owned(), db1), ("DB2_B".to_owned(), db2)].into(),
            per_image: vec![fp_train::ImageScore {
                file: "DB1_B/101_1.tif".into(),
                database: "DB1_B".into(),
                quality: q[0],
                identity: None,
            }],
        };
        let report = evaluation(&e, "run".into());
        assert_eq!(report.tables.len(), 2, "pixels and every print; no identity table without identity");
        assert_eq!(
            report.tables[0].rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
            ["DB1_B", "DB2_B", "all"]
        );
        assert_rows_point_into(&report, &serde_json::to_value(&e).unwrap());
    }
}
