//! PNG figures: the training/validation loss plot and grids of captioned
//! images (originals over reconstructions), and minutiae drawn over a print. Pure Rust; text is drawn with an
//! embedded DejaVu Sans, so figures look the same on machines without fonts.

mod grid;
mod loss;
mod minutiae;

use std::io::Cursor;
use std::sync::Once;

use image::RgbImage;

pub use grid::{Tile, grid};
pub use loss::{LossPlot, LossPoint, loss_plot};
pub use minutiae::{Mark, MarkKind, minutiae_figure, minutiae_overlay};

/// Errors while drawing a figure.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// The drawing library failed.
    #[error("cannot draw the figure: {0}")]
    Draw(String),
    /// The data cannot be drawn as asked.
    #[error("{0}")]
    Data(String),
    /// PNG encoding failed.
    #[error("cannot encode the PNG")]
    Encode(#[from] image::ImageError),
}

/// Result type of this crate.
pub type Result<T, E = FigureError> = std::result::Result<T, E>;

/// Font family that every figure uses; registered from the embedded font.
const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters once per process.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, plotters::style::FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
        plotters::style::register_font(FONT, plotters::style::FontStyle::Bold, dejavu::sans::bold())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans Bold is a valid font"));
    });
}

fn draw_err(e: impl std::fmt::Display) -> FigureError {
    FigureError::Draw(e.to_string())
}

/// Encodes an image as PNG bytes.
pub fn encode_png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    Ok(bytes)
}
