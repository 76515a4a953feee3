//! Multi-threaded tests of the mailbox on real threads: ordering and counts under contention, the
//! wake-up protocol under contention, and Drop freeing queued messages. Sizes shrink under Miri.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use zbeam_mailbox::{Mailbox, WaitOutcome, Wake};

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
                    assert_eq!(mb.push((p, seq)), Wake::NotWaiting, "nobody parked");
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

/// The owner parks whenever it sees nothing; producers that are told `WasWaiting` hand it one
/// "runnable" token. The owner checks it is woken exactly once per park (token count 0 -> 1 -> 0,
/// never 2) and that it is never stuck parked while messages are queued (bounded wait).
#[test]
fn wake_up_protocol_under_contention() {
    #[cfg(not(miri))]
    const PER: u64 = 20_000;
    #[cfg(miri)]
    const PER: u64 = 20;
    let mb = Arc::new(Mailbox::<(usize, u64)>::new());
    let tokens = Arc::new(AtomicUsize::new(0));
    let wakes = Arc::new(AtomicUsize::new(0));
    let owner = thread::current();
    // Park once before any producer starts, so every run exercises at least one wake-up.
    let mut c = mb.consumer().unwrap();
    assert_eq!(c.prepare_wait(), WaitOutcome::Parked);
    let mut parked = true;
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let (mb, tokens, wakes, owner) = (Arc::clone(&mb), Arc::clone(&tokens), Arc::clone(&wakes), owner.clone());
            thread::spawn(move || {
                for seq in 0..PER {
                    if mb.push((p, seq)) == Wake::WasWaiting {
                        assert_eq!(tokens.fetch_add(1, Ordering::AcqRel), 0, "double wake-up");
                        wakes.fetch_add(1, Ordering::Relaxed);
                        owner.unpark();
                    }
                    if seq % 64 == 0 {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut next = [0u64; 3];
    let mut got = 0;
    let mut parks = 1usize;
    while got < 3 * PER {
        if parked {
            let deadline = Instant::now() + Duration::from_secs(20);
            while tokens.load(Ordering::Acquire) == 0 {
                assert!(Instant::now() < deadline, "lost wake-up: parked with {got} of {} received", 3 * PER);
                thread::park_timeout(Duration::from_millis(10));
            }
            assert_eq!(tokens.swap(0, Ordering::AcqRel), 1);
            assert!(!mb.is_waiting(), "the waker cleared the flag");
            parked = false;
        }
        while let Some((p, seq)) = c.pop() {
            assert_eq!(seq, next[p]);
            next[p] += 1;
            got += 1;
        }
        if got == 3 * PER {
            break;
        }
        match c.prepare_wait() {
            WaitOutcome::Pending => continue,
            WaitOutcome::Parked => {
                parks += 1;
                parked = true;
            }
        }
    }
    for h in producers {
        h.join().unwrap();
    }
    eprintln!("wake_up_protocol_under_contention: {parks} parks");
    assert_eq!(wakes.load(Ordering::Relaxed), parks, "one wake-up per park");
    assert!(!mb.is_waiting());
}

/// A timer-style `wake` racing with pushes: exactly one of them reports `WasWaiting` per park.
#[test]
fn wake_and_push_race_single_winner() {
    #[cfg(not(miri))]
    const ROUNDS: usize = 2_000;
    #[cfg(miri)]
    const ROUNDS: usize = 5;
    for _ in 0..ROUNDS {
        let mb = Arc::new(Mailbox::<u32>::new());
        let mut c = mb.consumer().unwrap();
        assert_eq!(c.prepare_wait(), WaitOutcome::Parked);
        let barrier = Arc::new(Barrier::new(2));
        let (mb2, b2) = (Arc::clone(&mb), Arc::clone(&barrier));
        let waker = thread::spawn(move || {
            b2.wait();
            mb2.wake()
        });
        barrier.wait();
        let a = mb.push(1);
        let b = waker.join().unwrap();
        assert_eq!([a, b].iter().filter(|w| **w == Wake::WasWaiting).count(), 1);
        assert_eq!(c.pop(), Some(1));
    }
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
            let _ = mb.push(Counted(Arc::clone(&drops)));
        }
        let mut c = mb.consumer().unwrap();
        drop(c.pop());
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert_eq!(c.fetch(), 9);
        drop(c.take_first(|_| false));
        for _ in 0..5 {
            let _ = mb.push(Counted(Arc::clone(&drops)));
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }
    assert_eq!(drops.load(Ordering::Relaxed), 15);
}
