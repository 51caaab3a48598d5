//! A table keyed by a dense, increasing id (call or attempt ids), whose
//! memory is bounded by the oldest entry still live, not by the total count.

/// Ids live at `id % capacity` in a ring whose capacity is a power of two,
/// so finding one is a mask, with none of a deque's head arithmetic; every
/// slot outside `[base, end)` is vacant.
pub(super) struct IdWindow<T> {
    /// The oldest id that may be live (every id below it is gone).
    base: u64,
    /// One past the newest id inserted.
    end: u64,
    /// `capacity` slots (0 or a power of two), at least `end - base`.
    slots: Vec<Option<T>>,
}

impl<T: Copy> IdWindow<T> {
    pub(super) fn new() -> Self {
        IdWindow {
            base: 0,
            end: 0,
            slots: Vec::new(),
        }
    }

    fn slot(&self, id: u64) -> usize {
        (id & (self.slots.len() as u64 - 1)) as usize
    }

    /// Whether `id` is in the window (then its slot is its own).
    fn holds(&self, id: u64) -> bool {
        self.base <= id && id < self.end
    }

    pub(super) fn insert(&mut self, id: u64, value: T) {
        if id < self.base {
            return;
        }
        if id - self.base >= self.slots.len() as u64 {
            self.grow(id - self.base + 1);
        }
        self.end = self.end.max(id + 1);
        let i = self.slot(id);
        self.slots[i] = Some(value);
    }

    /// Moves the window to a ring of at least `span` slots.
    #[cold]
    fn grow(&mut self, span: u64) {
        let capacity = span.next_power_of_two().max(16) as usize;
        let old = std::mem::replace(&mut self.slots, vec![None; capacity]);
        // Empty before the first insert (and then no id is in the window).
        let old_mask = (old.len() as u64).wrapping_sub(1);
        for id in self.base..self.end {
            let value = old[(id & old_mask) as usize];
            let i = self.slot(id);
            self.slots[i] = value;
        }
    }

    /// The entry of `id`, in place (entries are large: copying one out is
    /// most of a lookup).
    pub(super) fn get(&self, id: u64) -> Option<&T> {
        if !self.holds(id) {
            return None;
        }
        self.slots[self.slot(id)].as_ref()
    }

    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        if !self.holds(id) {
            return None;
        }
        let i = self.slot(id);
        self.slots[i].as_mut()
    }

    pub(super) fn remove(&mut self, id: u64) -> Option<T> {
        if !self.holds(id) {
            return None;
        }
        let i = self.slot(id);
        let value = self.slots[i].take();
        self.trim();
        value
    }

    /// Removes the entry of `id`, if any, without copying it out (read it
    /// with [`IdWindow::get`] first).
    pub(super) fn discard(&mut self, id: u64) {
        if self.holds(id) {
            let i = self.slot(id);
            self.slots[i] = None;
            self.trim();
        }
    }

    /// Moves `base` past the vacant slots at the front.
    fn trim(&mut self) {
        while self.base < self.end && self.slots[self.slot(self.base)].is_none() {
            self.base += 1;
        }
    }

    /// The span of ids from the oldest live one to the newest.
    pub(super) fn live(&self) -> usize {
        (self.end - self.base) as usize
    }

    /// Every live entry with its id, in id order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        (self.base..self.end).filter_map(|id| self.slots[self.slot(id)].map(|v| (id, v)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Random inserts of increasing ids, lookups, removals and discards
    /// answer as a plain map does, and the window holds no more than the
    /// span from the oldest live id to the newest.
    #[test]
    fn answers_as_a_map_does() {
        let mut rng = crate::engine::stream(1, 0, "test");
        let mut draw = |n: u64| rand::RngExt::random_range(&mut rng, 0..n);
        let mut window = IdWindow::new();
        let mut map = BTreeMap::new();
        let mut next = 0u64;
        for step in 0..20_000u64 {
            match draw(4) {
                0 => {
                    window.insert(next, step);
                    map.insert(next, step);
                    next += 1;
                }
                op => {
                    let id = draw(next + 2);
                    assert_eq!(window.get(id), map.get(&id), "get {id}");
                    match op {
                        1 => assert_eq!(window.remove(id), map.remove(&id), "remove {id}"),
                        2 => {
                            window.discard(id);
                            map.remove(&id);
                        }
                        _ => {
                            if let (Some(w), Some(m)) = (window.get_mut(id), map.get_mut(&id)) {
                                *w += 1;
                                *m += 1;
                            }
                        }
                    }
                }
            }
            let oldest = map.keys().next().copied().unwrap_or(next);
            assert!(window.live() as u64 <= next - oldest);
        }
        let entries: Vec<(u64, u64)> = window.entries().collect();
        assert_eq!(entries, map.into_iter().collect::<Vec<_>>());
    }
}
