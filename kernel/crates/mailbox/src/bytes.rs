//! Per-core pools of byte buffers, for message payloads too long to go inline in a queue node.
//!
//! What: a [`BytePool`] is one [`NodePool`] per size class ([`CLASSES`]: 64, 128, 256, 512 and
//! 1024 bytes), each recycling fixed-size buffers the way the node pools recycle queue nodes: a
//! local list for the owning core and a lock-free remote list the other cores give back to.
//! [`PooledBytes::copy_in`] takes a buffer of the smallest class that holds the bytes from the
//! caller's core's pool (or the heap) and copies them in; [`PooledBytes::recycle`] gives it back
//! from the core that is done with it. A buffer dropped without `recycle` (a message dropped by
//! code that does not know its core) goes back to the heap, so a pool is only ever a cache.
//!
//! Why: a message's payload of 31 to 1024 bytes was a `Box<[u8]>` from the one global heap, whose
//! lock every core shares; with these pools a send and a receive on the fast path touch no line
//! that every core shares.
//!
//! Each buffer is a `Box<Node<[u8; N]>>` of its class (the node's link threads the free lists),
//! so it has the node pools' bounds: a class keeps at most about twice its high-water mark.

use core::ptr::{self, NonNull};

use crate::pool::NodePool;
use crate::{Node, PoolStats};

/// The size classes, in bytes: a buffer holds up to its class's bytes.
pub const CLASSES: [usize; 5] = [64, 128, 256, 512, 1024];

/// The longest payload a pooled buffer holds.
pub const MAX_POOLED: usize = CLASSES[CLASSES.len() - 1];

/// A pool of buffers of every class, owned by one core.
#[derive(Debug)]
pub struct BytePool {
    c64: NodePool<[u8; 64]>,
    c128: NodePool<[u8; 128]>,
    c256: NodePool<[u8; 256]>,
    c512: NodePool<[u8; 512]>,
    c1024: NodePool<[u8; 1024]>,
}

impl BytePool {
    /// An empty pool, at `index` in the slice of pools it is used in; each class keeps at most
    /// about `2 × high_water` free buffers.
    pub fn new(index: u32, high_water: usize) -> Self {
        BytePool {
            c64: NodePool::new(index, high_water),
            c128: NodePool::new(index, high_water),
            c256: NodePool::new(index, high_water),
            c512: NodePool::new(index, high_water),
            c1024: NodePool::new(index, high_water),
        }
    }

    /// What each class's pool holds and has done, smallest class first (`node_bytes` is the
    /// bytes of one buffer with its link).
    pub fn stats(&self) -> [PoolStats; CLASSES.len()] {
        [self.c64.stats(), self.c128.stats(), self.c256.stats(), self.c512.stats(), self.c1024.stats()]
    }

    /// Bytes of the free buffers this pool keeps.
    pub fn cached_bytes(&self) -> usize {
        self.stats().iter().map(|s| s.cached * s.node_bytes).sum()
    }
}

/// The class index of a payload of `len` bytes (`len` at most [`MAX_POOLED`]).
fn class_of(len: usize) -> usize {
    CLASSES.iter().position(|&c| len <= c).unwrap_or(CLASSES.len() - 1)
}

/// The bytes a pooled buffer for `len` bytes occupies (its class and its link), or None when
/// `len` is longer than [`MAX_POOLED`].
pub fn buffer_bytes(len: usize) -> Option<usize> {
    if len > MAX_POOLED {
        return None;
    }
    Some(match class_of(len) {
        0 => size_of::<Node<[u8; 64]>>(),
        1 => size_of::<Node<[u8; 128]>>(),
        2 => size_of::<Node<[u8; 256]>>(),
        3 => size_of::<Node<[u8; 512]>>(),
        _ => size_of::<Node<[u8; 1024]>>(),
    })
}

/// Bytes in a buffer of a pool: owns a `Box<Node<[u8; N]>>` of class `class`, whose first `len`
/// bytes are the payload.
pub struct PooledBytes {
    /// The buffer's node, as the node type of its class (erased).
    node: NonNull<u8>,
    /// The first byte of the buffer.
    data: NonNull<u8>,
    len: u16,
    class: u8,
}

