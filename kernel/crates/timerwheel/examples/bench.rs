//! Cost per timer of insert, cancel and advance+pop, next to a `BTreeMap` reference, as a table.
//! Run with `cargo run --release -p zbeam-timerwheel --example bench` (not part of the tests).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use zbeam_timerwheel::{Handle, TimerWheel};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Delays like a scheduler's: mostly short receive timeouts and slices, some seconds, a few long.
fn delays(seed: u64, n: usize) -> Vec<u64> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| match rng.next() % 100 {
            0..=69 => rng.next() % 5_000,
            70..=94 => rng.next() % 60_000,
            _ => rng.next() % 10_000_000,
        })
        .collect()
}

fn ns_per(start: Instant, n: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    for n in [10_000, 1_000_000] {
        run(n);
        println!();
    }
}

fn run(n: usize) {
    let ds = delays(1, n);
    let step = 7u64; // the caller's tick granularity while firing

    // Timer wheel.
    let mut w = TimerWheel::with_capacity(0, n);
    let t = Instant::now();
    let hs: Vec<Handle> = ds.iter().enumerate().map(|(i, &d)| w.insert_after(d, i as u32)).collect();
    let wheel_insert = ns_per(t, n);
    let t = Instant::now();
    for &h in &hs {
        black_box(w.cancel(h));
    }
    let wheel_cancel = ns_per(t, n);
    for (i, &d) in ds.iter().enumerate() {
        w.insert_after(d, i as u32);
    }
    let t = Instant::now();
    let mut fired = 0;
    while !w.is_empty() {
        w.advance(w.now() + step);
        while let Some(f) = w.pop_expired() {
            black_box(f);
            fired += 1;
        }
    }
    let wheel_fire = ns_per(t, fired);
    // A kernel tick with nothing due: one far timer armed, time moved one tick per call.
    w.insert_after(1 << 40, 0);
    let t = Instant::now();
    for _ in 0..n {
        black_box(w.advance(w.now() + 1));
    }
    let wheel_tick = ns_per(t, n);

    // BTreeMap reference: key (deadline, id).
    let mut m: BTreeMap<(u64, u32), u32> = BTreeMap::new();
    let t = Instant::now();
    for (i, &d) in ds.iter().enumerate() {
        m.insert((d, i as u32), i as u32);
    }
    let map_insert = ns_per(t, n);
    let t = Instant::now();
    for (i, &d) in ds.iter().enumerate() {
        black_box(m.remove(&(d, i as u32)));
    }
    let map_cancel = ns_per(t, n);
    for (i, &d) in ds.iter().enumerate() {
        m.insert((d, i as u32), i as u32);
    }
    let t = Instant::now();
    let mut now = 0;
    let mut fired_map = 0;
    while !m.is_empty() {
        now += step;
        while let Some(e) = m.first_entry() {
            if e.key().0 > now {
                break;
            }
            black_box(e.remove());
            fired_map += 1;
        }
    }
    let map_fire = ns_per(t, fired_map);
    m.insert((1 << 40, 0), 0);
    let t = Instant::now();
    for _ in 0..n {
        now += 1;
        black_box(m.first_key_value().is_some_and(|(k, _)| k.0 <= now));
    }
    let map_tick = ns_per(t, n);

    println!(
        "timer cost per timer, {n} timers, delays 70% <5 s, 25% <60 s, 5% <10^7 ticks; firing with {step}-tick steps"
    );
    println!("fire = whole drain time / timers fired (includes every {step}-tick advance in between)");
    println!("{:<22} {:>12} {:>12} {:>14}", "operation", "wheel ns", "btree ns", "btree/wheel");
    for (name, a, b) in [
        ("insert", wheel_insert, map_insert),
        ("cancel", wheel_cancel, map_cancel),
        ("advance+pop (fire)", wheel_fire, map_fire),
        ("idle tick (advance 1)", wheel_tick, map_tick),
    ] {
        println!("{name:<22} {a:>12.1} {b:>12.1} {:>13.2}x", b / a);
    }
}
