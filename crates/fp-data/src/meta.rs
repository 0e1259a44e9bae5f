//! [`ImageMeta`]: what a dataset knows about each of its images, its source and
//! its sizes before and after preprocessing.

use serde::{Deserialize, Serialize};

use crate::discover::ImageSource;

/// One image of a dataset: where it came from, its size as decoded, and the size
/// it is stored at after preprocessing (the same with `resize = "none"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// The file and what its dataset's manifest says about it.
    pub source: ImageSource,
    /// Width of the decoded original.
    pub original_width: u32,
    /// Height of the decoded original.
    pub original_height: u32,
    /// Width of the stored, preprocessed image.
    pub width: u32,
    /// Height of the stored, preprocessed image.
    pub height: u32,
}

impl ImageMeta {
    /// An image stored at its original `width x height`, as with `resize = "none"`
    /// (handy for building small datasets in tests).
    pub fn new(source: ImageSource, width: u32, height: u32) -> Self {
        Self { source, original_width: width, original_height: height, width, height }
    }

    /// Number of stored pixels, `width * height`.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }
}
