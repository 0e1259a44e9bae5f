//! Writes the seed inputs of every fuzz target into `seeds/<target>/`: small,
//! valid examples of what each reader takes (prints in every format the `image`
//! crate reads here, the shipped configs with overrides, tiny saved models, a
//! manifest, a zip of one database), from which libFuzzer mutates. The seeds are
//! committed; run this again only to change them:
//! `cargo run -p fp-fuzz --example make_seeds`.

use std::io::{Cursor, Write};
use std::path::Path;

use anyhow::{Context, Result};
use fp_model::{InputSize, ModelConfig, TutorialCaeConfig, UnetConfig};
use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

fn main() -> Result<()> {
    let seeds = fp_fuzz::crate_dir().join("seeds");
    image_seeds(&seeds.join("image"))?;
    config_seeds(&seeds.join("config"))?;
    model_seeds(&seeds.join("model"))?;
    manifest_seeds(&seeds.join("fetch_manifest"))?;
    archive_seeds(&seeds.join("fetch_archive"))?;
    println!("seeds written under {}", seeds.display());
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// A print-like pattern: ridges as a sine of the distance from the centre.
fn ridges(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 - width as f32 / 2.0, y as f32 - height as f32 / 2.0);
        Luma([(128.0 + 100.0 * (dx.hypot(dy) * 1.3).sin()) as u8])
    })
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format)?;
    Ok(bytes.into_inner())
}

/// The `image` target's input: 4 settings bytes (width - 1, height - 1,
/// filter + 4 * resize mode, scaling), then the file.
fn image_seeds(dir: &Path) -> Result<()> {
    let gray = DynamicImage::ImageLuma8(ridges(24, 20));
    let gray16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(12, 10, |x, y| Luma([(x * 5000 + y * 300) as u16])));
    let rgb = DynamicImage::ImageRgb8(ImageBuffer::from_fn(9, 7, |x, y| Rgb([(x * 20) as u8, (y * 30) as u8, 90])));
    let alpha = DynamicImage::ImageLumaA8(ImageBuffer::from_fn(8, 8, |x, y| LumaA([(x * 30) as u8, (y * 32) as u8])));
    let seeds: [(&str, [u8; 4], &DynamicImage, ImageFormat); 7] = [
        ("gray-stretch.tif", [15, 15, 1, 0], &gray, ImageFormat::Tiff),
        ("gray-pad.png", [7, 11, 4 + 2, 1], &gray, ImageFormat::Png),
        ("gray-crop.bmp", [11, 7, 8 + 3, 2], &gray, ImageFormat::Bmp),
        ("gray-native.jpg", [0, 0, 12, 0], &gray, ImageFormat::Jpeg),
        ("gray16-pad.tif", [15, 7, 4 + 1, 2], &gray16, ImageFormat::Tiff),
        ("rgb-stretch.png", [3, 3, 0, 1], &rgb, ImageFormat::Png),
        ("alpha-crop.png", [5, 9, 8 + 1, 2], &alpha, ImageFormat::Png),
    ];
    for (name, settings, image, format) in seeds {
        let mut input = settings.to_vec();
        input.extend(encode(image, format)?);
        write(dir, name, &input)?;
    }
    Ok(())
}

/// The `config` target's input: a config's text, then NUL-separated overrides.
fn config_seeds(dir: &Path) -> Result<()> {
    let overrides: [(&str, &[&str]); 5] = [
        ("default.toml", &[]),
        ("quick.toml", &["train.epochs=5", "model.filters=[8, 16]", "data.root=[data/a,data/b]"]),
        ("native-cae.toml", &["data.crop=64", "train.patience=3"]),
        ("native-unet.toml", &["model.depth=2", "train.init=models/restore-fvc2002"]),
        ("restore.toml", &["task.kind=restore", "train.loss=ssim+l1", "output.name=x"]),
    ];
    let configs = fp_fuzz::crate_dir().join("../../configs");
    for (file, sets) in overrides {
        let path = configs.join(file);
        let mut input = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for set in sets {
            input.push(0);
            input.extend_from_slice(set.as_bytes());
        }
        write(dir, file, &input)?;
    }
    Ok(())
}

/// The `model` target's input: `model.toml`, NUL, `model.safetensors`, of tiny
/// models of each kind saved by `fp_model::save`.
fn model_seeds(dir: &Path) -> Result<()> {
    let tiny_cae = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![2, 3], kernel_size: 3 });
    let tiny_unet = ModelConfig::Unet(UnetConfig { depth: 1, base_width: 2, ..UnetConfig::default() });
    for config in [tiny_cae, tiny_unet] {
        let name = config.kind_name();
        let vars = tch::nn::VarStore::new(tch::Device::Cpu);
        fp_model::Autoencoder::new(&vars.root(), &config, 7)?;
        let saved = tempfile::tempdir()?;
        fp_model::save(saved.path(), &vars, &config, InputSize { height: 8, width: 8 })?;
        let mut input = std::fs::read(saved.path().join(fp_model::MODEL_CONFIG_FILE))?;
        input.push(0);
        input.extend(std::fs::read(saved.path().join(fp_model::MODEL_WEIGHTS_FILE))?);
        write(dir, name, &input)?;
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `fetch_manifest` target's input: manifests as `data/*.sha256` hold them.
fn manifest_seeds(dir: &Path) -> Result<()> {
    let shipped = fp_fuzz::crate_dir().join("../../data/fvc2002.sha256");
    let text = std::fs::read_to_string(&shipped).with_context(|| format!("cannot read {}", shipped.display()))?;
    let head: String = text.lines().take(6).map(|l| format!("{l}\n")).collect();
    write(dir, "fvc2002-head.sha256", head.as_bytes())?;
    let matching = format!("# one file\n{}  DB1_B/1_1.tif\n", sha256_hex(b"not really a print"));
    write(dir, "matching.sha256", matching.as_bytes())
}

/// The `fetch_archive` target's input: a manifest, NUL, a zip of `DB1_B`, one
/// whose images match the manifest and one laid out in a top-level folder with a
/// file that is no image.
fn archive_seeds(dir: &Path) -> Result<()> {
    let prints: Vec<(String, Vec<u8>)> = (1..=2)
        .map(|i| Ok((format!("{i}_1.tif"), encode(&DynamicImage::ImageLuma8(ridges(6 + i, 5)), ImageFormat::Tiff)?)))
        .collect::<Result<_>>()?;
    let manifest: String =
        prints.iter().map(|(name, bytes)| format!("{}  DB1_B/{name}\n", sha256_hex(bytes))).collect();
    let layouts: [(&str, &str, zip::CompressionMethod, bool); 2] = [
        ("flat-stored", "", zip::CompressionMethod::Stored, false),
        ("folder-deflated", "DB1_B/", zip::CompressionMethod::Deflated, true),
    ];
    for (name, prefix, method, with_readme) in layouts {
        let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(method);
        if !prefix.is_empty() {
            archive.add_directory(prefix, options)?;
        }
        for (file, bytes) in &prints {
            archive.start_file(format!("{prefix}{file}"), options)?;
            archive.write_all(bytes)?;
        }
        if with_readme {
            archive.start_file(format!("{prefix}readme.txt"), options)?;
            archive.write_all(b"FVC2002 DB1_B")?;
        }
        let mut input = manifest.clone().into_bytes();
        input.push(0);
        input.extend(archive.finish()?.into_inner());
        write(dir, name, &input)?;
    }
    Ok(())
}
