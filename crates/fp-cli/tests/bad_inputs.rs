//! Every row of `docs/bad-inputs.md`: each bad input given to the commands it
//! applies to, and the exit status and error (or warning) `fpae` answers with.
//! The models are the ready-made ones in `models/`, so nothing is trained.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fpae, text};
use image::{GrayImage, ImageBuffer, Luma, LumaA, Rgb};

/// A ready-made model folder of the repository.
fn model(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models").join(name).display().to_string()
}

/// The U-Net restoration model: 4 poolings, so inputs are padded to multiples of 16.
fn unet() -> String {
    model("restore-fvc2002")
}

/// The tutorial's network at native resolution: 2 poolings, a stride of 4.
fn tutorial() -> String {
    model("native-cae-fvc2002")
}

/// `w x h` ridge-like 8-bit values.
fn ridges(w: u32, h: u32) -> GrayImage {
    let pixels = fp_metrics::synthetic::ridge_pattern(w as usize, h as usize, 7, (0.0, 0.0));
    GrayImage::from_raw(w, h, pixels).unwrap()
}

/// Writes a `w x h` ridge print as an 8-bit grayscale PNG at `dir/name`.
fn print(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ridges(w, h).save(&path).unwrap();
    path
}

/// The exit status and standard error of `out`, for messages.
fn show(out: &Output) -> String {
    format!("status {:?}, stderr:\n{}", out.status.code(), text(&out.stderr))
}

/// Asserts that `out` failed with status 1 and that standard error holds every line of `expected`.
fn fails_with(out: &Output, expected: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "{}", show(out));
    let stderr = text(&out.stderr);
    for line in expected {
        assert!(stderr.lines().any(|l| l == *line), "expected the line {line:?}; {}", show(out));
    }
}

/// Decoded 8-bit gray pixels of an output PNG.
fn gray(path: &Path) -> GrayImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_luma8()
}

/// The files under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `fpae` as [`common::fpae`] runs it, as a command to adjust.
fn command(args: &[&str], cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fpae"));
    command.args(args).current_dir(cwd).env("XDG_CACHE_HOME", cwd.join("cache")).env_remove("RUST_LOG");
    command
}

