//! A process's timed wait: its generation, its one timer, and the order of the steps
//! that keeps a timeout from being lost or left behind.
//!
//! * Each process slot has a [`WaitTimer`]: a wait generation and the timer armed for
//!   it, if any. A Z80 call that blocks with a timeout reads the generation
//!   ([`WaitTimer::current`]) and keeps it until the wait ends; a native task's every
//!   wait is a new one ([`WaitTimer::next`]).
//! * The timer is armed only after the scheduler has really parked the process
//!   ([`WaitTimer::schedule_out`]: `OutAction::Waiting`). A wait the scheduler turned
//!   into a requeue (WAKE_PENDING: a wake-up came while the slice ended) arms nothing;
//!   the process retries its call and arms then, with the same generation.
//! * [`WaitTimer::arm`] reads the generation under the timer lock: a wait that ended
//!   meanwhile (or a newer one, whose own arming comes or came) is left alone, a
//!   timer already armed for this very wait stays, one for an older wait is cancelled.
//!   So a process has at most one timer.
//! * A wait that ends (message taken, timeout seen, exit) bumps the generation and then
//!   cancels under the same lock ([`WaitTimer::end`]): it finds any timer armed before,
//!   and an arming after it sees the new generation and arms nothing.
//! * A timer that fires wakes the process only if its generation is still current
//!   ([`WaitTimer::is_current`]); a stale one popped before a cancel does nothing.
//!
//! `tests/loom_wait.rs` model-checks these functions with the real scheduler and timer
//! wheel (`make test-loom`).

use crate::sync::{AtomicU32, Mutex};
use core::sync::atomic::Ordering;
use zbeam_sched::{CoreId, OutAction, OutReason, Pid, Reductions, SchedError, ScheduledOut, Scheduler};
use zbeam_timerwheel::{Handle, TimerWheel};

/// A core's timers: (pid, wait generation) per armed wait.
pub type Wheel = Mutex<TimerWheel<(u32, u32)>>;

/// A core's wheel, starting at time `now` with room for `capacity` timers.
pub fn new_wheel(now: u64, capacity: usize) -> Wheel {
    Mutex::new(TimerWheel::with_capacity(now, capacity))
}

/// Where a process's timer is: the wheel of core `core`, for wait generation `gen`.
#[derive(Debug, Clone, Copy)]
struct Armed {
    core: usize,
    gen: u32,
    handle: Handle,
}

/// What [`WaitTimer::arm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// A timer runs for this wait (armed now, or already).
    Armed,
    /// The wait is over or a newer one began: nothing to arm.
    Stale,
    /// The wheel could not grow: the caller must make the process runnable (it then
    /// retries its call, polling until its deadline, late never).
    NoRoom,
    /// The process was not parked: nothing to arm.
    NotWaiting,
}

/// One process slot's wait generation and timer (see the module doc).
#[derive(Debug)]
pub struct WaitTimer {
    gen: AtomicU32,
    armed: Mutex<Option<Armed>>,
}

impl Default for WaitTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitTimer {
    /// Generation 0, no timer.
    pub fn new() -> Self {
        WaitTimer { gen: AtomicU32::new(0), armed: Mutex::new(None) }
    }

    /// The current wait's generation (a blocking Z80 call reads it).
    pub fn current(&self) -> u32 {
        // Acquire: pairs with the Release bump at the end of a wait.
        self.gen.load(Ordering::Acquire)
    }

    /// Begins a new wait (a native task's every wait): timers of earlier waits become
    /// stale. Returns the new generation.
    pub fn next(&self) -> u32 {
        // Release: a timer that fires later compares against this value.
        self.gen.fetch_add(1, Ordering::Release).wrapping_add(1)
    }

    /// Whether a timer armed for generation `gen` still belongs to the current wait.
    pub fn is_current(&self, gen: u32) -> bool {
        self.current() == gen
    }

    /// Ends the wait in progress: bumps the generation, then cancels its timer, if any,
    /// in whichever wheel it is. O(1).
    pub fn end(&self, wheels: &[Wheel]) {
        // Release: a timer firing later compares against the new generation.
        self.gen.fetch_add(1, Ordering::Release);
        if let Some(old) = self.armed.lock().take() {
            let _ = wheels[old.core].lock().cancel(old.handle);
        }
    }

    /// Arms the timer of `pid`'s wait `gen`, due at `deadline`, in `core`'s wheel (see
    /// the module doc for what it leaves alone).
    pub fn arm(&self, wheels: &[Wheel], core: CoreId, pid: Pid, deadline: u64, gen: u32) -> Arm {
        let mut armed = self.armed.lock();
        if self.current() != gen {
            return Arm::Stale;
        }
        if armed.is_some_and(|a| a.gen == gen) {
            return Arm::Armed;
        }
        if let Some(old) = armed.take() {
            let _ = wheels[old.core].lock().cancel(old.handle);
        }
        match wheels[core.index()].lock().try_insert(deadline, (pid.get(), gen)) {
            Ok(handle) => {
                *armed = Some(Armed { core: core.index(), gen, handle });
                Arm::Armed
            }
            Err(_) => Arm::NoRoom,
        }
    }

    /// Ends `pid`'s slice on `core` for `reason` with the scheduler, then, if the slice
    /// stopped to wait with a deadline (`gen`: the wait's generation) and the scheduler
    /// really parked the process (`OutAction::Waiting`), arms the wait's timer. The
    /// engine ends every slice through here.
    #[allow(clippy::too_many_arguments)]
    pub fn schedule_out(
        &self,
        sched: &Scheduler,
        wheels: &[Wheel],
        core: CoreId,
        pid: Pid,
        used: Reductions,
        reason: OutReason,
        gen: Option<u32>,
    ) -> Result<(ScheduledOut, Arm), SchedError> {
        let out = sched.schedule_out(core, pid, used, reason)?;
        let arm = match (out.action, gen) {
            (OutAction::Waiting { timeout: Some(deadline) }, Some(gen)) => self.arm(wheels, core, pid, deadline, gen),
            _ => Arm::NotWaiting,
        };
        Ok((out, arm))
    }
}
