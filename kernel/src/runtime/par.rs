//! `par <image> [cores] [budget]`: runs one CP/M program through the dispatcher
//! (`zbeam-dispatch`) on the kernel's cores, and once sequentially, and reports.
//!
//! What: the command runs inside the shell's step on the shell's core. It first runs
//! the image on the reference interpreter (the z80 crate's CP/M harness) and times
//! it; then it runs it through the dispatcher with a [`Pool`] of engine processes:
//! the dispatcher's own instance is this core, and `cores - 1` native worker tasks
//! are spawned with the other chosen cores as their affinity, so the scheduler
//! places them there and may move or steal them among those cores. A wave hands
//! each worker its task through a shared slot and a message (which wakes it); the
//! worker runs the task on its own Z80 instance, puts it back and wakes this core
//! with an IPI; this core runs task 0 meanwhile and then waits for the slots in WFI. A worker not yet started on its
//! task after [`TAKE_BACK_MS`] has it taken back and run here, so a busy or lost
//! worker slows a wave but never stops it. At the end the workers are told to exit.
//!
//! The report gives both runs' wall times and the speedup, a checksum of each final
//! state (registers and latches, memory, console output, counts, how it ended) and
//! whether the two states are equal, the dispatcher's waves, commits and squashes,
//! the learnt choice per region, and on which cores the workers ran. The learnt
//! policy is kept per image (by hash) while the kernel runs, so a repeated `par`
//! starts from what the earlier runs learnt.
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
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use spin::Mutex;
use zbeam_dispatch::cpm::CpmSystem;
use zbeam_dispatch::reference::{self, Sequential};
use zbeam_dispatch::task::Task;
use zbeam_dispatch::{Config, Policy, Pool, Report, RunError};
use zbeam_engine::{NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Instructions a run may take unless the command gives a budget (about 3 s per run
/// on one QEMU vCPU at ~30 Z80 MIPS).
pub const DEFAULT_BUDGET: u64 = 100_000_000;
/// The largest budget the command accepts, in millions of instructions.
const MAX_BUDGET_M: u64 = 100_000;
/// How long a worker may leave its task untouched before this core runs it itself.
const TAKE_BACK_MS: u64 = 500;
/// The smallest task worth handing to a worker, in T-states: a wave costs a message
/// and a wake-up IPI per worker and a 64 KiB copy per task (tens of microseconds
/// under QEMU), which this keeps to a few percent at ~100 M T-states a second.
const MIN_TASK_TSTATES: u64 = 400_000;
/// Policies kept (one per image run with `par`); the oldest goes first.
const MAX_POLICIES: usize = 16;
/// Console output shown in the report, at most.
const SHOWN_OUTPUT: usize = 160;

/// The learnt policies by image hash, with how many runs each has had.
static POLICIES: Mutex<BTreeMap<u64, (Policy, u32, u64)>> = Mutex::new(BTreeMap::new());
/// Orders the policies by last use, for eviction.
static USES: Mutex<u64> = Mutex::new(0);

/// A wave's task for one worker, and its result.
#[derive(Default)]
struct Slot {
    /// Handed over, not yet taken by the worker.
    job: Option<Task>,
    /// Run, waiting to be collected.
    done: Option<Task>,
    /// The core that ran the last task.
    ran_on: usize,
    /// The worker should exit.
    quit: bool,
    /// The core waiting for the result (woken by an IPI when it is there).
    waiter: usize,
}

/// A worker: a native task that runs the tasks put in its slot.
struct Worker {
    slot: Arc<Mutex<Slot>>,
}

impl NativeTask for Worker {
    fn name(&self) -> &'static str {
        "par-worker"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        // Messages only wake the worker; the slot says what to do.
        while cx.receive().is_some() {}
        let job = {
            let mut s = self.slot.lock();
            if s.quit {
                return NativeStep::Exit(0);
            }
            s.job.take()
        };
        if let Some(mut task) = job {
            let t0 = cpu::counter();
            task.run();
            task.elapsed = ticks_to_ns(cpu::counter().saturating_sub(t0));
            cx.used += task.instructions;
            let waiter = {
                let mut s = self.slot.lock();
                s.ran_on = cx.core().index();
                s.done = Some(task);
                s.waiter
            };
            // The waiting core sleeps in WFI: wake it now rather than at its next tick.
            if let Some(m) = board::machine() {
                m.send_ipi(waiter, Ipi::Wake);
            }
        }
        NativeStep::Wait { until: None }
    }
}

fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / cpu::counter_hz().max(1) as u128) as u64
}

