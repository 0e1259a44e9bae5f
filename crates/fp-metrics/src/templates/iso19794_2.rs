//! The finger minutiae record of ISO/IEC 19794-2:2005, written and read.
//!
//! Multi-byte numbers are big-endian. The layout:
//!
//! ```text
//! offset size  record header (24 bytes)
//!      0    4  format identifier "FMR\0"
//!      4    4  version " 20\0"
//!      8    4  length of the whole record in bytes
//!     12    2  capture equipment: certification (4 bits), device type (12 bits)
//!     14    2  image width in pixels
//!     16    2  image height in pixels
//!     18    2  horizontal resolution in pixels per centimetre
//!     20    2  vertical resolution in pixels per centimetre
//!     22    1  number of finger views
//!     23    1  reserved, 0
//!              each finger view:
//!     +0    1  finger position (0 unknown, 1..=10 right thumb .. left little)
//!     +1    1  view number (high 4 bits), impression type (low 4 bits; 0 live-scan plain)
//!     +2    1  finger quality 0..=100
//!     +3    1  number of minutiae N
//!     +4  6*N  minutiae, each:
//!               2  type (2 high bits: 01 ridge ending, 10 bifurcation, 00 other), x (14 bits)
//!               2  reserved (2 high bits, 0), y (14 bits)
//!               1  angle in steps of 360/256 = 1.40625 degrees
//!               1  quality 0..=100
//!      ..   2  extended data block length (0: none), then that many bytes
//! ```
//!
//! Conventions of [`IsoRecord::from_template`]: the origin is the top-left
//! pixel, `x` to the right and `y` down (the [`Template`]'s own coordinates,
//! unchanged). The angle is measured counter-clockwise from the right as the
//! image is viewed, and for the same minutia it points the opposite way to
//! MINDTCT's `xyt` angle: ISO/IEC 19794-2 and ANSI/INCITS 378 share one
//! direction convention (NIST's own conversions between them only change the
//! unit), and MINDTCT's ANSI/INCITS 378 output (`-m1`) is its `xyt` direction
//! turned by 180 degrees. So `angle = round(((theta + 180) mod 360) / 1.40625)
//! mod 256`. The resolution is the scan's, converted to pixels per centimetre
//! and rounded (500 ppi is 197). One finger view: position 0 (unknown), view 0,
//! impression type 0 (live-scan plain), capture equipment 0 (none given); the
//! finger quality is the mean of the minutiae's qualities, rounded, as fpae
//! estimates no overall image quality. A view holds at most 255 minutiae: the
//! 255 most reliable are kept. No extended data is written; what a record read
//! holds is kept as bytes.

use crate::minutiae::{Minutia, MinutiaKind, Template};
use crate::templates::TemplateError;

/// The record's first four bytes.
pub const FORMAT_ID: [u8; 4] = *b"FMR\0";
/// The version of the 2005 edition.
pub const VERSION: [u8; 4] = *b" 20\0";
/// Bytes in the record header.
pub const HEADER_LEN: usize = 24;
/// Bytes in a finger view's header.
pub const VIEW_HEADER_LEN: usize = 4;
/// Bytes per minutia.
pub const MINUTIA_LEN: usize = 6;
/// Most minutiae a finger view holds (a one-byte count).
pub const MAX_MINUTIAE: usize = 255;
/// Largest coordinate a minutia holds (14 bits).
pub const MAX_COORDINATE: u16 = 0x3FFF;
/// Degrees per step of a minutia's angle.
pub const ANGLE_STEP_DEGREES: f64 = 360.0 / 256.0;
/// Highest finger position code (10, left little finger).
pub const MAX_FINGER_POSITION: u8 = 10;

/// A whole finger minutiae record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoRecord {
    /// Capture equipment certification (4 high bits) and device type (12 bits); 0: none given.
    pub capture_equipment: u16,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre.
    pub x_resolution: u16,
    /// Vertical resolution in pixels per centimetre.
    pub y_resolution: u16,
    /// The finger views.
    pub views: Vec<FingerView>,
}

