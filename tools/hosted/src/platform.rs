//! [`HostPlatform`]: the engine's [`Platform`] on Linux, where a core is an OS thread.
//!
//! What: the clock (`std::time::Instant`, milliseconds since the platform was made),
//! the console (stdout, a buffer for tests, or nowhere for benches) and the
//! "interrupt" that wakes a sleeping core: a per-core *wake pending* flag plus a
//! condition variable the core thread blocks on.
//!
//! Why a flag and not just the condition variable: the scheduler tells the runtime to
//! wake a core as soon as that core has set its SLEEPING flag in
//! `Scheduler::prepare_sleep`, which is before the thread actually blocks. A
//! notification sent in that window would find nobody waiting and be lost. The flag
//! records it; the core checks it under the lock before blocking and consumes it
//! when it wakes, so every wake-up is seen exactly once (a stale one only costs an
//! extra `run_once`). This is the hosted counterpart of an IPI that stays pending
//! until the core takes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};
use zbeam_engine::Platform;
use zbeam_sched::CpuSet;

/// Where process console output goes.
#[derive(Debug)]
pub enum Console {
    /// Written to the host's stdout.
    Stdout,
    /// Kept for inspection ([`HostPlatform::console_output`]).
    Buffer(Mutex<Vec<u8>>),
    /// Dropped (benches).
    Discard,
}

/// One core's doorbell.
#[derive(Debug, Default)]
struct Doorbell {
    /// A wake-up arrived that the core has not consumed yet.
    pending: AtomicBool,
    /// The core is (about to be) blocked on `cv`; wakers only take the lock then.
    parked: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
    /// Wake-ups rung (statistics).
    rung: AtomicU64,
}

/// How a core's idle wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// A wake-up was pending or arrived while spinning.
    WokenSpinning,
    /// A wake-up arrived while the thread was blocked.
    WokenBlocked,
    /// The deadline passed.
    Deadline,
    /// The runtime is shutting down.
    Stopped,
}

/// The engine's platform on the host.
#[derive(Debug)]
pub struct HostPlatform {
    start: Instant,
    bells: Box<[Doorbell]>,
    console: Console,
}

impl HostPlatform {
    /// A platform for `cores` core threads; console output goes to `console`.
    pub fn new(cores: usize, console: Console) -> Self {
        HostPlatform { start: Instant::now(), bells: (0..cores.max(1)).map(|_| Doorbell::default()).collect(), console }
    }

    /// Number of cores this platform has doorbells for.
    pub fn cores(&self) -> usize {
        self.bells.len()
    }

    /// The instant the clock counts from (time 0 of [`Platform::now_ms`]).
    pub fn epoch(&self) -> Instant {
        self.start
    }

