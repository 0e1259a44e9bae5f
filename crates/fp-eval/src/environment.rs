//! What a run records about where it was trained: the program (fpae's version
//! and commit, LibTorch's version), the CPU and the compute settings. `fpae
//! train` writes it into the run directory; the report shows it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{EvalError, Result};

/// The program that runs: what its build knows of itself (fp-cli's build
/// script finds the commit and the LibTorch version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program<'a> {
    /// fpae's version.
    pub version: &'a str,
    /// The git commit it was built from.
    pub commit: &'a str,
    /// The LibTorch version it links.
    pub libtorch: &'a str,
}

/// The file in a run directory.
pub const ENVIRONMENT_FILE: &str = "environment.json";

/// Where and with what a program ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// fpae's version.
    pub fpae: String,
    /// The git commit it was built from (`unknown` outside a checkout).
    pub commit: String,
    /// The LibTorch version it links.
    pub libtorch: String,
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs of the machine.
    pub logical_cpus: usize,
    /// LibTorch's compute threads.
    pub threads: i32,
    /// The device computed on.
    pub device: String,
    /// The arithmetic: f32, or bf16 mixed precision.
    pub compute: String,
    /// The operating system and architecture.
    pub os: String,
    /// When it was recorded (UTC, RFC 3339).
    pub recorded: String,
}

impl Environment {
    /// This process, `program`, computing on `device` in `compute`.
    pub fn current(program: &Program<'_>, device: &tch::Device, compute: &str) -> Self {
        Self {
            fpae: program.version.to_owned(),
            commit: program.commit.to_owned(),
            libtorch: program.libtorch.to_owned(),
            cpu: cpu_model().unwrap_or_else(|| "unknown".to_owned()),
            logical_cpus: std::thread::available_parallelism().map_or(0, usize::from),
            threads: tch::get_num_threads(),
            device: format!("{device:?}"),
            compute: compute.to_owned(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            recorded: jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default(),
        }
    }

    /// Writes it into the run directory `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(ENVIRONMENT_FILE);
        let json = serde_json::to_string_pretty(self).expect("the environment serializes");
        fp_io::write_file_atomically(&path, format!("{json}\n"))?;
        Ok(())
    }

    /// The one recorded in the run directory `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(ENVIRONMENT_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
        let environment = serde_json::from_str(&text).map_err(|source| EvalError::NotAnEnvironment { path, source })?;
        Ok(Some(environment))
    }

    /// Name and value pairs, for the report.
    pub fn facts(&self) -> Vec<(String, String)> {
        [
            ("fpae", format!("{} (commit {})", self.fpae, self.commit)),
            ("LibTorch", self.libtorch.clone()),
            ("CPU", format!("{} ({} logical CPUs)", self.cpu, self.logical_cpus)),
            ("threads", self.threads.to_string()),
            ("device", self.device.clone()),
            ("arithmetic", self.compute.clone()),
            ("system", self.os.clone()),
            ("recorded", self.recorded.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The first `model name` line of `/proc/cpuinfo`.
fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}
