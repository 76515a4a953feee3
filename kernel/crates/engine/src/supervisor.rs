//! Native supervisors: a native task that starts Z80 children, links to them, traps
//! exits and restarts them by OTP's rules (the `supervisor` behaviour of OTP's
//! stdlib, "Supervisor Behaviour" in the OTP design principles).
//!
//! * Child specs: image, arguments, priority, affinity and a restart type —
//!   [`Restart::Permanent`] (always restarted), [`Restart::Transient`] (restarted
//!   unless it ended NORMAL or SHUTDOWN), [`Restart::Temporary`] (never).
//! * Strategies: [`Strategy::OneForOne`] restarts the child that ended;
//!   [`Strategy::OneForAll`] stops every other child (unlinked, then killed) and
//!   starts them all again in spec order (temporary children are not restarted).
//! * Restart intensity: more than `max_restarts` restarts within `period_ms` and the
//!   supervisor gives up: it kills its children and exits with reason SHUTDOWN, which
//!   its own links see (OTP's `shutdown`).
//! * An exit signal with a reason other than NORMAL from a process that is not a
//!   child (its parent, say) stops it the same way, with that reason.
//!
//! Children are stopped with an untrappable kill (OTP's `brutal_kill`); there is no
//! shutdown timeout. The supervisor's state is published through
//! [`SupervisorReport`] for tests and the console.
//!
//! Memory: a supervisor allocates when it is made (by the kernel, never at a Z80
//! program's request): its specs, child table, report and restart history (room for
//! `max_restarts + 1` restarts, up to [`HISTORY_PREALLOC`]). After that its restarts
//! allocate nothing, except that a history longer than the preallocated room grows with
//! `try_reserve`. If the heap refuses, the restart is put off as a restart whose spawn
//! failed is: retried every [`RETRY_MS`], not counted against the intensity (with
//! [`Strategy::OneForAll`] only the child that ended is started again then).

use crate::abi::reason;
use crate::{NativeCx, NativeStep, NativeTask, Pid, SpawnOpts};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;
use zbeam_sched::{CpuSet, Priority};

/// When a child that ended is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Unless it ended with reason NORMAL or SHUTDOWN.
    Transient,
    /// Never.
    Temporary,
}

/// Which children a restart affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Only the child that ended.
    OneForOne,
    /// Every child: the others are stopped and all are started again.
    OneForAll,
}

/// One child: what to run and when to restart it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// Image number.
    pub image: usize,
    /// Argument bytes (at most [`abi::MAX_ARGS`]).
    pub args: Vec<u8>,
    /// Priority.
    pub prio: Priority,
    /// Affinity.
    pub affinity: CpuSet,
    /// Restart type.
    pub restart: Restart,
}

/// Restart intensity: at most `max_restarts` restarts within any `period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts allowed in the period (OTP's `intensity`).
    pub max_restarts: u32,
    /// The period in ms (OTP's `period`, in seconds there).
    pub period_ms: u64,
}

/// What a supervisor is doing, updated at every change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupervisorReport {
    /// Its own pid ([`Pid::KERNEL`] until it has run).
    pub pid: Pid,
    /// Current pid of each child in spec order (None = not running).
    pub children: Vec<Option<Pid>>,
    /// Restarts done so far.
    pub restarts: u32,
    /// The reason it stopped with, once it has.
    pub stopped: Option<u16>,
}

/// A supervisor task; spawn it with `spawn_native` (or linked, with
/// [`crate::Engine::spawn_native_opts`]).
pub struct Supervisor {
    strategy: Strategy,
    specs: Vec<ChildSpec>,
    pids: Vec<Option<Pid>>,
    /// Children that ended and are not to run again.
    done: Vec<bool>,
    history: RestartHistory,
    started: bool,
    /// A restart could not spawn a child (no memory or slot): retried every
    /// [`RETRY_MS`] until it can.
    retry: bool,
    report: Arc<Mutex<SupervisorReport>>,
}

/// How often a restart that could not spawn its child (the kernel refused: no
/// memory, no free slot) is tried again, in ms. Such retries do not count against
/// the restart intensity, which counts crashes: a spawn bomb elsewhere filling
/// memory for a while must not make supervisors give up.
pub const RETRY_MS: u64 = 100;

/// Restart times a supervisor makes room for when it is made (see the module doc).
pub const HISTORY_PREALLOC: usize = 256;

/// The heap refused memory for a supervisor's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMemory;

/// Restart intensity bookkeeping: the times of recent restarts and the total.
#[derive(Debug)]
pub struct RestartHistory {
    intensity: Intensity,
    /// Times of recent restarts (ms), oldest first; never more than `max_restarts + 1`.
    times: VecDeque<u64>,
    /// Restarts allowed so far.
    total: u32,
}

impl RestartHistory {
    /// An empty history with room for `max_restarts + 1` times (at most
    /// [`HISTORY_PREALLOC`]; if the heap refuses even that, [`Self::record`] asks again).
    pub fn new(intensity: Intensity) -> Self {
        let mut times = VecDeque::new();
        let room = (intensity.max_restarts as usize).saturating_add(1).min(HISTORY_PREALLOC);
        let _ = times.try_reserve_exact(room);
        RestartHistory { intensity, times, total: 0 }
    }

