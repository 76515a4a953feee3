//! Speculation under test: injected wrong predictions are always squashed; a loop
//! whose dependence is carried on some iterations only squashes exactly those; the
//! learner never leaves the allowed set and falls back to sequential when every
//! speculation fails.
mod common;
use common::*;
use zbeam_dispatch::learn::{RegionPolicy, RETIRE_AFTER};
use zbeam_dispatch::{suite, Arm, Config, CostModel, Learner, Outcome, Policy, Predictor};

#[test]
fn injected_wrong_predictions_are_squashed_never_committed() {
    for name in ["vecops", "blocksum", "mandel", "carried"] {
        let p = suite::find(name).unwrap();
        let r = reference(p.image, 1_000_000_000);
        for every in [1, 2, 3] {
            let cfg = Config { tasks: 4, inject_every: every, log_tasks: true, ..Config::default() };
            let mut policy = Policy::new(p.image);
            let (out, d) = dispatched(p.image, &cfg, 4, &mut policy);
            assert_same(&format!("{name} (every {every})"), &r, &out, &d);
            assert!(d.stats.injected_squashed > 0, "{name}: nothing injected was validated: {:?}", d.stats);
            let injected: Vec<_> = d.log.iter().filter(|t| t.injected).collect();
            assert_eq!(injected.len() as u64, d.stats.injected);
            for t in injected {
                // Validated and squashed, or dropped unvalidated behind a task that left the loop.
                assert!(
                    matches!(t.outcome, Outcome::SquashedState | Outcome::Discarded),
                    "{name}: an injected task ended {:?}",
                    t.outcome
                );
            }
        }
    }
}

#[test]
fn a_partly_carried_dependence_squashes_exactly_those_iterations() {
    // carried.asm: iteration i reads a[i-1] when i mod 64 = 37; BC holds i at the head.
    let p = suite::find("carried").unwrap();
    let r = reference(p.image, 1_000_000_000);
    let mut squashed = 0;
    for tasks in [2u32, 3, 4] {
        let arm = Arm::Parallel { predictor: Predictor::Stride, chunk: 1, tasks };
        let cfg = Config { tasks: tasks as usize, force: Some(arm), log_tasks: true, ..Config::default() };
        let mut pool = CostModel::new(tasks as usize, 0, 0);
        pool.min_task = 1;
        let mut policy = Policy::new(p.image);
        let (out, d) = dispatched_on(p.image, &cfg, &mut pool, &mut policy);
        assert_same("carried", &r, &out, &d);
        let main_loop: Vec<_> = d.log.iter().filter(|t| t.start.bc() < 8192 && t.position > 0).collect();
        assert!(main_loop.len() > 4000, "too few speculative iterations: {}", main_loop.len());
        for t in &main_loop {
            let i = t.start.bc();
            match t.outcome {
                // i - 1 ran in the same wave, just before: its write must squash i.
                _ if i % 64 == 37 => {
                    assert_eq!(t.outcome, Outcome::SquashedMemory, "iteration {i} was not squashed");
                    squashed += 1;
                }
                Outcome::Committed | Outcome::Discarded => {}
                other => panic!("iteration {i} (independent) ended {other:?}"),
            }
        }
    }
    // With 3 tasks a wave the dependent iterations fall on every position in turn.
    assert!(squashed >= 8192 / 64 / 2, "only {squashed} dependent iterations were speculated");
}

