//! Per-core pools of queue nodes, so a send on the fast path takes no lock and touches no
//! cache line that every core shares.
//!
//! What: a [`NodePool`] keeps nodes freed by consumers for the next pushes of its owner (one
//! pool per core; [`crate::Mailbox::try_push_in`] takes a node from the pool it is given,
//! [`crate::Mailbox::consumer_in`] frees nodes to the pool each node names as its home). A pool
//! has two free lists:
//!
//! * the *local* list, used by whoever holds the pool's `busy` flag (in practice always its own
//!   core: the flag is taken with one uncontended compare-exchange on a line only that core
//!   writes). A caller that finds the flag taken does not wait: it allocates from the heap, or
//!   frees elsewhere. A node freed on a core goes to that core's local list while it has room,
//!   whichever pool made it (it is warm in that core's cache, and the pool adopts it);
//! * the *remote* list, a lock-free stack a core pushes onto when its own local list is full
//!   (one compare-exchange on the node's home pool's remote line, shared only by the cores that
//!   free its nodes), so a one-way flow of messages sends its nodes back to the sender. The owner takes
//!   the whole stack with one exchange when its local list runs dry, so there is no ABA problem
//!   (nothing pops single nodes from it).
//!
//! Bounds: the remote list takes at most `high_water` nodes (a free past that goes back to the
//! heap), and the local list keeps at most `high_water` (a drain or a local free past that gives
//! nodes back to the heap), so a pool never holds more than about `2 × high_water` nodes however
//! large a burst was.
//!
//! Every node is still its own `Box<Node<T>>` heap allocation: a pool only keeps freed ones. So a
//! node can always be freed to the heap instead (the mailbox's `Drop` does, as does a consumer
//! made without pools), and a pool's index in a node is only a hint of where to give it back.
//! Allocation is fallible: when the heap refuses a node, the push gives the message back.
//!
//! Source followed: the remote-free list is mimalloc's "thread-delayed free" idea (a per-page
//! atomic list the owning thread collects), here per pool; the stack is R. K. Treiber's, popped
//! only as a whole.

use alloc::boxed::Box;
use core::mem::MaybeUninit;
use core::ptr;

use crate::sync::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, UnsafeCell};
use crate::Node;

/// The `home` of a node that belongs to no pool: it goes back to the heap.
pub(crate) const HEAP: u32 = u32::MAX;

/// What one pool holds and has done (a snapshot; exact when nothing runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Nodes this pool allocated from the heap.
    pub made: usize,
    /// Nodes of this pool given back to the heap because the pool held enough.
    pub returned: usize,
    /// Free nodes the pool holds now (local and remote lists).
    pub cached: usize,
    /// Bytes of one node.
    pub node_bytes: usize,
}

/// The remote list, on its own cache line (128 bytes: the largest line of the machines the
/// kernel runs on), away from the owner's local list.
#[repr(align(128))]
struct Remote<T> {
    head: AtomicPtr<Node<T>>,
    /// Nodes pushed and not yet drained (an upper bound while pushes race a drain).
    len: AtomicUsize,
}

/// A pool of free queue nodes owned by one core. See the module documentation.
#[repr(align(128))]
pub struct NodePool<T> {
    remote: Remote<T>,
    /// Held while the local list is used.
    busy: AtomicBool,
    /// The local free list (linked through `next`); only touched while `busy` is held.
    local: UnsafeCell<*mut Node<T>>,
    /// Nodes in the local list (written while `busy` is held; read by `stats`).
    local_len: AtomicUsize,
    made: AtomicUsize,
    returned: AtomicUsize,
    high_water: usize,
    index: u32,
}

// SAFETY: the pool owns free nodes whose values are uninitialised (moved out), so it holds no
// `T`; the local list is only touched under the `busy` flag (Acquire/Release), the remote list
// only through atomics.
unsafe impl<T: Send> Send for NodePool<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for NodePool<T> {}

impl<T> core::fmt::Debug for NodePool<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NodePool").field("index", &self.index).field("stats", &self.stats()).finish()
    }
}

impl<T> NodePool<T> {
    /// An empty pool. `index` is its place in the slice of pools it is used in (nodes record it
    /// to find their way back); `high_water` bounds each of its two lists.
    pub fn new(index: u32, high_water: usize) -> Self {
        NodePool {
            remote: Remote { head: AtomicPtr::new(ptr::null_mut()), len: AtomicUsize::new(0) },
            busy: AtomicBool::new(false),
            local: UnsafeCell::new(ptr::null_mut()),
            local_len: AtomicUsize::new(0),
            made: AtomicUsize::new(0),
            returned: AtomicUsize::new(0),
            high_water,
            index,
        }
    }

