//! [`TraceReader`]: streams one trace file, record by record, in constant memory.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::error::{TraceError, shown};
use super::field;
use super::{TraceFormat, TraceRecord};
use crate::time::Span;

const BUFFER: usize = 64 * 1024;
/// A UTF-8 byte-order mark, skipped at the start of a file.
const BOM: &str = "\u{feff}";
const EXPECT_TIME: &str = "a time in seconds such as 12.5, or a duration such as \"1.5s\" or \"800ms\"";
const EXPECT_DATETIME: &str = "a date-time such as \"2023-11-16 18:15:46.6805900\"";
const EXPECT_MILLIS: &str = "a non-negative number of milliseconds";
const EXPECT_TOKENS: &str = "a whole number of tokens (0 to 4294967295)";
const EXPECT_TEXT: &str = "text or nothing";

/// Streams the records of one trace, sorted by time, with offsets from the
/// first record's timestamp. Memory does not grow with the trace: one line is
/// held at a time. The first error ends the stream.
pub struct TraceReader {
    file: String,
    origin: Origin,
    format: TraceFormat,
    lines: Lines,
    body: Body,
    /// The first record's timestamp, in the trace's own nanoseconds.
    base: Option<i128>,
    /// The previous record's timestamp, its line and its text.
    previous: Option<(i128, u64, String)>,
    records: u64,
    done: bool,
}

#[derive(Clone)]
enum Origin {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

/// The input, line by line. Lines are counted here rather than by the `csv`
/// crate, whose line numbers drift on CRLF files and after blank lines.
struct Lines {
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
}

enum Body {
    /// One record per line; fields as in RFC 4180, quoted fields on one line.
    Csv {
        columns: Columns,
        width: usize,
    },
    Jsonl,
}

/// Column positions in a CSV trace.
struct Columns {
    timestamp: usize,
    input: usize,
    output: usize,
    tenant: Option<usize>,
    workflow: Option<usize>,
    task: Option<usize>,
    session: Option<usize>,
}

/// One generic JSONL line; unknown keys are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericLine {
    timestamp: Option<Value>,
    tenant: Option<Value>,
    workflow: Option<Value>,
    input_tokens: Option<Value>,
    output_tokens: Option<Value>,
    task: Option<Value>,
    session: Option<Value>,
}

/// One Mooncake line; other keys (`hash_ids`) are skipped without allocating.
#[derive(Deserialize)]
struct MooncakeLine {
    timestamp: Option<Value>,
    input_length: Option<Value>,
    output_length: Option<Value>,
}

/// A record as parsed, before offsets: the trace's own timestamp.
struct Parsed {
    line: u64,
    time: i128,
    time_text: String,
    time_field: &'static str,
    record: TraceRecord,
}

impl TraceReader {
    /// Opens `path` as a trace in `format` and reads its header, if any.
    pub fn open(path: impl AsRef<Path>, format: TraceFormat) -> Result<TraceReader, TraceError> {
        let path = path.as_ref();
        TraceReader::start(path.display().to_string(), Origin::File(path.to_path_buf()), format)
    }

    /// Reads a trace held in memory; `name` stands for the file in errors.
    pub fn from_bytes(name: &str, bytes: impl Into<Arc<[u8]>>, format: TraceFormat) -> Result<TraceReader, TraceError> {
        TraceReader::start(name.to_string(), Origin::Bytes(bytes.into()), format)
    }

    /// The same trace, from its first record again (for looping).
    pub fn rewind(&self) -> Result<TraceReader, TraceError> {
        TraceReader::start(self.file.clone(), self.origin.clone(), self.format)
    }

    /// The file's name, as used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The format being read.
    pub fn format(&self) -> TraceFormat {
        self.format
    }

    /// How many records have been yielded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The line of the last record read (0 before the first).
    pub fn line(&self) -> u64 {
        self.previous.as_ref().map_or(0, |p| p.1)
    }

