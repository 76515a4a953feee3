//! The kernel heap: linked_list_allocator over the largest free RAM range the device
//! tree leaves after the kernel image, the DTB and reserved regions.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Hands [start, start + size) to the allocator.
///
/// # Safety
/// The range must be mapped Normal RAM used by nothing else, and this must be called
/// once, before any allocation.
pub unsafe fn init(start: usize, size: usize) {
    // SAFETY: forwarded contract.
    unsafe { HEAP.lock().init(start as *mut u8, size) };
}

/// (used, free) bytes.
pub fn usage() -> (usize, usize) {
    let h = HEAP.lock();
    (h.used(), h.free())
}
