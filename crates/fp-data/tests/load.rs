//! Loading whole datasets: decoding, scaling, caching, bad files, native sizes,
//! manifests and combined roots, the repository's dataset manifests, and the real
//! FVC2002 and FVC2000 data.

use std::path::{Path, PathBuf};

use fp_data::{DataConfig, DatasetManifest, LoadSource, ResizeMode, Roots, Scaling, SplitKind};
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
    DataConfig { root: root.into(), height: 16, width: 16, cache_dir: Some(cache.to_owned()), ..DataConfig::default() }
}

#[test]
fn loads_scales_to_dataset_max_and_keeps_metadata() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_tree(&dir.path().join("data"), 200);
    let cfg = DataConfig { cache: false, ..config(&dir.path().join("data"), &dir.path().join("cache")) };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!((d.len(), d.uniform_size(), d.images.len()), (12, Some((16, 16)), 12 * 256));
    // Dataset-max scaling divides by the largest resized pixel, so the maximum is exactly 1.
    let (lo, hi) = d.min_max();
    assert!((0.0..0.1).contains(&lo) && hi == 1.0, "{lo} {hi}");
    let fp_data::AppliedScaling::Divide { divisor } = d.scaling else { panic!("{:?}", d.scaling) };
    assert!(divisor > 150.0 && divisor <= 200.0, "{divisor}");
    let first = &d.items[0];
    assert_eq!(first.source.relative, "DB1_B/101_1.tif");
    assert_eq!((first.original_width, first.original_height), (40, 30));
    assert_eq!((first.width, first.height), (16, 16));
    // No manifest: the dataset is named after its folder, every subset at 500 ppi.
    assert_eq!(
        (first.source.dataset.as_str(), first.source.database(), first.source.ppi),
        ("data", "DB1_B".into(), 500)
    );
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

/// Loads `cfg` twice: decoded, then from the cache (memory-mapped), the same
/// images, items, scaling and preprocessing both times.
fn load_cold_then_warm(cfg: &DataConfig) -> (fp_data::Dataset, fp_data::Dataset) {
    let (cold, s1) = fp_data::load_with_source(cfg).unwrap();
    let (warm, s2) = fp_data::load_with_source(cfg).unwrap();
    assert_eq!((s1, s2), (LoadSource::Decoded, LoadSource::Cache));
    assert!(warm.images.is_mapped());
    assert_eq!(&*cold.images, &*warm.images);
    assert_eq!(cold.items, warm.items);
    assert_eq!((cold.scaling, cold.preprocess), (warm.scaling, warm.preprocess));
    (cold, warm)
}

#[test]
fn second_load_comes_from_the_cache_and_any_change_invalidates_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synthetic_tree(&root, 255);
    let cfg = config(&root, &dir.path().join("cache"));
    load_cold_then_warm(&cfg);

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

/// Writes `count` PNGs of different sizes into `root/DB1_B`, pixel `(x, y)` of
/// image `k` being `(x * 13 + y * 7 + k * 31) % 256`.
fn mixed_sizes(root: &Path) -> Vec<(u32, u32)> {
    let sizes = vec![(23, 17), (9, 40), (31, 31), (5, 6)];
    let db = root.join("DB1_B");
    std::fs::create_dir_all(&db).unwrap();
    for (k, &(w, h)) in sizes.iter().enumerate() {
        GrayImage::from_fn(w, h, |x, y| Luma([((x * 13 + y * 7 + k as u32 * 31) % 256) as u8]))
            .save(db.join(format!("101_{}.png", k + 1)))
            .unwrap();
    }
    sizes
}

#[test]
fn resize_none_keeps_each_images_size_and_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mixed");
    let sizes = mixed_sizes(&root);
    let cfg = DataConfig {
        resize: ResizeMode::None,
        scale: Scaling::Max255,
        cache: false,
        ..config(&root, &dir.path().join("cache"))
    };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d.uniform_size(), None);
    assert_eq!(d.preprocess.resize, ResizeMode::None);
    assert_eq!(d.images.len(), sizes.iter().map(|&(w, h)| (w * h) as usize).sum::<usize>());
    for (k, &(w, h)) in sizes.iter().enumerate() {
        let m = &d.items[k];
        assert_eq!((m.original_width, m.original_height, m.width, m.height), (w, h, w, h), "image {k}");
        assert_eq!(d.size(k), (w as usize, h as usize));
        // Every value is the file's own pixel times 1/255 (how the scaling
        // computes it): nothing resampled.
        let img = d.image(k);
        for y in 0..h {
            for x in 0..w {
                let expected = ((x * 13 + y * 7 + k as u32 * 31) % 256) as f32 * (1.0 / 255.0);
                assert_eq!(img[(y * w + x) as usize], expected, "image {k} at ({x}, {y})");
            }
        }
    }
}

