//! The Apple board (M1 t8103, M1 Pro/Max t600x) as m1n1 leaves it: the AIC or AIC2
//! for device IRQs, the s5l UART console, and FIQs for the timer and fast IPIs.
//!
//! Why EL1 and not a VHE host at EL2: m1n1 enters at EL2 with E2H forced to one. The
//! boot stub drops to EL1 exactly as it does on QEMU's VHE cores (the *_EL12 encodings),
//! so one register set, one exception level and one tested code path serve every board.
//! The price, paid in the stub, is that EL2 must let the EL1 timers raise FIQs
//! (VM_TMR_FIQ_ENA_EL2) and must not trap Apple's registers (HACR_EL2 = 0).
//!
//! Facts (Asahi Linux `irq-apple-aic.c`, `sysreg_apple.h`; m1n1): the EL1 timers and
//! fast IPIs arrive as FIQs; the timer can be silenced only through its own
//! CNTx_CTL.IMASK; a fast IPI is sent by writing the target's Aff0 to IPI_RR_LOCAL_EL1
//! (same cluster) or Aff0 | Aff1 << 16 to IPI_RR_GLOBAL_EL1, and acknowledged by
//! writing 1 to IPI_SR_EL1. Fast IPIs carry no payload, so each core has a pending
//! mask of [`Ipi`] kinds that the sender sets first. None of this has run on a Mac
//! here: it is checked against the device trees and the documentation only.

use super::chip::{BoardError, InterruptChip};
use super::irq::{self, Ipi, CORES};
use super::mmio::Mmio;
use crate::arch::cpu;
use aarch64_cpu::registers::{Readable, Writeable, CNTP_CTL_EL0, CNTV_CTL_EL0};
use core::arch::asm;
use core::sync::atomic::Ordering;
use zbeam_devices::aic::{Aic, AicError, Event};
use zbeam_devtree::{InterruptController, Platform};

/// Creates the AIC or AIC2 driver from the tree.
pub fn probe_aic(p: &Platform) -> Option<Result<Aic<Mmio>, AicError>> {
    match p.interrupt_controller? {
        // SAFETY: the tree names the AIC register block; the kernel tables map every
        // non-RAM address as Device-nGnRnE.
        InterruptController::AppleAic { regs, .. } => Some(Aic::new_v1(unsafe { Mmio::new(regs.base.0 as usize) })),
        InterruptController::AppleAic2 { regs, event, .. } => {
            let offset = event.base.0.wrapping_sub(regs.base.0) as usize;
            // SAFETY: as above; the event register lies `offset` bytes from the base.
            Some(Aic::new_v2(unsafe { Mmio::new(regs.base.0 as usize) }, offset))
        }
        _ => None,
    }
}

/// Sends a fast IPI to the core with affinity `mpidr`.
pub fn send_fast_ipi(target_mpidr: u64) {
    let me = cpu::mpidr();
    let aff0 = target_mpidr & 0xff;
    let aff1 = (target_mpidr >> 8) & 0xff;
    // SAFETY: Apple's IPI request registers only raise an IPI; the DSB makes the
    // pending-kind bits the receiver will read visible first.
    unsafe {
        if (me >> 8) & 0xff == aff1 {
            asm!("dsb ishst", "msr s3_5_c15_c0_0, {}", "isb", in(reg) aff0, options(nostack));
        } else {
            asm!("dsb ishst", "msr s3_5_c15_c0_1, {}", "isb", in(reg) aff0 | (aff1 << 16), options(nostack));
        }
    }
}

/// Turns off this core's performance-counter FIQs, as Linux's AIC driver does at
/// each core's bring-up: PMCR0_EL1 (s3_1_c15_c0_0) interrupt mode (bits 10:8) off
/// and its interrupt-active flag (bit 11) cleared, and UPMCR0_EL1 (s3_7_c15_c0_4,
/// the uncore counters) interrupt mode (bits 18:16) off. Register facts from Asahi
/// Linux (`arch/arm64/include/asm/apple_m1_pmu.h`, `irq-apple-aic.c`).
pub fn mask_pmc_fiqs() {
    let pmcr0: u64;
    let upmcr0: u64;
    // SAFETY: Apple cores (this board) implement both registers; reading has no side
    // effects, and clearing the interrupt mode only stops counter interrupts, which
    // nothing in the kernel uses.
    unsafe {
        asm!("mrs {}, s3_1_c15_c0_0", out(reg) pmcr0, options(nomem, nostack));
        asm!("msr s3_1_c15_c0_0, {}", "isb", in(reg) pmcr0 & !(0b1111 << 8), options(nostack));
        asm!("mrs {}, s3_7_c15_c0_4", out(reg) upmcr0, options(nomem, nostack));
        asm!("msr s3_7_c15_c0_4, {}", "isb", in(reg) upmcr0 & !(0b111 << 16), options(nostack));
    }
}

