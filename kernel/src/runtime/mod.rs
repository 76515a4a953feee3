//! The kernel runtime: the platform the engine runs on, on every core (the lowest of
//! the three tiers: the scheduler decides, the engine runs processes, this gives them
//! cores, a clock, wake-up IPIs and the console).
//!
//! Each core loops over [`Engine::run_once`] (pick a process, run it for its
//! reductions, act on the policy's decision). A core with nothing to do sleeps in WFI,
//! tickless: its periodic tick is stopped and the timer armed once for the earliest
//! timeout on that core (or not at all). Work for a sleeping core raises a wake-up IPI;
//! a per-core flag set before the IPI closes the race between deciding to sleep and
//! executing WFI. The periodic tick (1 kHz by default) bumps the engine's preempt
//! counter, which a running Z80 process looks at every 1024 instructions
//! (`PREEMPT_CHECK` in the engine's `proc.rs`), besides its reduction budget.
//!
//! Each core counts the wake-up IPIs sent to it and the wake-ups whose first pick
//! found nothing ([`wake_counts`]); the scheduling policy only asks for an IPI when the
//! core may take queued work, so the second number should stay near zero.
//!
//! Interrupt handlers never take the engine's locks (they may interrupt a core that
//! holds them): console input only sets a flag that the boot core's loop turns into a
//! call of the input handler the shell registers ([`set_input_handler`]), which wakes
//! the shell task.

pub mod par;
pub mod shell;

use crate::arch::{cpu, timer};
use crate::board::{self, Ipi, MAX_CORES};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use zbeam_engine::{Engine, Pid, Platform, Step};
use zbeam_sched::{CoreId, CoreInfo, CpuSet, Topology};

/// The kernel's side of the engine: counter time, IPIs, the serial console.
pub struct KernelPlatform {
    hz: u64,
}

impl KernelPlatform {
    /// Counter value at time `ms` (rounded up: a deadline is never early).
    fn counter_at(&self, ms: u64) -> u64 {
        ((ms as u128 * self.hz as u128).div_ceil(1000)) as u64
    }
}

impl Platform for KernelPlatform {
    fn now_ms(&self) -> u64 {
        ((cpu::counter() as u128 * 1000) / self.hz as u128) as u64
    }

    fn now_us(&self) -> u64 {
        ((cpu::counter() as u128 * 1_000_000) / self.hz as u128) as u64
    }

    fn wake(&self, cores: CpuSet) {
        let Some(m) = board::machine() else { return };
        let me = cpu::core_id();
        for (c, pending) in WAKE_PENDING.iter().enumerate().take(m.cores.min(MAX_CORES)) {
            if c != me && cores.bits() & (1 << c) != 0 {
                // Release: the queued work is visible before the flag that says so.
                pending.store(true, Ordering::Release);
                // Relaxed: statistics.
                WAKE_IPIS[c].fetch_add(1, Ordering::Relaxed);
                m.send_ipi(c, Ipi::Wake);
            }
        }
    }

    fn console(&self, bytes: &[u8]) {
        crate::console::write_bytes(bytes);
    }

    fn console_from(&self, pid: Pid, bytes: &[u8]) {
        if !crate::hooks::output().is_some_and(|take| take(pid, bytes)) {
            crate::console::write_bytes(bytes);
        }
    }

    fn memory_low(&self) -> bool {
        // Pages and bodies kept in the engine's depot serve a spawn before the heap
        // does, so they count as room: after a spawn bomb the depot holds what its
        // processes used, and the heap's free part alone may be under the reserve.
        // The depot is only looked at when the heap alone is short.
        let free = crate::heap::usage().1;
        free < SPAWN_RESERVE && free + ENGINE.get().map_or(0, |e| e.pooled_spare()) < SPAWN_RESERVE
    }

    #[inline(always)]
    fn tracing(&self) -> bool {
        crate::trace::enabled()
    }

    fn trace(&self, event: zbeam_engine::TraceEvent) {
        crate::trace::record(event);
    }
}

/// Heap bytes kept for the processes already running (messages, links, monitors)
/// and for the shell (`top`, `trace`): spawns are refused below this much free,
/// counting what the engine's depot holds for spawns (see `memory_low`).
pub const SPAWN_RESERVE: usize = 4 << 20;

