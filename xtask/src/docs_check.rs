//! `cargo xtask docs-check [--write]`: numbers from one place.
//!
//! The docs quote things that have a source elsewhere: the README's command table comes
//! from the clap definitions (xtask's own, and `fpae help-json` for fpae's), tables and
//! headline numbers come from the JSON result files the commands wrote (`docs/bench/*.json`,
//! and each ready-made model's `models/<name>/check.json`, which fp-cli's models test measures again),
//! and the README's test count from the test functions in the tree. Each generated part of
//! a doc sits between two HTML comments (a *region*, e.g. `<!-- commands:begin -->` and
//! `<!-- commands:end -->`); each number quoted in prose is found by the text around it (a
//! *quote*, listed in [`QUOTES`]). Without `--write` every region that differs from its
//! rendering and every quote that differs from its JSON value is reported, naming the
//! file, the marker or the JSON file and pointer, and the task fails; with `--write` they
//! are rewritten in place (only between the markers, and only the quoted number).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use serde_json::Value;

use crate::project_root;

/// Arguments of `cargo xtask docs-check`.
#[derive(Debug, clap::Args)]
pub struct DocsCheckArgs {
    /// Rewrite the generated regions and quoted numbers from their sources instead of
    /// failing when they differ.
    #[arg(long)]
    pub write: bool,
    /// Read fpae's commands from this file (the output of `fpae help-json`) instead of
    /// running `cargo run -p fp-cli -- help-json`, which builds fpae if needed.
    #[arg(long, value_name = "FILE")]
    pub fpae_help: Option<PathBuf>,
}

/// The result file of the restoration benchmark quoted in docs/restoration.md and elsewhere.
const RESTORE_BENCH: &str = "docs/bench/restore-fvc2000-2002-on-fvc2002-0.6.json";
/// `fpae evaluate restore-fvc2002 --benchmark target/bench/fvc2002-restore-v1 --severity 0.6`
/// (its `restored/fvc2002-restore-v1.json`, without the per-print rows), shown on the model's card.
const RESTORE_FVC2002_EVAL: &str = "docs/bench/restore-fvc2002-on-fvc2002-0.6.json";
/// `fpae evaluate restore-fvc2000-2002 --benchmark target/bench/fvc2002-restore-v1 --severity 0.6`
/// (without the per-print rows); `RESTORE_BENCH` is `bench restore`'s JSON of the same model.
const RESTORE_BOTH_EVAL_FVC2002: &str = "docs/bench/restore-fvc2000-2002-on-fvc2002-0.6-evaluate.json";
/// `fpae evaluate restore-fvc2000-2002 --benchmark target/bench/fvc2000-restore-v1 --severity 0.6`.
const RESTORE_BOTH_EVAL_FVC2000: &str = "docs/bench/restore-fvc2000-2002-on-fvc2000-0.6.json";
/// `fpae evaluate restore-fvc2002 --benchmark target/bench/fvc2000-restore-v1 --severity 0.6`.
const RESTORE_FVC2002_EVAL_FVC2000: &str = "docs/bench/restore-fvc2002-on-fvc2000-0.6.json";
/// `fpae evaluate runs/restore-wide-ctx-ft --benchmark target/bench/fvc2002-restore-v1 --severity 0.6`
/// and the same on `fvc2000-restore-v1` (without the per-print rows): the wide-damage recipe
/// with clean crops, rendered into docs/restoration.md beside `restore-fvc2002`'s evaluations.
const RESTORE_WIDE_FT: [&str; 2] =
    ["docs/bench/restore-wide-ctx-ft-on-fvc2002-0.6.json", "docs/bench/restore-wide-ctx-ft-on-fvc2000-0.6.json"];
/// `fpae evaluate restore --benchmark target/bench/fvc2002-restore-v1 --severity 0.6` and the same
/// on `fvc2000-restore-v1` (without the per-print rows): the shipped restoration model, on its card.
const RESTORE_SHIPPED: [&str; 2] = ["docs/bench/restore-on-fvc2002-0.6.json", "docs/bench/restore-on-fvc2000-0.6.json"];
/// The shipped restoration model's card.
const RESTORE_SHIPPED_CARD: &str = "models/restore/MODEL.md";
/// Leave-kind-out: `fpae evaluate MODEL --benchmark target/bench/<dataset>-restore-v1-lko --severity 0.6`
/// (without the per-print rows) on the benchmarks of the three kinds that
/// `configs/restore-wide-held-out-kinds.toml` leaves out, per benchmark: the run trained without
/// them, the same run with every kind, and `restore-fvc2002` (trained before those kinds existed).
const HELD_OUT_KINDS: [(&str, [&str; 3]); 2] = [
    (
        "FVC2002",
        [
            "docs/bench/held-out-kinds/restore-wide-lko-on-fvc2002.json",
            "docs/bench/held-out-kinds/restore-wide-ft-on-fvc2002.json",
            "docs/bench/held-out-kinds/restore-fvc2002-on-fvc2002.json",
        ],
    ),
    (
        "FVC2000",
        [
            "docs/bench/held-out-kinds/restore-wide-lko-on-fvc2000.json",
            "docs/bench/held-out-kinds/restore-wide-ft-on-fvc2000.json",
            "docs/bench/held-out-kinds/restore-fvc2002-on-fvc2000.json",
        ],
    ),
];
/// The ablation of the wide recipe's last stage (`data.mix`, docs/restoration.md): each arm
/// starts from the same checkpoint (the best of `runs/restore-wide-ctx-ft`, the first row) and
/// trains 3 epochs of 3,072 crops with the same seed and settings, changing one thing; their
/// evaluations (`fpae evaluate RUN --benchmark target/bench/<dataset>-restore-v1 --severity
/// 0.6`, without the per-print rows) on FVC2002 and FVC2000, in that order.
const ABLATION: [(&str, [&str; 2]); 4] = [
    ("no last stage: its starting point", RESTORE_WIDE_FT),
    (
        "the recipe: `ssim+l1+orientation`, real and synthetic prints",
        ["docs/bench/ablation/recipe-on-fvc2002.json", "docs/bench/ablation/recipe-on-fvc2000.json"],
    ),
    (
        "without the orientation term: `ssim+l1`",
        ["docs/bench/ablation/ssim-l1-on-fvc2002.json", "docs/bench/ablation/ssim-l1-on-fvc2000.json"],
    ),
    (
        "without synthetic prints: FVC2002's only",
        ["docs/bench/ablation/no-synth-on-fvc2002.json", "docs/bench/ablation/no-synth-on-fvc2000.json"],
    ),
];
/// The result file of `cargo xtask bench synth` quoted in docs/synthetic.md.
const SYNTH_BENCH: &str = "docs/bench/synth.json";
/// The result of `cargo xtask bench train` on the CPU with AVX512-BF16, quoted for bf16's speed-up.
const TRAIN_BENCH: &str = "docs/bench/train-avx512-bf16.json";

/// `cargo xtask bench restore --model models/restore-fvc2000-2002 --severity 0.6 --kind noise --baseline gabor
/// --no-clean --repeats 3 --force --fpae-baseline target/bench/fpae-spinning`: restoration speed of fpae, the
/// PyTorch twin, ONNX Runtime and pyfing, rendered into docs/performance.md.
const RESTORE_SPEED: &str = "docs/bench/restore-speed-noise-0.6.json";
/// `cargo xtask bench restore --model models/restore --severity 0.6 --kind noise --baseline gabor --no-clean
/// --repeats 3` on an idle machine: the shipped model's speed, rendered into docs/performance.md.
const RESTORE_SPEED_QUIET: &str = "docs/bench/restore-speed-quiet-noise-0.6.json";
/// `cargo xtask bench train --config configs/restore-wide.toml --repeats 3 --steps 3 --force`: the
/// restoration U-Net's training step in fpae and in the PyTorch twin, rendered into docs/performance.md.
const TRAIN_RESTORE_WIDE: &str = "docs/bench/train-restore-wide.json";
/// The same two measurements (`bench restore` of the shipped model, then `bench train` of the
/// restoration recipe) on an idle CPU with AMX-BF16, where fpae and the twin compute in bf16.
const RESTORE_SPEED_AMX: &str = "docs/bench/restore-speed-amx-noise-0.6.json";
/// The same with `--workers 1`: every tool on one core.
const RESTORE_SPEED_AMX_1CORE: &str = "docs/bench/restore-speed-amx-1core-noise-0.6.json";
const TRAIN_RESTORE_WIDE_AMX: &str = "docs/bench/train-restore-wide-amx.json";
/// docs/performance.md's restoration speed tables (`bench restore`) by region name.
const RESTORE_SPEED_TABLES: [(&str, &str); 4] = [
    ("restore-speed", RESTORE_SPEED),
    ("restore-speed-quiet", RESTORE_SPEED_QUIET),
    ("restore-speed-amx", RESTORE_SPEED_AMX),
    ("restore-speed-amx-1core", RESTORE_SPEED_AMX_1CORE),
];
/// docs/performance.md's restoration training tables (`bench train --config`) by region name.
const RECIPE_TRAINING_TABLES: [(&str, &str); 2] =
    [("train-restore-wide", TRAIN_RESTORE_WIDE), ("train-restore-wide-amx", TRAIN_RESTORE_WIDE_AMX)];
/// `fpae evaluate restore --benchmark target/bench/fvc2002-restore-v1 --severity 0.6` on that CPU,
/// where precision `auto` restores in bf16, each set beside the f32 evaluation of the same
/// weights (by region name): with the group norms computing on f32 copies, then reading bf16.
const RESTORE_SHIPPED_BF16: [(&str, &str); 2] = [
    ("restore-bf16-against-f32", "docs/bench/restore-bf16-on-fvc2002-0.6.json"),
    ("restore-bf16-gn-against-f32", "docs/bench/restore-bf16-gn-on-fvc2002-0.6.json"),
];

/// How a JSON number is written in a doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// With this many decimals.
    Fixed(usize),
    /// Times 100, with this many decimals (a rate quoted in %).
    Percent(usize),
}

impl Format {
    fn render(self, value: f64) -> String {
        match self {
            Format::Fixed(d) => format!("{value:.d$}"),
            Format::Percent(d) => format!("{:.d$}", 100.0 * value),
        }
    }
}

/// A number quoted in a doc's prose or in a hand-made table: every place in `doc` where
/// `before`, a number and `after` follow each other must show the value at `pointer` of
/// `json`, written as `format`; at least one such place must exist.
#[derive(Debug, Clone, Copy)]
pub struct Quote {
    /// The doc, relative to the repository root.
    pub doc: &'static str,
    /// The text just before the number.
    pub before: &'static str,
    /// The text just after it.
    pub after: &'static str,
    /// The result file, relative to the repository root.
    pub json: &'static str,
    /// The value's JSON pointer (RFC 6901) in it.
    pub pointer: &'static str,
    /// How the doc writes it.
    pub format: Format,
}

/// The training speed of our bf16 over our f32 (`cargo xtask bench train`), that `doc`
/// quotes with `decimals` decimals between `before` and `after`.
const fn bf16_speedup(doc: &'static str, before: &'static str, after: &'static str, decimals: usize) -> Quote {
    Quote {
        doc,
        before,
        after,
        json: TRAIN_BENCH,
        pointer: "/ratio_bf16_over_f32_ours",
        format: Format::Fixed(decimals),
    }
}

/// The pooled type-II rate of the degraded prints in the restoration benchmark, the
/// same for every model (the same degraded prints).
const POOLED_DEGRADED: &str = "/all/degraded/identity/type2_rate_40";

/// The model card of the restoration model the benchmark measures.
const RESTORE_MODEL_CARD: &str = "models/restore-fvc2000-2002/MODEL.md";

/// The kind-averaged type-II rate of the degraded prints at severity 0.6.
const KIND_AVERAGED_DEGRADED: &str = "/summary/0.6/degraded/type2_rate_40";

/// A rate of the restoration benchmark, at `pointer` in its result file, that `doc`
/// quotes as a percentage with one decimal between `before` and `after`.
const fn restore_rate(doc: &'static str, before: &'static str, after: &'static str, pointer: &'static str) -> Quote {
    Quote { doc, before, after, json: RESTORE_BENCH, pointer, format: Format::Percent(1) }
}

/// A number of an `fpae evaluate --benchmark` result file, at `pointer`, that `doc` quotes
/// between `before` and `after` as written by `format`.
const fn evaluated(
    doc: &'static str,
    before: &'static str,
    after: &'static str,
    json: &'static str,
    pointer: &'static str,
    format: Format,
) -> Quote {
    Quote { doc, before, after, json, pointer, format }
}

/// The pooled type-II rate at 40 of a benchmark evaluation's restorations.
const RESTORED_TYPE2: &str = "/restored/all/identity/type2_rate_40";

