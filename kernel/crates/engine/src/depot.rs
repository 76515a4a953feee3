//! The engine-wide depot behind the per-core pools ([`crate::memory::PagePool`]).
//!
//! What: a core's pool keeps at most [`POOL_PAGES`] free pages and [`POOL_BODIES`]
//! recycled Z80 bodies. Past that, half of them move to the depot in one batch; a pool
//! that is empty takes a batch back from the depot before it asks the heap for more.
//!
//! Why: processes often exit on another core than the one they were spawned from (a
//! tree stopped from the shell, a process migrated by the balancer), so without it the
//! pages and bodies pile up in the pools of the cores where processes exit while the
//! cores that spawn allocate new ones from the heap. The pools themselves never give
//! memory back to the heap, so each burst of spawns grew the memory kept for reuse.
//! With the depot, what is kept is bounded by the most processes alive at once plus a
//! pool's fill per core, until trimming (below) gives the depot's surplus back.
//!
//! The depot's lock is taken once per batch (a pool passing its bound, or running
//! empty), never per page or per body, and always after the pool's own lock: a thread
//! never holds two pools' locks, so the order pool then depot cannot deadlock.
//!
//! Trimming: each call of [`crate::Engine::trim_memory`] gives a batch of the depot's
//! pages and bodies beyond [`DEPOT_PAGES`] and [`DEPOT_BODIES`] back to the heap, so
//! after a burst (a spawn bomb stopped, a million processes killed) the memory its
//! processes held can return to the heap while what the pools and the depot keep for
//! the next spawns stays bounded. Nothing calls it on its own yet: the kernel's memory
//! test does, after killing every process.
//!
//! No page is lost for want of a list entry: a pool makes a page only after the depot's
//! list has room for every page made so far, this one included ([`Depot::room_for_new_page`]),
//! so a page given back when its pool's list cannot grow goes to the depot
//! ([`Depot::keep_page`]), and a spill always fits, however full the heap is.

use crate::memory::PoolStats;
use crate::proc::Body;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use spin::Mutex;
use zbeam_z80::paged::OwnedPage;

/// Free pages a core's pool keeps; past this, half move to the depot.
pub(crate) const POOL_PAGES: usize = 512;
/// Recycled bodies a core's pool keeps; past this, half move to the depot.
pub(crate) const POOL_BODIES: usize = 256;
/// Free pages the depot keeps when trimmed (1 MiB of 1 KiB pages).
pub const DEPOT_PAGES: usize = 1024;
/// Recycled bodies the depot keeps when trimmed.
pub const DEPOT_BODIES: usize = 256;

/// Pages and bodies no core's pool holds, for any core's pool to take.
#[derive(Default)]
pub(crate) struct Depot {
    /// Its list's capacity is at least `made` (see the module doc).
    pages: Mutex<Vec<OwnedPage<'static>>>,
    /// Pages every pool made together, less those trimmed.
    made: AtomicUsize,
    /// Pages given back to the heap by trimming.
    returned: AtomicUsize,
    /// Something was added to the lists since they were last sorted by address.
    unsorted: AtomicBool,
    /// Boxed, as the pools keep them (a slot holds a `Box<Body>`).
    #[allow(clippy::vec_box)]
    bodies: Mutex<Vec<Box<Body>>>,
}

/// The address of a recycled body (for ordering them like pages).
fn body_addr(b: &Body) -> usize {
    core::ptr::from_ref(b) as usize
}

/// Moves everything past the first `keep` items of `local` to `depot`. If the depot's
/// list cannot grow, the items stay where they are.
fn spill<T>(local: &mut Vec<T>, keep: usize, depot: &Mutex<Vec<T>>) {
    let mut d = depot.lock();
    if d.try_reserve(local.len().saturating_sub(keep)).is_ok() {
        d.extend(local.drain(keep.min(local.len())..));
    }
}

