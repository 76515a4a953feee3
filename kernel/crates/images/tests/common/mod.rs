//! The simulated platform the host tests drive the engine on: a clock the test moves
//! by hand, no wake-ups (the test steps every core itself) and the console in a buffer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zbeam_engine::{Engine, Pid, Platform, Step};
use zbeam_sched::{CoreId, CpuSet};

#[derive(Default)]
pub struct Sim {
    pub now: AtomicU64,
    pub out: Mutex<Vec<u8>>,
    /// The same output kept apart per process (pid, bytes).
    pub by_pid: Mutex<Vec<(Pid, Vec<u8>)>>,
    /// Memory "low": the engine refuses spawns while it is set.
    pub low: std::sync::atomic::AtomicBool,
}

impl Platform for Sim {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn memory_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }
    fn console(&self, bytes: &[u8]) {
        self.out.lock().unwrap().extend_from_slice(bytes);
    }
    fn console_from(&self, pid: Pid, bytes: &[u8]) {
        self.console(bytes);
        let mut by = self.by_pid.lock().unwrap();
        match by.iter_mut().find(|(p, _)| *p == pid) {
            Some((_, out)) => out.extend_from_slice(bytes),
            None => by.push((pid, bytes.to_vec())),
        }
    }
}

/// What process `pid` wrote.
#[allow(dead_code)]
pub fn output_of(sim: &Sim, pid: Pid) -> String {
    let by = sim.by_pid.lock().unwrap();
    by.iter().find(|(p, _)| *p == pid).map(|(_, o)| String::from_utf8_lossy(o).into_owned()).unwrap_or_default()
}

/// Steps every core until `done` (at most `max_rounds` rounds); see [`round`]. Returns
/// the rounds taken.
pub fn drive(e: &Engine<Sim>, cores: usize, max_rounds: u64, mut done: impl FnMut() -> bool) -> u64 {
    for r in 0..max_rounds {
        if done() {
            return r;
        }
        round(e, cores);
    }
    max_rounds
}

/// One round: steps every core once, then advances the clock by 1 ms, or to the next
/// timer when every core is idle.
pub fn round(e: &Engine<Sim>, cores: usize) {
    let mut all_idle = true;
    let mut next: Option<u64> = None;
    for c in 0..cores {
        match e.run_once(CoreId::new(c)) {
            Step::Ran => all_idle = false,
            Step::Idle { deadline } => {
                next = match (next, deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                e.woke(CoreId::new(c));
            }
        }
    }
    let now = e.platform().now.load(Ordering::Relaxed);
    let to = if all_idle { next.unwrap_or(now + 1).max(now + 1) } else { now + 1 };
    e.platform().now.store(to, Ordering::Relaxed);
}
