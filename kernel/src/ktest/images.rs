//! In-kernel tests and figures for program images from the initrd, selected by
//! `test=NAME` (the host side is `tests/qemu/tests/images.rs` and
//! `tools/bench-runtime.sh`). Each driver is a native task bound to core 0; the output
//! of Z80 processes is captured per process (see [`capture`]) and printed escaped on
//! one line per process, so the host can compare it byte for byte.
//!
//! * `images` — lists the image table, spawns every initrd image once, waits for all
//!   to exit and prints each one's exit and output.
//! * `zex` — the exercisers as kernel processes: 4 copies of zexdoc running only its
//!   first K tests (`zexk=K`, default 1) and 4 of prelim, on every core at once. The
//!   subset is made by ending zexdoc's table of test pointers after K entries in each
//!   process's own memory (the image stays untouched).
//! * `bench-runtime` — scheduling overhead: the `spin` program driven directly on the
//!   Z80 core in a bare loop on core 0 (no scheduler), then the same instruction count
//!   as 1 process and as 8 processes bound to core 0, then as 8 on every core.
//! * `bench-procs` — spawns `pong` processes (they wait for messages) until the engine
//!   refuses or the heap is down to a small reserve; prints the count and bytes each.

use super::driver::{engine, verdict};
use crate::arch::cpu;
use crate::println;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use zbeam_engine::{abi, Exit, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

static CAPTURED: spin::Mutex<BTreeMap<Pid, Vec<u8>>> = spin::Mutex::new(BTreeMap::new());

/// Keeps the output of process `pid` instead of printing it: the output hook
/// [`capture_on`] installs. Always takes the bytes.
fn capture(pid: Pid, bytes: &[u8]) -> bool {
    let mut all = CAPTURED.lock();
    let kept = all.entry(pid).or_default();
    // Bounded per process; the rest is dropped.
    let room = zbeam_engine::limits::MAX_CAPTURED.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    true
}

/// Starts keeping each process's output (installs [`capture`] as the output hook;
/// called before the test spawns anything).
pub fn capture_on() {
    crate::hooks::set_output(capture);
}

/// Takes what process `pid` wrote while captured.
pub fn take_output(pid: Pid) -> Vec<u8> {
    CAPTURED.lock().remove(&pid).unwrap_or_default()
}

/// `bytes` as one printable line: `\n`, `\r`, `\\` and other controls escaped.
pub fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = core::fmt::Write::write_fmt(&mut s, format_args!("\\x{b:02x}"));
            }
        }
    }
    s
}

/// Starts the runtime with the driver for `name` (called by [`super::run`] on core 0).
pub fn main(name: &str) -> ! {
    if matches!(name, "images" | "zex") {
        capture_on();
    }
    let e = crate::runtime::start();
    let task: Box<dyn NativeTask> = match name {
        "images" => Box::new(Images { phase: 0, pids: Vec::new() }),
        "zex" => {
            let args = crate::board::machine().map(|m| m.platform.bootargs).unwrap_or_default();
            let k = crate::bootargs::get(args.as_str(), "zexk").and_then(|v| v.parse().ok()).unwrap_or(1);
            Box::new(Zex { k, phase: 0, procs: Vec::new() })
        }
        "bench-runtime" => Box::new(Overhead { phase: 0, rep: 0, pids: Vec::new(), t0: 0, best: [0; 3] }),
        _ => Box::new(Procs { pids: 0, used0: 0, why: None, t0: 0 }),
    };
    super::driver::drive(e, name, task)
}

fn exit_text(e: Option<Exit>) -> String {
    match e {
        Some(Exit::Normal) => String::from("normal"),
        Some(other) => alloc::format!("{other:?}"),
        None => String::from("none"),
    }
}

/// Lists the images and runs each initrd image once.
struct Images {
    phase: u8,
    pids: Vec<(Pid, &'static str)>,
}

impl NativeTask for Images {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let e = engine();
        let builtin = zbeam_images::IMAGES.len();
        if self.phase == 0 {
            self.phase = 1;
            for (i, img) in e.images().iter().enumerate() {
                let from = if i < builtin { "built-in" } else { "initrd" };
                println!("test images: image {i} {} ({} bytes, {from})", img.name, img.bytes.len());
            }
            for (i, img) in e.images().iter().enumerate().skip(builtin) {
                match cx.spawn(i, &[], Priority::Normal, CpuSet::ALL) {
                    Ok(pid) => self.pids.push((pid, img.name)),
                    Err(err) => {
                        println!("test images: spawn {} failed: {err:?}", img.name);
                        verdict("images", false);
                    }
                }
            }
            println!("test images: spawned {} initrd images", self.pids.len());
        }
        if self.pids.iter().any(|&(p, _)| e.is_live(p)) {
            return NativeStep::Wait { until: Some(now + 10) };
        }
        let mut ok = true;
        for &(pid, name) in &self.pids {
            let exit = e.last_exit(pid);
            ok &= exit == Some(Exit::Normal);
            println!(
                "test images: pid {pid} {name} exit {} output \"{}\"",
                exit_text(exit),
                escaped(&take_output(pid))
            );
        }
        verdict("images", ok)
    }
}

