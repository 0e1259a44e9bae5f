use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::error::{ModelError, Result};
use crate::precision::{Compute, to_channels_last};

/// The `[model]` section of a configuration: the autoencoder's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// Filters of the encoder's convolutions; a 2x2 max-pooling sits between
    /// consecutive ones. The decoder mirrors them (without the first) and ends
    /// with a 1-filter sigmoid convolution.
    pub filters: Vec<i64>,
    /// Side of the square convolution kernels ('same' padding).
    pub kernel_size: i64,
}

impl Default for AutoencoderConfig {
    /// The tutorial's network: Conv32-pool-Conv64-pool-Conv128 | Conv128-up-Conv64-up-Conv1, 3x3 kernels.
    fn default() -> Self {
        Self { filters: vec![32, 64, 128], kernel_size: 3 }
    }
}

/// Height and width of the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSize {
    /// Input height in pixels.
    pub height: i64,
    /// Input width in pixels.
    pub width: i64,
}

impl AutoencoderConfig {
    /// Checks the configuration on its own.
    pub fn validate(&self) -> Result<()> {
        if self.filters.is_empty() || self.filters.len() > 6 {
            return Err(ModelError::InvalidConfig {
                field: "filters",
                expected: format!("expected 1 to 6 layer widths, got {}", self.filters.len()),
            });
        }
        if let Some(bad) = self.filters.iter().find(|&&f| !(1..=4096).contains(&f)) {
            return Err(ModelError::InvalidConfig {
                field: "filters",
                expected: format!("expected widths in 1..=4096, got {bad}"),
            });
        }
        if !(1..=15).contains(&self.kernel_size) || self.kernel_size % 2 == 0 {
            return Err(ModelError::InvalidConfig {
                field: "kernel_size",
                expected: format!("expected an odd size in 1..=15 ('same' padding), got {}", self.kernel_size),
            });
        }
        Ok(())
    }

    /// Output widths of the decoder's convolutions: the last encoder width again,
    /// then the encoder's widths back down (without the first), then 1.
    /// `[32, 64, 128]` gives `[128, 64, 1]`.
    pub fn decoder_widths(&self) -> Vec<i64> {
        match self.filters.as_slice() {
            [] | [_] => vec![1],
            [.., last] => {
                let mut widths = vec![*last];
                widths.extend(self.filters[1..self.filters.len() - 1].iter().rev());
                widths.push(1);
                widths
            }
        }
    }

    /// Number of 2x2 poolings (and upsamplings).
    pub fn pools(&self) -> usize {
        self.filters.len().saturating_sub(1)
    }

    /// Checks that `input` can pass through the poolings and come back whole.
    pub fn validate_input(&self, input: InputSize) -> Result<()> {
        self.validate()?;
        let divisor = 1i64 << self.pools();
        if input.height <= 0 || input.width <= 0 || input.height % divisor != 0 || input.width % divisor != 0 {
            return Err(ModelError::InputSize {
                height: input.height,
                width: input.width,
                divisor,
                pools: self.pools(),
            });
        }
        Ok(())
    }
}

/// The convolutional autoencoder. Every layer has a fixed name (`enc1`...,
/// `dec1`...), so checkpoints do not depend on construction order.
#[derive(Debug)]
pub struct Autoencoder {
    encoder: Vec<nn::Conv2D>,
    decoder: Vec<nn::Conv2D>,
    config: AutoencoderConfig,
    compute: Compute,
}

impl Autoencoder {
    /// Builds the model's layers under `path` with Keras' default initialisation
    /// (Glorot-uniform weights, zero biases), so training behaves like the tutorial's.
    ///
    /// The weights are drawn from a ChaCha8 generator seeded with `seed`, not from
    /// LibTorch's global generator, so the same seed gives the same model on every
    /// platform and whatever else the process does concurrently.
    pub fn new(path: &nn::Path, config: &AutoencoderConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let k = config.kernel_size;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut conv = |name: String, c_in: i64, c_out: i64| {
            let cfg = nn::ConvConfig {
                padding: k / 2,
                ws_init: nn::Init::Const(0.0),
                bs_init: nn::Init::Const(0.0),
                ..Default::default()
            };
            let layer = nn::conv2d(path / name, c_in, c_out, k, cfg);
            // Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
            let limit = (6.0 / ((c_in + c_out) * k * k) as f64).sqrt() as f32;
            let uniform = Uniform::new_inclusive(-limit, limit).expect("a finite, ordered range");
            let values: Vec<f32> = (0..c_out * c_in * k * k).map(|_| uniform.sample(&mut rng)).collect();
            let init = Tensor::from_slice(&values).view([c_out, c_in, k, k]).to_kind(Kind::Float);
            tch::no_grad(|| layer.ws.shallow_clone().copy_(&init));
            layer
        };
        let f = &config.filters;
        let mut encoder = Vec::with_capacity(f.len());
        let mut c_in = 1;
        for (i, &c_out) in f.iter().enumerate() {
            encoder.push(conv(format!("enc{}", i + 1), c_in, c_out));
            c_in = c_out;
        }
        let widths = config.decoder_widths();
        let mut decoder = Vec::with_capacity(widths.len());
        for (i, &c_out) in widths.iter().enumerate() {
            decoder.push(conv(format!("dec{}", i + 1), c_in, c_out));
            c_in = c_out;
        }
        Ok(Self { encoder, decoder, config: config.clone(), compute: Compute::F32 })
    }

