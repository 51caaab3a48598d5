//! Unit tests on hand-written fixtures (`tests/fixtures/traces/`) and inline
//! traces: exact offsets, tokens, error lines and fields.

use proptest::prelude::*;

use super::*;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/traces/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read_all(path: &str, format: TraceFormat) -> Vec<TraceRecord> {
    TraceReader::open(path, format)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The first error of an inline trace, as the user would read it.
fn first_error(text: &str, format: TraceFormat) -> String {
    match TraceReader::from_bytes("t.csv", text.as_bytes().to_vec(), format) {
        Err(e) => e.to_string(),
        Ok(reader) => reader.filter_map(Result::err).next().expect("an error").to_string(),
    }
}

fn offsets(records: &[TraceRecord]) -> Vec<u64> {
    records.iter().map(|r| r.at.as_nanos()).collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn generic_csv_reads_every_field_exactly() {
    let records = read_all(&fixture("generic.csv"), TraceFormat::Generic);
    assert_eq!(offsets(&records), [0, 0, 750_000_000, 1_500_000_000]);
    assert_eq!(
        records[0],
        TraceRecord {
            at: Span::ZERO,
            tenant: some("acme"),
            workflow: some("chat"),
            input_tokens: 100,
            output_tokens: 20,
            task: some("t1"),
            session: some("s1"),
        }
    );
    assert_eq!((records[1].tenant.as_deref(), records[1].task.as_deref()), (None, None));
    assert_eq!((records[1].input_tokens, records[1].output_tokens), (7, 3));
    assert_eq!(
        (records[2].tenant.as_deref(), records[2].session.as_deref()),
        (Some("beta"), None)
    );
    assert_eq!((records[3].input_tokens, records[3].output_tokens), (0, 1));
}

#[test]
fn generic_jsonl_reads_strings_numbers_and_nulls() {
    let records = read_all(&fixture("generic.jsonl"), TraceFormat::Generic);
    assert_eq!(offsets(&records), [0, 1, 250_000_000]);
    assert_eq!(records[0].session.as_deref(), Some("s1"));
    assert_eq!((records[1].tenant.as_deref(), records[1].input_tokens), (None, 5));
    assert_eq!(
        (records[2].tenant.as_deref(), records[2].workflow.as_deref()),
        (None, Some("rag"))
    );
}

#[test]
fn azure_offsets_are_exact_to_100ns_across_midnight() {
    let records = read_all(&fixture("azure.csv"), TraceFormat::Azure);
    assert_eq!(offsets(&records), [0, 4_314_579_000, 4_314_579_000, 20_653_319_410_100]);
    let tokens: Vec<_> = records.iter().map(|r| (r.input_tokens, r.output_tokens)).collect();
    assert_eq!(tokens, [(374, 44), (396, 109), (879, 55), (91, 16)]);
    assert!(records.iter().all(|r| r.tenant.is_none() && r.workflow.is_none()));
}

#[test]
fn mooncake_milliseconds_and_ties_in_file_order() {
    let records = read_all(&fixture("mooncake.jsonl"), TraceFormat::Mooncake);
    assert_eq!(offsets(&records), [0, 0, 3_000_000, 1_500_000_000]);
    let inputs: Vec<_> = records.iter().map(|r| r.input_tokens).collect();
    assert_eq!(inputs, [6758, 7322, 2290, 1]);
}

#[test]
fn backwards_time_names_both_lines() {
    let err = TraceReader::open(fixture("backwards.csv"), TraceFormat::Generic)
        .unwrap()
        .find_map(Result::err)
        .unwrap()
        .to_string();
    assert!(err.ends_with(
        "backwards.csv:4: field timestamp: expected a time no earlier than \"2\" (line 3), got \"1.5\": \
         the trace goes backwards; sort it by time"
    ));
}

#[test]
fn errors_name_file_line_field_and_expectation() {
    use TraceFormat::*;
    let cases = [
        (
            "timestamp,input_tokens,output_tokens\n1,1,1\n2,abc,1\n",
            Generic,
            "t.csv:3: field input_tokens: expected a whole number of tokens (0 to 4294967295), got \"abc\"",
        ),
        (
            "timestamp,input_tokens,output_tokens\n1,1,1\n\n2,1\n",
            Generic,
            "t.csv:4: field record: expected 3 comma-separated fields, as in the header, got 2 fields",
        ),
        (
            "timestamp,input_tokens,output_tokens\n1.5x,1,1\n",
            Generic,
            "t.csv:2: field timestamp: expected a time in seconds such as 12.5, or a duration such as \
             \"1.5s\" or \"800ms\", got \"1.5x\"",
        ),
        (
            "timestamp,input_tokens,output_tokens\n,1,1\n",
            Generic,
            "t.csv:2: field timestamp: expected a time in seconds such as 12.5, or a duration such as \
             \"1.5s\" or \"800ms\", got nothing",
        ),
        (
            "timestamp,tennant,input_tokens,output_tokens\n1,a,1,1\n",
            Generic,
            "t.csv:1: field header: expected columns timestamp,input_tokens,output_tokens and optionally \
             tenant,workflow,task,session, each once, got \"tennant\"",
        ),
        (
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,1\n2023-02-30 00:00:00,1,1\n",
            Azure,
            "t.csv:3: field TIMESTAMP: expected a date-time such as \"2023-11-16 18:15:46.6805900\", \
             got \"2023-02-30 00:00:00\"",
        ),
        (
            "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.68,1\n",
            Azure,
            "t.csv:1: field header: expected the columns TIMESTAMP,ContextTokens,GeneratedTokens, \
             got \"TIMESTAMP,ContextTokens\"",
        ),
        (
            "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n\n{\"timestamp\": 5, \"input_length\": -3, \"output_length\": 1}\n",
            Mooncake,
            "t.csv:3: field input_length: expected a whole number of tokens (0 to 4294967295), got -3",
        ),
        (
            "{\"timestamp\": \"now\", \"input_length\": 1, \"output_length\": 1}\n",
            Mooncake,
            "t.csv:1: field timestamp: expected a non-negative number of milliseconds, got \"now\"",
        ),
        (
            "{\"input_length\": 1, \"output_length\": 1}\n",
            Mooncake,
            "t.csv:1: field timestamp: expected a non-negative number of milliseconds, got nothing",
        ),
        (
            "{\"timestamp\": 1, \"input_tokens\": 1, \"output_tokens\": 1, \"tenant\": 7}\n",
            Generic,
            "t.csv:1: field tenant: expected text or nothing, got 7",
        ),
        (
            "{\"timestamp\": 1, \"input_tokens\": 1\n",
            Generic,
            "t.csv:1: field record: expected a JSON object with timestamp, input_tokens, output_tokens and \
             optionally tenant, workflow, task, session, got \"EOF while parsing an object at line 1 column 34\"",
        ),
    ];
    for (text, format, expected) in cases {
        assert_eq!(first_error(text, format), expected, "{text}");
    }
}

#[test]
fn the_first_error_ends_the_stream() {
    let text = "timestamp,input_tokens,output_tokens\n1,x,1\n2,1,1\n";
    let items: Vec<_> = TraceReader::from_bytes("t.csv", text.as_bytes().to_vec(), TraceFormat::Generic)
        .unwrap()
        .collect();
    assert_eq!(items.len(), 1);
    assert!(items[0].is_err());
}

#[test]
fn a_missing_file_is_an_open_error() {
    let err = TraceReader::open("/nonexistent/trace.csv", TraceFormat::Azure)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/trace.csv: cannot open the trace: "),
        "{err}"
    );
}

fn replay(text: &str, rules: ReplayRules) -> Vec<ReplayedRecord> {
    let reader = TraceReader::from_bytes("t.csv", text.as_bytes().to_vec(), TraceFormat::Generic).unwrap();
    rules.apply(reader).unwrap().collect::<Result<_, _>>().unwrap()
}

const THREE: &str = "timestamp,tenant,input_tokens,output_tokens\n10,a,1,1\n11,,2,2\n14,a,3,3\n";

#[test]
fn replay_fills_defaults_and_scales_time() {
    let rules = ReplayRules {
        time_scale: 2.0,
        ..ReplayRules::default()
    };
    let out = replay(THREE, rules);
    let at: Vec<_> = out.iter().map(|r| r.record.at.as_nanos()).collect();
    assert_eq!(at, [0, 500_000_000, 2_000_000_000]);
    assert_eq!(out[1].record.tenant.as_deref(), Some("trace"));
    assert_eq!(out[0].record.tenant.as_deref(), Some("a"));
    assert!(
        out.iter()
            .all(|r| r.record.workflow.as_deref() == Some("replay") && r.lap == 0)
    );
    // Slowing down: 1/3 speed; exact integer rounding.
    let rules = ReplayRules {
        time_scale: 0.5,
        ..ReplayRules::default()
    };
    let at: Vec<_> = replay(THREE, rules).iter().map(|r| r.record.at.as_nanos()).collect();
    assert_eq!(at, [0, 2_000_000_000, 8_000_000_000]);
}

#[test]
fn replay_loops_by_span_plus_mean_gap() {
    // Span 4 s over 3 records: mean gap 2 s, lap length 6 s. Fill 13 s: laps at 0, 6, 12.
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_secs(13)),
        ..ReplayRules::default()
    };
    let out = replay(THREE, rules);
    let at: Vec<_> = out.iter().map(|r| (r.lap, r.record.at.as_secs_f64())).collect();
    assert_eq!(
        at,
        [(0, 0.0), (0, 1.0), (0, 4.0), (1, 6.0), (1, 7.0), (1, 10.0), (2, 12.0)]
    );
    // Looping honours scaling: lap length 3 s at double speed; 6 s holds exactly two laps.
    let rules = ReplayRules {
        time_scale: 2.0,
        loop_to_fill: Some(Span::from_secs(6)),
        ..ReplayRules::default()
    };
    assert_eq!(replay(THREE, rules).len(), 6);
    // A period shorter than the trace cuts the first lap.
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_secs(4)),
        ..ReplayRules::default()
    };
    assert_eq!(replay(THREE, rules).len(), 2);
}

