//! Process memory: paged Z80 address spaces made from per-image templates, the
//! per-core page pools they copy pages from, and the accounting that charges every
//! byte a process holds to it.
//!
//! Pages: a Z80 process's 64 KiB is a [`PagedMemory`] over its image's [`Template`]
//! (page zero, the CP/M BIOS table and the image, built once per image at its first
//! spawn and shared read-only by every process running it). A write to a shared page
//! copies it into a page from the pool of the core the process runs on; pages freed
//! at exit go back to the pool of the core that frees them. A pool is a free list
//! behind a lock only its own core takes in the normal course (a process's pages are
//! taken and given on the core running it), so no lock is shared by all cores. Pages
//! in the pools are reused, not returned to the heap. A pool past its bound passes
//! half of its pages or bodies to a depot the pools share, and an empty pool takes a
//! batch from it before the heap (see `depot`), one lock per batch.
//!
//! A process that makes a CP/M BDOS or BIOS call switches to a flat 64 KiB copy of its
//! memory (the BDOS works on the whole address space), charged to it.
//!
//! Accounting: each slot's [`Account`] holds the bytes charged to its process: the
//! process body, the pages it owns, its flat memory and CP/M state if any, and every
//! message queued in its mailbox ([`message_bytes`]). A charge that would pass the
//! process's limit is refused and the process ends with reason
//! [`crate::abi::reason::MEMORY`]. The engine-wide [`Budget`] caps the bytes charged to
//! all Z80 processes together; the platform sets it below the memory it has, so the
//! rest stays a reserve for the kernel, the shell and supervisors (native tasks are
//! charged but never refused by the budget).

use crate::abi;
use crate::depot::Depot;
use crate::proc::Body;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;
pub use zbeam_z80::paged::PAGE_SIZE;
use zbeam_z80::paged::{self, Page, PageSource, PagedMemory, Template};

/// Bytes one queued message is charged beyond its payload: the message value, the
/// mailbox node around it (a link) and the payload's allocation rounding.
pub const MESSAGE_OVERHEAD: usize = core::mem::size_of::<crate::Message>() + 2 * core::mem::size_of::<usize>();

/// Bytes a queued message of `len` payload bytes is charged.
pub fn message_bytes(len: usize) -> usize {
    MESSAGE_OVERHEAD + len
}

/// The default limit of a process's memory (bytes).
pub const DEFAULT_LIMIT: usize = 1 << 20;

/// The limit of a native task's memory (bytes), in practice of the messages Z80
/// processes queued for it. A native task (the shell, a supervisor) is never ended by
/// it: past it, sends from Z80 processes are refused instead (NO_RESOURCES to the
/// sender), so a flood of the shell costs at most this much of the kernel's reserve.
/// Messages from the kernel and other native tasks are charged but never refused.
pub const NATIVE_LIMIT: usize = 4 << 20;

/// A core's pool: pages and Z80 process bodies given back, ready to be taken again.
/// It keeps a bounded number and shares the rest through the engine's
/// [`Depot`] (see there).
pub(crate) struct PagePool {
    free: Mutex<Vec<&'static Page>>,
    /// Pages this pool took from the heap.
    made: AtomicUsize,
    /// Bodies of Z80 processes that exited (machine included), for the next spawns.
    /// The boxes are what is reused (a slot holds a `Box<Body>`), so they stay boxed.
    #[allow(clippy::vec_box)]
    bodies: Mutex<Vec<Box<Body>>>,
    /// Where pages and bodies beyond the pool's bound go, and come from when it is empty.
    depot: Arc<Depot>,
}

/// An all-zero template: what a recycled body's memory reads until it is reloaded.
pub(crate) static ZERO_TEMPLATE: Template = Template::zero();

impl PagePool {
    /// An empty pool sharing `depot` with the other cores' pools.
    pub(crate) fn new(depot: Arc<Depot>) -> Self {
        PagePool { free: Mutex::default(), made: AtomicUsize::new(0), bodies: Mutex::default(), depot }
    }
    /// A recycled Z80 body, if the pool (or, when it is empty, the depot) has one.
    pub(crate) fn take_body(&self) -> Option<Box<Body>> {
        let mut bodies = self.bodies.lock();
        if bodies.is_empty() {
            self.depot.refill_bodies(&mut bodies);
        }
        bodies.pop()
    }
    /// Keeps a Z80 body (already emptied by `Body::recycle`) for a later spawn.
    pub(crate) fn give_body(&self, body: Box<Body>) {
        let mut bodies = self.bodies.lock();
        if bodies.try_reserve(1).is_ok() {
            bodies.push(body);
            self.depot.after_give_body(&mut bodies);
        }
    }
}