/// Runs `fpae`, failing the test if it has not ended after `limit` (it is killed then).
fn fpae_within(args: &[&str], cwd: &Path, limit: Duration) -> Output {
    let mut child = command(args, cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("fpae {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Runs `fpae` where file permissions hold. Root reads any file (capabilities
/// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so when this test can still read
/// `unreadable`, the child drops those two from its bounding set before it
/// starts, which makes root's own mode bits count. Where that cannot be done
/// the test fails, or returns `None` when `FPAE_SKIP=capability` allows it.
fn fpae_bound_by_permissions(args: &[&str], cwd: &Path, unreadable: &Path) -> Option<Output> {
    let mut command = command(args, cwd);
    let readable =
        if unreadable.is_dir() { std::fs::read_dir(unreadable).is_ok() } else { std::fs::read(unreadable).is_ok() };
    if readable {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            const CAP_DAC_OVERRIDE: libc::c_ulong = 1;
            const CAP_DAC_READ_SEARCH: libc::c_ulong = 2;
            #[allow(unsafe_code)]
            // SAFETY: runs in the forked child before exec and only calls prctl,
            // which is async-signal-safe; it touches no memory of the parent.
            unsafe {
                command.pre_exec(|| {
                    for cap in [CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH] {
                        if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            fp_testkit::missing(
                fp_testkit::Need::Capability,
                "this process reads files of mode 000 and cannot drop that right here",
            );
            return None;
        }
    }
    match command.output() {
        Ok(out) => Some(out),
        Err(e) => {
            fp_testkit::missing(
                fp_testkit::Need::Capability,
                &format!("running as root, and cannot drop the right to read any file ({e})"),
            );
            None
        }
    }
}

#[test]
fn images_smaller_than_the_models_stride_are_padded_and_keep_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (name, w, h) in [("in/a3x3.png", 3, 3), ("in/a1x1.png", 1, 1), ("in/a1x40.png", 1, 40), ("in/a17x5.png", 17, 5)]
    {
        print(root, name, w, h);
    }
    let out = fpae(&["restore", &unet(), "in", "--out", "restored"], root);
    assert!(out.status.success(), "{}", show(&out));
    let out = fpae(&["reconstruct", &tutorial(), "in", "--out", "reconstructed"], root);
    assert!(out.status.success(), "{}", show(&out));
    for (name, size) in [("a3x3", (3, 3)), ("a1x1", (1, 1)), ("a1x40", (1, 40)), ("a17x5", (17, 5))] {
        assert_eq!(gray(&root.join(format!("restored/{name}.png"))).dimensions(), size, "restore {name}");
        assert_eq!(gray(&root.join(format!("reconstructed/{name}.png"))).dimensions(), size, "reconstruct {name}");
    }
}

#[test]
fn a_training_size_the_network_cannot_halve_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::tiny_prints(root);
    std::fs::write(
        root.join("unet.toml"),
        "[data]\nroot = \"data\"\nresize = \"none\"\ncrop = 24\n\n[model]\nkind = \"unet\"\ndepth = 4\n\n\
         [train]\nepochs = 1\ndevice = \"cpu\"\n",
    )
    .unwrap();
    let halve = "error: data.crop: input size 24x24 must be divisible by 16 (4 pooling layers halve it)";
    fails_with(&fpae(&["train", "unet.toml", "--run-dir", "runs/u"], root), &[halve]);
    fails_with(&fpae(&["summary", "unet.toml"], root), &[halve]);
    std::fs::write(root.join("cae.toml"), "[data]\nroot = \"data\"\nheight = 222\n\n[train]\ndevice = \"cpu\"\n")
        .unwrap();
    let out = fpae(&["train", "cae.toml", "--run-dir", "runs/c"], root);
    fails_with(
        &out,
        &["error: data.height, data.width: input size 222x224 must be divisible by 4 (2 pooling layers halve it)"],
    );
    assert!(!root.join("runs").exists(), "nothing is written for a bad config");
}

#[test]
fn an_image_too_small_for_minutiae_names_the_minimum() {
    let dir = tempfile::tempdir().unwrap();
    print(dir.path(), "small.png", 20, 24);
    let out = fpae(&["minutiae", "small.png"], dir.path());
    fails_with(
        &out,
        &["error: cannot find minutiae in small.png: a 20x24 image is too small to find minutiae in: each side must \
           be at least 25 pixels"],
    );
    // Scoring counts it as not computable, and says so.
    print(dir.path(), "originals/101_1.png", 20, 24);
    print(dir.path(), "candidates/101_1.png", 20, 24);
    let out = fpae(&["score", "--originals", "originals", "--candidates", "candidates", "--json"], dir.path());
    assert!(out.status.success(), "{}", show(&out));
    let warning = "WARN 2 images are under 25x25 pixels, too small to find minutiae; they count as not computable";
    assert!(text(&out.stderr).lines().any(|l| l.trim() == warning), "{}", show(&out));
}

/// A 64x64 print as 8-bit gray, 16-bit gray, RGBA, 16-bit RGB and gray+alpha,
/// each colour sample the gray value (scaled by 257 in 16 bits), all opaque.
fn one_print_five_encodings(dir: &Path) -> [&'static str; 5] {
    let g = ridges(64, 64);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    g.save(dir.join("in/g8.png")).unwrap();
    let v = |x, y| g.get_pixel(x, y).0[0];
    ImageBuffer::<Luma<u16>, _>::from_fn(64, 64, |x, y| Luma([u16::from(v(x, y)) * 257]))
        .save(dir.join("in/g16.png"))
        .unwrap();
    ImageBuffer::<image::Rgba<u8>, _>::from_fn(64, 64, |x, y| image::Rgba([v(x, y), v(x, y), v(x, y), 255]))
        .save(dir.join("in/rgba.png"))
        .unwrap();
    ImageBuffer::<Rgb<u16>, _>::from_fn(64, 64, |x, y| Rgb([u16::from(v(x, y)) * 257; 3]))
        .save(dir.join("in/rgb16.png"))
        .unwrap();
    ImageBuffer::<LumaA<u8>, _>::from_fn(64, 64, |x, y| LumaA([v(x, y), 255])).save(dir.join("in/la.png")).unwrap();
    ["g8", "g16", "rgba", "rgb16", "la"]
}

#[test]
fn sixteen_bit_grayscale_is_read_as_the_same_8_bit_print() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    one_print_five_encodings(root);
    let out = fpae(&["restore", &unet(), "in/g8.png", "in/g16.png", "--out", "restored"], root);
    assert!(out.status.success(), "{}", show(&out));
    let (a, b) = (gray(&root.join("restored/g8.png")), gray(&root.join("restored/g16.png")));
    assert_eq!(a.dimensions(), b.dimensions());
    let worst = a.pixels().zip(b.pixels()).map(|(p, q)| p.0[0].abs_diff(q.0[0])).max().unwrap();
    assert!(worst <= 1, "16-bit input restored differently: {worst} levels apart");

    let minutiae = |name: &str| {
        let out = fpae(&["minutiae", name, "--format", "json"], root);
        assert!(out.status.success(), "{}", show(&out));
        text(&out.stdout)
    };
    assert_eq!(minutiae("in/g16.png"), minutiae("in/g8.png"));
    let out = fpae(&["degrade", "in/g16.png", "--out", "degraded", "--kind", "blur"], root);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(gray(&root.join("degraded/g16.blur-0.60.png")).dimensions(), (64, 64));
}

#[test]
fn rgba_and_colour_images_are_read_as_their_luma() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let names = one_print_five_encodings(root);
    let out = fpae(&["restore", &unet(), "in", "--out", "restored"], root);
    assert!(out.status.success(), "{}", show(&out));
    let reference = gray(&root.join("restored/g8.png"));
    for name in &names[2..] {
        let other = gray(&root.join(format!("restored/{name}.png")));
        let worst = reference.pixels().zip(other.pixels()).map(|(p, q)| p.0[0].abs_diff(q.0[0])).max().unwrap();
        assert!(worst <= 1, "{name} restored differently: {worst} levels apart");
    }
    // Transparency is composited over white, the background of a print.
    ImageBuffer::<image::Rgba<u8>, _>::from_pixel(30, 30, image::Rgba([0, 0, 0, 0]))
        .save(root.join("clear.png"))
        .unwrap();
    let out = fpae(&["minutiae", "clear.png", "--format", "json"], root);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(text(&out.stdout).trim(), r#"{"width":30,"height":30,"minutiae":[]}"#);
}

#[cfg(unix)]
#[test]
fn symbolic_link_loops_in_an_input_folder_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/sub/a.png", 32, 32);
    std::os::unix::fs::symlink("..", root.join("in/sub/back")).unwrap();
    std::os::unix::fs::symlink("self", root.join("in/self")).unwrap();
    let warnings = [
        "WARN skipping in/sub/back: a symbolic link loop (it leads back to in, which holds it)",
        "WARN skipping in/self: a symbolic link loop (the link leads back to itself)",
    ];
    let limit = Duration::from_secs(120);
    let out = fpae_within(&["restore", &unet(), "in", "--out", "restored"], root, limit);
    assert!(out.status.success(), "{}", show(&out));
    let stderr = text(&out.stderr);
    for warning in warnings {
        assert!(stderr.lines().any(|l| l.trim() == warning), "expected {warning:?}; {}", show(&out));
    }
    assert_eq!(listing(&root.join("restored")), ["sub/a.png"]);

    let out = fpae_within(&["reconstruct", &tutorial(), "in", "--out", "reconstructed"], root, limit);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(listing(&root.join("reconstructed")), ["a.png"]);

    // A dataset root with a loop loads each image once.
    std::fs::write(root.join("data.toml"), "[data]\nroot = \"in\"\nheight = 16\nwidth = 16\n").unwrap();
    let out = fpae_within(&["data", "data.toml", "--out", "preview.png"], root, limit);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("shape: (1, 16, 16, 1)"), "{}", text(&out.stdout));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported_and_the_others_are_processed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/ok.png", 32, 32);
    let secret = print(root, "in/secret.png", 32, 32);
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let denied = "cannot access in/secret.png: Permission denied (os error 13)";
    let Some(out) = fpae_bound_by_permissions(&["restore", &unet(), "in", "--out", "restored"], root, &secret) else {
        return;
    };
    fails_with(&out, &[&format!("error: {denied}"), "error: 1 of 2 images could not be restored"]);
    assert_eq!(listing(&root.join("restored")), ["ok.png"]);
    let out = fpae_bound_by_permissions(&["minutiae", "in/secret.png"], root, &secret).unwrap();
    fails_with(&out, &[&format!("error: {denied}")]);
    let out = fpae_bound_by_permissions(&["degrade", "in", "--out", "degraded"], root, &secret).unwrap();
    fails_with(&out, &[&format!("error: {denied}"), "error: 1 of 2 images could not be degraded"]);
    // In a dataset, loading stops at it.
    std::fs::write(root.join("set.toml"), "[data]\nroot = \"in\"\nheight = 16\nwidth = 16\n").unwrap();
    let out = fpae_bound_by_permissions(&["data", "set.toml", "--out", "p.png"], root, &secret).unwrap();
    fails_with(&out, &[&format!("error: cannot load the images under in: {denied}")]);
}

#[cfg(unix)]
#[test]
fn an_unreadable_folder_in_an_input_folder_stops_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/ok.png", 32, 32);
    print(root, "in/locked/a.png", 32, 32);
    let locked = root.join("in/locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = fpae_bound_by_permissions(&["restore", &unet(), "in", "--out", "restored"], root, &locked);
    // Give the folder back its mode, so that the temporary folder can be removed.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(out) = out else { return };
    fails_with(&out, &["error: cannot list in: cannot access in/locked: Permission denied (os error 13)"]);
    assert!(!root.join("restored").exists(), "nothing is written");
}

#[cfg(unix)]
#[test]
fn a_named_pipe_with_an_image_name_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/ok.png", 32, 32);
    let made = Command::new("mkfifo").arg(root.join("in/pipe.png")).status();
    if !made.is_ok_and(|s| s.success()) {
        fp_testkit::missing(fp_testkit::Need::Capability, "mkfifo cannot make a named pipe here");
        return;
    }
    let limit = Duration::from_secs(120);
    let refused = "error: in/pipe.png: is a named pipe, expected an image file";
    let out = fpae_within(&["restore", &unet(), "in/pipe.png", "in/ok.png", "--out", "restored"], root, limit);
    fails_with(&out, &[refused, "error: 1 of 2 images could not be restored"]);
    assert_eq!(listing(&root.join("restored")), ["ok.png"]);
    let out = fpae_within(&["minutiae", "in/pipe.png"], root, limit);
    fails_with(&out, &[refused]);
    let out = fpae_within(&["degrade", "in/pipe.png", "--out", "degraded"], root, limit);
    fails_with(&out, &[refused]);
    // In a folder, only regular files are taken as images.
    let out = fpae_within(&["restore", &unet(), "in", "--out", "from-folder"], root, limit);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(listing(&root.join("from-folder")), ["ok.png"]);
}

