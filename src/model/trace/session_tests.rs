//! Unit tests of recorded sessions: the graph compiled from hand-made steps
//! and from the hand-written fixtures (`tests/fixtures/replay/`), grouping,
//! ordering and memory bounds of [`SessionReader`], and the error of every
//! malformed row.

use super::session::compile;
use super::*;
use crate::time::Span;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/replay/{name}", env!("CARGO_MANIFEST_DIR"))
}

const MS: i128 = 1_000_000;

fn step(kind: StepKind, start_ms: i128, end_ms: i128) -> Step {
    Step {
        kind,
        start: start_ms * MS,
        end: end_ms * MS,
        id: None,
        parent: None,
        after: None,
        tenant: None,
        workflow: None,
        line: 1,
    }
}

fn call(start_ms: i128, end_ms: i128) -> Step {
    step(StepKind::Call { input: 100, output: 10 }, start_ms, end_ms)
}

fn with_id(mut s: Step, id: &str, parent: Option<&str>) -> Step {
    s.id = Some(id.into());
    s.parent = parent.map(Into::into);
    s
}

fn graph(steps: Vec<Step>) -> RecordedSession {
    compile("t", "s".into(), steps, "id", "parent")
        .unwrap()
        .expect("a session with calls")
}

fn ms(n: u64) -> Span {
    Span::from_millis(n)
}

/// (delay, work, predecessors, successors) of every node.
fn shape(s: &RecordedSession) -> Vec<(Span, Work, u32, Vec<u32>)> {
    s.nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.delay, n.work, n.preds, s.successors(i as u32).to_vec()))
        .collect()
}