impl PageSource<'static> for PagePool {
    fn take(&self) -> Option<&'static Page> {
        let mut free = self.free.lock();
        if free.is_empty() {
            self.depot.refill_pages(&mut free);
        }
        if let Some(p) = free.pop() {
            return Some(p);
        }
        drop(free);
        let page: &'static Page = Box::leak(paged::try_alloc_page()?);
        // Relaxed: a statistic.
        self.made.fetch_add(1, Ordering::Relaxed);
        Some(page)
    }
    fn give(&self, page: &'static Page) {
        let mut free = self.free.lock();
        // A page that cannot be listed is kept out of use rather than risk a panic.
        if free.try_reserve(1).is_ok() {
            free.push(page);
            self.depot.after_give_page(&mut free);
        }
    }
}

/// What `mem` shows of one core's pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Pages taken from the heap by this pool.
    pub made: usize,
    /// Pages free in the pool now.
    pub free: usize,
    /// Z80 process bodies kept for reuse.
    pub bodies: usize,
    /// Bytes one kept body holds.
    pub body_bytes: usize,
    /// Bytes of the pool's own lists (their capacity).
    pub list_bytes: usize,
}

impl PagePool {
    pub(crate) fn stats(&self) -> PoolStats {
        let (free, bodies) = (self.free.lock(), self.bodies.lock());
        PoolStats {
            // Relaxed: a statistic.
            made: self.made.load(Ordering::Relaxed),
            free: free.len(),
            bodies: bodies.len(),
            body_bytes: crate::proc::Z80_BODY,
            list_bytes: (free.capacity() + bodies.capacity()) * core::mem::size_of::<usize>(),
        }
    }
}

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The process's own limit.
    Limit,
    /// The engine-wide budget of process memory.
    Budget,
}

/// The engine-wide cap on memory charged to Z80 processes.
pub(crate) struct Budget {
    held: AtomicUsize,
    cap: AtomicUsize,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget { held: AtomicUsize::new(0), cap: AtomicUsize::new(usize::MAX) }
    }
    pub(crate) fn set_cap(&self, cap: usize) {
        // Relaxed: a limit read on every charge; a charge racing the change sees either.
        self.cap.store(cap, Ordering::Relaxed);
    }
    pub(crate) fn cap(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
    /// Bytes that can still be charged.
    pub(crate) fn headroom(&self) -> usize {
        self.cap().saturating_sub(self.held())
    }
}

/// The bytes charged to the process in one slot, and its limit.
pub(crate) struct Account {
    held: AtomicUsize,
    limit: AtomicUsize,
    /// Whether the budget may refuse its charges (Z80 processes; native tasks are the
    /// system and are never refused).
    capped: core::sync::atomic::AtomicBool,
}

