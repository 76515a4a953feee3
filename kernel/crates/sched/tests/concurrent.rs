//! The front door under real concurrency: one std thread per simulated core picks,
//! runs and schedules out processes while every thread also wakes random processes
//! (as message senders do) and sometimes changes affinities. Checks that picks honour
//! affinity and that no process is lost or duplicated: at the end every process is
//! either waiting or queued exactly once, and each pick matched one runnable state.

mod common;

use common::{check_queues, Rng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use zbeam_sched::{
    Config, CoreId, CpuSet, OutAction, OutReason, Pid, Priority, Reductions, Scheduler, Topology, Wakeup,
};

#[test]
fn threads_as_cores_lose_and_duplicate_nothing() {
    const CORES: usize = 4;
    const PROCS: usize = 24;
    const ITERS: usize = 20_000;
    let cfg = Config { check_balance_reds: 50_000, ..Config::default() };
    let s = Arc::new(Scheduler::new(Topology::uniform(CORES), PROCS, cfg));
    let mut rng = Rng::new(7);
    for i in 0..PROCS {
        let aff = if i.is_multiple_of(5) { CpuSet::single(CoreId::new(i % CORES)) } else { CpuSet::first(CORES) };
        let _ = s.enqueue(Pid::new(i as u32), Priority::ALL[rng.below(4)], aff, CoreId::new(i % CORES)).unwrap();
    }
    let picks = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..CORES)
        .map(|c| {
            let (s, picks) = (s.clone(), picks.clone());
            std::thread::spawn(move || {
                let core = CoreId::new(c);
                let mut rng = Rng::new(100 + c as u64);
                for _ in 0..ITERS {
                    if let Some(p) = s.pick_next(core) {
                        picks.fetch_add(1, Ordering::Relaxed);
                        let st = s.state(p.pid).unwrap();
                        assert!(st.has(zbeam_sched::state::flags::RUNNING) && st.runq() == core, "{st:?}");
                        let reason =
                            if rng.chance(50) { OutReason::Waiting { timeout: None } } else { OutReason::BudgetSpent };
                        let out = s.schedule_out(core, p.pid, Reductions(rng.below(4000) as u64), reason).unwrap();
                        assert!(matches!(out.action, OutAction::Requeued { .. } | OutAction::Waiting { .. }));
                    }
                    // A sender wakes zero or one random process.
                    for _ in 0..rng.below(2) {
                        let w = s.wake(Pid::new(rng.below(PROCS) as u32));
                        assert!(!matches!(w, Wakeup::Dead));
                    }
                    if rng.chance(1) {
                        let pid = Pid::new(rng.below(PROCS) as u32);
                        if !pid.index().is_multiple_of(5) {
                            let _ = s.set_affinity(pid, CpuSet::from_bits(1 + rng.below(15) as u64)).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Quiescent: every process is queued exactly once (check_queues) or waiting.
    check_queues(&s, PROCS);
    for i in 0..PROCS {
        let st = s.state(Pid::new(i as u32)).unwrap();
        assert!(!st.has(zbeam_sched::state::flags::RUNNING), "<{i}> {st:?}");
        assert!(
            st.has(zbeam_sched::state::flags::IN_RUNQ) ^ st.has(zbeam_sched::state::flags::WAITING),
            "<{i}> neither queued nor waiting: {st:?}"
        );
    }
    let steals: u64 = (0..CORES).map(|c| s.stats(CoreId::new(c)).steals).sum();
    println!("{} picks, {steals} steals, {:?}", picks.load(Ordering::Relaxed), s.balance_stats());
}
