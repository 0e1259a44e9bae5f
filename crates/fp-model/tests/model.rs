//! The models: shapes, parameters, initialisation, any-size inputs, save and load.

use fp_model::{
    Autoencoder, InputSize, ModelConfig, ModelError, Norm, Summary, TutorialCaeConfig, UnetConfig, Upsampling,
};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor, nn};

fn tiny() -> ModelConfig {
    ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![4, 8, 8], kernel_size: 3 })
}

fn unet(depth: u32, norm: Norm, upsampling: Upsampling) -> ModelConfig {
    ModelConfig::Unet(UnetConfig { depth, base_width: 4, norm, upsampling, ..UnetConfig::default() })
}

/// A U-Net with dilated context blocks and a residual output.
fn restoring_unet(depth: u32) -> ModelConfig {
    ModelConfig::Unet(UnetConfig { depth, base_width: 4, context: 2, residual: true, ..UnetConfig::default() })
}

/// Every U-Net variant: 3 upsamplings x 3 normalisations, and the restoring one.
fn unets(depth: u32) -> Vec<ModelConfig> {
    let mut configs = vec![restoring_unet(depth)];
    for upsampling in [Upsampling::NearestConv, Upsampling::Transposed, Upsampling::SubPixel] {
        for norm in [Norm::None, Norm::Batch, Norm::Group] {
            configs.push(unet(depth, norm, upsampling));
        }
    }
    configs
}

/// Whether every value of `t` lies strictly between 0 and 1.
fn in_open_unit_interval(t: &Tensor) -> bool {
    t.min().double_value(&[]) > 0.0 && t.max().double_value(&[]) < 1.0
}

/// `x` padded at the bottom and right to `h x w` by repeating its last row and
/// column, built from indices rather than LibTorch's padding.
fn replicate_padded(x: &Tensor, h: i64, w: i64) -> Tensor {
    let size = x.size();
    let rows: Vec<i64> = (0..h).map(|i| i.min(size[2] - 1)).collect();
    let cols: Vec<i64> = (0..w).map(|j| j.min(size[3] - 1)).collect();
    x.index_select(2, &Tensor::from_slice(&rows)).index_select(3, &Tensor::from_slice(&cols))
}

#[test]
fn default_model_has_314625_parameters_and_keeps_the_shape() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &ModelConfig::default(), 7).unwrap();
    let params: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    assert_eq!(params, 314_625);
    assert_eq!(model.stride(), 4);
    assert_eq!(model.config().kind_name(), "tutorial-cae");
    let x = Tensor::rand([2, 1, 224, 224], (Kind::Float, Device::Cpu));
    let y = model.forward_t(&x, false);
    assert_eq!(y.size(), [2, 1, 224, 224]);
    assert_eq!(y.kind(), Kind::Float);
    assert!(in_open_unit_interval(&y), "sigmoid output in (0, 1)");
}