    /// What the pool holds and has done.
    pub fn stats(&self) -> PoolStats {
        // Relaxed: statistics.
        PoolStats {
            made: self.made.load(Ordering::Relaxed),
            returned: self.returned.load(Ordering::Relaxed),
            cached: self.local_len.load(Ordering::Relaxed) + self.remote.len.load(Ordering::Relaxed),
            node_bytes: core::mem::size_of::<Node<T>>(),
        }
    }

    /// A node holding `value`: a free one of this pool, or a new one from the heap (`Err` with
    /// the value when the heap refuses).
    pub(crate) fn take(&self, value: T) -> Result<*mut Node<T>, T> {
        let node = self.take_free();
        if node.is_null() {
            let node = Node::try_alloc(value)?;
            // SAFETY: `node` is fresh and not yet shared.
            unsafe { (*node).home = self.index };
            // Relaxed: a statistic.
            self.made.fetch_add(1, Ordering::Relaxed);
            return Ok(node);
        }
        // SAFETY: a free node is owned by whoever took it from a list (here: us, exclusively);
        // its old value was moved out before it was freed, so writing over it drops nothing.
        // A node another pool made becomes this pool's (see `free`).
        unsafe {
            (*node).home = self.index;
            (*node).next.store(ptr::null_mut(), Ordering::Relaxed);
            (*node).value.with_mut(|p| p.write(MaybeUninit::new(value)));
        }
        Ok(node)
    }

    /// A node whose value is uninitialised: a free one of this pool, or a new one from the heap
    /// (None when the heap refuses). The caller writes the value before anyone reads it.
    pub(crate) fn take_raw(&self) -> Option<*mut Node<T>> {
        let mut node = self.take_free();
        if node.is_null() {
            node = Node::try_alloc_raw()?;
            // Relaxed: a statistic.
            self.made.fetch_add(1, Ordering::Relaxed);
        } else {
            // SAFETY: a free node taken from a list is ours alone.
            unsafe { (*node).next.store(ptr::null_mut(), Ordering::Relaxed) };
        }
        // SAFETY: as above (fresh, or free and ours).
        unsafe { (*node).home = self.index };
        Some(node)
    }

    /// A free node from the local list (refilled from the remote one), or null.
    fn take_free(&self) -> *mut Node<T> {
        // Acquire: pairs with the Release store that last gave the flag back, so the local list
        // as left then is what we see. Relaxed on failure: we read nothing and use the heap.
        if self.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return ptr::null_mut();
        }
        // SAFETY: we hold `busy`, so nothing else touches the local list.
        let node = self.local.with_mut(|local| unsafe {
            if (*local).is_null() {
                *local = self.drain();
            }
            let node = *local;
            if !node.is_null() {
                // Relaxed: the node is ours (free and listed only here).
                *local = (*node).next.load(Ordering::Relaxed);
                self.local_len.store(self.local_len.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
            }
            node
        });
        // Release: hands the local list to the next holder of the flag.
        self.busy.store(false, Ordering::Release);
        node
    }

    /// Takes the whole remote list for the (empty) local list: keeps up to `high_water` nodes
    /// and gives the rest back to the heap. Returns the new local list. Caller holds `busy`.
    ///
    /// # Safety
    /// The caller holds `busy` and the local list is empty.
    unsafe fn drain(&self) -> *mut Node<T> {
        // Acquire: pairs with the Release pushes, so each node's last use (the consumer's read
        // of its value, its `next`) happened before we reuse it.
        let chain = self.remote.head.swap(ptr::null_mut(), Ordering::Acquire);
        let (mut kept, mut last, mut n) = (0usize, ptr::null_mut::<Node<T>>(), 0usize);
        let mut at = chain;
        while !at.is_null() {
            // SAFETY: every node of the taken chain is free and now ours alone.
            let next = unsafe { (*at).next.load(Ordering::Relaxed) };
            n += 1;
            if kept < self.high_water {
                kept += 1;
                last = at;
            } else {
                // SAFETY: as above; cut the kept part's end before freeing the rest.
                unsafe {
                    if !last.is_null() {
                        (*last).next.store(ptr::null_mut(), Ordering::Relaxed);
                    }
                    free_to_heap(at);
                }
                self.returned.fetch_add(1, Ordering::Relaxed);
            }
            at = next;
        }
        // Relaxed: a count, bounded and approximate while pushes race this.
        self.remote.len.fetch_sub(n, Ordering::Relaxed);
        self.local_len.store(kept, Ordering::Relaxed);
        if kept == 0 {
            ptr::null_mut()
        } else {
            chain
        }
    }