/// One finger view of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerView {
    /// Finger position code, 0 (unknown) to 10.
    pub finger_position: u8,
    /// View number, 0..=15.
    pub view_number: u8,
    /// Impression type, 0..=15 (0 live-scan plain, 1 live-scan rolled, 2 and 3 non-live, 8 swipe).
    pub impression_type: u8,
    /// Finger quality, 0..=100.
    pub finger_quality: u8,
    /// The minutiae.
    pub minutiae: Vec<IsoMinutia>,
    /// The extended data block, without its length field (empty: none).
    pub extended_data: Vec<u8>,
}

/// One minutia of a finger view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoMinutia {
    /// Ending, bifurcation or other.
    pub kind: IsoMinutiaType,
    /// Column in pixels from the left, 14 bits.
    pub x: u16,
    /// Row in pixels from the top, 14 bits.
    pub y: u16,
    /// Direction in steps of [`ANGLE_STEP_DEGREES`], counter-clockwise from the right.
    pub angle: u8,
    /// Quality, 0..=100.
    pub quality: u8,
}

/// A minutia's type, as its two type bits code it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsoMinutiaType {
    /// `00`: neither, or not known.
    Other = 0,
    /// `01`: a ridge ending.
    RidgeEnding = 1,
    /// `10`: a ridge bifurcation.
    Bifurcation = 2,
}

/// Pixels per centimetre of a resolution in pixels per inch, rounded.
pub fn pixels_per_cm(ppi: u16) -> u16 {
    (f64::from(ppi) / 2.54).round() as u16
}

/// The record's angle of a minutia whose [`Minutia::angle`] (MINDTCT's `xyt`
/// direction) is `theta` degrees: turned by 180 degrees, in steps of 1.40625.
pub fn angle_to_iso(theta: i32) -> u8 {
    let degrees = f64::from((theta + 180).rem_euclid(360));
    ((degrees / ANGLE_STEP_DEGREES).round() as u32 % 256) as u8
}

/// [`Minutia::angle`] in whole degrees of a record's angle: the inverse of
/// [`angle_to_iso`] within 1 degree.
pub fn angle_from_iso(angle: u8) -> i32 {
    ((f64::from(angle) * ANGLE_STEP_DEGREES).round() as i32 + 180).rem_euclid(360)
}

