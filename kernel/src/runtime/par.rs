//! `par <image> [cores] [budget]`: runs one CP/M program through the dispatcher
//! (`zbeam-dispatch`) on the kernel's cores, and once sequentially, and reports.
//!
//! What: the shell's command checks the arguments and starts the run as its own
//! native process (`par` in `ps`), so the shell keeps answering while it runs. At
//! most one run goes at a time; a second `par` meanwhile is refused with a line that
//! names the running one. The run's process sits on one core other than the shell's
//! (core 1; on a one-core machine core 0, where it holds the shell until it ends),
//! which is the dispatcher's own instance. It spawns `cores - 1` native worker
//! tasks (`par-worker`) with the other chosen cores as their affinity (core 0, the
//! shell's, last), so the scheduler places them there and may move or steal them
//! among those cores. It runs the image through the dispatcher with a [`Pool`] of
//! this core and the workers, then once on the reference interpreter, and reports.
//!
//! A wave goes into one queue shared by the workers: the dispatcher wakes as many
//! workers as there are tasks beyond its own (an engine wake-up, no message), runs
//! task 0, then takes further tasks from the queue itself while any is left, so a
//! task a worker has not started (a busy, slow or gone worker) is run here. A worker
//! takes the next task whenever it is free (up to [`PER_INSTANCE`] tasks per instance
//! a wave, so uneven tasks balance), one task per step so a worker on the shell's
//! core lets the shell in between tasks. When the queue is empty the dispatcher
//! waits in WFI; the worker that finishes the wave's last task wakes it with one IPI.
//! At the end the workers are told to exit.
//!
//! Ctrl-C at the shell, or `kill` or `stop` of the run's pid, asks the run to stop:
//! both the dispatched and the sequential run look at the request at least every
//! [`CHECK_EVERY`] instructions of the dispatcher's own work and between waves (a
//! task already handed out runs to its end), then the workers are told to exit, the
//! memory of both runs is freed, and the shell prints how the run ended once the
//! run's process and its workers are gone ([`poll`]).
//!
//! The report gives both runs' wall times and the speedup, a checksum of each final
//! state (registers and latches, memory, console output, counts, how it ended) and
//! whether the two states are equal, the dispatcher's waves, commits and squashes,
//! a wave's fixed cost (its time less the task time of its busiest core: start
//! states and 64 KiB copies, hand-off, waiting, validation, commit, redos), the
//! learnt choice per region, and on which cores the tasks ran. The learnt policy is
//! kept per image (by hash) while the kernel runs, so a repeated `par` starts from
//! what the earlier runs learnt; a stopped run keeps what it learnt too.
//!
//! A dispatcher suite program runs on the z80 crate's CP/M harness (its recorded
//! output and counts were made there); any other image (built in, or from the
//! initrd) on the CP/M machine of `zbeam_dispatch::cpm`: zbeam-cpm's BDOS and BIOS
//! with files on its own empty in-memory disk, no command tail, no console input.
//!
//! Bad input gets one line starting with `par:` (unknown image, 0 cores or more than
//! the machine has, a malformed budget). A program that does not end stops at its
//! instruction budget (default [`DEFAULT_BUDGET`], or `budget` millions), in both
//! runs, and the report says so.

