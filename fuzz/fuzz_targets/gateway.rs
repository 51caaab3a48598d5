//! The gateway's parsing of outside bytes, without a socket: a client's
//! chat request (its `x-slaplan-*` headers and JSON body, through
//! `gateway::request::chat_input`, the function the handler calls once
//! it knows the tenant), an upstream's streamed answer cut at arbitrary
//! points (server-sent-event framing, well-formedness, usage) and an
//! upstream's whole answer (usage, token estimates).
//!
//! The first byte picks which. A request is header lines (`name: value`)
//! then a blank line then the body; headers HTTP itself would refuse are
//! left out, as hyper refuses them before the handler runs. The tenant is
//! one of `scenarios/serve.toml`'s. Properties: a read request names a
//! workflow of its tenant and at least one input token, a refusal is a 400
//! or a 404 with a message; a stream's events and leftover are its bytes,
//! in order.
#![no_main]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use slaplan::gateway::{request, wire};
use slaplan::policy::EndpointId;
use slaplan::scenario::Scenario;

const SCENARIO: &str = include_str!("../../scenarios/serve.toml");

fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| slaplan::scenario::parse(SCENARIO, std::path::Path::new("serve.toml")).expect("fixture"))
}

fn chat(pick: u8, data: &[u8]) {
    let s = scenario();
    let tenant = &s.tenants[usize::from(pick) % s.tenants.len()];
    let chain: Vec<(EndpointId, String)> = tenant
        .chain
        .iter()
        .enumerate()
        .map(|(i, c)| (EndpointId(i as u32), c.endpoint.clone()))
        .collect();
    let expected: Vec<u32> = (0..tenant.workflows.len() as u32).map(|i| 100 + i).collect();
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&data[..0], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    match request::chat_input(tenant, &chain, &expected, &headers, body) {
        Ok(input) => {
            assert!(input.workflow < tenant.workflows.len());
            assert!(input.input_tokens >= 1);
            assert!(
                input
                    .session
                    .as_ref()
                    .is_none_or(|v| v.len() <= request::MAX_SESSION_NAME)
            );
            assert!(input.body.is_object());
        }
        Err(refused) => {
            assert!(matches!(
                refused.status,
                StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
            ));
            assert!(!refused.message.is_empty());
        }
    }
}

fn stream(pick: u8, data: &[u8]) {
    let cut = usize::from(pick / 3) + 1;
    let mut splitter = wire::SseSplitter::default();
    let mut seen = Vec::new();
    for chunk in data.chunks(cut) {
        let Ok(events) = splitter.push(chunk) else {
            return;
        };
        for event in events {
            let _ = wire::event_well_formed(&event);
            if let Some(v) = wire::event_json(&event) {
                let _ = wire::usage(&v);
            }
            seen.extend_from_slice(&event);
        }
    }
    if let Some(rest) = splitter.rest() {
        let _ = wire::event_well_formed(&rest);
        seen.extend_from_slice(&rest);
    }
    assert_eq!(seen, data, "the events and the leftover are the stream's bytes");
}

fn answer(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = wire::usage(&v);
    let _ = wire::requested_output_tokens(&v);
    assert!(wire::estimate_prompt_tokens(v.get("messages").unwrap_or(&Value::Null)) >= 1);
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    match pick % 3 {
        0 => chat(pick / 3, body),
        1 => stream(pick, body),
        _ => answer(body),
    }
});
