//! `kind = "unet"`: a U-Net, whose decoder sees the encoder's features at
//! every resolution through skip connections.

use serde::{Deserialize, Serialize};

use crate::config::Architecture;
use crate::error::{ModelError, Result};
use crate::graph::{Activation, Graph, NodeId, NormKind, Op};

/// The normalisation after each convolution of a U-Net's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// No normalisation: the convolutions have biases instead.
    None,
    /// Batch normalisation (running statistics are used for evaluation).
    Batch,
    /// Group normalisation with 8 groups (or the largest divisor of the width
    /// below 8): independent of the batch, so it behaves the same in training
    /// and evaluation and at any batch size.
    #[default]
    Group,
}

/// How a U-Net's decoder doubles its height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Upsampling {
    /// Nearest-neighbour upsampling, then a 3x3 convolution: free of the
    /// checkerboard artefacts of transposed convolutions.
    #[default]
    NearestConv,
    /// A 2x2 transposed convolution with stride 2.
    Transposed,
    /// A 3x3 convolution to 4 times the width, then a pixel shuffle that moves
    /// those channels into a 2x2 neighbourhood (ESPCN's sub-pixel convolution).
    SubPixel,
}

/// Settings of a U-Net.
///
/// Each encoder level has two blocks (convolution, normalisation, ReLU) and a
/// 2x2 max-pooling; level `i` (from 0) is `base_width * 2^i` wide. A bottleneck
/// of two blocks is `base_width * 2^depth` wide. Each decoder level upsamples
/// to its level's width, concatenates the encoder's features of that level and
/// applies two blocks. A 1x1 convolution with a sigmoid makes the image.
///
/// Two settings serve restoration, where the output must continue ridges
/// across holes yet leave intact regions alone: `context` dilated blocks after
/// the bottleneck widen what each output pixel sees (block `i` spaces its taps
/// `2^i` bottleneck pixels apart, so 2 blocks at depth 4 reach about 100 px
/// further at the input's resolution), and `residual` makes the 1x1
/// convolution a correction of the input ([`Op::Refine`]) rather than the
/// image itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnetConfig {
    /// Number of 2x downsamplings; inputs must be divisible by `2^depth`.
    pub depth: u32,
    /// Channels of the first level; each deeper level doubles them.
    pub base_width: i64,
    /// The normalisation in every block.
    pub norm: Norm,
    /// How the decoder upsamples.
    pub upsampling: Upsampling,
    /// Side of the blocks' square kernels ('same' padding).
    pub kernel_size: i64,
    /// Dilated blocks after the bottleneck, `bottom_context{i}` (0 to 4).
    pub context: u32,
    /// Whether the output is the input corrected (`sigmoid(logit(input) + out)`)
    /// instead of `sigmoid(out)`.
    pub residual: bool,
}

impl Default for UnetConfig {
    /// Depth 3, 16 channels at the first level (16-32-64, bottleneck 128),
    /// group normalisation, nearest upsampling with a convolution, 3x3 kernels,
    /// no dilated blocks, no residual output.
    fn default() -> Self {
        Self {
            depth: 3,
            base_width: 16,
            norm: Norm::Group,
            upsampling: Upsampling::NearestConv,
            kernel_size: 3,
            context: 0,
            residual: false,
        }
    }
}

impl UnetConfig {
    /// The kind's name: `kind = "unet"` in `[model]`.
    pub const NAME: &'static str = "unet";

    /// Channels of level `level` (0 is the input resolution, `depth` the bottleneck).
    fn width(&self, level: u32) -> i64 {
        self.base_width << level
    }

    /// Two blocks of convolution, normalisation and ReLU, named `{name}_conv1`,
    /// `{name}_norm1`, `{name}_conv2`, `{name}_norm2`.
    fn blocks(&self, g: &mut Graph, name: &str, mut x: NodeId, filters: i64) -> NodeId {
        for j in 1..=2 {
            x = self.block(g, &format!("{name}_conv{j}"), &format!("{name}_norm{j}"), x, filters, 1);
        }
        x
    }

