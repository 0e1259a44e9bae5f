//! Golden outputs: the JSON that `fpae evaluate`, `fpae evaluate --benchmark`
//! and `fpae score` print for a tiny restoration model and a tiny benchmark of
//! real FVC2002 prints, held to the files recorded in `tests/golden/<ISA>/`.
//!
//! The network computes in f32, with one thread, but LibTorch's kernels differ
//! between instruction sets (AVX2, AVX-512), and so do the last bits of their sums
//! and, through the matcher, a few minutiae. So the outputs are recorded once per
//! instruction set, in a folder named for it ([`isa`]); on a CPU of a set with no
//! recording the test fails and says how to record one.
//!
//! Every field name, the order of the fields and every value must stay as
//! recorded: strings exactly, numbers within [`RELATIVE_TOLERANCE`]. What
//! changes from run to run is masked before the comparison, and only that:
//! timings (`restore_seconds_per_image`), the values of the `environment` object
//! (the machine and build it ran on) and the temporary folder the test runs in
//! (replaced by `$ROOT` wherever a string holds it).
//!
//! When an output changes on purpose, record it again and commit the new files:
//!
//! ```text
//! FPAE_RECORD_GOLDEN=1 cargo test -p fp-cli --test golden
//! ```

mod common;

use std::path::{Path, PathBuf};

use common::{fpae, last_line, text};
use serde_json::Value;

/// Set to re-record the golden files instead of comparing with them.
const RECORD_VAR: &str = "FPAE_RECORD_GOLDEN";
/// How far a number may stray from its recorded value, relative to it. The
/// network runs with one thread so that its sums are ordered the same way
/// every time; the slack is for the last bits of another CPU's instruction set.
const RELATIVE_TOLERANCE: f64 = 1e-9;
/// Fields whose values are timings: their presence is kept, their value masked.
const TIMINGS: [&str; 1] = ["restore_seconds_per_image"];
/// The object that records the machine and build an output was computed on
/// (commit, CPU, threads, precision, time): its fields are kept, their values masked.
const ENVIRONMENT: &str = "environment";

/// FVC2002 fingers 101 to 105, two impressions each, of two databases, with a
/// manifest of its own name (so that its benchmark is not taken for the
/// published one), and a one-epoch restoration config of a tiny U-Net on
/// 32x32 crops, in f32 (precision `auto` would compute in bf16 on CPUs that
/// have it, and record other numbers there).
fn project(fvc2002: &Path, root: &Path) {
    for db in ["DB1_B", "DB3_B"] {
        let folder = root.join("data").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        for finger in 101..=105 {
            for impression in 1..=2 {
                let name = format!("{finger}_{impression}.tif");
                std::fs::copy(fvc2002.join(db).join(&name), folder.join(&name)).unwrap();
            }
        }
    }
    std::fs::write(
        root.join("data/dataset.toml"),
        "name = \"fvc2002-few\"\nnaming = \"fvc\"\n[subsets.DB1_B]\nppi = 500\n[subsets.DB3_B]\nppi = 500\n",
    )
    .unwrap();
    std::fs::write(
        root.join("restore.toml"),
        "[data]\nroot = \"data\"\nresize = \"none\"\ncrop = 32\ncrops_per_image = 1\nsplit = \"by-finger\"\n\n\
         [model]\nkind = \"unet\"\ndepth = 2\nbase_width = 4\n\n\
         [task]\nkind = \"restore\"\n[[task.degradations]]\nkind = \"noise\"\nseverity = [0.1, 0.5]\n\n\
         [train]\nepochs = 1\nbatch_size = 8\ndevice = \"cpu\"\nprecision = \"f32\"\n",
    )
    .unwrap();
}

/// Runs fpae with one LibTorch thread, checks that it succeeded and that the
/// JSON it printed (its last line) is what it wrote to `out`, and returns the
/// text of `out`: the pretty form, whose fields are in the order they are
/// written (which [`Value`], sorting them, would lose).
fn run_json(args: &[&str], out: &str, root: &Path) -> String {
    let run = fpae(&[&["--threads", "1"], args, &["--json", "--out", out]].concat(), root);
    assert!(run.status.success(), "fpae {args:?}: {}", text(&run.stderr));
    let printed: Value = serde_json::from_str(&last_line(&run))
        .unwrap_or_else(|e| panic!("fpae {args:?} printed no JSON ({e}): {}", text(&run.stdout)));
    let written = std::fs::read_to_string(root.join(out)).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), printed, "{out} differs from what was printed");
    written
}

/// `text` with the volatile parts masked: `root` wherever it occurs, and the
/// value of every timing field (one to a line in the pretty form).
fn masked(text: &str, root: &str) -> String {
    let mut out = String::new();
    // The indent of the `environment` object's closing brace while inside it.
    let mut environment: Option<String> = None;
    for line in text.replace(root, "$ROOT").lines() {
        if let Some(close) = &environment {
            if line.trim_end_matches(',') == close {
                environment = None;
            } else if let Some((key, value)) = line.split_once("\": ") {
                let comma = if value.ends_with(',') { "," } else { "" };
                out += &format!("{key}\": \"<machine>\"{comma}\n");
                continue;
            }
        } else if let Some(indent) = line.strip_suffix(&format!("\"{ENVIRONMENT}\": {{")) {
            environment = Some(format!("{indent}}}"));
        }
        let timing = TIMINGS.iter().find_map(|key| {
            let (indent, value) = line.split_once(&format!("\"{key}\": "))?;
            let comma = if value.ends_with(',') { "," } else { "" };
            let value = value.trim_end_matches(',');
            value.parse::<f64>().is_ok().then(|| format!("{indent}\"{key}\": \"<timing>\"{comma}"))
        });
        out += timing.as_deref().unwrap_or(line);
        out.push('\n');
    }
    out
}

