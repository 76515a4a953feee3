//! CP/M programs (`programs/cpm/*.asm`, images `cpm-*`) as engine processes on the
//! host: the engine traps their BDOS and BIOS calls into `zbeam-cpm`, on a disk shared
//! with the test or on one of their own, with console input through the engine's queue.

use zbeam_engine::cpm::Disk;
use zbeam_engine::{Engine, Exit, Pid};
use zbeam_images::{CPM_COPY, CPM_DIR, CPM_ECHO, CPM_RANDOM, HELLO, IMAGES};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

fn engine() -> Engine<Sim> {
    Engine::new(Topology::uniform(1), 64, IMAGES, Sim::default())
}

fn spawn(e: &Engine<Sim>, image: usize, args: &str) -> Pid {
    e.spawn_image(image, args.as_bytes(), Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap()
}

fn output(e: &Engine<Sim>) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut *e.platform().out.lock().unwrap())).into_owned()
}

#[test]
fn copy_and_dir_on_a_shared_disk() {
    let e = engine();
    let mut d = Disk::new();
    let text: Vec<u8> = (0..20_000u32).map(|i| b"0123456789abcdef\r\n"[i as usize % 18]).collect();
    d.put("IN.TXT", &text).unwrap();
    let disk = d.into_shared();
    e.set_cpm_disk(Some(disk.clone()));
    let pid = spawn(&e, CPM_COPY, "IN.TXT OUT.TXT");
    drive(&e, 1, 10_000, || e.live() == 0);
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    assert_eq!(output(&e), "copied 157 records\r\n");
    assert_eq!(&disk.lock().get("OUT.TXT").unwrap()[..20_000], &text[..]);
    spawn(&e, CPM_DIR, "*.TXT");
    drive(&e, 1, 10_000, || e.live() == 0);
    assert_eq!(output(&e), "IN.TXT\r\nOUT.TXT\r\n2 file(s)\r\n");
}

#[test]
fn random_access_on_a_disk_of_its_own() {
    let e = engine();
    let pid = spawn(&e, CPM_RANDOM, "");
    drive(&e, 1, 10_000, || e.live() == 0);
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    assert_eq!(
        output(&e),
        "wrote 7 records\r\nsize 1001\r\nchecksum C0C0\r\nunwritten 01 04\r\n\
         sequential after random: 80 81\r\nnext record 130\r\nclosed\r\n"
    );
}

#[test]
fn line_input_waits_for_the_console_and_resumes() {
    let e = engine();
    let pid = spawn(&e, CPM_ECHO, "");
    drive(&e, 1, 200, || false);
    assert!(e.is_live(pid), "waiting for input");
    assert_eq!(output(&e), "> ");
    e.set_console_reader(pid);
    e.console_input(b"hi th");
    drive(&e, 1, 200, || false);
    e.console_input(b"ere\r\r");
    drive(&e, 1, 10_000, || e.live() == 0);
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    assert_eq!(output(&e), "hi there\r\n[hi there] 8\r\n> \r\nbye\r\n");
}

#[test]
fn hello_and_bdos_errors() {
    let e = engine();
    spawn(&e, HELLO, "");
    drive(&e, 1, 1000, || e.live() == 0);
    assert_eq!(output(&e), "Hello from a Z80 process\r\n");
    // A copy to drive B: is a select error: the BDOS message, then a fault.
    let pid = spawn(&e, CPM_COPY, "A.TXT B:C.TXT");
    let mut d = Disk::new();
    d.put("A.TXT", b"a").unwrap();
    e.set_cpm_disk(Some(d.into_shared()));
    drive(&e, 1, 1000, || e.live() == 0);
    assert_eq!(output(&e), "\r\nBdos Err On B: Select\r\n");
    assert_eq!(e.last_exit(pid), Some(Exit::Fault(zbeam_engine::fault::BDOS)));
}
