//! [`SessionReader`]: streams the recorded agent sessions of one file, each
//! complete and compiled ([`RecordedSession`]), in order of their start, in
//! memory bounded by the sessions open at once and the look-ahead; and
//! [`SessionReplay`]: the same sessions shaped in time by [`ReplayRules`].
//!
//! # Grouping and order
//!
//! Steps are read in file order and grouped by session (OTLP: the trace id;
//! the gateway's request log: the task; the Copilot trace: one session per
//! line). A session stays open until
//! `lookahead` other sessions have begun since its latest step; then (or at
//! the end of the file) it is complete and compiled. A step of a session
//! that completed fewer than `lookahead` sessions ago is an error naming its
//! line ([`SessionError::Scattered`]); later than that, the reader cannot
//! tell it from a new session with the same id, which it becomes.
//!
//! Complete sessions wait in a heap ordered by (start, first line) and are
//! handed out, earliest first, once `lookahead` are waiting (or at the end
//! of the file). A session that completes with a start earlier than one
//! already handed out is an error ([`SessionError::OutOfOrder`]): a
//! session may come at most `lookahead − 1` places after where its start
//! would put it. `lookahead = 1` asks for contiguous sessions in order of
//! their start. Memory holds the open sessions, fewer than `lookahead`
//! complete ones and the ids of fewer than `lookahead` recently completed
//! ones: it does not grow with the file.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use super::error::SessionError;
use super::reader::{Lines, Origin};
use super::replay::{ReplayRules, next_lap, scale};
use super::session::{RecordedSession, Step, StepKind, compile};
use super::{TraceError, error::shown};
use super::{copilot, gateway_log};
use crate::logs::{CallRecord, LogFormat, LogReader, RecordKind, Status};
use crate::time::Span;

/// A file of recorded agent sessions; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFormat {
    /// OpenTelemetry GenAI spans, OTLP JSON lines (a session is a trace).
    Otlp,
    /// The GitHub Copilot coding-agent trace: one session per JSON line.
    CopilotAgent,
    /// The gateway's request log (a session is a task's calls).
    SlaplanLog,
}

impl SessionFormat {
    /// The field holding a step's start, for errors.
    fn time_field(self) -> &'static str {
        match self {
            SessionFormat::Otlp => "startTimeUnixNano",
            SessionFormat::CopilotAgent => "timestamp",
            SessionFormat::SlaplanLog => "arrival",
        }
    }

    /// The field holding a session's id, for errors.
    fn session_field(self) -> &'static str {
        match self {
            SessionFormat::Otlp => "traceId",
            SessionFormat::CopilotAgent => "session_id",
            SessionFormat::SlaplanLog => "task",
        }
    }

    /// The fields holding a step's own id and its parent's, for errors.
    fn id_fields(self) -> (&'static str, &'static str) {
        match self {
            SessionFormat::Otlp => ("spanId", "parentSpanId"),
            SessionFormat::CopilotAgent | SessionFormat::SlaplanLog => ("message_id", "request_id"),
        }
    }
}

/// The default look-ahead, in sessions.
pub const DEFAULT_LOOKAHEAD: u64 = 1000;

enum Input {
    Otlp(Box<LogReader>),
    Copilot(Lines),
    GatewayLog(Lines),
}

/// A session being read.
struct Open {
    seq: u64,
    /// The count of sessions begun at its latest step.
    touched: u64,
    steps: Vec<Step>,
    last_line: u64,
}

