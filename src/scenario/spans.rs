//! Where things are in a scenario's text: field path → byte span → line, and
//! back from a span (say, of a serde error) to the field path it falls in.
//!
//! This module owns the one spanned parse of the source, done with the `toml`
//! crate's own parser ([`DeTable::parse_recoverable`]), so array-of-tables
//! headers (`[[tenants]]`), dotted keys, inline tables and inline arrays all
//! resolve exactly as `toml::from_str` sees them. It knows nothing about the
//! scenario schema: a path is just keys and indices.
//!
//! Paths are written the way problems are reported: `tenants[2].workflows[0].rate`.
//! Keys in a scenario are bare identifiers, so a path is split on `.` and
//! `[n]` without quoting rules.

use std::cell::OnceCell;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A scenario's text with its spanned syntax tree.
pub struct SourceMap<'s> {
    source: &'s str,
    root: Spanned<DeValue<'s>>,
    syntax_errors: Vec<toml::de::Error>,
    /// Every key and value span with its path, built on first use.
    index: OnceCell<Vec<Located>>,
}

/// One step of a field path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

impl<'s> SourceMap<'s> {
    /// Parses `source`, recovering from syntax errors as far as the parser
    /// can; the errors are kept for [`SourceMap::syntax_errors`].
    pub fn parse(source: &'s str) -> SourceMap<'s> {
        let (table, syntax_errors) = DeTable::parse_recoverable(source);
        let span = table.span();
        SourceMap {
            source,
            root: Spanned::new(span, DeValue::Table(table.into_inner())),
            syntax_errors,
            index: OnceCell::new(),
        }
    }

    /// The text.
    pub fn source(&self) -> &'s str {
        self.source
    }

    /// The root table, spanned.
    pub fn root(&self) -> &Spanned<DeValue<'s>> {
        &self.root
    }

    /// Every TOML syntax error, in the order the parser met them.
    pub fn syntax_errors(&self) -> &[toml::de::Error] {
        &self.syntax_errors
    }

    /// The span of the field at `path`: of its key where it has one (so the
    /// line is where the user wrote `key =`), else of the value (an array
    /// element, or the `[[header]]` of an array-of-tables entry). `None` if
    /// the path is not in the source.
    pub fn span(&self, path: &str) -> Option<Range<usize>> {
        self.walk(path).and_then(|spans| spans.last().cloned().flatten())
    }

    /// The 1-based line of the field at `path`, if it is in the source.
    pub fn line(&self, path: &str) -> Option<usize> {
        self.span(path).map(|s| line_of_offset(self.source, s.start))
    }

    /// The 1-based line of the field at `path` or, when that key is absent
    /// (a missing field), of its nearest written ancestor other than the
    /// whole file: for `tenants[0].clauses[1].threshold` left out, the line of
    /// that clause's `[[tenants.clauses]]` header.
    pub fn nearest_line(&self, path: &str) -> Option<usize> {
        let spans = self.walk(path)?;
        spans
            .iter()
            .rev()
            .flatten()
            .next()
            .map(|s| line_of_offset(self.source, s.start))
    }

    /// Whether the value at `path` is an unquoted TOML date or time (which
    /// serde sees as a table, and scenario fields take as strings).
    pub fn is_datetime(&self, path: &str) -> bool {
        let Some(segments) = segments(path) else {
            return false;
        };
        let mut node = Some(&self.root);
        for segment in segments {
            node = node.and_then(|n| step(n, segment)).map(|(_, child)| child);
        }
        matches!(node.map(Spanned::get_ref), Some(DeValue::Datetime(_)))
    }

    /// The most specific field path whose key or value span contains
    /// `span`: e.g. the span of a serde error. Empty when it falls outside
    /// every field.
    pub fn path_at(&self, span: Range<usize>) -> String {
        let index = self.index.get_or_init(|| {
            let mut out = Vec::new();
            index(&self.root, "", 0, &mut out);
            out
        });
        index
            .iter()
            .filter(|l| l.span.start <= span.start && span.end <= l.span.end)
            .min_by_key(|l| (l.span.end - l.span.start, std::cmp::Reverse(l.depth)))
            .map(|l| l.path.clone())
            .unwrap_or_default()
    }

    /// Resolves `path` segment by segment: the span found at each segment,
    /// `None` from the first segment that is not in the source. `None`
    /// overall if the path is malformed.
    fn walk(&self, path: &str) -> Option<Vec<Option<Range<usize>>>> {
        let segments = segments(path)?;
        let mut spans = Vec::with_capacity(segments.len());
        let mut node = Some(&self.root);
        for segment in segments {
            let found = node.and_then(|n| step(n, segment));
            spans.push(found.as_ref().map(|(span, _)| span.clone()));
            node = found.map(|(_, child)| child);
        }
        Some(spans)
    }
}