#[test]
fn the_cache_round_trips_a_variable_size_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mixed");
    mixed_sizes(&root);
    let cfg = DataConfig { resize: ResizeMode::None, ..config(&root, &dir.path().join("cache")) };
    let (cold, warm) = load_cold_then_warm(&cfg);
    for i in 0..cold.len() {
        assert_eq!((cold.size(i), cold.image(i)), (warm.size(i), warm.image(i)), "image {i}");
    }
    // The same files stretched are another entry, of one size.
    let stretched = DataConfig { resize: ResizeMode::Stretch, ..cfg.clone() };
    let (s, source) = fp_data::load_with_source(&stretched).unwrap();
    assert_eq!((source, s.uniform_size()), (LoadSource::Decoded, Some((16, 16))));

    // A new or changed manifest is another entry, and its values reach the images.
    std::fs::write(root.join("dataset.toml"), "name = \"mixed\"\n[subsets.DB1_B]\nppi = 569\n").unwrap();
    let (d, source) = fp_data::load_with_source(&cfg).unwrap();
    assert_eq!((source, d.items[0].source.ppi), (LoadSource::Decoded, 569));
    assert_eq!(fp_data::load_with_source(&cfg).unwrap().1, LoadSource::Cache);
    std::fs::write(root.join("dataset.toml"), "name = \"mixed\"\n[subsets.DB1_B]\nppi = 1000\n").unwrap();
    let (d, source) = fp_data::load_with_source(&cfg).unwrap();
    assert_eq!((source, d.items[0].source.ppi), (LoadSource::Decoded, 1000));
}

/// Two synthetic trees, `first` and `second` under `dir`, and a by-finger
/// configuration of both (one finger in three held out per database).
fn two_roots(dir: &Path, first: &str, second: &str) -> (PathBuf, PathBuf, DataConfig) {
    let (a, b) = (dir.join(first), dir.join(second));
    synthetic_tree(&a, 255);
    synthetic_tree(&b, 255);
    let cfg = DataConfig {
        root: Roots::new(vec![a.clone(), b.clone()]),
        cache: false,
        split: SplitKind::ByFinger,
        val_fraction: 0.34,
        ..config(&a, &dir.join("cache"))
    };
    (a, b, cfg)
}

#[test]
fn combined_roots_qualify_databases_and_split_by_whole_fingers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, cfg) = two_roots(dir.path(), "fvc2002", "fvc2000");
    std::fs::write(a.join("dataset.toml"), "name = \"fvc2002\"\n[subsets.DB2_B]\nppi = 569\n").unwrap();
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!(d.len(), 24);
    let databases: std::collections::BTreeSet<String> = d.items.iter().map(|m| m.source.database()).collect();
    assert_eq!(
        databases.into_iter().collect::<Vec<_>>(),
        ["fvc2000/DB1_B", "fvc2000/DB2_B", "fvc2002/DB1_B", "fvc2002/DB2_B"]
    );
    // Roots in configuration order, each sorted; each with its own manifest's ppi.
    assert_eq!(d.items[0].source.relative, "DB1_B/101_1.tif");
    assert_eq!((d.items[6].source.database.as_str(), d.items[6].source.ppi), ("fvc2002/DB2_B", 569));
    assert_eq!((d.items[18].source.database.as_str(), d.items[18].source.ppi), ("fvc2000/DB2_B", 500));

    let split = fp_data::split_dataset(&d, &cfg).unwrap();
    let key = |i: usize| {
        let id = d.items[i].source.id.clone().unwrap();
        (id.dataset, id.database, id.finger)
    };
    let val: std::collections::HashSet<_> = split.val.iter().map(|&i| key(i)).collect();
    // One of three fingers from each of the four (dataset, subset) pairs.
    assert_eq!(val.len(), 4);
    assert!(split.train.iter().all(|&i| !val.contains(&key(i))), "a finger is on both sides");

    // The same dataset twice is an error naming both roots.
    let twice = DataConfig { root: Roots::new(vec![a.clone(), a.clone()]), ..cfg };
    let err = fp_data::load(&twice).unwrap_err().to_string();
    assert!(err.contains("are both named \"fvc2002\""), "{err}");
}

#[test]
fn training_mixes_roots_in_the_configured_shares_and_keeps_every_image() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, cfg) = two_roots(dir.path(), "real", "synth");
    let d = fp_data::load(&cfg).unwrap();
    let plain = fp_data::split_dataset(&d, &cfg).unwrap();
    assert_eq!(fp_data::training_split(&d, &cfg).unwrap(), plain, "no mix, no change");
    let from_root =
        |list: &[usize], root: &Path| list.iter().filter(|&&i| d.items[i].source.path.starts_with(root)).count();
    let (real, synth) = (from_root(&plain.train, &a), from_root(&plain.train, &b));
    assert_eq!((real, synth), (8, 8));

    // One to three: the synthetic prints three times as many, every real one once.
    let mixed_cfg = DataConfig { mix: Some(vec![1.0, 3.0]), ..cfg.clone() };
    let mixed = fp_data::training_split(&d, &mixed_cfg).unwrap();
    assert_eq!(mixed.val, plain.val, "validation is never mixed");
    assert_eq!((from_root(&mixed.train, &a), from_root(&mixed.train, &b)), (8, 24));
    let distinct: std::collections::BTreeSet<_> = mixed.train.iter().copied().collect();
    assert_eq!(distinct, plain.train.iter().copied().collect(), "every training image, and only those");
    assert_eq!(fp_data::training_split(&d, &mixed_cfg).unwrap(), mixed, "seeded");

    for (mix, what) in [(vec![1.0], "one weight for two roots"), (vec![1.0, 0.0], "a zero weight")] {
        let bad = DataConfig { mix: Some(mix), ..cfg.clone() };
        let err = fp_data::load(&bad).unwrap_err().to_string();
        assert!(err.starts_with("data.mix: expected one positive weight per root (2 roots)"), "{what}: {err}");
    }
}

