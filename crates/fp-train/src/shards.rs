//! The training pairs of a configuration written out as WebDataset shards, so
//! that other trainers (a PyTorch one, a cluster's data loader) learn from
//! exactly the crops and damage `fpae train` would draw.
//!
//! Sample `i` of the stream is the `i % n`-th sample of epoch `1 + i / n` in
//! that epoch's training order ([`epoch_order`]), where `n` is the number of
//! training samples per epoch, and it is made by [`Pairs::train_sample`], the
//! function the training loop's batches are made of. Only the training split's
//! prints are used.
//!
//! `DIR/000000.tar`, `DIR/000001.tar`, ... hold `shard_size` samples each (the
//! last one the rest), each sample as three members named by its key (the
//! sample's number, 9 digits): `<key>.input.png` and `<key>.target.png` (8-bit
//! grey, the values mapped back through the dataset's scaling to the pixels
//! they were scaled from) and `<key>.json` ([`SampleRecord`]). `DIR/manifest.json`
//! ([`ShardsManifest`]) is written last: a folder without it is incomplete.
//! Every member has mode 0644, owner 0 and time 0, so the same configuration,
//! seed and count give byte-identical shards.

use std::io::{self, Write};
use std::path::Path;

use fp_data::{AppliedScaling, Dataset, Split};
use fp_degrade::Applied;
use image::GrayImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::task::{Pairs, Sample, TaskKind};
use crate::trainer::epoch_order;

/// What `manifest.json`'s `format` says.
pub const SHARDS_FORMAT: &str = "fpae-pairs";
/// The layout's version; a reader should refuse others.
pub const SHARDS_VERSION: u32 = 1;
/// The manifest's file name in a shards folder.
pub const SHARDS_MANIFEST: &str = "manifest.json";
/// Samples per shard unless told otherwise.
pub const DEFAULT_SHARD_SIZE: usize = 1000;

/// How many samples to write, and how many to a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOptions {
    /// Samples in all.
    pub count: usize,
    /// Samples per shard (the last shard holds the rest).
    pub shard_size: usize,
}

/// `manifest.json`: what the shards hold and how they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardsManifest {
    /// Always [`SHARDS_FORMAT`].
    pub format: String,
    /// The layout's version, [`SHARDS_VERSION`].
    pub version: u32,
    /// SHA-256 of `config`.
    pub config_sha256: String,
    /// The resolved configuration (TOML) the samples were drawn for.
    pub config: String,
    /// `reconstruct` (input = target) or `restore`.
    pub task: TaskKind,
    /// The run seed (`train.seed`) every crop and damage was drawn from.
    pub seed: u64,
    /// Samples in all shards.
    pub count: usize,
    /// Samples per shard.
    pub shard_size: usize,
    /// Training samples per epoch: the stream's epoch changes every this many samples.
    pub samples_per_epoch: usize,
    /// Training-split images they come from (validation prints are never used).
    pub train_images: usize,
    /// How the dataset's 8-bit pixels were scaled to [0, 1] for training: a
    /// reader scales the PNGs' pixels the same way.
    pub scaling: AppliedScaling,
    /// The shards, in order.
    pub shards: Vec<ShardEntry>,
}

/// One shard in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardEntry {
    /// File name in the folder, `000000.tar`.
    pub name: String,
    /// Samples it holds.
    pub samples: usize,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// `<key>.json`: where one sample comes from and what was done to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRecord {
    /// The sample's key in its shard (its number in the stream, 9 digits).
    pub key: String,
    /// The dataset's name (its `dataset.toml`, or its root folder's name).
    pub dataset: String,
    /// The database (sensor) within it, as per-database tables name it.
    pub database: String,
    /// The print's file, relative to its dataset root, with `/` separators.
    pub source: String,
    /// `[width, height]` of the print as stored for training (after `[data]`'s resize).
    pub image_size: [usize; 2],
    /// The window of the stored print the sample shows.
    #[serde(rename = "box")]
    pub crop_box: CropBox,
    /// The damage done to the input, in order, with the severity drawn (empty for `reconstruct`).
    pub damage: Vec<Applied>,
    /// The run seed (`train.seed`).
    pub seed: u64,
    /// The training epoch (from 1) this sample belongs to.
    pub epoch: usize,
    /// Its place in that epoch's training order (from 0).
    pub index: usize,
    /// Its number in the stream: `(epoch - 1) * samples_per_epoch + index`.
    pub number: usize,
    /// Which of the print's crops of the epoch it is.
    pub crop: usize,
}

