//! Containment cases (issue 12): small Z80 programs that once hung or exhausted the
//! kernel, run against a live engine, each checked for its right ending and for the
//! engine's tables back where they were. The host test (`tests/contain.rs`, the
//! deterministic driver) and the kernel's `test=contain` (QEMU, every core) run the
//! same cases; the caller supplies a *pump* that moves the engine on (one round of
//! every simulated core on the host, core 0's scheduling loop in the kernel) and a
//! probe of the heap bytes in use (the kernel's allocator; the host has none).
//!
//! * `timeout-repro`: [`CX_TMO`] on every core: a message to itself taken by a poll,
//!   then a 100 ms receive must time out (it once waited forever).
//! * `server-loop`: 8 [`CX_SERVER`]s with 3 clients each, 200 ms receive timeouts.
//! * `timer-pingpong`: [`CX_PINGPONG`] pairs with 65 s receive timeouts: at most one
//!   timer per process is ever armed, and none is left after.
//! * `monitor-flood`: [`CX_FLOOD`] monitors itself until NO_RESOURCES, at exactly
//!   [`limits::MAX_MONITORS`].
//! * `name-flood`: more [`CX_FLOOD`] name holders than the name table has room for:
//!   the table fills to [`limits::MAX_NAMES`], the rest get NO_RESOURCES, and every
//!   name goes with its holder.
//!
//! Every case ends with no process of its own left, no timer armed and (where the
//! probe measures) the heap back at its size before the case.

use crate::{CX_FLOOD, CX_PINGPONG, CX_SERVER, CX_TMO};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use zbeam_engine::{abi::status, limits, Engine, Exit, Pid, Platform};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// What the cases need from their runner.
pub trait Runner {
    /// Moves the engine on a little (runs processes, fires timers).
    fn pump(&mut self);
    /// Heap bytes in use, if the runner can tell.
    fn heap_used(&self) -> Option<usize>;
    /// Prints one line of progress.
    fn log(&mut self, line: &str);
}

/// Rounds of the ping-pong case.
pub const PINGPONG_ROUNDS: u16 = 3000;
/// Heap bytes a case may leave behind (allocator bookkeeping that moves with the
/// order of frees); a leak of even one process's memory is far more.
pub const HEAP_SLACK: usize = 4096;

/// The names of the cases, in order.
pub const CASES: [&str; 5] = ["timeout-repro", "server-loop", "timer-pingpong", "monitor-flood", "name-flood"];

/// Runs every case; returns the number that failed.
pub fn run_all<P: Platform>(e: &Engine<P>, r: &mut dyn Runner) -> usize {
    let mut failed = 0;
    for name in CASES {
        let live0 = e.live();
        let heap0 = r.heap_used();
        let mut result = run_case(e, r, name);
        if result.is_ok() {
            result = settle(e, r, live0, heap0);
        }
        match result {
            Ok(()) => r.log(&format!("case {name} ok")),
            Err(why) => {
                failed += 1;
                r.log(&format!("case {name} FAIL: {why}"));
            }
        }
    }
    failed
}