    /// Puts a node freed by the pool's own core on its local list, unless the list holds
    /// `high_water` nodes or is in use; false (the node untouched) if it did not.
    ///
    /// # Safety
    /// As [`NodePool::give`].
    unsafe fn give_local(&self, node: *mut Node<T>) -> bool {
        // Acquire/Relaxed: as in `take_free`.
        if self.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return false;
        }
        // Relaxed: only changed while `busy` is held, which we hold.
        let len = self.local_len.load(Ordering::Relaxed);
        let kept = len < self.high_water;
        if kept {
            // SAFETY: we hold `busy`, so the local list is ours; `node` is ours (caller).
            self.local.with_mut(|local| unsafe {
                (*node).next.store(*local, Ordering::Relaxed);
                *local = node;
            });
            self.local_len.store(len + 1, Ordering::Relaxed);
        }
        // Release: hands the local list to the next holder of the flag.
        self.busy.store(false, Ordering::Release);
        kept
    }

    /// Gives a node freed on another core back to this pool's remote list (or to the heap
    /// when the list holds enough).
    ///
    /// # Safety
    /// `node` is free (its value moved out), reachable by no one else, and a `Box<Node<T>>`.
    unsafe fn give(&self, node: *mut Node<T>) {
        // Relaxed: the bound is approximate by design (racing frees may pass it by a few).
        if self.remote.len.load(Ordering::Relaxed) >= self.high_water {
            // SAFETY: as the caller promised.
            unsafe { free_to_heap(node) };
            self.returned.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.remote.len.fetch_add(1, Ordering::Relaxed);
        let mut head = self.remote.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is ours until the exchange below publishes it.
            unsafe { (*node).next.store(head, Ordering::Relaxed) };
            // Release: publishes `next` and the end of the node's previous use to the drain's
            // Acquire exchange. Relaxed on failure: we only retry with the new head.
            match self.remote.head.compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }
}

impl<T> Drop for NodePool<T> {
    fn drop(&mut self) {
        let local = self.local.with_mut(|l| {
            core::mem::replace(
                // SAFETY: `&mut self`: no one else uses the pool.
                unsafe { &mut *l },
                ptr::null_mut(),
            )
        });
        let remote = self.remote.head.swap(ptr::null_mut(), Ordering::Acquire);
        for mut at in [local, remote] {
            while !at.is_null() {
                // SAFETY: free nodes listed only here, each a `Box<Node<T>>`.
                unsafe {
                    let next = (*at).next.load(Ordering::Relaxed);
                    free_to_heap(at);
                    at = next;
                }
            }
        }
    }
}

/// Frees a node that is done with, on the core whose pool is `pools[at]`: to that pool's local
/// list while it has room (whichever pool made the node: the freeing core's next sends reuse
/// it while it is still in that core's cache), else to the remote list of its home pool in
/// `pools`, else to the heap. So traffic both ways between two cores recycles nodes locally,
/// and a one-way flow fills the receiver's local list once and then sends nodes back to the
/// sender's pool.
///
/// # Safety
/// `node` is free (its value moved out or never written), reachable by no one else, and a
/// `Box<Node<T>>`.
pub(crate) unsafe fn free<T>(node: *mut Node<T>, pools: &[NodePool<T>], at: usize) {
    // SAFETY: as the caller promised.
    unsafe { free_with(node, at, |i| pools.get(i)) }
}

/// As [`free`], with the pools found by index through `pool` (None: no such pool).
///
/// # Safety
/// As [`free`].
pub(crate) unsafe fn free_with<'p, T: 'p>(
    node: *mut Node<T>,
    at: usize,
    pool: impl Fn(usize) -> Option<&'p NodePool<T>>,
) {
    // SAFETY: as the caller promised.
    if pool(at).is_some_and(|own| unsafe { own.give_local(node) }) {
        return;
    }
    // SAFETY: the node is ours (caller).
    let home = unsafe { (*node).home } as usize;
    match pool(home) {
        // SAFETY: as the caller promised.
        Some(pool) => unsafe { pool.give(node) },
        // SAFETY: as the caller promised.
        None => unsafe { free_to_heap(node) },
    }
}

/// # Safety
/// As [`free`].
unsafe fn free_to_heap<T>(node: *mut Node<T>) {
    // SAFETY: a `Box<Node<T>>` (every node is one); its value is uninitialised or moved out, and
    // `MaybeUninit` drops nothing.
    drop(unsafe { Box::from_raw(node) });
}
