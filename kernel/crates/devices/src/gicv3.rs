//! ARM GICv3: distributor (GICD), one redistributor per core (GICR) and the system
//! register CPU interface (ICC_*_EL1).
//!
//! ARM IHI 0069H (GICv3/v4 architecture): 12.9 (GICD registers), 12.10-12.11 (GICR
//! RD_base and SGI_base frames), 12.11.40 (GICR_WAKER), 12.2 (ICC_* registers),
//! 12.2.21 (ICC_SGI1R_EL1). Everything is Group 1 with affinity routing on; QEMU
//! virt's GIC runs with a single security state (GICD_CTLR.DS = 1). The ICC registers
//! are system registers, not memory: the platform supplies them as a
//! [`CpuInterface`], and this driver decides every value written to them.

use crate::RegisterBus;

/// GICD_CTLR: distributor control.
pub const GICD_CTLR: usize = 0x0000;
/// GICD_TYPER: interrupt controller type.
pub const GICD_TYPER: usize = 0x0004;
/// GICD_IGROUPRn: group bits.
pub const GICD_IGROUPR: usize = 0x0080;
/// GICD_ISENABLERn: set-enable.
pub const GICD_ISENABLER: usize = 0x0100;
/// GICD_ICENABLERn: clear-enable.
pub const GICD_ICENABLER: usize = 0x0180;
/// GICD_ICPENDRn: clear-pending.
pub const GICD_ICPENDR: usize = 0x0280;
/// GICD_IPRIORITYRn: priority bytes.
pub const GICD_IPRIORITYR: usize = 0x0400;
/// GICD_ICFGRn: configuration bits.
pub const GICD_ICFGR: usize = 0x0c00;
/// GICD_IROUTERn: 64-bit affinity route per SPI.
pub const GICD_IROUTER: usize = 0x6000;
bitflags::bitflags! {
    /// GICD_CTLR's bits (single security state, 12.9.4).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DistCtlr: u32 {
        /// Bit 0: EnableGrp0.
        const ENABLE_GRP0 = 1 << 0;
        /// Bit 1: EnableGrp1.
        const ENABLE_GRP1 = 1 << 1;
        /// Bit 4: ARE, affinity routing.
        const ARE = 1 << 4;
        /// Bit 31: RWP, a register write is still in progress.
        const RWP = 1 << 31;
        // The other bits are kept as read.
        const _ = !0;
    }

    /// GICR_WAKER's bits (12.11.40).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Waker: u32 {
        /// Bit 1: ProcessorSleep (clear it to wake the redistributor).
        const PROCESSOR_SLEEP = 1 << 1;
        /// Bit 2: ChildrenAsleep (clears once the redistributor is awake).
        const CHILDREN_ASLEEP = 1 << 2;
        // The other bits are kept as read.
        const _ = !0;
    }

    /// GICR_TYPER's low bits (12.10.33); bits 63:32 are the affinity.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RedistTyper: u64 {
        /// Bit 1: VLPIS, the frame set has the two virtual-LPI frames.
        const VLPIS = 1 << 1;
        /// Bit 4: Last, the last redistributor of the region.
        const LAST = 1 << 4;
        // The other bits are kept as read.
        const _ = !0;
    }
}

/// GICD_CTLR value: ARE | EnableGrp1 | EnableGrp0.
pub const CTLR_ENABLE: DistCtlr = DistCtlr::ARE.union(DistCtlr::ENABLE_GRP1).union(DistCtlr::ENABLE_GRP0);

/// GICR_TYPER (RD_base, 64-bit): affinity 63:32, Last bit 4, VLPIS bit 1.
pub const GICR_TYPER: usize = 0x0008;
/// GICR_WAKER (RD_base): ProcessorSleep bit 1, ChildrenAsleep bit 2.
pub const GICR_WAKER: usize = 0x0014;
/// The SGI_base frame follows the RD_base frame.
pub const SGI_BASE: usize = 0x1_0000;
/// GICR_IGROUPR0 (SGI_base).
pub const GICR_IGROUPR0: usize = SGI_BASE + 0x080;
/// GICR_ISENABLER0 (SGI_base).
pub const GICR_ISENABLER0: usize = SGI_BASE + 0x100;
/// GICR_ICENABLER0 (SGI_base).
pub const GICR_ICENABLER0: usize = SGI_BASE + 0x180;
/// GICR_ICPENDR0 (SGI_base).
pub const GICR_ICPENDR0: usize = SGI_BASE + 0x280;
/// GICR_IPRIORITYRn (SGI_base).
pub const GICR_IPRIORITYR: usize = SGI_BASE + 0x400;
/// A redistributor's two frames (RD_base and SGI_base).
pub const FRAME: usize = 0x2_0000;
/// With virtual LPIs (GICR_TYPER.VLPIS) each redistributor has four frames.
pub const FRAME_VLPI: usize = 0x4_0000;

/// The priority every interrupt gets (0xa0 in each byte).
pub const DEFAULT_PRIORITY: u32 = 0xa0a0_a0a0;

/// The system-register CPU interface of the core that calls.
pub trait CpuInterface {
    /// Turns on the system-register interface (ICC_SRE_EL1.SRE), accepts every
    /// priority (ICC_PMR_EL1 = 0xff, ICC_BPR1_EL1 = 0) and enables group 1
    /// (ICC_IGRPEN1_EL1 = 1).
    fn enable(&self);
    /// Reads ICC_IAR1_EL1: acknowledges the highest-priority pending group-1 interrupt.
    fn ack(&self) -> u32;
    /// Writes ICC_EOIR1_EL1.
    fn eoi(&self, iar: u32);
    /// Writes ICC_SGI1R_EL1, after making earlier stores visible (DSB).
    fn sgi1r(&self, value: u64);
}

