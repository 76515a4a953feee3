//! A minimal CP/M 2.2 environment for running `.COM` test programs (zexdoc, zexall,
//! prelim) on the core: shared by the tests, the `z80run` tool and the bench.
//!
//! What: 64 KiB of memory owned by [`CpmBus`], the image loaded at 0x0100 and
//! started there with SP = 0xF000, a RET (0xC9) at 0x0005 and the word 0xF000 at
//! 0x0006 (where programs read the top of their memory). When PC reaches 0x0005 the
//! harness performs BDOS function 2 (print the character in E) or 9 (print the
//! '$'-terminated string at DE), then lets the RET there execute; reaching 0x0000
//! (warm boot) or calling BDOS function 0 ends the run. Output bytes go,
//! untranslated, to a caller-supplied `FnMut(u8)`.
//!
//! Why this way: trapping by PC instead of patching IN/OUT into the BIOS keeps the
//! instruction stream identical to a real CP/M run, so the counts are comparable
//! across emulators: zexdoc and zexall each take 5,764,169,610 instructions and
//! 46,734,977,142 T-states here, prelim 897 instructions and 8,699 T-states.
//! Conventions from the CP/M 2.2 Interface Guide (BDOS functions 0, 2, 9).
//! No allocation: the 64 KiB live inside the harness value.

use crate::paged::{HeapPages, PagedMemory, Template};
use crate::{Bus, Cpu, RunResult, StopReason};
use core::fmt;

/// Where a `.COM` image is loaded and started (the CP/M TPA).
pub const LOAD_ADDR: u16 = 0x0100;
/// Initial stack pointer, also stored at 0x0006 as the top of usable memory.
pub const STACK_TOP: u16 = 0xF000;
/// The BDOS entry point the harness traps.
pub const BDOS: u16 = 0x0005;
/// The largest image that fits between [`LOAD_ADDR`] and [`STACK_TOP`].
pub const MAX_IMAGE: usize = (STACK_TOP - LOAD_ADDR) as usize;

/// Counts of one CP/M run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpmStats {
    /// Instructions executed (BDOS RETs included).
    pub instructions: u64,
    /// T-states spent.
    pub tstates: u64,
}

/// Why a CP/M run could not start or did not finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpmError {
    /// The image is longer than [`MAX_IMAGE`] bytes.
    ImageTooLarge {
        /// The image's length.
        len: usize,
    },
    /// The program called a BDOS function the harness does not provide.
    UnsupportedBdos {
        /// The function number (register C).
        function: u8,
        /// What ran up to the call.
        stats: CpmStats,
    },
    /// The instruction limit was reached before the program ended.
    InstructionLimit {
        /// What ran (exactly the limit).
        stats: CpmStats,
    },
    /// The CPU halted with nothing that could wake it.
    Halted {
        /// Where (PC on the HALT opcode).
        pc: u16,
        /// What ran up to the halt.
        stats: CpmStats,
    },
}

impl fmt::Display for CpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpmError::ImageTooLarge { len } => write!(
                f,
                "image of {len} bytes does not fit: at most {MAX_IMAGE} bytes fit between \
                 0x{LOAD_ADDR:04X} and the stack at 0x{STACK_TOP:04X}"
            ),
            CpmError::UnsupportedBdos { function, stats } => {
                write!(f, "unsupported BDOS function {function} after {} instructions", stats.instructions)
            }
            CpmError::InstructionLimit { stats } => write!(
                f,
                "instruction limit reached after {} instructions ({} T-states)",
                stats.instructions, stats.tstates
            ),
            CpmError::Halted { pc, stats } => {
                write!(f, "CPU halted at 0x{pc:04X} with nothing to wake it, after {} instructions", stats.instructions)
            }
        }
    }
}

/// The memory behind a [`CpmBus`]: plain bytes, or pages.
pub trait CpmMemory {
    /// The byte at `addr`.
    fn peek(&self, addr: u16) -> u8;
    /// Writes `value` at `addr`.
    fn poke(&mut self, addr: u16, value: u8);
}

impl CpmMemory for [u8; 0x10000] {
    #[inline(always)]
    fn peek(&self, addr: u16) -> u8 {
        self[addr as usize]
    }
    #[inline(always)]
    fn poke(&mut self, addr: u16, value: u8) {
        self[addr as usize] = value;
    }
}

/// Paged, copy-on-write memory (see [`crate::paged`]) with its own page source: the
/// loaded program is a shared [`Template`] and pages are copied as the program writes.
pub struct PagedRam<'t> {
    /// The pages.
    pub mem: PagedMemory<'t>,
    /// Where copied pages come from.
    pub src: HeapPages<'t>,
}