/// The tutorial network is the same, value for value, as before there were
/// model kinds. The numbers were recorded from the previous implementation
/// (commit 7095a9b, `Autoencoder::new(&vs.root(), &AutoencoderConfig::default(), 7)`)
/// with a throwaway test printing them with `{:.17e}` (written here in their
/// shortest decimal form):
///
/// ```text
/// let x = Tensor::arange(2 * 32 * 32, (Kind::Float, Device::Cpu)).view([2, 1, 32, 32]) / 2048.0;
/// let y = model.forward_t(&x, false);
/// println!("{:.17e}", y.sum(Kind::Double).double_value(&[]));
/// println!("{:.17e}", (&y - 0.5).sum(Kind::Double).double_value(&[]));
/// ... y.double_value(&[0, 0, 5, 7]), vars["enc1.weight"].sum(Kind::Double), ...
/// model.set_compute(Precision::Bf16.resolve(Device::Cpu)); // and the same again
/// ```
#[test]
fn the_tutorial_network_is_the_same_as_before_model_kinds() {
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{what}: {got:.17e}, recorded {want:.17e}");
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let mut model = Autoencoder::new(&vs.root(), &ModelConfig::default(), 7).unwrap();
    let vars = vs.variables();
    let sum = |t: &Tensor| t.sum(Kind::Double).double_value(&[]);
    for (name, total, first, last) in [
        ("enc1.weight", -2.038520723581314, -0.10233540087938309, -0.04558178782463074),
        ("enc3.weight", -0.4069961868226528, 0.010065164417028427, 0.054095786064863205),
        ("dec3.weight", -1.0568037554621696, 0.023054756224155426, 0.06411443650722504),
    ] {
        let w = &vars[name];
        close(sum(w), total, name);
        close(w.double_value(&[0, 0, 0, 0]), first, name);
        close(w.flatten(0, -1).double_value(&[-1]), last, name);
    }

    let x = Tensor::arange(2 * 32 * 32, (Kind::Float, Device::Cpu)).view([2, 1, 32, 32]) / 2048.0;
    let y = model.forward_t(&x, false);
    close(sum(&y), 1022.8036135435104, "sum");
    // The outputs are all near 0.5, so their sum barely moves; the sum of their
    // distances from 0.5 does. Allow for a different CPU's rounding.
    let centered = sum(&(&y - 0.5));
    assert!((centered - -1.196386456489563).abs() < 1e-5, "{centered:.17e}");
    let spread = sum(&(&y - 0.5).abs());
    assert!((spread - 2.603148102760315).abs() < 1e-5, "{spread:.17e}");
    for (idx, want) in [
        ([0, 0, 0, 0], 0.5002354383468628),
        ([0, 0, 5, 7], 0.4994027614593506),
        ([1, 0, 31, 31], 0.5005240440368652),
        ([1, 0, 16, 3], 0.5020014643669128),
    ] {
        close(y.double_value(&idx), want, &format!("y{idx:?}"));
    }

    // bf16 mixed precision, channels-last. bf16 has 8 significant bits, so a
    // CPU with other bf16 kernels may round a few outputs one step (2^-8) apart.
    // Recorded with every upsampling convolution computed plainly, as the
    // network computed before the low-resolution (sub-pixel) computation.
    model.set_compute(fp_model::Precision::Bf16.resolve(Device::Cpu));
    model.set_exact_subpixel(false);
    let yb = model.forward_t(&x, false);
    assert_eq!(yb.kind(), Kind::Float);
    let (centered, spread) = (sum(&(&yb - 0.5)), sum(&(&yb - 0.5).abs()));
    assert!((centered - -1.337890625).abs() < 0.02, "bf16: {centered:.17e}");
    assert!((spread - 2.134765625).abs() < 0.02, "bf16: {spread:.17e}");
    // The sub-pixel computation rounds the folded kernels to bf16 once, so it
    // differs from the plain bf16 one by bf16's rounding; both stay as close
    // to f32.
    model.set_exact_subpixel(true);
    let ys = model.forward_t(&x, false);
    let max_diff = |a: &Tensor| (a - &y).abs().max().double_value(&[]);
    eprintln!("bf16 against f32: plain {:.3e}, sub-pixel {:.3e}", max_diff(&yb), max_diff(&ys));
    assert!(max_diff(&ys) <= 2.0 * max_diff(&yb).max(1.0 / 256.0), "{} vs {}", max_diff(&ys), max_diff(&yb));
}

#[test]
fn weights_are_glorot_uniform_and_biases_zero() {
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &ModelConfig::default(), 7).unwrap();
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
fn input_not_divisible_by_the_stride_is_a_clear_error() {
    let err = ModelConfig::default().validate_input(InputSize { height: 222, width: 224 }).unwrap_err();
    assert_eq!(err.to_string(), "input size 222x224 must be divisible by 4 (2 pooling layers halve it)");
    let empty = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![], kernel_size: 3 });
    assert_eq!(empty.validate().unwrap_err().to_string(), "model.filters: expected 1 to 6 layer widths, got 0");
    let even = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![8], kernel_size: 4 });
    let err = even.validate().unwrap_err();
    assert!(err.to_string().starts_with("model.kernel_size: expected an odd size"), "{err}");
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(Autoencoder::new(&vs.root(), &even, 1).is_err(), "an invalid config builds no model");
    let err =
        unet(3, Norm::Group, Upsampling::NearestConv).validate_input(InputSize { height: 36, width: 48 }).unwrap_err();
    assert_eq!(err.to_string(), "input size 36x48 must be divisible by 8 (3 pooling layers halve it)");
}

