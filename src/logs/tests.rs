use super::*;

const LITELLM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/litellm.jsonl");
const OTLP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/otlp.jsonl");

fn all(path: &str) -> Vec<CallRecord> {
    LogReader::open(path).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

fn error_of(text: &str) -> String {
    match LogReader::from_bytes("bad.jsonl", text.as_bytes().to_vec()) {
        Err(e) => e.to_string(),
        Ok(reader) => reader
            .filter_map(Result::err)
            .next()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("no error for {text}")),
    }
}

const S: u64 = 1_000_000_000;
const T0: u64 = 1_767_225_600 * S;

#[test]
fn litellm_sample_reads_every_field() {
    let rows = all(LITELLM);
    assert_eq!(rows.len(), 5, "the blank line is skipped");
    let r = &rows[0];
    assert_eq!(r.kind, RecordKind::Model);
    assert_eq!(r.tenant.as_deref(), Some("insurer"));
    assert_eq!(r.key.as_deref(), Some("claims-prod"));
    assert_eq!(r.workflow.as_deref(), Some("claims"));
    assert_eq!(r.task.as_deref(), Some("claim-991"));
    assert_eq!(r.session.as_deref(), Some("s-17"));
    assert_eq!(r.call.as_deref(), Some("5b8c0b52-6f1e-4c1e-9a77-0c2d4f1a0001"));
    assert_eq!(r.start, T0 + S / 4);
    assert_eq!(r.first_token, Some(T0 + 850_000_000));
    assert_eq!(r.end, T0 + 2 * S + 750_000_000);
    assert_eq!((r.input_tokens, r.output_tokens), (Some(1500), Some(120)));
    assert_eq!(r.endpoint.as_deref(), Some("gpt-4o@azure/eastus-prod"));
    assert_eq!(r.model_group.as_deref(), Some("gpt-4o"));
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.cost, Some(0.0041));
    // No team: the key alias is the tenant; api.openai.com names no place.
    assert_eq!(rows[1].tenant.as_deref(), Some("tutor-key"));
    assert_eq!(rows[1].endpoint.as_deref(), Some("gpt-4o-mini@openai"));
    assert_eq!(rows[1].workflow, None);
    assert_eq!(rows[2].status, Status::RateLimited);
    assert_eq!(rows[2].error_type.as_deref(), Some("RateLimitError"));
    assert_eq!(rows[3].status, Status::Timeout);
    assert_eq!(rows[3].endpoint.as_deref(), Some("claude-sonnet@anthropic"));
    assert_eq!(rows[3].duration(), 60 * S);
    assert_eq!(rows[4].status, Status::Error);
    assert_eq!(rows[4].endpoint.as_deref(), Some("gpt-4o@azure/swedencentral-prod"));
}

#[test]
fn otlp_sample_reads_genai_spans_only() {
    let rows = all(OTLP);
    let kinds: Vec<RecordKind> = rows.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Model,
            RecordKind::Tool,
            RecordKind::Model,
            RecordKind::Agent,
            RecordKind::Model
        ],
        "the plain HTTP span is not a record"
    );
    let chat = &rows[0];
    assert_eq!(chat.tenant.as_deref(), Some("claims-agent"));
    assert_eq!(chat.task.as_deref(), Some("5b8ee239c7f3a1d0e4c2b1a09f8e7d6c"));
    assert_eq!(chat.parent.as_deref(), Some("a0a0a0a0a0a0a0a0"));
    assert_eq!(chat.span.as_deref(), Some("a1b2c3d4e5f60718"));
    assert_eq!(chat.session.as_deref(), Some("conv-42"));
    assert_eq!(chat.start, T0 + 100_000_000);
    assert_eq!(chat.duration(), 2 * S);
    assert_eq!((chat.input_tokens, chat.output_tokens), (Some(1200), Some(80)));
    assert_eq!(chat.endpoint.as_deref(), Some("gpt-4o@openai"));
    assert_eq!(chat.status, Status::Ok);
    // gen_ai.system is the older name of the provider.
    assert_eq!(rows[2].endpoint.as_deref(), Some("gpt-4o@openai"));
    let tool = &rows[1];
    assert_eq!((tool.endpoint.as_deref(), tool.duration()), (None, 800_000_000));
    let agent = &rows[3];
    assert_eq!(
        (agent.parent.as_deref(), agent.workflow.as_deref()),
        (None, Some("claims"))
    );
    // Numbers as well as strings for 64-bit integers; a 429 by error.type.
    let limited = &rows[4];
    assert_eq!(limited.start, T0 + 60 * S);
    assert_eq!(limited.status, Status::RateLimited);
    assert_eq!(limited.workflow.as_deref(), Some("homework"));
    assert_eq!(limited.output_tokens, None);
}

