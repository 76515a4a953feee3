//! Fuzzing the engine with proptest (bounded for `make test`; `make fuzz` raises
//! PROPTEST_CASES): random Z80 programs, which make random system calls with random
//! registers, and random message traffic with random timeouts and clock jumps.
//!
//! Properties, beyond "nothing panicked": after the processes are killed and torn
//! down, none is live, no timer is armed, no name is registered, no tree is frozen,
//! and the heap this test binary uses (a counting allocator) is back at its
//! baseline; in the traffic case, every message sent is received exactly once.

use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use zbeam_engine::{Engine, NativeCx, NativeStep, NativeTask, Pid, Platform};
use zbeam_images::{CX_PINGPONG, IMAGES, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

/// Counts the bytes this test binary holds, so a leak shows as a difference.
struct Counting;
static HELD: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        HELD.fetch_add(l.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A simulated machine: a clock moved by hand, output thrown away.
#[derive(Default)]
struct Sim {
    now: AtomicU64,
}

impl Platform for Sim {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn console(&self, _bytes: &[u8]) {}
}

/// Steps every core once; the clock moves by `dt` ms.
fn round(e: &Engine<Sim>, cores: usize, dt: u64) {
    for c in 0..cores {
        if let zbeam_engine::Step::Idle { .. } = e.run_once(CoreId::new(c)) {
            e.woke(CoreId::new(c));
        }
    }
    e.platform().now.fetch_add(dt, Ordering::Relaxed);
}

/// Kills every process and steps until all are torn down; then checks the tables.
fn kill_all_and_check(e: &Engine<Sim>, cores: usize) -> Result<(), TestCaseError> {
    for pid in e.live_pids() {
        e.kill(pid);
    }
    let mut n = 0;
    while e.live() > 0 && n < 10_000 {
        round(e, cores, 1);
        n += 1;
    }
    // A teardown in flight finishes at the next steps.
    for _ in 0..4 {
        round(e, cores, 1);
    }
    prop_assert_eq!(e.live(), 0, "processes outlived a kill");
    prop_assert_eq!(e.timers_armed(), 0, "timers outlived their processes");
    prop_assert_eq!(e.names_registered(), 0, "names outlived their holders");
    prop_assert_eq!(e.frozen_live(), 0);
    Ok(())
}

/// Bytes the engine keeps on purpose for later processes: the images' page templates
/// and each core's pools (pages taken from the heap, recycled bodies, the pool lists).
/// A leak is heap held beyond these.
fn retained(e: &Engine<Sim>) -> i64 {
    e.memory_stats().kept() as i64
}

/// Slots in the fuzzed engines: every slot is used (and its first-use bookkeeping
/// made) during the warm-up, so the heap baseline after it is steady.
const SLOTS: usize = 48;

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), SLOTS, IMAGES, Sim::default())
}

/// Runs `programs` (code bytes patched over a spin image at 0x0100, so each process
/// gets its own) for `rounds`, then kills what is left.
fn run_programs(e: &Engine<Sim>, cores: usize, programs: &[Vec<u8>], rounds: usize) -> Result<(), TestCaseError> {
    for (i, code) in programs.iter().enumerate() {
        let args = [i as u8, (i >> 8) as u8];
        let _ = e.spawn_image_patched(
            SPIN,
            &args,
            &[(0x0100, code)],
            Priority::Normal,
            CpuSet::ALL,
            CoreId::new(i % cores),
        );
    }
    for r in 0..rounds {
        round(e, cores, (r % 3) as u64);
    }
    kill_all_and_check(e, cores)
}

/// Grows what keeps its high-water mark to the full table: the run queue of every
/// priority on every core (the scheduler's queues keep their capacity) and every
/// slot's first use. Z80 processes cannot take the slots kept for system tasks, so
/// one fill leaves those unused; the free list is first in, first out, so a second
/// fill reaches them. What the heap holds after this is the baseline.
fn warm_up(e: &Engine<Sim>, cores: usize) -> Result<(), TestCaseError> {
    for prio in [Priority::High, Priority::Normal, Priority::Low, Priority::Normal] {
        for c in 0..cores {
            let core = CpuSet::single(CoreId::new(c));
            while e.spawn_image(zbeam_images::CX_TMO, &[], prio, core, CoreId::new(c)).is_ok() {}
            for _ in 0..3 {
                round(e, cores, 1);
            }
            kill_all_and_check(e, cores)?;
        }
    }
    Ok(())
}

/// Random code, biased towards system calls: RST 30h (0xF7) with A loaded first.
fn program() -> impl Strategy<Value = Vec<u8>> {
    let op = prop_oneof![
        3 => any::<u8>().prop_map(|b| vec![b]),
        // LD A,n ; RST 30h (n a known function more often than not)
        2 => (0u8..26).prop_map(|f| vec![0x3e, f, 0xf7]),
        // LD DE,nn / LD HL,nn / LD BC,nn
        1 => (prop_oneof![Just(0x11u8), Just(0x21), Just(0x01)], any::<u16>())
            .prop_map(|(o, v)| vec![o, v as u8, (v >> 8) as u8]),
        // JR back a little: loops
        1 => (1u8..20).prop_map(|d| vec![0x18, 0u8.wrapping_sub(d)]),
    ];
    prop::collection::vec(op, 1..40).prop_map(|v| v.concat())
}

