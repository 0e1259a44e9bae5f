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
    /// The 3x3 convolutions whose only input is a 2x nearest upsampling that
    /// nothing else reads: computed as four 2x2 convolutions of the
    /// low-resolution input (see [`upsample_conv3x3`]), their upsampling node
    /// passing its input through.
    phase_convs: Vec<bool>,
    /// Whether `phase_convs` are computed that way (the default) or plainly.
    exact_subpixel: bool,
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
        let phase_convs = phase_convs(&graph, &last_uses);
        Ok(Self {
            graph,
            params,
            last_uses,
            phase_convs,
            exact_subpixel: true,
            config: config.clone(),
            compute: Compute::F32,
        })
    }

    /// Whether a 3x3 convolution of a 2x nearest upsampling is computed as four
    /// 2x2 convolutions of the low-resolution input, interleaved (`true`, the
    /// default: the same result with 16 instead of 36 multiply-adds per
    /// low-resolution pixel and channel pair), or plainly, upsampling first.
    /// The parameters and checkpoints are the same either way.
    pub fn set_exact_subpixel(&mut self, on: bool) {
        self.exact_subpixel = on;
    }

    /// The names of the convolutions computed from the low-resolution input
    /// (see [`Autoencoder::set_exact_subpixel`]); none when it is off.
    pub fn subpixel_layers(&self) -> Vec<&str> {
        let nodes = self.graph.nodes();
        (0..nodes.len())
            .filter(|&i| self.exact_subpixel && self.phase_convs[i])
            .map(|i| nodes[i].name.as_str())
            .collect()
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
    fn node(
        &self,
        id: NodeId,
        op: &Op,
        params: &Params,
        values: &[Option<Tensor>],
        xs: &Tensor,
        train: bool,
    ) -> Tensor {
        let c = self.compute;
        let phases = |node: NodeId| self.exact_subpixel && self.phase_convs[node];
        let value =
            |id: NodeId| values[id].as_ref().expect("a node's inputs are computed before it and kept until read");
        let weight = || c.prepare(params.weight.as_ref().expect("this layer has a weight"));
        let bias = || params.bias.as_ref().map(|b| c.prepare(b));
        match *op {
            Op::Input => c.prepare(xs),
            Op::Conv { from, activation, .. } if phases(id) => {
                // `from` passed its low-resolution input through.
                let w = c.prepare(&fold_conv3x3_into_phases(params.weight.as_ref().expect("this layer has a weight")));
                c.prepare(&activate(upsample_conv3x3(value(from), &w, bias().as_ref()), activation))
            }
            Op::Conv { from, kernel, dilation, activation, .. } => {
                let p = dilation * (kernel / 2);
                activate(value(from).conv2d(&weight(), bias(), [1, 1], [p, p], [dilation, dilation], 1), activation)
            }
            Op::ConvTranspose { from, factor, activation, .. } => {
                let y = value(from).conv_transpose2d(&weight(), bias(), [factor, factor], [0, 0], [0, 0], 1, [1, 1]);
                activate(y, activation)
            }
            Op::Norm { from, kind, activation } => {
                // Normalisations compute in f32, as under autocast: bf16's 8-bit
                // mantissa is too coarse for variances. Outside training, group
                // norm reads bf16 itself (LibTorch's kernel takes bf16 values with
                // f32 weights and computes its statistics in f32), which saves
                // the copies to f32 and back, and the activation overwrites the
                // fresh output: 11 % of a bf16 restoration's time. (Overwriting
                // convolution outputs too made bf16 inference of the tutorial's
                // network slower.)
                let x = match (kind, train) {
                    (NormKind::Group, false) => value(from).shallow_clone(),
                    _ => value(from).to_kind(Kind::Float),
                };
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
                let y = if train { activate(y, activation) } else { activate_in_place(y, activation) };
                c.prepare(&y)
            }
            Op::MaxPool { from } => value(from).max_pool2d_default(2),
            Op::UpsampleNearest { from } if phases(self.last_uses[id]) => value(from).shallow_clone(),
            Op::UpsampleNearest { from } => {
                let x = value(from);
                let size = x.size();
                x.upsample_nearest2d([size[2] * 2, size[3] * 2], 2.0, 2.0)
            }
            Op::PixelShuffle { from, factor } => value(from).pixel_shuffle(factor),
            Op::Concat { a, b } => Tensor::cat(&[value(a), value(b)], 1),
            Op::Refine { image, delta } => {
                // In f32, as the sigmoid of the output is under autocast.
                let logit = value(image).to_kind(Kind::Float).logit(graph::REFINE_EPS);
                c.prepare(&(logit + value(delta).to_kind(Kind::Float)).sigmoid())
            }
        }
    }
}

/// For each node of `graph`, whether it is a 3x3 convolution (of one
/// input) whose input is a 2x nearest upsampling that no other node reads.
fn phase_convs(graph: &Graph, last_uses: &[NodeId]) -> Vec<bool> {
    let nodes = graph.nodes();
    let read_once = |id: NodeId| nodes.iter().filter(|n| n.op.inputs().contains(&id)).count() == 1;
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| match node.op {
            Op::Conv { from, kernel: 3, dilation: 1, .. } => {
                matches!(nodes[from].op, Op::UpsampleNearest { .. }) && last_uses[from] == i && read_once(from)
            }
            _ => false,
        })
        .collect()
}

