//! The heap-backed reference run and the state checksum `par` prints: the run equals
//! the z80 crate's own harness on every suite program and on hostile images, a
//! dispatched run has the same checksum, and the checksum tells apart states that
//! differ in one register, one memory byte, the output, a count or the ending.

mod common;

use common::{arch, dispatched, reference};
use zbeam_dispatch::reference::{checksum, report_checksum, sequential, sequential_checksum};
use zbeam_dispatch::suite::PROGRAMS;
use zbeam_dispatch::{Config, Policy, RunError};

#[test]
fn the_heap_backed_run_is_the_harness_run_and_the_dispatcher_has_its_checksum() {
    for p in PROGRAMS {
        let mut out = Vec::new();
        let s = sequential(p.image, u64::MAX, &mut |b| out.push(b));
        let r = reference(p.image, u64::MAX);
        assert_eq!(
            (out.as_slice(), s.instructions, s.tstates),
            (r.out.as_slice(), r.instructions, r.tstates),
            "{}",
            p.name
        );
        assert_eq!(arch(&s.cpu), arch(&r.machine.cpu), "{}", p.name);
        assert!(s.mem[..] == r.machine.bus.mem[..], "{}: memory", p.name);
        assert_eq!(s.result, Ok(()), "{}", p.name);
        let cfg = Config { tasks: 3, ..Config::default() };
        let (dout, d) = dispatched(p.image, &cfg, 3, &mut Policy::new(p.image));
        assert_eq!(report_checksum(&d, &dout), sequential_checksum(&s, &out), "{}", p.name);
    }
}

#[test]
fn hostile_images_end_as_the_harness_says() {
    let mut sink = |_| {};
    assert_eq!(sequential(&vec![0; 0x10000], 10, &mut sink).result, Err(RunError::ImageTooLarge(0x10000)));
    let forever = sequential(&[0x18, 0xFE], 1000, &mut sink);
    assert_eq!(
        (forever.result, forever.instructions, forever.tstates),
        (Err(RunError::InstructionLimit), 1000, 12_000)
    );
    assert_eq!(sequential(&[0xF3, 0x76], 1000, &mut sink).result, Err(RunError::Halted(0x0101)));
    // LD C,20 ; CALL 5: a BDOS function the machine does not provide.
    assert_eq!(sequential(&[0x0E, 20, 0xCD, 5, 0], 1000, &mut sink).result, Err(RunError::UnsupportedBdos(20)));
}

#[test]
fn the_checksum_tells_apart_states_that_differ_anywhere() {
    let p = zbeam_dispatch::suite::find("crc").expect("crc is in the suite");
    let mut out = Vec::new();
    let s = sequential(p.image, u64::MAX, &mut |b| out.push(b));
    let base = sequential_checksum(&s, &out);
    let sum = |cpu: &zbeam_z80::Cpu, mem: &[u8; 0x10000], out: &[u8], i: u64, t: u64, r: Result<(), RunError>| {
        checksum(cpu, mem, out, i, t, r)
    };
    assert_eq!(sum(&s.cpu, &s.mem, &out, s.instructions, s.tstates, s.result), base);
    let mut mem = s.mem.clone();
    mem[0xEFFF] ^= 1;
    assert_ne!(sum(&s.cpu, &mem, &out, s.instructions, s.tstates, s.result), base);
    let mut cpu = s.cpu.clone();
    cpu.f ^= 0x20;
    assert_ne!(sum(&cpu, &s.mem, &out, s.instructions, s.tstates, s.result), base);
    assert_ne!(sum(&s.cpu, &s.mem, &out[1..], s.instructions, s.tstates, s.result), base);
    assert_ne!(sum(&s.cpu, &s.mem, &out, s.instructions + 1, s.tstates, s.result), base);
    assert_ne!(sum(&s.cpu, &s.mem, &out, s.instructions, s.tstates + 4, s.result), base);
    assert_ne!(sum(&s.cpu, &s.mem, &out, s.instructions, s.tstates, Err(RunError::InstructionLimit)), base);
}
