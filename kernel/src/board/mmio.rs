//! Volatile access to memory-mapped registers at an offset from a base address.
//!
//! All MMIO is mapped Device-nGnRnE (see arch::mmu), so accesses are neither merged
//! nor reordered with each other.

/// A device's register window.
#[derive(Clone, Copy, Debug)]
pub struct Mmio {
    base: usize,
}

impl Mmio {
    /// # Safety
    /// `base` must be a mapped device register window that is valid for every offset
    /// the driver using it accesses.
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { base }
    }

    /// The window's base address.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Reads a 32-bit register.
    #[inline]
    pub fn read32(&self, off: usize) -> u32 {
        // SAFETY: `new`'s contract covers every offset the driver uses.
        unsafe { core::ptr::read_volatile((self.base + off) as *const u32) }
    }

    /// Writes a 32-bit register.
    #[inline]
    pub fn write32(&self, off: usize, v: u32) {
        // SAFETY: as for read32.
        unsafe { core::ptr::write_volatile((self.base + off) as *mut u32, v) }
    }

    /// Reads a 64-bit register.
    #[inline]
    pub fn read64(&self, off: usize) -> u64 {
        // SAFETY: as for read32.
        unsafe { core::ptr::read_volatile((self.base + off) as *const u64) }
    }

    /// Writes a 64-bit register.
    #[inline]
    pub fn write64(&self, off: usize, v: u64) {
        // SAFETY: as for read32.
        unsafe { core::ptr::write_volatile((self.base + off) as *mut u64, v) }
    }
}

impl zbeam_devices::RegisterBus for Mmio {
    fn read32(&self, offset: usize) -> u32 {
        Mmio::read32(self, offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        Mmio::write32(self, offset, value)
    }
    fn read64(&self, offset: usize) -> u64 {
        Mmio::read64(self, offset)
    }
    fn write64(&self, offset: usize, value: u64) {
        Mmio::write64(self, offset, value)
    }
}
