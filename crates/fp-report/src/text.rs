//! The terminal rendering of a [`Report`]: fixed-width columns, a heading over
//! each band of columns, and `|` between bands.

use crate::{Measure, Report, ScoreTable};

/// The narrowest label column (so that short tables line up with wide ones).
const MIN_LABEL_WIDTH: usize = 12;
/// The narrowest number column.
const MIN_COLUMN_WIDTH: usize = 6;

/// Every table of `report` under its title, one blank line between tables;
/// folded tables (one row per print) are left to the page and the JSON.
pub fn render(report: &Report) -> String {
    let tables: Vec<String> = report.tables.iter().filter(|t| !t.folded).map(table).collect();
    tables.join("\n")
}

/// One table: its title, the band and column headings, then a line per row.
pub fn table(table: &ScoreTable) -> String {
    let cells: Vec<Vec<String>> =
        table.rows.iter().map(|row| table.measures.iter().map(|m| m.cell(row.value(m))).collect()).collect();
    let label_width = table.rows.iter().map(|r| r.label.len()).max().unwrap_or(0).max(MIN_LABEL_WIDTH);
    let widths: Vec<usize> = table
        .measures
        .iter()
        .enumerate()
        .map(|(c, m)| {
            cells.iter().map(|row| row[c].len()).chain([m.heading.len(), MIN_COLUMN_WIDTH]).max().unwrap_or(0)
        })
        .collect();
    let bands = bands(table.measures);
    let line = |label: &str, columns: &dyn Fn(usize) -> String| {
        let segments: Vec<String> = bands
            .iter()
            .map(|range| {
                range.clone().map(|c| format!("{:>w$}", columns(c), w = widths[c])).collect::<Vec<_>>().join(" ")
            })
            .collect();
        format!("{label:<label_width$} {}\n", segments.join(" | "))
    };
    let mut out = format!("{}\n", table.title);
    if table.measures.iter().any(|m| !m.band.is_empty()) {
        let segments: Vec<String> = bands
            .iter()
            .map(|range| {
                let width = range.clone().map(|c| widths[c]).sum::<usize>() + range.len() - 1;
                format!("{:<width$}", table.measures[range.start].band)
            })
            .collect();
        out += format!("{:label_width$} {}", "", segments.join(" | ")).trim_end();
        out += "\n";
    }
    out += &line("group", &|c| table.measures[c].heading.to_owned());
    for (row, cells) in table.rows.iter().zip(&cells) {
        out += &line(&row.label, &|c| cells[c].clone());
    }
    out
}

/// The runs of neighbouring columns that share a band, as index ranges.
fn bands(measures: &[Measure]) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for (c, m) in measures.iter().enumerate() {
        match ranges.last_mut() {
            Some(last) if measures[last.start].band == m.band => last.end = c + 1,
            _ => ranges.push(c..c + 1),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ScoreRow, measures};
    use fp_metrics::{GroupScore, Quality};

    fn group(psnr: f64) -> GroupScore {
        GroupScore::of(&[Quality { mse: 0.01, psnr, ssim: 0.5 }]).unwrap()
    }

    #[test]
    fn columns_line_up_under_their_headings() {
        let t = ScoreTable {
            title: "pixels".into(),
            measures: measures::PIXELS,
            folded: false,
            rows: vec![
                ScoreRow::new("DB1_B", &["per_database", "DB1_B"], &group(20.0)),
                ScoreRow::new("all", &[], &group(21.456)),
            ],
        };
        let text = table(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "pixels");
        assert_eq!(lines[1], "group        images      MSE PSNR (dB)   SSIM");
        assert_eq!(lines[3], "all               1 0.010000     21.46 0.5000");
        assert!(lines.iter().skip(1).all(|l| l.len() == lines[1].len()), "{text}");
    }

    #[test]
    fn bands_are_headed_and_separated() {
        let t = ScoreTable {
            title: "scores".into(),
            measures: measures::SCORES,
            folded: false,
            rows: vec![ScoreRow::new("all", &[], &group(9.0))],
        };
        let text = table(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("minutiae") && lines[1].contains("type II"), "{text}");
        assert!(lines[3].starts_with("all") && lines[3].matches('|').count() == 5, "{text}");
        // Without identity measures every identity cell is `-`.
        assert_eq!(lines[3].matches(" -").count(), 7, "{text}");
        assert_eq!(bands(measures::SCORES).len(), 6);
    }
}
