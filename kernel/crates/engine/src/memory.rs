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
//! in the pools are reused. A pool past its bound passes half of its pages or bodies
//! to a depot the pools share, and an empty pool takes a batch from it before the
//! heap (see `depot`), one lock per batch; trimming the depot
//! ([`crate::Engine::trim_memory`]) gives what it holds beyond its own bound back to
//! the heap.
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
//!
//! Messages: a queued message is charged to its receiver from the sender's core's share
//! of the budget (a spare reserved [`BUDGET_CHUNK`] bytes at a time), and given back to
//! the receiving core's share, so the send path touches no counter every core shares.
//! An account's word carries the generation of the process it belongs to, and a
//! message's charge names the pid it is sent to: a send racing its target's exit is
//! charged to no later process of the slot. Message nodes come from per-core pools (see
//! `zbeam_mailbox::NodePool`); payloads up to [`crate::INLINE_PAYLOAD`] bytes are inside
//! the node, longer ones in a buffer from the sending core's byte pool
//! (`zbeam_mailbox::BytePool`, size classes of 64 to 1024 bytes), which the receiving
//! core gives back.

use crate::abi;
use crate::depot::Depot;
pub use crate::depot::{DEPOT_BODIES, DEPOT_PAGES};
use crate::proc::Body;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;
pub use zbeam_z80::paged::PAGE_SIZE;
use zbeam_z80::paged::{OwnedPage, PageSource, PagedMemory, Template};

/// Bytes one queued message is charged for its mailbox node: the message value (a
/// payload of up to [`crate::INLINE_PAYLOAD`] bytes included) and the node's link and
/// pool index.
pub const MESSAGE_OVERHEAD: usize = core::mem::size_of::<crate::Message>() + 2 * core::mem::size_of::<usize>();

/// Bytes a queued message of `len` payload bytes is charged: the bytes it holds, its
/// node and, for a payload too long to go inline, the pooled buffer of the smallest
/// size class that holds it, with the buffer's link (`zbeam_mailbox::buffer_bytes`).
pub fn message_bytes(len: usize) -> usize {
    if len <= crate::INLINE_PAYLOAD {
        MESSAGE_OVERHEAD
    } else {
        MESSAGE_OVERHEAD + zbeam_mailbox::buffer_bytes(len).unwrap_or(len)
    }
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
    free: Mutex<Vec<OwnedPage<'static>>>,
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
    fn take(&self) -> Option<OwnedPage<'static>> {
        let mut free = self.free.lock();
        if free.is_empty() {
            self.depot.refill_pages(&mut free);
        }
        if let Some(p) = free.pop() {
            return Some(p);
        }
        drop(free);
        if !self.depot.room_for_new_page() {
            return None;
        }
        let page = OwnedPage::alloc()?;
        // Relaxed: a statistic.
        self.made.fetch_add(1, Ordering::Relaxed);
        Some(page)
    }
    fn give(&self, page: OwnedPage<'static>) {
        let mut free = self.free.lock();
        if free.try_reserve(1).is_ok() {
            free.push(page);
            self.depot.after_give_page(&mut free);
        } else {
            // The depot's list has room for every page made.
            self.depot.keep_page(page);
        }
    }
}

/// What `mem` shows of one core's pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Pages taken from the heap by this pool.
    pub made: usize,
    /// Pages given back to the heap (only the depot gives any, when trimmed).
    pub returned: usize,
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
            returned: 0,
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

/// Bytes of the budget a core reserves at a time for the messages it sends ([`Budget`]).
pub const BUDGET_CHUNK: usize = 8 << 10;

/// A value alone on its cache line (128 bytes: the largest line of the machines the kernel
/// runs on), so cores updating neighbours do not share a line.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Padded<T>(pub(crate) T);

