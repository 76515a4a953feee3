//! What each core does once bring-up (`init`) is done.
//!
//! The boot core starts the runtime with the shell and the default workload (unless
//! `workload=off`), or, when the command line names a test (`test=NAME`), hands over
//! to the in-kernel tests in `ktest`: this is the only place the boot path reaches
//! them. Every other core idles until the runtime starts, then runs its scheduling
//! loop; before that, a test may give it work through [`hooks`](crate::hooks).

use crate::arch::cpu;
use crate::{hooks, runtime};

/// The shell's first prompt waits this long after boot so the workload's first output
/// (hello's line) comes before it.
const SHELL_QUIET_MS: u64 = 200;

/// Core 0 after bring-up: the selected test, or the runtime with the shell.
pub fn primary(test: Option<&str>) -> ! {
    if let Some(t) = test {
        crate::ktest::run(t)
    }
    let e = runtime::start();
    let workload = crate::workload::enabled();
    runtime::shell::spawn(e, if workload { SHELL_QUIET_MS } else { 0 });
    if workload {
        crate::workload::start(e);
    }
    runtime::release_cores();
    runtime::core_loop(0)
}

/// Every other core after bring-up: idle until the runtime starts, doing a test's
/// idle work if one is installed, then the core's scheduling loop.
pub fn secondary(core: usize) -> ! {
    loop {
        if runtime::started() {
            runtime::core_loop(core);
        }
        if let Some(work) = hooks::secondary_idle() {
            work(core);
        }
        cpu::wfi();
    }
}
