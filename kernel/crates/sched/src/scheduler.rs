//! The front door: [`Scheduler`], the policy object a runtime drives.
//!
//! What: one value shared by all cores (`&Scheduler` is `Sync`) that owns the run
//! queues and the per-process scheduling metadata (state word, affinity) in a table
//! indexed by [`Pid`]. The runtime owns the processes themselves. Every method
//! decides and returns what the runtime must do: which process to run and where it
//! came from ([`Pick`]), where a woken process was queued and which cores need an
//! interrupt to notice it ([`Wakeup`], [`ScheduledOut::wake`]), whether to arm a
//! timeout. The crate never touches hardware, never reads a clock and never blocks.
//!
//! Hot paths take no global lock: the state word is one CAS, each run queue has its
//! own spin lock, and no path ever holds two queue locks at once (a process moving
//! between queues is removed under one lock and inserted under the other, with its
//! state word naming the destination in between). Balancing is single-threaded
//! through a `try_lock` on the balancer, like BEAM's `checking_balance` flag.
//!
//! ## Life of a process (runtime's view)
//! 1. [`Scheduler::enqueue`] at spawn: metadata stored, process queued.
//! 2. A core calls [`Scheduler::pick_next`], runs the [`Pick`] for at most
//!    [`Pick::budget`] reductions (see [`crate::Budget`]), then calls
//!    [`Scheduler::schedule_out`] with the reductions used and a [`OutReason`].
//! 3. A message or timeout for a waiting process: [`Scheduler::wake`].
//! 4. After [`OutAction::Exited`], [`OutAction::Faulted`] or [`OutAction::Killed`] the
//!    runtime tears the process down and calls [`Scheduler::release`].
//! 5. No work: `pick_next` returned `None`; the runtime may spin and retry, then calls
//!    [`Scheduler::prepare_sleep`] and sleeps (WFI) if told [`SleepDecision::Sleep`],
//!    and [`Scheduler::woke`] when it wakes. Every `wake` set returned by this crate
//!    lists cores that must get an IPI.
//!
//! ## BEAM behaviour followed
//! A woken process goes back to its own run queue unless emigration redirects it
//! (`add2runq`, `erts_check_emigration_need`); a spawned one starts on the parent's
//! core (`erl_create_process`). `pick_next` first immigrates (`immigrate`), then takes
//! the highest-priority process, and when the queue is empty steals exactly one
//! unbound process from the head of a victim's highest non-empty priority, inactive
//! victims first (`try_steal_task`), protecting its own queue meanwhile. An idle
//! core records OUT_OF_WORK for balancing. Schedule-out charges the queue's balance
//! counter (at least 400) and the first queue to exhaust it runs the pass. "WakeTransition
//! other" (`wakeup_other_check`, medium = 40 000) wakes a sleeping core when work
//! piles up on a busy one; with none left it re-activates an inactive queue.
//!
//! ## P/E placement, exactly (departures from BEAM, which has no core classes)
//! On a machine with both classes, and with [`Config::class_placement`] on, the core
//! class is a *preference*, not a wall. Max/high work prefers P cores, low work
//! prefers E cores, normal work has no preference and is balanced by capacity.
//!
//! Why a preference: Apple's scheduler and Linux's energy-aware scheduling both place
//! by class but let a saturated class spill over to the other, because a runnable
//! process waiting in a queue while a core of the other class idles loses throughput
//! and latency for nothing. An earlier version here made the class a hard rule (E cores
//! never took high work): with 8 high-priority spinners on 2P+2E, both E cores idled,
//! compaction kept deciding that only the P cores were needed, and "wake other" kept
//! interrupting an E core that had nothing it was allowed to take.
//!
//! The rules:
//! * **Free core.** A core is *free* for a process of priority `p` when it is active
//!   and a `p` process placed there would run at once: nothing of `p`'s level or above
//!   is queued there or running there ([`RunQueue::competing`] is 0; normal and low
//!   count as one level, as they share a FIFO).
//! * **Spawn, wake-up, requeue.** The start queue is the process's own (the parent's
//!   core at spawn) if its affinity allows it, else the least loaded allowed core. For
//!   a class-preferring process: a free core of its preferred class (its start queue
//!   first); if every allowed core of that class is taken, a free core of the other
//!   class (*spill-over*); if there is none either, it stays on its start queue unless
//!   that queue is busier by 2 or more than the least busy core of its preferred
//!   class, which it then joins (the margin keeps processes from hopping between
//!   queues whose counts differ by one from moment to moment; balancing evens those
//!   out). So spilled work comes back at its next schedule-out once a core of its
//!   preferred class is free, and a process never leaves a core that is free for it. Then the start queue's emigration path applies, but only towards a core
//!   of the same class (balancing works within a class; leaving an inactive queue
//!   always goes).
//! * **Balancing.** Max/high have weight 0 on E cores, low has weight 0 on P cores: at
//!   those priorities the other class's queues take no part in balancing (spilled work
//!   is placement's business, above), and the cores of the preferred class are
//!   balanced against each other by the usual limits, also when compaction makes other
//!   queues inactive (see [`crate::balance`]). Normal work is spread in proportion to
//!   capacity.
//! * **Stealing.** An idle core may steal anything its affinity rules allow, with one
//!   deferral: it leaves a process to *seeking* cores of the class that process
//!   prefers (P for max/high, E for low; P for normal work when the thief is an E
//!   core). A core is seeking when its last `pick_next` found nothing and it has not
//!   gone to sleep. So an idle core of the preferred class steals first, whichever
//!   calls first, and an idle core of the other class takes the work (spill-over) only
//!   when no such core is looking. A sleeping core never holds others back. A victim
//!   whose core sleeps with work queued is skipped: an IPI is on its way to it for
//!   exactly that work.
//! * **Compaction** keeps P cores active first.
//! * **WakeTransition other** (and re-activating an inactive queue) only interrupts a core that
//!   may take something queued on the busy queue right now (checked under that
//!   queue's lock, the first 32 entries of each FIFO), trying the preferred class
//!   of the most urgent queued work first. So a core is never woken for work its
//!   affinity or the class rules leave to others, and no core receives a stream of
//!   wake-ups that end in an empty pick.
//! * **Affinity masks always win**: every rule above only chooses among the cores a
//!   process's [`CpuSet`] allows.
//!
//! Departures from BEAM in short: BEAM has no core classes; a woken process here may
//! change queue at wake-up or requeue to follow its class preference, where BEAM only
//! moves it by emigration; BEAM's balancing returns right after compacting; BEAM's
//! "wake other" wakes the next sleeping scheduler without asking whether it may take
//! anything (every BEAM scheduler can run every unbound process), and BEAM steals from
//! any victim with work.

