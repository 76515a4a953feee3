//! Run-queue growth at a full heap: this test binary's global allocator (`zbeam-allocfail`)
//! refuses every allocation the test thread makes inside `refusing`. A spawn then fails with
//! `SchedError::NoMemory` and changes nothing, and processes that are already accepted
//! are still queued, each exactly once, even when the queue they are sent to is full
//! and cannot grow. With an infallible `VecDeque::push_back` the refused allocation
//! would abort the test binary instead.

use zbeam_allocfail::{refusing, Refusing};
use zbeam_sched::state::flags;
use zbeam_sched::{
    Config, CoreId, CpuSet, ExitReason, OutAction, OutReason, Pid, Priority, Reductions, SchedError, Scheduler,
    Topology,
};

#[global_allocator]
static ALLOC: Refusing = Refusing;

fn c(i: usize) -> CoreId {
    CoreId::new(i)
}

/// All pids queued on any core, in queue order.
fn queued(s: &Scheduler) -> Vec<u32> {
    let mut v = Vec::new();
    for core in 0..s.topology().len() {
        s.for_each_queued(c(core), |p, _| v.push(p.get()));
    }
    v
}

#[test]
fn spawn_at_a_full_heap_is_refused_and_changes_nothing() {
    let s = Scheduler::new(Topology::uniform(2), 4096, Config::default());
    let (accepted, refused) = refusing(|| {
        let mut accepted = 0u32;
        let mut refused = None;
        for p in 0..4096u32 {
            match s.enqueue(Pid::new(p), Priority::Normal, CpuSet::first(2), c(0)) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    refused = Some((p, e));
                    break;
                }
            }
        }
        (accepted, refused)
    });
    // The queues' first capacity takes some processes; then the heap must be asked.
    assert!(accepted >= 16, "only {accepted} spawns before the heap was needed");
    assert_eq!(refused, Some((accepted, SchedError::NoMemory)));
    let pid = Pid::new(accepted);
    assert!(!s.state(pid).unwrap().has(flags::LIVE), "a refused spawn left the slot in use");
    let q = queued(&s);
    assert_eq!(q.len(), accepted as usize);
    // With the heap back, the same spawn succeeds.
    let _ = s.enqueue(pid, Priority::Normal, CpuSet::first(2), c(0)).expect("spawn with memory");
    assert_eq!(queued(&s).len(), accepted as usize + 1);
}

#[test]
fn requeue_into_a_full_queue_loses_no_process() {
    const N: u32 = 200;
    let s = Scheduler::new(Topology::uniform(2), N as usize, Config::default());
    // All on core 1: its normal FIFO grows to N entries; core 0's stays small.
    for p in 0..N {
        let _ = s.enqueue(Pid::new(p), Priority::Normal, CpuSet::single(c(1)), c(1)).expect("spawn");
    }
    let mut running = Vec::new();
    while let Some(p) = s.pick_next(c(1)) {
        running.push(p.pid);
    }
    assert_eq!(running.len(), N as usize);
    // At a full heap, send every one of them to core 0, which has room for fewer.
    let requeued = refusing(|| {
        let mut requeued = 0;
        for &pid in &running {
            let _ = s.set_affinity(pid, CpuSet::single(c(0)));
            if let Ok(out) = s.schedule_out(c(1), pid, Reductions(1), OutReason::BudgetSpent) {
                if matches!(out.action, OutAction::Requeued { .. }) {
                    requeued += 1;
                }
            }
        }
        requeued
    });
    assert_eq!(requeued, N, "every slice end must requeue");
    let mut q = queued(&s);
    assert_eq!(q.len(), N as usize, "processes lost or doubled at a full heap");
    q.sort_unstable();
    q.dedup();
    assert_eq!(q.len(), N as usize, "a process is queued twice");
    // Some had to go beyond core 0's normal FIFO, and all of them run again.
    let mut picked = 0;
    for core in [0, 1, 0, 1] {
        while s.pick_next(c(core)).is_some() {
            picked += 1;
        }
    }
    assert_eq!(picked, N);
}

/// A burst of processes grows a queue; once they are gone the queue gives most of its
/// memory back (it keeps room for at most 2048 of the 5000), and what was reserved
/// still covers every process: the next burst is accepted and queued in full.
#[test]
fn queues_give_memory_back_after_a_burst() {
    const N: u32 = 5000;
    let s = Scheduler::new(Topology::uniform(2), N as usize, Config::default());
    let first = s.run_queue_capacity(c(0));
    for round in 0..2 {
        for p in 0..N {
            let _ = s.enqueue(Pid::new(p), Priority::Normal, CpuSet::single(c(0)), c(0)).expect("spawn");
        }
        assert!(s.run_queue_capacity(c(0)) >= N as usize, "round {round}");
        assert_eq!(queued(&s).len(), N as usize);
        while let Some(p) = s.pick_next(c(0)) {
            let out = s.schedule_out(c(0), p.pid, Reductions(1), OutReason::Exited(ExitReason::Normal)).unwrap();
            assert!(matches!(out.action, OutAction::Exited(_)));
            s.release(p.pid).expect("release");
        }
        assert!(
            s.run_queue_capacity(c(0)) <= 2048,
            "round {round}: {} entries kept after the burst, {first} at first",
            s.run_queue_capacity(c(0))
        );
    }
}
