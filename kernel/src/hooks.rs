//! Hooks a test boot installs into the normal boot path. The boot path calls a hook
//! when one is set and never names a test module; a normal boot sets none.
//!
//! * [`output`] — takes a process's console output before it is printed (the image
//!   tests keep each process's output to compare it byte for byte).
//! * [`secondary_idle`] — work an idle secondary core does before the runtime starts
//!   (the IPI self-test's rounds).

use zbeam_engine::Pid;

/// Takes the console output of process `pid`; returns false to let it print.
pub type OutputHook = fn(pid: Pid, bytes: &[u8]) -> bool;

/// Work for an idle secondary core `core`, called after each wake-up.
pub type SecondaryIdleHook = fn(core: usize);

static OUTPUT: spin::Once<OutputHook> = spin::Once::new();
static SECONDARY_IDLE: spin::Once<SecondaryIdleHook> = spin::Once::new();

/// Installs the output hook (once; a later call keeps the first hook).
pub fn set_output(hook: OutputHook) {
    OUTPUT.call_once(|| hook);
}

/// The output hook, if a test installed one.
#[inline]
pub fn output() -> Option<OutputHook> {
    OUTPUT.get().copied()
}

/// Installs the idle work for secondary cores (once; a later call keeps the first).
pub fn set_secondary_idle(hook: SecondaryIdleHook) {
    SECONDARY_IDLE.call_once(|| hook);
}

/// The secondary cores' idle work, if a test installed one.
pub fn secondary_idle() -> Option<SecondaryIdleHook> {
    SECONDARY_IDLE.get().copied()
}
