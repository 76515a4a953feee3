//! The native task API ([`NativeCx`]): its calls act as the task (its pid is the
//! sender, the linker, the watcher, the name's holder), count reductions, and its
//! waits end at their deadline or at a message.

mod common;
use common::{engine, run_until};
use std::sync::{Arc, Mutex};
use zbeam_engine::abi::{self, tag};
use zbeam_engine::{Exit, Message, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// Receives forever.
const WAITER: &[u8] = &[0x3e, 0x03, 0x11, 0x00, 0x02, 0x01, 0x10, 0x00, 0x21, 0xff, 0xff, 0xf7, 0x18, 0xf2];

type Log = Arc<Mutex<Vec<String>>>;

/// Answers its first message with the bytes reversed, then exits with code 5.
struct Echo;

impl NativeTask for Echo {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        match cx.receive() {
            Some(m) => {
                let back: Vec<u8> = m.data.iter().rev().copied().collect();
                cx.send(m.from, &back).unwrap();
                NativeStep::Exit(5)
            }
            None => NativeStep::Wait { until: None },
        }
    }
    fn name(&self) -> &'static str {
        "echo"
    }
}

/// Spawns an [`Echo`], names itself, links to and monitors the echo, traps exits,
/// pings it, then logs every message it gets.
struct Parent {
    log: Log,
    started: bool,
}

impl NativeTask for Parent {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let mut log = self.log.lock().unwrap();
        if !self.started {
            self.started = true;
            let me = cx.pid();
            let child = cx.spawn_native(Box::new(Echo), Priority::Normal, CpuSet::ALL).unwrap();
            cx.register(b"parent").unwrap();
            log.push(format!("whereis {}", cx.whereis(b"parent") == Some(me)));
            log.push(format!("trap was {}", cx.trap_exit(true)));
            cx.link(child).unwrap();
            let mref = cx.monitor(child).unwrap();
            log.push(format!("child {child} ref {mref} live {}", cx.is_live(child)));
            cx.send(child, b"ping").unwrap();
            log.push(format!("used {}", cx.used));
        }
        while let Some(m) = cx.receive() {
            log.push(describe(&m));
        }
        NativeStep::Wait { until: None }
    }
}

fn describe(m: &Message) -> String {
    match m.tag {
        tag::EXIT => {
            let (pid, why) = abi::parse_exit_message(m).unwrap();
            format!("exit {pid} {why}")
        }
        tag::DOWN => {
            let d = &m.data;
            let (r, pid) = (u16::from_le_bytes([d[0], d[1]]), u32::from_le_bytes([d[2], d[3], d[4], d[5]]));
            format!("down {r} {pid} {}", u16::from_le_bytes([d[6], d[7]]))
        }
        _ => format!("from {} {}", m.from, String::from_utf8_lossy(&m.data)),
    }
}

#[test]
fn a_native_task_sends_links_monitors_and_names_as_itself() {
    let e = engine(&[WAITER]);
    let log = Log::default();
    let task = Parent { log: log.clone(), started: false };
    let parent = e.spawn_native(Box::new(task), Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    assert!(run_until(&e, 100, || log.lock().unwrap().len() >= 7));
    let log = log.lock().unwrap().clone();
    let child = Pid::from_raw(log[2].split(' ').nth(1).unwrap().parse().unwrap());
    let mref: u16 = log[2].split(' ').nth(3).unwrap().parse().unwrap();
    assert_eq!(log[0], "whereis true");
    assert_eq!(log[1], "trap was false");
    assert!(log[2].ends_with("live true"), "{log:?}");
    // spawn, register, trap_exit, link, monitor: 1 each; the send: 5.
    assert_eq!(log[3], "used 10");
    // The echo's reply is from the echo; its exit comes as an EXIT message (linked,
    // trapping) and a DOWN with the monitor's reference, both with its reason 5.
    assert_eq!(&log[4..], [format!("from {child} gnip"), format!("exit {child} 5"), format!("down {mref} {child} 5")]);
    assert_eq!(e.last_exit(child), Some(Exit::Code(5)));
    assert!(e.is_live(parent));
    assert_eq!(e.whereis(b"parent"), Some(parent));
    assert!(e.proc_stats(parent).unwrap().reductions >= 10);
}

/// Spawns two Z80 waiters, kills one and signals the other with reason 0x1234.
struct Stopper(Arc<Mutex<Option<(Pid, Pid)>>>);

impl NativeTask for Stopper {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let a = cx.spawn(0, &[], Priority::Normal, CpuSet::ALL).unwrap();
        let b = cx.spawn(0, &[], Priority::Normal, CpuSet::ALL).unwrap();
        assert!(cx.kill(a));
        cx.exit_signal(b, 0x1234).unwrap();
        *self.0.lock().unwrap() = Some((a, b));
        NativeStep::Exit(0)
    }
}

#[test]
fn a_native_task_kills_and_signals_z80_processes() {
    let e = engine(&[WAITER]);
    let out = Arc::new(Mutex::new(None));
    let stopper = e.spawn_native(Box::new(Stopper(out.clone())), Priority::High, CpuSet::ALL, CoreId::new(0));
    let stopper = stopper.unwrap();
    assert!(run_until(&e, 100, || e.live() == 0));
    let (a, b) = out.lock().unwrap().unwrap();
    assert_eq!(e.last_exit(stopper), Some(Exit::Normal));
    assert_eq!(e.last_exit(a), Some(Exit::Killed));
    assert_eq!(e.last_exit(b), Some(Exit::Code(0x1234)));
}

/// Each step's time and the first bytes of the messages it took.
type Steps = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;

/// Logs the time at every step and what it takes; waits 10 ms at a time.
struct Sleeper(Steps);

impl NativeTask for Sleeper {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        // Plain messages first, then any tag: selective receive skips and keeps.
        let mut took = Vec::new();
        while let Some(m) = cx.receive_tagged(Some(0)) {
            took.push(m.data[0]);
        }
        while let Some(m) = cx.receive() {
            took.push(m.data[0]);
        }
        self.0.lock().unwrap().push((now, took));
        NativeStep::Wait { until: Some(now + 10) }
    }
}

#[test]
fn native_waits_end_at_their_deadline_or_a_message() {
    let e = engine(&[WAITER]);
    let steps = Steps::default();
    let pid = e.spawn_native(Box::new(Sleeper(steps.clone())), Priority::Normal, CpuSet::ALL, CoreId::new(0));
    let pid = pid.unwrap();
    assert!(run_until(&e, 100, || steps.lock().unwrap().len() == 3));
    e.send_tagged(Pid::KERNEL, pid, 7, b"t").unwrap();
    e.send(Pid::KERNEL, pid, b"p").unwrap();
    assert!(run_until(&e, 100, || steps.lock().unwrap().len() == 4));
    let steps = steps.lock().unwrap().clone();
    for w in steps[..3].windows(2) {
        assert!(w[1].0 >= w[0].0 + 10, "woke early: {steps:?}");
    }
    // The message woke it before its deadline; the plain one was taken first.
    assert!(steps[3].0 < steps[2].0 + 10, "{steps:?}");
    assert_eq!(steps[3].1, b"pt");
}
