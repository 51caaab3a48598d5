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
    /// Bytes of `buf` known to hold no event end.
    scanned: usize,
}

/// The longest server-sent event accepted from an upstream, in bytes.
pub const MAX_EVENT: usize = 1024 * 1024;

/// An upstream sent an event longer than [`MAX_EVENT`] (or no event end).
#[derive(Debug, PartialEq, Eq)]
pub struct EventTooLong;

impl SseSplitter {
    /// Adds `chunk` and returns the events it completed; an unfinished
    /// event that grows past [`MAX_EVENT`] is an error (the buffer is
    /// bounded whatever the upstream sends).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Bytes>, EventTooLong> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        // An event end may straddle the previous chunk: look 3 bytes back.
        while let Some(end) = event_end(&self.buf[self.scanned.saturating_sub(3)..]) {
            let end = self.scanned.saturating_sub(3) + end;
            out.push(self.buf.split_to(end).freeze());
            self.scanned = 0;
        }
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_EVENT {
            return Err(EventTooLong);
        }
        Ok(out)
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

/// Whether `event` is a well-formed server-sent event of a chat stream:
/// UTF-8, every line a field (`data:`, `event:`, `id:`, `retry:`) or a
/// comment (`:`), and its data a JSON object or `[DONE]` (or none, for a
/// comment-only keep-alive).
pub fn event_well_formed(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else {
        return false;
    };
    let mut data = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("data:") {
            data.get_or_insert(rest.trim_start());
        } else if !["event:", "id:", "retry:"].iter().any(|f| line.starts_with(f)) {
            return false;
        }
    }
    data.is_none_or(|d| d.starts_with('{') || d.trim_end() == "[DONE]")
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
            let mut got = s.push(&text[..cut]).unwrap();
            got.extend(s.push(&text[cut..]).unwrap());
            let joined: Vec<u8> = got.iter().flat_map(|b| b.to_vec()).collect();
            assert_eq!(joined, text.to_vec(), "cut at {cut}");
            assert_eq!(got.len(), 3, "cut at {cut}");
        }
    }

    #[test]
    fn events_are_reassembled_byte_by_byte() {
        let text = b"data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        let mut s = SseSplitter::default();
        let mut got = Vec::new();
        for b in text {
            got.extend(s.push(&[*b]).unwrap());
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got.concat(), text.to_vec());
    }

    #[test]
    fn an_event_without_end_is_refused_past_the_limit() {
        let mut s = SseSplitter::default();
        let chunk = vec![b'a'; 64 * 1024];
        let mut pushed = 0;
        let err = loop {
            match s.push(&chunk) {
                Ok(events) => assert!(events.is_empty()),
                Err(e) => break e,
            }
            pushed += chunk.len();
            assert!(pushed <= MAX_EVENT, "{pushed}");
        };
        assert_eq!(err, EventTooLong);
    }

    #[test]
    fn malformed_events_are_told_apart() {
        for good in [
            &b"data: {\"a\":1}\n\n"[..],
            b"data: [DONE]\n\n",
            b": keep-alive\n\n",
            b"event: x\nid: 3\ndata: {}\r\n\r\n",
        ] {
            assert!(event_well_formed(good), "{}", String::from_utf8_lossy(good));
        }
        for bad in [
            &b"hello\n\n"[..],
            b"data: \xff\xfe\n\n",
            b"data: not json\n\n",
            b"<html>\n\n",
        ] {
            assert!(!event_well_formed(bad), "{}", String::from_utf8_lossy(bad));
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
