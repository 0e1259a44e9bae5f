//! Prints and figures in and out of files: model values as 8-bit pictures,
//! PNGs and figures written atomically into folders created on the way.

use std::path::{Path, PathBuf};

use image::GrayImage;

use crate::{EvalError, Result};

/// Model values in [0, 1] as an 8-bit grayscale picture.
pub fn to_gray(values: &[f32], width: usize, height: usize) -> GrayImage {
    let pixels = values.iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    GrayImage::from_raw(width as u32, height as u32, pixels).expect("width * height values")
}

/// The image at `file` as values in [0, 1], with its width and height.
pub fn read_values(file: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let gray = fp_data::decode_gray(file)?;
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    Ok((gray.pixels().map(|p| f32::from(p.0[0]) / 255.0).collect(), w, h))
}

/// The file that stands where `dir` or a folder above it should be, if any.
pub fn file_in_the_way(dir: &Path) -> Option<&Path> {
    dir.ancestors().filter(|a| !a.as_os_str().is_empty()).find(|a| a.exists() && !a.is_dir())
}

/// Creates the folder of an output file, naming a file that stands in the way.
pub fn create_parent(path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
    if let Some(file) = file_in_the_way(dir) {
        return Err(EvalError::FileInTheWay { path: path.to_owned(), file: file.to_owned() });
    }
    std::fs::create_dir_all(dir).map_err(|source| EvalError::CreateDir { dir: dir.to_owned(), source })
}

/// Writes `bytes` to `path` atomically, creating its folder.
pub fn write_creating_folder(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    create_parent(path)?;
    fp_io::write_file_atomically(path, bytes)?;
    Ok(())
}

/// Encodes a grayscale image as PNG and writes it atomically, creating its folder; returns
/// the bytes written.
fn write_png(path: &Path, image: &GrayImage) -> Result<Vec<u8>> {
    create_parent(path)?;
    let (width, height) = image.dimensions();
    Ok(fp_io::write_png_atomically(path, image.as_raw(), width, height, image::ExtendedColorType::L8)?)
}

/// Encodes a grayscale image as PNG and writes it atomically, creating its folder.
pub fn write_gray_png(path: &Path, image: &GrayImage) -> Result<()> {
    write_png(path, image)?;
    Ok(())
}

/// Like [`write_gray_png`], and returns the file's SHA-256 (hex).
pub fn write_gray_png_hashed(path: &Path, image: &GrayImage) -> Result<String> {
    Ok(fp_train::sha256_hex(&write_png(path, image)?))
}

/// Writes a figure as PNG atomically, creating its folder.
pub fn write_figure(path: &Path, image: &image::RgbImage) -> Result<PathBuf> {
    create_parent(path)?;
    let bytes = fp_figures::encode_png(image)
        .map_err(|source| EvalError::EncodeFigure { path: path.to_owned(), source: Box::new(source) })?;
    fp_io::write_file_atomically(path, bytes)?;
    Ok(path.to_owned())
}
