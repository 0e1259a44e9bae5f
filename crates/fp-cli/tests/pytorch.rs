//! fpae's models in plain PyTorch (the `fpae_torch` package in `python/`) against fpae
//! itself. For every model kind and every option of it, a tiny model is trained
//! and exported with `fpae`, and both sides apply it to the same prints: the
//! Python module, run in the Python of the LibTorch venv, and fpae (its library
//! for the float32 outputs, `fpae restore` for the 8-bit images). The float32
//! outputs must agree to 1e-4 and the images to one grey level. Between them
//! the cases use every resize mode and filter, every scaling, every U-Net
//! normalisation and upsampling, and every ready-made model in `models/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{fpae, text};
use fp_model::Placement;
use fp_train::TrainedModel;
use image::GrayImage;

/// The largest difference allowed between the two sides' float32 outputs.
const TOLERANCE: f32 = 1e-4;

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

/// Runs `python -m fpae_torch` with `args` in `cwd`, in the Python of the
/// LibTorch venv with the repository's `python/` on its path.
fn fpae_torch(args: &[&str], cwd: &Path) -> Output {
    let mut cmd = fp_model::python::module_command("fpae_torch").unwrap_or_else(|e| panic!("{e}"));
    cmd.args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}; `cargo xtask setup` installs it"))
}

/// A print of `width x height` with ridges drawn from `seed`, written as a PNG.
fn write_print(path: &Path, width: u32, height: u32, seed: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let pixels = fp_metrics::synthetic::ridge_pattern(width as usize, height as usize, seed, (0.5, 1.5));
    GrayImage::from_raw(width, height, pixels).unwrap().save(path).unwrap();
}

/// Prints of sizes that are neither the models' nor multiples of their strides,
/// with aspect ratios on both sides of theirs, for the models to be applied to.
fn prints(dir: &Path) -> Vec<PathBuf> {
    [(50, 38, 71), (29, 45, 72), (64, 64, 73)]
        .into_iter()
        .map(|(w, h, seed)| {
            let path = dir.join(format!("prints/p{seed}.png"));
            write_print(&path, w, h, seed);
            path
        })
        .collect()
}

/// Trains a tiny model of `sections` (TOML with `[data]` settings and a
/// `[model]` table) for two epochs on synthetic prints in `dir` and exports it
/// as `dir/model`. The learning rate is high so that biases, normalisation
/// scales and running statistics move well away from their initial values.
fn train_and_export(dir: &Path, sections: &str) -> PathBuf {
    for db in 1..=2u32 {
        for finger in 1..=3u32 {
            for imp in 1..=2u32 {
                let path = dir.join(format!("data/DB{db}_B/10{finger}_{imp}.png"));
                write_print(&path, 36 + 7 * finger + db, 40 + 5 * imp, u64::from(db * 100 + finger * 10 + imp));
            }
        }
    }
    let config = format!(
        "{sections}\n\n[train]\nepochs = 2\nbatch_size = 4\nlearning_rate = 0.01\ndevice = \"cpu\"\nprecision = \"f32\"\n"
    );
    let config = config.replacen("[data]\n", "[data]\nroot = \"data\"\ncrop = 32\ncrops_per_image = 2\n", 1);
    std::fs::write(dir.join("tiny.toml"), config).unwrap();
    let out = fpae(&["--threads", "1", "train", "tiny.toml", "--run-dir", "runs/tiny"], dir);
    assert!(out.status.success(), "training failed: {}", text(&out.stderr));
    let out = fpae(&["export", "runs/tiny", "--out", "model"], dir);
    assert!(out.status.success(), "export failed: {}", text(&out.stderr));
    dir.join("model")
}

/// A float32 array of a `.npy` file, with its shape.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "{}: not a version 1 .npy file", path.display());
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "{header}");
    let dims = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).expect("a shape");
    let shape: Vec<usize> =
        dims.split(',').filter(|d| !d.trim().is_empty()).map(|d| d.trim().parse().unwrap()).collect();
    let values: Vec<f32> =
        bytes[10 + len..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{}", path.display());
    (shape, values)
}

