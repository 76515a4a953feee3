//! `test=memory`: memory limits and exhaustion in the kernel, one phase after another
//! on the engine the shell would use:
//!
//! 1. `flood` sending 1 KiB to itself in a loop ends with reason MEMORY (its limit);
//! 2. `flood` flooding `sink` (which never receives) ends the sink with reason MEMORY,
//!    and the flooder then exits with code 2 (BAD_PID: its target is gone);
//! 3. after both, the bytes charged to processes are back at their baseline;
//! 4. `pong` processes are spawned until the engine refuses (NO_RESOURCES: the table
//!    or the memory budget), a native task can still be spawned and run (the reserve),
//!    and then every pong is killed;
//! 5. the bytes charged are back at the baseline again, and the heap used is back to
//!    its baseline within 1% of the heap's size, once the pools' free pages and bodies
//!    (kept for reuse) are counted; the rest is capacity the run queues and timer
//!    wheels grew to (bounded by the table's size);
//! 6. once the driver has trimmed the depot (`Engine::trim_memory`: its pages and
//!    bodies beyond its bound back to the heap), the heap used is within 1% of the heap's size of its
//!    baseline with nothing set aside.
//!
//! It prints the figures (processes, spawn time, bytes charged and heap per process)
//! and ends QEMU with 0 when every check held.

use super::driver::engine;
use crate::panic::finish;
use crate::println;
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_engine::{Exit, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CpuSet, Priority};

/// Starts the runtime with the driver (called by `ktest` on core 0).
pub fn main() -> ! {
    let e = crate::runtime::start();
    let task = Box::new(Driver { phase: Phase::Start, ok: true, base: 0, heap0: 0, pids: Vec::new(), t0: 0 });
    super::driver::drive(e, "memory", task)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Start,
    SelfFlood { pid: Pid, since: u64 },
    SinkUp { sink: Pid, since: u64 },
    Flooding { sink: Pid, flood: Pid, since: u64 },
    Fill,
    Settle { until: u64 },
    Reserve { pid: Pid, since: u64 },
    Drain { since: u64 },
    Trim { since: u64 },
}

/// How long any one phase may take (ms) before the test fails.
const PHASE_LIMIT_MS: u64 = 60_000;

struct Driver {
    phase: Phase,
    ok: bool,
    /// Bytes charged at the start (the driver itself and the system's tasks).
    base: usize,
    /// Heap used at the start.
    heap0: usize,
    pids: Vec<Pid>,
    t0: u64,
}

/// A native task that exits at once: spawned while memory is exhausted, it shows the
/// reserve still serves the system.
struct Nop;

impl NativeTask for Nop {
    fn step(&mut self, _cx: &mut NativeCx<'_>) -> NativeStep {
        NativeStep::Exit(0)
    }
    fn name(&self) -> &'static str {
        "nop"
    }
}

impl Driver {
    fn check(&mut self, what: &str, ok: bool) {
        println!("test memory: {what}: {}", if ok { "ok" } else { "FAILED" });
        self.ok &= ok;
    }

    fn late(&mut self, now: u64, since: u64, what: &str) -> bool {
        if now.saturating_sub(since) > PHASE_LIMIT_MS {
            self.check(what, false);
            println!("test memory: FAIL");
            finish(7)
        }
        false
    }

    fn spawn(cx: &mut NativeCx<'_>, image: usize) -> Pid {
        cx.spawn(image, &[], Priority::Normal, CpuSet::ALL).unwrap_or(Pid::KERNEL)
    }
}

