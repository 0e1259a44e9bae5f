//! Rows of equally sized images with captions under each.

use image::{GrayImage, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FONT, FigureError, Result, draw_err, register_font};

/// One image of a grid and the lines of text under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// The picture.
    pub image: RgbImage,
    /// Caption lines, drawn centred under the picture.
    pub caption: Vec<String>,
}

impl Tile {
    /// A tile from a grayscale picture.
    pub fn gray(image: &GrayImage, caption: Vec<String>) -> Self {
        Self { image: image::DynamicImage::ImageLuma8(image.clone()).into_rgb8(), caption }
    }
}

const MARGIN: u32 = 12;
const GAP: u32 = 10;
const CAPTION_LINE: u32 = 18;
const CAPTION_SIZE: f64 = 14.0;
const TITLE_HEIGHT: u32 = 34;

/// Lays `rows` out top to bottom, tiles left to right, each row as high as its
/// tallest tile plus its captions, under an optional title.
pub fn grid(rows: &[Vec<Tile>], title: Option<&str>) -> Result<RgbImage> {
    let tiles = rows.iter().flatten();
    let cell_w = tiles.clone().map(|t| t.image.width()).max().ok_or_else(|| FigureError::Data("no images".into()))?;
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let row_heights: Vec<u32> = rows
        .iter()
        .map(|r| {
            let img = r.iter().map(|t| t.image.height()).max().unwrap_or(0);
            let lines = r.iter().map(|t| t.caption.len()).max().unwrap_or(0) as u32;
            img + lines * CAPTION_LINE + if lines > 0 { 4 } else { 0 }
        })
        .collect();
    register_font();
    let title_font = (FONT, 20).into_font().style(FontStyle::Bold);
    let title_width = match title {
        Some(t) => title_font.box_size(t).map_err(draw_err)?.0,
        None => 0,
    };
    let top = MARGIN + if title.is_some() { TITLE_HEIGHT } else { 0 };
    let tiles_width = columns * cell_w + columns.saturating_sub(1) * GAP;
    let width = 2 * MARGIN + tiles_width.max(title_width);
    let left = MARGIN + (width - 2 * MARGIN - tiles_width) / 2;
    let height = top + MARGIN + row_heights.iter().sum::<u32>() + (rows.len() as u32).saturating_sub(1) * GAP;

    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let mut captions = Vec::new();
    let mut y = top;
    for (row, row_height) in rows.iter().zip(&row_heights) {
        let img_h = row.iter().map(|t| t.image.height()).max().unwrap_or(0);
        for (col, tile) in row.iter().enumerate() {
            let x = left + col as u32 * (cell_w + GAP);
            let (dx, dy) = ((cell_w - tile.image.width()) / 2, img_h - tile.image.height());
            let (tx, ty) = (x + dx, y + dy);
            frame(&mut canvas, tx, ty, tile.image.width(), tile.image.height());
            image::imageops::replace(&mut canvas, &tile.image, i64::from(tx), i64::from(ty));
            for (i, line) in tile.caption.iter().enumerate() {
                let cy = y + img_h + 4 + i as u32 * CAPTION_LINE;
                captions.push((line.clone(), (x + cell_w / 2) as i32, cy as i32));
            }
        }
        y += row_height + GAP;
    }

    let (w, h) = canvas.dimensions();
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        let centred = Pos::new(HPos::Center, VPos::Top);
        let caption_style = TextStyle::from((FONT, CAPTION_SIZE).into_font()).color(&BLACK).pos(centred);
        for (text, x, y) in &captions {
            root.draw(&Text::new(text.as_str(), (*x, *y), caption_style.clone())).map_err(draw_err)?;
        }
        if let Some(title) = title {
            let style = TextStyle::from(title_font).color(&BLACK).pos(centred);
            root.draw(&Text::new(title, ((w / 2) as i32, (MARGIN + 4) as i32), style)).map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(canvas)
}

/// A 1-pixel light grey frame just outside the `w x h` rectangle at (x, y), so
/// white-background prints stay distinguishable from the canvas.
fn frame(canvas: &mut RgbImage, x: u32, y: u32, w: u32, h: u32) {
    const GREY: image::Rgb<u8> = image::Rgb([190, 190, 190]);
    let (cw, ch) = canvas.dimensions();
    let mut put = |px: i64, py: i64| {
        if (0..i64::from(cw)).contains(&px) && (0..i64::from(ch)).contains(&py) {
            canvas.put_pixel(px as u32, py as u32, GREY);
        }
    };
    let (x, y, w, h) = (i64::from(x), i64::from(y), i64::from(w), i64::from(h));
    for px in x - 1..=x + w {
        put(px, y - 1);
        put(px, y + h);
    }
    for py in y..y + h {
        put(x - 1, py);
        put(x + w, py);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_land_in_rows_with_their_captions() {
        let dark = GrayImage::from_pixel(20, 16, image::Luma([0]));
        let light = GrayImage::from_pixel(20, 16, image::Luma([200]));
        let rows = vec![
            vec![Tile::gray(&dark, vec!["a".into()]), Tile::gray(&dark, vec!["b".into()])],
            vec![Tile::gray(&light, vec!["PSNR 20.0 dB".into(), "SSIM 0.500".into()]), Tile::gray(&light, vec![])],
        ];
        let img = grid(&rows, Some("T")).unwrap();
        let w = 2 * MARGIN + 2 * 20 + GAP;
        let h = MARGIN + TITLE_HEIGHT + (16 + CAPTION_LINE + 4) + GAP + (16 + 2 * CAPTION_LINE + 4) + MARGIN;
        assert_eq!(img.dimensions(), (w, h));
        // Top-left tile is dark, the one below it light.
        let top = MARGIN + TITLE_HEIGHT;
        assert_eq!(img.get_pixel(MARGIN + 5, top + 5).0, [0, 0, 0]);
        let second = top + 16 + CAPTION_LINE + 4 + GAP;
        assert_eq!(img.get_pixel(MARGIN + GAP + 20 + 5, second + 5).0, [200, 200, 200]);
        // Framed just outside, background between tiles.
        assert_eq!(img.get_pixel(MARGIN - 1, top + 5).0, [190, 190, 190]);
        assert_eq!(img.get_pixel(MARGIN - 3, top + 5).0, [255, 255, 255]);
        // Caption text was drawn under the second row's first tile.
        let caption_area =
            (second + 16..second + 16 + 2 * CAPTION_LINE).flat_map(|y| (MARGIN..MARGIN + 20).map(move |x| (x, y)));
        assert!(caption_area.filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128).count() > 5);
    }

    #[test]
    fn a_long_title_widens_the_grid() {
        let tile = Tile::gray(&GrayImage::from_pixel(20, 16, image::Luma([0])), vec![]);
        let img = grid(&[vec![tile]], Some("A title much wider than one small tile")).unwrap();
        assert!(img.width() > 200, "{}", img.width());
    }

    #[test]
    fn an_empty_grid_is_an_error() {
        assert!(grid(&[], None).is_err());
    }
}
