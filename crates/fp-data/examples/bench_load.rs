//! Times loading a dataset: cold (decode + resize of every file) and cached.
//!
//! `cargo run --release -p fp-data --example bench_load -- [ROOT] [SIZE]`
//! prints a summary and, as its last line, one JSON object
//! `{"images": N, "cold_ms": .., "cached_ms": ..}` (medians over several runs).

use std::path::PathBuf;
use std::time::Instant;

use fp_data::{DataConfig, LoadSource};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "data/fvc2002".into()));
    let size: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(224);
    let cache_dir = std::env::temp_dir().join(format!("fpae-bench-cache-{}", std::process::id()));
    let config = DataConfig {
        root: root.into(),
        height: size,
        width: size,
        cache_dir: Some(cache_dir.clone()),
        ..DataConfig::default()
    };

    let uncached = DataConfig { cache: false, ..config.clone() };
    let mut cold = Vec::new();
    let mut images = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let (d, source) = fp_data::load_with_source(&uncached)?;
        cold.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(source, LoadSource::Decoded);
        images = d.len();
    }
    let t = Instant::now();
    fp_data::load(&config)?; // fills the cache
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut cached = Vec::new();
    let mut cached_read = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let (d, source) = fp_data::load_with_source(&config)?;
        cached.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(source, LoadSource::Cache);
        // The cached values are mapped lazily; also time touching all of them.
        let sum: f64 = d.images.iter().map(|&v| f64::from(v)).sum();
        std::hint::black_box(sum);
        cached_read.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_dir_all(&cache_dir);
    let (cold_ms, cached_ms) = (median(cold), median(cached));
    println!(
        "{images} images at {size}x{size} on {} threads: cold (decode + resize + scale) {cold_ms:.1} ms, \
         first load writing the cache {first_ms:.1} ms, cached {cached_ms:.1} ms ({:.0}x faster), \
         cached and every value read {:.1} ms",
        rayon::current_num_threads(),
        cold_ms / cached_ms,
        median(cached_read)
    );
    println!("{{\"images\": {images}, \"cold_ms\": {cold_ms:.2}, \"cached_ms\": {cached_ms:.2}}}");
    Ok(())
}
