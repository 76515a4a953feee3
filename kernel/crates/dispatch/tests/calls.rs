//! Continuation past a call: a call runs as a wave's first task while a second
//! task runs on from its return address. The suite's `calls` (two independent
//! calls a step) commits continuations; `callchain` (each call needs the one
//! before) squashes them and the learner retires the call site; wrong predictions
//! injected into continuations are squashed; a call around a loop that runs in
//! waves is left to the loop. Every run ends in the sequential run's exact state.
mod common;
use common::*;
use zbeam_dispatch::{suite, Arm, Config, Outcome, Policy};

/// The image with `scale` (the byte at 0103h, see programs/dispatch/lib.inc) set.
fn scaled(image: &[u8], scale: u8) -> Vec<u8> {
    let mut v = image.to_vec();
    v[3] = scale;
    v
}

#[test]
fn independent_calls_run_beside_their_continuations() {
    let p = suite::find("calls").unwrap();
    let r = reference(p.image, 1_000_000_000);
    for instances in [2, 3, 4] {
        let cfg = Config { tasks: instances, log_tasks: true, ..Config::default() };
        let mut policy = Policy::new(p.image);
        let (out, d) = dispatched(p.image, &cfg, instances, &mut policy);
        assert_same(&format!("calls ({instances} instances)"), &r, &out, &d);
        assert!(d.stats.call_waves >= 20, "too few call waves: {:?}", d.stats);
        let site = d.regions.iter().find(|g| g.call && g.state == "active").expect("an active call site");
        assert!(matches!(site.main_arm, Some((Arm::Continue { .. }, _))), "{site:?}");
        let at_site: Vec<_> = d.log.iter().filter(|t| t.head == site.head).collect();
        let committed = at_site.iter().filter(|t| t.outcome == Outcome::Committed).count();
        // Every continuation commits but the last step's, which reads the stored CRCs.
        assert!(committed + 2 >= at_site.len(), "{committed} of {} committed", at_site.len());
        assert!(d.stats.speculative_tstates * 3 > d.tstates, "under a third speculative: {:?}", d.stats);
    }
}

#[test]
fn injected_wrong_continuations_are_squashed_never_committed() {
    let p = suite::find("calls").unwrap();
    let r = reference(p.image, 1_000_000_000);
    for every in [1, 2, 3] {
        let cfg = Config { tasks: 2, inject_every: every, log_tasks: true, ..Config::default() };
        let mut policy = Policy::new(p.image);
        let (out, d) = dispatched(p.image, &cfg, 2, &mut policy);
        assert_same(&format!("calls (every {every})"), &r, &out, &d);
        assert!(d.stats.injected_squashed > 0, "nothing injected was validated: {:?}", d.stats);
        for t in d.log.iter().filter(|t| t.injected) {
            assert!(matches!(t.outcome, Outcome::SquashedState | Outcome::Discarded), "injected: {:?}", t.outcome);
        }
        if every > 1 {
            assert!(d.stats.committed > 0, "every {every}: the others did not commit: {:?}", d.stats);
        }
    }
}

#[test]
fn a_continuation_that_needs_the_call_result_is_squashed_and_the_site_retired() {
    let p = suite::find("callchain").unwrap();
    let r = reference(p.image, 1_000_000_000);
    for seed in [1, 7, 1234] {
        let cfg = Config { tasks: 2, seed, log_tasks: true, ..Config::default() };
        let mut policy = Policy::new(p.image);
        let (out, d) = dispatched(p.image, &cfg, 2, &mut policy);
        assert_same(&format!("callchain (seed {seed})"), &r, &out, &d);
        let site = d.regions.iter().filter(|g| g.call).max_by_key(|g| g.iterations).expect("the chained call site");
        assert!(site.state.starts_with("sequential: "), "{site:?}");
        let tried: Vec<_> = d.log.iter().filter(|t| t.head == site.head).collect();
        assert!(!tried.is_empty(), "no continuation was tried");
        assert!(tried.iter().all(|t| matches!(t.outcome, Outcome::SquashedState | Outcome::Discarded)), "{tried:?}");
        assert!(policy.calls[&site.head].retired);
        // The persisted policy leaves the site alone from the start.
        let (out, d) = dispatched(p.image, &cfg, 2, &mut policy);
        assert_same("callchain (persisted)", &r, &out, &d);
        assert_eq!(d.stats.call_waves, 0, "{:?}", d.stats);
    }
}

#[test]
fn a_call_around_a_loop_that_runs_in_waves_is_left_to_the_loop() {
    // At scale 3, main's `CALL work` runs three times; work's loops run in waves.
    for name in ["sieve", "matmul"] {
        let p = suite::find(name).unwrap();
        let image = scaled(p.image, 3);
        let r = reference(&image, 3_000_000_000);
        let cfg = Config { tasks: 2, ..Config::default() };
        let mut policy = Policy::new(&image);
        let (out, d) = dispatched(&image, &cfg, 2, &mut policy);
        assert_same(name, &r, &out, &d);
        let work = d.regions.iter().find(|g| g.call && g.head == 0x010A).expect("main's CALL work");
        assert!(work.state.starts_with("sequential: the call reaches"), "{name}: {work:?}");
        assert_eq!(d.stats.call_waves, 0, "{name}: {:?}", d.stats);
        assert!(d.stats.committed > 0, "{name}: {:?}", d.stats);
    }
}