/// Where zexdoc keeps its table of test pointers: the program starts with `JP start`;
/// a few instructions into `start` stands `LD HL,tests` followed by the loop head
/// `LD A,(HL); INC HL; OR (HL); JP Z,done` (21 lo hi 7E 23 B6 CA). Returns the table's
/// address and its number of entries (pointers into the program, ending with 0).
fn zex_table(img: &[u8]) -> Option<(u16, usize)> {
    let load = abi::LOAD as usize;
    let at = |addr: usize| addr.checked_sub(load).and_then(|o| img.get(o).copied());
    let word = |addr: usize| Some(u16::from_le_bytes([at(addr)?, at(addr + 1)?]) as usize);
    let start = if at(load)? == 0xc3 { word(load + 1)? } else { load };
    let table = (start..start + 48).find_map(|a| {
        let window: Option<Vec<u8>> = (0..7).map(|i| at(a + i)).collect();
        match window?.as_slice() {
            [0x21, lo, hi, 0x7e, 0x23, 0xb6, 0xca] => Some(u16::from_le_bytes([*lo, *hi]) as usize),
            _ => None,
        }
    })?;
    let end = load + img.len();
    for n in 0..128 {
        match word(table + 2 * n)? {
            0 => return Some((table as u16, n)),
            p if (load..end).contains(&p) => {}
            _ => return None,
        }
    }
    None
}

/// Exercisers on every core at once, each one's output checked.
struct Zex {
    k: usize,
    phase: u8,
    procs: Vec<(Pid, &'static str)>,
}

impl Zex {
    fn start(&mut self, cx: &mut NativeCx<'_>) -> Result<(), String> {
        let e = engine();
        let zexdoc = e.image_index("zexdoc").ok_or("no image zexdoc (boot with the exercisers in the initrd)")?;
        let prelim = e.image_index("prelim").ok_or("no image prelim")?;
        let img = e.images()[zexdoc].bytes;
        let (table, count) = zex_table(img).ok_or("zexdoc's test table not found")?;
        if self.k == 0 || self.k > count {
            return Err(alloc::format!("zexk={} is not in 1..={count}", self.k));
        }
        let end = table + 2 * self.k as u16;
        println!("test zex: zexdoc has {count} tests (table at {table:#06x}); running the first {}", self.k);
        for _ in 0..4 {
            let patch: &[(u16, &[u8])] = &[(end, &[0, 0])];
            let pid = e
                .spawn_image_patched(zexdoc, &[], patch, Priority::Normal, CpuSet::ALL, cx.core())
                .map_err(|err| alloc::format!("spawn zexdoc: {err:?}"))?;
            self.procs.push((pid, "zexdoc"));
            let pid = cx.spawn(prelim, &[], Priority::Normal, CpuSet::ALL).map_err(|e| alloc::format!("{e:?}"))?;
            self.procs.push((pid, "prelim"));
        }
        if img.get((end - abi::LOAD) as usize..(end - abi::LOAD) as usize + 2) == Some(&[0, 0]) {
            return Err(String::from("the shared image was patched"));
        }
        println!("test zex: 4 zexdoc and 4 prelim processes on all cores");
        Ok(())
    }
}

impl NativeTask for Zex {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let e = engine();
        if self.phase == 0 {
            self.phase = 1;
            if let Err(why) = self.start(cx) {
                println!("test zex: {why}");
                verdict("zex", false);
            }
        }
        if self.procs.iter().any(|&(p, _)| e.is_live(p)) {
            return NativeStep::Wait { until: Some(now + 50) };
        }
        let mut ok = true;
        let mut cores = CpuSet::EMPTY;
        for &(pid, name) in &self.procs {
            let out = take_output(pid);
            let exit = e.last_exit(pid);
            let stats = e.final_stats(pid).unwrap_or_default();
            cores = cores.or(stats.ran_on);
            let text = core::str::from_utf8(&out).unwrap_or("");
            let good = exit == Some(Exit::Normal)
                && match name {
                    "zexdoc" => {
                        text.starts_with("Z80doc instruction exerciser\n\r")
                            && text.matches("  OK\n\r").count() == self.k
                            && text.ends_with("  OK\n\rTests complete")
                            && !text.contains("ERROR")
                    }
                    _ => text == "Preliminary tests complete",
                };
            ok &= good;
            println!(
                "test zex: pid {pid} {name} exit {} after {} instructions {}: \"{}\"",
                exit_text(exit),
                stats.reductions,
                if good { "ok" } else { "WRONG" },
                escaped(&out)
            );
        }
        println!("test zex: the processes ran on cores mask {:#x}", cores.bits());
        verdict("zex", ok)
    }
}

