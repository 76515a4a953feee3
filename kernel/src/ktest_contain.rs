//! In-kernel containment tests, selected by `test=contain`: the cases of
//! `zbeam_images::contain_suite` (the lost-timeout repro, the 3-client server loop,
//! the timer ping-pong with 65 s timeouts, the monitor and name floods) on every
//! core. Core 0 drives them between its own scheduling steps; the other cores run
//! their scheduling loops. After each case the heap must be back at its size before
//! it (within the suite's slack), with no process of the case left and no timer
//! armed. Ends QEMU with 0 when every case passed, 7 otherwise.

use crate::panic::finish;
use crate::println;
use zbeam_engine::Step;
use zbeam_images::contain_suite::{run_all, Runner, CASES};
use zbeam_sched::CoreId;

struct Core0;

impl Runner for Core0 {
    fn pump(&mut self) {
        if let Some(e) = crate::runtime::engine() {
            if let Step::Idle { .. } = e.run_once(CoreId::new(0)) {
                e.woke(CoreId::new(0));
            }
        }
    }
    fn heap_used(&self) -> Option<usize> {
        Some(crate::heap::usage().0)
    }
    fn log(&mut self, line: &str) {
        println!("test contain: {line}");
    }
}

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
    println!("test contain: {}", if ok { "PASS" } else { "FAIL" });
    finish(if ok { 0 } else { 7 })
}
