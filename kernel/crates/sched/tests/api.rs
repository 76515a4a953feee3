//! Front-door behaviour on small, hand-built situations: priorities and the exact
//! normal/low shares, stealing order, bound processes, P-before-E stealing,
//! wake-ups, sleeping and exits.

mod common;

use zbeam_sched::{
    Config, CoreId, CoreInfo, CpuSet, ExitReason, OutAction, OutReason, Pick, PickSource, Pid, Priority, Reductions,
    Scheduler, SleepDecision, Topology, Wakeup,
};

fn c(i: usize) -> CoreId {
    CoreId::new(i)
}

fn one_core() -> Scheduler {
    Scheduler::new(Topology::uniform(1), 64, Config::default())
}

fn run_slice(s: &Scheduler, core: usize) -> Pick {
    let p = s.pick_next(c(core)).expect("something to run");
    let out = s.schedule_out(c(core), p.pid, Reductions(4000), OutReason::BudgetSpent).unwrap();
    assert!(matches!(out.action, OutAction::Requeued { .. }));
    p
}

/// Counts picks per pid over `slices` slices of CPU-bound processes on core 0.
fn shares(s: &Scheduler, slices: usize, npids: usize) -> Vec<usize> {
    let mut n = vec![0; npids];
    for _ in 0..slices {
        n[run_slice(s, 0).pid.index()] += 1;
    }
    n
}

#[test]
fn priorities_run_max_high_normal_low() {
    let s = one_core();
    let all = CpuSet::first(1);
    for (pid, prio) in [(0, Priority::Low), (1, Priority::Normal), (2, Priority::High), (3, Priority::Max)] {
        let _ = s.enqueue(Pid::new(pid), prio, all, c(0)).unwrap();
    }
    let mut order = Vec::new();
    while let Some(p) = s.pick_next(c(0)) {
        order.push(p.prio);
        let out = s.schedule_out(c(0), p.pid, Reductions(10), OutReason::Exited(ExitReason::Normal)).unwrap();
        assert_eq!(out.action, OutAction::Exited(ExitReason::Normal));
        s.release(p.pid).unwrap();
    }
    assert_eq!(order, [Priority::Max, Priority::High, Priority::Normal, Priority::Low]);
}

#[test]
fn max_and_high_starve_lower_levels_on_one_core() {
    let s = one_core();
    let all = CpuSet::first(1);
    let _ = s.enqueue(Pid::new(0), Priority::Normal, all, c(0)).unwrap();
    let _ = s.enqueue(Pid::new(1), Priority::High, all, c(0)).unwrap();
    assert_eq!(shares(&s, 1000, 2), [0, 1000]);
    let _ = s.enqueue(Pid::new(2), Priority::Max, all, c(0)).unwrap();
    assert_eq!(shares(&s, 1000, 3), [0, 0, 1000]);
}

#[test]
fn normal_low_shares_are_exactly_8_to_1_and_1_17_and_1_33() {
    for (normals, period) in [(1usize, 9usize), (2, 17), (4, 33)] {
        let s = one_core();
        let all = CpuSet::first(1);
        for i in 0..normals {
            let _ = s.enqueue(Pid::new(i as u32), Priority::Normal, all, c(0)).unwrap();
        }
        let low = normals;
        let _ = s.enqueue(Pid::new(low as u32), Priority::Low, all, c(0)).unwrap();
        let cycles = 500;
        let n = shares(&s, period * cycles, normals + 1);
        assert_eq!(n[low], cycles, "{normals} normal + 1 low: low ran {} of {}", n[low], period * cycles);
        for (i, &k) in n.iter().enumerate().take(normals) {
            assert_eq!(k, 8 * cycles, "normal {i}");
        }
        println!(
            "{normals} normal + 1 low: low share {}/{} = 1/{} (normal:low per process {}:1)",
            n[low],
            period * cycles,
            period,
            n[0] / n[low]
        );
    }
}

