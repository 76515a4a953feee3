//! The hosted scheduling loop: one OS thread per core driving
//! [`Engine::run_once`], and a supervisor (the calling thread) that ends the run.
//!
//! What: [`run`] starts a thread per core of the engine's topology. Each loops
//! `run_once(core)`; on [`Step::Idle`] it waits on its doorbell (see
//! [`crate::platform`]) until woken or until the core's next timer, then calls
//! [`Engine::woke`]. The calling thread polls the completion condition every
//! [`Options::poll`], and meanwhile acts as the platform tick: a core whose step
//! counter has not moved for a whole poll interval is asked to stop at its next
//! instruction boundary ([`Engine::preempt`]), as the kernel's timer interrupt does.
//! When the condition holds (or [`Options::timeout`] passes) it sets the stop flag,
//! rings every core and joins the threads; processes still in the table stay there
//! (the engine is the caller's) and are dropped with it.
//!
//! Why threads and not a simulation: the portable crates promise to be correct under
//! real concurrency (lock-free mailboxes, CAS state words, per-queue locks), and the
//! host's threads are the cheapest place to show it and to time it against BEAM.

use crate::platform::{HostPlatform, WaitEnd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zbeam_engine::{Engine, Step};
use zbeam_sched::{CoreId, CoreStats};

/// How a run behaves.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Give up after this long (the report says `completed: false`).
    pub timeout: Option<Duration>,
    /// How often the supervisor checks the completion condition and ticks.
    pub poll: Duration,
    /// How long an idle core spins on its doorbell before it blocks (zero: at once).
    pub idle_spin: Duration,
    /// Whether the supervisor preempts cores whose step has run for a whole poll.
    pub preempt_tick: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Some(Duration::from_secs(60)),
            poll: Duration::from_millis(1),
            idle_spin: Duration::from_micros(20),
            preempt_tick: true,
        }
    }
}

/// What one core thread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreReport {
    /// The scheduler's counters for the core at the end.
    pub stats: CoreStats,
    /// `run_once` calls.
    pub steps: u64,
    /// Idle waits.
    pub idles: u64,
    /// Idle waits that ended by a wake-up while spinning.
    pub woken_spinning: u64,
    /// Idle waits that blocked and ended by a wake-up.
    pub woken_blocked: u64,
    /// Idle waits that ended at the core's timer deadline.
    pub deadlines: u64,
    /// Preemptions the tick asked for.
    pub preempts: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Whether the completion condition held (false: timed out).
    pub completed: bool,
    /// Wall time from start to the condition being seen.
    pub wall: Duration,
    /// Per core, in core order.
    pub cores: Vec<CoreReport>,
}

impl Report {
    /// Reductions per core.
    pub fn reductions(&self) -> Vec<u64> {
        self.cores.iter().map(|c| c.stats.reductions).collect()
    }
}

/// Per-core state shared between a core thread and the supervisor.
#[derive(Default)]
struct Shared {
    /// Bumped by the core after each `run_once` (odd while a step runs).
    seq: AtomicU64,
    preempts: AtomicU64,
}

/// Runs `engine` on one thread per core until `done()` holds, or `opts.timeout`.
///
/// The engine's platform must have a doorbell per core of its topology.
pub fn run(engine: &Engine<HostPlatform>, opts: &Options, mut done: impl FnMut() -> bool) -> Report {
    let cores = engine.sched().topology().len();
    assert!(
        engine.platform().cores() >= cores,
        "the platform has {} doorbells for {} cores",
        engine.platform().cores(),
        cores
    );
    let stop = AtomicBool::new(false);
    let shared: Vec<Shared> = (0..cores).map(|_| Shared::default()).collect();
    let start = Instant::now();
    let (completed, wall, mut reports) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|c| {
                let (stop, sh) = (&stop, &shared[c]);
                std::thread::Builder::new()
                    .name(format!("zbeam-core{c}"))
                    .spawn_scoped(s, move || core_loop(engine, CoreId::new(c), opts, stop, sh))
                    .expect("spawn a core thread")
            })
            .collect();
        let mut last_seq: Vec<u64> = vec![0; cores];
        let completed = loop {
            if done() {
                break true;
            }
            if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
                break false;
            }
            std::thread::sleep(opts.poll);
            if opts.preempt_tick {
                tick(engine, &shared, &mut last_seq);
            }
        };
        let wall = start.elapsed();
        // Relaxed: the ring below orders it for sleeping cores; running ones poll it.
        stop.store(true, Ordering::Relaxed);
        for c in 0..cores {
            engine.platform().ring(c);
        }
        let reports: Vec<CoreReport> = handles.into_iter().map(|h| h.join().expect("a core thread panicked")).collect();
        (completed, wall, reports)
    });
    for (c, r) in reports.iter_mut().enumerate() {
        r.stats = engine.sched().stats(CoreId::new(c));
        // Relaxed: the threads are joined.
        r.preempts = shared[c].preempts.load(Ordering::Relaxed);
    }
    Report { completed, wall, cores: reports }
}

/// The platform tick: a core in the middle of the same step as at the last tick has
/// run a whole interval; ask it to stop at its next instruction boundary.
fn tick(engine: &Engine<HostPlatform>, shared: &[Shared], last: &mut [u64]) {
    for (c, sh) in shared.iter().enumerate() {
        // Relaxed: a hint; a stale value only delays or adds one harmless preemption.
        let seq = sh.seq.load(Ordering::Relaxed);
        if seq == last[c] && seq % 2 == 1 {
            engine.preempt(CoreId::new(c));
            sh.preempts.fetch_add(1, Ordering::Relaxed);
        }
        last[c] = seq;
    }
}

fn core_loop(
    engine: &Engine<HostPlatform>,
    core: CoreId,
    opts: &Options,
    stop: &AtomicBool,
    sh: &Shared,
) -> CoreReport {
    let mut r = CoreReport::default();
    let platform = engine.platform();
    let mut seq = 0u64;
    // Relaxed: the stop request needs no ordering (see `run`).
    while !stop.load(Ordering::Relaxed) {
        // Odd while a step runs, even between steps (Relaxed: read by the tick only).
        seq += 1;
        sh.seq.store(seq, Ordering::Relaxed);
        let step = engine.run_once(core);
        seq += 1;
        sh.seq.store(seq, Ordering::Relaxed);
        r.steps += 1;
        if let Step::Idle { deadline } = step {
            r.idles += 1;
            let until = deadline.map(|ms| platform.instant_of(ms));
            match platform.idle_wait(core.index(), until, opts.idle_spin, stop) {
                WaitEnd::WokenSpinning => r.woken_spinning += 1,
                WaitEnd::WokenBlocked => r.woken_blocked += 1,
                WaitEnd::Deadline => r.deadlines += 1,
                WaitEnd::Stopped => {}
            }
            engine.woke(core);
        }
    }
    r
}

/// An engine for `cores` uniform cores on a fresh [`HostPlatform`], with room for
/// `max_procs` processes and the built-in images.
pub fn engine(cores: usize, max_procs: usize, console: crate::platform::Console) -> Engine<HostPlatform> {
    Engine::new(
        zbeam_sched::Topology::uniform(cores),
        max_procs,
        zbeam_images::IMAGES,
        HostPlatform::new(cores, console),
    )
}
