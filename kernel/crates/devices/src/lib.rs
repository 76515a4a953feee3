//! Register-level drivers, generic over a [`RegisterBus`]: the GICv2 and GICv3
//! interrupt controllers and the PL011 UART of QEMU virt, the AIC and s5l UART of the
//! Apple board.
//!
//! The kernel supplies a bus that does volatile MMIO on Device-nGnRnE memory; the host
//! tests supply a fake bus that records every access and answers reads from a script,
//! so each driver's register sequence is checked against a recorded expectation
//! without hardware. Register facts come from the sources named in each module.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aic;
pub mod gicv2;
pub mod gicv3;
pub mod pl011;
pub mod s5l;

/// Register access at byte offsets from a device's base address.
pub trait RegisterBus {
    /// Reads the 32-bit register at `offset`.
    fn read32(&self, offset: usize) -> u32;
    /// Writes the 32-bit register at `offset`.
    fn write32(&self, offset: usize, value: u32);
    /// Reads the 64-bit register at `offset`; by default as two 32-bit reads, low word
    /// first (a bus that can do one 64-bit access overrides this).
    fn read64(&self, offset: usize) -> u64 {
        let lo = self.read32(offset) as u64;
        lo | (self.read32(offset + 4) as u64) << 32
    }
    /// Writes the 64-bit register at `offset`; by default as two 32-bit writes, low
    /// word first.
    fn write64(&self, offset: usize, value: u64) {
        self.write32(offset, value as u32);
        self.write32(offset + 4, (value >> 32) as u32);
    }
}

impl<B: RegisterBus + ?Sized> RegisterBus for &B {
    fn read32(&self, offset: usize) -> u32 {
        (**self).read32(offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        (**self).write32(offset, value)
    }
    fn read64(&self, offset: usize) -> u64 {
        (**self).read64(offset)
    }
    fn write64(&self, offset: usize, value: u64) {
        (**self).write64(offset, value)
    }
}
