//! Behaviour tests of the timer wheel: boundaries of both wheels, wrap-around, cancel and stale
//! handles, re-arming while draining, crowded slots, large jumps of time, a million random timers
//! checked for "never early, never late, exactly once", tickless idle, and a model-based test
//! against a `BTreeMap` reference.

use std::collections::{BTreeMap, HashMap};

use zbeam_timerwheel::{Fired, Handle, TimerWheel, LATER_SLOTS, MAX_TIME, PAGE_TICKS, SOON_SLOTS};

/// splitmix64: small, seeded, good enough to drive tests reproducibly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn drain<T>(w: &mut TimerWheel<T>) -> Vec<Fired<T>> {
    std::iter::from_fn(|| w.pop_expired()).collect()
}

/// A delay-distribution that hits the soon wheel, the later wheel and beyond one later-wheel turn.
fn random_delay(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=59 => rng.below(SOON_SLOTS + 2),
        60..=89 => rng.below(1 << 22),
        90..=97 => rng.below(LATER_SLOTS * PAGE_TICKS + 3 * PAGE_TICKS),
        _ => rng.below(4 * LATER_SLOTS * PAGE_TICKS),
    }
}

const TURN: u64 = LATER_SLOTS * PAGE_TICKS;
const BOUNDARY_DELAYS: &[u64] = &[
    0,
    1,
    2,
    PAGE_TICKS - 1,
    PAGE_TICKS,
    PAGE_TICKS + 1,
    SOON_SLOTS - 1,
    SOON_SLOTS,
    SOON_SLOTS + 1,
    SOON_SLOTS + 2,
    3 * PAGE_TICKS - 1,
    3 * PAGE_TICKS,
    3 * PAGE_TICKS + 1,
    TURN - PAGE_TICKS,
    TURN - 1,
    TURN,
    TURN + 1,
    TURN + SOON_SLOTS,
    2 * TURN + 7,
    5 * TURN + PAGE_TICKS + 1,
];
const STARTS: &[u64] = &[0, 1, PAGE_TICKS - 1, PAGE_TICKS, SOON_SLOTS - 1, SOON_SLOTS + 1, 123_456_789, TURN - 1];

/// Every boundary delay from every awkward start: silent one tick before, fires exactly at the
/// deadline, whether time gets there in one jump or in several.
#[test]
fn boundaries_fire_exactly_on_time() {
    for &start in STARTS {
        for &d in BOUNDARY_DELAYS {
            for steps in [1u64, 3, 17] {
                let mut w = TimerWheel::new(start);
                let h = w.insert_after(d, d);
                assert_eq!(w.deadline(h), Some(start + d));
                let nd = w.next_deadline().unwrap();
                assert!(nd <= start + d, "next_deadline {nd} later than {}", start + d);
                if d > 0 {
                    for s in 1..=steps {
                        let t = start + (d - 1) * s / steps;
                        assert_eq!(w.advance(t), 0, "start {start} delay {d}: early at {t}");
                    }
                }
                assert_eq!(w.advance(start + d), 1, "start {start} delay {d}: not fired at deadline");
                let f = w.pop_expired().unwrap();
                assert_eq!((f.handle, f.deadline, f.payload), (h, start + d, d));
                assert!(w.is_empty() && w.next_deadline().is_none());
            }
        }
    }
}

/// Zero delay fires at the next advance, even one that does not move time.
#[test]
fn zero_delay_fires_at_next_advance_even_without_time_passing() {
    let mut w = TimerWheel::new(42);
    w.insert_after(0, 'a');
    assert_eq!(w.next_deadline(), Some(42));
    assert_eq!(w.advance(42), 1);
    assert_eq!(w.pop_expired().unwrap().payload, 'a');
    w.insert(10, 'b');
    assert_eq!(w.advance(30), 1, "a past deadline also fires at once, and time never goes back");
    assert_eq!(w.now(), 42);
}

/// A periodic timer re-armed from its own expiry, stepping one tick at a time across several
/// turns of the soon wheel index and two later-wheel slot ranges.
#[test]
fn periodic_rearm_wraps_soon_index() {
    let mut w = TimerWheel::new(SOON_SLOTS - 5);
    let period = 777;
    let mut due = w.now() + period;
    w.insert_after(period, ());
    let mut fired = 0;
    for t in w.now() + 1..=w.now() + 4 * SOON_SLOTS {
        let n = w.advance(t);
        if t == due {
            assert_eq!(n, 1);
            let f = w.pop_expired().unwrap();
            assert_eq!(f.deadline, t);
            w.insert_after(period, ());
            due += period;
            fired += 1;
        } else {
            assert_eq!(n, 0, "fired at {t}, due {due}");
        }
    }
    assert_eq!(fired, 4 * SOON_SLOTS / period);
}

