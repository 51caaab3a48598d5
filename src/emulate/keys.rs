//! The attempt numbers of keyed requests: how many requests with a call's
//! draw key (`x-slaplan-draw-key`) the emulator has seen, so that attempt
//! `n` of a call draws what the simulator's attempt `n` of the same call
//! draws (see [`crate::model::AttemptDraws::keyed`]).
//!
//! Memory is bounded: keys live in two generations of at most
//! [`GENERATION`] keys each; when the current one fills, the older is
//! forgotten. A call's attempts come within seconds of each other, so only
//! a call whose retry arrives after `GENERATION` to `2 × GENERATION` other
//! calls' first requests is renumbered from 0.

use std::collections::HashMap;

/// Keys per generation.
pub const GENERATION: usize = 100_000;

/// Requests seen per draw key, in two generations.
#[derive(Debug, Default)]
pub struct AttemptCounts {
    current: HashMap<u64, u32>,
    previous: HashMap<u64, u32>,
}

impl AttemptCounts {
    /// The attempt number of a new request with `key` (0 for the first),
    /// counting it.
    pub fn next(&mut self, key: u64) -> u32 {
        let seen = match self.current.get(&key) {
            Some(&n) => n,
            None => self.previous.remove(&key).unwrap_or(0),
        };
        if !self.current.contains_key(&key) && self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, seen.saturating_add(1));
        seen
    }

    /// Keys remembered (at most `2 × GENERATION`).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_per_key_and_memory_stays_bounded() {
        let mut c = AttemptCounts::default();
        assert_eq!((c.next(7), c.next(7), c.next(8), c.next(7)), (0, 1, 0, 2));
        for k in 100..100 + 3 * GENERATION as u64 {
            assert_eq!(c.next(k), 0);
            assert!(c.remembered() <= 2 * GENERATION);
        }
        // Key 7 was forgotten long ago; a recent key is still counted.
        assert_eq!(c.next(7), 0);
        let recent = 100 + 3 * GENERATION as u64 - 1;
        assert_eq!(c.next(recent), 1);
    }
}
