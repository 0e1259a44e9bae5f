//! Training vs validation loss per epoch.

use image::RgbImage;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::{FONT, FigureError, Result, draw_err, register_font};

/// The losses after one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training loss of the epoch.
    pub train: f64,
    /// Validation loss after the epoch.
    pub val: f64,
}

/// How the loss plot looks.
#[derive(Debug, Clone, PartialEq)]
pub struct LossPlot {
    /// Title above the plot.
    pub title: String,
    /// Logarithmic loss axis.
    pub log_scale: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for LossPlot {
    fn default() -> Self {
        Self { title: "Training and validation loss".into(), log_scale: false, width: 960, height: 600 }
    }
}

const TRAIN_COLOUR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOUR: RGBColor = RGBColor(214, 39, 40);

/// Draws training loss (dots) and validation loss (line) against the epoch,
/// as the tutorial's `plt.plot(epochs, loss, 'bo'); plt.plot(epochs, val_loss, 'b')`.
pub fn loss_plot(points: &[LossPoint], style: &LossPlot) -> Result<RgbImage> {
    if points.is_empty() {
        return Err(FigureError::Data("no epochs to plot".into()));
    }
    let values = points.iter().flat_map(|p| [p.train, p.val]).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return Err(FigureError::Data("every loss is NaN or infinite".into()));
    }
    let last = points.iter().map(|p| p.epoch).max().unwrap_or(1);
    let first = points.iter().map(|p| p.epoch).min().unwrap_or(1);
    let x = first as f64 - 0.5..last as f64 + 0.5;
    register_font();
    let (w, h) = (style.width, style.height);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    if style.log_scale {
        if lo <= 0.0 {
            return Err(FigureError::Data(format!("a log scale needs positive losses; the smallest is {lo}")));
        }
        let y = (lo / 1.25..hi * 1.25).log_scale();
        draw(&mut buf, style, points, x, y)?;
    } else {
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-3).max(1e-12);
        draw(&mut buf, style, points, x, (lo - pad).max(0.0)..hi + pad)?;
    }
    Ok(RgbImage::from_raw(w, h, buf).expect("the buffer has width * height RGB pixels"))
}

fn draw<Y>(buf: &mut [u8], style: &LossPlot, points: &[LossPoint], x: std::ops::Range<f64>, y: Y) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = BitMapBackend::with_buffer(buf, (style.width, style.height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&style.title, (FONT, 26).into_font().style(FontStyle::Bold))
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(84)
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc(if style.log_scale { "Loss (MSE, log scale)" } else { "Loss (MSE)" })
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    let finite = |v: f64| v.is_finite();
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| finite(p.train))
                .map(|p| Circle::new((p.epoch as f64, p.train), 3, TRAIN_COLOUR.filled())),
        )
        .map_err(draw_err)?
        .label("Training loss")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, TRAIN_COLOUR.filled()));
    chart
        .draw_series(LineSeries::new(
            points.iter().filter(|p| finite(p.val)).map(|p| (p.epoch as f64, p.val)),
            VAL_COLOUR.stroke_width(2),
        ))
        .map_err(draw_err)?
        .label("Validation loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], VAL_COLOUR.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<LossPoint> {
        (1..=12).map(|e| LossPoint { epoch: e, train: 0.08 / e as f64, val: 0.09 / e as f64 }).collect()
    }

    fn ink(img: &RgbImage, colour: RGBColor) -> usize {
        img.pixels().filter(|p| p.0 == [colour.0, colour.1, colour.2]).count()
    }

    #[test]
    fn draws_both_series_and_text_at_the_requested_size() {
        let style = LossPlot { width: 640, height: 400, ..LossPlot::default() };
        let img = loss_plot(&points(), &style).unwrap();
        assert_eq!(img.dimensions(), (640, 400));
        assert!(ink(&img, TRAIN_COLOUR) > 50, "training dots drawn");
        assert!(ink(&img, VAL_COLOUR) > 50, "validation line drawn");
        // Text is black-ish anti-aliased glyphs: the title band holds dark pixels.
        let title_band = (0..40).flat_map(|y| (0..640).map(move |x| (x, y)));
        let dark = title_band.filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100)).count();
        assert!(dark > 100, "title text rendered ({dark} dark pixels)");
    }

    #[test]
    fn log_scale_needs_positive_losses() {
        let log = LossPlot { log_scale: true, ..LossPlot::default() };
        assert!(loss_plot(&points(), &log).is_ok());
        let mut bad = points();
        bad[0].train = 0.0;
        assert!(matches!(loss_plot(&bad, &log), Err(FigureError::Data(m)) if m.contains("positive")));
        assert!(matches!(loss_plot(&[], &LossPlot::default()), Err(FigureError::Data(_))));
    }
}
