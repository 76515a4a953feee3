//! The sequential reference run, with its memory on the heap, and a checksum of a
//! final machine state.
//!
//! What: [`sequential`] runs a `.COM` image on `zbeam_z80::cpm`'s own CP/M harness
//! (its `CpmMachine::run` loop: BDOS 0, 2 and 9 at 0005h, warm boot at 0000h), the
//! machine the dispatcher promises to be bit-exact with. The harness's memory type is
//! generic; [`HeapMem`] puts the 64 KiB in a `Box`, so a caller with a small stack (a
//! kernel task) never holds the array on it. [`sequential_cpm`] is the same for the
//! CP/M machine of [`crate::cpm`]. [`checksum`] folds a final state
//! (registers and latches, memory, console output, counts, how the run ended) into
//! one FNV-1a number, so two runs can be compared by printing one line each.

use crate::cpm::{Call, CpmSystem};
use crate::dispatch::{Report, RunError};
use crate::task::{zeroed_mem, Mem};
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_z80::cpm::{CpmBus, CpmError, CpmMachine, CpmMemory, BDOS, LOAD_ADDR, MAX_IMAGE, STACK_TOP};
use zbeam_z80::{Bus, Cpu, StopReason};

/// 64 KiB of CP/M memory on the heap.
pub struct HeapMem(pub Box<Mem>);

impl CpmMemory for HeapMem {
    #[inline(always)]
    fn peek(&self, addr: u16) -> u8 {
        self.0[addr as usize]
    }
    #[inline(always)]
    fn poke(&mut self, addr: u16, value: u8) {
        self.0[addr as usize] = value;
    }
}

/// The end of a sequential run.
pub struct Sequential {
    /// Final CPU state.
    pub cpu: Cpu,
    /// Final memory.
    pub mem: Box<Mem>,
    /// Instructions executed.
    pub instructions: u64,
    /// T-states spent.
    pub tstates: u64,
    /// `Ok` when the program warm-booted or called BDOS 0.
    pub result: Result<(), RunError>,
}

/// The machine as `CpmMachine::new` sets it up for `image`: the image at 0100h, a RET
/// at the BDOS entry, the top of memory at 0006h, PC and SP; `None` if it is too large.
pub fn load(image: &[u8]) -> Option<(Cpu, Box<Mem>)> {
    if image.len() > MAX_IMAGE {
        return None;
    }
    let mut mem = zeroed_mem();
    let mut cpu = Cpu::new();
    let start = LOAD_ADDR as usize;
    mem[start..start + image.len()].copy_from_slice(image);
    mem[BDOS as usize] = 0xC9;
    mem[6..8].copy_from_slice(&STACK_TOP.to_le_bytes());
    cpu.pc = LOAD_ADDR;
    cpu.sp = STACK_TOP;
    Some((cpu, mem))
}

/// Runs `image` on the z80 crate's CP/M harness for at most `max_instructions`,
/// console output to `out`. The image is loaded as `CpmMachine::new` loads it.
pub fn sequential(image: &[u8], max_instructions: u64, out: &mut dyn FnMut(u8)) -> Sequential {
    sequential_until(image, max_instructions, out, &mut Stop::never())
}

/// When a stoppable reference run asks whether to go on.
pub struct Stop<'a> {
    /// At most this many instructions between two asks.
    pub every: u64,
    /// Asked after each stretch of `every` instructions; `false` ends the run with
    /// [`RunError::Stopped`]. `None` never stops it.
    pub go_on: Option<&'a mut dyn FnMut() -> bool>,
}

impl Stop<'_> {
    /// Never asks: the run goes to its end or its instruction limit.
    pub fn never() -> Stop<'static> {
        Stop { every: u64::MAX, go_on: None }
    }

    fn go_on(&mut self) -> bool {
        self.go_on.as_mut().is_none_or(|f| f())
    }
}