    /// Computes in `compute`'s precision and layout from now on (f32, NCHW by
    /// default). The weights themselves stay f32.
    ///
    /// With channels-last, the convolution weights themselves are moved into
    /// that layout (same values, same variables), so that no step has to
    /// reorder them and their gradients come back in the layout the kernels
    /// like: about 10% faster bf16 training on CPU than reordering per step.
    pub fn set_compute(&mut self, compute: Compute) {
        self.compute = compute;
        tch::no_grad(|| {
            for layer in self.encoder.iter_mut().chain(self.decoder.iter_mut()) {
                let relaid = if compute.channels_last { to_channels_last(&layer.ws) } else { layer.ws.contiguous() };
                layer.ws.set_data(&relaid);
            }
        });
    }

    /// The precision and layout the model computes in.
    pub fn compute(&self) -> Compute {
        self.compute
    }

    /// One same-padded convolution in the model's precision and layout.
    fn conv(&self, x: &Tensor, layer: &nn::Conv2D) -> Tensor {
        let c = self.compute;
        let p = self.config.kernel_size / 2;
        x.conv2d(&c.prepare(&layer.ws), layer.bs.as_ref().map(|b| c.prepare(b)), [1, 1], [p, p], [1, 1], 1)
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// Maps images `[N, 1, H, W]` to the latent code `[N, C, H / 2^p, W / 2^p]`,
    /// in the model's compute precision and layout.
    pub fn encode(&self, xs: &Tensor) -> Tensor {
        let mut x = self.conv(&self.compute.prepare(xs), &self.encoder[0]).relu();
        for layer in &self.encoder[1..] {
            x = self.conv(&x.max_pool2d_default(2), layer).relu();
        }
        x
    }

    /// Maps a latent code back to images `[N, 1, H, W]`: f32 values in (0, 1).
    pub fn decode(&self, zs: &Tensor) -> Tensor {
        let last = self.decoder.len() - 1;
        let mut x = self.compute.prepare(zs);
        for (i, layer) in self.decoder.iter().enumerate() {
            if i > 0 {
                let size = x.size();
                x = x.upsample_nearest2d([size[2] * 2, size[3] * 2], 2.0, 2.0);
            }
            x = self.conv(&x, layer);
            x = if i == last { x.sigmoid() } else { x.relu() };
        }
        // The loss and everything after it stay f32, as under autocast.
        if x.kind() == Kind::Float { x } else { x.to_kind(Kind::Float) }
    }

    /// Reconstructs `images` (`[N, 1, H, W]`) in batches of `batch_size`
    /// without recording gradients; the result has the same shape and device.
    pub fn reconstruct(&self, images: &Tensor, batch_size: usize) -> Tensor {
        let n = images.size()[0];
        let batch = batch_size.max(1) as i64;
        tch::no_grad(|| {
            let parts: Vec<Tensor> = (0..n)
                .step_by(batch as usize)
                .map(|start| self.forward_t(&images.narrow(0, start, batch.min(n - start)), false))
                .collect();
            match parts.len() {
                0 => images.zeros_like(),
                1 => parts.into_iter().next().expect("one part"),
                _ => Tensor::cat(&parts, 0),
            }
        })
    }
}

impl ModuleT for Autoencoder {
    /// Reconstructs images: `[N, 1, H, W]` f32 in [0, 1] to the same shape, values in (0, 1).
    /// H and W must be divisible by `2^pools`.
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        self.decode(&self.encode(xs))
    }
}