/// Every malformed-row case names the file, the line and the field.
#[test]
fn malformed_rows_name_file_line_and_field() {
    let ok = r#"{"startTime":1.0,"endTime":2.0,"status":"success","prompt_tokens":1,"completion_tokens":1}"#;
    let cases: &[(&str, &str)] = &[
        ("", "bad.jsonl: the log is empty"),
        ("\n  \n", "bad.jsonl: the log is empty"),
        ("{\"hello\": 1}\n", "bad.jsonl:1: field row: expected a LiteLLM"),
        ("[1,2]\n", "bad.jsonl:1: field row: expected a LiteLLM"),
        (
            &format!("{ok}\n{{not json\n"),
            "bad.jsonl:2: field row: expected one JSON object per line",
        ),
        (&format!("{ok}\n[]\n"), "bad.jsonl:2: field row: expected a JSON object"),
        (
            r#"{"status":"success","startTime":"soon","endTime":2}"#,
            "bad.jsonl:1: field startTime: expected a time in seconds",
        ),
        (
            r#"{"status":"success","startTime":-1,"endTime":2}"#,
            "bad.jsonl:1: field startTime: expected a time in seconds",
        ),
        (
            r#"{"status":"success","startTime":1}"#,
            "bad.jsonl:1: field endTime: expected a time in seconds since 1970-01-01 UTC, e.g. 1767225600.25, got nothing",
        ),
        (
            r#"{"status":"success","startTime":3,"endTime":2}"#,
            "bad.jsonl:1: field endTime: expected a time no earlier than startTime, got \"2\"",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"completionStartTime":5}"#,
            "bad.jsonl:1: field completionStartTime: expected a time between startTime and endTime",
        ),
        (
            r#"{"status":"ok","startTime":1,"endTime":2}"#,
            "bad.jsonl:1: field status: expected \"success\" or \"failure\", got \"ok\"",
        ),
        (
            r#"{"startTime":1,"endTime":2,"status":null}"#,
            "bad.jsonl:1: field status: expected \"success\" or \"failure\"",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"prompt_tokens":-3}"#,
            "bad.jsonl:1: field prompt_tokens: expected a whole number of tokens",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"completion_tokens":1.5}"#,
            "bad.jsonl:1: field completion_tokens: expected a whole number of tokens",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"metadata":"team-a"}"#,
            "bad.jsonl:1: field metadata: expected a JSON object",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"metadata":{"user_api_key_team_alias":7}}"#,
            "bad.jsonl:1: field metadata.user_api_key_team_alias: expected text, got \"7\"",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"metadata":{"spend_logs_metadata":{"workflow":["a"]}}}"#,
            "bad.jsonl:1: field metadata.spend_logs_metadata.workflow: expected text",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"response_cost":-0.5}"#,
            "bad.jsonl:1: field response_cost: expected a price in USD",
        ),
        (
            r#"{"status":"failure","startTime":1,"endTime":2,"error_information":{"error_code":true}}"#,
            "bad.jsonl:1: field error_information.error_code: expected an HTTP status code",
        ),
        (
            r#"{"status":"success","startTime":1,"endTime":2,"model_group":3}"#,
            "bad.jsonl:1: field model_group: expected text",
        ),
    ];
    for (text, expected) in cases {
        let got = error_of(text);
        assert!(
            got.starts_with(expected),
            "{text}\n  got:      {got}\n  expected: {expected}…"
        );
    }
}