#[test]
fn every_unet_keeps_the_shape_and_its_summary_counts_its_variables() {
    let input = InputSize { height: 32, width: 48 };
    let x = Tensor::rand([2, 1, 32, 48], (Kind::Float, Device::Cpu));
    for config in unets(2).into_iter().chain([ModelConfig::default(), tiny()]) {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Autoencoder::new(&vs.root(), &config, 11).unwrap();
        let numel = |vars: Vec<Tensor>| vars.iter().map(|t| t.numel() as i64).sum::<i64>();
        let trainable = numel(vs.trainable_variables());
        let all = numel(vs.variables().into_values().collect());
        let summary = Summary::new(&config, input).unwrap();
        assert_eq!(summary.trainable_params(), trainable, "{config:?}");
        assert_eq!(summary.total_params(), all, "{config:?}");
        // One variable set per layer row with parameters, under the row's name.
        let names = vs.variables().into_keys().map(|n| n.split('.').next().unwrap().to_owned());
        let layers: std::collections::BTreeSet<String> = names.collect();
        let with_params: std::collections::BTreeSet<String> = summary
            .rows
            .iter()
            .filter(|r| r.params > 0)
            .map(|r| r.layer.split(' ').next().unwrap().to_owned())
            .collect();
        assert_eq!(layers, with_params, "{config:?}");
        for train in [false, true] {
            let y = model.forward_t(&x, train);
            assert_eq!(y.size(), [2, 1, 32, 48], "{config:?}");
            assert_eq!(y.kind(), Kind::Float);
            assert!(in_open_unit_interval(&y), "{config:?}");
        }
    }
}

#[test]
fn unet_layers_have_explicit_names() {
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &unet(2, Norm::Batch, Upsampling::Transposed), 1).unwrap();
    let vars = vs.variables();
    assert!(vars.keys().all(|n| !n.contains("__")), "no automatic suffixes: {:?}", vars.keys());
    for name in [
        "down1_conv1.weight",
        "down1_norm1.running_mean",
        "down2_norm2.running_var",
        "bottom_conv2.weight",
        "up2.weight",
        "up2.bias",
        "up1_conv1.weight",
        "up1_norm2.bias",
        "out.weight",
        "out.bias",
    ] {
        assert!(vars.contains_key(name), "{name} in {:?}", vars.keys());
    }
    assert!(!vars.contains_key("down1_conv1.bias"), "no bias before a normalisation");
    assert_eq!(vars["up2.weight"].size(), [16, 8, 2, 2], "transposed: [in, out, 2, 2]");
    assert_eq!(vars["down1_norm1.weight"].double_value(&[0]), 1.0);
}

#[test]
fn every_trainable_variable_gets_a_gradient() {
    for config in unets(2).into_iter().chain([tiny()]) {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Autoencoder::new(&vs.root(), &config, 3).unwrap();
        let x = Tensor::rand([2, 1, 16, 8], (Kind::Float, Device::Cpu));
        model.forward_t(&x, true).mse_loss(&x, tch::Reduction::Mean).backward();
        for (name, var) in vs.variables() {
            let grad = var.grad();
            if var.requires_grad() {
                assert!(grad.defined() && grad.abs().sum(Kind::Double).double_value(&[]) > 0.0, "{name} in {config:?}");
            } else {
                assert!(!grad.defined(), "{name} is not trained");
            }
        }
    }
}

#[test]
fn a_residual_unet_with_a_zero_correction_returns_its_input() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &restoring_unet(2), 5).unwrap();
    let x = Tensor::rand([2, 1, 16, 12], (Kind::Float, Device::Cpu));
    let moved = (model.forward_t(&x, false) - &x).abs().max().double_value(&[]);
    assert!(moved > 1e-3, "a random correction should move the image, moved {moved}");
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            if name.starts_with("out.") {
                let _ = var.zero_();
            }
        }
    });
    let y = model.forward_t(&x, false);
    let expected = x.clamp(1e-3, 1.0 - 1e-3);
    let diff = (&y - &expected).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "zero correction changed the image by {diff}");
}

