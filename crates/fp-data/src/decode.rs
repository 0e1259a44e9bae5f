//! Decoding any supported image file to 8-bit grey, resizing it as the
//! preprocessing says (Pillow-compatible filters), and mapping model-sized
//! pixels back to the original size.

use std::path::Path;

use fast_image_resize::images::Image as ResizeImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GrayImage, ImageError, ImageReader};

use crate::config::{Preprocess, ResizeFilter, ResizeMode};
use crate::error::{DataError, Result};

/// Decodes any image the `image` crate reads into 8-bit grayscale. 16-bit
/// samples are scaled down, colour becomes luma, palettes are expanded, and
/// transparent pixels are composited over white (the background of a print).
/// Only regular files are opened (a named pipe would block forever), and an
/// image whose header claims more pixels than the decoder's limit is refused
/// before anything is allocated.
pub fn decode_gray(path: &Path) -> Result<GrayImage> {
    let meta = std::fs::metadata(path).map_err(DataError::io(path))?;
    if !meta.is_file() {
        return Err(DataError::NotAFile { path: path.to_owned(), found: file_kind(&meta.file_type()) });
    }
    let open =
        || ImageReader::open(path).map_err(DataError::io(path))?.with_guessed_format().map_err(DataError::io(path));
    let image = match open()?.decode() {
        Ok(image) => image,
        Err(ImageError::Limits(_)) => {
            let limit_mib = image::Limits::default().max_alloc.unwrap_or(0) >> 20;
            return Err(match open()?.into_dimensions() {
                Ok((width, height)) => DataError::TooLarge { path: path.to_owned(), width, height, limit_mib },
                Err(source) => DataError::Decode { path: path.to_owned(), source },
            });
        }
        Err(source) => return Err(DataError::Decode { path: path.to_owned(), source }),
    };
    let gray = if image.color().has_alpha() { over_white(&image) } else { image.into_luma8() };
    if gray.width() == 0 || gray.height() == 0 {
        return Err(DataError::EmptyImage { path: path.to_owned(), width: gray.width(), height: gray.height() });
    }
    Ok(gray)
}

/// What a path that is not a regular file is, in words.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() { "a folder" } else { "not a regular file" }
}

fn over_white(image: &DynamicImage) -> GrayImage {
    let la = image.to_luma_alpha8();
    GrayImage::from_fn(la.width(), la.height(), |x, y| {
        let [l, a] = la.get_pixel(x, y).0;
        let (l, a) = (u32::from(l), u32::from(a));
        image::Luma([((l * a + 255 * (255 - a) + 127) / 255) as u8])
    })
}

/// Resizes a grayscale image to `preprocess`'s size, returning row-major pixels;
/// with [`ResizeMode::None`] the pixels come back unchanged, at the image's own
/// size. `path` only names the image in errors.
pub fn resize_gray(image: &GrayImage, preprocess: &Preprocess, path: &Path) -> Result<Vec<u8>> {
    let (w, h) = (preprocess.width, preprocess.height);
    let (iw, ih) = image.dimensions();
    match preprocess.resize {
        ResizeMode::None => Ok(image.as_raw().clone()),
        ResizeMode::Stretch => resize_u8(image.as_raw(), (iw, ih), (w, h), preprocess.filter, None, path),
        ResizeMode::Crop => resize_u8(image.as_raw(), (iw, ih), (w, h), preprocess.filter, Some((0.5, 0.5)), path),
        ResizeMode::Pad => {
            let fit = PadBox::new((iw, ih), (w, h));
            let fitted = resize_u8(image.as_raw(), (iw, ih), (fit.width, fit.height), preprocess.filter, None, path)?;
            let mut out = vec![border_mean(image.as_raw(), iw, ih); (w * h) as usize];
            for (row, line) in fitted.chunks_exact(fit.width as usize).enumerate() {
                let start = (fit.top as usize + row) * w as usize + fit.left as usize;
                out[start..start + fit.width as usize].copy_from_slice(line);
            }
            Ok(out)
        }
    }
}