/// Every quoted number that docs-check holds to its result file. Rates of the restoration
/// benchmark are *pooled* (`/all/...`, every comparison of every degraded print) or
/// *kind-averaged* (`/summary/<severity>/...`, each of the 13 kinds weighted the same);
/// the docs say which they quote.
pub const QUOTES: &[Quote] = &[
    // bf16 over f32, training, on the CPU that has AVX512-BF16.
    bf16_speedup("README.md", "natively (about ", "x faster", 1),
    bf16_speedup("README.md", "bf16 trains about ", "x as fast", 1),
    bf16_speedup("docs/training.md", "about ", " times as fast as f32", 1),
    bf16_speedup("docs/performance.md", "| our bf16 over our f32 (train) | ", "x |", 2),
    bf16_speedup("docs/performance.md", "| bf16 training >= 4x our own f32 | ", "x |", 2),
    bf16_speedup("docs/performance.md", "halved bytes. ", "x is about what this hardware allows", 1),
    Quote {
        doc: "docs/performance.md",
        before: "| train bf16 (PyTorch: autocast + channels-last) | ",
        after: " |",
        json: TRAIN_BENCH,
        pointer: "/ours_bf16_train_ips",
        format: Format::Fixed(1),
    },
    // The restoration benchmark of restore-fvc2000-2002 on FVC2002 at severity 0.6.
    restore_rate("README.md", "severity 0.6:\n", " % and ", "/all/fpae/identity/type2_rate_40"),
    Quote {
        doc: "README.md",
        before: "restored, against ",
        after: " % and ",
        json: RESTORE_FVC2002_EVAL,
        pointer: "/restored/all/identity/type2_rate_40",
        format: Format::Percent(1),
    },
    restore_rate("docs/restoration.md", "the clean prints reach ", " %:", "/summary/0.6/originals_type2_rate_40"),
    Quote {
        doc: "docs/restoration.md",
        before: "so these are upper bounds): fpae ",
        after: " s,",
        json: RESTORE_BENCH,
        pointer: "/timing/fpae/per_image_s",
        format: Format::Fixed(3),
    },
    Quote {
        doc: "docs/restoration.md",
        before: "s, pyfing-gabor ",
        after: " s,",
        json: RESTORE_BENCH,
        pointer: "/timing/pyfing-gabor/per_image_s",
        format: Format::Fixed(3),
    },
    Quote {
        doc: "docs/restoration.md",
        before: "pyfing-snfen ",
        after: " s.",
        json: RESTORE_BENCH,
        pointer: "/timing/pyfing-snfen/per_image_s",
        format: Format::Fixed(3),
    },
    restore_rate(
        "docs/restoration.md",
        "the better pyfing pipeline** (",
        " % of the gap",
        "/summary/0.6/gap_recovered/fpae",
    ),
    restore_rate("docs/restoration.md", "of the gap against\n  ", " %), and", "/summary/0.6/gap_recovered/pyfing-best"),
    Quote {
        doc: "docs/restoration.md",
        before: "grey-level prints (SSIM ",
        after: " against",
        json: RESTORE_BENCH,
        pointer: "/summary/0.6/fpae/ssim",
        format: Format::Fixed(3),
    },
    Quote {
        doc: "docs/restoration.md",
        before: "against ",
        after: " for SNFEN's binary ridge maps",
        json: RESTORE_BENCH,
        pointer: "/summary/0.6/pyfing-snfen/ssim",
        format: Format::Fixed(3),
    },
    restore_rate("docs/restoration.md", "themselves (type-II ", " % as they are", "/do_no_harm/clean/type2_rate_40"),
    restore_rate("docs/restoration.md", "not on minutiae recall**: ", " %", "/do_no_harm/fpae/minutiae_recall"),
    restore_rate("docs/results.md", "weight (", " % degraded at 0.6 there, kind-averaged", KIND_AVERAGED_DEGRADED),
    restore_rate("docs/results.md", "against ", " % pooled here", POOLED_DEGRADED),
    // Every `FVC2002 | all` row of the cross-dataset tables starts with the pooled
    // degraded rate, the same for every model (the same degraded prints).
    restore_rate("docs/results.md", "| FVC2002 | all | ", " % |", POOLED_DEGRADED),
    restore_rate(RESTORE_MODEL_CARD, "which gives ", " % degraded on FVC2002", KIND_AVERAGED_DEGRADED),
    restore_rate(RESTORE_MODEL_CARD, "where the pooled rate is ", " %:", POOLED_DEGRADED),
    restore_rate(RESTORE_MODEL_CARD, "| FVC2002 | all | ", " % |", POOLED_DEGRADED),
    restore_rate(RESTORE_MODEL_CARD, "| FVC2002 | all | 47.8 % | ", " % |", "/all/fpae/identity/type2_rate_40"),
    // The ready-made restoration models on both benchmarks (`fpae evaluate --benchmark`).
    evaluated("README.md", "severity 0.6:\n", " % and", RESTORE_BOTH_EVAL_FVC2002, RESTORED_TYPE2, Format::Percent(1)),
    evaluated("README.md", " % and ", " % restored", RESTORE_BOTH_EVAL_FVC2000, RESTORED_TYPE2, Format::Percent(1)),
    evaluated("README.md", "restored, against ", " % and", RESTORE_FVC2002_EVAL, RESTORED_TYPE2, Format::Percent(1)),
    evaluated(
        "README.md",
        " % and ",
        " % for `restore-fvc2002`",
        RESTORE_FVC2002_EVAL_FVC2000,
        RESTORED_TYPE2,
        Format::Percent(1),
    ),
    evaluated(
        RESTORE_MODEL_CARD,
        "better (SSIM ",
        " against",
        RESTORE_BOTH_EVAL_FVC2000,
        "/restored/all/ssim",
        Format::Fixed(3),
    ),
    evaluated(
        RESTORE_MODEL_CARD,
        " against ",
        "; PSNR",
        RESTORE_FVC2002_EVAL_FVC2000,
        "/restored/all/ssim",
        Format::Fixed(3),
    ),
    evaluated(
        RESTORE_MODEL_CARD,
        "; PSNR ",
        " dB against",
        RESTORE_BOTH_EVAL_FVC2000,
        "/restored/all/psnr",
        Format::Fixed(1),
    ),
    evaluated(
        RESTORE_MODEL_CARD,
        " dB against ",
        " dB). Impostor",
        RESTORE_FVC2002_EVAL_FVC2000,
        "/restored/all/psnr",
        Format::Fixed(1),
    ),
    evaluated(
        "docs/results.md",
        "structure (SSIM ",
        " against",
        RESTORE_BOTH_EVAL_FVC2000,
        "/restored/all/ssim",
        Format::Fixed(3),
    ),
    evaluated(
        "docs/results.md",
        " against ",
        ", PSNR",
        RESTORE_FVC2002_EVAL_FVC2000,
        "/restored/all/ssim",
        Format::Fixed(3),
    ),
    evaluated(
        "docs/results.md",
        ", PSNR ",
        " dB against",
        RESTORE_BOTH_EVAL_FVC2000,
        "/restored/all/psnr",
        Format::Fixed(1),
    ),
    evaluated(
        "docs/results.md",
        " dB against\n",
        " dB). It is",
        RESTORE_FVC2002_EVAL_FVC2000,
        "/restored/all/psnr",
        Format::Fixed(1),
    ),
    evaluated("docs/results.md", "low on both (", " and", RESTORE_FVC2002_EVAL, "/restored/all/psnr", Format::Fixed(1)),
    evaluated(
        "docs/results.md",
        " and ",
        " dB) because",
        RESTORE_FVC2002_EVAL_FVC2000,
        "/restored/all/psnr",
        Format::Fixed(1),
    ),
    // native-cae-fvc2002 on every FVC2000 print (`fpae evaluate --data data/fvc2000 --split all`).
    evaluated(
        "docs/results.md",
        "identity: ",
        " % of FVC2000 reconstructions",
        "docs/bench/native-cae-fvc2002-on-fvc2000-all.json",
        "/identity/type1_rate_40",
        Format::Percent(1),
    ),
    // `cargo xtask bench synth`.
    Quote {
        doc: "docs/synthetic.md",
        before: "prints in ",
        after: " s, **",
        json: SYNTH_BENCH,
        pointer: "/synth/seconds",
        format: Format::Fixed(1),
    },
    Quote {
        doc: "docs/synthetic.md",
        before: "s, **",
        after: " prints/s**",
        json: SYNTH_BENCH,
        pointer: "/synth/prints_per_s",
        format: Format::Fixed(1),
    },
    Quote {
        doc: "docs/synthetic.md",
        before: "met.** ",
        after: " % over all",
        json: SYNTH_BENCH,
        pointer: "/datasets/synth/overall/type2/rate_40",
        format: Format::Percent(1),
    },
];

/// A generated part of a doc: what stands between `begin` and `end` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The doc, relative to the repository root.
    pub doc: String,
    /// The opening marker, e.g. `<!-- commands:begin -->`.
    pub begin: String,
    /// The closing marker.
    pub end: String,
    /// The rendering. A block (one with a line break) stands on lines of its own between
    /// the markers; anything else stands inline, right between them.
    pub content: String,
}

impl Region {
    fn table(doc: &str, name: &str, content: String) -> Self {
        Region {
            doc: doc.to_owned(),
            begin: format!("<!-- table:{name} begin -->"),
            end: format!("<!-- table:{name} end -->"),
            content,
        }
    }

    fn inner(&self) -> String {
        if self.content.contains('\n') { format!("\n{}\n", self.content.trim_end()) } else { self.content.clone() }
    }
}

/// `cargo xtask docs-check`.
pub fn run(args: &DocsCheckArgs) -> Result<()> {
    let root = project_root();
    let fpae = match &args.fpae_help {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?,
        None => fpae_help_json(&root)?,
    };
    let fpae: Value = serde_json::from_str(&fpae).context("`fpae help-json` printed no JSON")?;
    let regions = regions(&root, &fpae)?;
    let problems = check(&root, &regions, QUOTES, args.write)?;
    if problems.is_empty() {
        println!(
            "docs-check: {} regions and {} quoted numbers agree with their sources{}",
            regions.len(),
            QUOTES.len(),
            if args.write { " (rewritten where they differed)" } else { "" }
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!(
        "{} in the docs differ from their sources; `cargo xtask docs-check --write` rewrites them",
        crate::plural(problems.len(), "place")
    )
}

/// Checks (or with `write`, rewrites) every region and quote; returns what differs.
pub fn check(root: &Path, regions: &[Region], quotes: &[Quote], write: bool) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut docs: Vec<&str> = regions.iter().map(|r| r.doc.as_str()).chain(quotes.iter().map(|q| q.doc)).collect();
    docs.sort_unstable();
    docs.dedup();
    for doc in docs {
        let path = root.join(doc);
        let original = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut text = original.clone();
        for region in regions.iter().filter(|r| r.doc == doc) {
            match splice(&text, &region.begin, &region.end, &region.inner()) {
                Ok((_, false)) => {}
                Ok((new, true)) if write => text = new,
                Ok((new, true)) => {
                    let (line, was, will) = first_difference(&text, &new);
                    problems.push(format!(
                        "{doc}:{line}: the region {} ... {} differs from its rendering: {was:?} where it renders {will:?}",
                        region.begin, region.end
                    ));
                }
                Err(e) => problems.push(format!("{doc}: {e}")),
            }
        }
        for quote in quotes.iter().filter(|q| q.doc == doc) {
            let expected = match json_number(root, quote.json, quote.pointer) {
                Ok(v) => quote.format.render(v),
                Err(e) => {
                    problems.push(format!("{doc}: {e:#}"));
                    continue;
                }
            };
            let places = quoted(&text, quote.before, quote.after);
            if places.is_empty() {
                problems.push(format!(
                    "{doc}: no number between {:?} and {:?} (it should quote {} {} = {expected})",
                    quote.before, quote.after, quote.json, quote.pointer
                ));
            }
            // From the end, so that rewriting one place leaves the others' offsets as they were.
            for (start, end) in places.into_iter().rev() {
                let found = &text[start..end];
                if found == expected {
                    continue;
                }
                if write {
                    text.replace_range(start..end, &expected);
                } else {
                    let line = text[..start].matches('\n').count() + 1;
                    problems.push(format!(
                        "{doc}:{line}: quotes {found} where {} {} gives {expected}",
                        quote.json, quote.pointer
                    ));
                }
            }
        }
        if write && text != original {
            crate::bench_restore::write_atomically(&path, &text)?;
            println!("rewrote {doc}");
        }
    }
    Ok(problems)
}

/// `text` with what stands between `begin` and `end` replaced by `inner`, and whether that
/// changed anything. Each marker must occur exactly once, `begin` first.
pub fn splice(text: &str, begin: &str, end: &str, inner: &str) -> Result<(String, bool)> {
    let count = |m: &str| text.matches(m).count();
    if count(begin) != 1 || count(end) != 1 {
        bail!("expected {begin} and {end} once each, found them {} and {} times", count(begin), count(end));
    }
    let start = text.find(begin).expect("counted") + begin.len();
    let stop = text.find(end).expect("counted");
    if stop < start {
        bail!("{end} comes before {begin}");
    }
    if &text[start..stop] == inner {
        return Ok((text.to_owned(), false));
    }
    Ok((format!("{}{inner}{}", &text[..start], &text[stop..]), true))
}

/// The first line (1-based) where `old` and `new` differ, and that line in each ("" past the
/// end), each cut to a few dozen characters around the first character that differs.
fn first_difference(old: &str, new: &str) -> (usize, String, String) {
    let (mut a, mut b) = (old.lines(), new.lines());
    let mut line = 1;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                let (x, y) = (x.unwrap_or(""), y.unwrap_or(""));
                let same = x.chars().zip(y.chars()).take_while(|(p, q)| p == q).count();
                let from = same.saturating_sub(30);
                let cut = |s: &str| {
                    let part: String = s.chars().skip(from).take(90).collect();
                    let more = if s.chars().count() > from + 90 { "..." } else { "" };
                    format!("{}{part}{more}", if from > 0 { "..." } else { "" })
                };
                return (line, cut(x), cut(y));
            }
        }
    }
}

