//! The FUSE Z80 core test vectors (Fuse 1.7.0's `z80/tests`, 1356 tests), run against
//! the core: every register including MEMPTR, I, R, IFF1/2, IM and the halted state,
//! the final T-state count, the changed memory, and the order, addresses and data of
//! the memory and port events (MR/MW/PR/PW; contention events and event times are
//! for Spectrum-accurate cores and are not compared).
//!
//! Every vector runs twice: on flat memory and on paged copy-on-write memory
//! (`zbeam_z80::paged`) made from a template of the initial memory.
//!
//! Format: `fuse/README` in the shared test data. As the FUSE harness does, a port
//! read returns the high byte of the port address, and each test runs whole
//! instructions until its T-state count is reached.

use std::collections::HashMap;
use zbeam_z80::paged::{HeapPages, PagedMemory, Template};
use zbeam_z80::{Bus, Cpu};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mr,
    Mw,
    Pr,
    Pw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    kind: Kind,
    addr: u16,
    data: u8,
}

/// The memory behind the test bus: plain bytes, or paged copy-on-write memory.
trait Memory {
    fn get(&self, addr: u16) -> u8;
    fn set(&mut self, addr: u16, value: u8);
}

impl Memory for Vec<u8> {
    fn get(&self, addr: u16) -> u8 {
        self[addr as usize]
    }
    fn set(&mut self, addr: u16, value: u8) {
        self[addr as usize] = value;
    }
}

/// A paged memory with its own page source.
struct Paged<'t>(PagedMemory<'t>, HeapPages<'t>);

impl Memory for Paged<'_> {
    fn get(&self, addr: u16) -> u8 {
        self.0.read(addr)
    }
    fn set(&mut self, addr: u16, value: u8) {
        self.0.write(addr, value, &self.1);
    }
}

struct TestBus<M> {
    mem: M,
    events: Vec<Event>,
}

impl<M: Memory> Bus for TestBus<M> {
    fn read(&mut self, addr: u16) -> u8 {
        let data = self.mem.get(addr);
        self.events.push(Event { kind: Kind::Mr, addr, data });
        data
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.mem.set(addr, value);
        self.events.push(Event { kind: Kind::Mw, addr, data: value });
    }
    fn input(&mut self, port: u16) -> u8 {
        let data = (port >> 8) as u8;
        self.events.push(Event { kind: Kind::Pr, addr: port, data });
        data
    }
    fn output(&mut self, port: u16, value: u8) {
        self.events.push(Event { kind: Kind::Pw, addr: port, data: value });
    }
}

/// Registers as the FUSE files list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Regs {
    words: [u16; 13], // AF BC DE HL AF' BC' DE' HL' IX IY SP PC MEMPTR
    i: u8,
    r: u8,
    iff1: bool,
    iff2: bool,
    im: u8,
    halted: bool,
    tstates: u64,
}

struct Input {
    regs: Regs,
    mem: Vec<(u16, Vec<u8>)>,
}

struct Expected {
    events: Vec<Event>,
    regs: Regs,
    mem: Vec<(u16, Vec<u8>)>,
}

fn hex16(s: &str) -> u16 {
    u16::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s:?}"))
}

fn hex8(s: &str) -> u8 {
    u8::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s:?}"))
}

fn parse_regs(l1: &str, l2: &str) -> Regs {
    let w: Vec<u16> = l1.split_whitespace().map(hex16).collect();
    assert_eq!(w.len(), 13, "register line {l1:?}");
    let f: Vec<&str> = l2.split_whitespace().collect();
    assert_eq!(f.len(), 7, "state line {l2:?}");
    Regs {
        words: w.try_into().unwrap(),
        i: hex8(f[0]),
        r: hex8(f[1]),
        iff1: f[2] == "1",
        iff2: f[3] == "1",
        im: f[4].parse().unwrap(),
        halted: f[5] == "1",
        tstates: f[6].parse().unwrap(),
    }
}

/// Memory lines `addr b1 b2 ... -1` until a lone `-1` (tests.in) or a blank line.
fn parse_mem<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let line = line.trim();
        if line == "-1" || line.is_empty() {
            break;
        }
        let mut parts = line.split_whitespace();
        let addr = hex16(parts.next().unwrap());
        let bytes = parts.take_while(|p| *p != "-1").map(hex8).collect();
        out.push((addr, bytes));
    }
    out
}

fn parse_inputs(text: &str) -> Vec<(String, Input)> {
    let mut lines = text.lines();
    let mut out = Vec::new();
    while let Some(name) = lines.next() {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let regs = parse_regs(lines.next().unwrap(), lines.next().unwrap());
        let mem = parse_mem(&mut lines);
        out.push((name.to_string(), Input { regs, mem }));
    }
    out
}