    /// The name of the timestamp field in this format.
    pub(super) fn time_field(&self) -> &'static str {
        match self.format {
            TraceFormat::Azure => "TIMESTAMP",
            TraceFormat::SlaplanLog => "arrival",
            TraceFormat::Generic | TraceFormat::Mooncake => "timestamp",
        }
    }

    fn start(file: String, origin: Origin, format: TraceFormat) -> Result<TraceReader, TraceError> {
        let mut input: Box<dyn BufRead + Send> = match &origin {
            Origin::File(path) => match File::open(path) {
                Ok(f) => Box::new(BufReader::with_capacity(BUFFER, f)),
                Err(source) => return Err(TraceError::Open { file, source }),
            },
            Origin::Bytes(bytes) => Box::new(Cursor::new(Arc::clone(bytes))),
        };
        let jsonl = match format {
            TraceFormat::Azure => false,
            TraceFormat::Mooncake | TraceFormat::SlaplanLog => true,
            TraceFormat::Generic => {
                let head = input.fill_buf().map_err(|source| TraceError::Read {
                    file: file.clone(),
                    line: 1,
                    field: "record".into(),
                    source,
                })?;
                let head = head.strip_prefix(BOM.as_bytes()).unwrap_or(head);
                head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
            }
        };
        let mut lines = Lines {
            input,
            buf: Vec::new(),
            line: 0,
        };
        let body = if jsonl {
            Body::Jsonl
        } else {
            let (line, text) = lines.next_line(&file)?.unwrap_or((1, ""));
            let names = split_csv(text).map_err(|expected| TraceError::Field {
                file: file.clone(),
                line,
                field: "header".into(),
                expected: expected.into(),
                got: shown(text),
            })?;
            let columns = columns(&file, line, &names, format)?;
            Body::Csv {
                columns,
                width: names.len(),
            }
        };
        Ok(TraceReader {
            file,
            origin,
            format,
            lines,
            body,
            base: None,
            previous: None,
            records: 0,
            done: false,
        })
    }

    /// The next record as written, or `None` at the end.
    fn parse_next(&mut self) -> Result<Option<Parsed>, TraceError> {
        let file = &self.file;
        let Some((line, text)) = self.lines.next_line(file)? else {
            return Ok(None);
        };
        match &self.body {
            Body::Csv { columns, width } => {
                let fields = split_csv(text).map_err(|expected| TraceError::Field {
                    file: file.clone(),
                    line,
                    field: "record".into(),
                    expected: expected.into(),
                    got: shown(text),
                })?;
                if fields.len() != *width {
                    return Err(TraceError::Field {
                        file: file.clone(),
                        line,
                        field: "record".into(),
                        expected: format!("{width} comma-separated fields, as in the header"),
                        got: format!("{} fields", fields.len()),
                    });
                }
                csv_record(file, line, &fields, columns, self.format).map(Some)
            }
            Body::Jsonl => json_record(file, line, text.as_bytes(), self.format).map(Some),
        }
    }

    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        let Some(mut parsed) = self.parse_next()? else {
            return Ok(None);
        };
        if let Some((previous, previous_line, previous_text)) = &self.previous
            && parsed.time < *previous
        {
            return Err(TraceError::Backwards {
                file: self.file.clone(),
                line: parsed.line,
                field: parsed.time_field.into(),
                previous_line: *previous_line,
                previous: shown(previous_text),
                got: shown(&parsed.time_text),
            });
        }
        let base = *self.base.get_or_insert(parsed.time);
        let offset = u64::try_from(parsed.time - base).map_err(|_| TraceError::Field {
            file: self.file.clone(),
            line: parsed.line,
            field: parsed.time_field.into(),
            expected: "a time within 584 years of the trace's first record".into(),
            got: shown(&parsed.time_text),
        })?;
        parsed.record.at = Span::from_nanos(offset);
        self.previous = Some((parsed.time, parsed.line, parsed.time_text));
        self.records += 1;
        Ok(Some(parsed.record))
    }
}

impl Iterator for TraceReader {
    type Item = Result<TraceRecord, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Lines {
    /// The next non-blank line without its line ending, and its 1-based number.
    fn next_line(&mut self, file: &str) -> Result<Option<(u64, &str)>, TraceError> {
        loop {
            self.buf.clear();
            let read = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| TraceError::Read {
                    file: file.into(),
                    line: self.line + 1,
                    field: "record".into(),
                    source,
                })?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let text = std::str::from_utf8(&self.buf[..end]).map_err(|_| TraceError::Field {
                file: file.into(),
                line: self.line,
                field: "record".into(),
                expected: "UTF-8 text".into(),
                got: shown(&String::from_utf8_lossy(&self.buf[..end])),
            })?;
            let text = if self.line == 1 {
                text.strip_prefix(BOM).unwrap_or(text)
            } else {
                text
            };
            return Ok(Some((self.line, text)));
        }
    }
}

/// Splits one CSV line into trimmed fields; a field may be quoted (`"a,b"`,
/// `""` for a quote) but may not span lines.
fn split_csv(line: &str) -> Result<Vec<Cow<'_, str>>, &'static str> {
    const EXPECTED: &str = "comma-separated fields, each quoted field closed on its line";
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    None => return Err(EXPECTED),
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            break &quoted[i + 1..];
                        }
                    }
                    Some((_, c)) => value.push(c),
                }
            };
            fields.push(Cow::Owned(value));
            let after = after.trim_start();
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(fields),
                None => return Err(EXPECTED),
            }
        } else {
            match rest.split_once(',') {
                Some((field, next)) => {
                    fields.push(Cow::Borrowed(field.trim()));
                    rest = next;
                }
                None => {
                    fields.push(Cow::Borrowed(rest.trim()));
                    return Ok(fields);
                }
            }
        }
    }
}

