//! Loading whole datasets: decoding, scaling, caching, bad files, and the real FVC2002 data.

use std::path::{Path, PathBuf};

use fp_data::{DataConfig, LoadSource, ResizeMode, Scaling, SplitKind};
use image::{GrayImage, Luma};

/// Writes a small FVC-like tree: 2 databases x 3 fingers x 2 impressions of
/// different sizes and formats, with pixel values up to `peak`.
fn synthetic_tree(root: &Path, peak: u8) {
    for (d, (w, h)) in [(40u32, 30u32), (24, 48)].into_iter().enumerate() {
        let db = root.join(format!("DB{}_B", d + 1));
        std::fs::create_dir_all(&db).unwrap();
        for finger in 101..104u32 {
            for imp in 1..3u32 {
                let img = GrayImage::from_fn(w, h, |x, y| {
                    Luma([((x * 7 + y * 3 + finger + imp * 11) % (u32::from(peak) + 1)) as u8])
                });
                let ext = if imp == 1 { "tif" } else { "png" };
                img.save(db.join(format!("{finger}_{imp}.{ext}"))).unwrap();
            }
        }
    }
}

fn config(root: &Path, cache: &Path) -> DataConfig {
    DataConfig {
        root: root.to_owned(),
        height: 16,
        width: 16,
        cache_dir: Some(cache.to_owned()),
        ..DataConfig::default()
    }
}

#[test]
fn loads_scales_to_dataset_max_and_keeps_metadata() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_tree(&dir.path().join("data"), 200);
    let cfg = DataConfig { cache: false, ..config(&dir.path().join("data"), &dir.path().join("cache")) };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!((d.len(), d.height, d.width, d.images.len()), (12, 16, 16, 12 * 256));
    // Dataset-max scaling divides by the largest resized pixel, so the maximum is exactly 1.
    let (lo, hi) = d.min_max();
    assert!((0.0..0.1).contains(&lo) && hi == 1.0, "{lo} {hi}");
    let fp_data::AppliedScaling::Divide { divisor } = d.scaling else { panic!("{:?}", d.scaling) };
    assert!(divisor > 150.0 && divisor <= 200.0, "{divisor}");
    let first = &d.items[0];
    assert_eq!(first.source.relative, "DB1_B/101_1.tif");
    assert_eq!((first.original_width, first.original_height), (40, 30));
    let id = d.items[11].source.id.as_ref().unwrap();
    assert_eq!((id.database.as_str(), id.finger, id.impression), ("DB2_B", 103, 2));

    let d255 = fp_data::load(&DataConfig { scale: Scaling::Max255, ..cfg.clone() }).unwrap();
    assert!((d255.min_max().1 - divisor / 255.0).abs() < 1e-6);
    let minmax = fp_data::load(&DataConfig { scale: Scaling::PerImageMinMax, ..cfg }).unwrap();
    for i in 0..minmax.len() {
        let img = minmax.image(i);
        let (lo, hi) = img.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!((lo, hi), (0.0, 1.0), "image {i}");
    }
}

#[test]
fn second_load_comes_from_the_cache_and_any_change_invalidates_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synthetic_tree(&root, 255);
    let cfg = config(&root, &dir.path().join("cache"));
    let (cold, s1) = fp_data::load_with_source(&cfg).unwrap();
    let (warm, s2) = fp_data::load_with_source(&cfg).unwrap();
    assert_eq!((s1, s2), (LoadSource::Decoded, LoadSource::Cache));
    assert!(warm.images.is_mapped());
    assert_eq!(&*cold.images, &*warm.images);
    assert_eq!(cold.items, warm.items);
    assert_eq!(cold.scaling, warm.scaling);

    // A different setting is a different entry.
    let padded = DataConfig { resize: ResizeMode::Pad, ..cfg.clone() };
    assert_eq!(fp_data::load_with_source(&padded).unwrap().1, LoadSource::Decoded);
    let bigger = DataConfig { height: 20, width: 20, ..cfg.clone() };
    assert_eq!(fp_data::load_with_source(&bigger).unwrap().1, LoadSource::Decoded);

    // A changed file is a different entry, and its new pixels are loaded.
    let file = root.join("DB1_B/101_1.tif");
    GrayImage::from_pixel(40, 30, Luma([0])).save(&file).unwrap();
    let (changed, s3) = fp_data::load_with_source(&cfg).unwrap();
    assert_eq!(s3, LoadSource::Decoded);
    assert!(changed.image(0).iter().all(|&v| v == 0.0));

    // A damaged entry is rebuilt, not trusted.
    for entry in std::fs::read_dir(dir.path().join("cache")).unwrap() {
        let path = entry.unwrap().path();
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 4).unwrap();
    }
    assert_eq!(fp_data::load_with_source(&cfg).unwrap().1, LoadSource::Decoded);
}

#[test]
fn an_unreadable_image_is_an_error_naming_it_or_skipped_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synthetic_tree(&root, 255);
    let bad: PathBuf = root.join("DB2_B/102_2.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let cfg = DataConfig { cache: false, ..config(&root, &dir.path().join("cache")) };
    let err = fp_data::load(&cfg).unwrap_err().to_string();
    assert_eq!(err, format!("cannot decode image {}", bad.display()));

    let d = fp_data::load(&DataConfig { skip_unreadable: true, ..cfg }).unwrap();
    assert_eq!(d.len(), 11);
    assert!(d.items.iter().all(|m| m.source.path != bad));
}

#[test]
fn invalid_settings_name_the_field() {
    let cfg = DataConfig { val_fraction: 1.5, ..DataConfig::default() };
    let err = fp_data::load(&cfg).unwrap_err().to_string();
    assert_eq!(err, "data.val_fraction: expected a fraction strictly between 0 and 1, got 1.5");
    let cfg = DataConfig { height: 0, ..DataConfig::default() };
    assert_eq!(fp_data::load(&cfg).unwrap_err().to_string(), "data.height: expected 1..=8192 pixels, got 0");
}

/// The real FVC2002 B sets, from `../shared/data/fvc2002` beside the checkout
/// (or `FPAE_FVC2002` when set). The tutorial's check: (320, 224, 224, 1), min 0, max 1.
#[test]
fn real_fvc2002_matches_the_tutorial_shape_and_range() {
    let root = std::env::var_os("FPAE_FVC2002")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fvc2002"));
    if !root.is_dir() {
        eprintln!("skipped: FVC2002 not found at {} (set FPAE_FVC2002)", root.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = DataConfig { root, cache_dir: Some(dir.path().to_owned()), ..DataConfig::default() };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!((d.len(), d.height, d.width), (320, 224, 224));
    assert_eq!(d.min_max(), (0.0, 1.0));
    let mut per_db = std::collections::BTreeMap::new();
    for m in &d.items {
        *per_db.entry(m.source.database()).or_insert(0) += 1;
        assert!(m.source.id.is_some(), "{}", m.source.relative);
    }
    assert_eq!(per_db.values().copied().collect::<Vec<_>>(), [80, 80, 80, 80]);
    let db2 = d.items.iter().find(|m| m.source.relative.starts_with("DB2_B")).unwrap();
    assert_eq!((db2.original_width, db2.original_height), (296, 560));

    let split = fp_data::split_dataset(&d, &cfg).unwrap();
    assert_eq!((split.train.len(), split.val.len()), (256, 64));
    let by_finger = DataConfig { split: SplitKind::ByFinger, ..cfg };
    let s = fp_data::split_dataset(&d, &by_finger).unwrap();
    assert_eq!((s.train.len(), s.val.len()), (256, 64));
}
