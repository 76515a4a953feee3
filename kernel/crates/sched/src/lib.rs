//! zbeam-sched: the BEAM-style scheduling policy of zbeam, with no arch code.
//!
//! What: everything that *decides* in zbeam's scheduling: per-core run queues with
//! BEAM's four priorities, reduction budgets, the atomic per-process state word,
//! work stealing, periodic balancing with emigration/immigration and compaction,
//! affinity masks and P/E core classes, and per-core statistics. The kernel's runtime
//! (and a hosted runtime on Linux threads) *acts*: it runs the picked Z80 process,
//! sends the IPIs, arms the timers and sleeps the cores (DESIGN.md rule 2).
//!
//! Why a separate crate: it is portable `no_std` + `alloc` code with no unsafe, so
//! every decision is tested on the host, including deterministic multi-core
//! simulations (`tests/`).
//!
//! Model: `/work/shared/notes/BEAM.md` (Erlang/OTP 25 `erts/emulator/beam/`
//! `erl_process.c`, `erl_process.h`, `erl_vm.h`). Each module's doc says which BEAM
//! behaviour it follows and where it departs. Start at [`Scheduler`].
//!
//! Modules:
//! * [`ids`]: `Pid`, `CoreId`, `Priority`, `Reductions`;
//! * [`cpuset`]: `CpuSet` affinity masks;
//! * [`reductions`]: the slice budget and the cost of sends and receives;
//! * [`state`]: the per-process atomic state word;
//! * [`topology`]: cores, P/E classes, capacities, steal order;
//! * [`runqueue`]: one run queue per core;
//! * [`balance`]: the pure `check_balance` computation;
//! * [`stats`]: per-core counters;
//! * [`sync`]: the atomics and the run-queue lock (loom models under `--cfg loom`);
//! * [`scheduler`]: the front door a runtime calls.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod balance;
pub mod cpuset;
pub mod ids;
pub mod reductions;
pub mod runqueue;
pub mod scheduler;
pub mod state;
pub mod stats;
pub mod sync;
pub mod topology;

pub use balance::{Balancer, MigrationPath, PathKind, Plan, QueuePlan, QueueSample, CHECK_BALANCE_REDS};
pub use cpuset::CpuSet;
pub use ids::{CoreId, Pid, Priority, Reductions, MAX_CORES};
pub use reductions::{Budget, Cost, CONTEXT_REDS};
pub use runqueue::RunQueue;
pub use scheduler::{
    BalancePass, BalanceStats, Config, ExitReason, FaultCode, OutAction, OutReason, Pick, PickSource, Placed,
    SchedError, ScheduledOut, Scheduler, SleepDecision, Wakeup,
};
pub use state::{ProcState, StateFlags, StateSnapshot, WakeTransition};
pub use stats::{Activity, CoreStats};
pub use sync::LockStats;
pub use topology::{CoreClass, CoreInfo, Topology, TopologyError, CAPACITY_SCALE};
