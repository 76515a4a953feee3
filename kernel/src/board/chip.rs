//! The interrupt controller as the board drives it: one trait, one implementation per
//! kind of controller (GICv2 and GICv3 in `gic.rs`, Apple's AIC in `apple.rs`), chosen
//! from the device tree by `board::init`.

use super::irq::Ipi;

/// An interrupt controller with the board's wiring (which interrupt is the tick, which
/// the console). Each implementation decodes what fired and reports it through
/// [`irq`](super::irq); none calls the kernel.
pub trait InterruptChip: Send + Sync {
    /// Brings up the shared part (the distributor) on the boot core.
    fn init_distributor(&self);

    /// Brings up core `core` (MPIDR `mpidr`): its CPU interface, the IPIs and the tick,
    /// and on the boot core the console's receive interrupt.
    fn init_core(&self, core: usize, mpidr: u64) -> Result<(), BoardError>;

    /// Sends `ipi` to logical core `target`. Stores made before the call are visible
    /// to the target before the IPI arrives.
    fn send_ipi(&self, target: usize, ipi: Ipi);

    /// Takes every pending IRQ on core `core`, reporting each.
    fn handle_irq(&self, core: usize);

    /// Takes a FIQ on core `core`, reporting what it was; false if this controller
    /// never raises one (the caller treats it as a bug).
    fn handle_fiq(&self, _core: usize) -> bool {
        false
    }
}

/// Board bring-up errors.
#[derive(Debug, Clone, Copy)]
pub enum BoardError {
    /// The tree names no interrupt controller this kernel drives.
    UnsupportedInterruptController,
    /// No usable timer interrupt.
    NoTimerInterrupt,
    /// GICv3 redistributor problem.
    GicV3(zbeam_devices::gicv3::GicV3Error),
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
            BoardError::GicV3(zbeam_devices::gicv3::GicV3Error::NoRedistributor(m)) => {
                write!(f, "no GICv3 redistributor for MPIDR {m:#x}")
            }
            BoardError::Aic(e) => write!(f, "{e}"),
        }
    }
}
