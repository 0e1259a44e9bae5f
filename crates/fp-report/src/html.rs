//! The HTML rendering: one self-contained page (images inline as data URIs,
//! styles and a few lines of script in the page, no fonts or anything else
//! fetched), readable at phone width and when printed.
//!
//! Every number cell carries the measure's key and the exact number
//! (`data-key`, `data-value`) and every row the place of its group in the
//! evaluation's JSON (`data-path`), so a reader (or a test) can check each
//! cell against the JSON file the table names (`data-source`).

use std::fmt::Write as _;

use crate::{Report, ScoreTable};

/// A page: a title, then sections in reading order.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page's title.
    pub title: String,
    /// One line under it.
    pub subtitle: String,
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section of a page.
#[derive(Debug, Clone)]
pub enum Section {
    /// Name and value pairs.
    Facts {
        /// Heading.
        title: String,
        /// The pairs, in order.
        facts: Vec<(String, String)>,
    },
    /// Preformatted text, such as a configuration file.
    Code {
        /// Heading.
        title: String,
        /// The text.
        text: String,
    },
    /// One PNG picture.
    Figure {
        /// Heading.
        title: String,
        /// What it shows.
        caption: String,
        /// The PNG bytes.
        png: Vec<u8>,
    },
    /// Pictures of the same prints, one shown at a time, chosen by buttons
    /// (all shown in print).
    Views {
        /// Heading.
        title: String,
        /// What they show.
        caption: String,
        /// The views: button label and PNG bytes.
        views: Vec<(String, Vec<u8>)>,
    },
    /// The tables of a report, whose numbers are those of the JSON file `source`.
    Scores {
        /// The report.
        report: Report,
        /// The JSON file the numbers come from, as the page names it.
        source: String,
    },
}

