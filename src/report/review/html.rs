//! `report.html`: one self-contained page. The charts are inline SVG (text
//! as outlines), the page's own text is in the embedded font declared once
//! as a data URL, there is no script and no external resource.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::charts::{Rendered, font_face_css};
use super::document::{Block, Cell, Document, not_available};
use crate::plan::Verdict;

const STYLE: &str = "\
body{font-family:\"slaplan-sans\",sans-serif;color:#212121;max-width:1000px;margin:24px auto;padding:0 16px;\
line-height:1.45;font-size:15px;background:#fff}\
h1{font-size:24px;margin:0 0 12px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd}\
h3{font-size:16px;margin:18px 0 6px}\
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;\
vertical-align:top}th{background:#f5f5f5}\
.verdict{padding:1px 6px;border-radius:3px;color:#fff;white-space:nowrap}\
.enforceable{background:#2e7d32}.at_risk{background:#e69800}.not_enforceable{background:#c62828}\
figure{margin:12px 0 24px}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:13px;color:#555}.missing{color:#777;font-style:italic}";

/// The page of `doc`, with the drawn charts by file stem.
pub fn render(doc: &Document, charts: &BTreeMap<&'static str, Rendered>) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(out, "<style>{}\n{STYLE}</style>", font_face_css());
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&doc.title));
    for block in &doc.blocks {
        block_html(&mut out, block, charts);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn verdict_badge(v: Verdict) -> String {
    let class = match v {
        Verdict::Enforceable => "enforceable",
        Verdict::AtRisk => "at_risk",
        Verdict::NotEnforceable => "not_enforceable",
    };
    format!("<span class=\"verdict {class}\">{}</span>", v.label())
}

fn block_html(out: &mut String, block: &Block, charts: &BTreeMap<&'static str, Rendered>) {
    match block {
        Block::Heading(text) => {
            let _ = writeln!(out, "<h2>{}</h2>", escape(text));
        }
        Block::Paragraph(text) => {
            let _ = writeln!(out, "<p>{}</p>", escape(text));
        }
        Block::Bullets(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", escape(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Table { header, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in header {
                let _ = write!(out, "<th>{}</th>", escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let inner = match cell {
                        Cell::Text(t) => escape(t),
                        Cell::Verdict(v) => verdict_badge(*v),
                    };
                    let _ = write!(out, "<td>{inner}</td>");
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Figure { name, title, caption } => {
            let _ = writeln!(out, "<h3>{}</h3>", escape(title));
            out.push_str("<figure>\n");
            match charts.get(name) {
                Some(chart) => {
                    out.push_str(svg_element(&chart.svg));
                    out.push('\n');
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<p class=\"missing\">{}</p>",
                        escape(&format!("charts/{name}.svg"))
                    );
                }
            }
            let _ = writeln!(out, "<figcaption>{}</figcaption>\n</figure>", escape(caption));
        }
        Block::Missing { title, reason } => {
            let _ = writeln!(out, "<h3>{}</h3>", escape(title));
            let _ = writeln!(
                out,
                "<p class=\"missing\">{}</p>",
                escape(&not_available(title, reason))
            );
        }
    }
}

/// The `<svg>...</svg>` element of an SVG document (without any XML prolog).
fn svg_element(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(start) => svg[start..].trim_end(),
        None => svg,
    }
}

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_open_a_tag() {
        assert_eq!(escape("<b>&\"x\"'"), "&lt;b&gt;&amp;&quot;x&quot;&#39;");
    }

    #[test]
    fn the_page_has_no_script_and_no_external_resource() {
        let doc = Document {
            title: "t <1>".into(),
            blocks: vec![
                Block::Heading("Verdicts".into()),
                Block::Table {
                    header: vec!["verdict".into()],
                    rows: vec![vec![Cell::Verdict(Verdict::AtRisk)]],
                },
                Block::Missing {
                    title: "Timeline".into(),
                    reason: "timeline.csv is absent".into(),
                },
            ],
        };
        let page = render(&doc, &BTreeMap::new());
        assert!(page.contains("<title>t &lt;1&gt;</title>"));
        assert!(page.contains("<span class=\"verdict at_risk\">at risk</span>"));
        assert!(page.contains("Timeline: not available in this output (timeline.csv is absent)."));
        for forbidden in ["<script", "http://", "https://", "<link", "<img"] {
            assert!(!page.contains(forbidden), "{forbidden}");
        }
    }
}
