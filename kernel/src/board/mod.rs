//! Board support chosen at boot from the device tree: the interrupt controller, the
//! console UART, the timer interrupt and the way secondary cores are started.
//!
//! Two kinds of machine have drivers: QEMU virt and GIC machines like it (GICv2/GICv3,
//! PL011, PSCI) and Apple Silicon (AIC/AIC2, the s5l UART, the FIQ timer and fast
//! IPIs, spin-table start, in `apple.rs`). The device tree decides which of them is
//! used, never a build flag.

pub mod apple;
pub mod gicv2;
pub mod gicv3;
pub mod mmio;
pub mod pl011;
pub mod psci;

use crate::arch::cpu;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use gicv2::GicV2;
use gicv3::GicV3;
use mmio::Mmio;
use zbeam_devices::aic::Aic;
use zbeam_devtree::{Board, CoreClass, InterruptController, Irq, Platform, PsciMethod};

/// Most cores the kernel manages (the linker script reserves a stack for each).
pub const MAX_CORES: usize = 64;

/// Software-generated interrupts used as IPIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Ipi {
    /// Wake a core from WFI; no other effect.
    Wake = 0,
    /// Stop: the receiving core masks interrupts and halts (panic).
    Stop = 1,
    /// IPI self-test: a ping that asks for a pong.
    Ping = 2,
    /// IPI self-test: the answer to a ping.
    Pong = 3,
}

/// The interrupt controller in use.
pub enum IrqChip {
    /// GICv2.
    V2(GicV2),
    /// GICv3.
    V3(GicV3),
    /// Apple AIC or AIC2 (device IRQs; the timer and IPIs are FIQs).
    Aic(Aic<Mmio>),
}

/// Everything the board knows after boot.
pub struct Machine {
    /// The parsed device tree.
    pub platform: Platform,
    /// The interrupt controller.
    pub irq: IrqChip,
    /// PSCI conduit.
    pub psci: PsciMethod,
    /// The tick's GIC interrupt ID (the EL1 virtual timer PPI); `None` on Apple, where
    /// the timer is a FIQ.
    pub timer_intid: Option<u32>,
    /// The console UART's GIC interrupt ID, if it has one.
    pub uart_intid: Option<u32>,
    /// The console UART's AIC interrupt (die, number), on Apple.
    pub uart_aic: Option<(u32, u32)>,
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

/// Per-core state readable by every core.
pub struct CoreState {
    /// The core has finished bring-up.
    pub online: AtomicBool,
    /// Its MPIDR affinity.
    pub mpidr: AtomicU64,
    /// GICv2 CPU-interface mask (bit per interface).
    pub gic_mask: AtomicU8,
    /// Timer ticks taken.
    pub ticks: AtomicU64,
    /// IPIs received.
    pub ipis: AtomicU64,
    /// Interrupts that matched no handler.
    pub spurious: AtomicU64,
    /// Self-test: bit s set = core s sent a ping not yet answered.
    pub ping_from: AtomicU64,
    /// Self-test: bit t set = core t answered our ping.
    pub pong_from: AtomicU64,
    /// Apple fast IPIs carry no number: bit k set = an [`Ipi`] with value k is pending.
    pub fast_ipi_pending: AtomicU32,
}

impl CoreState {
    const fn new() -> Self {
        CoreState {
            online: AtomicBool::new(false),
            mpidr: AtomicU64::new(0),
            gic_mask: AtomicU8::new(0),
            ticks: AtomicU64::new(0),
            ipis: AtomicU64::new(0),
            spurious: AtomicU64::new(0),
            ping_from: AtomicU64::new(0),
            pong_from: AtomicU64::new(0),
            fast_ipi_pending: AtomicU32::new(0),
        }
    }
}

/// One [`CoreState`] per logical core.
pub static CORES: [CoreState; MAX_CORES] = [const { CoreState::new() }; MAX_CORES];

/// Set when a core panics: every other core halts at its next interrupt.
pub static STOPPING: AtomicBool = AtomicBool::new(false);

/// Number of cores that halted in answer to a panic's stop request.
pub static STOPPED: AtomicUsize = AtomicUsize::new(0);

/// Halts this core for a panic elsewhere, counting it as stopped.
fn stop_this_core() -> ! {
    STOPPED.fetch_add(1, Ordering::AcqRel);
    cpu::halt()
}

/// Number of cores that completed bring-up.
pub static ONLINE: AtomicUsize = AtomicUsize::new(0);

/// Board bring-up errors.
#[derive(Debug, Clone, Copy)]
pub enum BoardError {
    /// The tree names no interrupt controller this kernel drives.
    UnsupportedInterruptController,
    /// No usable timer interrupt.
    NoTimerInterrupt,
    /// GICv3 redistributor problem.
    GicV3(gicv3::GicV3Error),
    /// AIC probe problem.
    Aic(zbeam_devices::aic::AicError),
}

impl core::fmt::Display for BoardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BoardError::UnsupportedInterruptController => {
                f.write_str("no supported interrupt controller (need GICv2 or GICv3)")
            }
            BoardError::NoTimerInterrupt => f.write_str("the timer node has no EL1 virtual timer interrupt"),
            BoardError::GicV3(gicv3::GicV3Error::NoRedistributor(m)) => {
                write!(f, "no GICv3 redistributor for MPIDR {m:#x}")
            }
            BoardError::Aic(e) => write!(f, "{e}"),
        }
    }
}

