//! The `[model]` section of a configuration: which kind of network, and its shape.
//!
//! Each kind is a config struct in [`crate::kinds`] that knows how to check
//! itself and how to describe its network as a [`Graph`]; [`ModelConfig`] only
//! picks the kind named by `kind = "..."` and hands everything else to it.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ModelError, Result};
use crate::graph::Graph;
use crate::kinds::{TutorialCaeConfig, UnetConfig};

/// Height and width of the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSize {
    /// Input height in pixels.
    pub height: i64,
    /// Input width in pixels.
    pub width: i64,
}

/// What every model kind provides: its checks, its stride and its network.
pub(crate) trait Architecture {
    /// Checks the configuration on its own.
    fn validate(&self) -> Result<()>;
    /// How many times the network halves its input (and doubles it back).
    fn downsamplings(&self) -> u32;
    /// The network, as one description that both builds it and summarises it.
    /// Only called on a configuration that passed [`Architecture::validate`].
    fn graph(&self) -> Graph;
}

/// The `[model]` section of a configuration: the kind of network, tagged by
/// `kind`, with that kind's settings beside it.
///
/// ```toml
/// [model]
/// kind = "unet"
/// depth = 3
/// ```
///
/// A table without `kind` is the tutorial's network, so configurations written
/// before there were kinds load unchanged. Serializing always writes `kind`.
///
/// Adding a kind: a module in `kinds/` with its config struct (serde `default`
/// and `deny_unknown_fields`) implementing `Architecture`, whose `graph`
/// describes the network and whose `NAME` is the kind's one spelling; then a
/// variant here (serde's kebab-case of it is `NAME`, a test holds them
/// equal), its `NAME` in `KINDS`, and its arm in `kind_name`, `architecture`
/// and `from_kind` below. Nothing else in the workspace asks which kind a model is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// `kind = "tutorial-cae"`: the Keras tutorial's plain convolutional autoencoder.
    TutorialCae(TutorialCaeConfig),
    /// `kind = "unet"`: a U-Net with skip connections.
    Unet(UnetConfig),
}

impl Default for ModelConfig {
    /// The tutorial's network (314,625 parameters).
    fn default() -> Self {
        Self::TutorialCae(TutorialCaeConfig::default())
    }
}

impl ModelConfig {
    /// The values `kind` may take, in the order error messages list them.
    pub const KINDS: [&'static str; 2] = [TutorialCaeConfig::NAME, UnetConfig::NAME];

    /// The kind, as written in `kind = "..."`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::TutorialCae(_) => TutorialCaeConfig::NAME,
            Self::Unet(_) => UnetConfig::NAME,
        }
    }

    /// The kind's own settings, behind the interface every kind has.
    fn architecture(&self) -> &dyn Architecture {
        match self {
            Self::TutorialCae(c) => c,
            Self::Unet(c) => c,
        }
    }

    /// Parses the settings of `kind` (the table without its `kind` key), or
    /// `None` when there is no such kind.
    fn from_kind(kind: &str, settings: toml::Table) -> Option<Result<Self, toml::de::Error>> {
        Some(match kind {
            TutorialCaeConfig::NAME => settings.try_into().map(Self::TutorialCae),
            UnetConfig::NAME => settings.try_into().map(Self::Unet),
            _ => return None,
        })
    }

    /// Checks the configuration on its own.
    pub fn validate(&self) -> Result<()> {
        self.architecture().validate()
    }

    /// The factor input heights and widths must be divisible by: 2 to the
    /// number of 2x downsamplings.
    pub fn stride(&self) -> i64 {
        1 << self.architecture().downsamplings()
    }

    /// Checks the configuration and that `input` can pass through the
    /// downsamplings and come back whole.
    pub fn validate_input(&self, input: InputSize) -> Result<()> {
        self.validate()?;
        let divisor = self.stride();
        if input.height <= 0 || input.width <= 0 || input.height % divisor != 0 || input.width % divisor != 0 {
            return Err(ModelError::InputSize {
                height: input.height,
                width: input.width,
                divisor,
                pools: self.architecture().downsamplings() as usize,
            });
        }
        Ok(())
    }

    /// Bytes of f32 activations one image of `input` size makes in a forward
    /// pass: every layer's output added up, the input padded up to the stride.
    /// Inference frees each activation once read, so this bounds what one image
    /// holds at a time from above.
    pub fn activation_bytes(&self, input: InputSize) -> u64 {
        let stride = self.stride();
        let padded = InputSize {
            height: (input.height.max(1) + stride - 1) / stride * stride,
            width: (input.width.max(1) + stride - 1) / stride * stride,
        };
        let values: i64 = self.graph().shapes(padded).iter().map(|(h, w, c)| h * w * c).sum();
        u64::try_from(values).unwrap_or(u64::MAX).saturating_mul(4)
    }

    /// The network of this (valid) configuration.
    pub(crate) fn graph(&self) -> Graph {
        self.architecture().graph()
    }
}