/// The manifests that the fetch tool installs beside the FVC images.
#[test]
fn the_repository_manifests_parse_with_the_sensors_resolutions() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let fvc2002 = DatasetManifest::read(&data.join("fvc2002.dataset.toml")).unwrap();
    assert_eq!(fvc2002.name, "fvc2002");
    assert_eq!(fvc2002.naming, fp_data::Naming::Fvc);
    assert_eq!(["DB1_B", "DB2_B", "DB3_B", "DB4_B"].map(|db| fvc2002.ppi(db)), [500, 569, 500, 500]);
    assert_eq!(fvc2002.subsets.len(), 4);
    let fvc2000 = DatasetManifest::read(&data.join("fvc2000.dataset.toml")).unwrap();
    assert_eq!(fvc2000.name, "fvc2000");
    assert_eq!(["DB1_B", "DB2_B", "DB3_B", "DB4_B"].map(|db| fvc2000.ppi(db)), [500; 4]);
    assert_eq!(fvc2000.subsets.len(), 4);
    assert!(fvc2000.subsets.values().chain(fvc2002.subsets.values()).all(|s| s.sensor.is_some()));
}

/// The real FVC2002 B sets, from `../shared/data/fvc2002` beside the checkout
/// (or `FPAE_FVC2002` when set). The tutorial's check: (320, 224, 224, 1), min 0, max 1.
#[test]
fn real_fvc2002_matches_the_tutorial_shape_and_range() {
    let Some(root) = fp_testkit::dataset("fvc2002") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = DataConfig { root: root.into(), cache_dir: Some(dir.path().to_owned()), ..DataConfig::default() };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!((d.len(), d.uniform_size()), (320, Some((224, 224))));
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

/// FVC2002 and FVC2000 together at native resolution, each described by the
/// repository's manifest (copied into a folder of links to the real images):
/// every sensor keeps its size, and DB2 of FVC2002 is 569 ppi.
#[cfg(unix)]
#[test]
fn real_fvc2002_and_fvc2000_load_together_at_native_size() {
    let (Some(fvc2002), Some(fvc2000)) = (fp_testkit::dataset("fvc2002"), fp_testkit::dataset("fvc2000")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let mut roots = Vec::new();
    for (name, real) in [("fvc2002", &fvc2002), ("fvc2000", &fvc2000)] {
        let root = dir.path().join(name);
        std::fs::create_dir(&root).unwrap();
        std::fs::copy(manifests.join(format!("{name}.dataset.toml")), root.join("dataset.toml")).unwrap();
        for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
            std::os::unix::fs::symlink(real.join(db), root.join(db)).unwrap();
        }
        roots.push(root);
    }
    let cfg = DataConfig { root: Roots::new(roots), resize: ResizeMode::None, cache: false, ..DataConfig::default() };
    let d = fp_data::load(&cfg).unwrap();
    assert_eq!((d.len(), d.uniform_size()), (640, None));
    let mut sizes = std::collections::BTreeMap::new();
    for (i, m) in d.items.iter().enumerate() {
        assert_eq!((m.width, m.height), (m.original_width, m.original_height));
        let entry = sizes.entry(m.source.database()).or_insert((d.size(i), m.source.ppi, 0));
        assert_eq!((entry.0, entry.1), (d.size(i), m.source.ppi), "{}", m.source.relative);
        entry.2 += 1;
    }
    let expected = [
        ("fvc2000/DB1_B", (300, 300), 500),
        ("fvc2000/DB2_B", (256, 364), 500),
        ("fvc2000/DB3_B", (448, 478), 500),
        ("fvc2000/DB4_B", (240, 320), 500),
        ("fvc2002/DB1_B", (388, 374), 500),
        ("fvc2002/DB2_B", (296, 560), 569),
        ("fvc2002/DB3_B", (300, 300), 500),
        ("fvc2002/DB4_B", (288, 384), 500),
    ];
    let got: Vec<_> = sizes.iter().map(|(db, &(size, ppi, n))| (db.as_str(), size, ppi, n)).collect();
    assert_eq!(got, expected.map(|(db, size, ppi)| (db, size, ppi, 80)));
    let s = fp_data::split_dataset(&d, &DataConfig { split: SplitKind::ByFinger, ..cfg }).unwrap();
    assert_eq!((s.train.len(), s.val.len()), (512, 128));
}
