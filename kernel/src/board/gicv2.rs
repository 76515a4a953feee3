//! ARM GICv2: distributor (GICD) and memory-mapped CPU interface (GICC).
//!
//! ARM IHI 0048B (GIC architecture v1/v2): 4.3 (distributor registers), 4.4 (CPU
//! interface registers), 4.3.15 (GICD_SGIR). All interrupts stay in group 0 and are
//! signalled as IRQ (GICC_CTLR.FIQEn = 0); QEMU virt's GIC has no security extensions.

use super::mmio::Mmio;

const GICD_CTLR: usize = 0x000;
const GICD_TYPER: usize = 0x004;
const GICD_ISENABLER: usize = 0x100;
const GICD_ICENABLER: usize = 0x180;
const GICD_ICPENDR: usize = 0x280;
const GICD_IPRIORITYR: usize = 0x400;
const GICD_ITARGETSR: usize = 0x800;
const GICD_ICFGR: usize = 0xc00;
const GICD_SGIR: usize = 0xf00;

const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_BPR: usize = 0x008;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;

/// A GICv2.
pub struct GicV2 {
    gicd: Mmio,
    gicc: Mmio,
}

impl GicV2 {
    /// # Safety
    /// `gicd` and `gicc` must be the mapped distributor and CPU-interface windows.
    pub const unsafe fn new(gicd: usize, gicc: usize) -> Self {
        // SAFETY: forwarded contract.
        unsafe { GicV2 { gicd: Mmio::new(gicd), gicc: Mmio::new(gicc) } }
    }

    /// Number of interrupt IDs the distributor implements (GICD_TYPER.ITLinesNumber).
    pub fn lines(&self) -> u32 {
        32 * ((self.gicd.read32(GICD_TYPER) & 0x1f) + 1)
    }

    /// Distributor bring-up (boot core only): everything disabled, default priority,
    /// then the distributor enabled.
    pub fn init_distributor(&self) {
        self.gicd.write32(GICD_CTLR, 0);
        let lines = self.lines() as usize;
        for i in (32..lines).step_by(32) {
            self.gicd.write32(GICD_ICENABLER + i / 8, u32::MAX);
            self.gicd.write32(GICD_ICPENDR + i / 8, u32::MAX);
        }
        for i in (32..lines).step_by(4) {
            self.gicd.write32(GICD_IPRIORITYR + i, 0xa0a0_a0a0);
        }
        self.gicd.write32(GICD_CTLR, 1);
    }

    /// Per-core bring-up: banked SGI/PPI state and the CPU interface.
    pub fn init_cpu(&self) {
        self.gicd.write32(GICD_ICENABLER, u32::MAX);
        self.gicd.write32(GICD_ICPENDR, u32::MAX);
        for i in (0..32).step_by(4) {
            self.gicd.write32(GICD_IPRIORITYR + i, 0xa0a0_a0a0);
        }
        self.gicc.write32(GICC_PMR, 0xff);
        self.gicc.write32(GICC_BPR, 0);
        self.gicc.write32(GICC_CTLR, 1);
    }

    /// This core's CPU-interface mask, read from the banked GICD_ITARGETSR0..7
    /// (IHI 0048B 4.3.12: they read as the bit of the reading core's interface).
    pub fn this_cpu_mask(&self) -> u8 {
        let mut mask = 0u8;
        for i in 0..32 {
            mask |= self.gicd.read8(GICD_ITARGETSR + i);
        }
        mask
    }

    /// Enables interrupt `intid`; for SPIs, routed to the CPU interfaces in `targets`.
    pub fn enable(&self, intid: u32, level_triggered: bool, targets: u8) {
        let id = intid as usize;
        if id >= 32 {
            self.gicd.write8(GICD_ITARGETSR + id, targets);
            let reg = GICD_ICFGR + (id / 16) * 4;
            let shift = (id % 16) * 2 + 1;
            let mut cfg = self.gicd.read32(reg);
            if level_triggered {
                cfg &= !(1 << shift);
            } else {
                cfg |= 1 << shift;
            }
            self.gicd.write32(reg, cfg);
        }
        self.gicd.write32(GICD_ISENABLER + (id / 32) * 4, 1 << (id % 32));
    }

    /// Acknowledges the highest-priority pending interrupt; 1023 means spurious.
    pub fn ack(&self) -> u32 {
        self.gicc.read32(GICC_IAR)
    }

    /// Signals end of interrupt for a value returned by [`ack`](Self::ack).
    pub fn eoi(&self, iar: u32) {
        self.gicc.write32(GICC_EOIR, iar);
    }

    /// Sends SGI `sgi` to the CPU interfaces in `targets`.
    pub fn send_sgi(&self, sgi: u32, targets: u8) {
        self.gicd.write32(GICD_SGIR, ((targets as u32) << 16) | (sgi & 0xf));
    }
}
