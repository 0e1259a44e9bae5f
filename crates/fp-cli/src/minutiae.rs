use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fp_figures::{Mark, MarkKind};
use fp_metrics::minutiae::{MinutiaKind, Template};

use crate::shared::write_figure;

#[derive(Debug, clap::Args)]
pub struct MinutiaeArgs {
    /// The image (any format fpae reads), at its native resolution.
    image: PathBuf,
    /// Also draw the minutiae over the image into this PNG.
    #[arg(long, value_name = "OUT.png")]
    overlay: Option<PathBuf>,
    /// Scan resolution in pixels per inch (MINDTCT's quality estimate uses it).
    #[arg(long, value_name = "N", default_value_t = 500)]
    ppi: u16,
    /// Print the minutiae as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: MinutiaeArgs) -> anyhow::Result<ExitCode> {
    let image = fp_data::decode_gray(&args.image)?;
    let (w, h) = image.dimensions();
    let template = Template::detect_with_kinds(image.as_raw(), w as usize, h as usize, args.ppi)
        .with_context(|| format!("cannot find minutiae in {}", args.image.display()))?;
    // The picture first: printing may end the process (output piped into `head`).
    if let Some(out) = &args.overlay {
        let figure = fp_figures::minutiae_figure(&image, &marks(&template)).context("cannot draw the minutiae")?;
        write_figure(out, &figure)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&template).expect("a template serializes"));
    } else {
        let count = |kind| template.minutiae.iter().filter(|m| m.kind == Some(kind)).count();
        println!(
            "{}: {w}x{h}, {} minutiae ({} endings, {} bifurcations); {}",
            args.image.display(),
            template.len(),
            count(MinutiaKind::Ending),
            count(MinutiaKind::Bifurcation),
            if template.is_computable() { "BOZORTH3 can score it" } else { "too few for BOZORTH3 (it needs 10)" }
        );
        println!("{:>5} {:>5} {:>5} {:>7}  kind", "x", "y", "angle", "quality");
        for m in &template.minutiae {
            let kind = match m.kind {
                Some(MinutiaKind::Ending) => "ending",
                Some(MinutiaKind::Bifurcation) => "bifurcation",
                None => "-",
            };
            println!("{:>5} {:>5} {:>5} {:>7}  {kind}", m.x, m.y, m.angle, m.quality);
        }
    }
    if let Some(out) = &args.overlay.as_ref().filter(|_| !args.json) {
        println!("{}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A template's minutiae as marks to draw.
pub fn marks(template: &Template) -> Vec<Mark> {
    template
        .minutiae
        .iter()
        .map(|m| Mark {
            x: f64::from(m.x),
            y: f64::from(m.y),
            angle: f64::from(m.angle),
            kind: match m.kind {
                Some(MinutiaKind::Ending) => MarkKind::Ending,
                Some(MinutiaKind::Bifurcation) => MarkKind::Bifurcation,
                None => MarkKind::Other,
            },
        })
        .collect()
}
