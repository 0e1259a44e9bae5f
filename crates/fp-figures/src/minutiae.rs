//! Minutiae drawn over the print they were found in.

use image::{GrayImage, Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FONT, Result, draw_err, register_font};

/// What kind of minutia a mark stands for; each has its own colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// A ridge ending.
    Ending,
    /// A ridge bifurcation.
    Bifurcation,
    /// Unknown kind.
    Other,
}

impl MarkKind {
    /// Okabe-Ito colours, told apart with any colour vision.
    fn colour(self) -> RGBColor {
        match self {
            MarkKind::Ending => RGBColor(213, 94, 0),
            MarkKind::Bifurcation => RGBColor(0, 114, 178),
            MarkKind::Other => RGBColor(0, 158, 115),
        }
    }
}

/// One minutia to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// Column, pixels from the left.
    pub x: f64,
    /// Row, pixels from the top.
    pub y: f64,
    /// Direction in degrees, counter-clockwise from east as the image is viewed.
    pub angle: f64,
    /// Ending, bifurcation or other.
    pub kind: MarkKind,
}

const RADIUS: i32 = 4;
const TICK: f64 = 11.0;
const LEGEND_HEIGHT: u32 = 22;

/// The print in colour with a circle on each minutia and a tick pointing in its
/// direction: endings vermillion, bifurcations blue.
pub fn minutiae_overlay(image: &GrayImage, marks: &[Mark]) -> Result<RgbImage> {
    let mut canvas = image::DynamicImage::ImageLuma8(image.clone()).into_rgb8();
    let (w, h) = canvas.dimensions();
    {
        let backend = BitMapBackend::with_buffer(&mut canvas, (w, h)).into_drawing_area();
        for m in marks {
            let style = m.kind.colour().stroke_width(2);
            let centre = (m.x.round() as i32, m.y.round() as i32);
            let (dx, dy) = (m.angle.to_radians().cos(), -m.angle.to_radians().sin());
            let start = (m.x + dx * f64::from(RADIUS), m.y + dy * f64::from(RADIUS));
            let end = (m.x + dx * TICK, m.y + dy * TICK);
            backend.draw(&Circle::new(centre, RADIUS, style)).map_err(draw_err)?;
            let tick =
                vec![(start.0.round() as i32, start.1.round() as i32), (end.0.round() as i32, end.1.round() as i32)];
            backend.draw(&PathElement::new(tick, style)).map_err(draw_err)?;
        }
        backend.present().map_err(draw_err)?;
    }
    Ok(canvas)
}

/// [`minutiae_overlay`] with a legend strip under the print that counts each kind.
pub fn minutiae_figure(image: &GrayImage, marks: &[Mark]) -> Result<RgbImage> {
    let overlay = minutiae_overlay(image, marks)?;
    let (w, h) = overlay.dimensions();
    let mut canvas = RgbImage::from_pixel(w.max(260), h + LEGEND_HEIGHT, Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, &overlay, 0, 0);
    register_font();
    {
        let area = BitMapBackend::with_buffer(&mut canvas, (w.max(260), h + LEGEND_HEIGHT)).into_drawing_area();
        let count = |kind| marks.iter().filter(|m| m.kind == kind).count();
        let mut x = 6;
        let y = (h + LEGEND_HEIGHT / 2) as i32;
        let mut entries = vec![
            (MarkKind::Ending, format!("{} endings", count(MarkKind::Ending))),
            (MarkKind::Bifurcation, format!("{} bifurcations", count(MarkKind::Bifurcation))),
        ];
        if count(MarkKind::Other) > 0 {
            entries.push((MarkKind::Other, format!("{} other", count(MarkKind::Other))));
        }
        let font = (FONT, 13).into_font();
        for (kind, label) in entries {
            area.draw(&Circle::new((x + RADIUS, y), RADIUS, kind.colour().stroke_width(2))).map_err(draw_err)?;
            let style = font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(label.clone(), (x + 2 * RADIUS + 5, y), style)).map_err(draw_err)?;
            x += 2 * RADIUS + 5 + font.box_size(&label).map_err(draw_err)?.0 as i32 + 14;
        }
        area.present().map_err(draw_err)?;
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_drawn_in_their_colour_with_a_tick_in_their_direction() {
        let image = GrayImage::from_pixel(60, 40, image::Luma([255]));
        let marks = [
            Mark { x: 15.0, y: 20.0, angle: 0.0, kind: MarkKind::Ending },
            Mark { x: 45.0, y: 20.0, angle: 90.0, kind: MarkKind::Bifurcation },
        ];
        let out = minutiae_overlay(&image, &marks).unwrap();
        let ending = Rgb([213, 94, 0]);
        let bifurcation = Rgb([0, 114, 178]);
        // Circles: a pixel on each ring.
        assert_eq!(*out.get_pixel(15, 16), ending);
        assert_eq!(*out.get_pixel(45, 16), bifurcation);
        // Ticks: east of the ending, north (up) of the bifurcation, and nothing opposite.
        assert_eq!(*out.get_pixel(24, 20), ending);
        assert_eq!(*out.get_pixel(6, 20), Rgb([255, 255, 255]));
        assert_eq!(*out.get_pixel(45, 11), bifurcation);
        assert_eq!(*out.get_pixel(45, 29), Rgb([255, 255, 255]));
        // The centre stays visible.
        assert_eq!(*out.get_pixel(15, 20), Rgb([255, 255, 255]));
    }

    #[test]
    fn the_figure_adds_a_legend_strip() {
        let image = GrayImage::from_pixel(300, 100, image::Luma([200]));
        let marks = [Mark { x: 10.0, y: 10.0, angle: 45.0, kind: MarkKind::Ending }];
        let out = minutiae_figure(&image, &marks).unwrap();
        assert_eq!(out.dimensions(), (300, 100 + LEGEND_HEIGHT));
        let legend_ink = (100..100 + LEGEND_HEIGHT).flat_map(|y| (0..300).map(move |x| (x, y)));
        assert!(legend_ink.into_iter().any(|(x, y)| *out.get_pixel(x, y) == Rgb([213, 94, 0])));
    }
}
