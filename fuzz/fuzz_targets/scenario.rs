//! The scenario file: TOML, every value syntax (durations, dates, offsets,
//! distributions, clause fields), validation. What `scenario::parse`
//! accepts must then resolve without a panic: clauses, the router
//! configuration, and the windows every clause is judged over.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::sla::{Clause, Layout};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = slaplan::scenario::parse(text, std::path::Path::new("fuzz.toml")) else {
        return;
    };
    let clauses = Clause::all(&scenario);
    let _ = scenario.router_config();
    for c in &clauses {
        let _ = Layout::new(c.period, scenario.start(), scenario.simulation.duration);
        let _ = c.describe(&scenario);
    }
});
