//! `spin-engine [ROUNDS]`: runs the `spin` image (ROUNDS x 65536 x 4 Z80 instructions,
//! default 16) as one engine process on one core with a platform that does nothing,
//! then prints its exit. For counting the host instructions the engine spends per Z80
//! instruction, e.g. `valgrind --tool=callgrind --callgrind-out-file=/dev/null
//! target/release/examples/spin-engine 16` (and 32: the difference / 4,194,304 is the
//! cost of one Z80 instruction, start-up excluded). BENCHMARKS.md records the figures.

use std::sync::atomic::{AtomicU64, Ordering};
use zbeam_engine::{Engine, Platform, Step};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

/// A clock that moves only when the core is idle; no console, no wake-ups.
struct Quiet(AtomicU64);

impl Platform for Quiet {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn console(&self, _bytes: &[u8]) {}
}

fn main() {
    let rounds: u16 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let e = Engine::new(Topology::uniform(1), 16, zbeam_images::IMAGES, Quiet(AtomicU64::new(0)));
    let pid = e
        .spawn_image(zbeam_images::SPIN, &rounds.to_le_bytes(), Priority::Normal, CpuSet::ALL, CoreId::new(0))
        .expect("spawn spin");
    while e.is_live(pid) {
        if let Step::Idle { .. } = e.run_once(CoreId::new(0)) {
            e.platform().0.fetch_add(1, Ordering::Relaxed);
        }
    }
    println!("spin {rounds} rounds: {:?}", e.last_exit(pid));
}