    /// One convolution (named `conv`, taps `dilation` apart), normalisation
    /// (named `norm`) and ReLU.
    fn block(&self, g: &mut Graph, conv: &str, norm: &str, x: NodeId, filters: i64, dilation: i64) -> NodeId {
        let kernel = self.kernel_size;
        let op = |bias, activation| Op::Conv { from: x, filters, kernel, dilation, bias, activation };
        match self.norm {
            Norm::None => g.push(conv, op(true, Activation::Relu)),
            Norm::Batch | Norm::Group => {
                // The normalisation's shift makes a bias redundant.
                let c = g.push(conv, op(false, Activation::Linear));
                let kind = if self.norm == Norm::Batch { NormKind::Batch } else { NormKind::Group };
                g.push(norm, Op::Norm { from: c, kind, activation: Activation::Relu })
            }
        }
    }

    /// Doubles height and width and brings the channels to `filters`; the
    /// layer with weights is always named `name`.
    fn upsample(&self, g: &mut Graph, name: &str, x: NodeId, filters: i64) -> NodeId {
        let conv3 = |from, filters| Op::Conv {
            from,
            filters,
            kernel: 3,
            dilation: 1,
            bias: true,
            activation: Activation::Linear,
        };
        match self.upsampling {
            Upsampling::NearestConv => {
                let up = g.push(format!("{name}_nearest"), Op::UpsampleNearest { from: x });
                g.push(name, conv3(up, filters))
            }
            Upsampling::Transposed => {
                g.push(name, Op::ConvTranspose { from: x, filters, factor: 2, activation: Activation::Linear })
            }
            Upsampling::SubPixel => {
                let wide = g.push(name, conv3(x, 4 * filters));
                g.push(format!("{name}_shuffle"), Op::PixelShuffle { from: wide, factor: 2 })
            }
        }
    }
}

impl Architecture for UnetConfig {
    fn validate(&self) -> Result<()> {
        if !(1..=6).contains(&self.depth) {
            return Err(ModelError::InvalidConfig {
                field: "depth",
                expected: format!("expected 1 to 6 downsamplings, got {}", self.depth),
            });
        }
        if !(1..=512).contains(&self.base_width) {
            return Err(ModelError::InvalidConfig {
                field: "base_width",
                expected: format!("expected a width in 1..=512, got {}", self.base_width),
            });
        }
        if self.context > 4 {
            return Err(ModelError::InvalidConfig {
                field: "context",
                expected: format!("expected 0 to 4 dilated blocks, got {}", self.context),
            });
        }
        super::validate_kernel_size(self.kernel_size)
    }

    fn downsamplings(&self) -> u32 {
        self.depth
    }

