//! `fit`'s inputs: production logs (LiteLLM spend logs, OTLP GenAI spans as
//! JSON lines), read to the first bad row, then fitted and written as a
//! scenario, as `slaplan fit` does (the report is left out).
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::fit::Accumulator;
use slaplan::logs::LogReader;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = LogReader::from_bytes("fuzz.jsonl", data.to_vec()) else {
        return;
    };
    let mut fit = Accumulator::new();
    for record in reader {
        match record {
            Ok(r) => fit.add(&r),
            Err(_) => return,
        }
    }
    if let Ok(fitted) = fit.finish() {
        let _ = fitted.scenario_toml(None);
    }
});
