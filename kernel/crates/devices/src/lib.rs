//! Register-level drivers for the Apple board, generic over a [`RegisterBus`].
//!
//! The kernel supplies a bus that does volatile MMIO on Device-nGnRnE memory; the host
//! tests supply a fake bus that records every access and answers reads from a script,
//! so each driver's register sequence is checked against a recorded expectation
//! without hardware. Register facts come from the sources named in each module.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aic;
pub mod s5l;

/// 32-bit register access at byte offsets from a device's base address.
pub trait RegisterBus {
    /// Reads the register at `offset`.
    fn read32(&self, offset: usize) -> u32;
    /// Writes the register at `offset`.
    fn write32(&self, offset: usize, value: u32);
}

impl<B: RegisterBus + ?Sized> RegisterBus for &B {
    fn read32(&self, offset: usize) -> u32 {
        (**self).read32(offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        (**self).write32(offset, value)
    }
}
