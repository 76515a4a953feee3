//! Loom model check of the wait, wake-up and timeout races (run by `loom.sh`, which
//! sets `--cfg loom`): the engine's own wait protocol (`zbeam_engine::waiting`: the
//! wait generation, arming after the scheduler parks, cancel at the end of a wait, the
//! generation check when a timer fires) with the real scheduler (its state word and
//! WAKE_PENDING, its run queues), the real timer wheel and, in the message case, the
//! real mailbox; under loom all their atomics and locks are loom's models.
//!
//! The process's side is what the engine does for a timed RECEIVE: read the
//! generation, end the slice through `WaitTimer::schedule_out`, and when the
//! scheduler requeued it instead of parking it, run again and retry with the same
//! generation. After the threads are done, each model checks that the timeout cannot
//! be lost (a parked process has exactly one timer, for its current wait, and firing
//! it makes the process runnable), that a message cannot be lost (a process with mail
//! is never left parked), and that a wait that ended leaves no timer behind. Four
//! races: a wake-up with nothing to take vs the wait (the lost-timeout repro), a message
//! and the timer firing vs the arming, an exit vs the timer firing, and a native task
//! woken and parked again on another core before the first core armed its older wait.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use zbeam_engine::waiting::{new_wheel, Arm, WaitTimer, Wheel};
use zbeam_mailbox::Mailbox;
use zbeam_sched::state::flags;
use zbeam_sched::{
    Config, CoreId, CpuSet, ExitReason, OutAction, OutReason, Pid, Priority, Reductions, Scheduler, Topology, Wakeup,
};

const PID: Pid = Pid::new(0);
const DEADLINE: u64 = 100;

fn c(i: usize) -> CoreId {
    CoreId::new(i)
}

/// The scheduler, one wheel per core and process 0's wait state, with process 0
/// spawned and running on core 0.
struct World {
    sched: Scheduler,
    wheels: Vec<Wheel>,
    wait: WaitTimer,
    mailbox: Mailbox<u8>,
}

fn world(cores: usize) -> Arc<World> {
    let sched = Scheduler::new(Topology::uniform(cores), 2, Config::default());
    let _ = sched.enqueue(PID, Priority::Normal, CpuSet::first(cores), c(0)).expect("spawn");
    let p = sched.pick_next(c(0)).expect("runs");
    assert_eq!(p.pid, PID);
    let wheels = (0..cores).map(|_| new_wheel(0, 4)).collect();
    Arc::new(World { sched, wheels, wait: WaitTimer::new(), mailbox: Mailbox::new() })
}

impl World {
    /// Picks process 0 from whichever queue holds it (it must be queued).
    fn pick(&self) -> CoreId {
        for core in 0..self.wheels.len() {
            if let Some(p) = self.sched.pick_next(c(core)) {
                assert_eq!(p.pid, PID);
                return c(core);
            }
        }
        panic!("process 0 is not queued: {:?}", self.sched.state(PID));
    }

