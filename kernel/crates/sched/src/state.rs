//! The process scheduling state: one atomic 32-bit word per process.
//!
//! What: whether a process is live, runnable (ACTIVE), queued (IN_RUNQ), running,
//! waiting for a message, suspended or exiting, plus the run queue it belongs to and
//! its priority, all in one `AtomicU32` so that every transition is a single CAS and
//! every reader sees the flags, the queue and the priority of the same instant.
//!
//! Why one word: a message can arrive from many senders at once while the owner's
//! scheduler is taking it off the CPU. Exactly one of them must enqueue it, and a
//! wake-up that races with "going to wait" must never be lost. With one word the
//! CAS order decides both: [`ProcState::try_make_runnable`] returns
//! [`WakeTransition::Enqueue`] to exactly one caller per wait.
//!
//! BEAM (`erl_process.h` `ERTS_PSFLG_*`, `erl_process.c` `change_proc_schedule_state`,
//! `schedule_out_process`, `erts_try_change_runq_proc`): the same idea; there the run
//! queue index and the queued priority also live in the state word. A wake-up of a
//! *running* process sets ACTIVE again and `schedule_out_process` requeues it. Here a
//! separate [`flags::WAKE_PENDING`] bit plays that role so that ACTIVE keeps one
//! meaning ("has work").
//!
//! Layout: bits 0..=7 flags, bits 8..=15 run queue (core index), bits 16..=17
//! priority.
//!
//! Memory ordering, once for the whole module: every transition is a CAS with
//! `AcqRel` on success (Release publishes what the caller wrote before, e.g. a message
//! pushed into the mailbox, to whoever next transitions the word; Acquire makes the
//! caller see what earlier transitions published) and `Acquire` on failure (the
//! reloaded value is used to decide the next attempt). Even transitions that change
//! nothing write the word back (CAS `s -> s`): the write is what puts a waker into the
//! word's release sequence, so the owner's next CAS (schedule-in or schedule-out)
//! acquires the waker's mailbox push. A plain load in the "already active" path would
//! be the store-buffer pattern and could miss it.

use crate::ids::{CoreId, Priority};
use crate::sync::{AtomicU32, Ordering};

bitflags::bitflags! {
    /// The flag bits of the state word (bits 0..=7).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct StateFlags: u32 {
        /// The slot holds a process (set at spawn, cleared by release).
        const LIVE = 1 << 0;
        /// The process has work: it is queued, running, or would be if not suspended.
        const ACTIVE = 1 << 1;
        /// The process is in exactly one run queue (or being carried to one).
        const IN_RUNQ = 1 << 2;
        /// A core is executing the process.
        const RUNNING = 1 << 3;
        /// The process waits for a message (or a timeout).
        const WAITING = 1 << 4;
        /// The process is suspended: it is not run even when ACTIVE.
        const SUSPENDED = 1 << 5;
        /// The process is exiting (exited, faulted or killed).
        const EXITING = 1 << 6;
        /// Woken while RUNNING: schedule-out requeues it instead of letting it wait.
        const WAKE_PENDING = 1 << 7;
    }
}

/// The bits of [`StateFlags`] as plain words, for the transitions' bit arithmetic on
/// the raw state word (and for code written against these names).
pub mod flags {
    use super::StateFlags;

    /// [`StateFlags::LIVE`].
    pub const LIVE: u32 = StateFlags::LIVE.bits();
    /// [`StateFlags::ACTIVE`].
    pub const ACTIVE: u32 = StateFlags::ACTIVE.bits();
    /// [`StateFlags::IN_RUNQ`].
    pub const IN_RUNQ: u32 = StateFlags::IN_RUNQ.bits();
    /// [`StateFlags::RUNNING`].
    pub const RUNNING: u32 = StateFlags::RUNNING.bits();
    /// [`StateFlags::WAITING`].
    pub const WAITING: u32 = StateFlags::WAITING.bits();
    /// [`StateFlags::SUSPENDED`].
    pub const SUSPENDED: u32 = StateFlags::SUSPENDED.bits();
    /// [`StateFlags::EXITING`].
    pub const EXITING: u32 = StateFlags::EXITING.bits();
    /// [`StateFlags::WAKE_PENDING`].
    pub const WAKE_PENDING: u32 = StateFlags::WAKE_PENDING.bits();
    /// Mask of all flag bits.
    pub const MASK: u32 = StateFlags::all().bits();
}

