//! The one-line clause grammar of `check --clause` and `frontier --clause`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = slaplan::plan::grammar::parse_clause(text);
    }
});
