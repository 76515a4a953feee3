//! Read-only views of the engine for people watching it: one process's details for
//! the shell's `ps` ([`Engine::proc_info`]) and the scheduling events a platform may
//! record for tracing ([`TraceEvent`], offered only while [`Platform::tracing`] says so).
//!
//! Why apart: the scheduling loop must not pay for watching. Nothing here takes a lock
//! on the hot path; events are built only when the platform asks for them, so a run
//! with tracing off costs one call to an inlined `tracing()` per slice.

use crate::{Engine, Exit, Platform, ProcStats};
use core::sync::atomic::Ordering;
use zbeam_sched::{state::flags, CoreId, PickSource, Pid, Priority};

/// The engine's 32-bit pid (slot index and generation), the one trace events carry.
type EnginePid = crate::Pid;

/// What a process is doing, as far as the scheduler knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// On a core right now.
    Running,
    /// Queued, waiting for a core.
    Runnable,
    /// Waiting for a message or a timeout.
    Waiting,
    /// Suspended.
    Suspended,
    /// Being torn down.
    Exiting,
}

impl RunState {
    /// A short lower-case name (`run`, `ready`, `wait`, `susp`, `exit`).
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "run",
            RunState::Runnable => "ready",
            RunState::Waiting => "wait",
            RunState::Suspended => "susp",
            RunState::Exiting => "exit",
        }
    }
}

/// One live process, as the shell shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    /// Image name, or the native task's name.
    pub name: &'static str,
    /// Whether it is a native task (not a Z80 machine).
    pub native: bool,
    /// Its priority.
    pub prio: Priority,
    /// What it is doing.
    pub state: RunState,
    /// The core whose run queue it belongs to.
    pub core: CoreId,
    /// Messages delivered and not yet received.
    pub queue: u64,
    /// Bytes charged to it: its body, the pages it copied, its CP/M memory and its
    /// queued messages (native tasks count their box as far as the type shows).
    pub memory: usize,
    /// Its statistics (None while it runs: they are updated at the end of a slice).
    pub stats: Option<ProcStats>,
}

/// Why a slice ended, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceEnd {
    /// The reduction budget (or the time-slice limit) ran out.
    Budget,
    /// It gave up the rest of its slice.
    Yield,
    /// It waits for a message or a timeout.
    Wait,
    /// It exited, faulted or was killed.
    Exit,
}

impl SliceEnd {
    /// A short name used in trace dumps.
    pub fn name(self) -> &'static str {
        match self {
            SliceEnd::Budget => "budget",
            SliceEnd::Yield => "yield",
            SliceEnd::Wait => "wait",
            SliceEnd::Exit => "exit",
        }
    }
}

/// A scheduling event, handed to [`Platform::trace`] on the core where it happened
/// (the platform adds the time stamp). Processes are named by their 32-bit pid (the
/// one `ps` and the system interface show), not the scheduler's slot index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// `pid` is scheduled in on `core`.
    SliceStart {
        /// The core.
        core: CoreId,
        /// The process.
        pid: EnginePid,
        /// Its name.
        name: &'static str,
        /// The priority it was queued at.
        prio: Priority,
        /// How it reached the core (local, stolen, immigrated).
        source: PickSource,
    },
    /// `pid`'s slice on `core` ended.
    SliceEnd {
        /// The core.
        core: CoreId,
        /// The process.
        pid: EnginePid,
        /// Reductions it used in the slice.
        reductions: u64,
        /// Why it stopped.
        why: SliceEnd,
    },
    /// A process was created and queued on `core`.
    Spawn {
        /// The new process.
        pid: EnginePid,
        /// Its name.
        name: &'static str,
        /// The run queue it was placed on.
        core: CoreId,
    },
    /// A process was torn down.
    Exit {
        /// The process.
        pid: EnginePid,
        /// How it ended.
        exit: Exit,
    },
}

impl<P: Platform + ?Sized> Engine<P> {
    /// Details of the live process `pid`, or None if there is none. Never blocks: a
    /// process on a core right now is shown without its statistics.
    pub fn proc_info(&self, pid: crate::Pid) -> Option<ProcInfo> {
        let pid = pid.get();
        // Acquire (in live_slot): pairs with spawn's Release, so the name and body are
        // the new process's.
        let slot = self.live_slot(pid)?;
        let st = self.sched.state(crate::Pid::from_raw(pid).sched()).ok()?;
        let state = if st.has(flags::EXITING) {
            RunState::Exiting
        } else if st.has(flags::RUNNING) {
            RunState::Running
        } else if st.has(flags::SUSPENDED) {
            RunState::Suspended
        } else if st.has(flags::IN_RUNQ) {
            RunState::Runnable
        } else {
            RunState::Waiting
        };
        let name = *slot.name.lock();
        // Relaxed: two statistics counters; a momentarily inconsistent pair is clamped.
        let delivered = slot.delivered.load(Ordering::Relaxed);
        let taken = slot.taken.load(Ordering::Relaxed);
        let (native, stats) = match slot.body.try_lock() {
            Some(body) => match body.as_ref() {
                Some(b) => (b.is_native(), Some(b.stats)),
                None => return None,
            },
            None => (name_is_native(&slot.native), None),
        };
        let memory = slot.account.held();
        Some(ProcInfo {
            name,
            native,
            prio: st.prio(),
            state,
            core: st.runq(),
            queue: delivered.saturating_sub(taken),
            memory,
            stats,
        })
    }

