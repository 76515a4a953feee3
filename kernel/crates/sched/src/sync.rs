//! The atomics and the run-queue lock the scheduler is built on, switched to loom's
//! models under `--cfg loom`.
//!
//! What: the atomic integer types, `Ordering`, and [`QueueLock`], the lock of one run
//! queue. Why: the scheduler the kernel runs is then the same code the loom model
//! checker explores (`loom.sh`, `tests/loom.rs`): the state-word CAS transitions,
//! WAKE_PENDING, and the run-queue hand-offs (insert, steal, wake, schedule-out) with
//! every interleaving loom can reach. Source followed: the `loom` crate docs
//! (`loom::sync::atomic`, `loom::sync::Mutex`), as in the mailbox's `sync` module.
//!
//! Outside loom the queue lock is a test-and-set spin lock (`spin::Mutex`) that counts
//! contended acquisitions and the longest wait.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// The lock of one run queue, counting how often it was contended.
pub(crate) struct QueueLock<T> {
    #[cfg(not(loom))]
    inner: spin::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
    /// Acquisitions, acquisitions that found the lock held, and the longest wait in
    /// failed attempts (statistics, Relaxed; not kept under loom).
    acquired: core::sync::atomic::AtomicU64,
    contended: core::sync::atomic::AtomicU64,
    max_spins: core::sync::atomic::AtomicU64,
    long_waits: core::sync::atomic::AtomicU64,
}

/// A wait of this many failed attempts or more counts as long in [`LockStats`]: far more
/// than a queue operation takes even with every other core queued ahead (about a
/// thousand attempts under QEMU), so a long wait means the holder was held up (in QEMU,
/// its virtual CPU descheduled by the host) or the waiter kept losing the race.
pub const LONG_WAIT_SPINS: u64 = 100_000;

/// What [`QueueLock::lock`] returns.
#[cfg(not(loom))]
pub(crate) type QueueGuard<'a, T> = spin::MutexGuard<'a, T>;
/// What [`QueueLock::lock`] returns.
#[cfg(loom)]
pub(crate) type QueueGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

/// Contention of one run-queue lock since boot.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LockStats {
    /// Times the lock was taken.
    pub acquired: u64,
    /// Times it was held by another core when asked for.
    pub contended: u64,
    /// The longest wait, in failed attempts to take it.
    pub max_spins: u64,
    /// Waits of [`LONG_WAIT_SPINS`] attempts or more.
    pub long_waits: u64,
}

impl<T> QueueLock<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(loom))]
        let inner = spin::Mutex::new(value);
        #[cfg(loom)]
        let inner = loom::sync::Mutex::new(value);
        QueueLock {
            inner,
            acquired: Default::default(),
            contended: Default::default(),
            max_spins: Default::default(),
            long_waits: Default::default(),
        }
    }

    /// Takes the lock, spinning while another core holds it.
    #[cfg(not(loom))]
    pub(crate) fn lock(&self) -> QueueGuard<'_, T> {
        use core::sync::atomic::Ordering::Relaxed;
        // Relaxed (all three counters): statistics, nothing is published through them.
        self.acquired.fetch_add(1, Relaxed);
        if let Some(g) = self.inner.try_lock() {
            return g;
        }
        self.contended.fetch_add(1, Relaxed);
        let mut spins = 1u64;
        loop {
            core::hint::spin_loop();
            if let Some(g) = self.inner.try_lock() {
                self.max_spins.fetch_max(spins, Relaxed);
                if spins >= LONG_WAIT_SPINS {
                    self.long_waits.fetch_add(1, Relaxed);
                }
                return g;
            }
            spins += 1;
        }
    }

    /// Takes the lock (loom's model of a blocking mutex).
    #[cfg(loom)]
    pub(crate) fn lock(&self) -> QueueGuard<'_, T> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The contention counters.
    pub(crate) fn stats(&self) -> LockStats {
        use core::sync::atomic::Ordering::Relaxed;
        // Relaxed: statistics.
        LockStats {
            acquired: self.acquired.load(Relaxed),
            contended: self.contended.load(Relaxed),
            max_spins: self.max_spins.load(Relaxed),
            long_waits: self.long_waits.load(Relaxed),
        }
    }
}
