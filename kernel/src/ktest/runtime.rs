//! In-kernel tests of the scheduler running Z80 processes on every core, selected by
//! `test=NAME`. Each test is a native driver task (high priority, bound to core 0)
//! that spawns Z80 programs, lets the schedulers work, checks what happened, prints
//! its figures and ends QEMU with 0 (pass) or 7 (fail).
//!
//! * `spread` — 1000 CPU-bound processes spawned on core 0 spread out: every core runs
//!   at least 15% of the reductions of a 2-second window.
//! * `pinned` — a process bound to the last core never runs anywhere else while 24
//!   unbound ones move around it.
//! * `hetero` — (with the 2P+2E tree) 2 high-priority processes (one per P core) get at
//!   least 95% of their reductions on P cores, 4 low-priority ones mostly run on E
//!   cores. (More high work than P cores spills to E: see `hetero`.)
//! * `ring` — a ring of 1000 Z80 processes passes 100,000 messages, none lost or
//!   reordered.
//! * `timers` — sleeps and receive timeouts fire never early and within 2 ticks.
//!
//! Figures for `make bench` (they print, and pass unless something breaks):
//! * `bench-share` — normal:low reduction share on one core, 1+1 and 2+1 processes.
//! * `bench-skew` — 16 CPU-bound workers started on core 0 versus the same work
//!   pre-spread, worker i bound to core i mod the core count: total time over ideal,
//!   and migrations.

use super::driver::{engine, verdict};
use crate::println;
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_images::slot::ResultSlot;
use zbeam_images::workloads::{RingController, RingResult, TimerController, TimerResult, Workers, WorkersResult};
use zbeam_images::SPIN;
use zbeam_sched::{CoreId, CpuSet, Priority};

/// The driver task for runtime test `name`.
pub fn driver(name: &str) -> Box<dyn NativeTask> {
    match name {
        "spread" => Box::new(Spread::default()),
        "pinned" => Box::new(Pinned::default()),
        "hetero" => Box::new(Hetero::default()),
        "ring" => Box::new(Await::Ring(None)),
        "bench-share" => Box::new(Share::default()),
        "bench-skew" => Box::new(Skew::default()),
        _ => Box::new(Await::Timers(None)),
    }
}

fn per_core_reductions() -> Vec<u64> {
    let e = engine();
    (0..e.sched().topology().len()).map(|c| e.sched().stats(CoreId::new(c)).reductions).collect()
}

/// Kills `pids` and reports when all are gone (call until it returns true).
fn reap(cx: &mut NativeCx<'_>, pids: &[Pid], killed: &mut bool) -> bool {
    if !*killed {
        *killed = true;
        for &p in pids {
            cx.kill(p);
        }
    }
    pids.iter().all(|&p| !engine().is_live(p))
}

#[derive(Default)]
struct Spread {
    phase: u8,
    pids: Vec<Pid>,
    window: Vec<u64>,
    killed: bool,
    t0: u64,
}

impl NativeTask for Spread {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        match self.phase {
            0 => {
                for _ in 0..1000 {
                    match cx.spawn(SPIN, &[], Priority::Normal, CpuSet::ALL) {
                        Ok(p) => self.pids.push(p),
                        Err(err) => {
                            println!("test spread: spawn failed after {}: {err:?}", self.pids.len());
                            verdict("spread", false);
                        }
                    }
                }
                println!("test spread: spawned {} spinners on core {}", self.pids.len(), cx.core().index());
                self.t0 = now;
                self.phase = 1;
                NativeStep::Wait { until: Some(now + 1000) }
            }
            1 if now >= self.t0 + 1000 => {
                self.window = per_core_reductions();
                self.phase = 2;
                NativeStep::Wait { until: Some(now + 2000) }
            }
            2 if now >= self.t0 + 3000 => {
                let end = per_core_reductions();
                let delta: Vec<u64> = end.iter().zip(&self.window).map(|(a, b)| a - b).collect();
                let total: u64 = delta.iter().sum::<u64>().max(1);
                let mut ok = true;
                for (c, d) in delta.iter().enumerate() {
                    let pct = d * 1000 / total;
                    println!("test spread: core {c} ran {d} reductions = {}.{}%", pct / 10, pct % 10);
                    ok &= pct >= 150;
                }
                let steals: u64 = (0..end.len()).map(|c| engine().sched().stats(CoreId::new(c)).steals).sum();
                let migr: u64 = (0..end.len()).map(|c| engine().sched().stats(CoreId::new(c)).migrations_in).sum();
                println!("test spread: total {total} reductions in 2 s, {steals} steals, {migr} migrations");
                if !ok {
                    verdict("spread", false);
                }
                self.phase = 3;
                NativeStep::Yield
            }
            3 => {
                if reap(cx, &self.pids, &mut self.killed) {
                    println!("test spread: all {} processes killed and reaped", self.pids.len());
                    self.t0 = now;
                    self.phase = 4;
                }
                NativeStep::Wait { until: Some(now + 10) }
            }
            4 => {
                // A slot reads dead a moment before its core finishes the teardown
                // (exit signals, counters), so give the count a second to settle.
                if engine().live() == 1 {
                    verdict("spread", true);
                }
                if now >= self.t0 + 1000 {
                    println!("test spread: {} processes still counted live", engine().live());
                    verdict("spread", false);
                }
                NativeStep::Wait { until: Some(now + 10) }
            }
            _ => NativeStep::Wait { until: Some(now + 10) },
        }
    }
}

