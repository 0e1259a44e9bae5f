//! NIST's `.xyt` text format: one minutia per line, `x y theta quality`, four
//! integers separated by single spaces, as NIST MINDTCT writes it (without
//! `-m1`) and BOZORTH3 reads it.
//!
//! The numbers are those of [`XytMinutia`], through the same conversion that
//! feeds BOZORTH3 ([`Template::to_xyt`]): `x` is the column, `y` is counted
//! from the bottom of the image (`height - row`), `theta` is the direction in
//! whole degrees `0..360`, 0 pointing right and increasing counter-clockwise,
//! and `quality` is MINDTCT's reliability `0..=100`. Lines are in the
//! template's order, most reliable first (MINDTCT writes the same minutiae in
//! the order it found them); BOZORTH3 keeps the 150 most reliable either way.
//! The format has no header: the image size needed to turn `y` back into a row
//! comes from elsewhere, and whether a minutia is an ending or a bifurcation is
//! not recorded.

use crate::minutiae::{Minutia, Template, XytMinutia};
use crate::templates::TemplateError;

/// The `.xyt` text of `template`: one `x y theta quality` line per minutia.
pub fn write(template: &Template) -> String {
    template.to_xyt().iter().map(|m| format!("{} {} {} {}\n", m.x, m.y, m.theta, m.quality)).collect()
}

/// The minutiae of `.xyt` text, in file order. Blank lines are skipped; a line
/// of three numbers (as BOZORTH3 also accepts) has quality 0. `theta` must be
/// in `0..360` and `quality` in `0..=100`.
pub fn parse(text: &str) -> Result<Vec<XytMinutia>, TemplateError> {
    Ok(parse_lines(text)?.into_iter().map(|line| line.minutia).collect())
}

/// The template of a `width x height` image whose minutiae `text` holds in
/// `.xyt` form: each position must lie in the image (`x < width`,
/// `1 <= y <= height`, since `y` counts from the bottom). The minutiae are
/// sorted by quality, as [`Template`] keeps them; their kind is unknown.
pub fn read(text: &str, width: u32, height: u32) -> Result<Template, TemplateError> {
    let mut minutiae: Vec<Minutia> = Vec::new();
    for XytLine { line, offset, minutia: m } in parse_lines(text)? {
        let outside = |field: &'static str, value: i32, expected: String| TemplateError::XytRange {
            line,
            offset,
            field,
            value: i64::from(value),
            expected,
        };
        if m.x >= width as i32 {
            return Err(outside("x", m.x, format!("0..={} (the image is {width} pixels wide)", i64::from(width) - 1)));
        }
        if m.y < 1 || m.y > height as i32 {
            return Err(outside("y", m.y, format!("1..={height} (the image is {height} pixels high)")));
        }
        minutiae.push(m.to_minutia(height));
    }
    Ok(Template::sorted(width as usize, height as usize, minutiae))
}

/// One minutia of an `.xyt` text and where its line is.
struct XytLine {
    /// Line number, from 1.
    line: usize,
    /// Byte offset of the line's start.
    offset: usize,
    minutia: XytMinutia,
}

