//! Real CP/M programs (`programs/cpm/*.asm`, assembled by pasmo at build time) run on
//! the zbeam-z80 CPU with this crate's BDOS and BIOS, trapped by program counter as
//! the engine traps them; the console output must match exactly and the files they
//! leave are read back from the disk.

use std::collections::VecDeque;
use zbeam_cpm::{Bdos, ConsoleIo, Disk, Geometry, Memory, Outcome, Regs, BIOS_TRAPS};
use zbeam_z80::{Bus, Cpu, StopReason};

const COPY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/copy.com"));
const DIR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dir.com"));
const ECHO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/echo.com"));
const RANDOM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/random.com"));

struct Machine(Box<Memory>);

impl Bus for Machine {
    fn read(&mut self, addr: u16) -> u8 {
        self.0[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.0[addr as usize] = value;
    }
    fn input(&mut self, _port: u16) -> u8 {
        0xff
    }
    fn output(&mut self, _port: u16, _value: u8) {}
    fn trap(&mut self, pc: u16) -> bool {
        pc == 0 || pc == 5 || pc >= BIOS_TRAPS
    }
}

/// The console: output collected, input released one chunk per wait for input, so a
/// line split over chunks checks that an interrupted call resumes correctly.
struct Console {
    out: Vec<u8>,
    queue: VecDeque<u8>,
    chunks: VecDeque<Vec<u8>>,
}

impl ConsoleIo for Console {
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn read(&mut self) -> Option<u8> {
        self.queue.pop_front()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Warm boot, BDOS 0 or BIOS WBOOT.
    Exit,
    /// Waiting for input with no more to give.
    Starved,
    /// A BDOS error.
    Error(zbeam_cpm::Error),
}

/// Runs `image` with command tail `tail` to its end; returns the console output.
fn run(image: &[u8], tail: &str, bdos: &mut Bdos, input: &[&str]) -> (String, End) {
    let mut m = Machine(Box::new([0; 0x1_0000]));
    m.0[0x80] = tail.len() as u8;
    m.0[0x81..0x81 + tail.len()].copy_from_slice(tail.as_bytes());
    m.0[0x100..0x100 + image.len()].copy_from_slice(image);
    zbeam_cpm::setup(&mut m.0, tail.as_bytes());
    let mut cpu = Cpu::new();
    cpu.pc = 0x100;
    cpu.sp = 0xfdfe;
    let mut con = Console {
        out: Vec::new(),
        queue: VecDeque::new(),
        chunks: input.iter().map(|s| s.as_bytes().to_vec()).collect(),
    };
    let end = loop {
        let r = cpu.run(&mut m, 50_000_000);
        let pc = match r.reason {
            StopReason::Trap(0) => break End::Exit,
            StopReason::Trap(pc) => pc,
            other => panic!("the program stopped: {other:?} at {:#06x}", cpu.pc),
        };
        let mut regs = Regs { a: cpu.a, bc: cpu.bc(), de: cpu.de(), hl: cpu.hl() };
        let outcome = if pc == 5 {
            bdos.call(cpu.c, &mut regs, &mut m.0, &mut con)
        } else {
            bdos.bios(pc, &mut regs, &mut m.0, &mut con)
        };
        cpu.a = regs.a;
        cpu.set_bc(regs.bc);
        cpu.set_de(regs.de);
        cpu.set_hl(regs.hl);
        match outcome {
            Outcome::Done => {
                let sp = cpu.sp as usize;
                cpu.pc = u16::from_le_bytes([m.0[sp], m.0[(sp + 1) & 0xffff]]);
                cpu.sp = cpu.sp.wrapping_add(2);
            }
            Outcome::WaitForInput => match con.chunks.pop_front() {
                Some(c) => con.queue.extend(c),
                None => break End::Starved,
            },
            Outcome::Exit => break End::Exit,
            Outcome::Error(e) => break End::Error(e),
        }
    };
    (String::from_utf8_lossy(&con.out).into_owned(), end)
}

/// Text lines "line N of the source file\r\n" up to `len` bytes.
fn text(len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = 0;
    while v.len() < len {
        v.extend_from_slice(format!("line {n} of the source file\r\n").as_bytes());
        n += 1;
    }
    v.truncate(len);
    v
}

fn shared_with(files: &[(&str, &[u8])]) -> zbeam_cpm::SharedDisk {
    let mut d = Disk::new();
    for (n, b) in files {
        d.put(n, b).unwrap();
    }
    d.into_shared()
}

#[test]
fn copy_copies_a_file_over_three_extents() {
    let src = text(40_000); // 313 records: extents 0, 1 and 2
    let disk = shared_with(&[("SRC.TXT", &src)]);
    let (out, end) = run(COPY, " src.txt dst.txt", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!((out.as_str(), end), ("copied 313 records\r\n", End::Exit));
    let d = disk.lock();
    let copy = d.get("DST.TXT").unwrap();
    assert_eq!(copy, d.get("SRC.TXT").unwrap());
    assert_eq!(&copy[..40_000], &src[..]);
    assert_eq!(d.used_entries(), 6);
}

#[test]
fn copy_reports_a_missing_source_and_a_full_disk() {
    let (out, end) = run(COPY, " none.txt b.txt", &mut Bdos::new(), &[]);
    assert_eq!((out.as_str(), end), ("no source file\r\n", End::Exit));
    // 20 KiB of data on a 24-block disk (1 directory block): the copy runs out at 3 KiB.
    let mut d = Disk::with_geometry(Geometry::new(24, 32).unwrap());
    d.put("BIG.DAT", &text(20 * 1024)).unwrap();
    let disk = d.into_shared();
    let (out, _) = run(COPY, " big.dat copy.dat", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!(out, "disk full\r\n");
    assert_eq!(disk.lock().free_blocks(), 0);
    assert_eq!(disk.lock().get("COPY.DAT").unwrap().len(), 3 * 1024);
}

/// The checksum `random` must print: the sum of the bytes of its seven records.
fn random_checksum() -> u16 {
    let mut sum = 0u16;
    for r in [300u16, 5, 129, 0, 128, 127, 1000] {
        let base = (r as u8).wrapping_add((r >> 8) as u8);
        for j in 0..128u8 {
            sum = sum.wrapping_add(base.wrapping_add(j) as u16);
        }
    }
    sum
}

#[test]
fn random_writes_reads_and_switches_to_sequential() {
    let mut bdos = Bdos::new();
    let (out, end) = run(RANDOM, "", &mut bdos, &[]);
    assert_eq!(random_checksum(), 0xc0c0);
    let want = "wrote 7 records\r\n\
                size 1001\r\n\
                checksum C0C0\r\n\
                unwritten 01 04\r\n\
                sequential after random: 80 81\r\n\
                next record 130\r\n\
                closed\r\n";
    assert_eq!(out, want);
    assert_eq!(end, End::Exit);
    let disk = bdos.own_disk().expect("the program used its own disk");
    let data = disk.get("RANDOM.DAT").unwrap();
    assert_eq!(data.len(), 1001 * 128);
    assert_eq!(data[300 * 128 + 5], (300u16 as u8).wrapping_add(1).wrapping_add(5));
    assert!(data[20 * 128..21 * 128].iter().all(|&b| b == 0), "a hole reads as zeros");
    // Extents 0, 1, 2 and 7 exist, 3..6 are holes.
    assert_eq!(disk.used_entries(), 4);
}

#[test]
fn dir_lists_each_file_once_with_wildcards() {
    let disk = shared_with(&[("B.COM", b"x"), ("BIG.DAT", &text(40_000)), ("A.TXT", b"a"), ("NOTYPE", b"")]);
    let (out, _) = run(DIR, "", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!(out, "B.COM\r\nBIG.DAT\r\nA.TXT\r\nNOTYPE.\r\n4 file(s)\r\n");
    let (out, _) = run(DIR, " b*.*", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!(out, "B.COM\r\nBIG.DAT\r\n2 file(s)\r\n");
    let (out, _) = run(DIR, " ?.t?t", &mut Bdos::with_shared(disk), &[]);
    assert_eq!(out, "A.TXT\r\n1 file(s)\r\n");
}

#[test]
fn echo_edits_lines_across_waits_for_input() {
    // "helo" ^H "lo" then CR; a line split over three waits; ^X erases; ^U restarts
    // on a new line; an empty line ends the program.
    let input = ["hel", "o\x08lo wor", "ld\r", "abc\x18xy\r", "zz\x15ok\r", "\r"];
    let (out, end) = run(ECHO, "", &mut Bdos::new(), &input);
    let want = "> helo\x08 \x08lo world\r\n[hello world] 11\r\n\
                > abc\x08 \x08\x08 \x08\x08 \x08xy\r\n[xy] 2\r\n\
                > zz#\r\n  ok\r\n[ok] 2\r\n\
                > \r\nbye\r\n";
    assert_eq!(out, want);
    assert_eq!(end, End::Exit);
}

#[test]
fn echo_stops_waiting_when_input_runs_out_and_ctrl_c_ends_it() {
    let (out, end) = run(ECHO, "", &mut Bdos::new(), &["part"]);
    assert_eq!((out.as_str(), end), ("> part", End::Starved));
    let (out, end) = run(ECHO, "", &mut Bdos::new(), &["\x03"]);
    assert_eq!((out.as_str(), end), ("> ", End::Exit));
}

#[test]
fn two_processes_share_a_disk() {
    let disk = shared_with(&[("ONE.TXT", b"first file")]);
    let (out, _) = run(COPY, " one.txt two.txt", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!(out, "copied 1 records\r\n");
    let (out, _) = run(DIR, "", &mut Bdos::with_shared(disk.clone()), &[]);
    assert_eq!(out, "ONE.TXT\r\nTWO.TXT\r\n2 file(s)\r\n");
    assert_eq!(&disk.lock().get("TWO.TXT").unwrap()[..10], b"first file");
}
