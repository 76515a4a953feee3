//! Pages given back at a full heap: this test binary's global allocator
//! (`zbeam-allocfail`) refuses the test thread's allocations on demand. A process's
//! pages go back to a pool whose list would have to grow to take them; none may be
//! lost, and the next processes use them again.

mod common;
use common::{engine, run_until};
use zbeam_allocfail::{refusing, Refusing};
use zbeam_engine::{MemoryStats, Step};
use zbeam_sched::{CoreId, CpuSet, Priority};

#[global_allocator]
static ALLOC: Refusing = Refusing;

/// Receives into 0x0200 forever, in a loop (its first call writes its stack page).
const WAITER: &[u8] = &[0x3e, 0x03, 0x11, 0x00, 0x02, 0x01, 0x10, 0x00, 0x21, 0xff, 0xff, 0xf7, 0x18, 0xf2];
const CORE: CoreId = CoreId::new(0);

fn made(m: &MemoryStats) -> usize {
    m.pools.iter().map(|p| p.made).sum()
}

fn listed(m: &MemoryStats) -> usize {
    m.pools.iter().map(|p| p.free).sum::<usize>() + m.depot.free
}

#[test]
fn pages_given_back_at_a_full_heap_are_kept_for_reuse() {
    let e = engine(&[WAITER]);
    let spawn = || e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, CORE).unwrap();
    let pids: Vec<_> = (0..8).map(|_| spawn()).collect();
    run_until(&e, 1000, || made(&e.memory_stats()) >= 8);
    while e.run_once(CORE) == Step::Ran {}
    let m = e.memory_stats();
    let pages = made(&m);
    assert!(pages >= 8, "each waiter owns its stack page: {m:?}");
    assert_eq!(listed(&m), 0, "every page is owned: {m:?}");
    for &p in &pids {
        assert!(e.kill(p));
    }
    // The teardowns give the pages back to a pool whose list is empty (no capacity).
    refusing(|| while e.run_once(CORE) == Step::Ran {});
    assert_eq!(e.live(), 0);
    let m = e.memory_stats();
    assert_eq!(made(&m), pages);
    assert_eq!(listed(&m), pages, "pages lost at the full heap: {m:?}");
    // The next processes take them instead of new ones.
    let again: Vec<_> = (0..8).map(|_| spawn()).collect();
    while e.run_once(CORE) == Step::Ran {}
    assert!(again.iter().all(|&p| e.is_live(p)));
    assert_eq!(made(&e.memory_stats()), pages, "new pages made while kept ones were free");
}
