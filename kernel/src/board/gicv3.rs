//! ARM GICv3: distributor (GICD), one redistributor per core (GICR) and the system
//! register CPU interface (ICC_*_EL1).
//!
//! ARM IHI 0069H (GICv3/v4 architecture): 12.9 (GICD registers), 12.10-12.11 (GICR
//! RD_base and SGI_base frames), 12.11.40 (GICR_WAKER), 12.2 (ICC_* registers),
//! 12.2.21 (ICC_SGI1R_EL1). Everything is Group 1 with affinity routing on; QEMU
//! virt's GIC runs with a single security state (GICD_CTLR.DS = 1).

use super::mmio::Mmio;
use core::arch::asm;

const GICD_CTLR: usize = 0x0000;
const GICD_TYPER: usize = 0x0004;
const GICD_IGROUPR: usize = 0x0080;
const GICD_ISENABLER: usize = 0x0100;
const GICD_ICENABLER: usize = 0x0180;
const GICD_ICPENDR: usize = 0x0280;
const GICD_IPRIORITYR: usize = 0x0400;
const GICD_ICFGR: usize = 0x0c00;
const GICD_IROUTER: usize = 0x6000;
const CTLR_RWP: u32 = 1 << 31;

const GICR_TYPER: usize = 0x0008;
const GICR_WAKER: usize = 0x0014;
const SGI_BASE: usize = 0x1_0000;
const GICR_IGROUPR0: usize = SGI_BASE + 0x080;
const GICR_ISENABLER0: usize = SGI_BASE + 0x100;
const GICR_ICENABLER0: usize = SGI_BASE + 0x180;
const GICR_ICPENDR0: usize = SGI_BASE + 0x280;
const GICR_IPRIORITYR: usize = SGI_BASE + 0x400;

/// A GICv3.
pub struct GicV3 {
    gicd: Mmio,
    gicr_base: usize,
    gicr_size: usize,
}

/// Errors bringing up a core's redistributor.
#[derive(Debug, Clone, Copy)]
pub enum GicV3Error {
    /// No redistributor frame's GICR_TYPER affinity matches this core's MPIDR.
    NoRedistributor(u64),
}

impl GicV3 {
    /// # Safety
    /// `gicd` and the redistributor region [`gicr`, `gicr + gicr_size`) must be the
    /// mapped GICv3 windows.
    pub const unsafe fn new(gicd: usize, gicr: usize, gicr_size: usize) -> Self {
        // SAFETY: forwarded contract.
        unsafe { GicV3 { gicd: Mmio::new(gicd), gicr_base: gicr, gicr_size } }
    }

    fn wait_rwp(&self) {
        while self.gicd.read32(GICD_CTLR) & CTLR_RWP != 0 {
            core::hint::spin_loop();
        }
    }

    /// Number of SPI+PPI+SGI interrupt IDs (GICD_TYPER.ITLinesNumber).
    pub fn lines(&self) -> u32 {
        (32 * ((self.gicd.read32(GICD_TYPER) & 0x1f) + 1)).min(1020)
    }

    /// Distributor bring-up (boot core only).
    pub fn init_distributor(&self) {
        self.gicd.write32(GICD_CTLR, 0);
        self.wait_rwp();
        let lines = self.lines() as usize;
        for i in (32..lines).step_by(32) {
            self.gicd.write32(GICD_ICENABLER + i / 8, u32::MAX);
            self.gicd.write32(GICD_ICPENDR + i / 8, u32::MAX);
            self.gicd.write32(GICD_IGROUPR + i / 8, u32::MAX);
        }
        for i in (32..lines).step_by(4) {
            self.gicd.write32(GICD_IPRIORITYR + i, 0xa0a0_a0a0);
        }
        self.wait_rwp();
        // ARE (bit 4) | EnableGrp1 (bit 1) | EnableGrp0 (bit 0), single security state.
        self.gicd.write32(GICD_CTLR, (1 << 4) | (1 << 1) | 1);
        self.wait_rwp();
    }