    /// `down1_*` ... `down{depth}_*`, `bottom_*`, `bottom_context{i}` and
    /// `bottom_context{i}_norm` for each dilated block, then `up{depth}_*` ...
    /// `up1_*` (the decoder level `up{i}` joins the features of `down{i}`), then
    /// `out` (and `refine` when residual).
    fn graph(&self) -> Graph {
        let (mut g, mut x) = Graph::new("input");
        let mut skips = Vec::with_capacity(self.depth as usize);
        for level in 1..=self.depth {
            let name = format!("down{level}");
            x = self.blocks(&mut g, &name, x, self.width(level - 1));
            skips.push(x);
            x = g.push(format!("{name}_pool"), Op::MaxPool { from: x });
        }
        x = self.blocks(&mut g, "bottom", x, self.width(self.depth));
        for i in 1..=self.context {
            let name = format!("bottom_context{i}");
            x = self.block(&mut g, &name, &format!("{name}_norm"), x, self.width(self.depth), 1 << i);
        }
        for level in (1..=self.depth).rev() {
            let name = format!("up{level}");
            let filters = self.width(level - 1);
            let up = self.upsample(&mut g, &name, x, filters);
            let skip = skips[level as usize - 1];
            x = g.push(format!("{name}_concat"), Op::Concat { a: skip, b: up });
            x = self.blocks(&mut g, &name, x, filters);
        }
        let input = 0;
        if self.residual {
            let out =
                Op::Conv { from: x, filters: 1, kernel: 1, dilation: 1, bias: true, activation: Activation::Linear };
            let delta = g.push("out", out);
            g.push("refine", Op::Refine { image: input, delta });
        } else {
            let out =
                Op::Conv { from: x, filters: 1, kernel: 1, dilation: 1, bias: true, activation: Activation::Sigmoid };
            g.push("out", out);
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InputSize;

    #[test]
    fn depth_one_has_these_layers() {
        let config = UnetConfig { depth: 1, base_width: 4, ..UnetConfig::default() };
        let g = config.graph();
        let names: Vec<&str> = g.nodes().iter().map(|n| n.name.as_str()).collect();
        let expected = [
            "input",
            "down1_conv1",
            "down1_norm1",
            "down1_conv2",
            "down1_norm2",
            "down1_pool",
            "bottom_conv1",
            "bottom_norm1",
            "bottom_conv2",
            "bottom_norm2",
            "up1_nearest",
            "up1",
            "up1_concat",
            "up1_conv1",
            "up1_norm1",
            "up1_conv2",
            "up1_norm2",
            "out",
        ];
        assert_eq!(names, expected);
        let shapes = g.shapes(InputSize { height: 8, width: 6 });
        assert_eq!(shapes[9], (4, 3, 8), "bottleneck: half size, twice the width");
        assert_eq!(shapes[12], (8, 6, 8), "skip (4) and upsampled (4) channels");
        assert_eq!(*shapes.last().unwrap(), (8, 6, 1));
    }

    #[test]
    fn every_upsampling_and_norm_ends_in_one_channel_at_input_size() {
        for upsampling in [Upsampling::NearestConv, Upsampling::Transposed, Upsampling::SubPixel] {
            for norm in [Norm::None, Norm::Batch, Norm::Group] {
                let config = UnetConfig { depth: 3, base_width: 3, norm, upsampling, ..UnetConfig::default() };
                let shapes = config.graph().shapes(InputSize { height: 16, width: 24 });
                assert_eq!(*shapes.last().unwrap(), (16, 24, 1), "{upsampling:?} {norm:?}");
                let deepest = shapes.iter().map(|s| s.2).max().unwrap();
                assert_eq!(deepest, if upsampling == Upsampling::SubPixel { 4 * 12 } else { 24 });
            }
        }
    }

    #[test]
    fn context_blocks_keep_the_bottleneck_and_residual_refines_the_input() {
        let config = UnetConfig { depth: 2, base_width: 4, context: 2, residual: true, ..UnetConfig::default() };
        let g = config.graph();
        let names: Vec<&str> = g.nodes().iter().map(|n| n.name.as_str()).collect();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("no {name}"));
        let shapes = g.shapes(InputSize { height: 16, width: 12 });
        assert_eq!(shapes[at("bottom_context2_norm")], shapes[at("bottom_norm2")]);
        match g.nodes()[at("bottom_context2")].op {
            Op::Conv { dilation, .. } => assert_eq!(dilation, 4),
            ref op => panic!("bottom_context2 is {op:?}"),
        }
        assert_eq!(names.last(), Some(&"refine"));
        assert!(matches!(g.nodes()[at("refine")].op, Op::Refine { image: 0, .. }));
        match g.nodes()[at("out")].op {
            Op::Conv { activation, .. } => assert_eq!(activation, Activation::Linear),
            ref op => panic!("out is {op:?}"),
        }
        assert_eq!(*shapes.last().unwrap(), (16, 12, 1));
        let plain = UnetConfig { depth: 2, base_width: 4, ..UnetConfig::default() }.graph();
        assert_eq!(g.nodes().len(), plain.nodes().len() + 2 * 2 + 1);
    }

    #[test]
    fn out_of_range_settings_are_errors() {
        let err = UnetConfig { depth: 0, ..UnetConfig::default() }.validate().unwrap_err();
        assert_eq!(err.to_string(), "model.depth: expected 1 to 6 downsamplings, got 0");
        let err = UnetConfig { base_width: 513, ..UnetConfig::default() }.validate().unwrap_err();
        assert_eq!(err.to_string(), "model.base_width: expected a width in 1..=512, got 513");
        let err = UnetConfig { kernel_size: 2, ..UnetConfig::default() }.validate().unwrap_err();
        assert!(err.to_string().starts_with("model.kernel_size: expected an odd size"), "{err}");
        let err = UnetConfig { context: 5, ..UnetConfig::default() }.validate().unwrap_err();
        assert_eq!(err.to_string(), "model.context: expected 0 to 4 dilated blocks, got 5");
        UnetConfig::default().validate().unwrap();
    }
}
