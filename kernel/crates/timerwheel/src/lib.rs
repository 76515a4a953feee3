//! Hierarchical timing wheel: O(1) insert, O(1) cancel, and `advance` to collect expired timers.
//!
//! What: one wheel per scheduler core holds the timeouts of the processes it runs (receive
//! timeouts and sleeps; time slices are counted in reductions, not here). Time is in *ticks* (the kernel's 1 ms tick), as an absolute
//! `u64` that never wraps in practice; the wheel indices wrap, the time base does not.
//!
//! Why: a scheduler can arm and cancel far more timers than it fires (in BEAM a `receive ... after`
//! that gets its message cancels its timer), so both are O(1); and an idle core must know its next
//! deadline to program the hardware timer and sleep (tickless idle).
//!
//! Source followed: BEAM's timer wheel (`erts/emulator/beam/erl_time.h`, `time.c`; see
//! `notes/BEAM.md` §8): a *soon* wheel of 2^14 one-tick slots, a *later* wheel of 2^14 slots each
//! 2^13 ticks wide, an *at-once* list for deadlines already reached, and circular doubly linked slot
//! lists. Our layout and bookkeeping are our own:
//!
//! * Timers live in a slab (`Vec`) and are linked by index; a [`Handle`] is (index, generation),
//!   so cancelling a fired, cancelled or reused handle is a harmless `None`.
//! * A timer with deadline `d` sits in soon slot `d mod 2^14` when `now < d <= now + 2^14`, which
//!   makes every soon slot hold exactly one deadline. Otherwise it sits in later slot
//!   `(d >> 13) mod 2^14`, and that slot is *cascaded* into the soon wheel when `now` enters the
//!   8192-tick page before the slot's own page; timers then are 8192..16383 ticks from due.
//! * Deadlines beyond the later wheel's reach (about 37.3 h ahead) share slots with nearer ones
//!   (the index wraps). When such a slot is cascaded, a timer not yet due in this turn is simply
//!   re-inserted for the next turn: O(1) per timer per 37 h, and no separate overflow structure.
//! * One bit per slot (two 2^14-bit maps) lets `advance` and `next_deadline` jump straight to the
//!   next occupied slot, so a large jump of `now` costs O(timers + slots touched / 64), not O(ticks).
//!
//! Firing rule: a timer inserted with deadline `d` is returned by the first [`TimerWheel::advance`]
//! whose `now >= d` (so never early, and never later than that call), then collected with
//! [`TimerWheel::pop_expired`], in deadline order apart from already-due inserts. A timer inserted
//! while the caller is still draining, with a deadline already reached, is returned by the *next*
//! `advance`; a zero-delay re-arm therefore cannot loop forever inside one drain.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// log2 of the number of soon-wheel slots (BEAM's ERTS_TW_SOON_WHEEL_BITS).
pub const SOON_BITS: u32 = 14;
/// Soon-wheel slots, one tick each: deadlines up to this many ticks ahead go straight in.
pub const SOON_SLOTS: u64 = 1 << SOON_BITS;
/// log2 of the number of later-wheel slots (BEAM's ERTS_TW_LATER_WHEEL_BITS).
pub const LATER_BITS: u32 = 14;
/// Later-wheel slots.
pub const LATER_SLOTS: u64 = 1 << LATER_BITS;
/// log2 of the ticks covered by one later-wheel slot (one "page").
pub const PAGE_BITS: u32 = 13;
/// Ticks covered by one later-wheel slot.
pub const PAGE_TICKS: u64 = 1 << PAGE_BITS;
/// Largest time the wheel represents (2^62 ticks, about 146 million years of 1 ms ticks). Later
/// deadlines are clamped to it and `advance` never goes beyond it, which keeps all page arithmetic
/// free of overflow.
pub const MAX_TIME: u64 = 1 << 62;

const SOON_MASK: u64 = SOON_SLOTS - 1;
const LATER_MASK: u64 = LATER_SLOTS - 1;
const NIL: u32 = u32::MAX;
/// List ids: `0..SOON_SLOTS` soon slots, then later slots, then the two plain lists.
const LATER_BASE: u32 = SOON_SLOTS as u32;
const AT_ONCE: u32 = LATER_BASE + LATER_SLOTS as u32;
const EXPIRED: u32 = AT_ONCE + 1;
const NUM_LISTS: usize = EXPIRED as usize + 1;
/// `list` value of a free slab entry.
const FREE: u32 = u32::MAX;
const SOON_WORDS: usize = (SOON_SLOTS / 64) as usize;
const LATER_WORDS: usize = (LATER_SLOTS / 64) as usize;

