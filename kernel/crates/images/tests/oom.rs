//! A send that cannot get memory answers NoMemory (NO_RESOURCES to a Z80 sender) and
//! changes nothing: the mailbox node and a long payload's box are allocated fallibly
//! (issue 10). This test binary's allocator (zbeam-allocfail) refuses every
//! allocation while the calling thread asks it to, so the engine's send path meets a
//! full heap.

use std::sync::{Arc, Mutex};
use zbeam_allocfail::refusing;
use zbeam_engine::{Engine, Message, NativeCx, NativeStep, NativeTask, Pid, SendError};
use zbeam_images::IMAGES;
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

#[global_allocator]
static ALLOC: zbeam_allocfail::Refusing = zbeam_allocfail::Refusing;

struct Recorder(Arc<Mutex<Vec<Message>>>);

impl NativeTask for Recorder {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        while let Some(m) = cx.receive() {
            self.0.lock().unwrap().push(m);
        }
        NativeStep::Wait { until: None }
    }
}

#[test]
fn a_send_without_memory_is_refused_and_changes_nothing() {
    let e = Engine::new(Topology::uniform(1), 8, IMAGES, Sim::default());
    let got = Arc::new(Mutex::new(Vec::new()));
    let pid = e.spawn_native(Box::new(Recorder(got.clone())), Priority::Normal, CpuSet::ALL, CoreId::new(0));
    let pid = pid.unwrap();
    drive(&e, 1, 10, || false);
    let charged = e.memory_of(pid);
    let sent = e.messages();
    // A short message needs only the mailbox node; a long one its payload's box too.
    assert_eq!(refusing(|| e.send(Pid::KERNEL, pid, b"short")), Err(SendError::NoMemory));
    assert_eq!(refusing(|| e.send(Pid::KERNEL, pid, &[7u8; 600])), Err(SendError::NoMemory));
    assert_eq!(e.memory_of(pid), charged, "the refused sends' charges were taken back");
    assert_eq!(e.messages(), sent);
    drive(&e, 1, 10, || false);
    assert!(got.lock().unwrap().is_empty());
    // With memory again, the same sends go through.
    e.send(Pid::KERNEL, pid, b"short").unwrap();
    e.send(Pid::KERNEL, pid, &[7u8; 600]).unwrap();
    drive(&e, 1, 10, || got.lock().unwrap().len() == 2);
    assert_eq!(got.lock().unwrap().len(), 2);
    assert!(e.kill(pid));
    drive(&e, 1, 100, || e.live() == 0);
}