/// A complete session, ordered for the heap: earliest start (then first
/// line) on top.
struct Ready(RecordedSession);

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.0.start, other.0.line).cmp(&(self.0.start, self.0.line))
    }
}
impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Ready {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ready {}

/// Streams complete, compiled sessions in order of their start; see the
/// module docs. The first error ends the stream.
pub struct SessionReader {
    file: String,
    origin: Origin,
    format: SessionFormat,
    input: Input,
    lookahead: u64,
    /// Sessions begun so far.
    begun: u64,
    open: HashMap<String, Open>,
    /// Open sessions by (touched, seq).
    idle: BTreeMap<(u64, u64), String>,
    /// Recently completed sessions: id → (`touched` at its last step, last line).
    closed: HashMap<String, (u64, u64)>,
    /// The same ids by the count of sessions begun when they completed.
    closed_order: VecDeque<(u64, String)>,
    ready: BinaryHeap<Ready>,
    /// The session handed out last: (start, first line, id).
    last: Option<(i128, u64, String)>,
    sessions: u64,
    eof: bool,
    done: bool,
}

impl SessionReader {
    /// Opens `path` as a file of sessions in `format`, grouping with
    /// `lookahead` (at least 1).
    pub fn open(path: impl AsRef<Path>, format: SessionFormat, lookahead: u64) -> Result<SessionReader, TraceError> {
        let path = path.as_ref();
        SessionReader::start(
            path.display().to_string(),
            Origin::File(path.to_path_buf()),
            format,
            lookahead,
        )
    }

    /// Reads sessions held in memory; `name` stands for the file in errors.
    pub fn from_bytes(
        name: &str,
        bytes: impl Into<Arc<[u8]>>,
        format: SessionFormat,
        lookahead: u64,
    ) -> Result<SessionReader, TraceError> {
        SessionReader::start(name.to_string(), Origin::Bytes(bytes.into()), format, lookahead)
    }

    /// The same file, from its start again (for looping).
    pub fn rewind(&self) -> Result<SessionReader, TraceError> {
        SessionReader::start(self.file.clone(), self.origin.clone(), self.format, self.lookahead)
    }

    /// The file's name, as used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Sessions handed out so far.
    pub fn sessions(&self) -> u64 {
        self.sessions
    }

    /// The first line of the session handed out last (0 before the first).
    pub fn line(&self) -> u64 {
        self.last.as_ref().map_or(0, |l| l.1)
    }

    /// Sessions held now: open ones and complete ones waiting to be handed
    /// out (the memory bound of the module docs).
    pub fn held(&self) -> usize {
        self.open.len() + self.ready.len()
    }

    /// The field holding start times in this format.
    pub(super) fn time_field(&self) -> &'static str {
        self.format.time_field()
    }

    fn start(file: String, origin: Origin, format: SessionFormat, lookahead: u64) -> Result<SessionReader, TraceError> {
        let input = match format {
            SessionFormat::Otlp => {
                let reader = match &origin {
                    Origin::File(path) => LogReader::open(path)?,
                    Origin::Bytes(bytes) => LogReader::from_bytes(&file, bytes.to_vec())?,
                };
                if reader.format() != LogFormat::Otlp {
                    return Err(TraceError::Field {
                        file,
                        line: 1,
                        field: "record".into(),
                        expected: "OTLP JSON spans (objects with \"resourceSpans\")".into(),
                        got: format!("a {} log", reader.format().name()),
                    });
                }
                Input::Otlp(Box::new(reader))
            }
            SessionFormat::CopilotAgent => Input::Copilot(Lines::new(origin.open(&file)?)),
            SessionFormat::SlaplanLog => Input::GatewayLog(Lines::new(origin.open(&file)?)),
        };
        Ok(SessionReader {
            file,
            origin,
            format,
            input,
            lookahead: lookahead.max(1),
            begun: 0,
            open: HashMap::new(),
            idle: BTreeMap::new(),
            closed: HashMap::new(),
            closed_order: VecDeque::new(),
            ready: BinaryHeap::new(),
            last: None,
            sessions: 0,
            eof: false,
            done: false,
        })
    }

    fn next_session(&mut self) -> Result<Option<RecordedSession>, TraceError> {
        loop {
            if self.ready.len() as u64 >= self.lookahead || (self.eof && !self.ready.is_empty()) {
                let Some(Ready(session)) = self.ready.pop() else {
                    continue;
                };
                self.last = Some((session.start, session.line, session.id.clone()));
                self.sessions += 1;
                return Ok(Some(session));
            }
            if self.eof {
                return Ok(None);
            }
            self.read()?;
        }
    }

    /// Reads one more record (or line), completing what it completes.
    fn read(&mut self) -> Result<(), TraceError> {
        match &mut self.input {
            Input::Otlp(reader) => match reader.next() {
                None => self.end_of_file(),
                Some(record) => {
                    let record = record?;
                    let line = reader.line();
                    let Some(key) = record.task.clone() else {
                        return Ok(());
                    };
                    let step = otlp_step(&self.file, line, record)?;
                    self.add(key, step)
                }
            },
            Input::Copilot(lines) => match lines.next_line(&self.file)? {
                None => self.end_of_file(),
                Some((line, text)) => {
                    let (id, steps) = copilot::session(&self.file, line, text)?;
                    self.begun += 1;
                    self.complete(id, steps)?;
                    self.forget_old();
                    Ok(())
                }
            },
            Input::GatewayLog(lines) => match lines.next_line(&self.file)? {
                None => self.end_of_file(),
                Some((line, text)) => {
                    let (key, step) = gateway_log::step(&self.file, line, text)?;
                    self.add(key, step)
                }
            },
        }
    }

    /// Adds a step to its session, beginning it if new.
    fn add(&mut self, key: String, step: Step) -> Result<(), TraceError> {
        let line = step.line;
        if let Some(open) = self.open.get_mut(&key) {
            self.idle.remove(&(open.touched, open.seq));
            open.touched = self.begun;
            open.last_line = line;
            open.steps.push(step);
            self.idle.insert((open.touched, open.seq), key);
            return Ok(());
        }
        if let Some(&(touched, previous_line)) = self.closed.get(&key) {
            let between = self.begun - touched;
            return Err(SessionError::Scattered {
                file: self.file.clone(),
                line,
                field: self.format.session_field().into(),
                session: key,
                previous_line,
                between,
                lookahead: self.lookahead,
            }
            .into());
        }
        self.begun += 1;
        let seq = self.begun;
        self.idle.insert((self.begun, seq), key.clone());
        self.open.insert(
            key,
            Open {
                seq,
                touched: self.begun,
                steps: vec![step],
                last_line: line,
            },
        );
        while let Some((&(touched, seq), _)) = self.idle.first_key_value() {
            if self.begun - touched < self.lookahead {
                break;
            }
            let key = self.idle.remove(&(touched, seq)).unwrap_or_default();
            if let Some(open) = self.open.remove(&key) {
                self.closed.insert(key.clone(), (touched, open.last_line));
                self.closed_order.push_back((self.begun, key.clone()));
                self.complete(key, open.steps)?;
            }
        }
        self.forget_old();
        Ok(())
    }

    /// Drops the ids of sessions completed `lookahead` or more sessions ago.
    fn forget_old(&mut self) {
        while let Some((at, _)) = self.closed_order.front() {
            if self.begun - at < self.lookahead {
                break;
            }
            if let Some((_, key)) = self.closed_order.pop_front() {
                self.closed.remove(&key);
            }
        }
    }

    fn end_of_file(&mut self) -> Result<(), TraceError> {
        self.eof = true;
        let mut rest: Vec<(u64, String)> = self
            .idle
            .values()
            .filter_map(|k| Some((self.open.get(k)?.seq, k.clone())))
            .collect();
        rest.sort_unstable();
        self.idle.clear();
        for (_, key) in rest {
            if let Some(open) = self.open.remove(&key) {
                self.complete(key, open.steps)?;
            }
        }
        Ok(())
    }

    /// Compiles a complete session and queues it, checking the start order.
    fn complete(&mut self, id: String, steps: Vec<Step>) -> Result<(), TraceError> {
        let (id_field, parent_field) = self.format.id_fields();
        let Some(session) = compile(&self.file, id, steps, id_field, parent_field)? else {
            return Ok(());
        };
        if let Some((start, line, previous)) = &self.last
            && session.start < *start
        {
            return Err(SessionError::OutOfOrder {
                file: self.file.clone(),
                line: session.line,
                field: self.format.time_field().into(),
                session: session.id,
                previous: previous.clone(),
                previous_line: *line,
                earlier_ns: u128::try_from(*start - session.start).unwrap_or(0),
                lookahead: self.lookahead,
            }
            .into());
        }
        self.ready.push(Ready(session));
        Ok(())
    }
}