/// [`sequential`] run in stretches of at most `stop.every` instructions, asking
/// `stop.go_on` between them. A stretch ends between two instructions and the next
/// one resumes there, so a run that is not stopped ends as [`sequential`]'s does.
pub fn sequential_until(
    image: &[u8],
    max_instructions: u64,
    out: &mut dyn FnMut(u8),
    stop: &mut Stop<'_>,
) -> Sequential {
    let Some((cpu, mem)) = load(image) else {
        let result = Err(RunError::ImageTooLarge(image.len()));
        return Sequential { cpu: Cpu::new(), mem: zeroed_mem(), instructions: 0, tstates: 0, result };
    };
    let mut m = CpmMachine { cpu, bus: CpmBus { mem: HeapMem(mem) } };
    let (mut instructions, mut tstates) = (0u64, 0u64);
    let result = loop {
        let left = max_instructions - instructions;
        let res = m.run(left.min(stop.every.max(1)), &mut |b| out(b));
        let stats = match &res {
            Ok(s) => *s,
            Err(CpmError::ImageTooLarge { .. }) => Default::default(),
            Err(CpmError::UnsupportedBdos { stats, .. })
            | Err(CpmError::InstructionLimit { stats })
            | Err(CpmError::Halted { stats, .. }) => *stats,
        };
        instructions += stats.instructions;
        tstates += stats.tstates;
        match res {
            Ok(_) => break Ok(()),
            Err(CpmError::ImageTooLarge { len }) => break Err(RunError::ImageTooLarge(len)),
            Err(CpmError::UnsupportedBdos { function, .. }) => break Err(RunError::UnsupportedBdos(function)),
            Err(CpmError::Halted { pc, .. }) => break Err(RunError::Halted(pc)),
            Err(CpmError::InstructionLimit { .. }) if instructions == max_instructions => {
                break Err(RunError::InstructionLimit)
            }
            // The stretch ran out: the machine stands between two instructions.
            Err(CpmError::InstructionLimit { .. }) => {
                if !stop.go_on() {
                    break Err(RunError::Stopped);
                }
            }
        }
    };
    Sequential { cpu: m.cpu, mem: m.bus.mem.0, instructions, tstates, result }
}

/// The CP/M machine's bus for the reference run: plain memory, ports read FFh, a
/// stop at every system entry ([`crate::cpm::is_system_pc`]).
struct SysBus(HeapMem);

impl Bus for SysBus {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.0.peek(addr)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.0.poke(addr, value)
    }
    fn input(&mut self, _port: u16) -> u8 {
        crate::task::PORT_READ
    }
    fn output(&mut self, _port: u16, _value: u8) {}
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        crate::cpm::is_system_pc(pc)
    }
}

/// Runs `image` sequentially on the CP/M machine of [`crate::cpm`] with `sys` for at
/// most `max_instructions`: the plain interpreter between system calls, each call
/// performed by `sys` (the same code the dispatcher calls at its ordering points).
pub fn sequential_cpm(image: &[u8], sys: &mut CpmSystem, max_instructions: u64, out: &mut dyn FnMut(u8)) -> Sequential {
    sequential_cpm_until(image, sys, max_instructions, out, &mut Stop::never())
}