fn parse_expected(text: &str) -> HashMap<String, Expected> {
    let mut lines = text.lines().peekable();
    let mut out = HashMap::new();
    while let Some(name) = lines.next() {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let mut events = Vec::new();
        // Event lines start with spaces and a time.
        while let Some(l) = lines.peek() {
            if !l.starts_with(' ') {
                break;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let kind = match f[1] {
                "MR" => Some(Kind::Mr),
                "MW" => Some(Kind::Mw),
                "PR" => Some(Kind::Pr),
                "PW" => Some(Kind::Pw),
                _ => None,
            };
            if let Some(kind) = kind {
                events.push(Event { kind, addr: hex16(f[2]), data: hex8(f[3]) });
            }
            lines.next();
        }
        let regs = parse_regs(lines.next().unwrap(), lines.next().unwrap());
        let mem = parse_mem(&mut lines);
        out.insert(name.to_string(), Expected { events, regs, mem });
    }
    out
}

fn cpu_regs(cpu: &Cpu, tstates: u64) -> Regs {
    Regs {
        words: [
            cpu.af(),
            cpu.bc(),
            cpu.de(),
            cpu.hl(),
            cpu.af_alt,
            cpu.bc_alt,
            cpu.de_alt,
            cpu.hl_alt,
            cpu.ix,
            cpu.iy,
            cpu.sp,
            cpu.pc,
            cpu.wz,
        ],
        i: cpu.i,
        r: cpu.r(),
        iff1: cpu.iff1,
        iff2: cpu.iff2,
        im: cpu.im,
        halted: cpu.halted(),
        tstates,
    }
}

/// Runs one test; returns a description of the first mismatch. With `paged`, the
/// initial memory is a shared template and the test runs on a copy-on-write memory
/// made from it (which must read back exactly as flat memory would).
fn run_one(input: &Input, exp: &Expected, paged: bool) -> Result<(), String> {
    let mut mem = vec![0u8; 0x10000];
    for (addr, bytes) in &input.mem {
        for (k, b) in bytes.iter().enumerate() {
            mem[(*addr as usize + k) & 0xFFFF] = *b;
        }
    }
    let initial = mem.clone();
    let r = &input.regs;
    let mut cpu = Cpu::new();
    cpu.set_af(r.words[0]);
    cpu.set_bc(r.words[1]);
    cpu.set_de(r.words[2]);
    cpu.set_hl(r.words[3]);
    cpu.af_alt = r.words[4];
    cpu.bc_alt = r.words[5];
    cpu.de_alt = r.words[6];
    cpu.hl_alt = r.words[7];
    cpu.ix = r.words[8];
    cpu.iy = r.words[9];
    cpu.sp = r.words[10];
    cpu.pc = r.words[11];
    cpu.wz = r.words[12];
    cpu.i = r.i;
    cpu.set_r(r.r);
    cpu.iff1 = r.iff1;
    cpu.iff2 = r.iff2;
    cpu.im = r.im;
    cpu.set_halted(r.halted);
    cpu.set_q(false);
    let template = Template::from_flat(mem.as_slice().try_into().unwrap()).unwrap();
    let (final_mem, events, t) = if paged {
        let mut bus = TestBus { mem: Paged(PagedMemory::new(&template), HeapPages::default()), events: Vec::new() };
        let t = step_to(&mut cpu, &mut bus, r.tstates);
        if flat_copy(&PagedMemory::new(&template)) != initial {
            return Err("the template changed".into());
        }
        let flat = flat_copy(&bus.mem.0);
        bus.mem.0.release(&bus.mem.1);
        (flat, bus.events, t)
    } else {
        let mut bus = TestBus { mem, events: Vec::new() };
        let t = step_to(&mut cpu, &mut bus, r.tstates);
        (bus.mem, bus.events, t)
    };
    let got = cpu_regs(&cpu, t);
    if got != exp.regs {
        return Err(format!("registers\n  got      {got:04x?}\n  expected {:04x?}", exp.regs));
    }
    // Memory: every byte the expectation lists, and nothing else changed.
    let mut want = initial;
    for (addr, bytes) in &exp.mem {
        for (k, b) in bytes.iter().enumerate() {
            want[(*addr as usize + k) & 0xFFFF] = *b;
        }
    }
    if let Some(a) = (0..0x10000).find(|&a| want[a] != final_mem[a]) {
        return Err(format!("memory at {a:04x}: got {:02x}, expected {:02x}", final_mem[a], want[a]));
    }
    if events != exp.events {
        return Err(format!("bus events\n  got      {:x?}\n  expected {:x?}", events, exp.events));
    }
    Ok(())
}

/// Steps whole instructions until `tstates` are reached; returns the T-states run.
fn step_to<B: Bus>(cpu: &mut Cpu, bus: &mut B, tstates: u64) -> u64 {
    let mut t = 0u64;
    while t < tstates {
        t += cpu.step(bus).0;
    }
    t
}

/// All 64 KiB of a paged memory.
fn flat_copy(mem: &PagedMemory<'_>) -> Vec<u8> {
    let mut flat = vec![0u8; 0x10000];
    mem.copy_to(flat.as_mut_slice().try_into().unwrap());
    flat
}

#[test]
fn fuse_vectors() {
    let (Some(tin), Some(texp)) =
        (zbeam_testdata::read("z80/fuse/tests.in"), zbeam_testdata::read("z80/fuse/tests.expected"))
    else {
        return;
    };
    let inputs = parse_inputs(std::str::from_utf8(&tin).unwrap());
    let expected = parse_expected(std::str::from_utf8(&texp).unwrap());
    let mut failures = Vec::new();
    for (name, input) in &inputs {
        let exp = expected.get(name).unwrap_or_else(|| panic!("no expectation for {name}"));
        for paged in [false, true] {
            if let Err(why) = run_one(input, exp, paged) {
                failures.push(format!("{name} (paged: {paged}): {why}"));
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert_eq!(inputs.len(), 1356, "number of FUSE tests run");
    assert!(failures.is_empty(), "{} of {} FUSE tests failed", failures.len(), inputs.len());
}
