//! The system interface on the host, driven deterministically (the pattern of
//! `tests/engine.rs`): the scripted cases of `zbeam_images::abi_suite` (each call,
//! each bad argument, links, monitors, exit signals, names, console input,
//! supervision), plus the engine-level parts of the interface called directly.

use std::sync::Mutex;
use zbeam_engine::abi::{self, reason, tag};
use zbeam_engine::{Engine, Exit, LinkError, NameError, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_images::abi_suite::{abi_cases, supervise_cases, Case, Suite};
use zbeam_images::{IMAGES, PROBE, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), 512, IMAGES, Sim::default())
}

fn run_suite(cases: Vec<Case>, cores: usize) {
    let n = cases.len();
    let e = engine(cores);
    let (suite, out) = Suite::new(cases);
    e.spawn_native(suite, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, cores, 2_000_000, || out.lock().is_some());
    let results = out.lock().clone().expect("the suite finished");
    assert_eq!(results.len(), n);
    let failed: Vec<String> =
        results.iter().filter_map(|r| r.error.as_ref().map(|err| format!("{}: {err}", r.name))).collect();
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    drive(&e, cores, 100_000, || e.live() == 0);
    assert_eq!(e.live(), 0, "every process of the suite ended");
}

/// Every function of the Z80 interface, with every bad argument it checks, on 2 cores.
#[test]
fn every_call_and_every_bad_argument() {
    run_suite(abi_cases(), 2);
}

/// The same cases on one core (other interleavings of senders and receivers).
#[test]
fn every_call_on_one_core() {
    run_suite(abi_cases(), 1);
}

/// Supervisors: restart of a crashed child, one_for_all, restart types, the intensity
/// limit, and a supervisor stopping when its parent's exit signal arrives.
#[test]
fn supervision() {
    run_suite(supervise_cases(), 2);
}

/// The scripts' checks do fail: a case that expects the wrong status is reported.
#[test]
fn a_wrong_expectation_is_reported() {
    use zbeam_images::abi_suite::{call, CaseStep as S};
    let bad =
        Case { name: "wrong", steps: vec![S::Probe(0), call(0, abi::func::SELF).want(abi::status::BAD_PID).go()] };
    let e = engine(1);
    let (suite, out) = Suite::new(vec![bad]);
    e.spawn_native(suite, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 1, 100_000, || out.lock().is_some());
    let r = out.lock().clone().unwrap();
    assert!(r[0].error.as_deref().is_some_and(|m| m.contains("want A=2")), "{r:?}");
}

/// Reason codes and exits convert both ways.
#[test]
fn exit_reasons_round_trip() {
    for x in
        [Exit::Normal, Exit::Code(1), Exit::Code(0x7fff), Exit::Killed, Exit::NoProc, Exit::Shutdown, Exit::Fault(3)]
    {
        assert_eq!(Exit::from_reason(x.reason() as u32), x);
    }
    assert_eq!(Exit::Fault(1).reason(), reason::FAULT | 1);
    assert_eq!(Exit::Killed.reason(), reason::KILLED);
}

/// A native task that records what it receives.
struct Collector(std::sync::Arc<Mutex<Vec<zbeam_engine::Message>>>, bool);

impl NativeTask for Collector {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if self.1 {
            self.1 = false;
            cx.trap_exit(true);
        }
        while let Some(m) = cx.receive() {
            self.0.lock().unwrap().push(m);
        }
        NativeStep::Wait { until: None }
    }
}

fn collector(e: &Engine<Sim>, trap: bool) -> (Pid, std::sync::Arc<Mutex<Vec<zbeam_engine::Message>>>) {
    let got = std::sync::Arc::new(Mutex::new(Vec::new()));
    let pid = e.spawn_native(Box::new(Collector(got.clone(), trap)), Priority::Normal, CpuSet::ALL, CoreId::new(0));
    (pid.unwrap(), got)
}

/// Engine-level calls: tags reach the receiver, links and monitors deliver the
/// reasons, names are dropped at exit, console input is bounded.
#[test]
fn engine_api_links_monitors_names_console() {
    let e = engine(1);
    let (c, got) = collector(&e, true);
    drive(&e, 1, 10, || false);
    e.send_tagged(Pid::KERNEL, c, 7, b"x").unwrap();
    let spin = e.spawn_image(SPIN, &[], Priority::Low, CpuSet::ALL, CoreId::new(0)).unwrap();
    e.link(c, spin).unwrap();
    let r = e.monitor(c, spin).unwrap();
    assert_eq!(e.register(b"spin", spin), Ok(()));
    assert_eq!(e.register(b"spin", c), Err(NameError::Taken));
    assert_eq!(e.register(b"", c), Err(NameError::BadName));
    assert_eq!(e.whereis(b"spin"), Some(spin));
    assert_eq!(e.link(c, Pid::KERNEL), Err(LinkError::BadPid));
    assert_eq!(e.link(c, Pid::from_raw(60_000)), Err(LinkError::BadPid));
    assert!(e.exit_signal(Pid::KERNEL, spin, 12).is_ok());
    drive(&e, 1, 1000, || got.lock().unwrap().len() >= 3);
    assert_eq!(e.last_exit(spin), Some(Exit::Code(12)));
    assert_eq!(e.whereis(b"spin"), None, "a name goes with its process");
    let m = got.lock().unwrap().clone();
    assert_eq!((m[0].tag, &*m[0].data), (7, &b"x"[..]));
    let exit = m.iter().find(|m| m.tag == tag::EXIT).expect("an EXIT message");
    assert_eq!(&*exit.data, &abi::exit_message(spin, 12));
    let down = m.iter().find(|m| m.tag == tag::DOWN).expect("a DOWN message");
    let mut want = r.to_le_bytes().to_vec();
    want.extend_from_slice(&spin.get().to_le_bytes());
    want.extend_from_slice(&12u16.to_le_bytes());
    assert_eq!(&*down.data, &want[..]);
    assert_eq!(e.console_input(&[b'a'; 300]), abi::CONSOLE_QUEUE, "console input is bounded");
    assert!(e.kill(c));
    drive(&e, 1, 100, || e.live() == 0);
}

/// A process that does not trap exits dies of a linked process's crash, with the
/// same reason; its own links see it (propagation), and plain SPAWN still works.
#[test]
fn crash_propagates_through_a_chain_of_links() {
    let e = engine(2);
    let (c, got) = collector(&e, true);
    let a = e.spawn_image(PROBE, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    let b = e.spawn_image(SPIN, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 10, || false);
    e.link(c, a).unwrap();
    e.link(a, b).unwrap();
    assert!(e.exit_signal(Pid::KERNEL, b, reason::FAULT | 1).is_ok());
    drive(&e, 2, 1000, || !got.lock().unwrap().is_empty());
    assert_eq!(e.last_exit(b), Some(Exit::Fault(1)));
    assert_eq!(e.last_exit(a), Some(Exit::Fault(1)));
    let m = got.lock().unwrap()[0].clone();
    assert_eq!((m.tag, m.from), (tag::EXIT, a));
    assert!(e.kill(c));
    drive(&e, 2, 100, || e.live() == 0);
}