/// Names one armed timer. Stale handles (fired, cancelled, slot reused) are detected by the
/// generation and ignored; a slab slot would have to be reused 2^32 times to alias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle {
    index: u32,
    generation: u32,
}

/// A timer returned by [`TimerWheel::pop_expired`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired<T> {
    /// The handle `insert` returned; it is stale from now on.
    pub handle: Handle,
    /// The deadline it was inserted with (after clamping to [`MAX_TIME`]).
    pub deadline: u64,
    /// The caller's payload.
    pub payload: T,
}

struct Entry<T> {
    generation: u32,
    /// Which list holds the entry, or [`FREE`].
    list: u32,
    prev: u32,
    /// Next in its list; in a free entry, the next free entry.
    next: u32,
    deadline: u64,
    payload: Option<T>,
}

/// The wheel. `T` is the payload returned when a timer fires.
pub struct TimerWheel<T> {
    now: u64,
    entries: Vec<Entry<T>>,
    free: u32,
    /// Head entry of each circular doubly linked list (the head's `prev` is the tail), or [`NIL`].
    heads: Box<[u32]>,
    /// Bit per soon slot: list non-empty.
    soon_bits: Box<[u64]>,
    /// Bit per later slot: list non-empty.
    later_bits: Box<[u64]>,
    soon_count: usize,
    later_count: usize,
    /// Entries in the expired list.
    expired_count: usize,
    /// No soon-slot firing or later-slot cascade is due at any tick before this one, so an
    /// `advance` to an earlier tick only moves `now` (O(1) per kernel tick). Lowered by `insert`,
    /// recomputed by `advance`; a cancel may leave it early, which is harmless.
    horizon: u64,
    /// Armed timers, including expired ones not yet popped.
    len: usize,
}

impl<T> core::fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimerWheel")
            .field("now", &self.now)
            .field("len", &self.len)
            .field("soon", &self.soon_count)
            .field("later", &self.later_count)
            .finish_non_exhaustive()
    }
}

/// Smallest `d` such that bit `(start + d) mod (64 * words)` is set, if any.
fn next_set(bits: &[u64], start: usize) -> Option<usize> {
    let n = bits.len() * 64;
    let (w0, b0) = (start / 64, start % 64);
    let first = bits[w0] & (!0u64 << b0);
    if first != 0 {
        return Some(w0 * 64 + first.trailing_zeros() as usize - start);
    }
    for step in 1..=bits.len() {
        let w = (w0 + step) % bits.len();
        let word = if step == bits.len() { bits[w] & !(!0u64 << b0) } else { bits[w] };
        if word != 0 {
            let pos = w * 64 + word.trailing_zeros() as usize;
            return Some((pos + n - start) % n);
        }
    }
    None
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new(0)
    }
}

impl<T> TimerWheel<T> {
    /// An empty wheel whose current time is `now` ticks. Allocates about 130 KiB of slot heads.
    pub fn new(now: u64) -> Self {
        Self::with_capacity(now, 0)
    }

    /// As [`TimerWheel::new`], with room for `capacity` timers before the slab grows.
    pub fn with_capacity(now: u64, capacity: usize) -> Self {
        TimerWheel {
            now: now.min(MAX_TIME),
            entries: Vec::with_capacity(capacity),
            free: NIL,
            heads: vec![NIL; NUM_LISTS].into_boxed_slice(),
            soon_bits: vec![0; SOON_WORDS].into_boxed_slice(),
            later_bits: vec![0; LATER_WORDS].into_boxed_slice(),
            soon_count: 0,
            later_count: 0,
            expired_count: 0,
            horizon: u64::MAX,
            len: 0,
        }
    }

    /// The time of the last [`TimerWheel::advance`] (or of creation).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Armed timers, counting expired ones not yet popped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Slab entries allocated: armed timers plus freed entries kept for reuse. It grows only
    /// when more timers are armed at once than ever before, so it is the high-water mark of
    /// [`TimerWheel::len`].
    pub fn slab_len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes the slab holds (its capacity): the slab keeps the size it grew to.
    pub fn slab_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Entry<T>>()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Arm a timer for absolute tick `deadline` (clamped to [`MAX_TIME`]). A deadline at or before
    /// `now()` fires at the next `advance`. O(1); the slab may grow (amortised).
    ///
    /// # Panics
    /// If the slab cannot grow: more than `u32::MAX - 1` timers armed at once, or no memory
    /// ([`TimerWheel::try_insert`] reports that instead).
    pub fn insert(&mut self, deadline: u64, payload: T) -> Handle {
        match self.try_insert(deadline, payload) {
            Ok(h) => h,
            Err(_) => panic!("timer slab full"),
        }
    }

