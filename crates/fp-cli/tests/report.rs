//! `fpae report` on a finished restoration run: the terminal table, the JSON
//! and the HTML page show the same numbers, and the page passes a real
//! browser (headless Chromium): no console errors, every image decodes, every
//! number equals `evaluation.json`'s, and the view buttons switch pictures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fpae, last_line, text};
use fp_report::measures;
use serde_json::Value;

/// A finished one-epoch restoration run `runs/r` on 128x128 synthetic prints,
/// evaluated on a restoration benchmark at one severity, with its report.
fn finished_run(root: &Path) -> PathBuf {
    common::restore_project(root, 4, 128, 2);
    let out = fpae(&["train", "restore.toml", "--run-dir", "runs/r"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Training ends by writing the report and printing its path.
    assert!(text(&out.stdout).lines().any(|l| l == "runs/r/report.html"), "{}", text(&out.stdout));
    let out = fpae(&["benchmark", "make", "--data", "data", "--out", "bench"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fpae(&["evaluate", "runs/r", "--benchmark", "bench", "--severity", "0.6"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fpae(&["report", "runs/r", "--out", "page/report.html"], root);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(last_line(&out), "page/report.html");
    root.join("page/report.html")
}

/// One cell of an HTML table: (JSON file, row's JSON path, key, exact value, shown text).
type HtmlCell = (String, Vec<String>, String, Option<f64>, String);

/// The cells of the HTML tables.
fn html_cells(html: &str) -> Vec<HtmlCell> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + tag[start..].find('"')?;
        Some(tag[start..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    };
    let mut cells = Vec::new();
    for table in html.split("<table class=\"scores\"").skip(1) {
        let source = attr(table, "data-source").unwrap();
        let table = &table[..table.find("</table>").unwrap()];
        for row in table.split("<tr data-path=").skip(1) {
            let path: Vec<String> =
                serde_json::from_str(&attr(&format!("data-path={row}"), "data-path").unwrap()).unwrap();
            for cell in row.split("<td ").skip(1) {
                let tag = &cell[..cell.find('>').unwrap()];
                let shown = &cell[tag.len() + 1..cell.find("</td>").unwrap()];
                let value = attr(tag, "data-value").map(|v| v.parse::<f64>().unwrap());
                cells.push((source.clone(), path.clone(), attr(tag, "data-key").unwrap(), value, shown.to_owned()));
            }
        }
    }
    cells
}

/// The finished run's `evaluation.json` and its benchmark evaluation, the
/// sources of every number on the page.
fn run_json(root: &Path) -> (Value, Value) {
    let read = |path: &str| -> Value { serde_json::from_slice(&std::fs::read(root.join(path)).unwrap()).unwrap() };
    (read("runs/r/evaluation.json"), read("runs/r/restored/synthetic-restore-v1.json"))
}

#[test]
fn table_json_and_page_show_one_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let page = finished_run(root);
    let html = std::fs::read_to_string(&page).unwrap();
    let (evaluation, benchmark) = run_json(root);
    assert!(evaluation["identity"]["minutiae_recall"].as_f64().is_some(), "identity measured: {evaluation}");

    // The page: every number is the one at its place in its JSON file.
    let cells = html_cells(&html);
    let from_evaluation = cells.iter().filter(|c| c.0 == "evaluation.json").count();
    let from_benchmark = cells.iter().filter(|c| c.0 == "restored/synthetic-restore-v1.json").count();
    assert!(from_evaluation >= 3 * (measures::PIXELS.len() + measures::IDENTITY.len()), "{from_evaluation} cells");
    assert!(from_benchmark >= 13 * 2 * measures::SCORES.len(), "{from_benchmark} cells");
    for (source, path, key, value, shown) in &cells {
        let json = if source == "evaluation.json" { &evaluation } else { &benchmark };
        let group = fp_report::lookup(json, path).unwrap_or_else(|| panic!("{path:?} not in {source}"));
        let measure = measures::by_key(key).unwrap_or_else(|| panic!("no measure reads {key}"));
        assert_eq!(*value, measure.quantity.in_json(group), "{source} {path:?} {key}");
        assert_eq!(*shown, measure.cell(*value), "{source} {path:?} {key}");
    }

    // The terminal table and the JSON of `fpae evaluate` are the same numbers again.
    let json_out = fpae(&["evaluate", "runs/r", "--json"], root);
    assert!(json_out.status.success(), "{}", text(&json_out.stderr));
    let printed: Value = serde_json::from_str(&last_line(&json_out)).unwrap();
    assert_eq!(printed, evaluation, "--json prints what evaluation.json holds");
    let table = text(&fpae(&["evaluate", "runs/r"], root).stdout);
    // One row per print in the page (folded), none in the terminal.
    let per_image = cells.iter().filter(|c| c.1.first().is_some_and(|k| k == "per_image")).count();
    assert_eq!(per_image, measures::IMAGE.len() * evaluation["per_image"].as_array().unwrap().len());
    for (source, path, key, value, shown) in
        cells.iter().filter(|c| c.0 == "evaluation.json" && c.1.first().is_none_or(|k| k != "per_image"))
    {
        let label = path.last().map_or("all", String::as_str);
        let (measure_set, line) = if key.starts_with("identity.") {
            (
                measures::IDENTITY,
                table
                    .lines()
                    .skip_while(|l| !l.starts_with("identity:"))
                    .find(|l| l.split_whitespace().next() == Some(label)),
            )
        } else {
            (measures::PIXELS, table.lines().find(|l| l.split_whitespace().next() == Some(label)))
        };
        let line = line.unwrap_or_else(|| panic!("no {label} row for {key} in\n{table}"));
        let column = measure_set.iter().position(|m| m.key() == key).unwrap();
        let text_cells: Vec<&str> = line.split_whitespace().filter(|c| *c != "|").skip(1).collect();
        assert_eq!(text_cells[column], shown, "{source} {label} {key} = {value:?}: {line}");
    }
}

/// The number of page objects in a PDF (`/Type /Page`, not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    (0..pdf.len())
        .filter(|&i| pdf[i..].starts_with(b"/Type"))
        .filter(|&i| {
            let rest = &pdf[i + 5..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            rest.starts_with(b"/Page") && rest.get(5) != Some(&b's')
        })
        .count()
}

/// Chromium from PATH (Debian's `chromium`; `cargo xtask test` installs it) or `FPAE_CHROMIUM`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FPAE_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// Put first in the page's head: records errors (script errors, failed loads,
/// console errors), then on load checks the images, reads every table cell,
/// presses the second view button, and writes it all as JSON into the page.
const CHECK_SCRIPT: &str = r#"<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || ('failed to load ' + ((e.target && (e.target.src || e.target.href)) || '?')));
  }, true);
  var consoleError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  window.addEventListener('load', function () {
    var images = Array.prototype.map.call(document.images, function (i) { return i.complete ? i.naturalWidth : 0; });
    var cells = [];
    document.querySelectorAll('table.scores').forEach(function (t) {
      t.querySelectorAll('tr[data-path]').forEach(function (r) {
        r.querySelectorAll('td[data-key]').forEach(function (c) {
          cells.push({source: t.dataset.source, path: JSON.parse(r.dataset.path), key: c.dataset.key, value: c.dataset.value === undefined ? null : Number(c.dataset.value), text: c.textContent});
        });
      });
    });
    var views = document.querySelector('.views');
    var visible = function () { return Array.prototype.map.call(views.querySelectorAll('figure'), function (f) { return !f.hidden; }); };
    var before = visible();
    views.querySelectorAll('button')[1].click();
    var after = visible();
    var out = document.createElement('pre');
    out.id = 'fpae-check';
    out.textContent = JSON.stringify({errors: errors, images: images, cells: cells, before: before, after: after, width: document.documentElement.scrollWidth, viewport: window.innerWidth});
    document.body.appendChild(out);
  });
})();
</script>"#;

#[test]
fn the_report_passes_a_real_browser() {
    let Some(chromium) = chromium() else {
        fp_testkit::missing(
            fp_testkit::Need::Browser,
            "chromium not found (`cargo xtask test` installs Debian's chromium; or set FPAE_CHROMIUM=PATH)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let page = finished_run(root);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing is fetched");
    let checked = root.join("page/check.html");
    std::fs::write(&checked, html.replacen("<head>", &format!("<head>\n{CHECK_SCRIPT}"), 1)).unwrap();
    let browser = |args: &[&str], page: &Path| {
        let out = Command::new(&chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
            .arg(format!("--user-data-dir={}", root.join("chromium-profile").display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        assert!(out.status.success(), "chromium failed: {}", text(&out.stderr));
        out
    };
    // At a phone's width: the page must not need sideways scrolling (tables scroll in their own box).
    let out = browser(&["--window-size=390,800", "--virtual-time-budget=10000", "--dump-dom"], &checked);
    let dom = text(&out.stdout);
    let start = dom.find("<pre id=\"fpae-check\">").expect("the check ran") + "<pre id=\"fpae-check\">".len();
    let json = dom[start..start + dom[start..].find("</pre>").unwrap()]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let check: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(check["errors"], serde_json::json!([]), "no console or load errors");
    let widths: Vec<u64> = check["images"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap()).collect();
    assert!(widths.len() >= 4 && widths.iter().all(|&w| w > 0), "every image decodes: {widths:?}");
    // Headless Chromium's narrowest window is about 500 px, still a phone's width in CSS pixels.
    let viewport = check["viewport"].as_u64().unwrap();
    assert!(viewport <= 500, "a narrow window: {viewport}");
    assert!(check["width"].as_u64().unwrap() <= viewport, "fits the window: {} > {viewport}", check["width"]);
    assert_eq!(check["before"], serde_json::json!([true, false, false]));
    assert_eq!(check["after"], serde_json::json!([false, true, false]), "the second button shows the restorations");
    let (evaluation, benchmark) = run_json(root);
    let cells = check["cells"].as_array().unwrap();
    assert!(cells.len() > 100, "{} cells", cells.len());
    for cell in cells {
        let json = if cell["source"] == "evaluation.json" { &evaluation } else { &benchmark };
        let path: Vec<String> = serde_json::from_value(cell["path"].clone()).unwrap();
        let group = fp_report::lookup(json, &path).unwrap_or_else(|| panic!("{cell} not in its JSON"));
        let key = cell["key"].as_str().unwrap();
        let measure = measures::by_key(key).unwrap_or_else(|| panic!("no measure reads {key}"));
        let expected = measure.quantity.in_json(group);
        match (cell["value"].as_f64(), expected) {
            (Some(shown), Some(expected)) => {
                assert!((shown - expected).abs() <= 1e-12 * expected.abs(), "{cell}: {expected}")
            }
            (None, None) => {}
            (shown, expected) => panic!("{cell}: {shown:?} against {expected:?}"),
        }
        assert_eq!(cell["text"].as_str(), Some(measure.cell(expected).as_str()), "{cell}");
    }
    // A screenshot of the page as it is, at a laptop's width.
    let shot = root.join("page/report.png");
    browser(&["--window-size=1100,1600", &format!("--screenshot={}", shot.display())], &page);
    let image = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (1100, 1600));
    // Printed: every view of the prints is shown, so the PDF is longer than one page.
    let pdf = root.join("page/report.pdf");
    browser(&["--no-pdf-header-footer", &format!("--print-to-pdf={}", pdf.display())], &page);
    let pdf = std::fs::read(&pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    assert!(pdf_pages(&pdf) >= 2, "{} pages", pdf_pages(&pdf));
    if let Some(keep) = std::env::var_os("FPAE_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
