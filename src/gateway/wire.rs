//! The OpenAI chat-completions wire format, as far as the gateway and the
//! emulator need it: error bodies, token usage, a rough token count for a
//! prompt, and server-sent-event framing.

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

/// An OpenAI-style error body: `{"error": {"message", "type", "code"}}`.
pub fn error_body(message: &str, kind: &str, code: Option<&str>) -> Bytes {
    let v = json!({ "error": { "message": message, "type": kind, "code": code, "param": Value::Null } });
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// Token counts an upstream reported in `usage`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `prompt_tokens`.
    pub input: u32,
    /// `completion_tokens`.
    pub output: u32,
}

/// The `usage` object of a response or of a stream's usage chunk, if any.
pub fn usage(v: &Value) -> Option<Usage> {
    let u = v.get("usage")?;
    let n = |k: &str| {
        u.get(k)
            .and_then(Value::as_u64)
            .map(|x| u32::try_from(x).unwrap_or(u32::MAX))
    };
    Some(Usage {
        input: n("prompt_tokens")?,
        output: n("completion_tokens").unwrap_or(0),
    })
}

/// A prompt's size in tokens, estimated as one token per four characters
/// of message text (OpenAI's rule of thumb), at least 1; used only where no
/// tokenizer is at hand (the emulator's service time, the router's token
/// budget before the upstream reports `usage`).
pub fn estimate_prompt_tokens(messages: &Value) -> u32 {
    fn chars(v: &Value) -> usize {
        match v {
            Value::String(s) => s.chars().count(),
            Value::Array(items) => items.iter().map(chars).sum(),
            Value::Object(o) => o.get("text").or_else(|| o.get("content")).map_or(0, chars),
            _ => 0,
        }
    }
    let total: usize = messages
        .as_array()
        .map(|m| m.iter().map(|msg| msg.get("content").map_or(0, chars)).sum())
        .unwrap_or(0);
    u32::try_from(total.div_ceil(4)).unwrap_or(u32::MAX).max(1)
}

/// The output tokens a request asks for at most (`max_completion_tokens`,
/// else `max_tokens`), if it says.
pub fn requested_output_tokens(body: &Value) -> Option<u32> {
    body.get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// One server-sent event carrying `data`.
pub fn sse_event(data: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(data.len() + 8);
    b.extend_from_slice(b"data: ");
    b.extend_from_slice(data);
    b.extend_from_slice(b"\n\n");
    b.freeze()
}

/// Splits a byte stream into whole server-sent events (each returned with
/// its terminating blank line), however the bytes were cut in transit.
#[derive(Default)]
pub struct SseSplitter {
    buf: BytesMut,
}

impl SseSplitter {
    /// Adds `chunk` and returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = event_end(&self.buf) {
            out.push(self.buf.split_to(end).freeze());
        }
        out
    }

    /// Whatever is left after the stream ended (an unterminated event).
    pub fn rest(&mut self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }
}

/// The end (exclusive) of the first event in `buf`: after `\n\n` or `\r\n\r\n`.
fn event_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The JSON payload of one event (its `data:` lines joined), unless it is
/// `[DONE]` or not JSON.
pub fn event_json(event: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("data:") {
            data.push_str(rest.trim_start());
        }
    }
    serde_json::from_str(&data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_reassembled_across_arbitrary_cuts() {
        let text = b"data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n";
        for cut in 0..text.len() {
            let mut s = SseSplitter::default();
            let mut got = s.push(&text[..cut]);
            got.extend(s.push(&text[cut..]));
            let joined: Vec<u8> = got.iter().flat_map(|b| b.to_vec()).collect();
            assert_eq!(joined, text.to_vec(), "cut at {cut}");
            assert_eq!(got.len(), 3, "cut at {cut}");
        }
    }

    #[test]
    fn usage_and_prompt_estimate() {
        let v: Value = serde_json::from_str(r#"{"usage":{"prompt_tokens":12,"completion_tokens":3}}"#).unwrap();
        assert_eq!(usage(&v), Some(Usage { input: 12, output: 3 }));
        let m: Value = serde_json::from_str(
            r#"[{"role":"user","content":"abcdefgh"},{"role":"user","content":[{"type":"text","text":"abcd"}]}]"#,
        )
        .unwrap();
        assert_eq!(estimate_prompt_tokens(&m), 3);
    }
}