/// The engine-wide cap on memory charged to Z80 processes.
///
/// Messages are charged in per-core batches so that a send touches no line every core
/// shares: a core reserves [`BUDGET_CHUNK`] bytes of the budget at a time into its
/// `spare` and charges messages from there (sender's core); a receive gives the bytes back
/// to the receiving core's spare, which returns what passes `2 × BUDGET_CHUNK` to the
/// global count. `held` is therefore the bytes charged plus every core's spare, and the
/// cap is checked against it: charges never pass the cap (except charges racing each
/// other, as before, and the uncapped charges of native tasks and system messages), and a
/// charge may be refused while the other cores' spares (at most `2 × BUDGET_CHUNK` each)
/// are unused. [`Budget::charged`] leaves the spares out, so it returns to zero when every
/// process has exited.
pub(crate) struct Budget {
    held: Padded<AtomicUsize>,
    cap: AtomicUsize,
    /// Each core's reserve (the last entry serves callers outside the cores).
    spare: Box<[Padded<AtomicUsize>]>,
}

impl Budget {
    /// A budget with no cap, with spares for `cores` cores and one more for callers on no
    /// core.
    pub(crate) fn new(cores: usize) -> Self {
        Budget {
            held: Padded(AtomicUsize::new(0)),
            cap: AtomicUsize::new(usize::MAX),
            spare: (0..=cores).map(|_| Padded::default()).collect::<Vec<_>>().into_boxed_slice(),
        }
    }
    pub(crate) fn set_cap(&self, cap: usize) {
        // Relaxed: a limit read on every charge; a charge racing the change sees either.
        self.cap.store(cap, Ordering::Relaxed);
    }
    pub(crate) fn cap(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }
    pub(crate) fn held(&self) -> usize {
        self.held.0.load(Ordering::Relaxed)
    }
    /// Bytes charged to processes: `held` without the cores' spares (a snapshot, exact when
    /// nothing runs).
    pub(crate) fn charged(&self) -> usize {
        // Relaxed: statistics.
        let spare: usize = self.spare.iter().map(|s| s.0.load(Ordering::Relaxed)).sum();
        self.held().saturating_sub(spare)
    }
    /// Bytes that can still be charged.
    pub(crate) fn headroom(&self) -> usize {
        self.cap().saturating_sub(self.held())
    }