impl Section {
    fn title(&self) -> &str {
        match self {
            Section::Facts { title, .. }
            | Section::Code { title, .. }
            | Section::Figure { title, .. }
            | Section::Views { title, .. } => title,
            Section::Scores { report, .. } => &report.subject,
        }
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1b1f24; --muted: #5a6472; --line: #d5dae1; --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); }
h1 { font-size: 1.5rem; margin: 0.2rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 0.3rem; }
summary { font-weight: 600; margin: 1.2rem 0 0.3rem; cursor: pointer; }
.subtitle, figcaption, .note { color: var(--muted); }
nav ol { columns: 2 14rem; padding-left: 1.2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2rem 0.5rem; border-bottom: 1px solid var(--line); }
td { text-align: right; white-space: nowrap; }
th { text-align: left; }
thead th { text-align: center; font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 500; white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f5f7f9; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
img { max-width: 100%; height: auto; display: block; }
figure { margin: 0.5rem 0; }
.views button { font: inherit; padding: 0.3rem 0.8rem; margin: 0 0.3rem 0.3rem 0; border: 1px solid var(--accent); background: white; color: var(--accent); border-radius: 4px; cursor: pointer; }
.views button[aria-pressed="true"] { background: var(--accent); color: white; }
@media (max-width: 600px) { body { padding: 0.5rem; font-size: 14px; } dl { grid-template-columns: 1fr; } dt { margin-top: 0.4rem; } }
@media print {
  nav, .views button { display: none; }
  details > :not(summary) { display: block !important; }
  .views figure[hidden] { display: block !important; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('.views').forEach(function (box) {
  var buttons = box.querySelectorAll('button');
  var figures = box.querySelectorAll('figure');
  buttons.forEach(function (button, i) {
    button.addEventListener('click', function () {
      figures.forEach(function (f, j) { f.hidden = j !== i; });
      buttons.forEach(function (b, j) { b.setAttribute('aria-pressed', String(j === i)); });
    });
  });
});
"#;

/// The whole page as one HTML document.
pub fn render(page: &Page) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n</header>\n",
        escape(&page.title),
        escape(&page.title),
        escape(&page.subtitle)
    );
    out += "<nav><ol>\n";
    for (n, section) in page.sections.iter().enumerate() {
        let _ = writeln!(out, "<li><a href=\"#s{n}\">{}</a></li>", escape(section.title()));
    }
    out += "</ol></nav>\n";
    for (n, section) in page.sections.iter().enumerate() {
        let _ = writeln!(out, "<section id=\"s{n}\">\n<h2>{}</h2>", escape(section.title()));
        match section {
            Section::Facts { facts, .. } => {
                out += "<dl>\n";
                for (name, value) in facts {
                    let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
                }
                out += "</dl>\n";
            }
            Section::Code { text, .. } => {
                let _ = writeln!(out, "<pre>{}</pre>", escape(text));
            }
            Section::Figure { caption, png, .. } => out += &figure(caption, png, false),
            Section::Views { caption, views, .. } => {
                out += "<div class=\"views\">\n<div>";
                for (i, (name, _)) in views.iter().enumerate() {
                    let _ =
                        write!(out, "<button type=\"button\" aria-pressed=\"{}\">{}</button>", i == 0, escape(name));
                }
                out += "</div>\n";
                for (i, (name, png)) in views.iter().enumerate() {
                    out += &figure(&format!("{name}: {caption}"), png, i > 0);
                }
                out += "</div>\n";
            }
            Section::Scores { report, source } => {
                for table in &report.tables {
                    out += &score_table(table, source);
                }
                let _ = writeln!(out, "<p class=\"note\">Numbers as in <code>{}</code>.</p>", escape(source));
            }
        }
        out += "</section>\n";
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// A `<figure>` with the PNG inline.
fn figure(caption: &str, png: &[u8], hidden: bool) -> String {
    format!(
        "<figure{}><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>\n",
        if hidden { " hidden" } else { "" },
        escape(caption),
        base64(png),
        escape(caption)
    )
}

/// One score table, each cell with its key and exact number.
fn score_table(table: &ScoreTable, source: &str) -> String {
    let mut out = if table.folded {
        format!("<details>\n<summary>{}</summary>\n", escape(&table.title))
    } else {
        format!("<h3>{}</h3>\n", escape(&table.title))
    };
    let _ = write!(out, "<div class=\"scroll\"><table class=\"scores\" data-source=\"{}\">\n<thead>\n", escape(source));
    let banded = table.measures.iter().any(|m| !m.band.is_empty());
    if banded {
        out += "<tr><th rowspan=\"2\">group</th>";
        let mut c = 0;
        while c < table.measures.len() {
            let band = table.measures[c].band;
            let span = table.measures[c..].iter().take_while(|m| m.band == band).count();
            let _ = write!(out, "<th colspan=\"{span}\">{}</th>", escape(band));
            c += span;
        }
        out += "</tr>\n<tr>";
    } else {
        out += "<tr><th>group</th>";
    }
    for m in table.measures {
        let _ = write!(out, "<th title=\"{}\">{}</th>", escape(m.meaning), escape(m.heading));
    }
    out += "</tr>\n</thead>\n<tbody>\n";
    for row in &table.rows {
        let path = serde_json::to_string(&row.json_path).expect("strings serialize");
        let _ = write!(out, "<tr data-path=\"{}\"><th>{}</th>", escape(&path), escape(&row.label));
        for m in table.measures {
            let value = row.value(m);
            let exact = value.map(|v| format!(" data-value=\"{v:?}\"")).unwrap_or_default();
            let _ = write!(out, "<td data-key=\"{}\"{exact}>{}</td>", m.key(), escape(&m.cell(value)));
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table></div>\n";
    if table.folded {
        out += "</details>\n";
    }
    out
}

/// `text` with the five characters HTML reserves escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&#39;",
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ScoreRow, measures};
    use fp_metrics::{GroupScore, Quality};

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn cells_carry_keys_exact_numbers_and_their_json_place() {
        let g = GroupScore::of(&[Quality { mse: 0.01, psnr: 21.456, ssim: 0.5 }]).unwrap();
        let report = Report {
            subject: "run <a> & b".into(),
            tables: vec![ScoreTable {
                title: "pixels".into(),
                measures: measures::PIXELS,
                folded: false,
                rows: vec![ScoreRow::new("DB1_B", &["per_database", "DB1_B"], &g)],
            }],
        };
        let page = Page {
            title: "t".into(),
            subtitle: "s".into(),
            sections: vec![
                Section::Scores { report, source: "evaluation.json".into() },
                Section::Views {
                    title: "v".into(),
                    caption: "c".into(),
                    views: vec![("a".into(), vec![1]), ("b".into(), vec![2])],
                },
            ],
        };
        let html = render(&page);
        assert!(html.contains("<td data-key=\"psnr\" data-value=\"21.456\">21.46</td>"), "{html}");
        assert!(html.contains("data-path=\"[&quot;per_database&quot;,&quot;DB1_B&quot;]\""), "{html}");
        assert!(html.contains("run &lt;a&gt; &amp; b"));
        assert_eq!(html.matches("<figure hidden>").count(), 1, "one view shown, the other hidden");
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing fetched");
    }
}