#[derive(Default)]
struct Pinned {
    phase: u8,
    pinned: Pid,
    core: usize,
    others: Vec<Pid>,
    killed: bool,
    t0: u64,
}

impl NativeTask for Pinned {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        match self.phase {
            0 => {
                let n = engine().sched().topology().len();
                self.core = n - 1;
                for _ in 0..24 {
                    match cx.spawn(SPIN, &[], Priority::Normal, CpuSet::ALL) {
                        Ok(p) => self.others.push(p),
                        Err(_) => verdict("pinned", false),
                    }
                }
                match cx.spawn(SPIN, &[], Priority::Normal, CpuSet::single(CoreId::new(self.core))) {
                    Ok(p) => self.pinned = p,
                    Err(_) => verdict("pinned", false),
                }
                println!("test pinned: pid {} bound to core {}, 24 unbound beside it", self.pinned, self.core);
                self.t0 = now;
                self.phase = 1;
                NativeStep::Wait { until: Some(now + 2000) }
            }
            1 if now >= self.t0 + 2000 => {
                self.phase = 2;
                let mut all = self.others.clone();
                all.push(self.pinned);
                self.others = all;
                NativeStep::Yield
            }
            2 => {
                if reap(cx, &self.others, &mut self.killed) {
                    let s = engine().final_stats(self.pinned).unwrap_or_default();
                    println!(
                        "test pinned: pid {} ran {} reductions in {} slices, on cores mask {:#x}",
                        self.pinned,
                        s.reductions,
                        s.slices,
                        s.ran_on.bits()
                    );
                    let spread = self
                        .others
                        .iter()
                        .filter_map(|&p| engine().final_stats(p))
                        .fold(CpuSet::EMPTY, |m, s| m.or(s.ran_on));
                    println!("test pinned: the unbound ones ran on cores mask {:#x}", spread.bits());
                    verdict("pinned", s.reductions > 0 && s.ran_on == CpuSet::single(CoreId::new(self.core)));
                }
                NativeStep::Wait { until: Some(now + 10) }
            }
            _ => NativeStep::Wait { until: Some(now + 10) },
        }
    }
}

#[derive(Default)]
struct Hetero {
    phase: u8,
    high: Vec<Pid>,
    low: Vec<Pid>,
    all: Vec<Pid>,
    killed: bool,
    t0: u64,
}

fn p_share(pids: &[Pid]) -> (u64, u64) {
    pids.iter()
        .filter_map(|&p| engine().final_stats(p))
        .fold((0, 0), |(on_p, all), s| (on_p + s.reductions_on_p, all + s.reductions))
}

