//! Deterministic multi-core simulations of whole workloads (see `common`): skewed
//! load spread by balancing, compaction under light load, P/E placement shares.

mod common;

use common::{Behaviour, Sim};
use zbeam_sched::{Config, CoreId, CpuSet, Priority, Scheduler, Topology, CHECK_BALANCE_REDS, CONTEXT_REDS};

/// 16 CPU-bound processes spawned on core 0 of 4; each needs `slices` full slices.
/// Returns (makespan in steps, ideal steps, per-full-pass load snapshots).
fn skew(cfg: Config, slices: u64) -> (u64, u64, Vec<Vec<u32>>) {
    let mut sim = Sim::new(Scheduler::new(Topology::uniform(4), 64, cfg));
    for _ in 0..16 {
        sim.spawn(Priority::Normal, CpuSet::first(4), 0, Behaviour::CpuBound { total: slices * CONTEXT_REDS as u64 });
    }
    let ideal = (16 * slices).div_ceil(4);
    let mut snapshots = Vec::new();
    let mut passes = 0;
    while !sim.all_finished() {
        sim.step();
        sim.check_queues();
        let full = sim.sched.balance_stats().full_passes;
        if full != passes {
            passes = full;
            snapshots.push((0..4).map(|c| sim.load(c)).collect());
        }
        assert!(sim.step < 10 * ideal, "no progress");
    }
    let makespan = sim.procs.iter().filter_map(|p| p.finished_at).max().unwrap();
    (makespan, ideal, snapshots)
}

#[test]
fn skewed_load_is_spread_by_balancing_alone() {
    // Stealing and compaction off: only check_balance can move work.
    let cfg = Config { stealing: false, compaction: false, ..Config::default() };
    let (makespan, ideal, snaps) = skew(cfg, 4000);
    println!("balance only: loads at full passes {snaps:?}");
    println!("balance only: makespan {makespan} steps, ideal {ideal}, ratio {:.3}", makespan as f64 / ideal as f64);
    // The first full pass (after 2000 steps of core 0) sets up paths; by the second
    // one every core carries 4 ± 1.
    assert!(snaps.len() >= 2);
    for loads in &snaps[1..3] {
        let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
        assert!(max - min <= 1 && loads.iter().sum::<u32>() == 16, "not spread: {loads:?}");
    }
    // Three cores idle for the first period (2000 of 16000 steps): ≈ 1.09x.
    assert!((makespan as f64) <= 1.12 * ideal as f64, "makespan {makespan} vs ideal {ideal}");
}

#[test]
fn skewed_load_makespan_with_stealing_and_balancing() {
    let (makespan, ideal, snaps) = skew(Config::default(), 4000);
    let ratio = makespan as f64 / ideal as f64;
    println!("default: loads at full passes {snaps:?}");
    println!("default: makespan {makespan} steps, ideal {ideal}, ratio {ratio:.3}");
    // Stealing spreads one process to each idle core at once; balancing does the
    // rest: by the third full pass every core carries 4 ± 1.
    for loads in snaps.iter().skip(2).take(2) {
        let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
        assert!(max - min <= 1, "not spread: {loads:?}");
    }
    assert!(ratio <= 1.05, "makespan {makespan} vs ideal {ideal}");
}

#[test]
fn light_load_compacts_to_fewer_active_queues() {
    // A tenth of BEAM's balance interval keeps the simulation short; the decisions
    // scale with it (the full period is 2x the interval either way).
    let cfg = Config { check_balance_reds: CHECK_BALANCE_REDS / 10, ..Config::default() };
    let mut sim = Sim::new(Scheduler::new(Topology::uniform(4), 64, cfg));
    for i in 0..8 {
        let sleep = 3 + i as u64 % 5;
        sim.spawn(Priority::Normal, CpuSet::first(4), i % 4, Behaviour::Bursty { burst: 400, sleep });
    }
    let mut actives = vec![sim.sched.balance_stats().active];
    let mut passes = 0;
    let mut inactive_picks_at_min = None;
    for _ in 0..60_000 {
        sim.step();
        let b = sim.sched.balance_stats();
        if b.full_passes != passes {
            passes = b.full_passes;
            actives.push(b.active);
            if b.active == 1 && inactive_picks_at_min.is_none() {
                inactive_picks_at_min = Some(sim.picks_on_inactive);
            }
        }
    }
    sim.check_queues();
    println!("active queues after each full pass: {actives:?}");
    assert!(*actives.last().unwrap() < 4 && actives.iter().min() == Some(&1), "no compaction: {actives:?}");
    // Once compacted to one queue, the inactive cores' queues drain and their cores
    // stop picking within a few steps.
    let at_min = inactive_picks_at_min.unwrap();
    assert!(sim.picks_on_inactive - at_min <= 8, "inactive cores kept running: {}", sim.picks_on_inactive - at_min);
    for core in 0..4 {
        if sim.sched.is_queue_inactive(CoreId::new(core)) {
            assert_eq!(sim.load(core), 0, "inactive core {core} still has work");
        }
    }
}

