//! `fpae help-json` (hidden): every command and flag of fpae's clap definitions as one
//! JSON object ([`fp_clap_json::describe`]), which `cargo xtask docs-check` renders into
//! the README's command table, so that table lists exactly the flags the binary accepts.
//!
//! xtask does not link fp-cli (it must build before LibTorch exists), so it reads this
//! output; it describes its own commands with the same function.

use std::process::ExitCode;

use clap::Command;

/// Prints the description of `cli` (the whole `fpae` command) to stdout.
pub fn run(cli: &Command) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(&fp_clap_json::describe(cli))?);
    Ok(ExitCode::SUCCESS)
}
