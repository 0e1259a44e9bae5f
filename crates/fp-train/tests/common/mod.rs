//! What the training tests share: tiny synthetic datasets, their split and a
//! tiny config of the tutorial's network.
// Each test crate uses its own part of this module.
#![allow(dead_code)]

use fp_data::{AppliedScaling, DataConfig, Dataset, DatasetManifest, ImageMeta, ImageSource, ResizeMode, Split};
use fp_model::{ModelConfig, Placement, TutorialCaeConfig};
use fp_train::Config;

pub const SIDE: usize = 16;

/// 24 smooth ridge-like 16x16 images with values in [0, 1].
pub fn dataset() -> Dataset {
    sized_dataset(|_| (SIDE, SIDE), ResizeMode::Stretch)
}

/// 24 ridge-like images of the sizes `size(i)` gives, in two databases of six
/// fingers with two impressions each.
pub fn sized_dataset(size: impl Fn(usize) -> (usize, usize), resize: ResizeMode) -> Dataset {
    let n = 24;
    let manifest = DatasetManifest::new("synthetic");
    let mut images = Vec::new();
    let mut items = Vec::new();
    for i in 0..n {
        let (w, h) = size(i);
        let (freq, phase) = (0.4 + 0.05 * (i % 5) as f32, i as f32 * 0.7);
        for y in 0..h {
            for x in 0..w {
                let v = ((x as f32 * freq + y as f32 * 0.3 + phase).sin() * 0.5 + 0.5) * 0.9;
                images.push(v);
            }
        }
        let database = format!("DB{}_B", i % 2 + 1);
        let (finger, impression) = (101 + (i / 2 % 6) as u32, (i / 12) as u32 + 1);
        let source = ImageSource::new(
            std::path::Path::new("/synthetic"),
            format!("{database}/{finger}_{impression}.tif"),
            &manifest,
        );
        items.push(ImageMeta::new(source, w as u32, h as u32));
    }
    let preprocess =
        DataConfig { height: SIDE as u32, width: SIDE as u32, resize, ..DataConfig::default() }.preprocess();
    Dataset::new(items, images, AppliedScaling::Divide { divisor: 255.0 }, preprocess).unwrap()
}

pub fn split() -> Split {
    Split { train: (0..18).collect(), val: (18..24).collect() }
}

pub fn config(epochs: usize) -> Config {
    let mut c = Config::default();
    c.data.height = SIDE as u32;
    c.data.width = SIDE as u32;
    c.model = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![4, 8], kernel_size: 3 });
    c.train.epochs = epochs;
    c.train.batch_size = 8;
    c.train.learning_rate = 3e-3;
    c.train.device = fp_model::DeviceSpec::Cpu;
    c
}

/// Where and how `config` trains: its device and precision, resolved as
/// `fpae train` resolves them.
pub fn placement(config: &Config) -> Placement {
    Placement::resolve(config.train.device, config.train.precision).unwrap()
}
