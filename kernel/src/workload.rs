//! The default workload of `make qemu` (a boot without `test=` or `workload=off`): a
//! small system that keeps every core busy enough to watch from the shell, and light
//! enough that the shell stays responsive.
//!
//! * a ring of [`RING_NODES`] Z80 `relay` processes passing [`RING_TOKENS`] tokens
//!   round and round, each hop held for [`HOP_PAUSE_MS`];
//! * CPU-bound workers at two priorities: `burst` (normal: computes, then rests) and
//!   `spin` (low: computes forever, taking whatever the others leave);
//! * `hello`, a CP/M program that prints a line through BDOS and exits;
//! * `fragile`, which faults on purpose every [`CRASH_AFTER_MS`], and a native
//!   `restarter` task that respawns it.
//!
//! The restarter polls its child's liveness, a stand-in until the engine has links
//! and supervisors: it is meant to become a real one-for-one supervisor then.

use crate::println;
use crate::runtime::KernelPlatform;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use zbeam_engine::{Engine, Exit, NativeCx, NativeStep, NativeTask};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Relay processes in the ring.
pub const RING_NODES: usize = 8;
/// Tokens circulating in the ring.
pub const RING_TOKENS: usize = 2;
/// How long each relay holds a token, in ms.
pub const HOP_PAUSE_MS: u16 = 25;
/// How long the fragile worker lives before it faults, in ms.
pub const CRASH_AFTER_MS: u16 = 2000;
/// How often the restarter looks at its child, in ms.
const POLL_MS: u64 = 100;
/// `burst` arguments: rounds of 2^16 loop iterations, then a rest in ms.
const BURST_ROUNDS: u16 = 2;
const BURST_REST_MS: u16 = 250;

static ENABLED: AtomicBool = AtomicBool::new(true);
static RESTARTS: AtomicU64 = AtomicU64::new(0);
static LAST_EXIT: spin::Mutex<Option<Exit>> = spin::Mutex::new(None);
static RESTARTER_PID: AtomicU32 = AtomicU32::new(0);

/// Chooses whether a boot without `test=` starts the workload (from `workload=off`).
pub fn set_enabled(on: bool) {
    // Relaxed: set by the boot core before other cores run anything.
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the workload starts with the shell.
pub fn enabled() -> bool {
    // Relaxed: see set_enabled.
    ENABLED.load(Ordering::Relaxed)
}

/// Restarts done so far, the last exit seen, and the restarter's pid (for `stats`),
/// or None if the workload is not running.
pub fn restarts() -> Option<(u64, Option<Exit>, u32)> {
    // Relaxed: statistics.
    let pid = RESTARTER_PID.load(Ordering::Relaxed);
    (pid != 0).then(|| (RESTARTS.load(Ordering::Relaxed), *LAST_EXIT.lock(), pid))
}

/// Spawns the workload from the boot core and prints what runs.
pub fn start(e: &Engine<KernelPlatform>) {
    let boot = CoreId::new(0);
    let image = |name: &str| e.image_index(name);
    let (Some(relay), Some(burst), Some(spin), Some(hello), Some(fragile)) =
        (image("relay"), image("burst"), image("spin"), image("hello"), image("fragile"))
    else {
        println!("workload: an image is missing; only the shell runs");
        return;
    };
    let cores = e.sched().topology().len().max(1);
    // Start each process on a different core's queue, so the ring crosses cores.
    let on = |i: usize| CoreId::new(i % cores);
    let mut ring: Vec<u32> = Vec::new();
    for i in 0..RING_NODES {
        if let Ok(pid) = e.spawn_image(relay, &HOP_PAUSE_MS.to_le_bytes(), Priority::Normal, CpuSet::ALL, on(i)) {
            ring.push(pid.get());
        }
    }
    for (i, &pid) in ring.iter().enumerate() {
        let next = ring[(i + 1) % ring.len()] as u16;
        let _ = e.send(0, pid, &next.to_le_bytes());
    }
    for t in 0..RING_TOKENS.min(ring.len()) {
        let _ = e.send(0, ring[t * ring.len() / RING_TOKENS], b"token");
    }
    let mut args = [0u8; 4];
    args[..2].copy_from_slice(&BURST_ROUNDS.to_le_bytes());
    args[2..].copy_from_slice(&BURST_REST_MS.to_le_bytes());
    let burst = e.spawn_image(burst, &args, Priority::Normal, CpuSet::ALL, on(cores - 1)).map_or(0, |p| p.get());
    let spin = e.spawn_image(spin, &[], Priority::Low, CpuSet::ALL, on(cores / 2)).map_or(0, |p| p.get());
    let _ = e.spawn_image(hello, &[], Priority::Normal, CpuSet::ALL, boot);
    let task = Box::new(Restarter { image: fragile, child: 0 });
    if let Ok(pid) = e.spawn_native(task, Priority::Normal, CpuSet::ALL, boot) {
        // Relaxed: read for statistics only.
        RESTARTER_PID.store(pid.get(), Ordering::Relaxed);
    }
    println!(
        "workload: ring of {} relays (pids {}-{}, {RING_TOKENS} tokens, {HOP_PAUSE_MS} ms a hop), \
         burst (pid {burst}, normal), spin (pid {spin}, low), hello (CP/M), fragile restarted every \
         {CRASH_AFTER_MS} ms by restarter (pid {}); type help",
        ring.len(),
        ring.first().copied().unwrap_or(0),
        ring.last().copied().unwrap_or(0),
        RESTARTER_PID.load(Ordering::Relaxed)
    );
}

/// Keeps one `fragile` alive: spawns it, and spawns it again whenever it has gone.
struct Restarter {
    image: usize,
    /// The current child's pid (0 = none yet).
    child: u32,
}

impl NativeTask for Restarter {
    fn name(&self) -> &'static str {
        "restarter"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let Some(e) = crate::runtime::engine() else { return NativeStep::Exit(1) };
        // A slot that holds something else (reused after the child died) counts as gone.
        let gone = self.child == 0 || e.proc_info(self.child).is_none_or(|i| i.name != "fragile");
        if gone {
            if self.child != 0 {
                *LAST_EXIT.lock() = e.last_exit(self.child);
                // Relaxed: a statistic.
                RESTARTS.fetch_add(1, Ordering::Relaxed);
            }
            let args = CRASH_AFTER_MS.to_le_bytes();
            self.child = cx.spawn(self.image, &args, Priority::Normal, CpuSet::ALL).unwrap_or(0);
        }
        NativeStep::Wait { until: Some(cx.now_ms() + POLL_MS) }
    }
}