/// The byte ranges of the numbers that stand between `before` and `after` in `text`.
fn quoted(text: &str, before: &str, after: &str) -> Vec<(usize, usize)> {
    let is_number = |s: &str| {
        !s.is_empty()
            && s.chars().any(|c| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+' | '−'))
    };
    let mut places = Vec::new();
    for (at, _) in text.match_indices(before) {
        let start = at + before.len();
        let rest = &text[start..];
        // A number is short: `after` must start within the next few characters.
        if let Some(len) = rest.find(after)
            && rest[..len].chars().count() <= 24
            && is_number(&rest[..len])
        {
            places.push((start, start + len));
        }
    }
    places
}

/// The number at `pointer` in the JSON file `file` (relative to `root`).
fn json_number(root: &Path, file: &str, pointer: &str) -> Result<f64> {
    let json = read_json(root, file)?;
    json.pointer(pointer).and_then(Value::as_f64).with_context(|| format!("{file} has no number at {pointer}"))
}

fn read_json(root: &Path, file: &str) -> Result<Value> {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Every region of every doc, rendered from its source.
pub fn regions(root: &Path, fpae: &Value) -> Result<Vec<Region>> {
    let xtask = fp_clap_json::describe(&crate::Cli::command());
    let restore = read_json(root, RESTORE_BENCH)?;
    let synth = read_json(root, SYNTH_BENCH)?;
    let mut regions = vec![
        Region {
            doc: "README.md".into(),
            begin: "<!-- commands:begin -->".into(),
            end: "<!-- commands:end -->".into(),
            content: command_table(&xtask, fpae),
        },
        Region {
            doc: "README.md".into(),
            begin: "<!-- tests:begin -->".into(),
            end: "<!-- tests:end -->".into(),
            content: count_tests(root)?.to_string(),
        },
        Region::table("docs/restoration.md", "restoration-kinds", restoration_kinds(&restore)?),
        Region::table("docs/restoration.md", "restoration-average", restoration_average(&restore)?),
        Region::table("docs/restoration.md", "restoration-do-no-harm", restoration_do_no_harm(&restore)?),
        Region::table("docs/synthetic.md", "synth", crate::bench_synth::markdown_table(&synth)),
        Region::table(
            "models/restore-fvc2002/MODEL.md",
            "fvc2002-restore-v1",
            by_sensor(&read_json(root, RESTORE_FVC2002_EVAL)?, RESTORE_FVC2002_EVAL)?,
        ),
    ];
    // docs/performance.md's speed tables, each rendered from one `bench restore` or
    // `bench train --config` result.
    for (name, file) in RESTORE_SPEED_TABLES {
        regions.push(Region::table(
            "docs/performance.md",
            name,
            crate::bench_restore::speed_table(&read_json(root, file)?),
        ));
    }
    for (name, file) in RECIPE_TRAINING_TABLES {
        regions.push(Region::table("docs/performance.md", name, crate::bench::recipe_table(&read_json(root, file)?)));
    }
    for (name, file) in RESTORE_SHIPPED_BF16 {
        regions.push(Region::table(
            "docs/performance.md",
            name,
            precisions_against(
                &(RESTORE_SHIPPED[0], read_json(root, RESTORE_SHIPPED[0])?),
                &(file, read_json(root, file)?),
            )?,
        ));
    }

    regions.extend(model_regions(root, &restore)?);
    Ok(regions)
}

/// The output of `fpae help-json`, built by cargo if needed.
fn fpae_help_json(root: &Path) -> Result<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "-p", "fp-cli", "--", "help-json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("`cargo run -p fp-cli -- help-json` failed ({})", output.status);
    }
    String::from_utf8(output.stdout).context("`fpae help-json` printed something that is not UTF-8")
}

// ---------------------------------------------------------------------------------------
// The command table

/// The README's command table: a row for every command of xtask (`cargo xtask ...`) and
/// of fpae, each with every flag it takes and their help.
pub fn command_table(xtask: &Value, fpae: &Value) -> String {
    let mut rows = vec!["| command | what it does |".to_owned(), "| --- | --- |".to_owned()];
    rows_of(xtask, "cargo xtask", &mut rows);
    // fpae's own flags (global, taken by every command) in a row of their own.
    let about =
        format!("Every fpae command takes these.{}", flag_help(fpae["args"].as_array().map_or(&[][..], Vec::as_slice)));
    rows.push(format!("| `{}` | {} |", cell(&synopsis("fpae", fpae)), cell(&about)));
    for sub in fpae["commands"].as_array().into_iter().flatten() {
        rows_of(sub, &format!("fpae {}", sub["name"].as_str().unwrap_or("?")), &mut rows);
    }
    rows.join("\n")
}

/// The rows of `command` (called `path`): its own, or one per leaf subcommand.
fn rows_of(command: &Value, path: &str, rows: &mut Vec<String>) {
    let subs = command["commands"].as_array().map_or(&[][..], Vec::as_slice);
    if subs.is_empty() {
        let about = command["long_about"].as_str().or(command["about"].as_str()).unwrap_or("");
        let args = command["args"].as_array().map_or(&[][..], Vec::as_slice);
        let text = format!("{}{}", one_line(about), flag_help(args));
        rows.push(format!("| `{}` | {} |", cell(&synopsis(path, command)), cell(&text)));
        return;
    }
    for sub in subs {
        rows_of(sub, &format!("{path} {}", sub["name"].as_str().unwrap_or("?")), rows);
    }
}

/// `path POSITIONAL... [--flag VALUE]... [-- ARGS...]`, and ` COMMAND` for a command with subcommands.
fn synopsis(path: &str, command: &Value) -> String {
    let args = command["args"].as_array().map_or(&[][..], Vec::as_slice);
    let mut parts = vec![path.to_owned()];
    let positional = |a: &&Value| a["positional"].as_bool() == Some(true);
    let last = |a: &&Value| a["last"].as_bool() == Some(true);
    parts.extend(args.iter().filter(|a| positional(a) && !last(a)).map(usage));
    parts.extend(args.iter().filter(|a| !positional(a)).map(usage));
    parts.extend(args.iter().filter(|a| positional(a) && last(a)).map(usage));
    if command["commands"].as_array().is_some_and(|c| !c.is_empty()) {
        parts.push("COMMAND".into());
    }
    parts.join(" ")
}

/// One argument as the synopsis writes it: `NAME`, `[NAME]...`, `--flag VALUE`, `[--flag]`.
fn usage(arg: &Value) -> String {
    let spec = spec(arg);
    let repeated = arg["repeated"].as_bool() == Some(true);
    let required = arg["required"].as_bool() == Some(true);
    let spec = if arg["last"].as_bool() == Some(true) { format!("-- {spec}") } else { spec };
    let spec = if required { spec } else { format!("[{spec}]") };
    if repeated { format!("{spec}...") } else { spec }
}

/// An argument without brackets: `NAME`, `--flag VALUE`, `--flag a|b`, `--flag`.
fn spec(arg: &Value) -> String {
    let value = || {
        let possible = strings(&arg["possible_values"]);
        if !possible.is_empty() && possible.len() <= MAX_INLINE_CHOICES {
            return possible.join("|");
        }
        let names = strings(&arg["value_names"]);
        if names.is_empty() { arg["id"].as_str().unwrap_or("VALUE").to_uppercase() } else { names.join(" ") }
    };
    if arg["positional"].as_bool() == Some(true) {
        let names = strings(&arg["value_names"]);
        return if names.is_empty() { arg["id"].as_str().unwrap_or("ARG").to_uppercase() } else { names.join(" ") };
    }
    let flag = match (arg["long"].as_str(), arg["short"].as_str()) {
        (Some(long), _) => format!("--{long}"),
        (None, Some(short)) => format!("-{short}"),
        (None, None) => arg["id"].as_str().unwrap_or("?").to_owned(),
    };
    if arg["takes_value"].as_bool() == Some(true) { format!("{flag} {}", value()) } else { flag }
}

/// More choices than this are listed in the flag's help, not in the synopsis.
const MAX_INLINE_CHOICES: usize = 6;

fn strings(list: &Value) -> Vec<&str> {
    list.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

/// Each argument's help, one per line of the cell: `<br>`​`--flag VALUE`: help, then its
/// choices when the synopsis does not list them, and its default as clap's help shows it.
fn flag_help(args: &[Value]) -> String {
    args.iter()
        .map(|a| {
            let mut help = a["help"].as_str().map(one_line).unwrap_or_default();
            let possible = strings(&a["possible_values"]);
            if possible.len() > MAX_INLINE_CHOICES {
                help.push_str(&format!(" (one of: {})", possible.join(", ")));
            }
            let defaults = strings(&a["default"]);
            if !defaults.is_empty() && !help.contains("[default:") {
                help.push_str(&format!(" [default: {}]", defaults.join(", ")));
            }
            let help = help.trim_start();
            let short =
                a["short"].as_str().filter(|_| a["long"].is_string()).map(|s| format!(" (`-{s}`)")).unwrap_or_default();
            if help.is_empty() {
                format!("<br>`{}`{short}", spec(a))
            } else {
                format!("<br>`{}`{short}: {help}", spec(a))
            }
        })
        .collect()
}

/// Text on one line, its paragraphs and line breaks made single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text made safe for a table cell: `|` escaped (GitHub also unescapes it in code spans).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

// ---------------------------------------------------------------------------------------
// The restoration benchmark's tables (`cargo xtask bench restore`'s JSON)

/// The methods of the restoration benchmark, in the order of the docs' columns.
const PEERS: [&str; 2] = ["pyfing-gabor", "pyfing-snfen"];

/// `+1.2` or `−1.2` (a true minus sign, as the docs write it).
fn signed(value: f64, decimals: usize) -> String {
    let text = format!("{:.decimals$}", value.abs());
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("−{text}")
    } else {
        format!("+{text}")
    }
}

/// `value` at `pointer`, or an error naming the restoration result file.
fn number(json: &Value, pointer: &str) -> Result<f64> {
    json.pointer(pointer).and_then(Value::as_f64).with_context(|| format!("{RESTORE_BENCH} has no number at {pointer}"))
}

fn severity(json: &Value) -> Result<&str> {
    json.pointer("/severities/0").and_then(Value::as_str).with_context(|| format!("{RESTORE_BENCH} has no /severities"))
}