//! ## Affinity guarantee
//! Every placement (spawn, wake, requeue, emigration, immigration, stealing,
//! compaction, `set_affinity` moves) only chooses cores in the process's
//! [`CpuSet`]. A single-core set makes the process *bound*: never stolen, never
//! immigrated. `set_affinity` moves a queued process at once; a running one keeps its
//! current slice and is placed by the new set at its next schedule-out.

//! ## Room in the queues
//! Queues grow with `try_reserve`, never with an allocation that can fail by panicking,
//! and a process the scheduler has accepted is never dropped for want of room. The
//! invariant: the spare capacity of all FIFOs together is at least the number of live
//! processes that are not queued. `slack` counts spare capacity minus such processes;
//! queueing and dequeueing do not change it (one entry moves between the two), growth
//! adds what it gained, a spawn takes one and [`Scheduler::release`] gives it back.
//! So [`Scheduler::enqueue`] is the only call that can fail for memory: when no slack is
//! left and the heap refuses to grow the target FIFO it returns
//! [`SchedError::NoMemory`] with nothing changed. Every other insertion goes to its
//! target FIFO, growing it if the heap allows; otherwise it takes a spare entry in
//! another FIFO, which the invariant guarantees exists: this queue's other FIFOs
//! first, then the queues of cores in the process's affinity, then any queue. Only in
//! that last, out-of-memory case may a process wait in a FIFO of another priority
//! (the entry keeps its own) or run once on a core outside its affinity.
//! Queues also give memory back: when an exit leaves the slack `SHRINK_SLACK` entries
//! (or half again, if more) above what it was at the last look or the last spawn,
//! [`Scheduler::release`] shrinks every FIFO whose capacity is over four times what it
//! holds, taking the slack it frees first, so the invariant holds throughout. The last
//! exit of a burst always looks: what stays is in the order of `SHRINK_SLACK` entries
//! of 8 bytes, plus the room the processes still alive need.
//! Balance passes never touch the heap: the balancer works in memory it was made with
//! (see [`crate::balance`]).

use crate::balance::{Balancer, MigrationPath, PathKind};
use crate::cpuset::CpuSet;
use crate::ids::{CoreId, Pid, Priority, Reductions};
use crate::reductions::{balance_charge, CONTEXT_REDS, MIN_CONTEXT_SWITCH_REDS};
use crate::runqueue::{rq_flags, Entry, RunQueue};
use crate::state::{OutKind, OutTransition, ProcState, ScheduleIn, StateError, StateSnapshot, WakeTransition};
use crate::stats::{Activity, CoreStats, Counters};
use crate::sync::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use crate::topology::Topology;
use alloc::boxed::Box;
use alloc::vec::Vec;
use spin::Mutex;

/// Policy knobs. [`Config::default`] is BEAM's defaults plus P/E placement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Config {
    /// Idle cores steal (BEAM always does).
    pub stealing: bool,
    /// Balancing may make queues inactive (BEAM `+scl true`, the default).
    pub compaction: bool,
    /// P/E class preferences (see the module doc).
    pub class_placement: bool,
    /// Reductions between balance passes on the first queue to get there (BEAM
    /// `1000·CONTEXT_REDS`); a full pass happens every second pass.
    pub check_balance_reds: u64,
    /// "WakeTransition other" threshold (BEAM `+swt medium` = 40 000).
    pub wakeup_other_threshold: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stealing: true,
            compaction: true,
            class_placement: true,
            check_balance_reds: crate::balance::CHECK_BALANCE_REDS,
            wakeup_other_threshold: 40_000,
        }
    }
}

/// Why a process left the CPU (what the interpreter returned).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OutReason {
    /// The reduction budget ran out.
    BudgetSpent,
    /// Blocked in a receive with an empty mailbox; `timeout` is passed back unchanged
    /// in [`OutAction::Waiting`] for the runtime to arm (runtime time units).
    Waiting {
        /// When to give up waiting, if ever.
        timeout: Option<u64>,
    },
    /// Gave up the rest of its slice (BEAM `erlang:yield/0`).
    Yielded,
    /// Finished.
    Exited(ExitReason),
    /// Crashed: the runtime turns the fault into an exit signal for links and monitors.
    Faulted(FaultCode),
}

/// How a process exited.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitReason {
    /// Returned normally.
    Normal,
    /// Killed by another process or the console.
    Killed,
    /// A runtime-defined reason code.
    Other(u32),
}

/// A runtime-defined fault code (illegal instruction, bad port, ...).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FaultCode(pub u32);

/// How a picked process reached this core.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PickSource {
    /// From this core's own queue.
    Local,
    /// Pulled from `from` by an immigration path in this pass.
    Immigrated {
        /// The source queue.
        from: CoreId,
    },
    /// Stolen from `from` because this core had nothing.
    Stolen {
        /// The victim.
        from: CoreId,
    },
}

/// A process to run now.
#[must_use = "a picked process is RUNNING: it must be run and then scheduled out"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pick {
    /// The process.
    pub pid: Pid,
    /// The priority it was queued at.
    pub prio: Priority,
    /// Reductions it may use (BEAM `CONTEXT_REDS`).
    pub budget: u32,
    /// Where it came from.
    pub source: PickSource,
    /// An exit was requested: run its exit handling, not its code.
    pub exiting: bool,
    /// Cores to interrupt (a misplaced process was moved to them).
    pub wake: CpuSet,
}

/// Result of [`Scheduler::enqueue`].
#[must_use = "cores in `wake` sleep and must be interrupted"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Placed {
    /// The queue the process went to.
    pub core: CoreId,
    /// Cores to interrupt.
    pub wake: CpuSet,
}

/// Result of [`Scheduler::wake`], [`Scheduler::resume`], [`Scheduler::request_exit`].
#[must_use = "Queued may name cores that must be interrupted"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wakeup {
    /// This call made the process runnable and queued it on `core`.
    Queued {
        /// The queue it went to.
        core: CoreId,
        /// Cores to interrupt.
        wake: CpuSet,
    },
    /// It was already runnable (another waker won, or it is queued).
    AlreadyRunnable,
    /// It is running; its core requeues it when it stops (or, for an exit request,
    /// reports [`OutAction::Killed`]).
    NotedWhileRunning,
    /// It is suspended; it will be queued on resume.
    Suspended,
    /// No such live process.
    Dead,
}