impl IsoRecord {
    /// The record of `template`, found in an image scanned at `ppi` pixels per
    /// inch, with the conventions the module describes. Fails when the image
    /// is larger than the record's fields hold.
    pub fn from_template(template: &Template, ppi: u16) -> Result<Self, TemplateError> {
        let fits = |field: &'static str, value: i64, max: u16| {
            if (0..=i64::from(max)).contains(&value) {
                Ok(value as u16)
            } else {
                Err(TemplateError::DoesNotFit { field, value, max: i64::from(max) })
            }
        };
        let width = fits("image width", i64::from(template.width), u16::MAX)?;
        let height = fits("image height", i64::from(template.height), u16::MAX)?;
        let minutiae = template
            .minutiae
            .iter()
            .take(MAX_MINUTIAE)
            .map(|m| {
                Ok(IsoMinutia {
                    kind: match m.kind {
                        Some(MinutiaKind::Ending) => IsoMinutiaType::RidgeEnding,
                        Some(MinutiaKind::Bifurcation) => IsoMinutiaType::Bifurcation,
                        None => IsoMinutiaType::Other,
                    },
                    x: fits("minutia x", i64::from(m.x), MAX_COORDINATE)?,
                    y: fits("minutia y", i64::from(m.y), MAX_COORDINATE)?,
                    angle: angle_to_iso(m.angle),
                    quality: m.quality.clamp(0, 100) as u8,
                })
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;
        let finger_quality = match minutiae.len() {
            0 => 0,
            n => (minutiae.iter().map(|m| f64::from(m.quality)).sum::<f64>() / n as f64).round() as u8,
        };
        let resolution = pixels_per_cm(ppi);
        Ok(Self {
            capture_equipment: 0,
            width,
            height,
            x_resolution: resolution,
            y_resolution: resolution,
            views: vec![FingerView {
                finger_position: 0,
                view_number: 0,
                impression_type: 0,
                finger_quality,
                minutiae,
                extended_data: Vec::new(),
            }],
        })
    }

    /// The template of the record's first finger view (fpae writes one): the
    /// positions as they are, the angles back in MINDTCT's `xyt` direction
    /// within 1 degree, `other` minutiae of unknown kind; sorted by quality.
    pub fn to_template(&self) -> Result<Template, TemplateError> {
        let view = self.views.first().ok_or_else(|| TemplateError::Invalid {
            field: "number of finger views",
            offset: 22,
            found: "0".into(),
            expected: "at least 1".into(),
        })?;
        let minutiae = view
            .minutiae
            .iter()
            .map(|m| Minutia {
                x: i32::from(m.x),
                y: i32::from(m.y),
                angle: angle_from_iso(m.angle),
                quality: i32::from(m.quality),
                kind: match m.kind {
                    IsoMinutiaType::RidgeEnding => Some(MinutiaKind::Ending),
                    IsoMinutiaType::Bifurcation => Some(MinutiaKind::Bifurcation),
                    IsoMinutiaType::Other => None,
                },
            })
            .collect();
        Ok(Template::sorted(usize::from(self.width), usize::from(self.height), minutiae))
    }

    /// The record's bytes. Fails when a count or field is larger than the
    /// format holds.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TemplateError> {
        let fits = |field: &'static str, value: usize, max: usize| {
            if value <= max {
                Ok(())
            } else {
                Err(TemplateError::DoesNotFit { field, value: value as i64, max: max as i64 })
            }
        };
        fits("number of finger views", self.views.len(), 255)?;
        let mut length = HEADER_LEN;
        for view in &self.views {
            fits("number of minutiae in a finger view", view.minutiae.len(), MAX_MINUTIAE)?;
            fits("view number", usize::from(view.view_number), 15)?;
            fits("impression type", usize::from(view.impression_type), 15)?;
            fits("extended data length", view.extended_data.len(), usize::from(u16::MAX))?;
            for m in &view.minutiae {
                fits("minutia x", usize::from(m.x), usize::from(MAX_COORDINATE))?;
                fits("minutia y", usize::from(m.y), usize::from(MAX_COORDINATE))?;
            }
            length += VIEW_HEADER_LEN + MINUTIA_LEN * view.minutiae.len() + 2 + view.extended_data.len();
        }
        fits("record length", length, u32::MAX as usize)?;
        let mut out = Vec::with_capacity(length);
        out.extend_from_slice(&FORMAT_ID);
        out.extend_from_slice(&VERSION);
        out.extend_from_slice(&(length as u32).to_be_bytes());
        for value in [self.capture_equipment, self.width, self.height, self.x_resolution, self.y_resolution] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&[self.views.len() as u8, 0]);
        for view in &self.views {
            out.extend_from_slice(&[
                view.finger_position,
                (view.view_number << 4) | view.impression_type,
                view.finger_quality,
                view.minutiae.len() as u8,
            ]);
            for m in &view.minutiae {
                out.extend_from_slice(&(((m.kind as u16) << 14) | m.x).to_be_bytes());
                out.extend_from_slice(&m.y.to_be_bytes());
                out.extend_from_slice(&[m.angle, m.quality]);
            }
            out.extend_from_slice(&(view.extended_data.len() as u16).to_be_bytes());
            out.extend_from_slice(&view.extended_data);
        }
        debug_assert_eq!(out.len(), length);
        Ok(out)
    }

    /// Reads a record, checking every field: the identifier and version, that
    /// the record length is the length of `bytes`, every count against the
    /// bytes there are, finger positions, qualities, minutia types (`11` is
    /// reserved) and that each minutia lies in the image. Reserved bits are
    /// ignored. Errors name the field and its byte offset.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TemplateError> {
        let mut r = ByteReader { bytes, offset: 0 };
        let id = r.take("format identifier", 4)?;
        if id != FORMAT_ID {
            return Err(r.invalid_at(0, "format identifier", escaped(id), escaped(&FORMAT_ID)));
        }
        let version = r.take("version", 4)?;
        if version != VERSION {
            return Err(r.invalid_at(
                4,
                "version",
                escaped(version),
                format!("{} (the 2005 edition)", escaped(&VERSION)),
            ));
        }
        let length = r.u32("record length")? as usize;
        if length != bytes.len() {
            if length > bytes.len() {
                return Err(TemplateError::Truncated { field: "record", offset: 0, needed: length, len: bytes.len() });
            }
            let expected = format!("{} (the length of the data)", bytes.len());
            return Err(r.invalid_at(8, "record length", length.to_string(), expected));
        }
        let capture_equipment = r.u16("capture equipment")?;
        let width = r.u16("image width")?;
        let height = r.u16("image height")?;
        let x_resolution = r.u16("horizontal resolution")?;
        let y_resolution = r.u16("vertical resolution")?;
        let view_count = r.u8("number of finger views")?;
        r.u8("reserved byte")?;
        let mut views = Vec::with_capacity(usize::from(view_count));
        for _ in 0..view_count {
            let at = r.offset;
            let finger_position = r.u8("finger position")?;
            if finger_position > MAX_FINGER_POSITION {
                return Err(r.invalid_at(at, "finger position", finger_position.to_string(), "0..=10".into()));
            }
            let view_and_impression = r.u8("view number and impression type")?;
            let finger_quality = r.u8("finger quality")?;
            if finger_quality > 100 {
                return Err(r.invalid_at(at + 2, "finger quality", finger_quality.to_string(), "0..=100".into()));
            }
            let count = r.u8("number of minutiae")?;
            let mut minutiae = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let at = r.offset;
                let type_and_x = r.u16("minutia type and x")?;
                let kind = match type_and_x >> 14 {
                    0 => IsoMinutiaType::Other,
                    1 => IsoMinutiaType::RidgeEnding,
                    2 => IsoMinutiaType::Bifurcation,
                    _ => {
                        let expected = "01 (ridge ending), 10 (bifurcation) or 00 (other)".into();
                        return Err(r.invalid_at(at, "minutia type", "11 (reserved)".into(), expected));
                    }
                };
                let x = type_and_x & MAX_COORDINATE;
                if x >= width {
                    return Err(r.invalid_at(at, "minutia x", x.to_string(), format!("under the image width {width}")));
                }
                let y = r.u16("minutia y")? & MAX_COORDINATE;
                if y >= height {
                    let expected = format!("under the image height {height}");
                    return Err(r.invalid_at(at + 2, "minutia y", y.to_string(), expected));
                }
                let angle = r.u8("minutia angle")?;
                let quality = r.u8("minutia quality")?;
                if quality > 100 {
                    return Err(r.invalid_at(at + 5, "minutia quality", quality.to_string(), "0..=100".into()));
                }
                minutiae.push(IsoMinutia { kind, x, y, angle, quality });
            }
            let extended_length = r.u16("extended data block length")?;
            let extended_data = r.take("extended data block", usize::from(extended_length))?.to_vec();
            views.push(FingerView {
                finger_position,
                view_number: view_and_impression >> 4,
                impression_type: view_and_impression & 0x0F,
                finger_quality,
                minutiae,
                extended_data,
            });
        }
        if r.offset != bytes.len() {
            let found = format!("{} more bytes", bytes.len() - r.offset);
            return Err(r.invalid_at(
                r.offset,
                "data after the last finger view",
                found,
                "the end of the record".into(),
            ));
        }
        Ok(Self { capture_equipment, width, height, x_resolution, y_resolution, views })
    }
}