/// Type-II at 40 of each method per kind, the best of fpae and the peers in bold, and where
/// fpae stands against the better peer of each kind.
fn restoration_kinds(json: &Value) -> Result<String> {
    let severity = severity(json)?;
    let mut rows = vec![
        "| kind | degraded | fpae | pyfing-gabor | pyfing-snfen | fpae against the better pyfing |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    let kinds = json["kinds"].as_array().with_context(|| format!("{RESTORE_BENCH} has no /kinds"))?;
    for kind in kinds.iter().filter_map(Value::as_str) {
        let group = format!("/groups/{kind}~1{severity}");
        let rate = |method: &str| number(json, &format!("{group}/{method}/identity/type2_rate_40")).map(|r| 100.0 * r);
        let degraded = rate("degraded")?;
        let methods: Vec<(&str, f64)> =
            ["fpae"].iter().chain(&PEERS).map(|m| Ok((*m, rate(m)?))).collect::<Result<_>>()?;
        let best = methods.iter().map(|(_, r)| *r).fold(f64::NEG_INFINITY, f64::max);
        let peer = methods[1..].iter().map(|(_, r)| *r).fold(f64::NEG_INFINITY, f64::max);
        let cells: Vec<String> =
            methods.iter().map(|(_, r)| if *r == best { format!("**{r:.1}**") } else { format!("{r:.1}") }).collect();
        let lead = methods[0].1 - peer;
        let verdict = format!("{}, {}", if lead >= 0.0 { "ahead" } else { "behind" }, signed(lead, 1));
        rows.push(format!("| {kind} | {degraded:.1} | {} | {verdict} |", cells.join(" | ")));
    }
    Ok(rows.join("\n"))
}

/// The kind-averaged rates of each method (`/summary/<severity>`).
fn restoration_average(json: &Value) -> Result<String> {
    let severity = severity(json)?;
    let model = json["model"].as_str().and_then(|m| Path::new(m).file_name()).and_then(|m| m.to_str()).unwrap_or("?");
    let summary = format!("/summary/{severity}");
    let mut rows = vec![
        "| method | type-II@40 | gap recovered | type-I@40 | minutiae recall / precision | SSIM |".to_owned(),
        "| --- | ---: | ---: | ---: | --- | ---: |".to_owned(),
    ];
    let methods = [
        ("degraded", "degraded".to_owned()),
        ("fpae", format!("fpae (`{model}`)")),
        (PEERS[0], PEERS[0].to_owned()),
        (PEERS[1], PEERS[1].to_owned()),
        ("pyfing-best", "better pyfing per kind".to_owned()),
    ];
    for (key, label) in methods {
        let m = |measure: &str| number(json, &format!("{summary}/{key}/{measure}"));
        let gap = if key == "degraded" {
            "-".to_owned()
        } else {
            let g = 100.0 * number(json, &format!("{summary}/gap_recovered/{key}"))?;
            format!("{} %", signed(g, 1).trim_start_matches('+'))
        };
        rows.push(format!(
            "| {label} | {:.1} | {gap} | {:.1} | {:.1} / {:.1} | {:.3} |",
            100.0 * m("type2_rate_40")?,
            100.0 * m("type1_rate_40")?,
            100.0 * m("minutiae_recall")?,
            100.0 * m("minutiae_precision")?,
            m("ssim")?
        ));
    }
    Ok(rows.join("\n"))
}

/// The clean prints run through each method (`/do_no_harm`), against the clean prints as they are.
fn restoration_do_no_harm(json: &Value) -> Result<String> {
    let clean = 100.0 * number(json, "/do_no_harm/clean/type2_rate_40")?;
    let mut rows = vec![
        "| method | type-II@40 | change | minutiae recall / precision |".to_owned(),
        "| --- | ---: | ---: | --- |".to_owned(),
    ];
    for method in ["fpae"].iter().chain(&PEERS) {
        let m = |measure: &str| number(json, &format!("/do_no_harm/{method}/{measure}")).map(|v| 100.0 * v);
        let rate = m("type2_rate_40")?;
        rows.push(format!(
            "| {method} | {rate:.1} | {} | {:.1} / {:.1} |",
            signed(rate - clean, 1).trim_start_matches('+'),
            m("minutiae_recall")?,
            m("minutiae_precision")?
        ));
    }
    Ok(rows.join("\n"))
}

/// Per sensor and over all, from the JSON of `fpae evaluate MODEL --benchmark DIR` (named
/// `file` in errors): type-II at 40 of the degraded prints, of the restorations and of the
/// clean prints (pooled over every comparison), the share of the gap restoration recovers, and
/// SSIM against the clean prints.
fn by_sensor(json: &Value, file: &str) -> Result<String> {
    let mut rows = vec![
        "| sensor | degraded | restored | clean | gap recovered | SSIM degraded / restored |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    let databases = json.pointer("/restored/databases").and_then(Value::as_object);
    let databases = databases.with_context(|| format!("{file} has no /restored/databases"))?;
    let mut groups: Vec<(String, String)> =
        databases.keys().map(|db| (db.trim_end_matches("_B").to_owned(), format!("databases/{db}"))).collect();
    groups.push(("all".to_owned(), "all".to_owned()));
    for (label, group) in groups {
        let n = |pointer: String| {
            json.pointer(&pointer).and_then(Value::as_f64).with_context(|| format!("{file} has no number at {pointer}"))
        };
        let degraded = n(format!("/degraded/{group}/identity/type2_rate_40"))?;
        let restored = n(format!("/restored/{group}/identity/type2_rate_40"))?;
        let clean = n(format!("/restored/{group}/identity/type2_rate_40_originals"))?;
        let gap = 100.0 * (restored - degraded) / (clean - degraded);
        rows.push(format!(
            "| {label} | {:.1} % | {:.1} % | {:.1} % | {gap:.0} % | {:.3} / {:.3} |",
            100.0 * degraded,
            100.0 * restored,
            100.0 * clean,
            n(format!("/degraded/{group}/ssim"))?,
            n(format!("/restored/{group}/ssim"))?
        ));
    }
    Ok(rows.join("\n"))
}

// ---------------------------------------------------------------------------------------
// The ready-made models: their cards' checked numbers and their results tables

/// The ready-made models: the folders of models/ with a `model.toml`, by name. Each has a
/// `check.json`, which the models test of fp-cli (`card_numbers_of_*`) measures again, and its
/// card shows it between `<!-- table:check begin/end -->`.
fn ready_made_models(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("models");
    let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut models = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        if path.join("model.toml").is_file() {
            models.push(path.file_name().context("a model folder has a name")?.to_string_lossy().into_owned());
        }
    }
    models.sort();
    Ok(models)
}

/// One evaluation of a reconstruction model: the JSON of `fpae evaluate MODEL [--data DIR
/// --split all] --out FILE` without its per-print rows, the dataset it measured, and the
/// name of its row on the model's card.
struct Evaluated {
    file: &'static str,
    data: &'static str,
    card_row: &'static str,
}

/// A reconstruction model, its two evaluations (its own dataset's held-out or validation
/// prints, then every print of the other dataset), and whether it works on resized prints
/// (then its tables show the resize round trip's ceiling and the prints with too few minutiae).
struct Reconstruction {
    model: &'static str,
    resized: bool,
    evaluations: [Evaluated; 2],
}

/// The reconstruction models' evaluations; docs/results.md gives each command.
const RECONSTRUCTIONS: [Reconstruction; 3] = [
    Reconstruction {
        model: "native-cae-fvc2002",
        resized: false,
        evaluations: [
            Evaluated {
                file: "docs/bench/native-cae-fvc2002-on-fvc2002.json",
                data: "FVC2002",
                card_row: "FVC2002, held-out fingers",
            },
            Evaluated {
                file: "docs/bench/native-cae-fvc2002-on-fvc2000-all.json",
                data: "FVC2000",
                card_row: "FVC2000, all (never seen)",
            },
        ],
    },
    Reconstruction {
        model: "native-cae-fvc2000",
        resized: false,
        evaluations: [
            Evaluated {
                file: "docs/bench/native-cae-fvc2000-on-fvc2000.json",
                data: "FVC2000",
                card_row: "FVC2000, held-out fingers",
            },
            Evaluated {
                file: "docs/bench/native-cae-fvc2000-on-fvc2002-all.json",
                data: "FVC2002",
                card_row: "FVC2002, all (never seen)",
            },
        ],
    },
    Reconstruction {
        model: "tutorial-fvc2002",
        resized: true,
        evaluations: [
            Evaluated {
                file: "docs/bench/tutorial-fvc2002-on-fvc2002.json",
                data: "FVC2002",
                card_row: "FVC2002, validation prints",
            },
            Evaluated {
                file: "docs/bench/tutorial-fvc2002-on-fvc2000-all.json",
                data: "FVC2000",
                card_row: "FVC2000, all (never seen)",
            },
        ],
    },
];

/// The regions of the ready-made models: each card's checked numbers and results table,
/// and their tables in docs/results.md and docs/restoration.md. `restore` is `RESTORE_BENCH`.
fn model_regions(root: &Path, restore: &Value) -> Result<Vec<Region>> {
    let mut regions = Vec::new();
    for model in ready_made_models(root)? {
        let file = format!("models/{model}/check.json");
        let content = card_check(&read_json(root, &file)?, &file)?;
        regions.push(Region::table(&format!("models/{model}/MODEL.md"), "check", content));
    }
    for reconstruction in &RECONSTRUCTIONS {
        let evaluations: Vec<(&Evaluated, Value)> =
            reconstruction.evaluations.iter().map(|e| Ok((e, read_json(root, e.file)?))).collect::<Result<_>>()?;
        let (model, resized) = (reconstruction.model, reconstruction.resized);
        regions.push(Region::table("docs/results.md", model, per_sensor(&evaluations, resized)?));
        regions.push(Region::table(
            &format!("models/{model}/MODEL.md"),
            "results",
            card_results(&evaluations, resized)?,
        ));
    }
    let single = |file: &'static str| -> Result<(&'static str, Value)> { Ok((file, read_json(root, file)?)) };
    let fvc2002_on_2002 = single(RESTORE_FVC2002_EVAL)?;
    let fvc2002_on_2000 = single(RESTORE_FVC2002_EVAL_FVC2000)?;
    let both_on_2002 = single(RESTORE_BOTH_EVAL_FVC2002)?;
    let both_on_2000 = single(RESTORE_BOTH_EVAL_FVC2000)?;
    regions.push(Region::table(
        "docs/results.md",
        "restore-fvc2002",
        by_benchmark(&[("FVC2002", &fvc2002_on_2002), ("FVC2000", &fvc2002_on_2000)])?,
    ));
    regions.push(Region::table(
        "docs/results.md",
        "restore-fvc2000-2002",
        by_benchmark(&[("FVC2002", &both_on_2002), ("FVC2000", &both_on_2000)])?,
    ));
    regions.push(Region::table(
        RESTORE_MODEL_CARD,
        "results",
        against_by_sensor(&[
            ("FVC2002", &both_on_2002, &fvc2002_on_2002),
            ("FVC2000", &both_on_2000, &fvc2002_on_2000),
        ])?,
    ));
    let pyfing = PyfingScores { json: restore, file: RESTORE_BENCH, peer_of_evaluation: false };
    regions.push(Region::table(
        "docs/restoration.md",
        "restore-fvc2002-average",
        kinds_averaged(&fvc2002_on_2002, pyfing)?,
    ));
    regions.push(Region::table("docs/restoration.md", "restore-fvc2002-kinds", per_kind(&fvc2002_on_2002, pyfing)?));
    let wide = [single(RESTORE_WIDE_FT[0])?, single(RESTORE_WIDE_FT[1])?];
    let reference = [&fvc2002_on_2002, &fvc2002_on_2000];
    regions.push(Region::table(
        "docs/restoration.md",
        "restore-wide-ctx-ft-kinds",
        kinds_against(&[("FVC2002", &wide[0], reference[0]), ("FVC2000", &wide[1], reference[1])])?,
    ));
    regions.push(Region::table(
        "docs/restoration.md",
        "restore-wide-ctx-ft-no-harm",
        no_harm(&[("FVC2002", &wide[0]), ("FVC2000", &wide[1])])?,
    ));
    let shipped = [single(RESTORE_SHIPPED[0])?, single(RESTORE_SHIPPED[1])?];
    regions.push(Region::table(
        RESTORE_SHIPPED_CARD,
        "results",
        against_by_sensor(&[("FVC2002", &shipped[0], reference[0]), ("FVC2000", &shipped[1], reference[1])])?,
    ));
    regions.push(Region::table(
        RESTORE_SHIPPED_CARD,
        "kinds",
        kinds_against(&[("FVC2002", &shipped[0], reference[0]), ("FVC2000", &shipped[1], reference[1])])?,
    ));
    let bench = single(RESTORE_BENCH)?;
    regions.push(Region::table(RESTORE_SHIPPED_CARD, "peers", against_pyfing(&shipped[0], &bench)?));
    regions.push(Region::table(
        RESTORE_SHIPPED_CARD,
        "no-harm",
        no_harm(&[("FVC2002", &shipped[0]), ("FVC2000", &shipped[1])])?,
    ));
    let held_out = HELD_OUT_KINDS
        .iter()
        .map(|(benchmark, files)| Ok((*benchmark, [single(files[0])?, single(files[1])?, single(files[2])?])))
        .collect::<Result<Vec<_>>>()?;
    regions.push(Region::table("docs/restoration.md", "held-out-kinds", held_out_kinds(&held_out)?));
    let arms = ABLATION
        .iter()
        .map(|(arm, files)| Ok((*arm, [single(files[0])?, single(files[1])?])))
        .collect::<Result<Vec<_>>>()?;
    regions.push(Region::table("docs/restoration.md", "ablation", ablation(&arms)?));
    Ok(regions)
}