impl<'de> Deserialize<'de> for ModelConfig {
    /// Reads the table whole, takes `kind` out and parses the rest as that
    /// kind's settings (serde's internally tagged enums cannot default a
    /// missing tag, and would lose `deny_unknown_fields`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(deserializer)?;
        let kind = match table.remove("kind") {
            None => {
                return table.try_into().map(Self::TutorialCae).map_err(|e| {
                    D::Error::custom(format!(
                        "model: {} (a [model] table without `kind` is `tutorial-cae`)",
                        e.message()
                    ))
                });
            }
            Some(toml::Value::String(kind)) => kind,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "model.kind: expected a string, one of {}, got {other}",
                    quoted_kinds()
                )));
            }
        };
        match Self::from_kind(&kind, table) {
            Some(parsed) => parsed.map_err(|e| D::Error::custom(format!("model: {}", e.message()))),
            None => Err(D::Error::custom(format!(
                "model.kind: unknown model kind `{kind}`, expected one of {}",
                quoted_kinds()
            ))),
        }
    }
}

/// `` `tutorial-cae`, `unet` ``.
fn quoted_kinds() -> String {
    ModelConfig::KINDS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Norm, Upsampling};

    /// `[model]` sections as they sit in a configuration file.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        model: ModelConfig,
    }

    #[test]
    fn activation_bytes_add_up_every_layer_at_the_padded_size() {
        use crate::kinds::TutorialCaeConfig;
        // Two levels, one pooling: stride 2, so 5x3 pads to 6x4.
        let config = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![2, 3], kernel_size: 3 });
        assert_eq!(config.stride(), 2);
        let shapes = config.graph().shapes(InputSize { height: 6, width: 4 });
        let values: i64 = shapes.iter().map(|(h, w, c)| h * w * c).sum();
        assert_eq!(config.activation_bytes(InputSize { height: 5, width: 3 }), 4 * values as u64);
        assert_eq!(config.activation_bytes(InputSize { height: 6, width: 4 }), 4 * values as u64);
        assert!(config.activation_bytes(InputSize { height: 12, width: 8 }) > 3 * 4 * values as u64);
    }

    fn parse(text: &str) -> std::result::Result<ModelConfig, String> {
        toml::from_str::<File>(text).map(|f| f.model).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_table_without_kind_is_the_tutorial_network() {
        assert_eq!(parse("[model]\nfilters = [32, 64, 128]\nkernel_size = 3\n").unwrap(), ModelConfig::default());
        assert_eq!(parse("[model]\n").unwrap(), ModelConfig::default());
        let narrow = parse("[model]\nfilters = [4, 8]\n").unwrap();
        assert_eq!(narrow, ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![4, 8], kernel_size: 3 }));
    }

    #[test]
    fn every_kind_parses_with_defaults_and_round_trips() {
        for kind in ModelConfig::KINDS {
            let config = parse(&format!("[model]\nkind = \"{kind}\"\n")).unwrap();
            assert_eq!(config.kind_name(), kind);
            let text = toml::to_string(&File { model: config.clone() }).unwrap();
            assert!(text.starts_with(&format!("[model]\nkind = \"{kind}\"\n")), "{text}");
            assert_eq!(parse(&text).unwrap(), config);
        }
        let unet = ModelConfig::Unet(UnetConfig {
            depth: 2,
            base_width: 8,
            norm: Norm::Batch,
            upsampling: Upsampling::SubPixel,
            kernel_size: 5,
            context: 2,
            residual: true,
        });
        let text = toml::to_string(&File { model: unet.clone() }).unwrap();
        assert!(text.contains("norm = \"batch\"") && text.contains("upsampling = \"sub-pixel\""), "{text}");
        assert!(text.contains("context = 2") && text.contains("residual = true"), "{text}");
        assert_eq!(parse(&text).unwrap(), unet);
        let defaults = parse("[model]\nkind = \"unet\"\n").unwrap();
        assert_eq!(defaults, ModelConfig::Unet(UnetConfig::default()));
        assert_eq!(UnetConfig::default().depth, 3);
        assert_eq!(UnetConfig::default().norm, Norm::Group);
    }

    #[test]
    fn an_unknown_kind_names_the_field_and_the_kinds() {
        let err = parse("[model]\nkind = \"resnet\"\n").unwrap_err();
        assert_eq!(err, "model.kind: unknown model kind `resnet`, expected one of `tutorial-cae`, `unet`");
        let err = parse("[model]\nkind = 3\n").unwrap_err();
        assert!(err.starts_with("model.kind: expected a string"), "{err}");
    }

    #[test]
    fn unknown_fields_are_errors_in_every_kind() {
        let err = parse("[model]\nfiltrs = [4]\n").unwrap_err();
        assert!(err.contains("unknown field `filtrs`"), "{err}");
        assert!(err.contains("without `kind` is `tutorial-cae`"), "{err}");
        let err = parse("[model]\nkind = \"unet\"\nfilters = [4]\n").unwrap_err();
        assert!(err.starts_with("model: unknown field `filters`"), "{err}");
        let err = parse("[model]\nkind = \"unet\"\nnorm = \"layer\"\n").unwrap_err();
        assert!(err.contains("unknown variant `layer`"), "{err}");
        let err = parse("[model]\nkind = \"unet\"\ndepth = \"3\"\n").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn stride_and_input_checks_follow_the_kind() {
        assert_eq!(ModelConfig::default().stride(), 4);
        let unet = ModelConfig::Unet(UnetConfig { depth: 4, ..UnetConfig::default() });
        assert_eq!(unet.stride(), 16);
        unet.validate_input(InputSize { height: 32, width: 48 }).unwrap();
        let err = unet.validate_input(InputSize { height: 40, width: 48 }).unwrap_err();
        assert_eq!(err.to_string(), "input size 40x48 must be divisible by 16 (4 pooling layers halve it)");
    }
}