#[test]
fn stealing_prefers_the_same_cluster_and_rotates() {
    // Clusters {0,1} and {2,3}, all P cores.
    let topo = Topology::new(&[
        CoreInfo::performance(0),
        CoreInfo::performance(0),
        CoreInfo::performance(1),
        CoreInfo::performance(1),
    ])
    .unwrap();
    let s = Scheduler::new(topo, 64, Config::default());
    let all = CpuSet::first(4);
    for (pid, core) in [(0, 3), (1, 2), (2, 1)] {
        let _ = s.enqueue(Pid::new(pid), Priority::Normal, all, c(core)).unwrap();
    }
    let p = s.pick_next(c(0)).unwrap();
    assert_eq!((p.pid, p.source), (Pid::new(2), PickSource::Stolen { from: c(1) }));
    // Second attempt: the other cluster, starting one place further on (3 before 2).
    // Core 0 is still empty (pid 2 counts as running, not queued), so the next pick
    // steals again: from the other cluster, starting one place further on (3 before 2).
    let p2 = s.pick_next(c(0)).unwrap();
    assert_eq!(p2.source, PickSource::Stolen { from: c(3) });
    let p3 = s.pick_next(c(0)).unwrap();
    assert_eq!(p3.source, PickSource::Stolen { from: c(2) });
    assert_eq!(s.stats(c(0)).steals, 3);
}

#[test]
fn bound_processes_are_never_stolen_and_unbound_ones_behind_them_are() {
    let s = Scheduler::new(Topology::uniform(2), 64, Config::default());
    let _ = s.enqueue(Pid::new(0), Priority::Normal, CpuSet::single(c(1)), c(1)).unwrap();
    assert!(s.pick_next(c(0)).is_none(), "a bound process must not be stolen");
    // One whose set excludes the thief is not stolen either.
    let _ = s.enqueue(Pid::new(1), Priority::Normal, CpuSet::from_bits(0b10), c(1)).unwrap();
    assert!(s.pick_next(c(0)).is_none());
    let _ = s.enqueue(Pid::new(2), Priority::Normal, CpuSet::first(2), c(1)).unwrap();
    let p = s.pick_next(c(0)).unwrap();
    assert_eq!((p.pid, p.source), (Pid::new(2), PickSource::Stolen { from: c(1) }));
    // Higher priorities are looked at first, but an all-bound priority falls through.
    let _ = s.enqueue(Pid::new(3), Priority::High, CpuSet::single(c(1)), c(1)).unwrap();
    let _ = s.enqueue(Pid::new(4), Priority::Low, CpuSet::first(2), c(1)).unwrap();
    let p = s.pick_next(c(0)).unwrap();
    assert_eq!(p.pid, Pid::new(4));
}

fn two_p_two_e() -> Topology {
    Topology::performance_efficiency(2, 2)
}

#[test]
fn an_idle_p_core_steals_before_an_idle_e_core() {
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    let all = CpuSet::first(4);
    // Core 1 (P) and core 2 (E) look for work and find none.
    assert!(s.pick_next(c(1)).is_none());
    assert!(s.pick_next(c(2)).is_none());
    for pid in 0..3 {
        let _ = s.enqueue(Pid::new(pid), Priority::Normal, all, c(0)).unwrap();
    }
    let _running = s.pick_next(c(0)).unwrap();
    // The E core asks first but defers: P core 1 is seeking and may take these.
    assert!(s.pick_next(c(2)).is_none());
    let p = s.pick_next(c(1)).unwrap();
    assert_eq!(p.source, PickSource::Stolen { from: c(0) });
    // Now no P core is seeking: the E core steals the last one.
    let e = s.pick_next(c(2)).unwrap();
    assert_eq!(e.source, PickSource::Stolen { from: c(0) });

    // A process that may not run on the seeking P core is not deferred.
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    assert!(s.pick_next(c(1)).is_none());
    let _ = s.enqueue(Pid::new(0), Priority::Normal, CpuSet::from_bits(0b1101), c(0)).unwrap();
    let _ = s.enqueue(Pid::new(1), Priority::Normal, CpuSet::from_bits(0b1101), c(0)).unwrap();
    let _running = s.pick_next(c(0)).unwrap();
    assert!(s.pick_next(c(2)).is_some());

    // A sleeping P core does not hold E cores back.
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    assert!(s.pick_next(c(1)).is_none());
    assert_eq!(s.prepare_sleep(c(1)), SleepDecision::Sleep);
    for pid in 0..2 {
        let _ = s.enqueue(Pid::new(pid), Priority::Normal, all, c(0)).unwrap();
    }
    let _running = s.pick_next(c(0)).unwrap();
    assert!(s.pick_next(c(2)).is_some());
}

