//! Lock-free multi-producer single-consumer mailbox, one per process.
//!
//! What: [`Mailbox::push`] may be called from any core at any time; only the holder of the one
//! [`Consumer`] handle takes messages out. Messages from one sender arrive in the order that sender
//! pushed them, and none is lost or duplicated. Whether the owner waits for a message, and who
//! makes it runnable again, is not the mailbox's business: the scheduler's per-process state word
//! decides that (`zbeam_sched::state`, model-checked with loom together with the run queues). An
//! earlier version also kept a "parked" flag in the head pointer; nothing used it, so it is gone.
//!
//! Why: BEAM's outer signal queue is guarded by a per-process lock bit (BEAM.md §7); a scheduler
//! core sending to a process on another core should not spin on that. A node queue needs one atomic
//! exchange per push and no lock.
//!
//! Source followed: Dmitry Vyukov's "non-intrusive MPSC node-based queue" (1024cores.net): producers
//! exchange the head pointer and then link the previous node to theirs; the consumer keeps a stub
//! ("tail") node and moves along `next` links. One addition is ours:
//!
//! * A consumer-side private queue (BEAM's inner queue) for selective receive: [`Consumer::fetch`]
//!   moves the shared queue into it, [`Consumer::take_first`] scans it in arrival order and removes the
//!   first match, leaving skipped messages where they are. It is a `VecDeque` for now; an intrusive
//!   list with receive markers can replace it behind the same methods.
//!
//! Known limit, inherited from the algorithm: a producer stopped between its exchange and its link
//! store (the "window of inconsistency") hides its message and every later one until it resumes.
//! The owner then sees [`Consumer::pop`] return `None` although the message was sent; the
//! sender's wake-up (through the scheduler) still makes the owner run again, and a later receive
//! finds the message once the link is stored. Interrupts are not masked around `push` in
//! the kernel; a kernel producer is never descheduled inside it (a send runs to its end within one
//! system call, and interrupt handlers never push), so only an interrupt handler running on that
//! core can hold the window open, for as long as the handler runs. In the hosted runtime the host
//! OS may deschedule a producer thread there.
//!
//! Memory ordering is stated at each atomic operation. `--cfg loom` swaps the atomics for loom's
//! models (see `sync` and `loom.sh`).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod bytes;
mod pool;
mod sync;

pub use bytes::{buffer_bytes, BytePool, PooledBytes, CLASSES, MAX_POOLED};
pub use pool::{NodePool, PoolStats};

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use sync::{AtomicBool, AtomicPtr, Ordering, UnsafeCell};

