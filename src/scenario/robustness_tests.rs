//! No input makes [`super::parse`] panic: every prefix of the quickstart,
//! every line removed, and many seeded random edits of it. (A hand-rolled
//! generator: proptest is not among the dev-dependencies.)

use std::path::Path;

const QUICKSTART: &str = include_str!("../../scenarios/quickstart.toml");

/// Splices that stress the parser and the checks: broken syntax, wrong
/// types, extreme and non-finite numbers, odd Unicode.
const SPLICES: &[&str] = &[
    "",
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\n",
    "#",
    "\\",
    "-",
    "0",
    "-1",
    "1e999",
    "nan",
    "-inf",
    "99999999999999999999",
    "\"0s\"",
    "\"-5ms\"",
    "\"1.5.3s\"",
    "\"99999999999999999999d\"",
    "true",
    "1979-05-27T07:32:00Z",
    "ü",
    "\u{feff}",
    "é\"",
    "[[tenants]]\n",
    "[[endpoints]]\nname = \"x\"\n",
    "x = 1\n",
    "tier = 255",
];

/// xorshift64*: small, deterministic, good enough to pick edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below.max(1)
    }
}

/// Parses `source`, checking the invariants of a rejection; panics (the
/// test's failure) only if parsing itself misbehaves.
fn parse_quietly(source: &str) {
    let lines = source.split('\n').count();
    if let Err(e) = super::parse(source, Path::new("fuzz.toml")) {
        assert!(!e.problems.is_empty(), "an error with no problem for {source:?}");
        for p in &e.problems {
            assert!(!p.message.is_empty(), "{source:?}");
            if let Some(line) = p.line {
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {source:?}");
            }
        }
        let _ = e.to_string();
    }
}

/// The char boundary at or before `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[test]
fn every_prefix_parses_without_panic() {
    for end in (0..=QUICKSTART.len()).filter(|i| QUICKSTART.is_char_boundary(*i)) {
        parse_quietly(&QUICKSTART[..end]);
    }
}

#[test]
fn removing_any_line_parses_without_panic() {
    let lines: Vec<&str> = QUICKSTART.lines().collect();
    for skip in 0..lines.len() {
        let text: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        parse_quietly(&text.join("\n"));
    }
}

#[test]
fn random_edits_parse_without_panic() {
    for seed in 1..=800u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut text = QUICKSTART.to_string();
        for _ in 0..1 + rng.next(4) {
            let at = floor_boundary(&text, rng.next(text.len() + 1));
            let cut = floor_boundary(&text, (at + rng.next(8)).min(text.len()));
            let splice = SPLICES[rng.next(SPLICES.len())];
            text.replace_range(at..cut, splice);
        }
        parse_quietly(&text);
    }
}