#[test]
fn batch_norm_updates_its_running_statistics_only_in_training() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &unet(1, Norm::Batch, Upsampling::NearestConv), 3).unwrap();
    let mean = vs.variables()["bottom_norm1.running_mean"].shallow_clone();
    let x = Tensor::rand([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    let _ = tch::no_grad(|| model.forward_t(&x, false));
    assert_eq!(mean.abs().sum(Kind::Double).double_value(&[]), 0.0);
    let before_training = model.forward_t(&x, false);
    let _ = tch::no_grad(|| model.forward_t(&x, true));
    assert!(mean.abs().sum(Kind::Double).double_value(&[]) > 0.0);
    assert!(!model.forward_t(&x, false).equal(&before_training), "evaluation uses the running statistics");
}

#[test]
fn forward_any_size_returns_the_input_size() {
    for config in [
        ModelConfig::default(),
        unet(2, Norm::Group, Upsampling::SubPixel),
        unet(3, Norm::Batch, Upsampling::Transposed),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Autoencoder::new(&vs.root(), &config, 5).unwrap();
        let s = model.stride();
        for (h, w) in [(37, 51), (5, 3), (1, 1), (16, 24)] {
            let x = Tensor::rand([2, 1, h, w], (Kind::Float, Device::Cpu));
            let y = model.forward_any_size(&x, false);
            assert_eq!(y.size(), [2, 1, h, w], "{config:?}");
            assert!(in_open_unit_interval(&y));
            // The same as padding by hand at the bottom and right and cropping.
            let (ph, pw) = ((h + s - 1) / s * s, (w + s - 1) / s * s);
            let by_hand = model.forward_t(&replicate_padded(&x, ph, pw), false).narrow(2, 0, h).narrow(3, 0, w);
            assert!(y.equal(&by_hand), "{config:?} at {h}x{w}");
            // Another batch size may take other kernels; group normalisation
            // magnifies their last-bit differences a little (about 1e-6 here).
            let batched = model.reconstruct_any_size(&x, 1);
            let diff = (&batched - &y).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{config:?} at {h}x{w}: {diff}");
        }
    }
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
    let text = std::fs::read_to_string(dir.path().join("model.toml")).unwrap();
    assert!(text.contains("[model]\nkind = \"tutorial-cae\"\n"), "{text}");
}

#[test]
fn a_unet_saves_and_loads_with_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let config = unet(2, Norm::Batch, Upsampling::SubPixel);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &config, 9).unwrap();
    let x = Tensor::rand([3, 1, 16, 12], (Kind::Float, Device::Cpu));
    // Move the running statistics away from their initial values, so that
    // only a model that loads them gives the same outputs.
    let _ = tch::no_grad(|| model.forward_t(&x, true));
    let input = InputSize { height: 16, width: 12 };
    fp_model::save(dir.path(), &vs, &config, input).unwrap();
    let text = std::fs::read_to_string(dir.path().join("model.toml")).unwrap();
    assert!(text.contains("kind = \"unet\"") && text.contains("upsampling = \"sub-pixel\""), "{text}");
    let loaded = fp_model::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.model.config(), &config);
    assert_eq!(loaded.input, input);
    assert!(model.forward_t(&x, false).equal(&loaded.model.forward_t(&x, false)));
    let fresh = nn::VarStore::new(Device::Cpu);
    let unloaded = Autoencoder::new(&fresh.root(), &config, 9).unwrap();
    assert!(!unloaded.forward_t(&x, false).equal(&model.forward_t(&x, false)), "the statistics were saved");
}

