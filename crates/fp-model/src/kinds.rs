//! The model kinds: each one's settings and its network as a [`crate::graph::Graph`].

mod tutorial_cae;
mod unet;

pub use tutorial_cae::TutorialCaeConfig;
pub use unet::{Norm, UnetConfig, Upsampling};

/// Every kind's convolutions are square, odd-sized and 'same'-padded.
fn validate_kernel_size(kernel_size: i64) -> crate::Result<()> {
    if !(1..=15).contains(&kernel_size) || kernel_size % 2 == 0 {
        return Err(crate::ModelError::InvalidConfig {
            field: "kernel_size",
            expected: format!("expected an odd size in 1..=15 ('same' padding), got {kernel_size}"),
        });
    }
    Ok(())
}
