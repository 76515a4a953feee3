//! Per-core CPU primitives: identity (MPIDR, logical core id in TPIDR_EL1), interrupt
//! masking, wait instructions and the generic counter.
//!
//! ARM ARM DDI 0487: D13.2.101 (MPIDR_EL1), C5.6 (WFI/WFE/SEV), D11 (generic timer).

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, DAIF, MPIDR_EL1, TPIDR_EL1};

/// Affinity fields of MPIDR_EL1 (Aff3..Aff0), as device trees write a CPU's `reg`.
pub fn mpidr() -> u64 {
    MPIDR_EL1.get() & 0xff_00ff_ffff
}

/// The logical core id the boot code stored in TPIDR_EL1 (0 = boot core).
#[inline]
pub fn core_id() -> usize {
    TPIDR_EL1.get() as usize
}

/// Whether this is an Apple core (MIDR_EL1 implementer 0x61).
pub fn is_apple() -> bool {
    (aarch64_cpu::registers::MIDR_EL1.get() >> 24) & 0xff == 0x61
}

/// Records this core's logical id; called once per core during bring-up.
pub fn set_core_id(id: usize) {
    TPIDR_EL1.set(id as u64);
}

/// Counter ticks since reset (CNTVCT_EL0; CNTVOFF_EL2 is zero, so this is the
/// physical count). The ISB keeps the read from being hoisted above earlier code.
#[inline]
pub fn counter() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

/// Counter frequency in Hz (CNTFRQ_EL0, set by firmware or QEMU).
pub fn counter_hz() -> u64 {
    CNTFRQ_EL0.get()
}

/// Converts counter ticks to microseconds.
pub fn ticks_to_us(ticks: u64) -> u64 {
    let hz = counter_hz().max(1);
    ((ticks as u128 * 1_000_000) / hz as u128) as u64
}

/// Masks IRQ and FIQ on this core and returns the previous DAIF value.
#[inline]
pub fn irq_save() -> u64 {
    let old = DAIF.get();
    DAIF.write(DAIF::I::Masked + DAIF::F::Masked + DAIF::A::Masked + DAIF::D::Masked);
    old
}

/// Restores a DAIF value returned by [`irq_save`].
#[inline]
pub fn irq_restore(old: u64) {
    DAIF.set(old);
}

/// Unmasks IRQ and FIQ (and SError) on this core.
#[inline]
pub fn irq_enable() {
    DAIF.write(DAIF::I::Unmasked + DAIF::F::Unmasked + DAIF::A::Unmasked + DAIF::D::Masked);
}

/// Waits for an interrupt.
#[inline]
pub fn wfi() {
    aarch64_cpu::asm::wfi();
}

/// Waits for an event (SEV from another core or an interrupt).
#[inline]
pub fn wfe() {
    aarch64_cpu::asm::wfe();
}

/// Signals an event to every core waiting in WFE.
#[inline]
pub fn sev() {
    aarch64_cpu::asm::sev();
}

/// Masks everything and waits forever.
pub fn halt() -> ! {
    irq_save();
    loop {
        wfe();
    }
}

/// Spins until `cond` holds or `timeout_us` microseconds of counter time pass.
/// Returns whether the condition held.
pub fn spin_until(timeout_us: u64, mut cond: impl FnMut() -> bool) -> bool {
    let start = counter();
    let limit = timeout_us.saturating_mul(counter_hz()) / 1_000_000;
    loop {
        if cond() {
            return true;
        }
        if counter().wrapping_sub(start) > limit {
            return cond();
        }
        core::hint::spin_loop();
    }
}
