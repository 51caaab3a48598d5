//! [`LogReader`]: streams the records of one log file, line by line, and the
//! field helpers both formats share.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::Path;

use serde_json::{Map, Value};

use super::error::{LogError, shown_json};
use super::{CallRecord, LogFormat, litellm, otlp, slaplan};

const BUFFER: usize = 256 * 1024;

/// Streams the records of one log file. One line is held at a time (an OTLP
/// line's spans are queued until taken), so memory does not grow with the
/// file. The first error ends the stream.
pub struct LogReader {
    file: String,
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    format: LogFormat,
    pending: VecDeque<CallRecord>,
    /// The first line, read to recognise the format, not yet parsed.
    first: Option<(u64, Vec<u8>)>,
    rows: u64,
    done: bool,
}

impl LogReader {
    /// Opens a log file and recognises its format from its first non-blank line.
    pub fn open(path: impl AsRef<Path>) -> Result<LogReader, LogError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let f = File::open(path).map_err(|source| LogError::Open {
            file: file.clone(),
            source,
        })?;
        LogReader::start(file, Box::new(BufReader::with_capacity(BUFFER, f)))
    }

    /// Reads a log held in memory (tests, stdin).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<LogReader, LogError> {
        LogReader::start(name.to_string(), Box::new(Cursor::new(bytes)))
    }

    fn start(file: String, input: Box<dyn BufRead + Send>) -> Result<LogReader, LogError> {
        let mut reader = LogReader {
            file,
            input,
            buf: Vec::new(),
            line: 0,
            format: LogFormat::Litellm,
            pending: VecDeque::new(),
            first: None,
            rows: 0,
            done: false,
        };
        let Some(line) = reader.next_line()? else {
            return Err(LogError::Empty { file: reader.file });
        };
        let value = parse_json(&reader.file, line, &reader.buf)?;
        reader.format = recognise(&reader.file, line, &value)?;
        reader.first = Some((line, std::mem::take(&mut reader.buf)));
        Ok(reader)
    }

    /// The file's name as messages show it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The format recognised.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Non-blank lines read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The 1-based line of the record returned last (the records of one
    /// OTLP line share it).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next non-blank line into `self.buf`, with its 1-based number.
    fn next_line(&mut self) -> Result<Option<u64>, LogError> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| LogError::Read {
                    file: self.file.clone(),
                    line: self.line + 1,
                    reason: e.to_string(),
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.line == 1 && self.buf.starts_with("\u{feff}".as_bytes()) {
                self.buf.drain(..3);
            }
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(self.line));
            }
        }
    }

    fn parse(&mut self, line: u64, bytes: &[u8]) -> Result<(), LogError> {
        self.rows += 1;
        let value = parse_json(&self.file, line, bytes)?;
        let row = Row { file: &self.file, line };
        match self.format {
            LogFormat::Litellm => self.pending.push_back(litellm::record(&row, &value)?),
            LogFormat::Otlp => otlp::records(&row, &value, &mut self.pending)?,
            LogFormat::Slaplan => self.pending.push_back(slaplan::record(&row, bytes, &value)?),
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<Option<CallRecord>, LogError> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            if let Some((line, bytes)) = self.first.take() {
                self.parse(line, &bytes)?;
                continue;
            }
            let Some(line) = self.next_line()? else {
                return Ok(None);
            };
            let bytes = std::mem::take(&mut self.buf);
            let parsed = self.parse(line, &bytes);
            self.buf = bytes;
            parsed?;
        }
    }
}

impl Iterator for LogReader {
    type Item = Result<CallRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(r)) => Some(Ok(r)),
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

fn parse_json(file: &str, line: u64, bytes: &[u8]) -> Result<Value, LogError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LogError::Read {
        file: file.to_string(),
        line,
        reason: format!("not UTF-8: {e}"),
    })?;
    serde_json::from_str(text.trim()).map_err(|e| LogError::Field {
        file: file.to_string(),
        line,
        field: "row".into(),
        expected: "one JSON object per line".into(),
        got: format!("invalid JSON ({e})"),
    })
}

fn recognise(file: &str, line: u64, value: &Value) -> Result<LogFormat, LogError> {
    let obj = value.as_object();
    if obj.is_some_and(|o| o.contains_key("resourceSpans")) {
        Ok(LogFormat::Otlp)
    } else if obj.is_some_and(|o| o.contains_key("startTime") && o.contains_key("status")) {
        Ok(LogFormat::Litellm)
    } else if obj.is_some_and(slaplan::recognised) {
        Ok(LogFormat::Slaplan)
    } else {
        Err(LogError::Field {
            file: file.to_string(),
            line,
            field: "row".into(),
            expected: "a LiteLLM StandardLoggingPayload (with \"startTime\" and \"status\"), an OTLP JSON \
                       export (with \"resourceSpans\") or a slaplan request log (with \"arrival\", \"end\" \
                       and \"outcome\")"
                .into(),
            got: shown_json(value),
        })
    }
}

/// Where a value is being read: errors name the file, line and field.
pub(super) struct Row<'a> {
    pub file: &'a str,
    pub line: u64,
}

impl Row<'_> {
    pub fn bad(&self, field: &str, expected: &str, got: &Value) -> LogError {
        LogError::Field {
            file: self.file.to_string(),
            line: self.line,
            field: field.to_string(),
            expected: expected.to_string(),
            got: shown_json(got),
        }
    }

    pub fn missing(&self, field: &str, expected: &str) -> LogError {
        LogError::Missing {
            file: self.file.to_string(),
            line: self.line,
            field: field.to_string(),
            expected: expected.to_string(),
        }
    }

    /// The object at `value`, or an error naming `field`.
    pub fn object<'v>(&self, value: &'v Value, field: &str) -> Result<&'v Map<String, Value>, LogError> {
        value.as_object().ok_or_else(|| self.bad(field, "a JSON object", value))
    }

    /// An optional text field: absent, `null` and `""` are `None`.
    pub fn text(&self, obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, LogError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.bad(field, "text", other)),
        }
    }

    /// An optional whole number of tokens.
    pub fn tokens(&self, obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<u32>, LogError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => tokens_of(v)
                .map(Some)
                .ok_or_else(|| self.bad(field, "a whole number of tokens (0 to 4294967295)", v)),
        }
    }
}

/// A whole, non-negative token count from a JSON number or a numeric string
/// (OTLP writes 64-bit integers as strings).
pub(super) fn tokens_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}
