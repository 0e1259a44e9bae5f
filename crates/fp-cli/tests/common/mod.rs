//! What the end-to-end tests share: running the `fpae` binary and reading its output.
// Each test crate uses its own part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `fpae` in `cwd`, with its caches under `cwd/cache` and no `RUST_LOG`.
pub fn fpae(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpae"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .env_remove("RUST_LOG")
        .output()
        .expect("fpae runs")
}

/// Output bytes as text.
pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The last line of standard output.
pub fn last_line(out: &Output) -> String {
    text(&out.stdout).lines().last().unwrap_or_default().to_owned()
}

/// 2 databases x 4 fingers x 2 impressions of 20x20 ridge-like images in
/// `dir/data`, for tiny runs of the tutorial's network.
pub fn tiny_prints(dir: &Path) {
    for db in ["DB1_B", "DB2_B"] {
        let folder = dir.join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 101..105u32 {
            for imp in 1..3u32 {
                let img = image::GrayImage::from_fn(20, 20, |x, y| {
                    let v = ((x as f32 * 0.8 + y as f32 * 0.3 + (finger + imp) as f32).sin() * 0.5 + 0.5) * 250.0;
                    image::Luma([v as u8])
                });
                img.save(folder.join(format!("{finger}_{imp}.png"))).unwrap();
            }
        }
    }
}

/// 2 databases x `fingers` fingers x 2 impressions of `size` x `size`
/// synthetic prints (each impression the finger's pattern shifted) in
/// `dir/data`, with a manifest giving DB2_B 569 ppi, and `dir/restore.toml`: a
/// one-epoch restoration config of a tiny U-Net on `crops_per_image` 32x32
/// crops per print.
pub fn restore_project(dir: &Path, fingers: u32, size: u32, crops_per_image: u32) {
    for (d, db) in ["DB1_B", "DB2_B"].into_iter().enumerate() {
        let folder = dir.join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 1..=fingers {
            for imp in 1..3u32 {
                let shift = (f64::from(imp) * 2.0, 1.0 - f64::from(imp));
                let pixels = fp_metrics::synthetic::ridge_pattern(
                    size as usize,
                    size as usize,
                    u64::from(finger) + 10 * d as u64,
                    shift,
                );
                image::GrayImage::from_raw(size, size, pixels)
                    .unwrap()
                    .save(folder.join(format!("10{finger}_{imp}.png")))
                    .unwrap();
            }
        }
    }
    std::fs::write(dir.join("data/dataset.toml"), "name = \"synthetic\"\n[subsets.DB2_B]\nppi = 569\n").unwrap();
    std::fs::write(
        dir.join("restore.toml"),
        format!(
            "[data]\nroot = \"data\"\nresize = \"none\"\ncrop = 32\ncrops_per_image = {crops_per_image}\nsplit = \"by-finger\"\n\n\
             [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\n\n\
             [task]\nkind = \"restore\"\n[[task.degradations]]\nkind = \"noise\"\nseverity = [0.1, 0.5]\n\n\
             [train]\nepochs = 1\nbatch_size = 8\ndevice = \"cpu\"\n"
        ),
    )
    .unwrap();
}
