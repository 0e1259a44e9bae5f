//! The convolutional fingerprint autoencoder, on tch/LibTorch.
#![warn(missing_docs)]

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
