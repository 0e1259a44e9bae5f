//! The model: the variables of a kind's [`Graph`] and a forward pass through it.

use rand::SeedableRng;
use rand::distr::{Distribution, Uniform};
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::config::ModelConfig;
use crate::error::Result;
use crate::graph::{self, Activation, Graph, Init, NodeId, NormKind, Op, VarSpec};
use crate::precision::{Compute, to_channels_last};

/// The variables of one node (none for pooling, upsampling, concatenation).
#[derive(Debug, Default)]
struct Params {
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    running_mean: Option<Tensor>,
    running_var: Option<Tensor>,
}

/// An encoder-decoder that reconstructs images, of any [`ModelConfig`] kind.
///
/// Every layer has its own name (`enc1`, `down1_conv1`, ...: the graph's node
/// names), so checkpoints do not depend on construction order. Nothing outside
/// this crate needs to know which kind a model is.
#[derive(Debug)]
pub struct Autoencoder {
    graph: Graph,
    /// The variables of each node of `graph`.
    params: Vec<Params>,
    /// For each node, the last node that reads it.
    last_uses: Vec<NodeId>,
    config: ModelConfig,
    compute: Compute,
}

/// Momentum of batch normalisation's running statistics (PyTorch's default).
const BATCH_NORM_MOMENTUM: f64 = 0.1;
/// The epsilon normalisations add to the variance (PyTorch's default).
const NORM_EPS: f64 = 1e-5;

impl Autoencoder {
    /// Builds the model's layers under `path` with Keras' default initialisation
    /// (Glorot-uniform kernels, zero biases; normalisations scale 1, shift 0), so
    /// training behaves like the tutorial's.
    ///
    /// The kernels are drawn from one ChaCha8 generator seeded with `seed`,
    /// layer after layer in graph order, not from LibTorch's global generator,
    /// so the same seed gives the same model on every platform and whatever
    /// else the process does concurrently.
    pub fn new(path: &nn::Path, config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let graph = config.graph();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = graph
            .nodes()
            .iter()
            .zip(graph.variables())
            .map(|(node, specs)| {
                let node_path = path / node.name.as_str();
                let mut params = Params::default();
                for spec in &specs {
                    let var = create(&node_path, spec, &mut rng);
                    let slot = match spec.name {
                        "weight" => &mut params.weight,
                        "bias" => &mut params.bias,
                        "running_mean" => &mut params.running_mean,
                        "running_var" => &mut params.running_var,
                        other => unreachable!("the graph has no variable named {other}"),
                    };
                    *slot = Some(var);
                }
                params
            })
            .collect();
        let last_uses = graph.last_uses();
        Ok(Self { graph, params, last_uses, config: config.clone(), compute: Compute::F32 })
    }

    /// Computes in `compute`'s precision and layout from now on (f32, NCHW by
    /// default). The weights themselves stay f32.
    ///
    /// With channels-last, the (transposed) convolution kernels themselves are
    /// moved into that layout (same values, same variables), as PyTorch's
    /// `model.to(memory_format=torch.channels_last)` does, so that no step has
    /// to reorder them and their gradients come back in the layout the kernels
    /// like: about 10% faster bf16 training on CPU than reordering per step.
    pub fn set_compute(&mut self, compute: Compute) {
        self.compute = compute;
        tch::no_grad(|| {
            for weight in self.params.iter_mut().filter_map(|p| p.weight.as_mut()).filter(|w| w.dim() == 4) {
                let relaid = if compute.channels_last { to_channels_last(weight) } else { weight.contiguous() };
                weight.set_data(&relaid);
            }
        });
    }

