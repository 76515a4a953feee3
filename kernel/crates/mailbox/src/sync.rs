//! The atomics and the cell the mailbox is built on, switched to loom's models under `--cfg loom`.
//!
//! What: `AtomicPtr`, `AtomicBool`, `AtomicUsize`, `Ordering` and an `UnsafeCell` with loom's closure-shaped API
//! (`with` / `with_mut`). Why: the same queue code is then both the code the kernel runs and the
//! code the loom model checker explores (`loom.sh`); loom's `UnsafeCell` also lets the checker see
//! every access to the message slots and the consumer's private state, so an ordering bug shows up
//! as a reported data race rather than as silent corruption. Source followed: the `loom` crate docs
//! (`loom::cell::UnsafeCell`, `loom::sync::atomic`), which recommend exactly this kind of shim.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) use shim::UnsafeCell;

#[cfg(not(loom))]
mod shim {
    /// `core::cell::UnsafeCell` behind loom's API; compiles to a plain pointer access.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Shared access through a raw pointer; the caller upholds the aliasing rules.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Exclusive access through a raw pointer; the caller upholds the aliasing rules.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