/// Maps model-sized pixels back to an image of the `original` size, inverting
/// the geometry of [`resize_gray`]: a stretched image is resized back; a padded
/// one loses its padding first; a cropped one is resized to the region it was
/// cut from and centred on a canvas of its own border level (the cut-off parts
/// were never seen by the model). With [`ResizeMode::None`] the pixels already
/// have the original size and come back unchanged.
pub fn restore_size(pixels: &[u8], preprocess: &Preprocess, original: (u32, u32), path: &Path) -> Result<Vec<u8>> {
    let size = (preprocess.width, preprocess.height);
    let (ow, oh) = original;
    match preprocess.resize {
        ResizeMode::None if pixels.len() == ow as usize * oh as usize => Ok(pixels.to_vec()),
        ResizeMode::None => Err(DataError::Resize {
            path: path.to_owned(),
            message: format!("{} pixels are not an image of the original {ow}x{oh}", pixels.len()),
        }),
        ResizeMode::Stretch => resize_u8(pixels, size, original, preprocess.filter, None, path),
        ResizeMode::Pad => {
            let fit = PadBox::new(original, size);
            let mut region = Vec::with_capacity((fit.width * fit.height) as usize);
            for row in fit.top..fit.top + fit.height {
                let start = (row * size.0 + fit.left) as usize;
                region.extend_from_slice(&pixels[start..start + fit.width as usize]);
            }
            resize_u8(&region, (fit.width, fit.height), original, preprocess.filter, None, path)
        }
        ResizeMode::Crop => {
            let scale = f64::max(f64::from(size.0) / f64::from(ow), f64::from(size.1) / f64::from(oh));
            let rw = ((f64::from(size.0) / scale).round() as u32).clamp(1, ow);
            let rh = ((f64::from(size.1) / scale).round() as u32).clamp(1, oh);
            let region = resize_u8(pixels, size, (rw, rh), preprocess.filter, None, path)?;
            let mut out = vec![border_mean(pixels, size.0, size.1); (ow * oh) as usize];
            let (left, top) = ((ow - rw) / 2, (oh - rh) / 2);
            for (row, line) in region.chunks_exact(rw as usize).enumerate() {
                let start = (top as usize + row) * ow as usize + left as usize;
                out[start..start + rw as usize].copy_from_slice(line);
            }
            Ok(out)
        }
    }
}

