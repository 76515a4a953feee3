//! Per-core node pools: nodes freed on another thread come back to their home pool and are
//! reused, a pool gives nodes back to the heap past its high-water mark, and a push whose
//! node the heap refuses gives the message back.
#![cfg(not(loom))]

use std::sync::Arc;

use zbeam_mailbox::{Mailbox, NodePool};

#[global_allocator]
static A: zbeam_allocfail::Refusing = zbeam_allocfail::Refusing;

fn pools(n: u32, high_water: usize) -> Arc<Vec<NodePool<u64>>> {
    Arc::new((0..n).map(|i| NodePool::new(i, high_water)).collect())
}

/// One pool with mark `high` and a mailbox holding `n` messages pushed through it.
fn burst(high: usize, n: u64) -> (Arc<Vec<NodePool<u64>>>, Mailbox<u64>) {
    let pools = pools(1, high);
    let mb = Mailbox::<u64>::new();
    for i in 0..n {
        mb.try_push_in(i, &pools, 0).unwrap();
    }
    assert_eq!(pools[0].stats().made, n as usize);
    (pools, mb)
}

/// A producer on pool 0 and a consumer on another thread (pool 1): the consumer's frees
/// fill its own pool's local list to the mark, and then go back (remote free) to pool 0,
/// whose later pushes reuse them instead of allocating, so pool 0 makes only the nodes
/// pool 1 adopted and as many as were ever in flight at once.
#[test]
fn nodes_freed_on_another_thread_go_home_and_are_reused() {
    const HIGH: usize = 32;
    let pools = pools(2, HIGH);
    let mb = Arc::new(Mailbox::<u64>::new());
    const ROUNDS: u64 = 200;
    const BATCH: u64 = 16;
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let consumer = {
        let (mb, pools) = (Arc::clone(&mb), Arc::clone(&pools));
        std::thread::spawn(move || {
            let mut next = 0;
            while go_rx.recv().is_ok() {
                let mut c = mb.consumer_in(&pools, 1).unwrap();
                for _ in 0..BATCH {
                    assert_eq!(c.pop(), Some(next));
                    next += 1;
                }
                drop(c);
                done_tx.send(()).unwrap();
            }
            next
        })
    };
    for r in 0..ROUNDS {
        for i in 0..BATCH {
            mb.try_push_in(r * BATCH + i, &pools, 0).unwrap();
        }
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
    }
    drop(go_tx);
    assert_eq!(consumer.join().unwrap(), ROUNDS * BATCH);
    let (s0, s1) = (pools[0].stats(), pools[1].stats());
    // Pool 1's adopted nodes and a batch or two in flight: far fewer than were sent.
    assert!(s0.made <= HIGH + 2 * BATCH as usize + 1, "{s0:?}");
    assert_eq!((s0.returned, s1.returned, s1.made, s1.cached), (0, 0, 0, HIGH), "{s0:?} {s1:?}");
    // Everything made is cached in one pool or the other, or is the mailbox's stub.
    assert!(s0.cached + s1.cached + 1 >= s0.made, "{s0:?} {s1:?}");
}

/// A burst larger than the high-water mark: the pool keeps at most about twice the mark
/// (remote and local lists) and gives the rest back to the heap.
#[test]
fn a_pool_gives_nodes_back_past_its_high_water_mark() {
    const HIGH: usize = 32;
    let (pools, mb) = burst(HIGH, 1000);
    let mut c = mb.consumer_in(&pools, 1).unwrap();
    while c.pop().is_some() {}
    let s = pools[0].stats();
    assert!(s.cached <= HIGH, "{s:?}");
    assert!(s.returned >= 1000 - HIGH - 1, "{s:?}");
    // Drawing again drains the remote list into the local one, and reuses it.
    for i in 0..10 {
        mb.try_push_in(i, &pools, 0).unwrap();
    }
    assert_eq!(pools[0].stats().made, 1000);
    assert_eq!(core::iter::from_fn(|| c.pop()).count(), 10);
    let s = pools[0].stats();
    assert!(s.cached <= 2 * HIGH, "{s:?}");
    assert_eq!(s.made - s.returned, s.cached + 1, "one node is the mailbox's stub: {s:?}");
}

/// With the heap refusing, a pool with free nodes still serves pushes; an empty one gives
/// the message back and leaves the mailbox as it was.
#[test]
fn a_refused_node_gives_the_message_back() {
    let pools = pools(1, 8);
    let mb = Mailbox::<u64>::new();
    mb.try_push_in(1, &pools, 0).unwrap();
    mb.try_push_in(2, &pools, 0).unwrap();
    {
        let mut c = mb.consumer_in(&pools, 1).unwrap();
        assert_eq!(c.pop(), Some(1));
        assert_eq!(c.pop(), Some(2));
    }
    // Two nodes were freed: the heap's first stub and the node of 1 (the node of 2 is now
    // the stub); the stub came from the heap and went back there.
    assert_eq!(pools[0].stats().cached, 1);
    let (reused, refused) = zbeam_allocfail::refusing(|| (mb.try_push_in(3, &pools, 0), mb.try_push_in(4, &pools, 0)));
    assert_eq!(reused, Ok(()));
    assert_eq!(refused, Err(4));
    let mut c = mb.consumer_in(&pools, 1).unwrap();
    assert_eq!(c.pop(), Some(3));
    assert_eq!(c.pop(), None);
}

/// Nodes freed on their home pool's own core go straight to its local list, up to the
/// high-water mark; past it to the remote list, up to the mark again; past that they go
/// back to the heap.
#[test]
fn nodes_freed_on_their_home_core_go_to_the_local_list_up_to_the_mark() {
    const HIGH: usize = 16;
    let (pools, mb) = burst(HIGH, 100);
    let mut c = mb.consumer_in(&pools, 0).unwrap();
    assert_eq!(core::iter::from_fn(|| c.pop()).count(), 100);
    let s = pools[0].stats();
    // 100 nodes freed: the mailbox's first stub (from the heap, adopted) and 99 of the
    // pool's (the last is the stub now).
    assert_eq!((s.made, s.cached, s.returned), (100, 2 * HIGH, 100 - 2 * HIGH));
    // The next pushes reuse both lists without touching the heap.
    let reused = zbeam_allocfail::refusing(|| (0..2 * HIGH as u64).all(|i| mb.try_push_in(i, &pools, 0).is_ok()));
    assert!(reused);
    assert_eq!(pools[0].stats().cached, 0);
}
