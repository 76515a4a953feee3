//! The learner leaves sequential programs alone as a whole: after a few runs in
//! which no region gained, a program's next runs are quiet (no observation, no
//! waves: the interpreter stopping only at system calls), every one still bit-exact,
//! with a revisit every `QUIET_REVISIT` runs; a program with a gaining region is
//! never run quiet.

mod common;

use common::*;
use zbeam_dispatch::learn::{QUIET_AFTER, QUIET_REVISIT};
use zbeam_dispatch::{suite, Config, CostModel, Policy};

/// Runs `name` `runs` times on 2 model instances charging `handoff` T-states per task
/// handed off, the policy persisted through its text form; returns whether each run
/// was quiet.
fn runs(name: &str, runs: u32, handoff: u64) -> Vec<bool> {
    let p = suite::find(name).expect("a suite program");
    let r = reference(p.image, u64::MAX);
    let mut policy = Policy::new(p.image);
    (0..runs)
        .map(|run| {
            let cfg = Config { tasks: 2, seed: run as u64, ..Config::default() };
            let mut pool = CostModel::new(2, handoff, 1);
            pool.min_task = 40_000;
            let (out, d) = dispatched_on(p.image, &cfg, &mut pool, &mut policy);
            assert_same(&format!("{name} run {run}"), &r, &out, &d);
            if d.stats.quiet {
                assert_eq!((d.stats.observed, d.stats.waves), (0, 0), "{name} run {run}: a quiet run observes nothing");
            }
            policy = Policy::from_text(&policy.to_text(), p.image).expect("the policy round-trips");
            d.stats.quiet
        })
        .collect()
}

#[test]
fn sequential_programs_are_left_alone_after_a_few_runs() {
    // listwalk's loops are all rejected by the partitioner; crc's data-filling loop
    // would gain, so hand-offs are made too dear for any wave to gain.
    for (name, handoff) in [("listwalk", 2000), ("crc", 10_000_000)] {
        let quiet = runs(name, 2 * QUIET_REVISIT + 2, handoff);
        for (run, &q) in quiet.iter().enumerate() {
            let run = run as u32;
            let expected = run >= QUIET_AFTER && !run.is_multiple_of(QUIET_REVISIT);
            assert_eq!(q, expected, "{name}: run {run} quiet? {quiet:?}");
        }
    }
}

#[test]
fn a_program_with_a_gaining_region_is_never_run_quiet() {
    for name in ["matmul", "nested"] {
        assert!(runs(name, 6, 2000).iter().all(|q| !q), "{name} was run quiet");
    }
}