    /// As [`TimerWheel::insert`], but a slab that cannot grow (no memory, or `u32::MAX - 1`
    /// timers armed) gives the payload back instead of panicking. Nothing changes then.
    pub fn try_insert(&mut self, deadline: u64, payload: T) -> Result<Handle, T> {
        if self.free == NIL
            && (u32::try_from(self.entries.len()).map_or(true, |i| i == NIL) || self.entries.try_reserve(1).is_err())
        {
            return Err(payload);
        }
        let deadline = deadline.min(MAX_TIME);
        let index = if self.free != NIL {
            let i = self.free;
            let e = &mut self.entries[i as usize];
            self.free = e.next;
            e.deadline = deadline;
            e.payload = Some(payload);
            i
        } else {
            // Room and index checked above.
            let i = self.entries.len() as u32;
            self.entries.push(Entry {
                generation: 0,
                list: FREE,
                prev: NIL,
                next: NIL,
                deadline,
                payload: Some(payload),
            });
            i
        };
        let list = self.list_for(deadline);
        self.link(index, list);
        self.len += 1;
        let event = if list < LATER_BASE {
            deadline
        } else if list < AT_ONCE {
            // The slot is cascaded at the start of the page before the first page >= now's + 2
            // that maps to it (its own page, or an earlier turn for a far deadline).
            let first = (self.now >> PAGE_BITS) + 2;
            let page = first + (((deadline >> PAGE_BITS) - first) & LATER_MASK);
            (page - 1) << PAGE_BITS
        } else {
            u64::MAX
        };
        self.horizon = self.horizon.min(event);
        Ok(Handle { index, generation: self.entries[index as usize].generation })
    }

    /// Arm a timer `delay` ticks after `now()`: it fires at the first `advance(t)` with
    /// `t >= now() + delay`. A zero delay fires at the next `advance`.
    pub fn insert_after(&mut self, delay: u64, payload: T) -> Handle {
        self.insert(self.now.saturating_add(delay), payload)
    }

    /// Disarm a timer. Returns its payload, or `None` if the handle is stale (already popped,
    /// already cancelled). An expired timer not yet popped can still be cancelled. O(1).
    pub fn cancel(&mut self, handle: Handle) -> Option<T> {
        let e = self.entries.get(handle.index as usize)?;
        if e.generation != handle.generation || e.list == FREE {
            return None;
        }
        self.unlink(handle.index);
        self.len -= 1;
        Some(self.release(handle.index).1)
    }

    /// The deadline of an armed timer, or `None` for a stale handle.
    pub fn deadline(&self, handle: Handle) -> Option<u64> {
        let e = self.entries.get(handle.index as usize)?;
        (e.generation == handle.generation && e.list != FREE).then_some(e.deadline)
    }

    /// Move time forward to `now` (a smaller value changes nothing but still collects the
    /// at-once list) and queue every timer with deadline `<= now` for [`TimerWheel::pop_expired`].
    /// Returns how many expired timers are waiting to be popped.
    ///
    /// Cost: O(1) when nothing is due before `now` (the usual per-tick call); otherwise
    /// O(expired + cascaded timers) plus one bitmap scan per occupied slot reached, so a jump of
    /// any size over empty slots costs one scan.
    pub fn advance(&mut self, now: u64) -> usize {
        let target = now.min(MAX_TIME);
        self.splice_all(AT_ONCE, EXPIRED);
        if target > self.now && target >= self.horizon {
            // Only a cascade changes the later wheel during this loop, so its scan is redone only then.
            let mut later_ev = self.next_cascade_tick();
            loop {
                let soon_ev = self.next_soon_tick();
                let ev = soon_ev.min(later_ev);
                if ev > target {
                    self.horizon = ev;
                    break;
                }
                self.now = ev;
                if later_ev == ev {
                    self.cascade((ev >> PAGE_BITS) + 1);
                    later_ev = self.next_cascade_tick();
                }
                if soon_ev == ev {
                    self.splice_all((ev & SOON_MASK) as u32, EXPIRED);
                }
            }
        }
        self.now = self.now.max(target);
        self.expired_count
    }

    /// Take the next expired timer. Timers that were already due when inserted come first, in
    /// insertion order; the rest follow in deadline order (equal deadlines in no fixed order).
    /// Inserting or cancelling between calls is allowed.
    pub fn pop_expired(&mut self) -> Option<Fired<T>> {
        let index = self.heads[EXPIRED as usize];
        if index == NIL {
            return None;
        }
        self.unlink(index);
        self.len -= 1;
        let (handle, payload) = self.release(index);
        Some(Fired { handle, deadline: self.entries[index as usize].deadline, payload })
    }