static ENGINE: spin::Once<Engine<KernelPlatform>> = spin::Once::new();
static STARTED: AtomicBool = AtomicBool::new(false);
static WAKE_PENDING: [AtomicBool; MAX_CORES] = [const { AtomicBool::new(false) }; MAX_CORES];
static TICKLESS: [AtomicBool; MAX_CORES] = [const { AtomicBool::new(false) }; MAX_CORES];
/// Counter ticks each core has spent asleep in WFI, and when its current sleep began
/// (0 = awake): the shell's utilisation figures.
static IDLE_TICKS: [AtomicU64; MAX_CORES] = [const { AtomicU64::new(0) }; MAX_CORES];
static IDLE_SINCE: [AtomicU64; MAX_CORES] = [const { AtomicU64::new(0) }; MAX_CORES];
/// Wake-up IPIs sent to each core, and wake-ups after which the core's first pick found
/// nothing (the shell's `sched`; the hetero tests check both).
static WAKE_IPIS: [AtomicU64; MAX_CORES] = [const { AtomicU64::new(0) }; MAX_CORES];
static EMPTY_WAKES: [AtomicU64; MAX_CORES] = [const { AtomicU64::new(0) }; MAX_CORES];

/// Wake-up IPIs sent to `core` since boot, and those that found no work.
pub fn wake_counts(core: usize) -> (u64, u64) {
    // Relaxed: statistics.
    let get = |a: &[AtomicU64; MAX_CORES]| a.get(core).map_or(0, |v| v.load(Ordering::Relaxed));
    (get(&WAKE_IPIS), get(&EMPTY_WAKES))
}

/// Counter ticks `core` has spent idle since boot, up to `now` (a sleep in progress counts).
pub fn idle_ticks(core: usize, now: u64) -> u64 {
    // Relaxed: statistics written by one core; a reading a sleep early or late is fine.
    let since = IDLE_SINCE.get(core).map_or(0, |s| s.load(Ordering::Relaxed));
    let done = IDLE_TICKS.get(core).map_or(0, |t| t.load(Ordering::Relaxed));
    done + if since != 0 { now.saturating_sub(since) } else { 0 }
}

/// The engine, once [`start`] has run.
pub fn engine() -> Option<&'static Engine<KernelPlatform>> {
    ENGINE.get()
}

/// Most processes the kernel's table can hold: what a pid's 21 index bits address,
/// less the slots the engine keeps for system tasks (and slot 0, the kernel's).
pub const MAX_PROCS: usize = zbeam_engine::pid::MAX_SLOTS - zbeam_engine::SYSTEM_SLOTS - 1;

/// Heap per slot of the process table by default: 3 KiB, so `-m 4G` holds more than a
/// million processes. An idle Z80 process costs about 2.1 KiB with its slot (its body
/// and a page or two of its own; its image's pages are shared), so a spawn bomb fills
/// the table or the memory budget at about the same count; either refuses the next
/// spawn, and spawns also stop when the heap is down to [`SPAWN_RESERVE`] (run-queue
/// growth is fallible). A bomb stopped at the budget keeps losing members (a child
/// that cannot get its first page ends), which makes room for the rest to spawn: the
/// engine's tree stop closes the tree once its root is frozen, so they cannot outrun
/// it. The boot argument `slotheap=BYTES` sets another size.
pub const HEAP_PER_SLOT: usize = 3 << 10;

static SLOT_HEAP: AtomicUsize = AtomicUsize::new(HEAP_PER_SLOT);

/// Sets the heap per slot (boot argument `slotheap=`; at least 1 KiB).
pub fn set_heap_per_slot(bytes: usize) {
    // Relaxed: set once at boot before the engine is built.
    SLOT_HEAP.store(bytes.max(1024), Ordering::Relaxed);
}

/// The process table's size: one slot per [`HEAP_PER_SLOT`] (or `slotheap=`) bytes
/// of heap, at most [`MAX_PROCS`]. A slot costs about 380 bytes whether or not a
/// process holds it.
pub fn table_size() -> usize {
    let (used, free) = crate::heap::usage();
    // Relaxed: see set_heap_per_slot.
    ((used + free) / SLOT_HEAP.load(Ordering::Relaxed)).clamp(256, MAX_PROCS)
}

/// Heap kept back from Z80 processes for the kernel, the shell and supervisors: the
/// engine's memory budget is the heap left after the engine is built, less this.
pub fn memory_reserve(heap: usize) -> usize {
    (heap / 16).max(8 << 20)
}