/// A window of a stored print: its top-left corner and size. A window wider
/// or taller than the print repeats its last column or row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropBox {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
}

/// Where sample `number` of the stream comes from: its epoch and place in
/// the epoch's training order, and the training sample there (see
/// [`Pairs::samples`]). `order` caches the last epoch's order.
fn locate(seed: u64, per_epoch: usize, number: usize, order: &mut Option<(usize, Vec<i64>)>) -> (usize, usize, usize) {
    let (epoch, index) = (1 + number / per_epoch, number % per_epoch);
    if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
        *order = Some((epoch, epoch_order(seed, epoch, per_epoch)));
    }
    let sample = order.as_ref().expect("just filled").1[index] as usize;
    (epoch, index, sample)
}

/// The training samples `numbers` of the stream, as the training loop draws
/// them: `(epoch, index in the epoch, sample)` each. The same `config`, data
/// and split always give the same samples.
pub fn stream_samples(
    config: &Config,
    data: &Dataset,
    split: &Split,
    numbers: &[usize],
) -> Vec<(usize, usize, Sample)> {
    let pairs = Pairs::new(data, config);
    let per_epoch = pairs.samples(split.train.len());
    let mut order = None;
    let places: Vec<(usize, usize, usize)> =
        numbers.iter().map(|&n| locate(config.train.seed, per_epoch, n, &mut order)).collect();
    places
        .into_par_iter()
        .map(|(epoch, index, sample)| {
            let (image, crop) = pairs.pick(&split.train, sample);
            (epoch, index, pairs.train_sample(image, crop, epoch))
        })
        .collect()
}

/// The members of a shard that [`write_shards`] wrote (or of any tar file):
/// each name and its bytes, in the order they are stored.
pub fn read_shard(path: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(path).map_err(TrainError::io(path))?;
    let mut archive = tar::Archive::new(file);
    let mut members = Vec::new();
    for entry in archive.entries().map_err(TrainError::io(path))? {
        let mut entry = entry.map_err(TrainError::io(path))?;
        let name = entry.path().map_err(TrainError::io(path))?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut entry, &mut bytes).map_err(TrainError::io(path))?;
        members.push((name, bytes));
    }
    Ok(members)
}

