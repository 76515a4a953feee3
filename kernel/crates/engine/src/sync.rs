//! The atomic and the lock of a process's timed wait ([`crate::waiting`]), switched to
//! loom's models under `--cfg loom`, so the wait protocol the engine runs is the code
//! `tests/loom_wait.rs` model-checks (as the sched and mailbox crates do for theirs).
//! Everything else in the engine keeps `core` atomics and `spin` locks.

#[cfg(loom)]
pub use loom::sync::atomic::AtomicU32;

#[cfg(not(loom))]
pub use core::sync::atomic::AtomicU32;

/// The engine's spin lock; under loom, loom's mutex (which loom can preempt).
#[cfg(not(loom))]
pub type Mutex<T> = spin::Mutex<T>;

/// The engine's spin lock; under loom, loom's mutex (which loom can preempt).
#[cfg(loom)]
#[derive(Debug)]
pub struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    /// A lock around `value`.
    pub fn new(value: T) -> Self {
        Mutex(loom::sync::Mutex::new(value))
    }

    /// Takes the lock (a poisoned loom mutex means a model thread panicked: go on).
    pub fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