/// fpae's float32 outputs for `prints`, each with its `(width, height)`, computed
/// as `fpae restore` computes them: decoded, preprocessed and scaled by fp-data,
/// then `forward_any_size` in f32 on the CPU.
fn fpae_outputs(model_dir: &Path, prints: &[PathBuf]) -> Vec<((usize, usize), Vec<f32>)> {
    let model = TrainedModel::load(model_dir, fp_train::Checkpoint::Best, Placement::CPU_F32).expect("the model loads");
    let preprocess = model.config.data.preprocess();
    prints
        .iter()
        .map(|path| {
            let (pixels, original) = fp_data::load_one(path, &preprocess).unwrap();
            let (w, h) = preprocess.output_size(original);
            let (w, h) = (w as usize, h as usize);
            let mut values = vec![0f32; pixels.len()];
            model.scaling.apply(&pixels, &mut values);
            ((w, h), model.apply(&values, w, h, 1))
        })
        .collect()
}

/// Applies the model in `model_dir` to `prints` on both sides and checks that
/// they agree; returns the largest float32 difference.
fn compare(name: &str, dir: &Path, model_dir: &Path, prints: &[PathBuf]) -> f32 {
    let model = model_dir.to_str().unwrap();
    let mut args = vec![model];
    args.extend(prints.iter().map(|p| p.to_str().unwrap()));
    let out = fpae_torch(&[&args[..], &["--out", "py", "--npy", "--threads", "1"]].concat(), dir);
    assert!(out.status.success(), "{name}: python -m fpae_torch failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let out = fpae(&[&["--threads", "1", "restore"], &args[..], &["--out", "rs", "--precision", "f32"]].concat(), dir);
    assert!(out.status.success(), "{name}: fpae restore failed: {}", text(&out.stderr));

    let mut worst = 0f32;
    for (path, ((w, h), expected)) in prints.iter().zip(fpae_outputs(model_dir, prints)) {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let (shape, got) = read_npy(&dir.join(format!("py/{stem}.npy")));
        assert_eq!(shape, [h, w], "{name} {stem}: PyTorch's output has another size than fpae's");
        let (low, high) = expected.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(high - low > 1e-3, "{name} {stem}: fpae's output is flat ({low}..{high}), so agreeing proves little");
        let diff = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(
            diff.is_finite() && diff <= TOLERANCE,
            "{name} {stem}: max |PyTorch - fpae| = {diff:e} > {TOLERANCE:e}"
        );
        worst = worst.max(diff);

        // The images both write: at the print's own size, after the same rounding.
        let ours = image::open(dir.join(format!("rs/{stem}.png"))).unwrap().into_luma8();
        let theirs = image::open(dir.join(format!("py/{stem}.png"))).unwrap().into_luma8();
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{name} {stem}: output sizes differ");
        let original = image::open(path).unwrap().into_luma8();
        assert_eq!(ours.dimensions(), original.dimensions(), "{name} {stem}: not at the print's size");
        // Outputs a rounding away from a grey level's boundary may round apart.
        let levels = ours.iter().zip(theirs.iter()).map(|(&a, &b)| a.abs_diff(b)).max().unwrap_or(0);
        let differing = ours.iter().zip(theirs.iter()).filter(|(a, b)| a != b).count();
        assert!(
            levels <= 1 && differing * 1000 <= ours.len(),
            "{name} {stem}: fpae restore and PyTorch's images differ in {differing} of {} pixels, by up to {levels}",
            ours.len()
        );
    }
    println!("{name}: max |PyTorch - fpae| = {worst:e} over {} prints", prints.len());
    worst
}

/// Trains and exports `sections` in a fresh folder and compares both sides on [`prints`].
fn check(name: &str, sections: &str) {
    let dir = tempfile::tempdir().unwrap();
    let model = train_and_export(dir.path(), sections);
    let prints = prints(dir.path());
    compare(name, dir.path(), &model, &prints);
}

#[test]
fn tutorial_cae_without_kind_stretched_bilinear() {
    check(
        "tutorial-cae, stretch, bilinear, dataset-max",
        "[data]\nheight = 24\nwidth = 20\nresize = \"stretch\"\nfilter = \"bilinear\"\n\n[model]\nfilters = [4, 8, 8]\n",
    );
}

#[test]
fn tutorial_cae_cropped_nearest_per_image_minmax() {
    check(
        "tutorial-cae, kernel 5, crop, nearest, per-image-minmax",
        "[data]\nheight = 16\nwidth = 28\nresize = \"crop\"\nfilter = \"nearest\"\nscale = \"per-image-minmax\"\n\n\
         [model]\nkind = \"tutorial-cae\"\nfilters = [6, 12]\nkernel_size = 5\n",
    );
}

#[test]
fn unet_group_norm_nearest_conv_at_native_size() {
    check(
        "unet, group norm, nearest-conv, native size, 255",
        "[data]\nresize = \"none\"\nscale = \"255\"\n\n\
         [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 6\nnorm = \"group\"\nupsampling = \"nearest-conv\"\n",
    );
}

#[test]
fn unet_batch_norm_transposed_padded_lanczos3() {
    check(
        "unet, batch norm, transposed, pad, lanczos3",
        "[data]\nheight = 32\nwidth = 24\nresize = \"pad\"\nfilter = \"lanczos3\"\n\n\
         [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\nnorm = \"batch\"\nupsampling = \"transposed\"\n",
    );
}

#[test]
fn unet_without_norm_sub_pixel_stretched_bicubic() {
    check(
        "unet, no norm, sub-pixel, kernel 5, stretch, bicubic",
        "[data]\nheight = 24\nwidth = 40\nresize = \"stretch\"\nfilter = \"bicubic\"\n\n\
         [model]\nkind = \"unet\"\ndepth = 3\nbase_width = 3\nnorm = \"none\"\nupsampling = \"sub-pixel\"\nkernel_size = 5\n",
    );
}

#[test]
fn unet_with_dilated_context_and_residual_output_at_native_size() {
    check(
        "unet, group norm, 2 dilated blocks, residual, native size",
        "[data]\nresize = \"none\"\n\n\
         [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\nnorm = \"group\"\ncontext = 2\nresidual = true\n",
    );
}

/// Every ready-made model in `models/` (the restoration U-Net among them), on two prints.
#[test]
fn every_ready_made_model() {
    let dir = tempfile::tempdir().unwrap();
    let prints: Vec<PathBuf> = [(96, 112, 81), (75, 90, 82)]
        .into_iter()
        .map(|(w, h, seed)| {
            let path = dir.path().join(format!("prints/r{seed}.png"));
            write_print(&path, w, h, seed);
            path
        })
        .collect();
    let mut models: Vec<PathBuf> = std::fs::read_dir(repo().join("models"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("model.safetensors").is_file())
        .collect();
    models.sort();
    assert!(models.iter().any(|m| m.ends_with("restore-fvc2002")), "{models:?}");
    for model in models {
        let name = model.file_name().unwrap().to_str().unwrap().to_owned();
        let work = dir.path().join(&name);
        std::fs::create_dir_all(&work).unwrap();
        compare(&format!("models/{name}"), &work, &model, &prints);
    }
}

#[test]
fn weights_are_loaded_strictly_by_name_and_shape() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_and_export(
        dir.path(),
        "[data]\nresize = \"none\"\n\n[model]\nkind = \"unet\"\ndepth = 1\nbase_width = 4\nnorm = \"group\"\n",
    );
    let toml = std::fs::read_to_string(model.join("model.toml")).unwrap();
    let print = prints(dir.path()).remove(0);
    let print = print.to_str().unwrap();
    let tampered = [
        (
            "wider",
            toml.replace("base_width = 4", "base_width = 8"),
            "tensor bottom_conv1.weight has shape [8, 4, 3, 3], the model expects [16, 8, 3, 3]",
        ),
        ("without norms", toml.replace("norm = \"group\"", "norm = \"none\""), "unexpected tensor bottom_norm1.bias"),
        (
            "batch norm",
            toml.replace("norm = \"group\"", "norm = \"batch\""),
            "missing tensor bottom_norm1.running_mean",
        ),
        ("unknown kind", toml.replace("kind = \"unet\"", "kind = \"resnet\""), "unknown model kind `resnet`"),
    ];
    for (what, text_of_toml, expected) in tampered {
        let copy = dir.path().join(what);
        std::fs::create_dir_all(&copy).unwrap();
        for file in ["config.toml", "model.safetensors", "state.json"] {
            std::fs::copy(model.join(file), copy.join(file)).unwrap();
        }
        std::fs::write(copy.join("model.toml"), text_of_toml).unwrap();
        let out = fpae_torch(&[copy.to_str().unwrap(), print, "--out", "never"], dir.path());
        assert!(!out.status.success(), "{what}: loaded");
        assert!(text(&out.stderr).contains(expected), "{what}: {}", text(&out.stderr));
    }
    assert!(!dir.path().join("never").exists());
}

/// Writes 12 pairs of 32x32 synthetic prints (ridges, and a noisy copy as the
/// input) as shards of 5 samples in `dir/shards`, with `fpae_torch.shards`.
fn write_pair_shards(dir: &Path) -> PathBuf {
    let script = r#"
import math, sys, torch
from fpae_torch.shards import write_shards
pairs = []
for i in range(12):
    g = torch.Generator().manual_seed(i)
    a, f, p = torch.rand(3, generator=g).tolist()
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    clean = ((0.5 + 0.4 * torch.sin((x * math.cos(3 * a) + y * math.sin(3 * a)) * (0.5 + f) + 6 * p)) * 255).round()
    noisy = clean + torch.randint(-40, 41, clean.shape, generator=g)
    pairs.append((noisy.clamp(0, 255).to(torch.uint8), clean.to(torch.uint8)))
write_shards(sys.argv[1], pairs, shard_size=5)
"#;
    let shards = dir.join("shards");
    let mut cmd = fp_model::python::libtorch_python().map(Command::new).unwrap_or_else(|e| panic!("{e}"));
    let module = fp_model::python::module_command("fpae_torch").unwrap();
    let pythonpath = module.get_envs().find(|(k, _)| *k == "PYTHONPATH").and_then(|(_, v)| v).unwrap().to_owned();
    let out = cmd.arg("-c").arg(script).arg(&shards).env("PYTHONPATH", pythonpath).output().unwrap();
    assert!(out.status.success(), "writing shards failed: {}", text(&out.stderr));
    for name in ["000000.tar", "000001.tar", "000002.tar", "manifest.json"] {
        assert!(shards.join(name).is_file(), "{name} not written");
    }
    shards
}

/// The config of the trainer's tests: a tiny U-Net with a dilated block and a
/// residual output, group norm (per sample, so the split of the batch over
/// processes does not change it), Adam, the orientation loss.
const TRAIN_CONFIG: &str = "[data]\nresize = \"none\"\ncrop = 32\nscale = \"255\"\n\n\
    [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\nnorm = \"group\"\ncontext = 1\nresidual = true\n\n\
    [train]\nbatch_size = 4\noptimizer = \"adam\"\nlearning_rate = 0.01\nseed = 7\nloss = \"ssim+l1+orientation\"\n";

/// Runs `python -m fpae_torch.train` on `shards` for `steps` steps into
/// `dir/out`, in `processes` processes under torchrun (or plainly for 1).
fn train_from_shards(dir: &Path, shards: &Path, out: &str, steps: usize, processes: usize) -> PathBuf {
    std::fs::write(dir.join("train.toml"), TRAIN_CONFIG).unwrap();
    let steps = steps.to_string();
    let args = ["train.toml", "--shards", shards.to_str().unwrap(), "--out", out, "--steps", &steps, "--threads", "1"];
    let mut cmd = if processes == 1 {
        fp_model::python::module_command("fpae_torch.train").unwrap()
    } else {
        let mut cmd = fp_model::python::module_command("torch.distributed.run").unwrap();
        cmd.arg(format!("--nproc_per_node={processes}")).args(["-m", "fpae_torch.train"]);
        cmd
    };
    let result = cmd.args(args).current_dir(dir).output().unwrap();
    assert!(
        result.status.success(),
        "training in {processes} processes failed:\n{}{}",
        text(&result.stdout),
        text(&result.stderr)
    );
    let last_step = format!("step {steps}/{steps}: loss");
    assert!(steps == "0" || text(&result.stdout).contains(&last_step), "{}", text(&result.stdout));
    dir.join(out)
}

/// The largest difference between two weight files' tensors of the same names.
fn weights_difference(a: &Path, b: &Path) -> f64 {
    let read = |dir: &Path| {
        let mut tensors = fp_model::read_tensors(&dir.join("model.safetensors")).unwrap();
        tensors.sort_by(|x, y| x.0.cmp(&y.0));
        tensors
    };
    let (a, b) = (read(a), read(b));
    assert_eq!(a.iter().map(|(n, _)| n).collect::<Vec<_>>(), b.iter().map(|(n, _)| n).collect::<Vec<_>>());
    a.iter().zip(&b).map(|((_, x), (_, y))| (x - y).abs().max().double_value(&[])).fold(0.0, f64::max)
}

/// Two processes under torchrun (gloo, on the CPU) train a model folder that
/// fpae loads and applies as its own, with the twin's outputs.
#[test]
fn a_model_trained_under_torchrun_loads_in_fpae() {
    let dir = tempfile::tempdir().unwrap();
    let shards = write_pair_shards(dir.path());
    let model = train_from_shards(dir.path(), &shards, "model", 4, 2);
    for file in ["config.toml", "model.toml", "model.safetensors", "state.json", "MODEL.md"] {
        assert!(model.join(file).is_file(), "{file} missing");
    }
    let prints = prints(dir.path());
    compare("trained by fpae_torch.train in 2 processes", dir.path(), &model, &prints);
}

/// The same global batch split over two processes gives the weights one
/// process gives, but for the order of float additions in the gradients' mean.
#[test]
fn two_processes_train_the_weights_of_one() {
    /// After 4 Adam steps at lr 0.01, which move weights by up to 4e-2, they
    /// differed by 1.6e-5 and 3.5e-5 in two runs: Adam's first steps divide by
    /// the gradients' own size, which magnifies their last bits.
    const WEIGHTS_TOLERANCE: f64 = 2e-4;
    let dir = tempfile::tempdir().unwrap();
    let shards = write_pair_shards(dir.path());
    let initial = train_from_shards(dir.path(), &shards, "initial", 0, 1);
    let one = train_from_shards(dir.path(), &shards, "one", 4, 1);
    let two = train_from_shards(dir.path(), &shards, "two", 4, 2);
    let moved = weights_difference(&initial, &one);
    assert!(moved > 1e-3, "training moved no weight ({moved:e}), so agreeing proves little");
    let diff = weights_difference(&one, &two);
    println!("max |1 process - 2 processes| = {diff:e} (training moved weights by up to {moved:e})");
    assert!(diff <= WEIGHTS_TOLERANCE, "max |1 process - 2 processes| = {diff:e} > {WEIGHTS_TOLERANCE:e}");
}

/// Runs `script` in LibTorch's Python with the repository's `python/` on its path.
fn python_script(script: &str, args: &[&Path], cwd: &Path) -> Output {
    let mut cmd = Command::new(fp_model::python::libtorch_python().unwrap_or_else(|e| panic!("{e}")));
    if let Some(root) = fp_model::python::package_root() {
        cmd.env("PYTHONPATH", root);
    }
    cmd.arg("-c").arg(script).args(args).current_dir(cwd).env("PYTHONDONTWRITEBYTECODE", "1").output().unwrap()
}

/// Writes float32 values as a `.npy` file of `shape`.
fn write_npy(path: &Path, shape: &[usize], values: &[f32]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims.join(", "));
    header.push_str(&" ".repeat((64 - (header.len() + 11) % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// `fpae export --format onnx` of the ready-made restoration model, by name,
/// run by onnxruntime on one real print of every FVC2002 and FVC2000 sensor
/// (every size they come in): its float32 outputs equal fpae's to 1e-4.
#[test]
fn onnx_export_runs_in_onnxruntime_as_in_fpae() {
    let (Some(fvc2002), Some(fvc2000)) = (fp_testkit::dataset("fvc2002"), fp_testkit::dataset("fvc2000")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("restore.onnx");
    let out = Command::new(env!("CARGO_BIN_EXE_fpae"))
        .args(["export", "restore-fvc2002", "--format", "onnx", "--out"])
        .arg(&onnx)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "fpae export --format onnx failed: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(onnx.is_file());

    let mut prints = Vec::new();
    for root in [&fvc2002, &fvc2000] {
        for db in 1..=4 {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(format!("DB{db}_B")))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "tif"))
                .collect();
            files.sort();
            prints.push(files.into_iter().next().unwrap_or_else(|| panic!("no print in {}/DB{db}_B", root.display())));
        }
    }
    // fpae's inputs (the prints decoded and scaled) for onnxruntime, and its outputs.
    let model_dir = repo().join("models/restore-fvc2002");
    let model = TrainedModel::load(&model_dir, fp_train::Checkpoint::Best, Placement::CPU_F32).unwrap();
    let preprocess = model.config.data.preprocess();
    let mut sizes = std::collections::BTreeSet::new();
    let mut expected = Vec::new();
    for (i, path) in prints.iter().enumerate() {
        let (pixels, original) = fp_data::load_one(path, &preprocess).unwrap();
        let (w, h) = preprocess.output_size(original);
        let (w, h) = (w as usize, h as usize);
        let mut values = vec![0f32; pixels.len()];
        model.scaling.apply(&pixels, &mut values);
        write_npy(&dir.path().join(format!("in{i}.npy")), &[h, w], &values);
        sizes.insert((w, h));
        expected.push(((w, h), model.apply(&values, w, h, 1)));
    }
    assert!(sizes.len() >= 6, "the FVC sensors' sizes: {sizes:?}");
    let script = r#"
import sys, numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
stride = int(session.get_modelmeta().custom_metadata_map["fpae.stride"])
for i in range(int(sys.argv[2])):
    x = np.load(f"in{i}.npy")
    h, w = x.shape
    padded = np.pad(x, ((0, -h % stride), (0, -w % stride)), mode="edge")[None, None]
    y = session.run(["output"], {"input": padded})[0][0, 0, :h, :w]
    np.save(f"out{i}.npy", np.ascontiguousarray(y, dtype=np.float32))
"#;
    let count = PathBuf::from(prints.len().to_string());
    let out = python_script(script, &[&onnx, &count], dir.path());
    assert!(out.status.success(), "onnxruntime failed: {}", text(&out.stderr));
    for (i, (path, ((w, h), fpae))) in prints.iter().zip(expected).enumerate() {
        let (shape, got) = read_npy(&dir.path().join(format!("out{i}.npy")));
        assert_eq!(shape, [h, w], "{}", path.display());
        let diff = got.iter().zip(&fpae).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        println!("{} ({w}x{h}): max |onnxruntime - fpae| = {diff:e}", path.display());
        assert!(diff.is_finite() && diff <= TOLERANCE, "{}: max |onnxruntime - fpae| = {diff:e}", path.display());
    }
}

/// `pip install ./python` into a fresh venv, offline: the venv sees the
/// LibTorch venv's packages (torch, numpy, setuptools) through a `.pth` file, so
/// nothing is downloaded. The installed `fpae_torch.restore` then restores a
/// print, by the ready-made model's name, to `fpae restore`'s pixels.
#[test]
fn the_package_installs_with_pip_and_restores_as_fpae_does() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A copy of the package's sources: the build writes beside them.
    let source = dir.join("src");
    std::fs::create_dir_all(source.join("fpae_torch")).unwrap();
    let package = fp_model::python::package_root().expect("python/ in the repository");
    for entry in ["pyproject.toml", "README.md"].map(PathBuf::from).into_iter().chain(
        std::fs::read_dir(package.join("fpae_torch"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .map(|p| Path::new("fpae_torch").join(p.file_name().unwrap())),
    ) {
        std::fs::copy(package.join(&entry), source.join(&entry)).unwrap();
    }
    let libtorch_python = fp_model::python::libtorch_python().unwrap_or_else(|e| panic!("{e}"));
    let run = |cmd: &mut Command, what: &str| -> String {
        let out = cmd.current_dir(dir).env_remove("PYTHONPATH").output().unwrap();
        assert!(out.status.success(), "{what} failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    let venv = dir.join("venv");
    run(Command::new(&libtorch_python).args(["-m", "venv", "--system-site-packages"]).arg(&venv), "python -m venv");
    let python = venv.join("bin/python");
    let torch_site = run(
        Command::new(&libtorch_python)
            .args(["-c", "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))"]),
        "finding torch",
    );
    let site =
        run(Command::new(&python).args(["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]), "site");
    std::fs::write(Path::new(&site).join("libtorch.pth"), format!("{torch_site}\n")).unwrap();
    // The build runs with the LibTorch venv's setuptools (the new venv's own is too old to build wheels alone).
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
    ]);
    let out = pip.arg(&source).current_dir(dir).env("PYTHONPATH", &torch_site).output().unwrap();
    assert!(out.status.success(), "pip install failed:\n{}{}", text(&out.stdout), text(&out.stderr));

    let print = dir.join("prints/print.png");
    write_print(&print, 150, 170, 91);
    let script = r#"
import sys, fpae_torch
assert fpae_torch.__file__.startswith(sys.prefix), fpae_torch.__file__
pixels = fpae_torch.read_gray(sys.argv[1]).numpy()
restored = fpae_torch.restore(pixels, "restore-fvc2002")
assert restored.dtype.name == "uint8" and restored.shape == pixels.shape, (restored.dtype, restored.shape)
import torch
fpae_torch.write_png("py.png", torch.from_numpy(restored))
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&print)
        .current_dir(dir)
        .env_remove("PYTHONPATH")
        .env("FPAE_MODELS", repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "fpae_torch.restore failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let model = repo().join("models/restore-fvc2002");
    let out = fpae(
        &[
            "--threads",
            "1",
            "restore",
            model.to_str().unwrap(),
            print.to_str().unwrap(),
            "--out",
            "rs",
            "--precision",
            "f32",
        ],
        dir,
    );
    assert!(out.status.success(), "fpae restore failed: {}", text(&out.stderr));
    let ours = image::open(dir.join("rs/print.png")).unwrap().into_luma8();
    let theirs = image::open(dir.join("py.png")).unwrap().into_luma8();
    let original = image::open(&print).unwrap().into_luma8();
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let levels = ours.iter().zip(theirs.iter()).map(|(&a, &b)| a.abs_diff(b)).max().unwrap();
    let changed = ours.iter().zip(original.iter()).filter(|(a, b)| a != b).count();
    assert!(changed * 2 > ours.len(), "the model changed only {changed} pixels, so agreeing proves little");
    assert!(levels <= 1, "fpae restore and the installed fpae_torch.restore differ by up to {levels} grey levels");
}

/// The trainer's losses (`fpae_torch.losses`) give fp-train's values for the
/// same pair of batches: every `train.loss`, on two 2-image batches of 40x36
/// that differ in ridge direction, brightness and a flat hole.
#[test]
fn the_trainers_losses_equal_fp_trains() {
    use fp_train::LossKind;
    use tch::{Kind, Tensor};
    let dir = tempfile::tempdir().unwrap();
    let (n, h, w) = (2usize, 40usize, 36usize);
    let image = |turn: f64, hole: bool| -> Vec<f32> {
        (0..n * h * w)
            .map(|i| {
                let (k, y, x) = (i / (h * w), (i / w) % h, i % w);
                let a = 0.4 + turn + k as f64;
                let v = 0.5 + 0.4 * ((x as f64 * a.cos() + y as f64 * a.sin()) * 0.7).sin();
                let in_hole = hole && (10..22).contains(&y) && (8..20).contains(&x);
                let v = if in_hole {
                    0.9
                } else if hole {
                    v * 0.8
                } else {
                    v
                };
                v as f32
            })
            .collect()
    };
    let (output, target) = (image(0.3, true), image(0.0, false));
    write_npy(&dir.path().join("output.npy"), &[n, 1, h, w], &output);
    write_npy(&dir.path().join("target.npy"), &[n, 1, h, w], &target);
    let script = r#"
import json, numpy as np, torch
from fpae_torch.losses import LOSSES
o, t = (torch.from_numpy(np.load(f"{name}.npy")) for name in ("output", "target"))
print(json.dumps({name: float(loss(o, t)) for name, loss in LOSSES.items()}))
"#;
    let out = python_script(script, &[], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tensor = |v: &[f32]| Tensor::from_slice(v).view([n as i64, 1, h as i64, w as i64]).to_kind(Kind::Float);
    let cases = [
        ("mse", LossKind::Mse),
        ("l1", LossKind::L1),
        ("ssim+l1", LossKind::SsimL1),
        ("ssim+l1+orientation", LossKind::SsimL1Orientation),
    ];
    assert_eq!(theirs.as_object().unwrap().len(), cases.len(), "{theirs}");
    for (name, kind) in cases {
        let ours = kind.compute(&tensor(&output), &tensor(&target)).double_value(&[]);
        let got = theirs[name].as_f64().unwrap_or_else(|| panic!("no {name} in {theirs}"));
        println!("{name}: fp-train {ours:.7}, fpae_torch {got:.7}");
        assert!(ours > 0.01, "{name}: {ours} is too small to tell the losses apart");
        assert!((ours - got).abs() <= 1e-6 * ours.max(1.0), "{name}: fp-train {ours} vs fpae_torch {got}");
    }
}

/// The trainer refuses what it cannot train, naming the setting or file, and
/// writes nothing.
#[test]
fn the_trainer_refuses_bad_input_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let shards = write_pair_shards(dir.path());
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    std::fs::create_dir_all(dir.path().join("taken")).unwrap();
    let cases = [
        (
            "sgd",
            TRAIN_CONFIG.replace("\"adam\"", "\"sgd\""),
            "shards",
            "model",
            "train.optimizer: expected one of rmsprop, adam",
        ),
        ("a typo", TRAIN_CONFIG.replace("seed = 7", "sed = 7"), "shards", "model", "train.sed: unknown field"),
        (
            "stride 64",
            TRAIN_CONFIG.replace("depth = 2", "depth = 6"),
            "shards",
            "model",
            "not a multiple of the network's stride 64",
        ),
        ("no manifest", TRAIN_CONFIG.to_owned(), "empty", "model", "manifest.json"),
        ("a used --out", TRAIN_CONFIG.to_owned(), "shards", "taken", "--out taken: already exists"),
    ];
    for (what, config, from, out, expected) in cases {
        std::fs::write(dir.path().join("bad.toml"), config).unwrap();
        let mut cmd = fp_model::python::module_command("fpae_torch.train").unwrap();
        let result = cmd
            .args(["bad.toml", "--shards", from, "--out", out, "--steps", "1"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(2), "{what}: {}{}", text(&result.stdout), text(&result.stderr));
        assert!(text(&result.stderr).contains(expected), "{what}: {}", text(&result.stderr));
    }
    assert!(!dir.path().join("model").exists() && shards.is_dir());
}
