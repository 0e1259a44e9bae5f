//! Replays every seed and every input that once failed (`seeds/<target>/*`,
//! `regressions/<target>/*`) through its target with libFuzzer's limits: no
//! panic, no run longer than `INPUT_TIME_LIMIT`, no single allocation above
//! `ALLOCATION_LIMIT`. A plain `cargo test` runs it, so a bug that fuzzing once
//! found stays fixed.

use std::path::PathBuf;
use std::time::Duration;

use fp_fuzz::{Failure, INPUT_TIME_LIMIT, LimitedAllocator, TARGETS, replay};

#[global_allocator]
static ALLOCATOR: LimitedAllocator = LimitedAllocator::recording();

/// The files of `folder/<target>`, sorted; none if the folder does not exist.
fn inputs(folder: &str, target: &str) -> Vec<PathBuf> {
    let dir = fp_fuzz::crate_dir().join(folder).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_input_passes_its_target() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let seeds = inputs("seeds", target.name);
        assert!(
            !seeds.is_empty(),
            "no seeds for target {}: run `cargo run -p fp-fuzz --example make_seeds`",
            target.name
        );
        for path in seeds.iter().chain(&inputs("regressions", target.name)) {
            let input = std::fs::read(path).unwrap();
            if let Err(failure) = replay(target.run, &input, INPUT_TIME_LIMIT) {
                failures.push(format!("{} on {}: {failure}", target.name, path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} inputs fail:\n{}", failures.len(), failures.join("\n"));
}

/// `(before the first NUL, after it)`, as the multi-file targets split their input.
fn split_at_nul(input: &[u8]) -> (&[u8], &[u8]) {
    let at = input.iter().position(|&b| b == 0).expect("the seed has a NUL separator");
    (&input[..at], &input[at + 1..])
}

#[test]
fn the_seeds_are_inputs_the_readers_accept() {
    // Fuzzing mutates from the seeds: seeds the readers reject would start it in the error paths.
    let dir = tempfile::tempdir().unwrap();
    for path in inputs("seeds", "image") {
        let input = std::fs::read(&path).unwrap();
        let file = dir.path().join("print");
        std::fs::write(&file, &input[4..]).unwrap();
        let preprocess = fp_data::Preprocess {
            width: 16,
            height: 16,
            filter: fp_data::ResizeFilter::Bilinear,
            resize: fp_data::ResizeMode::Stretch,
        };
        fp_data::load_one(&file, &preprocess).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for path in inputs("seeds", "config") {
        let input = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        let mut parts = input.split('\0');
        let text = parts.next().unwrap();
        let overrides: Vec<String> = parts.map(str::to_owned).collect();
        fp_train::Config::from_toml(text, &overrides, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for path in inputs("seeds", "model") {
        let input = std::fs::read(&path).unwrap();
        let (config, weights) = split_at_nul(&input);
        std::fs::write(dir.path().join(fp_model::MODEL_CONFIG_FILE), config).unwrap();
        std::fs::write(dir.path().join(fp_model::MODEL_WEIGHTS_FILE), weights).unwrap();
        fp_model::load(dir.path(), tch::Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for path in inputs("seeds", "fetch_archive") {
        let input = std::fs::read(&path).unwrap();
        let (_, archive) = split_at_nul(&input);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        let names: Vec<String> =
            (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned()).collect();
        assert!(names.iter().filter(|n| n.ends_with(".tif")).count() == 2, "{}: {names:?}", path.display());
    }
    assert_eq!(inputs("seeds", "model").len(), 2, "a tutorial-cae and a unet");
}

#[test]
fn every_target_has_its_libfuzzer_binary() {
    for target in TARGETS {
        let bin = fp_fuzz::crate_dir().join("src/bin").join(format!("{}.rs", target.name));
        let source = std::fs::read_to_string(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert!(source.contains("LimitedAllocator::aborting()"), "{} watches allocations", bin.display());
    }
}

fn panics(_: &[u8]) {
    panic!("boom at {}", 42);
}

fn hangs(_: &[u8]) {
    std::thread::sleep(Duration::from_secs(60));
}

fn allocates_too_much(_: &[u8]) {
    // Zeroed memory is mapped lazily: this costs no real memory.
    let big = vec![0u8; fp_fuzz::ALLOCATION_LIMIT + 1];
    assert_eq!(big.len(), fp_fuzz::ALLOCATION_LIMIT + 1);
}

fn allocates_just_enough(_: &[u8]) {
    let big = vec![0u8; fp_fuzz::ALLOCATION_LIMIT];
    assert_eq!(big.len(), fp_fuzz::ALLOCATION_LIMIT);
}

#[test]
fn replay_reports_panics_hangs_and_large_allocations() {
    // Generous for what returns (a panic's backtrace takes a while to capture),
    // short for what hangs.
    let limit = Duration::from_secs(30);
    assert_eq!(replay(panics, b"", limit), Err(Failure::Panic("boom at 42".into())));
    assert_eq!(replay(allocates_too_much, b"", limit), Err(Failure::Allocation(fp_fuzz::ALLOCATION_LIMIT + 1)));
    assert_eq!(replay(allocates_just_enough, b"", limit), Ok(()));
    let short = Duration::from_millis(300);
    assert_eq!(replay(hangs, b"", short), Err(Failure::Hang(short)));
}