    /// One timed RECEIVE by process 0, running on `core`: takes a message if there is
    /// one (the wait ends); otherwise blocks with the current generation and, while the
    /// scheduler turns the wait into a requeue, runs again and retries. Returns the core
    /// it still runs on when it took a message, None when it is parked.
    fn timed_receive(&self, mut core: CoreId) -> Option<CoreId> {
        loop {
            if self.mailbox.consumer().and_then(|mut c| c.pop()).is_some() {
                self.wait.end(&self.wheels);
                return Some(core);
            }
            let gen = self.wait.current();
            let reason = OutReason::Waiting { timeout: Some(DEADLINE) };
            let (out, arm) = self
                .wait
                .schedule_out(&self.sched, &self.wheels, c(core.index()), PID, Reductions(1), reason, Some(gen))
                .expect("schedule_out");
            match out.action {
                OutAction::Waiting { .. } => {
                    assert!(matches!(arm, Arm::Armed | Arm::Stale), "parked but {arm:?}");
                    return None;
                }
                OutAction::Requeued { .. } => {
                    assert_eq!(arm, Arm::NotWaiting, "a requeued wait armed a timer");
                    core = self.pick();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// One wait of a native task, running on `core`: every native wait is a new one
    /// (`WaitTimer::next`), armed after the scheduler parks it. Returns whether it
    /// parked (false: the scheduler requeued it).
    fn native_wait(&self, core: CoreId) -> bool {
        let gen = self.wait.next();
        let reason = OutReason::Waiting { timeout: Some(DEADLINE) };
        let (out, _) =
            self.wait.schedule_out(&self.sched, &self.wheels, core, PID, Reductions(1), reason, Some(gen)).unwrap();
        matches!(out.action, OutAction::Waiting { .. })
    }

    /// Fires `core`'s wheel at the deadline: a due timer of the current wait wakes the
    /// process (as `Engine::run_once` does). Returns the wake-ups it made.
    fn fire(&self, core: usize) -> Vec<Wakeup> {
        let mut due = Vec::new();
        {
            let mut w = self.wheels[core].lock();
            w.advance(DEADLINE);
            while let Some(f) = w.pop_expired() {
                due.push(f.payload);
            }
        }
        due.into_iter()
            .filter(|&(pid, gen)| pid == PID.get() && self.wait.is_current(gen))
            .map(|_| self.sched.wake(PID))
            .collect()
    }

    fn timers(&self) -> usize {
        self.wheels.iter().map(|w| w.lock().len()).sum()
    }

    /// Parked: neither queued nor running nor with a wake-up pending.
    fn parked(&self) -> bool {
        let st = self.sched.state(PID).unwrap();
        !st.has(flags::IN_RUNQ) && !st.has(flags::RUNNING) && !st.has(flags::WAKE_PENDING)
    }

    /// The timeout of a parked process cannot be lost: exactly one timer, and firing
    /// every wheel at the deadline makes it runnable exactly once.
    fn check_timeout_fires(&self) {
        assert!(self.parked());
        assert_eq!(self.timers(), 1, "a parked process must have exactly one timer");
        let wakes: Vec<Wakeup> = (0..self.wheels.len()).flat_map(|core| self.fire(core)).collect();
        assert_eq!(wakes.len(), 1, "the timeout did not wake the process: {wakes:?}");
        assert!(matches!(wakes[0], Wakeup::Queued { .. }), "{wakes:?}");
    }
}

/// Explores every interleaving of `f` (within loom's bounds) on a fresh world with
/// `cores` cores.
fn model(cores: usize, f: impl Fn(&Arc<World>) + Sync + Send + 'static) {
    loom::model(move || f(&world(cores)));
}

/// Runs `a` and `b` on two threads of their own while `main` runs on this one, then
/// joins them; returns what `main` returned.
fn race<T>(
    w: &Arc<World>,
    a: impl FnOnce(&World) + Send + 'static,
    b: impl FnOnce(&World) + Send + 'static,
    main: impl FnOnce(&World) -> T,
) -> T {
    let (wa, wb) = (w.clone(), w.clone());
    let ta = thread::spawn(move || a(&wa));
    let tb = thread::spawn(move || b(&wb));
    let out = main(w);
    ta.join().unwrap();
    tb.join().unwrap();
    out
}

/// The repro of the lost timeout: a wake-up with nothing to take (a message a poll
/// already took) races the slice's end. Whether the wait is parked or turned into a
/// requeue and retried, the process ends up parked with a live timer.
#[test]
fn wake_with_nothing_to_take_during_the_wait_keeps_the_timeout() {
    model(1, |w| {
        let parked = race(
            w,
            |w| {
                let _ = w.sched.wake(PID);
            },
            |_| {},
            |w| w.timed_receive(c(0)).is_none(),
        );
        assert!(parked, "no message was sent");
        // A wake-up after the process parked queued it: it runs, finds nothing, and
        // blocks again on the same wait, whose timer stays the only one.
        if !w.parked() {
            let core = w.pick();
            assert!(w.timed_receive(core).is_none());
        }
        w.check_timeout_fires();
    });
}

/// A message (pushed, then a wake-up, from core 1) races the process parking with
/// its timer on core 0 and that timer firing. The message is never left untaken by a
/// parked process; there is never more than one timer; once the wait ends with the
/// message no timer is left, and a second wait's timeout still fires.
#[test]
fn message_and_timeout_race_the_arming() {
    model(2, |w| {
        let mut on = race(
            w,
            |w| {
                w.mailbox.push(7);
                let _ = w.sched.wake(PID);
            },
            |w| {
                let _ = w.fire(0);
            },
            |w| w.timed_receive(c(0)),
        );
        assert!(w.timers() <= 1, "{} timers", w.timers());
        if on.is_none() {
            // Mail came: the process must have been made runnable to take it.
            assert!(!w.parked(), "a parked process has mail: message lost");
            let core = w.pick();
            on = w.timed_receive(core);
            assert!(on.is_some(), "the message is gone");
        }
        assert_eq!(w.timers(), 0, "the wait ended but its timer stayed");
        // The next wait, with no mail, times out as it should.
        assert!(w.timed_receive(on.unwrap()).is_none());
        w.check_timeout_fires();
    });
}

/// The process exits (a kill) while its timer fires on another core: the exit ends
/// the wait, so no timer is left and the stale one wakes nothing.
#[test]
fn exit_cancels_the_timer_while_it_fires() {
    model(2, |w| {
        assert!(w.timed_receive(c(0)).is_none());
        race(
            w,
            |w| {
                if let Wakeup::Queued { .. } = w.sched.request_exit(PID) {
                    let core = w.pick();
                    // As the engine does: the slice ends as killed, then the teardown
                    // ends the wait.
                    let killed = OutReason::Exited(ExitReason::Killed);
                    assert!(w.sched.schedule_out(core, PID, Reductions(1), killed).is_ok());
                    w.wait.end(&w.wheels);
                }
            },
            |w| {
                let _ = w.fire(0);
            },
            |_| {},
        );
        assert_eq!(w.timers(), 0, "a timer outlived the wait");
        assert!(w.sched.state(PID).unwrap().has(flags::EXITING), "the kill was lost");
    });
}

/// A native task parks on core 0; before core 0 arms that wait's timer, a message
/// wakes the task and core 1 runs it: it takes the message and parks again (a newer
/// wait), arming on core 1. Core 0's late arming must leave the newer timer alone, so
/// the task ends parked with one live timer for its current wait (the race the soak
/// found; `WaitTimer::arm` reads the generation under the timer lock).
#[test]
fn a_late_arming_leaves_the_newer_wait_alone() {
    model(2, |w| {
        let parked = race(
            w,
            |w| {
                w.mailbox.push(1);
                if let Wakeup::Queued { .. } = w.sched.wake(PID) {
                    let mut core = w.pick();
                    assert!(w.mailbox.consumer().and_then(|mut c| c.pop()).is_some());
                    while !w.native_wait(core) {
                        core = w.pick();
                    }
                }
            },
            |_| {},
            |w| w.native_wait(c(0)),
        );
        if !w.parked() {
            // The wake-up came while core 0 ended the slice: it was requeued and runs
            // again, takes the message and waits anew.
            assert!(!parked);
            let mut core = w.pick();
            let _ = w.mailbox.consumer().and_then(|mut c| c.pop());
            while !w.native_wait(core) {
                core = w.pick();
            }
        }
        w.check_timeout_fires();
    });
}
