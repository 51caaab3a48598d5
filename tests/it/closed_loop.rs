//! Closed-loop replay of recorded agent sessions through the whole world,
//! against hand computations and against an independent parse of the
//! hand-written fixtures (`tests/fixtures/replay/`).
//!
//! The endpoint's latency is deterministic (sigma 0): `k × (200 ms + 10 ms
//! per output token)`. The fixtures' recorded durations are exactly the
//! `k = 1` latencies of their tokens, so at `k = 1` the replay must put every
//! call where the recording has it, and at `k = 2` every call takes twice
//! its recorded time while think, idle and tool times stay as recorded.

use std::fs;
use std::path::Path;

use chrono::DateTime;
use serde_json::Value;
use slaplan::model::{CallRecord, RunStats, TaskRecord, World};
use slaplan::time::{Span, Time};

use crate::common::{output_files, repo_path, scenario, slaplan, tempdir};

const FIXTURES: &str = "tests/fixtures/replay";

fn text(replay: &str, k: u64, extra: &str) -> String {
    format!(
        r#"
[simulation]
start = "2026-06-01T09:00:00"
duration = "1h"
seed = 3

[[endpoints]]
name = "m"
concurrency = 16
attempt_timeout = "10m"
latency = {{ model = "lognormal", ttft = "{}ms", per_output_token = "{}ms" }}
{extra}

[[tenants]]
name = "t"
class = "gold"
chain = ["m"]
retry = {{ max_attempts = 1 }}

[[tenants.workflows]]
name = "w"
replay = {replay}

[[tenants.clauses]]
metric = "task_availability"
target = 0.5
"#,
        200 * k,
        10 * k
    )
}

fn run(replay: &str, k: u64, extra: &str) -> (RunStats, Vec<CallRecord>, Vec<TaskRecord>) {
    let s = scenario(&text(replay, k, extra));
    let (_, stats, samples) = World::new(&s, 0).unwrap().log_calls(1000).log_tasks(1000).run_sampled();
    (stats, samples.calls, samples.tasks)
}

fn copilot(file: &str) -> String {
    format!(r#"{{ path = "{FIXTURES}/{file}", format = "copilot-agent", mode = "closed_loop" }}"#)
}

fn at(ms: u64) -> Time {
    Time::ZERO + Span::from_millis(ms)
}

/// (submitted, ended, input tokens, output tokens) of a call.
type Timed = (Time, Option<Time>, u32, u32);

/// Each logged call as [`Timed`], in submission order.
fn timeline(calls: &[CallRecord]) -> Vec<Timed> {
    calls
        .iter()
        .map(|c| (c.submitted, c.ended, c.input_tokens, c.output_tokens))
        .collect()
}

/// An independent parse of a Copilot fixture's one session (chrono,
/// serde_json): each call's (start, end, prompt, completion) as offsets
/// from the session's first step, by start; and the session's last end.
fn recorded_copilot(file: &str) -> (Vec<Timed>, Time) {
    let text = fs::read_to_string(repo_path(&format!("{FIXTURES}/{file}"))).unwrap();
    let v: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let time = |x: &Value| {
        let t = DateTime::parse_from_rfc3339(x["timestamp"].as_str().unwrap()).unwrap();
        let start = t.timestamp_nanos_opt().unwrap();
        let end = start + (x["duration_ms"].as_f64().unwrap() * 1e6).round() as i64;
        (start, end)
    };
    let mut calls = Vec::new();
    let mut all = Vec::new();
    for turn in v["turns"].as_array().unwrap() {
        for c in turn["llm_calls"].as_array().unwrap() {
            let (s, e) = time(c);
            let tokens = |k: &str| c["tokens"][k].as_u64().unwrap() as u32;
            calls.push((s, e, tokens("prompt"), tokens("completion")));
            all.push((s, e));
        }
        for b in turn["tool_batches"].as_array().unwrap() {
            all.push(time(b));
        }
    }
    let origin = all.iter().map(|x| x.0).min().unwrap();
    let last = all.iter().map(|x| x.1).max().unwrap();
    calls.sort_by_key(|c| c.0);
    let offset = |t: i64| Time::ZERO + Span::from_nanos((t - origin) as u64);
    (
        calls
            .into_iter()
            .map(|(s, e, i, o)| (offset(s), Some(offset(e)), i, o))
            .collect(),
        offset(last),
    )
}

#[test]
fn a_session_against_its_own_latencies_reproduces_the_recording() {
    let (expected, last) = recorded_copilot("copilot_chain.jsonl");
    let (stats, calls, tasks) = run(&copilot("copilot_chain.jsonl"), 1, "");
    assert_eq!(timeline(&calls), expected);
    assert_eq!(
        (stats.calls, stats.tool_calls, stats.tasks, stats.tasks_succeeded),
        (4, 2, 1, 1)
    );
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].started, tasks[0].ended, tasks[0].succeeded),
        (at(0), last, true)
    );
    assert_eq!(last, at(10_000));
}

