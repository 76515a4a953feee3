//! The GIC machines (QEMU virt and the like): GICv2 or GICv3 as the board's
//! [`InterruptChip`], with the tick on the EL1 virtual timer's PPI, IPIs as SGIs 0..3
//! and the console's receive interrupt routed to the boot core.

use super::chip::{BoardError, InterruptChip};
use super::irq::{self, Event, Ipi, CORES};
use super::mmio::Mmio;
use crate::arch::timer;
use core::arch::asm;
use core::sync::atomic::Ordering;
use zbeam_devices::gicv2::GicV2;
use zbeam_devices::gicv3::{CpuInterface, GicV3};

/// Interrupt IDs from 1020 up are special (1023: nothing pending).
const FIRST_SPECIAL: u32 = 1020;

/// The board's wiring on a GIC: the tick's and the console's interrupt IDs.
#[derive(Clone, Copy)]
pub struct Wiring {
    /// The EL1 virtual timer's PPI.
    pub timer: u32,
    /// The console UART's SPI, if it has one.
    pub uart: Option<u32>,
}

impl Wiring {
    /// Reports interrupt `id` taken by `core`.
    fn dispatch(&self, core: usize, id: u32) {
        if id == self.timer {
            irq::tick(core, timer::rearm());
        } else if id < 16 {
            irq::ipi(core, id);
        } else if Some(id) == self.uart {
            irq::report(core, Event::ConsoleInput);
        } else {
            irq::spurious(core);
        }
    }

    /// Enables, through `enable(intid, level_triggered)`, what core `core` takes: the
    /// IPI SGIs (edge), the tick's PPI (level), and on the boot core the console's
    /// SPI (level).
    fn enable_lines(
        &self,
        core: usize,
        mut enable: impl FnMut(u32, bool) -> Result<(), BoardError>,
    ) -> Result<(), BoardError> {
        for sgi in Ipi::ALL {
            enable(sgi as u32, false)?;
        }
        enable(self.timer, true)?;
        if core == 0 {
            if let Some(id) = self.uart {
                enable(id, true)?;
            }
        }
        Ok(())
    }

    /// Acknowledges, reports and ends interrupts on `core` until none is pending.
    fn drain(&self, core: usize, ack: impl Fn() -> u32, eoi: impl Fn(u32)) {
        loop {
            let iar = ack();
            let id = iar & 0x3ff;
            if id >= FIRST_SPECIAL {
                break;
            }
            self.dispatch(core, id);
            eoi(iar);
        }
    }
}

/// A GICv2 machine.
pub struct GicV2Chip {
    /// The controller.
    pub gic: GicV2<Mmio, Mmio>,
    /// Which interrupt is what.
    pub wiring: Wiring,
}

impl InterruptChip for GicV2Chip {
    fn init_distributor(&self) {
        self.gic.init_distributor();
    }

    fn init_core(&self, core: usize, _mpidr: u64) -> Result<(), BoardError> {
        let g = &self.gic;
        g.init_cpu();
        let mask = g.this_cpu_mask();
        CORES[core].gic_mask.store(mask, Ordering::Relaxed);
        // SGIs and PPIs are banked per core and take no target; SPIs go to this core.
        self.wiring.enable_lines(core, |id, level| {
            g.enable(id, level, if id >= 32 { mask } else { 0 });
            Ok(())
        })
    }

    fn send_ipi(&self, target: usize, ipi: Ipi) {
        // DSB: stores announcing the IPI (flags it will read) are visible before the
        // distributor write that raises it.
        // SAFETY: barrier only.
        unsafe { core::arch::asm!("dsb ishst", options(nostack)) };
        self.gic.send_sgi(ipi as u32, CORES[target].gic_mask.load(Ordering::Relaxed));
    }

    fn handle_irq(&self, core: usize) {
        self.wiring.drain(core, || self.gic.ack(), |iar| self.gic.eoi(iar));
    }
}

/// A GICv3 machine.
pub struct GicV3Chip {
    /// The controller.
    pub gic: GicV3<Mmio, Mmio, Icc>,
    /// Which interrupt is what.
    pub wiring: Wiring,
}

impl InterruptChip for GicV3Chip {
    fn init_distributor(&self) {
        self.gic.init_distributor();
    }

    fn init_core(&self, core: usize, mpidr: u64) -> Result<(), BoardError> {
        let g = &self.gic;
        g.init_cpu(mpidr).map_err(BoardError::GicV3)?;
        self.wiring.enable_lines(core, |id, level| g.enable(id, level, mpidr, mpidr).map_err(BoardError::GicV3))
    }

    fn send_ipi(&self, target: usize, ipi: Ipi) {
        self.gic.send_sgi(ipi as u32, CORES[target].mpidr.load(Ordering::Relaxed));
    }

    fn handle_irq(&self, core: usize) {
        self.wiring.drain(core, || self.gic.ack(), |iar| self.gic.eoi(iar));
    }
}

/// The GICv3 system-register CPU interface (ICC_*_EL1) of the core that runs.
pub struct Icc;

impl CpuInterface for Icc {
    fn enable(&self) {
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
    }

    fn ack(&self) -> u32 {
        let iar: u64;
        // SAFETY: reading ICC_IAR1_EL1 acknowledges an interrupt; no memory effects.
        unsafe { asm!("mrs {}, icc_iar1_el1", out(reg) iar, options(nostack)) };
        iar as u32
    }

    fn eoi(&self, iar: u32) {
        // SAFETY: writing ICC_EOIR1_EL1 drops the running priority; no memory effects.
        unsafe { asm!("msr icc_eoir1_el1, {}", "isb", in(reg) iar as u64, options(nostack)) };
    }

    fn sgi1r(&self, value: u64) {
        // SAFETY: generating an SGI has no memory effects; the DSB makes earlier
        // stores (the message the SGI announces) visible first.
        unsafe { asm!("dsb ishst", "msr icc_sgi1r_el1, {}", "isb", in(reg) value, options(nostack)) };
    }
}