fn run_case<P: Platform>(e: &Engine<P>, r: &mut dyn Runner, name: &str) -> Result<(), String> {
    let cores = e.sched().topology().len();
    match name {
        "timeout-repro" => {
            let pids = spawn_n(e, CX_TMO, cores.max(2), |_| Vec::new())?;
            expect_exits(e, r, &pids, 10_000, |_| Exit::Normal)
        }
        "server-loop" => {
            let pids = spawn_n(e, CX_SERVER, 8, |_| Vec::from([b'S', CX_SERVER as u8, 3]))?;
            expect_exits(e, r, &pids, 60_000, |_| Exit::Normal)
        }
        "timer-pingpong" => {
            let [lo, hi] = PINGPONG_ROUNDS.to_le_bytes();
            let pids = spawn_n(e, CX_PINGPONG, 2, |_| Vec::from([b'A', CX_PINGPONG as u8, lo, hi]))?;
            let mut most = 0;
            let t0 = e.platform().now_ms();
            while pids.iter().any(|&p| e.last_exit(p).is_none()) {
                r.pump();
                most = most.max(e.timers_armed());
                if e.platform().now_ms() > t0 + 120_000 {
                    return Err(String::from("ping-pong did not finish in 120 s"));
                }
            }
            expect_exits(e, r, &pids, 1_000, |_| Exit::Normal)?;
            // Two pairs: four processes, each with at most its one timer.
            if most > 4 * limits::TIMERS_PER_PROCESS {
                return Err(format!("{most} timers armed at once by 4 processes"));
            }
            Ok(())
        }
        "monitor-flood" => {
            let pids = spawn_n(e, CX_FLOOD, 1, |_| Vec::from([b'M']))?;
            let p = pids[0];
            wait_for(e, r, 30_000, || e.relation_counts(p).is_some_and(|c| c.1 >= limits::MAX_MONITORS))
                .map_err(|_| format!("monitors: {:?} (exit {:?})", e.relation_counts(p), e.last_exit(p)))?;
            // Give it time to pass the bound if it could.
            pump_for(e, r, 50);
            let held = e.relation_counts(p).map(|c| c.1);
            if held != Some(limits::MAX_MONITORS) {
                return Err(format!("{held:?} monitors held, limit {}", limits::MAX_MONITORS));
            }
            release(e, &pids);
            expect_exits(e, r, &pids, 5_000, |_| Exit::Normal)
        }
        "name-flood" => {
            let extra = 20;
            let n = limits::MAX_NAMES + extra;
            let pids = spawn_n(e, CX_FLOOD, n, |i| {
                let mut a = Vec::from([b'N']);
                a.extend_from_slice(format!("cx{i}").as_bytes());
                a
            })?;
            let refused = |e: &Engine<P>| {
                pids.iter().filter(|&&p| e.last_exit(p) == Some(Exit::Code(status::NO_RESOURCES as u32))).count()
            };
            wait_for(e, r, 30_000, || refused(e) == extra && e.names_registered() == limits::MAX_NAMES)
                .map_err(|_| format!("{} refused, {} names", refused(e), e.names_registered()))?;
            if e.whereis(b"cx0").is_none() {
                return Err(String::from("name cx0 is not registered"));
            }
            release(e, &pids);
            // Which ones were refused depends on the order they ran: count, not match.
            wait_for(e, r, 30_000, || pids.iter().all(|&p| e.last_exit(p).is_some()))
                .map_err(|_| String::from("name holders did not exit"))?;
            let normal = pids.iter().filter(|&&p| e.last_exit(p) == Some(Exit::Normal)).count();
            if normal != limits::MAX_NAMES || refused(e) != extra {
                return Err(format!("{normal} normal exits, {} refused", refused(e)));
            }
            // `last_exit` is set at the start of a teardown, before the name goes: let
            // the teardowns in flight on other cores finish.
            wait_for(e, r, 1_000, || e.names_registered() == 0)
                .map_err(|_| format!("{} names left after their holders exited", e.names_registered()))
        }
        other => Err(format!("no case {other}")),
    }
}

/// Spawns `n` processes of `image` (arguments `args(i)`) at normal priority on every core.
fn spawn_n<P: Platform>(
    e: &Engine<P>,
    image: usize,
    n: usize,
    args: impl Fn(usize) -> Vec<u8>,
) -> Result<Vec<Pid>, String> {
    let cores = e.sched().topology().len();
    (0..n)
        .map(|i| {
            e.spawn_image(image, &args(i), Priority::Normal, CpuSet::ALL, CoreId::new(i % cores))
                .map_err(|err| format!("spawn {i}: {err:?}"))
        })
        .collect()
}

/// Sends an empty message to each live pid of `pids` (the flood programs' cue to end).
fn release<P: Platform>(e: &Engine<P>, pids: &[Pid]) {
    for &p in pids {
        let _ = e.send(Pid::KERNEL, p, &[]);
    }
}

/// Pumps until `done`, or fails after `ms` of engine time.
fn wait_for<P: Platform>(e: &Engine<P>, r: &mut dyn Runner, ms: u64, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let t0 = e.platform().now_ms();
    while !done() {
        if e.platform().now_ms() > t0 + ms {
            return Err(());
        }
        r.pump();
    }
    Ok(())
}

fn pump_for<P: Platform>(e: &Engine<P>, r: &mut dyn Runner, ms: u64) {
    let t0 = e.platform().now_ms();
    while e.platform().now_ms() < t0 + ms {
        r.pump();
    }
}