/// The object keys of a JSON text in the order they are written, so that a
/// reordered or renamed field shows even where [`Value`] sorts the keys.
fn keys_in_order(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    let mut current = String::new();
    let mut escaped = false;
    while let Some(c) = chars.next() {
        if in_string {
            if escaped {
                escaped = false;
                current.push(c);
            } else if c == '\\' {
                escaped = true;
                current.push(c);
            } else if c == '"' {
                in_string = false;
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&':') {
                    keys.push(std::mem::take(&mut current));
                }
                current.clear();
            } else {
                current.push(c);
            }
        } else if c == '"' {
            in_string = true;
        }
    }
    keys
}

/// Every difference between `got` and `want` at `place`, numbers within the tolerance.
fn differences(got: &Value, want: &Value, place: &str, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            if (g - w).abs() > RELATIVE_TOLERANCE * w.abs().max(f64::MIN_POSITIVE) && g != w {
                out.push(format!("{place}: {g} (recorded {w})"));
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            for key in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{place}.{key}: missing"));
            }
            for key in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{place}.{key}: not recorded"));
            }
            for (key, w) in w {
                if let Some(g) = g.get(key) {
                    differences(g, w, &format!("{place}.{key}"), out);
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                differences(g, w, &format!("{place}[{i}]"), out);
            }
        }
        (g, w) if g == w => {}
        (g, w) => out.push(format!("{place}: {g} (recorded {w})")),
    }
}

/// Compares `written` (masked) with the golden file `name`, or records it there.
/// The widest vector instruction set of this CPU that LibTorch's f32 kernels
/// use: `avx512` or `avx2` (from the flags of `/proc/cpuinfo`), else `other`.
fn isa() -> &'static str {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> =
        cpuinfo.lines().find(|l| l.starts_with("flags")).map(|l| l.split_whitespace().collect()).unwrap_or_default();
    if flags.contains(&"avx512f") {
        "avx512"
    } else if flags.contains(&"avx2") {
        "avx2"
    } else {
        "other"
    }
}

fn check(name: &str, written: &str, root: &Path) {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(isa()).join(name);
    let root = root.display().to_string();
    let got_text = masked(written, &root);
    if std::env::var_os(RECORD_VAR).is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got_text).unwrap();
        eprintln!("recorded {}", path.display());
        return;
    }
    let want_text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): nothing is recorded for this CPU's instruction set ({}); record it with \
             {RECORD_VAR}=1 cargo test -p fp-cli --test golden",
            path.display(),
            isa()
        )
    });
    let got: Value = serde_json::from_str(&got_text).unwrap();
    let want: Value = serde_json::from_str(&want_text).unwrap();
    let mut found = Vec::new();
    differences(&got, &want, "$", &mut found);
    assert!(
        found.is_empty(),
        "{name} differs from {} in {} places (record it again with {RECORD_VAR}=1 if that is intended):\n{}",
        path.display(),
        found.len(),
        found.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(keys_in_order(&got_text), keys_in_order(&want_text), "{name}: fields in another order");
}

#[test]
fn evaluate_benchmark_and_score_print_the_recorded_json() {
    let Some(fvc2002) = fp_testkit::dataset("fvc2002") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(&fvc2002, root);

    let out = fpae(&["benchmark", "make", "--data", "data", "--out", "bench"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fpae(&["--threads", "1", "train", "restore.toml", "--run-dir", "runs/r"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let evaluation = run_json(&["evaluate", "runs/r", "--precision", "f32"], "evaluation.json", root);
    check("evaluate.json", &evaluation, root);
    let benchmark = run_json(
        &["evaluate", "runs/r", "--benchmark", "bench", "--severity", "0.6", "--precision", "f32"],
        "benchmark.json",
        root,
    );
    check("evaluate-benchmark.json", &benchmark, root);
    let candidates = ["--originals", "bench/clean", "--candidates", "bench/degraded/noise"];
    let scores = run_json(&[&["score"][..], &candidates].concat(), "score.json", root);
    check("score.json", &scores, root);
}

#[test]
fn keys_are_read_in_the_order_they_are_written() {
    let text = r#"{"b": 1, "a": {"c\"d": "x:y", "e" : [ {"f": 2} ]}}"#;
    assert_eq!(keys_in_order(text), ["b", "a", "c\\\"d", "e", "f"]);
    let mut found = Vec::new();
    let want: Value = serde_json::from_str(r#"{"x": 1.0, "y": "s"}"#).unwrap();
    let got: Value = serde_json::from_str(r#"{"x": 1.000001, "z": "s"}"#).unwrap();
    differences(&got, &want, "$", &mut found);
    assert_eq!(found, ["$.y: missing", "$.z: not recorded", "$.x: 1.000001 (recorded 1)"]);
    let pretty = "{\n  \"model\": \"/tmp/x/runs/r\",\n  \"restore_seconds_per_image\": 0.25,\n  \"epoch\": 1\n}\n";
    assert_eq!(
        masked(pretty, "/tmp/x"),
        "{\n  \"model\": \"$ROOT/runs/r\",\n  \"restore_seconds_per_image\": \"<timing>\",\n  \"epoch\": 1\n}\n"
    );
}
