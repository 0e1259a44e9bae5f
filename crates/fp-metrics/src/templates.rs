//! Minutiae templates in the formats other fingerprint systems read, written
//! and read back.
//!
//! - [`xyt`]: NIST's text format, one minutia per line as MINDTCT writes it and
//!   BOZORTH3 reads it (`x y theta quality`, origin bottom left).
//! - [`iso19794_2`]: the binary finger minutiae record of ISO/IEC 19794-2:2005
//!   (`FMR\0`, version ` 20\0`), origin top left, angles in 1/256 of a turn.
//!
//! Both start from a [`Template`] (image coordinates, origin top left, MINDTCT's
//! direction) and give one back; [`TemplateFormat`] names them for commands
//! that let the user choose. Readers check every field and name the line or
//! byte offset of the first one that is wrong.

pub mod iso19794_2;
pub mod xyt;

use std::fmt;
use std::str::FromStr;

use crate::minutiae::Template;

/// A format to write a template in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateFormat {
    /// NIST's `.xyt` text, as MINDTCT writes it.
    Xyt,
    /// An ISO/IEC 19794-2:2005 finger minutiae record.
    Iso19794_2,
}

impl TemplateFormat {
    /// Every format.
    pub const ALL: [TemplateFormat; 2] = [TemplateFormat::Xyt, TemplateFormat::Iso19794_2];

    /// The name users give it: `xyt` or `iso19794-2`.
    pub fn name(self) -> &'static str {
        match self {
            TemplateFormat::Xyt => "xyt",
            TemplateFormat::Iso19794_2 => "iso19794-2",
        }
    }

    /// The file extension its files get: `xyt`, or `ist` (ISO standard template).
    pub fn extension(self) -> &'static str {
        match self {
            TemplateFormat::Xyt => "xyt",
            TemplateFormat::Iso19794_2 => "ist",
        }
    }

    /// Whether its files are text.
    pub fn is_text(self) -> bool {
        self == TemplateFormat::Xyt
    }

    /// `template`, found in an image scanned at `ppi` pixels per inch, as the
    /// bytes of a file of this format (`xyt` does not record the resolution).
    pub fn encode(self, template: &Template, ppi: u16) -> Result<Vec<u8>, TemplateError> {
        match self {
            TemplateFormat::Xyt => Ok(xyt::write(template).into_bytes()),
            TemplateFormat::Iso19794_2 => iso19794_2::IsoRecord::from_template(template, ppi)?.to_bytes(),
        }
    }
}

impl fmt::Display for TemplateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TemplateFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|f| f.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
            format!("unknown template format {text:?}; expected one of {}", names.join(", "))
        })
    }
}

/// What is wrong with a template being read or written. Reading errors name
/// the line (`xyt`) or the byte offset (ISO record) of the first bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// An `xyt` line is not three or four integers.
    #[error("xyt line {line} (byte {offset}): expected `x y theta quality` as integers, found {found:?}")]
    XytSyntax {
        /// Line number, from 1.
        line: usize,
        /// Byte offset of the line's start in the text.
        offset: usize,
        /// The line.
        found: String,
    },
    /// A value on an `xyt` line is outside its range.
    #[error("xyt line {line} (byte {offset}): {field} {value} is outside {expected}")]
    XytRange {
        /// Line number, from 1.
        line: usize,
        /// Byte offset of the line's start in the text.
        offset: usize,
        /// Which value: `x`, `y`, `theta` or `quality`.
        field: &'static str,
        /// The value found.
        value: i64,
        /// The range it must be in.
        expected: String,
    },
    /// An ISO record ends before a field it should hold.
    #[error("ISO/IEC 19794-2 record: {field} at byte {offset} needs {needed} bytes, but the data ends at byte {len}")]
    Truncated {
        /// The field.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Its size in bytes.
        needed: usize,
        /// The length of the data.
        len: usize,
    },
    /// A field of an ISO record holds a value the format does not allow.
    #[error("ISO/IEC 19794-2 record: {field} at byte {offset} is {found}, expected {expected}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// What it holds.
        found: String,
        /// What the format allows there.
        expected: String,
    },
    /// A value is too large for its field of an ISO record.
    #[error("{field} {value} does not fit an ISO/IEC 19794-2 record, which holds at most {max}")]
    DoesNotFit {
        /// The field.
        field: &'static str,
        /// The value.
        value: i64,
        /// The largest value the field holds.
        max: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named_as_users_write_them() {
        for format in TemplateFormat::ALL {
            assert_eq!(format.name().parse::<TemplateFormat>(), Ok(format));
        }
        assert_eq!(TemplateFormat::Iso19794_2.to_string(), "iso19794-2");
        assert_eq!(TemplateFormat::Iso19794_2.extension(), "ist");
        let err = "iso".parse::<TemplateFormat>().unwrap_err();
        assert!(err.contains("xyt, iso19794-2"), "{err}");
    }
}
