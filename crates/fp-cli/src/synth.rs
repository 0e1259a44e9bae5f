//! `fpae synth`: seeded synthetic fingerprints with their ground truth, written
//! as a dataset that every other command reads (see docs/synthetic.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use fp_synth::{ClassChoice, StyleChoice, SynthConfig};
use serde::de::DeserializeOwned;

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Number of fingers to generate (each with --impressions prints).
    #[arg(long, value_name = "N")]
    count: usize,
    /// The dataset folder to create; it must not exist yet.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Seed of the set: the same seed gives the same bytes on every machine, for any subset of fingers.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Impressions of each finger.
    #[arg(long, value_name = "K", default_value_t = SynthConfig::default().impressions)]
    impressions: usize,
    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "400x500", value_parser = parse_size)]
    size: (usize, usize),
    /// Resolution in pixels per inch (ridges keep their physical spacing).
    #[arg(long, value_name = "P", default_value_t = SynthConfig::default().ppi)]
    ppi: u16,
    /// Pattern class: arch, tented-arch, left-loop, right-loop, whorl, or mixed (real-world frequencies).
    #[arg(long, value_name = "CLASS", default_value = "mixed", value_parser = parse_choice::<ClassChoice>)]
    class: ClassChoice,
    /// Sensor style: optical, capacitive, thermal, or mixed (one per finger).
    #[arg(long, value_name = "NAME", default_value = "mixed", value_parser = parse_choice::<StyleChoice>)]
    style: StyleChoice,
    /// Also draw the first finger's master print with its orientation field, singular points and minutiae.
    #[arg(long, value_name = "FILE.png")]
    overlay: Option<PathBuf>,
}

/// `400x500` -> (400, 500).
fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let parse = |s: &str| s.trim().parse::<usize>().ok().filter(|v| *v > 0);
    match text.split_once(['x', 'X']).map(|(w, h)| (parse(w), parse(h))) {
        Some((Some(w), Some(h))) => Ok((w, h)),
        _ => Err(format!("expected WIDTHxHEIGHT in pixels, like 400x500, not {text:?}")),
    }
}

/// A choice by its name in configs (`left-loop`).
fn parse_choice<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let (width, height) = args.size;
    let config = SynthConfig {
        width,
        height,
        ppi: args.ppi,
        class: args.class,
        style: args.style,
        impressions: args.impressions,
    };
    config.validate().context("invalid setting")?;
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    if args.out.exists() {
        bail!("--out {}: already exists; remove it or choose another folder", args.out.display());
    }
    let started = Instant::now();
    let summary = fp_io::create_dir_atomically(&args.out, |staging| -> anyhow::Result<_> {
        Ok(fp_synth::write_fingers(&config, args.seed, args.count, staging)?)
    })
    .with_context(|| format!("cannot write the synthetic prints into {}", args.out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let counts = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    };
    println!(
        "{} prints of {} fingers in {} ({:.1} prints/s); classes: {}; styles: {}; {:.0} minutiae per master",
        summary.images,
        summary.fingers,
        args.out.display(),
        summary.images as f64 / seconds,
        counts(&summary.classes),
        counts(&summary.styles),
        summary.mean_minutiae
    );
    if let Some(path) = &args.overlay {
        let finger = fp_synth::generate_finger(&config, args.seed, 0)?;
        fp_synth::render_overlay(&finger.master, 16).write_png(path)?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_choices_parse_or_say_what_is_expected() {
        assert_eq!(parse_size("400x500"), Ok((400, 500)));
        assert_eq!(parse_size("96X128"), Ok((96, 128)));
        for bad in ["400", "0x5", "ax5", ""] {
            assert!(parse_size(bad).unwrap_err().contains("WIDTHxHEIGHT"), "{bad}");
        }
        assert_eq!(parse_choice::<ClassChoice>("left-loop"), Ok(ClassChoice::LeftLoop));
        assert_eq!(parse_choice::<StyleChoice>("thermal"), Ok(StyleChoice::Thermal));
        assert!(parse_choice::<ClassChoice>("loop").unwrap_err().contains("left-loop"));
    }
}