fn timer_firing(ctl: u64) -> bool {
    // ENABLE (bit 0) set, IMASK (bit 1) clear, ISTATUS (bit 2) set.
    ctl & 0b111 == 0b101
}

/// The Apple board: the AIC or AIC2 for device IRQs (the console), FIQs for the tick
/// and fast IPIs.
pub struct AppleChip {
    /// The interrupt controller.
    pub aic: Aic<Mmio>,
    /// The console UART's AIC interrupt (die, number), if it has one.
    pub uart: Option<(u32, u32)>,
}

impl InterruptChip for AppleChip {
    fn init_distributor(&self) {} // probing masked every IRQ

    fn init_core(&self, core: usize, _mpidr: u64) -> Result<(), BoardError> {
        // The performance counters can raise FIQs too; nothing here uses them.
        mask_pmc_fiqs();
        // The timer and fast IPIs are FIQs and need no routing; the console's
        // receive interrupt goes to the boot core.
        if core == 0 {
            if let Some((die, num)) = self.uart {
                let mask = self.aic.whoami().map_or(1, |w| 1u32 << (w & 31));
                self.aic.enable(die, num, mask).map_err(BoardError::Aic)?;
            }
        }
        Ok(())
    }

    /// Records `ipi` as pending for `target` and sends it a fast IPI.
    fn send_ipi(&self, target: usize, ipi: Ipi) {
        // Release: the receiver's Acquire swap sees the kind along with earlier writes.
        CORES[target].fast_ipi_pending.fetch_or(1 << ipi as u32, Ordering::Release);
        send_fast_ipi(CORES[target].mpidr.load(Ordering::Relaxed));
    }

    /// Device interrupts (the console) and AIC IPIs.
    fn handle_irq(&self, core: usize) {
        while let Some(ev) = self.aic.ack() {
            match ev {
                Event::Hw { die, num } => {
                    if self.uart == Some((die, num)) {
                        irq::report(core, irq::Event::ConsoleInput);
                    } else {
                        irq::spurious(core);
                    }
                    // Auto-masked on delivery; unmask once serviced.
                    let _ = self.aic.unmask(die, num);
                }
                Event::Ipi(_) | Event::Other(_) => irq::spurious(core),
            }
        }
    }

    /// Checks every source the Apple board can raise as a FIQ.
    fn handle_fiq(&self, core: usize) -> bool {
        let mut handled = false;
        // Fast IPI.
        let sr: u64;
        // SAFETY: reading IPI_SR_EL1 has no side effects.
        unsafe { asm!("mrs {}, s3_5_c15_c1_1", out(reg) sr, options(nomem, nostack)) };
        if sr & 1 != 0 {
            // SAFETY: writing 1 acknowledges the fast IPI.
            unsafe { asm!("msr s3_5_c15_c1_1, {}", "isb", in(reg) 1u64, options(nostack)) };
            // Acquire: pairs with the sender's Release fetch_or.
            let kinds = CORES[core].fast_ipi_pending.swap(0, Ordering::Acquire);
            for kind in Ipi::ALL {
                if kinds & (1 << kind as u32) != 0 {
                    irq::ipi(core, kind as u32);
                }
            }
            handled = true;
        }
        // The tick: the EL1 virtual timer.
        if timer_firing(CNTV_CTL_EL0.get()) {
            irq::tick(core, crate::arch::timer::rearm());
            handled = true;
        }
        // The EL1 physical timer is not used; if firmware left it armed, silence it.
        if timer_firing(CNTP_CTL_EL0.get()) {
            CNTP_CTL_EL0.set(CNTP_CTL_EL0.get() | 0b10);
            handled = true;
        }
        if !handled {
            // No source we use: stop the counters' FIQs at their source (firmware may
            // have left them on), or this FIQ would be taken again as soon as it returns.
            mask_pmc_fiqs();
            irq::spurious(core);
        }
        true
    }
}
