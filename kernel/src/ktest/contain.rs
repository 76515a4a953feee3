//! In-kernel containment tests, selected by `test=contain`: the cases of
//! `zbeam_images::contain_suite` (the lost-timeout repro, the 3-client server loop,
//! the timer ping-pong with 65 s timeouts, the monitor and name floods) on every
//! core. Core 0 drives them between its own scheduling steps; the other cores run
//! their scheduling loops. After each case the heap must be back at its size before
//! it (within the suite's slack), with no process of the case left and no timer
//! armed. Ends QEMU with 0 when every case passed, 7 otherwise.

use crate::println;
use alloc::vec::Vec;
use zbeam_engine::{SpawnError, Step};
use zbeam_images::contain_suite::{run_all, Runner, CASES};
use zbeam_sched::{CoreId, CpuSet, Priority};

struct Core0;

impl Runner for Core0 {
    fn pump(&mut self) {
        if let Some(e) = crate::runtime::engine() {
            if let Step::Idle { .. } = e.run_once(CoreId::new(0)) {
                e.woke(CoreId::new(0));
            }
        }
    }
    /// Heap in use, less what the engine keeps for reuse (templates and pools, see
    /// `MemoryStats::kept`): a leak shows, a pool refilled by a case does not.
    fn heap_used(&self) -> Option<usize> {
        let kept = crate::runtime::engine().map_or(0, |e| e.memory_stats().kept());
        Some(crate::heap::usage().0.saturating_sub(kept))
    }
    fn log(&mut self, line: &str) {
        println!("test contain: {line}");
    }
}

/// `test=fuzz`: batches of random Z80 programs (zbeam_images::contain_suite::
/// random_program) on every core, each batch killed after a second and checked for
/// leftovers (processes, timers, names, heap). The seed comes from `seed=N` or the
/// counter, and is printed. Ends QEMU with 0 when every batch passed, 7 otherwise.
pub fn fuzz() -> ! {
    let e = crate::runtime::start();
    crate::runtime::release_cores();
    let args = crate::board::machine().map(|m| m.platform.bootargs).unwrap_or_default();
    let seed = crate::bootargs::get(args.as_str(), "seed").and_then(|v| v.parse().ok());
    let seed: u64 = seed.unwrap_or_else(crate::arch::cpu::counter);
    println!("test fuzz: seed {seed}, {FUZZ_BATCHES} batches of {FUZZ_PROGRAMS} random programs");
    let mut failed = 0;
    for b in 0..FUZZ_BATCHES {
        let s = seed.wrapping_add(b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        match zbeam_images::contain_suite::fuzz_batch(e, &mut Core0, s, FUZZ_PROGRAMS, 1000) {
            Ok(()) => println!("test fuzz: batch {b} ok"),
            Err(why) => {
                failed += 1;
                println!("test fuzz: batch {b} FAIL: {why}");
            }
        }
    }
    let (used, _) = crate::heap::usage();
    println!(
        "test fuzz: {failed} failed; {} live, {} timers, heap {} KiB used",
        e.live(),
        e.timers_armed(),
        used / 1024
    );
    let ok = failed == 0 && e.live() == 0;
    super::driver::verdict("fuzz", ok)
}

/// Batches and programs per batch of `test=fuzz` (a few dozen programs in all).
const FUZZ_BATCHES: usize = 3;
const FUZZ_PROGRAMS: usize = 16;

/// Runs the cases (called by `ktest` on core 0).
pub fn main() -> ! {
    let e = crate::runtime::start();
    crate::runtime::release_cores();
    println!("test contain: {} cases on {} cores", CASES.len(), e.sched().topology().len());
    let failed = run_all(e, &mut Core0);
    let (used, free) = crate::heap::usage();
    println!(
        "test contain: {failed} failed; {} live, {} timers, heap {} KiB used, {} KiB free",
        e.live(),
        e.timers_armed(),
        used / 1024,
        free / 1024
    );
    let ok = failed == 0 && e.live() == 0;
    super::driver::verdict("contain", ok)
}

/// `test=full-heap`: takes every byte of the heap it can get, then checks that what
/// a program or a shell command can ask for answers with an error instead of a
/// panic: a spawn (refused: below the reserve), `trace on` (no rings) and
/// `trace dump` (no room to sort); after the memory is given back, `trace on`
/// works. Ends QEMU with 0 on success, 7 otherwise.
pub fn full_heap() -> ! {
    let e = crate::runtime::start();
    let cores = e.sched().topology().len();
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    let mut ok = hoard.try_reserve_exact(HOARD_CHUNKS).is_ok();
    // 24 before 16: the allocator's smallest block is 16 bytes, so a 24-byte hole
    // takes no 16-byte chunk, and a 32-byte one takes no 24-byte chunk; the two sizes
    // together leave no hole behind.
    for size in [16 << 20, 1 << 20, 64 << 10, 4 << 10, 256, 24, 16] {
        while hoard.len() < HOARD_CHUNKS {
            let mut v: Vec<u8> = Vec::new();
            if v.try_reserve_exact(size).is_err() {
                break;
            }
            hoard.push(v);
        }
    }
    let (used, free) = crate::heap::usage();
    println!("test full-heap: {} chunks taken, {free} bytes free, {} KiB used", hoard.len(), used / 1024);
    let spawn = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0));
    println!("test full-heap: spawn -> {:?}", spawn.map(|p| p.get()));
    ok &= spawn == Err(SpawnError::OutOfMemory);
    let on = crate::trace::start(cores);
    println!("test full-heap: trace on -> {on:?}");
    ok &= on.is_err() && !crate::trace::enabled();
    let dump = crate::trace::dump(cores);
    println!("test full-heap: trace dump -> {dump:?}");
    ok &= dump.is_err();
    drop(hoard);
    let on = crate::trace::start(cores);
    println!("test full-heap: after freeing, trace on -> {on:?}");
    ok &= on.is_ok();
    crate::trace::stop();
    super::driver::verdict("full-heap", ok)
}

/// Most allocations `full_heap` holds (its list is reserved before it starts).
const HOARD_CHUNKS: usize = 1 << 16;