/// Far timers (several later-wheel turns) survive index wrap-around via re-insertion and fire on
/// time, including when time advances page by page.
#[test]
fn far_timers_wrap_later_index() {
    let mut w = TimerWheel::new(1000);
    let ds = [TURN - 1, TURN, TURN + 1, 2 * TURN, 3 * TURN + 4097];
    for &d in &ds {
        w.insert_after(d, d);
    }
    let mut got = Vec::new();
    let mut t = 1000;
    while !w.is_empty() {
        t += PAGE_TICKS / 2 + 1;
        w.advance(t);
        for f in drain(&mut w) {
            assert!(f.deadline <= t && f.deadline > t - (PAGE_TICKS / 2 + 1), "late or early: {f:?} at {t}");
            got.push(f.payload);
        }
    }
    assert_eq!(got, ds);
}

/// Cancel before fire returns the payload; after fire, twice, or on a reused slot it is a no-op
/// that never touches the new timer.
#[test]
fn cancel_and_stale_handles() {
    let mut w = TimerWheel::new(0);
    let a = w.insert(10, "a");
    let far = w.insert(10 * TURN, "far");
    assert_eq!(w.cancel(a), Some("a"));
    assert_eq!(w.cancel(a), None, "double cancel");
    assert_eq!(w.deadline(a), None);
    let b = w.insert(10, "b"); // reuses a's slot
    assert_eq!(w.cancel(a), None, "stale handle must not cancel the slot's new timer");
    assert_eq!(w.advance(10), 1);
    assert_eq!(w.pop_expired().unwrap().payload, "b");
    assert_eq!(w.cancel(b), None, "cancel after fire");
    assert_eq!(w.cancel(far), Some("far"));
    assert!(w.is_empty());
    assert_eq!(w.advance(20 * TURN), 0);

    // Expired but not yet popped: cancel wins and the timer is not delivered.
    let c = w.insert_after(5, "c");
    let d = w.insert_after(5, "d");
    assert_eq!(w.advance(w.now() + 5), 2);
    assert_eq!(w.cancel(c), Some("c"));
    assert_eq!(drain(&mut w).into_iter().map(|f| f.payload).collect::<Vec<_>>(), ["d"]);
    assert_eq!(w.cancel(d), None);
}

/// Re-arming from inside the drain: a zero-delay re-arm fires at the next advance (not in the
/// same drain), a positive one on its own deadline.
#[test]
fn rearm_inside_expiry() {
    let mut w = TimerWheel::new(0);
    w.insert(5, 0u32);
    assert_eq!(w.advance(5), 1);
    let mut rounds = 0;
    while let Some(f) = w.pop_expired() {
        assert_eq!(f.payload, 0);
        rounds += 1;
        w.insert_after(0, 1);
        w.insert_after(3, 2);
    }
    assert_eq!(rounds, 1, "zero-delay re-arm must not loop inside one drain");
    assert_eq!(w.advance(5), 1);
    assert_eq!(w.pop_expired().unwrap().payload, 1);
    assert_eq!(w.advance(7), 0);
    assert_eq!(w.advance(8), 1);
    assert_eq!(w.pop_expired().unwrap().payload, 2);
}

/// Many timers in one slot, half cancelled: the rest fire together, in insertion order.
#[test]
fn crowded_slot() {
    let mut w = TimerWheel::new(0);
    let hs: Vec<Handle> = (0..20_000u32).map(|i| w.insert(SOON_SLOTS + 100, i)).collect();
    for h in hs.iter().skip(1).step_by(2) {
        assert!(w.cancel(*h).is_some());
    }
    assert_eq!(w.advance(SOON_SLOTS + 99), 0);
    assert_eq!(w.advance(SOON_SLOTS + 100), 10_000);
    let got: Vec<u32> = drain(&mut w).into_iter().map(|f| f.payload).collect();
    assert_eq!(got, (0..20_000).step_by(2).collect::<Vec<_>>());
}

