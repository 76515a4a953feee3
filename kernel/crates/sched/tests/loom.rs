//! Loom model check of the scheduler the kernel runs (run by `loom.sh`, which sets
//! `--cfg loom`): the process state word's CAS transitions and WAKE_PENDING together
//! with the run-queue hand-offs, through the public [`Scheduler`] API. Under loom the
//! crate's atomics and run-queue locks are loom's models (`src/sync.rs`), so every
//! interleaving of the state word, the queue flags and lengths, and the queue locks
//! that loom's preemption bound allows is explored.
//!
//! Each model starts from a set-up done before the threads exist, races real calls,
//! then checks the invariant that matters: every live process is in exactly one place
//! (queued once, in the queue its state word names, or running on the one core that
//! picked it, or waiting), and the calls' answers agree with that place. So insert vs
//! steal vs wake vs schedule-out can neither lose a process nor run it twice.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use zbeam_sched::state::flags;
use zbeam_sched::{
    Config, CoreId, CpuSet, OutAction, OutReason, Pick, Pid, Priority, Reductions, Scheduler, Topology, Wakeup,
};

fn c(i: usize) -> CoreId {
    CoreId::new(i)
}

/// A 2-core scheduler with `pids` processes spawned on core 0.
fn two_cores(pids: u32) -> Arc<Scheduler> {
    let s = Scheduler::new(Topology::uniform(2), 4, Config::default());
    for p in 0..pids {
        let _ = s.enqueue(Pid::new(p), Priority::Normal, CpuSet::first(2), c(0)).expect("spawn");
    }
    Arc::new(s)
}

/// How many times `pid` is queued, over all queues; checks the state word agrees.
fn queued(s: &Scheduler, pid: Pid) -> usize {
    let mut n = 0;
    for core in 0..s.topology().len() {
        s.for_each_queued(c(core), |p, _| {
            if p == pid {
                n += 1;
                let st = s.state(pid).unwrap();
                assert!(st.has(flags::IN_RUNQ) && !st.has(flags::RUNNING), "{pid:?} queued but {st:?}");
                assert_eq!(st.runq(), c(core), "{pid:?} queued on core {core} but {st:?}");
            }
        });
    }
    n
}

/// Process 0 runs on core 0 and its slice ends in "mailbox empty, wait" while another
/// thread calls `other` on it. Returns the scheduler, the schedule-out action and
/// `other`'s answer.
fn race_with_wait(other: fn(&Scheduler, Pid) -> Wakeup) -> (Arc<Scheduler>, OutAction, Wakeup) {
    let s = two_cores(1);
    let pid = Pid::new(0);
    let _ = s.pick_next(c(0)).expect("runs");
    let s1 = s.clone();
    let owner = thread::spawn(move || {
        s1.schedule_out(c(0), pid, Reductions(10), OutReason::Waiting { timeout: None }).unwrap().action
    });
    let s2 = s.clone();
    let racer = thread::spawn(move || other(&s2, pid));
    let out = owner.join().unwrap();
    let w = racer.join().unwrap();
    (s, out, w)
}

fn picked(pick: &Option<Pick>, pid: Pid) -> bool {
    pick.is_some_and(|p| p.pid == pid)
}

/// "Message pushed, then wake" racing the owner's "mailbox empty, wait": the wake-up
/// is never lost. Either the waker finds it running and sets WAKE_PENDING, which turns
/// the wait into a requeue, or it finds it waiting and queues it; exactly one of them.
#[test]
fn wake_vs_schedule_out_wait() {
    loom::model(|| {
        let (s, out, w) = race_with_wait(|s, pid| s.wake(pid));
        let pid = Pid::new(0);
        let requeued = matches!(out, OutAction::Requeued { .. });
        let queued_by_waker = matches!(w, Wakeup::Queued { .. });
        assert!(requeued != queued_by_waker, "out {out:?}, wake {w:?}");
        if requeued {
            assert_eq!(w, Wakeup::NotedWhileRunning);
        } else {
            assert_eq!(out, OutAction::Waiting { timeout: None });
        }
        assert_eq!(queued(&s, pid), 1);
        let st = s.state(pid).unwrap();
        assert!(st.has(flags::ACTIVE) && !st.has(flags::WAITING) && !st.has(flags::WAKE_PENDING), "{st:?}");
    });
}

