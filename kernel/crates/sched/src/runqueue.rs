//! One run queue per core: three FIFOs behind a spin lock, with lock-free summaries.
//!
//! What: the FIFOs (max, high, and one shared by normal and low), per-priority lengths
//! and a flags word that other cores read without the lock, the published migration
//! paths, and the per-period counters balancing samples.
//!
//! BEAM (`erl_process.h` `ErtsRunQueue`, `erl_process.c` `enqueue_process`,
//! `dequeue_process`, `check_requeue_process`, `unqueue_process`): a mutex per queue
//! held for every enqueue, dequeue, steal and migration; `prio_info[].len` and the
//! flags word read without it; a low process enters with `schedule_count` 8 and a
//! normal one with 1; at the head the count is decremented and, if still positive
//! and the process is not the last one, it goes to the tail. This gives 8 : 1
//! between one normal and one low process, 1/17 for 2 normal + 1 low, 1/33 for 4 + 1,
//! and a lone low process runs at once.
//!
//! Departures: the FIFOs are `VecDeque<Entry>` (pid, queued priority, schedule count)
//! instead of an intrusive list through the process struct, so the crate needs no
//! unsafe code and the process table stays runtime-owned; the `schedule_count` lives
//! in the queue entry, which is equivalent because BEAM resets it at every enqueue.
//! The lock is `spin::Mutex` (there is no OS to block on); no code path ever holds two
//! queue locks at once, so there is no lock order to get wrong.
//!
//! Growth is fallible: [`RunQueue::push`] never allocates (it refuses a full FIFO) and
//! [`RunQueue::try_grow`] asks the heap with `try_reserve`. How the scheduler keeps
//! room for every process it has accepted is in `scheduler.rs` ("Room in the queues").

use crate::balance::{MigrationPath, QueueSample};
use crate::ids::{Pid, Priority};
use crate::stats::Counters;
use crate::sync::{AtomicI64, AtomicU32, AtomicU64, Ordering, QueueGuard, QueueLock};
use alloc::collections::VecDeque;

/// Entries the normal/low FIFO starts with; [`RunQueue::shrink`] keeps at least this.
const INITIAL_CAPACITY: usize = 64;

/// BEAM `RESCHEDULE_LOW`: a low process runs on its 8th arrival at the queue head.
pub const RESCHEDULE_LOW: u8 = 8;

/// Bits of a run queue's flags word.
pub mod rq_flags {
    /// Bit `1 << prio` is set while that priority has queued processes.
    pub const NONEMPTY_MASK: u32 = 0xf;
    /// The core waited for work during this balance period.
    pub const OUT_OF_WORK: u32 = 1 << 4;
    /// The core waited for work during the second half of this period.
    pub const HALFTIME_OUT_OF_WORK: u32 = 1 << 5;
    /// The core is stealing: nobody steals from it meanwhile.
    pub const PROTECTED: u32 = 1 << 6;
    /// Compaction made the queue inactive: everything unbound emigrates.
    pub const INACTIVE: u32 = 1 << 7;
    /// The core found no work at its last pick (it spins or sleeps).
    pub const IDLE: u32 = 1 << 8;
    /// The core is about to sleep or sleeps: an enqueue must wake it.
    pub const SLEEPING: u32 = 1 << 9;
    /// Shift of the per-priority "emigrate" mask.
    pub const EMIGRATE_SHIFT: u32 = 16;
    /// Shift of the per-priority "immigrate" mask.
    pub const IMMIGRATE_SHIFT: u32 = 20;
    /// Shift of the per-priority "evacuate" mask.
    pub const EVACUATE_SHIFT: u32 = 24;
    /// All migration bits.
    pub const MIGRATION_MASK: u32 = 0xfff << EMIGRATE_SHIFT;
}

/// One queued process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Entry {
    pub pid: Pid,
    pub prio: Priority,
    pub count: u8,
}

/// The lock-protected part of a queue.
pub(crate) struct Fifos {
    q: [VecDeque<Entry>; 3],
    len: [u32; 4],
    max_len: [u32; 4],
    max_total: u32,
}

impl Fifos {
    /// Entries of FIFO `fifo` (0 max, 1 high, 2 normal+low), head first.
    pub fn fifo(&self, fifo: usize) -> &VecDeque<Entry> {
        &self.q[fifo]
    }

    /// Entries FIFO `fifo` can take without allocating.
    pub fn spare(&self, fifo: usize) -> usize {
        self.q[fifo].capacity() - self.q[fifo].len()
    }

    /// Capacity of all three FIFOs together, in entries.
    pub fn capacity(&self) -> usize {
        self.q.iter().map(VecDeque::capacity).sum()
    }
}