/// Builds the engine from the board's topology (boot core, once).
pub fn start() -> &'static Engine<KernelPlatform> {
    let m = board::machine().expect("the board is up before the runtime");
    let cores: alloc::vec::Vec<CoreInfo> = (0..m.cores)
        .map(|c| {
            let cpu = m.cpu(c);
            CoreInfo { class: cpu.class, capacity: cpu.capacity, cluster: cpu.cluster.unwrap_or(0) }
        })
        .collect();
    let topo = Topology::new(&cores).unwrap_or_else(|_| Topology::uniform(m.cores));
    let e = ENGINE.call_once(|| {
        Engine::new(topo, table_size(), crate::initrd::images(), KernelPlatform { hz: cpu::counter_hz().max(1) })
    });
    // Processes may be charged what the heap has free now, less the reserve: memory
    // running out ends or refuses processes (reason MEMORY, NO_RESOURCES), never the
    // kernel.
    let (used, free) = crate::heap::usage();
    e.set_memory_budget(free.saturating_sub(memory_reserve(used + free)));
    e
}

/// Lets every core enter its scheduling loop.
pub fn release_cores() {
    // Release: the engine is built before any core sees STARTED.
    STARTED.store(true, Ordering::Release);
    if let Some(m) = board::machine() {
        for c in 1..m.cores {
            m.send_ipi(c, Ipi::Wake);
        }
    }
}

/// Whether the runtime has started (secondaries poll this while idle).
pub fn started() -> bool {
    STARTED.load(Ordering::Acquire)
}

/// What core 0's loop calls when console input has arrived (the shell, once spawned).
pub type InputHandler = fn(&Engine<KernelPlatform>);

static INPUT: spin::Once<InputHandler> = spin::Once::new();

/// Sets what core 0's loop calls when console input arrives (once; a later call keeps
/// the first).
pub fn set_input_handler(handler: InputHandler) {
    INPUT.call_once(|| handler);
}

/// Called from the timer interrupt on this core.
pub fn on_tick(core: usize) {
    if TICKLESS[core].load(Ordering::Relaxed) {
        timer::mask();
    }
    if let Some(e) = ENGINE.get() {
        e.preempt(CoreId::new(core));
    }
}

/// A core's scheduling loop.
pub fn core_loop(core: usize) -> ! {
    let e = engine().expect("the engine is built before cores are released");
    let id = CoreId::new(core);
    // The last idle period ended with a wake-up request (an IPI).
    let mut woken = false;
    loop {
        if core == 0 && crate::console::line::take_rx_pending() {
            if let Some(on_input) = INPUT.get() {
                on_input(e);
            }
        }
        match e.run_once(id) {
            Step::Ran => woken = false,
            Step::Idle { deadline } => {
                if woken {
                    // Woken, and the first pick found nothing. Relaxed: statistics.
                    EMPTY_WAKES[core].fetch_add(1, Ordering::Relaxed);
                }
                woken = idle(e, core, deadline);
                e.woke(id);
            }
        }
    }
}

/// Sleeps until an interrupt or `deadline`; returns whether a wake-up was requested
/// (by [`Platform::wake`]) before or during the sleep.
fn idle(e: &Engine<KernelPlatform>, core: usize, deadline: Option<u64>) -> bool {
    let saved = cpu::irq_save();
    // Acquire: pairs with the waker's Release; a set flag means work may be queued.
    let woken = WAKE_PENDING[core].swap(false, Ordering::Acquire);
    let input = core == 0 && crate::console::line::rx_pending();
    if !woken && !input {
        TICKLESS[core].store(true, Ordering::Relaxed);
        match deadline {
            Some(ms) => timer::oneshot_at(e.platform().counter_at(ms)),
            None => timer::mask(),
        }
        // With interrupts masked, WFI still wakes for a pending one; it is taken at
        // the restore below, so no wake-up can slip in between check and sleep.
        let since = cpu::counter().max(1);
        // Relaxed: statistics (see idle_ticks).
        IDLE_SINCE[core].store(since, Ordering::Relaxed);
        cpu::wfi();
        // Sleep ended before it is added: a reader in between undercounts, never doubles.
        IDLE_SINCE[core].store(0, Ordering::Relaxed);
        IDLE_TICKS[core].fetch_add(cpu::counter().saturating_sub(since), Ordering::Relaxed);
        TICKLESS[core].store(false, Ordering::Relaxed);
        timer::start();
    }
    cpu::irq_restore(saved);
    // Relaxed: only whether a waker came is read; its work is acquired by the next
    // idle()'s swap or by the scheduler's own locks.
    woken || WAKE_PENDING[core].load(Ordering::Relaxed)
}