#[test]
fn load_rise_reactivates_queues() {
    let cfg = Config { check_balance_reds: CHECK_BALANCE_REDS / 10, ..Config::default() };
    let mut sim = Sim::new(Scheduler::new(Topology::uniform(4), 64, cfg));
    for i in 0..4 {
        sim.spawn(Priority::Normal, CpuSet::first(4), i, Behaviour::Bursty { burst: 400, sleep: 3 + i as u64 });
    }
    while sim.sched.balance_stats().active > 1 {
        sim.step();
        assert!(sim.step < 100_000, "never compacted");
    }
    // Now 12 CPU-bound processes arrive on core 0.
    for _ in 0..12 {
        sim.spawn(Priority::Normal, CpuSet::first(4), 0, Behaviour::CpuBound { total: u64::MAX / 2 });
    }
    let t0 = sim.step;
    while sim.sched.balance_stats().active < 4 {
        sim.step();
        assert!(sim.step < t0 + 20_000, "load rose but queues stayed inactive");
    }
    println!("re-activated all queues {} steps after the load rose", sim.step - t0);
}

/// Runs a 2P+2E workload for 20 000 steps; returns the P-core share of reductions
/// of (high, normal, low) processes.
fn pe_shares(high_sleep: u64, normal_sleep: u64) -> (f64, f64, f64) {
    // 2 P cores (1024) + 2 E cores (512): E cores execute half as many reductions per
    // step. All spawned from core 0: 2 high and 4 normal bursty processes and 4
    // CPU-bound low processes.
    let topo = Topology::performance_efficiency(2, 2);
    let mut sim = Sim::new(Scheduler::new(topo, 64, Config::default()));
    let all = CpuSet::first(4);
    for _ in 0..2 {
        sim.spawn(Priority::High, all, 0, Behaviour::Bursty { burst: 4000, sleep: high_sleep });
    }
    for _ in 0..4 {
        sim.spawn(Priority::Normal, all, 0, Behaviour::Bursty { burst: 8000, sleep: normal_sleep });
    }
    for _ in 0..4 {
        sim.spawn(Priority::Low, all, 0, Behaviour::CpuBound { total: u64::MAX / 2 });
    }
    for _ in 0..20_000 {
        sim.step();
    }
    sim.check_queues();
    let share_on_p = |prio: Priority| {
        let (on_p, all) = sim
            .procs
            .iter()
            .filter(|p| p.prio == prio)
            .fold((0u64, 0u64), |(on_p, all), p| (on_p + p.reds_on[0] + p.reds_on[1], all + p.done));
        on_p as f64 / all as f64
    };
    let shares = (share_on_p(Priority::High), share_on_p(Priority::Normal), share_on_p(Priority::Low));
    println!(
        "sleeps {high_sleep}/{normal_sleep}: P-core share of reductions: high {:.1}%, normal {:.1}%, low {:.1}%",
        100.0 * shares.0,
        100.0 * shares.1,
        100.0 * shares.2,
    );
    for core in 0..4 {
        let s = sim.sched.stats(CoreId::new(core));
        println!(
            "  core {core}: {} reds, {} switches, {} steals, {} in / {} out",
            s.reductions, s.context_switches, s.steals, s.migrations_in, s.migrations_out
        );
    }
    shares
}

#[test]
fn pe_placement_shares() {
    // P cores saturated by high and normal work: low work stays on E entirely.
    let (hp, _, lp) = pe_shares(1, 6);
    assert!(hp >= 0.95, "high on P: {hp}");
    assert!(lp <= 0.05, "low on P: {lp}");
    // P cores idle about a quarter of the time: they lend that time to low work
    // (stealing is work-conserving), but low work still runs mostly on E, and high
    // work never leaves the P cores.
    let (hp, _, lp) = pe_shares(3, 9);
    assert!(hp >= 0.95, "high on P: {hp}");
    assert!(lp < 0.5, "low on P: {lp}");
}