/// What happened to a process at schedule-out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OutAction {
    /// Runnable again, queued on `core`.
    Requeued {
        /// The queue it went to (emigration may choose another core).
        core: CoreId,
    },
    /// Waiting for a message: arm `timeout` if any.
    Waiting {
        /// From [`OutReason::Waiting`].
        timeout: Option<u64>,
    },
    /// Suspended while running; not queued.
    Parked,
    /// Exited: tear down, notify links, then [`Scheduler::release`].
    Exited(ExitReason),
    /// Faulted: as `Exited`, with the fault as the reason.
    Faulted(FaultCode),
    /// An exit was requested while it ran: tear down as killed.
    Killed,
}

/// A balance pass that ran during a call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BalancePass {
    /// Half-time: only out-of-work state was recorded.
    Halftime,
    /// Full: paths and the number of active queues were recomputed.
    Full {
        /// Active queues after the pass.
        active: usize,
        /// Whether compaction decided.
        compacted: bool,
    },
}

/// Result of [`Scheduler::schedule_out`].
#[must_use = "the action and the cores in `wake` must be acted on"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ScheduledOut {
    /// What happened to the process.
    pub action: OutAction,
    /// Cores to interrupt.
    pub wake: CpuSet,
    /// A balance pass this call ran, for tracing.
    pub balance: Option<BalancePass>,
}

/// Answer to [`Scheduler::prepare_sleep`].
#[must_use = "sleeping after Retry would lose work"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SleepDecision {
    /// Nothing queued: sleep until interrupted.
    Sleep,
    /// Work arrived meanwhile: call `pick_next` again.
    Retry,
}

/// Errors: each names who broke which rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SchedError {
    /// The pid is outside the process table (runtime bug).
    NoSuchPid(Pid),
    /// The core is outside the topology (runtime bug).
    NoSuchCore(CoreId),
    /// The affinity names no core of this machine (caller's request is invalid).
    EmptyAffinity,
    /// The process's state does not allow this call (runtime bug).
    State(Pid, StateError),
    /// Spawn only: the run queues have no room for one more process and the heap
    /// refused to grow them (see "Room in the queues"); nothing was changed.
    NoMemory,
}

/// Counts of balance passes so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct BalanceStats {
    /// Half-time passes.
    pub halftime_passes: u64,
    /// Full passes.
    pub full_passes: u64,
    /// Active queues now.
    pub active: usize,
}

/// Scheduling metadata of one process slot.
#[derive(Default)]
struct ProcSched {
    state: ProcState,
    affinity: AtomicU64,
}

/// The scheduler (see the module doc).
pub struct Scheduler {
    topo: Topology,
    cfg: Config,
    queues: Box<[RunQueue]>,
    procs: Box<[ProcSched]>,
    /// Cores whose last pick found nothing and that are not asleep.
    seeking: AtomicU64,
    active: AtomicUsize,
    balancer: Mutex<Balancer>,
    halftime_passes: AtomicU64,
    full_passes: AtomicU64,
    /// Spare FIFO capacity minus live processes not queued (see "Room in the queues").
    slack: AtomicI64,
    /// Slack above which the next exit looks for FIFOs to shrink.
    shrink_at: AtomicI64,
}

/// Slack (entries of spare run-queue capacity beyond what accepted processes may
/// need) that makes an exit look for FIFOs to shrink: 8 KiB of entries.
const SHRINK_SLACK: i64 = 1024;

/// Queued entries per FIFO that "wake other" inspects for one it may hand to a core.
const WAKE_SCAN: usize = 32; // the module doc quotes this number

fn mask_bit(core: CoreId) -> u64 {
    1u64 << core.index()
}

impl Scheduler {
    /// A scheduler for `topo` with room for `max_procs` processes (pids `0..max_procs`).
    pub fn new(topo: Topology, max_procs: usize, cfg: Config) -> Self {
        let reds = cfg.check_balance_reds.max(1);
        let queues: Vec<RunQueue> = (0..topo.len()).map(|_| RunQueue::new(reds as i64)).collect();
        let procs: Vec<ProcSched> = (0..max_procs).map(|_| ProcSched::default()).collect();
        let balancer = Balancer::new(&topo, 2 * reds);
        let capacity: usize = queues.iter().map(|q| q.lock().capacity()).sum();
        Scheduler {
            slack: AtomicI64::new(capacity as i64),
            shrink_at: AtomicI64::new(SHRINK_SLACK),
            active: AtomicUsize::new(topo.len()),
            topo,
            cfg,
            queues: queues.into_boxed_slice(),
            procs: procs.into_boxed_slice(),
            seeking: AtomicU64::new(0),
            balancer: Mutex::new(balancer),
            halftime_passes: AtomicU64::new(0),
            full_passes: AtomicU64::new(0),
        }
    }

    /// The machine.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// Size of the process table.
    pub fn max_procs(&self) -> usize {
        self.procs.len()
    }
    /// The run queue of `core` (lock-free reads: lengths, flags, paths).
    pub fn queue(&self, core: CoreId) -> &RunQueue {
        &self.queues[core.index()]
    }

    fn proc(&self, pid: Pid) -> Result<&ProcSched, SchedError> {
        self.procs.get(pid.index()).ok_or(SchedError::NoSuchPid(pid))
    }

    fn check_core(&self, core: CoreId) -> Result<(), SchedError> {
        if core.index() < self.topo.len() {
            Ok(())
        } else {
            Err(SchedError::NoSuchCore(core))
        }
    }

    fn affinity_of_slot(&self, ps: &ProcSched) -> CpuSet {
        // Acquire: pairs with the Release store in `enqueue`/`set_affinity`.
        CpuSet::from_bits(ps.affinity.load(Ordering::Acquire))
    }

    /// The affinity of `pid`.
    pub fn affinity(&self, pid: Pid) -> Result<CpuSet, SchedError> {
        Ok(self.affinity_of_slot(self.proc(pid)?))
    }

    /// The state word of `pid`.
    pub fn state(&self, pid: Pid) -> Result<StateSnapshot, SchedError> {
        Ok(self.proc(pid)?.state.load())
    }

    fn is_inactive(&self, core: CoreId) -> bool {
        self.queue(core).flags() & rq_flags::INACTIVE != 0
    }

    /// Least loaded core of `set` (fewest queued, active before inactive, lowest index).
    fn least_loaded(&self, set: CpuSet) -> CoreId {
        let mut best: Option<(bool, u32, CoreId)> = None;
        for c in set.and(self.topo.all()).iter() {
            let key = (self.is_inactive(c), self.queue(c).total_len(), c);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|b| b.2).unwrap_or(CoreId::new(0))
    }

    /// The queue a process starts from: `preferred` if allowed, else the least loaded.
    fn home(&self, aff: CpuSet, preferred: CoreId) -> CoreId {
        if aff.contains(preferred) && preferred.index() < self.topo.len() {
            preferred
        } else {
            self.least_loaded(aff)
        }
    }

