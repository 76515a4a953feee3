//! The engine on the host, driven deterministically: simulated cores stepped in turn
//! on one thread, and a clock that jumps to the next timer when every core is idle.

use zbeam_engine::{Engine, Exit, Pid, Step};
use zbeam_images::workloads::{RingController, TimerController};
use zbeam_images::{HELLO, IMAGES, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), 4096, IMAGES, Sim::default())
}

#[test]
fn cpm_hello_prints_and_exits_normally() {
    let e = engine(1);
    let pid = e.spawn_image(HELLO, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 1, 100, || e.live() == 0);
    assert_eq!(String::from_utf8_lossy(&e.platform().out.lock().unwrap()), "Hello from a Z80 process\r\n");
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
}

#[test]
fn spin_runs_its_rounds_then_exits() {
    let e = engine(2);
    let pid = e.spawn_image(SPIN, &[2, 0], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 10_000, || e.live() == 0);
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    // 2 rounds x 65536 x 4 instructions, plus set-up.
    let total: u64 = (0..2).map(|c| e.sched().stats(CoreId::new(c)).reductions).sum();
    assert!((2 * 65536 * 4..2 * 65536 * 4 + 100).contains(&total), "reductions {total}");
}

#[test]
fn ring_of_100_passes_10000_hops_in_order() {
    let e = engine(4);
    let (ctl, out) = RingController::new(100, 10_000, CpuSet::ALL);
    e.spawn_native(ctl, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 4, 1_000_000, || out.lock().is_some());
    let r = out.lock().unwrap();
    assert_eq!(r.errors, 0, "{r:?}");
    assert_eq!(r.reached, 10_000, "{r:?}");
    drive(&e, 4, 10_000, || e.live() == 0);
    assert_eq!(e.live(), 0, "every node stops");
    assert!(e.messages() >= 10_000);
}

#[test]
fn sleeps_and_receive_timeouts_never_fire_early() {
    let e = engine(2);
    let (ctl, out) = TimerController::new(&[1, 5, 17, 250], 5);
    e.spawn_native(ctl, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 100_000, || out.lock().is_some());
    let r = out.lock().unwrap();
    assert_eq!(r.reports, 8);
    assert_eq!(r.early, 0, "{r:?}");
    // The simulated clock moves 1 ms per round of steps, and a woken sleeper queues
    // behind the others on its core (8 sleepers on 2 cores): at most 8 rounds late.
    assert!(r.max_late_ms <= 8, "{r:?}");
}

#[test]
fn bad_system_call_arguments_return_errors_and_harm_nothing() {
    // Sending to a dead pid, an oversize message, and a buffer past 64 KiB, from the
    // host API; the Z80 side is covered by the kernel tests.
    let e = engine(1);
    assert!(e.send(Pid::KERNEL, Pid::from_raw(4000), b"x").is_err());
    let pid = e.spawn_image(SPIN, &[], Priority::Low, CpuSet::ALL, CoreId::new(0)).unwrap();
    assert!(e.send(Pid::KERNEL, pid, &[0u8; zbeam_engine::abi::MAX_MESSAGE + 1]).is_err());
    assert!(e.send(Pid::KERNEL, pid, &[1, 2, 3]).is_ok());
    assert!(e.kill(pid));
    drive(&e, 1, 100, || e.live() == 0);
    assert_eq!(e.last_exit(pid), Some(Exit::Killed));
    assert!(!e.kill(pid), "a dead pid cannot be killed again");
}

/// BEAM's measured shares, through the whole engine (Z80 spinners on one core):
/// 1 normal + 1 low = 8:1; 2 normal + 1 low gives low 1/17; 4 + 1 gives 1/33.
#[test]
fn normal_low_shares_match_beam() {
    for (normals, expect_low_share) in [(1u64, 1.0 / 9.0), (2, 1.0 / 17.0), (4, 1.0 / 33.0)] {
        let e = engine(1);
        let core = CpuSet::single(CoreId::new(0));
        let n: Vec<Pid> =
            (0..normals).map(|_| e.spawn_image(SPIN, &[], Priority::Normal, core, CoreId::new(0)).unwrap()).collect();
        let l = e.spawn_image(SPIN, &[], Priority::Low, core, CoreId::new(0)).unwrap();
        // 33 * 40 slices: whole cycles for every configuration.
        for _ in 0..(33 * 40) {
            assert_eq!(e.run_once(CoreId::new(0)), Step::Ran);
        }
        for &p in n.iter().chain([&l]) {
            assert!(e.kill(p));
        }
        drive(&e, 1, 100, || e.live() == 0);
        let low = e.final_stats(l).unwrap().reductions as f64;
        let normal: f64 = n.iter().map(|&p| e.final_stats(p).unwrap().reductions as f64).sum();
        let share = low / (low + normal);
        assert!(
            (share - expect_low_share).abs() < 0.002,
            "{normals}+1: low share {share:.4}, BEAM {expect_low_share:.4}"
        );
    }
}
