//! Stopping a run early (`Pool::go_on`, `reference::Stop`), as the kernel's `par`
//! does on Ctrl-C: a run cut into stretches that is never stopped ends exactly as
//! the uncut run (same checksum of the final state), on the harness and on the CP/M
//! machine, through the reference interpreter and through the dispatcher; a run that
//! is stopped ends with `RunError::Stopped` before its end, at the first ask that
//! says no. Also: a wave that does not fit in the instruction limit left does not
//! make its head stop the interpreter at every arrival (a limit as `par` gives).

mod common;

use zbeam_dispatch::cpm::CpmSystem;
use zbeam_dispatch::reference::{
    self, report_checksum, sequential, sequential_checksum, sequential_cpm, sequential_cpm_until, sequential_until,
    Stop,
};
use zbeam_dispatch::suite::{CPM, PROGRAMS};
use zbeam_dispatch::task::Task;
use zbeam_dispatch::{run, run_cpm, Config, CostModel, Policy, Pool, RunError};

/// A cost-model pool that lets the dispatcher run `every` instructions at a time and
/// says no from its `stop_at`-th ask on (never with 0); counts the asks.
struct Stopping {
    model: CostModel,
    every: u64,
    stop_at: u64,
    asks: u64,
}

impl Stopping {
    fn new(instances: usize, every: u64, stop_at: u64) -> Stopping {
        let mut model = CostModel::new(instances, 2000, 1);
        model.per_instance = 2;
        Stopping { model, every, stop_at, asks: 0 }
    }
}

impl Pool for Stopping {
    fn instances(&self) -> usize {
        self.model.instances()
    }
    fn run_all(&mut self, tasks: &mut [Task]) {
        self.model.run_all(tasks)
    }
    fn per_instance(&self) -> usize {
        self.model.per_instance()
    }
    fn now(&mut self) -> u64 {
        self.model.now()
    }
    fn charge_sequential(&mut self, tstates: u64) {
        self.model.charge_sequential(tstates)
    }
    fn charge_validation(&mut self, addresses: u64) {
        self.model.charge_validation(addresses)
    }
    fn min_task_tstates(&self) -> u64 {
        self.model.min_task_tstates()
    }
    fn check_every(&self) -> u64 {
        self.every
    }
    fn go_on(&mut self) -> bool {
        self.asks += 1;
        self.stop_at == 0 || self.asks < self.stop_at
    }
}

#[test]
fn a_reference_run_in_stretches_ends_as_the_whole_run() {
    for p in PROGRAMS {
        let mut out = Vec::new();
        let whole = sequential(p.image, u64::MAX, &mut |b| out.push(b));
        for every in [1_009, 65_537] {
            let mut asks = 0u64;
            let mut go_on = || {
                asks += 1;
                true
            };
            let mut cut_out = Vec::new();
            let cut = sequential_until(
                p.image,
                u64::MAX,
                &mut |b| cut_out.push(b),
                &mut Stop { every, go_on: Some(&mut go_on) },
            );
            assert_eq!(
                sequential_checksum(&cut, &cut_out),
                sequential_checksum(&whole, &out),
                "{} in stretches of {every}",
                p.name
            );
            assert_eq!(asks, whole.instructions / every, "{}: one ask per full stretch", p.name);
        }
    }
    // Stretches of one instruction, and a limit inside a stretch.
    let p = zbeam_dispatch::suite::find("crc").expect("crc");
    for limit in [1, 2, 50_000, 50_001] {
        let whole = sequential(p.image, limit, &mut |_| {});
        for every in [1, 7, 50_000] {
            let cut = sequential_until(p.image, limit, &mut |_| {}, &mut Stop { every, go_on: Some(&mut || true) });
            assert_eq!(cut.result, Err(RunError::InstructionLimit), "limit {limit}, every {every}");
            assert_eq!(
                sequential_checksum(&cut, &[]),
                sequential_checksum(&whole, &[]),
                "limit {limit}, every {every}"
            );
        }
    }
}

#[test]
fn a_cpm_machine_run_in_stretches_ends_as_the_whole_run() {
    for (name, image) in CPM {
        let mut out = Vec::new();
        let whole = sequential_cpm(image, &mut CpmSystem::new(b"", b""), 5_000_000, &mut |b| out.push(b));
        let mut cut_out = Vec::new();
        let cut = sequential_cpm_until(
            image,
            &mut CpmSystem::new(b"", b""),
            5_000_000,
            &mut |b| cut_out.push(b),
            &mut Stop { every: 97, go_on: Some(&mut || true) },
        );
        assert_eq!(sequential_checksum(&cut, &cut_out), sequential_checksum(&whole, &out), "{name}");
    }
}

