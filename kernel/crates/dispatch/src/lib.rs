//! zbeam-dispatch: runs one sequential Z80 program across several Z80 instances,
//! by dependence-aware speculation and a bounded learner, with a committed result
//! bit-exact with the sequential run.
//!
//! The parts (docs/DISPATCHER.md explains the model and the correctness argument):
//! - **observer** ([`region`], and the branch counters in [`dispatch`]): hot loops
//!   from backward branches (not CALLs or returns), per instance the units read before
//!   written and left changed, the read and write footprints, T-states, and the
//!   dynamic execution graph ([`region::Graph`]); hot call sites from CALLs, per
//!   call the state at entry and return ([`region::CallSample`]).
//! - **partitioner** ([`region::analyse`], [`region::analyse_call`], [`predict`]):
//!   the decompositions allowed (chunks of a loop's iterations from a stride or
//!   unchanged prediction; a call beside its continuation, from what the call keeps
//!   and returns) and the assumptions each rests on.
//! - **speculative execution** ([`task`]): each task on its own [`zbeam_z80::Cpu`]
//!   with a versioned view of memory (reads fall through and are logged, writes are
//!   buffered), run by a [`pool::Pool`].
//! - **in-order validation and commit** ([`dispatch`]): predicted start equals the
//!   actual one, nothing read was written earlier in the wave; else squash and redo.
//! - **bounded learner** ([`learn`]): a per-region bandit over the allowed arms, fed
//!   with validation outcomes and net gain; losing regions go back to sequential;
//!   the policy persists per program image.
//! - **ordering points**: BDOS calls and warm boot end tasks and run in order on the
//!   dispatcher; port writes are buffered in each task and released at commit.
//!
//! The machine is `zbeam_z80::cpm`'s CP/M harness (BDOS 0, 2 and 9), so instruction
//! and T-state counts compare with `z80run`'s. [`reference`] is that harness's run with
//! its memory on the heap, and a checksum of a final state. [`cpm`] is the CP/M 2.2
//! machine (`zbeam-cpm`'s BDOS and BIOS, files on its in-memory disk) that
//! [`run_cpm`] runs programs on.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod cpm;
pub mod decode;
pub mod dispatch;
pub mod learn;
pub mod pool;
pub mod predict;
pub mod reference;
pub mod region;
pub mod suite;
pub mod task;

pub use dispatch::{run, run_cpm, Config, Outcome, Report, RunError, Stats};
pub use learn::{Arm, Learner, Policy};
pub use pool::{CostModel, Pool};
pub use predict::Predictor;
