//! Trace replay against the real traces in `../shared/data/traces`: every
//! arrival offset and token count is checked against an independent, naive
//! parse of the same file. Skipped (with a note) when the traces are absent.

use std::path::PathBuf;

use slaplan::model::{ReplayRules, TraceFormat, TraceReader, TraceRecord};
use slaplan::time::Span;

fn trace_path(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/traces")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: {} not found", path.display());
        None
    }
}

/// (offset ns, input tokens, output tokens) per record, as the reader sees them.
fn read(path: &PathBuf, format: TraceFormat) -> Vec<TraceRecord> {
    match TraceReader::open(path, format).unwrap().collect::<Result<Vec<_>, _>>() {
        Ok(records) => records,
        Err(e) => panic!("{e}"),
    }
}

fn triples(records: &[TraceRecord]) -> Vec<(u64, u32, u32)> {
    records
        .iter()
        .map(|r| (r.at.as_nanos(), r.input_tokens, r.output_tokens))
        .collect()
}

/// Loops the trace over two lap lengths and checks it yields exactly two laps,
/// the second shifted by the lap length.
fn check_two_laps(path: &PathBuf, format: TraceFormat, expected: &[(u64, u32, u32)]) {
    let n = expected.len() as u64;
    let span = expected.last().unwrap().0;
    let lap = span + span / (n - 1);
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_nanos(2 * lap)),
        ..ReplayRules::default()
    };
    let replay = rules.apply(TraceReader::open(path, format).unwrap()).unwrap();
    let out: Vec<_> = replay.collect::<Result<_, _>>().unwrap();
    assert_eq!(out.len() as u64, 2 * n, "looping over two laps doubles the count");
    for (i, r) in out.iter().enumerate() {
        let (at, input, output) = expected[i % expected.len()];
        let shift = if i < expected.len() { 0 } else { lap };
        assert_eq!(
            (r.record.at.as_nanos(), r.record.input_tokens, r.record.output_tokens),
            (at + shift, input, output)
        );
        assert_eq!(r.lap as usize, i / expected.len());
        assert_eq!(r.record.tenant.as_deref(), Some("trace"));
    }
}

#[test]
fn azure_trace_replays_exactly() {
    let Some(path) = trace_path("AzureLLMInferenceTrace_conv.csv") else {
        return;
    };
    // Independent parse: chrono for the date-times, plain splitting for the rest.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().trim_end(),
        "TIMESTAMP,ContextTokens,GeneratedTokens"
    );
    let mut first = None;
    let expected: Vec<(u64, u32, u32)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.trim_end().split(',').collect();
            let at = chrono::NaiveDateTime::parse_from_str(cols[0], "%Y-%m-%d %H:%M:%S%.f").unwrap();
            let first = *first.get_or_insert(at);
            let offset = (at - first).num_nanoseconds().unwrap();
            (
                u64::try_from(offset).unwrap(),
                cols[1].parse().unwrap(),
                cols[2].parse().unwrap(),
            )
        })
        .collect();
    let records = read(&path, TraceFormat::Azure);
    println!(
        "azure: {} records, first at {} ns, last at {} ns",
        records.len(),
        records[0].at.as_nanos(),
        records.last().unwrap().at.as_nanos()
    );
    assert_eq!(records.len(), 19_366);
    assert_eq!(triples(&records), expected);
    assert_eq!(records.last().unwrap().at, Span::from_nanos(3_501_721_937_000));
    check_two_laps(&path, TraceFormat::Azure, &expected);
}

#[test]
fn mooncake_trace_replays_exactly_with_ties_in_file_order() {
    let Some(path) = trace_path("mooncake_conversation_trace.jsonl") else {
        return;
    };
    // Independent parse: serde_json values, milliseconds times 1e6.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut first = None;
    let expected: Vec<(u64, u32, u32)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ms = v["timestamp"].as_u64().unwrap();
            let first = *first.get_or_insert(ms);
            let tokens = |k: &str| u32::try_from(v[k].as_u64().unwrap()).unwrap();
            (
                (ms - first) * 1_000_000,
                tokens("input_length"),
                tokens("output_length"),
            )
        })
        .collect();
    let records = read(&path, TraceFormat::Mooncake);
    println!(
        "mooncake: {} records, first at {} ns, last at {} ns",
        records.len(),
        records[0].at.as_nanos(),
        records.last().unwrap().at.as_nanos()
    );
    assert_eq!(records.len(), 12_031);
    // Element by element: equal timestamps come out in file order, since the
    // token counts at each index match the file's line at that index.
    assert_eq!(triples(&records), expected);
    let ties = records.windows(2).filter(|w| w[0].at == w[1].at).count();
    assert!(ties > 10_000, "the Mooncake trace is mostly ties, got {ties}");
    assert_eq!(records.last().unwrap().at, Span::from_millis(3_536_999));
    check_two_laps(&path, TraceFormat::Mooncake, &expected);
}
