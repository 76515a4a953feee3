//! The controllers the bench rows time (the hosted runtime's tests and the BEAM
//! comparison use them): ping-pong, a spawn storm, CPU-bound workers, a timer storm,
//! and producers with a checking consumer.
//!
//! Timing is taken on the engine's clock ([`NativeCx::now_us`]) inside the
//! controller, so it covers exactly the measured phase (not spawning the set-up, not
//! the runtime's shutdown). Every controller keeps to its slice: it yields once it
//! has used [`CONTEXT_REDS`] in a step.

use crate::slot::ResultSlot;
use crate::{ACK, PONG, TIMEHIST, WORKER};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority, CONTEXT_REDS};

fn over_budget(cx: &NativeCx<'_>) -> bool {
    cx.used >= CONTEXT_REDS as u64
}

/// Time since `t0` (µs on the engine's clock).
fn since(cx: &NativeCx<'_>, t0: u64) -> Duration {
    Duration::from_micros(cx.now_us().saturating_sub(t0))
}

/// Spawns a controller does in one step at most. The engine charges a spawn one
/// reduction, but it really costs a 64 KiB clear (about 3 µs, more on fresh pages), so
/// a budget-bound loop would hold the core for 10-40 ms and delay its timers.
const SPAWNS_PER_STEP: u32 = 256;

/// What a ping-pong run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPongResult {
    /// Timed round trips.
    pub rounds: u32,
    /// Replies that came from the wrong process or with the wrong payload.
    pub errors: u32,
    /// Time for the timed round trips.
    pub elapsed: Duration,
    /// Whether the responder could not be spawned.
    pub spawn_failed: bool,
}

/// Spawns a Z80 `pong` with `pong_affinity` and bounces a 4-byte counter off it:
/// `warmup` untimed round trips, then `rounds` timed ones.
pub struct PingPong {
    rounds: u32,
    warmup: u32,
    pong_affinity: CpuSet,
    pong: Pid,
    received: u32,
    errors: u32,
    /// When the timed round trips began (µs).
    t0: Option<u64>,
    out: ResultSlot<PingPongResult>,
}

impl PingPong {
    /// A controller and its result slot.
    pub fn new(rounds: u32, warmup: u32, pong_affinity: CpuSet) -> (Box<Self>, ResultSlot<PingPongResult>) {
        let out = ResultSlot::new();
        let c = PingPong {
            rounds: rounds.max(1),
            warmup,
            pong_affinity,
            pong: Pid::KERNEL,
            received: 0,
            errors: 0,
            t0: None,
            out: out.clone(),
        };
        (Box::new(c), out)
    }

    fn finish(&mut self, cx: &mut NativeCx<'_>, spawn_failed: bool) -> NativeStep {
        if self.pong != Pid::KERNEL {
            let _ = cx.send(self.pong, &[]);
        }
        let elapsed = self.t0.map_or(Duration::ZERO, |t| since(cx, t));
        let r = PingPongResult { rounds: self.rounds, errors: self.errors, elapsed, spawn_failed };
        self.out.fill(r);
        NativeStep::Exit(u32::from(spawn_failed || self.errors > 0))
    }
}

impl NativeTask for PingPong {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if self.pong == Pid::KERNEL {
            match cx.spawn(PONG, &[], Priority::Normal, self.pong_affinity) {
                Ok(p) => self.pong = p,
                Err(_) => return self.finish(cx, true),
            }
            if self.warmup == 0 {
                self.t0 = Some(cx.now_us());
            }
            let _ = cx.send(self.pong, &0u32.to_le_bytes());
            return NativeStep::Wait { until: None };
        }
        while let Some(m) = cx.receive() {
            if m.from != self.pong || *m.data != self.received.to_le_bytes() {
                self.errors += 1;
            }
            self.received += 1;
            if self.received == self.warmup {
                self.t0 = Some(cx.now_us());
            }
            if self.received == self.warmup + self.rounds {
                return self.finish(cx, false);
            }
            let _ = cx.send(self.pong, &self.received.to_le_bytes());
            if over_budget(cx) {
                return NativeStep::Yield;
            }
        }
        NativeStep::Wait { until: None }
    }
}

/// What a spawn run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnResult {
    /// Children that reported back.
    pub acked: u32,
    /// Spawns the engine refused (table full).
    pub refused: u32,
    /// From the first spawn to the last child's report.
    pub elapsed: Duration,
}