// SAFETY: a `PooledBytes` owns its buffer alone (nothing else points to a taken node); the bytes
// are plain data.
unsafe impl Send for PooledBytes {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for PooledBytes {}

/// Takes a node of `pool`'s class (a free one, or a new one from the heap) and copies `bytes`
/// into it; returns the node and its data, None if the heap refuses.
fn take<const N: usize>(pool: &NodePool<[u8; N]>, bytes: &[u8]) -> Option<(NonNull<u8>, NonNull<u8>)> {
    fill(pool.take_raw()?, bytes)
}

/// As [`take`], always from the heap.
fn take_from_heap<const N: usize>(bytes: &[u8]) -> Option<(NonNull<u8>, NonNull<u8>)> {
    fill(Node::<[u8; N]>::try_alloc_raw()?, bytes)
}

/// Copies `bytes` into the fresh or free node `node`; returns it and its data.
fn fill<const N: usize>(node: *mut Node<[u8; N]>, bytes: &[u8]) -> Option<(NonNull<u8>, NonNull<u8>)> {
    assert!(bytes.len() <= N);
    // SAFETY: a taken node is ours alone; its value is a `[u8; N]` whose bytes past
    // `bytes.len()` are never read (only the first `bytes.len()` are, written here).
    let data = unsafe { (*node).value.with_mut(|p| p.cast::<u8>()) };
    // SAFETY: `data` points to `N >= bytes.len()` writable bytes that `bytes` cannot overlap
    // (the node was free).
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len()) };
    Some((NonNull::new(node.cast::<u8>())?, NonNull::new(data)?))
}

impl PooledBytes {
    /// `bytes` in a buffer from `pools[at]` (the caller's core's pool; any index outside
    /// `pools` takes it from the heap); None when `bytes` is longer than [`MAX_POOLED`] or the
    /// heap refuses a new buffer.
    pub fn copy_in(bytes: &[u8], pools: &[BytePool], at: usize) -> Option<PooledBytes> {
        if bytes.len() > MAX_POOLED {
            return None;
        }
        let class = class_of(bytes.len());
        let (node, data) = match pools.get(at) {
            Some(p) => match class {
                0 => take(&p.c64, bytes),
                1 => take(&p.c128, bytes),
                2 => take(&p.c256, bytes),
                3 => take(&p.c512, bytes),
                _ => take(&p.c1024, bytes),
            },
            // No pool: a buffer straight from the heap (it may join a pool when recycled).
            None => match class {
                0 => take_from_heap::<64>(bytes),
                1 => take_from_heap::<128>(bytes),
                2 => take_from_heap::<256>(bytes),
                3 => take_from_heap::<512>(bytes),
                _ => take_from_heap::<1024>(bytes),
            },
        }?;
        Some(PooledBytes { node, data, len: bytes.len() as u16, class: class as u8 })
    }