/// A result file's path (relative to the repository root) and its JSON.
type Sourced = (&'static str, Value);

/// The number at `pointer` of `json`, or an error naming `file` and the pointer.
fn number_in(json: &Value, file: &str, pointer: &str) -> Result<f64> {
    json.pointer(pointer).and_then(Value::as_f64).with_context(|| format!("{file} has no number at {pointer}"))
}

/// `key` as one token of a JSON pointer: `~` written `~0` and `/` written `~1`, so that an
/// evaluation's group `noise/0.6` is found at `/restored/groups/noise~10.6`.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A rate in %: `100 %` and `0 %` when whole, else with one decimal (`96.2 %`).
fn percent(rate: f64) -> String {
    let p = 100.0 * rate;
    if p == 100.0 || p == 0.0 { format!("{p:.0} %") } else { format!("{p:.1} %") }
}

/// The cells every results table shares, read through `n` (a measure's name to its number):
/// PSNR, SSIM, minutiae recall / precision, type I at 40 (with the resize round trip's ceiling
/// in parentheses when `ceiling`) and type II at 40 (of the originals in parentheses); the
/// minutiae and BOZORTH3 measures are named under `identity` (`""` or `"identity/"`).
fn quality_cells(n: &dyn Fn(&str) -> Result<f64>, identity: &str, ceiling: bool) -> Result<String> {
    let rate = |measure: &str| n(&format!("{identity}{measure}")).map(percent);
    let type1 = match ceiling {
        true => format!("{} ({})", rate("type1_rate_40")?, rate("ceiling_type1_rate_40")?),
        false => rate("type1_rate_40")?,
    };
    Ok(format!(
        "{:.2} | {:.3} | {} / {} | {type1} | {} ({})",
        n("psnr")?,
        n("ssim")?,
        rate("minutiae_recall")?,
        rate("minutiae_precision")?,
        rate("type2_rate_40")?,
        rate("type2_rate_40_originals")?
    ))
}

/// A card's checked numbers (its `check.json`, named `file` in errors): which prints and
/// damage, a row for the damaged inputs (restoration models) and one for the model's
/// outputs, and the tolerance the test holds them to.
fn card_check(json: &Value, file: &str) -> Result<String> {
    let dataset = json["dataset"].as_str().with_context(|| format!("{file} has no /dataset"))?;
    let prints: Vec<&str> = strings(&json["prints"]);
    if prints.is_empty() {
        bail!("{file} has no /prints");
    }
    let mut lines = vec![format!(
        "On {} prints of {} ({}){}:",
        prints.len(),
        dataset.to_uppercase(),
        prints.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
        match json["damage"].is_null() {
            true => String::new(),
            false => format!(
                ", each damaged by {} at severity {} (`fpae degrade --seed {}`)",
                strings(&json["damage"]["kinds"]).join(", "),
                json["damage"]["severity"].as_str().unwrap_or("?"),
                json["damage"]["seed"].as_str().unwrap_or("?")
            ),
        }
    )];
    lines.push(String::new());
    lines.push(
        "| prints | images | MSE | PSNR (dB) | SSIM | minutiae recall / precision | type I at 40 | type II at 40 (originals) |"
            .to_owned(),
    );
    lines.push("| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |".to_owned());
    let output = if json["damage"].is_null() { "reconstructed" } else { "restored" };
    for (key, label) in [("damaged", "damaged"), ("output", output)] {
        if json[key].is_null() && key == "damaged" {
            continue;
        }
        let n = |measure: &str| number_in(json, file, &format!("/{key}/{measure}"));
        lines.push(format!("| {label} | {} | {:.6} | {} |", n("images")?, n("mse")?, quality_cells(&n, "", false)?));
    }
    let t = |measure: &str| number_in(json, file, &format!("/tolerance/{measure}"));
    let points = |a: f64, b: f64| {
        if a == b { format!("{}", 100.0 * a) } else { format!("{} and {}", 100.0 * a, 100.0 * b) }
    };
    lines.push(String::new());
    lines.push(format!(
        "Tolerance, either way: MSE {}, PSNR {} dB, SSIM {}, minutiae recall and precision {} points, \
         type I and type II rates {} points.",
        t("mse")?,
        t("psnr")?,
        t("ssim")?,
        points(t("minutiae_recall")?, t("minutiae_precision")?),
        points(t("type1_rate_40")?, t("type2_rate_40")?)
    ));
    Ok(lines.join("\n"))
}

/// The groups of an evaluation: each database of `/per_database` (`DB1_B` shown as `DB1`),
/// then `all` (the top level), with their JSON pointer prefixes.
fn evaluation_groups(json: &Value, file: &str) -> Result<Vec<(String, String)>> {
    let databases = json["per_database"].as_object().with_context(|| format!("{file} has no /per_database"))?;
    let mut groups: Vec<(String, String)> =
        databases.keys().map(|db| (db.trim_end_matches("_B").to_owned(), format!("/per_database/{db}"))).collect();
    groups.push(("all".to_owned(), String::new()));
    Ok(groups)
}

/// Per sensor and over all, for each evaluation of a reconstruction model: pixels, minutiae
/// and BOZORTH3 rates at 40; with `resized`, the resize round trip's ceiling and the prints
/// with too few minutiae to compare.
fn per_sensor(evaluations: &[(&Evaluated, Value)], resized: bool) -> Result<String> {
    let mut rows = if resized {
        vec![
            "| data | sensor | prints | PSNR (dB) | SSIM | minutiae recall / precision | type I at 40 (ceiling) | type II at 40 (originals) | not computable |".to_owned(),
            "| --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: |".to_owned(),
        ]
    } else {
        vec![
            "| data | sensor | prints | PSNR (dB) | SSIM | minutiae recall / precision | type I at 40 | type II at 40 (originals) |".to_owned(),
            "| --- | --- | ---: | ---: | ---: | --- | --- | --- |".to_owned(),
        ]
    };
    for (evaluated, json) in evaluations {
        for (sensor, group) in evaluation_groups(json, evaluated.file)? {
            let n = |measure: &str| number_in(json, evaluated.file, &format!("{group}/{measure}"));
            let mut row = format!(
                "| {} | {sensor} | {} | {} |",
                evaluated.data,
                n("images")?,
                quality_cells(&n, "identity/", resized)?
            );
            if resized {
                row.push_str(&format!(" {} |", n("identity/not_computable")?));
            }
            rows.push(row);
        }
    }
    Ok(rows.join("\n"))
}

/// The card's results of a reconstruction model: one row over all for each evaluation.
fn card_results(evaluations: &[(&Evaluated, Value)], resized: bool) -> Result<String> {
    let type1 = if resized { "type I (ceiling)" } else { "type I" };
    let mut rows = vec![
        format!(
            "| data | prints | PSNR (dB) | SSIM | minutiae recall / precision | {type1} | type II (originals) | impostor |"
        ),
        "| --- | ---: | ---: | ---: | --- | --- | --- | ---: |".to_owned(),
    ];
    for (evaluated, json) in evaluations {
        let n = |measure: &str| number_in(json, evaluated.file, &format!("/{measure}"));
        rows.push(format!(
            "| {} | {} | {} | {} |",
            evaluated.card_row,
            n("images")?,
            quality_cells(&n, "identity/", resized)?,
            percent(n("identity/impostor_rate_40")?)
        ));
    }
    Ok(rows.join("\n"))
}

/// Per kind, for each benchmark: type-II at 40 of the degraded prints, of a model's
/// restorations and of a reference model's (`restore-fvc2002`), then the kind-averaged rates
/// and the share of the gap to the clean prints each model recovers.
fn kinds_against(parts: &[(&str, &Sourced, &Sourced)]) -> Result<String> {
    let mut head = "| kind |".to_owned();
    let mut rule = "| --- |".to_owned();
    let mut summaries = Vec::new();
    for (benchmark, (file, json), (other_file, other)) in parts {
        head += &format!(" {benchmark} degraded | restored | `restore-fvc2002` |");
        rule += " ---: | ---: | ---: |";
        summaries.push((KindSummary::of(file, json)?, KindSummary::of(other_file, other)?));
    }
    let (first, _) = summaries.first().context("no evaluation")?;
    let mut rows = vec![head, rule];
    for kind in &first.kinds {
        let mut row = format!("| {} |", kind.name);
        for (model, reference) in &summaries {
            let (ours, theirs) = (model.kind(&kind.group)?, reference.kind(&kind.group)?);
            row += &format!(
                " {:.1} | {:.1} | {:.1} |",
                100.0 * ours.degraded,
                100.0 * ours.restored,
                100.0 * theirs.restored
            );
        }
        rows.push(row);
    }
    let mut average = "| averaged |".to_owned();
    let mut gap = "| gap recovered |".to_owned();
    for (model, reference) in &summaries {
        let (ours, theirs) = (model.mean(), reference.mean());
        average +=
            &format!(" {:.1} | {:.1} | {:.1} |", 100.0 * ours.degraded, 100.0 * ours.restored, 100.0 * theirs.restored);
        gap +=
            &format!(" | {:.1} % | {:.1} % |", ours.gap_recovered(ours.restored), ours.gap_recovered(theirs.restored));
    }
    rows.push(average);
    rows.push(gap);
    Ok(rows.join("\n"))
}

/// Leave-kind-out: per benchmark and kind of damage (each evaluation's groups), type-II at 40
/// of the degraded prints, of the clean ones (the ceiling), and of three models' restorations,
/// each with the share of the gap between degraded and clean it recovers; then the kinds'
/// average. The models, in order: trained without these kinds, the same recipe with them, and
/// `restore-fvc2002`.
fn held_out_kinds(parts: &[(&str, [Sourced; 3])]) -> Result<String> {
    let mut rows = vec![
        "| benchmark | kind | degraded | clean | trained without these kinds | the same with every kind | `restore-fvc2002` (without them) |"
            .to_owned(),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |".to_owned(),
    ];
    for (benchmark, models) in parts {
        let summaries = models.iter().map(|(file, json)| KindSummary::of(file, json)).collect::<Result<Vec<_>>>()?;
        // The degraded and clean rates are the first model's; each model's restorations follow.
        let cells = |rates: &KindRates, restored: &[f64]| {
            let restored: Vec<String> =
                restored.iter().map(|&r| format!("{:.1} % ({:.0} %)", 100.0 * r, rates.gap_recovered(r))).collect();
            format!("{:.1} % | {:.1} % | {} |", 100.0 * rates.degraded, 100.0 * rates.clean, restored.join(" | "))
        };
        for kind in &summaries[0].kinds {
            let restored = summaries.iter().map(|s| Ok(s.kind(&kind.group)?.restored)).collect::<Result<Vec<_>>>()?;
            rows.push(format!("| {benchmark} | {} | {}", kind.group, cells(kind, &restored)));
        }
        let restored: Vec<f64> = summaries.iter().map(|s| s.mean().restored).collect();
        rows.push(format!("| {benchmark} | averaged | {}", cells(&summaries[0].mean(), &restored)));
    }
    Ok(rows.join("\n"))
}

/// A model's evaluation against both of pyfing's pipelines on the same degraded prints (the
/// groups of `cargo xtask bench restore`'s JSON): per kind, type-II at 40 of the degraded
/// prints, the model's restorations, pyfing's Gabor (GBFEN) and learned (SNFEN) enhancements,
/// and which is ahead; then the kind average and the share of the gap to the clean prints each
/// recovers.
fn against_pyfing(eval: &Sourced, bench: &Sourced) -> Result<String> {
    const PEERS: [&str; 2] = ["pyfing-gabor", "pyfing-snfen"];
    let (file, json) = eval;
    let (bench_file, bench_json) = bench;
    let kinds = json.pointer("/restored/groups").and_then(Value::as_object);
    let kinds: Vec<&String> = kinds.with_context(|| format!("{file} has no /restored/groups"))?.keys().collect();
    let mut rows = vec![
        "| kind | degraded | this model | pyfing-gabor | pyfing-snfen | ahead |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    // Sums over the kinds: degraded, this model, each peer, clean.
    let mut sums = [0.0f64; 5];
    for kind in &kinds {
        let group = pointer_token(kind);
        let at = |what: &str, key: &str| number_in(json, file, &format!("/{what}/groups/{group}/identity/{key}"));
        let peer =
            |name: &str| number_in(bench_json, bench_file, &format!("/groups/{group}/{name}/identity/type2_rate_40"));
        let rates = [
            at("degraded", "type2_rate_40")?,
            at("restored", "type2_rate_40")?,
            peer(PEERS[0])?,
            peer(PEERS[1])?,
            at("degraded", "type2_rate_40_originals")?,
        ];
        for (sum, rate) in sums.iter_mut().zip(rates) {
            *sum += rate / kinds.len() as f64;
        }
        let best_peer = if rates[2] >= rates[3] { (PEERS[0], rates[2]) } else { (PEERS[1], rates[3]) };
        let ahead = if (rates[1] - best_peer.1).abs() < 1e-9 {
            "tie".to_owned()
        } else if rates[1] > best_peer.1 {
            format!("this model, +{:.1}", 100.0 * (rates[1] - best_peer.1))
        } else {
            format!("{}, +{:.1}", best_peer.0, 100.0 * (best_peer.1 - rates[1]))
        };
        rows.push(format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {ahead} |",
            kind.split('/').next().unwrap_or(kind),
            100.0 * rates[0],
            100.0 * rates[1],
            100.0 * rates[2],
            100.0 * rates[3]
        ));
    }
    let [degraded, model, gabor, snfen, clean] = sums;
    rows.push(format!(
        "| averaged | {:.1} | {:.1} | {:.1} | {:.1} | |",
        100.0 * degraded,
        100.0 * model,
        100.0 * gabor,
        100.0 * snfen
    ));
    let share = |r: f64| 100.0 * (r - degraded) / (clean - degraded);
    rows.push(format!("| gap recovered | | {:.1} % | {:.1} % | {:.1} % | |", share(model), share(gabor), share(snfen)));
    Ok(rows.join("\n"))
}

/// Type-II at 40 of one kind of damage (or of their average): the degraded prints, their
/// restorations and the clean prints.
struct KindRates {
    /// The evaluation's group, e.g. `noise/0.6`.
    group: String,
    /// The kind alone, e.g. `noise`.
    name: String,
    degraded: f64,
    restored: f64,
    clean: f64,
}

impl KindRates {
    /// The share of the gap between degraded and clean that `restored` recovers, in %.
    fn gap_recovered(&self, restored: f64) -> f64 {
        100.0 * (restored - self.degraded) / (self.clean - self.degraded)
    }
}

/// What one evaluation says of each of its kinds of damage (its `/degraded/groups`).
struct KindSummary {
    kinds: Vec<KindRates>,
}

impl KindSummary {
    fn of(file: &str, json: &Value) -> Result<Self> {
        let groups = json.pointer("/degraded/groups").and_then(Value::as_object);
        let groups = groups.with_context(|| format!("{file} has no /degraded/groups"))?;
        let kinds = groups
            .keys()
            .map(|group| {
                let token = pointer_token(group);
                let at =
                    |what: &str, key: &str| number_in(json, file, &format!("/{what}/groups/{token}/identity/{key}"));
                Ok(KindRates {
                    group: group.clone(),
                    name: group.split('/').next().unwrap_or(group).to_owned(),
                    degraded: at("degraded", "type2_rate_40")?,
                    restored: at("restored", "type2_rate_40")?,
                    clean: at("degraded", "type2_rate_40_originals")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if kinds.is_empty() {
            bail!("{file} has no kinds under /degraded/groups");
        }
        Ok(KindSummary { kinds })
    }

    /// The rates of the kind whose group is `group`.
    fn kind(&self, group: &str) -> Result<&KindRates> {
        self.kinds.iter().find(|k| k.group == group).with_context(|| format!("no group {group} in the evaluation"))
    }

    /// The rates averaged over the kinds.
    fn mean(&self) -> KindRates {
        let n = self.kinds.len() as f64;
        let sum = |rate: fn(&KindRates) -> f64| self.kinds.iter().map(rate).sum::<f64>() / n;
        KindRates {
            group: "averaged".to_owned(),
            name: "averaged".to_owned(),
            degraded: sum(|k| k.degraded),
            restored: sum(|k| k.restored),
            clean: sum(|k| k.clean),
        }
    }

    /// The kinds whose restorations match less often than their degraded input.
    fn below_input(&self) -> Vec<&str> {
        self.kinds.iter().filter(|k| k.restored < k.degraded).map(|k| k.name.as_str()).collect()
    }
}

/// The same weights evaluated in two precisions: per kind, type-II at 40 of the degraded
/// prints and of each precision's restorations, with their PSNR; then the kinds' average with
/// the share of the gap recovered, and the clean prints restored (type-II, minutiae recall).
fn precisions_against(f32: &Sourced, bf16: &Sourced) -> Result<String> {
    let summaries = [KindSummary::of(f32.0, &f32.1)?, KindSummary::of(bf16.0, &bf16.1)?];
    let psnr = |(file, json): &Sourced, group: &str| {
        number_in(json, file, &format!("/restored/groups/{}/psnr", pointer_token(group)))
    };
    let mut rows = vec![
        "| kind | degraded | f32 | bf16 | bf16 - f32 (points) | PSNR f32 / bf16 (dB) |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    for kind in &summaries[0].kinds {
        let other = summaries[1].kind(&kind.group)?;
        rows.push(format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:+.1} | {:.2} / {:.2} |",
            kind.name,
            100.0 * kind.degraded,
            100.0 * kind.restored,
            100.0 * other.restored,
            100.0 * (other.restored - kind.restored),
            psnr(f32, &kind.group)?,
            psnr(bf16, &kind.group)?
        ));
    }
    let (ours, theirs) = (summaries[0].mean(), summaries[1].mean());
    rows.push(format!(
        "| averaged (gap recovered) | {:.1} | {:.1} ({:.1} %) | {:.1} ({:.1} %) | {:+.1} | |",
        100.0 * ours.degraded,
        100.0 * ours.restored,
        ours.gap_recovered(ours.restored),
        100.0 * theirs.restored,
        ours.gap_recovered(theirs.restored),
        100.0 * (theirs.restored - ours.restored)
    ));
    let clean =
        |(file, json): &Sourced, key: &str| number_in(json, file, &format!("/clean_restored/all/identity/{key}"));
    rows.push(format!(
        "| clean prints restored (minutiae recall) | {:.1} | {:.1} ({:.1} %) | {:.1} ({:.1} %) | {:+.1} | |",
        100.0 * clean(f32, "type2_rate_40_originals")?,
        100.0 * clean(f32, "type2_rate_40")?,
        100.0 * clean(f32, "minutiae_recall")?,
        100.0 * clean(bf16, "type2_rate_40")?,
        100.0 * clean(bf16, "minutiae_recall")?,
        100.0 * (clean(bf16, "type2_rate_40")? - clean(f32, "type2_rate_40")?)
    ));
    Ok(rows.join("\n"))
}

/// The ablation: per arm (a training that changes one thing) and benchmark, the kind-averaged
/// type-II at 40 of the restorations with the share of the gap recovered, the kinds left below
/// their damaged input, and the clean prints restored (type-II and minutiae recall: do no harm).
fn ablation(arms: &[(&str, [Sourced; 2])]) -> Result<String> {
    let mut rows = vec![
        "| the last stage trained | FVC2002: type-II restored (gap) | below input | clean restored (recall) | FVC2000: type-II restored (gap) | below input | clean restored (recall) |"
            .to_owned(),
        "| --- | ---: | --- | ---: | ---: | --- | ---: |".to_owned(),
    ];
    let mut inputs = "| no restoration: the damaged prints (the clean ones) |".to_owned();
    for (file, json) in &arms.first().context("no ablation arm")?.1 {
        let summary = KindSummary::of(file, json)?.mean();
        let clean = number_in(json, file, "/clean_restored/all/identity/type2_rate_40_originals")?;
        inputs += &format!(
            " {:.1} % ({:.1} %) | | {:.1} % |",
            100.0 * summary.degraded,
            100.0 * summary.clean,
            100.0 * clean
        );
    }
    rows.push(inputs);
    for (arm, evaluations) in arms {
        let mut row = format!("| {arm} |");
        for (file, json) in evaluations {
            let kinds = KindSummary::of(file, json)?;
            let summary = kinds.mean();
            let clean = |key: &str| number_in(json, file, &format!("/clean_restored/all/identity/{key}"));
            let below = kinds.below_input();
            let below = if below.is_empty() { "none".to_owned() } else { below.join(", ") };
            row += &format!(
                " {:.1} % ({:.1} %) | {below} | {:.1} % ({:.1} %) |",
                100.0 * summary.restored,
                summary.gap_recovered(summary.restored),
                100.0 * clean("type2_rate_40")?,
                100.0 * clean("minutiae_recall")?
            );
        }
        rows.push(row);
    }
    Ok(rows.join("\n"))
}

/// Do no harm: per benchmark, the clean prints as they are and restored (the
/// evaluation's `clean_restored`): type-II at 40, minutiae recall and precision against
/// the clean prints, PSNR.
fn no_harm(parts: &[(&str, &Sourced)]) -> Result<String> {
    let mut rows = vec![
        "| benchmark | prints | type-II clean | type-II restored | minutiae recall | precision | PSNR (dB) |"
            .to_owned(),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |".to_owned(),
    ];
    for (benchmark, (file, json)) in parts {
        let n = |key: &str| number_in(json, file, &format!("/clean_restored/all/{key}"));
        rows.push(format!(
            "| {benchmark} | {} | {:.1} % | {:.1} % | {:.1} % | {:.1} % | {:.2} |",
            n("images")?,
            100.0 * n("identity/type2_rate_40_originals")?,
            100.0 * n("identity/type2_rate_40")?,
            100.0 * n("identity/minutiae_recall")?,
            100.0 * n("identity/minutiae_precision")?,
            n("psnr")?
        ));
    }
    Ok(rows.join("\n"))
}

/// [`by_sensor`] of several benchmark evaluations (file, JSON), each row led by its benchmark's name.
fn by_benchmark(parts: &[(&str, &Sourced)]) -> Result<String> {
    let mut rows = vec![
        "| benchmark | sensor | degraded | restored | clean | gap recovered | SSIM degraded / restored |".to_owned(),
        "| --- | --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    for (benchmark, (file, json)) in parts {
        rows.extend(by_sensor(json, file)?.lines().skip(2).map(|row| format!("| {benchmark} {row}")));
    }
    Ok(rows.join("\n"))
}

/// Per benchmark and sensor: type-II at 40 of the degraded prints, of this model's
/// restorations and of another model's (each benchmark's pair of evaluations), of the clean
/// prints, and this model's SSIM.
fn against_by_sensor(parts: &[(&str, &Sourced, &Sourced)]) -> Result<String> {
    let mut rows = vec![
        "| benchmark | sensor | degraded | restored | `restore-fvc2002` | clean | SSIM degraded / restored |"
            .to_owned(),
        "| --- | --- | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    for (benchmark, (file, json), (other_file, other)) in parts {
        let databases = json.pointer("/restored/databases").and_then(Value::as_object);
        let databases = databases.with_context(|| format!("{file} has no /restored/databases"))?;
        let mut groups: Vec<(String, String)> =
            databases.keys().map(|db| (db.trim_end_matches("_B").to_owned(), format!("databases/{db}"))).collect();
        groups.push(("all".to_owned(), "all".to_owned()));
        for (sensor, group) in groups {
            let rate = |pointer: String| number_in(json, file, &pointer).map(|r| format!("{:.1} %", 100.0 * r));
            rows.push(format!(
                "| {benchmark} | {sensor} | {} | {} | {} | {} | {:.3} / {:.3} |",
                rate(format!("/degraded/{group}/identity/type2_rate_40"))?,
                rate(format!("/restored/{group}/identity/type2_rate_40"))?,
                number_in(other, other_file, &format!("/restored/{group}/identity/type2_rate_40"))
                    .map(|r| format!("{:.1} %", 100.0 * r))?,
                rate(format!("/restored/{group}/identity/type2_rate_40_originals"))?,
                number_in(json, file, &format!("/degraded/{group}/ssim"))?,
                number_in(json, file, &format!("/restored/{group}/ssim"))?
            ));
        }
    }
    Ok(rows.join("\n"))
}

/// The groups (`<kind>/<severity>`) of a benchmark evaluation's restorations.
fn restored_groups<'a>(json: &'a Value, file: &str) -> Result<Vec<(&'a str, &'a str)>> {
    let groups = json.pointer("/restored/groups").and_then(Value::as_object);
    let groups = groups.with_context(|| format!("{file} has no /restored/groups"))?;
    let groups: Vec<(&str, &str)> = groups.keys().filter_map(|g| g.split_once('/')).collect();
    if groups.is_empty() {
        bail!("{file} has no group in /restored/groups");
    }
    Ok(groups)
}

/// The severity of the per-kind table of `restore-fvc2002` against pyfing.
const KINDS_SEVERITY: &str = "0.6";

/// Where the tables of `restore-fvc2002` against pyfing's Gabor pipeline find pyfing's scores.
#[derive(Debug, Clone, Copy)]
struct PyfingScores<'a> {
    json: &'a Value,
    file: &'a str,
    /// In an evaluation's `/peers/pyfing-gabor` (`fpae evaluate --peer`), else in the groups
    /// of `cargo xtask bench restore`'s JSON.
    peer_of_evaluation: bool,
}

impl PyfingScores<'_> {
    fn number(&self, kind: &str, severity: &str, measure: &str) -> Result<f64> {
        let pointer = if self.peer_of_evaluation {
            format!("/peers/pyfing-gabor/groups/{kind}~1{severity}/{measure}")
        } else {
            format!("/groups/{kind}~1{severity}/pyfing-gabor/{measure}")
        };
        number_in(self.json, self.file, &pointer)
    }
}

