//! Reduction costs and the per-slice [`Budget`].
//!
//! What: the numbers that decide how long a process runs before it is preempted, and
//! a small counter the runtime charges while it interprets Z80 code.
//!
//! BEAM (`erl_vm.h` `CONTEXT_REDS`, `bif.c` `erl_send`, `erl_proc_sig_queue.c`,
//! `beam_emu`/JIT `loop_rec_end`, `erl_process.c` `erts_schedule`): a slice is 4000
//! reductions; a send costs 1 counted plus 4 *virtual* reductions (they use up the
//! slice but are left out of the statistics); fetching the outer signal queue in a
//! receive costs 4; skipping a message in a selective receive costs 1; copying a
//! message costs 1 per 64 words. The scheduler counts at least 400 reductions per
//! schedule-out when it decides when to balance
//! (`ERTS_PROC_MIN_CONTEXT_SWITCH_REDS_COST`).
//!
//! Departures: one Z80 instruction is one reduction (BEAM charges per function call);
//! the message copy cost is per 512 *bytes* (64 BEAM words of 8 bytes), because Z80
//! messages are byte strings.

use crate::ids::Reductions;

/// Reductions in one time slice (`CONTEXT_REDS`).
pub const CONTEXT_REDS: u32 = 4000;
/// What one interpreted Z80 instruction costs.
pub const INSTRUCTION_REDS: u32 = 1;
/// Counted cost of a send.
pub const SEND_REDS: u32 = 1;
/// Extra, uncounted ("virtual") cost of a send (`ERTS_VBUMP_REDS` in `erl_send`).
pub const SEND_VIRTUAL_REDS: u32 = 4;
/// Cost of fetching the shared (outer) mailbox queue when the private one ran dry.
pub const RECEIVE_FETCH_REDS: u32 = 4;
/// Cost of skipping one message in a selective receive.
pub const RECEIVE_SKIP_REDS: u32 = 1;
/// Bytes copied per reduction when a message is copied (64 words × 8 bytes).
pub const MSG_COPY_BYTES_PER_RED: u32 = 512;
/// Least amount a schedule-out counts towards the balance check (`CR / 10`).
pub const MIN_CONTEXT_SWITCH_REDS: u32 = CONTEXT_REDS / 10;

/// One chargeable operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cost {
    /// `n` interpreted instructions.
    Instructions(u32),
    /// A send of a `bytes`-long message: 1 counted + 4 virtual + copy cost.
    Send {
        /// Message length in bytes.
        bytes: u32,
    },
    /// A receive that had to fetch the shared mailbox queue.
    ReceiveFetch,
    /// `n` messages skipped by a selective receive.
    ReceiveSkip(u32),
    /// Runtime-defined work charged as counted reductions (e.g. a kernel service call).
    Counted(u32),
    /// Runtime-defined work that uses up the slice but is not counted.
    Virtual(u32),
}

impl Cost {
    /// `(counted, virtual)` reductions for this operation.
    pub const fn split(self) -> (u32, u32) {
        match self {
            Cost::Instructions(n) => (n.saturating_mul(INSTRUCTION_REDS), 0),
            Cost::Send { bytes } => (SEND_REDS + bytes / MSG_COPY_BYTES_PER_RED, SEND_VIRTUAL_REDS),
            Cost::ReceiveFetch => (RECEIVE_FETCH_REDS, 0),
            Cost::ReceiveSkip(n) => (n.saturating_mul(RECEIVE_SKIP_REDS), 0),
            Cost::Counted(n) => (n, 0),
            Cost::Virtual(n) => (0, n),
        }
    }
}

/// The reduction budget of one slice. The runtime creates it from
/// [`crate::Pick::budget`], charges it while the process runs and stops the process
/// once [`Budget::is_spent`]; [`Budget::used`] is what it then passes to
/// `Scheduler::schedule_out`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Budget {
    limit: u32,
    counted: u32,
    virtual_: u32,
}

impl Budget {
    /// A budget of `limit` reductions.
    pub const fn new(limit: u32) -> Self {
        Budget { limit, counted: 0, virtual_: 0 }
    }
    /// A full slice of [`CONTEXT_REDS`].
    pub const fn slice() -> Self {
        Budget::new(CONTEXT_REDS)
    }
    /// Charges `cost`; returns `true` while budget is left (the process may go on).
    pub fn charge(&mut self, cost: Cost) -> bool {
        let (c, v) = cost.split();
        self.counted = self.counted.saturating_add(c);
        self.virtual_ = self.virtual_.saturating_add(v);
        !self.is_spent()
    }
    /// Reductions left before preemption (0 once spent).
    pub const fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.counted.saturating_add(self.virtual_))
    }
    /// Whether the slice is used up.
    pub const fn is_spent(&self) -> bool {
        self.remaining() == 0
    }
    /// Counted reductions (what statistics and balancing see).
    pub const fn used(&self) -> Reductions {
        Reductions(self.counted as u64)
    }
    /// Counted plus virtual reductions (what the slice consumed).
    pub const fn consumed(&self) -> u32 {
        self.counted.saturating_add(self.virtual_)
    }
}

/// What one schedule-out counts towards the balance check: at least 400.
pub const fn balance_charge(used: Reductions) -> u64 {
    if used.0 < MIN_CONTEXT_SWITCH_REDS as u64 {
        MIN_CONTEXT_SWITCH_REDS as u64
    } else {
        used.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_use_five_of_the_slice_but_count_one() {
        let mut b = Budget::slice();
        for _ in 0..10 {
            assert!(b.charge(Cost::Send { bytes: 8 }));
        }
        assert_eq!(b.used(), Reductions(10));
        assert_eq!(b.consumed(), 50);
        assert_eq!(b.remaining(), 3950);
    }

    #[test]
    fn budget_runs_out_after_4000_instructions() {
        let mut b = Budget::slice();
        let mut n = 0;
        while b.charge(Cost::Instructions(1)) {
            n += 1;
        }
        assert_eq!(n + 1, 4000);
        assert!(b.is_spent());
        assert_eq!(b.used(), Reductions(4000));
    }

    #[test]
    fn receive_costs_and_minimum_charge() {
        assert_eq!(Cost::ReceiveFetch.split(), (4, 0));
        assert_eq!(Cost::ReceiveSkip(3).split(), (3, 0));
        assert_eq!(Cost::Send { bytes: 1024 }.split(), (3, 4));
        assert_eq!(balance_charge(Reductions(10)), 400);
        assert_eq!(balance_charge(Reductions(4000)), 4000);
    }
}
