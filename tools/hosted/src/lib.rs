//! zbeam-hosted: zbeam's engine on Linux threads, one thread per core.
//!
//! What: the same portable crates the kernel runs (`zbeam-engine`, `zbeam-sched`,
//! `zbeam-mailbox`, `zbeam-timerwheel`, `zbeam-z80`) driven by a host
//! [`platform::HostPlatform`] (clock from `Instant`, wake-ups through a per-core
//! doorbell, console to stdout or a buffer) and the [`runtime::run`] loop. The host
//! tests in `tests/` check the runtime's promises under real concurrency (nothing
//! lost or reordered, timers never early, load spreads, affinity holds) and
//! `src/bin/beambench.rs` times it against Erlang/OTP's BEAM (`make bench`).
//!
//! Why: DESIGN.md's `tools/` line: the hosted runner exercises policy and mechanism
//! without QEMU, with real threads and a real clock, so races and latencies show up
//! where they are cheap to find.
//!
//! Modules:
//! * [`platform`]: [`platform::HostPlatform`], the engine's `Platform` on the host;
//! * [`runtime`]: [`runtime::run`], the per-core threads and the supervisor.
//!
//! The native controllers the tests and the bench rows run are
//! `zbeam_images::workloads` (no_std, timed on the engine's clock), shared with the
//! kernel.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod platform;
pub mod runtime;

pub use platform::{Console, HostPlatform};
pub use runtime::{engine, run, CoreReport, Options, Report};
