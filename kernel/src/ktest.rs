//! In-kernel tests selected by `test=NAME` on the kernel command line, and the boot
//! prompt otherwise.
//!
//! Each test prints what it checked and ends QEMU through qemu-exit: code 0 on
//! success, non-zero on failure (a panic exits with 1). Host tests in
//! `tests/qemu` boot the Image with the right machine options and check both the
//! exit code and the text.
//!
//! * `boot`  — all cores came online; exit.
//! * `smp`   — a timer tick on every core, then an IPI round trip between every
//!   ordered pair of cores.
//! * `abort` — a deliberate data abort, whose report must be printed.
//! * `panic` — a deliberate panic.
//! * `spread`, `pinned`, `hetero`, `ring`, `timers` — the scheduler running Z80
//!   processes on every core (see `ktest_runtime`).
//! * `hetero-spin8`, `hetero-2h2l`, `hetero-4h` — P/E scheduling on the 2P+2E tree
//!   (see `ktest_hetero`).
//! * `bench-locks` — run-queue lock contention under a send storm and a skewed load
//!   (see `ktest_locks`).
//! * `memory` — floods and memory exhaustion end processes, never the kernel (see
//!   `ktest_memory`).
//! * `contain`, `full-heap`, `fuzz` — the containment cases, error answers at a
//!   full heap, random Z80 programs (see `ktest_contain`).
//! * `soak` — churn with the shell running (see `soak`).
//! * `stack-overflow-N` — core N overflows its stack (see `ktest_overflow`).

use crate::arch::cpu;
use crate::board::{self, Ipi, CORES, ONLINE};
use crate::panic::finish;
use crate::println;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set by core 0 to start the IPI round on every core.
static IPI_GO: AtomicBool = AtomicBool::new(false);
/// Bit c set = core c finished its IPI round.
static IPI_DONE: AtomicU64 = AtomicU64::new(0);
/// Bit c set = core c saw a pong from every other core.
static IPI_ALL_OK: AtomicU64 = AtomicU64::new(0);
/// Sum and maximum of round-trip times, in counter ticks.
static IPI_RTT_SUM: AtomicU64 = AtomicU64::new(0);
static IPI_RTT_MAX: AtomicU64 = AtomicU64::new(0);
static IPI_PAIRS: AtomicU64 = AtomicU64::new(0);

/// An address no table maps (level-0 index 511 of the 48-bit space).
const UNMAPPED: usize = 0xffff_0000_0000;

/// Core 0 after bring-up: run the selected test, or the prompt.
pub fn run_or_prompt(test: Option<&str>) -> ! {
    match test {
        None => runtime_main(None),
        Some("boot") => {
            println!("test boot: {} cores online", ONLINE.load(Ordering::Acquire));
            finish(0)
        }
        Some("smp") => test_smp(),
        Some("abort") => {
            println!("test abort: reading {UNMAPPED:#x}, which no table maps");
            // SAFETY: deliberately faults: the data abort is the test. Nothing is
            // read; the exception handler reports and ends the run.
            let v = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
            println!("test abort: the read returned {v:#x} instead of faulting");
            finish(5)
        }
        Some("panic") => panic!("deliberate test panic"),
        Some(t @ ("spread" | "pinned" | "hetero" | "ring" | "timers" | "bench-share" | "bench-skew")) => {
            runtime_main(Some(t))
        }
        Some(t) if crate::ktest_hetero::TESTS.contains(&t) || t == "bench-locks" => runtime_main(Some(t)),
        Some(t @ ("images" | "zex" | "bench-runtime" | "bench-procs")) => crate::ktest_images::main(t),
        Some("cpm") => crate::ktest_cpm::main(),
        Some("symbos") => crate::ktest_symbos::main(),
        Some("memory") => crate::ktest_memory::main(),
        Some(t @ ("abi" | "supervise")) => crate::ktest_abi::main(t),
        Some("contain") => crate::ktest_contain::main(),
        Some("full-heap") => crate::ktest_contain::full_heap(),
        Some("fuzz") => crate::ktest_contain::fuzz(),
        Some("soak") => crate::soak::main(),
        Some(t) if t.starts_with("stack-overflow") => crate::ktest_overflow::main(t),
        Some(other) => {
            println!("unknown test '{other}' (known: boot, smp, abort, panic, spread, pinned, hetero, hetero-spin8, hetero-2h2l, hetero-4h, ring, timers)");
            finish(4)
        }
    }
}

/// Every other core after bring-up: idle, taking part in tests when asked.
pub fn secondary_loop(core: usize) -> ! {
    loop {
        if crate::runtime::started() {
            crate::runtime::core_loop(core);
        }
        if IPI_GO.load(Ordering::Acquire) && IPI_DONE.load(Ordering::Acquire) & (1 << core) == 0 {
            ipi_round(core);
        }
        crate::ktest_overflow::on_secondary(core);
        cpu::wfi();
    }
}