    /// The payload's bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `data` points to at least `len` bytes written by `copy_in`, owned by `self`.
        unsafe { core::slice::from_raw_parts(self.data.as_ptr(), self.len as usize) }
    }

    /// Gives the buffer back on the core whose pool is `pools[at]`: to that pool while it has
    /// room, else to its home pool's remote list, else to the heap.
    pub fn recycle(self, pools: &[BytePool], at: usize) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` owns the node (and is not dropped), so it is free and ours alone: the
        // bytes are plain data and need no drop.
        unsafe { this.free(pools, at) }
    }

    /// # Safety
    /// Called once, by the owner, which does not use the buffer again.
    unsafe fn free(&self, pools: &[BytePool], at: usize) {
        let node = self.node.as_ptr();
        // SAFETY: `node` is a `Box<Node<[u8; N]>>` of class `class`, free now (caller), and the
        // slices' pools are of the same class.
        unsafe {
            match self.class {
                0 => free_in(node.cast(), pools, at, |p| &p.c64),
                1 => free_in(node.cast(), pools, at, |p| &p.c128),
                2 => free_in(node.cast(), pools, at, |p| &p.c256),
                3 => free_in(node.cast(), pools, at, |p| &p.c512),
                _ => free_in(node.cast(), pools, at, |p| &p.c1024),
            }
        }
    }
}

/// Frees `node` to the class pools `class` picks out of `pools`.
///
/// # Safety
/// As [`crate::pool::free`].
unsafe fn free_in<const N: usize>(
    node: *mut Node<[u8; N]>,
    pools: &[BytePool],
    at: usize,
    class: impl Fn(&BytePool) -> &NodePool<[u8; N]>,
) {
    // SAFETY: as the caller promised; the pools of one class are indexed as `pools` is.
    unsafe { crate::pool::free_with(node, at, |i| pools.get(i).map(&class)) }
}

impl Drop for PooledBytes {
    fn drop(&mut self) {
        // SAFETY: dropped once; no pool given, so the buffer goes back to the heap.
        unsafe { self.free(&[], usize::MAX) }
    }
}

impl core::fmt::Debug for PooledBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn pools(n: u32) -> Vec<BytePool> {
        (0..n).map(|i| BytePool::new(i, 4)).collect()
    }

    #[test]
    fn bytes_round_trip_in_every_class() {
        let p = pools(2);
        for len in [31, 64, 65, 128, 129, 256, 257, 512, 513, 1000, 1024] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let b = PooledBytes::copy_in(&data, &p, 0).expect("memory");
            assert_eq!(b.as_slice(), &data[..], "{len} bytes");
            assert_eq!(CLASSES[b.class as usize], CLASSES[class_of(len)]);
            assert!(CLASSES[b.class as usize] >= len && (b.class == 0 || CLASSES[b.class as usize - 1] < len));
            b.recycle(&p, 0);
        }
        assert!(PooledBytes::copy_in(&[0; MAX_POOLED + 1], &p, 0).is_none());
    }

    #[test]
    fn a_recycled_buffer_is_reused_by_its_core() {
        let p = pools(2);
        let a = PooledBytes::copy_in(&[1; 100], &p, 0).unwrap();
        let first = a.node;
        a.recycle(&p, 0);
        let b = PooledBytes::copy_in(&[2; 90], &p, 0).unwrap();
        assert_eq!(b.node, first, "the free buffer of the class was taken again");
        assert_eq!(b.as_slice(), &[2; 90][..]);
        assert_eq!(p[0].stats()[1].made, 1);
        drop(b);
    }

    #[test]
    fn a_one_way_flow_sends_buffers_back_to_the_sender() {
        // Core 0 sends, core 1 frees. Core 1's local list fills to its bound, then buffers go
        // to core 0's remote list, which core 0's next takes drain: the heap is asked only
        // for the first buffers, however long the flow.
        let p = pools(2);
        for _ in 0..1000 {
            let b = PooledBytes::copy_in(&[3; 200], &p, 0).unwrap();
            b.recycle(&p, 1);
        }
        let made = p[0].stats()[2].made;
        assert!(made <= 10, "{made} buffers made for a flow of one at a time");
        let total: usize = p.iter().map(|q| q.stats()[2].cached).sum();
        assert!(total <= 16, "bounded: {total} cached");
    }

    #[test]
    fn dropped_buffers_and_buffers_with_no_pool_go_to_the_heap() {
        let p = pools(1);
        let a = PooledBytes::copy_in(&[4; 300], &p, 0).unwrap();
        drop(a);
        assert_eq!(p[0].stats()[3].cached, 0);
        let b = PooledBytes::copy_in(&[5; 40], &[], 7).unwrap();
        assert_eq!(b.as_slice(), &[5; 40][..]);
        b.recycle(&p, 0); // a heap buffer may still be kept by a pool: it is a Box like any
        assert_eq!(p[0].stats()[0].cached, 1);
    }

    #[test]
    fn buffer_bytes_counts_class_and_link() {
        assert_eq!(buffer_bytes(31), Some(64 + 16));
        assert_eq!(buffer_bytes(1024), Some(1024 + 16));
        assert_eq!(buffer_bytes(1025), None);
    }
}
