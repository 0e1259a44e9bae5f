//! A Keras-like table of a model's layers, output shapes and parameters, read
//! from the same [`crate::graph::Graph`] the model is built from.

use std::fmt;

use crate::config::{InputSize, ModelConfig};
use crate::error::Result;
use crate::graph::VarSpec;

/// One row of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    /// Layer name and type, e.g. `enc1 (Conv2D)`.
    pub layer: String,
    /// Output shape in Keras' notation: `(None, H, W, C)`.
    pub output_shape: (i64, i64, i64),
    /// All the layer's parameters (Keras' `Param #`), trainable or not.
    pub params: i64,
    /// Those of `params` that training does not update (batch normalisation's
    /// running mean and variance).
    pub non_trainable: i64,
}

/// A table like Keras' `model.summary()`: layer, output shape, parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The model's kind, e.g. `tutorial-cae`.
    pub kind: &'static str,
    /// The layers in order, the input first.
    pub rows: Vec<LayerRow>,
}

impl Summary {
    /// The summary of `config` at `input` size.
    pub fn new(config: &ModelConfig, input: InputSize) -> Result<Self> {
        config.validate_input(input)?;
        let graph = config.graph();
        let shapes = graph.shapes(input);
        let rows = graph
            .nodes()
            .iter()
            .zip(shapes)
            .zip(graph.variables())
            .map(|((node, output_shape), vars)| LayerRow {
                layer: format!("{} ({})", node.name, node.op.type_name()),
                output_shape,
                params: vars.iter().map(VarSpec::numel).sum(),
                non_trainable: vars.iter().filter(|v| !v.trainable).map(VarSpec::numel).sum(),
            })
            .collect();
        Ok(Self { kind: config.kind_name(), rows })
    }

    /// All parameters, trainable or not.
    pub fn total_params(&self) -> i64 {
        self.rows.iter().map(|r| r.params).sum()
    }

    /// The parameters training updates.
    pub fn trainable_params(&self) -> i64 {
        self.total_params() - self.non_trainable_params()
    }

    /// The parameters training does not update.
    pub fn non_trainable_params(&self) -> i64 {
        self.rows.iter().map(|r| r.non_trainable).sum()
    }
}

/// `12345` as `12,345`.
fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

impl fmt::Display for Summary {
    /// Keras-style table; its last line is `Total params: N`. The columns are
    /// Keras' widths, widened when a name or shape needs more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |row: &LayerRow| {
            let (h, w, c) = row.output_shape;
            format!("(None, {h}, {w}, {c})")
        };
        let layer_width = self.rows.iter().map(|r| r.layer.len() + 2).max().unwrap_or(0).max(28);
        let shape_width = self.rows.iter().map(|r| shape(r).len() + 2).max().unwrap_or(0).max(26);
        let rule_width = layer_width + shape_width + 11;
        writeln!(f, "Model: \"{}\"", self.kind)?;
        writeln!(f, "{}", "_".repeat(rule_width))?;
        writeln!(f, " {:<layer_width$}{:<shape_width$}Param #", "Layer (type)", "Output Shape")?;
        writeln!(f, "{}", "=".repeat(rule_width))?;
        for (i, row) in self.rows.iter().enumerate() {
            writeln!(f, " {:<layer_width$}{:<shape_width$}{}", row.layer, shape(row), thousands(row.params))?;
            if i + 1 < self.rows.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", "=".repeat(rule_width))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable_params()))?;
        writeln!(f, "Non-trainable params: {}", thousands(self.non_trainable_params()))?;
        write!(f, "Total params: {}", thousands(self.total_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Norm, UnetConfig, Upsampling};

    #[test]
    fn the_tutorial_network_has_314625_parameters() {
        // Conv 1->32: 9*32+32 = 320; 32->64: 18,496; 64->128: 73,856;
        // 128->128: 147,584; 128->64: 73,792; 64->1: 577. Sum 314,625.
        let s = Summary::new(&ModelConfig::default(), InputSize { height: 224, width: 224 }).unwrap();
        assert_eq!(s.total_params(), 314_625);
        assert_eq!(s.trainable_params(), 314_625);
        let params: Vec<i64> = s.rows.iter().map(|r| r.params).filter(|&p| p > 0).collect();
        assert_eq!(params, [320, 18_496, 73_856, 147_584, 73_792, 577]);
        assert_eq!(s.rows.last().unwrap().output_shape, (224, 224, 1));
        assert_eq!(s.rows[5].output_shape, (56, 56, 128));
        let layers: Vec<&str> = s.rows.iter().map(|r| r.layer.as_str()).collect();
        let expected = [
            "input (InputLayer)",
            "enc1 (Conv2D)",
            "pool1 (MaxPooling2D)",
            "enc2 (Conv2D)",
            "pool2 (MaxPooling2D)",
            "enc3 (Conv2D)",
            "dec1 (Conv2D)",
            "up1 (UpSampling2D)",
            "dec2 (Conv2D)",
            "up2 (UpSampling2D)",
            "dec3 (Conv2D)",
        ];
        assert_eq!(layers, expected);
        let text = s.to_string();
        assert_eq!(text.lines().last().unwrap(), "Total params: 314,625");
        assert!(text.contains("\n enc1 (Conv2D)               (None, 224, 224, 32)      320\n"), "{text}");
        assert!(text.contains("\nTrainable params: 314,625\nNon-trainable params: 0\n"), "{text}");
        assert_eq!(text.lines().nth(1).unwrap().len(), 65, "Keras' width: {text}");
    }

    #[test]
    fn a_batch_norm_unet_counts_its_running_statistics_apart() {
        // depth 1, width 4 at 8x8, 3x3 kernels; convolutions before a norm have no bias.
        // down1: conv 1->4: 36, bn 4*4 (8 trainable); conv 4->4: 144, bn 16.
        // bottom: conv 4->8: 288, bn 32; conv 8->8: 576, bn 32.
        // up1: 3x3 conv 8->4 + bias: 292; concat 4+4; conv 8->4: 288, bn 16; conv 4->4: 144, bn 16.
        // out: 1x1 conv 4->1 + bias: 5.
        let config = UnetConfig {
            depth: 1,
            base_width: 4,
            norm: Norm::Batch,
            upsampling: Upsampling::NearestConv,
            ..UnetConfig::default()
        };
        let s = Summary::new(&ModelConfig::Unet(config), InputSize { height: 8, width: 8 }).unwrap();
        let norms = 16 + 16 + 32 + 32 + 16 + 16;
        let total = 36 + 144 + 288 + 576 + 292 + 288 + 144 + 5 + norms;
        assert_eq!(s.total_params(), total);
        assert_eq!(s.non_trainable_params(), norms / 2);
        assert_eq!(s.trainable_params(), total - norms / 2);
        let text = s.to_string();
        assert!(text.starts_with("Model: \"unet\"\n"), "{text}");
        assert!(text.contains(" bottom_norm2 (BatchNormalization)  (None, 4, 4, 8)"), "{text}");
        assert!(text.contains(&format!("\nNon-trainable params: {}\n", norms / 2)), "{text}");
        assert_eq!(text.lines().last().unwrap(), format!("Total params: {}", thousands(total)));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(314_625), "314,625");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
