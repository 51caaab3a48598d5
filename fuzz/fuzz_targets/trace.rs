//! The trace readers: generic CSV and JSONL, Azure, Mooncake, the gateway's
//! request log. The first byte picks the format; every record is read
//! until the first error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::model::{TraceFormat, TraceReader};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (name, format) = match pick % 4 {
        0 => ("fuzz.csv", TraceFormat::Generic),
        1 => ("fuzz.csv", TraceFormat::Azure),
        2 => ("fuzz.jsonl", TraceFormat::Mooncake),
        _ => ("fuzz.jsonl", TraceFormat::SlaplanLog),
    };
    let Ok(reader) = TraceReader::from_bytes(name, body.to_vec(), format) else {
        return;
    };
    for record in reader {
        if record.is_err() {
            break;
        }
    }
});
