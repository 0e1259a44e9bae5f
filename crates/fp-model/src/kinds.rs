//! The model kinds: each one's settings and its network as a [`crate::graph::Graph`].

mod tutorial_cae;
mod unet;

pub use tutorial_cae::TutorialCaeConfig;
pub use unet::{Norm, UnetConfig, Upsampling};
