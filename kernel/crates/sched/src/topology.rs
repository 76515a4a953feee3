//! The machine as the scheduler sees it: cores, their P/E class, capacity and cluster.
//!
//! What: a [`Topology`] built once from the device tree (the kernel's `devtree`
//! crate reads `/cpus`, `cpu-map` clusters and `capacity-dmips-mhz` or the Apple
//! compatible strings) and the orders derived from it: the victim order for work
//! stealing ([`Topology::steal_order`]) and the order in which run queues stay active
//! under compaction ([`Topology::compaction_order`]).
//!
//! BEAM has no P/E notion; its stealing order is "inactive queues round-robin, then
//! active queues from ix+1 upwards" (`try_steal_task`), and compaction keeps queues
//! `0..active`. Departures and why:
//! * Victims in the thief's own cluster come first (they share a cache level), then the
//!   rest; the first victim of each group rotates on every attempt so that several
//!   idle cores do not all hit the same victim.
//! * Compaction keeps Performance cores active before Efficiency cores (in index
//!   order within a class): a lightly loaded system runs on the cores that finish work
//!   soonest, and an idle P core is the first to take work (see `scheduler`).
//! * Each (core, priority) has a class weight used by balancing: max/high have weight 0
//!   on E cores and low has weight 0 on P cores whenever the machine has both
//!   classes, so balancing at those priorities works within the preferred class only.
//!   The class is a preference, not a wall: placement spills work to the other class
//!   when the preferred one is saturated (see `scheduler`).

use crate::cpuset::CpuSet;
use crate::ids::{CoreId, Priority, MAX_CORES};
use alloc::vec::Vec;

/// Capacity of the fastest core class (Linux `SCHED_CAPACITY_SCALE`).
pub const CAPACITY_SCALE: u32 = 1024;

/// Performance or efficiency core: the one definition, which the device-tree crate
/// (`zbeam_devtree::CoreClass`, derived from the tree) re-exports.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum CoreClass {
    /// A big core (e.g. `apple,firestorm`, or the largest `capacity-dmips-mhz`); all
    /// cores of a homogeneous machine.
    #[default]
    Performance,
    /// A little core (e.g. `apple,icestorm`).
    Efficiency,
}

/// One core.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CoreInfo {
    /// P or E.
    pub class: CoreClass,
    /// Relative speed, [`CAPACITY_SCALE`] for the fastest class.
    pub capacity: u32,
    /// Cluster number from `cpu-map` (cores of one cluster share a cache).
    pub cluster: u16,
}

impl CoreInfo {
    /// A performance core of full capacity in `cluster`.
    pub const fn performance(cluster: u16) -> Self {
        CoreInfo { class: CoreClass::Performance, capacity: CAPACITY_SCALE, cluster }
    }
    /// An efficiency core of `capacity` in `cluster`.
    pub const fn efficiency(capacity: u32, cluster: u16) -> Self {
        CoreInfo { class: CoreClass::Efficiency, capacity, cluster }
    }
}

/// Why a topology was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TopologyError {
    /// No cores given.
    NoCores,
    /// More than [`MAX_CORES`] cores.
    TooManyCores(usize),
    /// A core with capacity 0.
    ZeroCapacity(CoreId),
}

/// The cores of one machine.
#[derive(Clone, Debug)]
pub struct Topology {
    cores: Vec<CoreInfo>,
    perf: CpuSet,
    eff: CpuSet,
    compaction: Vec<CoreId>,
}

impl Topology {
    /// A topology from per-core descriptions, core *i* being `cores[i]`.
    pub fn new(cores: &[CoreInfo]) -> Result<Self, TopologyError> {
        if cores.is_empty() {
            return Err(TopologyError::NoCores);
        }
        if cores.len() > MAX_CORES {
            return Err(TopologyError::TooManyCores(cores.len()));
        }
        let mut perf = CpuSet::EMPTY;
        let mut eff = CpuSet::EMPTY;
        for (i, c) in cores.iter().enumerate() {
            if c.capacity == 0 {
                return Err(TopologyError::ZeroCapacity(CoreId::new(i)));
            }
            match c.class {
                CoreClass::Performance => perf.insert(CoreId::new(i)),
                CoreClass::Efficiency => eff.insert(CoreId::new(i)),
            }
        }
        let compaction = perf.iter().chain(eff.iter()).collect();
        Ok(Topology { cores: cores.to_vec(), perf, eff, compaction })
    }

    /// `n` identical performance cores in one cluster.
    pub fn uniform(n: usize) -> Self {
        let cores: Vec<CoreInfo> = (0..n).map(|_| CoreInfo::performance(0)).collect();
        Topology::new(&cores).unwrap_or_else(|e| panic!("uniform topology of {n} cores: {e:?}"))
    }

    /// `p` performance cores in cluster 0, then `e` efficiency cores of half a
    /// performance core's capacity (512) in cluster 1: the 2P+2E shape of the
    /// heterogeneous test trees.
    pub fn performance_efficiency(p: usize, e: usize) -> Self {
        let mut cores: Vec<CoreInfo> = (0..p).map(|_| CoreInfo::performance(0)).collect();
        cores.extend((0..e).map(|_| CoreInfo::efficiency(512, 1)));
        Topology::new(&cores).unwrap_or_else(|err| panic!("{p} P + {e} E cores: {err:?}"))
    }