/// A bus over one process-like memory image that only stops at the warm boot.
struct BareBus<'a>(&'a mut [u8]);

impl zbeam_z80::Bus for BareBus<'_> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.0[addr as usize]
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.0[addr as usize] = value;
    }
    #[inline(always)]
    fn input(&mut self, _port: u16) -> u8 {
        0xff
    }
    #[inline(always)]
    fn output(&mut self, _port: u16, _value: u8) {}
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        pc == abi::WARM_BOOT
    }
}

/// Rounds of `spin` (262,144 loop instructions each) in the bare loop; the scheduled
/// runs split the same number over [`OVERHEAD_PROCS`] processes.
const OVERHEAD_ROUNDS: u16 = 240;
/// Processes in the scheduled runs.
const OVERHEAD_PROCS: u16 = 8;

/// Runs `spin` for [`OVERHEAD_ROUNDS`] on this core with no scheduler, laid out as a
/// process is (page zero, arguments at 0x80, image at 0x100, stack below 0xFE00), and
/// prints its rate. Returns the instructions per second.
fn bare_loop() -> u64 {
    let mut mem = alloc::vec![0u8; 0x1_0000];
    mem[0] = 0xc3;
    mem[5] = 0xc3;
    mem[6..8].copy_from_slice(&abi::STACK_TOP.to_le_bytes());
    mem[abi::SYSCALL as usize] = 0xc9;
    let args = OVERHEAD_ROUNDS.to_le_bytes();
    mem[abi::ARGS as usize] = args.len() as u8;
    mem[abi::ARGS as usize + 1..abi::ARGS as usize + 3].copy_from_slice(&args);
    let img = zbeam_images::IMAGES[zbeam_images::SPIN].bytes;
    mem[abi::LOAD as usize..abi::LOAD as usize + img.len()].copy_from_slice(img);
    let mut z = zbeam_z80::Cpu::new();
    z.pc = abi::LOAD;
    z.sp = abi::STACK_TOP - 2;
    z.set_hl(abi::ARGS);
    let mut bus = BareBus(&mut mem);
    let mut instructions = 0u64;
    let t0 = cpu::counter();
    loop {
        let r = z.run(&mut bus, 1 << 24);
        instructions += r.instructions;
        if r.reason != zbeam_z80::StopReason::BudgetSpent {
            break;
        }
    }
    let ticks = (cpu::counter() - t0).max(1);
    let rate = (instructions as u128 * cpu::counter_hz() as u128 / ticks as u128) as u64;
    println!(
        "bench runtime: bare loop on core 0: {instructions} instructions in {} ms = {} MIPS (pc {:#06x})",
        cpu::ticks_to_us(ticks) / 1000,
        mips(rate),
        z.pc
    );
    rate
}

/// Instructions per second as millions with two decimals.
fn mips(rate: u64) -> String {
    alloc::format!("{}.{:02}", rate / 1_000_000, rate / 10_000 % 100)
}

/// Repetitions of each run; the best of each is reported (other load on the host
/// only ever slows a run down).
const OVERHEAD_REPS: usize = 3;

/// The runs of `bench-runtime`, alternated so slow phases of the host hit all alike.
struct Overhead {
    phase: u8,
    rep: usize,
    pids: Vec<Pid>,
    t0: u64,
    /// Best rates (instructions per second): bare loop, 1 process, 8 processes.
    best: [u64; 3],
}

impl Overhead {
    fn spawn(&mut self, cx: &mut NativeCx<'_>, procs: u16, affinity: CpuSet) {
        let rounds = OVERHEAD_ROUNDS / procs;
        self.pids.clear();
        for _ in 0..procs {
            match cx.spawn(zbeam_images::SPIN, &rounds.to_le_bytes(), Priority::Normal, affinity) {
                Ok(p) => self.pids.push(p),
                Err(_) => verdict("bench-runtime", false),
            }
        }
        self.t0 = cpu::counter();
    }

    /// The finished run's rate in instructions per second.
    fn rate(&self) -> u64 {
        let ticks = (cpu::counter() - self.t0).max(1);
        let instructions: u64 = self.pids.iter().filter_map(|&p| engine().final_stats(p)).map(|s| s.reductions).sum();
        (instructions as u128 * cpu::counter_hz() as u128 / ticks as u128) as u64
    }