/// The 3x3 kernels `w` (`[O, I, 3, 3]`) of a convolution applied after 2x
/// nearest upsampling, folded into the 2x2 kernels that compute each output
/// phase from the low-resolution input: `[4 O, I, 2, 2]`, the phases (row
/// parity, column parity) = (0, 0), (0, 1), (1, 0), (1, 1) one after another.
///
/// Upsampled row `2i + 0` reads input rows `i - 1` (kernel row 0) and `i`
/// (rows 1 and 2); row `2i + 1` reads rows `i` (kernel rows 0 and 1) and
/// `i + 1` (row 2); the same for columns.
fn fold_conv3x3_into_phases(w: &Tensor) -> Tensor {
    let fold = |w: &Tensor, dim: i64, phase: i64| {
        let tap = |k: i64| w.select(dim, k);
        let pair = if phase == 0 { [tap(0), tap(1) + tap(2)] } else { [tap(0) + tap(1), tap(2)] };
        Tensor::stack(&pair, dim)
    };
    let phases: Vec<Tensor> =
        [(0, 0), (0, 1), (1, 0), (1, 1)].iter().map(|&(a, b)| fold(&fold(w, 2, a), 3, b)).collect();
    Tensor::cat(&phases, 0)
}

/// `conv3x3(upsample_nearest_2x(x))` with 'same' zero padding, computed from
/// `x` (`[N, I, H, W]`) with the phase kernels of
/// [`fold_conv3x3_into_phases`]: one 2x2 convolution of the padded input for
/// the four phases together, each phase's `H x W` window of it, interleaved
/// into `[N, O, 2H, 2W]`.
fn upsample_conv3x3(x: &Tensor, phase_weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let (n, h, w) = (x.size()[0], x.size()[2], x.size()[3]);
    let out = phase_weight.size()[0] / 4;
    let bias = bias.map(|b| b.repeat([4]));
    let padded = x.constant_pad_nd([1, 1, 1, 1]);
    let y = padded.conv2d(phase_weight, bias.as_ref(), [1, 1], [0, 0], [1, 1], 1);
    let phases: Vec<Tensor> = [(0, 0), (0, 1), (1, 0), (1, 1)]
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| y.narrow(1, k as i64 * out, out).narrow(2, a, h).narrow(3, b, w))
        .collect();
    // [N, O, 4, H, W] -> [N, O, 2 (row phase), 2 (column phase), H, W] -> [N, O, H, 2, W, 2].
    Tensor::stack(&phases, 2).view([n, out, 2, 2, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([n, out, 2 * h, 2 * w])
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

/// `x` through `activation`, overwriting it: for values no one else holds,
/// outside autograd.
fn activate_in_place(mut x: Tensor, activation: Activation) -> Tensor {
    match activation {
        Activation::Linear => x,
        Activation::Relu => x.relu_(),
        Activation::Sigmoid => x.sigmoid_(),
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
            let y = self.node(i, &node.op, params, &values, xs, train);
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

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    /// `conv3x3(upsample_nearest_2x(x))` the plain way.
    fn plain(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
        let (h, wd) = (x.size()[2], x.size()[3]);
        x.upsample_nearest2d([2 * h, 2 * wd], 2.0, 2.0).conv2d(w, Some(b), [1, 1], [1, 1], [1, 1], 1)
    }

    #[test]
    fn four_phase_convolutions_equal_upsampling_then_convolving_forward_and_backward() {
        tch::manual_seed(3);
        for (n, i, o, h, w) in [(2, 3, 5, 4, 6), (1, 1, 1, 1, 1), (3, 8, 2, 7, 3)] {
            let x = Tensor::randn([n, i, h, w], (Kind::Double, Device::Cpu)).set_requires_grad(true);
            let k = Tensor::randn([o, i, 3, 3], (Kind::Double, Device::Cpu)).set_requires_grad(true);
            let b = Tensor::randn([o], (Kind::Double, Device::Cpu)).set_requires_grad(true);
            let g = Tensor::randn([n, o, 2 * h, 2 * w], (Kind::Double, Device::Cpu));

            let expected = plain(&x, &k, &b);
            let grads_expected =
                Tensor::run_backward(&[(&expected * &g).sum(Kind::Double)], &[&x, &k, &b], false, false);
            let got = upsample_conv3x3(&x, &fold_conv3x3_into_phases(&k), Some(&b));
            let grads_got = Tensor::run_backward(&[(&got * &g).sum(Kind::Double)], &[&x, &k, &b], false, false);

            assert_eq!(got.size(), expected.size());
            let diff = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]);
            assert!(diff(&got, &expected) < 1e-12, "output differs by {}", diff(&got, &expected));
            for (name, (a, e)) in ["x", "weight", "bias"].iter().zip(grads_got.iter().zip(&grads_expected)) {
                assert!(diff(a, e) < 1e-11, "d/d{name} differs by {}", diff(a, e));
            }
        }
    }

    #[test]
    fn the_folded_kernels_sum_the_taps_each_phase_reads() {
        // One input and output channel, taps numbered 1..9 row by row.
        let k = Tensor::arange_start(1, 10, (Kind::Float, Device::Cpu)).view([1, 1, 3, 3]);
        let folded = fold_conv3x3_into_phases(&k);
        assert_eq!(folded.size(), [4, 1, 2, 2]);
        let phase = |p: i64| Vec::<f32>::try_from(folded.get(p).flatten(0, -1)).unwrap();
        // Phase (0, 0): rows {0}, {1, 2} and columns {0}, {1, 2}.
        assert_eq!(phase(0), [1.0, 2.0 + 3.0, 4.0 + 7.0, 5.0 + 6.0 + 8.0 + 9.0]);
        // Phase (1, 1): rows {0, 1}, {2} and columns {0, 1}, {2}.
        assert_eq!(phase(3), [1.0 + 2.0 + 4.0 + 5.0, 3.0 + 6.0, 7.0 + 8.0, 9.0]);
    }
}