#[test]
fn an_output_folder_that_is_a_file_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    common::tiny_prints(root);
    print(root, "in/a.png", 32, 32);
    std::fs::write(root.join("taken"), "mine\n").unwrap();
    std::fs::write(root.join("tiny.toml"), "[data]\nroot = \"data\"\nheight = 16\nwidth = 16\n").unwrap();
    let file_error = "error: --out taken: is a file, expected a folder";
    fails_with(&fpae(&["restore", &unet(), "in", "--out", "taken"], root), &[file_error]);
    fails_with(
        &fpae(&["restore", &unet(), "in", "--out", "taken/sub"], root),
        &["error: --out taken/sub: taken is a file, expected a folder"],
    );
    fails_with(&fpae(&["reconstruct", &tutorial(), "in", "--out", "taken"], root), &[file_error]);
    fails_with(&fpae(&["degrade", "in/a.png", "--out", "taken"], root), &[file_error]);
    fails_with(
        &fpae(&["train", "tiny.toml", "--run-dir", "taken"], root),
        &["error: run directory taken: is a file, expected a folder"],
    );
    let out = fpae(
        &["score", "--originals", "in", "--candidates", "in", "--templates", "xyt", "--templates-out", "taken"],
        root,
    );
    fails_with(&out, &["error: --templates-out taken: is a file, expected a folder"]);
    // A run directory made of the ready-made model, to export.
    let model = PathBuf::from(tutorial());
    std::fs::create_dir_all(root.join("run/checkpoints/best")).unwrap();
    std::fs::copy(model.join("config.toml"), root.join("run/config.toml")).unwrap();
    for file in ["model.toml", "model.safetensors", "state.json"] {
        std::fs::copy(model.join(file), root.join("run/checkpoints/best").join(file)).unwrap();
    }
    fails_with(
        &fpae(&["export", "run", "--out", "taken"], root),
        &["error: --out taken: already exists; choose another folder"],
    );
    fails_with(
        &fpae(&["benchmark", "make", "--data", "data", "--out", "taken"], root),
        &["error: --out taken: already exists; remove it or choose another folder"],
    );
    assert_eq!(std::fs::read_to_string(root.join("taken")).unwrap(), "mine\n");
}