impl Account {
    pub(crate) fn new() -> Self {
        Account {
            held: AtomicUsize::new(0),
            limit: AtomicUsize::new(DEFAULT_LIMIT),
            capped: core::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Starts an incarnation: nothing held, this limit, capped or not.
    pub(crate) fn reset(&self, limit: usize, capped: bool) {
        // Relaxed: published with the slot (spawn's Release store of `live`).
        self.held.store(0, Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
        self.capped.store(capped, Ordering::Relaxed);
    }

    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        // Relaxed: a counter; readers want a recent value, not an ordering.
        self.held.load(Ordering::Relaxed)
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes that can still be charged before the limit or the budget refuses.
    pub(crate) fn headroom(&self, budget: &Budget) -> usize {
        let own = self.limit().saturating_sub(self.held());
        if self.capped.load(Ordering::Relaxed) {
            own.min(budget.headroom())
        } else {
            own
        }
    }

    /// Charges `n` bytes, unless that passes the limit or (for a capped account) the
    /// budget.
    pub(crate) fn charge(&self, n: usize, budget: &Budget) -> Result<(), Refused> {
        // Relaxed: the counters are the only data; the limit check is exact per account
        // (fetch_add then undo), and the budget may be passed by at most the charges
        // racing each other, which the reserve absorbs.
        let before = self.held.fetch_add(n, Ordering::Relaxed);
        if before + n > self.limit() {
            self.held.fetch_sub(n, Ordering::Relaxed);
            return Err(Refused::Limit);
        }
        let global = budget.held.fetch_add(n, Ordering::Relaxed);
        if self.capped.load(Ordering::Relaxed) && global + n > budget.cap() {
            budget.held.fetch_sub(n, Ordering::Relaxed);
            self.held.fetch_sub(n, Ordering::Relaxed);
            return Err(Refused::Budget);
        }
        Ok(())
    }

    /// Charges `n` bytes the process already holds (pages copied within the
    /// allowance it was given), whatever the limits say.
    pub(crate) fn force(&self, n: usize, budget: &Budget) {
        self.held.fetch_add(n, Ordering::Relaxed);
        budget.held.fetch_add(n, Ordering::Relaxed);
    }

    /// Returns `n` bytes.
    pub(crate) fn uncharge(&self, n: usize, budget: &Budget) {
        self.held.fetch_sub(n, Ordering::Relaxed);
        budget.held.fetch_sub(n, Ordering::Relaxed);
    }

    /// Returns everything still held (at exit); the bytes returned.
    pub(crate) fn clear(&self, budget: &Budget) -> usize {
        let n = self.held.swap(0, Ordering::Relaxed);
        budget.held.fetch_sub(n, Ordering::Relaxed);
        n
    }
}

/// A Z80 process's memory: paged, or flat once it uses CP/M. The page table is kept
/// inline (no box): it is the common case and every memory access goes through it.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ProcMemory {
    Paged(PagedMemory<'static>),
    Flat(Box<[u8; 0x1_0000]>),
}

impl ProcMemory {
    /// Copies `out.len()` bytes from `at` (wrapping).
    pub(crate) fn read_bytes(&self, at: u16, out: &mut [u8]) {
        match self {
            ProcMemory::Paged(m) => m.read_bytes(at, out),
            ProcMemory::Flat(f) => {
                for (i, b) in out.iter_mut().enumerate() {
                    *b = f[at.wrapping_add(i as u16) as usize];
                }
            }
        }
    }

    /// The byte at `at`.
    pub(crate) fn peek(&self, at: u16) -> u8 {
        match self {
            ProcMemory::Paged(m) => m.read(at),
            ProcMemory::Flat(f) => f[at as usize],
        }
    }

    /// Writes `data` at `at` (wrapping), copying pages from `pool`; false if a page
    /// copy was refused (the allowance must have been set by the caller).
    pub(crate) fn write_bytes(&mut self, at: u16, data: &[u8], pool: &PagePool) -> bool {
        match self {
            ProcMemory::Paged(m) => m.write_bytes(at, data, pool),
            ProcMemory::Flat(f) => {
                for (i, &b) in data.iter().enumerate() {
                    f[at.wrapping_add(i as u16) as usize] = b;
                }
                true
            }
        }
    }

    /// Bytes the memory holds beyond the process body: owned pages, or the flat copy.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            ProcMemory::Paged(m) => m.owned_pages() * PAGE_SIZE,
            ProcMemory::Flat(_) => 0x1_0000,
        }
    }

    /// Gives owned pages back to `pool` (at exit, or when going flat).
    pub(crate) fn release(&mut self, pool: &PagePool) {
        if let ProcMemory::Paged(m) = self {
            m.release(pool);
        }
    }
}

/// Builds the template of an image: CP/M page zero and BIOS table, the system-call
/// RET, an empty argument block and the image at [`abi::LOAD`]. None if memory for it
/// cannot be had.
pub(crate) fn build_template(image: &[u8]) -> Option<Template> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(0x1_0000).ok()?;
    v.resize(0x1_0000, 0);
    let flat: &mut [u8; 0x1_0000] = v.as_mut_slice().try_into().ok()?;
    zbeam_cpm::setup(flat, &[]);
    flat[abi::SYSCALL as usize] = 0xc9;
    flat[abi::ARGS as usize] = 0;
    let at = abi::LOAD as usize;
    flat.get_mut(at..at + image.len())?.copy_from_slice(image);
    Template::from_flat(flat)
}

/// The bytes a spawn with argument block `args` writes over the template, as
/// `(address, bytes)` runs: the default FCBs parsed from the arguments (as
/// `zbeam_cpm::setup` does) and the argument block itself. Nothing for no arguments.
pub(crate) fn argument_writes(args: &[u8]) -> Option<([u8; 36], [u8; 1 + abi::MAX_ARGS])> {
    if args.is_empty() {
        return None;
    }
    let mut fcbs = [0u8; 36];
    let used = zbeam_cpm::fcb::parse_into(args, &mut fcbs[..16]);
    zbeam_cpm::fcb::parse_into(&args[used.min(args.len())..], &mut fcbs[16..32]);
    let mut block = [0u8; 1 + abi::MAX_ARGS];
    block[0] = args.len() as u8;
    block[1..1 + args.len()].copy_from_slice(args);
    Some((fcbs, block))
}

const _: () = assert!(zbeam_cpm::FCB2 - zbeam_cpm::FCB1 == 16 && abi::ARGS - zbeam_cpm::FCB1 == 36);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Payload, INLINE_PAYLOAD};

    #[test]
    fn short_payloads_are_inline_and_long_ones_boxed_reading_the_same() {
        for n in [0, 1, INLINE_PAYLOAD, INLINE_PAYLOAD + 1, abi::MAX_MESSAGE] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            let p = Payload::from(&data[..]);
            assert_eq!(&*p, &data[..], "{n} bytes");
            assert_eq!(matches!(p, Payload::Inline { .. }), n <= INLINE_PAYLOAD, "{n} bytes");
            assert_eq!(p.clone(), p);
        }
        // The message itself (its inline bytes included) and a node link are counted.
        assert_eq!(MESSAGE_OVERHEAD, core::mem::size_of::<crate::Message>() + 16);
        assert_eq!(core::mem::size_of::<crate::Message>(), 32);
        assert_eq!(message_bytes(10), MESSAGE_OVERHEAD + 10);
    }
}