fn now_ns() -> u64 {
    ticks_to_ns(cpu::counter())
}

/// The dispatcher's pool: this core and the workers.
struct EnginePool<'c, 'a> {
    cx: &'c mut NativeCx<'a>,
    workers: Vec<(Pid, Arc<Mutex<Slot>>)>,
    spares: Vec<Task>,
    /// Tasks run per core (index = core), this core's task 0 included.
    ran_on: Vec<u64>,
    /// Tasks this core took back from a worker that had not started them.
    taken_back: u64,
}

impl EnginePool<'_, '_> {
    /// Waits for worker `w`'s task, or takes it back and runs it here if the worker
    /// has not started it within [`TAKE_BACK_MS`] (or is gone); returns it.
    fn collect(&mut self, w: usize) -> Task {
        let (pid, slot) = (self.workers[w].0, self.workers[w].1.clone());
        let start = now_ns();
        loop {
            // Interrupts masked from the check to WFI: a wake-up IPI that comes in
            // between stays pending and ends the WFI at once (the tick ends it too).
            let saved = cpu::irq_save();
            {
                let mut s = slot.lock();
                if let Some(t) = s.done.take() {
                    if let Some(n) = self.ran_on.get_mut(s.ran_on) {
                        *n += 1;
                    }
                    drop(s);
                    cpu::irq_restore(saved);
                    return t;
                }
                let late = now_ns().saturating_sub(start) > TAKE_BACK_MS * 1_000_000;
                if s.job.is_some() && (late || !self.cx.is_live(pid)) {
                    let mut t = s.job.take().expect("checked just above");
                    drop(s);
                    cpu::irq_restore(saved);
                    self.taken_back += 1;
                    self.run_here(&mut t);
                    return t;
                }
            }
            // Sleep rather than spin: under QEMU a spinning vCPU takes host time the
            // workers' vCPUs need.
            cpu::wfi();
            cpu::irq_restore(saved);
        }
    }

    fn run_here(&mut self, t: &mut Task) {
        let t0 = now_ns();
        t.run();
        t.elapsed = now_ns().saturating_sub(t0);
        if let Some(n) = self.ran_on.get_mut(self.cx.core().index()) {
            *n += 1;
        }
    }
}

impl Pool for EnginePool<'_, '_> {
    fn instances(&self) -> usize {
        self.workers.len() + 1
    }

    fn run_all(&mut self, tasks: &mut [Task]) {
        let Some((first, rest)) = tasks.split_first_mut() else { return };
        let handed = rest.len().min(self.workers.len());
        for (w, slot) in rest[..handed].iter_mut().enumerate() {
            let spare = self.spares.pop().unwrap_or_default();
            let job = core::mem::replace(slot, spare);
            let (pid, s) = (self.workers[w].0, self.workers[w].1.clone());
            {
                let mut s = s.lock();
                s.job = Some(job);
                s.waiter = self.cx.core().index();
            }
            // A failed send (the worker is gone) is noticed in collect().
            let _ = self.cx.send(pid, &[1]);
        }
        self.run_here(first);
        for (w, slot) in rest.iter_mut().take(handed).enumerate() {
            let done = self.collect(w);
            self.spares.push(core::mem::replace(slot, done));
        }
    }

    fn now(&mut self) -> u64 {
        now_ns()
    }

