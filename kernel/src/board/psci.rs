//! PSCI calls over the conduit the device tree names (`/psci` `method`).
//!
//! ARM DEN 0022 (Power State Coordination Interface): 5.1.4 (CPU_ON), 5.1.9
//! (SYSTEM_OFF), 5.2.2 (return codes); SMC Calling Convention DEN 0028 for registers.

use core::arch::asm;
use zbeam_devtree::PsciMethod;

const PSCI_VERSION: u64 = 0x8400_0000;
const CPU_ON_64: u64 = 0xc400_0003;
const SYSTEM_OFF: u64 = 0x8400_0008;

/// A PSCI error return (DEN 0022 table 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciError {
    /// -1 NOT_SUPPORTED.
    NotSupported,
    /// -2 INVALID_PARAMETERS (e.g. no such CPU).
    InvalidParameters,
    /// -3 DENIED.
    Denied,
    /// -4 ALREADY_ON.
    AlreadyOn,
    /// -5 ON_PENDING.
    OnPending,
    /// -6 INTERNAL_FAILURE.
    InternalFailure,
    /// -9 INVALID_ADDRESS.
    InvalidAddress,
    /// The tree names no PSCI conduit.
    NoConduit,
    /// Any other value.
    Other(i64),
}

impl core::fmt::Display for PsciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PsciError::NotSupported => f.write_str("NOT_SUPPORTED"),
            PsciError::InvalidParameters => f.write_str("INVALID_PARAMETERS"),
            PsciError::Denied => f.write_str("DENIED"),
            PsciError::AlreadyOn => f.write_str("ALREADY_ON"),
            PsciError::OnPending => f.write_str("ON_PENDING"),
            PsciError::InternalFailure => f.write_str("INTERNAL_FAILURE"),
            PsciError::InvalidAddress => f.write_str("INVALID_ADDRESS"),
            PsciError::NoConduit => f.write_str("no PSCI conduit in the device tree"),
            PsciError::Other(v) => write!(f, "error {v}"),
        }
    }
}

fn call(method: PsciMethod, fid: u64, a1: u64, a2: u64, a3: u64) -> Result<i64, PsciError> {
    let mut x0 = fid;
    // SAFETY: a PSCI call into firmware (or QEMU's built-in PSCI); per SMCCC it
    // clobbers at most x0-x17, which we declare.
    unsafe {
        match method {
            PsciMethod::Hvc => asm!("hvc #0", inout("x0") x0, inout("x1") a1 => _, inout("x2") a2 => _,
                inout("x3") a3 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _,
                out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _,
                out("x15") _, out("x16") _, out("x17") _, options(nostack)),
            PsciMethod::Smc => asm!("smc #0", inout("x0") x0, inout("x1") a1 => _, inout("x2") a2 => _,
                inout("x3") a3 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _,
                out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _,
                out("x15") _, out("x16") _, out("x17") _, options(nostack)),
            PsciMethod::None => return Err(PsciError::NoConduit),
        }
    }
    Ok(x0 as i64)
}

fn status(v: i64) -> Result<(), PsciError> {
    match v {
        0 => Ok(()),
        -1 => Err(PsciError::NotSupported),
        -2 => Err(PsciError::InvalidParameters),
        -3 => Err(PsciError::Denied),
        -4 => Err(PsciError::AlreadyOn),
        -5 => Err(PsciError::OnPending),
        -6 => Err(PsciError::InternalFailure),
        -9 => Err(PsciError::InvalidAddress),
        v => Err(PsciError::Other(v)),
    }
}

/// PSCI version as (major, minor).
pub fn version(method: PsciMethod) -> Result<(u16, u16), PsciError> {
    let v = call(method, PSCI_VERSION, 0, 0, 0)? as u64;
    Ok(((v >> 16) as u16, v as u16))
}

/// Starts the CPU with affinity `mpidr` at physical address `entry` with x0 = `context`.
pub fn cpu_on(method: PsciMethod, mpidr: u64, entry: u64, context: u64) -> Result<(), PsciError> {
    status(call(method, CPU_ON_64, mpidr, entry, context)?)
}

/// Powers the system off (QEMU exits with status 0). Returns only if the call fails.
pub fn system_off(method: PsciMethod) -> PsciError {
    match call(method, SYSTEM_OFF, 0, 0, 0) {
        Ok(v) => status(v).err().unwrap_or(PsciError::InternalFailure),
        Err(e) => e,
    }
}
