//! `fpae export`: one checkpoint of a run as a self-contained model folder,
//! which `restore`, `reconstruct` and `evaluate` take in place of the run; or,
//! with `--format onnx`, a model's network as ONNX for inference runtimes,
//! written by `python -m fpae_torch.export` in LibTorch's Python.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::shared::{CheckpointArg, resolve_model};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The run directory; with `--format onnx` also a model folder or the name of a ready-made model.
    run_dir: PathBuf,
    /// The model folder to create (config.toml, model.toml, model.safetensors, state.json), or the .onnx file.
    #[arg(long, value_name = "DIR|FILE")]
    out: PathBuf,
    /// Which checkpoint of the run.
    #[arg(long, value_enum, default_value = "best")]
    checkpoint: CheckpointArg,
    /// What to write: a model folder, or the network as ONNX (dynamic batch, height and width; opset 17).
    #[arg(long, value_enum, default_value = "folder")]
    format: Format,
}

/// What `fpae export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A model folder.
    Folder,
    /// An ONNX graph of the network.
    Onnx,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() {
        bail!(
            "--out {}: already exists; choose another {}",
            args.out.display(),
            match args.format {
                Format::Folder => "folder",
                Format::Onnx => "file",
            }
        );
    }
    match args.format {
        Format::Folder => fp_train::export_model(&args.run_dir, args.checkpoint.into(), &args.out)?,
        Format::Onnx => {
            let model = resolve_model(&args.run_dir)?;
            let mut cmd = fp_model::python::module_command("fpae_torch.export")?;
            cmd.arg(&model)
                .arg("--out")
                .arg(&args.out)
                .arg("--checkpoint")
                .arg(fp_train::Checkpoint::from(args.checkpoint).as_str());
            let status = cmd.status().with_context(|| format!("cannot run {cmd:?}"))?;
            if !status.success() {
                bail!("python -m fpae_torch.export failed ({status}) for {}", model.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    println!("{}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