/// Spawns `n` Z80 `ack` children, at most `window` outstanding at a time; each sends
/// one byte back and exits. Measures spawn + run + exit per process.
pub struct SpawnStorm {
    n: u32,
    window: u32,
    spawned: u32,
    acked: u32,
    refused: u32,
    /// When the first spawn was made (µs).
    t0: Option<u64>,
    out: ResultSlot<SpawnResult>,
}

impl SpawnStorm {
    /// A controller and its result slot.
    pub fn new(n: u32, window: u32) -> (Box<Self>, ResultSlot<SpawnResult>) {
        let out = ResultSlot::new();
        let c = SpawnStorm { n, window: window.max(1), spawned: 0, acked: 0, refused: 0, t0: None, out: out.clone() };
        (Box::new(c), out)
    }
}

impl NativeTask for SpawnStorm {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let t0 = *self.t0.get_or_insert_with(|| cx.now_us());
        while cx.receive().is_some() {
            self.acked += 1;
        }
        let me = cx.pid().get().to_le_bytes();
        while self.spawned < self.n && self.spawned - self.acked < self.window {
            match cx.spawn(ACK, &me, Priority::Normal, CpuSet::ALL) {
                Ok(_) => self.spawned += 1,
                Err(_) => {
                    self.refused += 1;
                    break;
                }
            }
        }
        if self.acked >= self.n || (self.acked == self.spawned && self.refused > 0) {
            self.out.fill(SpawnResult { acked: self.acked, refused: self.refused, elapsed: since(cx, t0) });
            return NativeStep::Exit(0);
        }
        NativeStep::Wait { until: None }
    }
}

/// What a CPU-bound run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkersResult {
    /// Workers that finished.
    pub finished: u32,
    /// From spawning the first worker to the last one's report.
    pub elapsed: Duration,
}

/// Where the workers may run.
#[derive(Clone, Copy)]
enum Placement {
    /// Every worker with this affinity.
    All(CpuSet),
    /// Worker i bound to core i mod this many cores.
    Spread(usize),
}

/// Spawns `n` Z80 `worker`s of `rounds` rounds each (about 262 000 instructions a
/// round) on the controller's own core, and waits for all: all with one affinity
/// ([`Workers::new`]), or pre-spread one bound worker per core in turn
/// ([`Workers::spread`], the ideal a skewed start is measured against).
pub struct Workers {
    n: u32,
    rounds: u16,
    placement: Placement,
    pids: Vec<Pid>,
    finished: u32,
    /// When the first worker was spawned (µs).
    t0: Option<u64>,
    out: ResultSlot<WorkersResult>,
}

impl Workers {
    /// A controller and its result slot.
    pub fn new(n: u32, rounds: u16, affinity: CpuSet) -> (Box<Self>, ResultSlot<WorkersResult>) {
        Self::placed(n, rounds, Placement::All(affinity))
    }

    /// A controller whose worker i is bound to core i mod `cores`, and its result slot.
    pub fn spread(n: u32, rounds: u16, cores: usize) -> (Box<Self>, ResultSlot<WorkersResult>) {
        Self::placed(n, rounds, Placement::Spread(cores.max(1)))
    }

    fn placed(n: u32, rounds: u16, placement: Placement) -> (Box<Self>, ResultSlot<WorkersResult>) {
        let out = ResultSlot::new();
        let c = Workers { n, rounds, placement, pids: Vec::new(), finished: 0, t0: None, out: out.clone() };
        (Box::new(c), out)
    }
}

impl NativeTask for Workers {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if self.t0.is_none() {
            self.t0 = Some(cx.now_us());
            let mut args = [0u8; 6];
            args[0..2].copy_from_slice(&self.rounds.to_le_bytes());
            args[2..6].copy_from_slice(&cx.pid().get().to_le_bytes());
            for i in 0..self.n as usize {
                let affinity = match self.placement {
                    Placement::All(set) => set,
                    Placement::Spread(cores) => CpuSet::single(CoreId::new(i % cores)),
                };
                if let Ok(p) = cx.spawn(WORKER, &args, Priority::Normal, affinity) {
                    self.pids.push(p);
                }
            }
        }
        while cx.receive().is_some() {
            self.finished += 1;
        }
        if self.finished as usize >= self.pids.len() {
            let elapsed = self.t0.map_or(Duration::ZERO, |t| since(cx, t));
            self.out.fill(WorkersResult { finished: self.finished, elapsed });
            return NativeStep::Exit(u32::from(self.finished < self.n));
        }
        NativeStep::Wait { until: None }
    }
}

