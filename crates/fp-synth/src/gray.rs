//! Plain 8-bit image buffers and atomic PNG writing.

use std::path::Path;

use crate::Result;

/// An 8-bit grayscale image, row-major, 0 black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gray {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` values, row after row.
    pub pixels: Vec<u8>,
}

/// An 8-bit RGB image, row-major, three bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 * width * height` bytes: red, green, blue of each pixel, row after row.
    pub pixels: Vec<u8>,
}

impl Gray {
    /// Writes the image as a PNG file, atomically: to a temporary file beside
    /// `path`, then renamed over it, so that a reader never sees half a file.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        write_png(path, &self.pixels, self.width, self.height, image::ExtendedColorType::L8)
    }

    /// The pixel at `(x, y)`; panics outside the image.
    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }
}

impl Rgb {
    /// A colour copy of a grayscale image.
    pub fn from_gray(gray: &Gray) -> Self {
        Self { width: gray.width, height: gray.height, pixels: gray.pixels.iter().flat_map(|&v| [v, v, v]).collect() }
    }

    /// Writes the image as a PNG file, atomically (see [`Gray::write_png`]).
    pub fn write_png(&self, path: &Path) -> Result<()> {
        write_png(path, &self.pixels, self.width, self.height, image::ExtendedColorType::Rgb8)
    }

    /// Sets the pixel at `(x, y)` if it lies inside the image.
    pub(crate) fn put(&mut self, x: isize, y: isize, colour: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = 3 * (y as usize * self.width + x as usize);
            self.pixels[i..i + 3].copy_from_slice(&colour);
        }
    }

    /// Draws a one-pixel line from `(x0, y0)` to `(x1, y1)`.
    pub(crate) fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), colour: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            self.put((x0 + t * (x1 - x0)).round() as isize, (y0 + t * (y1 - y0)).round() as isize, colour);
        }
    }
}

/// Encodes the pixels as PNG and writes them to `path` atomically.
fn write_png(path: &Path, pixels: &[u8], width: usize, height: usize, colour: image::ExtendedColorType) -> Result<()> {
    fp_io::write_png_atomically(path, pixels, width as u32, height as u32, colour)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SynthError;

    #[test]
    fn png_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        let gray = Gray { width: 3, height: 2, pixels: vec![0, 50, 100, 150, 200, 255] };
        gray.write_png(&path).unwrap();
        let back = image::open(&path).unwrap().into_luma8();
        assert_eq!((back.width(), back.height()), (3, 2));
        assert_eq!(back.into_raw(), gray.pixels);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writing_into_a_missing_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("a.png");
        let gray = Gray { width: 1, height: 1, pixels: vec![0] };
        match gray.write_png(&path) {
            Err(SynthError::Png(fp_io::PngError::Write(e))) => assert_eq!(e.path, path),
            other => panic!("expected a write error, got {other:?}"),
        }
    }
}
