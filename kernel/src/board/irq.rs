//! What the board tells the kernel about interrupts: the IPI kinds, the events it
//! decodes ([`Event`]) and the handler the kernel registers for them
//! ([`set_handler`]), and the per-core state the interrupt paths share.
//!
//! The board never calls its consumers: an interrupt controller driver decodes what
//! fired, counts it here and [`report`]s it; the kernel's handler decides what it
//! means (the scheduler's tick, a wake-up, a panic's stop request, console input).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Most cores the kernel manages: the scheduler's limit, the one definition (the
/// linker script reserves a stack for each: checked below and in build.rs).
pub const MAX_CORES: usize = zbeam_sched::MAX_CORES;

/// `MAX_CPUS` in linker.ld and the spin-table search bound in boot.S, as build.rs
/// read them.
const LINKER_MAX_CORES: usize = parse_usize(env!("ZBEAM_LINKER_MAX_CORES"));
const BOOT_S_MAX_CORES: usize = parse_usize(env!("ZBEAM_BOOT_S_MAX_CORES"));
const _: () = assert!(LINKER_MAX_CORES == MAX_CORES, "linker.ld MAX_CPUS differs from zbeam_sched::MAX_CORES");
const _: () = assert!(BOOT_S_MAX_CORES == MAX_CORES, "boot.S spin-table bound differs from zbeam_sched::MAX_CORES");
const _: () = assert!(zbeam_devtree::MAX_CPUS == MAX_CORES);

/// A decimal number at compile time.
const fn parse_usize(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "not a decimal number");
        n = n * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    n
}

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

impl Ipi {
    /// Every kind, in SGI number order.
    pub const ALL: [Ipi; 4] = [Ipi::Wake, Ipi::Stop, Ipi::Ping, Ipi::Pong];

    /// The kind with SGI number `id`, if it is one of ours.
    pub fn from_id(id: u32) -> Option<Ipi> {
        Ipi::ALL.get(id as usize).copied()
    }
}

/// An interrupt as the board decoded it, reported to the kernel's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The periodic tick (the timer is already re-armed and the tick counted).
    Tick,
    /// An IPI of this kind arrived (already counted).
    Ipi(Ipi),
    /// The console UART has received bytes waiting (its interrupt is not yet
    /// acknowledged: the handler drains the UART).
    ConsoleInput,
}

/// The kernel's side of interrupts: it is told each event, then once more when the
/// board has handled everything that was pending at the exception.
pub trait InterruptHandler: Sync {
    /// Core `core` took `event`. Runs in interrupt context, interrupts masked.
    fn event(&self, core: usize, event: Event);
    /// Core `core` has handled every pending interrupt and is about to return.
    fn after(&self, core: usize);
}

static HANDLER: spin::Once<&'static dyn InterruptHandler> = spin::Once::new();

/// Registers the kernel's interrupt handler (once, before interrupts are enabled; a
/// later call keeps the first). Until then events are counted and dropped.
pub fn set_handler(handler: &'static dyn InterruptHandler) {
    HANDLER.call_once(|| handler);
}

/// Tells the kernel's handler that `core` took `event`.
pub fn report(core: usize, event: Event) {
    if let Some(h) = HANDLER.get() {
        h.event(core, event);
    }
}

/// Tells the kernel's handler that `core` is done with this exception.
pub fn report_done(core: usize) {
    if let Some(h) = HANDLER.get() {
        h.after(core);
    }
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

/// Number of cores that completed bring-up.
pub static ONLINE: AtomicUsize = AtomicUsize::new(0);

/// Counts a tick taken by `core` (`n` periods: more than one if ticks were missed)
/// and reports it.
pub fn tick(core: usize, n: u64) {
    // Relaxed: statistics.
    CORES[core].ticks.fetch_add(n, Ordering::Relaxed);
    report(core, Event::Tick);
}

/// Counts an IPI taken by `core` and reports it (an SGI number that is none of ours
/// is only counted).
pub fn ipi(core: usize, id: u32) {
    // Relaxed: statistics.
    CORES[core].ipis.fetch_add(1, Ordering::Relaxed);
    if let Some(kind) = Ipi::from_id(id) {
        report(core, Event::Ipi(kind));
    }
}

/// Counts an interrupt on `core` that nothing handles.
pub fn spurious(core: usize) {
    // Relaxed: statistics.
    CORES[core].spurious.fetch_add(1, Ordering::Relaxed);
}
