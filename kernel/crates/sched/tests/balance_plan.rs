//! The balance pass on seeded random input: many sequences of full passes (with and
//! without compaction, forced or not) on uniform and P/E machines of 2 to 64 cores.
//!
//! Two checks:
//! * every plan is well formed: one entry per queue, `active` of them active (those
//!   first in the compaction order), inactive queues evacuate to an active one, every
//!   path names another queue, a queue takes no part at a priority its class weight
//!   excludes, and paths pair up as the pass builds them;
//! * the plans are the ones the pass computed before it was made allocation-free:
//!   a digest (FNV-1a) of every field of every plan, over all the sequences, equals the
//!   digest recorded from the earlier implementation (commit "sched: golden test of the
//!   balance pass", run on the pass that collected its working memory into `Vec`s).
//!   A change of the balancing policy changes this digest on purpose; record the new
//!   one with the reason in the commit.

mod common;

use common::{random_pe_topology, Rng};
use zbeam_sched::{Balancer, CoreId, PathKind, Plan, Priority, QueueSample, Topology, CHECK_BALANCE_REDS, MAX_CORES};

const PERIOD: u64 = 2 * CHECK_BALANCE_REDS;
const SEQUENCES: u64 = 300;
const PASSES: usize = 40;

/// The digest of all plans of [`SEQUENCES`] sequences, recorded from the earlier pass.
const GOLDEN: u64 = 0x4b51_4d8c_7423_c082;

fn random_topology(rng: &mut Rng) -> Topology {
    let n = match rng.below(10) {
        0 => MAX_CORES,
        1 => 2,
        _ => 2 + rng.below(15),
    };
    if rng.chance(40) {
        Topology::uniform(n)
    } else {
        random_pe_topology(rng, n)
    }
}

fn random_sample(rng: &mut Rng) -> QueueSample {
    let mut s = QueueSample::default();
    let idle = rng.chance(30);
    for p in 0..4 {
        // Most queues have little or nothing at max/high; some have long queues.
        let busy = if p == Priority::Normal.index() { 85 } else { 25 };
        if rng.chance(busy) {
            s.max_len[p] = match rng.below(4) {
                0 => 1,
                1 => rng.below(8) as u32,
                _ => rng.below(60) as u32,
            };
            s.reds[p] = rng.next_u64() % (PERIOD + PERIOD / 2);
        }
    }
    // The longest total is at least the longest single priority, at most their sum.
    let sum: u32 = s.max_len.iter().sum();
    let top = s.max_len.iter().copied().max().unwrap_or(0);
    s.max_total_len = top + rng.below((sum - top) as usize + 1) as u32;
    s.out_of_work = idle;
    s.halftime_out_of_work = idle && rng.chance(60);
    if !idle && rng.chance(10) {
        // All its time went to max and high: no availability for normal and low, so
        // such a queue is evacuated at those priorities.
        s.reds[Priority::Normal.index()] = 0;
        s.reds[Priority::Low.index()] = 0;
        s.reds[Priority::High.index()] += 1;
    }
    if rng.chance(5) {
        // An all-quiet queue.
        s = QueueSample { out_of_work: true, halftime_out_of_work: true, ..QueueSample::default() };
    }
    s
}

struct Fnv(u64);

