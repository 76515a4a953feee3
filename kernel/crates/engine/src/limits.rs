//! Bounds on what one process can make the kernel hold, in one place (docs/ABI.md,
//! "Limits and protection", lists them for Z80 programmers).
//!
//! What: entry counts. Each relation is charged to the process that made it: a link to
//! both ends (it is symmetric), a monitor to its watcher, a name to its holder, a timer
//! to the waiting process. A call that would pass a bound changes nothing and returns
//! NO_RESOURCES (SPAWN_OPT with the link or monitor flag refuses the spawn the same way).
//!
//! Why counts here: byte accounting of process memory can later charge each entry at
//! its size (`ENTRY_BYTES`) against a per-process budget without finding the limits
//! scattered through the engine.

use crate::abi;

/// Links one process may hold (as either end). Linking twice to the same pid is one link.
pub const MAX_LINKS: usize = 1024;
/// Monitors one process may hold as the watcher (references not yet ended or fired).
pub const MAX_MONITORS: usize = 1024;
/// Registered names, the whole table; one process holds at most one.
pub const MAX_NAMES: usize = abi::MAX_NAMES;
/// Timers one process has armed at once: its current timed wait's (a receive timeout,
/// a SLEEP, a timed READ); a wait that ends cancels it.
pub const TIMERS_PER_PROCESS: usize = 1;
/// Console input bytes queued for the foreground reader; more are dropped.
pub const CONSOLE_QUEUE: usize = abi::CONSOLE_QUEUE;
/// Bytes of one WRITE: it goes to the console synchronously and nothing is buffered
/// for the process in the kernel (a platform that keeps per-process output, such as
/// the kernel tests' capture, bounds it with [`MAX_CAPTURED`]).
pub const MAX_WRITE: usize = 0x1_0000;
/// Output bytes a platform keeps per process when it captures output instead of
/// printing it; the rest is dropped.
pub const MAX_CAPTURED: usize = 64 * 1024;

/// Heap bytes one entry of each kind costs (for byte accounting).
pub mod entry_bytes {
    /// A link (at each end).
    pub const LINK: usize = core::mem::size_of::<u16>();
    /// A monitor (a reference and a pid at each end).
    pub const MONITOR: usize = 2 * core::mem::size_of::<(u16, u16)>();
    /// A name.
    pub const NAME: usize = core::mem::size_of::<([u8; crate::abi::MAX_NAME], u8, u16)>();
}
