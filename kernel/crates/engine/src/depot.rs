//! The engine-wide depot behind the per-core pools ([`crate::memory::PagePool`]).
//!
//! What: a core's pool keeps at most [`POOL_PAGES`] free pages and [`POOL_BODIES`]
//! recycled Z80 bodies. Past that, half of them move to the depot in one batch; a pool
//! that is empty takes a batch back from the depot before it asks the heap for more.
//!
//! Why: processes often exit on another core than the one they were spawned from (a
//! tree stopped from the shell, a process migrated by the balancer), so without it the
//! pages and bodies pile up in the pools of the cores where processes exit while the
//! cores that spawn allocate new ones from the heap. The pools never give memory back
//! to the heap, so each burst of spawns grew the memory kept for reuse. With the depot,
//! what is kept is bounded by the most processes alive at once plus a pool's fill per
//! core.
//!
//! The depot's lock is taken once per batch (a pool passing its bound, or running
//! empty), never per page or per body, and always after the pool's own lock: a thread
//! never holds two pools' locks, so the order pool then depot cannot deadlock.
//!
//! No page is lost for want of a list entry: a pool makes a page only after the depot's
//! list has room for every page made so far, this one included ([`Depot::room_for_new_page`]),
//! so a page given back when its pool's list cannot grow goes to the depot
//! ([`Depot::keep_page`]), and a spill always fits, however full the heap is.

use crate::memory::PoolStats;
use crate::proc::Body;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;
use zbeam_z80::paged::OwnedPage;

/// Free pages a core's pool keeps; past this, half move to the depot.
pub(crate) const POOL_PAGES: usize = 512;
/// Recycled bodies a core's pool keeps; past this, half move to the depot.
pub(crate) const POOL_BODIES: usize = 256;

/// Pages and bodies no core's pool holds, for any core's pool to take.
#[derive(Default)]
pub(crate) struct Depot {
    /// Its list's capacity is at least `made` (see the module doc).
    pages: Mutex<Vec<OwnedPage<'static>>>,
    /// Pages every pool made together.
    made: AtomicUsize,
    /// Boxed, as the pools keep them (a slot holds a `Box<Body>`).
    #[allow(clippy::vec_box)]
    bodies: Mutex<Vec<Box<Body>>>,
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
        }
    }

    /// As [`Depot::after_give_page`], for bodies.
    #[allow(clippy::vec_box)]
    pub(crate) fn after_give_body(&self, bodies: &mut Vec<Box<Body>>) {
        if bodies.len() > POOL_BODIES {
            spill(bodies, POOL_BODIES / 2, &self.bodies);
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