    /// Whether expired timers are waiting for [`TimerWheel::pop_expired`].
    pub fn has_expired(&self) -> bool {
        self.heads[EXPIRED as usize] != NIL
    }

    /// A tick at or before the earliest deadline of any armed timer, or `None` if none is armed.
    /// `Some(now())` if something is already due (expired, or inserted with a past deadline).
    /// Exact for timers in the soon wheel; for the later wheel it may be early, by up to one page
    /// (8192 ticks) for an exact slot or by whole wheel turns for far timers. Never late: an idle
    /// core may safely sleep until the returned tick and then `advance`.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.has_expired() || self.heads[AT_ONCE as usize] != NIL {
            return Some(self.now);
        }
        let soon = self.next_soon_tick();
        let later = if self.later_count == 0 {
            u64::MAX
        } else {
            // The first occupied later slot k holds deadlines >= k * PAGE_TICKS.
            self.next_cascade_tick() + PAGE_TICKS
        };
        let best = soon.min(later);
        (best != u64::MAX).then_some(best)
    }

    /// Tick of the earliest soon-wheel timer, or `u64::MAX`.
    fn next_soon_tick(&self) -> u64 {
        if self.soon_count == 0 {
            return u64::MAX;
        }
        let start = ((self.now + 1) & SOON_MASK) as usize;
        let d = next_set(&self.soon_bits, start).expect("soon_count > 0 but no slot bit set");
        self.now + 1 + d as u64
    }

    /// Tick at which the next occupied later slot must be cascaded (the start of the page before
    /// the slot's own page), or `u64::MAX`. Every later-wheel timer has its page >= current + 2.
    fn next_cascade_tick(&self) -> u64 {
        if self.later_count == 0 {
            return u64::MAX;
        }
        let first = (self.now >> PAGE_BITS) + 2;
        let d = next_set(&self.later_bits, (first & LATER_MASK) as usize).expect("later_count > 0 but no bit");
        (first + d as u64 - 1) << PAGE_BITS
    }

    /// Move later slot for page `page` into the soon wheel (or back into the later wheel for a
    /// far timer whose turn has not come). Called with `now` at the start of page `page - 1`.
    fn cascade(&mut self, page: u64) {
        let list = LATER_BASE + (page & LATER_MASK) as u32;
        let head = self.heads[list as usize];
        if head == NIL {
            return;
        }
        let tail = self.entries[head as usize].prev;
        self.detach(list);
        let mut i = head;
        loop {
            let next = self.entries[i as usize].next;
            self.later_count -= 1;
            let target = self.list_for(self.entries[i as usize].deadline);
            debug_assert!(target < AT_ONCE, "cascaded timer already due");
            self.link(i, target);
            if i == tail {
                break;
            }
            i = next;
        }
    }

    /// Move every entry of list `from` to the end of list `to`, in order: one pass to relabel the
    /// entries, then the two circular lists are joined in O(1).
    fn splice_all(&mut self, from: u32, to: u32) {
        let head = self.heads[from as usize];
        if head == NIL {
            return;
        }
        let mut n = 0;
        let mut i = head;
        loop {
            let e = &mut self.entries[i as usize];
            e.list = to;
            n += 1;
            i = e.next;
            if i == head {
                break;
            }
        }
        self.count(from, n, false);
        self.count(to, n, true);
        self.detach(from);
        let to_head = self.heads[to as usize];
        if to_head == NIL {
            self.heads[to as usize] = head;
            self.set_bit(to, true);
        } else {
            let to_tail = self.entries[to_head as usize].prev;
            let from_tail = self.entries[head as usize].prev;
            self.entries[to_tail as usize].next = head;
            self.entries[head as usize].prev = to_tail;
            self.entries[from_tail as usize].next = to_head;
            self.entries[to_head as usize].prev = from_tail;
        }
    }

    /// Adjust the per-kind counters for `n` entries entering (`add`) or leaving `list`.
    fn count(&mut self, list: u32, n: usize, add: bool) {
        let counter = if list < LATER_BASE {
            &mut self.soon_count
        } else if list < AT_ONCE {
            &mut self.later_count
        } else if list == EXPIRED {
            &mut self.expired_count
        } else {
            return;
        };
        if add {
            *counter += n;
        } else {
            *counter -= n;
        }
    }

    /// Empty list `list` without touching its entries (the caller relinks them all).
    fn detach(&mut self, list: u32) {
        self.heads[list as usize] = NIL;
        self.set_bit(list, false);
    }

    fn list_for(&self, deadline: u64) -> u32 {
        if deadline <= self.now {
            AT_ONCE
        } else if deadline - self.now <= SOON_SLOTS {
            (deadline & SOON_MASK) as u32
        } else {
            LATER_BASE + ((deadline >> PAGE_BITS) & LATER_MASK) as u32
        }
    }

    fn set_bit(&mut self, list: u32, on: bool) {
        let (bits, slot) = if list < LATER_BASE {
            (&mut self.soon_bits, list as usize)
        } else if list < AT_ONCE {
            (&mut self.later_bits, (list - LATER_BASE) as usize)
        } else {
            return;
        };
        let mask = 1u64 << (slot % 64);
        if on {
            bits[slot / 64] |= mask;
        } else {
            bits[slot / 64] &= !mask;
        }
    }

    /// Append entry `i` (not in any list) to the tail of `list`.
    fn link(&mut self, i: u32, list: u32) {
        let head = self.heads[list as usize];
        if head == NIL {
            self.heads[list as usize] = i;
            let e = &mut self.entries[i as usize];
            e.prev = i;
            e.next = i;
            self.set_bit(list, true);
        } else {
            let tail = self.entries[head as usize].prev;
            self.entries[tail as usize].next = i;
            self.entries[head as usize].prev = i;
            let e = &mut self.entries[i as usize];
            e.prev = tail;
            e.next = head;
        }
        self.entries[i as usize].list = list;
        self.count(list, 1, true);
    }

    /// Remove entry `i` from whatever list holds it.
    fn unlink(&mut self, i: u32) {
        let (list, prev, next) = {
            let e = &self.entries[i as usize];
            (e.list, e.prev, e.next)
        };
        if next == i {
            self.heads[list as usize] = NIL;
            self.set_bit(list, false);
        } else {
            self.entries[prev as usize].next = next;
            self.entries[next as usize].prev = prev;
            if self.heads[list as usize] == i {
                self.heads[list as usize] = next;
            }
        }
        self.count(list, 1, false);
    }

    /// Return unlinked entry `i` to the free list; yields its old handle and payload.
    fn release(&mut self, i: u32) -> (Handle, T) {
        let e = &mut self.entries[i as usize];
        let handle = Handle { index: i, generation: e.generation };
        let payload = e.payload.take().expect("armed timer without payload");
        e.generation = e.generation.wrapping_add(1);
        e.list = FREE;
        e.next = self.free;
        self.free = i;
        (handle, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_set_wraps_and_finds_start_bit() {
        let mut bits = [0u64; 4];
        assert_eq!(next_set(&bits, 0), None);
        bits[0] = 1 << 5;
        assert_eq!(next_set(&bits, 5), Some(0));
        assert_eq!(next_set(&bits, 3), Some(2));
        assert_eq!(next_set(&bits, 6), Some(256 - 1));
        assert_eq!(next_set(&bits, 200), Some(256 - 200 + 5));
        bits[3] = 1 << 63;
        assert_eq!(next_set(&bits, 6), Some(255 - 6));
        bits[1] = 1 << 1;
        assert_eq!(next_set(&bits, 6), Some(65 - 6));
    }

    /// Counters, bitmaps and slot lists agree after inserts and cancels.
    #[test]
    fn lists_stay_consistent() {
        let mut w = TimerWheel::new(0);
        let hs: Vec<Handle> = (0..100).map(|i| w.insert(i * 997, i)).collect();
        let check = |w: &TimerWheel<u64>| {
            let occupied = |r: core::ops::Range<usize>| w.heads[r].iter().filter(|&&h| h != NIL).count();
            let bits = |b: &[u64]| b.iter().map(|x| x.count_ones() as usize).sum::<usize>();
            assert_eq!(bits(&w.soon_bits), occupied(0..LATER_BASE as usize));
            assert_eq!(bits(&w.later_bits), occupied(LATER_BASE as usize..AT_ONCE as usize));
            let at_once = usize::from(w.heads[AT_ONCE as usize] != NIL);
            assert_eq!(w.soon_count + w.later_count + at_once + w.expired_count, w.len());
        };
        check(&w);
        for h in hs.iter().step_by(3) {
            assert!(w.cancel(*h).is_some());
        }
        assert_eq!(w.len(), 100 - 34);
        check(&w);
        w.advance(40_000);
        check(&w);
    }
}
