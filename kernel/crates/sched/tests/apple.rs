//! Simulated Apple layouts (core classes and capacities from the M1 and M1 Pro device
//! trees in the shared test data: Icestorm E cores at capacity 714, Firestorm P cores
//! at 1024): M1 = 4E + 4P, M1 Pro/Max = 2E + 8P. Mixed loads check that throughput
//! weighted by capacity stays within 5% of ideal and that idle cores are not woken
//! again and again for nothing. The simulation models sleeping cores and IPIs (see
//! `common`).

mod common;

use common::{Behaviour, Sim};
use zbeam_sched::{Config, CoreId, CoreInfo, CpuSet, Priority, Scheduler, Topology};

const ICESTORM: u32 = 714;

/// M1 (t8103): cores 0-3 Icestorm in cluster 0, 4-7 Firestorm in cluster 1.
fn m1() -> Topology {
    let mut cores = vec![CoreInfo::efficiency(ICESTORM, 0); 4];
    cores.extend([CoreInfo::performance(1); 4]);
    Topology::new(&cores).unwrap()
}

/// M1 Pro / Max (t6000, t6001): cores 0-1 Icestorm in cluster 0, 2-5 and 6-9
/// Firestorm in clusters 1 and 2.
fn m1_pro() -> Topology {
    let mut cores = vec![CoreInfo::efficiency(ICESTORM, 0); 2];
    cores.extend([CoreInfo::performance(1); 4]);
    cores.extend([CoreInfo::performance(2); 4]);
    Topology::new(&cores).unwrap()
}

struct Outcome {
    /// Reductions executed in the window over what every core at full speed would do.
    throughput: f64,
    /// Share of the high-priority reductions that ran on P cores.
    high_on_p: f64,
    /// Share of the low-priority reductions that ran on E cores.
    low_on_e: f64,
    sim: Sim,
}

const WARMUP: u64 = 5_000;
const WINDOW: u64 = 20_000;

/// Spawns `load` (priority, count, behaviour) from core 0, runs WARMUP steps, then
/// measures WINDOW steps.
fn run(name: &str, topo: Topology, load: &[(Priority, usize, Behaviour)]) -> Outcome {
    let n = topo.len();
    let mut sim = Sim::new(Scheduler::new(topo, 256, Config::default()));
    sim.sleeping = true;
    for &(prio, count, b) in load {
        for _ in 0..count {
            sim.spawn(prio, CpuSet::first(n), 0, b);
        }
    }
    for _ in 0..WARMUP {
        sim.step();
    }
    let reds0 = sim.reds.clone();
    let on0: Vec<Vec<u64>> = sim.procs.iter().map(|p| p.reds_on.clone()).collect();
    for _ in 0..WINDOW {
        sim.step();
    }
    sim.check_queues();
    let done: u64 = sim.reds.iter().zip(&reds0).map(|(a, b)| a - b).sum();
    let full: u64 = (0..n).map(|c| sim.speed(c) as u64 * WINDOW).sum();
    let topo = sim.sched.topology().clone();
    let share = |prio: Priority, on_class_p: bool| {
        let (mut hit, mut all) = (0u64, 0u64);
        for (p, before) in sim.procs.iter().zip(&on0).filter(|(p, _)| p.prio == prio) {
            for (c, (now, then)) in p.reds_on.iter().zip(before).enumerate() {
                let d = now - then;
                all += d;
                if topo.is_performance(CoreId::new(c)) == on_class_p {
                    hit += d;
                }
            }
        }
        if all == 0 {
            1.0
        } else {
            hit as f64 / all as f64
        }
    };
    let out = Outcome {
        throughput: done as f64 / full as f64,
        high_on_p: share(Priority::High, true),
        low_on_e: share(Priority::Low, false),
        sim,
    };
    println!(
        "{name}: throughput {:.3} of ideal, high on P {:.1}%, low on E {:.1}%",
        out.throughput,
        100.0 * out.high_on_p,
        100.0 * out.low_on_e
    );
    for (c, before) in reds0.iter().enumerate() {
        let s = &out.sim;
        let st = s.sched.stats(CoreId::new(c));
        println!(
            "  core {c} ({}): busy {:.1}%, ipis {}, empty wakes {} (longest run {}), migrations in {} steals {}",
            if topo.is_performance(CoreId::new(c)) { 'P' } else { 'E' },
            100.0 * (s.reds[c] - before) as f64 / (s.speed(c) as u64 * WINDOW) as f64,
            s.ipis[c],
            s.empty_wakes[c],
            s.max_empty_run[c],
            st.migrations_in,
            st.steals
        );
    }
    out
}