impl NativeTask for Hetero {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        match self.phase {
            0 => {
                let topo = engine().sched().topology();
                let (p, e) = (topo.performance().bits().count_ones(), topo.efficiency().bits().count_ones());
                println!("test hetero: {p} performance and {e} efficiency cores");
                for i in 0..4 {
                    // One high process per P core: the P class has room, so none spills.
                    if i < 2 {
                        match cx.spawn(SPIN, &[], Priority::High, CpuSet::ALL) {
                            Ok(pid) => self.high.push(pid),
                            Err(_) => verdict("hetero", false),
                        }
                    }
                    match cx.spawn(SPIN, &[], Priority::Low, CpuSet::ALL) {
                        Ok(pid) => self.low.push(pid),
                        Err(_) => verdict("hetero", false),
                    }
                }
                self.t0 = now;
                self.phase = 1;
                NativeStep::Wait { until: Some(now + 3000) }
            }
            1 if now >= self.t0 + 3000 => {
                self.all = self.high.iter().chain(&self.low).copied().collect();
                self.phase = 2;
                NativeStep::Yield
            }
            2 => {
                if reap(cx, &self.all, &mut self.killed) {
                    let (hp, ha) = p_share(&self.high);
                    let (lp, la) = p_share(&self.low);
                    let hpct = hp * 1000 / ha.max(1);
                    let lpct = lp * 1000 / la.max(1);
                    println!("test hetero: high ran {ha} reductions, {}.{}% on P cores", hpct / 10, hpct % 10);
                    println!("test hetero: low ran {la} reductions, {}.{}% on P cores", lpct / 10, lpct % 10);
                    verdict("hetero", ha > 0 && la > 0 && hpct >= 950 && lpct < 500);
                }
                NativeStep::Wait { until: Some(now + 10) }
            }
            _ => NativeStep::Wait { until: Some(now + 10) },
        }
    }
}

/// Runs a workload controller from `zbeam_images::workloads` and waits for its result.
enum Await {
    Ring(Option<ResultSlot<RingResult>>),
    Timers(Option<ResultSlot<TimerResult>>),
}

impl NativeTask for Await {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        match self {
            Await::Ring(None) => {
                let (ctl, out) = RingController::new(1000, 100_000, CpuSet::ALL);
                if cx.spawn_native(ctl, Priority::Normal, CpuSet::ALL).is_err() {
                    verdict("ring", false);
                }
                println!("test ring: 1000 Z80 processes, one token, 100000 hops");
                *self = Await::Ring(Some(out));
            }
            Await::Ring(Some(out)) => {
                if let Some(r) = *out.lock() {
                    println!(
                        "test ring: reached {} of 100000 hops, {} errors, {} spawn failures, {} ms ({} ns/hop)",
                        r.reached,
                        r.errors,
                        r.spawn_failures,
                        r.elapsed_ms,
                        r.elapsed_ms * 1_000_000 / u64::from(r.reached.max(1))
                    );
                    verdict("ring", r.reached == 100_000 && r.errors == 0 && r.spawn_failures == 0);
                }
            }
            Await::Timers(None) => {
                let (ctl, out) = TimerController::new(&[1, 2, 5, 13, 50], 10);
                if cx.spawn_native(ctl, Priority::Normal, CpuSet::ALL).is_err() {
                    verdict("timers", false);
                }
                println!("test timers: 5 delays x (sleep, receive timeout) x 10 rounds");
                *self = Await::Timers(Some(out));
            }
            Await::Timers(Some(out)) => {
                if let Some(r) = *out.lock() {
                    println!(
                        "test timers: {} reports, {} early, max lateness {} ms ({} ticks of 1 ms)",
                        r.reports, r.early, r.max_late_ms, r.max_late_ms
                    );
                    verdict("timers", r.reports == 10 && r.early == 0 && r.max_late_ms <= 2);
                }
            }
        }
        NativeStep::Wait { until: Some(now + 5) }
    }
}

/// Normal:low share: spinners bound to the last core, 3 s per configuration.
#[derive(Default)]
struct Share {
    phase: u8,
    normal: Vec<Pid>,
    low: Vec<Pid>,
    all: Vec<Pid>,
    killed: bool,
    t0: u64,
}

