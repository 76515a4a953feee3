//! Board support chosen at boot from the device tree: the interrupt controller, the
//! console UART, the timer interrupt and the way secondary cores are started.
//!
//! Two kinds of machine have drivers: QEMU virt and GIC machines like it (GICv2/GICv3,
//! PL011, PSCI) and Apple Silicon (AIC/AIC2, the s5l UART, the FIQ timer and fast
//! IPIs, spin-table start, in `apple.rs`). The device tree decides which of them is
//! used, never a build flag.

pub mod apple;
pub mod chip;
pub mod gic;
pub mod irq;
pub mod mmio;
pub mod psci;

use crate::arch::cpu;
use alloc::boxed::Box;
use apple::AppleChip;
use gic::{GicV2Chip, GicV3Chip, Icc, Wiring};
use mmio::Mmio;
use zbeam_devices::gicv2::GicV2;
use zbeam_devices::gicv3::GicV3;
use zbeam_devtree::{Board, CoreClass, InterruptController, Irq, Platform, PsciMethod};

pub use chip::{BoardError, InterruptChip};
pub use irq::{CoreState, Event, InterruptHandler, Ipi, CORES, MAX_CORES, ONLINE};

/// Everything the board knows after boot.
pub struct Machine {
    /// The parsed device tree.
    pub platform: Platform,
    /// The interrupt controller, with the board's wiring.
    pub irq: Box<dyn InterruptChip>,
    /// PSCI conduit.
    pub psci: PsciMethod,
    /// The tick's GIC interrupt ID (the EL1 virtual timer PPI); `None` on Apple, where
    /// the timer is a FIQ.
    pub timer_intid: Option<u32>,
    /// Logical core id -> index into `platform.cpus` (the boot core is core 0).
    pub core_to_cpu: [u8; MAX_CORES],
    /// How many logical cores exist (online or not).
    pub cores: usize,
}

static MACHINE: spin::Once<Machine> = spin::Once::new();

/// The machine, once [`init`] has run.
pub fn machine() -> Option<&'static Machine> {
    MACHINE.get()
}

/// Creates the machine description and brings up the distributor (boot core).
pub fn init(platform: Platform, boot_mpidr: u64) -> Result<&'static Machine, BoardError> {
    let apple = platform.board == Board::Apple;
    // Checked per controller, after it is probed (the probe's error comes first).
    let timer = platform.timer.and_then(|t| t.virt);
    let uart_irq = platform.console.and_then(|c| c.interrupt);
    let gic_wiring = || -> Result<Wiring, BoardError> {
        let timer = timer.and_then(|t| t.gic_intid()).ok_or(BoardError::NoTimerInterrupt)?;
        Ok(Wiring { timer, uart: uart_irq.and_then(|i| i.gic_intid()) })
    };
    let (irq, timer_intid): (Box<dyn InterruptChip>, Option<u32>) = match platform.interrupt_controller {
        Some(InterruptController::GicV2 { gicd, gicc }) => {
            let wiring = gic_wiring()?;
            // SAFETY: addresses come from the device tree and are mapped Device memory.
            let (d, c) = unsafe { (Mmio::new(gicd.base.0 as usize), Mmio::new(gicc.base.0 as usize)) };
            let gic = GicV2::new(d, c);
            (Box::new(GicV2Chip { gic, wiring }), Some(wiring.timer))
        }
        Some(InterruptController::GicV3 { gicd, gicr, .. }) => {
            let wiring = gic_wiring()?;
            // SAFETY: as above; the redistributor window is `gicr.size` bytes.
            let (d, r) = unsafe { (Mmio::new(gicd.base.0 as usize), Mmio::new(gicr.base.0 as usize)) };
            let gic = GicV3::new(d, r, gicr.size as usize, Icc);
            (Box::new(GicV3Chip { gic, wiring }), Some(wiring.timer))
        }
        Some(InterruptController::AppleAic { .. } | InterruptController::AppleAic2 { .. }) if apple => {
            let aic = match apple::probe_aic(&platform) {
                Some(Ok(aic)) => aic,
                Some(Err(e)) => return Err(BoardError::Aic(e)),
                None => return Err(BoardError::UnsupportedInterruptController),
            };
            if !matches!(timer, Some(Irq::AicFiq(_))) {
                return Err(BoardError::NoTimerInterrupt);
            }
            let uart = match uart_irq {
                Some(Irq::AicIrq { die, num }) => Some((die, num)),
                _ => None,
            };
            (Box::new(AppleChip { aic, uart }), None)
        }
        _ => return Err(BoardError::UnsupportedInterruptController),
    };

    // Logical ids: the boot core is 0, the others follow in tree order.
    let mut core_to_cpu = [0u8; MAX_CORES];
    let boot_index = platform.boot_cpu_index(boot_mpidr).unwrap_or(0);
    let mut cores = 0;
    core_to_cpu[0] = boot_index as u8;
    cores += 1;
    for (i, _) in platform.cpus.iter().enumerate().take(MAX_CORES) {
        if i != boot_index && cores < MAX_CORES {
            core_to_cpu[cores] = i as u8;
            cores += 1;
        }
    }
    let m = MACHINE.call_once(|| Machine { psci: platform.psci, platform, irq, timer_intid, core_to_cpu, cores });
    m.irq.init_distributor();
    Ok(m)
}

impl Machine {
    /// The tree's CPU entry for logical core `core`.
    pub fn cpu(&self, core: usize) -> &zbeam_devtree::Cpu {
        &self.platform.cpus.as_slice()[self.core_to_cpu[core] as usize]
    }

    /// The class of logical core `core`.
    pub fn class(&self, core: usize) -> CoreClass {
        self.cpu(core).class
    }

    /// Per-core interrupt bring-up: CPU interface, IPIs, timer PPI, and (on the boot
    /// core) the console's receive interrupt.
    pub fn init_core_interrupts(&self, core: usize) -> Result<(), BoardError> {
        let mpidr = cpu::mpidr();
        CORES[core].mpidr.store(mpidr, core::sync::atomic::Ordering::Relaxed);
        self.irq.init_core(core, mpidr)
    }

    /// Sends `ipi` to logical core `target`.
    pub fn send_ipi(&self, target: usize, ipi: Ipi) {
        self.irq.send_ipi(target, ipi);
    }
}

/// IRQ entry from the exception vectors: the controller reports everything pending.
pub fn handle_irq() {
    let Some(m) = machine() else {
        return;
    };
    let me = cpu::core_id();
    m.irq.handle_irq(me);
    irq::report_done(me);
}

/// FIQ entry. On Apple the timer and fast IPIs are FIQs; nothing on the QEMU virt
/// board raises one (all GIC interrupts are signalled as IRQ), so there it is a bug.
pub fn handle_fiq() {
    let me = cpu::core_id();
    match machine() {
        Some(m) if m.irq.handle_fiq(me) => irq::report_done(me),
        _ => panic!("unexpected FIQ on core {me}"),
    }
}
