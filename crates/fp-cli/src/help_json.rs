//! `fpae help-json` (hidden): every command and flag of fpae's clap definitions as one
//! JSON object, which `cargo xtask docs-check` renders into the README's command table,
//! so that table lists exactly the flags the binary accepts.
//!
//! xtask depends on no workspace crate (it must build before LibTorch exists), so it
//! reads this output instead of linking fp-cli; it describes its own commands with a
//! twin of [`describe`] (`xtask/src/docs_check.rs`), and both feed one renderer.

use std::process::ExitCode;

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command};
use serde_json::{Value, json};

/// Prints the description of `cli` (the whole `fpae` command) to stdout.
pub fn run(cli: &Command) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(&describe(cli))?);
    Ok(ExitCode::SUCCESS)
}

/// A command, its visible flags and positionals, and its visible subcommands.
fn describe(command: &Command) -> Value {
    let args: Vec<Value> = command.get_arguments().filter(|a| !a.is_hide_set()).map(describe_arg).collect();
    let commands: Vec<Value> = command.get_subcommands().filter(|c| !c.is_hide_set()).map(describe).collect();
    json!({
        "name": command.get_name(),
        "about": text(command.get_about()),
        "long_about": text(command.get_long_about()),
        "args": args,
        "commands": commands,
    })
}

/// One argument: how it is written, whether it takes a value, and its help.
fn describe_arg(arg: &Arg) -> Value {
    let value_names: Vec<&str> = arg.get_value_names().unwrap_or_default().iter().map(|n| n.as_str()).collect();
    let possible: Vec<String> =
        arg.get_possible_values().iter().filter(|p| !p.is_hide_set()).map(|p| p.get_name().to_owned()).collect();
    let defaults: Vec<String> = if arg.is_hide_default_value_set() {
        Vec::new()
    } else {
        arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect()
    };
    json!({
        "id": arg.get_id().as_str(),
        "long": arg.get_long(),
        "short": arg.get_short().map(String::from),
        "positional": arg.is_positional(),
        "required": arg.is_required_set(),
        "last": arg.is_last_set(),
        "takes_value": arg.get_action().takes_values(),
        "repeated": matches!(arg.get_action(), ArgAction::Append | ArgAction::Count),
        "value_names": value_names,
        "possible_values": possible,
        "default": defaults,
        "help": text(arg.get_long_help().or(arg.get_help())),
    })
}

fn text(s: Option<&StyledStr>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}
