//! Minutiae and BOZORTH3 scores on synthetic ridge patterns, and on two real
//! FVC2002 prints from `../shared/data/fvc2002` beside the checkout (a test
//! fails without them unless `FPAE_SKIP=data`).

use fp_metrics::identity::{GalleryPrint, PrintKey, Probe, assess};
use fp_metrics::minutiae::{BOZORTH_THRESHOLD, Correspondence, MinutiaKind, Template, Tolerance, match_score};

const SIDE: usize = 300;

fn ridge_pattern(seed: u64, shift: (f64, f64)) -> Vec<u8> {
    fp_metrics::synthetic::ridge_pattern(SIDE, SIDE, seed, shift)
}

/// A Gaussian blur of the pattern (a blurry reconstruction).
fn blurred(pixels: &[u8], sigma: f32) -> Vec<u8> {
    let image = image::GrayImage::from_raw(SIDE as u32, SIDE as u32, pixels.to_vec()).unwrap();
    image::imageops::blur(&image, sigma).into_raw()
}

fn template(pixels: &[u8]) -> Template {
    Template::detect(pixels, SIDE, SIDE, 500).unwrap()
}

#[test]
fn identical_blurred_and_different_patterns() {
    let original = ridge_pattern(1, (0.0, 0.0));
    let reference = template(&original);
    assert!(reference.is_computable(), "the pattern must have minutiae: {}", reference.len());
    assert!(reference.minutiae.windows(2).all(|w| w[0].quality >= w[1].quality), "sorted by quality");

    let same = template(&original);
    let c = Correspondence::between(&reference.minutiae, &same.minutiae, Tolerance::default());
    assert_eq!((c.recall(), c.precision()), (Some(1.0), Some(1.0)));
    let self_score = match_score(&same, &reference).unwrap();
    assert!(self_score >= 50, "identical prints score high: {self_score}");

    let blur = template(&blurred(&original, 3.0));
    let c = Correspondence::between(&reference.minutiae, &blur.minutiae, Tolerance::default());
    assert!(c.recall().unwrap() < 0.8, "blur loses minutiae: recall {:?}", c.recall());
    let blur_score = match_score(&blur, &reference).unwrap_or(0);
    assert!(blur_score < self_score / 2, "blur scores clearly lower: {blur_score} vs {self_score}");

    for seed in [2, 3] {
        let other = template(&ridge_pattern(seed, (0.0, 0.0)));
        let score = match_score(&other, &reference).unwrap();
        assert!(score < 20, "a different pattern scores low: {score} (seed {seed})");
    }
}

#[test]
fn fewer_than_ten_minutiae_is_not_computable() {
    // Plain stripes have no minutiae at all.
    let stripes: Vec<u8> = (0..SIDE * SIDE).map(|i| if (i / SIDE) % 9 < 4 { 40 } else { 220 }).collect();
    let empty = template(&stripes);
    assert!(!empty.is_computable(), "{} minutiae", empty.len());
    let full = template(&ridge_pattern(1, (0.0, 0.0)));
    assert_eq!(match_score(&empty, &full), None);
    assert_eq!(match_score(&full, &empty), None);
}

#[test]
fn kinds_are_found_for_every_minutia() {
    let pixels = ridge_pattern(4, (0.0, 0.0));
    let plain = template(&pixels);
    let typed = Template::detect_with_kinds(&pixels, SIDE, SIDE, 500).unwrap();
    assert_eq!(plain.len(), typed.len());
    assert!(typed.minutiae.iter().all(|m| m.kind.is_some()), "every minutia has a kind");
    let endings = typed.minutiae.iter().filter(|m| m.kind == Some(MinutiaKind::Ending)).count();
    assert!(endings > 0 && endings < typed.len(), "both kinds occur: {endings} of {}", typed.len());
}

#[test]
fn bad_images_are_errors() {
    let err = Template::detect(&[0; 10], 5, 2, 500).unwrap_err().to_string();
    assert_eq!(err, "a 5x2 image is too small to find minutiae in: each side must be at least 25 pixels");
    assert!(Template::detect(&[0; 100], 50, 50, 500).is_err(), "buffer too short");
}