    /// Finds this core's redistributor by affinity (GICR_TYPER[63:32]).
    fn redistributor(&self, mpidr: u64) -> Result<Mmio, GicV3Error> {
        let aff = ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xff_ffff);
        let mut off = 0;
        while off + 0x2_0000 <= self.gicr_size {
            // SAFETY: the frame lies inside the redistributor region (`new`).
            let rd = unsafe { Mmio::new(self.gicr_base + off) };
            let typer = rd.read64(GICR_TYPER);
            if typer >> 32 == aff {
                return Ok(rd);
            }
            if typer & (1 << 4) != 0 {
                break; // GICR_TYPER.Last
            }
            // Frames with virtual LPI support (GICR_TYPER.VLPIS) are twice as large.
            off += if typer & (1 << 1) != 0 { 0x4_0000 } else { 0x2_0000 };
        }
        Err(GicV3Error::NoRedistributor(mpidr))
    }

    /// Per-core bring-up: wake the redistributor, put SGIs/PPIs in group 1, and
    /// enable the system-register CPU interface.
    pub fn init_cpu(&self, mpidr: u64) -> Result<(), GicV3Error> {
        let rd = self.redistributor(mpidr)?;
        let waker = rd.read32(GICR_WAKER) & !(1 << 1); // clear ProcessorSleep
        rd.write32(GICR_WAKER, waker);
        while rd.read32(GICR_WAKER) & (1 << 2) != 0 {
            core::hint::spin_loop(); // ChildrenAsleep
        }
        rd.write32(GICR_ICENABLER0, u32::MAX);
        rd.write32(GICR_ICPENDR0, u32::MAX);
        rd.write32(GICR_IGROUPR0, u32::MAX);
        for i in (0..32).step_by(4) {
            rd.write32(GICR_IPRIORITYR + i, 0xa0a0_a0a0);
        }
        // SAFETY: ICC_* accesses are enabled (ICC_SRE_EL2 set by the boot stub when
        // entered at EL2); these writes only configure this core's CPU interface.
        unsafe {
            asm!(
                "mrs {t}, icc_sre_el1",
                "orr {t}, {t}, #1",       // SRE: use the system register interface
                "msr icc_sre_el1, {t}",
                "isb",
                "msr icc_pmr_el1, {pmr}",  // accept every priority
                "msr icc_bpr1_el1, xzr",
                "msr icc_igrpen1_el1, {one}",
                "isb",
                t = out(reg) _,
                pmr = in(reg) 0xffu64,
                one = in(reg) 1u64,
                options(nostack)
            );
        }
        Ok(())
    }

    /// Enables interrupt `intid`. SGIs/PPIs are per core (this core's redistributor);
    /// SPIs are routed to the core with affinity `route_mpidr`.
    pub fn enable(
        &self,
        intid: u32,
        level_triggered: bool,
        this_mpidr: u64,
        route_mpidr: u64,
    ) -> Result<(), GicV3Error> {
        let id = intid as usize;
        if id < 32 {
            let rd = self.redistributor(this_mpidr)?;
            rd.write32(GICR_ISENABLER0, 1 << id);
            return Ok(());
        }
        let reg = GICD_ICFGR + (id / 16) * 4;
        let shift = (id % 16) * 2 + 1;
        let mut cfg = self.gicd.read32(reg);
        if level_triggered {
            cfg &= !(1 << shift);
        } else {
            cfg |= 1 << shift;
        }
        self.gicd.write32(reg, cfg);
        let aff = route_mpidr & 0xff_00ff_ffff;
        self.gicd.write64(GICD_IROUTER + id * 8, aff);
        self.gicd.write32(GICD_ISENABLER + (id / 32) * 4, 1 << (id % 32));
        self.wait_rwp();
        Ok(())
    }

    /// Acknowledges the highest-priority pending group-1 interrupt (1023: spurious).
    pub fn ack(&self) -> u32 {
        let iar: u64;
        // SAFETY: reading ICC_IAR1_EL1 acknowledges an interrupt; no memory effects.
        unsafe { asm!("mrs {}, icc_iar1_el1", out(reg) iar, options(nostack)) };
        iar as u32
    }

    /// End of interrupt.
    pub fn eoi(&self, iar: u32) {
        // SAFETY: writing ICC_EOIR1_EL1 drops the running priority; no memory effects.
        unsafe { asm!("msr icc_eoir1_el1, {}", "isb", in(reg) iar as u64, options(nostack)) };
    }

    /// Sends SGI `sgi` to the core with affinity `mpidr` (ICC_SGI1R_EL1).
    pub fn send_sgi(&self, sgi: u32, mpidr: u64) {
        let aff0 = mpidr & 0xff;
        let aff1 = (mpidr >> 8) & 0xff;
        let aff2 = (mpidr >> 16) & 0xff;
        let aff3 = (mpidr >> 32) & 0xff;
        // TargetList holds Aff0 values 0..15 of the given Aff1/2/3 (RS = Aff0 / 16).
        let rs = aff0 / 16;
        let v = (1u64 << (aff0 % 16))
            | (aff1 << 16)
            | ((sgi as u64 & 0xf) << 24)
            | (aff2 << 32)
            | (rs << 44)
            | (aff3 << 48);
        // SAFETY: generating an SGI has no memory effects; the DSB makes earlier
        // stores (the message the SGI announces) visible first.
        unsafe { asm!("dsb ishst", "msr icc_sgi1r_el1, {}", "isb", in(reg) v, options(nostack)) };
    }
}