#[test]
fn an_output_file_below_a_file_or_over_a_folder_is_named_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/a.png", 64, 64);
    std::fs::write(root.join("taken"), "mine\n").unwrap();
    std::fs::create_dir_all(root.join("run")).unwrap();
    std::fs::write(
        root.join("run/history.csv"),
        "epoch,train_loss,val_loss,seconds,images_per_sec,lr\n1,0.11,0.10,0.5,20,0.001\n",
    )
    .unwrap();
    let below = |file: &str| format!("error: --out taken/{file}: taken is a file, expected a folder");
    let out = fpae(&["evaluate", &tutorial(), "--out", "taken/e.json"], root);
    fails_with(&out, &[&below("e.json")]);
    let out = fpae(&["evaluate", &tutorial(), "--out", "in"], root);
    fails_with(&out, &["error: --out in: is a folder, expected a file"]);
    let out = fpae(&["score", "--originals", "in", "--candidates", "in", "--out", "taken/s.json"], root);
    fails_with(&out, &[&below("s.json")]);
    let out = fpae(&["reconstruct", &tutorial(), "--grid", "1", "--out", "taken/g.png"], root);
    fails_with(&out, &[&below("g.png")]);
    let out = fpae(&["plot", "run", "--out", "taken/loss.png"], root);
    fails_with(&out, &["error: cannot write taken/loss.png: taken is a file, expected a folder"]);
    let out = fpae(&["minutiae", "in/a.png", "--out", "taken/a.xyt", "--format", "xyt"], root);
    fails_with(&out, &["error: cannot write taken/a.xyt: taken is a file, expected a folder"]);
    let out = fpae(&["degrade", "in/a.png", "--figure", "taken/kinds.png"], root);
    fails_with(&out, &["error: cannot write taken/kinds.png: taken is a file, expected a folder"]);
    assert_eq!(std::fs::read_to_string(root.join("taken")).unwrap(), "mine\n");
}

