//! Debian packages that some tasks need (a browser for the report's test,
//! allocators for the bench): installed with apt-get when missing and this
//! runs as root on a Debian-like system, else a note saying how.

use std::process::{Command, Stdio};

/// Runs `apt-get ARGS` non-interactively, its output on standard error.
pub fn apt_get(args: &[&str]) -> bool {
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .is_ok_and(|s| s.success())
}

/// `apt-get install` of `packages`, refreshing the package lists once when that fails.
pub fn apt_install(packages: &[&str]) -> bool {
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(packages);
    if apt_get(&args) {
        return true;
    }
    // Stale or empty package lists: refresh them once and try again.
    let _ = apt_get(&["update", "-q"]);
    apt_get(&args)
}

/// Whether apt-get can be run here, by this user.
pub fn can_install() -> bool {
    is_root() && Command::new("apt-get").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Whether this process runs as root (the `Uid:` line of /proc/self/status).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1)) == Some("0"))
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Makes sure `program` is on PATH, installing `package` when it can; says
/// what needs it (`why`) and how to install it otherwise.
pub fn ensure_program(program: &str, package: &str, why: &str) -> bool {
    if on_path(program) {
        return true;
    }
    if can_install() {
        eprintln!("installing {package} {why} (apt-get install -y) ...");
        if apt_install(&[package]) && on_path(program) {
            return true;
        }
    }
    eprintln!(
        "warning: {program} is not installed; it is needed {why} (Debian/Ubuntu: `sudo apt-get install {package}`)"
    );
    false
}
