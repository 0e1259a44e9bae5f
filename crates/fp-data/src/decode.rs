use std::path::Path;

use fast_image_resize::images::Image as ResizeImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GrayImage, ImageReader};

use crate::config::{Preprocess, ResizeFilter, ResizeMode};
use crate::error::{DataError, Result};

/// Decodes any image the `image` crate reads into 8-bit grayscale. 16-bit
/// samples are scaled down, colour becomes luma, palettes are expanded, and
/// transparent pixels are composited over white (the background of a print).
pub fn decode_gray(path: &Path) -> Result<GrayImage> {
    let decode_err = |source| DataError::Decode { path: path.to_owned(), source };
    let image = ImageReader::open(path)
        .map_err(DataError::io(path))?
        .with_guessed_format()
        .map_err(DataError::io(path))?
        .decode()
        .map_err(decode_err)?;
    let gray = if image.color().has_alpha() { over_white(&image) } else { image.into_luma8() };
    if gray.width() == 0 || gray.height() == 0 {
        return Err(DataError::EmptyImage { path: path.to_owned(), width: gray.width(), height: gray.height() });
    }
    Ok(gray)
}

fn over_white(image: &DynamicImage) -> GrayImage {
    let la = image.to_luma_alpha8();
    GrayImage::from_fn(la.width(), la.height(), |x, y| {
        let [l, a] = la.get_pixel(x, y).0;
        let (l, a) = (u32::from(l), u32::from(a));
        image::Luma([((l * a + 255 * (255 - a) + 127) / 255) as u8])
    })
}

/// Resizes a grayscale image to `preprocess`'s size, returning row-major pixels.
/// `path` only names the image in errors.
pub fn resize_gray(image: &GrayImage, preprocess: &Preprocess, path: &Path) -> Result<Vec<u8>> {
    let resize_err = |e: &dyn std::fmt::Display| DataError::Resize { path: path.to_owned(), message: e.to_string() };
    let (w, h) = (preprocess.width, preprocess.height);
    let src = ResizeImage::from_vec_u8(image.width(), image.height(), image.as_raw().clone(), PixelType::U8)
        .map_err(|e| resize_err(&e))?;
    let alg = match preprocess.filter {
        ResizeFilter::Nearest => ResizeAlg::Nearest,
        ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        ResizeFilter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
        ResizeFilter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    };
    let options = ResizeOptions::new().resize_alg(alg);
    let mut resizer = Resizer::new();
    match preprocess.resize {
        ResizeMode::Stretch | ResizeMode::Crop => {
            let options = if preprocess.resize == ResizeMode::Crop {
                options.fit_into_destination(Some((0.5, 0.5)))
            } else {
                options
            };
            let mut dst = ResizeImage::new(w, h, PixelType::U8);
            resizer.resize(&src, &mut dst, &options).map_err(|e| resize_err(&e))?;
            Ok(dst.into_vec())
        }
        ResizeMode::Pad => {
            let scale = f64::min(f64::from(w) / f64::from(image.width()), f64::from(h) / f64::from(image.height()));
            let fit_w = ((f64::from(image.width()) * scale).round() as u32).clamp(1, w);
            let fit_h = ((f64::from(image.height()) * scale).round() as u32).clamp(1, h);
            let mut fitted = ResizeImage::new(fit_w, fit_h, PixelType::U8);
            resizer.resize(&src, &mut fitted, &options).map_err(|e| resize_err(&e))?;
            let mut out = vec![border_mean(image); (w * h) as usize];
            let (left, top) = ((w - fit_w) / 2, (h - fit_h) / 2);
            for (row, line) in fitted.buffer().chunks_exact(fit_w as usize).enumerate() {
                let start = (top as usize + row) * w as usize + left as usize;
                out[start..start + fit_w as usize].copy_from_slice(line);
            }
            Ok(out)
        }
    }
}

/// Mean of the outermost rows and columns: the image's background level.
fn border_mean(image: &GrayImage) -> u8 {
    let (w, h) = image.dimensions();
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in image.enumerate_pixels() {
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            sum += u64::from(p.0[0]);
            n += 1;
        }
    }
    (sum as f64 / n.max(1) as f64).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb};

    fn preprocess(w: u32, h: u32, resize: ResizeMode) -> Preprocess {
        Preprocess { width: w, height: h, filter: ResizeFilter::Bilinear, resize }
    }

    #[test]
    fn decodes_16_bit_rgb_and_alpha_to_8_bit_gray() {
        let dir = tempfile::tempdir().unwrap();
        let p16 = dir.path().join("a.png");
        ImageBuffer::<Luma<u16>, _>::from_pixel(3, 2, Luma([65535u16])).save(&p16).unwrap();
        assert!(decode_gray(&p16).unwrap().pixels().all(|p| p.0[0] == 255));

        let prgb = dir.path().join("b.bmp");
        ImageBuffer::<Rgb<u8>, _>::from_pixel(3, 2, Rgb([0u8, 0, 0])).save(&prgb).unwrap();
        assert_eq!(decode_gray(&prgb).unwrap().dimensions(), (3, 2));

        // Fully transparent black is white background; opaque black stays black.
        let pa = dir.path().join("c.png");
        let mut la = ImageBuffer::<LumaA<u8>, _>::from_pixel(2, 1, LumaA([0u8, 0]));
        la.put_pixel(1, 0, LumaA([0, 255]));
        la.save(&pa).unwrap();
        let g = decode_gray(&pa).unwrap();
        assert_eq!((g.get_pixel(0, 0).0[0], g.get_pixel(1, 0).0[0]), (255, 0));
    }

    #[test]
    fn garbage_and_truncated_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.tif");
        std::fs::write(&garbage, b"this is not an image at all").unwrap();
        let err = decode_gray(&garbage).unwrap_err().to_string();
        assert_eq!(err, format!("cannot decode image {}", garbage.display()));

        let good = dir.path().join("good.png");
        GrayImage::from_pixel(64, 64, Luma([9])).save(&good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let truncated = dir.path().join("truncated.png");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let err = decode_gray(&truncated).unwrap_err().to_string();
        assert!(err.contains("truncated.png"), "{err}");
    }

    #[test]
    fn stretch_keeps_a_constant_image_constant() {
        let img = GrayImage::from_pixel(37, 53, Luma([77]));
        let out = resize_gray(&img, &preprocess(8, 12, ResizeMode::Stretch), Path::new("x")).unwrap();
        assert_eq!(out.len(), 96);
        assert!(out.iter().all(|&v| v == 77));
    }

    #[test]
    fn pad_centres_the_image_on_its_background() {
        // A 4x2 image (black centre, white border row) padded into 4x4: rows 0 and 3 are padding.
        let mut img = GrayImage::from_pixel(4, 2, Luma([255]));
        img.put_pixel(1, 0, Luma([0]));
        let out = resize_gray(&img, &preprocess(4, 4, ResizeMode::Pad), Path::new("x")).unwrap();
        let border = border_mean(&img);
        assert_eq!(&out[0..4], &[border; 4]);
        assert_eq!(&out[12..16], &[border; 4]);
        assert_eq!(&out[4..12], img.as_raw().as_slice());
    }

    #[test]
    fn crop_takes_the_centre() {
        // 6x2 image, left third 0, middle 100, right third 200: cropping to 2x2 keeps the middle.
        let img = GrayImage::from_fn(6, 2, |x, _| Luma([(x / 2 * 100) as u8]));
        let out = resize_gray(&img, &preprocess(2, 2, ResizeMode::Crop), Path::new("x")).unwrap();
        assert_eq!(out, vec![100; 4]);
    }
}