#[test]
fn a_continuation_that_reads_what_the_call_wrote_is_squashed() {
    // With a span of two call lengths the last step's continuation reaches `sumw`,
    // which reads the CRC the call just stored: that one, and only that one, is
    // squashed on memory.
    let p = suite::find("calls").unwrap();
    let r = reference(p.image, 1_000_000_000);
    let cfg = Config { tasks: 2, force: Some(Arm::Continue { span: 2 }), log_tasks: true, ..Config::default() };
    let mut policy = Policy::new(p.image);
    let (out, d) = dispatched(p.image, &cfg, 2, &mut policy);
    assert_same("calls (span 2)", &r, &out, &d);
    let site = d.regions.iter().find(|g| g.call && g.state == "active").expect("an active call site");
    let outcomes: Vec<Outcome> = d.log.iter().filter(|t| t.head == site.head).map(|t| t.outcome).collect();
    let (last, rest) = outcomes.split_last().expect("continuations ran");
    assert_eq!(*last, Outcome::SquashedMemory, "{outcomes:?}");
    assert!(rest.len() >= 20 && rest.iter().all(|o| *o == Outcome::Committed), "{outcomes:?}");
}

/// Hand-assembled hostile call patterns: each runs bit-exact with the sequential
/// run however its call sites are judged, with tasks as small as one T-state
/// allowed (so even these short calls are observed and tried).
#[test]
fn hostile_call_patterns_end_as_the_sequential_run() {
    #[rustfmt::skip]
    let recursion: &[u8] = &[
        0x06, 0x28,       // 0100 LD B,40
        0xC5,             // 0102 loop: PUSH BC
        0x3E, 0x06,       // 0103 LD A,6
        0xCD, 0x0E, 0x01, // 0105 CALL rec
        0xC1,             // 0108 POP BC
        0x10, 0xF7,       // 0109 DJNZ loop
        0xC3, 0x00, 0x00, // 010B JP 0
        0x3D,             // 010E rec: DEC A
        0xC8,             // 010F RET Z
        0xCD, 0x0E, 0x01, // 0110 CALL rec (recursion, a backward CALL)
        0xC9,             // 0113 RET
    ];
    #[rustfmt::skip]
    let escape: &[u8] = &[
        0x06, 0x28,       // 0100 LD B,40
        0xCD, 0x0A, 0x01, // 0102 loop: CALL esc
        0x10, 0xFB,       // 0105 DJNZ loop
        0xC3, 0x00, 0x00, // 0107 JP 0
        0xE1,             // 010A esc: POP HL (drops its return address)
        0x0C,             // 010B INC C
        0xC3, 0x05, 0x01, // 010C JP 0105 (comes back by a jump, not a return)
    ];
    #[rustfmt::skip]
    let rewritten: &[u8] = &[
        0x06, 0x40,       // 0100 LD B,64
        0x78,             // 0102 loop: LD A,B
        0xE6, 0x01,       // 0103 AND 1
        0x21, 0x18, 0x01, // 0105 LD HL,r1
        0x28, 0x03,       // 0108 JR Z,010D
        0x21, 0x1C, 0x01, // 010A LD HL,r2
        0x22, 0x11, 0x01, // 010D LD (0111),HL: the CALL's operand
        0xCD, 0x18, 0x01, // 0110 CALL r1 or r2, as last written
        0x10, 0xED,       // 0113 DJNZ loop
        0xC3, 0x00, 0x00, // 0115 JP 0
        0x0E, 0x01, 0x14, 0xC9, // 0118 r1: LD C,1; INC D; RET
        0x0E, 0x02, 0x15, 0xC9, // 011C r2: LD C,2; DEC D; RET
    ];
    for (name, image) in [("recursion", recursion), ("escape", escape), ("rewritten", rewritten)] {
        let r = reference(image, 1_000_000);
        assert!(r.ok, "{name}: the sequential run ends");
        for instances in [2, 3] {
            for seed in [1, 7] {
                let cfg = Config { tasks: instances, seed, log_tasks: true, ..Config::default() };
                let mut policy = Policy::new(image);
                let (out, d) = dispatched_on(image, &cfg, &mut model(instances, 1, 1), &mut policy);
                assert_same(&format!("{name} ({instances} instances, seed {seed})"), &r, &out, &d);
                let sites: Vec<_> = d.regions.iter().filter(|g| g.call).collect();
                assert!(!sites.is_empty(), "{name}: no call site was observed");
                // The recursive CALL, and the call that comes back by a jump, are made
                // again before they return: never active. (The outer call around the
                // recursion does return at its depth, and may run in waves.)
                let never = match name {
                    "recursion" => Some(0x0110),
                    "escape" => Some(0x0102),
                    _ => None,
                };
                if let Some(site) = never {
                    let g = sites.iter().find(|g| g.head == site).expect("the site was observed");
                    assert!(g.state.contains("made again before it returned"), "{name}: {g:?}");
                    assert!(d.log.iter().all(|t| t.head != site), "{name}: a wave ran at {site:04X}");
                } else {
                    // The CALL's target is rewritten every step: the calls leave D one up or
                    // one down, which the continuation never writes, so none may commit.
                    assert!(d.stats.call_waves > 0, "{name}: {:?}", d.stats);
                    let at: Vec<_> = d.log.iter().filter(|t| t.head == 0x0110).map(|t| t.outcome).collect();
                    assert!(at.iter().all(|o| *o != Outcome::Committed), "{name}: {at:?}");
                }
            }
        }
    }
}