impl CpmMemory for PagedRam<'_> {
    #[inline(always)]
    fn peek(&self, addr: u16) -> u8 {
        self.mem.read(addr)
    }
    #[inline(always)]
    fn poke(&mut self, addr: u16, value: u8) {
        self.mem.write(addr, value, &self.src)
    }
}

impl Drop for PagedRam<'_> {
    fn drop(&mut self) {
        self.mem.release(&self.src);
    }
}

/// The CP/M machine's memory (64 KiB of plain bytes unless said otherwise). Ports read
/// 0xFF and ignore writes; [`Bus::trap`] fires at 0x0000 and at the BDOS entry.
#[derive(Clone)]
pub struct CpmBus<M = [u8; 0x10000]> {
    /// All 64 KiB.
    pub mem: M,
}

impl<M: CpmMemory> Bus for CpmBus<M> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.mem.peek(addr)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.mem.poke(addr, value)
    }
    #[inline(always)]
    fn input(&mut self, _port: u16) -> u8 {
        0xFF
    }
    #[inline(always)]
    fn output(&mut self, _port: u16, _value: u8) {}
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        // One well-predicted compare on the hot path, the exact test after it.
        pc <= BDOS && (pc == BDOS || pc == 0)
    }
}

/// The initial memory of [`CpmMachine::new`] for `image`, as a shared template for
/// [`CpmMachine::paged`]. None if memory for it cannot be had.
pub fn template(image: &[u8]) -> Result<Option<Template>, CpmError> {
    Ok(Template::from_flat(&CpmMachine::new(image)?.bus.mem))
}

/// A CPU plus its CP/M memory, ready to run a loaded image.
#[derive(Clone)]
pub struct CpmMachine<M = [u8; 0x10000]> {
    /// The processor, PC at [`LOAD_ADDR`] after [`CpmMachine::new`].
    pub cpu: Cpu,
    /// Its memory.
    pub bus: CpmBus<M>,
}

/// The CPU as a CP/M program starts: PC at [`LOAD_ADDR`], SP at [`STACK_TOP`].
fn start_cpu() -> Cpu {
    let mut cpu = Cpu::new();
    cpu.pc = LOAD_ADDR;
    cpu.sp = STACK_TOP;
    cpu
}

impl<'t> CpmMachine<PagedRam<'t>> {
    /// A machine whose memory starts as `template` (from [`template`]), shared.
    pub fn paged(template: &'t Template) -> Self {
        let mem = PagedRam { mem: PagedMemory::new(template), src: HeapPages::default() };
        CpmMachine { cpu: start_cpu(), bus: CpmBus { mem } }
    }
}

impl CpmMachine {
    /// Loads `image` at 0x0100 and sets up the zero page and the registers.
    pub fn new(image: &[u8]) -> Result<Self, CpmError> {
        if image.len() > MAX_IMAGE {
            return Err(CpmError::ImageTooLarge { len: image.len() });
        }
        let mut bus = CpmBus { mem: [0; 0x10000] };
        let start = LOAD_ADDR as usize;
        bus.mem[start..start + image.len()].copy_from_slice(image);
        bus.mem[BDOS as usize] = 0xC9;
        let [lo, hi] = STACK_TOP.to_le_bytes();
        bus.mem[6] = lo;
        bus.mem[7] = hi;
        Ok(Self { cpu: start_cpu(), bus })
    }
}

impl<M: CpmMemory> CpmMachine<M> {
    /// Runs until the program warm-boots (jumps to 0x0000 or calls BDOS 0), or until
    /// `max_instructions` have executed.
    pub fn run(&mut self, max_instructions: u64, out: &mut impl FnMut(u8)) -> Result<CpmStats, CpmError> {
        let mut stats = CpmStats::default();
        loop {
            let left = max_instructions - stats.instructions;
            let res = self.run_cpu(left);
            stats.instructions += res.instructions;
            stats.tstates += res.tstates;
            match res.reason {
                StopReason::Trap(0) => return Ok(stats),
                StopReason::Trap(_) => {
                    if stats.instructions == max_instructions {
                        return Err(CpmError::InstructionLimit { stats });
                    }
                    match self.cpu.c {
                        0 => return Ok(stats),
                        2 => out(self.cpu.e),
                        9 => self.print_string(out),
                        function => return Err(CpmError::UnsupportedBdos { function, stats }),
                    }
                    // The RET at 0x0005 runs as part of the program.
                    stats.tstates += self.cpu.step(&mut self.bus).0;
                    stats.instructions += 1;
                }
                StopReason::BudgetSpent => return Err(CpmError::InstructionLimit { stats }),
                // CpmBus never asks to stop; resuming is always right.
                StopReason::BusStop => {}
                StopReason::Halted { .. } => return Err(CpmError::Halted { pc: self.cpu.pc, stats }),
            }
        }
    }