#[test]
fn iterations_that_run_code_an_earlier_task_rewrote_are_squashed() {
    // Iteration i (C = i) rewrites the operand of `LD B,n` at 010E when i mod 64 = 0,
    // then every iteration runs it and stores B + i at 4000h + i. A later task of the
    // same wave fetched the operand from its (older) view: only the instruction-byte
    // log can tell it is stale.
    #[rustfmt::skip]
    let image: &[u8] = &[
        0x11, 0x00, 0x40, //       0100 LD DE,4000h
        0x0E, 0x00,       //       0103 LD C,0
        0x79,             // head: 0105 LD A,C
        0xE6, 0x3F,       //       0106 AND 3Fh
        0x20, 0x04,       //       0108 JR NZ,010E
        0x79,             //       010A LD A,C
        0x32, 0x0F, 0x01, //       010B LD (010Fh),A
        0x06, 0x00,       //       010E LD B,n
        0x78,             //       0110 LD A,B
        0x81,             //       0111 ADD A,C
        0x12,             //       0112 LD (DE),A
        0x13,             //       0113 INC DE
        0x0C,             //       0114 INC C
        0x20, 0xEE,       //       0115 JR NZ,0105
        0xC3, 0x00, 0x00, //       0117 JP 0000
    ];
    let r = reference(image, 1_000_000);
    let mut squashed = 0;
    for tasks in 2u32..=6 {
        let arm = Arm::Parallel { predictor: Predictor::Stride, chunk: 1, tasks };
        let cfg = Config { tasks: tasks as usize, force: Some(arm), log_tasks: true, ..Config::default() };
        let mut pool = CostModel::new(tasks as usize, 0, 0);
        pool.min_task = 1;
        let mut policy = Policy::new(image);
        let (out, d) = dispatched_on(image, &cfg, &mut pool, &mut policy);
        assert_same(&format!("self-modifying loop, {tasks} tasks"), &r, &out, &d);
        assert!(d.log.len() > 100, "too few speculative iterations: {}", d.log.len());
        for t in &d.log {
            let i = t.start.c as u32;
            // The wave's first task ran iteration i - position; a rewrite by it or
            // by any task before this one makes this one's code stale.
            let first = i.wrapping_sub(t.position) & 0xFF;
            let stale = (0..t.position).any(|k| (first + k) % 64 == 0);
            match t.outcome {
                Outcome::SquashedMemory if stale => squashed += 1,
                Outcome::Committed | Outcome::Discarded if !stale => {}
                Outcome::Discarded => {}
                other => panic!("{tasks} tasks: iteration {i} at position {} ended {other:?}", t.position),
            }
        }
    }
    assert!(squashed >= 3, "only {squashed} iterations ran rewritten code speculatively");
}

/// xorshift64, for the property test's own random cases.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn the_learner_never_leaves_the_allowed_set() {
    let mut all = vec![Arm::Sequential];
    for predictor in [Predictor::Stride, Predictor::Unchanged] {
        for chunk in [1, 2, 4, 8, 16] {
            for tasks in [2, 3, 4, 8] {
                all.push(Arm::Parallel { predictor, chunk, tasks });
            }
        }
    }
    all.extend([1, 2].map(|span| Arm::Continue { span }));
    let mut s = 0x1234_5678_9abc_def1u64;
    for case in 0..2000 {
        let mut learner = Learner::new(case);
        let mut allowed = vec![Arm::Sequential];
        allowed.extend(all.iter().skip(1).filter(|_| rng(&mut s).is_multiple_of(3)));
        let mut region = RegionPolicy::default();
        // Some history for arms that may or may not be allowed now.
        for _ in 0..(rng(&mut s) % 40) {
            let arm = all[(rng(&mut s) % all.len() as u64) as usize];
            let reward = (rng(&mut s) % 2000) as f64 / 1000.0 - 1.0;
            Learner::feedback(&mut region, arm, reward, rng(&mut s) % 100_000, rng(&mut s) % 3, rng(&mut s) % 3);
        }
        for _ in 0..30 {
            let arm = learner.choose(&mut region, &allowed);
            assert!(allowed.contains(&arm), "case {case}: chose {arm} outside {allowed:?}");
            let reward = (rng(&mut s) % 2000) as f64 / 1000.0 - 1.0;
            Learner::feedback(&mut region, arm, reward, rng(&mut s) % 100_000, rng(&mut s) % 2, rng(&mut s) % 2);
        }
    }
}