/// Reads big-endian fields in order, naming each one that is cut short.
struct ByteReader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> ByteReader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], TemplateError> {
        let bytes = self.bytes;
        let slice = bytes.get(self.offset..self.offset + n).ok_or(TemplateError::Truncated {
            field,
            offset: self.offset,
            needed: n,
            len: bytes.len(),
        })?;
        self.offset += n;
        Ok(slice)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TemplateError> {
        Ok(self.take(field, 1)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, TemplateError> {
        let b = self.take(field, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, TemplateError> {
        let b = self.take(field, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn invalid_at(&self, offset: usize, field: &'static str, found: String, expected: String) -> TemplateError {
        TemplateError::Invalid { field, offset, found, expected }
    }
}

/// Bytes as a quoted string with `\0` and `\xNN` escapes: `"FMR\0"`.
fn escaped(bytes: &[u8]) -> String {
    let inner: String = bytes
        .iter()
        .map(|&b| match b {
            0 => "\\0".to_owned(),
            b' '..=b'~' => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect();
    format!("\"{inner}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: i32, y: i32, angle: i32, quality: i32, kind: Option<MinutiaKind>) -> Minutia {
        Minutia { x, y, angle, quality, kind }
    }

    /// A 300x400 print at 500 ppi with two minutiae.
    fn two_minutiae() -> Template {
        Template {
            width: 300,
            height: 400,
            minutiae: vec![
                m(100, 200, 90, 80, Some(MinutiaKind::Ending)),
                m(299, 0, 0, 36, Some(MinutiaKind::Bifurcation)),
            ],
        }
    }

    /// The record of [`two_minutiae`], worked out by hand from the layout.
    #[rustfmt::skip]
    const TWO_MINUTIAE_RECORD: [u8; 42] = [
        b'F', b'M', b'R', 0,      // format identifier "FMR\0"
        b' ', b'2', b'0', 0,      // version " 20\0"
        0x00, 0x00, 0x00, 0x2A,   // record length: 24 + 4 + 2 * 6 + 2 = 42
        0x00, 0x00,               // capture equipment: none given
        0x01, 0x2C,               // width 300
        0x01, 0x90,               // height 400
        0x00, 0xC5,               // 500 ppi = 196.85 px/cm -> 197
        0x00, 0xC5,               // the same vertically
        0x01,                     // one finger view
        0x00,                     // reserved
        // finger view
        0x00,                     // finger position: unknown
        0x00,                     // view 0, impression type 0 (live-scan plain)
        0x3A,                     // finger quality: (80 + 36) / 2 = 58
        0x02,                     // two minutiae
        // ridge ending at (100, 200), xyt angle 90 (up): ISO 270 degrees = 192 steps
        0x40, 0x64,               // 01 (ending) << 14 | 100
        0x00, 0xC8,               // 00 (reserved) << 14 | 200
        0xC0,                     // 192
        0x50,                     // quality 80
        // bifurcation at (299, 0), xyt angle 0 (right): ISO 180 degrees = 128 steps
        0x81, 0x2B,               // 10 (bifurcation) << 14 | 299
        0x00, 0x00,               // y 0
        0x80,                     // 128
        0x24,                     // quality 36
        0x00, 0x00,               // no extended data
    ];

    #[test]
    fn a_two_minutia_record_has_the_bytes_worked_out_by_hand() {
        let bytes = IsoRecord::from_template(&two_minutiae(), 500).unwrap().to_bytes().unwrap();
        assert_eq!(bytes, TWO_MINUTIAE_RECORD);
        let read = IsoRecord::from_bytes(&TWO_MINUTIAE_RECORD).unwrap();
        assert_eq!(read.to_template().unwrap(), two_minutiae());
        assert_eq!((read.x_resolution, read.views[0].finger_quality), (197, 58));
    }

    #[test]
    fn angles_turn_by_half_a_turn_in_steps_of_1_40625_degrees() {
        assert_eq!(angle_to_iso(0), 128);
        assert_eq!(angle_to_iso(90), 192);
        assert_eq!(angle_to_iso(180), 0);
        assert_eq!(angle_to_iso(270), 64);
        assert_eq!(angle_to_iso(179), 255); // 359 degrees is 255.3 steps
        assert_eq!(angle_to_iso(-90), 64);
        assert_eq!(angle_from_iso(128), 0);
        assert_eq!(angle_from_iso(255), 179); // 358.6 degrees
        for theta in 0..360 {
            let back = angle_from_iso(angle_to_iso(theta));
            assert!(crate::minutiae::angle_difference(theta, back) <= 1, "{theta} -> {back}");
        }
    }

    #[test]
    fn round_trip_keeps_positions_kinds_and_qualities_and_angles_within_a_step() {
        let minutiae: Vec<Minutia> = (0..360)
            .map(|i| {
                let kind = [Some(MinutiaKind::Ending), Some(MinutiaKind::Bifurcation), None][i as usize % 3];
                m((i * 7) % 500, (i * 13) % 600, (i * 37) % 360, 100 - (i * 100) / 360, kind)
            })
            .collect();
        let template = Template::sorted(500, 600, minutiae);
        let record = IsoRecord::from_template(&template, 569).unwrap();
        assert_eq!(record.x_resolution, 224, "569 ppi = 224.02 px/cm");
        let back = IsoRecord::from_bytes(&record.to_bytes().unwrap()).unwrap().to_template().unwrap();
        assert_eq!((back.width, back.height), (500, 600));
        // 255 of 360: the most reliable ones, in the same order.
        assert_eq!(back.len(), MAX_MINUTIAE);
        for (a, b) in template.minutiae.iter().zip(&back.minutiae) {
            assert_eq!((a.x, a.y, a.quality, a.kind), (b.x, b.y, b.quality, b.kind));
            assert!(crate::minutiae::angle_difference(a.angle, b.angle) <= 1, "{a:?} {b:?}");
        }
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        let mut big = two_minutiae();
        big.width = 70_000;
        assert_eq!(
            IsoRecord::from_template(&big, 500),
            Err(TemplateError::DoesNotFit { field: "image width", value: 70_000, max: 65_535 })
        );
        let mut far = two_minutiae();
        far.width = 20_000;
        far.minutiae[0].x = 16_384;
        assert!(matches!(
            IsoRecord::from_template(&far, 500),
            Err(TemplateError::DoesNotFit { field: "minutia x", .. })
        ));
        let mut record = IsoRecord::from_template(&two_minutiae(), 500).unwrap();
        record.views[0].impression_type = 16;
        assert!(matches!(record.to_bytes(), Err(TemplateError::DoesNotFit { field: "impression type", .. })));
    }

    #[test]
    fn reading_names_the_bad_field_and_its_offset() {
        let read = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = TWO_MINUTIAE_RECORD.to_vec();
            edit(&mut bytes);
            IsoRecord::from_bytes(&bytes).unwrap_err()
        };
        let invalid = |err: TemplateError| match err {
            TemplateError::Invalid { field, offset, .. } => (field, offset),
            other => panic!("expected an invalid field, got {other:?}"),
        };
        let err = read(&|b| b[0] = b'X');
        assert_eq!(
            err.to_string(),
            "ISO/IEC 19794-2 record: format identifier at byte 0 is \"XMR\\0\", expected \"FMR\\0\""
        );
        let err = read(&|b| b[4..8].copy_from_slice(b"030\0"));
        assert_eq!(invalid(err.clone()), ("version", 4));
        assert!(err.to_string().contains("is \"030\\0\", expected \" 20\\0\" (the 2005 edition)"), "{err}");
        assert_eq!(invalid(read(&|b| b.push(0))), ("record length", 8));
        assert_eq!(
            read(&|b| b.truncate(30)),
            TemplateError::Truncated { field: "record", offset: 0, needed: 42, len: 30 }
        );
        // A count of three minutiae where the record holds two: the third runs into the end.
        assert_eq!(
            read(&|b| b[27] = 3),
            TemplateError::Truncated { field: "minutia y", offset: 42, needed: 2, len: 42 }
        );
        assert_eq!(invalid(read(&|b| b[24] = 11)), ("finger position", 24));
        assert_eq!(invalid(read(&|b| b[26] = 101)), ("finger quality", 26));
        assert_eq!(invalid(read(&|b| b[28] |= 0xC0)), ("minutia type", 28));
        assert_eq!(invalid(read(&|b| b[34..36].copy_from_slice(&[0x81, 0x2C]))), ("minutia x", 34));
        assert_eq!(invalid(read(&|b| b[30..32].copy_from_slice(&[0x01, 0x90]))), ("minutia y", 30));
        assert_eq!(invalid(read(&|b| b[33] = 101)), ("minutia quality", 33));
        // Reserved bits are ignored.
        let mut reserved = TWO_MINUTIAE_RECORD;
        reserved[30] |= 0xC0;
        reserved[23] = 7;
        assert_eq!(IsoRecord::from_bytes(&reserved).unwrap().to_template().unwrap(), two_minutiae());
    }

    #[test]
    fn extended_data_is_kept_and_a_record_without_views_has_no_template() {
        let mut record = IsoRecord::from_template(&two_minutiae(), 500).unwrap();
        record.views[0].extended_data = vec![0, 1, 0, 7, 1, 2, 3];
        let bytes = record.to_bytes().unwrap();
        assert_eq!(bytes.len(), 42 + 7);
        assert_eq!(IsoRecord::from_bytes(&bytes).unwrap(), record);
        record.views.clear();
        let bytes = record.to_bytes().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN);
        let read = IsoRecord::from_bytes(&bytes).unwrap();
        assert!(matches!(read.to_template(), Err(TemplateError::Invalid { field: "number of finger views", .. })));
    }
}
