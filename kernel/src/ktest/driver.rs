//! What the test drivers share: starting a driver task on core 0, the running
//! engine, and the PASS/FAIL verdict that ends QEMU. A leaf module, so the tests
//! can use it without importing `ktest/mod.rs` (which names every test).

use crate::panic::finish;
use crate::println;
use crate::runtime::KernelPlatform;
use alloc::boxed::Box;
use zbeam_engine::{Engine, NativeTask};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Runs test `name`'s driver task: spawned on core 0 at max priority and bound there
/// (a driver that cannot be spawned fails the test with exit 7); then the other
/// cores are released and core 0 enters its scheduling loop.
pub fn drive(e: &Engine<KernelPlatform>, name: &str, task: Box<dyn NativeTask>) -> ! {
    if let Err(err) = e.spawn_native(task, Priority::Max, CpuSet::single(CoreId::new(0)), CoreId::new(0)) {
        println!("test {name}: cannot spawn the driver: {err:?}");
        finish(7);
    }
    crate::runtime::release_cores();
    crate::runtime::core_loop(0)
}

/// The running engine (test drivers run after the runtime started it).
pub fn engine() -> &'static Engine<KernelPlatform> {
    crate::runtime::engine().expect("tests run after the engine starts")
}

/// Prints `test NAME: PASS` (or `FAIL`) and ends QEMU with 0 (or 7).
pub fn verdict(name: &str, ok: bool) -> ! {
    println!("test {name}: {}", if ok { "PASS" } else { "FAIL" });
    finish(if ok { 0 } else { 7 })
}