    /// The run loop for this bus, compiled once here rather than in every caller
    /// (`run` is generic over the output closure), so the tool, the tests and the
    /// bench all measure the same machine code.
    #[inline(never)]
    pub fn run_cpu(&mut self, budget: u64) -> RunResult {
        self.cpu.run(&mut self.bus, budget)
    }

    /// BDOS 9: the bytes at DE up to (not including) '$', at most 64 KiB of them.
    fn print_string(&self, out: &mut impl FnMut(u8)) {
        let mut addr = self.cpu.de();
        for _ in 0..0x10000 {
            let ch = self.bus.mem.peek(addr);
            if ch == b'$' {
                break;
            }
            out(ch);
            addr = addr.wrapping_add(1);
        }
    }
}

/// Runs a CP/M `.COM` image to completion, sending its console output to `out`.
pub fn run_com(image: &[u8], out: &mut impl FnMut(u8)) -> Result<CpmStats, CpmError> {
    run_com_limited(image, u64::MAX, out)
}

/// As [`run_com`], but gives up with [`CpmError::InstructionLimit`] after
/// `max_instructions`.
pub fn run_com_limited(image: &[u8], max_instructions: u64, out: &mut impl FnMut(u8)) -> Result<CpmStats, CpmError> {
    CpmMachine::new(image)?.run(max_instructions, out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn run(image: &[u8]) -> (Result<CpmStats, CpmError>, Vec<u8>) {
        let mut out = Vec::new();
        let r = run_com_limited(image, 10_000, &mut |b| out.push(b));
        (r, out)
    }

    #[test]
    fn prints_with_functions_2_and_9_and_ends_at_warm_boot() {
        // 0100 LD C,9; LD DE,0112h; CALL 5; LD C,2; LD E,'!'; CALL 5; JP 0; 0112 "hi$"
        let img = [
            0x0E, 0x09, 0x11, 0x12, 0x01, 0xCD, 0x05, 0x00, 0x0E, 0x02, 0x1E, b'!', 0xCD, 0x05, 0x00, 0xC3, 0x00, 0x00,
            b'h', b'i', b'$',
        ];
        let (r, out) = run(&img);
        assert_eq!(out, b"hi!");
        // Seven program instructions plus the two RETs at 0x0005.
        let stats = r.unwrap();
        assert_eq!(stats.instructions, 9);
        assert_eq!(stats.tstates, 7 + 10 + 17 + 10 + 7 + 7 + 17 + 10 + 10);
    }

    #[test]
    fn bdos_0_ends_the_run() {
        let (r, out) = run(&[0x0E, 0x00, 0xCD, 0x05, 0x00, 0x76]);
        assert!(out.is_empty());
        assert_eq!(r.unwrap().instructions, 2);
    }

    #[test]
    fn errors_are_reported() {
        let big = [0u8; MAX_IMAGE + 1];
        assert_eq!(run(&big).0, Err(CpmError::ImageTooLarge { len: MAX_IMAGE + 1 }));
        assert!(CpmMachine::new(&[0u8; MAX_IMAGE]).is_ok());
        match run(&[0x0E, 0x0A, 0xCD, 0x05, 0x00]).0 {
            Err(CpmError::UnsupportedBdos { function: 10, .. }) => {}
            other => panic!("{other:?}"),
        }
        match run(&[0xF3, 0x76]).0 {
            Err(CpmError::Halted { pc: 0x0101, .. }) => {}
            other => panic!("{other:?}"),
        }
        match run(&[0x18, 0xFE]).0 {
            Err(CpmError::InstructionLimit { stats }) => assert_eq!(stats.instructions, 10_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn zero_page_and_registers() {
        let m = CpmMachine::new(&[0xAA]).unwrap();
        assert_eq!(m.bus.mem[0x0100], 0xAA);
        assert_eq!(m.bus.mem[5], 0xC9);
        assert_eq!(&m.bus.mem[6..8], &[0x00, 0xF0]);
        assert_eq!((m.cpu.pc, m.cpu.sp), (0x0100, 0xF000));
    }
}
