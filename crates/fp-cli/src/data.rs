//! `fpae data`: the dataset a config prepares, described as the tutorial prints it
//! (shape, dtype, range), per database, with a PNG of its first images.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fp_figures::Tile;
use fp_train::Config;

use crate::shared::{to_gray, write_figure};

/// Images shown in the preview strip.
const PREVIEW_IMAGES: usize = 5;

/// What one database (sensor) contributes.
#[derive(Debug, Default)]
struct DatabaseSummary {
    images: usize,
    fingers: BTreeSet<u32>,
    sizes: BTreeSet<(u32, u32)>,
    ppi: BTreeSet<u16>,
}

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Configuration file (TOML); its `[data]` section is used.
    config: PathBuf,
    /// Override a setting, e.g. `--set data.root="other/folder"` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Where to write the preview of the first images (default: <runs_dir>/data-preview.png).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: DataArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, &args.set)?;
    let data =
        fp_data::load(&config.data).with_context(|| format!("cannot load the images under {}", config.data.root))?;
    let (min, max) = data.min_max();
    // The tutorial's NumPy view: (images, height, width, channels).
    match data.uniform_size() {
        Some((w, h)) => println!("shape: ({}, {h}, {w}, 1)", data.len()),
        None => println!("shape: ({}, native height, native width, 1)", data.len()),
    }
    println!("dtype: float32");
    println!("min: {min:?}, max: {max:?}");
    println!(
        "scaling: {}",
        match data.scaling {
            fp_data::AppliedScaling::Divide { divisor } => format!("pixel / {divisor}"),
            fp_data::AppliedScaling::PerImageMinMax => "each image's min..max to 0..1".into(),
        }
    );

    let mut per_db: BTreeMap<String, DatabaseSummary> = BTreeMap::new();
    for item in &data.items {
        let entry = per_db.entry(item.source.database()).or_default();
        entry.images += 1;
        if let Some(id) = &item.source.id {
            entry.fingers.insert(id.finger);
        }
        entry.sizes.insert((item.original_width, item.original_height));
        entry.ppi.insert(item.source.ppi);
    }
    println!("\n{:<12} {:>6} {:>7} {:>5}  original size (width x height)", "database", "images", "fingers", "ppi");
    for (db, s) in &per_db {
        let sizes: Vec<String> = s.sizes.iter().map(|(w, h)| format!("{w}x{h}")).collect();
        let ppi: Vec<String> = s.ppi.iter().map(u16::to_string).collect();
        println!("{db:<12} {:>6} {:>7} {:>5}  {}", s.images, s.fingers.len(), ppi.join(","), sizes.join(", "));
    }

    let tiles: Vec<Tile> = (0..data.len().min(PREVIEW_IMAGES))
        .map(|i| {
            let item = &data.items[i];
            let caption = vec![
                item.source.relative.clone(),
                format!("{}x{} original", item.original_width, item.original_height),
            ];
            let (w, h) = data.size(i);
            Tile::gray(&to_gray(data.image(i), w, h), caption)
        })
        .collect();
    let title = match data.uniform_size() {
        Some((w, h)) => format!("First {} images at {w}x{h}", tiles.len()),
        None => format!("First {} images at their own size", tiles.len()),
    };
    let image = fp_figures::grid(&[tiles], Some(&title)).context("cannot draw the preview")?;
    let out = args.out.unwrap_or_else(|| config.output.runs_dir.join("data-preview.png"));
    println!("\n{}", write_figure(&out, &image)?.display());
    Ok(ExitCode::SUCCESS)
}
