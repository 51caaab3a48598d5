//! `report.md`: the same document in Markdown, the charts linked as
//! `charts/<name>.png` beside it.

use std::fmt::Write;

use super::document::{Block, Cell, Document, not_available};

/// The Markdown text of `doc`.
pub fn render(doc: &Document) -> String {
    let mut out = format!("# {}\n", inline(&doc.title));
    for block in &doc.blocks {
        out.push('\n');
        match block {
            Block::Heading(text) => {
                let _ = writeln!(out, "## {}", inline(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "{}", inline(text));
            }
            Block::Bullets(items) => {
                for item in items {
                    let _ = writeln!(out, "- {}", inline(item));
                }
            }
            Block::Table { header, rows } => {
                let _ = writeln!(
                    out,
                    "| {} |",
                    header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
                );
                let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|c| match c {
                            Cell::Text(t) => cell(t),
                            Cell::Verdict(v) => format!("**{}**", v.label()),
                        })
                        .collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
            }
            Block::Figure { name, title, caption } => {
                let _ = writeln!(out, "### {}\n", inline(title));
                let _ = writeln!(out, "![{}](charts/{name}.png)\n", inline(title));
                let _ = writeln!(out, "{}", inline(caption));
            }
            Block::Missing { title, reason } => {
                let _ = writeln!(out, "### {}\n", inline(title));
                let _ = writeln!(out, "*{}*", inline(&not_available(title, reason)));
            }
        }
    }
    out
}

/// Text with Markdown's inline markup escaped: emphasis, code, table
/// pipes, and `<` where it could open an HTML tag (`<=` stays). Brackets
/// stay: an interval `[0.4, 1.0]` is never followed by a link target.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        let opens_tag = ch == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if opens_tag || matches!(ch, '\\' | '*' | '_' | '`' | '|') {
            out.push('\\');
        }
        out.push(if ch == '\n' { ' ' } else { ch });
    }
    out
}

/// A table cell: inline text, on one line.
fn cell(text: &str) -> String {
    inline(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Verdict;

    #[test]
    fn tables_escape_pipes_and_show_verdicts_in_bold() {
        let doc = Document {
            title: "r".into(),
            blocks: vec![Block::Table {
                header: vec!["tenant".into(), "verdict".into()],
                rows: vec![vec![Cell::Text("a|b".into()), Cell::Verdict(Verdict::NotEnforceable)]],
            }],
        };
        assert_eq!(
            render(&doc),
            "# r\n\n| tenant | verdict |\n| --- | --- |\n| a\\|b | **not enforceable** |\n"
        );
    }
}
