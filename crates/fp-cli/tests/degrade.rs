//! `fpae degrade` end to end on small synthetic prints, and `fpae synth`, which makes prints.

mod common;

use std::path::Path;

use common::{fpae, text};
use image::{GrayImage, Luma};

/// A `w x h` print of diagonal ridges 9 pixels apart, grey from 25 to 225 (never white).
fn write_print(path: &Path, w: u32, h: u32) {
    let img = GrayImage::from_fn(w, h, |x, y| {
        let phase = (x as f32 + 0.5 * y as f32) * std::f32::consts::TAU / 9.0;
        Luma([(125.0 + 100.0 * phase.sin()).round() as u8])
    });
    img.save(path).unwrap();
}

fn two_prints(dir: &Path) {
    write_print(&dir.join("a.png"), 64, 48);
    write_print(&dir.join("b.png"), 50, 30);
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn two_images_and_two_kinds_give_four_copies_of_their_sizes() {
    let dir = tempfile::tempdir().unwrap();
    two_prints(dir.path());
    let out = fpae(&["degrade", "a.png", "b.png", "--out", "out", "--kind", "noise", "--kind", "blur"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        listing(&dir.path().join("out")),
        ["a.blur-0.60.png", "a.noise-0.60.png", "b.blur-0.60.png", "b.noise-0.60.png"]
    );
    for (name, size) in [("a.noise-0.60.png", (64, 48)), ("b.blur-0.60.png", (50, 30))] {
        let img = image::open(dir.path().join("out").join(name)).unwrap();
        assert_eq!((img.width(), img.height()), size, "{name}");
    }
    assert_eq!(text(&out.stdout).lines().last(), Some("4 degraded images in out"));
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
    let dir = tempfile::tempdir().unwrap();
    two_prints(dir.path());
    let run = |out: &str, seed: &str| {
        let o = fpae(
            &["degrade", "a.png", "--out", out, "--kind", "noise", "--severity", "0.3", "--seed", seed],
            dir.path(),
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        std::fs::read(dir.path().join(out).join("a.noise-0.30.png")).unwrap()
    };
    let first = run("one", "0");
    assert_eq!(first, run("two", "0"));
    assert_ne!(first, run("three", "1"));
    // Severity 0.3 damages the print, and not beyond recognition.
    let clean = image::open(dir.path().join("a.png")).unwrap().into_luma8();
    let noisy = image::load_from_memory(&first).unwrap().into_luma8();
    let changed = clean.pixels().zip(noisy.pixels()).filter(|(a, b)| a != b).count();
    assert!(changed > 64 * 48 / 2, "{changed} pixels changed");
}

#[test]
fn a_corrupt_image_is_named_and_skipped_and_the_others_written() {
    let dir = tempfile::tempdir().unwrap();
    two_prints(dir.path());
    std::fs::write(dir.path().join("bad.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let out = fpae(&["degrade", "a.png", "bad.png", "b.png", "--out", "out", "--kind", "scratch"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.lines().any(|l| l.starts_with("error: cannot decode image bad.png: ")), "{stderr}");
    assert_eq!(listing(&dir.path().join("out")), ["a.scratch-0.60.png", "b.scratch-0.60.png"]);
}

#[test]
fn bad_flags_are_named() {
    let dir = tempfile::tempdir().unwrap();
    two_prints(dir.path());
    let out = fpae(&["degrade", "a.png", "--out", "out", "--kind", "fog"], dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("'fog'") && stderr.contains("--kind"), "{stderr}");
    assert!(stderr.contains("salt-pepper") && stderr.contains("low-resolution"), "the kinds are listed: {stderr}");

    let out = fpae(&["degrade", "a.png", "--out", "out", "--severity", "1.5"], dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--severity") && stderr.contains("expected a number in [0, 1], got 1.5"), "{stderr}");

    let out = fpae(&["degrade", "a.png", "--out", "b.png"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "error: --out b.png: is a file, expected a folder");
    assert!(!dir.path().join("out").exists(), "nothing written after a bad flag");
}

#[test]
fn the_figure_has_a_row_per_kind_and_four_columns() {
    let dir = tempfile::tempdir().unwrap();
    two_prints(dir.path());
    let out = fpae(&["degrade", "a.png", "b.png", "--figure", "figs/kinds.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().last(), Some("figs/kinds.png"));
    let figure = image::open(dir.path().join("figs/kinds.png")).unwrap().into_luma8();
    let busy = |x: u32, y: u32| figure.get_pixel(x, y).0[0] != 255;
    // Tiles are 48 pixels tall (a.png) plus their frame; titles and captions
    // are far shorter, so long runs of rows with ink are rows of tiles.
    let mut tile_rows = 0;
    let mut run = 0;
    for y in 0..figure.height() {
        if (0..figure.width()).any(|x| busy(x, y)) {
            run += 1;
        } else {
            tile_rows += usize::from(run >= 48);
            run = 0;
        }
    }
    assert_eq!(tile_rows, fp_degrade::Degradation::ALL.len());
    // Across the first row of tiles: four runs of columns 64 pixels wide (+2 for the frame).
    let band = 60..80;
    let mut columns = Vec::new();
    let mut run = 0;
    for x in 0..figure.width() {
        if band.clone().any(|y| busy(x, y)) {
            run += 1;
        } else if run > 0 {
            columns.push(run);
            run = 0;
        }
    }
    assert_eq!(columns, [66, 66, 66, 66]);
}

/// `fpae synth`: a dataset fpae reads (its manifest, a folder per sensor style,
/// ground truth beside every print), the same bytes for the same seed, and
/// clear refusals of bad settings and of an existing folder.
#[test]
fn synth_writes_a_seeded_dataset_with_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let args = |out: &str, seed: &str| {
        ["synth", "--count", "2", "--impressions", "2", "--size", "160x192", "--style", "optical", "--seed", seed]
            .into_iter()
            .map(str::to_owned)
            .chain(["--out".to_owned(), out.to_owned()])
            .collect::<Vec<_>>()
    };
    let run = |out: &str, seed: &str| {
        let a = args(out, seed);
        fpae(&a.iter().map(String::as_str).collect::<Vec<_>>(), root)
    };
    let out = run("a", "5");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("4 prints of 2 fingers in a"), "{}", text(&out.stdout));
    assert_eq!(listing(&root.join("a")), ["dataset.toml", "optical", "synth.json"]);
    let prints = listing(&root.join("a/optical"));
    assert_eq!(prints, ["1_1.json", "1_1.png", "1_2.json", "1_2.png", "2_1.json", "2_1.png", "2_2.json", "2_2.png"]);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("a/optical/2_1.json")).unwrap()).unwrap();
    assert_eq!((truth["finger"].as_u64(), truth["impression"].as_u64()), (Some(1), Some(0)));
    assert_eq!((truth["width"].as_u64(), truth["height"].as_u64()), (Some(160), Some(192)));

    // The same seed, the same bytes; another seed, other prints.
    assert!(run("b", "5").status.success());
    assert!(run("c", "6").status.success());
    let bytes = |set: &str| std::fs::read(root.join(set).join("optical/1_1.png")).unwrap();
    assert_eq!(bytes("a"), bytes("b"));
    assert_ne!(bytes("a"), bytes("c"));

    // The prints are a dataset: `fpae data` reads them with their fingers.
    std::fs::write(root.join("synth.toml"), "[data]\nroot = \"a\"\nheight = 32\nwidth = 32\n").unwrap();
    let out = fpae(&["data", "synth.toml", "--out", "preview.png"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("shape: (4, 32, 32, 1)"), "{}", text(&out.stdout));

    let out = run("a", "5");
    assert!(text(&out.stderr).contains("--out a: already exists"), "{}", text(&out.stderr));
    let out = fpae(&["synth", "--count", "1", "--size", "40", "--out", "d"], root);
    assert!(text(&out.stderr).contains("WIDTHxHEIGHT"), "{}", text(&out.stderr));
    let out = fpae(&["synth", "--count", "1", "--class", "loop", "--out", "d"], root);
    assert!(text(&out.stderr).contains("left-loop"), "{}", text(&out.stderr));
    let out = fpae(&["synth", "--count", "1", "--impressions", "0", "--out", "d"], root);
    assert!(!out.status.success() && text(&out.stderr).contains("impressions"), "{}", text(&out.stderr));
    assert!(!root.join("d").exists(), "nothing is left of a refused set");
}