const _: () = assert!(flags::MASK == 0xff, "the flags fill bits 0..=7, below the run queue");

const RUNQ_SHIFT: u32 = 8;
const RUNQ_MASK: u32 = 0xff << RUNQ_SHIFT;
const PRIO_SHIFT: u32 = 16;
const PRIO_MASK: u32 = 0x3 << PRIO_SHIFT;

const fn encode(flags: u32, runq: CoreId, prio: Priority) -> u32 {
    flags | ((runq.index() as u32) << RUNQ_SHIFT) | ((prio as u32) << PRIO_SHIFT)
}

/// A copy of a state word, decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StateSnapshot(u32);

impl StateSnapshot {
    /// The raw word.
    pub const fn raw(self) -> u32 {
        self.0
    }
    /// Whether `flag` (one of [`flags`]) is set.
    pub const fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
    /// The flag bits.
    pub const fn flags(self) -> StateFlags {
        StateFlags::from_bits_truncate(self.0)
    }
    /// The run queue the process belongs to.
    pub const fn runq(self) -> CoreId {
        CoreId::new(((self.0 & RUNQ_MASK) >> RUNQ_SHIFT) as usize)
    }
    /// The process's priority.
    pub const fn prio(self) -> Priority {
        Priority::from_index(((self.0 & PRIO_MASK) >> PRIO_SHIFT) as usize)
    }
}

impl core::fmt::Debug for StateSnapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "State[")?;
        for (name, _) in self.flags().iter_names() {
            write!(f, "{name} ")?;
        }
        write!(f, "runq={} prio={:?}]", self.runq().index(), self.prio())
    }
}

/// Result of a wake-up attempt. Exactly one caller per wait gets [`WakeTransition::Enqueue`].
#[must_use = "the caller that gets WakeTransition::Enqueue must put the process in a run queue"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WakeTransition {
    /// This caller won: the process is now ACTIVE|IN_RUNQ and the caller must insert it
    /// (normally into `runq`, at `prio`).
    Enqueue {
        /// The process's run queue at the moment of the transition.
        runq: CoreId,
        /// Its priority.
        prio: Priority,
    },
    /// Already runnable (queued, suspended with work, or pending): nothing to do.
    AlreadyActive,
    /// It was running: WAKE_PENDING is set and its core requeues it at schedule-out.
    NotedWhileRunning,
    /// Suspended: marked ACTIVE, it is queued when resumed.
    Suspended,
    /// Not live, or exiting: nothing to do.
    Dead,
}

/// Result of taking a dequeued process onto a core.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScheduleIn {
    /// Run it. `exiting` means an exit was requested: the runtime should run its exit
    /// handling instead of its code.
    Run {
        /// An exit was requested while it was queued.
        exiting: bool,
    },
    /// Suspended while queued: it left the queue and stays ACTIVE; resume requeues it.
    Skip,
}

/// Why a process left the CPU, as seen by the state word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OutKind {
    /// Budget spent or yielded: stays runnable.
    Runnable,
    /// Waiting for a message.
    Wait,
    /// Exited or faulted.
    Exit,
}

/// What [`ProcState::schedule_out`] decided.
#[must_use = "a requeue decision must be acted on or the process is lost"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OutTransition {
    /// Now ACTIVE|IN_RUNQ: the caller must insert it.
    Requeue {
        /// Its priority.
        prio: Priority,
    },
    /// Now WAITING (no wake-up arrived while it ran).
    Wait,
    /// Suspended while running: left not queued (ACTIVE if it still has work).
    Parked,
    /// Now EXITING: the runtime tears it down, then releases the slot.
    Exit,
    /// An exit was requested while it ran: now EXITING.
    Killed,
}