    /// The (preferred, other) core classes of `prio` on a machine with both classes
    /// and class placement on; `None` for normal priority (balanced by capacity).
    fn class_sets(&self, prio: Priority) -> Option<(CpuSet, CpuSet)> {
        if !self.cfg.class_placement || !self.topo.is_heterogeneous() {
            return None;
        }
        let (p, e) = (self.topo.performance(), self.topo.efficiency());
        match prio {
            Priority::Max | Priority::High => Some((p, e)),
            Priority::Low => Some((e, p)),
            Priority::Normal => None,
        }
    }

    /// The core of `set` where a `prio` process waits behind the fewest others:
    /// active before inactive, then fewest competing, then `start`, then lowest index.
    /// On `ran_on` the running process is the one being placed and does not count.
    fn least_competing(
        &self,
        set: CpuSet,
        prio: Priority,
        start: CoreId,
        ran_on: Option<CoreId>,
    ) -> Option<(CoreId, u32)> {
        let mut best: Option<(bool, u32, bool, CoreId)> = None;
        for c in set.and(self.topo.all()).iter() {
            let q = self.queue(c);
            let mut n = q.competing(prio);
            if Some(c) == ran_on && q.running().is_some() {
                n = n.saturating_sub(1);
            }
            let key = (self.is_inactive(c), n, c != start, c);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|b| (b.3, if b.0 { u32::MAX } else { b.1 }))
    }

    /// Preference with spill-over (see the module doc): a free core of the preferred
    /// class, else a free core of the other class, else the start queue unless it is
    /// busier by 2 or more than the least busy preferred core. "Free" = active, and a
    /// `prio` process placed there would run at once.
    fn class_choice(
        &self,
        prio: Priority,
        pref: CpuSet,
        other: CpuSet,
        start: CoreId,
        ran_on: Option<CoreId>,
    ) -> CoreId {
        let Some((best, load)) = self.least_competing(pref, prio, start, ran_on) else {
            return start;
        };
        if load == 0 {
            return best;
        }
        if let Some((spill, 0)) = self.least_competing(other, prio, start, ran_on) {
            return spill;
        }
        match self.least_competing(CpuSet::single(start), prio, start, ran_on) {
            Some((_, here)) if here <= load.saturating_add(1) => start,
            _ => best,
        }
    }

    /// Class preference, then emigration (see the module doc). Always within `aff`.
    /// `ran_on`: the core the process has just been running on, if any.
    fn place(&self, prio: Priority, aff: CpuSet, start: CoreId, ran_on: Option<CoreId>) -> CoreId {
        let mut t = start;
        let classes = self.class_sets(prio);
        if let Some((pref, other)) = classes {
            t = self.class_choice(prio, aff.and(pref), aff.and(other), start, ran_on);
        }
        let q = self.queue(t);
        let path = q.path(prio);
        if path.kind == PathKind::Emigrate {
            let to = path.other_core();
            if to != t && to.index() < self.topo.len() && aff.contains(to) {
                // Balancing paths only move class-preferring work within its class;
                // leaving an inactive queue always goes.
                let same_class = classes.is_none() || self.topo.core(to).class == self.topo.core(t).class;
                let go = q.flags() & rq_flags::INACTIVE != 0
                    || (same_class
                        && (path.evacuate
                            || (q.len(prio) >= path.limit_here && self.queue(to).len(prio) < path.limit_other)));
                if go {
                    t = to;
                }
            }
        }
        t
    }

    /// Inserts a process the caller holds (won the wake-up, or removed from a queue):
    /// into `core`'s FIFO for `prio`, grown if full and the heap allows, else wherever
    /// there is room (see "Room in the queues"). Returns the cores to interrupt.
    fn insert(&self, core: CoreId, pid: Pid, prio: Priority) -> CpuSet {
        if let Some(wake) = self.try_insert(core, prio.fifo(), pid, prio, true) {
            return wake;
        }
        let aff = self.affinity_of_slot(&self.procs[pid.index()]);
        let others = (0..self.topo.len()).map(CoreId::new).filter(|&c| c != core);
        // The invariant guarantees a spare entry; passes repeat only while other cores
        // move entries around. Not finding one in many passes is a broken invariant.
        for _ in 0..1000 {
            let here = (0..3).map(|fifo| (core, fifo));
            let near = others.clone().filter(|&c| aff.contains(c)).flat_map(|c| (0..3).map(move |fifo| (c, fifo)));
            let far = others.clone().filter(|&c| !aff.contains(c)).flat_map(|c| (0..3).map(move |fifo| (c, fifo)));
            for (c, fifo) in here.chain(near).chain(far) {
                if let Some(wake) = self.try_insert(c, fifo, pid, prio, false) {
                    return wake;
                }
            }
            core::hint::spin_loop();
        }
        panic!("run queues: no spare entry for {pid:?} although every accepted process has one")
    }

    /// Inserts into FIFO `fifo` of `core` if it has room, after growing it when `grow`.
    fn try_insert(&self, core: CoreId, fifo: usize, pid: Pid, prio: Priority, grow: bool) -> Option<CpuSet> {
        let q = self.queue(core);
        let old = {
            let mut f = q.lock();
            if grow && f.spare(fifo) == 0 {
                self.add_slack(q.try_grow(&mut f, fifo));
            }
            if f.spare(fifo) == 0 {
                return None;
            }
            self.procs[pid.index()].state.set_runq(core);
            q.push(&mut f, fifo, pid, prio)?
        };
        Some(if old & rq_flags::SLEEPING != 0 { CpuSet::single(core) } else { CpuSet::EMPTY })
    }

    fn add_slack(&self, entries: usize) {
        // Relaxed: a counter; the queue locks order the capacities it stands for.
        self.slack.fetch_add(entries as i64, Ordering::Relaxed);
    }

    /// Shrinks every FIFO much larger than what it holds (see "Room in the queues").
    fn shrink_queues(&self) {
        let mut capacity = 0;
        for q in self.queues.iter() {
            let mut f = q.lock();
            for fifo in 0..3 {
                q.shrink(&mut f, fifo, |n| self.take_slack(n as i64), |n| self.add_slack(n));
            }
            capacity += f.capacity() as i64;
        }
        // Relaxed: hints (see `release`). Once every process is gone the slack is the
        // whole capacity: the look after the last exit always comes.
        let left = self.slack.load(Ordering::Relaxed);
        self.shrink_at.store(Self::next_look(left).min(capacity - 1).max(SHRINK_SLACK), Ordering::Relaxed);
    }

