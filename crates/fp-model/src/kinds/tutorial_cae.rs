//! `kind = "tutorial-cae"`: the Keras tutorial's convolutional autoencoder.

use serde::{Deserialize, Serialize};

use crate::config::Architecture;
use crate::error::{ModelError, Result};
use crate::graph::{Activation, Graph, Op};

/// Settings of the tutorial's network: convolutions with 2x2 max-pooling
/// between them, mirrored by convolutions with 2x upsampling between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TutorialCaeConfig {
    /// Filters of the encoder's convolutions; a 2x2 max-pooling sits between
    /// consecutive ones. The decoder mirrors them (without the first) and ends
    /// with a 1-filter sigmoid convolution.
    pub filters: Vec<i64>,
    /// Side of the square convolution kernels ('same' padding).
    pub kernel_size: i64,
}

impl Default for TutorialCaeConfig {
    /// The tutorial's network: Conv32-pool-Conv64-pool-Conv128 | Conv128-up-Conv64-up-Conv1, 3x3 kernels.
    fn default() -> Self {
        Self { filters: vec![32, 64, 128], kernel_size: 3 }
    }
}

impl TutorialCaeConfig {
    /// The kind's name: `kind = "tutorial-cae"` in `[model]`.
    pub const NAME: &'static str = "tutorial-cae";

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
}

impl Architecture for TutorialCaeConfig {
    fn validate(&self) -> Result<()> {
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
        super::validate_kernel_size(self.kernel_size)
    }

    fn downsamplings(&self) -> u32 {
        self.pools() as u32
    }

    /// `input`, `enc1`, `pool1`, `enc2`, ... `dec1`, `up1`, `dec2`, ...: the
    /// names (and so the checkpoint keys and summary rows) of the network
    /// before there were model kinds.
    fn graph(&self) -> Graph {
        let (mut g, mut x) = Graph::new("input");
        let conv = |from, filters, activation| Op::Conv {
            from,
            filters,
            kernel: self.kernel_size,
            dilation: 1,
            bias: true,
            activation,
        };
        for (i, &filters) in self.filters.iter().enumerate() {
            if i > 0 {
                x = g.push(format!("pool{i}"), Op::MaxPool { from: x });
            }
            x = g.push(format!("enc{}", i + 1), conv(x, filters, Activation::Relu));
        }
        let widths = self.decoder_widths();
        for (i, &filters) in widths.iter().enumerate() {
            if i > 0 {
                x = g.push(format!("up{i}"), Op::UpsampleNearest { from: x });
            }
            let activation = if i + 1 == widths.len() { Activation::Sigmoid } else { Activation::Relu };
            x = g.push(format!("dec{}", i + 1), conv(x, filters, activation));
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_mirrors_the_encoder() {
        assert_eq!(TutorialCaeConfig::default().decoder_widths(), [128, 64, 1]);
        assert_eq!(TutorialCaeConfig { filters: vec![8], kernel_size: 3 }.decoder_widths(), [1]);
        assert_eq!(TutorialCaeConfig { filters: vec![4, 8], kernel_size: 3 }.decoder_widths(), [8, 1]);
    }

    #[test]
    fn the_graph_has_the_old_layer_names() {
        let names: Vec<String> = TutorialCaeConfig::default().graph().nodes().iter().map(|n| n.name.clone()).collect();
        let expected = ["input", "enc1", "pool1", "enc2", "pool2", "enc3", "dec1", "up1", "dec2", "up2", "dec3"];
        assert_eq!(names, expected);
    }
}
