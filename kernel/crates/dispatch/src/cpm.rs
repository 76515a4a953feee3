//! The CP/M 2.2 machine for the dispatcher: `zbeam-cpm`'s BDOS and BIOS (console,
//! strings, line input, the file functions) over its in-memory disk.
//!
//! What: a [`CpmSystem`] holds the BDOS (its disk, DMA address and open-file state),
//! the command tail and the console input still to be read. [`load`] lays memory out
//! as `zbeam_cpm::setup` does (page zero with the BDOS and warm-boot jumps, the
//! default FCBs from the tail, the BIOS jump table whose entries at
//! [`BIOS_TRAPS`]..=FFFFh are trapped) with the program at 0100h and SP at FDFEh over
//! a zero return address, as the zbeam-cpm host tests run CP/M programs.
//! [`CpmSystem::call`] performs the call a trapped PC stands for (0005h: BDOS, with
//! the function in C; BIOS_TRAPS and above: a BIOS entry), writes A, BC, DE and HL
//! back and returns to the caller as its RET would (PC popped, no instruction
//! counted), exactly as the host tests' machine does.
//!
//! Why here: every system call is an ordering point. The dispatcher never runs one
//! speculatively; it performs it on the committed state, in program order, so the
//! disk, the BDOS's own state and the console see the calls of the sequential run
//! in its order, and the reference run ([`crate::reference::sequential_cpm`]) uses
//! this same code for them. Console input is what the caller queued: a call that
//! needs more ends the run with [`RunError::NoInput`].

use crate::dispatch::RunError;
use crate::task::{zeroed_mem, Mem};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use zbeam_cpm::{Bdos, ConsoleIo, Outcome, Regs};
use zbeam_z80::Cpu;

pub use zbeam_cpm::BIOS_TRAPS;

/// Where a CP/M program is loaded.
pub const LOAD: u16 = 0x0100;
/// The program's initial SP: a zero word above it, so a final RET warm-boots.
pub const STACK: u16 = 0xFDFE;
/// The largest image: up to 256 bytes below the BDOS, leaving room for the stack.
pub const MAX_IMAGE: usize = (zbeam_cpm::BDOS_ENTRY - LOAD) as usize - 0x100;

/// The CP/M system a program runs against.
pub struct CpmSystem {
    /// The BDOS and BIOS, with the disk (its own, or a shared one).
    pub bdos: Bdos,
    /// The command tail (as typed after the program's name, leading space included).
    pub tail: Vec<u8>,
    /// Console input not yet read.
    pub input: VecDeque<u8>,
}

/// What a system call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Done: the program continues at the caller's return address.
    Continue,
    /// The program ended normally (BDOS 0, BIOS BOOT or WBOOT, ^C at a line's start).
    Exit,
}

struct Console<'a> {
    out: &'a mut dyn FnMut(u8),
    input: &'a mut VecDeque<u8>,
}

impl ConsoleIo for Console<'_> {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            (self.out)(b);
        }
    }
    fn read(&mut self) -> Option<u8> {
        self.input.pop_front()
    }
}

impl CpmSystem {
    /// A system with its own empty disk, command tail `tail` and console input `input`.
    pub fn new(tail: &[u8], input: &[u8]) -> CpmSystem {
        CpmSystem { bdos: Bdos::new(), tail: tail.to_vec(), input: input.iter().copied().collect() }
    }

    /// Performs the system call at `pc` (0005h or a BIOS entry) on the committed
    /// state; console output goes to `out`.
    pub fn call(&mut self, pc: u16, cpu: &mut Cpu, mem: &mut Mem, out: &mut dyn FnMut(u8)) -> Result<Call, RunError> {
        let mut regs = Regs { a: cpu.a, bc: cpu.bc(), de: cpu.de(), hl: cpu.hl() };
        let mut con = Console { out, input: &mut self.input };
        let outcome = if pc == zbeam_cpm::BDOS {
            self.bdos.call(cpu.c, &mut regs, mem, &mut con)
        } else {
            self.bdos.bios(pc, &mut regs, mem, &mut con)
        };
        (cpu.a, cpu.h, cpu.l) = (regs.a, (regs.hl >> 8) as u8, regs.hl as u8);
        (cpu.b, cpu.c, cpu.d, cpu.e) = ((regs.bc >> 8) as u8, regs.bc as u8, (regs.de >> 8) as u8, regs.de as u8);
        match outcome {
            Outcome::Done => {
                // Back to the caller as a RET: the return address popped.
                let [lo, hi] = [mem[cpu.sp as usize], mem[cpu.sp.wrapping_add(1) as usize]];
                (cpu.pc, cpu.sp) = (u16::from_le_bytes([lo, hi]), cpu.sp.wrapping_add(2));
                Ok(Call::Continue)
            }
            Outcome::WaitForInput => Err(RunError::NoInput),
            Outcome::Exit => Ok(Call::Exit),
            Outcome::Error(e) => Err(RunError::Cpm(e)),
        }
    }
}

/// True if `pc` is a trapped system entry of the CP/M machine: warm boot, BDOS, BIOS.
#[inline(always)]
pub fn is_system_pc(pc: u16) -> bool {
    crate::task::Traps::with_bios(BIOS_TRAPS).hit(pc)
}

/// The CP/M machine with `image` loaded for `sys`'s command tail; `None` if the image
/// is larger than [`MAX_IMAGE`].
pub fn load(image: &[u8], sys: &CpmSystem) -> Option<(Cpu, Box<Mem>)> {
    if image.len() > MAX_IMAGE {
        return None;
    }
    let mut mem = zeroed_mem();
    let tail = &sys.tail[..sys.tail.len().min(127)];
    mem[0x80] = tail.len() as u8;
    mem[0x81..0x81 + tail.len()].copy_from_slice(tail);
    mem[LOAD as usize..LOAD as usize + image.len()].copy_from_slice(image);
    zbeam_cpm::setup(&mut mem, tail);
    let mut cpu = Cpu::new();
    cpu.pc = LOAD;
    cpu.sp = STACK;
    Some((cpu, mem))
}
