//! The default system workload (a kernel boot without `test=` or `workload=off`, see
//! the kernel's `workload.rs`): a small system that keeps every core busy enough to
//! watch from the shell, and light enough that the shell stays responsive.
//!
//! * a ring of [`RING_NODES`] Z80 `relay` processes passing [`RING_TOKENS`] tokens
//!   round and round, each hop held for [`HOP_PAUSE_MS`];
//! * CPU-bound workers at two priorities: `burst` (normal: computes, then rests) and
//!   `spin` (low: one per core, computing forever on whatever the others leave, so
//!   every core has work);
//! * `hello`, a CP/M program that prints a line through BDOS and exits;
//! * `fragile`, which faults on purpose every [`CRASH_AFTER_MS`], under the engine's
//!   native one-for-one `supervisor` (linked, trapping exits), which restarts it.
//!
//! Written against the engine's API only; images are found by name in the engine's
//! table, so an initrd that replaces a program is used.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use spin::Mutex;
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorReport};
use zbeam_engine::{Engine, Pid, Platform};
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

/// The images the workload runs, by name.
const IMAGES: [&str; 5] = ["relay", "burst", "spin", "hello", "fragile"];

/// What [`start`] spawned (a process that could not be spawned is left out).
pub struct Started {
    /// The ring's relays, in ring order.
    pub ring: Vec<Pid>,
    /// The normal-priority `burst` worker.
    pub burst: Option<Pid>,
    /// The low-priority spinners, one per core.
    pub spins: Vec<Pid>,
    /// The supervisor of `fragile`.
    pub supervisor: Option<Pid>,
    /// The supervisor's report (its restarts).
    pub report: Arc<Mutex<SupervisorReport>>,
}

/// Spawns the workload, each process on a different core's queue in turn so the
/// ring crosses cores, `hello` and the supervisor on core 0. Err names the first
/// image the engine does not have (then nothing is spawned).
pub fn start<P: Platform>(e: &Engine<P>) -> Result<Started, &'static str> {
    let mut index = [0usize; IMAGES.len()];
    for (i, name) in IMAGES.iter().enumerate() {
        index[i] = e.image_index(name).ok_or(*name)?;
    }
    let [relay, burst, spin, hello, fragile] = index;
    let boot = CoreId::new(0);
    let cores = e.sched().topology().len().max(1);
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
    let burst = e.spawn_image(burst, &args, Priority::Normal, CpuSet::ALL, on(cores - 1)).ok();
    // One low-priority spinner per core: every core has work, and everything else
    // (the shell at high, the ring and burst at normal) still goes first.
    let spins = (0..cores).filter_map(|i| e.spawn_image(spin, &[], Priority::Low, CpuSet::ALL, on(i)).ok()).collect();
    let _ = e.spawn_image(hello, &[], Priority::Normal, CpuSet::ALL, boot);
    let child = ChildSpec {
        image: fragile,
        args: CRASH_AFTER_MS.to_le_bytes().to_vec(),
        prio: Priority::Normal,
        affinity: CpuSet::ALL,
        restart: Restart::Permanent,
    };
    let (task, report) = Supervisor::new(Strategy::OneForOne, INTENSITY, vec![child]);
    let supervisor = e.spawn_native(task, Priority::Normal, CpuSet::ALL, boot).ok();
    Ok(Started { ring, burst, spins, supervisor, report })
}
