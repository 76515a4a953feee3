//! The containment cases of `zbeam_images::contain_suite` on the host engine (the
//! deterministic driver), plus engine-level checks of the limits and protections
//! that need no Z80 program.

use zbeam_engine::{limits, Engine, LinkError, NativeCx, NativeStep, NativeTask, Pid, Platform};
use zbeam_images::contain_suite::{run_all, Runner};
use zbeam_images::{CX_TMO, IMAGES, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

mod common;
use common::{drive, round, Sim};

struct Host<'a> {
    e: &'a Engine<Sim>,
    cores: usize,
    log: Vec<String>,
}

impl Runner for Host<'_> {
    fn pump(&mut self) {
        round(self.e, self.cores);
    }
    fn heap_used(&self) -> Option<usize> {
        None
    }
    fn log(&mut self, line: &str) {
        self.log.push(line.to_string());
    }
}

#[test]
fn containment_cases_pass_on_the_host() {
    for cores in [1, 4] {
        let e = Engine::new(Topology::uniform(cores), 4096, IMAGES, Sim::default());
        let mut h = Host { e: &e, cores, log: Vec::new() };
        let failed = run_all(&e, &mut h);
        assert_eq!(failed, 0, "{cores} cores:\n{}", h.log.join("\n"));
        assert_eq!(e.live(), 0);
        assert_eq!(e.timers_armed(), 0);
    }
}

