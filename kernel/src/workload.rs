//! The default workload of `make qemu` (a boot without `test=` or `workload=off`):
//! whether it starts, starting it from the boot core, and its supervisor's restarts
//! for `stats`. What it runs is `zbeam_images::workloads::system` (a ring of relays,
//! `burst` and `spin` workers, `hello`, and `fragile` under a supervisor).

use crate::println;
use crate::runtime::KernelPlatform;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use zbeam_engine::supervisor::SupervisorReport;
use zbeam_engine::{Engine, Pid};
use zbeam_images::workloads::system::{self, CRASH_AFTER_MS, HOP_PAUSE_MS, RING_TOKENS};

static ENABLED: AtomicBool = AtomicBool::new(true);
/// The supervisor's report (its pid and restarts), once it runs.
static REPORT: spin::Once<(Pid, Arc<spin::Mutex<SupervisorReport>>)> = spin::Once::new();

/// Chooses whether a boot without `test=` starts the workload (from `workload=off`).
pub fn set_enabled(on: bool) {
    // Relaxed: set by the boot core before other cores run anything.
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the workload starts with the shell.
pub fn enabled() -> bool {
    // Relaxed: see set_enabled.
    ENABLED.load(Ordering::Relaxed)
}

/// Restarts done so far and the supervisor's pid (for `stats`), or None if the
/// workload is not running.
pub fn restarts() -> Option<(u32, Pid)> {
    REPORT.get().map(|(pid, r)| (r.lock().restarts, *pid))
}

/// Spawns the workload from the boot core and prints what runs.
pub fn start(e: &Engine<KernelPlatform>) {
    let w = match system::start(e) {
        Ok(w) => w,
        Err(missing) => {
            println!("workload: an image is missing ({missing}); only the shell runs");
            return;
        }
    };
    // Pid::KERNEL (0) stands for a process that could not be spawned.
    let sup = w.supervisor.unwrap_or(Pid::KERNEL);
    REPORT.call_once(|| (sup, w.report.clone()));
    let first_last =
        |pids: &[Pid]| (pids.first().copied().unwrap_or(Pid::KERNEL), pids.last().copied().unwrap_or(Pid::KERNEL));
    let ((ring0, ring1), (spin0, spin1)) = (first_last(&w.ring), first_last(&w.spins));
    println!(
        "workload: ring of {} relays (pids {ring0}-{ring1}, {RING_TOKENS} tokens, {HOP_PAUSE_MS} ms a hop), \
         burst (pid {}, normal), {} spin (pids {spin0}-{spin1}, low), hello (CP/M), fragile (crashes every \
         {CRASH_AFTER_MS} ms) under a one-for-one supervisor (pid {sup}); type help",
        w.ring.len(),
        w.burst.unwrap_or(Pid::KERNEL),
        w.spins.len(),
    );
}
