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

/// A pool of 2 instances on a shared host: a task running beside another takes 5/2
/// of its T-states (and measures so), so a wave of two equal tasks takes longer
/// than running both on the interpreter, while the tasks' own times, added up,
/// make it look like a gain. Sequential work costs its T-states.
struct Shared {
    clock: u64,
}

impl zbeam_dispatch::Pool for Shared {
    fn instances(&self) -> usize {
        2
    }
    fn run_all(&mut self, tasks: &mut [zbeam_dispatch::task::Task]) {
        let beside = tasks.len() > 1;
        let mut free = [0u64; 2];
        for t in tasks.iter_mut() {
            t.run();
            t.elapsed = if beside { t.tstates * 5 / 2 } else { t.tstates };
            let first = if free[0] <= free[1] { 0 } else { 1 };
            free[first] += t.elapsed;
        }
        self.clock += free[0].max(free[1]);
    }
    fn now(&mut self) -> u64 {
        self.clock
    }
    fn charge_sequential(&mut self, tstates: u64) {
        self.clock += tstates;
    }
    fn min_task_tstates(&self) -> u64 {
        40_000
    }
}

#[test]
fn waves_slowed_by_a_shared_host_are_judged_against_the_interpreter() {
    // listwalk's pass loop is parallel by stride (every pass adds the same sum), so
    // at scale 4 its later visits are observed and speculated. On the shared host
    // every wave loses against the interpreter; judged by its tasks' own times it
    // would look like a gain and the program would never be left alone.
    let p = suite::find("listwalk").expect("a suite program");
    let mut image = p.image.to_vec();
    image[3] = 4;
    let r = reference(&image, u64::MAX);
    let mut policy = Policy::new(&image);
    let mut waves = 0;
    let quiet: Vec<bool> = (0..6)
        .map(|run| {
            let cfg = Config { tasks: 2, seed: run, ..Config::default() };
            let mut pool = Shared { clock: 0 };
            let mut out = Vec::new();
            let d = zbeam_dispatch::run(&image, &cfg, &mut pool, &mut policy, &mut |b| out.push(b));
            assert_same(&format!("listwalk run {run}"), &r, &out, &d);
            waves += d.stats.waves;
            policy = Policy::from_text(&policy.to_text(), &image).expect("the policy round-trips");
            if d.stats.quiet {
                assert_eq!(pool.clock, d.tstates, "a quiet run costs what the interpreter does");
            }
            d.stats.quiet
        })
        .collect();
    assert!(waves > 0, "the pass loop was speculated");
    assert!(quiet[4] && quiet[5], "listwalk was not left alone: {quiet:?}");
}