/// Where an image of `source` size sits inside `target` when fitted with its
/// aspect ratio kept and centred.
struct PadBox {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

impl PadBox {
    fn new(source: (u32, u32), target: (u32, u32)) -> Self {
        let (sw, sh) = (f64::from(source.0), f64::from(source.1));
        let scale = f64::min(f64::from(target.0) / sw, f64::from(target.1) / sh);
        let width = ((sw * scale).round() as u32).clamp(1, target.0);
        let height = ((sh * scale).round() as u32).clamp(1, target.1);
        Self { left: (target.0 - width) / 2, top: (target.1 - height) / 2, width, height }
    }
}

/// Resizes 8-bit gray pixels of size `from` to `to`; with `crop_centre`, the
/// source is cut to `to`'s aspect ratio around that relative point first.
fn resize_u8(
    pixels: &[u8],
    from: (u32, u32),
    to: (u32, u32),
    filter: ResizeFilter,
    crop_centre: Option<(f64, f64)>,
    path: &Path,
) -> Result<Vec<u8>> {
    let resize_err = |e: &dyn std::fmt::Display| DataError::Resize { path: path.to_owned(), message: e.to_string() };
    let src = ResizeImage::from_vec_u8(from.0, from.1, pixels.to_vec(), PixelType::U8).map_err(|e| resize_err(&e))?;
    let alg = match filter {
        ResizeFilter::Nearest => ResizeAlg::Nearest,
        ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        ResizeFilter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
        ResizeFilter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    };
    let options = ResizeOptions::new().resize_alg(alg);
    // `fit_into_destination(None)` would still crop (around the centre): only ask for it when cropping.
    let options = match crop_centre {
        Some(centre) => options.fit_into_destination(Some(centre)),
        None => options,
    };
    let mut dst = ResizeImage::new(to.0, to.1, PixelType::U8);
    Resizer::new().resize(&src, &mut dst, &options).map_err(|e| resize_err(&e))?;
    Ok(dst.into_vec())
}

/// Mean of the outermost rows and columns of `w x h` pixels: the image's background level.
fn border_mean(pixels: &[u8], w: u32, h: u32) -> u8 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, &p) in pixels.iter().enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            sum += u64::from(p);
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
    fn folders_pipes_and_oversized_headers_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("folder.png");
        std::fs::create_dir(&folder).unwrap();
        let err = decode_gray(&folder).unwrap_err().to_string();
        assert_eq!(err, format!("{}: is a folder, expected an image file", folder.display()));

        // A named pipe would block the open until a writer came: it is refused first.
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo.png");
            let status = std::process::Command::new("mkfifo").arg(&fifo).status();
            if status.is_ok_and(|s| s.success()) {
                let err = decode_gray(&fifo).unwrap_err().to_string();
                assert_eq!(err, format!("{}: is a named pipe, expected an image file", fifo.display()));
            }
        }

        // A PNG header claiming 100000x100000 8-bit pixels (10 GB) and no pixel data.
        let bomb = dir.path().join("bomb.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |kind: &[u8], data: &[u8], out: &mut Vec<u8>| {
            out.extend((data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend(kind);
            out.extend(data);
            let crc = crc32fast::hash(&out[start..]);
            out.extend(crc.to_be_bytes());
        };
        let mut header = Vec::new();
        header.extend(100_000u32.to_be_bytes());
        header.extend(100_000u32.to_be_bytes());
        header.extend([8, 0, 0, 0, 0]);
        chunk(b"IHDR", &header, &mut bytes);
        // An empty zlib stream: one final stored block of no bytes, Adler-32 of nothing.
        chunk(b"IDAT", &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1], &mut bytes);
        chunk(b"IEND", &[], &mut bytes);
        std::fs::write(&bomb, &bytes).unwrap();
        let err = decode_gray(&bomb).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "cannot decode image {}: its header claims 100000x100000 pixels, more than the decoder's 512 MiB limit",
                bomb.display()
            )
        );
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
        let border = border_mean(img.as_raw(), 4, 2);
        assert_eq!(&out[0..4], &[border; 4]);
        assert_eq!(&out[12..16], &[border; 4]);
        assert_eq!(&out[4..12], img.as_raw().as_slice());
    }

    #[test]
    fn restore_size_inverts_each_geometry() {
        // A 40x20 image: left half 50, right half 200.
        let img = GrayImage::from_fn(40, 20, |x, _| Luma([if x < 20 { 50 } else { 200 }]));
        for mode in [ResizeMode::Stretch, ResizeMode::Pad] {
            let p = preprocess(16, 16, mode);
            let small = resize_gray(&img, &p, Path::new("x")).unwrap();
            let back = restore_size(&small, &p, (40, 20), Path::new("x")).unwrap();
            assert_eq!(back.len(), 800, "{mode:?}");
            // Away from the edge between the halves, the values come back.
            assert_eq!((back[2 * 40 + 3], back[2 * 40 + 36]), (50, 200), "{mode:?}");
        }
        // Crop: 16x16 out of the middle 20x20; the restored canvas keeps that region in place.
        let p = preprocess(16, 16, ResizeMode::Crop);
        let small = resize_gray(&img, &p, Path::new("x")).unwrap();
        let back = restore_size(&small, &p, (40, 20), Path::new("x")).unwrap();
        assert_eq!(back.len(), 800);
        assert_eq!((back[10 * 40 + 12], back[10 * 40 + 27]), (50, 200));
    }

    #[test]
    fn stretch_and_pad_keep_the_whole_field_of_view() {
        // A horizontal gradient 60x20: x = 0 is 0, x = 59 is 236. Stretch and pad
        // keep both ends; cutting to the output's aspect ratio would lose them.
        let img = GrayImage::from_fn(60, 20, |x, _| Luma([(x * 4) as u8]));
        for mode in [ResizeMode::Stretch, ResizeMode::Pad] {
            let p = preprocess(20, 20, mode);
            let small = resize_gray(&img, &p, Path::new("x")).unwrap();
            let row = if mode == ResizeMode::Pad { 10 } else { 0 };
            let line = &small[row * 20..row * 20 + 20];
            assert!(line[0] < 10 && line[19] > 226, "{mode:?} keeps both ends: {line:?}");
            // And the round trip puts every column back where it was.
            let back = restore_size(&small, &p, (60, 20), Path::new("x")).unwrap();
            for x in [5usize, 30, 54] {
                let v = i32::from(back[10 * 60 + x]);
                assert!((v - x as i32 * 4).abs() <= 8, "{mode:?} column {x}: {v}");
            }
        }
    }

    #[test]
    fn none_keeps_the_pixels_and_restore_size_is_the_identity() {
        let img = GrayImage::from_fn(5, 3, |x, y| Luma([(x * 40 + y) as u8]));
        let p = preprocess(16, 16, ResizeMode::None);
        let out = resize_gray(&img, &p, Path::new("x")).unwrap();
        assert_eq!(out, img.as_raw().clone());
        assert_eq!(restore_size(&out, &p, (5, 3), Path::new("x")).unwrap(), out);
        let err = restore_size(&out, &p, (4, 4), Path::new("x.png")).unwrap_err().to_string();
        assert_eq!(err, "cannot resize x.png: 15 pixels are not an image of the original 4x4");
    }

    #[test]
    fn crop_takes_the_centre() {
        // 6x2 image, left third 0, middle 100, right third 200: cropping to 2x2 keeps the middle.
        let img = GrayImage::from_fn(6, 2, |x, _| Luma([(x / 2 * 100) as u8]));
        let out = resize_gray(&img, &preprocess(2, 2, ResizeMode::Crop), Path::new("x")).unwrap();
        assert_eq!(out, vec![100; 4]);
    }
}