    /// Charges `n` bytes globally; a capped charge past the cap is undone and refused.
    fn add(&self, n: usize, capped: bool) -> bool {
        // Relaxed: the counter is the only data; charges racing each other may pass the
        // cap by their sum, which the reserve absorbs.
        let before = self.held.0.fetch_add(n, Ordering::Relaxed);
        if capped && before + n > self.cap() {
            self.held.0.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Charges `n` bytes of a message sent on `core` (`None`: on no core): from that core's
    /// spare, or globally together with a new chunk for the spare. A capped charge is
    /// refused when the cap does not have room for it.
    pub(crate) fn take(&self, n: usize, core: Option<usize>, capped: bool) -> bool {
        let Some(spare) = core.and_then(|c| self.spare.get(c)) else { return self.add(n, capped) };
        // Relaxed: the spare is a count; only the budget's sums depend on it.
        let mut have = spare.0.load(Ordering::Relaxed);
        while have >= n {
            match spare.0.compare_exchange_weak(have, have - n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => have = now,
            }
        }
        if self.add(n + BUDGET_CHUNK, capped) {
            spare.0.fetch_add(BUDGET_CHUNK, Ordering::Relaxed);
            return true;
        }
        self.add(n, capped)
    }

    /// Gives back `n` bytes of a message taken (or refused) on `core`: to that core's spare,
    /// which returns what passes `2 × BUDGET_CHUNK` to the global count.
    pub(crate) fn give(&self, n: usize, core: Option<usize>) {
        let Some(spare) = core.and_then(|c| self.spare.get(c)) else {
            self.held.0.fetch_sub(n, Ordering::Relaxed);
            return;
        };
        // Relaxed: as in `take`.
        let have = spare.0.fetch_add(n, Ordering::Relaxed) + n;
        if have > 2 * BUDGET_CHUNK
            && spare.0.compare_exchange(have, BUDGET_CHUNK, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.held.0.fetch_sub(have - BUDGET_CHUNK, Ordering::Relaxed);
        }
    }

    /// Returns `n` bytes charged by [`Account::charge`], [`Account::force`] or
    /// [`Budget::add`] (not through a core's spare).
    fn sub(&self, n: usize) {
        self.held.0.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Bits of an [`Account`]'s word that hold bytes; the rest name the incarnation.
const HELD_BITS: u32 = 48;
const HELD_MASK: u64 = (1 << HELD_BITS) - 1;

/// The incarnation tag of process `pid` in its account's word: its generation plus one (0
/// means no process).
fn tag(pid: crate::Pid) -> u64 {
    (u64::from(pid.generation()) + 1) << HELD_BITS
}

/// Why a message's charge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageRefused {
    /// As for other charges.
    Refused(Refused),
    /// The account belongs to another incarnation of the slot: the target has exited.
    Gone,
}

/// The bytes charged to the process in one slot, and its limit.
///
/// The bytes share one word with a tag of the incarnation they are charged to (set at
/// spawn, cleared at exit), so a sender charges a message only to the incarnation it
/// addresses: a send racing its target's exit and the slot's reuse is refused, or its
/// charge is returned with the old incarnation's, never charged to the new process.
pub(crate) struct Account {
    word: AtomicU64,
    limit: AtomicUsize,
    /// Whether the budget may refuse its charges (Z80 processes; native tasks are the
    /// system and are never refused).
    capped: core::sync::atomic::AtomicBool,
}

impl Account {
    pub(crate) fn new() -> Self {
        Account {
            word: AtomicU64::new(0),
            limit: AtomicUsize::new(DEFAULT_LIMIT),
            capped: core::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Starts the incarnation `pid`: nothing held, this limit, capped or not.
    pub(crate) fn reset(&self, pid: crate::Pid, limit: usize, capped: bool) {
        // Relaxed: published with the slot (spawn's Release store of `live`).
        self.word.store(tag(pid), Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
        self.capped.store(capped, Ordering::Relaxed);
    }

    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        // Relaxed: a counter; readers want a recent value, not an ordering.
        (self.word.load(Ordering::Relaxed) & HELD_MASK) as usize
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    fn capped(&self) -> bool {
        self.capped.load(Ordering::Relaxed)
    }

    /// Bytes that can still be charged before the limit or the budget refuses.
    pub(crate) fn headroom(&self, budget: &Budget) -> usize {
        let own = self.limit().saturating_sub(self.held());
        if self.capped() {
            own.min(budget.headroom())
        } else {
            own
        }
    }

    /// Charges `n` bytes, unless that passes the limit or (for a capped account) the
    /// budget. For the process's own memory (it is not exiting meanwhile).
    pub(crate) fn charge(&self, n: usize, budget: &Budget) -> Result<(), Refused> {
        // Relaxed: the counters are the only data; the limit check is exact per account
        // (fetch_add then undo), and the budget may be passed by at most the charges
        // racing each other, which the reserve absorbs.
        let before = (self.word.fetch_add(n as u64, Ordering::Relaxed) & HELD_MASK) as usize;
        if before + n > self.limit() {
            self.word.fetch_sub(n as u64, Ordering::Relaxed);
            return Err(Refused::Limit);
        }
        if !budget.add(n, self.capped()) {
            self.word.fetch_sub(n as u64, Ordering::Relaxed);
            return Err(Refused::Budget);
        }
        Ok(())
    }

    /// Charges `n` bytes the process already holds (pages copied within the
    /// allowance it was given), whatever the limits say.
    pub(crate) fn force(&self, n: usize, budget: &Budget) {
        self.word.fetch_add(n as u64, Ordering::Relaxed);
        budget.add(n, false);
    }

    /// Returns `n` bytes charged with [`Account::charge`] or [`Account::force`].
    pub(crate) fn uncharge(&self, n: usize, budget: &Budget) {
        self.word.fetch_sub(n as u64, Ordering::Relaxed);
        budget.sub(n);
    }

    /// Charges a message of `n` bytes for `to` sent on `core`: refused if the account is
    /// no longer `to`'s, or (when `enforce`) if it passes the limit or the budget. The
    /// budget is charged first, so an exit that clears the account never returns bytes
    /// the budget was not yet charged.
    pub(crate) fn charge_message(
        &self,
        to: crate::Pid,
        n: usize,
        budget: &Budget,
        core: Option<usize>,
        enforce: bool,
    ) -> Result<(), MessageRefused> {
        if !budget.take(n, core, enforce && self.capped()) {
            return Err(MessageRefused::Refused(Refused::Budget));
        }
        let (want, limit) = (tag(to), if enforce { self.limit() } else { usize::MAX });
        // Relaxed: the word is the only data (see `charge`).
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let refused = if word & !HELD_MASK != want {
                MessageRefused::Gone
            } else if (word & HELD_MASK) as usize + n > limit || (word & HELD_MASK) + n as u64 > HELD_MASK {
                MessageRefused::Refused(Refused::Limit)
            } else {
                match self.word.compare_exchange_weak(word, word + n as u64, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return Ok(()),
                    Err(now) => {
                        word = now;
                        continue;
                    }
                }
            };
            budget.give(n, core);
            return Err(refused);
        }
    }

    /// Takes back the charge of a message of `n` bytes for `to` that could not be queued,
    /// unless `to` has exited meanwhile (its exit returned the charge already).
    pub(crate) fn refund_message(&self, to: crate::Pid, n: usize, budget: &Budget, core: Option<usize>) {
        // Relaxed: as in `charge_message`.
        let mut word = self.word.load(Ordering::Relaxed);
        while word & !HELD_MASK == tag(to) {
            match self.word.compare_exchange_weak(word, word - n as u64, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return budget.give(n, core),
                Err(now) => word = now,
            }
        }
    }

    /// Returns the charge of a message of `n` bytes its process took on `core`.
    pub(crate) fn uncharge_message(&self, n: usize, budget: &Budget, core: Option<usize>) {
        self.word.fetch_sub(n as u64, Ordering::Relaxed);
        budget.give(n, core);
    }

    /// Returns everything still held and ends the incarnation (at exit, or before a
    /// spawn); the bytes returned.
    pub(crate) fn clear(&self, budget: &Budget) -> usize {
        let n = (self.word.swap(0, Ordering::Relaxed) & HELD_MASK) as usize;
        budget.sub(n);
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
    fn short_payloads_are_inline_and_long_ones_pooled_reading_the_same() {
        let pools: Vec<zbeam_mailbox::BytePool> = (0..2).map(|i| zbeam_mailbox::BytePool::new(i, 4)).collect();
        for n in [0, 1, INLINE_PAYLOAD, INLINE_PAYLOAD + 1, 64, 65, 500, abi::MAX_MESSAGE] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            let p = Payload::try_in(&data[..], &pools, 0).expect("memory");
            assert_eq!(&*p, &data[..], "{n} bytes");
            assert_eq!(matches!(p, Payload::Inline { .. }), n <= INLINE_PAYLOAD, "{n} bytes");
            assert_eq!(matches!(p, Payload::Pooled(_)), n > INLINE_PAYLOAD, "{n} bytes");
            assert_eq!(p.clone(), p);
            assert_eq!(Payload::from(&data[..]), p);
            p.recycle(&pools, 1);
        }
        // The message itself (its inline bytes included), a node link and its pool index.
        assert_eq!(MESSAGE_OVERHEAD, core::mem::size_of::<crate::Message>() + 16);
        assert_eq!(core::mem::size_of::<crate::Message>(), 48);
        assert_eq!(message_bytes(10), MESSAGE_OVERHEAD);
        // A longer payload: its class's buffer (the smallest power of two from 64 that
        // holds it) and the buffer's link.
        assert_eq!(message_bytes(31), MESSAGE_OVERHEAD + 64 + 16);
        assert_eq!(message_bytes(100), MESSAGE_OVERHEAD + 128 + 16);
        assert_eq!(message_bytes(abi::MAX_MESSAGE), MESSAGE_OVERHEAD + 1024 + 16);
    }

    /// Messages charged through a core's spare: the global count is touched once per
    /// chunk, a capped charge never passes the cap, the spares are not counted as
    /// charged, and once everything is given back nothing is.
    #[test]
    fn the_budget_charges_messages_in_per_core_chunks_within_its_cap() {
        let b = Budget::new(2);
        b.set_cap(4 * BUDGET_CHUNK);
        assert!(b.take(100, Some(0), true));
        assert_eq!((b.held(), b.charged()), (100 + BUDGET_CHUNK, 100));
        // From the spare: the global count does not move.
        for _ in 0..10 {
            assert!(b.take(100, Some(0), true));
        }
        assert_eq!((b.held(), b.charged()), (100 + BUDGET_CHUNK, 1100));
        // Up to the cap and no further, whichever core charges.
        let mut charged = 1100;
        while b.take(1000, Some(charged / 1000 % 2), true) {
            charged += 1000;
        }
        assert_eq!(b.charged(), charged);
        assert!(b.held() <= b.cap(), "{} > {}", b.held(), b.cap());
        // The slack: a refusal leaves at most what the spares hold unused.
        assert!(charged + 1000 + 2 * 2 * BUDGET_CHUNK > b.cap());
        // Uncapped charges (system messages) are never refused.
        assert!(b.take(BUDGET_CHUNK, Some(1), false));
        charged += BUDGET_CHUNK;
        // Given back on other cores (and on none): spares past two chunks go back.
        let mut left = charged;
        while left > 0 {
            let n = left.min(700);
            b.give(n, [Some(0), Some(1), None][left % 3]);
            left -= n;
        }
        assert_eq!(b.charged(), 0);
        assert!(b.held() <= 3 * 2 * BUDGET_CHUNK, "{}", b.held());
    }

    /// A message charge names its incarnation: once the account is cleared (the process
    /// exited) or reset for the slot's next process, a charge for the old pid is refused
    /// and the budget keeps nothing of it; a refund after an exit takes nothing back twice.
    #[test]
    fn a_message_charge_for_an_old_incarnation_is_refused() {
        let b = Budget::new(1);
        let a = Account::new();
        let (old, new) = (crate::Pid::new(3, 0), crate::Pid::new(3, 1));
        a.reset(old, DEFAULT_LIMIT, true);
        assert_eq!(a.charge_message(old, 64, &b, Some(0), true), Ok(()));
        assert_eq!(a.held(), 64);
        assert_eq!(a.clear(&b), 64);
        a.refund_message(old, 64, &b, Some(0));
        assert_eq!((a.held(), b.charged()), (0, 0));
        assert_eq!(a.charge_message(old, 64, &b, Some(0), true), Err(MessageRefused::Gone));
        a.reset(new, DEFAULT_LIMIT, true);
        assert_eq!(a.charge_message(old, 64, &b, None, false), Err(MessageRefused::Gone));
        assert_eq!(a.charge_message(new, 64, &b, None, true), Ok(()));
        assert_eq!(a.charge_message(new, DEFAULT_LIMIT, &b, None, true), Err(MessageRefused::Refused(Refused::Limit)));
        a.uncharge_message(64, &b, Some(0));
        assert_eq!((a.held(), b.charged()), (0, 0));
    }
}