/// Timer lateness over many waits, from `timehist` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerStats {
    /// Waits that ended before their timeout, in engine ticks (must be 0).
    pub early: u64,
    /// Waits per lateness in whole ms: 0..=30, and 31 for 31 ms or more.
    pub hist: [u64; 32],
    /// Processes that reported.
    pub reports: u32,
    /// Processes that could not be spawned.
    pub spawn_failures: u32,
    /// From the first spawn to the last report.
    pub elapsed: Duration,
}

impl TimerStats {
    /// Waits counted.
    pub fn waits(&self) -> u64 {
        self.early + self.hist.iter().sum::<u64>()
    }

    /// The smallest lateness (ms) that at least `q` (0..=1) of the waits do not exceed;
    /// 31 means 31 ms or more.
    pub fn quantile_ms(&self, q: f64) -> u32 {
        let total = self.hist.iter().sum::<u64>();
        // q × total rounded up (no_std has no f64::ceil).
        let exact = q * total as f64;
        let want = exact as u64 + u64::from((exact as u64 as f64) < exact);
        let mut seen = 0;
        for (ms, n) in self.hist.iter().enumerate() {
            seen += n;
            if seen >= want.max(1) {
                return ms as u32;
            }
        }
        31
    }

    /// The largest lateness bucket with a wait in it.
    pub fn max_ms(&self) -> u32 {
        self.hist.iter().rposition(|&n| n > 0).unwrap_or(0) as u32
    }
}

/// Spawns `procs` Z80 `timehist` processes, each timing `rounds` waits of 1..100 ms
/// (half sleep, half receive with a timeout), and merges their histograms.
pub struct TimerStorm {
    procs: u32,
    rounds: u16,
    spawned: u32,
    /// When the first sleeper was spawned (µs).
    t0: Option<u64>,
    stats: TimerStats,
    out: ResultSlot<TimerStats>,
}

impl TimerStorm {
    /// A controller and its result slot.
    pub fn new(procs: u32, rounds: u16) -> (Box<Self>, ResultSlot<TimerStats>) {
        let out = ResultSlot::new();
        let stats = TimerStats { early: 0, hist: [0; 32], reports: 0, spawn_failures: 0, elapsed: Duration::ZERO };
        let c = TimerStorm { procs, rounds: rounds.max(1), spawned: 0, t0: None, stats, out: out.clone() };
        (Box::new(c), out)
    }
}

impl NativeTask for TimerStorm {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let t0 = *self.t0.get_or_insert_with(|| cx.now_us());
        while self.spawned + self.stats.spawn_failures < self.procs {
            let i = self.spawned + self.stats.spawn_failures;
            let mut args = [0u8; 11];
            let first = 1 + (i * 37 % 100) as u16;
            let step = 1 + (i * 13 % 97) as u16;
            args[0..2].copy_from_slice(&first.to_le_bytes());
            args[2..4].copy_from_slice(&step.to_le_bytes());
            args[4..6].copy_from_slice(&self.rounds.to_le_bytes());
            args[6..10].copy_from_slice(&cx.pid().get().to_le_bytes());
            args[10] = (i % 2) as u8;
            match cx.spawn(TIMEHIST, &args, Priority::Normal, CpuSet::ALL) {
                Ok(_) => self.spawned += 1,
                Err(_) => self.stats.spawn_failures += 1,
            }
            if over_budget(cx) || (self.spawned + self.stats.spawn_failures).is_multiple_of(SPAWNS_PER_STEP) {
                return NativeStep::Yield;
            }
        }
        while let Some(m) = cx.receive() {
            if m.data.len() != 66 {
                continue;
            }
            let word = |i: usize| u16::from_le_bytes([m.data[2 * i], m.data[2 * i + 1]]) as u64;
            self.stats.early += word(0);
            for b in 0..32 {
                self.stats.hist[b] += word(1 + b);
            }
            self.stats.reports += 1;
        }
        if self.stats.reports >= self.spawned {
            self.stats.elapsed = since(cx, t0);
            self.out.fill(self.stats);
            return NativeStep::Exit(u32::from(self.stats.early > 0));
        }
        NativeStep::Wait { until: None }
    }
}

