//! `cargo xtask setup`: provision LibTorch from the PyPI `torch` wheel.
//!
//! tch 0.26 needs LibTorch 2.13.0. We install `torch==2.13.0` into a Python venv
//! in a per-user cache keyed by version, so every clone on the machine shares one
//! install, and link `<repo>/.libtorch` to that venv's site-packages. The committed
//! `.cargo/config.toml` points `LIBTORCH` at `.libtorch/torch`, and the crates that
//! link LibTorch embed its real library directory as an rpath, so afterwards plain
//! `cargo build`/`cargo test`/`target/debug/fpae` work with no environment set.
//!
//! The terminal gets a few lines of progress; what pip says goes to
//! `setup.log` in the install directory ([`run_logged`]), and an error names
//! that file and shows its last lines.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::project_root;

/// The LibTorch version tch 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";

/// Overrides the directory that holds the shared LibTorch install.
pub const HOME_ENV: &str = "FPAE_LIBTORCH_HOME";

/// Written last into a finished install; its absence marks an install as unfinished.
const COMPLETE_MARKER: &str = "fpae-libtorch.complete";

/// The log of the commands setup runs (venv, pip), in the install directory.
const SETUP_LOG: &str = "setup.log";

/// Lines of a failed command's log that its error shows.
const LOG_TAIL_LINES: usize = 20;

/// Where LibTorch comes from for this build.
#[derive(Debug)]
pub enum Provision {
    /// The user's own LibTorch, chosen through `LIBTORCH` or `LIBTORCH_USE_PYTORCH`.
    User,
    /// Our shared install, with the Python interpreter of its venv.
    Managed {
        /// `bin/python` of the venv that holds torch.
        python: PathBuf,
    },
}

/// The directory of the shared install for [`TORCH_VERSION`].
pub fn install_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .context("neither XDG_CACHE_HOME nor HOME is set; set FPAE_LIBTORCH_HOME")?;
            PathBuf::from(home).join(".cache")
        }
    };
    Ok(cache.join("fpae").join(format!("libtorch-{TORCH_VERSION}")))
}

/// The log that setup and later pip installs into its venv write to.
pub fn setup_log() -> Result<PathBuf> {
    Ok(install_dir()?.join(SETUP_LOG))
}

/// The `LIBTORCH` value the committed cargo config sets (`<repo>/.libtorch/torch`).
fn config_libtorch() -> PathBuf {
    project_root().join(".libtorch").join("torch")
}

/// A LibTorch the user chose themselves, if any.
fn user_libtorch() -> Option<String> {
    if let Some(v) = std::env::var_os("LIBTORCH_USE_PYTORCH") {
        return Some(format!("LIBTORCH_USE_PYTORCH={}", v.to_string_lossy()));
    }
    // Cargo's `[env]` sets LIBTORCH to our own link for every process it runs,
    // this one included; anything else was set by the user.
    let v = std::env::var_os("LIBTORCH")?;
    (Path::new(&v) != config_libtorch()).then(|| format!("LIBTORCH={}", v.to_string_lossy()))
}

/// Make sure LibTorch is available and `.libtorch` points at it. Idempotent and
/// fast once installed.
pub fn setup() -> Result<Provision> {
    let started = Instant::now();
    if let Some(user) = user_libtorch() {
        println!("using your own LibTorch ({user}); nothing installed");
        return Ok(Provision::User);
    }
    let dir = install_dir()?;
    let site_packages = match read_complete_marker(&dir) {
        Some(site) => site,
        None => install(&dir)?,
    };
    let venv = dir.join("venv");
    let site_packages = venv.join(site_packages);
    let libtorch = site_packages.join("torch");
    if !libtorch.join("lib").is_dir() || !libtorch.join("include").is_dir() {
        bail!(
            "the LibTorch install at {} is damaged (no lib/ or include/); delete {} and run `cargo xtask setup` again",
            libtorch.display(),
            dir.display()
        );
    }
    link_into_repo(&site_packages)?;
    println!(
        "LibTorch {TORCH_VERSION} ready at {} (checked in {:.2} s)",
        libtorch.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(Provision::Managed { python: venv.join("bin").join("python") })
}

/// Reads the marker of a finished install: it holds the venv-relative site-packages path.
fn read_complete_marker(dir: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dir.join(COMPLETE_MARKER)).ok()?;
    let mut version = None;
    let mut site = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("version=") {
            version = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("site_packages=") {
            site = Some(PathBuf::from(v.trim()));
        }
    }
    (version.as_deref() == Some(TORCH_VERSION)).then_some(site).flatten()
}

