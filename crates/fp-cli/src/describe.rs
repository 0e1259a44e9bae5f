//! `fpae describe`: a dataset of prints as the matcher sees them (minutiae,
//! ridge period, foreground, BOZORTH3 genuine and impostor rates), per
//! database and overall, and on request a picture of a few of its prints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use fp_figures::Tile;
use fp_metrics::describe::{DatasetDescription, GroupDescription, PairRate, PrintDescription, Spread, describe};
use fp_metrics::folders::Progress;

use crate::shared::{MeasureOutput, progress};

/// Height of each print in the --sample picture, in pixels.
const SAMPLE_HEIGHT: u32 = 300;
/// Prints per row of the --sample picture.
const SAMPLE_COLUMNS: usize = 4;

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// The dataset folder (its dataset.toml gives resolutions and naming), e.g. data/fvc2002.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    #[command(flatten)]
    output: MeasureOutput,
    /// Also draw --sample-count prints of the dataset, spread over its databases, into FILE.png.
    #[arg(long, value_name = "FILE.png")]
    sample: Option<PathBuf>,
    /// Prints in the --sample picture, in rows of four.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "sample")]
    sample_count: usize,
}

pub fn run(args: DescribeArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        bail!("{}: no such folder", args.dir.display());
    }
    if args.sample_count == 0 {
        bail!("--sample-count must be at least 1");
    }
    args.output.prepare()?;
    if let Some(sample) = &args.sample {
        crate::shared::prepare_out_file(sample, "--sample")?;
    }
    let cache = args.output.cache();
    let bar = progress(0, "steps");
    bar.set_message("minutiae and ridges");
    let on_progress = |p: Progress| match p {
        Progress::Total(n) => bar.set_length(n as u64),
        Progress::Done => bar.inc(1),
    };
    let description = describe(&args.dir, cache.as_ref(), &on_progress)?;
    bar.finish_and_clear();
    if let Some(out) = &args.output.out {
        let json = serde_json::to_string_pretty(&description).expect("a description serializes");
        fp_io::write_file_atomically(out, format!("{json}\n"))?;
    }
    if let Some(path) = &args.sample {
        let picture = sample_picture(&description, args.sample_count)?;
        crate::shared::write_figure(path, &picture)?;
    }
    if args.output.json {
        println!("{}", serde_json::to_string(&description).expect("a description serializes"));
    } else {
        print!("{}", table(&description));
        for path in args.output.out.iter().chain(&args.sample) {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The dataset's table: a row per database and one over all, markdown-style.
fn table(d: &DatasetDescription) -> String {
    let header = [
        "database",
        "prints",
        "fingers",
        "minutiae median (range)",
        "ridge period px (range)",
        "period mm",
        "foreground",
        "type-II@40 (pairs)",
        "impostor@40 (pairs)",
        "not computable prints / pairs",
    ];
    let row = |name: &str, g: &GroupDescription| -> Vec<String> {
        vec![
            name.to_owned(),
            g.prints.to_string(),
            g.fingers.to_string(),
            spread(g.minutiae, 0),
            spread(g.ridge_period_px, 1),
            g.ridge_period_mm.map_or("n/a".into(), |s| format!("{:.3}", s.median)),
            g.foreground.map_or("n/a".into(), |s| format!("{:.2}", s.median)),
            rate(&g.type2),
            rate(&g.impostor),
            format!("{} / {}", g.not_computable_prints, g.type2.not_computable + g.impostor.not_computable),
        ]
    };
    let mut rows: Vec<Vec<String>> = d.databases.iter().map(|(name, g)| row(name, g)).collect();
    rows.push(row("all", &d.overall));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].len()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(
                |(c, cell)| {
                    if c == 0 { format!("{cell:<w$}", w = widths[c]) } else { format!("{cell:>w$}", w = widths[c]) }
                },
            )
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(c, &w)| if c == 0 { "-".repeat(w) } else { format!("{}:", "-".repeat(w - 1)) })
        .collect();
    let mut out = format!(
        "{} ({}): {} prints of {} fingers; BOZORTH3 rates at score >= 40\n\n",
        d.dataset,
        d.root.display(),
        d.overall.prints,
        d.overall.fingers
    );
    out += &line(&header.map(String::from));
    out += &line(&rule);
    for r in &rows {
        out += &line(r);
    }
    out
}

