//! Pids with a generation (issue 10): a recycled slot's new pid differs from the old
//! one, and nothing addressed to the old pid (a SEND, a KILL, an exit signal, a DOWN
//! of a monitor it held, a link's exit) reaches the new process. And a table wider
//! than 16 bits: Z80 programs reach and are reached by pids above 0xFFFF.

use std::sync::{Arc, Mutex};
use zbeam_engine::abi::{reason, tag};
use zbeam_engine::{Engine, Exit, Message, NativeCx, NativeStep, NativeTask, Pid, SendError};
use zbeam_images::abi_suite::{abi_cases, Suite};
use zbeam_images::{IMAGES, PONG};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

type Inbox = Arc<Mutex<Vec<Message>>>;

/// Traps exits, records every message, never ends by itself.
struct Recorder(Inbox);

impl NativeTask for Recorder {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        cx.trap_exit(true);
        while let Some(m) = cx.receive() {
            self.0.lock().unwrap().push(m);
        }
        NativeStep::Wait { until: None }
    }
}

/// Links to and monitors `target`, then exits normally.
struct WatchThenExit(Pid);

impl NativeTask for WatchThenExit {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        cx.trap_exit(true);
        cx.link(self.0).unwrap();
        cx.monitor(self.0).unwrap();
        NativeStep::Exit(0)
    }
}

fn recorder(e: &Engine<Sim>) -> (Pid, Inbox) {
    let inbox = Inbox::default();
    let pid = e.spawn_native(Box::new(Recorder(inbox.clone())), Priority::Normal, CpuSet::ALL, CoreId::new(0));
    (pid.unwrap(), inbox)
}

#[test]
fn a_recycled_slot_never_gets_what_was_meant_for_its_last_process() {
    // 4 slots for processes plus the system's 16: slots come back soon.
    let e = Engine::new(Topology::uniform(1), 4, IMAGES, Sim::default());
    let (target, target_inbox) = recorder(&e);
    let old = e.spawn_native(Box::new(WatchThenExit(target)), Priority::Normal, CpuSet::ALL, CoreId::new(0));
    let old = old.unwrap();
    drive(&e, 1, 1000, || !e.is_live(old) && e.last_exit(old).is_some());
    assert_eq!(e.last_exit(old), Some(Exit::Normal));
    // Its link's exit reached the target (trapping): the old pid in 4 bytes.
    drive(&e, 1, 10, || false);
    assert!(target_inbox.lock().unwrap().iter().any(|m| m.tag == tag::EXIT && m.from == old));
    // Fill slots until one lands in the old process's slot.
    let mut new = None;
    let mut others = Vec::new();
    for _ in 0..e.capacity() {
        let (p, inbox) = recorder(&e);
        if p.index() == old.index() {
            new = Some((p, inbox));
            break;
        }
        others.push(p);
    }
    let (new, inbox) = new.expect("the slot was reused");
    assert_ne!(new, old, "a recycled slot's pid differs");
    assert_eq!(new.generation(), old.generation() + 1);
    drive(&e, 1, 10, || false);
    // The old pid is dead, whoever holds its slot now.
    assert!(!e.is_live(old));
    assert_eq!(e.last_exit(old), None, "the slot's record is the new process's now");
    assert_eq!(e.send(Pid::KERNEL, old, b"late"), Err(SendError::NoSuchProcess));
    assert!(!e.kill(old), "KILL of the old pid finds no process");
    let _ = e.exit_signal(Pid::KERNEL, old, 5);
    let _ = e.exit_signal(Pid::KERNEL, old, reason::KILLED);
    // The target ends: its monitor and link of the old process were dropped when that
    // process exited, so no DOWN and no exit signal reaches the new one.
    assert!(e.kill(target));
    drive(&e, 1, 1000, || !e.is_live(target));
    drive(&e, 1, 10, || false);
    assert!(e.is_live(new), "the new process lives");
    assert!(inbox.lock().unwrap().is_empty(), "the new process got {:?}", inbox.lock().unwrap());
    // A monitor or link of the old pid now is NOPROC-free: the pid is dead, not bogus.
    assert!(e.monitor(new, old).is_ok());
    drive(&e, 1, 10, || false);
    let down = inbox.lock().unwrap().clone();
    assert_eq!(down.len(), 1);
    assert_eq!((down[0].tag, &down[0].data[2..6]), (tag::DOWN, &old.get().to_le_bytes()[..]));
    // And the new pid works as any pid does.
    e.send(Pid::KERNEL, new, b"now").unwrap();
    drive(&e, 1, 10, || false);
    assert_eq!(&*inbox.lock().unwrap()[1].data, b"now");
    for p in others.into_iter().chain([new]) {
        e.kill(p);
    }
    drive(&e, 1, 1000, || e.live() == 0);
}

/// The whole Z80 interface suite on a table of 24 slots: every probe beyond the first
/// two dozen gets a recycled slot, so its pid has a generation, its high half is
/// not zero, and every pid the programs pass around needs IY.
#[test]
fn every_call_with_recycled_pids() {
    let e = Engine::new(Topology::uniform(2), 24, IMAGES, Sim::default());
    let (suite, out) = Suite::new(abi_cases());
    e.spawn_native(suite, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 2_000_000, || out.lock().is_some());
    let results = out.lock().clone().expect("the suite finished");
    let failed: Vec<String> =
        results.iter().filter_map(|r| r.error.as_ref().map(|err| format!("{}: {err}", r.name))).collect();
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    assert!(e.spawned() > 2 * 24, "slots were recycled ({} spawns)", e.spawned());
}

/// More processes than 16 bits count: 70,000 `pong`s. A recorder placed past them has
/// a pid above 0xFFFF; the last pong (also above it) echoes what the recorder sends
/// it, so both directions cross the 16-bit line through DE and IY.
#[test]
fn pids_above_16_bits_reach_and_are_reached() {
    const N: usize = 70_000;
    let e = Engine::new(Topology::uniform(1), N + 4, IMAGES, Sim::default());
    let mut pongs = Vec::with_capacity(N);
    for _ in 0..N {
        pongs.push(e.spawn_image(PONG, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap());
    }
    let (rec, inbox) = recorder(&e);
    let last = *pongs.last().unwrap();
    assert!(rec.get() > 0xffff && last.get() > 0xffff, "pids {rec:?} and {last:?}");
    // Every pong runs once and waits in its receive.
    drive(&e, 1, 2 * N as u64, || false);
    e.send(rec, last, b"over 16 bits").unwrap();
    drive(&e, 1, 1000, || !inbox.lock().unwrap().is_empty());
    let got = inbox.lock().unwrap().clone();
    assert_eq!((got[0].from, &*got[0].data), (last, &b"over 16 bits"[..]));
    for p in pongs.into_iter().chain([rec]) {
        e.kill(p);
    }
    drive(&e, 1, 10 * N as u64, || e.live() == 0);
    assert_eq!(e.live(), 0);
}