    /// The precision and layout the model computes in.
    pub fn compute(&self) -> Compute {
        self.compute
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The factor the height and width given to [`ModuleT::forward_t`] must be
    /// divisible by ([`Autoencoder::forward_any_size`] takes any).
    pub fn stride(&self) -> i64 {
        self.config.stride()
    }

    /// Reconstructs images of any height and width: `[N, 1, H, W]` f32 in [0, 1]
    /// to the same shape, values in (0, 1).
    ///
    /// The images are padded at the bottom and right, repeating their edge
    /// pixels, up to multiples of [`Autoencoder::stride`]; the reconstruction is
    /// cropped back to `H x W`.
    pub fn forward_any_size(&self, xs: &Tensor, train: bool) -> Tensor {
        let size = xs.size();
        let (h, w) = (size[2], size[3]);
        let s = self.stride();
        let (pad_h, pad_w) = ((s - h % s) % s, (s - w % s) % s);
        if pad_h == 0 && pad_w == 0 {
            return self.forward_t(xs, train);
        }
        // `pad` lists (left, right, top, bottom) for the last two dimensions.
        let padded = xs.pad([0, pad_w, 0, pad_h], "replicate", None);
        self.forward_t(&padded, train).narrow(2, 0, h).narrow(3, 0, w).contiguous()
    }

    /// Reconstructs `images` (`[N, 1, H, W]`, H and W divisible by the stride)
    /// in batches of `batch_size` without recording gradients; the result has
    /// the same shape and device.
    pub fn reconstruct(&self, images: &Tensor, batch_size: usize) -> Tensor {
        self.in_batches(images, batch_size, |xs| self.forward_t(xs, false))
    }

    /// Like [`Autoencoder::reconstruct`], for images of any height and width
    /// (see [`Autoencoder::forward_any_size`]).
    pub fn reconstruct_any_size(&self, images: &Tensor, batch_size: usize) -> Tensor {
        self.in_batches(images, batch_size, |xs| self.forward_any_size(xs, false))
    }

    /// `forward` applied to `images` in batches, without gradients, concatenated.
    fn in_batches(&self, images: &Tensor, batch_size: usize, forward: impl Fn(&Tensor) -> Tensor) -> Tensor {
        let n = images.size()[0];
        let batch = batch_size.max(1) as i64;
        tch::no_grad(|| {
            let parts: Vec<Tensor> = (0..n)
                .step_by(batch as usize)
                .map(|start| forward(&images.narrow(0, start, batch.min(n - start))))
                .collect();
            match parts.len() {
                0 => images.zeros_like(),
                1 => parts.into_iter().next().expect("one part"),
                _ => Tensor::cat(&parts, 0),
            }
        })
    }

    /// Computes one node from the values of earlier ones, in the model's
    /// precision and layout.
    fn node(&self, op: &Op, params: &Params, values: &[Option<Tensor>], xs: &Tensor, train: bool) -> Tensor {
        let c = self.compute;
        let value =
            |id: NodeId| values[id].as_ref().expect("a node's inputs are computed before it and kept until read");
        let weight = || c.prepare(params.weight.as_ref().expect("this layer has a weight"));
        let bias = || params.bias.as_ref().map(|b| c.prepare(b));
        match *op {
            Op::Input => c.prepare(xs),
            Op::Conv { from, kernel, activation, .. } => {
                let p = kernel / 2;
                activate(value(from).conv2d(&weight(), bias(), [1, 1], [p, p], [1, 1], 1), activation)
            }
            Op::ConvTranspose { from, factor, activation, .. } => {
                let y = value(from).conv_transpose2d(&weight(), bias(), [factor, factor], [0, 0], [0, 0], 1, [1, 1]);
                activate(y, activation)
            }
            Op::Norm { from, kind, activation } => {
                // Normalisations compute in f32, as under autocast: bf16's 8-bit
                // mantissa is too coarse for variances.
                let x = value(from).to_kind(Kind::Float);
                let (w, b) = (params.weight.as_ref(), params.bias.as_ref());
                let y = match kind {
                    NormKind::Batch => x.batch_norm(
                        w,
                        b,
                        params.running_mean.as_ref(),
                        params.running_var.as_ref(),
                        train,
                        BATCH_NORM_MOMENTUM,
                        NORM_EPS,
                        true,
                    ),
                    NormKind::Group => x.group_norm(graph::groups(x.size()[1]), w, b, NORM_EPS, true),
                };
                c.prepare(&activate(y, activation))
            }
            Op::MaxPool { from } => value(from).max_pool2d_default(2),
            Op::UpsampleNearest { from } => {
                let x = value(from);
                let size = x.size();
                x.upsample_nearest2d([size[2] * 2, size[3] * 2], 2.0, 2.0)
            }
            Op::PixelShuffle { from, factor } => value(from).pixel_shuffle(factor),
            Op::Concat { a, b } => Tensor::cat(&[value(a), value(b)], 1),
        }
    }
}

/// Creates the variable `spec` under `path` and sets its initial values;
/// Glorot-uniform values are drawn from `rng` in the variable's element order.
fn create(path: &nn::Path, spec: &VarSpec, rng: &mut ChaCha8Rng) -> Tensor {
    let shape = spec.shape.as_slice();
    match (spec.init, spec.trainable) {
        (Init::Zeros, false) => path.zeros_no_train(spec.name, shape),
        (Init::Ones, false) => path.ones_no_train(spec.name, shape),
        (Init::Zeros, true) => path.var(spec.name, shape, nn::Init::Const(0.0)),
        (Init::Ones, true) => path.var(spec.name, shape, nn::Init::Const(1.0)),
        (Init::GlorotUniform { fan_in, fan_out }, trainable) => {
            debug_assert!(trainable, "only kernels are drawn");
            let var = path.var(spec.name, shape, nn::Init::Const(0.0));
            // U(-a, a), a = sqrt(6 / (fan_in + fan_out)), computed in f64 and
            // rounded to f32 as before there were model kinds (the same seed
            // must keep giving the same tutorial network).
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            let uniform = Uniform::new_inclusive(-limit, limit).expect("a finite, ordered range");
            let values: Vec<f32> = (0..spec.numel()).map(|_| uniform.sample(rng)).collect();
            let init = Tensor::from_slice(&values).view(shape).to_kind(Kind::Float);
            tch::no_grad(|| var.shallow_clone().copy_(&init));
            var
        }
    }
}

/// `x` through `activation`.
fn activate(x: Tensor, activation: Activation) -> Tensor {
    match activation {
        Activation::Linear => x,
        Activation::Relu => x.relu(),
        Activation::Sigmoid => x.sigmoid(),
    }
}

impl ModuleT for Autoencoder {
    /// Reconstructs images: `[N, 1, H, W]` f32 in [0, 1] to the same shape, f32
    /// values in (0, 1). H and W must be divisible by [`Autoencoder::stride`]
    /// (see [`Autoencoder::forward_any_size`] for other sizes). `train` only
    /// matters to batch normalisation: batch statistics (and updates of the
    /// running ones) when true, the running statistics when false.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let nodes = self.graph.nodes();
        let mut values: Vec<Option<Tensor>> = Vec::with_capacity(nodes.len());
        for (i, (node, params)) in nodes.iter().zip(&self.params).enumerate() {
            let y = self.node(&node.op, params, &values, xs, train);
            values.push(Some(y));
            // Free activations no later node reads (the output reads itself).
            for from in node.op.inputs() {
                if self.last_uses[from] == i {
                    values[from] = None;
                }
            }
        }
        let y = values.pop().flatten().expect("the graph's last node is its output");
        // The loss and everything after it stay f32, as under autocast.
        if y.kind() == Kind::Float { y } else { y.to_kind(Kind::Float) }
    }
}