/// Writes `options.count` training samples of `config` (drawn from the
/// training split of `data`) as shards into `dir`, which must not exist or be
/// empty; `progress` hears the number of samples written after each shard.
pub fn write_shards(
    dir: &Path,
    config: &Config,
    data: &Dataset,
    split: &Split,
    options: ShardOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<ShardsManifest> {
    if options.count == 0 {
        return Err(TrainError::InvalidSetting { field: "--count", expected: "expected at least 1 sample".into() });
    }
    if options.shard_size == 0 {
        return Err(TrainError::InvalidSetting {
            field: "--shard-size",
            expected: "expected at least 1 sample per shard".into(),
        });
    }
    if split.train.is_empty() {
        return Err(TrainError::InvalidSetting {
            field: "data.val_fraction",
            expected: "the training split is empty: no prints to draw pairs from".into(),
        });
    }
    refuse_non_empty(dir)?;
    std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
    let per_epoch = Pairs::new(data, config).samples(split.train.len());
    let mut shards = Vec::new();
    let mut written = 0;
    for (k, first) in (0..options.count).step_by(options.shard_size).enumerate() {
        let numbers: Vec<usize> = (first..(first + options.shard_size).min(options.count)).collect();
        let drawn = stream_samples(config, data, split, &numbers);
        let members: Vec<[(String, Vec<u8>); 3]> = numbers
            .par_iter()
            .zip(drawn.into_par_iter())
            .map(|(&number, (epoch, index, sample))| sample_members(config, data, number, epoch, index, &sample))
            .collect::<Result<_>>()?;
        let name = format!("{k:06}.tar");
        let path = dir.join(&name);
        let (bytes, sha256) = write_tar(&path, members.iter().flatten())?;
        shards.push(ShardEntry { name, samples: numbers.len(), bytes, sha256 });
        written += numbers.len();
        progress(written);
    }
    let text = config.to_toml();
    let manifest = ShardsManifest {
        format: SHARDS_FORMAT.into(),
        version: SHARDS_VERSION,
        config_sha256: hex(&Sha256::digest(text.as_bytes())),
        config: text,
        task: config.task.kind,
        seed: config.train.seed,
        count: options.count,
        shard_size: options.shard_size,
        samples_per_epoch: per_epoch,
        train_images: split.train.len(),
        scaling: data.scaling,
        shards,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("the manifest serializes") + "\n";
    fp_io::write_file_atomically(&dir.join(SHARDS_MANIFEST), json)?;
    Ok(manifest)
}

/// An error unless `dir` is absent or an empty folder.
fn refuse_non_empty(dir: &Path) -> Result<()> {
    let exists = |reason: &str| TrainError::OutputExists { path: dir.to_owned(), reason: reason.to_owned() };
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(exists("already exists and is not empty; give a new or empty folder")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.is_file() => Err(exists("is a file, expected a folder")),
        Err(e) => Err(TrainError::Io(fp_io::FileError::new(dir, e))),
    }
}

/// The three tar members of one sample: its JSON record and its two PNGs.
fn sample_members(
    config: &Config,
    data: &Dataset,
    number: usize,
    epoch: usize,
    index: usize,
    sample: &Sample,
) -> Result<[(String, Vec<u8>); 3]> {
    let key = format!("{number:09}");
    let source = &data.items[sample.image].source;
    let (w, h) = sample.size;
    let record = SampleRecord {
        key: key.clone(),
        dataset: source.dataset.clone(),
        database: source.database.clone(),
        source: source.relative.clone(),
        image_size: data.size(sample.image).into(),
        crop_box: CropBox { x: sample.origin.0, y: sample.origin.1, width: w, height: h },
        damage: sample.damage.clone(),
        seed: config.train.seed,
        epoch,
        index,
        number,
        crop: sample.crop,
    };
    let original = original_pixels(data, sample.image)?;
    let target = png(&data.scaling.invert(&sample.target, &original), w, h, &source.path)?;
    let input = match &sample.input {
        Some(values) => png(&data.scaling.invert(values, &original), w, h, &source.path)?,
        None => target.clone(),
    };
    let json = serde_json::to_vec(&record).expect("a sample record serializes");
    Ok([(format!("{key}.json"), json), (format!("{key}.input.png"), input), (format!("{key}.target.png"), target)])
}

/// The 8-bit pixels image `i` was scaled from, where mapping values back needs
/// them (each image's own range); otherwise empty, which dividing ignores.
fn original_pixels(data: &Dataset, i: usize) -> Result<Vec<u8>> {
    match data.scaling {
        AppliedScaling::Divide { .. } => Ok(Vec::new()),
        AppliedScaling::PerImageMinMax => Ok(fp_data::load_one(&data.items[i].source.path, &data.preprocess)?.0),
    }
}

/// `pixels` as an 8-bit grey PNG; `source` names the print in errors.
fn png(pixels: &[u8], w: usize, h: usize, source: &Path) -> Result<Vec<u8>> {
    let image = GrayImage::from_raw(w as u32, h as u32, pixels.to_vec()).expect("one value per pixel");
    let mut bytes = Vec::new();
    image
        .write_to(&mut io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| TrainError::Io(fp_io::FileError::new(source, io::Error::other(e))))?;
    Ok(bytes)
}

/// Writes `members` as a tar file at `path` (under a temporary name, then
/// renamed); returns its size and SHA-256.
fn write_tar<'a>(path: &Path, members: impl Iterator<Item = &'a (String, Vec<u8>)>) -> Result<(u64, String)> {
    let mut summary = (0, String::new());
    fp_io::write_atomically(path, |temporary: &Path| -> Result<()> {
        let written = (|| -> io::Result<(u64, String)> {
            let file = io::BufWriter::new(std::fs::File::create(temporary)?);
            let mut builder = tar::Builder::new(Hashing { inner: file, hasher: Sha256::new(), bytes: 0 });
            for (name, bytes) in members {
                let mut header = tar::Header::new_ustar();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                header.set_mode(0o644);
                header.set_uid(0);
                header.set_gid(0);
                header.set_mtime(0);
                builder.append_data(&mut header, name, bytes.as_slice())?;
            }
            let mut hashing = builder.into_inner()?;
            hashing.flush()?;
            Ok((hashing.bytes, hex(&hashing.hasher.finalize())))
        })();
        summary = written.map_err(TrainError::io(path))?;
        Ok(())
    })?;
    Ok(summary)
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// 2 sensors x 3 fingers x 2 impressions of 40x36 synthetic prints under
    /// `dir/data`, and a restore config on 16x16 crops (3 per print) with two
    /// kinds of damage, composed.
    fn project(dir: &Path, extra: &[&str]) -> (Config, Dataset, Split) {
        for (d, db) in ["DB1_B", "DB2_B"].into_iter().enumerate() {
            let folder = dir.join("data").join(db);
            std::fs::create_dir_all(&folder).unwrap();
            for finger in 1..=3u64 {
                for imp in 1..=2u64 {
                    let pixels =
                        fp_metrics::synthetic::ridge_pattern(40, 36, finger + 10 * d as u64, (imp as f64, 0.0));
                    GrayImage::from_raw(40, 36, pixels)
                        .unwrap()
                        .save(folder.join(format!("10{finger}_{imp}.png")))
                        .unwrap();
                }
            }
        }
        let text = format!(
            "[data]\nroot = {:?}\nresize = \"none\"\ncrop = 16\ncrops_per_image = 3\nsplit = \"by-finger\"\ncache = false\n\
             [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\n\
             [task]\nkind = \"restore\"\ncompose = [1, 2]\n\
             [[task.degradations]]\nkind = \"noise\"\nseverity = [0.1, 0.5]\n\
             [[task.degradations]]\nkind = \"scratch\"\nseverity = [0.3, 0.9]\n",
            dir.join("data").display().to_string()
        );
        let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let config = Config::from_toml(&text, &overrides, Path::new("test.toml")).unwrap();
        let data = fp_data::load(&config.data).unwrap();
        let split = fp_data::split_dataset(&data, &config.data).unwrap();
        (config, data, split)
    }

    fn gray(bytes: &[u8]) -> GrayImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap().into_luma8()
    }

    #[test]
    fn shards_hold_the_samples_the_training_batches_are_made_of() {
        let dir = tempfile::tempdir().unwrap();
        let (config, data, split) = project(dir.path(), &[]);
        // 4 training fingers x 2 impressions x 3 crops = 24 samples an epoch: 30 reach into epoch 2.
        let per_epoch = Pairs::new(&data, &config).samples(split.train.len());
        assert_eq!(per_epoch, 24);
        let out = dir.path().join("shards");
        let mut heard = Vec::new();
        let options = ShardOptions { count: 30, shard_size: 8 };
        let manifest = write_shards(&out, &config, &data, &split, options, &mut |n| heard.push(n)).unwrap();
        assert_eq!(heard, [8, 16, 24, 30]);
        let names: Vec<&str> = manifest.shards.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["000000.tar", "000001.tar", "000002.tar", "000003.tar"]);
        assert_eq!(manifest.shards.iter().map(|s| s.samples).collect::<Vec<_>>(), [8, 8, 8, 6]);
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(SHARDS_MANIFEST)).unwrap()).unwrap();
        assert_eq!(on_disk["count"], 30);
        assert_eq!(on_disk["format"], SHARDS_FORMAT);

        // Every sample of every shard, by key.
        let mut samples: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for shard in &manifest.shards {
            let path = out.join(&shard.name);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(hex(&Sha256::digest(&bytes)), shard.sha256);
            assert_eq!(bytes.len() as u64, shard.bytes);
            let in_shard = read_shard(&path).unwrap();
            assert_eq!(in_shard.len(), 3 * shard.samples);
            for (name, bytes) in in_shard {
                let (key, kind) = name.split_once('.').unwrap();
                samples.entry(key.to_owned()).or_default().insert(kind.to_owned(), bytes);
            }
        }
        assert_eq!(samples.len(), 30);
        let Some(AppliedScaling::Divide { divisor }) = Some(data.scaling) else { panic!("{:?}", data.scaling) };
        let pairs = Pairs::new(&data, &config);
        let train_names: Vec<&str> = split.train.iter().map(|&i| data.items[i].source.relative.as_str()).collect();
        for epoch in [1, 2] {
            // What the training loop feeds the model at this epoch.
            let order = epoch_order(config.train.seed, epoch, per_epoch);
            let batch = pairs.train_batch(&split.train, &order, epoch, tch::Device::Cpu);
            let (input, target) = (
                Vec::<f32>::try_from(batch.input.flatten(0, -1)).unwrap(),
                Vec::<f32>::try_from(batch.target.flatten(0, -1)).unwrap(),
            );
            for index in 0..per_epoch {
                let number = (epoch - 1) * per_epoch + index;
                let Some(files) = samples.get(&format!("{number:09}")) else { continue };
                assert_eq!(files.keys().collect::<Vec<_>>(), ["input.png", "json", "target.png"]);
                let record: SampleRecord = serde_json::from_slice(&files["json"]).unwrap();
                assert_eq!((record.epoch, record.index, record.number), (epoch, index, number));
                assert!(train_names.contains(&record.source.as_str()), "{} is a validation print", record.source);
                assert!((1..=2).contains(&record.damage.len()), "{:?}", record.damage);
                let window = index * 256..(index + 1) * 256;
                let eight_bit = |v: &[f32]| -> Vec<u8> { v.iter().map(|x| (x * divisor).round() as u8).collect() };
                assert_eq!(gray(&files["target.png"]).into_raw(), eight_bit(&target[window.clone()]), "{number}");
                assert_eq!(gray(&files["input.png"]).into_raw(), eight_bit(&input[window]), "{number}");
                // The box is where the target was cut from the stored print.
                let image = data.items.iter().position(|m| m.source.relative == record.source).unwrap();
                let mut cut = vec![0f32; 256];
                data.crop(image, record.crop_box.x, record.crop_box.y, 16, &mut cut);
                assert_eq!(gray(&files["target.png"]).into_raw(), eight_bit(&cut));
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_a_used_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (config, data, split) = project(dir.path(), &[]);
        let options = ShardOptions { count: 10, shard_size: 4 };
        let write = |name: &str, config: &Config| {
            let out = dir.path().join(name);
            write_shards(&out, config, &data, &split, options, &mut |_| {}).unwrap();
            (0..3).map(|k| std::fs::read(out.join(format!("{k:06}.tar"))).unwrap()).collect::<Vec<_>>()
        };
        let a = write("a", &config);
        assert_eq!(a, write("b", &config));
        let mut other = config.clone();
        other.train.seed += 1;
        assert_ne!(a, write("c", &other));

        let err = write_shards(&dir.path().join("a"), &config, &data, &split, options, &mut |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: already exists and is not empty; give a new or empty folder", dir.path().join("a").display())
        );
        let err = write_shards(
            &dir.path().join("d"),
            &config,
            &data,
            &split,
            ShardOptions { count: 0, shard_size: 4 },
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "--count: expected at least 1 sample");
    }

    #[test]
    fn whole_images_are_samples_without_crops() {
        let dir = tempfile::tempdir().unwrap();
        let (config, data, split) =
            project(dir.path(), &["data.resize=\"stretch\"", "data.width=32", "data.height=32"]);
        let drawn = stream_samples(&config, &data, &split, &[0, 7]);
        for (_, _, sample) in &drawn {
            assert_eq!((sample.origin, sample.size, sample.crop), ((0, 0), (32, 32), 0));
            assert_eq!(sample.target, data.image(sample.image));
            assert_ne!(sample.input.as_ref(), Some(&sample.target), "the input is damaged");
        }
    }
}