/// The heap count is process-wide and proptest allocates while it generates and
/// shrinks, so the two fuzz targets run one after the other in one test (one thread).
#[test]
fn engine_fuzz() {
    random_programs_leave_nothing_behind();
    random_traffic_loses_no_message();
}

/// Random programs (random calls with random arguments) on 1 to 4 cores: the
/// engine keeps running, and once they are killed nothing of them is left.
fn random_programs_leave_nothing_behind() {
    let config = ProptestConfig { cases: cases(48), ..ProptestConfig::default() };
    proptest!(config, |(
        cores in 1usize..=4,
        batches in prop::collection::vec(prop::collection::vec(program(), 1..40), 2..4),
        rounds in 50usize..400,
    )| {
        let e = engine(cores);
        warm_up(&e, cores)?;
        run_programs(&e, cores, &batches[0], rounds)?;
        let base = HELD.load(Ordering::Relaxed) - retained(&e);
        for b in &batches[1..] {
            run_programs(&e, cores, b, rounds)?;
            let now = HELD.load(Ordering::Relaxed) - retained(&e);
            prop_assert!(now <= base, "heap {} bytes above the baseline after a batch (pools and templates excluded)", now - base);
        }
    });
}

/// Counts 1-byte echoes from `cx-pingpong` 'T' processes.
struct Counter(Arc<AtomicU64>, Arc<AtomicBool>);
impl NativeTask for Counter {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        while let Some(m) = cx.receive() {
            if m.data.len() == 1 {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.1.load(Ordering::Relaxed) {
            return NativeStep::Exit(0);
        }
        NativeStep::Wait { until: None }
    }
}

#[derive(Debug, Clone)]
enum Act {
    Send(usize),
    Tick(u64),
    Step(usize),
}

/// Random traffic to echo processes with random receive timeouts, random clock
/// jumps and a random order of stepping cores: every message is echoed exactly
/// once (none lost, none doubled), at most one timer per process is armed, and
/// everything is gone after the end.
fn random_traffic_loses_no_message() {
    let config = ProptestConfig { cases: cases(32), ..ProptestConfig::default() };
    proptest!(config, |(
        cores in 1usize..=3,
        timeouts in prop::collection::vec(1u16..50, 1..6),
        acts in prop::collection::vec(prop_oneof![
            3 => (0usize..8).prop_map(Act::Send),
            1 => (0u64..30).prop_map(Act::Tick),
            4 => (0usize..3).prop_map(Act::Step),
        ], 1..600),
    )| {
        let e = engine(cores);
        let echoed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = e.spawn_native(Box::new(Counter(echoed.clone(), stop.clone())), Priority::Normal, CpuSet::ALL, CoreId::new(0));
        let [c0, c1, c2, c3] = counter.unwrap().get().to_le_bytes();
        let echoes: Vec<Pid> = timeouts.iter().enumerate().map(|(i, &t)| {
            let [t0, t1] = t.to_le_bytes();
            e.spawn_image(CX_PINGPONG, &[b'T', c0, c1, c2, c3, t0, t1], Priority::Normal, CpuSet::ALL, CoreId::new(i % cores)).unwrap()
        }).collect();
        let mut sent = 0u64;
        for a in acts {
            match a {
                Act::Send(i) => {
                    if e.send(Pid::KERNEL, echoes[i % echoes.len()], b"m").is_ok() {
                        sent += 1;
                    }
                }
                Act::Tick(ms) => { e.platform().now.fetch_add(ms, Ordering::Relaxed); }
                Act::Step(c) => {
                    if let zbeam_engine::Step::Idle { .. } = e.run_once(CoreId::new(c % cores)) {
                        e.woke(CoreId::new(c % cores));
                    }
                }
            }
            prop_assert!(e.timers_armed() <= echoes.len());
        }
        let mut n = 0;
        while echoed.load(Ordering::Relaxed) < sent && n < 100_000 {
            round(&e, cores, 1);
            n += 1;
        }
        prop_assert_eq!(echoed.load(Ordering::Relaxed), sent, "messages lost");
        for &p in &echoes {
            prop_assert!(e.send(Pid::KERNEL, p, &[]).is_ok(), "an echo process died");
        }
        stop.store(true, Ordering::Relaxed);
        e.notify(Pid::from_raw(u32::from(u16::from_le_bytes([c0, c1]))));
        let mut n = 0;
        while e.live() > 0 && n < 10_000 {
            round(&e, cores, 1);
            n += 1;
        }
        prop_assert_eq!(e.live(), 0);
        for &p in &echoes {
            prop_assert_eq!(e.last_exit(p), Some(zbeam_engine::Exit::Normal));
        }
        prop_assert_eq!(echoed.load(Ordering::Relaxed), sent, "a message echoed twice");
        kill_all_and_check(&e, cores)?;
    });
}

/// `n` cases, or PROPTEST_CASES when set (`make fuzz` runs longer).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
