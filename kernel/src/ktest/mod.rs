//! In-kernel tests selected by `test=NAME` on the kernel command line (the boot path
//! reaches them only then, through `start::primary`).
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
//!   processes on every core (see `runtime`).
//! * `hetero-spin8`, `hetero-2h2l`, `hetero-4h` — P/E scheduling on the 2P+2E tree
//!   (see `hetero`).
//! * `bench-locks` — run-queue lock contention under a send storm and a skewed load
//!   (see `locks`).
//! * `memory` — floods and memory exhaustion end processes, never the kernel (see
//!   `memory`).
//! * `contain`, `full-heap`, `fuzz` — the containment cases, error answers at a
//!   full heap, random Z80 programs (see `contain`).
//! * `soak` — churn with the shell running (see `soak`).
//! * `stack-overflow-N` — core N overflows its stack (see `overflow`).

pub mod abi;
pub mod contain;
pub mod cpm;
mod driver;
pub mod hetero;
pub mod images;
pub mod locks;
pub mod memory;
pub mod overflow;
pub mod runtime;
pub mod soak;
pub mod symbos;

use crate::arch::cpu;
use crate::board::{self, Ipi, CORES, ONLINE};
use crate::panic::finish;
use crate::println;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use driver::drive;

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

/// Core 0 after bring-up in a test boot (`test=NAME`): runs the test, which ends the
/// run through [`finish`].
pub fn run(test: &str) -> ! {
    match test {
        "boot" => {
            println!("test boot: {} cores online", ONLINE.load(Ordering::Acquire));
            finish(0)
        }
        "smp" => test_smp(),
        "abort" => {
            println!("test abort: reading {UNMAPPED:#x}, which no table maps");
            // SAFETY: deliberately faults: the data abort is the test. Nothing is
            // read; the exception handler reports and ends the run.
            let v = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
            println!("test abort: the read returned {v:#x} instead of faulting");
            finish(5)
        }
        "panic" => panic!("deliberate test panic"),
        t @ ("spread" | "pinned" | "hetero" | "ring" | "timers" | "bench-share" | "bench-skew") => runtime_test(t),
        t if hetero::TESTS.contains(&t) || t == "bench-locks" => runtime_test(t),
        t @ ("images" | "zex" | "bench-runtime" | "bench-procs") => images::main(t),
        "cpm" => cpm::main(),
        "symbos" => symbos::main(),
        "memory" => memory::main(),
        t @ ("abi" | "supervise") => abi::main(t),
        "contain" => contain::main(),
        "full-heap" => contain::full_heap(),
        "fuzz" => contain::fuzz(),
        "soak" => soak::main(),
        t if t.starts_with("stack-overflow") => overflow::main(t),
        other => {
            println!("unknown test '{other}' (known: boot, smp, abort, panic, spread, pinned, hetero, hetero-spin8, hetero-2h2l, hetero-4h, ring, timers)");
            finish(4)
        }
    }
}

/// Starts the scheduler on every core with a runtime test's driver.
fn runtime_test(test: &str) -> ! {
    let e = crate::runtime::start();
    let task = match test {
        "bench-locks" => locks::driver(),
        t => match hetero::TESTS.iter().find(|&&h| h == t) {
            Some(h) => hetero::driver(h),
            None => self::runtime::driver(t),
        },
    };
    drive(e, test, task)
}

/// A secondary core's part in the IPI self-test, run from its idle loop once core 0
/// has started the round.
fn secondary_ipi_round(core: usize) {
    if IPI_GO.load(Ordering::Acquire) && IPI_DONE.load(Ordering::Acquire) & (1 << core) == 0 {
        ipi_round(core);
    }
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
    crate::hooks::set_secondary_idle(secondary_ipi_round);
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
