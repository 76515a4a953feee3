//! The panic handler: mask interrupts, guard against re-entry, stop the other cores,
//! print the location and message, then end the run.
//!
//! In a test boot (bootargs `test=...`) the run ends through qemu-exit (semihosting)
//! with a failure code the host test expects; otherwise the core halts so the message
//! stays on the screen.

use crate::arch::cpu;
use crate::board::{self, Ipi};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use qemu_exit::QEMUExit;

/// 0 = nobody; otherwise the panicking core's id + 1.
static PANICKING: AtomicUsize = AtomicUsize::new(0);

/// Set when a core panics: every other core halts at its next interrupt.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Number of cores that halted in answer to a panic's stop request.
static STOPPED: AtomicUsize = AtomicUsize::new(0);

/// Set for test boots: the run ends through semihosting exit codes.
static QEMU_EXIT: AtomicBool = AtomicBool::new(false);

/// Makes panics and test results end QEMU through semihosting (test boots only:
/// without `-semihosting` the exit instruction is undefined).
pub fn enable_qemu_exit() {
    QEMU_EXIT.store(true, Ordering::Relaxed);
}

/// Whether `core` is the one handling a panic.
pub fn is_panicking_core(core: usize) -> bool {
    PANICKING.load(Ordering::Acquire) == core + 1
}

/// A stop IPI reached `core`: it halts, unless it is the panicking core itself.
pub fn on_stop_ipi(core: usize) {
    if !is_panicking_core(core) {
        stop_this_core();
    }
}

/// Called by `core` at the end of every interrupt: halts it if another core panicked.
pub fn stop_if_requested(core: usize) {
    if STOPPING.load(Ordering::Acquire) && !is_panicking_core(core) {
        stop_this_core();
    }
}

/// Halts this core for a panic elsewhere, counting it as stopped.
fn stop_this_core() -> ! {
    STOPPED.fetch_add(1, Ordering::AcqRel);
    cpu::halt()
}

/// Ends the run: exit code `code` through semihosting in test boots, else halt.
pub fn finish(code: u32) -> ! {
    if QEMU_EXIT.load(Ordering::Relaxed) {
        qemu_exit::AArch64::new().exit(code);
    }
    cpu::halt();
}

/// Report for an unexpected exception: becomes a kernel panic.
#[track_caller]
pub fn fatal_exception(report: core::fmt::Arguments<'_>) -> ! {
    panic!("{report}");
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cpu::irq_save();
    let me = cpu::core_id();
    match PANICKING.compare_exchange(0, me + 1, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {}
        Err(owner) if owner == me + 1 => {
            // Re-entered while panicking (a fault in the report path): stop here.
            crate::console::print_unlocked(format_args!("\n*** nested panic on core {me}\n"));
            finish(2);
        }
        Err(_) => cpu::halt(), // another core is reporting; it stops us too
    }
    STOPPING.store(true, Ordering::Release);
    if let Some(m) = board::machine() {
        for c in (0..m.cores).filter(|&c| c != me && board::CORES[c].online.load(Ordering::Relaxed)) {
            m.send_ipi(c, Ipi::Stop);
        }
        // Give the others a moment to take the IPI before we own the console.
        let others = m.cores.saturating_sub(1).min(board::ONLINE.load(Ordering::Relaxed).saturating_sub(1));
        cpu::spin_until(100_000, || STOPPED.load(Ordering::Acquire) >= others);
    }
    let loc = info.location();
    crate::console::print_unlocked(format_args!(
        "\n*** kernel panic on core {me} at {}:{}: {}\n",
        loc.map_or("?", |l| l.file()),
        loc.map_or(0, |l| l.line()),
        info.message()
    ));
    crate::console::print_unlocked(format_args!(
        "*** stopped {} other cores; image loaded at {:#x}\n",
        STOPPED.load(Ordering::Acquire),
        crate::arch::image_range().0
    ));
    finish(1);
}