#[test]
fn replay_refuses_to_loop_a_trace_at_one_instant() {
    let text = "timestamp,input_tokens,output_tokens\n5,1,1\n5,1,1\n";
    let reader = TraceReader::from_bytes("t.csv", text.as_bytes().to_vec(), TraceFormat::Generic).unwrap();
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_secs(60)),
        ..ReplayRules::default()
    };
    let items: Vec<_> = rules.apply(reader).unwrap().collect();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[2].as_ref().unwrap_err().to_string(),
        "t.csv:3: field timestamp: expected a trace of two or more distinct times to loop it, got 2 record(s) \
         at one instant; do not set loop_to_fill for this trace"
    );
    let empty = TraceReader::from_bytes(
        "t.csv",
        b"timestamp,input_tokens,output_tokens\n".to_vec(),
        TraceFormat::Generic,
    )
    .unwrap();
    let rules = ReplayRules {
        loop_to_fill: Some(Span::from_secs(60)),
        ..ReplayRules::default()
    };
    assert_eq!(rules.apply(empty).unwrap().count(), 0);
}

#[test]
fn replay_rejects_a_bad_time_scale() {
    for scale in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-12] {
        let reader = TraceReader::from_bytes("t.csv", THREE.as_bytes().to_vec(), TraceFormat::Generic).unwrap();
        let rules = ReplayRules {
            time_scale: scale,
            ..ReplayRules::default()
        };
        assert!(rules.apply(reader).is_err(), "{scale}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), which in 0..3usize) {
        let format = [TraceFormat::Generic, TraceFormat::Azure, TraceFormat::Mooncake][which];
        if let Ok(reader) = TraceReader::from_bytes("fuzz", bytes, format) {
            let rules = ReplayRules { loop_to_fill: Some(Span::from_secs(10)), time_scale: 3.0, ..ReplayRules::default() };
            // Looping a tiny span can yield many records; bound the walk, not the input.
            for item in rules.apply(reader).unwrap().take(10_000) {
                let _ = item;
            }
        }
    }

    #[test]
    fn json_lines_that_almost_parse_never_panic(
        lines in proptest::collection::vec("\\{\"timestamp\": [-0-9.e\"a-z]{0,12}, \"input_length\": [-0-9.]{0,6}, \"output_length\": [0-9]{0,4}\\}", 0..8)
    ) {
        let text = lines.join("\n");
        let reader = TraceReader::from_bytes("fuzz", text.into_bytes(), TraceFormat::Mooncake).unwrap();
        for item in reader {
            let _ = item;
        }
    }

    #[test]
    fn decimal_seconds_round_trip_exactly(secs in 0u64..10_000_000, nanos in 0u64..1_000_000_000) {
        let text = format!("timestamp,input_tokens,output_tokens\n0,1,1\n{secs}.{nanos:09},1,1\n");
        let records: Vec<_> = TraceReader::from_bytes("t.csv", text.into_bytes(), TraceFormat::Generic)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(records[1].at.as_nanos(), secs * 1_000_000_000 + nanos);
    }
}

