//! `test=soak` (`soak=SECONDS`, default 60; `soakseed=N` replays the random choices of
//! the run that printed seed N): the shell runs while a native driver
//! churns the system for that long, then checks that everything it made is gone and
//! the heap is back at its baseline. `make soak MINUTES=n` and the 60-second QEMU
//! test in `make test` boot it and type shell commands throughout.
//!
//! Each step (every [`STEP_MS`]) the driver takes a few random actions:
//! * spawns short-lived programs: `spin` for one round, a `cx-pingpong` pair;
//! * spawns long-lived ones it ends later: `pong` (flooded with messages, which it
//!   echoes back to the driver), `cx-flood` (monitors itself to the limit);
//! * kills, links to and monitors them (it traps exits; EXIT and DOWN messages
//!   arrive and are drained);
//! * starts a `cx-bomb` spawn bomb and stops its tree with `stop_tree` a step later;
//! * floods a `pong` with a burst of messages.
//!
//! A native one-for-one supervisor restarts three `crasher` children (a HALT fault,
//! an unknown call, an exit with code 7) throughout. Every [`REPORT_MS`] it prints
//! `soak: t=N s ...` (live processes, heap, restarts); at the end it stops everything,
//! waits for the teardown, and prints `soak: PASS` or `soak: FAIL: why`.

