//! One adapter per Z80 core, each running a `.COM` image under [`crate::harness`].
//!
//! An adapter owns its core's bus, serves BDOS through [`crate::harness::Console`],
//! counts instructions itself where the core does not, and stops at the exit, at a halt
//! or when the instruction budget runs out. Timing is done by the caller around
//! [`Core::run`]; setting up the 64 KiB memory is part of it and negligible.

use crate::harness::Outcome;

mod iz80;
mod rustzx;
mod z80;
#[cfg(feature = "zbeam")]
mod zbeam;
mod zilog;

/// A core the bench can run.
pub struct Core {
    /// The name `--only` matches and the table prints.
    pub name: &'static str,
    /// The version that was built (from Cargo.lock for the peers).
    pub version: &'static str,
    /// True for the crates.io cores zbeam's core is compared against.
    pub peer: bool,
    /// How the adapter traps BDOS and counts instructions and T-states.
    pub quirks: &'static str,
    /// Instructions and T-states the adapter's BDOS trap adds per call beyond the
    /// harness rules (non-zero only for a port-based trap).
    pub trap_overhead: (u64, u64),
    /// Runs `image` for at most `max_instructions` instructions.
    pub run: fn(image: &[u8], max_instructions: u64) -> Result<Outcome, String>,
}

/// Every core built into this binary, zbeam's own first (flat, then paged memory).
pub fn all() -> Vec<Core> {
    let mut cores = Vec::new();
    #[cfg(feature = "zbeam")]
    cores.extend([zbeam::CORE, zbeam::PAGED]);
    cores.extend([z80::CORE, rustzx::CORE, zilog::CORE, iz80::CORE]);
    cores
}

/// The cores this binary was built without, with the reason, for the report.
pub fn missing() -> Vec<(&'static str, &'static str)> {
    #[cfg(not(feature = "zbeam"))]
    {
        vec![("zbeam", "not built in: this binary was built without the `zbeam` cargo feature (on by default)")]
    }
    #[cfg(feature = "zbeam")]
    {
        Vec::new()
    }
}
