//! The default workload of `make qemu` (a boot without `test=` or `workload=off`): a
//! small system that keeps every core busy enough to watch from the shell, and light
//! enough that the shell stays responsive.
//!
//! * a ring of [`RING_NODES`] Z80 `relay` processes passing [`RING_TOKENS`] tokens
//!   round and round, each hop held for [`HOP_PAUSE_MS`];
//! * CPU-bound workers at two priorities: `burst` (normal: computes, then rests) and
//!   `spin` (low: one per core, computing forever on whatever the others leave, so
//!   every core has work);
//! * `hello`, a CP/M program that prints a line through BDOS and exits;
//! * `fragile`, which faults on purpose every [`CRASH_AFTER_MS`], under the engine's
//!   native one-for-one `supervisor` (linked, trapping exits), which restarts it.

use crate::println;
use crate::runtime::KernelPlatform;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorReport};
use zbeam_engine::{Engine, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Relay processes in the ring.
pub const RING_NODES: usize = 8;
/// Tokens circulating in the ring.
pub const RING_TOKENS: usize = 2;
/// How long each relay holds a token, in ms.
pub const HOP_PAUSE_MS: u16 = 25;
/// How long the fragile worker lives before it faults, in ms.
pub const CRASH_AFTER_MS: u16 = 2000;
/// `burst` arguments: rounds of 2^16 loop iterations, then a rest in ms.
const BURST_ROUNDS: u16 = 2;
const BURST_REST_MS: u16 = 250;
/// The supervisor gives up after more restarts than this in its period (the fragile
/// worker needs one per [`CRASH_AFTER_MS`]).
const INTENSITY: Intensity = Intensity { max_restarts: 5, period_ms: 5_000 };

static ENABLED: AtomicBool = AtomicBool::new(true);
/// The supervisor's report (its pid and restarts), once it runs.
static REPORT: spin::Once<(u32, Arc<spin::Mutex<SupervisorReport>>)> = spin::Once::new();

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

/// Restarts done so far and the supervisor's pid (for `stats`), or None if the
/// workload is not running.
pub fn restarts() -> Option<(u32, u32)> {
    REPORT.get().map(|(pid, r)| (r.lock().restarts, *pid))
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
    let mut ring: Vec<Pid> = Vec::new();
    for i in 0..RING_NODES {
        if let Ok(pid) = e.spawn_image(relay, &HOP_PAUSE_MS.to_le_bytes(), Priority::Normal, CpuSet::ALL, on(i)) {
            ring.push(pid);
        }
    }
    for (i, &pid) in ring.iter().enumerate() {
        let next = ring[(i + 1) % ring.len()];
        let _ = e.send(Pid::KERNEL, pid, &next.get().to_le_bytes());
    }
    for t in 0..RING_TOKENS.min(ring.len()) {
        let _ = e.send(Pid::KERNEL, ring[t * ring.len() / RING_TOKENS], b"token");
    }
    let mut args = [0u8; 4];
    args[..2].copy_from_slice(&BURST_ROUNDS.to_le_bytes());
    args[2..].copy_from_slice(&BURST_REST_MS.to_le_bytes());
    let burst = e.spawn_image(burst, &args, Priority::Normal, CpuSet::ALL, on(cores - 1)).map_or(0, |p| p.get());
    // One low-priority spinner per core: every core has work, and everything else
    // (the shell at high, the ring and burst at normal) still goes first.
    let spins: Vec<u32> = (0..cores)
        .filter_map(|i| e.spawn_image(spin, &[], Priority::Low, CpuSet::ALL, on(i)).ok())
        .map(|p| p.get())
        .collect();
    let _ = e.spawn_image(hello, &[], Priority::Normal, CpuSet::ALL, boot);
    let child = ChildSpec {
        image: fragile,
        args: CRASH_AFTER_MS.to_le_bytes().to_vec(),
        prio: Priority::Normal,
        affinity: CpuSet::ALL,
        restart: Restart::Permanent,
    };
    let (task, report) = Supervisor::new(Strategy::OneForOne, INTENSITY, alloc::vec![child]);
    let sup = e.spawn_native(task, Priority::Normal, CpuSet::ALL, boot).map_or(0, |p| p.get());
    REPORT.call_once(|| (sup, report));
    println!(
        "workload: ring of {} relays (pids {}-{}, {RING_TOKENS} tokens, {HOP_PAUSE_MS} ms a hop), \
         burst (pid {burst}, normal), {} spin (pids {}-{}, low), hello (CP/M), fragile (crashes every \
         {CRASH_AFTER_MS} ms) under a one-for-one supervisor (pid {sup}); type help",
        ring.len(),
        ring.first().map_or(0, |p| p.get()),
        ring.last().map_or(0, |p| p.get()),
        spins.len(),
        spins.first().copied().unwrap_or(0),
        spins.last().copied().unwrap_or(0),
    );
}