use super::engine;
use crate::arch::cpu;
use crate::board::{self, Ipi};
use crate::println;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use zbeam_dispatch::cpm::CpmSystem;
use zbeam_dispatch::reference::{self, Sequential, Stop};
use zbeam_dispatch::task::Task;
use zbeam_dispatch::{Config, Policy, Pool, Report, RunError};
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Instructions a run may take unless the command gives a budget (about 3 s per run
/// on one QEMU vCPU at ~30 Z80 MIPS).
pub const DEFAULT_BUDGET: u64 = 100_000_000;
/// The largest budget the command accepts, in millions of instructions.
const MAX_BUDGET_M: u64 = 100_000;
/// The smallest task worth handing to a worker, in T-states: a wave costs a wake-up
/// per worker and, per task, bringing its view of memory up to date (the pages
/// written since, tens of microseconds under QEMU), which this keeps to a few
/// percent at ~100 M T-states a second.
const MIN_TASK_TSTATES: u64 = 400_000;
/// Tasks a wave may have per instance: a free instance takes the next one.
pub const PER_INSTANCE: usize = 4;
/// Instructions the dispatcher's own work runs between two looks at a stop request
/// (about 30 ms on one QEMU vCPU).
pub const CHECK_EVERY: u64 = 1_000_000;
/// The run's core when the machine has more than one (the shell has core 0).
const RUN_CORE: usize = 1;
/// How long the shell waits, after the run's process is gone, for its workers.
const WORKERS_GONE_MS: u64 = 3_000;
/// Policies kept (one per image run with `par`); the oldest goes first.
const MAX_POLICIES: usize = 16;
/// Console output shown in the report, at most.
const SHOWN_OUTPUT: usize = 160;

/// The learnt policies by image hash, with how many runs each has had.
static POLICIES: Mutex<BTreeMap<u64, (Policy, u32, u64)>> = Mutex::new(BTreeMap::new());
/// Orders the policies by last use, for eviction.
static USES: Mutex<u64> = Mutex::new(0);

/// The run going on (at most one), as the shell sees it.
static JOB: Mutex<Option<Job>> = Mutex::new(None);
/// Set to ask the run going on to stop; cleared when a run starts.
static STOP: AtomicBool = AtomicBool::new(false);

struct Job {
    pid: Pid,
    name: String,
    /// Its workers, once it has spawned them.
    workers: Vec<Pid>,
    /// How it ended, written by the run as its last act (`None` if it never got there).
    ending: Option<String>,
    /// What asked it to stop, if anything did.
    stop_by: Option<&'static str>,
    /// When the shell first found its process gone (ms), to wait for the workers.
    gone_at: Option<u64>,
}

/// A wave's tasks, shared by the dispatcher and the workers.
#[derive(Default)]
struct Wave {
    /// Tasks not taken yet, with their places in the wave.
    queue: VecDeque<(usize, Task)>,
    /// Tasks the workers ran, with their places and the core each ran on.
    done: Vec<(usize, Task, usize)>,
    /// Tasks a worker has taken and not yet put back.
    running: usize,
    /// The core waiting in WFI for the wave's last task, if the dispatcher waits.
    waiter: Option<usize>,
    /// IPIs the workers sent to wake the dispatcher.
    ipis: u64,
    /// The workers should exit.
    quit: bool,
}

/// A worker: a native task that runs tasks from the wave's queue.
struct Worker {
    wave: Arc<Mutex<Wave>>,
}

impl NativeTask for Worker {
    fn name(&self) -> &'static str {
        "par-worker"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        // Nothing is sent to a worker; drop whatever a program may send.
        while cx.receive().is_some() {}
        let (place, mut task) = {
            let mut w = self.wave.lock();
            if w.quit {
                return NativeStep::Exit(0);
            }
            match w.queue.pop_front() {
                Some(job) => {
                    w.running += 1;
                    job
                }
                None => return NativeStep::Wait { until: None },
            }
        };
        let t0 = cpu::counter();
        task.run();
        task.elapsed = ticks_to_ns(cpu::counter().saturating_sub(t0));
        cx.used += task.instructions;
        let (wake, more) = {
            let mut w = self.wave.lock();
            w.done.push((place, task, cx.core().index()));
            w.running -= 1;
            let last = w.queue.is_empty() && w.running == 0;
            let wake = if last { w.waiter.take() } else { None };
            w.ipis += wake.is_some() as u64;
            (wake, !w.queue.is_empty())
        };
        // The dispatcher sleeps in WFI: wake it now rather than at its next tick.
        if let (Some(core), Some(m)) = (wake, board::machine()) {
            m.send_ipi(core, Ipi::Wake);
        }
        // One task per step: the scheduler may run others (the shell) in between.
        if more {
            NativeStep::Yield
        } else {
            NativeStep::Wait { until: None }
        }
    }
}

fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / cpu::counter_hz().max(1) as u128) as u64
}

fn now_ns() -> u64 {
    ticks_to_ns(cpu::counter())
}