#[test]
fn a_session_against_an_endpoint_twice_as_slow_takes_longer_by_its_call_times() {
    let (recorded, _) = recorded_copilot("copilot_chain.jsonl");
    let (stats, calls, tasks) = run(&copilot("copilot_chain.jsonl"), 2, "");
    // By hand: A 0→1.0 s; batch after 100 ms: 1.1→2.3; C 200 ms later:
    // 2.5→4.5; 5 s of user idle time; D 9.5→10.1; batch at once:
    // 10.1→10.8; E 250 ms later: 11.05→12.55.
    let hand = [
        (0, 1_000, 1000, 30),
        (2_500, 4_500, 1500, 80),
        (9_500, 10_100, 1800, 10),
        (11_050, 12_550, 2000, 55),
    ];
    let hand: Vec<_> = hand.iter().map(|&(s, e, i, o)| (at(s), Some(at(e)), i, o)).collect();
    assert_eq!(timeline(&calls), hand);
    // The same calls, in the same order, with the same tokens.
    let tokens = |t: &[Timed]| t.iter().map(|c| (c.2, c.3)).collect::<Vec<_>>();
    assert_eq!(tokens(&timeline(&calls)), tokens(&recorded));
    assert_eq!((stats.calls, stats.tool_calls, stats.tasks_succeeded), (4, 2, 1));
    // 12.55 s: the recorded 10 s plus once more every call's recorded time
    // (0.5 + 1.0 + 0.3 + 0.75 s), all on the session's one path.
    assert_eq!(tasks[0].ended - tasks[0].started, Span::from_millis(12_550));
    let call_time: u64 = recorded.iter().map(|c| (c.1.unwrap() - c.0).as_millis()).sum();
    assert_eq!(Span::from_millis(10_000 + call_time), tasks[0].ended - tasks[0].started);
}