    /// The slack at which exits look for FIFOs to shrink again, when `left` is the
    /// slack now: `SHRINK_SLACK` more, or half as much again if that is more.
    fn next_look(left: i64) -> i64 {
        left.saturating_add((left / 2).max(SHRINK_SLACK))
    }

    /// Takes `n` units of slack if that leaves it non-negative.
    fn take_slack(&self, n: i64) -> bool {
        // Relaxed: a counter (see `add_slack`); the CAS makes each unit taken once.
        let mut cur = self.slack.load(Ordering::Relaxed);
        while cur >= n {
            match self.slack.compare_exchange_weak(cur, cur - n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
        false
    }

    /// Takes one unit of slack for a process about to be spawned on `core` at `prio`,
    /// growing that FIFO when none is left; `NoMemory` if the heap refuses.
    fn reserve_entry(&self, core: CoreId, prio: Priority) -> Result<(), SchedError> {
        loop {
            if self.take_slack(1) {
                // Fewer spare entries: the next look for FIFOs to shrink comes sooner.
                // Relaxed: hints (see `release`).
                let next = Self::next_look(self.slack.load(Ordering::Relaxed));
                if next < self.shrink_at.load(Ordering::Relaxed) {
                    self.shrink_at.store(next, Ordering::Relaxed);
                }
                return Ok(());
            }
            let q = self.queue(core);
            let gained = q.try_grow(&mut q.lock(), prio.fifo());
            if gained == 0 {
                return Err(SchedError::NoMemory);
            }
            self.add_slack(gained);
        }
    }

    /// Places and inserts a held process that was last on `runq`; `ran_here`: it has
    /// just been running on `runq` (schedule-out), so that core's running slot is itself.
    fn requeue(&self, pid: Pid, prio: Priority, runq: CoreId, ran_here: bool) -> (CoreId, CpuSet) {
        let aff = self.affinity_of_slot(&self.procs[pid.index()]);
        let start = self.home(aff, runq);
        let target = self.place(prio, aff, start, ran_here.then_some(runq));
        if target != start {
            Counters::bump(&self.queue(start).stats.migrations_out, 1);
            Counters::bump(&self.queue(target).stats.migrations_in, 1);
        }
        (target, self.insert(target, pid, prio))
    }

    fn wakeup_from(&self, pid: Pid, w: WakeTransition) -> Wakeup {
        match w {
            WakeTransition::Enqueue { runq, prio } => {
                let (core, wake) = self.requeue(pid, prio, runq, false);
                Wakeup::Queued { core, wake }
            }
            WakeTransition::AlreadyActive => Wakeup::AlreadyRunnable,
            WakeTransition::NotedWhileRunning => Wakeup::NotedWhileRunning,
            WakeTransition::Suspended => Wakeup::Suspended,
            WakeTransition::Dead => Wakeup::Dead,
        }
    }

    /// Spawn: registers `pid` with `prio` and `affinity` and queues it, starting from
    /// the parent's core `from` (BEAM: the parent's run queue).
    pub fn enqueue(&self, pid: Pid, prio: Priority, affinity: CpuSet, from: CoreId) -> Result<Placed, SchedError> {
        let ps = self.proc(pid)?;
        let aff = affinity.and(self.topo.all());
        if aff.is_empty() {
            return Err(SchedError::EmptyAffinity);
        }
        let start = self.home(aff, from);
        let core = self.place(prio, aff, start, None);
        self.reserve_entry(core, prio)?;
        if let Err(e) = ps.state.spawn(core, prio) {
            self.add_slack(1);
            return Err(SchedError::State(pid, e));
        }
        // Release: whoever finds the process in a queue (after the queue lock) sees it.
        ps.affinity.store(aff.bits(), Ordering::Release);
        if core != start {
            Counters::bump(&self.queue(core).stats.migrations_in, 1);
        }
        Ok(Placed { core, wake: self.insert(core, pid, prio) })
    }

    /// A message or timeout arrived for `pid`: exactly one concurrent caller per wait
    /// gets [`Wakeup::Queued`]. Push the message *before* calling this.
    pub fn wake(&self, pid: Pid) -> Wakeup {
        match self.proc(pid) {
            Ok(ps) => self.wakeup_from(pid, ps.state.try_make_runnable()),
            Err(_) => Wakeup::Dead,
        }
    }

    /// Asks `pid` to exit (see [`ProcState::request_exit`]).
    pub fn request_exit(&self, pid: Pid) -> Wakeup {
        match self.proc(pid) {
            Ok(ps) => self.wakeup_from(pid, ps.state.request_exit()),
            Err(_) => Wakeup::Dead,
        }
    }

    /// Suspends `pid`; `false` if it already was or is not live.
    pub fn suspend(&self, pid: Pid) -> bool {
        self.proc(pid).is_ok_and(|ps| ps.state.suspend())
    }

    /// Resumes `pid`, queueing it if it has work.
    pub fn resume(&self, pid: Pid) -> Wakeup {
        match self.proc(pid) {
            Ok(ps) => self.wakeup_from(pid, ps.state.resume()),
            Err(_) => Wakeup::Dead,
        }
    }

    /// Changes the priority; it applies from the process's next enqueue.
    pub fn set_priority(&self, pid: Pid, prio: Priority) -> Result<(), SchedError> {
        self.proc(pid)?.state.set_prio(prio).map_err(|e| SchedError::State(pid, e))
    }

    /// Changes the affinity. A queued process outside the new set is moved now; a
    /// running one at its next schedule-out. Returns cores to interrupt.
    pub fn set_affinity(&self, pid: Pid, affinity: CpuSet) -> Result<CpuSet, SchedError> {
        let ps = self.proc(pid)?;
        let aff = affinity.and(self.topo.all());
        if aff.is_empty() {
            return Err(SchedError::EmptyAffinity);
        }
        // Release: a core that later reads the affinity under a queue lock sees it.
        ps.affinity.store(aff.bits(), Ordering::Release);
        loop {
            let s = ps.state.load();
            if !s.has(crate::state::flags::IN_RUNQ) || s.has(crate::state::flags::RUNNING) {
                return Ok(CpuSet::EMPTY);
            }
            let r = s.runq();
            let q = self.queue(r);
            let found = {
                let mut f = q.lock();
                if ps.state.load().runq() != r {
                    None
                } else if aff.contains(r) {
                    // Present here and allowed: done. Absent: in transit, look again.
                    let present = (0..3).any(|i| f.fifo(i).iter().any(|e| e.pid == pid));
                    if present {
                        return Ok(CpuSet::EMPTY);
                    }
                    None
                } else {
                    q.remove_pid(&mut f, pid)
                }
            };
            match found {
                Some(e) => {
                    let (_, wake) = self.requeue(pid, e.prio, r, false);
                    return Ok(wake);
                }
                None => core::hint::spin_loop(),
            }
        }
    }

    /// The core-class rules for taking `e` onto `core` from another queue (see the
    /// module doc): a core of the class `e` does not prefer leaves it to seeking cores
    /// of the preferred class; E cores leave normal work to seeking P cores.
    fn class_allows(&self, core: CoreId, e: &Entry, aff: CpuSet, stealing: bool) -> bool {
        if !self.cfg.class_placement || !self.topo.is_heterogeneous() || !stealing {
            return true;
        }
        let pref = match self.class_sets(e.prio) {
            Some((pref, _)) => pref,
            None if self.topo.is_performance(core) => return true,
            None => self.topo.performance(),
        };
        if pref.contains(core) {
            return true;
        }
        // Relaxed: a hint; a stale view only delays or hastens one steal.
        aff.and(pref).bits() & self.seeking.load(Ordering::Relaxed) == 0
    }

    /// Whether `core` may take `e` from another queue (stealing or immigration).
    fn may_take(&self, core: CoreId, e: &Entry, stealing: bool) -> bool {
        let aff = self.affinity_of_slot(&self.procs[e.pid.index()]);
        aff.contains(core) && !aff.is_bound() && self.class_allows(core, e, aff, stealing)
    }

    /// Pulls one process per immigrating priority (BEAM `immigrate`). Returns the
    /// last one moved and its source.
    fn immigrate(&self, core: CoreId) -> Option<(Pid, CoreId)> {
        let q = self.queue(core);
        let mut last = None;
        for prio in Priority::ALL {
            let path: MigrationPath = q.path(prio);
            if path.kind != PathKind::Immigrate {
                continue;
            }
            let src = path.other_core();
            if src == core || src.index() >= self.topo.len() {
                continue;
            }
            let sq = self.queue(src);
            let sfl = sq.flags();
            if sfl & rq_flags::PROTECTED != 0 {
                continue;
            }
            let go = path.evacuate
                || sfl & rq_flags::INACTIVE != 0
                || (q.len(prio) < path.limit_here && sq.len(prio) > path.limit_other);
            if !go {
                continue;
            }
            let moved = {
                let mut f = sq.lock();
                let e = sq.remove_first(&mut f, prio.fifo(), |e| e.prio == prio && self.may_take(core, e, false));
                if let Some(e) = e {
                    self.procs[e.pid.index()].state.set_runq(core);
                }
                e
            };
            if let Some(e) = moved {
                let _ = self.insert(core, e.pid, e.prio);
                Counters::bump(&sq.stats.migrations_out, 1);
                Counters::bump(&q.stats.migrations_in, 1);
                last = Some((e.pid, src));
            }
        }
        last
    }

    /// Takes the next process from `core`'s own queue onto `core`.
    fn pick_local(&self, core: CoreId, wake: &mut CpuSet) -> Option<(Entry, bool)> {
        let q = self.queue(core);
        loop {
            let (picked, misplaced) = {
                let mut f = q.lock();
                loop {
                    let e = q.pop_next(&mut f)?;
                    let ps = &self.procs[e.pid.index()];
                    if !self.affinity_of_slot(ps).contains(core) {
                        break (None, Some(e));
                    }
                    match ps.state.schedule_in(core) {
                        ScheduleIn::Run { exiting } => break (Some((e, exiting)), None),
                        ScheduleIn::Skip => continue,
                    }
                }
            };
            if let Some(e) = misplaced {
                // Only after a `set_affinity` race: move it where it may run.
                let (_, w) = self.requeue(e.pid, e.prio, core, false);
                *wake = wake.or(w);
                continue;
            }
            return picked;
        }
    }

    /// Steals from one victim: the first stealable process of its highest non-empty
    /// priority FIFO that has one (BEAM `try_steal_task_from_victim`).
    fn steal_from(&self, thief: CoreId, victim: CoreId) -> Option<(Entry, bool)> {
        let vq = self.queue(victim);
        let mut f = vq.lock();
        for fifo in 0..3 {
            while let Some(e) = vq.remove_first(&mut f, fifo, |e| self.may_take(thief, e, true)) {
                match self.procs[e.pid.index()].state.schedule_in(thief) {
                    ScheduleIn::Run { exiting } => return Some((e, exiting)),
                    ScheduleIn::Skip => continue,
                }
            }
        }
        None
    }

    /// BEAM `try_steal_task`: inactive victims first, then active ones, each in
    /// [`Topology::steal_order`].
    fn try_steal(&self, thief: CoreId) -> Option<(Entry, bool, CoreId)> {
        if !self.cfg.stealing || self.is_inactive(thief) {
            return None;
        }
        let q = self.queue(thief);
        q.set_flags(rq_flags::PROTECTED);
        // Relaxed: only the owning core uses its rotation counter.
        let rot = q.steal_rotation.fetch_add(1, Ordering::Relaxed) as usize;
        let mut found = None;
        'passes: for want_inactive in [true, false] {
            for v in self.topo.steal_order(thief, rot) {
                let fl = self.queue(v).flags();
                // A sleeping victim with queued work has a wake-up IPI on its way for
                // exactly that work: taking it would turn the IPI into an empty wake-up.
                if (fl & rq_flags::INACTIVE != 0) != want_inactive
                    || fl & rq_flags::NONEMPTY_MASK == 0
                    || fl & (rq_flags::PROTECTED | rq_flags::SLEEPING) != 0
                {
                    continue;
                }
                if let Some((e, exiting)) = self.steal_from(thief, v) {
                    found = Some((e, exiting, v));
                    break 'passes;
                }
            }
        }
        q.clear_flags(rq_flags::PROTECTED);
        found
    }

    /// The next process for `core` to run: immigration, own queue, then stealing.
    /// `None` marks the core out of work (and, for a P core, seeking work).
    pub fn pick_next(&self, core: CoreId) -> Option<Pick> {
        if core.index() >= self.topo.len() {
            return None;
        }
        let q = self.queue(core);
        let inactive = self.is_inactive(core);
        let immigrated =
            if !inactive && q.flags() & (0xf << rq_flags::IMMIGRATE_SHIFT) != 0 { self.immigrate(core) } else { None };
        let mut wake = CpuSet::EMPTY;
        let (e, exiting, source) = if let Some((e, exiting)) = self.pick_local(core, &mut wake) {
            let source = match immigrated {
                Some((pid, from)) if pid == e.pid => PickSource::Immigrated { from },
                _ => PickSource::Local,
            };
            (e, exiting, source)
        } else if let Some((e, exiting, from)) = self.try_steal(core) {
            Counters::bump(&q.stats.steals, 1);
            Counters::bump(&self.queue(from).stats.migrations_out, 1);
            (e, exiting, PickSource::Stolen { from })
        } else {
            q.set_flags(rq_flags::IDLE | rq_flags::OUT_OF_WORK | rq_flags::HALFTIME_OUT_OF_WORK);
            q.set_running(None);
            if !inactive {
                // Relaxed: a hint read by cores of the other class (see `class_allows`).
                self.seeking.fetch_or(mask_bit(core), Ordering::Relaxed);
            }
            return None;
        };
        q.clear_flags(rq_flags::IDLE | rq_flags::SLEEPING);
        q.set_running(Some(e.prio));
        // Relaxed: a hint (see `class_allows`).
        self.seeking.fetch_and(!mask_bit(core), Ordering::Relaxed);
        Counters::bump(&q.stats.context_switches, 1);
        Some(Pick { pid: e.pid, prio: e.prio, budget: CONTEXT_REDS, source, exiting, wake })
    }

    /// `pid`, which ran on `core` and used `used` counted reductions, stopped for
    /// `reason`. Requeues it if it stays runnable, charges the reductions, runs a
    /// balance pass when this queue's counter expires and may ask to wake another core.
    pub fn schedule_out(
        &self,
        core: CoreId,
        pid: Pid,
        used: Reductions,
        reason: OutReason,
    ) -> Result<ScheduledOut, SchedError> {
        self.check_core(core)?;
        let ps = self.proc(pid)?;
        let kind = match reason {
            OutReason::BudgetSpent | OutReason::Yielded => OutKind::Runnable,
            OutReason::Waiting { .. } => OutKind::Wait,
            OutReason::Exited(_) | OutReason::Faulted(_) => OutKind::Exit,
        };
        let tr = ps.state.schedule_out(kind).map_err(|e| SchedError::State(pid, e))?;
        let q = self.queue(core);
        let prio = ps.state.load().prio();
        // Relaxed: per-period statistics (see `RunQueue::sample_and_reset`).
        q.reds[prio.index()].fetch_add(used.get(), Ordering::Relaxed);
        Counters::bump(&q.stats.reductions, used.get());
        Counters::bump(&q.stats.reductions_by_prio[prio.index()], used.get());
        let charge = balance_charge(used) as i64;
        // Relaxed: a countdown; only its crossing of zero matters and balancing is
        // serialised by the balancer lock.
        let left = q.check_balance_reds.fetch_sub(charge, Ordering::Relaxed) - charge;
        let mut wake = CpuSet::EMPTY;
        let action = match tr {
            OutTransition::Requeue { prio } => {
                let (c, w) = self.requeue(pid, prio, core, true);
                wake = wake.or(w);
                OutAction::Requeued { core: c }
            }
            OutTransition::Wait => OutAction::Waiting {
                timeout: match reason {
                    OutReason::Waiting { timeout } => timeout,
                    _ => None,
                },
            },
            OutTransition::Parked => OutAction::Parked,
            OutTransition::Exit => match reason {
                OutReason::Faulted(f) => OutAction::Faulted(f),
                OutReason::Exited(r) => OutAction::Exited(r),
                _ => OutAction::Exited(ExitReason::Normal),
            },
            OutTransition::Killed => OutAction::Killed,
        };
        // Only now: while a requeue placed the process, this core still counted as
        // running it (a core between two slices must not look free to other cores).
        q.set_running(None);
        wake = wake.or(self.wakeup_other(core, used));
        let balance = if left <= 0 { self.balance_pass(false) } else { None };
        Ok(ScheduledOut { action, wake, balance })
    }

    /// BEAM `wakeup_other_check` (medium): work piling up here wakes a sleeping core.
    fn wakeup_other(&self, core: CoreId, used: Reductions) -> CpuSet {
        let q = self.queue(core);
        let left = q.total_len() as i64 - 1;
        let r = used.get() as i64;
        // Relaxed: only the owning core touches its counter.
        let wo = q.wakeup_other.load(Ordering::Relaxed);
        let new = if left >= 1 { wo + left * r + MIN_CONTEXT_SWITCH_REDS as i64 } else { (wo - r).max(0) };
        if new <= self.cfg.wakeup_other_threshold {
            q.wakeup_other.store(new, Ordering::Relaxed);
            return CpuSet::EMPTY;
        }
        q.wakeup_other.store(0, Ordering::Relaxed);
        // Only a core that may take something queued here is worth an interrupt: the
        // preferred class of the most urgent queued work first, then the rest. An idle
        // core that is still spinning will steal by itself.
        let top = Priority::ALL.into_iter().find(|&p| q.len(p) > 0).unwrap_or(Priority::Normal);
        let (first, second) = self.class_sets(top).unwrap_or((self.topo.performance(), self.topo.efficiency()));
        for c in first.iter().chain(second.iter()) {
            let fl = self.queue(c).flags();
            if c == core || fl & rq_flags::INACTIVE != 0 || fl & rq_flags::NONEMPTY_MASK != 0 {
                continue;
            }
            if fl & (rq_flags::SLEEPING | rq_flags::IDLE) == 0 || !self.could_take(c, core) {
                continue;
            }
            if fl & rq_flags::SLEEPING != 0 {
                return CpuSet::single(c);
            }
            return CpuSet::EMPTY;
        }
        // Every active core is busy: re-activate the first inactive queue in compaction
        // order that may take something here (BEAM `wake_scheduler_on_empty_runq`
        // raises the active count).
        let order = self.topo.compaction_order().iter().copied();
        if let Some(c) = order.filter(|&c| c != core && self.is_inactive(c)).find(|&c| self.could_take(c, core)) {
            self.reactivate(c);
            return CpuSet::single(c);
        }
        CpuSet::EMPTY
    }

    /// Whether `thief` could steal something queued on `victim` now (the first
    /// `WAKE_SCAN` entries of each FIFO are looked at, under the victim's lock).
    fn could_take(&self, thief: CoreId, victim: CoreId) -> bool {
        let vq = self.queue(victim);
        let f = vq.lock();
        (0..3).any(|fifo| f.fifo(fifo).iter().take(WAKE_SCAN).any(|e| self.may_take(thief, e, true)))
    }

    fn reactivate(&self, core: CoreId) {
        let q = self.queue(core);
        for p in Priority::ALL {
            q.set_path(p, MigrationPath::default());
        }
        q.set_migration_flags(0);
        // Relaxed: the count is advisory input to the next balance pass.
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs the next balance pass now (half-time or full, as due), as if a queue's
    /// counter had expired. `None` if another core is balancing or there is one core.
    pub fn check_balance(&self) -> Option<BalancePass> {
        self.balance_pass(false)
    }

    /// A full pass now, without compaction (BEAM's forced check).
    pub fn force_balance(&self) -> Option<BalancePass> {
        self.balance_pass(true)
    }

    fn balance_pass(&self, forced: bool) -> Option<BalancePass> {
        let reset = self.cfg.check_balance_reds.max(1) as i64;
        if self.queues.len() == 1 {
            // Relaxed: countdown (see `schedule_out`).
            self.queues[0].check_balance_reds.store(i64::MAX, Ordering::Relaxed);
            return None;
        }
        let mut b = self.balancer.try_lock()?;
        if !forced && b.next_is_halftime() {
            for q in self.queues.iter() {
                if q.flags() & rq_flags::IDLE != 0 {
                    q.set_flags(rq_flags::HALFTIME_OUT_OF_WORK);
                } else {
                    q.clear_flags(rq_flags::HALFTIME_OUT_OF_WORK);
                }
                // Relaxed: countdown.
                q.check_balance_reds.store(reset, Ordering::Relaxed);
            }
            b.halftime_done();
            Counters::bump(&self.halftime_passes, 1);
            return Some(BalancePass::Halftime);
        }
        // Into the balancer's own buffers: a pass allocates nothing (see `balance`).
        for (s, q) in b.samples_mut().iter_mut().zip(self.queues.iter()) {
            *s = q.sample_and_reset();
        }
        // Relaxed: advisory (see `reactivate`).
        let current = self.active.load(Ordering::Relaxed).min(self.queues.len());
        let plan = b.full_pass_on_samples(current, self.cfg.compaction, forced);
        for (i, qp) in plan.queues.iter().enumerate() {
            let q = &self.queues[i];
            let mut bits = 0u32;
            for p in Priority::ALL {
                let path = qp.paths[p.index()];
                q.set_path(p, path);
                let bit = 1u32 << p.index();
                match path.kind {
                    PathKind::Emigrate => bits |= bit << rq_flags::EMIGRATE_SHIFT,
                    PathKind::Immigrate => bits |= bit << rq_flags::IMMIGRATE_SHIFT,
                    PathKind::None => {}
                }
                if path.evacuate {
                    bits |= bit << rq_flags::EVACUATE_SHIFT;
                }
            }
            if qp.inactive {
                bits |= rq_flags::INACTIVE;
                // Relaxed: hint (see `class_allows`); inactive cores do not steal.
                self.seeking.fetch_and(!mask_bit(CoreId::new(i)), Ordering::Relaxed);
            }
            q.set_migration_flags(bits);
            if q.flags() & rq_flags::IDLE != 0 {
                q.set_flags(rq_flags::OUT_OF_WORK | rq_flags::HALFTIME_OUT_OF_WORK);
            } else {
                q.clear_flags(rq_flags::OUT_OF_WORK | rq_flags::HALFTIME_OUT_OF_WORK);
            }
            // Relaxed: countdown.
            q.check_balance_reds.store(reset, Ordering::Relaxed);
        }
        // Relaxed: advisory.
        self.active.store(plan.active, Ordering::Relaxed);
        Counters::bump(&self.full_passes, 1);
        Some(BalancePass::Full { active: plan.active, compacted: plan.compacted })
    }

    /// The core is about to sleep. [`SleepDecision::Retry`] if work arrived.
    pub fn prepare_sleep(&self, core: CoreId) -> SleepDecision {
        if core.index() >= self.topo.len() {
            return SleepDecision::Sleep;
        }
        // Relaxed: a hint (see `class_allows`).
        self.seeking.fetch_and(!mask_bit(core), Ordering::Relaxed);
        let q = self.queue(core);
        let old = q.set_flags(rq_flags::SLEEPING);
        if old & rq_flags::NONEMPTY_MASK != 0 {
            q.clear_flags(rq_flags::SLEEPING);
            SleepDecision::Retry
        } else {
            SleepDecision::Sleep
        }
    }

    /// The core woke from sleep.
    pub fn woke(&self, core: CoreId) {
        if core.index() < self.topo.len() {
            self.queue(core).clear_flags(rq_flags::SLEEPING);
        }
    }

    /// The core switches to `activity` at time `now` (runtime units, monotonic).
    pub fn account(&self, core: CoreId, activity: Activity, now: u64) {
        if core.index() < self.topo.len() {
            self.queue(core).stats.account(activity, now);
        }
    }

    /// Frees `pid`'s slot after its exit was handled.
    pub fn release(&self, pid: Pid) -> Result<(), SchedError> {
        let ps = self.proc(pid)?;
        ps.state.release().map_err(|e| SchedError::State(pid, e))?;
        // Relaxed: the slot is free; the next spawn's Release store publishes anew.
        ps.affinity.store(0, Ordering::Relaxed);
        // The process will never be queued again: its reserved entry is spare.
        self.add_slack(1);
        // Relaxed: hints; `shrink_queues` takes slack with a CAS.
        if self.slack.load(Ordering::Relaxed) > self.shrink_at.load(Ordering::Relaxed) {
            self.shrink_queues();
        }
        Ok(())
    }

    /// Entries `core`'s run queue can hold without allocating (its memory, for `mem`
    /// and tests).
    pub fn run_queue_capacity(&self, core: CoreId) -> usize {
        self.queue(core).lock().capacity()
    }

    /// Statistics of `core`.
    pub fn stats(&self, core: CoreId) -> CoreStats {
        let q = self.queue(core);
        q.stats.snapshot(q.lens())
    }

    /// Queued processes per priority on `core` (BEAM `run_queue_lengths`).
    pub fn run_queue_lengths(&self, core: CoreId) -> [u32; 4] {
        self.queue(core).lens()
    }

    /// Balance pass counts and the number of active queues.
    pub fn balance_stats(&self) -> BalanceStats {
        // Relaxed: statistics.
        BalanceStats {
            halftime_passes: self.halftime_passes.load(Ordering::Relaxed),
            full_passes: self.full_passes.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
        }
    }

    /// Whether `core`'s queue is inactive (compaction).
    pub fn is_queue_inactive(&self, core: CoreId) -> bool {
        self.is_inactive(core)
    }

    /// Calls `f(pid, prio)` for every process queued on `core`, in queue order, under
    /// the queue lock (for the console and for tests; keep `f` short).
    pub fn for_each_queued(&self, core: CoreId, mut f: impl FnMut(Pid, Priority)) {
        let q = self.queue(core);
        let g = q.lock();
        for fifo in 0..3 {
            for e in g.fifo(fifo) {
                f(e.pid, e.prio);
            }
        }
    }
}