/// Moves up to `want` items from `depot` to `local` (none if `local` cannot grow).
fn refill<T>(local: &mut Vec<T>, want: usize, depot: &Mutex<Vec<T>>) {
    let mut d = depot.lock();
    let n = want.min(d.len());
    if n > 0 && local.try_reserve(n).is_ok() {
        let from = d.len() - n;
        local.extend(d.drain(from..));
    }
}

impl Depot {
    /// Called by a pool holding `pages` (its lock held) after a give: spills half of
    /// them here once they pass [`POOL_PAGES`].
    pub(crate) fn after_give_page(&self, pages: &mut Vec<OwnedPage<'static>>) {
        if pages.len() > POOL_PAGES {
            spill(pages, POOL_PAGES / 2, &self.pages);
            // Relaxed: read under the lists' locks by `trim`, which the spill's lock orders.
            self.unsorted.store(true, Ordering::Relaxed);
        }
    }

    /// Called by a pool whose page list is empty (its lock held): takes a batch.
    pub(crate) fn refill_pages(&self, pages: &mut Vec<OwnedPage<'static>>) {
        refill(pages, POOL_PAGES / 2, &self.pages);
    }

    /// Before a pool makes a page: makes room in the depot's list for every page made so
    /// far and this one, and counts it. False (nothing counted) if the list cannot grow:
    /// the page is not made. A page whose allocation then fails is counted all the same;
    /// the count only bounds the list from below.
    pub(crate) fn room_for_new_page(&self) -> bool {
        let mut d = self.pages.lock();
        // Relaxed: changed only under this lock.
        let made = self.made.load(Ordering::Relaxed);
        let more = (made + 1).saturating_sub(d.len());
        if d.try_reserve(more).is_err() {
            return false;
        }
        self.made.store(made + 1, Ordering::Relaxed);
        true
    }

    /// Keeps a page a pool could not list (its list could not grow). The room was made
    /// when the page was (see [`Depot::room_for_new_page`]), so this never allocates.
    pub(crate) fn keep_page(&self, page: OwnedPage<'static>) {
        let mut d = self.pages.lock();
        if d.len() < d.capacity() {
            d.push(page);
            // Relaxed: as in `after_give_page`.
            self.unsorted.store(true, Ordering::Relaxed);
        }
    }

    /// Gives up to `batch` pages and bodies beyond [`DEPOT_PAGES`] and [`DEPOT_BODIES`]
    /// back to the heap, the highest addresses first; returns how many went. The lists
    /// shrink with them (the page list keeping room for every page that still exists,
    /// see the module doc).
    ///
    /// Why the order: the kernel's heap keeps its free blocks in a list sorted by
    /// address and walks it from the lowest address to put a freed block in place. A
    /// block freed above every block freed before it walks only past the holes that
    /// were there before the trim, and merges with its neighbours as they are freed;
    /// in any other order each free walks past the thousands of holes the earlier ones
    /// left, and a large trim takes minutes.
    pub(crate) fn trim(&self, batch: usize) -> usize {
        let mut pages = self.pages.lock();
        let mut bodies = self.bodies.lock();
        if pages.len() <= DEPOT_PAGES && bodies.len() <= DEPOT_BODIES {
            return 0;
        }
        // Relaxed: set only under these locks (see `after_give_page`).
        if self.unsorted.swap(false, Ordering::Relaxed) {
            pages.sort_unstable_by_key(|p| p.addr());
            bodies.sort_unstable_by_key(|b| body_addr(b));
        }
        let (mut n_pages, mut n_bodies) = (0, 0);
        for _ in 0..batch {
            let page = pages.len() > DEPOT_PAGES;
            let body = bodies.len() > DEPOT_BODIES;
            let take_page = match (pages.last(), bodies.last()) {
                _ if page && !body => true,
                _ if body && !page => false,
                (Some(p), Some(b)) if page && body => p.addr() > body_addr(b),
                _ => break,
            };
            if take_page {
                if let Some(p) = pages.pop() {
                    p.free();
                    n_pages += 1;
                }
            } else if bodies.pop().is_some() {
                n_bodies += 1;
            }
        }
        // Relaxed: changed only under the page list's lock.
        let made = self.made.load(Ordering::Relaxed) - n_pages;
        self.made.store(made, Ordering::Relaxed);
        self.returned.fetch_add(n_pages, Ordering::Relaxed);
        let keep = made.max(DEPOT_PAGES);
        if pages.capacity() > 2 * keep {
            pages.shrink_to(keep);
        }
        let keep = bodies.len().max(DEPOT_BODIES);
        if bodies.capacity() > 2 * keep {
            bodies.shrink_to(keep);
        }
        n_pages + n_bodies
    }

