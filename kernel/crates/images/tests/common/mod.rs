//! The simulated platform the host tests drive the engine on: a clock the test moves
//! by hand, no wake-ups (the test steps every core itself) and the console in a buffer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zbeam_engine::Platform;
use zbeam_sched::CpuSet;

#[derive(Default)]
pub struct Sim {
    pub now: AtomicU64,
    pub out: Mutex<Vec<u8>>,
}

impl Platform for Sim {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn console(&self, bytes: &[u8]) {
        self.out.lock().unwrap().extend_from_slice(bytes);
    }
}
