//! ARM GICv2: distributor (GICD) and memory-mapped CPU interface (GICC).
//!
//! ARM IHI 0048B (GIC architecture v1/v2): 4.3 (distributor registers), 4.4 (CPU
//! interface registers), 4.3.12 (GICD_ITARGETSRn), 4.3.15 (GICD_SGIR). All interrupts
//! stay in group 0 and are signalled as IRQ (GICC_CTLR.FIQEn = 0); QEMU virt's GIC has
//! no security extensions. Every access is a 32-bit word: the byte-wide fields of
//! GICD_ITARGETSRn and GICD_IPRIORITYRn are read and written four at a time (4.3.11,
//! 4.3.12: both are word-accessible).

use crate::RegisterBus;

/// GICD_CTLR: distributor control.
pub const GICD_CTLR: usize = 0x000;
/// GICD_TYPER: interrupt controller type.
pub const GICD_TYPER: usize = 0x004;
/// GICD_ISENABLERn: set-enable, one bit per interrupt.
pub const GICD_ISENABLER: usize = 0x100;
/// GICD_ICENABLERn: clear-enable.
pub const GICD_ICENABLER: usize = 0x180;
/// GICD_ICPENDRn: clear-pending.
pub const GICD_ICPENDR: usize = 0x280;
/// GICD_IPRIORITYRn: one priority byte per interrupt.
pub const GICD_IPRIORITYR: usize = 0x400;
/// GICD_ITARGETSRn: one CPU-target byte per interrupt.
pub const GICD_ITARGETSR: usize = 0x800;
/// GICD_ICFGRn: two configuration bits per interrupt (bit 1: edge triggered).
pub const GICD_ICFGR: usize = 0xc00;
/// GICD_SGIR: software-generated interrupts.
pub const GICD_SGIR: usize = 0xf00;

/// GICC_CTLR: CPU interface control.
pub const GICC_CTLR: usize = 0x000;
/// GICC_PMR: priority mask.
pub const GICC_PMR: usize = 0x004;
/// GICC_BPR: binary point.
pub const GICC_BPR: usize = 0x008;
/// GICC_IAR: interrupt acknowledge.
pub const GICC_IAR: usize = 0x00c;
/// GICC_EOIR: end of interrupt.
pub const GICC_EOIR: usize = 0x010;

/// The priority every interrupt gets (0xa0 in each byte).
pub const DEFAULT_PRIORITY: u32 = 0xa0a0_a0a0;

bitflags::bitflags! {
    /// GICD_CTLR's bit without security extensions (4.3.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DistCtlr: u32 {
        /// Bit 0: Enable, the distributor forwards pending interrupts.
        const ENABLE = 1 << 0;
    }

    /// GICC_CTLR's bits this driver sets (4.4.1, without security extensions).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CpuCtlr: u32 {
        /// Bit 0: Enable, the CPU interface signals interrupts (FIQEn, bit 3, stays
        /// clear: they arrive as IRQ).
        const ENABLE = 1 << 0;
    }
}

/// Configures SPI `id` level-triggered or edge-triggered in the distributor's
/// GICD_ICFGRn (two bits per interrupt, bit 1 of the pair set = edge; the same layout
/// in GICv2 and GICv3).
pub(crate) fn set_trigger<D: RegisterBus>(gicd: &D, id: usize, level_triggered: bool) {
    let reg = GICD_ICFGR + (id / 16) * 4;
    let shift = (id % 16) * 2 + 1;
    let mut cfg = gicd.read32(reg);
    if level_triggered {
        cfg &= !(1 << shift);
    } else {
        cfg |= 1 << shift;
    }
    gicd.write32(reg, cfg);
}

/// A GICv2: the distributor behind `gicd`, this core's CPU interface behind `gicc`
/// (the CPU interface window is banked per core by the hardware).
pub struct GicV2<D, C> {
    gicd: D,
    gicc: C,
}

impl<D: RegisterBus, C: RegisterBus> GicV2<D, C> {
    /// A driver for the GICv2 behind these two windows.
    pub const fn new(gicd: D, gicc: C) -> Self {
        GicV2 { gicd, gicc }
    }

    /// Number of interrupt IDs the distributor implements (GICD_TYPER.ITLinesNumber).
    pub fn lines(&self) -> u32 {
        32 * ((self.gicd.read32(GICD_TYPER) & 0x1f) + 1)
    }

    /// Distributor bring-up (boot core only): every SPI disabled and not pending,
    /// default priority, then the distributor enabled.
    pub fn init_distributor(&self) {
        self.gicd.write32(GICD_CTLR, DistCtlr::empty().bits());
        let lines = self.lines() as usize;
        for i in (32..lines).step_by(32) {
            self.gicd.write32(GICD_ICENABLER + i / 8, u32::MAX);
            self.gicd.write32(GICD_ICPENDR + i / 8, u32::MAX);
        }
        for i in (32..lines).step_by(4) {
            self.gicd.write32(GICD_IPRIORITYR + i, DEFAULT_PRIORITY);
        }
        self.gicd.write32(GICD_CTLR, DistCtlr::ENABLE.bits());
    }

    /// Per-core bring-up: banked SGI/PPI state and the CPU interface.
    pub fn init_cpu(&self) {
        self.gicd.write32(GICD_ICENABLER, u32::MAX);
        self.gicd.write32(GICD_ICPENDR, u32::MAX);
        for i in (0..32).step_by(4) {
            self.gicd.write32(GICD_IPRIORITYR + i, DEFAULT_PRIORITY);
        }
        self.gicc.write32(GICC_PMR, 0xff);
        self.gicc.write32(GICC_BPR, 0);
        self.gicc.write32(GICC_CTLR, CpuCtlr::ENABLE.bits());
    }

    /// This core's CPU-interface mask, read from the banked GICD_ITARGETSR0..7
    /// (IHI 0048B 4.3.12: each byte reads as the bit of the reading core's interface).
    pub fn this_cpu_mask(&self) -> u8 {
        let mut word = 0u32;
        for i in (0..32).step_by(4) {
            word |= self.gicd.read32(GICD_ITARGETSR + i);
        }
        word.to_le_bytes().iter().fold(0, |m, b| m | b)
    }

    /// Enables interrupt `intid`; an SPI is also configured level- or edge-triggered
    /// and routed to the CPU interfaces in `targets`.
    pub fn enable(&self, intid: u32, level_triggered: bool, targets: u8) {
        let id = intid as usize;
        if id >= 32 {
            let reg = GICD_ITARGETSR + id / 4 * 4;
            let shift = (id % 4) * 8;
            let t = self.gicd.read32(reg) & !(0xff << shift);
            self.gicd.write32(reg, t | (targets as u32) << shift);
            set_trigger(&self.gicd, id, level_triggered);
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

    /// Sends SGI `sgi` to the CPU interfaces in `targets` (TargetListFilter 0).
    pub fn send_sgi(&self, sgi: u32, targets: u8) {
        self.gicd.write32(GICD_SGIR, ((targets as u32) << 16) | (sgi & 0xf));
    }
}