#[test]
fn a_stopped_reference_run_ends_stopped_at_the_first_no() {
    let p = zbeam_dispatch::suite::find("mandel").expect("mandel");
    let mut asks = 0;
    let mut go_on = || {
        asks += 1;
        asks < 3
    };
    let s = sequential_until(p.image, u64::MAX, &mut |_| {}, &mut Stop { every: 10_000, go_on: Some(&mut go_on) });
    assert_eq!(s.result, Err(RunError::Stopped));
    assert_eq!(s.instructions, 30_000, "stopped after the third stretch");
    let (name, image) = *CPM.iter().find(|(n, _)| *n == "cpm-random").expect("cpm-random");
    let s = sequential_cpm_until(
        image,
        &mut CpmSystem::new(b"", b""),
        u64::MAX,
        &mut |_| {},
        &mut Stop { every: 50, go_on: Some(&mut || false) },
    );
    assert_eq!((s.result, s.instructions), (Err(RunError::Stopped), 50), "{name}");
}

#[test]
fn a_dispatched_run_asked_in_stretches_ends_as_the_reference() {
    for p in PROGRAMS {
        let mut out = Vec::new();
        let s = sequential(p.image, u64::MAX, &mut |b| out.push(b));
        let cfg = Config { tasks: 3, ..Config::default() };
        let mut pool = Stopping::new(3, 4_099, 0);
        let mut dout = Vec::new();
        let d = run(p.image, &cfg, &mut pool, &mut Policy::new(p.image), &mut |b| dout.push(b));
        assert_eq!(report_checksum(&d, &dout), sequential_checksum(&s, &out), "{}", p.name);
        if p.class == "sequential" && d.stats.call_waves == 0 {
            // All of it runs on the dispatcher's instance (callchain tries a few
            // call waves before its call site is retired: not asked during those).
            assert!(pool.asks >= s.instructions / 4_099, "{}: asked at least once a stretch", p.name);
        }
    }
}

#[test]
fn a_dispatched_run_stops_at_the_first_no() {
    for p in PROGRAMS {
        let whole = sequential(p.image, u64::MAX, &mut |_| {});
        let cfg = Config { tasks: 3, ..Config::default() };
        for stop_at in [1, 2, 40] {
            let mut pool = Stopping::new(3, 10_007, stop_at);
            let d = run(p.image, &cfg, &mut pool, &mut Policy::new(p.image), &mut |_| {});
            assert_eq!(d.result, Err(RunError::Stopped), "{} stopped at ask {stop_at}", p.name);
            // The no ends the stretch, observation or wave loop it came in, then the run.
            assert!(
                (stop_at..=stop_at + 2).contains(&pool.asks),
                "{}: {} asks after a no at {stop_at}",
                p.name,
                pool.asks
            );
            assert!(d.instructions < whole.instructions, "{}: stopped before its end", p.name);
        }
    }
    let (name, image) = *CPM.iter().find(|(n, _)| *n == "cpm-random").expect("cpm-random");
    let mut pool = Stopping::new(2, 1_000, 1);
    let d = run_cpm(
        image,
        &mut CpmSystem::new(b"", b""),
        &Config::default(),
        &mut pool,
        &mut Policy::new(image),
        &mut |_| {},
    );
    assert_eq!((d.result, d.instructions), (Err(RunError::Stopped), 0), "{name}");
    // The checksum tells a stopped run from one that reached its limit.
    let image = zbeam_dispatch::suite::find("crc").expect("crc").image;
    let cut = sequential_until(image, 10, &mut |_| {}, &mut Stop { every: 5, go_on: Some(&mut || false) });
    let limit = reference::sequential(image, 5, &mut |_| {});
    assert_eq!(cut.instructions, limit.instructions);
    assert_ne!(sequential_checksum(&cut, &[]), sequential_checksum(&limit, &[]));
}

/// A head whose chosen wave does not fit in what is left of the instruction limit
/// waits a span of arrivals before it is asked again, rather than stopping the
/// interpreter at every arrival: mandel with its pixel loop retired (as a kernel
/// run's policy had it), 4 tasks per instance and the 100 M limit `par` gives.
#[test]
fn a_wave_that_does_not_fit_the_limit_does_not_stop_every_arrival() {
    let p = zbeam_dispatch::suite::find("mandel").expect("mandel");
    let mut out = Vec::new();
    let whole = sequential(p.image, u64::MAX, &mut |b| out.push(b));
    for seed in 0..4 {
        let mut policy = Policy::new(p.image);
        policy.regions.entry(0x0186).or_default().retired = true;
        let cfg = Config { tasks: 4, seed, max_instructions: 100_000_000, ..Config::default() };
        let mut pool = CostModel::new(4, 2000, 1);
        pool.per_instance = 4;
        pool.min_task = 400_000;
        let mut dout = Vec::new();
        let d = run(p.image, &cfg, &mut pool, &mut policy, &mut |b| dout.push(b));
        assert_eq!(report_checksum(&d, &dout), sequential_checksum(&whole, &out), "seed {seed}");
        for r in &d.regions {
            assert!(r.visits < 20_000, "seed {seed}: region {:04X}h stopped {} times ({})", r.head, r.visits, r.state);
        }
    }
}
