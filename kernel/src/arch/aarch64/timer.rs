//! The ARM generic timer's EL1 virtual timer as a per-core periodic tick.
//!
//! ARM ARM DDI 0487 D11.2 (generic timer), D17.11 (CNTV_CTL_EL0, CNTV_CVAL_EL0). The
//! compare value advances by a fixed period each tick, so ticks do not drift with
//! interrupt latency; a core that fell behind skips to the next future deadline.

use aarch64_cpu::registers::{Readable, Writeable, CNTV_CTL_EL0, CNTV_CVAL_EL0};
use core::sync::atomic::{AtomicU64, Ordering};

/// Counter ticks per timer tick, set once by the boot core before any core starts its tick.
static PERIOD: AtomicU64 = AtomicU64::new(0);

/// Sets the tick rate for all cores (boot core, before starting any tick).
pub fn set_rate(hz: u64) {
    let period = (super::cpu::counter_hz() / hz.max(1)).max(1);
    // Relaxed: published to other cores by the release of their start.
    PERIOD.store(period, Ordering::Relaxed);
}

/// The tick period in counter ticks.
pub fn period() -> u64 {
    PERIOD.load(Ordering::Relaxed)
}

/// Arms this core's first tick.
pub fn start() {
    CNTV_CVAL_EL0.set(super::cpu::counter() + period());
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Called from the timer interrupt: arms the next deadline. Returns how many tick
/// periods elapsed (more than one if the core was held off).
pub fn rearm() -> u64 {
    let period = period();
    let now = super::cpu::counter();
    let mut next = CNTV_CVAL_EL0.get() + period;
    let mut elapsed = 1;
    if next <= now {
        let behind = (now - next) / period + 1;
        next += behind * period;
        elapsed += behind;
    }
    CNTV_CVAL_EL0.set(next);
    elapsed
}

/// Stops this core's tick.
pub fn stop() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
}

/// Arms this core's timer once, for counter value `at` (tickless idle).
pub fn oneshot_at(at: u64) {
    CNTV_CVAL_EL0.set(at);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Keeps the timer enabled but its interrupt masked (a one-shot deadline has passed
/// and nothing else is due).
pub fn mask() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::SET);
}