    fn min_task_tstates(&self) -> u64 {
        MIN_TASK_TSTATES
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

/// The shell's `par` command.
pub fn command(rest: &str, cx: &mut NativeCx<'_>) {
    let machine_cores = engine().map_or(1, |e| e.sched().topology().len());
    let req = match parse(rest, machine_cores) {
        Ok(r) => r,
        Err(msg) => return println!("par: {msg}"),
    };
    let me = cx.core();
    // The workers' cores: the first `cores - 1` cores other than this one.
    let mut worker_cores = CpuSet::from_bits(0);
    for c in (0..machine_cores).filter(|&c| c != me.index()).take(req.cores - 1) {
        worker_cores.insert(CoreId::new(c));
    }
    let mut workers = Vec::new();
    for _ in 0..req.cores - 1 {
        let slot = Arc::new(Mutex::new(Slot::default()));
        match cx.spawn_native(Box::new(Worker { slot: slot.clone() }), Priority::High, worker_cores) {
            Ok(pid) => workers.push((pid, slot)),
            Err(err) => {
                println!("par: could not start a worker ({err:?}); running with {} instances", workers.len() + 1);
                break;
            }
        }
    }
    println!(
        "par {}: {} instance(s): the dispatcher on {me}, {} worker(s) on cores {}; budget {} instructions{}",
        req.name,
        workers.len() + 1,
        workers.len(),
        cores_text(worker_cores),
        req.budget,
        if req.cpm { "; the CP/M machine" } else { "" }
    );

    // The sequential run.
    let mut seq_out = Vec::new();
    let t0 = now_ns();
    let seq = if req.cpm {
        let mut sys = CpmSystem::new(b"", b"");
        reference::sequential_cpm(req.image, &mut sys, req.budget, &mut |b| seq_out.push(b))
    } else {
        reference::sequential(req.image, req.budget, &mut |b| seq_out.push(b))
    };
    let seq_ns = now_ns().saturating_sub(t0).max(1);

    // The dispatched run, with the policy learnt so far for this image.
    let hash = zbeam_dispatch::learn::image_hash(req.image);
    let (mut policy, runs) = take_policy(hash, req.image);
    let cfg = Config { tasks: req.cores, seed: hash ^ runs as u64, max_instructions: req.budget, ..Config::default() };
    let mut pool = EnginePool { cx, workers, spares: Vec::new(), ran_on: alloc::vec![0; machine_cores], taken_back: 0 };
    let mut par_out = Vec::new();
    let t0 = now_ns();
    let rep = if req.cpm {
        let mut sys = CpmSystem::new(b"", b"");
        zbeam_dispatch::run_cpm(req.image, &mut sys, &cfg, &mut pool, &mut policy, &mut |b| par_out.push(b))
    } else {
        zbeam_dispatch::run(req.image, &cfg, &mut pool, &mut policy, &mut |b| par_out.push(b))
    };
    let par_ns = now_ns().saturating_sub(t0).max(1);
    for (pid, slot) in &pool.workers {
        slot.lock().quit = true;
        let _ = pool.cx.send(*pid, &[0]);
    }
    put_policy(hash, policy, runs + 1);

    print_report(&seq, &seq_out, seq_ns, &rep, &par_out, par_ns, &pool, runs + 1);
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

#[allow(clippy::too_many_arguments)]
fn print_report(
    seq: &Sequential,
    seq_out: &[u8],
    seq_ns: u64,
    rep: &Report,
    par_out: &[u8],
    par_ns: u64,
    pool: &EnginePool<'_, '_>,
    run: u32,
) {
    let seq_sum = reference::sequential_checksum(seq, seq_out);
    let par_sum = reference::report_checksum(rep, par_out);
    let exact = seq_out == par_out
        && seq.instructions == rep.instructions
        && seq.tstates == rep.tstates
        && reference::registers(&seq.cpu) == reference::registers(&rep.cpu)
        && seq.mem[..] == rep.mem[..]
        && seq.result == rep.result;
    println!("  output: {}", shown(seq_out));
    println!(
        "  sequential: {} instructions, {} T-states, {} ms, {}, checksum {seq_sum:016x}",
        seq.instructions,
        seq.tstates,
        seq_ns / 1_000_000,
        ending(&seq.result)
    );
    println!(
        "  dispatcher: {} instructions, {} T-states, {} ms, {}, checksum {par_sum:016x}",
        rep.instructions,
        rep.tstates,
        par_ns / 1_000_000,
        ending(&rep.result)
    );
    let s = &rep.stats;
    let squashed = s.squashed_state + s.squashed_memory;
    println!(
        "  bit-exact: {}; speedup {}x (run {run} of this image's policy)",
        if exact { "yes" } else { "NO" },
        ratio(seq_ns, par_ns)
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
        println!("  region {:04X}h: {}, {} iterations in {} visits{arm}", r.head, r.state, r.iterations, r.visits);
    }
    if regions.len() > 6 {
        println!("  ({} more regions)", regions.len() - 6);
    }
    let mut placed = String::new();
    for (c, n) in pool.ran_on.iter().enumerate().filter(|(_, n)| **n > 0) {
        let _ = write!(placed, " core{c}:{n}");
    }
    println!("  tasks per core:{placed}; taken back from workers: {}", pool.taken_back);
}