#[test]
fn class_preference_with_spill_over_and_return() {
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    let all = CpuSet::first(4);
    // Spawned from an E core, high work goes to a free P core; low work from a P core
    // goes to a free E core.
    let h0 = s.enqueue(Pid::new(0), Priority::High, all, c(2)).unwrap();
    assert!(s.topology().is_performance(h0.core));
    let l = s.enqueue(Pid::new(1), Priority::Low, all, c(0)).unwrap();
    assert!(!s.topology().is_performance(l.core));
    // The second high process takes the other P core; the third finds both P cores
    // taken and spills to a free E core instead of waiting.
    let h1 = s.enqueue(Pid::new(2), Priority::High, all, c(0)).unwrap();
    assert!(s.topology().is_performance(h1.core) && h1.core != h0.core);
    let h2 = s.enqueue(Pid::new(3), Priority::High, all, c(0)).unwrap();
    assert!(!s.topology().is_performance(h2.core), "spilled to {:?}", h2.core);
    // The next spills to the other E core (low work there does not count against it);
    // with every core of both classes taken, the overflow queues on a P core.
    let h3 = s.enqueue(Pid::new(4), Priority::High, all, c(0)).unwrap();
    assert!(!s.topology().is_performance(h3.core) && h3.core != h2.core);
    let h4 = s.enqueue(Pid::new(5), Priority::High, all, c(0)).unwrap();
    assert!(s.topology().is_performance(h4.core));
    // Run everything that is first in line.
    let mut running = Vec::new();
    for core in 0..4 {
        if let Some(p) = s.pick_next(c(core)) {
            running.push((core, p.pid));
        }
    }
    assert_eq!(running.len(), 4, "{running:?}");
    // The high process on the P core h0 exits: that core frees up (its queue is
    // empty), so the spilled one returns to it at its next schedule-out.
    let (p_core, p_pid) = running.iter().copied().find(|&(core, _)| c(core) == h0.core).unwrap();
    let _ = s.schedule_out(c(p_core), p_pid, Reductions(4000), OutReason::Exited(ExitReason::Normal)).unwrap();
    let q_here = s.run_queue_lengths(c(p_core));
    let out = s.schedule_out(h2.core, Pid::new(3), Reductions(4000), OutReason::BudgetSpent).unwrap();
    if q_here == [0; 4] {
        assert_eq!(out.action, OutAction::Requeued { core: c(p_core) });
    } else {
        assert!(matches!(out.action, OutAction::Requeued { .. }));
    }
}

#[test]
fn spill_by_stealing_defers_to_seeking_preferred_cores() {
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    let all = CpuSet::first(4);
    // Two high processes on P core 0 (one runs) while P core 1 is seeking work: the
    // idle E core leaves the queued one to P core 1.
    for pid in 0..2 {
        let _ = s.enqueue(Pid::new(pid), Priority::High, CpuSet::from_bits(0b1101), c(0)).unwrap();
    }
    let _ = s.enqueue(Pid::new(2), Priority::High, all, c(0)).unwrap();
    let mut on0 = Vec::new();
    s.for_each_queued(c(0), |p, _| on0.push(p));
    let _run = s.pick_next(c(0)).unwrap();
    assert!(s.pick_next(c(1)).is_some() || on0.len() < 2);
    // Now both P cores run: an idle E core steals the queued high work (spill).
    let _ = s.enqueue(Pid::new(3), Priority::High, all, c(0)).unwrap();
    let _ = s.enqueue(Pid::new(4), Priority::High, all, c(0)).unwrap();
    let stolen = (2..4).filter_map(|e| s.pick_next(c(e))).count();
    assert!(stolen >= 1, "no E core took queued high work while both P cores were busy");
    // High work that may run only on E cores is stolen between E cores as usual.
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    let _ = s.enqueue(Pid::new(3), Priority::High, CpuSet::from_bits(0b1100), c(2)).unwrap();
    let _ = s.pick_next(c(2)).unwrap();
    let _ = s.enqueue(Pid::new(4), Priority::High, CpuSet::from_bits(0b1100), c(2)).unwrap();
    assert_eq!(s.pick_next(c(3)).map(|p| p.pid), Some(Pid::new(4)));
    // With a P core seeking, an E core does not steal high work that core may run.
    let s = Scheduler::new(two_p_two_e(), 64, Config::default());
    assert!(s.pick_next(c(1)).is_none());
    for pid in 0..2 {
        let _ = s.enqueue(Pid::new(pid), Priority::High, CpuSet::from_bits(0b1111), c(0)).unwrap();
    }
    let _run = s.pick_next(c(0)).unwrap();
    assert_eq!(s.pick_next(c(2)).map(|p| p.pid), None);
    assert!(s.pick_next(c(1)).is_some());
}

