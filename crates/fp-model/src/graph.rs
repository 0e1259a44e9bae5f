//! A network as data: a list of named nodes, each computed from earlier ones.
//!
//! Every model kind describes its network once, as a [`Graph`]. The model
//! ([`crate::Autoencoder`]) creates the variables of each node and runs them;
//! the summary ([`crate::Summary`]) walks the same nodes for output shapes and
//! parameter counts. Both take the variables of a node from [`Graph::variables`],
//! so the two cannot disagree.

use crate::config::InputSize;

/// Index of a node in its [`Graph`].
pub(crate) type NodeId = usize;

/// The function applied to a layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// None (the identity).
    Linear,
    /// `max(0, x)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

/// A normalisation layer's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NormKind {
    /// Batch normalisation, with running statistics for evaluation.
    Batch,
    /// Group normalisation with [`groups`] groups.
    Group,
}

/// What a node computes. `from`, `a` and `b` are earlier nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// The images, `[N, 1, H, W]`.
    Input,
    /// A stride-1 convolution with `kernel x kernel` kernels, taps `dilation`
    /// pixels apart, and 'same' padding.
    Conv { from: NodeId, filters: i64, kernel: i64, dilation: i64, bias: bool, activation: Activation },
    /// A transposed convolution with `factor x factor` kernels and stride
    /// `factor`: multiplies height and width by `factor`.
    ConvTranspose { from: NodeId, filters: i64, factor: i64, activation: Activation },
    /// A normalisation with a learned scale and shift per channel.
    Norm { from: NodeId, kind: NormKind, activation: Activation },
    /// 2x2 max-pooling with stride 2.
    MaxPool { from: NodeId },
    /// Nearest-neighbour upsampling by 2.
    UpsampleNearest { from: NodeId },
    /// Moves channels into space: `[N, C f^2, H, W]` to `[N, C, H f, W f]`.
    PixelShuffle { from: NodeId, factor: i64 },
    /// `a`'s channels, then `b`'s (same height and width).
    Concat { a: NodeId, b: NodeId },
    /// A correction of the one-channel `image`: `sigmoid(logit(image) + delta)`,
    /// the image clamped to `[REFINE_EPS, 1 - REFINE_EPS]` before the logit.
    /// With `delta = 0` it is the image itself, so what a network does not
    /// change passes through.
    Refine { image: NodeId, delta: NodeId },
}

/// How far from 0 and 1 [`Op::Refine`] clamps its image before the logit
/// (a pixel of 0 or 1 would need an infinite correction to move).
pub const REFINE_EPS: f64 = 1e-3;

impl Op {
    /// The nodes this one reads.
    pub(crate) fn inputs(&self) -> Vec<NodeId> {
        match *self {
            Op::Input => vec![],
            Op::Conv { from, .. }
            | Op::ConvTranspose { from, .. }
            | Op::Norm { from, .. }
            | Op::MaxPool { from }
            | Op::UpsampleNearest { from }
            | Op::PixelShuffle { from, .. } => vec![from],
            Op::Concat { a, b } => vec![a, b],
            Op::Refine { image, delta } => vec![image, delta],
        }
    }

    /// The layer's type in Keras' words, for summaries.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Op::Input => "InputLayer",
            Op::Conv { .. } => "Conv2D",
            Op::ConvTranspose { .. } => "Conv2DTranspose",
            Op::Norm { kind: NormKind::Batch, .. } => "BatchNormalization",
            Op::Norm { kind: NormKind::Group, .. } => "GroupNormalization",
            Op::MaxPool { .. } => "MaxPooling2D",
            Op::UpsampleNearest { .. } => "UpSampling2D",
            Op::PixelShuffle { .. } => "PixelShuffle",
            Op::Concat { .. } => "Concatenate",
            Op::Refine { .. } => "Refine",
        }
    }
}

/// How a variable starts out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Init {
    /// Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)),
    /// Keras' default for kernels.
    GlorotUniform { fan_in: i64, fan_out: i64 },
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
}