/// `restore-fvc2002` (its `fpae evaluate --benchmark` JSON) against pyfing's Gabor pipeline,
/// averaged over the kinds, a row per severity: type-II at 40 of the degraded prints, fpae
/// and pyfing, the gap each recovers (of the kind-averaged rates), fpae's type I and
/// impostor rate, and SSIM.
fn kinds_averaged(eval: &Sourced, pyfing: PyfingScores) -> Result<String> {
    let (file, json) = eval;
    let groups = restored_groups(json, file)?;
    let mut severities: Vec<&str> = groups.iter().map(|(_, s)| *s).collect();
    severities.sort_unstable();
    severities.dedup();
    let mut rows = vec![
        "| severity | prints | type-II degraded | fpae | pyfing-gabor | gap recovered, fpae | pyfing-gabor | type-I@40 fpae (degraded) | impostor@40 fpae | SSIM degraded / fpae / pyfing-gabor |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |".to_owned(),
    ];
    for severity in severities {
        let kinds: Vec<&str> = groups.iter().filter(|(_, s)| *s == severity).map(|(k, _)| *k).collect();
        let mean = |value: &dyn Fn(&str) -> Result<f64>| -> Result<f64> {
            let mut sum = 0.0;
            for kind in &kinds {
                sum += value(kind)?;
            }
            Ok(sum / kinds.len() as f64)
        };
        let ours = |row: &str, measure: &str| {
            mean(&|kind| number_in(json, file, &format!("/{row}/groups/{kind}~1{severity}/{measure}")))
        };
        let theirs = |measure: &str| mean(&|kind| pyfing.number(kind, severity, measure));
        let images = kinds.len() as f64 * ours("restored", "images")?;
        let degraded = ours("degraded", "identity/type2_rate_40")?;
        let restored = ours("restored", "identity/type2_rate_40")?;
        let clean = ours("restored", "identity/type2_rate_40_originals")?;
        let enhanced = theirs("identity/type2_rate_40")?;
        let gap = |rate: f64| {
            format!("{} %", signed(100.0 * (rate - degraded) / (clean - degraded), 1).trim_start_matches('+'))
        };
        rows.push(format!(
            "| {severity} | {images} | {:.1} | {:.1} | {:.1} | {} | {} | {:.1} ({:.1}) | {:.1} | {:.3} / {:.3} / {:.3} |",
            100.0 * degraded,
            100.0 * restored,
            100.0 * enhanced,
            gap(restored),
            gap(enhanced),
            100.0 * ours("restored", "identity/type1_rate_40")?,
            100.0 * ours("degraded", "identity/type1_rate_40")?,
            100.0 * ours("restored", "identity/impostor_rate_40")?,
            ours("degraded", "ssim")?,
            ours("restored", "ssim")?,
            theirs("ssim")?
        ));
    }
    Ok(rows.join("\n"))
}

