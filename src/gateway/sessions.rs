//! Which endpoint each client session (`x-slaplan-session`) was last sent
//! to, so that its next call carries [`CallRequest::affinity`] as the
//! simulator's tasks do (the router's session affinity rule decides what
//! to make of it). The gateway only remembers; bounded in memory: past
//! [`SessionMap::capacity`] sessions, the least recently used is forgotten
//! (its next call starts at the top of the chain, as a new session would).
//!
//! [`CallRequest::affinity`]: crate::policy::CallRequest::affinity

use std::collections::{HashMap, VecDeque};

use crate::policy::EndpointId;

/// A session: its tenant and the client's name for it (tenants never share
/// a session, whatever they call it).
type Key = (u32, Box<str>);

/// The endpoint of each recent session, least recently used forgotten first.
pub struct SessionMap {
    /// The session's endpoint and the stamp of its last use.
    map: HashMap<Key, (EndpointId, u64)>,
    /// Uses in order (stale entries are skipped, and compacted away).
    order: VecDeque<(Key, u64)>,
    capacity: usize,
    stamp: u64,
}

impl SessionMap {
    /// A map that remembers at most `capacity` sessions.
    pub fn new(capacity: usize) -> SessionMap {
        SessionMap {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            stamp: 0,
        }
    }

    /// Sessions remembered now.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The endpoint `session` of `tenant` was last sent to, if remembered.
    pub fn endpoint(&self, tenant: u32, session: &str) -> Option<EndpointId> {
        self.map.get(&(tenant, Box::from(session))).map(|&(e, _)| e)
    }

    /// `session` of `tenant` was just sent to `endpoint`.
    pub fn note(&mut self, tenant: u32, session: &str, endpoint: EndpointId) {
        self.stamp += 1;
        let key: Key = (tenant, Box::from(session));
        self.map.insert(key.clone(), (endpoint, self.stamp));
        self.order.push_back((key, self.stamp));
        while self.map.len() > self.capacity {
            let Some((old, stamp)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|&(_, s)| s == stamp) {
                self.map.remove(&old);
            }
        }
        // Sessions used again leave stale entries behind: drop them before
        // they outnumber the live ones.
        if self.order.len() > 2 * self.capacity {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|&(_, live)| live == *s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_remembered_per_tenant() {
        let mut m = SessionMap::new(10);
        m.note(0, "s", EndpointId(1));
        assert_eq!(m.endpoint(0, "s"), Some(EndpointId(1)));
        assert_eq!(m.endpoint(1, "s"), None);
        m.note(0, "s", EndpointId(2));
        assert_eq!(m.endpoint(0, "s"), Some(EndpointId(2)));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn the_least_recently_used_session_is_forgotten_first() {
        let mut m = SessionMap::new(2);
        m.note(0, "a", EndpointId(0));
        m.note(0, "b", EndpointId(1));
        m.note(0, "a", EndpointId(0));
        m.note(0, "c", EndpointId(1));
        assert_eq!(m.endpoint(0, "b"), None);
        assert_eq!(m.endpoint(0, "a"), Some(EndpointId(0)));
        assert_eq!(m.endpoint(0, "c"), Some(EndpointId(1)));
    }

    #[test]
    fn memory_stays_bounded_by_the_capacity() {
        let mut m = SessionMap::new(100);
        for i in 0..100_000u32 {
            // Half the uses touch a few hot sessions again.
            let name = if i % 2 == 0 {
                format!("hot{}", i % 7)
            } else {
                format!("s{i}")
            };
            m.note(i % 3, &name, EndpointId(i % 4));
            assert!(m.len() <= 100);
            assert!(m.order.len() <= 2 * 100 + 1);
        }
    }
}
