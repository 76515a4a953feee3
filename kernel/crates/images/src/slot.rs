//! The result slot a native controller fills once when it finishes, shared with
//! whoever waits for it (a test, a bench, a kernel test driver): the one type for it
//! in the kernel, the hosted runtime and their tests.

use alloc::sync::Arc;
use spin::{Mutex, MutexGuard};

/// A shared slot that holds `None` until a controller [`fill`](Self::fill)s it.
/// Clones share the slot.
pub struct ResultSlot<T>(Arc<Mutex<Option<T>>>);

impl<T> ResultSlot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        ResultSlot(Arc::new(Mutex::new(None)))
    }

    /// Stores the result (replacing any earlier one).
    pub fn fill(&self, value: T) {
        *self.0.lock() = Some(value);
    }

    /// Takes the result out, leaving the slot empty (None while the controller runs).
    pub fn take(&self) -> Option<T> {
        self.0.lock().take()
    }

    /// Whether a result is there.
    pub fn is_filled(&self) -> bool {
        self.0.lock().is_some()
    }

    /// The slot itself, locked (to read a result in place).
    pub fn lock(&self) -> MutexGuard<'_, Option<T>> {
        self.0.lock()
    }
}

impl<T> Clone for ResultSlot<T> {
    fn clone(&self) -> Self {
        ResultSlot(Arc::clone(&self.0))
    }
}

impl<T> Default for ResultSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}