fn sessions(name: &str, format: SessionFormat, lookahead: u64) -> Vec<RecordedSession> {
    SessionReader::open(fixture(name), format, lookahead)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_copilot_chain_waits_for_each_answer_with_the_recorded_gaps() {
    let all = sessions("copilot_chain.jsonl", SessionFormat::CopilotAgent, DEFAULT_LOOKAHEAD);
    assert_eq!(all.len(), 1);
    let s = &all[0];
    assert_eq!((s.id.as_str(), s.line, s.calls()), ("s-chain", 1, 4));
    let call = |input, output| Work::Call { input, output };
    let tool = |d| Work::Tool {
        duration: ms(d),
        failed: false,
    };
    // Calls and batches in time order, each waiting for the one before:
    // 100 ms to the batch, 200 ms to the next call, 5 s of user idle time
    // between the turns, 0 and 250 ms in the second turn.
    assert_eq!(
        shape(s),
        vec![
            (ms(0), call(1000, 30), 0, vec![1]),
            (ms(100), tool(1200), 1, vec![2]),
            (ms(200), call(1500, 80), 1, vec![3]),
            (ms(5000), call(1800, 10), 1, vec![4]),
            (ms(0), tool(700), 1, vec![5]),
            (ms(250), call(2000, 55), 1, vec![]),
        ]
    );
}

#[test]
fn overlapping_calls_stay_parallel_and_what_follows_joins_them() {
    // O, then P1, P2, P3 overlapping, then G after all three.
    let s = graph(vec![call(0, 5), call(6, 16), call(6, 21), call(7, 12), call(23, 28)]);
    assert_eq!(
        shape(&s)
            .iter()
            .map(|(d, _, p, n)| (*d, *p, n.clone()))
            .collect::<Vec<_>>(),
        vec![
            (ms(0), 0, vec![1, 2, 3]),
            (ms(1), 1, vec![4]),
            (ms(1), 1, vec![4]),
            (ms(2), 1, vec![4]),
            // 2 ms after the last of the three ended (21 ms).
            (ms(2), 3, vec![]),
        ]
    );
}

#[test]
fn a_step_waits_only_for_the_latest_ended_steps_of_its_branch() {
    // A, then B; C starts while B runs: C waits for A only, D (after B and
    // C) joins both.
    let s = graph(vec![call(0, 10), call(10, 20), call(12, 15), call(25, 30)]);
    assert_eq!(
        shape(&s)
            .iter()
            .map(|(d, _, p, n)| (*d, *p, n.clone()))
            .collect::<Vec<_>>(),
        vec![
            (ms(0), 0, vec![1, 2]),
            (ms(0), 1, vec![3]),
            (ms(2), 1, vec![3]),
            (ms(5), 2, vec![]),
        ]
    );
}

#[test]
fn agent_runs_and_tools_are_scopes_with_their_own_gaps_and_tails() {
    // Agent R [0, 30]: a call [2, 10], a failed tool T [12, 25] holding a
    // call [14, 20]; R ends 5 ms after T.
    let steps = vec![
        with_id(step(StepKind::Agent, 0, 30), "r", None),
        with_id(call(2, 10), "c1", Some("r")),
        with_id(step(StepKind::Tool { failed: true }, 12, 25), "t", Some("r")),
        with_id(call(14, 20), "c2", Some("t")),
    ];
    let s = graph(steps);
    let tool = |d, failed| Work::Tool {
        duration: ms(d),
        failed,
    };
    assert_eq!(
        shape(&s),
        vec![
            // R's start; its first call 2 ms in; then the tool's start 2 ms
            // after the call, its call 2 ms in, its own 5 ms after the call
            // (failing the task), and R's last 5 ms.
            (ms(0), Work::Pause, 0, vec![1]),
            (ms(2), Work::Call { input: 100, output: 10 }, 1, vec![2]),
            (ms(2), Work::Pause, 1, vec![3]),
            (ms(2), Work::Call { input: 100, output: 10 }, 1, vec![4]),
            (ms(0), tool(5, true), 1, vec![5]),
            (ms(5), Work::Pause, 1, vec![]),
        ]
    );
}

#[test]
fn the_otlp_swarm_has_three_parallel_sub_agents_between_two_calls() {
    let all = sessions("otlp_swarm.jsonl", SessionFormat::Otlp, DEFAULT_LOOKAHEAD);
    assert_eq!(all.len(), 1);
    let s = &all[0];
    assert_eq!(s.id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        (s.tenant.as_deref(), s.workflow.as_deref()),
        (Some("swarm-app"), Some("orchestrator"))
    );
    assert_eq!(s.calls(), 5);
    // Root start, orchestrator call, 3 × (sub-agent start, call, end),
    // aggregator call, root end.
    assert_eq!(s.nodes().len(), 13);
    let orchestrator = 1;
    let subagents = s.successors(orchestrator).to_vec();
    assert_eq!(subagents.len(), 3, "the orchestrator's answer starts three sub-agents");
    let aggregator = s
        .nodes()
        .iter()
        .position(|n| n.preds == 3)
        .expect("a node joining three");
    assert_eq!(s.nodes()[aggregator].delay, ms(100));
    assert_eq!(
        s.nodes()[aggregator].work,
        Work::Call {
            input: 1500,
            output: 30
        }
    );
    assert_eq!(s.nodes().last().map(|n| n.delay), Some(ms(200)), "the root's tail");
}

#[test]
fn an_explicit_link_adds_a_wait_only_to_an_earlier_step() {
    let mut tool = step(StepKind::Tool { failed: false }, 5, 9);
    tool.after = Some("c".into());
    // The call was still running when the batch started (clock skew): the
    // batch waits for it all the same, with no gap.
    let s = graph(vec![with_id(call(0, 6), "c", None), tool.clone()]);
    assert_eq!(shape(&s)[1].0, ms(0));
    assert_eq!(shape(&s)[1].2, 1);
    // A link to a step starting later is ignored.
    tool.after = Some("late".into());
    let s = graph(vec![call(0, 6), tool, with_id(call(10, 12), "late", None)]);
    assert_eq!(shape(&s)[1].2, 0, "the tool waits for nothing");
    assert_eq!(shape(&s)[1].0, ms(5), "its offset from the session's start");
}

#[test]
fn a_session_without_model_calls_is_not_replayed() {
    let steps = vec![
        step(StepKind::Tool { failed: false }, 0, 5),
        step(StepKind::Agent, 0, 9),
    ];
    assert_eq!(compile("t", "s".into(), steps, "id", "parent").unwrap(), None);
}

#[test]
fn duplicate_ids_and_parent_cycles_are_errors_naming_the_line() {
    let mut a = with_id(call(0, 5), "x", None);
    let mut b = with_id(call(6, 9), "x", None);
    (a.line, b.line) = (3, 7);
    let e = compile("f.jsonl", "s".into(), vec![a, b], "spanId", "parentSpanId").unwrap_err();
    assert_eq!(
        e.to_string(),
        "f.jsonl:7: field spanId: expected an id used once in session \"s\", got \"x\", already used on line 3"
    );
    let mut a = with_id(step(StepKind::Agent, 0, 9), "a", Some("b"));
    let b = with_id(step(StepKind::Agent, 0, 9), "b", Some("a"));
    a.line = 4;
    let e = compile("f.jsonl", "s".into(), vec![a, b, call(1, 2)], "spanId", "parentSpanId").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("f.jsonl:4: field parentSpanId: expected agent runs and tools nested"),
        "{e}"
    );
}