/// The repro alone, many times over on one core: a self-sent message taken by a poll
/// sets the wake-up flag, so the timed receive right after is requeued instead of
/// parked; its timer must be armed on the retry.
#[test]
fn timed_receive_after_self_send_times_out() {
    let e = Engine::new(Topology::uniform(1), 256, IMAGES, Sim::default());
    let pids: Vec<Pid> =
        (0..50).map(|_| e.spawn_image(CX_TMO, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap()).collect();
    drive(&e, 1, 100_000, || e.live() == 0);
    for p in pids {
        assert_eq!(e.last_exit(p), Some(zbeam_engine::Exit::Normal), "pid {p}");
    }
    assert_eq!(e.timers_armed(), 0);
}

/// A native task that does nothing but wait.
struct Idle;
impl NativeTask for Idle {
    fn step(&mut self, _cx: &mut NativeCx<'_>) -> NativeStep {
        NativeStep::Wait { until: None }
    }
}

#[test]
fn links_are_bounded_at_both_ends() {
    let e = Engine::new(Topology::uniform(1), 4096, IMAGES, Sim::default());
    let spawn = || e.spawn_image(SPIN, &[], Priority::Low, CpuSet::ALL, CoreId::new(0)).unwrap();
    let hub = spawn();
    let others: Vec<Pid> = (0..limits::MAX_LINKS + 1).map(|_| spawn()).collect();
    for &o in &others[..limits::MAX_LINKS] {
        assert_eq!(e.link(hub, o), Ok(()));
    }
    // Linking again to a linked pid is no new link, so it is allowed at the bound.
    assert_eq!(e.link(hub, others[0]), Ok(()));
    assert_eq!(e.link(hub, others[limits::MAX_LINKS]), Err(LinkError::Limit));
    // From the other side: the hub is full.
    assert_eq!(e.link(others[limits::MAX_LINKS], hub), Err(LinkError::Limit));
    assert_eq!(e.relation_counts(hub).map(|c| c.0), Some(limits::MAX_LINKS));
    assert_eq!(e.relation_counts(others[limits::MAX_LINKS]).map(|c| c.0), Some(0), "the refused half was undone");
    assert!(e.unlink(hub, others[0]).is_ok());
    assert_eq!(e.link(others[limits::MAX_LINKS], hub), Ok(()));
    for p in std::iter::once(hub).chain(others) {
        e.kill(p);
    }
    drive(&e, 1, 100_000, || e.live() == 0);
}

#[test]
fn monitors_are_bounded_per_watcher() {
    let e = Engine::new(Topology::uniform(1), 64, IMAGES, Sim::default());
    let w = e.spawn_native(Box::new(Idle), Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    let t = e.spawn_image(SPIN, &[], Priority::Low, CpuSet::ALL, CoreId::new(0)).unwrap();
    for _ in 0..limits::MAX_MONITORS {
        assert!(e.monitor(w, t).is_ok());
    }
    assert_eq!(e.monitor(w, t), Err(LinkError::Limit));
    assert_eq!(e.relation_counts(t).map(|c| c.2), Some(limits::MAX_MONITORS));
    e.kill(t);
    drive(&e, 1, 1000, || e.live() == 1);
    assert_eq!(e.relation_counts(w).map(|c| c.1), Some(0), "every monitor fired");
    e.kill(w);
    drive(&e, 1, 1000, || e.live() == 0);
}

/// Counts what the `cx-pingpong` 'T' echo sends back: 1-byte echoes and 2-byte
/// timeout reports.
struct Peer(Arc<Mutex<(u64, u64)>>);
impl NativeTask for Peer {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        while let Some(m) = cx.receive() {
            let mut c = self.0.lock().unwrap();
            match m.data.len() {
                1 => c.0 += 1,
                _ => c.1 += 1,
            }
        }
        NativeStep::Wait { until: None }
    }
}

/// A platform whose clock, read by a process in the middle of its slice (a timed
/// wait reads it before deciding to wait), may first deliver a message to that
/// process, or wake it with nothing to take: another core acting at that very
/// moment. That is the window in which the scheduler turns a wait into a requeue.
struct Racy {
    now: AtomicU64,
    rng: AtomicU64,
    /// The engine and the pid to send to, once both exist.
    target: OnceLock<(&'static Engine<Racy>, Pid)>,
    /// Whether reading the clock may send.
    sending: AtomicBool,
    sent: AtomicU64,
}

impl Racy {
    fn rnd(&self, n: u64) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x % n
    }

    /// One random move: a clock step, or one scheduling step of a random core.
    fn step(&self, e: &Engine<Racy>) {
        if self.rnd(6) == 0 {
            self.now.fetch_add(self.rnd(4), Ordering::Relaxed);
        } else {
            let c = CoreId::new(self.rnd(2) as usize);
            if let zbeam_engine::Step::Idle { .. } = e.run_once(c) {
                e.woke(c);
            }
        }
    }
}

impl Platform for Racy {
    fn now_ms(&self) -> u64 {
        if let Some(&(e, t)) = self.target.get() {
            if self.sending.load(Ordering::Relaxed) {
                match self.rnd(4) {
                    0 if e.send(Pid::KERNEL, t, b"m").is_ok() => {
                        self.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    // A wake-up with nothing to take (as the repro's message, taken by
                    // a poll before the timed receive, left behind).
                    1 => e.notify(t),
                    _ => {}
                }
            }
        }
        self.now.load(Ordering::Relaxed)
    }
    fn wake(&self, _cores: CpuSet) {}
    fn console(&self, _bytes: &[u8]) {}
}

/// A model test of the wait, wake-up and timeout races: a Z80 process loops on a
/// timed RECEIVE while messages arrive at random moments, including in the middle of
/// its own slice (see [`Racy`]), with random clock steps and a random order of
/// stepping two cores. Over many seeds: no message is lost (each is echoed once),
/// the process never has more than one timer armed, it keeps timing out once
/// messages stop (a lost timer would leave it waiting forever), and no timer is left
/// when it exits.
#[test]
fn wait_wake_timeout_races_lose_nothing() {
    const T: u16 = 5;
    for seed in 1..=300u64 {
        let racy = Racy {
            now: AtomicU64::new(0),
            rng: AtomicU64::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            target: OnceLock::new(),
            sending: AtomicBool::new(true),
            sent: AtomicU64::new(0),
        };
        let e: &'static Engine<Racy> = Box::leak(Box::new(Engine::new(Topology::uniform(2), 64, IMAGES, racy)));
        let p = e.platform();
        let counts = Arc::new(Mutex::new((0u64, 0u64)));
        let peer = e.spawn_native(Box::new(Peer(counts.clone())), Priority::Normal, CpuSet::ALL, CoreId::new(0));
        let [p0, p1, p2, p3] = peer.unwrap().get().to_le_bytes();
        let [t0, t1] = T.to_le_bytes();
        let args = [b'T', p0, p1, p2, p3, t0, t1];
        let t = e.spawn_image(zbeam_images::CX_PINGPONG, &args, Priority::Normal, CpuSet::ALL, CoreId::new(1));
        let t = t.unwrap();
        let _ = p.target.set((e, t));
        let checked = |e: &Engine<Racy>| {
            p.step(e);
            assert!(e.timers_armed() <= 1, "seed {seed}: {} timers armed", e.timers_armed());
        };
        for _ in 0..600 {
            checked(e);
        }
        // Messages stop; every one is echoed, then it must keep timing out.
        p.sending.store(false, Ordering::Relaxed);
        let sent = p.sent.load(Ordering::Relaxed);
        let mut n = 0;
        while counts.lock().unwrap().0 < sent && n < 100_000 {
            checked(e);
            n += 1;
        }
        let before = counts.lock().unwrap().1;
        let until = p.now.load(Ordering::Relaxed) + 20 * u64::from(T);
        while p.now.load(Ordering::Relaxed) < until {
            checked(e);
        }
        let (echoed, timeouts) = *counts.lock().unwrap();
        assert!(sent > 10, "seed {seed}: only {sent} messages sent");
        assert_eq!(echoed, sent, "seed {seed}: messages lost");
        assert!(timeouts >= before + 5, "seed {seed}: only {} timeouts in 20 periods", timeouts - before);
        assert!(e.send(Pid::KERNEL, t, &[]).is_ok());
        while e.is_live(t) {
            checked(e);
        }
        assert_eq!(e.last_exit(t), Some(zbeam_engine::Exit::Normal), "seed {seed}");
        assert_eq!(e.timers_armed(), 0, "seed {seed}: a timer outlived its process");
    }
}

/// Each spawn-bomb style fills the table; killing the linked tree's root leaves the
/// tree alive, and `stop_tree` (on a live root, or on the dead root's remains) ends
/// every member for good.
#[test]
fn stop_tree_ends_spawn_bombs_of_every_style() {
    for mode in [b'S', b'Y', b'L'] {
        let e = Engine::new(Topology::uniform(2), 300, IMAGES, Sim::default());
        let mut args = vec![mode, b' '];
        args.extend_from_slice(zbeam_images::CX_BOMB.to_string().as_bytes());
        let bystander = e.spawn_image(SPIN, &[], Priority::Low, CpuSet::ALL, CoreId::new(0)).unwrap();
        let root = e.spawn_image(zbeam_images::CX_BOMB, &args, Priority::Normal, CpuSet::ALL, CoreId::new(0));
        let root = root.unwrap();
        drive(&e, 2, 100_000, || e.live() >= 290);
        assert!(e.live() >= 290, "mode {}: the bomb grew to {}", mode as char, e.live());
        if mode == b'L' {
            e.kill(root);
            drive(&e, 2, 2000, || false);
            assert!(e.live() > 100, "the linked tree died with its root");
        }
        let n = e.stop_tree(root).expect("a tree to stop");
        assert!(n > 100, "mode {}: stopped {n}", mode as char);
        drive(&e, 2, 100_000, || e.live() == 1);
        // Long enough for any survivor to spawn again.
        drive(&e, 2, 2000, || false);
        assert_eq!(e.live(), 1, "mode {}: only the bystander is left", mode as char);
        assert!(e.is_live(bystander));
        assert_eq!(e.frozen_live(), 0);
        assert_eq!(e.stop_tree(root), None, "nothing left to stop");
    }
}

/// A restart the kernel refuses (memory down to the reserve, as when a spawn bomb
/// filled it) does not make a supervisor give up: it retries until the spawn
/// succeeds, and the retries do not count as restarts.
#[test]
fn supervisor_retries_a_restart_the_kernel_refused() {
    use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor};
    let e = Engine::new(Topology::uniform(1), 16, IMAGES, Sim::default());
    // A crasher that HALTs (a fault) 20 ms after it starts, restarted forever.
    let spec = ChildSpec {
        image: zbeam_images::CRASHER,
        args: vec![0, 20, 0],
        prio: Priority::Normal,
        affinity: CpuSet::ALL,
        restart: Restart::Permanent,
    };
    let (sup, report) =
        Supervisor::new(Strategy::OneForOne, Intensity { max_restarts: 3, period_ms: 1000 }, vec![spec]);
    let sup = e.spawn_native(sup, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 1, 1000, || report.lock().restarts >= 1);
    e.platform().low.store(true, Ordering::Relaxed);
    let before = report.lock().restarts;
    // Two seconds of refused restarts: many more tries than the intensity allows.
    let until = e.platform().now_ms() + 2000;
    drive(&e, 1, 100_000, || e.platform().now_ms() >= until);
    assert!(e.is_live(sup), "the supervisor gave up: {:?}", report.lock());
    assert!(report.lock().restarts <= before + 1, "refused restarts counted: {:?}", report.lock());
    assert_eq!(e.live(), 1, "the child is down while memory is low");
    e.platform().low.store(false, Ordering::Relaxed);
    drive(&e, 1, 100_000, || e.live() == 2);
    assert_eq!(e.live(), 2, "the child is back once memory is");
    assert!(e.is_live(sup));
}

#[test]
fn a_spawn_refused_for_memory_builds_nothing_first() {
    // While the platform says memory is low, a Z80 spawn is refused before its image's
    // template, body or pages are made: nothing is taken from the reserve.
    let e = Engine::new(Topology::uniform(1), 16, IMAGES, Sim::default());
    e.platform().low.store(true, Ordering::Relaxed);
    let err = e.spawn_image(SPIN, b"", Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap_err();
    assert_eq!(err, zbeam_engine::SpawnError::OutOfMemory);
    let m = e.memory_stats();
    assert_eq!(m.templates, 0, "a template was built for a refused spawn");
    assert_eq!(m.pooled(), 0, "pages or bodies were made for a refused spawn");
    e.platform().low.store(false, Ordering::Relaxed);
    e.spawn_image(SPIN, b"", Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    assert!(e.memory_stats().templates > 0);
}
