//! Identifiers and units: [`Pid`], [`CoreId`], [`Priority`], [`Reductions`].
//!
//! What: small `Copy` newtypes so a process index, a core index and a reduction
//! count can never be mixed up at a call site (DESIGN.md, "Newtypes for ids and units").
//!
//! BEAM: a pid there is a tagged term that also encodes a process-table index; here a
//! [`Pid`] *is* the index into the scheduler's per-process table and the runtime adds
//! any generation or node bits it wants on top. Priorities keep BEAM's numbering
//! (`erl_process.h`: `PRIORITY_MAX` 0, `HIGH` 1, `NORMAL` 2, `LOW` 3), so "lower
//! value = more urgent" and a bit mask's lowest set bit is the most urgent level.

use core::fmt;
use core::ops::{Add, AddAssign};

/// Most cores one scheduler instance supports (one bit each in a [`crate::CpuSet`]):
/// the kernel's one core limit. The device-tree crate keeps at most this many CPUs,
/// and the kernel checks at build time that `linker.ld` reserves a stack for each and
/// `boot.S` searches this many spin-table slots (kernel/build.rs).
pub const MAX_CORES: usize = 64;
const _: () = assert!(MAX_CORES <= u64::BITS as usize, "a CpuSet is one u64");

/// A process id: the index of the process's slot in the scheduler's table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(u32);

impl Pid {
    /// The pid whose table slot is `index`.
    pub const fn new(index: u32) -> Self {
        Pid(index)
    }
    /// The table slot.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
    /// The raw value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// A core (and its run queue: there is exactly one run queue per core).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CoreId(u8);

impl CoreId {
    /// Core number `index`; panics if `index >= MAX_CORES` (a broken caller invariant).
    pub const fn new(index: usize) -> Self {
        assert!(index < MAX_CORES, "core index out of range");
        CoreId(index as u8)
    }
    /// The core number.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for CoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "core{}", self.0)
    }
}

/// BEAM's four process priorities. `Max` and `High` have FIFOs of their own and
/// starve everything below them on the same core; `Normal` and `Low` share one FIFO
/// in which a low process runs on its 8th arrival at the head.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(u8)]
pub enum Priority {
    /// Strictly first (BEAM `max`, meant for system work).
    Max = 0,
    /// Before normal and low.
    High = 1,
    /// The default.
    Normal = 2,
    /// Shares the normal FIFO, one turn in eight at the head.
    Low = 3,
}

impl Priority {
    /// All levels, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::Max, Priority::High, Priority::Normal, Priority::Low];

    /// 0 for `Max` ... 3 for `Low`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The inverse of [`Priority::index`] (only the low two bits are used).
    pub const fn from_index(ix: usize) -> Priority {
        match ix & 3 {
            0 => Priority::Max,
            1 => Priority::High,
            2 => Priority::Normal,
            _ => Priority::Low,
        }
    }

    /// BEAM's name for the level: `max`, `high`, `normal` or `low` (the shell, `ps`
    /// and trace dumps show it).
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Max => "max",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// The level [`Priority::name`] calls `name`.
    pub fn from_name(name: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The run-queue FIFO holding this level: 0 max, 1 high, 2 normal-and-low.
    pub const fn fifo(self) -> usize {
        match self {
            Priority::Max => 0,
            Priority::High => 1,
            Priority::Normal | Priority::Low => 2,
        }
    }
}

/// A count of reductions (BEAM's unit of work; here one Z80 instruction is one).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Reductions(pub u64);

impl Reductions {
    /// Zero reductions.
    pub const ZERO: Reductions = Reductions(0);
    /// The raw count.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl Add for Reductions {
    type Output = Reductions;
    fn add(self, rhs: Reductions) -> Reductions {
        Reductions(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Reductions {
    fn add_assign(&mut self, rhs: Reductions) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_round_trip_and_fifo() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_index(p.index()), p);
        }
        assert_eq!(Priority::Normal.fifo(), Priority::Low.fifo());
        assert!(Priority::Max < Priority::High && Priority::High < Priority::Normal);
    }

    #[test]
    fn priority_names_are_beams_and_parse_back() {
        let names: [&str; 4] = Priority::ALL.map(Priority::name);
        assert_eq!(names, ["max", "high", "normal", "low"]);
        for p in Priority::ALL {
            assert_eq!(Priority::from_name(p.name()), Some(p));
        }
        assert_eq!(Priority::from_name("Normal"), None);
        assert_eq!(Priority::from_name(""), None);
    }

    #[test]
    #[should_panic(expected = "core index out of range")]
    fn core_id_out_of_range_panics() {
        let _ = CoreId::new(MAX_CORES);
    }
}