/// Time jumping by 10^6 ticks at once: each timer fires in the jump that crosses its deadline,
/// and output comes in deadline order.
#[test]
fn large_jumps() {
    let mut rng = Rng(7);
    let mut w = TimerWheel::new(0);
    for i in 0..50_000u32 {
        let d = rng.below(20_000_000);
        w.insert(d, (i, d));
    }
    let mut prev = 0u64;
    let mut count = 0;
    for step in 1..=20u64 {
        let now = step * 1_000_000;
        w.advance(now);
        let fired = drain(&mut w);
        for pair in fired.windows(2) {
            assert!(pair[0].deadline <= pair[1].deadline, "not in deadline order");
        }
        for f in fired {
            assert!(f.deadline <= now && (f.deadline > prev || prev == 0), "{f:?} in jump {prev}..{now}");
            count += 1;
        }
        prev = now;
    }
    assert_eq!(count, 50_000);
}

/// A million timers with random delays (soon, later, beyond one later turn), time moving in random
/// steps with occasional 10^6 jumps and timers added along the way: every timer fires exactly once,
/// never before its deadline and in the first advance that reaches it.
#[test]
fn million_random_timers_never_early_never_late_exactly_once() {
    const N: usize = 1_000_000;
    let mut rng = Rng(0x2B_EA11);
    let mut w = TimerWheel::with_capacity(0, N);
    let mut deadlines = Vec::with_capacity(N);
    let mut inserted_at = Vec::with_capacity(N);
    let mut fired = vec![false; N];
    let mut remaining = 0usize;
    let mut prev = 0u64;
    let mut inserted = 0;
    while inserted < N || remaining > 0 {
        // Add a batch at the current time, then move time on.
        let batch = if inserted < N { (rng.below(2_000) as usize + 1).min(N - inserted) } else { 0 };
        for _ in 0..batch {
            let d = random_delay(&mut rng);
            deadlines.push(w.now() + d);
            inserted_at.push(w.now());
            w.insert_after(d, inserted as u32);
            inserted += 1;
            remaining += 1;
        }
        let nd = w.next_deadline();
        let step = match rng.below(100) {
            0 => 1_000_000,
            1..=4 => 0,
            _ if inserted == N => nd.map_or(1, |t| t.saturating_sub(w.now()).max(1)) + rng.below(50_000),
            _ => rng.below(3_000) + 1,
        };
        let now = w.now() + step;
        w.advance(now);
        while let Some(f) = w.pop_expired() {
            let i = f.payload as usize;
            assert!(!fired[i], "timer {i} fired twice");
            fired[i] = true;
            assert_eq!(f.deadline, deadlines[i]);
            assert!(f.deadline <= now, "timer {i} early: deadline {} at {now}", f.deadline);
            // Not late: no earlier advance since its insertion had reached its deadline.
            assert!(
                f.deadline > prev || inserted_at[i] == prev,
                "timer {i} late: deadline {} passed at {prev}",
                f.deadline
            );
            remaining -= 1;
        }
        if let Some(nd) = nd {
            assert!(nd >= prev, "next_deadline in the past");
        }
        prev = now;
    }
    assert!(fired.iter().all(|&f| f));
    assert!(w.is_empty() && w.next_deadline().is_none());
}

/// Tickless idle: a core that only ever wakes at `next_deadline()` still fires every timer on time.
#[test]
fn tickless_idle_follows_next_deadline() {
    let mut rng = Rng(99);
    let mut w = TimerWheel::new(5);
    let mut want: Vec<u64> = (0..3_000).map(|_| 5 + random_delay(&mut rng)).collect();
    for &d in &want {
        w.insert(d, d);
    }
    want.sort_unstable();
    let mut got = Vec::new();
    let mut wakes = 0;
    while let Some(t) = w.next_deadline() {
        assert!(t >= w.now());
        if let Some(&first) = want.get(got.len()) {
            assert!(t <= first, "next_deadline {t} later than pending deadline {first}");
        }
        w.advance(t);
        got.extend(drain(&mut w).into_iter().map(|f| {
            assert!(f.deadline == t || f.deadline <= t && t == 5, "fired late: {} at {t}", f.deadline);
            f.deadline
        }));
        wakes += 1;
    }
    assert_eq!(got, want);
    assert!(wakes <= want.len() + 4 * LATER_SLOTS as usize + 16, "too many idle wake-ups: {wakes}");
}

