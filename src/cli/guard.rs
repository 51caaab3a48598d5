//! The overload guard's limit for `run`, `check` and `frontier`: how many
//! calls one replication may have in flight before it stops with exit 2.

use std::num::NonZeroU64;

use slaplan::scenario::Scenario;

/// Memory one call in flight takes in a replication, rounded up: 463 bytes
/// were measured with 4 million calls waiting in the router (BENCHMARKS.md,
/// "Overload guard").
const BYTES_PER_LIVE_CALL: u64 = 512;

/// What is assumed available where `/proc/meminfo` cannot be read.
const FALLBACK_AVAILABLE: u64 = 4 << 30;

/// Sets the scenario's `max_live_calls`: `--max-live-calls` if given, else
/// the scenario's own, else half the memory available now, shared by the
/// `threads` replications running at once.
pub(crate) fn apply(scenario: &mut Scenario, flag: Option<u64>, threads: usize) {
    let derived = || {
        let share = available_memory() / 2 / threads.max(1) as u64;
        (share / BYTES_PER_LIVE_CALL).max(1)
    };
    let limit = flag
        .or(scenario.simulation.max_live_calls.map(NonZeroU64::get))
        .unwrap_or_else(derived);
    scenario.simulation.max_live_calls = NonZeroU64::new(limit.max(1));
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| parse_available(&text))
        .unwrap_or(FALLBACK_AVAILABLE)
}

fn parse_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available_in_bytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   16000000 kB\n";
        assert_eq!(parse_available(text), Some(16_000_000 * 1024));
        assert_eq!(parse_available("MemTotal: 1 kB\n"), None);
    }
}