fn stop_asked() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The dispatcher's pool: this core and the workers.
struct EnginePool {
    core: usize,
    workers: Vec<Pid>,
    wave: Arc<Mutex<Wave>>,
    spares: Vec<Task>,
    /// Tasks run per core (index = core), this core's included.
    ran_on: Vec<u64>,
    /// Tasks beyond task 0 that this core ran because no worker had taken them.
    ran_here: u64,
    /// Workers woken, over all waves.
    wakeups: u64,
    /// Over all waves: the task time of the wave's busiest core (ns).
    busiest_ns: u64,
}

impl EnginePool {
    fn run_here(&mut self, t: &mut Task) {
        let t0 = now_ns();
        t.run();
        t.elapsed = now_ns().saturating_sub(t0);
        if let Some(n) = self.ran_on.get_mut(self.core) {
            *n += 1;
        }
    }

    /// Tells the workers to exit and wakes them to do so.
    fn dismiss(&mut self) {
        self.wave.lock().quit = true;
        if let Some(e) = engine() {
            for &pid in &self.workers {
                e.notify(pid);
            }
        }
    }
}

impl Pool for EnginePool {
    fn instances(&self) -> usize {
        self.workers.len() + 1
    }

    fn per_instance(&self) -> usize {
        PER_INSTANCE
    }

    fn run_all(&mut self, tasks: &mut [Task]) {
        let Some((first, rest)) = tasks.split_first_mut() else { return };
        if rest.is_empty() || self.workers.is_empty() {
            for t in tasks.iter_mut() {
                self.run_here(t);
                self.busiest_ns += t.elapsed;
            }
            return;
        }
        {
            let mut w = self.wave.lock();
            for (i, slot) in rest.iter_mut().enumerate() {
                let spare = self.spares.pop().unwrap_or_default();
                w.queue.push_back((i + 1, core::mem::replace(slot, spare)));
            }
        }
        let woken = self.workers.len().min(rest.len());
        if let Some(e) = engine() {
            // A wake-up of a worker that is still running is kept for its next wait.
            for &pid in &self.workers[..woken] {
                e.notify(pid);
            }
        }
        self.wakeups += woken as u64;
        self.run_here(first);
        let mut back: Vec<(usize, Task, usize)> = Vec::with_capacity(rest.len());
        loop {
            // Interrupts masked from the check to WFI: a wake-up IPI that comes in
            // between stays pending and ends the WFI at once (the tick ends it too).
            let saved = cpu::irq_save();
            let mut w = self.wave.lock();
            if let Some((place, mut t)) = w.queue.pop_front() {
                drop(w);
                cpu::irq_restore(saved);
                self.run_here(&mut t);
                self.ran_here += 1;
                back.push((place, t, self.core));
                continue;
            }
            if w.running == 0 {
                back.append(&mut w.done);
                w.waiter = None;
                drop(w);
                cpu::irq_restore(saved);
                break;
            }
            w.waiter = Some(self.core);
            drop(w);
            // Sleep rather than spin: under QEMU a spinning vCPU takes host time the
            // workers' vCPUs need.
            cpu::wfi();
            cpu::irq_restore(saved);
        }
        // Task time per core this wave (index = core), this core's task 0 included.
        let mut busy = alloc::vec![0u64; self.ran_on.len()];
        if let Some(b) = busy.get_mut(self.core) {
            *b = first.elapsed;
        }
        for (place, t, core) in back {
            if let Some(b) = busy.get_mut(core) {
                *b += t.elapsed;
            }
            if core != self.core {
                if let Some(n) = self.ran_on.get_mut(core) {
                    *n += 1;
                }
            }
            self.spares.push(core::mem::replace(&mut rest[place - 1], t));
        }
        self.busiest_ns += busy.iter().copied().max().unwrap_or(0);
    }

    fn now(&mut self) -> u64 {
        now_ns()
    }

    fn min_task_tstates(&self) -> u64 {
        MIN_TASK_TSTATES
    }

    fn check_every(&self) -> u64 {
        CHECK_EVERY
    }

    fn go_on(&mut self) -> bool {
        !stop_asked()
    }
}

/// The program called `name` and whether it runs on the CP/M machine: a dispatcher
/// suite program (on the z80 crate's harness, as its recorded output was made), or
/// an image of the engine's table, built in or from the initrd (on the CP/M machine,
/// with its own empty disk, no command tail and no console input).
fn find_image(name: &str) -> Option<(&'static [u8], bool)> {
    if let Some(p) = zbeam_dispatch::suite::find(name) {
        return Some((p.image, false));
    }
    let e = engine()?;
    e.image_index(name).map(|i| (e.images()[i].bytes, true))
}