/// `38 (20-70)`, or `n/a`.
fn spread(s: Option<Spread>, decimals: usize) -> String {
    s.map_or("n/a".into(), |s| format!("{:.d$} ({:.d$}-{:.d$})", s.median, s.min, s.max, d = decimals))
}

/// `62.5 % (560)`, or `n/a (0)`.
fn rate(r: &PairRate) -> String {
    let computable = r.pairs - r.not_computable;
    match r.rate_40 {
        Some(v) => format!("{:.1} % ({computable})", 100.0 * v),
        None => format!("n/a ({computable})"),
    }
}

/// Up to `count` prints spread over the databases in turn: in each database
/// the first impressions of fingers spread over its fingers (every print when
/// the naming gives no fingers).
fn pick_samples(prints: &[PrintDescription], count: usize) -> Vec<&PrintDescription> {
    let mut by_database: BTreeMap<&str, Vec<&PrintDescription>> = BTreeMap::new();
    for p in prints {
        by_database.entry(p.database.as_str()).or_default().push(p);
    }
    let candidates: Vec<Vec<&PrintDescription>> = by_database
        .into_values()
        .map(|mut ps| {
            ps.sort_by_key(|p| p.finger.map(|(f, i)| (i, f)));
            let firsts: Vec<&PrintDescription> = match ps.first().and_then(|p| p.finger) {
                Some((_, first)) => ps.iter().copied().filter(|p| p.finger.is_some_and(|(_, i)| i == first)).collect(),
                None => ps,
            };
            firsts
        })
        .collect();
    let per_database = count.div_ceil(candidates.len().max(1));
    let spread_picks: Vec<Vec<&PrintDescription>> = candidates
        .iter()
        .map(|c| {
            let n = per_database.min(c.len());
            (0..n).map(|j| c[j * c.len() / n]).collect()
        })
        .collect();
    let mut picked = Vec::new();
    for j in 0..per_database {
        for picks in &spread_picks {
            if let Some(&p) = picks.get(j) {
                picked.push(p);
            }
        }
    }
    picked.truncate(count);
    picked
}

/// A grid of a few of the dataset's prints, each scaled to the same height,
/// captioned with its file and minutiae count.
fn sample_picture(d: &DatasetDescription, count: usize) -> anyhow::Result<image::RgbImage> {
    let tiles: Vec<Tile> = pick_samples(&d.prints, count)
        .into_iter()
        .map(|p| -> anyhow::Result<Tile> {
            let path = d.root.join(&p.file);
            let image = fp_data::decode_gray(&path)?;
            let width = (f64::from(image.width()) * f64::from(SAMPLE_HEIGHT) / f64::from(image.height())).round();
            let scaled = image::imageops::resize(
                &image,
                (width as u32).max(1),
                SAMPLE_HEIGHT,
                image::imageops::FilterType::Triangle,
            );
            Ok(Tile::gray(&scaled, vec![p.file.clone(), format!("{} minutiae", p.minutiae)]))
        })
        .collect::<anyhow::Result<_>>()?;
    let rows: Vec<Vec<Tile>> = tiles.chunks(SAMPLE_COLUMNS).map(<[Tile]>::to_vec).collect();
    let title = format!("{}: {} prints of {} fingers", d.dataset, d.overall.prints, d.overall.fingers);
    fp_figures::grid(&rows, Some(&title)).with_context(|| format!("cannot draw the prints of {}", d.root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A print of `database` as `fpae describe --json` writes it.
    fn print(database: &str, finger: u32, impression: u32) -> PrintDescription {
        serde_json::from_value(serde_json::json!({
            "file": format!("{database}/{finger}_{impression}.png"), "database": database,
            "finger": [finger, impression], "width": 1, "height": 1, "ppi": 500, "minutiae": 0,
            "ridge_period_px": null, "ridge_period_mm": null, "foreground": 0.0,
        }))
        .expect("a print's description")
    }

    #[test]
    fn samples_take_first_impressions_in_turn_from_each_database() {
        let mut prints = Vec::new();
        for db in ["A", "B"] {
            for finger in 1..=4 {
                for imp in 1..=2 {
                    prints.push(print(db, finger, imp));
                }
            }
        }
        let files: Vec<&str> = pick_samples(&prints, 4).iter().map(|p| p.file.as_str()).collect();
        assert_eq!(files, ["A/1_1.png", "B/1_1.png", "A/3_1.png", "B/3_1.png"]);
        assert_eq!(pick_samples(&prints, 3).len(), 3);
        assert_eq!(pick_samples(&prints, 100).len(), 8, "every first impression, no more");
    }
}