    /// Number of cores.
    pub fn len(&self) -> usize {
        self.cores.len()
    }
    /// Always false: a topology has at least one core.
    pub fn is_empty(&self) -> bool {
        self.cores.is_empty()
    }
    /// Description of `core`.
    pub fn core(&self, core: CoreId) -> &CoreInfo {
        &self.cores[core.index()]
    }
    /// All cores.
    pub fn all(&self) -> CpuSet {
        CpuSet::first(self.cores.len())
    }
    /// The performance cores.
    pub fn performance(&self) -> CpuSet {
        self.perf
    }
    /// The efficiency cores.
    pub fn efficiency(&self) -> CpuSet {
        self.eff
    }
    /// Whether `core` is a performance core.
    pub fn is_performance(&self, core: CoreId) -> bool {
        self.perf.contains(core)
    }
    /// Whether the machine has cores of both classes.
    pub fn is_heterogeneous(&self) -> bool {
        !self.perf.is_empty() && !self.eff.is_empty()
    }

    /// Run queues in the order they stay active when compaction shrinks the number of
    /// active queues: performance cores first, then efficiency cores, each by index.
    pub fn compaction_order(&self) -> &[CoreId] {
        &self.compaction
    }

    /// Victims for an idle `thief`: the other cores of its cluster, then all other
    /// cores; each group starts `rotation` places after the thief and wraps, so the
    /// first victim changes from one attempt to the next. The thief is never listed.
    pub fn steal_order(&self, thief: CoreId, rotation: usize) -> StealOrder {
        let n = self.cores.len();
        let cluster = self.cores[thief.index()].cluster;
        let mut order = StealOrder { buf: [0; MAX_CORES], len: 0, pos: 0 };
        for same in [true, false] {
            let members: Vec<usize> = (1..n)
                .map(|k| (thief.index() + k) % n)
                .filter(|&i| (self.cores[i].cluster == cluster) == same)
                .collect();
            if members.is_empty() {
                continue;
            }
            let start = rotation % members.len();
            for k in 0..members.len() {
                order.buf[order.len as usize] = members[(start + k) % members.len()] as u8;
                order.len += 1;
            }
        }
        order
    }

    /// Balancing weight in percent of `prio` work on `core` (see the module doc).
    pub fn class_weight(&self, core: CoreId, prio: Priority) -> u32 {
        if !self.is_heterogeneous() {
            return 100;
        }
        let p = self.is_performance(core);
        match prio {
            Priority::Max | Priority::High if !p => 0,
            Priority::Low if p => 0,
            _ => 100,
        }
    }
}

/// Iterator over steal victims (see [`Topology::steal_order`]).
#[derive(Clone, Debug)]
pub struct StealOrder {
    buf: [u8; MAX_CORES],
    len: u8,
    pos: u8,
}

impl Iterator for StealOrder {
    type Item = CoreId;
    fn next(&mut self) -> Option<CoreId> {
        if self.pos < self.len {
            let c = CoreId::new(self.buf[self.pos as usize] as usize);
            self.pos += 1;
            Some(c)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn two_clusters() -> Topology {
        // Cores 0,1 P in cluster 0; 2,3 E in cluster 1.
        Topology::performance_efficiency(2, 2)
    }

    fn order(t: &Topology, thief: usize, rot: usize) -> Vec<usize> {
        t.steal_order(CoreId::new(thief), rot).map(CoreId::index).collect()
    }

    #[test]
    fn same_cluster_first_then_the_rest_rotating() {
        let t = two_clusters();
        assert_eq!(order(&t, 0, 0), vec![1, 2, 3]);
        assert_eq!(order(&t, 2, 0), vec![3, 0, 1]);
        assert_eq!(order(&t, 2, 1), vec![3, 1, 0]);
        assert_eq!(order(&t, 1, 1), vec![0, 3, 2]);
        let u = Topology::uniform(5);
        assert_eq!(order(&u, 3, 0), vec![4, 0, 1, 2]);
        assert_eq!(order(&u, 3, 2), vec![1, 2, 4, 0]);
        assert_eq!(order(&Topology::uniform(1), 0, 7), Vec::<usize>::new());
    }

    #[test]
    fn classes_weights_and_compaction_order() {
        let t = Topology::new(&[
            CoreInfo::efficiency(400, 0),
            CoreInfo::performance(1),
            CoreInfo::efficiency(400, 0),
            CoreInfo::performance(1),
        ])
        .unwrap();
        assert_eq!(t.compaction_order().iter().map(|c| c.index()).collect::<Vec<_>>(), vec![1, 3, 0, 2]);
        assert_eq!(t.class_weight(CoreId::new(0), Priority::High), 0);
        assert_eq!(t.class_weight(CoreId::new(1), Priority::High), 100);
        assert_eq!(t.class_weight(CoreId::new(1), Priority::Low), 0);
        assert_eq!(t.class_weight(CoreId::new(0), Priority::Normal), 100);
        assert_eq!(Topology::uniform(2).class_weight(CoreId::new(0), Priority::Low), 100);
        assert_eq!(Topology::new(&[]).unwrap_err(), TopologyError::NoCores);
        assert!(matches!(Topology::new(&[CoreInfo::efficiency(0, 0)]), Err(TopologyError::ZeroCapacity(_))));
    }
}