/// `restore-fvc2002` against pyfing's Gabor pipeline per kind at 0.6 (sources as
/// [`kinds_averaged`]): PSNR and SSIM of the degraded prints, fpae and pyfing; type-II at
/// 40 of each; whether fpae beats pyfing; fpae's type I and impostor rate.
fn per_kind(eval: &Sourced, pyfing: PyfingScores) -> Result<String> {
    let (file, json) = eval;
    let severity = KINDS_SEVERITY;
    let mut rows = vec![
        "| kind | PSNR degraded / fpae / pyfing-gabor | SSIM degraded / fpae / pyfing-gabor | type-II@40 degraded | fpae | pyfing-gabor | fpae beats pyfing-gabor | type-I@40 fpae | impostor@40 fpae |".to_owned(),
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |".to_owned(),
    ];
    let kinds: Vec<&str> =
        restored_groups(json, file)?.into_iter().filter(|(_, s)| *s == severity).map(|(k, _)| k).collect();
    if kinds.is_empty() {
        bail!("{file} has no group at severity {severity}");
    }
    for kind in kinds {
        let ours =
            |row: &str, measure: &str| number_in(json, file, &format!("/{row}/groups/{kind}~1{severity}/{measure}"));
        let theirs = |measure: &str| pyfing.number(kind, severity, measure);
        let (fpae, enhanced) = (ours("restored", "identity/type2_rate_40")?, theirs("identity/type2_rate_40")?);
        rows.push(format!(
            "| {kind} | {:.1} / {:.1} / {:.1} | {:.3} / {:.3} / {:.3} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} |",
            ours("degraded", "psnr")?,
            ours("restored", "psnr")?,
            theirs("psnr")?,
            ours("degraded", "ssim")?,
            ours("restored", "ssim")?,
            theirs("ssim")?,
            100.0 * ours("degraded", "identity/type2_rate_40")?,
            100.0 * fpae,
            100.0 * enhanced,
            if fpae > enhanced { "yes" } else { "no" },
            100.0 * ours("restored", "identity/type1_rate_40")?,
            100.0 * ours("restored", "identity/impostor_rate_40")?
        ));
    }
    Ok(rows.join("\n"))
}

// ---------------------------------------------------------------------------------------
// The test count

/// How many tests `cargo test --workspace` runs on Linux: the `#[test]` functions of every
/// package (`crates/*` and `xtask`), and the doctests of the library crates (code blocks in
/// `///` and `//!` comments under `src/` that are Rust: no language, `rust`, `no_run`,
/// `should_panic`, `compile_fail`; not `ignore`, `text`, `toml` and the like). Counted in
/// the source, so that the check needs no build; the README's number is this count.
pub fn count_tests(root: &Path) -> Result<usize> {
    let mut packages = vec![root.join("xtask")];
    let crates = root.join("crates");
    for entry in std::fs::read_dir(&crates).with_context(|| format!("cannot read {}", crates.display()))? {
        let path = entry.with_context(|| format!("cannot read {}", crates.display()))?.path();
        if path.join("Cargo.toml").is_file() {
            packages.push(path);
        }
    }
    let mut total = 0;
    for package in packages {
        let has_lib = package.join("src").join("lib.rs").is_file();
        let mut files = Vec::new();
        rust_files(&package, &mut files)?;
        for file in files {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let doctests = has_lib && file.starts_with(package.join("src"));
            total += tests_in(&text, doctests);
        }
    }
    Ok(total)
}

/// The `#[test]` functions in one file's text, and with `doctests` its Rust doc code blocks.
pub fn tests_in(text: &str, doctests: bool) -> usize {
    let mut count = 0;
    let mut in_block = false;
    for line in text.lines().map(str::trim_start) {
        if line.starts_with("#[test]") {
            count += 1;
        }
        let doc = line.strip_prefix("///").or_else(|| line.strip_prefix("//!"));
        let Some(fence) = doc.map(str::trim_start).and_then(|d| d.strip_prefix("```")) else { continue };
        if in_block {
            in_block = false;
            continue;
        }
        in_block = true;
        let rust = fence.split(',').map(str::trim).all(|word| {
            matches!(word, "" | "rust" | "no_run" | "should_panic" | "compile_fail") || word.starts_with("edition")
        });
        if doctests && rust {
            count += 1;
        }
    }
    count
}

