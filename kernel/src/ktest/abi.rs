//! In-kernel tests of the Z80 system interface and of supervision, selected by
//! `test=abi` or `test=supervise`. The cases are the ones the host runs
//! (`zbeam_images::abi_suite`): `probe` processes make real `RST 30h` calls on every
//! core (each function and each bad argument: pids, buffers past 64 KiB, oversize
//! messages and arguments, priorities, affinities, flags, tags, names, unknown
//! calls, HALT), and native supervisors restart `crasher` children, stop when the
//! restart intensity is exceeded, and pass exit reasons to their links.
//!
//! A native watcher (max priority, core 0) waits for the suite, prints one line per
//! case and ends QEMU with 0 when every case passed, 7 otherwise.

use crate::panic::finish;
use crate::println;
use alloc::boxed::Box;
use zbeam_engine::{NativeCx, NativeStep, NativeTask};
use zbeam_images::abi_suite::{abi_cases, supervise_cases, CaseResult, Suite};
use zbeam_images::slot::ResultSlot;
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Starts the runtime with the suite for test `name` (`abi` or `supervise`).
pub fn main(name: &str) -> ! {
    let e = crate::runtime::start();
    let (name, cases) = if name == "abi" { ("abi", abi_cases()) } else { ("supervise", supervise_cases()) };
    println!("test {name}: {} cases", cases.len());
    let (suite, out) = Suite::new(cases);
    // Normal priority: a polling driver above normal would starve the low-priority
    // children some cases spawn.
    if let Err(err) = e.spawn_native(suite, Priority::Normal, CpuSet::ALL, CoreId::new(0)) {
        println!("test {name}: cannot spawn the suite: {err:?}");
        finish(7);
    }
    let watch = Box::new(Watch { name, out });
    super::driver::drive(e, name, watch)
}

/// Waits for the suite's results and reports them.
struct Watch {
    name: &'static str,
    out: ResultSlot<alloc::vec::Vec<CaseResult>>,
}

impl NativeTask for Watch {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let Some(results) = self.out.take() else {
            return NativeStep::Wait { until: Some(cx.now_ms() + 20) };
        };
        let name = self.name;
        let mut failed = 0;
        for r in &results {
            match &r.error {
                None => println!("test {name}: case {} ok", r.name),
                Some(err) => {
                    failed += 1;
                    println!("test {name}: case {} FAIL: {err}", r.name);
                }
            }
        }
        println!("test {name}: {} cases, {failed} failed", results.len());
        let ok = failed == 0 && !results.is_empty();
        super::driver::verdict(name, ok)
    }

    fn name(&self) -> &'static str {
        "abi-watch"
    }
}
