//! The balance pass at a full heap: this test binary's global allocator
//! (`zbeam-allocfail`) refuses every allocation the test thread makes inside
//! `refusing`, and a refused allocation in the pass would abort the binary (the
//! standard library's answer to an allocation failure is not a panic a test can
//! catch). Half-time, full, compacting and forced passes run there, on 4 and on
//! `MAX_CORES` queues, and their plans are then seen to take effect: the pass did its
//! whole job without the heap.

use zbeam_allocfail::{refusing, Refusing};
use zbeam_sched::{BalancePass, Config, CoreId, CpuSet, PickSource, Pid, Priority, Scheduler, Topology, MAX_CORES};

#[global_allocator]
static ALLOC: Refusing = Refusing;

fn c(i: usize) -> CoreId {
    CoreId::new(i)
}

/// `n` processes queued on core 0 of `cores`, every other core having looked for work
/// and found none (out of work, for the next full pass).
fn loaded(cores: usize, n: u32, cfg: Config) -> Scheduler {
    let s = Scheduler::new(Topology::uniform(cores), n as usize, cfg);
    for p in 0..n {
        let _ = s.enqueue(Pid::new(p), Priority::Normal, CpuSet::first(cores), c(0)).expect("spawn");
    }
    assert_eq!(s.run_queue_lengths(c(0))[Priority::Normal.index()], n, "all on core 0");
    for core in 1..cores {
        assert!(s.pick_next(c(core)).is_none());
    }
    s
}

#[test]
fn balance_pass_allocates_nothing() {
    // No stealing, so only an immigration path can move work off core 0.
    let s = loaded(4, 40, Config { stealing: false, compaction: false, ..Config::default() });
    let passes = refusing(|| [s.check_balance(), s.check_balance(), s.force_balance()]);
    assert_eq!(passes[0], Some(BalancePass::Halftime));
    assert_eq!(passes[1], Some(BalancePass::Full { active: 4, compacted: false }));
    assert_eq!(passes[2], Some(BalancePass::Full { active: 4, compacted: false }));
    let stats = s.balance_stats();
    assert_eq!((stats.halftime_passes, stats.full_passes), (1, 2));
    // The plan was published: the idle cores pull from core 0.
    for core in 1..4 {
        let pick = s.pick_next(c(core)).expect("an immigration path to core 0");
        assert_eq!(pick.source, PickSource::Immigrated { from: c(0) }, "core {core}");
    }
}

#[test]
fn compacting_pass_on_max_cores_allocates_nothing() {
    let s = loaded(MAX_CORES, 8, Config { stealing: false, compaction: true, ..Config::default() });
    let passes = refusing(|| {
        let mut out = [None; 8];
        for o in out.iter_mut() {
            *o = s.check_balance();
        }
        out
    });
    // Half-time and full passes alternate; the queues that found no work are made
    // inactive (the full passes compact).
    for (i, pass) in passes.iter().enumerate() {
        match pass {
            Some(BalancePass::Halftime) => assert_eq!(i % 2, 0, "pass {i}"),
            Some(BalancePass::Full { active, compacted }) => {
                assert_eq!(i % 2, 1, "pass {i}");
                assert!(*compacted && *active < MAX_CORES, "pass {i}: {pass:?}");
            }
            None => panic!("pass {i} did not run"),
        }
    }
    let active = s.balance_stats().active;
    assert!(active < MAX_CORES);
    assert_eq!((0..MAX_CORES).filter(|&i| s.is_queue_inactive(c(i))).count(), MAX_CORES - active);
}