#[test]
fn csv_lines_count_blank_lines() {
    let text = "timestamp,input_tokens,output_tokens\n1,1,1\n\n\n2,x,1\n";
    assert_eq!(
        first_error(text, TraceFormat::Generic),
        "t.csv:5: field input_tokens: expected a whole number of tokens (0 to 4294967295), got \"x\""
    );
}

#[test]
fn crlf_lines_are_counted_once() {
    let text =
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.68,1,1\r\n\r\n2023-11-16 18:15:47,1,-1\r\n";
    assert_eq!(
        first_error(text, TraceFormat::Azure),
        "t.csv:4: field GeneratedTokens: expected a whole number of tokens (0 to 4294967295), got \"-1\""
    );
}

#[test]
fn quoted_csv_fields_may_hold_commas_and_quotes() {
    let text = "timestamp,tenant,workflow,input_tokens,output_tokens\n1,\"acme, inc\",\"say \"\"hi\"\"\",1,2\n";
    let records: Vec<_> = TraceReader::from_bytes("t.csv", text.as_bytes().to_vec(), TraceFormat::Generic)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records[0].tenant.as_deref(), Some("acme, inc"));
    assert_eq!(records[0].workflow.as_deref(), Some("say \"hi\""));
    assert_eq!(
        first_error("timestamp,input_tokens,output_tokens\n\"1,1,1\n", TraceFormat::Generic),
        "t.csv:2: field record: expected comma-separated fields, each quoted field closed on its line, got \"\\\"1,1,1\""
    );
}

#[test]
fn readers_and_replays_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<TraceReader>();
    assert_send::<Replay>();
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let csv = "\u{feff}timestamp,input_tokens,output_tokens\n1,2,3\n";
    let jsonl = "\u{feff}{\"timestamp\": 1, \"input_tokens\": 2, \"output_tokens\": 3}\n";
    for text in [csv, jsonl] {
        let records: Vec<_> = TraceReader::from_bytes("t", text.as_bytes().to_vec(), TraceFormat::Generic)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!((records.len(), records[0].input_tokens), (1, 2), "{text}");
    }
}