    /// As [`Depot::after_give_page`], for bodies.
    #[allow(clippy::vec_box)]
    pub(crate) fn after_give_body(&self, bodies: &mut Vec<Box<Body>>) {
        if bodies.len() > POOL_BODIES {
            spill(bodies, POOL_BODIES / 2, &self.bodies);
            // Relaxed: as in `after_give_page`.
            self.unsorted.store(true, Ordering::Relaxed);
        }
    }

    /// As [`Depot::refill_pages`], for bodies.
    #[allow(clippy::vec_box)]
    pub(crate) fn refill_bodies(&self, bodies: &mut Vec<Box<Body>>) {
        refill(bodies, POOL_BODIES / 2, &self.bodies);
    }

    /// What the depot holds, in a pool's terms (it makes no pages itself: the pages
    /// in it are counted in the `made` of the pools that made them).
    pub(crate) fn stats(&self) -> PoolStats {
        let (pages, bodies) = (self.pages.lock(), self.bodies.lock());
        PoolStats {
            made: 0,
            // Relaxed: a statistic.
            returned: self.returned.load(Ordering::Relaxed),
            free: pages.len(),
            bodies: bodies.len(),
            body_bytes: crate::proc::Z80_BODY,
            list_bytes: (pages.capacity() + bodies.capacity()) * core::mem::size_of::<usize>(),
        }
    }
}

impl<P: crate::Platform + ?Sized> crate::Engine<P> {
    /// Bytes of free pages and recycled bodies in the depot: memory any core's Z80
    /// spawns use before they ask the heap. A platform whose heap is down to its
    /// reserve can still allow spawns while this lasts (the kernel's `memory_low`).
    /// The pools' own stock (at most [`POOL_PAGES`] and [`POOL_BODIES`] each) is not
    /// counted: only its core reaches it. Allocates nothing.
    pub fn pooled_spare(&self) -> usize {
        let s = self.depot.stats();
        s.free * crate::memory::PAGE_SIZE + s.bodies * s.body_bytes
    }

    /// Gives up to `batch` of the depot's pages and `batch` of its bodies beyond what
    /// it keeps ([`DEPOT_PAGES`], [`DEPOT_BODIES`]) back to the heap; returns how many
    /// went (0: nothing beyond). Called until it returns 0 by whoever wants the
    /// memory back (the kernel's memory test).
    pub fn trim_memory(&self, batch: usize) -> usize {
        self.depot.trim(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spill_keeps_the_first_items_and_refill_takes_a_batch() {
        let depot = Mutex::new(Vec::new());
        let mut local: Vec<u32> = (0..10).collect();
        spill(&mut local, 4, &depot);
        assert_eq!((local.len(), depot.lock().len()), (4, 6));
        let mut other = Vec::new();
        refill(&mut other, 4, &depot);
        assert_eq!((other.len(), depot.lock().len()), (4, 2));
        refill(&mut other, 4, &depot);
        assert_eq!((other.len(), depot.lock().len()), (6, 0), "no more than the depot has");
        // Nothing is lost or duplicated on the way.
        let mut all: Vec<u32> = local.iter().chain(&other).copied().collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }
}
