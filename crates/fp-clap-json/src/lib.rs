//! A clap command tree as one JSON value: every visible command and argument with
//! its help. `fpae help-json` prints fpae's, and `cargo xtask docs-check` renders it,
//! with xtask's own, into the README's command table, so that table lists exactly
//! the flags the binaries accept. One walk serves both: xtask cannot link fp-cli.

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command};
use serde_json::{Value, json};

/// A command, its visible flags and positionals, and its visible subcommands.
pub fn describe(command: &Command) -> Value {
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

/// Help text as a string, or null when there is none.
fn text(s: Option<&StyledStr>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}
