//! Multi-threaded tests of the mailbox on real threads: ordering and counts under contention,
//! and Drop freeing queued messages. Sizes shrink under Miri.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use zbeam_mailbox::Mailbox;

const PRODUCERS: usize = 4;
#[cfg(not(miri))]
const PER_PRODUCER: u64 = 100_000;
#[cfg(miri)]
const PER_PRODUCER: u64 = 50;

/// 4 producers x 100k: every message arrives once, each producer's sequence strictly increasing.
#[test]
fn many_producers_order_and_count() {
    let mb = Arc::new(Mailbox::<(usize, u64)>::new());
    let start = Arc::new(Barrier::new(PRODUCERS + 1));
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mb = Arc::clone(&mb);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for seq in 0..PER_PRODUCER {
                    mb.push((p, seq));
                }
            })
        })
        .collect();
    start.wait();
    let mut next = [0u64; PRODUCERS];
    let mut total = 0u64;
    let mut c = mb.consumer().unwrap();
    let want = PRODUCERS as u64 * PER_PRODUCER;
    while total < want {
        match c.pop() {
            Some((p, seq)) => {
                assert_eq!(seq, next[p], "producer {p} out of order or lost");
                next[p] += 1;
                total += 1;
            }
            None => thread::yield_now(),
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(c.pop(), None, "no extra message");
    assert_eq!(next, [PER_PRODUCER; PRODUCERS]);
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Dropping a mailbox drops every message still queued, shared or private, exactly once.
#[test]
fn drop_frees_queued_messages() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let mb = Mailbox::new();
        for _ in 0..10 {
            mb.push(Counted(Arc::clone(&drops)));
        }
        let mut c = mb.consumer().unwrap();
        drop(c.pop());
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert_eq!(c.fetch(), 9);
        drop(c.take_first(|_| false));
        for _ in 0..5 {
            mb.push(Counted(Arc::clone(&drops)));
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }
    assert_eq!(drops.load(Ordering::Relaxed), 15);
}
