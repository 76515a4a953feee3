//! Per-core statistics: reductions, context switches, steals, migrations, idle and
//! busy time, run-queue lengths.
//!
//! What: counters the scheduler bumps on its hot paths (each only by the owning core,
//! or by the core doing the migration) and a plain [`CoreStats`] snapshot for the
//! console's `sched` command and the benchmarks.
//!
//! BEAM (`erlang:statistics/1`): `reductions` and `exact_reductions` (counted,
//! without virtual reductions), `context_switches`, `run_queue_lengths`,
//! `scheduler_wall_time` (active vs total time per scheduler, where spinning counts
//! as idle). Here the runtime reports time stamps at each busy/idle transition
//! ([`crate::Scheduler::account`]) and the crate only accumulates them; it reads no
//! clock itself. Steals and migrations are counted because they are the decisions
//! this crate makes and BEAM has no public counter for them.

use crate::sync::{AtomicU64, AtomicU8, Ordering};

/// What a core is doing from a time stamp on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activity {
    /// Running processes (or scheduler work).
    Busy,
    /// Spinning or sleeping for lack of work.
    Idle,
}

/// A snapshot of one core's counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CoreStats {
    /// Counted reductions executed.
    pub reductions: u64,
    /// The same, per priority of the process that executed them (max, high, normal, low).
    pub reductions_by_prio: [u64; 4],
    /// Processes taken onto the core.
    pub context_switches: u64,
    /// Processes this core stole.
    pub steals: u64,
    /// Processes that migrated onto this queue (emigration targets, immigration).
    pub migrations_in: u64,
    /// Processes that migrated away from this queue.
    pub migrations_out: u64,
    /// Time spent idle, in the runtime's time unit.
    pub idle_time: u64,
    /// Time spent busy, in the runtime's time unit.
    pub busy_time: u64,
    /// Queued processes per priority (max, high, normal, low).
    pub run_queue: [u32; 4],
}

const NONE: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// The live counters of one core. All Relaxed: they are statistics, nothing is
/// published through them, and each is a single independent number.
#[derive(Default)]
pub(crate) struct Counters {
    pub reductions: AtomicU64,
    pub reductions_by_prio: [AtomicU64; 4],
    pub context_switches: AtomicU64,
    pub steals: AtomicU64,
    pub migrations_in: AtomicU64,
    pub migrations_out: AtomicU64,
    idle_time: AtomicU64,
    busy_time: AtomicU64,
    last_ts: AtomicU64,
    last_activity: AtomicU8,
}

impl Counters {
    pub fn bump(counter: &AtomicU64, by: u64) {
        // Relaxed: a statistic (see the struct doc).
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// The core switches to `activity` at time `now`: the time since the previous
    /// switch is added to the previous activity.
    pub fn account(&self, activity: Activity, now: u64) {
        // Relaxed throughout: only the owning core calls this.
        let prev = self.last_activity.swap(if activity == Activity::Busy { BUSY } else { IDLE }, Ordering::Relaxed);
        let last = self.last_ts.swap(now, Ordering::Relaxed);
        let delta = now.saturating_sub(last);
        match prev {
            BUSY => Self::bump(&self.busy_time, delta),
            IDLE => Self::bump(&self.idle_time, delta),
            _ => debug_assert_eq!(prev, NONE),
        }
    }

    pub fn snapshot(&self, run_queue: [u32; 4]) -> CoreStats {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CoreStats {
            reductions: r(&self.reductions),
            reductions_by_prio: [0, 1, 2, 3].map(|p| r(&self.reductions_by_prio[p])),
            context_switches: r(&self.context_switches),
            steals: r(&self.steals),
            migrations_in: r(&self.migrations_in),
            migrations_out: r(&self.migrations_out),
            idle_time: r(&self.idle_time),
            busy_time: r(&self.busy_time),
            run_queue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_accumulates_per_activity() {
        let c = Counters::default();
        c.account(Activity::Busy, 100);
        c.account(Activity::Idle, 250);
        c.account(Activity::Busy, 300);
        c.account(Activity::Busy, 400);
        let s = c.snapshot([0; 4]);
        assert_eq!((s.busy_time, s.idle_time), (250, 50));
    }
}