#[test]
fn sessions_come_in_start_order_within_the_lookahead() {
    // The file holds s-b (09:00:30), s-a (09:00:00), s-c (09:01:10).
    let all = sessions("copilot_sessions.jsonl", SessionFormat::CopilotAgent, 2);
    let ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s-a", "s-b", "s-c"]);
    assert_eq!(all.iter().map(|s| s.line).collect::<Vec<_>>(), [2, 1, 3]);
    // s-a: two calls and one batch (the batch without function calls is skipped).
    assert_eq!((all[0].calls(), all[0].nodes().len()), (2, 3));
    // s-b's batch lasts 250.5 ms; s-c's second and third calls are parallel.
    assert!(all[1].nodes().iter().any(|n| n.work
        == Work::Tool {
            duration: Span::from_micros(250_500),
            failed: false
        }));
    assert_eq!(all[2].successors(0), [1, 2]);
    assert_eq!(all[2].nodes()[3].preds, 2);
    let e = SessionReader::open(fixture("copilot_sessions.jsonl"), SessionFormat::CopilotAgent, 1)
        .unwrap()
        .find_map(Result::err)
        .expect("out of order");
    let text = e.to_string();
    assert!(
        text.ends_with("copilot_sessions.jsonl:2: field timestamp: expected a session starting no earlier than session \"s-b\" (line 1), already replayed, got session \"s-a\" starting 30000000000 ns before it: sessions must come in order of their start within lookahead = 1 sessions; sort the file by session start, or raise the replay's lookahead"),
        "{text}"
    );
}

#[test]
fn session_offsets_are_scaled_like_rows() {
    let reader = SessionReader::open(fixture("copilot_sessions.jsonl"), SessionFormat::CopilotAgent, 10).unwrap();
    let rules = ReplayRules {
        time_scale: 2.0,
        ..ReplayRules::default()
    };
    let out: Vec<_> = rules.apply_sessions(reader).unwrap().collect::<Result<_, _>>().unwrap();
    let at: Vec<_> = out.iter().map(|r| r.at).collect();
    assert_eq!(at, [Span::ZERO, Span::from_secs(15), Span::from_secs(35)]);
    assert!(out.iter().all(|r| r.session.tenant.as_deref() == Some("trace")));
    assert!(out.iter().all(|r| r.session.workflow.as_deref() == Some("replay")));
    // Looping: the lap is the scaled span (35 s) plus one mean gap (17.5 s).
    let reader = SessionReader::open(fixture("copilot_sessions.jsonl"), SessionFormat::CopilotAgent, 10).unwrap();
    let rules = ReplayRules {
        time_scale: 2.0,
        loop_to_fill: Some(Span::from_secs(120)),
        ..ReplayRules::default()
    };
    let out: Vec<_> = rules.apply_sessions(reader).unwrap().collect::<Result<_, _>>().unwrap();
    let at: Vec<u64> = out.iter().map(|r| r.at.as_millis()).collect();
    assert_eq!(at, [0, 15_000, 35_000, 52_500, 67_500, 87_500, 105_000]);
    assert_eq!(out.iter().map(|r| r.lap).collect::<Vec<_>>(), [0, 0, 0, 1, 1, 1, 2]);
}

/// One OTLP line holding one chat span (100 ms long) of `trace`.
fn otlp_line(trace: u64, span: u64, start_ms: u64, tokens: bool) -> String {
    let t0 = 1_767_225_600_000_000_000u64;
    let usage = if tokens {
        r#",{"key":"gen_ai.usage.input_tokens","value":{"intValue":"10"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"5"}}"#
    } else {
        ""
    };
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace:032x}","spanId":"{span:016x}","startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}{usage}]}}]}}]}}]}}"#,
        t0 + start_ms * 1_000_000,
        t0 + (start_ms + 100) * 1_000_000,
    )
}

