//! `fpae pairs`: the (damaged input, clean target) samples training with a
//! config would draw, written as WebDataset tar shards for other trainers
//! (the layout is in docs/scale.md; the work in `fp_train::write_shards`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use fp_train::{Config, DEFAULT_SHARD_SIZE, ShardOptions};

#[derive(Debug, clap::Args)]
pub struct PairsArgs {
    /// Configuration file (TOML), as for `fpae train`.
    config: PathBuf,
    /// Samples to write: the first N of the training stream, epoch after epoch.
    #[arg(long, value_name = "N")]
    count: usize,
    /// The folder to write the shards and manifest.json into; it must be new or empty.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Samples per shard (the last shard holds the rest).
    #[arg(long, value_name = "M", default_value_t = DEFAULT_SHARD_SIZE)]
    shard_size: usize,
    /// The run seed the crops, damage and epoch orders are drawn from (sets train.seed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Override a setting, e.g. `--set data.crop=96` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(args: PairsArgs) -> anyhow::Result<ExitCode> {
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("train.seed={seed}"));
    }
    let config = Config::load(&args.config, &overrides)?;
    let data =
        fp_data::load(&config.data).with_context(|| format!("cannot load the images under {}", config.data.root))?;
    let split = fp_data::training_split(&data, &config.data)?;
    tracing::info!(
        "{} images: drawing from the {} of the training split ({} validation prints left out)",
        data.len(),
        split.train.len(),
        split.val.len()
    );
    let started = Instant::now();
    let bar = crate::shared::progress(args.count, "samples");
    bar.set_message("writing shards");
    let options = ShardOptions { count: args.count, shard_size: args.shard_size };
    let manifest =
        fp_train::write_shards(&args.out, &config, &data, &split, options, &mut |n| bar.set_position(n as u64))
            .with_context(|| format!("cannot write the shards into {}", args.out.display()))?;
    bar.finish_and_clear();
    println!(
        "{} samples in {} shards ({} a shard, {} an epoch) in {} ({:.1} s); {}",
        manifest.count,
        manifest.shards.len(),
        manifest.shard_size,
        manifest.samples_per_epoch,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        args.out.join(fp_train::SHARDS_MANIFEST).display()
    );
    Ok(ExitCode::SUCCESS)
}