/// A run queue.
pub struct RunQueue {
    fifos: QueueLock<Fifos>,
    len: [AtomicU32; 4],
    flags: AtomicU32,
    paths: [AtomicU64; 4],
    pub(crate) reds: [AtomicU64; 4],
    pub(crate) check_balance_reds: AtomicI64,
    pub(crate) wakeup_other: AtomicI64,
    pub(crate) steal_rotation: AtomicU32,
    /// What the core runs: 0 nothing, else 1 + the running process's priority index.
    /// Set at each pick and cleared at the end of schedule-out, after a requeue has
    /// put the process back in a queue: a core between two slices never looks free.
    running: AtomicU32,
    pub(crate) stats: Counters,
}

impl RunQueue {
    /// An empty queue whose balance counter starts at `check_balance_reds`.
    pub(crate) fn new(check_balance_reds: i64) -> Self {
        RunQueue {
            fifos: QueueLock::new(Fifos {
                q: [VecDeque::with_capacity(8), VecDeque::with_capacity(8), VecDeque::with_capacity(INITIAL_CAPACITY)],
                len: [0; 4],
                max_len: [0; 4],
                max_total: 0,
            }),
            len: Default::default(),
            flags: AtomicU32::new(0),
            paths: Default::default(),
            reds: Default::default(),
            check_balance_reds: AtomicI64::new(check_balance_reds),
            wakeup_other: AtomicI64::new(0),
            steal_rotation: AtomicU32::new(0),
            running: AtomicU32::new(0),
            stats: Counters::default(),
        }
    }

    /// Bytes the queue's FIFOs hold (their capacity). A FIFO keeps the size it grew
    /// to, so after a burst this stays above what an empty queue needs until reused.
    pub fn capacity_bytes(&self) -> usize {
        let f = self.lock();
        f.q.iter().map(|q| q.capacity() * core::mem::size_of::<Entry>()).sum()
    }

