//! `test=bench-locks`: how contended the run-queue locks are under two loads, for
//! `tools/bench-sched.sh` (it prints figures and passes unless something breaks).
//!
//! * send storm: 8 rings of 100 Z80 processes pass 20,000 messages each at once, so
//!   every core keeps waking processes into other cores' queues;
//! * skew: 16 CPU-bound workers spawned on core 0, which the other cores steal from
//!   and balancing moves away from.
//!
//! Per core and load: lock acquisitions, the share that found the lock held, and the
//! longest wait in failed attempts ([`zbeam_sched::LockStats`]).

use super::driver::engine;
use crate::panic::finish;
use crate::println;
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_engine::{NativeCx, NativeStep, NativeTask};
use zbeam_images::slot::ResultSlot;
use zbeam_images::workloads::{RingController, RingResult, Workers, WorkersResult};
use zbeam_sched::{CoreId, CpuSet, LockStats, Priority};

const RINGS: usize = 8;
const RING_NODES: u16 = 100;
const RING_HOPS: u32 = 20_000;
const SKEW_WORKERS: u32 = 16;
/// Rounds of `worker` per skew worker (262,144 instructions per round).
const SKEW_ROUNDS: u16 = 24;

/// The driver task.
pub fn driver() -> Box<dyn NativeTask> {
    Box::new(Locks { phase: 0, before: Vec::new(), rings: Vec::new(), skew: None })
}

fn lock_stats() -> Vec<LockStats> {
    let s = engine().sched();
    (0..s.topology().len()).map(|c| s.queue(CoreId::new(c)).lock_stats()).collect()
}

fn report(load: &str, before: &[LockStats]) {
    for (c, (a, b)) in before.iter().zip(lock_stats()).enumerate() {
        let acquired = b.acquired - a.acquired;
        let contended = b.contended - a.contended;
        let permille = contended * 1000 / acquired.max(1);
        println!(
            "bench locks: {load}: core {c}: {acquired} acquisitions, {contended} contended ({}.{}%), {} waits of {}+ spins, longest wait since boot {} spins",
            permille / 10,
            permille % 10,
            b.long_waits - a.long_waits,
            zbeam_sched::sync::LONG_WAIT_SPINS,
            b.max_spins
        );
    }
}

struct Locks {
    phase: u8,
    before: Vec<LockStats>,
    rings: Vec<ResultSlot<RingResult>>,
    skew: Option<ResultSlot<WorkersResult>>,
}

impl NativeTask for Locks {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        match self.phase {
            0 => {
                self.before = lock_stats();
                for _ in 0..RINGS {
                    let (ctl, out) = RingController::new(RING_NODES, RING_HOPS, CpuSet::ALL);
                    if cx.spawn_native(ctl, Priority::Normal, CpuSet::ALL).is_err() {
                        println!("test bench-locks: cannot spawn a ring");
                        finish(7);
                    }
                    self.rings.push(out);
                }
                self.phase = 1;
            }
            1 => {
                let done: Vec<RingResult> = self.rings.iter().filter_map(|o| *o.lock()).collect();
                if done.len() == RINGS {
                    let errors: u32 = done.iter().map(|r| r.errors + r.spawn_failures).sum();
                    let slowest = done.iter().map(|r| r.elapsed_ms).max().unwrap_or(0);
                    println!(
                        "bench locks: storm: {RINGS} rings x {RING_HOPS} hops, {errors} errors, slowest ring {slowest} ms"
                    );
                    report("storm", &self.before);
                    if errors != 0 {
                        println!("test bench-locks: FAIL");
                        finish(7);
                    }
                    self.before = lock_stats();
                    // Its workers start on core 0, where the controller runs.
                    let (ctl, out) = Workers::new(SKEW_WORKERS, SKEW_ROUNDS, CpuSet::ALL);
                    if cx.spawn_native(ctl, Priority::Max, CpuSet::single(CoreId::new(0))).is_err() {
                        println!("test bench-locks: FAIL (spawn)");
                        finish(7);
                    }
                    self.skew = Some(out);
                    self.phase = 2;
                }
            }
            _ => {
                if let Some(r) = self.skew.as_ref().and_then(ResultSlot::take) {
                    report("skew", &self.before);
                    let ok = r.finished == SKEW_WORKERS;
                    println!("test bench-locks: {}", if ok { "PASS" } else { "FAIL (a worker was lost)" });
                    finish(if ok { 0 } else { 7 });
                }
            }
        }
        NativeStep::Wait { until: Some(now + 5) }
    }
}