fn image_names() -> String {
    let mut names: Vec<&str> = zbeam_dispatch::suite::PROGRAMS.iter().map(|p| p.name).collect();
    if let Some(e) = engine() {
        names.extend(e.images().iter().map(|i| i.name));
    }
    names.join(", ")
}

/// What the arguments ask for.
struct Request {
    name: String,
    image: &'static [u8],
    /// Runs on the CP/M machine (zbeam-cpm's BDOS and BIOS) rather than the harness.
    cpm: bool,
    cores: usize,
    budget: u64,
}

fn parse(rest: &str, machine_cores: usize) -> Result<Request, String> {
    let mut words = rest.split_whitespace();
    let Some(name) = words.next() else {
        return Err(alloc::format!("usage: par <image> [cores] [budget-millions] (images: {})", image_names()));
    };
    let (image, cpm) =
        find_image(name).ok_or_else(|| alloc::format!("no image '{name}' (images: {})", image_names()))?;
    let cores = match words.next() {
        None => machine_cores,
        Some(w) => match w.parse::<usize>() {
            Ok(0) => return Err(String::from("cores must be at least 1")),
            Ok(n) if n > machine_cores => {
                return Err(alloc::format!("{n} cores asked, the machine has {machine_cores}"))
            }
            Ok(n) => n,
            Err(_) => return Err(alloc::format!("'{w}' is not a number of cores")),
        },
    };
    let budget = match words.next() {
        None => DEFAULT_BUDGET,
        Some(w) => match w.parse::<u64>() {
            Ok(m) if (1..=MAX_BUDGET_M).contains(&m) => m * 1_000_000,
            _ => return Err(alloc::format!("budget '{w}': millions of instructions, 1 to {MAX_BUDGET_M}")),
        },
    };
    if let Some(extra) = words.next() {
        return Err(alloc::format!("unexpected '{extra}'"));
    }
    Ok(Request { name: String::from(name), image, cpm, cores, budget })
}

/// The shell's `par` command: checks the arguments and starts the run as a process;
/// its pid if it started.
pub fn command(rest: &str, cx: &mut NativeCx<'_>) -> Option<Pid> {
    if let Some(j) = JOB.lock().as_ref() {
        let pid = j.pid;
        println!("par: '{}' runs as pid {pid}: one run at a time (Ctrl-C or kill {pid} stops it)", j.name);
        return None;
    }
    let machine_cores = engine().map_or(1, |e| e.sched().topology().len());
    let req = match parse(rest, machine_cores) {
        Ok(r) => r,
        Err(msg) => {
            println!("par: {msg}");
            return None;
        }
    };
    let core = if machine_cores > 1 { RUN_CORE } else { 0 };
    let name = req.name.clone();
    // The job is in place before the run can look for it.
    let mut job = JOB.lock();
    STOP.store(false, Ordering::Relaxed);
    let run = Box::new(Run { req: Some(req), machine_cores });
    match cx.spawn_native(run, Priority::High, CpuSet::single(CoreId::new(core))) {
        Ok(pid) => {
            *job =
                Some(Job { pid, name: name.clone(), workers: Vec::new(), ending: None, stop_by: None, gone_at: None });
            println!("par {name}: runs as pid {pid} on core{core} (Ctrl-C or kill {pid} stops it)");
            Some(pid)
        }
        Err(err) => {
            println!("par: could not start the run ({err:?})");
            None
        }
    }
}

/// Ctrl-C at the shell: asks the run going on to stop; its pid, if one was asked.
pub fn interrupt() -> Option<Pid> {
    stop(None, "Ctrl-C")
}

/// `kill` or `stop` of `pid` at the shell: if `pid` is the run going on, asks it to
/// stop at its next look (the engine's exit request alone would only take effect
/// when its long step ends).
pub fn stopping(pid: Pid, by: &'static str) -> bool {
    stop(Some(pid), by).is_some()
}