/// Creates the machine description and brings up the distributor (boot core).
pub fn init(platform: Platform, boot_mpidr: u64) -> Result<&'static Machine, BoardError> {
    let apple = platform.board == Board::Apple;
    let irq = match platform.interrupt_controller {
        // SAFETY: addresses come from the device tree and are mapped Device memory.
        Some(InterruptController::GicV2 { gicd, gicc }) => {
            IrqChip::V2(unsafe { GicV2::new(gicd.base.0 as usize, gicc.base.0 as usize) })
        }
        Some(InterruptController::GicV3 { gicd, gicr, .. }) => {
            // SAFETY: as above.
            IrqChip::V3(unsafe { GicV3::new(gicd.base.0 as usize, gicr.base.0 as usize, gicr.size as usize) })
        }
        Some(InterruptController::AppleAic { .. } | InterruptController::AppleAic2 { .. }) if apple => {
            match apple::probe_aic(&platform) {
                Some(Ok(aic)) => IrqChip::Aic(aic),
                Some(Err(e)) => return Err(BoardError::Aic(e)),
                None => return Err(BoardError::UnsupportedInterruptController),
            }
        }
        _ => return Err(BoardError::UnsupportedInterruptController),
    };
    let timer = platform.timer.and_then(|t| t.virt).ok_or(BoardError::NoTimerInterrupt)?;
    let timer_intid = match (&irq, timer) {
        (IrqChip::Aic(_), Irq::AicFiq(_)) => None,
        (IrqChip::V2(_) | IrqChip::V3(_), t) => Some(t.gic_intid().ok_or(BoardError::NoTimerInterrupt)?),
        _ => return Err(BoardError::NoTimerInterrupt),
    };
    let uart_irq = platform.console.and_then(|c| c.interrupt);
    let uart_intid = uart_irq.and_then(|i| i.gic_intid());
    let uart_aic = match uart_irq {
        Some(Irq::AicIrq { die, num }) => Some((die, num)),
        _ => None,
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
    let m = MACHINE.call_once(|| Machine {
        psci: platform.psci,
        platform,
        irq,
        timer_intid,
        uart_intid,
        uart_aic,
        core_to_cpu,
        cores,
    });
    match &m.irq {
        IrqChip::V2(g) => g.init_distributor(),
        IrqChip::V3(g) => g.init_distributor(),
        IrqChip::Aic(_) => {} // probing masked every IRQ
    }
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

    /// Per-core interrupt bring-up: CPU interface, timer PPI, and (on the boot core)
    /// the console's receive interrupt.
    pub fn init_core_interrupts(&self, core: usize) -> Result<(), BoardError> {
        let mpidr = cpu::mpidr();
        let st = &CORES[core];
        st.mpidr.store(mpidr, Ordering::Relaxed);
        match &self.irq {
            IrqChip::V2(g) => {
                g.init_cpu();
                st.gic_mask.store(g.this_cpu_mask(), Ordering::Relaxed);
                for sgi in [Ipi::Wake, Ipi::Stop, Ipi::Ping, Ipi::Pong] {
                    g.enable(sgi as u32, false, 0);
                }
                if let Some(t) = self.timer_intid {
                    g.enable(t, true, 0);
                }
                if core == 0 {
                    if let Some(id) = self.uart_intid {
                        g.enable(id, true, g.this_cpu_mask());
                    }
                }
            }
            IrqChip::V3(g) => {
                g.init_cpu(mpidr).map_err(BoardError::GicV3)?;
                for sgi in [Ipi::Wake, Ipi::Stop, Ipi::Ping, Ipi::Pong] {
                    g.enable(sgi as u32, false, mpidr, mpidr).map_err(BoardError::GicV3)?;
                }
                if let Some(t) = self.timer_intid {
                    g.enable(t, true, mpidr, mpidr).map_err(BoardError::GicV3)?;
                }
                if core == 0 {
                    if let Some(id) = self.uart_intid {
                        g.enable(id, true, mpidr, mpidr).map_err(BoardError::GicV3)?;
                    }
                }
            }
            IrqChip::Aic(aic) => {
                // The performance counters can raise FIQs too; nothing here uses them.
                apple::mask_pmc_fiqs();
                // The timer and fast IPIs are FIQs and need no routing; the console's
                // receive interrupt goes to the boot core.
                if core == 0 {
                    if let Some((die, num)) = self.uart_aic {
                        let mask = aic.whoami().map_or(1, |w| 1u32 << (w & 31));
                        aic.enable(die, num, mask).map_err(BoardError::Aic)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends `ipi` to logical core `target`.
    pub fn send_ipi(&self, target: usize, ipi: Ipi) {
        let st = &CORES[target];
        match &self.irq {
            IrqChip::V2(g) => {
                // DSB: stores announcing the IPI (flags it will read) are visible
                // before the distributor write that raises it.
                // SAFETY: barrier only.
                unsafe { core::arch::asm!("dsb ishst", options(nostack)) };
                g.send_sgi(ipi as u32, st.gic_mask.load(Ordering::Relaxed));
            }
            IrqChip::V3(g) => g.send_sgi(ipi as u32, st.mpidr.load(Ordering::Relaxed)),
            IrqChip::Aic(_) => apple::send_ipi(target, ipi),
        }
    }
}

/// IRQ entry from the exception vectors: dispatch until the controller has nothing
/// pending.
pub fn handle_irq() {
    let Some(m) = machine() else {
        return;
    };
    let me = cpu::core_id();
    loop {
        let iar = match &m.irq {
            IrqChip::V2(g) => g.ack(),
            IrqChip::V3(g) => g.ack(),
            IrqChip::Aic(aic) => {
                apple::handle_irq(aic, m);
                break;
            }
        };
        let id = iar & 0x3ff;
        if id >= 1020 {
            break;
        }
        if Some(id) == m.timer_intid {
            let n = crate::arch::timer::rearm();
            CORES[me].ticks.fetch_add(n, Ordering::Relaxed);
            crate::runtime::on_tick(me);
        } else if id < 16 {
            CORES[me].ipis.fetch_add(1, Ordering::Relaxed);
            handle_ipi(m, me, id);
        } else if Some(id) == m.uart_intid {
            crate::console::on_rx_interrupt();
        } else {
            CORES[me].spurious.fetch_add(1, Ordering::Relaxed);
        }
        match &m.irq {
            IrqChip::V2(g) => g.eoi(iar),
            IrqChip::V3(g) => g.eoi(iar),
            IrqChip::Aic(_) => {}
        }
    }
    if STOPPING.load(Ordering::Acquire) && !crate::panic::is_panicking_core(me) {
        stop_this_core();
    }
}

/// Acts on IPI `id` received by core `me`.
pub(crate) fn handle_ipi(m: &Machine, me: usize, id: u32) {
    match id {
        x if x == Ipi::Stop as u32 && !crate::panic::is_panicking_core(me) => stop_this_core(),
        x if x == Ipi::Ping as u32 => {
            // AcqRel: take every pending ping and see the sender's earlier writes.
            let from = CORES[me].ping_from.swap(0, Ordering::AcqRel);
            for (s, sender) in CORES.iter().enumerate().take(m.cores) {
                if from & (1 << s) != 0 {
                    // Release: the pong flag is visible before the IPI that announces it.
                    sender.pong_from.fetch_or(1 << me, Ordering::Release);
                    m.send_ipi(s, Ipi::Pong);
                }
            }
        }
        _ => {} // Wake and Pong only end a WFI; the flags carry the data.
    }
}

/// FIQ entry. On Apple the timer and fast IPIs are FIQs; nothing on the QEMU virt
/// board raises one (all GIC interrupts are signalled as IRQ), so there it is a bug.
pub fn handle_fiq() {
    match machine() {
        Some(m) if matches!(m.irq, IrqChip::Aic(_)) => {
            apple::handle_fiq(m);
            if STOPPING.load(Ordering::Acquire) && !crate::panic::is_panicking_core(cpu::core_id()) {
                stop_this_core();
            }
        }
        _ => panic!("unexpected FIQ on core {}", cpu::core_id()),
    }
}
