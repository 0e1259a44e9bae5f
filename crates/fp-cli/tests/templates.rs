//! Minutiae templates from the command line: `fpae minutiae --format`, and the
//! templates `restore --templates` writes beside its outputs and `score
//! --templates` writes for the prints it scored, on tiny synthetic prints.

mod common;

use std::path::Path;

use common::{fpae, text};
use fp_metrics::minutiae::Template;
use fp_metrics::templates::iso19794_2::IsoRecord;
use fp_metrics::templates::xyt;

/// 2 databases x 3 fingers x 2 impressions of 128x128 synthetic prints, a
/// manifest giving DB2_B 569 ppi, and a tiny restore config.
fn project(dir: &Path) {
    common::restore_project(dir, 3, 128, 1);
}

fn json_template(stdout: &[u8]) -> Template {
    serde_json::from_slice(stdout).unwrap()
}

#[test]
fn minutiae_in_every_format_at_the_manifests_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let image = "data/DB2_B/101_1.png";

    let out = fpae(&["minutiae", image, "--json"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let template = json_template(&out.stdout);
    assert!(!template.is_empty(), "the print has minutiae");
    let out = fpae(&["minutiae", image, "--format", "json"], root);
    assert_eq!(json_template(&out.stdout), template, "--json is --format json");

    // xyt: to standard output, or to a file whose path is then printed.
    let out = fpae(&["minutiae", image, "--format", "xyt"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), xyt::write(&template));
    let out = fpae(&["minutiae", image, "--format", "xyt", "--out", "t/101_1.xyt"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "t/101_1.xyt\n");
    let written = std::fs::read_to_string(root.join("t/101_1.xyt")).unwrap();
    let back = xyt::read(&written, template.width, template.height).unwrap();
    assert_eq!(back.len(), template.len());

    // ISO: DB2_B is 569 ppi in the manifest above the image, 224 px/cm.
    let out = fpae(&["minutiae", image, "--format", "iso19794-2", "--out", "t/101_1.ist"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record = IsoRecord::from_bytes(&std::fs::read(root.join("t/101_1.ist")).unwrap()).unwrap();
    assert_eq!((record.width, record.height, record.x_resolution, record.y_resolution), (128, 128, 224, 224));
    let from_record = record.to_template().unwrap();
    let positions = |t: &Template| t.minutiae.iter().map(|m| (m.x, m.y, m.kind)).collect::<Vec<_>>();
    assert_eq!(positions(&from_record), positions(&template));
    // Piped, the record goes to standard output as it is; --ppi overrides the manifest.
    let out = fpae(&["minutiae", image, "--format", "iso19794-2", "--ppi", "1000"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(IsoRecord::from_bytes(&out.stdout).unwrap().x_resolution, 394);

    // The table says where the resolution came from.
    let out = fpae(&["minutiae", image], root);
    let table = text(&out.stdout);
    assert!(table.lines().next().unwrap().contains("at 569 ppi (from "), "{table}");
    let out = fpae(&["minutiae", image, "--json", "--format", "xyt"], root);
    assert!(!out.status.success(), "--json and --format conflict");
}

#[test]
fn restore_and_score_write_the_templates_of_their_prints() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let out = fpae(&["train", "restore.toml", "--run-dir", "runs/r"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = fpae(&["restore", "runs/r", "data", "--out", "restored", "--templates", "iso19794-2"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for db in ["DB1_B", "DB2_B"] {
        let record = std::fs::read(root.join(format!("restored/{db}/102_2.ist"))).unwrap();
        let record = IsoRecord::from_bytes(&record).unwrap();
        assert_eq!((record.width, record.height), (128, 128));
        // The resolution of the input's dataset.toml: 500 ppi by default, 569 for DB2_B.
        assert_eq!(record.x_resolution, if db == "DB2_B" { 224 } else { 197 }, "{db}");
        // The same minutiae `fpae minutiae` finds in the restored print.
        let ppi = if db == "DB2_B" { "569" } else { "500" };
        let out = fpae(&["minutiae", &format!("restored/{db}/102_2.png"), "--json", "--ppi", ppi], root);
        let found = json_template(&out.stdout);
        assert_eq!(record.to_template().unwrap().len(), found.len().min(255));
    }
    // Done is done; an image whose template went missing is restored again.
    let out = fpae(&["restore", "runs/r", "data", "--out", "restored", "--templates", "iso19794-2"], root);
    assert!(text(&out.stdout).starts_with("0 restored, 12 already in"), "{}", text(&out.stdout));
    std::fs::remove_file(root.join("restored/DB1_B/101_1.ist")).unwrap();
    let out = fpae(&["restore", "runs/r", "data", "--out", "restored", "--templates", "iso19794-2"], root);
    assert!(text(&out.stdout).starts_with("1 restored, 11 already in"), "{}", text(&out.stdout));
    assert!(root.join("restored/DB1_B/101_1.ist").is_file());

    // score: each candidate's xyt template under --templates-out, at its original's resolution.
    let out = fpae(&["score", "--originals", "data", "--candidates", "restored", "--templates", "xyt"], root);
    assert!(!out.status.success(), "--templates needs --templates-out");
    let args =
        ["score", "--originals", "data", "--candidates", "restored", "--templates", "xyt", "--templates-out", "tpl"];
    let out = fpae(&args, root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().last(), Some("tpl"));
    for (db, ppi) in [("DB1_B", "500"), ("DB2_B", "569")] {
        let written = std::fs::read_to_string(root.join(format!("tpl/{db}/103_1.xyt"))).unwrap();
        let args = ["minutiae", &format!("restored/{db}/103_1.png"), "--format", "xyt", "--ppi", ppi];
        let out = fpae(&args, root);
        assert_eq!(written, text(&out.stdout), "{db}");
    }
}

#[test]
fn describe_measures_a_synthetic_set_as_the_matcher_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let synth =
        ["synth", "--count", "3", "--impressions", "3", "--size", "256x320", "--style", "optical", "--out", "s"];
    let out = fpae(&synth, root);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = fpae(&["describe", "s", "--json", "--sample", "sample.png", "--sample-count", "2"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = &d["overall"];
    assert_eq!((all["prints"].as_u64(), all["fingers"].as_u64()), (Some(9), Some(3)));
    assert_eq!(d["databases"].as_object().unwrap().keys().collect::<Vec<_>>(), ["optical"]);
    assert_eq!(d["prints"].as_array().unwrap().len(), 9);
    // Ordered pairs of distinct impressions: 3 fingers x 3 x 2; first impressions of
    // different fingers: 3 x 2.
    assert_eq!(all["type2"]["pairs"], 18);
    assert_eq!(all["impostor"]["pairs"], 6);
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    // 500 ppi prints: ridges about 9 px (0.46 mm) apart, dozens of minutiae, mostly finger.
    let period = num(&all["ridge_period_px"]["median"]);
    assert!((7.0..=12.0).contains(&period), "ridge period {period} px");
    assert!((num(&all["ridge_period_mm"]["median"]) - period / 500.0 * 25.4).abs() < 0.05);
    let minutiae = num(&all["minutiae"]["median"]);
    assert!((10.0..=150.0).contains(&minutiae), "{minutiae} minutiae");
    let foreground = num(&all["foreground"]["median"]);
    assert!((0.3..=1.0).contains(&foreground), "foreground {foreground}");
    // Impressions of one finger match far more often than different fingers do.
    let (genuine, impostor) = (num(&all["type2"]["rate_40"]), num(&all["impostor"]["rate_40"]));
    assert!(genuine > impostor, "type-II {genuine} vs impostor {impostor}");
    let sample = image::open(root.join("sample.png")).unwrap();
    assert!(sample.height() > 300, "two prints 300 px high under a title");

    // The table: one row for the database, one over all, and the JSON written with --out.
    let out = fpae(&["describe", "s", "--out", "d.json"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("| optical") && table.contains("| all"), "{table}");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("d.json")).unwrap()).unwrap();
    assert_eq!(written["overall"], d["overall"]);
}
