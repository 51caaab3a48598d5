//! The router's audit log read back (`serve --audit-log`, `run
//! --audit-log`): one router [`AuditEvent`] per line, as
//! `report::audit_line` writes it (the event's own fields, `tenant`,
//! `workflow` and `endpoint` as names, `at` in nanoseconds since the
//! writer's instant zero, `time` the same instant in UTC).
//!
//! `judge` reads it for what a request log lacks: the tenants' tier
//! changes and notices (the notification clause). Instants are placed by
//! `time`, so a gateway's log and a simulator's line up with their request
//! logs to the nanosecond: an event's `since` (a degradation's failure) is
//! `time` less `at - since`.
//!
//! Like the other readers this holds one line at a time and names file,
//! line and field for a row it cannot read.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use super::LogError;
use super::reader::Row;
use crate::model::{EXPECT_LOG_TIME, log_instant};
use crate::policy::{AuditEvent, AuditKind};
use crate::time::Time;

/// One audit event with UTC instants: `event.at` and a degradation's
/// `since` are nanoseconds since the Unix epoch; its tenant, workflow and
/// endpoint ids are unset, their names here.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// The event, its instants in UTC.
    pub event: AuditEvent,
    /// The tenant's name, if the event concerns one.
    pub tenant: Option<String>,
    /// The workflow's name, if any.
    pub workflow: Option<String>,
    /// The endpoint's name, if any.
    pub endpoint: Option<String>,
}

/// Streams the events of one audit log, one line at a time.
pub struct AuditReader {
    file: String,
    input: Box<dyn BufRead + Send>,
    line: u64,
    buf: String,
    done: bool,
}

impl AuditReader {
    /// Opens an audit log.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditReader, LogError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let f = File::open(path).map_err(|source| LogError::Open {
            file: file.clone(),
            source,
        })?;
        Ok(AuditReader::from_reader(file, Box::new(BufReader::new(f))))
    }

    /// Reads an audit log from any reader (tests).
    pub fn from_reader(file: String, input: Box<dyn BufRead + Send>) -> AuditReader {
        AuditReader {
            file,
            input,
            line: 0,
            buf: String::new(),
            done: false,
        }
    }

    fn next_record(&mut self) -> Result<Option<AuditRecord>, LogError> {
        loop {
            self.buf.clear();
            self.line += 1;
            let n = self.input.read_line(&mut self.buf).map_err(|e| LogError::Read {
                file: self.file.clone(),
                line: self.line,
                reason: e.to_string(),
            })?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.trim().is_empty() {
                continue;
            }
            let row = Row {
                file: &self.file,
                line: self.line,
            };
            let value: Value = serde_json::from_str(&self.buf).map_err(|e| {
                row.bad(
                    "row",
                    "an audit-log JSON object",
                    &Value::String(format!("invalid JSON ({e})")),
                )
            })?;
            return record(&row, value).map(Some);
        }
    }
}

impl Iterator for AuditReader {
    type Item = Result<AuditRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// One audit line as a record.
fn record(row: &Row, mut value: Value) -> Result<AuditRecord, LogError> {
    let obj = row.object(&value, "row")?.clone();
    let time = match obj.get("time") {
        Some(Value::String(t)) => log_instant(t)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| row.bad("time", EXPECT_LOG_TIME, &Value::String(t.clone())))?,
        Some(v) => return Err(row.bad("time", EXPECT_LOG_TIME, v)),
        None => return Err(row.missing("time", EXPECT_LOG_TIME)),
    };
    let at = match obj.get("at") {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| row.bad("at", "nanoseconds since the writer's start, 0 or more", v))?,
        None => return Err(row.missing("at", "nanoseconds since the writer's start")),
    };
    let name = |key: &str| -> Result<Option<String>, LogError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(row.bad(key, "a name (text) or null", v)),
        }
    };
    let (tenant, workflow, endpoint) = (name("tenant")?, name("workflow")?, name("endpoint")?);
    if !obj.contains_key("event") {
        return Err(row.missing(
            "event",
            "the audit event's kind (e.g. degraded, promoted, notification)",
        ));
    }
    if let Some(map) = value.as_object_mut() {
        for key in ["tenant", "workflow", "endpoint", "time"] {
            map.remove(key);
        }
    }
    let mut event: AuditEvent = serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => row.missing(field, "a value (the router's audit event: README, \"Audit log\")"),
            None => row.bad(
                "event",
                "a router audit event (README, \"Audit log\")",
                &Value::String(message),
            ),
        }
    })?;
    event.at = Time::from_nanos(time);
    if let AuditKind::Degraded { since, .. } = &mut event.kind {
        let back = at
            .checked_sub(since.as_nanos())
            .ok_or_else(|| row.bad("since", "an instant at or before `at`", &Value::from(since.as_nanos())))?;
        *since = Time::from_nanos(time.saturating_sub(back));
    }
    Ok(AuditRecord {
        event,
        tenant,
        workflow,
        endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Tier;

    fn read(text: &str) -> Vec<Result<AuditRecord, LogError>> {
        AuditReader::from_reader("a.jsonl".into(), Box::new(std::io::Cursor::new(text.to_string()))).collect()
    }

    #[test]
    fn a_degradation_is_placed_by_its_utc_time_and_its_since_by_the_same_offset() {
        let line = r#"{"at":5000,"tenant":"acme","workflow":"chat","call":3,"endpoint":"e0","event":"degraded","from":0,"to":1,"trigger":"error","since":1500,"time":"1970-01-01T00:00:01.000000000Z"}"#;
        let got = read(&format!("{line}\n\n"));
        assert_eq!(got.len(), 1);
        let r = got[0].as_ref().unwrap();
        assert_eq!(r.tenant.as_deref(), Some("acme"));
        assert_eq!(r.endpoint.as_deref(), Some("e0"));
        assert_eq!(r.event.at, Time::from_nanos(1_000_000_000));
        assert_eq!(r.event.tenant, None);
        match r.event.kind {
            AuditKind::Degraded { to, since, .. } => {
                assert_eq!(to, Tier(1));
                assert_eq!(since, Time::from_nanos(1_000_000_000 - 3500));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let good = r#"{"at":5,"tenant":"acme","event":"notification","from":0,"to":1,"time":"1970-01-01T00:00:01Z"}"#;
        let cases = [
            (
                good.replace("\"time\":\"1970-01-01T00:00:01Z\"", "\"time\":\"noon\""),
                "field time",
            ),
            (good.replace("\"at\":5", "\"at\":-5"), "field at"),
            (good.replace("\"tenant\":\"acme\"", "\"tenant\":7"), "field tenant"),
            (good.replace(",\"to\":1", ""), "field to"),
            (good.replace("\"event\":\"notification\",", ""), "field event"),
            (good.replace("notification", "party"), "field event"),
            ("{not json".to_string(), "field row"),
        ];
        for (bad, field) in cases {
            let got = read(&format!("{good}\n{bad}\n"));
            assert!(got[0].is_ok());
            let err = got[1].as_ref().unwrap_err().to_string();
            assert!(err.starts_with("a.jsonl:2: ") && err.contains(field), "{bad}: {err}");
            assert_eq!(got.len(), 2, "reading stops at the first bad row");
        }
    }
}