#[test]
fn an_old_model_toml_without_kind_loads_as_the_tutorial_network() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    fp_model::save(dir.path(), &vs, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    // What `fpae` wrote before there were model kinds.
    let old = "[input]\nheight = 16\nwidth = 16\n\n[model]\nfilters = [4, 8, 8]\nkernel_size = 3\n";
    std::fs::write(dir.path().join("model.toml"), old).unwrap();
    let loaded = fp_model::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.model.config(), &tiny());
    let x = Tensor::rand([1, 1, 16, 16], (Kind::Float, Device::Cpu));
    assert!(model.forward_t(&x, false).equal(&loaded.model.forward_t(&x, false)));
    // A kind that does not exist is a clear error naming the file.
    std::fs::write(dir.path().join("model.toml"), old.replace("[model]\n", "[model]\nkind = \"resnet\"\n")).unwrap();
    let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err();
    let ModelError::ConfigFile { path, source } = &err else { panic!("{err:?}") };
    assert_eq!(path, &dir.path().join("model.toml"));
    assert!(source.message().contains("model.kind: unknown model kind `resnet`"), "{source}");
}

#[test]
fn loading_weights_of_another_shape_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    fp_model::save(dir.path(), &vs, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    // Describe a wider middle layer than the weights have.
    let text = std::fs::read_to_string(dir.path().join("model.toml")).unwrap();
    assert!(text.contains("filters = [4, 8, 8]"), "{text}");
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
    // Another kind altogether, no larger than the weights file (a larger one is
    // refused before it is built: see the next test).
    let other = "[input]\nheight = 16\nwidth = 16\n\n[model]\nkind = \"unet\"\ndepth = 1\nbase_width = 2\n";
    std::fs::write(dir.path().join("model.toml"), other).unwrap();
    let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("unexpected tensor \"dec1.bias\""), "{err}");
}

#[test]
fn a_config_describing_a_far_larger_network_than_the_weights_is_refused_before_building_it() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    fp_model::save(dir.path(), &vs, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    // A U-Net of depth 6 and base width 512 has billions of parameters (tens of
    // GB in f32): building it first would exhaust the memory of most machines.
    let huge = "[input]\nheight = 64\nwidth = 64\n\n[model]\nkind = \"unet\"\ndepth = 6\nbase_width = 512\n";
    std::fs::write(dir.path().join("model.toml"), huge).unwrap();
    let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err();
    let ModelError::WeightsTooSmall { parameters, bytes, .. } = err else { panic!("{err:?}") };
    let summary = Summary::new(
        &ModelConfig::Unet(UnetConfig { depth: 6, base_width: 512, ..UnetConfig::default() }),
        InputSize { height: 64, width: 64 },
    )
    .unwrap();
    assert_eq!(parameters, summary.total_params() as u64);
    assert!(parameters > 7_000_000_000, "{parameters}");
    let weights = dir.path().join("model.safetensors");
    assert_eq!(bytes, std::fs::metadata(&weights).unwrap().len());
    assert_eq!(
        err.to_string(),
        format!(
            "{}: {bytes} bytes cannot hold the {parameters} parameters that model.toml describes (the file does not \
             match the model config)",
            weights.display()
        )
    );
}

#[test]
fn upsampling_convolutions_from_the_low_resolution_input_match_the_plain_computation() {
    let tutorial = ModelConfig::TutorialCae(TutorialCaeConfig { filters: vec![4, 8, 8], kernel_size: 3 });
    let cases = [
        (tutorial, vec!["dec2", "dec3"]),
        (unet(2, Norm::Group, Upsampling::NearestConv), vec!["up2", "up1"]),
        (unet(2, Norm::Batch, Upsampling::Transposed), vec![]),
    ];
    for (config, expected_layers) in cases {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = Autoencoder::new(&vs.root(), &config, 7).unwrap();
        assert_eq!(model.subpixel_layers(), expected_layers, "{config:?}");
        let x = Tensor::rand([2, 1, 16, 12], (Kind::Float, Device::Cpu));
        let run = |model: &Autoencoder| {
            for v in vs.variables().values() {
                let mut grad = v.grad();
                if grad.defined() {
                    let _ = grad.zero_();
                }
            }
            let y = model.forward_t(&x, true);
            (&y * &y).sum(Kind::Float).backward();
            let mut grads: Vec<(String, Tensor)> =
                vs.trainable_variables().iter().zip(0..).map(|(v, i)| (i.to_string(), v.grad().copy())).collect();
            grads.sort_by(|a, b| a.0.cmp(&b.0));
            (y, grads)
        };
        let (fast, fast_grads) = run(&model);
        model.set_exact_subpixel(false);
        assert!(model.subpixel_layers().is_empty());
        let (plain, plain_grads) = run(&model);
        let diff = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]);
        assert!(diff(&fast, &plain) < 1e-5, "{config:?}: output differs by {}", diff(&fast, &plain));
        for ((name, a), (_, b)) in fast_grads.iter().zip(&plain_grads) {
            let scale = b.abs().max().double_value(&[]).max(1e-3);
            assert!(diff(a, b) / scale < 1e-4, "{config:?}: gradient of {name} differs by {}", diff(a, b));
        }
    }
}