    fn line(&self, what: &str, rate: u64, cores: u64) {
        let per_core = rate / cores.max(1);
        let ratio = self.best[0] * 1000 / per_core.max(1);
        println!(
            "bench runtime: {what}: {} MIPS, {} MIPS per core; bare/scheduled = {}.{:03}",
            mips(rate),
            mips(per_core),
            ratio / 1000,
            ratio % 1000
        );
    }
}

impl NativeTask for Overhead {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let cores = engine().sched().topology().len();
        let done = |pids: &[Pid]| pids.iter().all(|&p| !engine().is_live(p));
        let core0 = CpuSet::single(CoreId::new(0));
        match self.phase {
            0 => {
                // The bare loop inside this step: no scheduler runs on core 0 meanwhile.
                self.best[0] = self.best[0].max(bare_loop());
                self.spawn(cx, 1, core0);
                self.phase = 1;
            }
            1 if done(&self.pids) => {
                self.best[1] = self.best[1].max(self.rate());
                self.spawn(cx, OVERHEAD_PROCS, core0);
                self.phase = 2;
            }
            2 if done(&self.pids) => {
                self.best[2] = self.best[2].max(self.rate());
                self.rep += 1;
                if self.rep < OVERHEAD_REPS {
                    self.phase = 0;
                    return NativeStep::Yield;
                }
                self.spawn(cx, OVERHEAD_PROCS, CpuSet::ALL);
                self.phase = 3;
            }
            3 if done(&self.pids) => {
                println!(
                    "bench runtime: spin, {OVERHEAD_ROUNDS} rounds of 262,144 loop instructions per run, best of {OVERHEAD_REPS} runs each:"
                );
                println!("bench runtime: bare loop (no scheduler): {} MIPS", mips(self.best[0]));
                self.line("1 process bound to core 0", self.best[1], 1);
                self.line(&alloc::format!("{OVERHEAD_PROCS} processes bound to core 0"), self.best[2], 1);
                let all = self.rate();
                self.line(
                    &alloc::format!("{OVERHEAD_PROCS} processes on all {cores} cores (one run)"),
                    all,
                    cores as u64,
                );
                verdict("bench-runtime", true);
            }
            _ => {}
        }
        NativeStep::Wait { until: Some(now + 20) }
    }
}

/// Heap kept free while spawning, for the engine's own small allocations.
const PROCS_RESERVE: usize = 1 << 20;

/// Spawns waiting processes until refused.
struct Procs {
    pids: usize,
    used0: usize,
    why: Option<String>,
    /// When spawning began (ms).
    t0: u64,
}

impl NativeTask for Procs {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        let e = engine();
        if self.pids == 0 && self.why.is_none() {
            self.used0 = crate::heap::usage().0;
            self.t0 = now;
            println!("bench procs: table of {} slots; spawning pong until refused", e.capacity());
        }
        if self.why.is_none() {
            for _ in 0..256 {
                if crate::heap::usage().1 < PROCS_RESERVE + 0x1_0000 {
                    self.why = Some(alloc::format!("heap reserve of {} KiB reached", PROCS_RESERVE >> 10));
                    break;
                }
                match cx.spawn(zbeam_images::PONG, &[], Priority::Normal, CpuSet::ALL) {
                    Ok(_) => self.pids += 1,
                    Err(err) => {
                        self.why = Some(alloc::format!("{err:?}"));
                        break;
                    }
                }
            }
            if self.why.is_none() {
                return NativeStep::Yield;
            }
            println!("bench procs: {} spawned in {} ms", self.pids, now - self.t0);
            return NativeStep::Wait { until: Some(now + 500) };
        }
        // Let every process reach its receive, then count.
        let (used, free) = crate::heap::usage();
        let live = e.live() - 1;
        println!(
            "bench procs: {} processes live (stopped: {}); heap {} MiB used of {} MiB",
            live,
            self.why.as_deref().unwrap_or(""),
            used >> 20,
            (used + free) >> 20
        );
        println!(
            "bench procs: {} bytes per process (heap used / processes), {} bytes each spawned (heap growth / processes)",
            used / live.max(1),
            (used - self.used0) / self.pids.max(1)
        );
        // The console's answers at this count: a page of `ps` and `stats`.
        let t = cx.now_ms();
        crate::runtime::shell::ps(e, 1, 8);
        crate::runtime::shell::stats(e);
        println!("bench procs: ps (8 rows) and stats answered in {} ms", cx.now_ms() - t);
        verdict("bench-procs", live == self.pids && live > 0)
    }
}