/// A native producer: sends `count` messages of 8 bytes (its index, then a sequence
/// number from 0, both u32 little-endian; [`Producer::sized`] pads them with zeros to
/// a longer length) to `consumer`, yielding every `batch`.
pub struct Producer {
    consumer: Pid,
    index: u32,
    count: u32,
    batch: u32,
    sent: u32,
    /// The message, `len` bytes (8 to `abi::MAX_MESSAGE`), rewritten for each send.
    msg: Vec<u8>,
    failed: ResultSlot<u32>,
}

impl Producer {
    /// A producer; its slot is filled with the number of refused sends when it ends.
    pub fn new(consumer: Pid, index: u32, count: u32, batch: u32) -> (Box<Self>, ResultSlot<u32>) {
        Self::sized(consumer, index, count, batch, 8)
    }

    /// As [`Producer::new`], with messages of `len` bytes (clamped to 8 to
    /// `abi::MAX_MESSAGE`).
    pub fn sized(consumer: Pid, index: u32, count: u32, batch: u32, len: usize) -> (Box<Self>, ResultSlot<u32>) {
        let failed = ResultSlot::new();
        let len = len.clamp(8, zbeam_engine::abi::MAX_MESSAGE);
        let msg = vec![0; len];
        let p = Producer { consumer, index, count, batch: batch.max(1), sent: 0, msg, failed: failed.clone() };
        (Box::new(p), failed)
    }
}

impl NativeTask for Producer {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let mut refused = 0;
        for _ in 0..self.batch {
            if self.sent == self.count {
                break;
            }
            self.msg[0..4].copy_from_slice(&self.index.to_le_bytes());
            self.msg[4..8].copy_from_slice(&self.sent.to_le_bytes());
            if cx.send(self.consumer, &self.msg).is_err() {
                refused += 1;
            }
            self.sent += 1;
        }
        if self.sent == self.count || refused > 0 {
            self.failed.fill(refused);
            return NativeStep::Exit(refused);
        }
        NativeStep::Yield
    }
}

/// What the consumer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerResult {
    /// Messages received per producer.
    pub received: Vec<u32>,
    /// Messages out of order (not the producer's next sequence number) or malformed.
    pub out_of_order: u32,
    /// Cores the consumer ran on.
    pub ran_on: CpuSet,
}

/// A native consumer for [`Producer`]s: checks that each producer's messages arrive
/// exactly in the order sent, and ends once `producers × count` have arrived. It gives
/// each message's payload buffer back to its core's pool.
pub struct Consumer {
    expected: Vec<u32>,
    count: u32,
    out_of_order: u32,
    ran_on: CpuSet,
    /// Messages taken per step at most, so the mailbox really fills up meanwhile.
    per_step: u32,
    out: ResultSlot<ConsumerResult>,
}

impl Consumer {
    /// A consumer and its result slot.
    pub fn new(producers: u32, count: u32, per_step: u32) -> (Box<Self>, ResultSlot<ConsumerResult>) {
        let out = ResultSlot::new();
        let c = Consumer {
            expected: vec![0; producers as usize],
            count,
            out_of_order: 0,
            ran_on: CpuSet::EMPTY,
            per_step: per_step.max(1),
            out: out.clone(),
        };
        (Box::new(c), out)
    }
}

impl NativeTask for Consumer {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        self.ran_on.insert(cx.core());
        let mut taken = 0;
        while taken < self.per_step {
            let Some(m) = cx.receive() else { break };
            taken += 1;
            let word = |i: usize| u32::from_le_bytes([m.data[i], m.data[i + 1], m.data[i + 2], m.data[i + 3]]);
            if m.data.len() < 8 {
                self.out_of_order += 1;
                continue;
            }
            match self.expected.get_mut(word(0) as usize) {
                Some(e) if *e == word(4) => *e += 1,
                Some(e) => {
                    self.out_of_order += 1;
                    *e = word(4) + 1;
                }
                None => self.out_of_order += 1,
            }
            cx.recycle(m);
        }
        if self.expected.iter().all(|&e| e >= self.count) {
            let r = ConsumerResult {
                received: self.expected.clone(),
                out_of_order: self.out_of_order,
                ran_on: self.ran_on,
            };
            self.out.fill(r);
            return NativeStep::Exit(0);
        }
        if taken == self.per_step {
            NativeStep::Yield
        } else {
            NativeStep::Wait { until: None }
        }
    }
}
