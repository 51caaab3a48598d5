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

    pub(super) fn get(&self, id: u64) -> Option<T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get(idx).copied().flatten()
    }

    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(idx)?.as_mut()
    }

    pub(super) fn remove(&mut self, id: u64) -> Option<T> {
        let idx = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let value = self.slots.get_mut(idx)?.take();
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
        value
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