fn stop(pid: Option<Pid>, by: &'static str) -> Option<Pid> {
    let mut job = JOB.lock();
    let j = job.as_mut().filter(|j| pid.is_none_or(|p| p == j.pid) && j.gone_at.is_none())?;
    STOP.store(true, Ordering::Relaxed);
    j.stop_by.get_or_insert(by);
    Some(j.pid)
}

/// Whether a run is going on (the shell looks again soon while one is).
pub fn running() -> bool {
    JOB.lock().is_some()
}

/// Called by the shell at each of its steps: once the run's process and its workers
/// are gone (or [`WORKERS_GONE_MS`] after its process went), prints how it ended and
/// forgets it; true if it printed.
pub fn poll(cx: &NativeCx<'_>) -> bool {
    let now = cx.now_ms();
    let mut job = JOB.lock();
    let Some(j) = job.as_mut() else { return false };
    if cx.is_live(j.pid) {
        return false;
    }
    let gone_at = *j.gone_at.get_or_insert(now);
    let left = j.workers.iter().filter(|&&w| cx.is_live(w)).count();
    if left > 0 && now.saturating_sub(gone_at) < WORKERS_GONE_MS {
        return false;
    }
    let ending = match (&j.ending, j.stop_by) {
        (Some(e), _) => e.clone(),
        (None, Some(by)) => alloc::format!("ended by {by} before it finished"),
        (None, None) => String::from("its process ended before it finished"),
    };
    let workers = match (j.workers.len(), left) {
        (0, _) => String::from("no workers"),
        (n, 0) => alloc::format!("its {n} worker(s) exited"),
        (n, l) => alloc::format!("{l} of its {n} worker(s) still exiting"),
    };
    println!("[par {} (pid {}): {ending}; {workers}]", j.name, j.pid);
    *job = None;
    true
}

/// The run: a native process that does all its work in its first step.
struct Run {
    req: Option<Request>,
    machine_cores: usize,
}

impl NativeTask for Run {
    fn name(&self) -> &'static str {
        "par"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        while cx.receive().is_some() {}
        let Some(req) = self.req.take() else { return NativeStep::Exit(0) };
        let ending = run(&req, self.machine_cores, cx);
        if let Some(j) = JOB.lock().as_mut().filter(|j| j.pid == cx.pid()) {
            j.ending = Some(ending);
        }
        NativeStep::Exit(0)
    }
}

/// What the run did, for the report.
struct Runs {
    seq: Sequential,
    seq_out: Vec<u8>,
    seq_ns: u64,
    rep: Report,
    par_out: Vec<u8>,
    par_ns: u64,
}

/// Spawns the workers, runs both runs, dismisses the workers and prints the report;
/// returns how the run ended, for the shell's last line.
fn run(req: &Request, machine_cores: usize, cx: &mut NativeCx<'_>) -> String {
    let me = cx.core().index();
    // The workers' cores: the first `cores - 1` cores other than this one, the
    // shell's core 0 last.
    let mut worker_cores = CpuSet::from_bits(0);
    let order = (1..machine_cores).chain(core::iter::once(0));
    for c in order.filter(|&c| c != me).take(req.cores - 1) {
        worker_cores.insert(CoreId::new(c));
    }
    let wave = Arc::new(Mutex::new(Wave::default()));
    let mut workers = Vec::new();
    for _ in 0..req.cores - 1 {
        match cx.spawn_native(Box::new(Worker { wave: wave.clone() }), Priority::High, worker_cores) {
            Ok(pid) => workers.push(pid),
            Err(err) => {
                println!("par: could not start a worker ({err:?}); running with {} instances", workers.len() + 1);
                break;
            }
        }
    }
    if let Some(j) = JOB.lock().as_mut().filter(|j| j.pid == cx.pid()) {
        j.workers = workers.clone();
    }
    println!(
        "par {}: {} instance(s): the dispatcher on core{me}, {} worker(s) on cores {}; budget {} instructions{}",
        req.name,
        workers.len() + 1,
        workers.len(),
        cores_text(worker_cores),
        req.budget,
        if req.cpm { "; the CP/M machine" } else { "" }
    );
    let hash = zbeam_dispatch::learn::image_hash(req.image);
    let (mut policy, runs) = take_policy(hash, req.image);
    let mut pool = EnginePool {
        core: me,
        workers,
        wave,
        spares: Vec::new(),
        ran_on: alloc::vec![0; machine_cores],
        ran_here: 0,
        wakeups: 0,
        busiest_ns: 0,
    };
    let done = both_runs(req, &mut pool, &mut policy, hash ^ runs as u64);
    pool.dismiss();
    put_policy(hash, policy, runs + 1);
    match done {
        Ok(r) => {
            print_report(&r, &pool, runs + 1);
            String::from("done")
        }
        Err(stage) => {
            let by = JOB.lock().as_ref().and_then(|j| j.stop_by).unwrap_or("a stop request");
            println!("par {}: stopped by {by} during the {stage} run", req.name);
            alloc::format!("stopped by {by} during the {stage} run")
        }
    }
}

