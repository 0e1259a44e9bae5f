//! Target `image`: decoding any file as a print and preprocessing it, as
//! `fpae` does for every dataset image and for the prints given to
//! `reconstruct` and `restore` ([`fp_data::load_one`]: decode to 8-bit grey,
//! resize, pad or crop), then scaling it to [0, 1] and mapping it back to 8-bit
//! pixels at its original size ([`AppliedScaling`], [`fp_data::restore_size`]).
//!
//! Input: 4 bytes of settings, then the image file.
//! - byte 0, 1: output width and height, `1 + byte` pixels;
//! - byte 2: resampling filter (`% 4`: nearest, bilinear, bicubic, lanczos3) and,
//!   `/ 4 % 4`, the resize mode (stretch, pad, crop, none);
//! - byte 3: scaling (`% 3`: divide by the image's maximum, by 255, per-image min-max).

use fp_data::{AppliedScaling, Preprocess, ResizeFilter, ResizeMode};

/// Runs one input; see the module documentation for its layout.
pub fn decode_and_preprocess(input: &[u8]) {
    let Some((settings, file)) = input.split_first_chunk::<4>() else { return };
    let filter = [ResizeFilter::Nearest, ResizeFilter::Bilinear, ResizeFilter::Bicubic, ResizeFilter::Lanczos3]
        [usize::from(settings[2] % 4)];
    let resize =
        [ResizeMode::Stretch, ResizeMode::Pad, ResizeMode::Crop, ResizeMode::None][usize::from(settings[2] / 4 % 4)];
    let preprocess =
        Preprocess { width: 1 + u32::from(settings[0]), height: 1 + u32::from(settings[1]), filter, resize };

    let dir = crate::scratch::folder();
    let path = dir.path().join("print.tif");
    crate::scratch::write(&path, file);
    let Ok((pixels, original)) = fp_data::load_one(&path, &preprocess) else { return };

    let (width, height) = preprocess.output_size(original);
    assert_eq!(pixels.len(), width as usize * height as usize, "preprocessed pixels of a {width}x{height} image");
    let scaling = match settings[3] % 3 {
        0 => AppliedScaling::Divide { divisor: f32::from(pixels.iter().copied().max().unwrap_or(0).max(1)) },
        1 => AppliedScaling::Divide { divisor: 255.0 },
        _ => AppliedScaling::PerImageMinMax,
    };
    let mut values = vec![0f32; pixels.len()];
    scaling.apply(&pixels, &mut values);
    assert!(values.iter().all(|v| (0.0..=1.0).contains(v)), "{scaling:?} scales into [0, 1]");
    let back = scaling.invert(&values, &pixels);
    assert_eq!(back, pixels, "{scaling:?}: invert undoes apply");
    let restored = fp_data::restore_size(&back, &preprocess, original, &path)
        .unwrap_or_else(|e| panic!("restore_size of a preprocessed image fails: {e}"));
    assert_eq!(restored.len(), original.0 as usize * original.1 as usize, "restored to the original size");
}
