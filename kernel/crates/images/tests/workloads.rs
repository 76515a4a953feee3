//! The bench rows' controllers (`zbeam_images::workloads::bench`) on the simulated
//! engine: they time on the engine's clock (the simulated one moves 1 ms a round, so
//! every time they report is whole milliseconds of it), and they place their
//! processes as asked.

use core::time::Duration;
use zbeam_engine::Engine;
use zbeam_images::workloads::{Consumer, PingPong, Producer, Workers};
use zbeam_images::IMAGES;
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), 256, IMAGES, Sim::default())
}

/// Reductions each core has run (the controller's few included).
fn reductions(e: &Engine<Sim>, cores: usize) -> Vec<u64> {
    (0..cores).map(|c| e.sched().stats(CoreId::new(c)).reductions).collect()
}

/// Whether `d` is whole milliseconds (a time read from the simulated clock).
fn whole_ms(d: Duration) -> bool {
    d.as_micros().is_multiple_of(1000)
}

#[test]
fn workers_spread_puts_worker_i_on_core_i_mod_cores_and_times_on_the_engine_clock() {
    // One round of worker is 262,144 counting-loop instructions.
    const ROUND: u64 = 65536 * 4;
    // Spread over cores 0 and 1 of three: core 2 would steal unbound workers.
    let e = engine(3);
    let (ctl, out) = Workers::spread(4, 1, 2);
    e.spawn_native(ctl, Priority::High, CpuSet::single(CoreId::new(0)), CoreId::new(0)).unwrap();
    let rounds = drive(&e, 3, 100_000, || out.is_filled());
    let r = out.take().expect("the workers finished");
    assert_eq!(r.finished, 4);
    let per_core = reductions(&e, 3);
    // Two workers bound to each of cores 0 and 1, none on core 2.
    assert!(per_core[0] >= 2 * ROUND && per_core[1] >= 2 * ROUND && per_core[2] == 0, "{per_core:?}");
    assert!(r.elapsed > Duration::ZERO && whole_ms(r.elapsed), "{:?}", r.elapsed);
    assert!(r.elapsed <= Duration::from_millis(rounds), "{:?} in {rounds} rounds", r.elapsed);

    // The same work with one affinity (core 0 only) leaves core 1 idle.
    let e = engine(2);
    let (ctl, out) = Workers::new(4, 1, CpuSet::single(CoreId::new(0)));
    e.spawn_native(ctl, Priority::High, CpuSet::single(CoreId::new(0)), CoreId::new(0)).unwrap();
    drive(&e, 2, 100_000, || out.is_filled());
    assert_eq!(out.take().map(|r| r.finished), Some(4));
    let per_core = reductions(&e, 2);
    assert!(per_core[0] >= 4 * ROUND && per_core[1] == 0, "{per_core:?}");
}

#[test]
fn ping_pong_counts_its_round_trips_on_the_engine_clock() {
    let e = engine(2);
    let (ctl, out) = PingPong::new(50, 5, CpuSet::single(CoreId::new(1)));
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(CoreId::new(0)), CoreId::new(0)).unwrap();
    let rounds = drive(&e, 2, 10_000, || out.is_filled());
    let r = out.take().expect("ping-pong finished");
    assert_eq!((r.rounds, r.errors, r.spawn_failed), (50, 0, false));
    assert!(whole_ms(r.elapsed) && r.elapsed <= Duration::from_millis(rounds), "{:?}", r.elapsed);
}

#[test]
fn the_consumer_reports_the_cores_it_ran_on_as_a_core_set() {
    let e = engine(2);
    let (consumer, got) = Consumer::new(2, 100, 16);
    let c = e.spawn_native(consumer, Priority::Normal, CpuSet::single(CoreId::new(1)), CoreId::new(1)).unwrap();
    for i in 0..2 {
        let (producer, _) = Producer::new(c, i, 100, 10);
        e.spawn_native(producer, Priority::Normal, CpuSet::single(CoreId::new(0)), CoreId::new(0)).unwrap();
    }
    drive(&e, 2, 10_000, || got.is_filled());
    let r = got.take().expect("the consumer finished");
    assert_eq!((r.received, r.out_of_order), (vec![100, 100], 0));
    assert_eq!(r.ran_on, CpuSet::single(CoreId::new(1)));
}