const FOREVER: Behaviour = Behaviour::CpuBound { total: u64::MAX / 2 };

/// Mixed CPU-bound load: more high work than P cores (it must spill), normal work,
/// and low work; every core must stay busy.
fn saturated(p_cores: usize) -> Vec<(Priority, usize, Behaviour)> {
    vec![(Priority::High, p_cores + 2, FOREVER), (Priority::Normal, 4, FOREVER), (Priority::Low, 3, FOREVER)]
}

/// Mixed bursty load under CPU-bound low work: high and normal processes come and go.
fn bursty() -> Vec<(Priority, usize, Behaviour)> {
    vec![
        (Priority::High, 3, Behaviour::Bursty { burst: 6000, sleep: 2 }),
        (Priority::Normal, 6, Behaviour::Bursty { burst: 12_000, sleep: 5 }),
        (Priority::Low, 10, FOREVER),
    ]
}

/// No core is woken again and again for nothing: at most 1% of its wake-ups find no
/// work, and at most 5 in a row (a woken core can lose a race for the work it was
/// woken for to a core that got there first, a few times while a load shifts; a
/// loop would show as a long run and a large share).
fn check_no_empty_wake_loop(o: &Outcome) {
    for c in 0..o.sim.cores() {
        let (ipis, empty) = (o.sim.ipis[c], o.sim.empty_wakes[c]);
        assert!(o.sim.max_empty_run[c] <= 5, "core {c}: {} empty wake-ups in a row", o.sim.max_empty_run[c]);
        assert!(empty * 100 <= ipis.max(100), "core {c}: {empty} of {ipis} wake-ups found nothing");
    }
}

/// Both mixed loads on one layout: every core stays busy (throughput within 5% of
/// ideal), high work runs mostly on P cores, and no core loops on empty wake-ups.
fn mixed_loads(name: &str, topo: fn() -> Topology, p_cores: usize) {
    let o = run(&format!("{name} saturated"), topo(), &saturated(p_cores));
    assert!(o.throughput >= 0.95, "{name} saturated: {:.3}", o.throughput);
    assert!(o.high_on_p >= 0.6, "{name}: high work should mostly run on P: {:.3}", o.high_on_p);
    check_no_empty_wake_loop(&o);
    let o = run(&format!("{name} bursty"), topo(), &bursty());
    assert!(o.throughput >= 0.95, "{name} bursty: {:.3}", o.throughput);
    assert!(o.high_on_p >= 0.9, "{name}: high work should run on P: {:.3}", o.high_on_p);
    check_no_empty_wake_loop(&o);
}

#[test]
fn m1_mixed_loads_near_ideal_throughput() {
    mixed_loads("M1", m1, 4);
}

#[test]
fn m1_pro_mixed_loads_near_ideal_throughput() {
    mixed_loads("M1 Pro", m1_pro, 8);
}

#[test]
fn preferences_hold_without_spill_when_classes_have_room() {
    // As many high processes as P cores and as many low ones as E cores: each class
    // takes its own, nothing spills, every core is busy.
    for (name, topo, p, e) in [("M1", m1(), 4, 4), ("M1 Pro", m1_pro(), 8, 2)] {
        let o = run(name, topo, &[(Priority::High, p, FOREVER), (Priority::Low, e, FOREVER)]);
        assert!(
            o.high_on_p >= 0.99 && o.low_on_e >= 0.99,
            "{name}: high on P {}, low on E {}",
            o.high_on_p,
            o.low_on_e
        );
        assert!(o.throughput >= 0.99, "{name}: {:.3}", o.throughput);
    }
}

#[test]
fn light_bursty_load_wakes_only_cores_that_find_work() {
    // Fewer processes than cores, all bursty: cores sleep and are woken often.
    for (name, topo) in [("M1", m1()), ("M1 Pro", m1_pro())] {
        let load = [
            (Priority::High, 2, Behaviour::Bursty { burst: 3000, sleep: 3 }),
            (Priority::Normal, 2, Behaviour::Bursty { burst: 5000, sleep: 4 }),
            (Priority::Low, 2, Behaviour::Bursty { burst: 2000, sleep: 2 }),
        ];
        let o = run(&format!("{name} light"), topo, &load);
        check_no_empty_wake_loop(&o);
        let total: u64 = o.sim.ipis.iter().sum();
        assert!(total > 0, "{name}: the light load should put cores to sleep and wake them");
    }
}