    pub(crate) fn lock(&self) -> QueueGuard<'_, Fifos> {
        self.fifos.lock()
    }

    /// How contended this queue's lock has been.
    pub fn lock_stats(&self) -> crate::sync::LockStats {
        self.fifos.stats()
    }

    /// Queued processes at `prio` (read without the lock; may be stale).
    pub fn len(&self, prio: Priority) -> u32 {
        // Relaxed: a hint for balancing and placement; decisions re-check under the lock.
        self.len[prio.index()].load(Ordering::Relaxed)
    }

    /// Queued processes at every priority.
    pub fn lens(&self) -> [u32; 4] {
        Priority::ALL.map(|p| self.len(p))
    }

    /// The priority of the process the core runs now, if any (may be stale).
    pub fn running(&self) -> Option<Priority> {
        // Relaxed: a placement hint written only by the owning core.
        match self.running.load(Ordering::Relaxed) {
            0 => None,
            r => Some(Priority::from_index(r as usize - 1)),
        }
    }

    pub(crate) fn set_running(&self, prio: Option<Priority>) {
        // Relaxed: see `running`.
        self.running.store(prio.map_or(0, |p| p.index() as u32 + 1), Ordering::Relaxed);
    }

    /// Runnable processes on this core that a process of priority `prio` would wait
    /// behind: those queued at `prio` or above (normal and low count together, as they
    /// share a FIFO) plus the running one if its priority is that high. 0 means a
    /// `prio` process placed here runs at once.
    pub fn competing(&self, prio: Priority) -> u32 {
        let level = |p: usize| p.min(Priority::Normal.index());
        let lens = self.lens();
        let queued: u32 = (0..4).filter(|&p| level(p) <= level(prio.index())).map(|p| lens[p]).sum();
        let running = self.running().is_some_and(|r| level(r.index()) <= level(prio.index()));
        queued + running as u32
    }

    /// Queued processes in total.
    pub fn total_len(&self) -> u32 {
        self.lens().iter().sum()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.flags() & rq_flags::NONEMPTY_MASK == 0
    }

    /// The flags word (see [`rq_flags`]).
    pub fn flags(&self) -> u32 {
        // Acquire: pairs with the AcqRel RMWs that change it.
        self.flags.load(Ordering::Acquire)
    }

    /// Sets `bits`; returns the previous word.
    pub(crate) fn set_flags(&self, bits: u32) -> u32 {
        // AcqRel: all RMWs on this word are totally ordered, which is what makes
        // "enqueue sees SLEEPING or the sleeper sees NONEMPTY" hold.
        self.flags.fetch_or(bits, Ordering::AcqRel)
    }

    /// Clears `bits`; returns the previous word.
    pub(crate) fn clear_flags(&self, bits: u32) -> u32 {
        // AcqRel: as in `set_flags`.
        self.flags.fetch_and(!bits, Ordering::AcqRel)
    }

    /// Replaces the migration bits with `bits`.
    pub(crate) fn set_migration_flags(&self, bits: u32) {
        let mut cur = self.flags();
        loop {
            let new = (cur & !rq_flags::MIGRATION_MASK & !rq_flags::INACTIVE) | bits;
            // AcqRel/Acquire: same reason as `set_flags`; retry with the fresh value.
            match self.flags.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The published migration path at `prio`.
    pub fn path(&self, prio: Priority) -> MigrationPath {
        // Acquire: pairs with the Release in `set_path`; one word = one consistent path.
        MigrationPath::unpack(self.paths[prio.index()].load(Ordering::Acquire))
    }

    pub(crate) fn set_path(&self, prio: Priority, path: MigrationPath) {
        // Release: readers that see the path see the flags set before it.
        self.paths[prio.index()].store(path.pack(), Ordering::Release);
    }

    /// Grows FIFO `fifo` (amortized, as `VecDeque` grows itself) if the heap allows;
    /// returns how many entries of capacity it gained (0: the heap refused).
    pub(crate) fn try_grow(&self, f: &mut Fifos, fifo: usize) -> usize {
        let before = f.q[fifo].capacity();
        // Asking for one more than the spare room makes it grow (doubling at least).
        match f.q[fifo].try_reserve(f.spare(fifo) + 1) {
            Ok(()) => f.q[fifo].capacity() - before,
            Err(_) => 0,
        }
    }

    /// Gives back most of FIFO `fifo`'s memory when its capacity exceeds `SHRINK_RATIO`
    /// times what it holds (and its first capacity). Returns the entries of capacity it
    /// lost; calls `take(n)` first, which must answer whether `n` entries of spare
    /// capacity may go (and take them), and `give(n)` for any it took but kept. Never
    /// allocates in a way that can fail with a panic: an empty FIFO just frees its
    /// buffer; a non-empty one moves into a smaller one got with `try_reserve_exact`.
    pub(crate) fn shrink(
        &self,
        f: &mut Fifos,
        fifo: usize,
        take: impl FnOnce(usize) -> bool,
        give: impl FnOnce(usize),
    ) -> usize {
        const SHRINK_RATIO: usize = 4;
        let q = &mut f.q[fifo];
        let (len, cap) = (q.len(), q.capacity());
        let keep = if len == 0 { 0 } else { (2 * len).max(INITIAL_CAPACITY) };
        if cap <= SHRINK_RATIO * len.max(INITIAL_CAPACITY) || !take(cap - keep) {
            return 0;
        }
        if len == 0 {
            // Capacity 0 frees the buffer without allocating.
            q.shrink_to(0);
        } else {
            let mut smaller = VecDeque::new();
            if smaller.try_reserve_exact(keep).is_err() {
                give(cap - keep);
                return 0;
            }
            smaller.extend(q.drain(..));
            *q = smaller;
        }
        let lost = cap - q.capacity();
        give((cap - keep) - lost);
        lost
    }

    /// Appends `pid` at `prio` (BEAM `enqueue_process`) to FIFO `fifo` (normally
    /// `prio.fifo()`) if it has room without allocating; returns the flags before, or
    /// `None` (nothing changed) when the FIFO is full.
    pub(crate) fn push(&self, f: &mut Fifos, fifo: usize, pid: Pid, prio: Priority) -> Option<u32> {
        if f.spare(fifo) == 0 {
            return None;
        }
        let count = if prio == Priority::Low { RESCHEDULE_LOW } else { 1 };
        f.q[fifo].push_back(Entry { pid, prio, count });
        let p = prio.index();
        f.len[p] += 1;
        f.max_len[p] = f.max_len[p].max(f.len[p]);
        f.max_total = f.max_total.max(f.len.iter().sum());
        // Relaxed: the lock orders writers; lock-free readers only want a hint.
        self.len[p].store(f.len[p], Ordering::Relaxed);
        Some(self.set_flags(1 << p))
    }

    fn account_removal(&self, f: &mut Fifos, prio: Priority) {
        let p = prio.index();
        f.len[p] -= 1;
        // Relaxed: as in `push`.
        self.len[p].store(f.len[p], Ordering::Relaxed);
        if f.len[p] == 0 {
            self.clear_flags(1 << p);
        }
    }

    /// Takes the next process to run (BEAM `pick_next_process` +
    /// `check_requeue_process`): max, then high, then the normal/low FIFO where an
    /// entry whose count is still positive after decrementing goes to the tail unless
    /// it is the last one.
    pub(crate) fn pop_next(&self, f: &mut Fifos) -> Option<Entry> {
        for fifo in 0..2 {
            if let Some(e) = f.q[fifo].pop_front() {
                self.account_removal(f, e.prio);
                return Some(e);
            }
        }
        loop {
            let nl = &mut f.q[2];
            let last = nl.len() == 1;
            let head = nl.front_mut()?;
            head.count = head.count.saturating_sub(1);
            if head.count > 0 && !last {
                if let Some(e) = nl.pop_front() {
                    nl.push_back(e);
                }
                continue;
            }
            let e = nl.pop_front()?;
            self.account_removal(f, e.prio);
            return Some(e);
        }
    }

    /// Removes the first entry of FIFO `fifo` for which `take` is true, scanning from
    /// the head (stealing, immigration).
    pub(crate) fn remove_first(
        &self,
        f: &mut Fifos,
        fifo: usize,
        mut take: impl FnMut(&Entry) -> bool,
    ) -> Option<Entry> {
        let ix = f.q[fifo].iter().position(&mut take)?;
        let e = f.q[fifo].remove(ix)?;
        self.account_removal(f, e.prio);
        Some(e)
    }

    /// Removes `pid` wherever it is queued here.
    pub(crate) fn remove_pid(&self, f: &mut Fifos, pid: Pid) -> Option<Entry> {
        (0..3).find_map(|fifo| self.remove_first(f, fifo, |e| e.pid == pid))
    }

    /// Reads and resets the per-period balance inputs (`max_len` restarts from the
    /// current length, reductions from zero).
    pub(crate) fn sample_and_reset(&self) -> QueueSample {
        let (max_len, max_total_len) = {
            let mut f = self.lock();
            let out = (f.max_len, f.max_total);
            f.max_len = f.len;
            f.max_total = f.len.iter().sum();
            out
        };
        // Relaxed swaps: counters; the lock above is not needed for them and a reduction
        // charged concurrently simply lands in the next period.
        let reds = [0, 1, 2, 3].map(|p| self.reds[p].swap(0, Ordering::Relaxed));
        let fl = self.flags();
        QueueSample {
            max_len,
            max_total_len,
            reds,
            out_of_work: fl & rq_flags::OUT_OF_WORK != 0,
            halftime_out_of_work: fl & rq_flags::HALFTIME_OUT_OF_WORK != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn put(rq: &RunQueue, f: &mut Fifos, pid: Pid, prio: Priority) {
        rq.push(f, prio.fifo(), pid, prio).expect("room in a new queue");
    }

    fn picks(rq: &RunQueue, n: usize) -> Vec<Pid> {
        let mut out = Vec::new();
        for _ in 0..n {
            let mut f = rq.lock();
            let e = rq.pop_next(&mut f).unwrap();
            out.push(e.pid);
            put(rq, &mut f, e.pid, e.prio);
        }
        out
    }

    #[test]
    fn strict_priority_between_fifos() {
        let rq = RunQueue::new(1);
        let mut f = rq.lock();
        put(&rq, &mut f, Pid::new(3), Priority::Low);
        put(&rq, &mut f, Pid::new(2), Priority::Normal);
        put(&rq, &mut f, Pid::new(1), Priority::High);
        put(&rq, &mut f, Pid::new(0), Priority::Max);
        assert_eq!(rq.lens(), [1, 1, 1, 1]);
        assert_eq!(rq.flags() & rq_flags::NONEMPTY_MASK, 0xf);
        let order: Vec<u32> = core::iter::from_fn(|| rq.pop_next(&mut f)).map(|e| e.pid.get()).collect();
        // The low process is last in the shared FIFO once the normal one is gone: at once.
        assert_eq!(order, [0, 1, 2, 3]);
        assert!(rq.is_empty());
    }

    #[test]
    fn lone_low_process_runs_at_once() {
        let rq = RunQueue::new(1);
        put(&rq, &mut rq.lock(), Pid::new(9), Priority::Low);
        assert_eq!(picks(&rq, 3), [Pid::new(9); 3]);
    }

    #[test]
    fn max_len_and_sampling() {
        let rq = RunQueue::new(1);
        {
            let mut f = rq.lock();
            for i in 0..5 {
                put(&rq, &mut f, Pid::new(i), Priority::Normal);
            }
            for _ in 0..3 {
                rq.pop_next(&mut f);
            }
        }
        rq.reds[2].fetch_add(777, Ordering::Relaxed);
        let s = rq.sample_and_reset();
        assert_eq!(s.max_len[2], 5);
        assert_eq!(s.max_total_len, 5);
        assert_eq!(s.reds[2], 777);
        let s2 = rq.sample_and_reset();
        assert_eq!((s2.max_len[2], s2.reds[2]), (2, 0));
    }
}