/// One variable of a node: saved as `<node name>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarSpec {
    /// The name under the node's path: `weight`, `bias`, `running_mean`, `running_var`.
    pub name: &'static str,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Its initial values.
    pub init: Init,
    /// Whether the optimiser updates it (batch norm's running statistics are
    /// updated by the forward pass instead).
    pub trainable: bool,
}

impl VarSpec {
    /// Number of values.
    pub fn numel(&self) -> i64 {
        self.shape.iter().product()
    }
}

/// One named node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Unique in its graph; a node's variables live under this path.
    pub name: String,
    /// What it computes.
    pub op: Op,
}

/// A network in SSA form: nodes in the order they are computed, each reading
/// only earlier ones; the input first and the output (one channel) last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    /// A graph holding only its input node, named `name`; returns it with the input's id.
    pub fn new(name: &str) -> (Self, NodeId) {
        (Self { nodes: vec![Node { name: name.to_owned(), op: Op::Input }] }, 0)
    }

    /// Appends a node and returns its id.
    pub fn push(&mut self, name: impl Into<String>, op: Op) -> NodeId {
        let name = name.into();
        debug_assert!(self.nodes.iter().all(|n| n.name != name), "two nodes named {name}");
        debug_assert!(op.inputs().iter().all(|&i| i < self.nodes.len()), "{name} reads a later node");
        self.nodes.push(Node { name, op });
        self.nodes.len() - 1
    }

    /// The nodes in computation order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The number of channels each node outputs.
    pub fn channels(&self) -> Vec<i64> {
        let mut channels: Vec<i64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let c = match node.op {
                Op::Input => 1,
                Op::Conv { filters, .. } | Op::ConvTranspose { filters, .. } => filters,
                Op::Norm { from, .. } | Op::MaxPool { from } | Op::UpsampleNearest { from } => channels[from],
                Op::PixelShuffle { from, factor } => channels[from] / (factor * factor),
                Op::Concat { a, b } => channels[a] + channels[b],
                Op::Refine { image, .. } => channels[image],
            };
            channels.push(c);
        }
        channels
    }

    /// Each node's output shape `(height, width, channels)` for input images of `input` size.
    pub fn shapes(&self, input: InputSize) -> Vec<(i64, i64, i64)> {
        let channels = self.channels();
        let mut sizes: Vec<(i64, i64)> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let size = match node.op {
                Op::Input => (input.height, input.width),
                Op::Conv { from, .. } | Op::Norm { from, .. } => sizes[from],
                Op::Concat { a, .. } | Op::Refine { image: a, .. } => sizes[a],
                Op::MaxPool { from } => (sizes[from].0 / 2, sizes[from].1 / 2),
                Op::UpsampleNearest { from } => (sizes[from].0 * 2, sizes[from].1 * 2),
                Op::ConvTranspose { from, factor, .. } | Op::PixelShuffle { from, factor } => {
                    (sizes[from].0 * factor, sizes[from].1 * factor)
                }
            };
            sizes.push(size);
        }
        sizes.into_iter().zip(channels).map(|((h, w), c)| (h, w, c)).collect()
    }

    /// The variables of each node, in the order they are created (and their
    /// initial values drawn).
    pub fn variables(&self) -> Vec<Vec<VarSpec>> {
        let channels = self.channels();
        let var = |name, shape: Vec<i64>, init, trainable| VarSpec { name, shape, init, trainable };
        self.nodes
            .iter()
            .map(|node| match node.op {
                Op::Conv { from, filters, kernel, bias, .. } => {
                    let c_in = channels[from];
                    let area = kernel * kernel;
                    let init = Init::GlorotUniform { fan_in: c_in * area, fan_out: filters * area };
                    let mut vars = vec![var("weight", vec![filters, c_in, kernel, kernel], init, true)];
                    if bias {
                        vars.push(var("bias", vec![filters], Init::Zeros, true));
                    }
                    vars
                }
                Op::ConvTranspose { from, filters, factor, .. } => {
                    // LibTorch's layout for transposed kernels: [in, out, k, k].
                    let c_in = channels[from];
                    let area = factor * factor;
                    let init = Init::GlorotUniform { fan_in: c_in * area, fan_out: filters * area };
                    vec![
                        var("weight", vec![c_in, filters, factor, factor], init, true),
                        var("bias", vec![filters], Init::Zeros, true),
                    ]
                }
                Op::Norm { from, kind, .. } => {
                    let c = channels[from];
                    let mut vars =
                        vec![var("weight", vec![c], Init::Ones, true), var("bias", vec![c], Init::Zeros, true)];
                    if kind == NormKind::Batch {
                        vars.push(var("running_mean", vec![c], Init::Zeros, false));
                        vars.push(var("running_var", vec![c], Init::Ones, false));
                    }
                    vars
                }
                Op::Input
                | Op::MaxPool { .. }
                | Op::UpsampleNearest { .. }
                | Op::PixelShuffle { .. }
                | Op::Concat { .. }
                | Op::Refine { .. } => {
                    vec![]
                }
            })
            .collect()
    }

    /// For each node, the last node that reads it (itself when none does), so
    /// that a forward pass can free each activation as soon as it is spent.
    pub fn last_uses(&self) -> Vec<NodeId> {
        let mut last: Vec<NodeId> = (0..self.nodes.len()).collect();
        for (i, node) in self.nodes.iter().enumerate() {
            for from in node.op.inputs() {
                last[from] = i;
            }
        }
        last
    }
}