impl NativeTask for Share {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let core = CpuSet::single(CoreId::new(engine().sched().topology().len() - 1));
        match self.phase {
            0 | 3 => {
                let normals = if self.phase == 0 { 1 } else { 2 };
                self.normal.clear();
                self.low.clear();
                for _ in 0..normals {
                    match cx.spawn(SPIN, &[], Priority::Normal, core) {
                        Ok(p) => self.normal.push(p),
                        Err(_) => verdict("bench-share", false),
                    }
                }
                match cx.spawn(SPIN, &[], Priority::Low, core) {
                    Ok(p) => self.low.push(p),
                    Err(_) => verdict("bench-share", false),
                }
                self.t0 = now;
                self.killed = false;
                self.phase += 1;
                NativeStep::Wait { until: Some(now + 3000) }
            }
            1 | 4 if now >= self.t0 + 3000 => {
                self.all = self.normal.iter().chain(&self.low).copied().collect();
                self.phase += 1;
                NativeStep::Yield
            }
            2 | 5 => {
                if reap(cx, &self.all, &mut self.killed) {
                    let n: u64 =
                        self.normal.iter().filter_map(|&p| engine().final_stats(p)).map(|s| s.reductions).sum();
                    let l: u64 = self.low.iter().filter_map(|&p| engine().final_stats(p)).map(|s| s.reductions).sum();
                    let per_normal = n / self.normal.len() as u64;
                    let ratio100 = per_normal * 100 / l.max(1);
                    let low_share = l * 10000 / (n + l).max(1);
                    println!(
                        "bench share: {} normal + 1 low on one core: normal:low = {}.{:02}:1, low share {}.{:02}%",
                        self.normal.len(),
                        ratio100 / 100,
                        ratio100 % 100,
                        low_share / 100,
                        low_share % 100
                    );
                    if self.phase == 5 {
                        verdict("bench-share", l > 0);
                    }
                    self.phase += 1;
                    return NativeStep::Yield;
                }
                NativeStep::Wait { until: Some(now + 10) }
            }
            _ => NativeStep::Wait { until: Some(now + 10) },
        }
    }
}

/// Skewed load: 16 workers of equal fixed work started on core 0, against the same
/// work spread from the start (worker i bound to core i mod the core count). Both
/// runs are `zbeam_images::workloads::Workers` controllers, bound to core 0 at max
/// priority so their timing is not queued behind the workers.
#[derive(Default)]
struct Skew {
    phase: u8,
    out: Option<ResultSlot<WorkersResult>>,
    ideal_ms: u64,
    migrations0: u64,
}

/// Workers per run.
const SKEW_WORKERS: u32 = 16;
/// Rounds of `worker` per worker (262,144 instructions per round).
const SKEW_ROUNDS: u16 = 24;

fn migrations() -> u64 {
    let s = engine().sched();
    (0..s.topology().len()).map(|c| s.stats(CoreId::new(c)).migrations_in + s.stats(CoreId::new(c)).steals).sum()
}

/// Runs `ctl` bound to core 0 at max priority; fails the test if it cannot.
fn spawn_on_core0(cx: &mut NativeCx<'_>, ctl: Box<dyn NativeTask>, test: &str) {
    if cx.spawn_native(ctl, Priority::Max, CpuSet::single(CoreId::new(0))).is_err() {
        println!("test {test}: cannot spawn the workers' controller");
        verdict(test, false);
    }
}

/// The finished run's time in ms (at least 1); fails the test if a worker was lost.
fn workers_ms(r: WorkersResult, test: &str) -> u64 {
    if r.finished < SKEW_WORKERS {
        println!("test {test}: only {} of {SKEW_WORKERS} workers finished", r.finished);
        verdict(test, false);
    }
    (r.elapsed.as_millis() as u64).max(1)
}

impl NativeTask for Skew {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let done = self.out.as_ref().and_then(ResultSlot::take);
        match (self.phase, done) {
            (0, _) => {
                // Ideal: the same total work, pre-spread over the cores.
                let cores = engine().sched().topology().len();
                let (ctl, out) = Workers::spread(SKEW_WORKERS, SKEW_ROUNDS, cores);
                spawn_on_core0(cx, ctl, "bench-skew");
                self.out = Some(out);
                self.phase = 1;
            }
            (1, Some(r)) => {
                self.ideal_ms = workers_ms(r, "bench-skew");
                self.migrations0 = migrations();
                let (ctl, out) = Workers::new(SKEW_WORKERS, SKEW_ROUNDS, CpuSet::ALL);
                spawn_on_core0(cx, ctl, "bench-skew");
                self.out = Some(out);
                self.phase = 2;
            }
            (2, Some(r)) => {
                let skew_ms = workers_ms(r, "bench-skew");
                let r = skew_ms * 1000 / self.ideal_ms;
                println!(
                    "bench skew: 16 workers from core 0 took {skew_ms} ms, pre-spread {} ms: total/ideal = {}.{:03}, {} migrations and steals",
                    self.ideal_ms,
                    r / 1000,
                    r % 1000,
                    migrations() - self.migrations0
                );
                verdict("bench-skew", true);
            }
            _ => {}
        }
        NativeStep::Wait { until: Some(now + 5) }
    }
}