fn otlp() -> String {
    format!(r#"{{ path = "{FIXTURES}/otlp_swarm.jsonl", format = "otlp" }}"#)
}

#[test]
fn a_swarm_fan_out_stays_parallel_its_makespan_is_the_longest_branch() {
    // Recorded: orchestrator call [0, 0.5] s; sub-agents (50 ms lead, 100
    // ms tail) with calls [0.6, 1.6], [0.6, 2.1], [0.7, 1.2]; aggregator
    // [2.3, 2.8] after all; the root agent ends at 3.0.
    let (stats, calls, tasks) = run(&otlp(), 1, "");
    let recorded = [
        (0, 500, 1000, 30),
        (600, 1_600, 1200, 80),
        (600, 2_100, 1200, 130),
        (700, 1_200, 1200, 30),
        (2_300, 2_800, 1500, 30),
    ];
    let recorded: Vec<_> = recorded
        .iter()
        .map(|&(s, e, i, o)| (at(s), Some(at(e)), i, o))
        .collect();
    assert_eq!(timeline(&calls), recorded);
    assert_eq!(tasks[0].ended - tasks[0].started, Span::from_millis(3_000));
    assert_eq!(stats.tasks_succeeded, 1);

    let (_, calls, tasks) = run(&otlp(), 2, "");
    // By hand at twice the latency (calls of 1.0, 2.0, 3.0, 1.0 and 1.0 s):
    // orchestrator 0→1.0; sub-agents start 50, 50 and 100 ms later, their
    // calls 50, 50 and 100 ms after that: 1.1→3.1, 1.1→4.1, 1.2→2.2, the
    // sub-agents ending 100 ms later (3.2, 4.2, 2.3); the aggregator 100 ms
    // after the last (4.3→5.3); the root 200 ms later, at 5.5.
    let hand = [
        (0, 1_000, 1000, 30),
        (1_100, 3_100, 1200, 80),
        (1_100, 4_100, 1200, 130),
        (1_200, 2_200, 1200, 30),
        (4_300, 5_300, 1500, 30),
    ];
    let hand: Vec<_> = hand.iter().map(|&(s, e, i, o)| (at(s), Some(at(e)), i, o)).collect();
    assert_eq!(timeline(&calls), hand);
    let makespan = tasks[0].ended - tasks[0].started;
    assert_eq!(makespan, Span::from_millis(5_500));
    // The longest branch, not the sum: in series the five calls alone
    // would take 1.0 + 2.0 + 3.0 + 1.0 + 1.0 = 8 s.
    assert!(makespan < Span::from_millis(8_000));
}

#[test]
fn a_failed_tool_in_the_recording_fails_the_task_when_it_ends() {
    let (stats, calls, tasks) = run(&copilot("copilot_tool_failure.jsonl"), 1, "");
    // The call, then the batch [0.6, 1.8] s with a failed function call:
    // the task fails there; the recorded call after it is never made.
    assert_eq!(timeline(&calls), vec![(at(0), Some(at(500)), 1000, 30)]);
    assert_eq!(
        (stats.calls, stats.tool_calls, stats.tasks, stats.tasks_succeeded),
        (1, 1, 1, 0)
    );
    assert_eq!((tasks[0].ended, tasks[0].succeeded), (at(1_800), false));
}

#[test]
fn a_replayed_agent_reacts_to_an_outage_instead_of_firing_its_recorded_calls() {
    // The endpoint is down for the whole hour: the first call fails after
    // the endpoint's error latency, once (one attempt), and the agent,
    // waiting for that answer, never makes the other three calls: the
    // recording's timestamps would have fired all four.
    let outage = r#"outages = [{ start = "0s", duration = "1h" }]"#;
    let (stats, calls, tasks) = run(&copilot("copilot_chain.jsonl"), 1, outage);
    assert_eq!((stats.calls, stats.failed, stats.tool_calls), (1, 1, 0));
    assert_eq!(calls.len(), 1);
    assert_eq!(tasks.len(), 1);
    assert!(!tasks[0].succeeded);
    assert_eq!(Some(tasks[0].ended), calls[0].ended);
}

#[test]
fn looped_sessions_arrive_at_their_scaled_recorded_starts() {
    // copilot_sessions.jsonl: sessions at 0, 30 and 70 s; time_scale 4 puts
    // them at 0, 7.5 and 17.5 s, and a lap lasts 17.5 + 17.5 / 2 = 26.25 s.
    // In 2 h, laps 0..=274 start before the end; lap 274 (at 7192.5 s) has
    // only its first session before 7200 s: 274 × 3 + 1 sessions, plus the
    // one OTLP swarm.
    let s = slaplan::scenario::load(&repo_path(&format!("{FIXTURES}/closed_loop.toml"))).unwrap();
    let (_, stats, samples) = World::new(&s, 0).unwrap().log_tasks(usize::MAX).run_sampled();
    assert_eq!(stats.tasks, 274 * 3 + 1 + 1);
    let mut starts: Vec<u64> = samples
        .tasks
        .iter()
        .filter(|t| t.workflow.0 == 0)
        .map(|t| t.started.as_nanos())
        .collect();
    starts.sort_unstable();
    let lap = 26_250_000_000u64;
    let mut expected: Vec<u64> = (0..275u64)
        .flat_map(|k| [0, 7_500_000_000, 17_500_000_000].map(|x| k * lap + x))
        .filter(|&x| x < 7_200_000_000_000)
        .collect();
    expected.sort_unstable();
    assert_eq!(starts, expected);
}

fn gateway_log() -> String {
    format!(r#"{{ path = "{FIXTURES}/gateway_requests.jsonl", format = "slaplan-log", mode = "closed_loop" }}"#)
}

#[test]
fn the_gateway_request_log_replays_each_task_in_closed_loop() {
    // gateway_requests.jsonl, written in order of the calls' ends: task t1
    // a chain of three calls, task t2 two overlapping calls joined by a
    // third, and a call of no task. Every recorded duration is the k = 1
    // latency of its output tokens, so at k = 1 each call is where the log
    // has it (offsets from the earliest arrival).
    let (stats, calls, tasks) = run(&gateway_log(), 1, "");
    let recorded = [
        (0, 500, 1000, 30),
        (200, 1_700, 700, 130),
        (250, 750, 700, 30),
        (1_000, 2_000, 1500, 80),
        (2_000, 2_550, 600, 35),
        (2_300, 2_600, 1800, 10),
        (3_000, 3_200, 100, 0),
    ];
    let timed = |t: &[(u64, u64, u32, u32)]| -> Vec<Timed> {
        t.iter().map(|&(s, e, i, o)| (at(s), Some(at(e)), i, o)).collect()
    };
    assert_eq!(timeline(&calls), timed(&recorded));
    assert_eq!((stats.calls, stats.tasks, stats.tasks_succeeded), (7, 3, 3));
    let spans = |tasks: &[TaskRecord]| {
        let mut v: Vec<_> = tasks.iter().map(|t| (t.started, t.ended)).collect();
        v.sort();
        v
    };
    assert_eq!(
        spans(&tasks),
        vec![(at(0), at(2_600)), (at(200), at(2_550)), (at(3_000), at(3_200))]
    );

    // By hand at twice the latency: t1 0→1.0, 0.5 s of think time, 1.5→3.5,
    // 0.3 s, 3.8→4.4; t2's parallel calls 0.2→3.2 and 0.25→1.25, its third
    // 0.3 s after the later of them, 3.5→4.6; the lone call 3.0→3.4.
    let (_, calls, tasks) = run(&gateway_log(), 2, "");
    let hand = [
        (0, 1_000, 1000, 30),
        (200, 3_200, 700, 130),
        (250, 1_250, 700, 30),
        (1_500, 3_500, 1500, 80),
        (3_000, 3_400, 100, 0),
        (3_500, 4_600, 600, 35),
        (3_800, 4_400, 1800, 10),
    ];
    assert_eq!(timeline(&calls), timed(&hand));
    assert_eq!(
        spans(&tasks),
        vec![(at(0), at(4_400)), (at(200), at(4_600)), (at(3_000), at(3_400))]
    );
}

fn run_cli(out: &Path, threads: u32) {
    let status = slaplan()
        .args(["run", "--threads", &threads.to_string(), "--out"])
        .arg(out)
        .arg(repo_path(&format!("{FIXTURES}/closed_loop.toml")))
        .output()
        .expect("slaplan runs");
    assert!(
        status.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn closed_loop_replay_gives_the_same_bytes_at_any_thread_count() {
    let dir = tempdir();
    let (one, two) = (dir.path().join("t1"), dir.path().join("t2"));
    run_cli(&one, 1);
    run_cli(&two, 2);
    let files = output_files(&one);
    assert_eq!(files, output_files(&two));
    assert!(files.iter().any(|f| f == "summary.csv"), "{files:?}");
    for file in files.iter().filter(|f| *f != "run.json") {
        assert_eq!(
            fs::read(one.join(file)).unwrap(),
            fs::read(two.join(file)).unwrap(),
            "{file} differs between 1 and 2 threads (seed 11)"
        );
    }
    let strip = |p: &Path| {
        let mut v: Value = serde_json::from_str(&fs::read_to_string(p.join("run.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    assert_eq!(strip(&one), strip(&two));
}

/// `slaplan validate` on a scenario replaying `trace` (written as
/// `trace.jsonl`) with `replay` keys; returns (exit code, stderr).
fn validate(trace: &str, replay: &str) -> (Option<i32>, String) {
    let dir = tempdir();
    fs::write(dir.path().join("trace.jsonl"), trace).unwrap();
    let toml = text(&format!(r#"{{ path = "trace.jsonl", {replay} }}"#), 1, "");
    let path = dir.path().join("s.toml");
    fs::write(&path, toml).unwrap();
    let out = slaplan().arg("validate").arg(&path).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_malformed_row_exits_2_naming_the_file_line_and_field() {
    let call = |ts: &str, status: &str| {
        format!(
            r#"{{"session_id":"s{ts}","turns":[{{"llm_calls":[{{"timestamp":"2026-06-01T09:00:{ts}Z","duration_ms":5,"tokens":{{"prompt":1,"completion":2}}}}],"tool_batches":[{{"timestamp":"2026-06-01T09:00:{ts}.1Z","duration_ms":5,"function_calls":[{{"status":{status}}}]}}]}}]}}"#
        )
    };
    let good = call("00", "1");
    let copilot = r#"format = "copilot-agent""#;
    let strict = format!("{copilot}, lookahead = 1");
    let none = format!("{copilot}, lookahead = 0");
    let chat = fs::read_to_string(repo_path(&format!("{FIXTURES}/otlp_swarm.jsonl"))).unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{good}\n{{oops\n"),
            copilot,
            "trace.jsonl:2: field record: expected one JSON object",
        ),
        (
            format!("{good}\n{}\n", call("01", "3")),
            copilot,
            "trace.jsonl:2: field turns[0].tool_batches[0].function_calls[0].status: expected 1 (success) or 2",
        ),
        (
            format!("{good}\n{}\n", call("01", "1").replace("09:00:01Z", "09:61:00Z")),
            copilot,
            "trace.jsonl:2: field turns[0].llm_calls[0].timestamp: expected an ISO 8601 time",
        ),
        (
            format!("{}\n{good}\n", call("05", "1")),
            &strict,
            "trace.jsonl:2: field timestamp: expected a session starting no earlier than session \"s05\" (line 1)",
        ),
        (
            chat.replace(
                r#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1500"}},"#,
                "",
            ),
            r#"format = "otlp""#,
            "trace.jsonl:2: field attributes[gen_ai.usage.input_tokens]: expected the span's gen_ai.usage.input_tokens (span 4444444444444444)",
        ),
        (
            chat.replace(
                "\"startTimeUnixNano\":\"1767225602300000000\"",
                "\"startTimeUnixNano\":\"soon\"",
            ),
            r#"format = "otlp""#,
            "trace.jsonl:2: field resourceSpans[0].scopeSpans[0].spans[3].startTimeUnixNano: expected nanoseconds",
        ),
        (
            format!("{good}\n"),
            r#"format = "copilot-agent", mode = "arrivals""#,
            "mode: format \"copilot-agent\" records whole agent sessions",
        ),
        (
            "timestamp,input_tokens,output_tokens\n0,1,2\n".into(),
            r#"format = "generic", mode = "closed_loop""#,
            "mode: format \"generic\" records no call ends",
        ),
        (
            fs::read_to_string(repo_path(&format!("{FIXTURES}/gateway_requests.jsonl")))
                .unwrap()
                .replace(
                    r#""end":"2026-11-30T10:00:02.550000000Z""#,
                    r#""end":"2026-11-30T10:00:01Z""#,
                ),
            r#"format = "slaplan-log", mode = "closed_loop""#,
            "trace.jsonl:5: field end: expected a time no earlier than arrival, got \"2026-11-30T10:00:01Z\"",
        ),
        (format!("{good}\n"), &none, "lookahead: 0 sessions"),
        ("\n".into(), copilot, "the file has no session with a model call"),
    ];
    for (trace, replay, expected) in cases {
        let (code, stderr) = validate(&trace, replay);
        assert_eq!(code, Some(2), "{replay}: {stderr}");
        assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
    }
}