/// Two synthetic fingers with two impressions each (the second shifted by a few
/// pixels); the reconstructions are the first impressions, sharp for finger 1
/// and blurred for finger 2.
#[test]
fn assess_separates_sharp_from_blurred_reconstructions() {
    let key = |finger, impression| PrintKey { database: "SYN".into(), finger: Some((finger, impression)) };
    let images = [
        ((1, 1), ridge_pattern(11, (0.0, 0.0))),
        ((1, 2), ridge_pattern(11, (6.0, -4.0))),
        ((2, 1), ridge_pattern(12, (0.0, 0.0))),
        ((2, 2), ridge_pattern(12, (-5.0, 3.0))),
    ];
    let gallery: Vec<GalleryPrint> =
        images.iter().map(|((f, i), p)| GalleryPrint { key: key(*f, *i), template: template(p) }).collect();
    let probes = vec![
        Probe { original: 0, reconstruction: template(&images[0].1), round_trip: template(&images[0].1) },
        Probe {
            original: 2,
            reconstruction: template(&blurred(&images[2].1, 3.0)),
            round_trip: template(&images[2].1),
        },
    ];
    let report = assess(&gallery, &probes, Tolerance::default());
    let [sharp, blur] = &report.per_image[..] else { panic!("two images") };
    assert_eq!(sharp.minutiae_matched, sharp.minutiae_original);
    assert!(sharp.type1_score.unwrap() > blur.type1_score.unwrap_or(0));
    assert_eq!(sharp.type2_scores.len(), 1, "one other impression");
    assert_eq!(sharp.impostor_scores.len(), 1, "one other finger");
    assert!(
        sharp.type2_scores[0].unwrap() >= BOZORTH_THRESHOLD,
        "shifted impression matches: {:?}",
        sharp.type2_scores
    );
    assert!(sharp.impostor_scores[0].unwrap() < BOZORTH_THRESHOLD);

    let s = &report.summary;
    assert_eq!(s.images, 2);
    assert_eq!(s.ceiling_type1_rate_40, Some(1.0));
    assert_eq!(s.type2_rate_40_originals, Some(1.0));
    assert!(s.type1_rate_40.unwrap() < 1.0 || s.not_computable == 1, "{s:?}");
    assert!(s.minutiae_recall.unwrap() < s.ceiling_minutiae_recall.unwrap());
    let threshold = s.zero_fm_threshold.expect("impostor pairs exist");
    assert!(threshold < BOZORTH_THRESHOLD && threshold > 0, "{threshold}");
    assert_eq!(report.per_database.len(), 1);
    assert_eq!(report.per_database["SYN"], *s);
}

#[test]
fn real_genuine_pair_matches_and_impostor_does_not() {
    let Some(root) = fp_testkit::dataset("fvc2002") else { return };
    let load = |name: &str| {
        let image = image::open(root.join("DB1_B").join(name)).unwrap().to_luma8();
        let (w, h) = image.dimensions();
        Template::detect(image.as_raw(), w as usize, h as usize, 500).unwrap()
    };
    let (a, b, other) = (load("103_1.tif"), load("103_2.tif"), load("104_1.tif"));
    let genuine = match_score(&b, &a).unwrap();
    let impostor = match_score(&other, &a).unwrap();
    assert!(genuine > BOZORTH_THRESHOLD, "genuine {genuine}");
    assert!(impostor < BOZORTH_THRESHOLD, "impostor {impostor}");
}

/// The resize round trip a perfect 224x224 autoencoder would give keeps each
/// print's identity, on every sensor: its minutiae must land where the
/// original's are, non-square prints included.
#[test]
fn real_round_trip_through_224_keeps_the_identity() {
    let Some(root) = fp_testkit::dataset("fvc2002") else { return };
    let preprocess = fp_data::Preprocess {
        height: 224,
        width: 224,
        filter: fp_data::ResizeFilter::Bilinear,
        resize: fp_data::ResizeMode::Stretch,
    };
    for (db, ppi) in [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)] {
        let path = root.join(db).join("101_1.tif");
        let original = fp_data::decode_gray(&path).unwrap();
        let (w, h) = original.dimensions();
        let small = fp_data::resize_gray(&original, &preprocess, &path).unwrap();
        let back = fp_data::restore_size(&small, &preprocess, (w, h), &path).unwrap();
        let a = Template::detect(original.as_raw(), w as usize, h as usize, ppi).unwrap();
        let b = Template::detect(&back, w as usize, h as usize, ppi).unwrap();
        let found = Correspondence::between(&a.minutiae, &b.minutiae, Tolerance::default());
        let score = match_score(&b, &a).unwrap_or(0);
        assert!(found.recall().unwrap() > 0.5, "{db}: recall {:?}", found.recall());
        assert!(score > BOZORTH_THRESHOLD, "{db}: round trip scores {score}");
    }
}
