//! The value syntaxes on their own: durations ("800ms", "2h", "30d"),
//! dates and times, offsets into the simulated period, shard specs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::plan::shard::ShardSpec;
use slaplan::scenario::{parse_datetime, parse_offset};
use slaplan::time::Span;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Span::parse(text);
    let start = parse_datetime(text);
    let base = start.unwrap_or_default();
    let _ = parse_offset(text, base);
    let _ = ShardSpec::parse(text);
});