#[test]
fn interleaved_sessions_are_grouped_within_the_lookahead_and_refused_beyond() {
    let text = [
        otlp_line(10, 1, 0, true),
        otlp_line(11, 2, 50, true),
        otlp_line(10, 3, 200, true),
    ]
    .join("\n");
    let read = |lookahead| {
        SessionReader::from_bytes("spans.jsonl", text.as_bytes().to_vec(), SessionFormat::Otlp, lookahead)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
    };
    let two = read(2).unwrap();
    assert_eq!(two.iter().map(|s| s.calls()).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(
        read(1).unwrap_err().to_string(),
        format!(
            "spans.jsonl:3: field traceId: expected the steps of session {:?} within 1 sessions of each other, \
             got a step after 1 other sessions began since its previous one (line 1): group the file by \
             session, or raise the replay's lookahead",
            format!("{:032x}", 10)
        )
    );
}

#[test]
fn memory_holds_the_open_sessions_and_the_lookahead_not_the_file() {
    // 3000 one-call sessions at one instant (ties keep file order).
    let mut text = String::new();
    for i in 0..3000u64 {
        text.push_str(&format!(
            "{{\"session_id\":\"s{i}\",\"turns\":[{{\"llm_calls\":[{{\"timestamp\":\"2026-06-01T00:00:00Z\",\"duration_ms\":1,\"tokens\":{{\"prompt\":1,\"completion\":1}}}}]}}]}}\n"
        ));
    }
    let mut reader =
        SessionReader::from_bytes("many.jsonl", text.into_bytes(), SessionFormat::CopilotAgent, 8).unwrap();
    let (mut n, mut most) = (0, 0);
    while let Some(s) = reader.next() {
        s.unwrap();
        n += 1;
        most = most.max(reader.held());
    }
    assert_eq!(n, 3000);
    assert!(most <= 8, "held {most} sessions at once");
    // 1000 OTLP traces of two spans, each trace's second span after the
    // next trace's first: grouped with lookahead 2, never more than two open.
    let mut lines = Vec::new();
    for i in 0..=1000u64 {
        if i < 1000 {
            lines.push(otlp_line(i + 1, 2 * i + 1, i * 1000, true));
        }
        if i > 0 {
            lines.push(otlp_line(i, 2 * i, (i - 1) * 1000 + 200, true));
        }
    }
    let mut reader =
        SessionReader::from_bytes("spans.jsonl", lines.join("\n").into_bytes(), SessionFormat::Otlp, 2).unwrap();
    let (mut n, mut most) = (0, 0);
    while let Some(s) = reader.next() {
        assert_eq!(s.unwrap().calls(), 2);
        n += 1;
        most = most.max(reader.held());
    }
    assert_eq!(n, 1000);
    assert!(most <= 2 + 2, "held {most} sessions at once");
}

#[test]
fn every_malformed_copilot_row_names_its_line_and_field() {
    let good_call =
        r#"{"message_id":"m","timestamp":"2026-06-01T00:00:00Z","duration_ms":5,"tokens":{"prompt":1,"completion":2}}"#;
    let session = |calls: &str, batches: &str| {
        format!(r#"{{"session_id":"s","turns":[{{"llm_calls":[{calls}],"tool_batches":[{batches}]}}]}}"#)
    };
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "field record: expected one JSON object per line"),
        ("[1]".into(), "field record: expected a JSON object, got [1]"),
        (
            r#"{"turns":[]}"#.into(),
            "field session_id: expected the session's id, got nothing",
        ),
        (
            r#"{"session_id":7,"turns":[]}"#.into(),
            "field session_id: expected text, got 7",
        ),
        (
            r#"{"session_id":"s"}"#.into(),
            "field turns: expected an array of turns, got nothing",
        ),
        (
            r#"{"session_id":"s","turns":{}}"#.into(),
            "field turns: expected a JSON array, got {}",
        ),
        (
            r#"{"session_id":"s","turns":[{"llm_calls":3}]}"#.into(),
            "field turns[0].llm_calls: expected a JSON array, got 3",
        ),
        (
            session(r#"{"duration_ms":5,"tokens":{"prompt":1,"completion":2}}"#, ""),
            "field turns[0].llm_calls[0].timestamp: expected an ISO 8601 time",
        ),
        (
            session(
                r#"{"timestamp":"2026-06-01 25:00:00","duration_ms":5,"tokens":{"prompt":1,"completion":2}}"#,
                "",
            ),
            "field turns[0].llm_calls[0].timestamp: expected an ISO 8601 time such as \"2026-06-01T12:34:56.789Z\", got \"2026-06-01 25:00:00\"",
        ),
        (
            session(
                r#"{"timestamp":"2026-06-01T00:00:00Z","duration_ms":-5,"tokens":{"prompt":1,"completion":2}}"#,
                "",
            ),
            "field turns[0].llm_calls[0].duration_ms: expected a non-negative number of milliseconds, got -5",
        ),
        (
            session(
                r#"{"timestamp":"2026-06-01T00:00:00Z","tokens":{"prompt":1,"completion":2}}"#,
                "",
            ),
            "field turns[0].llm_calls[0].duration_ms: expected a non-negative number of milliseconds, got nothing",
        ),
        (
            session(r#"{"timestamp":"2026-06-01T00:00:00Z","duration_ms":5}"#, ""),
            "field turns[0].llm_calls[0].tokens: expected an object with prompt and completion, got nothing",
        ),
        (
            session(
                r#"{"timestamp":"2026-06-01T00:00:00Z","duration_ms":5,"tokens":{"completion":2}}"#,
                "",
            ),
            "field turns[0].llm_calls[0].tokens.prompt: expected a whole number of tokens (0 to 4294967295), got nothing",
        ),
        (
            session(
                r#"{"timestamp":"2026-06-01T00:00:00Z","duration_ms":5,"tokens":{"prompt":1,"completion":2.5}}"#,
                "",
            ),
            "field turns[0].llm_calls[0].tokens.completion: expected a whole number of tokens (0 to 4294967295), got 2.5",
        ),
        (
            session(
                good_call,
                r#"{"timestamp":"2026-06-01T00:00:01Z","duration_ms":5,"function_calls":[{"status":3}]}"#,
            ),
            "field turns[0].tool_batches[0].function_calls[0].status: expected 1 (success) or 2 (failure or timeout), got 3",
        ),
        (
            session(
                good_call,
                r#"{"timestamp":"2026-06-01T00:00:01Z","duration_ms":5,"function_calls":[{}]}"#,
            ),
            "field turns[0].tool_batches[0].function_calls[0].status: expected 1 (success) or 2 (failure or timeout), got nothing",
        ),
        (
            session(
                good_call,
                r#"{"timestamp":"soon","duration_ms":5,"function_calls":[{"status":1}]}"#,
            ),
            "field turns[0].tool_batches[0].timestamp: expected an ISO 8601 time",
        ),
        (
            session(
                good_call,
                r#"{"timestamp":"2026-06-01T00:00:01Z","duration_ms":5,"request_id":4,"function_calls":[{"status":1}]}"#,
            ),
            "field turns[0].tool_batches[0].request_id: expected text, got 4",
        ),
        (
            session(&format!("{good_call},{good_call}"), ""),
            "field message_id: expected an id used once in session \"s\", got \"m\", already used on line 2",
        ),
    ];
    for (row, expected) in cases {
        let text = format!("{}\n{row}\n", session(good_call, "").replace("\"s\"", "\"first\""));
        let e = SessionReader::from_bytes("agent.jsonl", text.into_bytes(), SessionFormat::CopilotAgent, 10)
            .unwrap()
            .find_map(Result::err)
            .unwrap_or_else(|| panic!("no error for {row}"))
            .to_string();
        assert!(
            e.starts_with(&format!("agent.jsonl:2: {expected}")),
            "{row}\n  gave {e}"
        );
    }
}

#[test]
fn otlp_model_spans_need_their_tokens_and_a_spend_log_is_not_otlp() {
    let e = SessionReader::from_bytes(
        "spans.jsonl",
        otlp_line(10, 1, 0, false).into_bytes(),
        SessionFormat::Otlp,
        10,
    )
    .unwrap()
    .find_map(Result::err)
    .unwrap();
    assert_eq!(
        e.to_string(),
        "spans.jsonl:1: field attributes[gen_ai.usage.input_tokens]: expected the span's \
         gen_ai.usage.input_tokens (span 0000000000000001): a replayed model call needs its tokens, got nothing"
    );
    let spend = r#"{"startTime":1767225600,"endTime":1767225601,"status":"success"}"#;
    let e = SessionReader::from_bytes("spend.jsonl", spend.as_bytes().to_vec(), SessionFormat::Otlp, 10)
        .err()
        .expect("refused");
    assert_eq!(
        e.to_string(),
        "spend.jsonl:1: field record: expected OTLP JSON spans (objects with \"resourceSpans\"), got a litellm log"
    );
}

#[test]
fn the_gateway_log_groups_a_tasks_calls_by_arrival_with_parallel_calls_joined() {
    // Lines come in order of their ends, tasks interleaved: t1 is a chain
    // (0→0.5, then 1.0→2.0, then 2.3→2.6 s); t2 has two overlapping calls
    // (0.2→1.7, 0.25→0.75) that the third (2.0→2.55) joins 0.3 s after the
    // later end; a call with neither task nor session is its own session.
    let all = sessions("gateway_requests.jsonl", SessionFormat::SlaplanLog, DEFAULT_LOOKAHEAD);
    let heads: Vec<_> = all
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.line,
                s.calls(),
                s.tenant.as_deref(),
                s.workflow.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        heads,
        vec![
            ("task t1", 1, 3, Some("acme"), Some("agent")),
            ("task t2", 2, 3, Some("acme"), Some("agent")),
            ("call on line 7", 7, 1, Some("acme"), Some("agent")),
        ]
    );
    let call = |input, output| Work::Call { input, output };
    assert_eq!(
        shape(&all[0]),
        vec![
            (ms(0), call(1000, 30), 0, vec![1]),
            (ms(500), call(1500, 80), 1, vec![2]),
            (ms(300), call(1800, 10), 1, vec![]),
        ]
    );
    // t2 starts at 0.2 s: the 0.2 s call first, the 0.25 s call 50 ms after
    // the session's start, both joined by the last.
    assert_eq!(
        shape(&all[1]),
        vec![
            (ms(0), call(700, 130), 0, vec![2]),
            (ms(50), call(700, 30), 0, vec![2]),
            (ms(300), call(600, 35), 2, vec![]),
        ]
    );
    assert_eq!(all[1].start - all[0].start, 200 * MS);
    assert_eq!(shape(&all[2]), vec![(ms(0), call(100, 0), 0, vec![])]);
}

#[test]
fn every_malformed_gateway_log_row_names_its_line_and_field() {
    let good = r#"{"call":0,"tenant":"a","workflow":"w","task":"t","session":null,"arrival":"2026-11-30T10:00:00Z","first_token":null,"end":"2026-11-30T10:00:01Z","input_tokens":10,"output_tokens":2,"usage":true,"endpoint":"m","tier":0,"attempts":1,"outcome":"success","status":200}"#;
    let cases: Vec<(String, &str)> = vec![
        ("{oops".into(), "field record: expected one JSON object per line"),
        ("[1]".into(), "field record: expected a JSON object, got [1]"),
        (
            good.replace(r#""end":"2026-11-30T10:00:01Z","#, ""),
            "field end: expected an RFC 3339 UTC time",
        ),
        (
            good.replace("10:00:01Z", "10:00:61Z"),
            "field end: expected an RFC 3339 UTC time such as \"2026-11-30T01:02:03.123456789Z\", got \"2026-11-30T10:00:61Z\"",
        ),
        (
            good.replace("10:00:00Z", "10:00:02Z"),
            "field end: expected a time no earlier than arrival, got \"2026-11-30T10:00:01Z\"",
        ),
        (
            good.replace(r#""arrival":"2026-11-30T10:00:00Z""#, r#""arrival":12"#),
            "field arrival: expected an RFC 3339 UTC time",
        ),
        (
            good.replace(r#""input_tokens":10"#, r#""input_tokens":-1"#),
            "field input_tokens: expected a whole number of tokens (0 to 4294967295), got -1",
        ),
        (
            good.replace(r#""output_tokens":2,"#, ""),
            "field output_tokens: expected a whole number of tokens (0 to 4294967295), got nothing",
        ),
        (
            good.replace(r#""task":"t""#, r#""task":5"#),
            "field task: expected text, got 5",
        ),
        (
            good.replace(r#""status":200"#, r#""status":"ok""#),
            "field record: expected a request-log line of slaplan serve (see its schema)",
        ),
    ];
    for (row, expected) in cases {
        let text = format!("{good}\n{row}\n");
        let e = SessionReader::from_bytes("requests.jsonl", text.into_bytes(), SessionFormat::SlaplanLog, 10)
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .expect_err(&row);
        let e = e.to_string();
        assert!(
            e.starts_with(&format!("requests.jsonl:2: {expected}")),
            "expected {expected:?}, got {e:?}"
        );
    }
}