fn parse_lines(text: &str) -> Result<Vec<XytLine>, TemplateError> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let (line, start) = (index + 1, offset);
        offset += raw.len();
        let content = raw.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            continue;
        }
        let numbers: Option<Vec<i64>> = content.split_whitespace().map(|field| field.parse().ok()).collect();
        let (x, y, theta, quality) = match numbers.as_deref() {
            Some(&[x, y, theta]) => (x, y, theta, 0),
            Some(&[x, y, theta, quality]) => (x, y, theta, quality),
            _ => return Err(TemplateError::XytSyntax { line, offset: start, found: content.to_owned() }),
        };
        let check = |field: &'static str, value: i64, range: std::ops::Range<i64>| {
            if range.contains(&value) {
                Ok(value as i32)
            } else {
                let expected = format!("{}..={}", range.start, range.end - 1);
                Err(TemplateError::XytRange { line, offset: start, field, value, expected })
            }
        };
        let minutia = XytMinutia {
            x: check("x", x, 0..i64::from(i32::MAX))?,
            y: check("y", y, 0..i64::from(i32::MAX))?,
            theta: check("theta", theta, 0..360)?,
            quality: check("quality", quality, 0..101)?,
        };
        lines.push(XytLine { line, offset: start, minutia });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutiae::MinutiaKind;

    fn template() -> Template {
        let m = |x, y, angle, quality, kind| Minutia { x, y, angle, quality, kind };
        Template {
            width: 300,
            height: 400,
            minutiae: vec![
                m(100, 200, 90, 80, Some(MinutiaKind::Ending)),
                m(0, 0, 359, 36, Some(MinutiaKind::Bifurcation)),
                m(299, 399, 0, 5, None),
            ],
        }
    }

    #[test]
    fn lines_count_y_from_the_bottom_as_bozorth3_reads_them() {
        // y = 400 - row: the top row is 400, the bottom row 1.
        assert_eq!(write(&template()), "100 200 90 80\n0 400 359 36\n299 1 0 5\n");
    }

    #[test]
    fn the_file_and_bozorth3_get_the_same_numbers() {
        let t = template();
        let from_text = parse(&write(&t)).unwrap();
        assert_eq!(from_text, t.to_xyt());
    }

    #[test]
    fn round_trip_keeps_everything_but_the_kind() {
        let t = template();
        let back = read(&write(&t), t.width, t.height).unwrap();
        let without_kind: Vec<Minutia> = t.minutiae.iter().map(|m| Minutia { kind: None, ..*m }).collect();
        assert_eq!((back.width, back.height), (t.width, t.height));
        assert_eq!(back.minutiae, without_kind);
    }

    #[test]
    fn three_columns_blank_lines_and_crlf_are_read() {
        let parsed = parse("10 20 30\r\n\n  \n1 2 3 4\n").unwrap();
        assert_eq!(
            parsed,
            [XytMinutia { x: 10, y: 20, theta: 30, quality: 0 }, XytMinutia { x: 1, y: 2, theta: 3, quality: 4 }]
        );
    }

    #[test]
    fn errors_name_the_line_and_its_byte_offset() {
        let err = parse("1 2 3 4\n5 6 x 8\n").unwrap_err();
        assert_eq!(err, TemplateError::XytSyntax { line: 2, offset: 8, found: "5 6 x 8".into() });
        assert_eq!(err.to_string(), "xyt line 2 (byte 8): expected `x y theta quality` as integers, found \"5 6 x 8\"");
        assert!(matches!(parse("1 2\n"), Err(TemplateError::XytSyntax { line: 1, offset: 0, .. })));
        assert!(matches!(parse("1 2 3 4 5\n"), Err(TemplateError::XytSyntax { .. })));
        let err = parse("1 2 3 4\n\n1 2 360 4\n").unwrap_err();
        assert!(
            matches!(err, TemplateError::XytRange { line: 3, offset: 9, field: "theta", value: 360, .. }),
            "{err:?}"
        );
        assert!(matches!(parse("1 2 3 101"), Err(TemplateError::XytRange { field: "quality", .. })));
        assert!(matches!(parse("-1 2 3 4"), Err(TemplateError::XytRange { field: "x", .. })));
    }

    #[test]
    fn positions_must_lie_in_the_image() {
        let err = read("1 2 3 4\n300 5 6 7\n", 300, 400).unwrap_err();
        assert!(matches!(err, TemplateError::XytRange { line: 2, offset: 8, field: "x", value: 300, .. }), "{err:?}");
        assert!(matches!(read("1 0 3 4", 300, 400), Err(TemplateError::XytRange { field: "y", value: 0, .. })));
        assert!(matches!(read("1 401 3 4", 300, 400), Err(TemplateError::XytRange { field: "y", value: 401, .. })));
        assert_eq!(read("1 400 3 4", 300, 400).unwrap().minutiae[0].y, 0);
    }
}
