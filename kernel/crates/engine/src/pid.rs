//! Process ids with a generation (issue 10, "a million processes").
//!
//! What: a [`Pid`] is 32 bits: the low [`INDEX_BITS`] bits are the index of the
//! process's slot in the engine's table, the high bits are the slot's generation
//! (how many processes the slot held before this one, modulo 2^[`GEN_BITS`]). The
//! raw value is what the Z80 interface and messages carry (docs/ABI.md, "Pids").
//!
//! Why: slots are reused, and a pid that named only the slot would let a late exit
//! signal, DOWN, SEND or KILL meant for a process reach the next process in its
//! slot. With the generation in the pid the engine tells them apart: a pid names
//! the slot's current (or, until the slot is reused, last) incarnation only. BEAM's
//! pids do the same with their "serial" bits (`erl_ptab.h`). 21 index bits leave
//! room for 2,097,151 slots (a million processes plus the system's), and 11 bits of
//! generation mean a stale pid can only match again after its slot has been reused
//! 2048 times (the free list hands slots out first-in first-out, so that takes
//! 2048 spawns per slot of the table).

use core::fmt;

/// Bits of a pid that hold the slot index.
pub const INDEX_BITS: u32 = 21;
/// Bits of a pid that hold the slot's generation.
pub const GEN_BITS: u32 = 32 - INDEX_BITS;
/// Mask of the index bits.
pub const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Mask of a generation (before shifting).
pub const GEN_MASK: u32 = (1 << GEN_BITS) - 1;
/// Most slots a process table can have (slot 0 is the kernel's, never a process).
pub const MAX_SLOTS: usize = INDEX_MASK as usize;

/// A process id: slot index and generation (see the module doc).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(u32);

impl Pid {
    /// The kernel itself (the sender of console `send`s); never a process.
    pub const KERNEL: Pid = Pid(0);

    /// The pid of generation `gen` (taken modulo 2^[`GEN_BITS`]) in slot `index`
    /// (taken modulo 2^[`INDEX_BITS`]).
    pub const fn new(index: u32, gen: u32) -> Self {
        Pid((index & INDEX_MASK) | ((gen & GEN_MASK) << INDEX_BITS))
    }
    /// The pid whose raw value is `raw` (as a program or a message carries it).
    pub const fn from_raw(raw: u32) -> Self {
        Pid(raw)
    }
    /// The raw 32-bit value.
    pub const fn get(self) -> u32 {
        self.0
    }
    /// The slot index.
    pub const fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }
    /// The generation bits.
    pub const fn generation(self) -> u32 {
        self.0 >> INDEX_BITS
    }
    /// The scheduler's id of the slot.
    pub const fn sched(self) -> zbeam_sched::Pid {
        zbeam_sched::Pid::new(self.0 & INDEX_MASK)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}>", self.index(), self.generation())
    }
}

impl fmt::Display for Pid {
    /// The raw value in decimal (what `ps` shows and `kill` takes), with the
    /// formatter's width, fill and alignment applied as for the number itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_generation_round_trip() {
        let p = Pid::new(1_048_593, 5);
        assert_eq!(p.index(), 1_048_593);
        assert_eq!(p.generation(), 5);
        assert_eq!(Pid::from_raw(p.get()), p);
        assert_eq!(p.sched().index(), 1_048_593);
        // The first incarnation's pid is its index.
        assert_eq!(Pid::new(7, 0).get(), 7);
        // Generations wrap; indexes never spill into them.
        assert_eq!(Pid::new(3, GEN_MASK + 2).generation(), 1);
        assert_eq!(Pid::new(INDEX_MASK + 4, 0).index(), 3);
        assert_ne!(Pid::new(7, 1), Pid::new(7, 0));
    }

    #[test]
    fn display_is_the_raw_number_with_its_width() {
        let p = Pid::new(3, 1);
        assert_eq!(std::format!("{p}"), std::format!("{}", p.get()));
        assert_eq!(std::format!("{:>5}|{:<4}|", Pid::new(3, 0), Pid::new(12, 0)), "    3|12  |");
    }
}
