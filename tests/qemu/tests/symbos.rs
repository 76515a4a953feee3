//! SymbOS programs as Z80 processes in QEMU: the in-kernel driver
//! (kernel/src/ktest/symbos.rs) runs several at once on every core beside a CP/M and
//! a native program, one answers a native zbeam task's message, and a supervisor
//! restarts a crashing one; the shell's `symbos` command gives one the console; the
//! initrd recognises SymbOS programs by their header and refuses a malformed one with
//! its reason.

use zbeam_images::{IMAGES, SYM_HELLO};
use zbeam_qemu_tests::{initrd, run, run_interactive, Machine};

const HELLO: &str = r#"Hello from SymbOS\r\ncommand line: A:\\SYM-HELLO.COM ARG %sp07802421\r\nstart frame: 1111 2222 3333 4444 5555 6600 \r\nlayout: 1177 0989 C0D9\r\npointers: y\r\nids: 16 16 2 1\r\nbye\r\n"#;
const KERNEL: &str = r#"poll 00\r\nfrom 51:B 50:A \r\nto 99 02\r\nqueue 64 64\r\nkernel 01 05\r\nbank 5A 1234 B0 copied\r\nmemory c y 01\r\ndone\r\n"#;
const FILES: &str = r#"wrote 37\r\n> first line\r\n> second line\r\n> third\r\n> last\r\nat 6: line\r\nlength 128\r\nz0\r\nfiles 2\r\n README.TXT 128\r\n MEMO.TXT 128\r\nerror 13\r\nerror 12\r\nsector 0: 00 README  TXT\r\n> written raw\r\nerror 18\r\nfiles 2\r\n README.TXT 128\r\n SECTOR.TXT 128\r\nfree sectors 480\r\n"#;

#[test]
fn symbos_programs_on_every_core_beside_cpm_and_native_ones() {
    let o = run(&Machine { append: "test=symbos".into(), ..Machine::default() });
    let line = |name: &str, out: &str| format!("test symbos: {name} exit Some(Normal) output \"{out}\"\n");
    o.expect_code(0)
        .expect("test symbos: started 6 programs on 4 cores, spin, and a supervisor of sym-crash")
        .expect(&line("sym-hello", &HELLO.replace("ARG", "one")))
        .expect(&line("sym-kernel", KERNEL))
        .expect(&line("sym-hello", &HELLO.replace("ARG", "two")))
        .expect(&line("sym-kernel", KERNEL))
        .expect(&line("sym-files", FILES))
        .expect(&line("hello", r#"Hello from a Z80 process\r\n"#))
        // The driver (a native zbeam task) is SymbOS id 17 to sym-echo, which answers it.
        .expect(&line("sym-echo", r#"echo ready\r\nfrom 17: ping sent 01\r\nbye\r\n"#))
        .expect("test symbos: sym-echo answered the driver: true")
        .expect("test symbos: PASS");
    assert_eq!(o.output.matches("test symbos: sym-kernel exit Some(Normal)").count(), 2);
}

/// `symbos <image> [args]` runs a SymbOS program with the console: keys typed reach
/// its SymShell, ^C is its end of input, and the shell has the console back when it
/// ends; an image that is not a SymbOS program is refused.
#[test]
fn the_shell_runs_a_symbos_program_in_the_foreground() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), ..Machine::default() },
        &[
            ("zbeam> ", "symbos sym-input\r"),
            // Nothing is typed when it tests for a key: state 0; then "b" is typed.
            ("key? ", "a"),
            ("test 00 00", "b"),
            ("got 62", "typed here\r"),
            ("[1] typed here|10", "\x03"),
            ("[console back to the shell]", "symbos spin\r"),
            ("is not a SymbOS image", "halt\r"),
        ],
    );
    o.expect_code(0)
        .expect("symbos: sym-input runs as pid")
        .expect("key? got 61\ntest 00 00\ngot 62\ntyped here\n[1] typed here|10\n^C\nEOF\n")
        .expect("A:\\docs\\*.txt 13 8 02\n")
        .expect("[console back to the shell]")
        .expect("symbos: \"spin\" is not a SymbOS image (SymbOS images: sym-crash, sym-echo, sym-files, sym-hello, sym-input, sym-kernel)");
}

/// A SymbOS program in the initrd is told by its header and runs as one (its
/// command line names it); a file with a SymbOS header that does not load is refused
/// with the loader's reason.
#[test]
fn initrd_symbos_programs_load_or_are_refused_with_the_reason() {
    let good = IMAGES[SYM_HELLO].bytes;
    let mut bad = good.to_vec();
    bad[10] = 0xff; // the start stack's offset, far outside the transfer area
    bad[11] = 0x7f;
    let rd = initrd("symbos", &[("symhi.com", good), ("broken.com", &bad)]);
    let o = run(&Machine { initrd: Some(rd), smp: 2, append: "test=images".into(), ..Machine::default() });
    o.expect_code(0)
        .expect("rejected broken: SymbOS executable: the start stack at offset 32767 does not leave its 15-byte frame")
        .expect(&format!("(10240 bytes): symhi ({} bytes)", good.len()))
        .expect(r#" symhi exit normal output "Hello from SymbOS\r\ncommand line: A:\\SYMHI.COM %sp07802421\r\n"#)
        .expect("test images: PASS");
}