    /// The instant of engine time `ms`.
    pub fn instant_of(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// What the processes wrote, when the console is a [`Console::Buffer`].
    pub fn console_output(&self) -> Vec<u8> {
        match &self.console {
            Console::Buffer(b) => b.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            _ => Vec::new(),
        }
    }

    /// Wake-ups rung for `core` so far.
    pub fn wakes_rung(&self, core: usize) -> u64 {
        // Relaxed: a statistic.
        self.bells.get(core).map_or(0, |b| b.rung.load(Ordering::Relaxed))
    }

    /// Rings `core`'s doorbell (used by [`Platform::wake`] and by the runtime to stop).
    pub fn ring(&self, core: usize) {
        let Some(bell) = self.bells.get(core) else { return };
        // Relaxed: a statistic.
        bell.rung.fetch_add(1, Ordering::Relaxed);
        // SeqCst (with the load of `parked` below, against the sleeper's store of
        // `parked` then load of `pending`): either the sleeper sees the flag before it
        // blocks, or this side sees it parked and notifies under the lock.
        bell.pending.store(true, Ordering::SeqCst);
        if bell.parked.load(Ordering::SeqCst) {
            // Taking the lock orders this notify after the sleeper's check-then-wait.
            let _g = bell.lock.lock().unwrap_or_else(|e| e.into_inner());
            bell.cv.notify_one();
        }
    }

    /// Core `core` has nothing to run: waits for a wake-up, for `deadline` or for
    /// `stop`, first spinning on the flag for up to `spin` (BEAM's scheduler busy-waits
    /// too before it sleeps; it saves the futex round trip when work comes back
    /// quickly). The spin never runs past the deadline and never yields the CPU: on a
    /// loaded host a `sched_yield` can hand the CPU away for milliseconds, which would
    /// delay this core's timers. Consumes the pending wake-up.
    pub fn idle_wait(&self, core: usize, deadline: Option<Instant>, spin: Duration, stop: &AtomicBool) -> WaitEnd {
        let bell = &self.bells[core];
        if !spin.is_zero() {
            let started = Instant::now();
            let spin_end = deadline.map_or(started + spin, |d| d.min(started + spin));
            let mut i = 0u32;
            loop {
                // Acquire: pairs with the waker's store; the work it published is visible.
                if bell.pending.swap(false, Ordering::Acquire) {
                    return WaitEnd::WokenSpinning;
                }
                // Relaxed: the stop flag is only a request to leave the loop.
                if stop.load(Ordering::Relaxed) {
                    return WaitEnd::Stopped;
                }
                i = i.wrapping_add(1);
                if i.is_multiple_of(64) && Instant::now() >= spin_end {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        let mut guard = bell.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SeqCst: see `ring`.
        bell.parked.store(true, Ordering::SeqCst);
        let end = loop {
            if bell.pending.swap(false, Ordering::SeqCst) {
                break WaitEnd::WokenBlocked;
            }
            // Relaxed: see above; the stopper rings the bell after setting it.
            if stop.load(Ordering::Relaxed) {
                break WaitEnd::Stopped;
            }
            match deadline {
                None => guard = self.wait(bell, guard, None),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break WaitEnd::Deadline;
                    }
                    guard = self.wait(bell, guard, Some(d - now));
                }
            }
        };
        // Relaxed: only a hint for wakers from now on (they ring `pending` anyway).
        bell.parked.store(false, Ordering::Relaxed);
        drop(guard);
        end
    }

    fn wait<'a>(
        &self,
        bell: &'a Doorbell,
        guard: std::sync::MutexGuard<'a, ()>,
        timeout: Option<Duration>,
    ) -> std::sync::MutexGuard<'a, ()> {
        match timeout {
            None => bell.cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
            Some(t) => bell.cv.wait_timeout(guard, t).unwrap_or_else(|e| e.into_inner()).0,
        }
    }
}

impl Platform for HostPlatform {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn wake(&self, cores: CpuSet) {
        for c in cores.iter() {
            self.ring(c.index());
        }
    }

    fn console(&self, bytes: &[u8]) {
        match &self.console {
            Console::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                // Console output is best effort, as on a serial line.
                let _ = out.write_all(bytes);
                let _ = out.flush();
            }
            Console::Buffer(b) => b.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes),
            Console::Discard => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_ring_before_the_wait_is_not_lost() {
        let p = HostPlatform::new(1, Console::Discard);
        let stop = AtomicBool::new(false);
        p.ring(0);
        // No spinning: the pending flag alone must end the blocking wait at once.
        assert_eq!(p.idle_wait(0, None, Duration::ZERO, &stop), WaitEnd::WokenBlocked);
        // Consumed: the next wait runs to its deadline.
        let d = Instant::now() + Duration::from_millis(5);
        assert_eq!(p.idle_wait(0, Some(d), Duration::ZERO, &stop), WaitEnd::Deadline);
        assert!(Instant::now() >= d);
    }

    #[test]
    fn a_ring_during_a_blocking_wait_wakes_it() {
        let p = Arc::new(HostPlatform::new(2, Console::Discard));
        let stop = Arc::new(AtomicBool::new(false));
        for round in 0..200 {
            let (p2, s2) = (p.clone(), stop.clone());
            let t = std::thread::spawn(move || p2.idle_wait(1, None, Duration::from_micros((round % 3) * 20), &s2));
            if round % 2 == 0 {
                std::thread::yield_now();
            }
            p.wake(CpuSet::single(zbeam_sched::CoreId::new(1)));
            let end = t.join().expect("waiter");
            assert!(matches!(end, WaitEnd::WokenBlocked | WaitEnd::WokenSpinning), "round {round}: {end:?}");
        }
    }

    #[test]
    fn buffer_console_keeps_output() {
        let p = HostPlatform::new(1, Console::Buffer(Mutex::new(Vec::new())));
        p.console(b"ab");
        p.console(b"c");
        assert_eq!(p.console_output(), b"abc");
    }
}
