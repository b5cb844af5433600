//! The UDP ports peer connections may bind: one per leg, from a configured range.

use std::collections::BTreeSet;

/// Which ports of `min..=max` are taken, handing out free ones round-robin so a port just
/// released is the last to be reused (stray packets of the old leg find nothing there).
#[derive(Debug)]
pub struct PortPool {
    min: u16,
    max: u16,
    in_use: BTreeSet<u16>,
    cursor: u16,
}

impl PortPool {
    /// A pool of `min..=max`; `min <= max`.
    pub fn new(min: u16, max: u16) -> Self {
        PortPool {
            min,
            max,
            in_use: BTreeSet::new(),
            cursor: min,
        }
    }

    /// Takes the next free port, or `None` if all are taken.
    pub fn take(&mut self) -> Option<u16> {
        let span = u32::from(self.max - self.min) + 1;
        for step in 0..span {
            let offset = (u32::from(self.cursor - self.min) + step) % span;
            let port = self.min + offset as u16;
            if self.in_use.insert(port) {
                self.cursor = if port == self.max { self.min } else { port + 1 };
                return Some(port);
            }
        }
        None
    }

    /// Gives a port back.
    pub fn release(&mut self, port: u16) {
        self.in_use.remove(&port);
    }

    /// Ports taken now.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_round_robin_and_reuses_released_ports() {
        let mut pool = PortPool::new(50_000, 50_002);
        assert_eq!(pool.take(), Some(50_000));
        assert_eq!(pool.take(), Some(50_001));
        pool.release(50_000);
        assert_eq!(pool.take(), Some(50_002));
        assert_eq!(pool.take(), Some(50_000));
        assert_eq!(pool.take(), None);
        assert_eq!(pool.in_use(), 3);
        pool.release(50_001);
        assert_eq!(pool.take(), Some(50_001));
        let mut single = PortPool::new(u16::MAX, u16::MAX);
        assert_eq!(single.take(), Some(u16::MAX));
        assert_eq!(single.take(), None);
    }
}
