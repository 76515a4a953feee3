//! Where tasks run and how time is told: the [`Pool`] trait, and [`CostModel`], a
//! deterministic pool that runs tasks one after another but charges time as if each
//! ran on its own Z80 instance.
//!
//! What: the dispatcher hands a wave of tasks to [`Pool::run_all`] and reads
//! [`Pool::now`] around it; sequential work and validation are reported to the pool
//! so a model pool can charge them. A hosted pool (threads, in `z80run`) or the
//! kernel (engine processes) measure real time and ignore the charges. A pool may
//! also stop a run early ([`Pool::go_on`]), as the kernel's does on Ctrl-C.
//!
//! The cost model, stated openly (all in T-states of one Z80 instance): sequential
//! work costs its T-states; a wave costs its longest task (with more tasks than
//! instances: the last instance to finish when each takes the next task in order as
//! it becomes free, task 0 on the dispatcher's), plus `dispatch` per task
//! handed to another instance (sending the start state and the snapshot, returning
//! the logs), plus `validate` per logged address checked at commit; a redo costs its
//! T-states on the dispatcher's instance.

use crate::task::Task;

/// A set of Z80 instances that run tasks, and a clock.
pub trait Pool {
    /// Instances available, the dispatcher's own included (at most this many tasks a wave).
    fn instances(&self) -> usize;
    /// Runs every task to its end, possibly in parallel; `tasks[0]` runs first on the
    /// caller. There may be up to `instances() * per_instance()` tasks: each instance
    /// takes the next task in order when it is free. Sets each task's `elapsed` to how
    /// long it ran, in the unit of [`Pool::now`].
    fn run_all(&mut self, tasks: &mut [Task]);
    /// Tasks a wave may have per instance (more tasks than instances balance uneven
    /// iterations: a free instance takes the next task). 1 unless the pool schedules so.
    fn per_instance(&self) -> usize {
        1
    }
    /// The time now, in the pool's unit (nanoseconds, or T-states for a model).
    fn now(&mut self) -> u64;
    /// Sequential work of `tstates` was done on the dispatcher's instance.
    fn charge_sequential(&mut self, tstates: u64) {
        let _ = tstates;
    }
    /// Validation checked `addresses` logged addresses.
    fn charge_validation(&mut self, addresses: u64) {
        let _ = addresses;
    }
    /// The smallest task worth sending, in T-states (amortises the hand-off).
    fn min_task_tstates(&self) -> u64;
    /// At most this many instructions run on the dispatcher's instance between two
    /// calls of [`Pool::go_on`] (no limit unless the pool sets one).
    fn check_every(&self) -> u64 {
        u64::MAX
    }
    /// Whether the run goes on. The dispatcher asks between stretches of sequential
    /// work (at most [`Pool::check_every`] instructions each), between observed
    /// instances and between waves; `false` ends the run with `RunError::Stopped`.
    fn go_on(&mut self) -> bool {
        true
    }
}

/// The deterministic cost model.
#[derive(Clone, Debug)]
pub struct CostModel {
    /// Instances.
    pub instances: usize,
    /// T-states charged per task handed to another instance.
    pub dispatch: u64,
    /// T-states charged per logged address validated.
    pub validate: u64,
    /// The smallest task worth sending (20 hand-offs, at least 1000 T-states, unless set).
    pub min_task: u64,
    /// Tasks a wave may have per instance (1 unless set).
    pub per_instance: usize,
    clock: u64,
}

impl CostModel {
    /// A model of `instances` instances with the given per-task and per-address costs.
    pub fn new(instances: usize, dispatch: u64, validate: u64) -> CostModel {
        CostModel {
            instances: instances.max(1),
            dispatch,
            validate,
            min_task: (dispatch * 20).max(1000),
            per_instance: 1,
            clock: 0,
        }
    }
    /// The model time so far (T-states on the critical path).
    pub fn elapsed(&self) -> u64 {
        self.clock
    }
}

impl Pool for CostModel {
    fn instances(&self) -> usize {
        self.instances
    }
    fn run_all(&mut self, tasks: &mut [Task]) {
        // Each instance's time when it becomes free; a task goes to the first free one
        // (task 0 to the dispatcher's instance, which is free first).
        let mut free = alloc::vec![0u64; self.instances.min(tasks.len()).max(1)];
        for t in tasks.iter_mut() {
            t.run();
            t.elapsed = t.tstates;
            let first = (0..free.len()).min_by_key(|&i| (free[i], i)).unwrap_or(0);
            free[first] += t.tstates;
        }
        let makespan = free.iter().copied().max().unwrap_or(0);
        self.clock += makespan + self.dispatch * (tasks.len() as u64).saturating_sub(1);
    }
    fn per_instance(&self) -> usize {
        self.per_instance.max(1)
    }
    fn now(&mut self) -> u64 {
        self.clock
    }
    fn charge_sequential(&mut self, tstates: u64) {
        self.clock += tstates;
    }
    fn charge_validation(&mut self, addresses: u64) {
        self.clock += self.validate * addresses;
    }
    fn min_task_tstates(&self) -> u64 {
        self.min_task
    }
}