/// The shell's first prompt waits this long after boot so the workload's first output
/// (hello's line) comes before it.
const SHELL_QUIET_MS: u64 = 200;

/// Starts the scheduler on every core with the shell and the default workload (unless
/// `workload=off`), or with a runtime test's driver.
fn runtime_main(test: Option<&str>) -> ! {
    let e = crate::runtime::start();
    let workload = crate::workload::enabled();
    match test {
        None => {
            crate::runtime::shell::spawn(e, if workload { SHELL_QUIET_MS } else { 0 });
            if workload {
                crate::workload::start(e);
            }
        }
        Some("bench-locks") => crate::ktest_locks::spawn_driver(e),
        Some(t) => match crate::ktest_hetero::TESTS.iter().find(|&&h| h == t) {
            Some(h) => crate::ktest_hetero::spawn_driver(e, h),
            None => crate::ktest_runtime::spawn_driver(e, t),
        },
    }
    crate::runtime::release_cores();
    crate::runtime::core_loop(0)
}

fn online_cores() -> usize {
    board::machine().map_or(1, |m| m.cores)
}

fn test_smp() -> ! {
    let m = board::machine().expect("machine is set up before tests run");
    let n = online_cores();
    let mut ok = true;
    if ONLINE.load(Ordering::Acquire) != n {
        println!("test smp: only {} of {n} cores online", ONLINE.load(Ordering::Acquire));
        ok = false;
    }

    // Every core takes timer ticks.
    const WANT_TICKS: u64 = 10;
    let all_ticked =
        cpu::spin_until(10_000_000, || (0..n).all(|c| CORES[c].ticks.load(Ordering::Relaxed) >= WANT_TICKS));
    for (c, st) in CORES.iter().enumerate().take(n) {
        println!("test smp: core {c} ticks {}", st.ticks.load(Ordering::Relaxed));
    }
    if all_ticked {
        println!("test smp: timer tick observed on all {n} cores");
    } else {
        println!("test smp: FAIL: some core took fewer than {WANT_TICKS} ticks in 10 s");
        ok = false;
    }

    // IPI round trip between every ordered pair.
    IPI_GO.store(true, Ordering::Release);
    for c in 1..n {
        m.send_ipi(c, Ipi::Wake);
    }
    ipi_round(0);
    let everyone = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let done = cpu::spin_until(10_000_000, || IPI_DONE.load(Ordering::Acquire) == everyone);
    let all_ok = IPI_ALL_OK.load(Ordering::Acquire) == everyone;
    let pairs = IPI_PAIRS.load(Ordering::Acquire);
    if done && all_ok && pairs == (n * (n - 1)) as u64 {
        let avg = IPI_RTT_SUM.load(Ordering::Relaxed) / pairs.max(1);
        println!(
            "test smp: IPI round trip ok for all {pairs} ordered pairs (mean {} us, max {} us)",
            cpu::ticks_to_us(avg),
            cpu::ticks_to_us(IPI_RTT_MAX.load(Ordering::Relaxed))
        );
    } else {
        println!("test smp: FAIL: IPI rounds done {done:?}, all ok {all_ok:?}, pairs {pairs} of {}", n * (n - 1));
        ok = false;
    }
    println!("test smp: {}", if ok { "PASS" } else { "FAIL" });
    finish(if ok { 0 } else { 6 })
}

/// Pings every other core in turn and waits for its pong.
fn ipi_round(me: usize) {
    let Some(m) = board::machine() else { return };
    let n = m.cores;
    let mut all = true;
    for t in (0..n).filter(|&t| t != me) {
        let start = cpu::counter();
        // Release: the target sees our ping bit before the SGI arrives.
        CORES[t].ping_from.fetch_or(1 << me, Ordering::Release);
        m.send_ipi(t, Ipi::Ping);
        let got = cpu::spin_until(2_000_000, || CORES[me].pong_from.load(Ordering::Acquire) & (1 << t) != 0);
        if got {
            let rtt = cpu::counter() - start;
            IPI_RTT_SUM.fetch_add(rtt, Ordering::Relaxed);
            IPI_RTT_MAX.fetch_max(rtt, Ordering::Relaxed);
            IPI_PAIRS.fetch_add(1, Ordering::AcqRel);
            CORES[me].pong_from.fetch_and(!(1 << t), Ordering::AcqRel);
        } else {
            println!("core {me}: no pong from core {t} within 2 s");
            all = false;
        }
    }
    if all {
        IPI_ALL_OK.fetch_or(1 << me, Ordering::AcqRel);
    }
    IPI_DONE.fetch_or(1 << me, Ordering::AcqRel);
}
