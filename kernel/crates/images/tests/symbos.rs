//! SymbOS programs (`programs/symbos`, images `sym-*`) as engine processes on the
//! host: the engine recognises them by their header and gives them the SymbOS
//! personality; they run on several cores beside CP/M and native programs, each with
//! its exact transcript; console input reaches the foreground one; messages from
//! zbeam processes arrive under SymbOS ids; a crashing one is restarted by a
//! supervisor.

use zbeam_engine::cpm::Disk;
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor};
use zbeam_engine::{fault, Engine, Exit, Pid};
use zbeam_images::{HELLO, IMAGES, SPIN, SYM_CRASH, SYM_FILES, SYM_HELLO, SYM_INPUT, SYM_KERNEL};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, output_of, Sim};

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), 64, IMAGES, Sim::default())
}

fn spawn(e: &Engine<Sim>, image: usize, args: &str) -> Pid {
    e.spawn_image(image, args.as_bytes(), Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap()
}

const HELLO_OUT: &str = "Hello from SymbOS\r\ncommand line: A:\\SYM-HELLO.COM x %sp07802421\r\n\
    start frame: 1111 2222 3333 4444 5555 6600 \r\nlayout: 1177 0989 C0D9\r\npointers: y\r\nids: 16 16 2 1\r\nbye\r\n";
const KERNEL_OUT: &str = "poll 00\r\nfrom 51:B 50:A \r\nto 99 02\r\nqueue 64 64\r\nkernel 01 05\r\n\
    bank 5A 1234 B0 copied\r\nmemory c y 01\r\ndone\r\n";

#[test]
fn several_symbos_programs_beside_cpm_and_native_ones_on_four_cores() {
    let e = engine(4);
    let disk = Disk::new().into_shared();
    disk.lock().put("README.TXT", b"read me\r\n").unwrap();
    e.set_cpm_disk(Some(disk.clone()));
    let spin = spawn(&e, SPIN, "");
    let cpm = spawn(&e, HELLO, "");
    let h1 = spawn(&e, SYM_HELLO, "x");
    let k = spawn(&e, SYM_KERNEL, "");
    let h2 = spawn(&e, SYM_HELLO, "x");
    let f = spawn(&e, SYM_FILES, "");
    let crash = spawn(&e, SYM_CRASH, "");
    drive(&e, 4, 100_000, || [cpm, h1, k, h2, f, crash].iter().all(|&p| !e.is_live(p)));
    let sim = e.platform();
    for (pid, want) in [(h1, HELLO_OUT), (h2, HELLO_OUT), (k, KERNEL_OUT)] {
        assert_eq!(e.last_exit(pid), Some(Exit::Normal));
        assert_eq!(output_of(sim, pid), want, "pid {pid}");
    }
    assert_eq!(e.last_exit(f), Some(Exit::Normal));
    assert!(output_of(sim, f).starts_with("wrote 37\r\n> first line\r\n"), "{}", output_of(sim, f));
    assert_eq!(disk.lock().names(), ["README.TXT"]);
    assert_eq!(e.last_exit(crash), Some(Exit::Fault(fault::SYMBOS_BANK)));
    assert_eq!(output_of(sim, crash), "crashing\r\n");
    assert_eq!(output_of(sim, cpm), "Hello from a Z80 process\r\n");
    assert!(e.is_live(spin));
}

#[test]
fn console_input_goes_to_the_foreground_symbos_program() {
    let e = engine(1);
    let pid = spawn(&e, SYM_INPUT, "");
    drive(&e, 1, 200, || false);
    assert!(e.is_live(pid), "waits for a key");
    assert_eq!(output_of(e.platform(), pid), "key? ");
    e.set_console_reader(pid);
    e.console_input(b"ab");
    drive(&e, 1, 200, || false);
    e.console_input(b"line\r\x03");
    drive(&e, 1, 2_000, || !e.is_live(pid));
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    assert_eq!(
        output_of(e.platform(), pid),
        "key? got 61\r\ntest 02 62\r\ngot 62\r\nline\r\n[1] line|4\r\n^C\r\nEOF\r\n\
         A:\\docs\\*.txt 13 8 02\r\nC:\\symbos\\music\\mp3\\song.mp3 28 20 00\r\n"
    );
}

#[test]
fn a_crashing_symbos_program_is_restarted_by_its_supervisor() {
    let e = engine(2);
    let child = ChildSpec {
        image: SYM_CRASH,
        args: Vec::new(),
        prio: Priority::Normal,
        affinity: CpuSet::ALL,
        restart: Restart::Permanent,
    };
    let (sup, report) =
        Supervisor::new(Strategy::OneForOne, Intensity { max_restarts: 100, period_ms: 1_000 }, vec![child]);
    e.spawn_native(sup, Priority::High, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 5_000, || report.lock().restarts >= 3);
    assert!(report.lock().restarts >= 3);
    let out = String::from_utf8_lossy(&e.platform().out.lock().unwrap()).into_owned();
    assert!(out.matches("crashing\r\n").count() >= 4, "{out}");
}

#[test]
fn a_zbeam_message_arrives_under_a_symbos_id() {
    // sym-kernel posts "B" from 51 and "A" from 50 to itself, then receives from 51
    // and from anyone: a zbeam message sent before it started is older than "A", so
    // "anyone" gives it, from the first SymbOS id handed out (17).
    let e = engine(1);
    let pid = spawn(&e, SYM_KERNEL, "");
    e.send(Pid::KERNEL, pid, b"hi").unwrap();
    drive(&e, 1, 10_000, || !e.is_live(pid));
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
    let out = output_of(e.platform(), pid);
    assert!(out.starts_with("poll 00\r\nfrom 51:B 17:h \r\n"), "{out}");
}

#[test]
fn a_message_a_symbos_program_takes_is_no_longer_charged_to_it() {
    // sym-kernel takes its mail at its first MSGGET; from then on the zbeam message
    // sits in the SymbOS session's own queue (part of its flat memory), so the
    // mailbox's charge for it must be gone while the program still runs.
    let e = engine(1);
    let pid = spawn(&e, SYM_KERNEL, "");
    let before = e.memory_of(pid);
    e.send(Pid::KERNEL, pid, b"hi").unwrap();
    let queued = e.memory_of(pid);
    assert_eq!(queued, before + zbeam_engine::memory::message_bytes(2));
    // One round at a time until the program has printed what it received from the
    // message, while it is still alive.
    drive(&e, 1, 10_000, || output_of(e.platform(), pid).contains(" 17:h ") || !e.is_live(pid));
    assert!(e.is_live(pid), "sym-kernel ends after printing more");
    assert!(
        e.memory_of(pid) < queued,
        "{} bytes charged after the take, {} with the message queued",
        e.memory_of(pid),
        queued
    );
    drive(&e, 1, 10_000, || !e.is_live(pid));
    assert_eq!(e.last_exit(pid), Some(Exit::Normal));
}

#[test]
fn a_malformed_symbos_image_is_refused() {
    static BAD: [u8; 256] = {
        let mut b = [0u8; 256];
        let magic = *b"SymExe10";
        let mut i = 0;
        while i < 8 {
            b[48 + i] = magic[i];
            i += 1;
        }
        b
    };
    static TABLE: [zbeam_engine::Image; 1] = [zbeam_engine::Image { name: "bad", bytes: &BAD }];
    let e = Engine::new(Topology::uniform(1), 8, &TABLE, Sim::default());
    let r = e.spawn_image(0, b"", Priority::Normal, CpuSet::ALL, CoreId::new(0));
    assert_eq!(r.err(), Some(zbeam_engine::SpawnError::BadImage));
}

/// The start stub at 0x0100 with EI; HALT (or DI; HALT) in front: SymbOS's timer would
/// end the first, so it yields and the program runs on; nothing can end the second.
#[test]
fn halt_with_interrupts_on_yields_and_with_them_off_faults() {
    const STUB: [u8; 9] = [0xfd, 0xe1, 0xdd, 0xe1, 0xe1, 0xd1, 0xc1, 0xf1, 0xc9];
    let e = engine(1);
    let patched = |first: u8| {
        let code: Vec<u8> = [first, 0x76].iter().chain(STUB.iter()).copied().collect();
        let patch: &[(u16, &[u8])] = &[(0x0100, &code)];
        e.spawn_image_patched(SYM_HELLO, b"x", patch, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap()
    };
    let (on, off) = (patched(0xfb), patched(0xf3));
    drive(&e, 1, 10_000, || !e.is_live(on) && !e.is_live(off));
    assert_eq!(e.last_exit(on), Some(Exit::Normal));
    assert_eq!(output_of(e.platform(), on), HELLO_OUT);
    assert_eq!(e.last_exit(off), Some(Exit::Fault(fault::HALT)));
}

/// A native zbeam task talks to `sym-echo`: its message arrives under SymbOS id 17,
/// the SymbOS program's answer to id 17 comes back to the task's zbeam pid, and "q"
/// ends the program.
#[test]
fn a_symbos_program_answers_a_zbeam_process() {
    use std::sync::{Arc, Mutex};
    use zbeam_engine::{NativeCx, NativeStep, NativeTask};
    use zbeam_images::SYM_ECHO;

    /// Messages received: (sender, bytes).
    type Inbox = Arc<Mutex<Vec<(Pid, Vec<u8>)>>>;
    struct Pinger {
        to: Pid,
        sent: bool,
        got: Inbox,
    }
    impl NativeTask for Pinger {
        fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
            if !self.sent {
                self.sent = true;
                cx.send(self.to, b"ping").unwrap();
            }
            match cx.receive() {
                Some(m) => {
                    self.got.lock().unwrap().push((m.from, m.data.to_vec()));
                    cx.send(self.to, b"q").unwrap();
                    NativeStep::Exit(0)
                }
                None => NativeStep::Wait { until: None },
            }
        }
    }
    let e = engine(2);
    let echo = spawn(&e, SYM_ECHO, "");
    let got: Inbox = Arc::new(Mutex::new(Vec::new()));
    let task = Box::new(Pinger { to: echo, sent: false, got: got.clone() });
    e.spawn_native(task, Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 10_000, || !e.is_live(echo));
    assert_eq!(e.last_exit(echo), Some(Exit::Normal));
    assert_eq!(output_of(e.platform(), echo), "echo ready\r\nfrom 17: ping sent 01\r\nbye\r\n");
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, &got[0].1[..4], got[0].1.len()), (echo, &b"ping"[..], 14), "14 bytes back from the program");
}
