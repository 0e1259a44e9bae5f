//! The fingerprint autoencoders, on tch/LibTorch.
//!
//! A [`ModelConfig`] names a kind of network (`tutorial-cae`, the tutorial's
//! 314,625-parameter autoencoder and the default, or `unet`) and its shape.
//! Each kind describes its network once, as a graph of named layers, from
//! which [`Autoencoder::new`] builds the model and [`Summary::new`] its table.
//! [`save`]/[`load`] keep a model as one self-describing directory:
//! `model.safetensors` beside `model.toml`.
#![warn(missing_docs)]

mod config;
mod device;
mod error;
mod graph;
mod kinds;
mod model;
mod precision;
pub mod python;
mod store;
mod summary;

pub use config::{InputSize, ModelConfig};
pub use device::DeviceSpec;
pub use error::{ModelError, Result};
pub use kinds::{Norm, TutorialCaeConfig, UnetConfig, Upsampling};
pub use model::Autoencoder;
pub use precision::{Compute, Placement, Precision, to_channels_last};
pub use store::{
    MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, SavedModel, load, load_weights, read_model_config, read_tensors, save,
    save_tensors,
};
pub use summary::{LayerRow, Summary};

#[cfg(test)]
mod tests {
    use tch::{Device, Kind, Tensor};

    /// LibTorch links and runs: a 3x3 convolution of ones over ones sums 9 inputs
    /// in the interior and fewer at the zero-padded border.
    #[test]
    fn libtorch_runs_a_convolution() {
        let input = Tensor::ones([1, 1, 4, 4], (Kind::Float, Device::Cpu));
        let weight = Tensor::ones([1, 1, 3, 3], (Kind::Float, Device::Cpu));
        let out = input.conv2d(&weight, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        assert_eq!(out.size(), [1, 1, 4, 4]);
        assert_eq!(out.double_value(&[0, 0, 1, 1]), 9.0);
        assert_eq!(out.double_value(&[0, 0, 0, 0]), 4.0);
        assert_eq!(out.double_value(&[0, 0, 0, 1]), 6.0);
    }
}
