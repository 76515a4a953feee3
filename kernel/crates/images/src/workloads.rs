//! The one home of the workload controllers: native tasks, written against the
//! engine's API and clock, that spawn Z80 programs, feed them and fill a
//! [`ResultSlot`] with what they report. The kernel's in-QEMU tests, the hosted
//! runtime's tests and the benches (`beambench`) all use these.
//!
//! * here: [`RingController`] (a token round a ring) and [`TimerController`] (sleeps
//!   and receive timeouts never early);
//! * [`bench`](mod@bench): the bench rows' controllers (ping-pong, spawn storm, workers, timer
//!   storm, producers and a checking consumer), re-exported here;
//! * [`system`]: the default system workload a kernel boot starts.

pub mod bench;
pub mod system;

pub use bench::{
    Consumer, ConsumerResult, PingPong, PingPongResult, Producer, SpawnResult, SpawnStorm, TimerStats, TimerStorm,
    Workers, WorkersResult,
};

use crate::slot::ResultSlot;
use crate::{RING, SLEEPER};
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CpuSet, Priority};

/// What a ring run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingResult {
    /// The sequence number the last hop reached (`total` when nothing was lost).
    pub reached: u32,
    /// Reports of a lost or reordered token ('E') or a vanished node ('F').
    pub errors: u32,
    /// Milliseconds from the first token to the final report.
    pub elapsed_ms: u64,
    /// Nodes that could not be spawned.
    pub spawn_failures: u32,
}

/// Spawns a ring of `n` Z80 `ring` nodes, sends one token round it until the
/// sequence reaches `total` hops, then stops every node.
pub struct RingController {
    n: u16,
    total: u32,
    prio: Priority,
    affinity: CpuSet,
    pids: Vec<Pid>,
    started: u64,
    out: ResultSlot<RingResult>,
}

impl RingController {
    /// A controller; read the result from the returned slot.
    pub fn new(n: u16, total: u32, affinity: CpuSet) -> (Box<Self>, ResultSlot<RingResult>) {
        let out = ResultSlot::new();
        let c = RingController {
            n: n.max(1),
            total,
            prio: Priority::Normal,
            affinity,
            pids: Vec::new(),
            started: 0,
            out: out.clone(),
        };
        (Box::new(c), out)
    }

    fn finish(&mut self, cx: &mut NativeCx<'_>, result: RingResult) -> NativeStep {
        for &p in &self.pids {
            let _ = cx.send(p, b"S");
        }
        self.out.fill(result);
        NativeStep::Exit(if result.errors == 0 && result.reached == self.total { 0 } else { 1 })
    }
}

impl NativeTask for RingController {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if self.pids.is_empty() {
            let mut failures = 0;
            for _ in 0..self.n {
                match cx.spawn(RING, &[], self.prio, self.affinity) {
                    Ok(p) => self.pids.push(p),
                    Err(_) => failures += 1,
                }
            }
            if failures > 0 || self.pids.is_empty() {
                let r = RingResult { spawn_failures: failures, ..RingResult::default() };
                return self.finish(cx, r);
            }
            let n = self.pids.len();
            for i in 0..n {
                let mut setup = [0u8; 14];
                setup[0..4].copy_from_slice(&self.pids[(i + 1) % n].get().to_le_bytes());
                setup[4..8].copy_from_slice(&cx.pid().get().to_le_bytes());
                setup[8..10].copy_from_slice(&(n as u16).to_le_bytes());
                setup[10..14].copy_from_slice(&self.total.to_le_bytes());
                let _ = cx.send(self.pids[i], &setup);
            }
            self.started = cx.now_ms();
            let _ = cx.send(self.pids[0], &0u32.to_le_bytes());
            return NativeStep::Wait { until: None };
        }
        while let Some(m) = cx.receive() {
            if m.data.len() != 5 {
                continue;
            }
            let seq = u32::from_le_bytes([m.data[1], m.data[2], m.data[3], m.data[4]]);
            let elapsed_ms = cx.now_ms() - self.started;
            let errors = u32::from(m.data[0] != b'D');
            return self.finish(cx, RingResult { reached: seq, errors, elapsed_ms, spawn_failures: 0 });
        }
        NativeStep::Wait { until: None }
    }
}

/// What the timer workload found, per mode (0 = sleep, 1 = receive timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerResult {
    /// Waits that ended before their timeout (must be 0).
    pub early: u32,
    /// Largest lateness seen, in ms.
    pub max_late_ms: u32,
    /// Reports received.
    pub reports: u32,
    /// Sleepers that could not be spawned.
    pub spawn_failures: u32,
}

/// Spawns `count` sleepers per mode, each waiting `rounds` times for one of `delays`,
/// and checks their reports: never early, lateness recorded.
pub struct TimerController {
    delays: Vec<u16>,
    rounds: u16,
    expected: u32,
    spawned: bool,
    result: TimerResult,
    out: ResultSlot<TimerResult>,
}

impl TimerController {
    /// A controller; read the result from the returned slot.
    pub fn new(delays: &[u16], rounds: u16) -> (Box<Self>, ResultSlot<TimerResult>) {
        let out = ResultSlot::new();
        let c = TimerController {
            delays: delays.to_vec(),
            rounds: rounds.max(1),
            expected: 0,
            spawned: false,
            result: TimerResult::default(),
            out: out.clone(),
        };
        (Box::new(c), out)
    }
}

impl NativeTask for TimerController {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if !self.spawned {
            self.spawned = true;
            for &d in &self.delays {
                for mode in 0..2u8 {
                    let mut args = [0u8; 9];
                    args[0..2].copy_from_slice(&d.to_le_bytes());
                    args[2..4].copy_from_slice(&self.rounds.to_le_bytes());
                    args[4..8].copy_from_slice(&cx.pid().get().to_le_bytes());
                    args[8] = mode;
                    match cx.spawn(SLEEPER, &args, Priority::Normal, CpuSet::ALL) {
                        Ok(_) => self.expected += 1,
                        Err(_) => self.result.spawn_failures += 1,
                    }
                }
            }
        }
        while let Some(m) = cx.receive() {
            if m.data.len() != 8 {
                continue;
            }
            let min = u16::from_le_bytes([m.data[0], m.data[1]]);
            let max = u16::from_le_bytes([m.data[2], m.data[3]]);
            let d = u16::from_le_bytes([m.data[4], m.data[5]]);
            if min < d {
                self.result.early += 1;
            }
            self.result.max_late_ms = self.result.max_late_ms.max(max.saturating_sub(d) as u32);
            self.result.reports += 1;
        }
        if self.result.reports >= self.expected {
            self.out.fill(self.result);
            return NativeStep::Exit(u32::from(self.result.early > 0));
        }
        NativeStep::Wait { until: None }
    }
}