    /// Whether the platform wants trace events now.
    #[inline(always)]
    pub(crate) fn tracing(&self) -> bool {
        self.platform.tracing()
    }

    /// The name of the process in slot `pid` (for trace events).
    pub(crate) fn name_of(&self, pid: Pid) -> &'static str {
        self.slots.get(pid.index()).map_or("?", |s| *s.name.lock())
    }
}

fn name_is_native(flag: &core::sync::atomic::AtomicBool) -> bool {
    // Relaxed: set once at spawn, before the slot is published live.
    flag.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Image, Step};
    use std::sync::Mutex;
    use std::vec::Vec;
    use zbeam_sched::{CpuSet, Topology};

    /// Receives into 0x0200 forever, in a loop.
    const WAITER: &[u8] = &[0x3e, 0x03, 0x11, 0x00, 0x02, 0x01, 0x10, 0x00, 0x21, 0xff, 0xff, 0xf7, 0x18, 0xf2];
    static IMAGES: &[Image] = &[Image { name: "waiter", bytes: WAITER }];

    struct Recorder(Mutex<Vec<TraceEvent>>);

    impl Platform for Recorder {
        fn now_ms(&self) -> u64 {
            0
        }
        fn wake(&self, _cores: CpuSet) {}
        fn console(&self, _bytes: &[u8]) {}
        fn tracing(&self) -> bool {
            true
        }
        fn trace(&self, event: TraceEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[test]
    fn proc_info_and_trace_follow_a_process() {
        let e = Engine::new(Topology::uniform(1), 8, IMAGES, Recorder(Mutex::new(Vec::new())));
        let core = CoreId::new(0);
        let pid = e.spawn_image(0, &[], Priority::Low, CpuSet::ALL, core).unwrap();
        e.send(crate::Pid::KERNEL, pid, b"one").unwrap();
        e.send(crate::Pid::KERNEL, pid, b"two").unwrap();
        let info = e.proc_info(pid).unwrap();
        assert_eq!((info.name, info.native, info.prio), ("waiter", false, Priority::Low));
        assert_eq!((info.state, info.queue, info.core), (RunState::Runnable, 2, core));
        // Its body and two queued 3-byte messages; no page of its own yet.
        assert_eq!(info.memory, crate::proc::Z80_BODY + 2 * crate::memory::message_bytes(3));
        assert_eq!(e.run_once(core), Step::Ran);
        let info = e.proc_info(pid).unwrap();
        assert_eq!((info.state, info.queue), (RunState::Waiting, 0));
        // The messages are taken; what it wrote (its stack, the receive buffer) was
        // copied into pages of its own.
        let pages = info.memory - crate::proc::Z80_BODY;
        assert!(pages > 0 && pages.is_multiple_of(zbeam_z80::paged::PAGE_SIZE), "{}", info.memory);
        assert!(info.stats.unwrap().reductions > 0);
        assert!(e.kill(pid));
        while e.is_live(pid) {
            let _ = e.run_once(core);
        }
        assert_eq!(e.proc_info(pid), None);
        let events = e.platform().0.lock().unwrap().clone();
        let p = pid;
        assert_eq!(events[0], TraceEvent::Spawn { pid: p, name: "waiter", core });
        assert!(
            matches!(events[1], TraceEvent::SliceStart { pid, name: "waiter", prio: Priority::Low, .. } if pid == p)
        );
        assert!(matches!(events[2], TraceEvent::SliceEnd { why: SliceEnd::Wait, reductions, .. } if reductions > 0));
        assert_eq!(events.last(), Some(&TraceEvent::Exit { pid: p, exit: Exit::Killed }));
    }

    #[test]
    fn trace_events_carry_the_32_bit_pid_of_a_reused_slot() {
        let e = Engine::new(Topology::uniform(1), 4, IMAGES, Recorder(Mutex::new(Vec::new())));
        let core = CoreId::new(0);
        let first = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, core).unwrap();
        assert!(e.kill(first));
        while e.is_live(first) {
            let _ = e.run_once(core);
        }
        // Free slots are reused oldest first: spawn and reap processes until one lands
        // in the first one's slot, with the next generation.
        let mut second = None;
        for _ in 0..64 {
            let p = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, core).unwrap();
            if p.index() == first.index() {
                second = Some(p);
                break;
            }
            assert!(e.kill(p));
            while e.is_live(p) {
                let _ = e.run_once(core);
            }
        }
        let second = second.expect("the first slot is reused");
        assert_ne!(second, first);
        for _ in 0..4 {
            let _ = e.run_once(core);
        }
        // The events of that slot: all the first process's, then all the second's.
        let pids: Vec<crate::Pid> = e
            .platform()
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|ev| match *ev {
                TraceEvent::SliceStart { pid, .. }
                | TraceEvent::SliceEnd { pid, .. }
                | TraceEvent::Spawn { pid, .. }
                | TraceEvent::Exit { pid, .. } => pid,
            })
            .filter(|p| p.index() == first.index())
            .collect();
        let split = pids.iter().position(|&p| p == second).expect("the second process is traced");
        assert!(split >= 2 && pids[..split].iter().all(|&p| p == first), "{pids:?}");
        assert!(pids[split..].len() >= 3 && pids[split..].iter().all(|&p| p == second), "{pids:?}");
    }
}