#[test]
fn broken_image_files_are_named_and_the_others_processed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = print(root, "in/ok.png", 32, 32);
    std::fs::write(root.join("in/empty.png"), b"").unwrap();
    std::fs::write(root.join("in/garbage.tif"), b"this is not an image at all").unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(root.join("in/truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    // A PNG whose header claims 100000x100000 pixels (10 GB), with its IHDR copied and patched.
    let mut bomb = bytes[..33].to_vec();
    bomb[16..24].copy_from_slice(&[0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0]);
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb.extend_from_slice(&bytes[33..]);
    std::fs::write(root.join("in/bomb.png"), &bomb).unwrap();
    std::fs::create_dir_all(root.join("in/folder.png")).unwrap();

    let bomb_error = "error: cannot decode image in/bomb.png: its header claims 100000x100000 pixels, more than the \
                      decoder's 512 MiB limit";
    let unet = unet();
    let args = [
        "restore",
        &unet,
        "in/ok.png",
        "in/empty.png",
        "in/garbage.tif",
        "in/truncated.png",
        "in/bomb.png",
        "in/missing.png",
        "--out",
        "restored",
    ];
    let out = fpae(&args, root);
    fails_with(
        &out,
        &[
            "error: cannot decode image in/empty.png: unexpected end of file",
            "error: cannot decode image in/truncated.png: unexpected end of file",
            bomb_error,
            "error: cannot access in/missing.png: No such file or directory (os error 2)",
            "error: 5 of 6 images could not be restored",
        ],
    );
    // The TIFF decoder's own words follow the file's name.
    let garbage = "error: cannot decode image in/garbage.tif: Format error decoding Tiff: format error: TIFF signature";
    assert!(text(&out.stderr).lines().any(|l| l.starts_with(garbage)), "{}", show(&out));
    assert_eq!(listing(&root.join("restored")), ["ok.png"]);
    fails_with(&fpae(&["minutiae", "in/bomb.png"], root), &[bomb_error]);
    fails_with(
        &fpae(&["minutiae", "in/folder.png"], root),
        &["error: in/folder.png: is a folder, expected an image file"],
    );

    // In a dataset, the first broken image stops loading, named.
    std::fs::create_dir_all(root.join("set/DB1_B")).unwrap();
    std::fs::copy(&good, root.join("set/DB1_B/101_1.png")).unwrap();
    std::fs::write(root.join("set/DB1_B/101_2.png"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(root.join("set.toml"), "[data]\nroot = \"set\"\nheight = 16\nwidth = 16\n").unwrap();
    fails_with(
        &fpae(&["data", "set.toml", "--out", "p.png"], root),
        &["error: cannot load the images under set: cannot decode image set/DB1_B/101_2.png: unexpected end of file"],
    );
}

#[test]
fn a_damaged_mismatched_or_missing_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    print(root, "in/a.png", 32, 32);
    let source = PathBuf::from(tutorial());
    std::fs::create_dir_all(root.join("m")).unwrap();
    for file in ["config.toml", "model.toml", "model.safetensors", "state.json"] {
        std::fs::copy(source.join(file), root.join("m").join(file)).unwrap();
    }
    let weights = std::fs::read(source.join("model.safetensors")).unwrap();
    std::fs::write(root.join("m/model.safetensors"), &weights[..1000]).unwrap();
    let out = fpae(&["restore", "m", "in", "--out", "restored"], root);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: m/model.safetensors: not a valid safetensors file")
            && stderr.contains("truncated")
            && stderr.contains("export or copy the model again"),
        "{}",
        show(&out)
    );

    std::fs::write(root.join("m/model.safetensors"), &weights).unwrap();
    let toml = std::fs::read_to_string(source.join("model.toml")).unwrap();
    std::fs::write(root.join("m/model.toml"), toml.replace("[32, 64, 128]", "[32, 64]")).unwrap();
    let out = fpae(&["restore", "m", "in", "--out", "restored"], root);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("its configuration's [model] (kind = \"tutorial-cae\", filters = [32, 64, 128]")
            && stderr.contains(
                "is not the network its checkpoint's model.toml describes (kind = \"tutorial-cae\", filters = [32, 64],"
            ),
        "{}",
        show(&out)
    );

    let config = std::fs::read_to_string(source.join("config.toml")).unwrap();
    assert!(config.contains("[32, 64, 128]"), "{config}");
    std::fs::write(root.join("m/config.toml"), config.replace("[32, 64, 128]", "[32, 64]")).unwrap();
    let out = fpae(&["restore", "m", "in", "--out", "restored"], root);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: m/model.safetensors: ") && stderr.contains("does not match the model config"),
        "{}",
        show(&out)
    );

    let out = fpae(&["restore", "nowhere", "in", "--out", "restored"], root);
    fails_with(
        &out,
        &["error: nowhere: no such run directory or model folder, and no ready-made model of that name in models/ \
         (none here)"],
    );
    assert!(!root.join("restored").exists(), "nothing is written");
}