/// Errors bringing up a core's redistributor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GicV3Error {
    /// No redistributor frame's GICR_TYPER affinity matches this core's MPIDR.
    NoRedistributor(u64),
}

/// The ICC_SGI1R_EL1 value that sends SGI `sgi` to the core with affinity `mpidr`:
/// TargetList holds Aff0 values 0..15 of the given Aff1/2/3 (RS = Aff0 / 16).
pub fn sgi1r_value(sgi: u32, mpidr: u64) -> u64 {
    let aff0 = mpidr & 0xff;
    let aff1 = (mpidr >> 8) & 0xff;
    let aff2 = (mpidr >> 16) & 0xff;
    let aff3 = (mpidr >> 32) & 0xff;
    let rs = aff0 / 16;
    (1u64 << (aff0 % 16)) | (aff1 << 16) | ((sgi as u64 & 0xf) << 24) | (aff2 << 32) | (rs << 44) | (aff3 << 48)
}

/// A GICv3: the distributor behind `gicd`, the redistributor region behind `gicr`
/// (`gicr_size` bytes), and the calling core's system-register interface `icc`.
pub struct GicV3<D, R, C> {
    gicd: D,
    gicr: R,
    gicr_size: usize,
    icc: C,
}

impl<D: RegisterBus, R: RegisterBus, C: CpuInterface> GicV3<D, R, C> {
    /// A driver for the GICv3 behind these windows.
    pub const fn new(gicd: D, gicr: R, gicr_size: usize, icc: C) -> Self {
        GicV3 { gicd, gicr, gicr_size, icc }
    }

    fn wait_rwp(&self) {
        while DistCtlr::from_bits_retain(self.gicd.read32(GICD_CTLR)).contains(DistCtlr::RWP) {
            core::hint::spin_loop();
        }
    }

    /// Number of SPI+PPI+SGI interrupt IDs (GICD_TYPER.ITLinesNumber), at most 1020.
    pub fn lines(&self) -> u32 {
        (32 * ((self.gicd.read32(GICD_TYPER) & 0x1f) + 1)).min(1020)
    }

    /// Distributor bring-up (boot core only): every SPI disabled, not pending, in
    /// group 1 at the default priority; then affinity routing and both groups on.
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
            self.gicd.write32(GICD_IPRIORITYR + i, DEFAULT_PRIORITY);
        }
        self.wait_rwp();
        self.gicd.write32(GICD_CTLR, CTLR_ENABLE.bits());
        self.wait_rwp();
    }

    /// The offset of the redistributor of the core with affinity `mpidr`, found by
    /// walking the frames and comparing GICR_TYPER[63:32].
    pub fn redistributor(&self, mpidr: u64) -> Result<usize, GicV3Error> {
        let aff = ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xff_ffff);
        let mut off = 0;
        while off + FRAME <= self.gicr_size {
            let typer = RedistTyper::from_bits_retain(self.gicr.read64(off + GICR_TYPER));
            if typer.bits() >> 32 == aff {
                return Ok(off);
            }
            if typer.contains(RedistTyper::LAST) {
                break;
            }
            off += if typer.contains(RedistTyper::VLPIS) { FRAME_VLPI } else { FRAME };
        }
        Err(GicV3Error::NoRedistributor(mpidr))
    }

    /// Per-core bring-up of the core with affinity `mpidr` (the caller): wake its
    /// redistributor, put SGIs/PPIs in group 1 at the default priority, disabled, and
    /// enable the system-register CPU interface.
    pub fn init_cpu(&self, mpidr: u64) -> Result<(), GicV3Error> {
        let rd = self.redistributor(mpidr)?;
        let waker = Waker::from_bits_retain(self.gicr.read32(rd + GICR_WAKER)) - Waker::PROCESSOR_SLEEP;
        self.gicr.write32(rd + GICR_WAKER, waker.bits());
        while Waker::from_bits_retain(self.gicr.read32(rd + GICR_WAKER)).contains(Waker::CHILDREN_ASLEEP) {
            core::hint::spin_loop();
        }
        self.gicr.write32(rd + GICR_ICENABLER0, u32::MAX);
        self.gicr.write32(rd + GICR_ICPENDR0, u32::MAX);
        self.gicr.write32(rd + GICR_IGROUPR0, u32::MAX);
        for i in (0..32).step_by(4) {
            self.gicr.write32(rd + GICR_IPRIORITYR + i, DEFAULT_PRIORITY);
        }
        self.icc.enable();
        Ok(())
    }

    /// Enables interrupt `intid`. SGIs/PPIs are per core (the redistributor of
    /// `this_mpidr`); an SPI is configured level- or edge-triggered and routed to the
    /// core with affinity `route_mpidr`.
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
            self.gicr.write32(rd + GICR_ISENABLER0, 1 << id);
            return Ok(());
        }
        crate::gicv2::set_trigger(&self.gicd, id, level_triggered);
        self.gicd.write64(GICD_IROUTER + id * 8, route_mpidr & 0xff_00ff_ffff);
        self.gicd.write32(GICD_ISENABLER + (id / 32) * 4, 1 << (id % 32));
        self.wait_rwp();
        Ok(())
    }

    /// Acknowledges the highest-priority pending group-1 interrupt (1023: spurious).
    pub fn ack(&self) -> u32 {
        self.icc.ack()
    }

    /// End of interrupt.
    pub fn eoi(&self, iar: u32) {
        self.icc.eoi(iar);
    }

    /// Sends SGI `sgi` to the core with affinity `mpidr`.
    pub fn send_sgi(&self, sgi: u32, mpidr: u64) {
        self.icc.sgi1r(sgi1r_value(sgi, mpidr));
    }
}