use crate::println;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorReport};
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_images::{CRASHER, CX_BOMB, CX_FLOOD, CX_PINGPONG, PONG, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// How often the driver acts, in ms.
const STEP_MS: u64 = 10;
/// How often it reports, in ms.
const REPORT_MS: u64 = 5_000;
/// Most processes the driver keeps alive at once (it spawns no more above this).
const MAX_LIVE: usize = 300;
/// Heap bytes the run may leave behind, besides what the engine keeps for reuse
/// (`MemoryStats::kept`: templates, pools, and the run queues' and timer wheels' room,
/// which grow to hold a bomb's thousands of processes; the run queues give theirs back
/// once the processes are gone, the wheels keep it and it is counted). A leak of 4
/// bytes per message (the driver sends about 2000 a second) or of 64 per spawn fails
/// this within the 60-second run; a leaked process shows in the live count.
const HEAP_SLACK: usize = 256 * 1024;

/// Starts the shell and the soak driver (called by `ktest` on core 0).
pub fn main() -> ! {
    let e = crate::runtime::start();
    crate::runtime::shell::spawn(e, 0);
    let args = crate::board::machine().map(|m| m.platform.bootargs).unwrap_or_default();
    let secs: u64 = crate::bootargs::get(args.as_str(), "soak").and_then(|v| v.parse().ok()).unwrap_or(60);
    // `soakseed=N` replays a run's choices (the seed a run prints); by default it comes
    // from the counter. The cores' timing still differs from run to run.
    let seed = crate::bootargs::get(args.as_str(), "soakseed")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(crate::arch::cpu::counter)
        | 1;
    println!("soak: {secs} s of churn (seed {seed})");
    let driver = Box::new(Soak {
        secs,
        rng: seed,
        start: None,
        next_report: 0,
        heap0: 0,
        held: Vec::new(),
        bomb: None,
        sup: None,
        draining: None,
        spawned: 0,
        killed: 0,
        bombs: 0,
        sent: 0,
    });
    if let Err(err) = e.spawn_native(driver, Priority::Normal, CpuSet::ALL, CoreId::new(0)) {
        println!("soak: FAIL: cannot spawn the driver: {err:?}");
    }
    crate::runtime::release_cores();
    crate::runtime::core_loop(0)
}

struct Soak {
    secs: u64,
    rng: u64,
    /// When it started (ms), once it has.
    start: Option<u64>,
    next_report: u64,
    heap0: usize,
    /// Long-lived processes it spawned and will end.
    held: Vec<Pid>,
    /// A spawn bomb's root, to stop at the next step.
    bomb: Option<Pid>,
    sup: Option<(Pid, Arc<spin::Mutex<SupervisorReport>>)>,
    /// Ending: the deadline for the teardown to finish.
    draining: Option<u64>,
    spawned: u64,
    killed: u64,
    bombs: u64,
    sent: u64,
}

impl Soak {
    fn rnd(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }

    fn spawn(&mut self, cx: &mut NativeCx<'_>, image: usize, args: &[u8], held: bool) -> Option<Pid> {
        let pid = cx.spawn(image, args, Priority::Normal, CpuSet::ALL).ok()?;
        self.spawned += 1;
        if held {
            self.held.push(pid);
        }
        Some(pid)
    }

    fn act(&mut self, cx: &mut NativeCx<'_>) {
        let Some(e) = crate::runtime::engine() else { return };
        if let Some(root) = self.bomb.take() {
            let _ = e.stop_tree(root);
        }
        self.held.retain(|&p| cx.is_live(p));
        let room = e.live() < MAX_LIVE;
        let pick = |s: &mut Self| {
            let n = s.held.len() as u64;
            (n > 0).then(|| {
                let i = s.rnd(n) as usize;
                s.held[i]
            })
        };
        match self.rnd(10) {
            0 if room => {
                let _ = self.spawn(cx, SPIN, &[1, 0], false);
            }
            1 if room => {
                let _ = self.spawn(cx, CX_PINGPONG, &[b'A', CX_PINGPONG as u8, 50, 0], false);
            }
            2 if room => {
                let _ = self.spawn(cx, PONG, &[], true);
            }
            3 if room && self.rnd(4) == 0 => {
                let _ = self.spawn(cx, CX_FLOOD, b"M", true);
            }
            4 => {
                if let Some(p) = pick(self) {
                    if cx.kill(p) {
                        self.killed += 1;
                    }
                }
            }
            5 => {
                if let Some(p) = pick(self) {
                    let _ = cx.link(p);
                }
            }
            6 => {
                if let Some(p) = pick(self) {
                    let _ = cx.monitor(p);
                }
            }
            7 => {
                // A burst of messages; pong echoes them back to the driver.
                if let Some(p) = pick(self) {
                    for _ in 0..50 {
                        if cx.send(p, b"flood, flood!").is_ok() {
                            self.sent += 1;
                        }
                    }
                }
            }
            8 if room && self.rnd(20) == 0 => {
                let args = alloc::format!("Y {CX_BOMB}");
                self.bomb = self.spawn(cx, CX_BOMB, args.as_bytes(), false);
                self.bombs += 1;
            }
            _ => {}
        }
    }

    /// Prints a progress line for time `now` (ms, from the same clock as `start`).
    fn report(&self, now: u64, start: u64) {
        let Some(e) = crate::runtime::engine() else { return };
        let (used, _) = crate::heap::usage();
        let restarts = self.sup.as_ref().map_or(0, |(_, r)| r.lock().restarts);
        // `stopped` is how many live processes a tree stop froze and are not yet gone;
        // `all spawns` counts every process's spawns (a bomb's included).
        println!(
            "soak: t={} s, {} live ({} stopped), heap {} KiB, {} all spawns, {} spawned, {} killed, {} bombs, {} messages, {} restarts",
            (now - start) / 1000,
            e.live(),
            e.frozen_live(),
            used / 1024,
            e.spawned(),
            self.spawned,
            self.killed,
            self.bombs,
            self.sent,
            restarts
        );
    }

    /// Stops everything it made; true once all is gone.
    fn drain(&mut self, cx: &mut NativeCx<'_>) -> bool {
        let Some(e) = crate::runtime::engine() else { return true };
        if let Some(root) = self.bomb.take() {
            let _ = e.stop_tree(root);
        }
        for &p in &self.held {
            let _ = e.stop_tree(p);
        }
        if let Some((sup, _)) = &self.sup {
            cx.kill(*sup);
        }
        // A cx-pingpong partner ('B') whose spawner ended early (its SEND refused for
        // memory while a bomb held the budget) echoes until its 65 s receive timeout;
        // it is in no tree the driver holds, so it is killed here.
        let pingpong = e.images().get(CX_PINGPONG).map(|i| i.name);
        for p in e.live_pids() {
            if e.proc_info(p).is_some_and(|i| Some(i.name) == pingpong) {
                cx.kill(p);
            }
        }
        // Left: the shell and this driver.
        e.live() <= 2 && e.frozen_live() == 0
    }
}

impl NativeTask for Soak {
    fn name(&self) -> &'static str {
        "soak"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        while cx.receive().is_some() {}
        let start = match self.start {
            Some(s) => s,
            None => {
                self.start = Some(now);
                self.heap0 = heap_less_kept();
                cx.trap_exit(true);
                let crasher = |mode: u8, ms: u16| ChildSpec {
                    image: CRASHER,
                    args: alloc::vec![mode, ms as u8, (ms >> 8) as u8],
                    prio: Priority::Normal,
                    affinity: CpuSet::ALL,
                    restart: Restart::Permanent,
                };
                let specs = alloc::vec![crasher(0, 300), crasher(3, 500), crasher(4, 700)];
                let intensity = Intensity { max_restarts: 1000, period_ms: 1000 };
                let (sup, report) = Supervisor::new(Strategy::OneForOne, intensity, specs);
                if let Ok(pid) = cx.spawn_native(sup, Priority::Normal, CpuSet::ALL) {
                    self.sup = Some((pid, report));
                }
                self.next_report = now + REPORT_MS;
                now
            }
        };
        if let Some(deadline) = self.draining {
            if !self.drain(cx) {
                if now < deadline {
                    return NativeStep::Wait { until: Some(now + STEP_MS) };
                }
                let live = crate::runtime::engine().map_or(0, |e| e.live());
                println!("soak: FAIL: {live} processes still live 10 s after the end");
                if let Some(e) = crate::runtime::engine() {
                    for p in e.live_pids().take(8) {
                        match e.proc_info(p) {
                            Some(i) => println!("soak: still live: pid {} {} {:?}", p.get(), i.name, i.state),
                            None => println!("soak: still live: pid {} (gone meanwhile)", p.get()),
                        }
                    }
                    println!("soak: {} of them stopped with a tree", e.frozen_live());
                }
                return NativeStep::Exit(1);
            }
            self.held = Vec::new();
            self.report(now, start);
            let used = heap_less_kept();
            let timers = crate::runtime::engine().map_or(0, |e| e.timers_armed());
            if used > self.heap0 + HEAP_SLACK {
                println!("soak: FAIL: heap {} KiB in use after the run, {} KiB before", used / 1024, self.heap0 / 1024);
                return NativeStep::Exit(1);
            }
            // The shell's and this driver's own waits may hold one each.
            if timers > 2 {
                println!("soak: FAIL: {timers} timers armed after the run");
                return NativeStep::Exit(1);
            }
            println!("soak: PASS: heap {} KiB, {} KiB before; {timers} timers", used / 1024, self.heap0 / 1024);
            return NativeStep::Exit(0);
        }
        for _ in 0..4 {
            self.act(cx);
        }
        if now >= self.next_report {
            // The report carries its scheduled time (5, 10, 15 s...), which the QEMU test
            // waits for: a spawn bomb can delay a report by a second or more, and a late
            // one must not stall the test's script.
            self.report(self.next_report, start);
            self.next_report += REPORT_MS;
        }
        if now >= start + self.secs * 1000 {
            println!("soak: churn over, stopping everything");
            self.draining = Some(now + 10_000);
        }
        NativeStep::Wait { until: Some(now + STEP_MS) }
    }
}

/// Heap in use, less what the engine keeps for reuse (templates and pools, see
/// `MemoryStats::kept`): the churn refills the pools, which is not a leak.
fn heap_less_kept() -> usize {
    let kept = crate::runtime::engine().map_or(0, |e| e.memory_stats().kept());
    crate::heap::usage().0.saturating_sub(kept)
}
