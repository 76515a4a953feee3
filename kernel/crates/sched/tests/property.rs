//! Affinity is never violated: seeded random interleavings of spawn, pick (local,
//! immigration, stealing), schedule-out (requeue with emigration), wake-up, affinity
//! and priority changes, suspend/resume, kills and balance passes (with compaction)
//! on 4–16 simulated cores of random P/E classes and clusters, with random masks.
//! After every operation every queued process sits on a core of its set, exactly
//! once, and every pick is on a core of the picked process's set.

mod common;

use common::{check_queues, random_pe_topology, Rng};
use zbeam_sched::{
    Config, CoreId, CpuSet, ExitReason, OutAction, OutReason, PickSource, Pid, Priority, Reductions, Scheduler,
    Topology,
};

const PROCS: usize = 96;

fn random_topology(rng: &mut Rng) -> Topology {
    let n = 4 + rng.below(13);
    random_pe_topology(rng, n)
}

fn random_mask(rng: &mut Rng, n: usize) -> CpuSet {
    match rng.below(4) {
        0 => CpuSet::single(CoreId::new(rng.below(n))),
        1 => CpuSet::first(n),
        _ => loop {
            let m = CpuSet::from_bits(rng.next_u64()).and(CpuSet::first(n));
            if !m.is_empty() {
                break m;
            }
        },
    }
}

#[derive(Default)]
struct Tally {
    steals: u64,
    immigrations: u64,
    emigrations: u64,
    full_passes: u64,
    compacted: u64,
    picks: u64,
}

fn run(seed: u64, ops: usize, t: &mut Tally) {
    let mut rng = Rng::new(seed);
    let topo = random_topology(&mut rng);
    let n = topo.len();
    // A short balance interval so that many passes (and compactions) happen.
    let cfg = Config { check_balance_reds: 20_000, ..Config::default() };
    let s = Scheduler::new(topo, PROCS, cfg);
    let mut live = [false; PROCS];
    let mut running: Vec<Option<Pid>> = vec![None; n];
    let prios = Priority::ALL;
    for op in 0..ops {
        let core = CoreId::new(rng.below(n));
        let pid = Pid::new(rng.below(PROCS) as u32);
        match rng.below(100) {
            0..=14 => {
                if !live[pid.index()] {
                    let placed = s
                        .enqueue(pid, prios[rng.below(4)], random_mask(&mut rng, n), core)
                        .unwrap_or_else(|e| panic!("seed {seed} op {op}: {e:?} {:?}", s.state(pid)));
                    assert!(s.affinity(pid).unwrap().contains(placed.core));
                    live[pid.index()] = true;
                }
            }
            15..=44 => {
                if running[core.index()].is_none() {
                    if let Some(p) = s.pick_next(core) {
                        let aff = s.affinity(p.pid).unwrap();
                        assert!(
                            aff.contains(core),
                            "seed {seed} op {op}: {:?} picked on {core} outside {aff:?}",
                            p.pid
                        );
                        match p.source {
                            PickSource::Stolen { .. } => t.steals += 1,
                            PickSource::Immigrated { .. } => t.immigrations += 1,
                            PickSource::Local => {}
                        }
                        t.picks += 1;
                        running[core.index()] = Some(p.pid);
                    }
                }
            }
            45..=69 => {
                if let Some(p) = running[core.index()].take() {
                    let reason = match rng.below(10) {
                        0..=3 => OutReason::BudgetSpent,
                        4 => OutReason::Yielded,
                        5..=8 => OutReason::Waiting { timeout: None },
                        _ => OutReason::Exited(ExitReason::Normal),
                    };
                    let used = Reductions(rng.below(4001) as u64);
                    let out = s.schedule_out(core, p, used, reason).expect("schedule_out of a running process");
                    match out.action {
                        OutAction::Requeued { core: to } => {
                            assert!(s.affinity(p).unwrap().contains(to));
                            if to != core {
                                t.emigrations += 1;
                            }
                        }
                        OutAction::Exited(_) | OutAction::Faulted(_) | OutAction::Killed => {
                            s.release(p).unwrap();
                            live[p.index()] = false;
                        }
                        OutAction::Waiting { .. } | OutAction::Parked => {}
                    }
                    if let Some(zbeam_sched::BalancePass::Full { compacted, .. }) = out.balance {
                        t.full_passes += 1;
                        t.compacted += compacted as u64;
                    }
                }
            }
            70..=84 => {
                let _ = s.wake(pid);
            }
            85..=88 => {
                if live[pid.index()] {
                    let _ = s.set_affinity(pid, random_mask(&mut rng, n)).unwrap();
                }
            }
            89 => {
                let _ = s.set_priority(pid, prios[rng.below(4)]);
            }
            90 => {
                let _ = s.suspend(pid);
            }
            91..=92 => {
                let _ = s.resume(pid);
            }
            93 => {
                let _ = s.request_exit(pid);
            }
            94..=96 => {
                if let Some(zbeam_sched::BalancePass::Full { compacted, .. }) = s.check_balance() {
                    t.full_passes += 1;
                    t.compacted += compacted as u64;
                }
            }
            97 => {
                let _ = s.prepare_sleep(core);
            }
            _ => s.woke(core),
        }
        check_queues(&s, PROCS);
    }
}

#[test]
fn affinity_is_never_violated() {
    let mut t = Tally::default();
    for seed in 1..=40 {
        run(seed, 2500, &mut t);
    }
    println!(
        "40 seeds x 2500 ops: {} picks, {} steals, {} immigrations, {} emigrations/redirects, {} full passes ({} compacting)",
        t.picks, t.steals, t.immigrations, t.emigrations, t.full_passes, t.compacted
    );
    // The run must actually exercise every mechanism it claims to check.
    assert!(t.steals > 100 && t.immigrations > 0 && t.emigrations > 100 && t.full_passes > 50 && t.compacted > 0);
}