/// The dispatched run, then the sequential one; the stage a stop request ended.
fn both_runs(req: &Request, pool: &mut EnginePool, policy: &mut Policy, seed: u64) -> Result<Runs, &'static str> {
    let cfg = Config { tasks: req.cores, seed, max_instructions: req.budget, ..Config::default() };
    let mut par_out = Vec::new();
    let t0 = now_ns();
    let rep = if req.cpm {
        let mut sys = CpmSystem::new(b"", b"");
        zbeam_dispatch::run_cpm(req.image, &mut sys, &cfg, pool, policy, &mut |b| par_out.push(b))
    } else {
        zbeam_dispatch::run(req.image, &cfg, pool, policy, &mut |b| par_out.push(b))
    };
    let par_ns = now_ns().saturating_sub(t0).max(1);
    if rep.result == Err(RunError::Stopped) {
        return Err("dispatched");
    }
    let mut seq_out = Vec::new();
    let mut go_on = || !stop_asked();
    let mut stop = Stop { every: CHECK_EVERY, go_on: Some(&mut go_on) };
    let t0 = now_ns();
    let seq = if req.cpm {
        let mut sys = CpmSystem::new(b"", b"");
        reference::sequential_cpm_until(req.image, &mut sys, req.budget, &mut |b| seq_out.push(b), &mut stop)
    } else {
        reference::sequential_until(req.image, req.budget, &mut |b| seq_out.push(b), &mut stop)
    };
    let seq_ns = now_ns().saturating_sub(t0).max(1);
    if seq.result == Err(RunError::Stopped) {
        return Err("sequential");
    }
    Ok(Runs { seq, seq_out, seq_ns, rep, par_out, par_ns })
}

/// The policy kept for `hash` (or a new one) and the runs it has seen.
fn take_policy(hash: u64, image: &[u8]) -> (Policy, u32) {
    match POLICIES.lock().remove(&hash) {
        Some((p, runs, _)) => (p, runs),
        None => (Policy::new(image), 0),
    }
}

fn put_policy(hash: u64, policy: Policy, runs: u32) {
    let stamp = {
        let mut u = USES.lock();
        *u += 1;
        *u
    };
    let mut all = POLICIES.lock();
    all.insert(hash, (policy, runs, stamp));
    while all.len() > MAX_POLICIES {
        let oldest = all.iter().min_by_key(|(_, (_, _, s))| *s).map(|(h, _)| *h);
        match oldest {
            Some(h) => all.remove(&h),
            None => break,
        };
    }
}

fn cores_text(set: CpuSet) -> String {
    if set.is_empty() {
        return String::from("(none)");
    }
    let list: Vec<String> = set.iter().map(|c| alloc::format!("{}", c.index())).collect();
    list.join(",")
}

fn ending(r: &Result<(), RunError>) -> String {
    match r {
        Ok(()) => String::from("ended normally"),
        Err(RunError::InstructionLimit) => String::from("stopped at its instruction budget (it did not end)"),
        Err(RunError::ImageTooLarge(n)) => alloc::format!("not run: {n} bytes do not fit in the TPA"),
        Err(RunError::UnsupportedBdos(f)) => alloc::format!("stopped: BDOS function {f} is not provided"),
        Err(RunError::Halted(pc)) => alloc::format!("stopped: halted at {pc:04X}h with nothing to wake it"),
        Err(RunError::NoInput) => String::from("stopped: it waits for console input (par gives none)"),
        Err(RunError::Cpm(e)) => alloc::format!("stopped by a BDOS error: {e:?}"),
        Err(RunError::Stopped) => String::from("stopped on request"),
    }
}

