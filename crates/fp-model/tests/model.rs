//! The autoencoder: shapes, parameters, initialisation, save and load.

use fp_model::{Autoencoder, AutoencoderConfig, InputSize, ModelError};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor, nn};

fn tiny() -> AutoencoderConfig {
    AutoencoderConfig { filters: vec![4, 8, 8], kernel_size: 3 }
}

#[test]
fn default_model_has_314625_parameters_and_keeps_the_shape() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &AutoencoderConfig::default(), 7).unwrap();
    let params: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    assert_eq!(params, 314_625);
    let x = Tensor::rand([2, 1, 224, 224], (Kind::Float, Device::Cpu));
    let y = model.forward_t(&x, false);
    assert_eq!(y.size(), [2, 1, 224, 224]);
    assert_eq!(model.encode(&x).size(), [2, 128, 56, 56]);
    let (lo, hi) = (y.min().double_value(&[]), y.max().double_value(&[]));
    assert!(lo > 0.0 && hi < 1.0, "sigmoid output in (0, 1): {lo} {hi}");
}

#[test]
fn weights_are_glorot_uniform_and_biases_zero() {
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &AutoencoderConfig::default(), 7).unwrap();
    let vars = vs.variables();
    // dec1: 128 -> 128, 3x3: limit = sqrt(6 / (128*9 + 128*9)) = 0.05103.
    let w = &vars["dec1.weight"];
    let limit = (6.0f64 / (2.0 * 128.0 * 9.0)).sqrt();
    let max_abs = w.abs().max().double_value(&[]);
    assert!(max_abs <= limit && max_abs > 0.95 * limit, "{max_abs} vs {limit}");
    // Uniform on [-a, a] has standard deviation a / sqrt(3).
    let std = w.std(true).double_value(&[]);
    assert!((std - limit / 3f64.sqrt()).abs() < 0.02 * limit, "{std}");
    assert_eq!(vars["enc2.bias"].abs().sum(Kind::Float).double_value(&[]), 0.0);
    let names: std::collections::BTreeSet<_> = vars.keys().cloned().collect();
    let expected: std::collections::BTreeSet<_> = ["enc1", "enc2", "enc3", "dec1", "dec2", "dec3"]
        .iter()
        .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn input_not_divisible_by_four_is_a_clear_error() {
    let err = AutoencoderConfig::default().validate_input(InputSize { height: 222, width: 224 }).unwrap_err();
    assert_eq!(err.to_string(), "input size 222x224 must be divisible by 4 (2 pooling layers halve it)");
    let err = AutoencoderConfig { filters: vec![], kernel_size: 3 }.validate().unwrap_err();
    assert_eq!(err.to_string(), "model.filters: expected 1 to 6 layer widths, got 0");
    let err = AutoencoderConfig { filters: vec![8], kernel_size: 4 }.validate().unwrap_err();
    assert!(err.to_string().starts_with("model.kernel_size: expected an odd size"), "{err}");
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    let input = InputSize { height: 16, width: 16 };
    fp_model::save(dir.path(), &vs, &tiny(), input).unwrap();
    let loaded = fp_model::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.input, input);
    assert_eq!(loaded.model.config(), &tiny());
    let x = Tensor::rand([3, 1, 16, 16], (Kind::Float, Device::Cpu));
    let (a, b) = (model.forward_t(&x, false), loaded.model.forward_t(&x, false));
    assert_eq!(a.eq_tensor(&b).all().int64_value(&[]), 1);
    // No temporary files are left beside the model.
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["model.safetensors", "model.toml"]);
}

#[test]
fn loading_weights_of_another_shape_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    fp_model::save(dir.path(), &vs, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    // Describe a wider middle layer than the weights have.
    let text = std::fs::read_to_string(dir.path().join("model.toml")).unwrap();
    std::fs::write(dir.path().join("model.toml"), text.replace("filters = [4, 8, 8]", "filters = [4, 16, 8]")).unwrap();
    let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(matches!(err, ModelError::ShapeMismatch { .. }), "{err:?}");
    let weights = dir.path().join("model.safetensors");
    assert_eq!(
        err.to_string(),
        format!("{}: tensor \"dec2.bias\" has shape [8], but the model config expects [16]", weights.display())
    );
    // One layer fewer: a tensor of the file is unknown to the model.
    std::fs::write(dir.path().join("model.toml"), text.replace("filters = [4, 8, 8]", "filters = [4, 8]")).unwrap();
    let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("unexpected tensor \"dec3.bias\""), "{err}");
}

#[test]
fn the_seed_alone_decides_the_initial_weights() {
    let build = |seed| {
        let vs = nn::VarStore::new(Device::Cpu);
        Autoencoder::new(&vs.root(), &tiny(), seed).unwrap();
        tch::manual_seed(seed as i64 + 100); // the global generator plays no part
        let mut w: Vec<_> = vs.variables().into_iter().collect();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w
    };
    let (a, b, c) = (build(5), build(5), build(6));
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x.eq_tensor(y).all().int64_value(&[]), 1);
    }
    let differs = a.iter().zip(&c).any(|((_, x), (_, y))| x.eq_tensor(y).all().int64_value(&[]) == 0);
    assert!(differs);
}

#[test]
fn batched_reconstruction_equals_one_pass() {
    let vars = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vars.root(), &tiny(), 3).unwrap();
    let xs = Tensor::rand([5, 1, 16, 12], (tch::Kind::Float, Device::Cpu));
    let whole = model.forward_t(&xs, false);
    for batch in [1, 2, 5, 64] {
        let batched = model.reconstruct(&xs, batch);
        assert_eq!(batched.size(), vec![5, 1, 16, 12]);
        let diff = (&batched - &whole).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "batch {batch}: {diff}");
    }
    assert_eq!(model.reconstruct(&xs.narrow(0, 0, 0), 4).size(), vec![0, 1, 16, 12]);
}

#[test]
fn channels_last_weights_save_contiguous_and_load_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let vars = nn::VarStore::new(Device::Cpu);
    let mut model = Autoencoder::new(&vars.root(), &tiny(), 5).unwrap();
    let xs = Tensor::rand([2, 1, 16, 16], (Kind::Float, Device::Cpu));
    let before = model.forward_t(&xs, false);
    model.set_compute(fp_model::Precision::Bf16.resolve(Device::Cpu));
    let enc2 = vars.variables()["enc2.weight"].shallow_clone();
    assert_eq!(enc2.size(), [8, 4, 3, 3]);
    assert_eq!(enc2.stride(), [36, 1, 12, 4], "weights moved to channels-last in place");
    assert_eq!(vars.variables()["enc1.weight"].stride(), [9, 1, 3, 1], "canonical even with one input channel");
    let bf16 = model.forward_t(&xs, false);
    assert_eq!(bf16.kind(), Kind::Float);
    let diff = (&bf16 - &before).abs().max().double_value(&[]);
    assert!(diff > 0.0 && diff < 0.02, "bf16 output close to f32: {diff}");

    fp_model::save(dir.path(), &vars, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    let loaded = fp_model::load(dir.path(), Device::Cpu).unwrap();
    let again = loaded.model.forward_t(&xs, false);
    assert!(again.equal(&before), "the saved weights are the f32 values");
}
