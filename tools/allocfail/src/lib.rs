//! A global allocator for host tests of out-of-memory paths: the system allocator,
//! except that it answers "no memory" (null) to every allocation the current thread
//! makes inside [`refusing`]. Other threads (the test harness's) are never refused.
//!
//! A test binary installs it with
//! `#[global_allocator] static A: zbeam_allocfail::Refusing = zbeam_allocfail::Refusing;`.
//! Code inside [`refusing`] must not panic: the panic message itself needs the heap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static REFUSE: Cell<bool> = const { Cell::new(false) };
}

/// The allocator (see the crate doc).
pub struct Refusing;

// SAFETY: every call is forwarded to `System` unchanged, or answered with null, which
// `GlobalAlloc::alloc` allows to mean "no memory".
unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if REFUSE.with(Cell::get) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on to `System`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (null is never handed out as a block).
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with this thread's allocations refused, and returns what it returns.
pub fn refusing<T>(f: impl FnOnce() -> T) -> T {
    REFUSE.with(|r| r.set(true));
    let out = f();
    REFUSE.with(|r| r.set(false));
    out
}