/// Finds the columns a format needs in the header (line 1).
fn columns(file: &str, line: u64, names: &[Cow<'_, str>], format: TraceFormat) -> Result<Columns, TraceError> {
    let header_error = |expected: &str, got: String| TraceError::Field {
        file: file.into(),
        line,
        field: "header".into(),
        expected: expected.into(),
        got,
    };
    let find = |name: &str| names.iter().position(|n| n.as_ref() == name);
    match format {
        TraceFormat::Azure => {
            const EXPECTED: &str = "the columns TIMESTAMP,ContextTokens,GeneratedTokens";
            let need = |name: &str| find(name).ok_or_else(|| header_error(EXPECTED, shown(&names.join(","))));
            Ok(Columns {
                timestamp: need("TIMESTAMP")?,
                input: need("ContextTokens")?,
                output: need("GeneratedTokens")?,
                tenant: None,
                workflow: None,
                task: None,
                session: None,
            })
        }
        TraceFormat::Generic | TraceFormat::Mooncake | TraceFormat::SlaplanLog => {
            const EXPECTED: &str = "columns timestamp,input_tokens,output_tokens and optionally \
                                    tenant,workflow,task,session, each once";
            const KNOWN: [&str; 7] = [
                "timestamp",
                "tenant",
                "workflow",
                "input_tokens",
                "output_tokens",
                "task",
                "session",
            ];
            for (i, name) in names.iter().enumerate() {
                if !KNOWN.contains(&name.as_ref()) || names[..i].contains(name) {
                    return Err(header_error(EXPECTED, shown(name)));
                }
            }
            let need = |name: &str| find(name).ok_or_else(|| header_error(EXPECTED, shown(&names.join(","))));
            Ok(Columns {
                timestamp: need("timestamp")?,
                input: need("input_tokens")?,
                output: need("output_tokens")?,
                tenant: find("tenant"),
                workflow: find("workflow"),
                task: find("task"),
                session: find("session"),
            })
        }
    }
}

fn csv_record(
    file: &str,
    line: u64,
    record: &[Cow<'_, str>],
    columns: &Columns,
    format: TraceFormat,
) -> Result<Parsed, TraceError> {
    let azure = format == TraceFormat::Azure;
    let (time_field, input_field, output_field) = if azure {
        ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
    } else {
        ("timestamp", "input_tokens", "output_tokens")
    };
    let text =
        |index: usize, _name: &str| -> Result<&str, TraceError> { Ok(record.get(index).map_or("", |f| f.as_ref())) };
    let required = |index: usize, name: &str, expected: &str| -> Result<&str, TraceError> {
        let t = text(index, name)?;
        if t.is_empty() {
            return Err(TraceError::Missing {
                file: file.into(),
                line,
                field: name.into(),
                expected: expected.into(),
            });
        }
        Ok(t)
    };
    let bad = |name: &str, expected: &str, got: &str| TraceError::Field {
        file: file.into(),
        line,
        field: name.into(),
        expected: expected.into(),
        got: shown(got),
    };
    let optional = |index: Option<usize>, name: &str| -> Result<Option<String>, TraceError> {
        match index {
            None => Ok(None),
            Some(i) => text(i, name).map(|t| (!t.is_empty()).then(|| t.to_string())),
        }
    };

    let time_expected = if azure { EXPECT_DATETIME } else { EXPECT_TIME };
    let time_text = required(columns.timestamp, time_field, time_expected)?;
    let time = if azure {
        field::datetime(time_text)
    } else {
        field::duration(time_text).map(i128::from)
    }
    .ok_or_else(|| bad(time_field, time_expected, time_text))?;
    let input = required(columns.input, input_field, EXPECT_TOKENS)?;
    let input_tokens = field::tokens(input).ok_or_else(|| bad(input_field, EXPECT_TOKENS, input))?;
    let output = required(columns.output, output_field, EXPECT_TOKENS)?;
    let output_tokens = field::tokens(output).ok_or_else(|| bad(output_field, EXPECT_TOKENS, output))?;
    Ok(Parsed {
        line,
        time,
        time_text: time_text.to_string(),
        time_field,
        record: TraceRecord {
            at: Span::ZERO,
            tenant: optional(columns.tenant, "tenant")?,
            workflow: optional(columns.workflow, "workflow")?,
            input_tokens,
            output_tokens,
            task: optional(columns.task, "task")?,
            session: optional(columns.session, "session")?,
        },
    })
}

fn json_record(file: &str, line: u64, buf: &[u8], format: TraceFormat) -> Result<Parsed, TraceError> {
    let malformed = |e: serde_json::Error| TraceError::Field {
        file: file.into(),
        line,
        field: "record".into(),
        expected: match format {
            TraceFormat::Mooncake => "a JSON object with timestamp, input_length, output_length".into(),
            TraceFormat::SlaplanLog => {
                "a request-log object with arrival, tenant, workflow, input_tokens, output_tokens".into()
            }
            _ => "a JSON object with timestamp, input_tokens, output_tokens and optionally \
                  tenant, workflow, task, session"
                .into(),
        },
        got: shown(&e.to_string()),
    };
    let missing = |name: &str, expected: &str| TraceError::Missing {
        file: file.into(),
        line,
        field: name.into(),
        expected: expected.into(),
    };
    let bad = |name: &str, expected: &str, got: &Value| TraceError::Field {
        file: file.into(),
        line,
        field: name.into(),
        expected: expected.into(),
        got: shown_json(got),
    };
    let tokens = |value: Option<Value>, name: &str| -> Result<u32, TraceError> {
        let value = value.ok_or_else(|| missing(name, EXPECT_TOKENS))?;
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(name, EXPECT_TOKENS, &value))
    };
    let text = |value: Option<Value>, name: &str| -> Result<Option<String>, TraceError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok((!s.is_empty()).then_some(s)),
            Some(other) => Err(bad(name, EXPECT_TEXT, &other)),
        }
    };
    match format {
        TraceFormat::Mooncake => {
            let row: MooncakeLine = serde_json::from_slice(buf).map_err(malformed)?;
            let value = row.timestamp.ok_or_else(|| missing("timestamp", EXPECT_MILLIS))?;
            let time_text = number_text(&value).ok_or_else(|| bad("timestamp", EXPECT_MILLIS, &value))?;
            let time = field::decimal(&time_text, 1_000_000).ok_or_else(|| bad("timestamp", EXPECT_MILLIS, &value))?;
            Ok(Parsed {
                line,
                time: i128::from(time),
                time_text,
                time_field: "timestamp",
                record: TraceRecord {
                    at: Span::ZERO,
                    tenant: None,
                    workflow: None,
                    input_tokens: tokens(row.input_length, "input_length")?,
                    output_tokens: tokens(row.output_length, "output_length")?,
                    task: None,
                    session: None,
                },
            })
        }
        TraceFormat::SlaplanLog => {
            use super::slaplan_log::{EXPECT_ARRIVAL, LogLine, arrival};
            let row: LogLine = serde_json::from_slice(buf).map_err(malformed)?;
            let value = row.arrival.ok_or_else(|| missing("arrival", EXPECT_ARRIVAL))?;
            let (time, time_text) = arrival(&value).ok_or_else(|| bad("arrival", EXPECT_ARRIVAL, &value))?;
            Ok(Parsed {
                line,
                time,
                time_text,
                time_field: "arrival",
                record: TraceRecord {
                    at: Span::ZERO,
                    tenant: text(row.tenant, "tenant")?,
                    workflow: text(row.workflow, "workflow")?,
                    input_tokens: tokens(row.input_tokens, "input_tokens")?,
                    output_tokens: tokens(row.output_tokens, "output_tokens")?,
                    task: text(row.task, "task")?,
                    session: text(row.session, "session")?,
                },
            })
        }
        TraceFormat::Generic | TraceFormat::Azure => {
            let row: GenericLine = serde_json::from_slice(buf).map_err(malformed)?;
            let value = row.timestamp.ok_or_else(|| missing("timestamp", EXPECT_TIME))?;
            let time_text = match &value {
                Value::String(s) => Some(s.trim().to_string()),
                other => number_text(other),
            }
            .ok_or_else(|| bad("timestamp", EXPECT_TIME, &value))?;
            let time = field::duration(&time_text).ok_or_else(|| bad("timestamp", EXPECT_TIME, &value))?;
            Ok(Parsed {
                line,
                time: i128::from(time),
                time_text,
                time_field: "timestamp",
                record: TraceRecord {
                    at: Span::ZERO,
                    tenant: text(row.tenant, "tenant")?,
                    workflow: text(row.workflow, "workflow")?,
                    input_tokens: tokens(row.input_tokens, "input_tokens")?,
                    output_tokens: tokens(row.output_tokens, "output_tokens")?,
                    task: text(row.task, "task")?,
                    session: text(row.session, "session")?,
                },
            })
        }
    }
}

/// The decimal text of a JSON number: integers as written; fractions at their
/// shortest round-tripping form (exact for up to 15 significant digits).
fn number_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn shown_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}
