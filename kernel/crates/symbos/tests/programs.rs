//! The SymbOS test programs (programs/symbos, built by build.rs) run on the host
//! machine, each against its exact transcript (the console's bytes, input echo
//! included).

use zbeam_cpm::{Disk, SharedDisk};
use zbeam_symbos::machine::{Machine, Stop};
use zbeam_symbos::session::Exit;
use zbeam_symbos::Fault;

fn exe(name: &str) -> Vec<u8> {
    let path = format!("{}/{name}.exe", env!("OUT_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run(name: &str, args: &str, input: &[u8], disk: &SharedDisk) -> (Stop, String) {
    let path = format!("A:\\{}.EXE", name.to_uppercase());
    let mut m = Machine::new(&exe(name), &path, args, disk.clone()).expect("loads");
    let (stop, out) = m.run_script(input, 50_000_000);
    (stop, String::from_utf8_lossy(&out).into_owned())
}

fn disk() -> SharedDisk {
    let disk = Disk::new().into_shared();
    disk.lock().put("README.TXT", b"read me\r\n").unwrap();
    disk
}

#[test]
fn hello_prints_its_command_line_start_frame_layout_and_ids() {
    let (stop, out) = run("hello", "one two", b"", &disk());
    assert_eq!(stop, Stop::Exited(Exit::Normal));
    assert_eq!(
        out,
        "Hello from SymbOS\r\n\
         command line: A:\\HELLO.EXE one two %sp07802421\r\n\
         start frame: 1111 2222 3333 4444 5555 6600 \r\n\
         layout: 1177 0989 C0D9\r\n\
         pointers: y\r\n\
         ids: 16 16 2 1\r\n\
         bye\r\n"
    );
}

#[test]
fn input_reads_keys_lines_and_builds_paths() {
    let (stop, out) = run("input", "", b"qzline one\rline two\nthird\r\n\x08x\x7fy\n", &disk());
    assert_eq!(stop, Stop::Exited(Exit::Normal));
    assert_eq!(
        out,
        "key? got 71\r\n\
         test 02 7A\r\n\
         got 7A\r\n\
         line one\r\n[1] line one|8\r\n\
         line two\r\n[2] line two|8\r\n\
         third\r\n[3] third|5\r\n\
         x\x08 \x08y\r\n[4] y|1\r\n\
         EOF\r\n\
         A:\\docs\\*.txt 13 8 02\r\n\
         C:\\symbos\\music\\mp3\\song.mp3 28 20 00\r\n"
    );
}

#[test]
fn input_ends_at_ctrl_c() {
    let (stop, out) = run("input", "", b"ab\x03", &disk());
    assert_eq!(stop, Stop::Exited(Exit::Normal));
    assert!(
        out.ends_with(
            "got 62\r\n^C\r\nEOF\r\nA:\\docs\\*.txt 13 8 02\r\nC:\\symbos\\music\\mp3\\song.mp3 28 20 00\r\n"
        ),
        "{out:?}"
    );
}

#[test]
fn files_uses_the_file_manager_on_the_cpm_disk() {
    let d = disk();
    let (stop, out) = run("files", "", b"", &d);
    assert_eq!(stop, Stop::Exited(Exit::Normal));
    assert_eq!(
        out,
        "wrote 37\r\n\
         > first line\r\n> second line\r\n> third\r\n> last\r\n\
         at 6: line\r\n\
         length 128\r\n\
         z0\r\n\
         files 2\r\n README.TXT 128\r\n MEMO.TXT 128\r\n\
         error 13\r\n\
         error 12\r\n\
         sector 0: 00 README  TXT\r\n\
         > written raw\r\n\
         error 18\r\n\
         files 2\r\n README.TXT 128\r\n SECTOR.TXT 128\r\n\
         free sectors 480\r\n"
    );
    assert_eq!(d.lock().names(), ["README.TXT"]);
}

#[test]
fn kernel_messages_and_bank_functions() {
    let (stop, out) = run("kernel", "", b"", &disk());
    assert_eq!(stop, Stop::Exited(Exit::Normal));
    assert_eq!(
        out,
        "poll 00\r\n\
         from 51:B 50:A \r\n\
         to 99 02\r\n\
         queue 64 64\r\n\
         kernel 01 05\r\n\
         bank 5A 1234 B0 copied\r\n\
         memory c y 01\r\n\
         done\r\n"
    );
}

#[test]
fn crash_ends_with_its_fault() {
    let (stop, out) = run("crash", "", b"", &disk());
    assert_eq!(stop, Stop::Exited(Exit::Fault(Fault::ForeignBank(0))));
    assert_eq!(out, "crashing\r\n");
}

#[test]
fn a_wait_for_input_returns_and_resumes() {
    struct Keys(Vec<u8>, Vec<u8>);
    impl zbeam_symbos::Console for Keys {
        fn write(&mut self, b: &[u8]) {
            self.1.extend_from_slice(b);
        }
        fn read(&mut self) -> zbeam_symbos::Key {
            if self.0.is_empty() {
                zbeam_symbos::Key::Empty
            } else {
                zbeam_symbos::Key::Byte(self.0.remove(0))
            }
        }
    }
    let mut m = Machine::new(&exe("input"), "INPUT", "", disk()).unwrap();
    let mut con = Keys(Vec::new(), Vec::new());
    assert_eq!(m.run(1_000_000, &mut con), Stop::Input);
    assert!(m.session.waits_for_input());
    assert_eq!(m.run(1_000_000, &mut con), Stop::Input, "still nothing typed");
    con.0.extend_from_slice(b"k");
    assert_eq!(m.run(1_000_000, &mut con), Stop::Input);
    assert!(String::from_utf8_lossy(&con.1).contains("got 6B"));
}

#[test]
fn a_budget_stops_and_resumes() {
    let mut m = Machine::new(&exe("hello"), "HELLO", "", disk()).unwrap();
    let mut con = zbeam_symbos::machine::Script { input: b"", at: 0, out: Vec::new() };
    let mut rounds = 0;
    while m.run(50, &mut con) == Stop::Budget {
        rounds += 1;
    }
    assert!(rounds > 10);
    assert!(String::from_utf8_lossy(&con.out).ends_with("bye\r\n"));
}

#[test]
fn halt_yields_with_interrupts_on_and_ends_the_program_with_them_off() {
    let stub = [0xfd, 0xe1, 0xdd, 0xe1, 0xe1, 0xd1, 0xc1, 0xf1, 0xc9];
    for (first, want) in [(0xfb, Stop::Exited(Exit::Normal)), (0xf3, Stop::Exited(Exit::Fault(Fault::Halted(0x0101))))]
    {
        let mut m = Machine::new(&exe("hello"), "HELLO", "", disk()).unwrap();
        m.bus.mem[0x0100] = first;
        m.bus.mem[0x0101] = 0x76;
        m.bus.mem[0x0102..0x010b].copy_from_slice(&stub);
        assert_eq!(m.run_script(b"", 1_000_000).0, want);
    }
}