impl Iterator for SessionReader {
    type Item = Result<RecordedSession, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_session() {
            Ok(Some(s)) => Some(Ok(s)),
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

/// One OTLP GenAI span as a step. A model span needs its input tokens; its
/// output tokens too, unless it failed (then it produced none).
fn otlp_step(file: &str, line: u64, r: CallRecord) -> Result<Step, TraceError> {
    let missing = |attr: &str| TraceError::Missing {
        file: file.into(),
        line,
        field: format!("attributes[{attr}]"),
        expected: format!(
            "the span's {attr} (span {}): a replayed model call needs its tokens",
            r.span.as_deref().unwrap_or_default()
        ),
    };
    let kind = match r.kind {
        RecordKind::Model => StepKind::Call {
            input: r.input_tokens.ok_or_else(|| missing("gen_ai.usage.input_tokens"))?,
            output: match (r.output_tokens, r.status) {
                (Some(n), _) => n,
                (None, Status::Ok) => return Err(missing("gen_ai.usage.output_tokens")),
                (None, _) => 0,
            },
        },
        RecordKind::Tool => StepKind::Tool {
            failed: r.status != Status::Ok,
        },
        RecordKind::Agent => StepKind::Agent,
    };
    Ok(Step {
        kind,
        start: i128::from(r.start),
        end: i128::from(r.end),
        id: r.span,
        parent: r.parent,
        after: None,
        tenant: r.tenant,
        workflow: r.workflow,
        line,
    })
}

/// One session of a replay: a compiled session with its tenant and
/// workflow settled and its offset scaled and shifted by its lap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedSession {
    /// When it starts, from the replay's start.
    pub at: Span,
    /// Which pass over the file (0 for the first).
    pub lap: u64,
    /// The session, `tenant` and `workflow` always `Some`.
    pub session: RecordedSession,
}

/// Sessions replayed under [`ReplayRules`] (defaults for missing tenant and
/// workflow, time scaling, looping), as the rows of a trace are: offsets
/// from the earliest session's start, divided by `time_scale`; with
/// `loop_to_fill`, lap `k` shifted by `k × L`, `L` the scaled span of the
/// session starts plus one mean gap between them.
pub struct SessionReplay {
    reader: SessionReader,
    tenant: String,
    workflow: String,
    scale_ppb: u128,
    period: Option<Span>,
    origin: Option<i128>,
    lap: u64,
    lap_length: Option<u64>,
    shift: u64,
    last_scaled: u64,
    done: bool,
}

impl ReplayRules {
    /// Replays the sessions of `reader` under these rules.
    pub fn apply_sessions(self, reader: SessionReader) -> Result<SessionReplay, super::ReplayRulesError> {
        let scale_ppb = self.scale_ppb()?;
        Ok(SessionReplay {
            reader,
            tenant: self.default_tenant,
            workflow: self.default_workflow,
            scale_ppb,
            period: self.loop_to_fill,
            origin: None,
            lap: 0,
            lap_length: None,
            shift: 0,
            last_scaled: 0,
            done: false,
        })
    }
}

impl SessionReplay {
    fn next_lap(&mut self) -> Result<bool, TraceError> {
        let Some(period) = self.period else {
            return Ok(false);
        };
        let length = match self.lap_length {
            Some(length) => length,
            None => {
                let sessions = self.reader.sessions();
                if sessions == 0 {
                    return Ok(false);
                }
                if sessions < 2 || self.last_scaled == 0 {
                    return Err(TraceError::CannotLoop {
                        file: self.reader.file().to_string(),
                        line: self.reader.line(),
                        field: self.reader.time_field().to_string(),
                        records: sessions,
                    });
                }
                let length = self.last_scaled + self.last_scaled / (sessions - 1);
                self.lap_length = Some(length);
                length
            }
        };
        match next_lap(self.lap, length, period) {
            Some((lap, shift)) => {
                self.reader = self.reader.rewind()?;
                self.lap = lap;
                self.shift = shift;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn step(&mut self) -> Result<Option<ReplayedSession>, TraceError> {
        loop {
            let Some(mut session) = self.reader.next().transpose()? else {
                if self.next_lap()? {
                    continue;
                }
                return Ok(None);
            };
            let origin = *self.origin.get_or_insert(session.start);
            let offset = u64::try_from(session.start - origin).map_err(|_| TraceError::Field {
                file: self.reader.file().to_string(),
                line: session.line,
                field: self.reader.time_field().into(),
                expected: "a time within 584 years of the file's first session".into(),
                got: shown(&session.start.to_string()),
            })?;
            let scaled = scale(offset, self.scale_ppb);
            if self.lap == 0 {
                self.last_scaled = scaled;
            }
            let at = self.shift.saturating_add(scaled);
            if self.period.is_some_and(|p| at >= p.as_nanos()) {
                return Ok(None);
            }
            session.tenant = session.tenant.or_else(|| Some(self.tenant.clone()));
            session.workflow = session.workflow.or_else(|| Some(self.workflow.clone()));
            return Ok(Some(ReplayedSession {
                at: Span::from_nanos(at),
                lap: self.lap,
                session,
            }));
        }
    }
}

impl Iterator for SessionReplay {
    type Item = Result<ReplayedSession, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