#[test]
fn malformed_otlp_spans_name_the_span_path() {
    let span = |body: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8ee239c7f3a1d0e4c2b1a09f8e7d6c","spanId":"a1b2c3d4e5f60718",{body}}}]}}]}}]}}"#
        )
    };
    let chat = r#""attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]"#;
    let p = "resourceSpans[0].scopeSpans[0].spans[0]";
    let cases: Vec<(String, String)> = vec![
        (r#"{"resourceSpans":{}}"#.into(), "field resourceSpans: expected a JSON array".into()),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[7]}]}]}"#.into(),
            format!("field {p}: expected a JSON object"),
        ),
        (span(&format!(r#"{chat},"endTimeUnixNano":"5""#)), format!("field {p}.startTimeUnixNano: expected nanoseconds")),
        (
            span(&format!(r#"{chat},"startTimeUnixNano":"x","endTimeUnixNano":"5""#)),
            format!("field {p}.startTimeUnixNano: expected nanoseconds since 1970-01-01 UTC, as a string or a whole number, got \"x\""),
        ),
        (
            span(&format!(r#"{chat},"startTimeUnixNano":"9","endTimeUnixNano":"5""#)),
            format!("field {p}.endTimeUnixNano: expected a time no earlier than startTimeUnixNano"),
        ),
        (
            span(r#""startTimeUnixNano":1,"endTimeUnixNano":5,"attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.usage.input_tokens","value":{"stringValue":"many"}}]"#),
            format!("field {p}.attributes[gen_ai.usage.input_tokens]: expected an intValue"),
        ),
        (
            span(r#""startTimeUnixNano":1,"endTimeUnixNano":5,"attributes":[{"key":"gen_ai.operation.name","value":{"intValue":"3"}}]"#),
            format!("field {p}.attributes[gen_ai.operation.name]: expected a stringValue"),
        ),
        (
            span(r#""startTimeUnixNano":1,"endTimeUnixNano":5,"attributes":[{"value":{"stringValue":"chat"}}]"#),
            format!("field {p}.attributes[0].key: expected the attribute's name, got nothing"),
        ),
        (
            span(r#""startTimeUnixNano":1,"endTimeUnixNano":5,"attributes":[{"key":"x","value":{"weird":1}}]"#),
            format!("field {p}.attributes[x]: expected an OTLP AnyValue"),
        ),
        (
            span(&format!(r#"{chat},"startTimeUnixNano":1,"endTimeUnixNano":5,"parentSpanId":"xyz""#)),
            format!("field {p}.parentSpanId: expected 16 hexadecimal digits, got \"xyz\""),
        ),
        (
            span(&format!(r#"{chat},"startTimeUnixNano":1,"endTimeUnixNano":5,"status":{{"code":7}}"#)),
            format!("field {p}.status.code: expected 0, 1 or 2"),
        ),
        (
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"spanId":"a1b2c3d4e5f60718",{chat},"startTimeUnixNano":1,"endTimeUnixNano":5}}]}}]}}]}}"#
            ),
            format!("field {p}.traceId: expected 32 hexadecimal digits, got nothing"),
        ),
        (
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"intValue":1}}]},"scopeSpans":[{"spans":[{"traceId":"5b8ee239c7f3a1d0e4c2b1a09f8e7d6c","spanId":"a1b2c3d4e5f60718","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}],"startTimeUnixNano":1,"endTimeUnixNano":5}]}]}]}"#.into(),
            "field resourceSpans[0].resource.attributes[service.name]: expected a stringValue".into(),
        ),
    ];
    for (text, expected) in cases {
        let got = error_of(&format!("{text}\n"));
        let expected = format!("bad.jsonl:1: {expected}");
        assert!(
            got.starts_with(&expected),
            "{text}\n  got:      {got}\n  expected: {expected}…"
        );
    }
}

#[test]
fn a_non_genai_span_is_skipped_without_checking_its_times() {
    let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8ee239c7f3a1d0e4c2b1a09f8e7d6c","spanId":"a1b2c3d4e5f60718","name":"GET /"}]}]}]}"#;
    let rows: Vec<_> = LogReader::from_bytes("x.jsonl", line.as_bytes().to_vec())
        .unwrap()
        .collect();
    assert!(rows.is_empty());
}

#[test]
fn the_first_error_ends_the_stream() {
    let text = "{\"status\":\"success\",\"startTime\":1,\"endTime\":2}\n{bad\n{\"status\":\"success\",\"startTime\":1,\"endTime\":2}\n";
    let items: Vec<_> = LogReader::from_bytes("x.jsonl", text.as_bytes().to_vec())
        .unwrap()
        .collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok() && items[1].is_err());
}

#[test]
fn errors_classify_by_type() {
    for (t, s) in [
        ("429", Status::RateLimited),
        ("RateLimitError", Status::RateLimited),
        ("rate_limit_exceeded", Status::RateLimited),
        ("Timeout", Status::Timeout),
        ("408", Status::Timeout),
        ("DEADLINE_EXCEEDED", Status::Timeout),
        ("500", Status::Error),
        ("InternalServerError", Status::Error),
    ] {
        assert_eq!(Status::of_error(t), s, "{t}");
    }
}

#[test]
fn litellm_lines_read_back_as_written() {
    let rows = all(LITELLM);
    for r in &rows {
        let line = litellm_line(r);
        let back: Vec<CallRecord> = LogReader::from_bytes("x.jsonl", line.into_bytes())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut expected = r.clone();
        expected.tenant = r.tenant.clone();
        // The writer keeps what the reader maps; the key alias becomes the
        // tenant only where there was no team.
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!((b.start, b.end, b.first_token), (r.start, r.end, r.first_token));
        assert_eq!(
            (b.input_tokens, b.output_tokens, b.status),
            (r.input_tokens, r.output_tokens, r.status)
        );
        assert_eq!(
            (&b.endpoint, &b.tenant, &b.workflow, &b.task),
            (&r.endpoint, &r.tenant, &r.workflow, &r.task)
        );
        assert_eq!((&b.call, b.cost), (&r.call, r.cost));
    }
}