/// Waits up to `ms` for every pid to exit, then checks each exit against `want(i)`.
fn expect_exits<P: Platform>(
    e: &Engine<P>,
    r: &mut dyn Runner,
    pids: &[Pid],
    ms: u64,
    want: impl Fn(usize) -> Exit,
) -> Result<(), String> {
    let _ = wait_for(e, r, ms, || pids.iter().all(|&p| e.last_exit(p).is_some()));
    for (i, &p) in pids.iter().enumerate() {
        match e.last_exit(p) {
            Some(x) if x == want(i) => {}
            Some(x) => return Err(format!("process {i} (pid {p}) ended {x:?}, not {:?}", want(i))),
            None => {
                let info = e.proc_info(p).map(|i| i.state.name()).unwrap_or("?");
                return Err(format!("process {i} (pid {p}) still alive after {ms} ms, state {info}"));
            }
        }
    }
    Ok(())
}

/// After a case: its processes gone, no timer armed, the heap back where it was.
fn settle<P: Platform>(e: &Engine<P>, r: &mut dyn Runner, live0: usize, heap0: Option<usize>) -> Result<(), String> {
    wait_for(e, r, 5_000, || e.live() <= live0)
        .map_err(|_| format!("{} processes live after the case, {live0} before", e.live()))?;
    // Teardown of the last exit finishes a moment after its slot reads dead.
    pump_for(e, r, 20);
    if e.timers_armed() != 0 {
        return Err(format!("{} timers still armed", e.timers_armed()));
    }
    if let (Some(before), Some(after)) = (heap0, r.heap_used()) {
        if after > before + HEAP_SLACK {
            return Err(format!("heap {after} bytes in use, {before} before the case"));
        }
    }
    Ok(())
}

/// xorshift64: the kernel's fuzz batches are reproducible from their seed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Random Z80 code of up to 120 bytes, biased towards system calls (`LD A,n ; RST
/// 30h` with a known function more often than not), register loads and short loops,
/// as the host's proptest generator makes it.
pub fn random_program(seed: &mut u64) -> Vec<u8> {
    let mut code = Vec::new();
    while code.len() < 8 + (next(seed) % 112) as usize {
        let r = next(seed);
        match r % 7 {
            0..=2 => code.push((r >> 8) as u8),
            3 | 4 => code.extend_from_slice(&[0x3e, ((r >> 8) % 26) as u8, 0xf7]),
            5 => code.extend_from_slice(&[[0x11, 0x21, 0x01][(r >> 8) as usize % 3], (r >> 16) as u8, (r >> 24) as u8]),
            _ => code.extend_from_slice(&[0x18, 0u8.wrapping_sub(1 + (r >> 8) as u8 % 20)]),
        }
    }
    code
}

/// Runs `n` random programs (from `seed`) for `ms` of engine time on every core,
/// kills what is left, and checks that nothing of them remains: no process, no
/// timer, no name, no frozen tree, and the heap (where the runner can tell) back
/// within [`HEAP_SLACK`].
pub fn fuzz_batch<P: Platform>(e: &Engine<P>, r: &mut dyn Runner, seed: u64, n: usize, ms: u64) -> Result<(), String> {
    let mut s = seed | 1;
    let cores = e.sched().topology().len();
    let live0 = e.live();
    let heap0 = r.heap_used();
    let mut pids = Vec::new();
    for i in 0..n {
        let code = random_program(&mut s);
        let args = [i as u8, (i >> 8) as u8];
        let spawned = e.spawn_image_patched(
            crate::SPIN,
            &args,
            &[(0x0100, &code)],
            Priority::Normal,
            CpuSet::ALL,
            CoreId::new(i % cores),
        );
        pids.push(spawned.map_err(|err| format!("spawn {i}: {err:?}"))?);
    }
    pump_for(e, r, ms);
    for &p in &pids {
        e.kill(p);
    }
    // Whatever the programs spawned is stopped too.
    let programs: Vec<Pid> = e.live_pids().filter(|&p| !e.is_system(p)).collect();
    for p in programs {
        e.kill(p);
    }
    wait_for(e, r, 10_000, || e.live() <= live0).map_err(|_| format!("{} processes live after the kills", e.live()))?;
    pump_for(e, r, 20);
    if e.names_registered() != 0 || e.frozen_live() != 0 {
        return Err(format!("{} names and {} frozen processes left", e.names_registered(), e.frozen_live()));
    }
    settle(e, r, live0, heap0)
}
