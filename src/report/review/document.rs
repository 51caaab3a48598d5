//! The report's content as plain blocks, written once and rendered twice
//! (HTML and Markdown), so both files always say the same thing.

use crate::plan::Verdict;

/// A table cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Plain text.
    Text(String),
    /// A verdict (coloured in HTML).
    Verdict(Verdict),
}

/// One block of the report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A bulleted list.
    Bullets(Vec<String>),
    /// A table with a header row.
    Table {
        /// Column names.
        header: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<Cell>>,
    },
    /// A chart that was drawn: `charts/<name>.svg` and `.png`.
    Figure {
        /// File stem under `charts/`.
        name: &'static str,
        /// Title.
        title: String,
        /// How to read it.
        caption: String,
    },
    /// A chart that is not available in this output, and why.
    Missing {
        /// Title of the chart.
        title: String,
        /// Why (e.g. `latency.csv is not in this output`).
        reason: String,
    },
}

/// The whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The title.
    pub title: String,
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

/// The sentence for a chart that cannot be drawn.
pub fn not_available(title: &str, reason: &str) -> String {
    format!("{title}: not available in this output ({reason}).")
}
