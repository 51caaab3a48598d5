//! A table keyed by a dense, increasing id (call or attempt ids), whose
//! memory is bounded by the oldest entry still live, not by the total count.

use std::collections::VecDeque;

pub(super) struct IdWindow<T> {
    base: u64,
    slots: VecDeque<Option<T>>,
}

impl<T: Copy> IdWindow<T> {
    pub(super) fn new() -> Self {
        IdWindow {
            base: 0,
            slots: VecDeque::new(),
        }
    }

    pub(super) fn insert(&mut self, id: u64, value: T) {
        if id < self.base {
            return;
        }
        let idx = (id - self.base) as usize;
        while self.slots.len() <= idx {
            self.slots.push_back(None);
        }
        self.slots[idx] = Some(value);
    }

    /// The entry of `id`, in place (entries are large: copying one out is
    /// most of a lookup).
    pub(super) fn get(&self, id: u64) -> Option<&T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get(idx)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(idx)?.as_mut()
    }

    pub(super) fn remove(&mut self, id: u64) -> Option<T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let value = self.slots.get_mut(idx)?.take();
        self.trim();
        value
    }

    /// Removes the entry of `id`, if any, without copying it out (read it
    /// with [`IdWindow::get`] first).
    pub(super) fn discard(&mut self, id: u64) {
        let Some(idx) = id.checked_sub(self.base).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = None;
            self.trim();
        }
    }

    /// Drops the vacant slots at the front.
    fn trim(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    pub(super) fn live(&self) -> usize {
        self.slots.len()
    }

    /// Every live entry with its id, in id order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (self.base + i as u64, v)))
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
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut draw = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
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