/// Groups of a group normalisation over `channels` channels: the largest
/// divisor of `channels` that is at most 8 (8 groups of 2 or more channels
/// each as soon as the width allows).
pub(crate) fn groups(channels: i64) -> i64 {
    (1..=channels.min(8)).rev().find(|g| channels % g == 0).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_counts_divide_the_channels() {
        assert_eq!(groups(1), 1);
        assert_eq!(groups(3), 3);
        assert_eq!(groups(12), 6);
        assert_eq!(groups(16), 8);
        assert_eq!(groups(7), 7);
        assert_eq!(groups(14), 7);
        assert_eq!(groups(512), 8);
    }

    #[test]
    fn shapes_channels_and_last_uses_follow_the_nodes() {
        let (mut g, x) = Graph::new("input");
        let c = g.push(
            "c",
            Op::Conv { from: x, filters: 4, kernel: 3, dilation: 1, bias: true, activation: Activation::Relu },
        );
        let p = g.push("p", Op::MaxPool { from: c });
        let t = g.push("t", Op::ConvTranspose { from: p, filters: 4, factor: 2, activation: Activation::Linear });
        let cat = g.push("cat", Op::Concat { a: t, b: c });
        let e = g.push(
            "e",
            Op::Conv { from: cat, filters: 8, kernel: 3, dilation: 1, bias: false, activation: Activation::Linear },
        );
        let s = g.push("s", Op::PixelShuffle { from: e, factor: 2 });
        let n = g.push("n", Op::Norm { from: s, kind: NormKind::Batch, activation: Activation::Sigmoid });
        assert_eq!(n, 7);
        let shapes = g.shapes(InputSize { height: 6, width: 10 });
        assert_eq!(
            shapes,
            [(6, 10, 1), (6, 10, 4), (3, 5, 4), (6, 10, 4), (6, 10, 8), (6, 10, 8), (12, 20, 2), (12, 20, 2)]
        );
        // c is read by p and, last, by cat.
        assert_eq!(g.last_uses(), [1, 4, 3, 4, 5, 6, 7, 7]);
        let vars = g.variables();
        let count = |i: usize| vars[i].iter().map(VarSpec::numel).sum::<i64>();
        assert_eq!(count(1), 4 * 9 + 4);
        assert_eq!(count(3), 4 * 4 * 4 + 4, "transposed kernels are [in, out, 2, 2]");
        assert_eq!(vars[3][0].shape, [4, 4, 2, 2]);
        assert_eq!(count(5), 8 * 8 * 9, "no bias");
        assert_eq!(vars[7].iter().filter(|v| !v.trainable).count(), 2);
        assert_eq!(count(7), 4 * 2);
    }
}
