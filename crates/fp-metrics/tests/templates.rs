//! Templates of real detections written and read back: the `.xyt` file holds
//! exactly the numbers MINDTCT gives and BOZORTH3 is fed, and matching the
//! minutiae read back scores as matching the originals; an ISO/IEC 19794-2
//! record keeps every position, type and quality, and every angle within 1
//! degree.

use fp_metrics::minutiae::{Template, angle_difference, match_score};
use fp_metrics::templates::iso19794_2::IsoRecord;
use fp_metrics::templates::{TemplateFormat, xyt};

const SIDE: usize = 300;

fn pattern(seed: u64, shift: (f64, f64)) -> Vec<u8> {
    fp_metrics::synthetic::ridge_pattern(SIDE, SIDE, seed, shift)
}

#[test]
fn an_xyt_file_holds_mindtcts_numbers_and_scores_the_same() {
    let pixels = pattern(1, (0.0, 0.0));
    let template = Template::detect_with_kinds(&pixels, SIDE, SIDE, 500).unwrap();
    assert!(template.is_computable(), "the pattern has minutiae: {}", template.len());

    // The same lines as MINDTCT's own output, in the template's (quality) order.
    let image = fprint_mindtct::GrayImage::new(&pixels, SIDE, SIDE, 500).unwrap();
    let mut mindtct: Vec<String> = fprint_mindtct::detect_minutiae(image)
        .iter()
        .map(|m| format!("{} {} {} {}", m.x, m.y, m.theta, m.quality))
        .collect();
    let text = String::from_utf8(TemplateFormat::Xyt.encode(&template, 500).unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    mindtct.sort();
    lines.sort();
    assert_eq!(lines, mindtct);

    let other = Template::detect(&pattern(1, (3.0, -2.0)), SIDE, SIDE, 500).unwrap();
    let back = xyt::read(&text, template.width, template.height).unwrap();
    let other_back = xyt::read(&xyt::write(&other), other.width, other.height).unwrap();
    let score = match_score(&template, &other).unwrap();
    assert!(score >= 40, "a shifted copy matches: {score}");
    assert_eq!(match_score(&back, &other_back), Some(score));
    assert_eq!(match_score(&other_back, &back), match_score(&other, &template));
}

#[test]
fn an_iso_record_keeps_positions_types_and_qualities() {
    let template = Template::detect_with_kinds(&pattern(2, (0.0, 0.0)), SIDE, SIDE, 500).unwrap();
    assert!(template.minutiae.iter().all(|m| m.kind.is_some()), "every minutia has a type");
    let bytes = TemplateFormat::Iso19794_2.encode(&template, 500).unwrap();
    assert_eq!(bytes.len(), 24 + 4 + 6 * template.len() + 2);
    let back = IsoRecord::from_bytes(&bytes).unwrap().to_template().unwrap();
    assert_eq!((back.width, back.height, back.len()), (template.width, template.height, template.len()));
    for (a, b) in template.minutiae.iter().zip(&back.minutiae) {
        assert_eq!((a.x, a.y, a.quality, a.kind), (b.x, b.y, b.quality, b.kind));
        assert!(angle_difference(a.angle, b.angle) <= 1, "{a:?} read back as {b:?}");
    }
}