impl NativeTask for Driver {
    fn name(&self) -> &'static str {
        "memtest"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let e = engine();
        let later = NativeStep::Wait { until: Some(now + 10) };
        match self.phase {
            Phase::Start => {
                self.base = e.memory_stats().charged;
                self.heap0 = crate::heap::usage().0;
                let m = e.memory_stats();
                println!(
                    "test memory: baseline {} bytes charged, budget {} MiB, heap {} KiB used",
                    self.base,
                    m.budget >> 20,
                    self.heap0 >> 10
                );
                let pid = Self::spawn(cx, zbeam_images::FLOOD);
                self.phase = Phase::SelfFlood { pid, since: now };
                later
            }
            Phase::SelfFlood { pid, since } => {
                if cx.is_live(pid) {
                    self.late(now, since, "flood to itself ends");
                    return later;
                }
                let exit = cx.last_exit(pid);
                println!("test memory: flood to itself ended: {exit:?}");
                self.check("a process flooding itself ends with reason MEMORY", exit == Some(Exit::Memory));
                let sink = Self::spawn(cx, zbeam_images::SINK);
                self.phase = Phase::SinkUp { sink, since: now };
                later
            }
            Phase::SinkUp { sink, since } => {
                if cx.whereis(b"sink") != Some(sink) {
                    self.late(now, since, "sink registers");
                    return later;
                }
                let flood = Self::spawn(cx, zbeam_images::FLOOD);
                self.phase = Phase::Flooding { sink, flood, since: now };
                later
            }
            Phase::Flooding { sink, flood, since } => {
                if cx.is_live(sink) || cx.is_live(flood) {
                    self.late(now, since, "the flood ends");
                    return later;
                }
                let (s, f) = (cx.last_exit(sink), cx.last_exit(flood));
                println!("test memory: flooded sink ended: {s:?}; flooder ended: {f:?}");
                self.check("the flooded process ends with reason MEMORY", s == Some(Exit::Memory));
                self.check("the flooder then exits with code 2 (BAD_PID)", f == Some(Exit::Code(2)));
                let charged = e.memory_stats().charged;
                println!("test memory: {charged} bytes charged after the floods (baseline {})", self.base);
                self.check("memory charged is back at its baseline", charged == self.base);
                self.t0 = now;
                self.phase = Phase::Fill;
                NativeStep::Yield
            }
            Phase::Fill => {
                for _ in 0..256 {
                    match cx.spawn(zbeam_images::PONG, &[], Priority::Normal, CpuSet::ALL) {
                        Ok(pid) => {
                            if self.pids.try_reserve(1).is_err() {
                                let _ = cx.kill(pid);
                                break;
                            }
                            self.pids.push(pid);
                        }
                        Err(err) => {
                            let ms = now - self.t0;
                            println!(
                                "test memory: {} pong processes spawned in {ms} ms, then refused: {err:?}",
                                self.pids.len()
                            );
                            self.check("spawning until refusal is refused cleanly", !self.pids.is_empty());
                            self.phase = Phase::Settle { until: now + 1000 };
                            return later;
                        }
                    }
                }
                NativeStep::Yield
            }
            Phase::Settle { until } => {
                if now < until {
                    return later;
                }
                let m = e.memory_stats();
                let (used, free) = crate::heap::usage();
                let n = self.pids.len().max(1);
                println!(
                    "test memory: {} live; {} bytes charged ({} per process); heap {} MiB used, {} MiB free ({} \
                     bytes per process)",
                    e.live(),
                    m.charged,
                    (m.charged - self.base) / n,
                    used >> 20,
                    free >> 20,
                    (used - self.heap0) / n
                );
                let pid = cx.spawn_native(Box::new(Nop), Priority::High, CpuSet::ALL).unwrap_or(Pid::KERNEL);
                self.check("a system task can still be spawned when processes are refused", pid != Pid::KERNEL);
                self.phase = Phase::Reserve { pid, since: now };
                later
            }
            Phase::Reserve { pid, since } => {
                if pid != Pid::KERNEL && cx.is_live(pid) {
                    self.late(now, since, "the system task runs");
                    return later;
                }
                self.check("... and runs", cx.last_exit(pid) == Some(Exit::Normal));
                for &p in &self.pids {
                    let _ = cx.kill(p);
                }
                let after = cx.now_ms();
                println!("test memory: {} kills asked for in {} ms", self.pids.len(), after - now);
                self.phase = Phase::Drain { since: after };
                NativeStep::Wait { until: Some(after + 10) }
            }
            Phase::Drain { since } => {
                if self.pids.iter().any(|&p| cx.is_live(p)) {
                    if (now - since) % 5000 < 50 {
                        println!("test memory: {} live after {} ms", e.live(), now - since);
                    }
                    self.late(now, since, "every pong is torn down");
                    return NativeStep::Wait { until: Some(now + 50) };
                }
                // The driver's own list of pids goes first: it is no part of the baseline.
                self.pids = Vec::new();
                let m = e.memory_stats();
                let used = crate::heap::usage().0;
                let heap = used + crate::heap::usage().1;
                // Kept for reuse: every page a pool made, every body, and their lists.
                let pooled = m.pooled();
                let drift = (used as i64 - pooled as i64 - self.heap0 as i64).unsigned_abs() as usize;
                println!(
                    "test memory: after killing every pong: {} bytes charged (baseline {}); heap {} KiB used, of \
                     which {} KiB pooled pages and bodies; {} KiB from the baseline besides",
                    m.charged,
                    self.base,
                    used >> 10,
                    pooled >> 10,
                    drift >> 10
                );
                self.check("memory charged is back at its baseline", m.charged == self.base);
                // What else stays is capacity the kernel's structures grew to hold every
                // pong (the scheduler's run queues): bounded by the table size, so
                // it is checked against the heap, not against the baseline's use.
                self.check(
                    "the heap is back within 1% of its size (pooled pages and bodies aside)",
                    drift * 100 <= heap,
                );
                self.phase = Phase::Trim { since: now };
                later
            }
            Phase::Trim { since } => {
                // The depot's surplus goes back to the heap, a batch per step.
                if e.trim_memory(4096) > 0 {
                    return NativeStep::Yield;
                }
                let m = e.memory_stats();
                if m.depot.free > zbeam_engine::memory::DEPOT_PAGES
                    || m.depot.bodies > zbeam_engine::memory::DEPOT_BODIES
                {
                    self.late(now, since, "the depot is trimmed");
                    return NativeStep::Wait { until: Some(now + 50) };
                }
                let (used, free) = crate::heap::usage();
                let grown = used.saturating_sub(self.heap0);
                println!(
                    "test memory: trimmed in {} ms: {} pages given back; heap {} KiB used (baseline {} KiB), {} KiB \
                     above it with the pools' and depot's bounded stock",
                    now - since,
                    m.depot.returned,
                    used >> 10,
                    self.heap0 >> 10,
                    grown >> 10
                );
                self.check("the heap is back within 1% of its size, everything included", grown * 100 <= used + free);
                super::driver::verdict("memory", self.ok)
            }
        }
    }
}