/// [`sequential_cpm`] run in stretches of at most `stop.every` instructions, asking
/// `stop.go_on` between them (as [`sequential_until`] does).
pub fn sequential_cpm_until(
    image: &[u8],
    sys: &mut CpmSystem,
    max_instructions: u64,
    out: &mut dyn FnMut(u8),
    stop: &mut Stop<'_>,
) -> Sequential {
    let Some((mut cpu, mem)) = crate::cpm::load(image, sys) else {
        let result = Err(RunError::ImageTooLarge(image.len()));
        return Sequential { cpu: Cpu::new(), mem: zeroed_mem(), instructions: 0, tstates: 0, result };
    };
    let mut bus = SysBus(HeapMem(mem));
    let (mut instructions, mut tstates) = (0u64, 0u64);
    // Instructions since the last ask.
    let mut stretch = 0u64;
    let result = loop {
        let res = cpu.run(&mut bus, (max_instructions - instructions).min(stop.every.max(1) - stretch));
        stretch += res.instructions;
        instructions += res.instructions;
        tstates += res.tstates;
        match res.reason {
            StopReason::Trap(0) => break Ok(()),
            StopReason::Trap(pc) => {
                if instructions == max_instructions {
                    break Err(RunError::InstructionLimit);
                }
                match sys.call(pc, &mut cpu, &mut bus.0 .0, out) {
                    Ok(Call::Continue) => {}
                    Ok(Call::Exit) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
            StopReason::BudgetSpent if instructions == max_instructions => break Err(RunError::InstructionLimit),
            // The stretch ran out: the machine stands between two instructions.
            StopReason::BudgetSpent => {
                if !stop.go_on() {
                    break Err(RunError::Stopped);
                }
                stretch = 0;
            }
            StopReason::BusStop => {}
            StopReason::Halted { .. } => break Err(RunError::Halted(cpu.pc)),
        }
    };
    Sequential { cpu, mem: bus.0 .0, instructions, tstates, result }
}

/// Every architectural register and latch of `c`, R as the program reads it.
pub fn registers(c: &Cpu) -> [u16; 21] {
    [
        c.pc,
        c.sp,
        c.ix,
        c.iy,
        c.wz,
        c.af_alt,
        c.bc_alt,
        c.de_alt,
        c.hl_alt,
        c.af(),
        c.bc(),
        c.de(),
        c.hl(),
        c.i as u16,
        c.r() as u16,
        c.iff1 as u16,
        c.iff2 as u16,
        c.im as u16,
        c.q() as u16,
        c.halted() as u16,
        c.ei_delay() as u16,
    ]
}

/// A number that differs, with FNV-1a's odds, between two final states that differ
/// in any register or latch, any byte of memory, the console output, the instruction
/// or T-state count, or how the run ended.
pub fn checksum(
    cpu: &Cpu,
    mem: &Mem,
    output: &[u8],
    instructions: u64,
    tstates: u64,
    result: Result<(), RunError>,
) -> u64 {
    let mut bytes: Vec<u8> = Vec::with_capacity(64);
    for r in registers(cpu) {
        bytes.extend_from_slice(&r.to_le_bytes());
    }
    bytes.extend_from_slice(&instructions.to_le_bytes());
    bytes.extend_from_slice(&tstates.to_le_bytes());
    let (code, detail) = match result {
        Ok(()) => (0u8, 0u64),
        Err(RunError::ImageTooLarge(n)) => (1, n as u64),
        Err(RunError::UnsupportedBdos(f)) => (2, f as u64),
        Err(RunError::InstructionLimit) => (3, 0),
        Err(RunError::Halted(pc)) => (4, pc as u64),
        Err(RunError::NoInput) => (5, 0),
        Err(RunError::Cpm(e)) => (6, crate::learn::image_hash(alloc::format!("{e:?}").as_bytes())),
        Err(RunError::Stopped) => (7, 0),
    };
    bytes.push(code);
    bytes.extend_from_slice(&detail.to_le_bytes());
    bytes.extend_from_slice(&(output.len() as u64).to_le_bytes());
    let h = crate::learn::image_hash(&bytes);
    let h = fold(h, output);
    fold(h, &mem[..])
}

/// FNV-1a continued from `h` over `bytes`.
fn fold(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// [`checksum`] of a dispatcher run's final state, with its console output.
pub fn report_checksum(r: &Report, output: &[u8]) -> u64 {
    checksum(&r.cpu, &r.mem, output, r.instructions, r.tstates, r.result)
}

/// [`checksum`] of a sequential run's final state, with its console output.
pub fn sequential_checksum(s: &Sequential, output: &[u8]) -> u64 {
    checksum(&s.cpu, &s.mem, output, s.instructions, s.tstates, s.result)
}
