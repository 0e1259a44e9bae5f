use std::fmt;

use crate::error::Result;
use crate::model::{AutoencoderConfig, InputSize};

/// One row of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    /// Layer name and type, e.g. `enc1 (Conv2D)`.
    pub layer: String,
    /// Output shape in Keras' notation: `(None, H, W, C)`.
    pub output_shape: (i64, i64, i64),
    /// Trainable parameters.
    pub params: i64,
}

/// A table like Keras' `model.summary()`: layer, output shape, parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The layers in order, the input first.
    pub rows: Vec<LayerRow>,
}

impl Summary {
    /// The summary of `config` at `input` size.
    pub fn new(config: &AutoencoderConfig, input: InputSize) -> Result<Self> {
        config.validate_input(input)?;
        let k = config.kernel_size;
        let (mut h, mut w, mut c) = (input.height, input.width, 1);
        let mut rows = vec![LayerRow { layer: "input (InputLayer)".into(), output_shape: (h, w, c), params: 0 }];
        let conv = |rows: &mut Vec<LayerRow>, name: String, c_in: i64, c_out: i64, h: i64, w: i64| {
            rows.push(LayerRow {
                layer: format!("{name} (Conv2D)"),
                output_shape: (h, w, c_out),
                params: c_in * c_out * k * k + c_out,
            });
        };
        let f = &config.filters;
        for (i, &c_out) in f.iter().enumerate() {
            if i > 0 {
                (h, w) = (h / 2, w / 2);
                rows.push(LayerRow { layer: format!("pool{i} (MaxPooling2D)"), output_shape: (h, w, c), params: 0 });
            }
            conv(&mut rows, format!("enc{}", i + 1), c, c_out, h, w);
            c = c_out;
        }
        for (i, &c_out) in config.decoder_widths().iter().enumerate() {
            if i > 0 {
                (h, w) = (h * 2, w * 2);
                rows.push(LayerRow { layer: format!("up{i} (UpSampling2D)"), output_shape: (h, w, c), params: 0 });
            }
            conv(&mut rows, format!("dec{}", i + 1), c, c_out, h, w);
            c = c_out;
        }
        Ok(Self { rows })
    }

    /// Total trainable parameters.
    pub fn total_params(&self) -> i64 {
        self.rows.iter().map(|r| r.params).sum()
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
    /// Keras-style table; its last line is `Total params: N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "_".repeat(65);
        writeln!(f, "Model: \"autoencoder\"")?;
        writeln!(f, "{rule}")?;
        writeln!(f, " {:<28}{:<26}Param #", "Layer (type)", "Output Shape")?;
        writeln!(f, "{}", "=".repeat(65))?;
        for (i, row) in self.rows.iter().enumerate() {
            let (h, w, c) = row.output_shape;
            writeln!(f, " {:<28}{:<26}{}", row.layer, format!("(None, {h}, {w}, {c})"), thousands(row.params))?;
            if i + 1 < self.rows.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", "=".repeat(65))?;
        writeln!(f, "Trainable params: {}", thousands(self.total_params()))?;
        writeln!(f, "Non-trainable params: 0")?;
        write!(f, "Total params: {}", thousands(self.total_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_network_has_314625_parameters() {
        // Conv 1->32: 9*32+32 = 320; 32->64: 18,496; 64->128: 73,856;
        // 128->128: 147,584; 128->64: 73,792; 64->1: 577. Sum 314,625.
        let s = Summary::new(&AutoencoderConfig::default(), InputSize { height: 224, width: 224 }).unwrap();
        assert_eq!(s.total_params(), 314_625);
        let params: Vec<i64> = s.rows.iter().map(|r| r.params).filter(|&p| p > 0).collect();
        assert_eq!(params, [320, 18_496, 73_856, 147_584, 73_792, 577]);
        assert_eq!(s.rows.last().unwrap().output_shape, (224, 224, 1));
        assert_eq!(s.rows[5].output_shape, (56, 56, 128));
        let text = s.to_string();
        assert_eq!(text.lines().last().unwrap(), "Total params: 314,625");
        assert!(text.contains("\n enc1 (Conv2D)               (None, 224, 224, 32)      320\n"), "{text}");
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