/// Installs `torch==TORCH_VERSION` into `dir` atomically: everything happens in a
/// staging directory beside it that is renamed into place only once the install
/// imported and reported the right version.
fn install(dir: &Path) -> Result<PathBuf> {
    let python = find_python()?;
    let parent = dir.parent().context("install directory has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let mut staging_name = OsString::from(dir.file_name().context("install directory has no name")?);
    staging_name.push(format!(".partial-{}", std::process::id()));
    let staging = parent.join(staging_name);
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    // The log lives in the install directory from the start, so that it stays
    // where the error says when the install fails.
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join(SETUP_LOG);
    fs::write(&log, "").with_context(|| format!("cannot write {}", log.display()))?;
    let result = install_into(&python, &staging, &log);
    let site = match result {
        Ok(site) => site,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // An unfinished or outdated install from an earlier run, or only this
    // setup's log: replace it, keeping the log.
    fs::rename(&log, staging.join(SETUP_LOG)).with_context(|| format!("cannot move {}", log.display()))?;
    fs::remove_dir_all(dir).with_context(|| format!("cannot remove stale {}", dir.display()))?;
    fs::rename(&staging, dir).with_context(|| format!("cannot move {} to {}", staging.display(), dir.display()))?;
    Ok(site)
}

fn install_into(python: &str, staging: &Path, log: &Path) -> Result<PathBuf> {
    let venv = staging.join("venv");
    println!("creating a Python venv ...");
    let mut cmd = Command::new(python);
    cmd.args(["-m", "venv"]).arg(&venv);
    run_logged(&mut cmd, log).with_context(|| {
        "cannot create a Python venv; install Python's venv module \
         (on Debian/Ubuntu: `apt-get install python3-venv`) and run `cargo xtask setup` again"
    })?;
    let venv_python = venv.join("bin").join("python");
    println!(
        "installing torch=={TORCH_VERSION} from PyPI (about 5 GB with its dependencies; this takes a few minutes) ..."
    );
    println!("  pip's output: {}", log.display());
    let started = Instant::now();
    let mut cmd = Command::new(&venv_python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
        .arg(format!("torch=={TORCH_VERSION}"));
    run_logged(&mut cmd, log).with_context(|| {
        format!(
            "cannot install torch=={TORCH_VERSION}; check the network access to PyPI and the free disk \
             space (about 5 GB), then run `cargo xtask setup` again. To use a LibTorch you already have, \
             set LIBTORCH to its directory instead"
        )
    })?;
    println!("torch=={TORCH_VERSION} installed in {:.0} s", started.elapsed().as_secs_f64());
    // Ask the installed torch itself for its version and location, so a broken
    // install is caught here and not at link time.
    let output = Command::new(&venv_python)
        .args([
            "-c",
            "import os, torch; print(torch.__version__); print(os.path.dirname(os.path.dirname(torch.__file__)))",
        ])
        .output()
        .with_context(|| format!("cannot run {}", venv_python.display()))?;
    if !output.status.success() {
        bail!("the installed torch does not import:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let version = lines.next().unwrap_or_default().trim();
    let site = PathBuf::from(lines.next().unwrap_or_default().trim());
    if version.split('+').next() != Some(TORCH_VERSION) {
        bail!("pip installed torch {version}, but tch needs {TORCH_VERSION}");
    }
    let site = site
        .strip_prefix(&venv)
        .with_context(|| format!("torch is outside the venv: {}", site.display()))?
        .to_path_buf();
    fs::write(staging.join(COMPLETE_MARKER), format!("version={TORCH_VERSION}\nsite_packages={}\n", site.display()))?;
    Ok(site)
}

/// Runs `cmd` with its standard output and error appended to `log`, after a
/// line naming the command, while a spinner on the terminal shows the time and
/// the log's last line. A command that fails is an error naming it, its exit
/// status and `log`, with the log's last [`LOG_TAIL_LINES`] lines.
pub fn run_logged(cmd: &mut Command, log: &Path) -> Result<()> {
    let shown = shown_command(cmd);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot write {}", log.display()))?;
    writeln!(file, "$ {shown}").with_context(|| format!("cannot write {}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    let mut child = cmd.spawn().with_context(|| format!("cannot run `{shown}`"))?;
    let spinner = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("  {spinner} {elapsed} {wide_msg}").expect("valid template"));
    let status = loop {
        if let Some(status) = child.try_wait().with_context(|| format!("cannot wait for `{shown}`"))? {
            break status;
        }
        if !spinner.is_hidden() {
            spinner.set_message(log_tail(log, 1).unwrap_or_default());
        }
        spinner.tick();
        std::thread::sleep(Duration::from_millis(200));
    };
    spinner.finish_and_clear();
    if !status.success() {
        let tail = log_tail(log, LOG_TAIL_LINES).unwrap_or_default();
        let tail: String = tail.lines().map(|line| format!("\n    {line}")).collect();
        bail!("`{shown}` failed ({status}); its output is in {}, which ends with:{tail}", log.display());
    }
    Ok(())
}

/// A command as a shell line: program and arguments, separated by spaces.
fn shown_command(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `n` non-empty lines of the file at `path`.
fn log_tail(path: &Path, n: usize) -> Result<String> {
    let bytes = fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}

/// Finds a Python 3 interpreter, with a clear error when there is none.
fn find_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let ok = Command::new(candidate)
            .args(["-c", "import sys; sys.exit(0 if sys.version_info[0] == 3 else 1)"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Ok(candidate.to_owned());
        }
    }
    bail!(
        "no Python 3 found (tried python3, python); install Python 3 with venv and pip \
         (on Debian/Ubuntu: `apt-get install python3 python3-venv`), or set LIBTORCH to an existing LibTorch {TORCH_VERSION}"
    )
}

/// Points `<repo>/.libtorch` at the install's site-packages. LibTorch's own
/// libraries find their CUDA dependencies through `$ORIGIN/../../nvidia/...`, so the
/// link must stand for site-packages, not for the torch directory inside it.
fn link_into_repo(site_packages: &Path) -> Result<()> {
    let link = project_root().join(".libtorch");
    if fs::read_link(&link).is_ok_and(|target| target == site_packages) {
        return Ok(());
    }
    if fs::symlink_metadata(&link).is_ok() {
        fs::remove_file(&link)
            .with_context(|| format!("{} exists and is not a link we made; remove it", link.display()))?;
    }
    symlink(site_packages, &link)
        .with_context(|| format!("cannot link {} to {}", link.display(), site_packages.display()))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("automatic LibTorch setup supports Unix only; set LIBTORCH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_with_other_version_is_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(COMPLETE_MARKER), "version=2.0.0\nsite_packages=lib/site\n").unwrap();
        assert_eq!(read_complete_marker(dir.path()), None);
        fs::write(dir.path().join(COMPLETE_MARKER), format!("version={TORCH_VERSION}\nsite_packages=lib/site\n"))
            .unwrap();
        assert_eq!(read_complete_marker(dir.path()), Some(PathBuf::from("lib/site")));
    }

    #[test]
    fn a_failing_command_names_its_log_and_shows_its_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(SETUP_LOG);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "for i in $(seq 1 30); do echo line $i; done; echo boom >&2; exit 3"]);
        let message = format!("{:#}", run_logged(&mut cmd, &log).unwrap_err());
        assert!(message.contains(&format!("its output is in {}", log.display())), "{message}");
        assert!(message.contains("exit status: 3"), "{message}");
        assert!(message.contains("\n    boom") && message.contains("\n    line 12\n"), "{message}");
        assert!(!message.contains("line 11\n"), "20 lines, not more: {message}");
        // The log has everything, after the command.
        let text = fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("$ sh -c for i in"), "{text}");
        assert!(text.contains("line 1\n") && text.ends_with("line 30\nboom\n"), "{text}");
    }

    #[test]
    fn commands_append_to_the_log_and_print_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(SETUP_LOG);
        for word in ["one", "two"] {
            run_logged(Command::new("echo").arg(word), &log).unwrap();
        }
        assert_eq!(fs::read_to_string(&log).unwrap(), "$ echo one\none\n$ echo two\ntwo\n");
        let missing = run_logged(&mut Command::new("/nonexistent/fpae-test-program"), &log).unwrap_err();
        assert!(format!("{missing:#}").contains("cannot run `/nonexistent/fpae-test-program`"), "{missing:#}");
    }

    #[test]
    fn missing_marker_is_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_complete_marker(dir.path()), None);
    }
}