/// One queue node. Every node is its own `Box<Node<T>>` allocation, whether it came from
/// the heap directly or through a [`NodePool`] (which only keeps freed nodes for reuse), so
/// any node can always be given back to the heap with `Box::from_raw`.
#[repr(C)]
pub(crate) struct Node<T> {
    /// The next node of the queue; in a pool's free lists, the next free node.
    pub(crate) next: AtomicPtr<Node<T>>,
    /// The index of the pool the node goes back to when freed ([`pool::HEAP`]: none, it
    /// goes back to the heap).
    pub(crate) home: u32,
    /// Initialised for every node a producer created; moved out exactly once by the consumer, after
    /// which the node is the consumer's stub and the slot is logically uninitialised.
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Node<T> {
    fn alloc(value: MaybeUninit<T>) -> *mut Node<T> {
        Box::into_raw(Box::new(Node {
            next: AtomicPtr::new(ptr::null_mut()),
            home: pool::HEAP,
            value: UnsafeCell::new(value),
        }))
    }

    /// A node from the heap whose value is uninitialised (None when the heap refuses), going
    /// back to the heap when freed until a pool adopts it.
    fn try_alloc_raw() -> Option<*mut Node<T>> {
        let layout = core::alloc::Layout::new::<Node<T>>();
        // SAFETY: the layout is not zero-sized (a node holds an `AtomicPtr`).
        let p = unsafe { alloc::alloc::alloc(layout) }.cast::<Node<T>>();
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` is a fresh allocation with `Node<T>`'s layout; the link and home are
        // written here, before anyone else can see it, and the value stays uninitialised
        // (`MaybeUninit`).
        unsafe {
            ptr::addr_of_mut!((*p).next).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*p).home).write(pool::HEAP);
        }
        Some(p)
    }

    /// As [`Node::alloc`] with a value, but an allocator out of memory gives the value
    /// back instead of aborting. The node is freed as any other (`Box::from_raw`): it
    /// has `Box`'s layout and comes from the same global allocator.
    fn try_alloc(value: T) -> Result<*mut Node<T>, T> {
        let layout = core::alloc::Layout::new::<Node<T>>();
        // SAFETY: the layout is not zero-sized (a node holds an `AtomicPtr`).
        let p = unsafe { alloc::alloc::alloc(layout) }.cast::<Node<T>>();
        if p.is_null() {
            return Err(value);
        }
        let node = Node {
            next: AtomicPtr::new(ptr::null_mut()),
            home: pool::HEAP,
            value: UnsafeCell::new(MaybeUninit::new(value)),
        };
        // SAFETY: `p` is a fresh allocation with `Node<T>`'s layout, written once here before
        // anyone else can see it.
        unsafe { p.write(node) };
        Ok(p)
    }
}

/// State only the consumer touches.
struct ConsumerSide<T> {
    /// The stub: the last node taken (or the initial empty node). Its value is never read again.
    tail: *mut Node<T>,
    /// Messages already taken from the shared queue but not yet received (selective receive).
    private: VecDeque<T>,
}

/// A process's mailbox. Share it (`&Mailbox` or `Arc<Mailbox>`) with every sender.
pub struct Mailbox<T> {
    /// Producers' end: the newest node.
    head: AtomicPtr<Node<T>>,
    /// Set while a [`Consumer`] handle obtained through [`Mailbox::consumer`] is alive.
    claimed: AtomicBool,
    side: UnsafeCell<ConsumerSide<T>>,
    _owns: PhantomData<T>,
}

// SAFETY: a Mailbox owns `T`s that may be pushed on one thread and popped on another, so it is
// `Send`/`Sync` exactly when `T: Send`. All shared-state access goes through atomics; the consumer
// side is reachable only through a `Consumer`, of which at most one exists (`claimed` / `&mut`).
unsafe impl<T: Send> Send for Mailbox<T> {}
// SAFETY: as above; `push` only moves a `T` into a fresh node, it never hands out `&T`.
unsafe impl<T: Send> Sync for Mailbox<T> {}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> core::fmt::Debug for Mailbox<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mailbox").finish_non_exhaustive()
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox. Allocates the stub node.
    pub fn new() -> Self {
        let stub = Node::alloc(MaybeUninit::uninit());
        Mailbox {
            head: AtomicPtr::new(stub),
            claimed: AtomicBool::new(false),
            side: UnsafeCell::new(ConsumerSide { tail: stub, private: VecDeque::new() }),
            _owns: PhantomData,
        }
    }

    /// Append `msg`. Callable from any thread or core, concurrently with everything else.
    /// Wait-free: one allocation, one exchange, one store.
    pub fn push(&self, msg: T) {
        self.link(Node::alloc(MaybeUninit::new(msg)));
    }

    /// As [`Mailbox::push`], but when no memory can be had for the node, `msg` comes
    /// back (`Err`) and the mailbox is unchanged.
    pub fn try_push(&self, msg: T) -> Result<(), T> {
        self.link(Node::try_alloc(msg)?);
        Ok(())
    }

    /// As [`Mailbox::try_push`], with the node taken from `pools[at]` (a free node of that
    /// pool, or a new one from the heap that will go back to that pool when freed). An `at`
    /// outside `pools` takes the node from the heap.
    pub fn try_push_in(&self, msg: T, pools: &[NodePool<T>], at: usize) -> Result<(), T> {
        let node = match pools.get(at) {
            Some(pool) => pool.take(msg)?,
            None => Node::try_alloc(msg)?,
        };
        self.link(node);
        Ok(())
    }

    /// Appends the new node `node` (not yet seen by anyone).
    fn link(&self, node: *mut Node<T>) {
        // AcqRel: Release publishes the new node's initialisation to the next producer (which writes
        // its `next`); Acquire makes the previous producer's node initialisation visible to us
        // before we write `prev.next`.
        let prev = self.head.swap(node, Ordering::AcqRel);
        // SAFETY: `prev` was the head, so it is a live node: the consumer frees a node only after
        // moving past it, which needs `prev.next` non-null, and only this producer (the one whose
        // exchange returned `prev`) ever writes that field.
        let prev_next = unsafe { &(*prev).next };
        // Release: publishes the node and its message to the consumer's Acquire load of `next`.
        prev_next.store(node, Ordering::Release);
    }

    /// The consumer handle, or `None` if one is already out. The claim is released when the
    /// handle drops, so a process migrating between cores can take it on the new core.
    pub fn consumer(&self) -> Option<Consumer<'_, T>> {
        self.consumer_in(&[], 0)
    }

    /// Takes the consumer claim; false if a handle is already out.
    fn claim(&self) -> bool {
        // Acquire on success: synchronises with the previous handle's Release in `Drop`, so the
        // consumer-side state it left (tail, private queue) is visible on this core.
        // Relaxed on failure: nothing is read.
        self.claimed.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// As [`Mailbox::consumer`], for a consumer running where `pools[at]` is the local pool,
    /// freeing the nodes it is done with to their home pools in `pools` (the pools
    /// [`Mailbox::try_push_in`] was given): to the local list of `pools[at]`, or to the remote
    /// list of another pool. Nodes with no home there go back to the heap.
    pub fn consumer_in<'a>(&'a self, pools: &'a [NodePool<T>], at: usize) -> Option<Consumer<'a, T>> {
        // A handle is made only on success: dropping one releases the claim.
        self.claim().then(|| Consumer { mailbox: self, pools, at })
    }

    /// The consumer handle, without an atomic claim: `&mut self` already proves there is no other.
    pub fn consumer_mut(&mut self) -> Consumer<'_, T> {
        Consumer { mailbox: self, pools: &[], at: 0 }
    }
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        let mut consumer = self.consumer_mut();
        // Every producer's `push` has returned (they borrowed `self`), so every node is linked.
        while consumer.pop_shared().is_some() {}
        let tail = consumer.side().tail;
        // SAFETY: `tail` is the stub, created by `Box::into_raw`, never freed yet, and unreachable
        // from any other thread (we have `&mut self`). Its value is uninitialised or already moved
        // out, and `MaybeUninit` drops nothing. The private queue is dropped with `side`.
        drop(unsafe { Box::from_raw(tail) });
    }
}

/// The owner's handle: the only way to take messages out, so there is exactly one consumer.
pub struct Consumer<'a, T> {
    mailbox: &'a Mailbox<T>,
    /// Where freed nodes go (empty: the heap).
    pools: &'a [NodePool<T>],
    /// The index of the consumer's own pool in `pools`.
    at: usize,
}

impl<T> core::fmt::Debug for Consumer<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Consumer").field("private_len", &self.private_len()).finish_non_exhaustive()
    }
}

impl<T> Drop for Consumer<'_, T> {
    fn drop(&mut self) {
        // Release: hands the consumer-side state to the next `consumer()` call's Acquire.
        self.mailbox.claimed.store(false, Ordering::Release);
    }
}

impl<'a, T> Consumer<'a, T> {
    fn side(&self) -> &ConsumerSide<T> {
        // SAFETY: the consumer side is only accessed through the one live `Consumer`, and this
        // shared borrow is tied to `&self`, so no `&mut` to it can coexist.
        self.mailbox.side.with(|p| unsafe { &*p })
    }

    fn side_mut(&mut self) -> &mut ConsumerSide<T> {
        // SAFETY: this `Consumer` is the only one (claimed flag or `&mut Mailbox`), and the
        // borrow is tied to `&mut self`, so the access is exclusive.
        self.mailbox.side.with_mut(|p| unsafe { &mut *p })
    }

    /// Take the oldest message of the shared queue, if one is fully linked.
    fn pop_shared(&mut self) -> Option<T> {
        let side = self.side_mut();
        let tail = side.tail;
        // SAFETY: `tail` is the live stub; only the consumer frees nodes, and not this one yet.
        let tail_next = unsafe { &(*tail).next };
        // Acquire: pairs with the producer's Release link store, making `next` and its message
        // initialised before we read them.
        let next = tail_next.load(Ordering::Acquire);
        if next.is_null() {
            return None;
        }
        // SAFETY: `next` is live (not yet consumed) and its value was initialised by the producer
        // before the Release store we synchronised with; only the consumer reads values, once each,
        // and `next` becomes the stub so its value is never read again.
        let value = unsafe { (*next).value.with(|p| ptr::read(p).assume_init()) };
        side.tail = next;
        // SAFETY: the old stub is a `Box<Node<T>>` (every node is). No producer can still use
        // it: the only one that held it (as `prev`) has finished with its link store, which we
        // just observed. Its value was moved out (or never written, for the first stub).
        unsafe { pool::free(tail, self.pools, self.at) };
        Some(value)
    }

    /// Take the next message in arrival order: first from the private queue, then the shared one.
    /// `None` means nothing is visible right now.
    pub fn pop(&mut self) -> Option<T> {
        match self.side_mut().private.pop_front() {
            Some(m) => Some(m),
            None => self.pop_shared(),
        }
    }

    /// Move every linked message of the shared queue to the end of the private queue (BEAM's
    /// "fetch outer into inner"). Returns how many were moved.
    pub fn fetch(&mut self) -> usize {
        let mut moved = 0;
        while let Some(m) = self.pop_shared() {
            self.side_mut().private.push_back(m);
            moved += 1;
        }
        moved
    }

    /// Number of messages in the private queue (fetched but not yet received).
    pub fn private_len(&self) -> usize {
        self.side().private.len()
    }

    /// The private queue, oldest first.
    pub fn private_iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.side().private.iter()
    }

    /// Remove and return the private-queue message at `index` (0 = oldest), keeping the order of
    /// the others.
    pub fn remove_private(&mut self, index: usize) -> Option<T> {
        self.side_mut().private.remove(index)
    }

    /// Selective receive: the oldest message (private queue first, then the shared queue) for
    /// which `matches` is true. Messages it skips stay queued, in order, in the private queue.
    pub fn take_first(&mut self, mut matches: impl FnMut(&T) -> bool) -> Option<T> {
        if let Some(i) = self.side().private.iter().position(&mut matches) {
            return self.remove_private(i);
        }
        while let Some(m) = self.pop_shared() {
            if matches(&m) {
                return Some(m);
            }
            self.side_mut().private.push_back(m);
        }
        None
    }

    /// Drops every queued message, private and shared, and gives back the private queue's
    /// spare room, so a mailbox that once held many messages keeps no memory for them (the
    /// engine calls it when a process ends).
    pub fn clear(&mut self) {
        while self.pop().is_some() {}
        self.side_mut().private = VecDeque::new();
    }

    /// Whether both the private queue and the linked part of the shared queue are empty.
    pub fn is_empty(&self) -> bool {
        let side = self.side();
        // SAFETY: `tail` is the live stub (see `pop_shared`).
        let tail_next = unsafe { &(*side.tail).next };
        // Relaxed: a snapshot; nothing is read through the pointer.
        side.private.is_empty() && tail_next.load(Ordering::Relaxed).is_null()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn fifo_single_thread() {
        let mb = Mailbox::new();
        for i in 0..10 {
            mb.push(i);
        }
        let mut c = mb.consumer().unwrap();
        let got: Vec<i32> = core::iter::from_fn(|| c.pop()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert!(c.is_empty());
    }

    #[test]
    fn only_one_consumer_at_a_time() {
        let mb: Mailbox<u8> = Mailbox::new();
        let c = mb.consumer().unwrap();
        assert!(mb.consumer().is_none());
        drop(c);
        assert!(mb.consumer().is_some());
    }

    #[test]
    fn selective_receive_keeps_order_of_skipped() {
        let mb = Mailbox::new();
        for i in 0..10 {
            mb.push(i);
        }
        let mut c = mb.consumer().unwrap();
        assert_eq!(c.take_first(|&m| m == 3), Some(3));
        assert_eq!(c.private_iter().copied().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(c.take_first(|&m| m == 1), Some(1));
        assert_eq!(c.take_first(|&m| m > 100), None);
        assert_eq!(c.private_iter().copied().collect::<Vec<_>>(), [0, 2, 4, 5, 6, 7, 8, 9]);
        mb.push(10);
        assert_eq!(c.fetch(), 1);
        assert_eq!(c.remove_private(1), Some(2));
        let rest: Vec<i32> = core::iter::from_fn(|| c.pop()).collect();
        assert_eq!(rest, [0, 4, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn consumer_mut_works_without_claim() {
        let mut mb = Mailbox::new();
        mb.push(5u64);
        assert_eq!(mb.consumer_mut().pop(), Some(5));
    }
}
