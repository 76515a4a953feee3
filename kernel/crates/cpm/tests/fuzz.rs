//! Fuzzing the BDOS with proptest (bounded for `make test`; `make fuzz` raises
//! PROPTEST_CASES): random sequences of BDOS calls (every function number, known
//! ones more often) with random FCBs (names, extents, record counters, random
//! records, drive bytes), random DE values and random console input. Properties:
//! no call panics; every call ends with an outcome the engine understands; and
//! afterwards the disk still works: a new file written record by record reads back
//! the same, unless the random calls filled the disk or its directory.

use proptest::prelude::*;
use std::collections::VecDeque;
use zbeam_cpm::{Bdos, ConsoleIo, Memory, Outcome, Regs};

#[derive(Default)]
struct Con {
    input: VecDeque<u8>,
}

impl ConsoleIo for Con {
    fn write(&mut self, _bytes: &[u8]) {}
    fn read(&mut self) -> Option<u8> {
        self.input.pop_front()
    }
}

const FCB: u16 = 0x5c;

#[derive(Debug, Clone)]
struct Call {
    f: u8,
    de: u16,
    /// FCB bytes 0..36 written at DE before the call (when DE leaves room).
    fcb: Vec<u8>,
}

fn fcb() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        3 => prop::sample::select(vec![*b"A       TXT", *b"B       DAT", *b"????????TXT", *b"C       ???"]),
        1 => prop::array::uniform11(any::<u8>()),
    ];
    (0u8..3, name, prop::collection::vec(any::<u8>(), 24)).prop_map(|(drive, name, rest)| {
        let mut f = vec![drive];
        f.extend_from_slice(&name);
        f.extend_from_slice(&rest);
        f
    })
}

fn call() -> impl Strategy<Value = Call> {
    let f = prop_oneof![6 => 0u8..41, 1 => any::<u8>()];
    let de = prop_oneof![4 => Just(FCB), 1 => any::<u16>()];
    (f, de, fcb()).prop_map(|(f, de, fcb)| Call { f, de, fcb })
}

/// Writes `records` 128-byte records to a new file `Z.FUZ` and reads them back.
/// Err(()) if the disk or directory is full (a legitimate answer).
fn round_trip(bdos: &mut Bdos, mem: &mut Memory, con: &mut Con, records: u8) -> Result<bool, ()> {
    // Reset the disk system (drops a write protection the random calls set), DMA at 0x80.
    for (f, de) in [(13u8, 0u16), (26, 0x80)] {
        let mut r = Regs { a: 0, bc: f as u16, de, hl: 0 };
        let _ = bdos.call(f, &mut r, mem, con);
    }
    let mut run = |f: u8, mem: &mut Memory| {
        let mut r = Regs { a: 0, bc: f as u16, de: FCB, hl: 0 };
        let o = bdos.call(f, &mut r, mem, con);
        (o, r.a)
    };
    let set_fcb = |mem: &mut Memory| {
        mem[FCB as usize..FCB as usize + 36].fill(0);
        mem[FCB as usize + 1..FCB as usize + 12].copy_from_slice(b"Z       FUZ");
    };
    set_fcb(mem);
    let _ = run(19, mem); // delete any old one
    set_fcb(mem);
    if run(22, mem).1 == 0xff {
        return Err(()); // directory full
    }
    for k in 0..records {
        mem[0x80..0x100].fill(k.wrapping_mul(7).wrapping_add(1));
        if run(21, mem).1 != 0 {
            return Err(()); // disk full
        }
    }
    run(16, mem);
    set_fcb(mem);
    if run(15, mem).1 == 0xff {
        return Ok(false);
    }
    for k in 0..records {
        mem[0x80..0x100].fill(0);
        if run(20, mem).1 != 0 || mem[0x80..0x100].iter().any(|&b| b != k.wrapping_mul(7).wrapping_add(1)) {
            return Ok(false);
        }
    }
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn random_bdos_calls_leave_a_working_disk(
        calls in prop::collection::vec(call(), 1..60),
        input in prop::collection::vec(any::<u8>(), 0..40),
        records in 1u8..20,
    ) {
        let mut bdos = Bdos::new();
        let mut mem: Box<Memory> = Box::new([0; 0x1_0000]);
        zbeam_cpm::setup(&mut mem, b"");
        let mut con = Con { input: input.into() };
        for c in &calls {
            let at = c.de as usize;
            if at + 36 <= mem.len() {
                mem[at..at + 36].copy_from_slice(&c.fcb);
            }
            let mut r = Regs { a: 0, bc: c.f as u16, de: c.de, hl: 0 };
            // Any outcome goes: an exit or a fatal error ends the process in the engine,
            // and the next call stands for another process on the same disk.
            let _: Outcome = bdos.call(c.f, &mut r, &mut mem, &mut con);
        }
        // Err: the random calls filled the disk or its directory, a fair answer.
        if let Ok(ok) = round_trip(&mut bdos, &mut mem, &mut Con::default(), records) {
            prop_assert!(ok, "a file written after the random calls did not read back");
        }
    }
}

/// The check after the random calls can pass: on a fresh disk the round trip works.
#[test]
fn round_trip_works_on_a_fresh_disk() {
    let mut bdos = Bdos::new();
    let mut mem: Box<Memory> = Box::new([0; 0x1_0000]);
    zbeam_cpm::setup(&mut mem, b"");
    assert_eq!(round_trip(&mut bdos, &mut mem, &mut Con::default(), 19), Ok(true));
}

/// `n` cases, or PROPTEST_CASES when set (`make fuzz` runs longer).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
