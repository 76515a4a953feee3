//! Loom model tests: every interleaving (within loom's bounds) of small producer/consumer
//! scenarios, checking order, loss, and data races on message slots (the wake-up protocol is the
//! scheduler's: see zbeam-sched's tests/loom.rs).
//! Run with `./loom.sh` (sets `RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;

use zbeam_mailbox::{Mailbox, NodePool};

/// Two producers, two messages each: the consumer gets all four, each producer's in order.
#[test]
fn two_producers_fifo_per_sender() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::<(u8, u8)>::new());
        let producers: Vec<_> = (0..2u8)
            .map(|p| {
                let mb = Arc::clone(&mb);
                thread::spawn(move || {
                    mb.push((p, 0));
                    mb.push((p, 1));
                })
            })
            .collect();
        let mut c = mb.consumer().unwrap();
        let mut next = [0u8; 2];
        let mut got = 0;
        while got < 4 {
            match c.pop() {
                Some((p, s)) => {
                    assert_eq!(s, next[p as usize]);
                    next[p as usize] += 1;
                    got += 1;
                }
                None => thread::yield_now(),
            }
        }
        drop(c);
        for h in producers {
            h.join().unwrap();
        }
    });
}

/// The consumer handle migrates between threads (a process moving cores) while a producer pushes:
/// the claim flag hands the consumer-side state over without a race.
#[test]
fn consumer_handoff_between_threads() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::<u8>::new());
        let mb_p = Arc::clone(&mb);
        let producer = thread::spawn(move || {
            mb_p.push(1);
            mb_p.push(2);
        });
        let first = {
            let mut c = mb.consumer().unwrap();
            c.fetch();
            c.pop()
        };
        let mb_c = Arc::clone(&mb);
        let second = thread::spawn(move || {
            let mut out = Vec::new();
            loop {
                if let Some(mut c) = mb_c.consumer() {
                    while let Some(m) = c.pop() {
                        out.push(m);
                    }
                }
                if out.len() + usize::from(first.is_some()) == 2 {
                    return out;
                }
                thread::yield_now();
            }
        })
        .join()
        .unwrap();
        producer.join().unwrap();
        let all: Vec<u8> = first.into_iter().chain(second).collect();
        assert_eq!(all, [1, 2]);
    });
}

/// Pooled nodes: a producer pushes from its own pool while the consumer, on another thread,
/// frees the nodes it is done with onto that pool's remote list; the producer's later pushes
/// drain the remote list and reuse those nodes. Order and values survive every interleaving,
/// and loom's cell tracking sees no race between a node's last read and its reuse.
#[test]
fn pooled_nodes_freed_remotely_and_reused() {
    loom::model(|| {
        let pools = Arc::new(vec![NodePool::<u8>::new(0, 4)]);
        let mb = Arc::new(Mailbox::<u8>::new());
        let (mb_p, pools_p) = (Arc::clone(&mb), Arc::clone(&pools));
        let producer = thread::spawn(move || {
            for v in 0..3 {
                mb_p.try_push_in(v, &pools_p, 0).unwrap();
            }
        });
        let mut next = 0;
        while next < 3 {
            let mut c = mb.consumer_in(&pools, 1).unwrap();
            match c.pop() {
                Some(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                None => {
                    drop(c);
                    thread::yield_now();
                }
            }
        }
        producer.join().unwrap();
        // The pool made a node per push at most, and every node it made is cached, or is the
        // mailbox's stub.
        let s = pools[0].stats();
        assert!(s.made <= 3 && s.cached + 1 >= s.made, "{s:?}");
    });
}