/// Time near the top of the range: deadlines past `MAX_TIME` are clamped and still fire.
#[test]
fn top_of_time_range() {
    let mut w = TimerWheel::new(MAX_TIME - 3 * TURN);
    let a = w.insert_after(2 * TURN, 'a');
    let b = w.insert_after(u64::MAX, 'b');
    assert_eq!(w.deadline(b), Some(MAX_TIME));
    assert_eq!(w.advance(MAX_TIME - 1), 1);
    assert_eq!(w.pop_expired().unwrap().handle, a);
    assert_eq!(w.advance(u64::MAX), 1);
    assert_eq!(w.pop_expired().unwrap().payload, 'b');
    assert_eq!(w.now(), MAX_TIME);
}

/// Random operations against a simple reference (BTreeMap of deadline -> ids): the same timers
/// fire in the same advance, cancel agrees, `len` agrees, `next_deadline` is never late.
#[test]
fn model_against_btreemap() {
    for seed in 1..=6u64 {
        let mut rng = Rng(seed);
        let mut w = TimerWheel::new(rng.below(1 << 40));
        let mut model: BTreeMap<(u64, u64), Handle> = BTreeMap::new();
        let mut live: HashMap<u64, (u64, Handle)> = HashMap::new();
        let mut dead: Vec<Handle> = Vec::new();
        let mut next_id = 0u64;
        for _ in 0..30_000 {
            match rng.below(10) {
                0..=4 => {
                    let d = w.now() + random_delay(&mut rng);
                    let h = w.insert(d, next_id);
                    model.insert((d, next_id), h);
                    live.insert(next_id, (d, h));
                    next_id += 1;
                }
                5 | 6 => {
                    if !live.is_empty() && rng.below(4) != 0 {
                        let id = *live.keys().nth(rng.below(live.len() as u64) as usize).unwrap();
                        let (d, h) = live.remove(&id).unwrap();
                        model.remove(&(d, id));
                        assert_eq!(w.cancel(h), Some(id));
                        dead.push(h);
                    } else if let Some(&h) = dead.get(rng.below(dead.len() as u64 + 1) as usize) {
                        assert_eq!(w.cancel(h), None, "stale handle cancelled something");
                    }
                }
                _ => {
                    let step = match rng.below(20) {
                        0 => rng.below(TURN * 2),
                        1 => 0,
                        2..=5 => rng.below(1 << 20),
                        _ => rng.below(2 * SOON_SLOTS),
                    };
                    if let (Some(nd), Some((&(first, _), _))) = (w.next_deadline(), model.iter().next()) {
                        assert!(nd <= first.max(w.now()), "next_deadline {nd} after first deadline {first}");
                    }
                    let now = w.now() + step;
                    w.advance(now);
                    let mut got: Vec<(u64, u64)> = drain(&mut w)
                        .into_iter()
                        .map(|f| {
                            dead.push(f.handle);
                            (f.deadline, f.payload)
                        })
                        .collect();
                    got.sort_unstable();
                    let later = model.split_off(&(now + 1, 0));
                    let want: Vec<(u64, u64)> = model.keys().copied().collect();
                    model = later;
                    for (_, id) in &want {
                        live.remove(id);
                    }
                    assert_eq!(got, want, "seed {seed}: advance to {now}");
                }
            }
            assert_eq!(w.len(), model.len());
        }
    }
}

/// Arm-then-cancel, as a receive that gets its message does, a million times: the slab
/// stays at the most timers ever armed at once, and `try_insert` behaves as `insert`.
#[test]
fn cancelled_timers_are_reused_without_growth() {
    let mut w: TimerWheel<u32> = TimerWheel::new(0);
    let mut held = Vec::new();
    for i in 0..4u32 {
        held.push(w.try_insert(65_000, i).expect("room"));
    }
    for i in 0..1_000_000u32 {
        let h = w.try_insert(u64::from(i % 70_000) + 1, i).expect("room");
        assert_eq!(w.cancel(h), Some(i));
        if i % 1000 == 0 {
            w.advance(w.now() + 1);
            assert!(w.pop_expired().is_none(), "a cancelled timer fired");
        }
    }
    assert_eq!(w.len(), 4);
    assert_eq!(w.slab_len(), 5, "the slab grew past the most timers armed at once");
    for h in held {
        assert!(w.cancel(h).is_some());
    }
    assert!(w.is_empty());
}
