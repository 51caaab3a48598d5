//! Secrets (API keys) that must never reach a log, a metric or an error:
//! [`Secret`] prints as `[redacted]`, and [`Scrubber`] removes every known
//! key from text the gateway passes on from an upstream.

use std::fmt;

/// An API key read from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    pub fn new(key: String) -> Secret {
        Secret(key)
    }

    /// The key itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Replaces every occurrence of the known keys in text passed on from an
/// upstream (an error body that echoes the key it was sent, say).
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    keys: Vec<Secret>,
}

impl Scrubber {
    /// A scrubber for `keys` (empty ones are ignored).
    pub fn new(keys: impl IntoIterator<Item = Secret>) -> Scrubber {
        let mut keys: Vec<Secret> = keys.into_iter().filter(|k| !k.0.is_empty()).collect();
        // Longest first, so a key containing another is removed whole.
        keys.sort_by_key(|k| std::cmp::Reverse(k.0.len()));
        Scrubber { keys }
    }

    /// `bytes` with every known key replaced by `[redacted]`.
    pub fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for k in &self.keys {
            let needle = k.0.as_bytes();
            let mut i = 0;
            while i + needle.len() <= out.len() {
                if &out[i..i + needle.len()] == needle {
                    out.splice(i..i + needle.len(), b"[redacted]".iter().copied());
                    i += b"[redacted]".len();
                } else {
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_removed_and_never_printed() {
        let s = Scrubber::new([Secret::new("sk-abc".into()), Secret::new("sk-abcdef".into())]);
        assert_eq!(
            s.scrub(b"bad key sk-abcdef and sk-abc."),
            b"bad key [redacted] and [redacted].".to_vec()
        );
        assert_eq!(
            format!("{:?} {}", Secret::new("k".into()), Secret::new("k".into())),
            "[redacted] [redacted]"
        );
    }
}