/// State-word errors: each names a broken caller invariant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StateError {
    /// Spawn into a slot that is in use.
    InUse,
    /// The process is not running (schedule-out of a process that is not on a core).
    NotRunning,
    /// Release of a process that is still queued, running or not exiting.
    NotReleasable,
    /// The slot holds no process.
    NotLive,
}

/// One process's atomic scheduling state.
#[derive(Default)]
pub struct ProcState(AtomicU32);

impl ProcState {
    /// A free slot.
    pub fn new() -> Self {
        ProcState(AtomicU32::new(0))
    }

    /// The current word.
    pub fn load(&self) -> StateSnapshot {
        // Acquire: a reader that acts on the snapshot sees what the last transition published.
        StateSnapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` to the current word until the CAS succeeds; `f` returns the new
    /// word (possibly unchanged) and a result, or an error that stops the loop.
    fn transition<R, E>(&self, mut f: impl FnMut(u32) -> Result<(u32, R), E>) -> Result<R, E> {
        // Relaxed: only a starting guess; the CAS below re-reads with Acquire.
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let (new, r) = f(cur)?;
            // AcqRel/Acquire: see the module doc.
            match self.0.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(r),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Spawn: a free slot becomes LIVE|ACTIVE|IN_RUNQ on `runq` at `prio`; the caller
    /// then inserts it into that queue.
    pub fn spawn(&self, runq: CoreId, prio: Priority) -> Result<(), StateError> {
        let new = encode(flags::LIVE | flags::ACTIVE | flags::IN_RUNQ, runq, prio);
        self.transition(|s| if s & flags::LIVE != 0 { Err(StateError::InUse) } else { Ok((new, ())) })
    }

    /// A message (or timeout, or resume request) makes the process runnable.
    /// Exactly one concurrent caller gets [`WakeTransition::Enqueue`] per WAITING period.
    pub fn try_make_runnable(&self) -> WakeTransition {
        let r: Result<WakeTransition, ()> = self.transition(|s| {
            let snap = StateSnapshot(s);
            if s & flags::LIVE == 0 || s & flags::EXITING != 0 {
                Ok((s, WakeTransition::Dead))
            } else if s & flags::RUNNING != 0 {
                if s & flags::WAKE_PENDING != 0 {
                    Ok((s, WakeTransition::AlreadyActive))
                } else {
                    Ok((s | flags::WAKE_PENDING, WakeTransition::NotedWhileRunning))
                }
            } else if s & flags::ACTIVE != 0 {
                Ok((s, WakeTransition::AlreadyActive))
            } else if s & flags::SUSPENDED != 0 {
                Ok(((s | flags::ACTIVE) & !flags::WAITING, WakeTransition::Suspended))
            } else {
                let new = (s | flags::ACTIVE | flags::IN_RUNQ) & !flags::WAITING;
                Ok((new, WakeTransition::Enqueue { runq: snap.runq(), prio: snap.prio() }))
            }
        });
        r.unwrap_or(WakeTransition::Dead)
    }

    /// A dequeued process goes onto `core`: IN_RUNQ -> RUNNING and its run queue
    /// becomes `core`. Suspended processes are dropped from the queue instead.
    pub fn schedule_in(&self, core: CoreId) -> ScheduleIn {
        let r: Result<ScheduleIn, ()> = self.transition(|s| {
            debug_assert!(s & flags::IN_RUNQ != 0, "schedule_in of a process that is not queued");
            let base = (s & !RUNQ_MASK & !flags::IN_RUNQ) | ((core.index() as u32) << RUNQ_SHIFT);
            if s & flags::SUSPENDED != 0 && s & flags::EXITING == 0 {
                Ok((base, ScheduleIn::Skip))
            } else {
                let new = (base | flags::RUNNING) & !flags::WAKE_PENDING;
                Ok((new, ScheduleIn::Run { exiting: s & flags::EXITING != 0 }))
            }
        });
        r.unwrap_or(ScheduleIn::Skip)
    }

    /// The running process leaves the CPU for `kind`.
    pub fn schedule_out(&self, kind: OutKind) -> Result<OutTransition, StateError> {
        self.transition(|s| {
            if s & flags::RUNNING == 0 {
                return Err(StateError::NotRunning);
            }
            let base = s & !flags::RUNNING;
            if kind == OutKind::Exit {
                let new = (base | flags::EXITING) & !(flags::ACTIVE | flags::WAKE_PENDING | flags::WAITING);
                return Ok((new, OutTransition::Exit));
            }
            if s & flags::EXITING != 0 {
                let new = base & !(flags::ACTIVE | flags::WAKE_PENDING | flags::WAITING);
                return Ok((new, OutTransition::Killed));
            }
            let stays_active = kind == OutKind::Runnable || s & flags::WAKE_PENDING != 0;
            let base = base & !flags::WAKE_PENDING;
            if !stays_active {
                let new = (base & !flags::ACTIVE) | flags::WAITING;
                return Ok((new, OutTransition::Wait));
            }
            if s & flags::SUSPENDED != 0 {
                return Ok((base, OutTransition::Parked));
            }
            Ok((base | flags::IN_RUNQ, OutTransition::Requeue { prio: StateSnapshot(s).prio() }))
        })
    }

    /// Suspends the process. Returns `false` if it was already suspended or is not live.
    pub fn suspend(&self) -> bool {
        self.transition(|s| {
            if s & flags::LIVE == 0 || s & (flags::SUSPENDED | flags::EXITING) != 0 {
                Err(())
            } else {
                Ok((s | flags::SUSPENDED, ()))
            }
        })
        .is_ok()
    }

    /// Resumes a suspended process; [`WakeTransition::Enqueue`] if it has work and is neither
    /// queued nor running.
    pub fn resume(&self) -> WakeTransition {
        let r: Result<WakeTransition, ()> = self.transition(|s| {
            if s & flags::LIVE == 0 || s & flags::SUSPENDED == 0 {
                return Ok((s, WakeTransition::AlreadyActive));
            }
            let s2 = s & !flags::SUSPENDED;
            if s2 & flags::ACTIVE != 0 && s2 & (flags::RUNNING | flags::IN_RUNQ) == 0 {
                let snap = StateSnapshot(s2);
                Ok((s2 | flags::IN_RUNQ, WakeTransition::Enqueue { runq: snap.runq(), prio: snap.prio() }))
            } else {
                Ok((s2, WakeTransition::AlreadyActive))
            }
        });
        r.unwrap_or(WakeTransition::Dead)
    }

    /// Asks the process to exit. Running: its core sees it at schedule-out
    /// ([`OutTransition::Killed`]). Queued: it is picked with `exiting`. Waiting or
    /// suspended: it is made ACTIVE|IN_RUNQ ([`WakeTransition::Enqueue`]) so a core runs its exit.
    pub fn request_exit(&self) -> WakeTransition {
        let r: Result<WakeTransition, ()> = self.transition(|s| {
            if s & flags::LIVE == 0 || s & flags::EXITING != 0 {
                return Ok((s, WakeTransition::Dead));
            }
            let s2 = s | flags::EXITING;
            if s & flags::RUNNING != 0 {
                Ok((s2, WakeTransition::NotedWhileRunning))
            } else if s & flags::IN_RUNQ != 0 {
                Ok((s2, WakeTransition::AlreadyActive))
            } else {
                let snap = StateSnapshot(s2);
                let new = (s2 | flags::ACTIVE | flags::IN_RUNQ) & !(flags::WAITING | flags::SUSPENDED);
                Ok((new, WakeTransition::Enqueue { runq: snap.runq(), prio: snap.prio() }))
            }
        });
        r.unwrap_or(WakeTransition::Dead)
    }

    /// Sets the run queue field (the caller holds the process: it is carrying it
    /// between queues under the target's lock, or it won the wake-up).
    pub fn set_runq(&self, core: CoreId) {
        let _: Result<(), ()> = self.transition(|s| Ok(((s & !RUNQ_MASK) | ((core.index() as u32) << RUNQ_SHIFT), ())));
    }

    /// Sets the priority used by the next enqueue (live processes only).
    pub fn set_prio(&self, prio: Priority) -> Result<(), StateError> {
        self.transition(|s| {
            if s & flags::LIVE == 0 {
                Err(StateError::NotLive)
            } else {
                Ok(((s & !PRIO_MASK) | ((prio as u32) << PRIO_SHIFT), ()))
            }
        })
    }

    /// Frees the slot of an exited process that is neither queued nor running.
    pub fn release(&self) -> Result<(), StateError> {
        self.transition(|s| {
            if s & flags::LIVE == 0 || s & flags::EXITING == 0 || s & (flags::RUNNING | flags::IN_RUNQ) != 0 {
                Err(StateError::NotReleasable)
            } else {
                Ok((0, ()))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Barrier};

    fn c(i: usize) -> CoreId {
        CoreId::new(i)
    }

    #[test]
    fn life_cycle_transitions() {
        let st = ProcState::new();
        st.spawn(c(2), Priority::High).unwrap();
        assert_eq!(st.spawn(c(2), Priority::High), Err(StateError::InUse));
        assert_eq!(st.try_make_runnable(), WakeTransition::AlreadyActive);
        assert_eq!(st.schedule_in(c(3)), ScheduleIn::Run { exiting: false });
        assert_eq!(st.load().runq(), c(3));
        assert_eq!(st.load().prio(), Priority::High);
        assert_eq!(st.schedule_out(OutKind::Runnable), Ok(OutTransition::Requeue { prio: Priority::High }));
        assert!(st.load().has(flags::IN_RUNQ));
        assert_eq!(st.schedule_in(c(3)), ScheduleIn::Run { exiting: false });
        assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Wait));
        assert!(st.load().has(flags::WAITING) && !st.load().has(flags::ACTIVE));
        assert_eq!(st.try_make_runnable(), WakeTransition::Enqueue { runq: c(3), prio: Priority::High });
        assert_eq!(st.try_make_runnable(), WakeTransition::AlreadyActive);
        assert_eq!(st.schedule_in(c(3)), ScheduleIn::Run { exiting: false });
        assert_eq!(st.schedule_out(OutKind::Exit), Ok(OutTransition::Exit));
        assert_eq!(st.try_make_runnable(), WakeTransition::Dead);
        assert_eq!(st.schedule_out(OutKind::Exit), Err(StateError::NotRunning));
        st.release().unwrap();
        assert_eq!(st.load().raw(), 0);
        assert_eq!(st.set_prio(Priority::Low), Err(StateError::NotLive));
        assert_eq!(st.load().raw(), 0);
    }

    #[test]
    fn wake_while_running_is_not_lost() {
        let st = ProcState::new();
        st.spawn(c(0), Priority::Normal).unwrap();
        let _ = st.schedule_in(c(0));
        assert_eq!(st.try_make_runnable(), WakeTransition::NotedWhileRunning);
        assert_eq!(st.try_make_runnable(), WakeTransition::AlreadyActive);
        assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Requeue { prio: Priority::Normal }));
        // schedule_in clears the pending bit: the process reads its mailbox from here on.
        assert_eq!(st.schedule_in(c(0)), ScheduleIn::Run { exiting: false });
        assert!(!st.load().has(flags::WAKE_PENDING));
        assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Wait));
    }

    #[test]
    fn suspend_resume_and_kill() {
        let st = ProcState::new();
        st.spawn(c(1), Priority::Low).unwrap();
        assert!(st.suspend());
        assert!(!st.suspend());
        assert_eq!(st.schedule_in(c(1)), ScheduleIn::Skip);
        assert!(st.load().has(flags::ACTIVE) && !st.load().has(flags::IN_RUNQ));
        assert_eq!(st.try_make_runnable(), WakeTransition::AlreadyActive);
        assert_eq!(st.resume(), WakeTransition::Enqueue { runq: c(1), prio: Priority::Low });
        let _ = st.schedule_in(c(1));
        assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Wait));
        assert!(st.suspend());
        assert_eq!(st.try_make_runnable(), WakeTransition::Suspended);
        assert_eq!(st.request_exit(), WakeTransition::Enqueue { runq: c(1), prio: Priority::Low });
        assert_eq!(st.schedule_in(c(1)), ScheduleIn::Run { exiting: true });
        assert_eq!(st.schedule_out(OutKind::Runnable), Ok(OutTransition::Killed));
        assert!(st.release().is_ok());
    }

    /// The waker threads of the race tests, and what the test side holds of them.
    struct Wakers {
        /// Wake-ups that won (`Enqueue`) since the last reset.
        winners: Arc<AtomicUsize>,
        /// Every waker waits here before a round's wake-up...
        start: Arc<Barrier>,
        /// ...and here after it.
        done: Arc<Barrier>,
        handles: std::vec::Vec<std::thread::JoinHandle<()>>,
    }

    /// Starts `threads` wakers: for `rounds` rounds, each waits at `start`, tries to
    /// make `st` runnable (counting a win in `winners`) and waits at `done`. The test
    /// takes part in both barriers every round.
    fn wakers(st: &Arc<ProcState>, threads: usize, rounds: usize) -> Wakers {
        let winners = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(Barrier::new(threads + 1));
        let handles = (0..threads)
            .map(|_| {
                let (st, winners, start, done) = (st.clone(), winners.clone(), start.clone(), done.clone());
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        start.wait();
                        if let WakeTransition::Enqueue { .. } = st.try_make_runnable() {
                            winners.fetch_add(1, Ordering::Relaxed);
                        }
                        done.wait();
                    }
                })
            })
            .collect();
        Wakers { winners, start, done, handles }
    }

    /// Many threads race `try_make_runnable` on one WAITING process: exactly one wins
    /// each round, and the others see it as already active.
    #[test]
    fn exactly_one_waker_wins_each_round() {
        const THREADS: usize = 6;
        const ROUNDS: usize = 600;
        let st = Arc::new(ProcState::new());
        st.spawn(c(0), Priority::Normal).unwrap();
        let _ = st.schedule_in(c(0));
        assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Wait));
        let Wakers { winners, start, done, handles } = wakers(&st, THREADS, ROUNDS);
        for round in 0..ROUNDS {
            start.wait();
            done.wait();
            assert_eq!(winners.swap(0, Ordering::Relaxed), 1, "round {round}");
            // The owner's core runs it and it waits again.
            assert_eq!(st.schedule_in(c(0)), ScheduleIn::Run { exiting: false });
            assert_eq!(st.schedule_out(OutKind::Wait), Ok(OutTransition::Wait));
        }
        for h in handles {
            h.join().unwrap();
        }
    }

    /// Wakers race the owner's "go to wait" schedule-out: in every round exactly one
    /// of them makes the process runnable again (the schedule-out requeues it because
    /// of WAKE_PENDING, or one waker gets `Enqueue`), never none and never two.
    #[test]
    fn wake_racing_schedule_out_is_never_lost_or_doubled() {
        const THREADS: usize = 4;
        const ROUNDS: usize = 600;
        let st = Arc::new(ProcState::new());
        st.spawn(c(0), Priority::Normal).unwrap();
        let Wakers { winners, start, done, handles } = wakers(&st, THREADS, ROUNDS);
        let mut requeued_rounds = 0;
        for round in 0..ROUNDS {
            assert_eq!(st.schedule_in(c(0)), ScheduleIn::Run { exiting: false });
            start.wait();
            let out = st.schedule_out(OutKind::Wait).unwrap();
            done.wait();
            let w = winners.swap(0, Ordering::Relaxed);
            match out {
                OutTransition::Requeue { .. } => {
                    assert_eq!(w, 0, "round {round}");
                    requeued_rounds += 1;
                }
                OutTransition::Wait => assert_eq!(w, 1, "round {round}"),
                other => panic!("unexpected {other:?}"),
            }
            assert!(st.load().has(flags::IN_RUNQ), "round {round}: runnable after the race");
        }
        for h in handles {
            h.join().unwrap();
        }
        std::println!("schedule-out saw the wake-up first in {requeued_rounds}/{ROUNDS} rounds");
    }
}