#[test]
fn a_damaged_weights_file_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    Autoencoder::new(&vs.root(), &tiny(), 7).unwrap();
    fp_model::save(dir.path(), &vs, &tiny(), InputSize { height: 16, width: 16 }).unwrap();
    let weights = dir.path().join("model.safetensors");
    let good = std::fs::read(&weights).unwrap();
    assert!(fp_model::load(dir.path(), Device::Cpu).is_ok());
    let header = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut bad_json = good.clone();
    bad_json[8] = b'#';
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty", Vec::new(), "0 bytes, shorter than the 8-byte header length"),
        ("header cut", good[..8 + header / 2].to_vec(), "only"),
        ("data cut", good[..good.len() - 10].to_vec(), "but only"),
        ("garbage header", bad_json, "the header is not valid JSON"),
    ];
    for (what, bytes, expected) in cases {
        std::fs::write(&weights, bytes).unwrap();
        let err = fp_model::load(dir.path(), Device::Cpu).unwrap_err();
        assert!(matches!(err, ModelError::CorruptWeights { .. }), "{what}: {err:?}");
        let text = err.to_string();
        assert!(text.starts_with(&format!("{}: not a valid safetensors file (", weights.display())), "{what}: {text}");
        assert!(text.contains(expected), "{what}: {text}");
    }
}

#[test]
fn the_seed_alone_decides_the_initial_weights() {
    for config in [tiny(), unet(2, Norm::Group, Upsampling::Transposed)] {
        let build = |seed| {
            let vs = nn::VarStore::new(Device::Cpu);
            Autoencoder::new(&vs.root(), &config, seed).unwrap();
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
}

#[test]
fn batched_reconstruction_equals_one_pass() {
    for config in [tiny(), unet(2, Norm::Batch, Upsampling::NearestConv)] {
        let vars = nn::VarStore::new(Device::Cpu);
        let model = Autoencoder::new(&vars.root(), &config, 3).unwrap();
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

#[test]
fn unets_compute_in_bf16_close_to_f32() {
    for config in unets(2) {
        let vars = nn::VarStore::new(Device::Cpu);
        let mut model = Autoencoder::new(&vars.root(), &config, 5).unwrap();
        let xs = Tensor::rand([2, 1, 16, 16], (Kind::Float, Device::Cpu));
        let before = model.forward_t(&xs, false);
        model.set_compute(fp_model::Precision::Bf16.resolve(Device::Cpu));
        if let Some(up) = vars.variables().get("up2.weight").filter(|w| w.size() == [16, 8, 2, 2]) {
            assert_eq!(up.stride(), [32, 1, 16, 8], "transposed kernels channels-last too");
        }
        for train in [false, true] {
            let bf16 = model.forward_t(&xs, train);
            assert_eq!(bf16.kind(), Kind::Float);
            assert_eq!(bf16.size(), [2, 1, 16, 16]);
            if !train {
                let diff = (&bf16 - &before).abs().max().double_value(&[]);
                assert!(diff > 0.0 && diff < 0.05, "{config:?}: bf16 output close to f32: {diff}");
            }
        }
        model.set_compute(fp_model::Compute::F32);
        assert!(vars.variables().values().all(|v| v.is_contiguous()), "back to NCHW");
        // Same values; LibTorch may pick another kernel for relaid weights, so allow an ulp or two.
        let f32_again = model.forward_t(&xs, false);
        if !matches!(config, ModelConfig::Unet(UnetConfig { norm: Norm::Batch, .. })) {
            let diff = (&f32_again - &before).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{config:?}: {diff}");
        }
    }
}