impl Fnv {
    fn add(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}

fn digest(h: &mut Fnv, plan: &Plan) {
    h.add(plan.active as u64);
    h.add(plan.compacted as u64);
    h.add(plan.queues.len() as u64);
    for q in plan.queues.iter() {
        h.add(q.inactive as u64);
        h.add(q.full_reds);
        for path in q.paths {
            let kind = match path.kind {
                PathKind::None => 0,
                PathKind::Emigrate => 1,
                PathKind::Immigrate => 2,
            };
            h.add(kind);
            h.add(path.other as u64);
            h.add(path.limit_here as u64);
            h.add(path.limit_other as u64);
            h.add(path.evacuate as u64);
        }
    }
}

/// How often each kind of decision came up, so the test shows it covers them all.
#[derive(Default, Debug)]
struct Seen {
    compacted: u64,
    emigrate: u64,
    immigrate: u64,
    one_sided: u64,
    evacuate: u64,
}

fn check_plan(topo: &Topology, plan: &Plan, ctx: &str, seen: &mut Seen) {
    let n = topo.len();
    assert_eq!(plan.queues.len(), n, "{ctx}");
    assert!(plan.active >= 1 && plan.active <= n, "{ctx}: active {}", plan.active);
    let inactive = plan.queues.iter().filter(|q| q.inactive).count();
    assert_eq!(inactive, n - plan.active, "{ctx}");
    assert_eq!(plan.compacted, inactive > 0, "{ctx}");
    seen.compacted += plan.compacted as u64;
    for (pos, c) in topo.compaction_order().iter().enumerate() {
        assert_eq!(plan.queues[c.index()].inactive, pos >= plan.active, "{ctx}: queue {}", c.index());
    }
    for (q, qp) in plan.queues.iter().enumerate() {
        for (p, path) in qp.paths.iter().enumerate() {
            let prio = Priority::ALL[p];
            if qp.inactive {
                assert_eq!(path.kind, PathKind::Emigrate, "{ctx}: inactive queue {q}");
                assert!(path.evacuate, "{ctx}: inactive queue {q}");
                assert!(!plan.queues[path.other as usize].inactive, "{ctx}: queue {q} evacuates to an inactive one");
                continue;
            }
            if path.kind == PathKind::None {
                assert_eq!(*path, Default::default(), "{ctx}");
                continue;
            }
            let other = path.other as usize;
            assert!(other < n && other != q, "{ctx}: queue {q} prio {p} points at {other}");
            assert!(!plan.queues[other].inactive, "{ctx}: queue {q} prio {p} pairs with an inactive queue");
            assert_ne!(topo.class_weight(CoreId::new(q), prio), 0, "{ctx}: excluded queue {q} has a path");
            assert_ne!(topo.class_weight(CoreId::new(other), prio), 0, "{ctx}: path to an excluded queue");
            // The limits quoted are the other queue's own.
            let theirs = plan.queues[other].paths[p];
            seen.evacuate += path.evacuate as u64;
            if theirs.kind == PathKind::None || theirs.other as usize != q {
                seen.one_sided += 1;
            } else {
                assert_eq!(
                    (theirs.limit_here, theirs.limit_other),
                    (path.limit_other, path.limit_here),
                    "{ctx}: queues {q} and {other} prio {p}"
                );
            }
            match path.kind {
                // A source emigrates while over its limit; it has a limit unless evacuated.
                PathKind::Emigrate => seen.emigrate += 1,
                PathKind::Immigrate => seen.immigrate += 1,
                PathKind::None => unreachable!(),
            }
            match path.kind {
                PathKind::Emigrate => assert!(path.evacuate || path.limit_here > 0, "{ctx}: queue {q} prio {p}"),
                // A target has room: its limit is above zero.
                PathKind::Immigrate => assert!(path.limit_here > 0, "{ctx}: queue {q} prio {p}"),
                PathKind::None => unreachable!(),
            }
        }
    }
}

/// Runs every sequence, checks every plan, and returns the digest of them all.
fn run_all() -> (u64, Seen) {
    let mut seen = Seen::default();
    let mut h = Fnv(0xCBF2_9CE4_8422_2325);
    for seed in 0..SEQUENCES {
        let mut rng = Rng::new(seed + 1);
        let topo = random_topology(&mut rng);
        let n = topo.len();
        let mut b = Balancer::new(&topo, PERIOD);
        let compact = rng.chance(75);
        let mut active = n;
        let mut samples = vec![QueueSample::default(); n];
        for pass in 0..PASSES {
            // Load phases: mostly idle, mostly busy, or mixed.
            let phase = (pass / 8) % 3;
            for s in samples.iter_mut() {
                *s = random_sample(&mut rng);
                if phase == 0 && rng.chance(70) {
                    s.out_of_work = true;
                    s.halftime_out_of_work = rng.chance(80);
                } else if phase == 1 && rng.chance(70) {
                    s.out_of_work = false;
                    s.halftime_out_of_work = false;
                }
            }
            // The scheduler may have re-activated queues since the last pass.
            let current = (active + rng.below(3)).min(n);
            if rng.chance(10) {
                // Any count the balancer may be told between passes.
                b.set_last_active(1 + rng.below(n));
            }
            let forced = rng.chance(10);
            let plan = b.full_pass(&samples, current, compact, forced);
            check_plan(&topo, plan, &format!("seed {seed} pass {pass}"), &mut seen);
            digest(&mut h, plan);
            active = plan.active;
            assert_eq!(b.last_active(), active, "seed {seed} pass {pass}");
        }
    }
    (h.0, seen)
}

#[test]
fn plans_are_well_formed_and_unchanged() {
    let (d, seen) = run_all();
    assert!(
        seen.compacted > 100
            && seen.emigrate > 1000
            && seen.immigrate > 1000
            && seen.one_sided > 100
            && seen.evacuate > 100,
        "the random passes miss a kind of decision: {seen:?}"
    );
    assert_eq!(d, GOLDEN, "the balance plans changed: digest {d:#018x}");
}