#[test]
fn the_learner_retires_a_region_where_every_speculation_fails() {
    let allowed: Vec<Arm> = std::iter::once(Arm::Sequential)
        .chain([1, 2, 4].map(|chunk| Arm::Parallel { predictor: Predictor::Stride, chunk, tasks: 2 }))
        .collect();
    for seed in 0..50 {
        let mut learner = Learner::new(seed);
        let mut region = RegionPolicy::default();
        let mut parallel = 0;
        for _ in 0..200 {
            let arm = learner.choose(&mut region, &allowed);
            if arm != Arm::Sequential {
                parallel += 1;
                Learner::feedback(&mut region, arm, -0.5, 1000, 0, 1);
            }
        }
        assert!(region.retired, "seed {seed}: not retired");
        assert!(parallel <= RETIRE_AFTER, "seed {seed}: {parallel} parallel waves before retiring");
        assert_eq!(learner.choose(&mut region, &allowed), Arm::Sequential);
    }
}

#[test]
fn a_program_whose_every_speculation_fails_falls_back_to_sequential() {
    // Every speculative task's prediction corrupted: nothing can validate. Within a
    // few runs sharing the persisted policy every tried region is retired, or the
    // whole program is run quiet, and the program runs without speculation.
    for name in ["vecops", "sieve"] {
        let p = suite::find(name).unwrap();
        let r = reference(p.image, 1_000_000_000);
        let cfg = Config { tasks: 2, inject_every: 1, ..Config::default() };
        let mut policy = Policy::new(p.image);
        let mut runs = 0;
        let quiet = loop {
            let (out, d) = dispatched(p.image, &cfg, 2, &mut policy);
            assert_same(name, &r, &out, &d);
            assert_eq!(d.stats.committed, 0);
            runs += 1;
            if d.stats.speculative == 0 {
                break d.stats.quiet;
            }
            assert!(runs < 6, "{name}: still speculating after {runs} runs: {:?}", d.stats);
        };
        let tried: Vec<_> = policy.regions.values().filter(|r| r.arms.keys().any(|a| *a != Arm::Sequential)).collect();
        assert!(!tried.is_empty(), "{name}: no region was tried");
        // Either every failing region was retired, or no region gained for
        // QUIET_AFTER runs and the program as a whole is left to the interpreter.
        assert!(quiet || tried.iter().all(|r| r.retired), "{name}: a failing region was not retired");
        assert!(!policy.gains(), "{name}: a region counts as gaining");
        let waves: u64 = tried.iter().flat_map(|r| r.arms.values()).map(|a| a.waves).sum();
        // At most RETIRE_AFTER or two per allowed arm (2 instances: 4 chunks x 2 predictors).
        assert!(waves <= RETIRE_AFTER.max(16) * tried.len() as u64, "{name}: {waves} waves");
    }
}

#[test]
fn short_losing_waves_do_not_retire_a_region_whose_long_waves_gain() {
    // mandel's pixel loop on its first visits: two waves overshoot the loop's end
    // (little work covered, a large loss), then a dozen cheap short waves lose a
    // little, while the long waves gain. Weighted by the T-states each covered, the
    // arm gains; as a plain mean per wave it would lose and the region be retired.
    let arm = Arm::Parallel { predictor: Predictor::Stride, chunk: 4, tasks: 2 };
    let allowed = [Arm::Sequential, arm];
    let mut region = RegionPolicy::default();
    for _ in 0..2 {
        Learner::feedback(&mut region, arm, -3.0, 2_000, 1, 0);
    }
    for _ in 0..12 {
        Learner::feedback(&mut region, arm, -0.1, 5_000, 1, 0);
    }
    for _ in 0..4 {
        Learner::feedback(&mut region, arm, 0.3, 400_000, 1, 0);
    }
    let mut learner = Learner::new(7);
    for _ in 0..50 {
        assert_eq!(learner.choose(&mut region, &allowed), arm, "{region:?}");
    }
    assert!(!region.retired);
    // A region whose waves keep losing, long or short, is still retired.
    let mut losing = RegionPolicy::default();
    let mut parallel = 0;
    for i in 0..200u64 {
        if learner.choose(&mut losing, &allowed) != Arm::Sequential {
            parallel += 1;
            Learner::feedback(&mut losing, arm, -0.05, 1_000 + 100_000 * (i % 3), 1, 0);
        }
    }
    assert!(losing.retired && parallel <= RETIRE_AFTER, "{losing:?}");
}
