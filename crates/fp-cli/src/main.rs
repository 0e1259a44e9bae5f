//! `fpae`: train, evaluate and apply convolutional fingerprint autoencoders.

use std::process::ExitCode;

use clap::Parser;

/// Convolutional autoencoders that learn to reconstruct fingerprint images.
#[derive(Debug, Parser)]
#[command(name = "fpae", version)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