/// The `.rs` files under `dir`, leaving out build outputs (`target`).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry.with_context(|| format!("cannot read {}", dir.display()))?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};
    use serde_json::json;

    fn region(doc: &str, content: &str) -> Region {
        Region::table(doc, "t", content.to_owned())
    }

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn a_region_that_differs_is_reported_with_its_file_and_marker() {
        let dir = tempfile::tempdir().unwrap();
        let doc = "intro\n<!-- table:t begin -->\n| a |\n| 1 |\n<!-- table:t end -->\nafter\n";
        write(dir.path(), "docs/x.md", doc);
        let problems = check(dir.path(), &[region("docs/x.md", "| a |\n| 2 |")], &[], false).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("docs/x.md:4: "), "{}", problems[0]);
        assert!(problems[0].ends_with(r#""| 1 |" where it renders "| 2 |""#), "{}", problems[0]);
        assert!(problems[0].contains("<!-- table:t begin -->"), "{}", problems[0]);
        assert_eq!(read(dir.path(), "docs/x.md"), doc, "a check without --write must not write");
        // The same rendering as the doc is no problem.
        assert!(check(dir.path(), &[region("docs/x.md", "| a |\n| 1 |")], &[], false).unwrap().is_empty());
    }

    #[test]
    fn write_rewrites_only_between_the_markers() {
        let dir = tempfile::tempdir().unwrap();
        let doc = "intro | 1 |\n<!-- table:t begin -->\n| 1 |\n<!-- table:t end -->\n| 1 | after\n";
        write(dir.path(), "x.md", doc);
        let problems = check(dir.path(), &[region("x.md", "| 2 |\n| 3 |")], &[], true).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            read(dir.path(), "x.md"),
            "intro | 1 |\n<!-- table:t begin -->\n| 2 |\n| 3 |\n<!-- table:t end -->\n| 1 | after\n"
        );
        // Written once, it now agrees.
        assert!(check(dir.path(), &[region("x.md", "| 2 |\n| 3 |")], &[], false).unwrap().is_empty());
    }

    #[test]
    fn an_inline_region_stays_inline_and_a_missing_marker_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "x.md", "runs <!-- n:begin -->12<!-- n:end --> tests\n");
        let count = Region {
            doc: "x.md".into(),
            begin: "<!-- n:begin -->".into(),
            end: "<!-- n:end -->".into(),
            content: "13".into(),
        };
        assert!(check(dir.path(), std::slice::from_ref(&count), &[], true).unwrap().is_empty());
        assert_eq!(read(dir.path(), "x.md"), "runs <!-- n:begin -->13<!-- n:end --> tests\n");
        let problems = check(dir.path(), &[region("x.md", "x")], &[], false).unwrap();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("<!-- table:t begin -->") && problems[0].contains("0 and 0 times"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_quoted_number_that_differs_from_its_json_fails_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r.json", r#"{"all": {"rate": 0.4781}, "speed": 2.3174}"#);
        write(dir.path(), "x.md", "bf16 is about 2.2x faster.\nType-II 47.8 % pooled, 47.6 % pooled.\n");
        let quotes = [
            Quote {
                doc: "x.md",
                before: "about ",
                after: "x faster",
                json: "r.json",
                pointer: "/speed",
                format: Format::Fixed(1),
            },
            Quote {
                doc: "x.md",
                before: " ",
                after: " % pooled",
                json: "r.json",
                pointer: "/all/rate",
                format: Format::Percent(1),
            },
        ];
        let problems = check(dir.path(), &[], &quotes, false).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.contains(&"x.md:1: quotes 2.2 where r.json /speed gives 2.3".to_owned()), "{problems:?}");
        assert!(problems.contains(&"x.md:2: quotes 47.6 where r.json /all/rate gives 47.8".to_owned()), "{problems:?}");
        // --write fixes every place, and nothing else.
        assert!(check(dir.path(), &[], &quotes, true).unwrap().is_empty());
        assert_eq!(read(dir.path(), "x.md"), "bf16 is about 2.3x faster.\nType-II 47.8 % pooled, 47.8 % pooled.\n");
        // A quote whose place is gone is reported too.
        let gone = [Quote { after: "x slower", ..quotes[0] }];
        let problems = check(dir.path(), &[], &gone, false).unwrap();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("r.json /speed = 2.3"), "{}", problems[0]);
    }

    #[test]
    fn tests_are_counted_with_rust_doctests_only() {
        let source = "/// ```\n/// let a = 1;\n/// ```\n//! ```text\n//! not rust\n//! ```\n/// ```no_run\n/// x();\n/// ```\n/// ```ignore\n/// ```\n#[test]\nfn a() {}\n    #[test]\n    fn b() {}\n";
        assert_eq!(tests_in(source, true), 4, "2 #[test] and the plain and no_run doctests");
        assert_eq!(tests_in(source, false), 2, "outside a library's src/ only #[test] counts");
    }

    #[test]
    fn the_command_table_has_every_flag_of_every_command() {
        let cli = clap::Command::new("fpae")
            .arg(Arg::new("threads").long("threads").value_name("N").global(true).help("Threads."))
            .subcommand(
                clap::Command::new("train")
                    .about("Train a model.")
                    .arg(Arg::new("config").value_name("CONFIG").help("Config file."))
                    .arg(
                        Arg::new("set").long("set").value_name("KEY=VALUE").action(ArgAction::Append).help("Override."),
                    )
                    .arg(Arg::new("precision").long("precision").value_parser(["f32", "bf16"]).help("Precision."))
                    .arg(
                        Arg::new("kind").long("kind").value_name("K").value_parser(["a", "b", "c", "d", "e", "f", "g"]),
                    )
                    .arg(Arg::new("steps").long("steps").value_name("N").default_value("5").help("Steps."))
                    .arg(Arg::new("hidden").long("hidden").hide(true)),
            )
            .subcommand(clap::Command::new("benchmark").subcommand(
                clap::Command::new("make").about("Make it.").arg(Arg::new("out").long("out").required(true)),
            ));
        let xtask = clap::Command::new("cargo xtask").subcommand(clap::Command::new("setup").about("Set up."));
        let table = command_table(&fp_clap_json::describe(&xtask), &fp_clap_json::describe(&cli));
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[0], "| command | what it does |");
        assert_eq!(rows[2], "| `cargo xtask setup` | Set up. |");
        assert_eq!(
            rows[3],
            "| `fpae [--threads N] COMMAND` | Every fpae command takes these.<br>`--threads N`: Threads. |"
        );
        assert_eq!(
            rows[4],
            "| `fpae train [CONFIG] [--set KEY=VALUE]... [--precision f32\\|bf16] [--kind K] [--steps N]` | Train a model.\
             <br>`CONFIG`: Config file.<br>`--set KEY=VALUE`: Override.<br>`--precision f32\\|bf16`: Precision.<br>`--kind \
             K`: (one of: a, b, c, d, e, f, g)<br>`--steps N`: Steps. [default: 5] |"
        );
        assert_eq!(rows[5], "| `fpae benchmark make --out OUT` | Make it.<br>`--out OUT` |");
        assert_eq!(rows.len(), 6, "{table}");
    }

    #[test]
    fn a_models_benchmark_table_has_a_row_per_sensor_and_one_over_all() {
        let group = |degraded: f64, restored: f64| {
            (
                json!({"ssim": 0.7, "identity": {"type2_rate_40": degraded}}),
                json!({"ssim": 0.8, "identity": {"type2_rate_40": restored, "type2_rate_40_originals": 0.9}}),
            )
        };
        let ((d1, r1), (da, ra)) = (group(0.5, 0.6), group(0.4, 0.65));
        let json = json!({
            "degraded": {"databases": {"DB1_B": d1}, "all": da},
            "restored": {"databases": {"DB1_B": r1}, "all": ra},
        });
        let table = by_sensor(&json, "e.json").unwrap();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        // (60 - 50) / (90 - 50) = 25 %; (65 - 40) / (90 - 40) = 50 %.
        assert_eq!(
            rows,
            [
                "| DB1 | 50.0 % | 60.0 % | 90.0 % | 25 % | 0.700 / 0.800 |",
                "| all | 40.0 % | 65.0 % | 90.0 % | 50 % | 0.700 / 0.800 |"
            ]
        );
        let err = by_sensor(&json!({"restored": {"databases": {}}}), "e.json").unwrap_err().to_string();
        assert_eq!(err, "e.json has no number at /degraded/all/identity/type2_rate_40");
    }

    #[test]
    fn a_card_check_renders_its_prints_rows_and_tolerance() {
        let row = |psnr: f64, rate: f64| {
            json!({"images": 32, "mse": 0.0123456, "psnr": psnr, "ssim": 0.79114, "minutiae_recall": 0.6276,
                   "minutiae_precision": 0.475, "type1_rate_40": 1.0, "type2_rate_40": rate, "type2_rate_40_originals": 1.0})
        };
        let check = json!({
            "dataset": "fvc2002",
            "prints": ["DB1_B/105_1.tif", "DB1_B/105_2.tif"],
            "damage": {"kinds": ["noise", "blur"], "severity": "0.6", "seed": "0"},
            "tolerance": {"mse": 0.0002, "psnr": 0.05, "ssim": 0.002, "minutiae_recall": 0.02,
                          "minutiae_precision": 0.02, "type1_rate_40": 0.125, "type2_rate_40": 0.125},
            "damaged": row(18.678, 0.46875),
            "output": row(19.357, 0.59375),
        });
        let text = card_check(&check, "c.json").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "On 2 prints of FVC2002 (`DB1_B/105_1.tif`, `DB1_B/105_2.tif`), each damaged by noise, blur at \
             severity 0.6 (`fpae degrade --seed 0`):"
        );
        // 0.46875 is 46.9 %; whole rates are written without decimals.
        assert_eq!(lines[4], "| damaged | 32 | 0.012346 | 18.68 | 0.791 | 62.8 % / 47.5 % | 100 % | 46.9 % (100 %) |");
        assert_eq!(lines[5], "| restored | 32 | 0.012346 | 19.36 | 0.791 | 62.8 % / 47.5 % | 100 % | 59.4 % (100 %) |");
        assert!(
            lines[7].contains("PSNR 0.05 dB") && lines[7].contains("type I and type II rates 12.5 points"),
            "{}",
            lines[7]
        );
        // A reconstruction model has no damaged row, and a missing number names its file and place.
        let mut plain = check.clone();
        plain["damage"] = Value::Null;
        plain["damaged"] = Value::Null;
        let text = card_check(&plain, "c.json").unwrap();
        assert!(text.lines().nth(4).unwrap().starts_with("| reconstructed | 32 |"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 3, "{text}");
        plain["output"]["psnr"] = Value::Null;
        assert_eq!(card_check(&plain, "c.json").unwrap_err().to_string(), "c.json has no number at /output/psnr");
    }

    #[test]
    fn an_evaluation_table_has_a_row_per_sensor_and_one_over_all() {
        let group = |images: u64, t1: f64| {
            json!({"images": images, "psnr": 30.345, "ssim": 0.94161, "identity": {
                "minutiae_recall": 0.7986, "minutiae_precision": 0.819, "type1_rate_40": t1, "ceiling_type1_rate_40": 1.0,
                "type2_rate_40": 0.779, "type2_rate_40_originals": 0.788, "impostor_rate_40": 0.0, "not_computable": 2}})
        };
        let mut json = group(64, 0.9625);
        json["per_database"] = json!({"DB2_B": group(16, 1.0), "DB1_B": group(48, 0.95)});
        let evaluated = Evaluated { file: "e.json", data: "FVC2000", card_row: "FVC2000, all" };
        let evaluations = [(&evaluated, json)];
        let table = per_sensor(&evaluations, false).unwrap();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| FVC2000 | DB1 | 48 | 30.34 | 0.942 | 79.9 % / 81.9 % | 95.0 % | 77.9 % (78.8 %) |",
                "| FVC2000 | DB2 | 16 | 30.34 | 0.942 | 79.9 % / 81.9 % | 100 % | 77.9 % (78.8 %) |",
                "| FVC2000 | all | 64 | 30.34 | 0.942 | 79.9 % / 81.9 % | 96.2 % | 77.9 % (78.8 %) |",
            ]
        );
        let resized = per_sensor(&evaluations, true).unwrap();
        assert!(resized.lines().last().unwrap().ends_with("| 96.2 % (100 %) | 77.9 % (78.8 %) | 2 |"), "{resized}");
        let card = card_results(&evaluations, false).unwrap();
        assert_eq!(
            card.lines().nth(2).unwrap(),
            "| FVC2000, all | 64 | 30.34 | 0.942 | 79.9 % / 81.9 % | 96.2 % | 77.9 % (78.8 %) | 0 % |"
        );
    }

    #[test]
    fn the_kind_average_weighs_every_kind_alike() {
        let group = |rate: f64, ssim: f64| {
            json!({"images": 64, "ssim": ssim, "identity": {
            "type2_rate_40": rate, "type1_rate_40": rate, "type2_rate_40_originals": 0.8, "impostor_rate_40": 0.0}})
        };
        let eval = json!({
            "degraded": {"groups": {"blur/0.6": group(0.4, 0.6), "dry/0.6": group(0.5, 0.7)}},
            "restored": {"groups": {"blur/0.6": group(0.6, 0.8), "dry/0.6": group(0.5, 0.9)}},
        });
        let restore = json!({"groups": {"blur/0.6": {"pyfing-gabor": group(0.3, 0.5)}, "dry/0.6": {"pyfing-gabor": group(0.4, 0.5)}}});
        let pyfing = PyfingScores { json: &restore, file: "r.json", peer_of_evaluation: false };
        let table = kinds_averaged(&("e.json", eval), pyfing).unwrap();
        // Degraded (40 + 50) / 2 = 45, fpae 55, pyfing 35, clean 80: gaps 10 / 35 = 28.6 % and -10 / 35 = -28.6 %.
        assert_eq!(
            table.lines().nth(2).unwrap(),
            "| 0.6 | 128 | 45.0 | 55.0 | 35.0 | 28.6 % | −28.6 % | 55.0 (45.0) | 0.0 | 0.650 / 0.850 / 0.500 |"
        );
        let err = per_kind(&("e.json", json!({"restored": {"groups": {"blur/0.3": {}}}})), pyfing).unwrap_err();
        assert_eq!(err.to_string(), "e.json has no group at severity 0.6");
    }

    #[test]
    fn restoration_tables_render_from_the_json() {
        let json = json!({
            "model": "models/m",
            "severities": ["0.6"],
            "kinds": ["blur"],
            "groups": {"blur/0.6": {
                "degraded": {"identity": {"type2_rate_40": 0.395}},
                "fpae": {"identity": {"type2_rate_40": 0.549}},
                "pyfing-gabor": {"identity": {"type2_rate_40": 0.237}},
                "pyfing-snfen": {"identity": {"type2_rate_40": 0.551}},
            }},
        });
        assert_eq!(
            restoration_kinds(&json).unwrap().lines().nth(2).unwrap(),
            "| blur | 39.5 | 54.9 | 23.7 | **55.1** | behind, −0.2 |"
        );
        let broken = json!({"severities": ["0.6"], "kinds": ["blur"], "groups": {}});
        let err = restoration_kinds(&broken).unwrap_err().to_string();
        assert!(err.contains(RESTORE_BENCH) && err.contains("/groups/blur~10.6/"), "{err}");
    }

    #[test]
    fn an_ablation_row_has_each_benchmarks_gap_kinds_below_input_and_no_harm() {
        let group = |rate: f64| json!({"identity": {"type2_rate_40": rate, "type2_rate_40_originals": 0.8}});
        let evaluation = |blur: f64, dry: f64| {
            json!({
                "degraded": {"groups": {"blur/0.6": group(0.4), "dry/0.6": group(0.6)}},
                "restored": {"groups": {"blur/0.6": group(blur), "dry/0.6": group(dry)}},
                "clean_restored": {"all": {"identity": {
                    "type2_rate_40": 0.79, "type2_rate_40_originals": 0.8, "minutiae_recall": 0.9}}},
            })
        };
        let arms = [
            ("a", [("a2.json", evaluation(0.6, 0.6)), ("a0.json", evaluation(0.4, 0.4))]),
            ("b", [("b2.json", evaluation(0.5, 0.55)), ("b0.json", evaluation(0.8, 0.8))]),
        ];
        let table = ablation(&arms).unwrap();
        let rows: Vec<&str> = table.lines().collect();
        // Degraded (40 + 60) / 2 = 50, clean 80.
        assert_eq!(
            rows[2],
            "| no restoration: the damaged prints (the clean ones) | 50.0 % (80.0 %) | | 80.0 % | 50.0 % (80.0 %) | | 80.0 % |"
        );
        // a: 60 on FVC2002 (a third of the gap), 40 on FVC2000 with both kinds at or below input.
        assert_eq!(
            rows[3],
            "| a | 60.0 % (33.3 %) | none | 79.0 % (90.0 %) | 40.0 % (-33.3 %) | dry | 79.0 % (90.0 %) |"
        );
        assert!(rows[4].starts_with("| b | 52.5 % (8.3 %) | dry |"), "{}", rows[4]);
        let mut broken = evaluation(0.5, 0.5);
        broken["clean_restored"] = json!({});
        let err = ablation(&[("c", [("c2.json", broken), ("c0.json", evaluation(0.5, 0.5))])]).unwrap_err();
        assert!(err.to_string().contains("c2.json"), "{err}");
    }

    #[test]
    fn the_precisions_table_sets_bf16_against_f32_per_kind() {
        let group = |rate: f64, psnr: f64| json!({"psnr": psnr, "identity": {"type2_rate_40": rate, "type2_rate_40_originals": 0.8}});
        let evaluation = |blur: f64, dry: f64, clean: f64| {
            json!({
                "degraded": {"groups": {"blur/0.6": group(0.4, 20.0), "dry/0.6": group(0.6, 19.0)}},
                "restored": {"groups": {"blur/0.6": group(blur, 21.0), "dry/0.6": group(dry, 22.5)}},
                "clean_restored": {"all": {"identity": {
                    "type2_rate_40": clean, "type2_rate_40_originals": 0.8, "minutiae_recall": 0.9}}},
            })
        };
        let table =
            precisions_against(&("f.json", evaluation(0.6, 0.6, 0.79)), &("b.json", evaluation(0.5, 0.65, 0.8)))
                .unwrap();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[2], "| blur | 40.0 | 60.0 | 50.0 | -10.0 | 21.00 / 21.00 |");
        assert_eq!(rows[3], "| dry | 60.0 | 60.0 | 65.0 | +5.0 | 22.50 / 22.50 |");
        // Degraded 50, clean 80: f32 restores 60 (a third of the gap), bf16 57.5 (a quarter).
        assert_eq!(rows[4], "| averaged (gap recovered) | 50.0 | 60.0 (33.3 %) | 57.5 (25.0 %) | -2.5 | |");
        assert_eq!(
            rows[5],
            "| clean prints restored (minutiae recall) | 80.0 | 79.0 (90.0 %) | 80.0 (90.0 %) | +1.0 | |"
        );
    }

    #[test]
    fn the_peers_table_names_whoever_is_ahead_per_kind() {
        let group = |rate: f64| json!({"identity": {"type2_rate_40": rate, "type2_rate_40_originals": 0.8}});
        let eval = json!({
            "degraded": {"groups": {"blur/0.6": group(0.4), "dry/0.6": group(0.4), "noise/0.6": group(0.2)}},
            "restored": {"groups": {"blur/0.6": group(0.6), "dry/0.6": group(0.5), "noise/0.6": group(0.3)}},
        });
        let peers = |gabor: f64, snfen: f64| json!({"pyfing-gabor": group(gabor), "pyfing-snfen": group(snfen)});
        let bench = json!({"groups": {
            "blur/0.6": peers(0.3, 0.5), "dry/0.6": peers(0.45, 0.7), "noise/0.6": peers(0.3, 0.1)}});
        let table = against_pyfing(&("e.json", eval), &("b.json", bench)).unwrap();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[2], "| blur | 40.0 | 60.0 | 30.0 | 50.0 | this model, +10.0 |");
        assert_eq!(rows[3], "| dry | 40.0 | 50.0 | 45.0 | 70.0 | pyfing-snfen, +20.0 |");
        assert_eq!(rows[4], "| noise | 20.0 | 30.0 | 30.0 | 10.0 | tie |");
        // Degraded 33.3, this model 46.7, Gabor 35, SNFEN 43.3, clean 80: 28.6 %, 3.6 %, 21.4 %.
        assert_eq!(rows[6], "| gap recovered | | 28.6 % | 3.6 % | 21.4 % | |");
        let missing = json!({"groups": {"blur/0.6": peers(0.3, 0.5)}});
        let eval =
            json!({"degraded": {"groups": {"dry/0.6": group(0.4)}}, "restored": {"groups": {"dry/0.6": group(0.5)}}});
        let err = against_pyfing(&("e.json", eval), &("b.json", missing)).unwrap_err().to_string();
        assert!(err.contains("b.json") && err.contains("dry~10.6"), "{err}");
    }
}