    /// Records a restart at `now` (ms): Ok(false) if it exceeds the intensity, and
    /// `NoMemory`, with nothing recorded, if the history must grow and the heap refuses.
    pub fn record(&mut self, now: u64) -> Result<bool, NoMemory> {
        self.times.try_reserve(1).map_err(|_| NoMemory)?;
        self.times.push_back(now);
        while self.times.front().is_some_and(|&t| t + self.intensity.period_ms <= now) {
            self.times.pop_front();
        }
        let allowed = self.times.len() as u32 <= self.intensity.max_restarts;
        if allowed {
            self.total += 1;
        }
        Ok(allowed)
    }

    /// Restarts allowed so far.
    pub fn total(&self) -> u32 {
        self.total
    }
}

impl Supervisor {
    /// A supervisor; its report is readable through the returned handle.
    pub fn new(
        strategy: Strategy,
        intensity: Intensity,
        specs: Vec<ChildSpec>,
    ) -> (Box<Self>, Arc<Mutex<SupervisorReport>>) {
        let n = specs.len();
        // The report's child list has its final length now: publishing copies into it.
        let report = Arc::new(Mutex::new(SupervisorReport { children: alloc::vec![None; n], ..Default::default() }));
        let s = Supervisor {
            strategy,
            specs,
            pids: alloc::vec![None; n],
            done: alloc::vec![false; n],
            history: RestartHistory::new(intensity),
            started: false,
            retry: false,
            report: report.clone(),
        };
        (Box::new(s), report)
    }

    fn publish(&self, stopped: Option<u16>) {
        let mut r = self.report.lock();
        r.children.clone_from(&self.pids);
        r.restarts = self.history.total();
        r.stopped = stopped;
    }

    /// Starts child `i`, linked; false if it cannot be spawned.
    fn start(&mut self, cx: &mut NativeCx<'_>, i: usize) -> bool {
        let s = &self.specs[i];
        let opts = SpawnOpts { link: true, ..SpawnOpts::new(s.prio, s.affinity) };
        match cx.spawn_opts(s.image, &s.args, opts) {
            Ok((pid, _)) => {
                self.pids[i] = Some(pid);
                true
            }
            Err(_) => false,
        }
    }

    /// Stops child `i` if it runs: unlinked first, so its exit is not seen as a crash.
    fn stop_child(&mut self, cx: &mut NativeCx<'_>, i: usize) {
        if let Some(pid) = self.pids[i].take() {
            let _ = cx.unlink(pid);
            cx.kill(pid);
        }
    }

    /// Stops every child and exits with `why`.
    fn shutdown(&mut self, cx: &mut NativeCx<'_>, why: u16) -> NativeStep {
        for i in (0..self.pids.len()).rev() {
            self.stop_child(cx, i);
        }
        self.publish(Some(why));
        NativeStep::Exit(why as u32)
    }

    /// Child `i` ended with `why`: restart as its spec and the strategy say.
    fn child_exited(&mut self, cx: &mut NativeCx<'_>, i: usize, why: u16) -> Option<NativeStep> {
        self.pids[i] = None;
        let restart = match self.specs[i].restart {
            Restart::Permanent => true,
            Restart::Transient => why != reason::NORMAL && why != reason::SHUTDOWN,
            Restart::Temporary => false,
        };
        if !restart {
            self.done[i] = true;
            return None;
        }
        match self.history.record(cx.now_ms()) {
            Ok(true) => {}
            Ok(false) => return Some(self.shutdown(cx, reason::SHUTDOWN)),
            Err(NoMemory) => {
                // Put off: `retry_starts` starts the child once memory allows.
                self.retry = true;
                return None;
            }
        }
        match self.strategy {
            Strategy::OneForOne => {
                if !self.start(cx, i) {
                    self.retry = true;
                }
            }
            Strategy::OneForAll => {
                for j in (0..self.pids.len()).rev() {
                    self.stop_child(cx, j);
                    if self.specs[j].restart == Restart::Temporary {
                        self.done[j] = true;
                    }
                }
                for j in 0..self.specs.len() {
                    if !self.done[j] && !self.start(cx, j) {
                        self.retry = true;
                    }
                }
            }
        }
        None
    }

    /// Starts again every child a restart could not spawn; true if all run now.
    fn retry_starts(&mut self, cx: &mut NativeCx<'_>) -> bool {
        let mut all = true;
        for i in 0..self.specs.len() {
            if self.pids[i].is_none() && !self.done[i] && !self.start(cx, i) {
                all = false;
            }
        }
        all
    }
}

impl NativeTask for Supervisor {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if !self.started {
            self.started = true;
            self.report.lock().pid = cx.pid();
            cx.trap_exit(true);
            for i in 0..self.specs.len() {
                if !self.start(cx, i) {
                    return self.shutdown(cx, reason::SHUTDOWN);
                }
            }
            self.publish(None);
        }
        while let Some(m) = cx.receive() {
            let Some((pid, why)) = crate::abi::parse_exit_message(&m) else { continue };
            match self.pids.iter().position(|&p| p == Some(pid)) {
                Some(i) => {
                    if let Some(stop) = self.child_exited(cx, i, why) {
                        return stop;
                    }
                }
                None if why != reason::NORMAL => return self.shutdown(cx, why),
                None => {}
            }
            self.publish(None);
        }
        if self.retry {
            self.retry = !self.retry_starts(cx);
            self.publish(None);
            if self.retry {
                return NativeStep::Wait { until: Some(cx.now_ms() + RETRY_MS) };
            }
        }
        NativeStep::Wait { until: None }
    }

    fn name(&self) -> &'static str {
        "supervisor"
    }
}
