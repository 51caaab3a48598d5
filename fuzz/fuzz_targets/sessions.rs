//! The closed-loop session readers: OTLP GenAI spans grouped by trace, the
//! GitHub Copilot coding-agent trace (one session per line) and the
//! gateway's request log grouped by task, each compiled into recorded
//! sessions. The first byte picks the format (its value / 3, plus one, is
//! the look-ahead, so grouping across sessions is fuzzed too); every
//! session is read until the first error, then replayed, looped over a
//! day, as a closed-loop scenario does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::model::{ReplayRules, SessionFormat, SessionReader};
use slaplan::time::Span;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let format = match pick % 3 {
        0 => SessionFormat::Otlp,
        1 => SessionFormat::CopilotAgent,
        _ => SessionFormat::SlaplanLog,
    };
    let lookahead = u64::from(pick / 3) % 8 + 1;
    let Ok(reader) = SessionReader::from_bytes("fuzz.jsonl", body.to_vec(), format, lookahead) else {
        return;
    };
    let Ok(again) = reader.rewind() else {
        return;
    };
    for session in reader {
        if session.is_err() {
            return;
        }
    }
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_secs(86_400)),
        ..ReplayRules::default()
    };
    let Ok(replay) = rules.apply_sessions(again) else {
        return;
    };
    // At most a few hundred sessions of a short file: bounded work per input.
    for session in replay.take(256) {
        if session.is_err() {
            return;
        }
    }
});
