//! A one-core engine for the engine's own tests: a clock that moves 1 ms for every
//! step of the loop, no wake-ups (the test steps the core itself), console output
//! kept in a buffer, and program images made from bytes in the test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zbeam_engine::{Engine, Image, Platform};
use zbeam_sched::{CoreId, CpuSet, Topology};

/// The test platform.
#[derive(Default)]
pub struct Bench {
    pub clock: AtomicU64,
    pub console: Mutex<Vec<u8>>,
}

impl Platform for Bench {
    fn now_ms(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn console(&self, bytes: &[u8]) {
        self.console.lock().unwrap().extend_from_slice(bytes);
    }
}

/// An engine of one core with `programs` as its images (numbered in order).
pub fn engine(programs: &[&[u8]]) -> Engine<Bench> {
    let images: Vec<Image> = programs
        .iter()
        .enumerate()
        .map(|(i, p)| Image {
            name: ["first", "second", "third"].get(i).copied().unwrap_or("other"),
            bytes: p.to_vec().leak(),
        })
        .collect();
    Engine::new(Topology::uniform(1), 64, images.leak(), Bench::default())
}

/// Steps core 0 until `done` holds (true) or `steps` steps have passed (false).
pub fn run_until(e: &Engine<Bench>, steps: u32, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..steps {
        if done() {
            return true;
        }
        let _ = e.run_once(CoreId::new(0));
        e.woke(CoreId::new(0));
        e.platform().clock.fetch_add(1, Ordering::Relaxed);
    }
    done()
}