#[test]
fn wake_ups_sleep_and_exits() {
    let s = Scheduler::new(Topology::uniform(2), 8, Config::default());
    let pid = Pid::new(5);
    let placed = s.enqueue(pid, Priority::Normal, CpuSet::single(c(1)), c(0)).unwrap();
    assert_eq!(placed.core, c(1));
    assert_eq!(s.enqueue(pid, Priority::Normal, CpuSet::first(2), c(0)).unwrap_err().clone(), {
        zbeam_sched::SchedError::State(pid, zbeam_sched::state::StateError::InUse)
    });
    assert_eq!(
        s.enqueue(Pid::new(6), Priority::Normal, CpuSet::from_bits(0b100), c(0)),
        Err(zbeam_sched::SchedError::EmptyAffinity)
    );
    assert_eq!(s.enqueue(Pid::new(9), Priority::Normal, CpuSet::first(2), c(0)).unwrap_err(), {
        zbeam_sched::SchedError::NoSuchPid(Pid::new(9))
    });
    let p = s.pick_next(c(1)).unwrap();
    let out = s.schedule_out(c(1), pid, Reductions(100), OutReason::Waiting { timeout: Some(50) }).unwrap();
    assert_eq!(out.action, OutAction::Waiting { timeout: Some(50) });
    assert_eq!(p.pid, pid);
    // Core 1 goes to sleep; the wake-up queues the process and asks for an IPI.
    assert!(s.pick_next(c(1)).is_none());
    assert_eq!(s.prepare_sleep(c(1)), SleepDecision::Sleep);
    assert_eq!(s.wake(pid), Wakeup::Queued { core: c(1), wake: CpuSet::single(c(1)) });
    assert_eq!(s.wake(pid), Wakeup::AlreadyRunnable);
    s.woke(c(1));
    let _ = s.pick_next(c(1)).unwrap();
    // A message while running: the "wait" becomes a requeue.
    assert_eq!(s.wake(pid), Wakeup::NotedWhileRunning);
    let out = s.schedule_out(c(1), pid, Reductions(100), OutReason::Waiting { timeout: None }).unwrap();
    assert_eq!(out.action, OutAction::Requeued { core: c(1) });
    // Work queued before the core sleeps: prepare_sleep says retry.
    assert_eq!(s.prepare_sleep(c(1)), SleepDecision::Retry);
    // Kill while queued: picked with `exiting`, then torn down.
    assert_eq!(s.request_exit(pid), Wakeup::AlreadyRunnable);
    let p = s.pick_next(c(1)).unwrap();
    assert!(p.exiting);
    let out = s.schedule_out(c(1), pid, Reductions(0), OutReason::Exited(ExitReason::Killed)).unwrap();
    assert_eq!(out.action, OutAction::Exited(ExitReason::Killed));
    assert_eq!(s.wake(pid), Wakeup::Dead);
    s.release(pid).unwrap();
    assert!(s.schedule_out(c(1), pid, Reductions(0), OutReason::BudgetSpent).is_err());
    assert_eq!(s.stats(c(1)).context_switches, 3);
    assert_eq!(s.stats(c(1)).reductions, 200);
}

#[test]
fn set_affinity_moves_a_queued_process_at_once() {
    let s = Scheduler::new(Topology::uniform(4), 8, Config::default());
    let pid = Pid::new(0);
    let _ = s.enqueue(pid, Priority::Normal, CpuSet::first(4), c(0)).unwrap();
    let _ = s.set_affinity(pid, CpuSet::from_bits(0b1000)).unwrap();
    assert_eq!(s.run_queue_lengths(c(3))[2], 1);
    assert_eq!(s.state(pid).unwrap().runq(), c(3));
    common::check_queues(&s, 8);
    // While running, the next requeue honours it.
    let _ = s.pick_next(c(3)).unwrap();
    let _ = s.set_affinity(pid, CpuSet::from_bits(0b0100)).unwrap();
    let out = s.schedule_out(c(3), pid, Reductions(4000), OutReason::BudgetSpent).unwrap();
    assert_eq!(out.action, OutAction::Requeued { core: c(2) });
    assert!(s.set_affinity(pid, CpuSet::from_bits(0b1_0000)).is_err());
}

#[test]
fn suspended_processes_leave_the_queue_and_come_back_on_resume() {
    let s = one_core();
    let all = CpuSet::first(1);
    let _ = s.enqueue(Pid::new(0), Priority::Normal, all, c(0)).unwrap();
    assert!(s.suspend(Pid::new(0)));
    assert!(s.pick_next(c(0)).is_none());
    assert!(matches!(s.resume(Pid::new(0)), Wakeup::Queued { .. }));
    assert_eq!(s.pick_next(c(0)).unwrap().pid, Pid::new(0));
}