/// The owner core picks its queue while the other core tries to steal from it: the
/// one process is taken by exactly one of them.
#[test]
fn local_pick_vs_steal() {
    loom::model(|| {
        let s = two_cores(1);
        let pid = Pid::new(0);
        let s1 = s.clone();
        let owner = thread::spawn(move || s1.pick_next(c(0)));
        let s2 = s.clone();
        let thief = thread::spawn(move || s2.pick_next(c(1)));
        let a = owner.join().unwrap();
        let b = thief.join().unwrap();
        assert!(picked(&a, pid) != picked(&b, pid), "owner {a:?}, thief {b:?}");
        assert_eq!(queued(&s, pid), 0);
        let st = s.state(pid).unwrap();
        let core = if picked(&a, pid) { c(0) } else { c(1) };
        assert!(st.has(flags::RUNNING) && st.runq() == core, "{st:?}");
    });
}

/// A process whose slice ends is requeued while the other core steals and a sender
/// wakes it: it ends up queued once or running on the thief, never both, never lost;
/// a second queued process is not disturbed either.
#[test]
fn requeue_vs_steal_vs_wake() {
    loom::model(|| {
        let s = two_cores(2);
        let (p0, p1) = (Pid::new(0), Pid::new(1));
        let first = s.pick_next(c(0)).expect("runs");
        assert_eq!(first.pid, p0);
        let s1 = s.clone();
        let owner =
            thread::spawn(move || s1.schedule_out(c(0), p0, Reductions(4000), OutReason::BudgetSpent).unwrap().action);
        let s2 = s.clone();
        let thief = thread::spawn(move || s2.pick_next(c(1)));
        let s3 = s.clone();
        let waker = thread::spawn(move || s3.wake(p0));
        let out = owner.join().unwrap();
        let stolen = thief.join().unwrap();
        let w = waker.join().unwrap();
        assert!(matches!(out, OutAction::Requeued { .. }), "{out:?}");
        assert!(!matches!(w, Wakeup::Queued { .. } | Wakeup::Dead), "a runnable process was queued again: {w:?}");
        for pid in [p0, p1] {
            let places = queued(&s, pid) + picked(&stolen, pid) as usize;
            assert_eq!(places, 1, "{pid:?}: {:?}, stolen {stolen:?}", s.state(pid).unwrap());
        }
    });
}

/// An exit request races the owner going to wait: the process is either killed at
/// schedule-out, or queued (once) so that a core runs its exit.
#[test]
fn exit_request_vs_wait() {
    loom::model(|| {
        let (s, out, w) = race_with_wait(|s, pid| s.request_exit(pid));
        let pid = Pid::new(0);
        match out {
            OutAction::Killed => {
                assert_eq!(w, Wakeup::NotedWhileRunning);
                assert_eq!(queued(&s, pid), 0);
            }
            OutAction::Waiting { .. } => {
                assert!(matches!(w, Wakeup::Queued { .. }), "{w:?}");
                assert_eq!(queued(&s, pid), 1);
                let p = s.pick_next(s.state(pid).unwrap().runq()).expect("queued for its exit");
                assert!(p.pid == pid && p.exiting);
            }
            other => panic!("{other:?}"),
        }
    });
}

/// A core going to sleep races a wake-up that queues work on it: either the core sees
/// the work (`prepare_sleep` says retry, or its pick finds it) or the waker is told to
/// interrupt it. A core never sleeps on queued work with no IPI coming.
#[test]
fn wake_onto_a_core_going_to_sleep() {
    loom::model(|| {
        let s = Arc::new(Scheduler::new(Topology::uniform(2), 4, Config::default()));
        let pid = Pid::new(0);
        let _ = s.enqueue(pid, Priority::Normal, CpuSet::single(c(1)), c(1)).expect("spawn");
        let _ = s.pick_next(c(1)).expect("runs");
        let out = s.schedule_out(c(1), pid, Reductions(10), OutReason::Waiting { timeout: None }).unwrap();
        assert_eq!(out.action, OutAction::Waiting { timeout: None });
        let s1 = s.clone();
        let sleeper = thread::spawn(move || match s1.pick_next(c(1)) {
            Some(p) => Err(p.pid),
            None => Ok(s1.prepare_sleep(c(1))),
        });
        let s2 = s.clone();
        let waker = thread::spawn(move || s2.wake(pid));
        let slept = sleeper.join().unwrap();
        let w = waker.join().unwrap();
        let Wakeup::Queued { core, wake } = w else { panic!("{w:?}") };
        assert_eq!(core, c(1));
        match slept {
            Err(p) => assert_eq!(p, pid),
            Ok(zbeam_sched::SleepDecision::Retry) => assert_eq!(queued(&s, pid), 1),
            Ok(zbeam_sched::SleepDecision::Sleep) => {
                assert!(wake.contains(c(1)), "core 1 sleeps on queued work and nobody interrupts it");
            }
        }
    });
}
