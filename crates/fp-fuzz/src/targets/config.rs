//! Target `config`: a training configuration file with `--set KEY=VALUE`
//! overrides, as `fpae train CONFIG --set ...` reads it
//! ([`fp_train::Config::from_toml`]: parse, override, check kinds, validate).
//! A configuration that is accepted must also survive being written into a run
//! directory and read back (`train --resume` does that): its TOML parses to the
//! same configuration.
//!
//! Input: the config file's text, then each override after a NUL byte
//! (`text \0 train.epochs=5 \0 model.filters=[8, 16]`).

use std::path::Path;

use fp_train::Config;

/// Runs one input; see the module documentation for its layout.
pub fn parse_with_overrides(input: &[u8]) {
    let mut parts = input.split(|&b| b == 0);
    let Some(Ok(text)) = parts.next().map(std::str::from_utf8) else { return };
    let Ok(overrides) = parts.map(|p| std::str::from_utf8(p).map(str::to_owned)).collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let origin = Path::new("fuzz.toml");
    let Ok(config) = Config::from_toml(text, &overrides, origin) else { return };
    let written = config.to_toml();
    let read_back = Config::from_toml(&written, &[], origin)
        .unwrap_or_else(|e| panic!("the resolved config does not parse back: {e}\n{written}"));
    assert_eq!(read_back, config, "the resolved config parses back to itself:\n{written}");
}