/// The child of `node` at `segment`, with the span to report for it.
fn step<'a, 's>(
    node: &'a Spanned<DeValue<'s>>,
    segment: Segment<'_>,
) -> Option<(Range<usize>, &'a Spanned<DeValue<'s>>)> {
    match (node.get_ref(), segment) {
        (DeValue::Table(table), Segment::Key(key)) => {
            let (k, v) = table.get_key_value(key)?;
            Some((k.span(), v))
        }
        (DeValue::Array(array), Segment::Index(i)) => {
            let v = array.get(i)?;
            Some((v.span(), v))
        }
        _ => None,
    }
}

/// A key or value span with the path it belongs to.
struct Located {
    span: Range<usize>,
    depth: usize,
    path: String,
}

/// Lists every key and value span under `node`, depth first in file-map
/// order. Table spans do not contain their children when those are written
/// under later `[headers]`, so this is a flat list, not a tree to prune.
fn index(node: &Spanned<DeValue<'_>>, path: &str, depth: usize, out: &mut Vec<Located>) {
    let located = |span: Range<usize>, path: &str| Located {
        span,
        depth: depth + 1,
        path: path.to_string(),
    };
    match node.get_ref() {
        DeValue::Table(table) => {
            for (k, v) in table.iter() {
                let child = if path.is_empty() {
                    k.get_ref().to_string()
                } else {
                    format!("{path}.{}", k.get_ref())
                };
                out.push(located(k.span(), &child));
                out.push(located(v.span(), &child));
                index(v, &child, depth + 1, out);
            }
        }
        DeValue::Array(array) => {
            for (i, v) in array.iter().enumerate() {
                let child = format!("{path}[{i}]");
                out.push(located(v.span(), &child));
                index(v, &child, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Splits `tenants[2].workflows[0].rate` into keys and indices; `None` if
/// it is malformed.
fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    if path.is_empty() {
        return Some(out);
    }
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if key.is_empty() && out.is_empty() {
            return None;
        }
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while !rest.is_empty() {
            let inner = rest.strip_prefix('[')?;
            let close = inner.find(']')?;
            out.push(Segment::Index(inner[..close].parse().ok()?));
            rest = &inner[close + 1..];
        }
    }
    Some(out)
}

/// 1-based line number of byte `offset` in `source` (offsets past the end
/// count as the last line).
pub fn line_of_offset(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line numbers are hand-counted from the text below.
    const FIXTURE: &str = r#"# line 1
[simulation]
start = "2026-01-01"
duration = "31d"

[[endpoints]]
name = "a"
latency = { model = "exponential", mean = "1s" }
outages = [
  { start = "1d", duration = "1h" },
  { start = "2d",
    duration = "0s" },
]

[[endpoints]]
name = "b"

[[tenants]]
name = "t0"
chain = ["a", { endpoint = "b", tier = 2 }]

[[tenants.workflows]]
name = "w0"
rate = 1.0

[[tenants.workflows]]
name = "w1"
rate = -1.0

[[tenants]]
name = "t1"
limits.rate = 3

[[tenants.clauses]]
metric = "latency"
"#;

    fn map() -> SourceMap<'static> {
        let map = SourceMap::parse(FIXTURE);
        assert!(map.syntax_errors().is_empty());
        map
    }

    #[test]
    fn finds_lines_of_plain_and_section_keys() {
        let map = map();
        assert_eq!(map.line("simulation"), Some(2));
        assert_eq!(map.line("simulation.start"), Some(3));
        assert_eq!(map.line("simulation.duration"), Some(4));
    }

    #[test]
    fn finds_lines_in_arrays_of_tables() {
        let map = map();
        assert_eq!(map.line("endpoints[0]"), Some(6));
        assert_eq!(map.line("endpoints[1]"), Some(15));
        assert_eq!(map.line("endpoints[1].name"), Some(16));
        assert_eq!(map.line("tenants[0].workflows[0].rate"), Some(24));
        assert_eq!(map.line("tenants[0].workflows[1]"), Some(26));
        assert_eq!(map.line("tenants[0].workflows[1].rate"), Some(28));
        assert_eq!(map.line("tenants[1].clauses[0].metric"), Some(35));
    }

    #[test]
    fn finds_lines_in_inline_tables_and_arrays() {
        let map = map();
        assert_eq!(map.line("endpoints[0].latency.mean"), Some(8));
        assert_eq!(map.line("endpoints[0].outages[0].duration"), Some(10));
        assert_eq!(map.line("endpoints[0].outages[1]"), Some(11));
        assert_eq!(map.line("endpoints[0].outages[1].duration"), Some(12));
        assert_eq!(map.line("tenants[0].chain[0]"), Some(20));
        assert_eq!(map.line("tenants[0].chain[1].tier"), Some(20));
    }

    #[test]
    fn finds_dotted_keys() {
        assert_eq!(map().line("tenants[1].limits.rate"), Some(32));
    }

    #[test]
    fn absent_fields_have_no_line_but_a_nearest_one() {
        let map = map();
        assert_eq!(map.line("tenants[1].clauses[0].threshold"), None);
        assert_eq!(map.nearest_line("tenants[1].clauses[0].threshold"), Some(34));
        assert_eq!(map.line("tenants[5].name"), None);
        assert_eq!(map.nearest_line("tenants[5].name"), Some(18));
        assert_eq!(map.nearest_line("nowhere"), None);
        assert_eq!(map.line("tenants[x]"), None);
        assert_eq!(map.line("[0]"), None);
    }

    #[test]
    fn knows_unquoted_dates() {
        let map = SourceMap::parse("a = 2026-01-01\nb = \"2026-01-01\"\n");
        assert!(map.is_datetime("a"));
        assert!(!map.is_datetime("b"));
        assert!(!map.is_datetime("c"));
    }

    #[test]
    fn maps_a_span_back_to_the_most_specific_path() {
        let map = map();
        let at = |needle: &str, nth: usize| {
            let start = FIXTURE.match_indices(needle).nth(nth).map(|(i, _)| i);
            let start = start.unwrap_or_else(|| panic!("{needle} not in fixture"));
            map.path_at(start..start + needle.len())
        };
        assert_eq!(at("-1.0", 0), "tenants[0].workflows[1].rate");
        assert_eq!(at("\"0s\"", 0), "endpoints[0].outages[1].duration");
        assert_eq!(at("tier", 0), "tenants[0].chain[1].tier");
        assert_eq!(at("\"a\"", 1), "tenants[0].chain[0]");
        assert_eq!(at("[[tenants]]", 1), "tenants[1]");
        assert_eq!(at("[[tenants]]", 0), "tenants[0]");
        assert_eq!(at("# line 1", 0), "");
    }

    #[test]
    fn offsets_map_to_lines() {
        assert_eq!(line_of_offset("a\nb\nc", 0), 1);
        assert_eq!(line_of_offset("a\nb\nc", 2), 2);
        assert_eq!(line_of_offset("a\nb\nc", 99), 3);
    }
}
