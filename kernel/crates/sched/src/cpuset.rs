//! [`CpuSet`]: a process's affinity, one bit per core (up to 64 cores).
//!
//! What: the set of cores a process may be queued on or run on. Every placement path
//! in this crate (spawn, wake-up, requeue, stealing, emigration, immigration,
//! compaction) checks it, so a process is never put outside its set.
//!
//! BEAM only knows "bound to one run queue" (`spawn_opt {scheduler, N}`,
//! `process_flag(scheduler, N)`) or "unbound". A set generalises both: a
//! single-core set is exactly BEAM's bound process (never stolen, never migrated);
//! any larger set may move, but only inside the set.

use crate::ids::{CoreId, MAX_CORES};
use core::fmt;

/// A set of cores as a 64-bit mask (bit *n* = core *n*).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CpuSet(u64);

impl CpuSet {
    /// No core at all (not a valid affinity).
    pub const EMPTY: CpuSet = CpuSet(0);
    /// Every core that can exist.
    pub const ALL: CpuSet = CpuSet(u64::MAX);

    /// The set with mask `bits`.
    pub const fn from_bits(bits: u64) -> Self {
        CpuSet(bits)
    }
    /// The mask.
    pub const fn bits(self) -> u64 {
        self.0
    }
    /// Cores `0..n`.
    pub const fn first(n: usize) -> Self {
        if n >= MAX_CORES {
            CpuSet(u64::MAX)
        } else {
            CpuSet((1u64 << n) - 1)
        }
    }
    /// Just `core`: a bound process.
    pub const fn single(core: CoreId) -> Self {
        CpuSet(1u64 << core.index())
    }
    /// Whether `core` is in the set.
    pub const fn contains(self, core: CoreId) -> bool {
        self.0 & (1u64 << core.index()) != 0
    }
    /// Adds `core`.
    pub fn insert(&mut self, core: CoreId) {
        self.0 |= 1u64 << core.index();
    }
    /// Removes `core`.
    pub fn remove(&mut self, core: CoreId) {
        self.0 &= !(1u64 << core.index());
    }
    /// Whether no core is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Number of cores in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// A single-core set: the process is bound and is never stolen or migrated.
    pub const fn is_bound(self) -> bool {
        self.0.count_ones() == 1
    }
    /// Cores in both sets.
    pub const fn and(self, other: CpuSet) -> CpuSet {
        CpuSet(self.0 & other.0)
    }
    /// Cores in either set.
    pub const fn or(self, other: CpuSet) -> CpuSet {
        CpuSet(self.0 | other.0)
    }
    /// Whether the sets share a core.
    pub const fn intersects(self, other: CpuSet) -> bool {
        self.0 & other.0 != 0
    }
    /// The lowest-numbered core in the set.
    pub const fn lowest(self) -> Option<CoreId> {
        if self.0 == 0 {
            None
        } else {
            Some(CoreId::new(self.0.trailing_zeros() as usize))
        }
    }
    /// The cores in ascending order.
    pub fn iter(self) -> impl Iterator<Item = CoreId> {
        let mut bits = self.0;
        core::iter::from_fn(move || {
            if bits == 0 {
                None
            } else {
                let ix = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(CoreId::new(ix))
            }
        })
    }
}

impl fmt::Debug for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CpuSet({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_set_operations() {
        let mut s = CpuSet::EMPTY;
        assert!(s.is_empty());
        s.insert(CoreId::new(3));
        s.insert(CoreId::new(63));
        assert!(s.contains(CoreId::new(3)) && s.contains(CoreId::new(63)));
        assert!(!s.contains(CoreId::new(0)));
        assert_eq!(s.len(), 2);
        assert!(!s.is_bound());
        assert_eq!(s.iter().map(CoreId::index).collect::<std::vec::Vec<_>>(), [3, 63]);
        s.remove(CoreId::new(63));
        assert!(s.is_bound());
        assert_eq!(s.lowest(), Some(CoreId::new(3)));
        assert_eq!(CpuSet::first(4).bits(), 0b1111);
        assert_eq!(CpuSet::first(64), CpuSet::ALL);
        assert!(CpuSet::first(4).intersects(CpuSet::single(CoreId::new(2))));
    }
}