/// Printable text of a program's output: control bytes other than CR/LF as `.`,
/// at most [`SHOWN_OUTPUT`] bytes.
fn shown(out: &[u8]) -> String {
    let mut s = String::new();
    for &b in out.iter().take(SHOWN_OUTPUT) {
        match b {
            b'\r' => {}
            b'\n' => s.push_str(" | "),
            0x20..=0x7E => s.push(b as char),
            _ => s.push('.'),
        }
    }
    if out.len() > SHOWN_OUTPUT {
        let _ = write!(s, " ... ({} bytes)", out.len());
    }
    s
}

/// Hundredths as `x.yy`.
fn ratio(num: u64, den: u64) -> String {
    let h = (num as u128 * 100 / den.max(1) as u128) as u64;
    alloc::format!("{}.{:02}", h / 100, h % 100)
}

fn print_report(r: &Runs, pool: &EnginePool, run: u32) {
    let (seq, rep) = (&r.seq, &r.rep);
    let seq_sum = reference::sequential_checksum(seq, &r.seq_out);
    let par_sum = reference::report_checksum(rep, &r.par_out);
    let exact = r.seq_out == r.par_out
        && seq.instructions == rep.instructions
        && seq.tstates == rep.tstates
        && reference::registers(&seq.cpu) == reference::registers(&rep.cpu)
        && seq.mem[..] == rep.mem[..]
        && seq.result == rep.result;
    println!("  output: {}", shown(&r.seq_out));
    println!(
        "  sequential: {} instructions, {} T-states, {} ms, {}, checksum {seq_sum:016x}",
        seq.instructions,
        seq.tstates,
        r.seq_ns / 1_000_000,
        ending(&seq.result)
    );
    println!(
        "  dispatcher: {} instructions, {} T-states, {} ms, {}, checksum {par_sum:016x}",
        rep.instructions,
        rep.tstates,
        r.par_ns / 1_000_000,
        ending(&rep.result)
    );
    let s = &rep.stats;
    let squashed = s.squashed_state + s.squashed_memory;
    println!(
        "  bit-exact: {}; speedup {}x (run {run} of this image's policy)",
        if exact { "yes" } else { "NO" },
        ratio(r.seq_ns, r.par_ns)
    );
    println!(
        "  waves {}: {} speculative tasks, {} committed, {} squashed ({} state, {} memory), {} discarded; \
         {}% of T-states committed from workers' speculation",
        s.waves,
        s.speculative,
        s.committed,
        squashed,
        s.squashed_state,
        s.squashed_memory,
        s.discarded,
        s.speculative_tstates * 100 / rep.tstates.max(1)
    );
    if let Some(fixed) = s.wave_time.saturating_sub(pool.busiest_ns).checked_div(s.waves) {
        let ipis = pool.wave.lock().ipis;
        println!(
            "  a wave's fixed cost: {} us (its time less its busiest core's task time, mean of {} waves); \
             {} worker wake-ups, {} IPIs back",
            fixed / 1000,
            s.waves,
            pool.wakeups,
            ipis
        );
    }
    if s.quiet {
        println!("  quiet run: no region gained in this image's last runs, so it ran unobserved on the interpreter");
    }
    let mut regions: Vec<_> = rep.regions.iter().collect();
    regions.sort_by_key(|r| core::cmp::Reverse(r.iterations));
    for r in regions.iter().take(6) {
        let arm = match r.main_arm {
            Some((a, waves)) => alloc::format!("; chosen {a} ({waves} waves)"),
            None => String::new(),
        };
        if r.call {
            println!("  call at {:04X}h: {}, {} calls{arm}", r.head, r.state, r.iterations);
        } else {
            println!("  region {:04X}h: {}, {} iterations in {} visits{arm}", r.head, r.state, r.iterations, r.visits);
        }
    }
    if regions.len() > 6 {
        println!("  ({} more regions)", regions.len() - 6);
    }
    let mut placed = String::new();
    for (c, n) in pool.ran_on.iter().enumerate().filter(|(_, n)| **n > 0) {
        let _ = write!(placed, " core{c}:{n}");
    }
    println!("  tasks per core:{placed}; run by the dispatcher as no worker had taken them: {}", pool.ran_here);
}
