//! zbeam-z80: a Zilog Z80 CPU core behind a statically dispatched [`Bus`] trait.
//!
//! What: every documented and undocumented NMOS Z80 instruction (CB, ED, DD/FD,
//! DDCB/FDCB, IXH/IXL/IYH/IYL, SLL, the ED mirrors), the undocumented X/Y flag bits
//! including the MEMPTR (WZ) derived ones, the SCF/CCF "Q" rule, the R register,
//! IFF1/IFF2 with EI's one-instruction delay, HALT, NMI and IM 0/1/2, with exact
//! T-state counts per instruction.
//!
//! Why: zbeam runs thousands of Z80 machines as BEAM-style processes, so the core
//! is small (the whole [`Cpu`] state is at most 64 bytes), never allocates, has no
//! unsafe code (the paged memory's whole-page copies are the crate's only unsafe
//! blocks, see [`paged`]) and runs a reduction budget of whole instructions per call
//! ([`Cpu::run`]) that returns a [`StopReason`] to the scheduler.
//!
//! Sources followed: Zilog's *Z80 CPU User Manual* (UM0080) for the documented
//! behaviour and timings; Sean Young's *The Undocumented Z80 Documented* for the
//! undocumented opcodes, X/Y flags, block-instruction flags and MEMPTR; Patrik
//! Rak's research for the SCF/CCF Q latch; the FUSE test vectors
//! (`tests.in`/`tests.expected`) as the oracle where the documents are silent.
//! [`cpm`] is a minimal CP/M harness shared by the tests, the `z80run` tool and
//! the bench.
//!
//! ```
//! use zbeam_z80::{Bus, Cpu, StopReason};
//!
//! struct Ram([u8; 0x10000]);
//! impl Bus for Ram {
//!     fn read(&mut self, addr: u16) -> u8 { self.0[addr as usize] }
//!     fn write(&mut self, addr: u16, value: u8) { self.0[addr as usize] = value }
//!     fn input(&mut self, _port: u16) -> u8 { 0xFF }
//!     fn output(&mut self, _port: u16, _value: u8) {}
//! }
//!
//! let mut ram = Ram([0; 0x10000]);
//! ram.0[..4].copy_from_slice(&[0x3E, 0x2A, 0xF3, 0x76]); // LD A,42; DI; HALT
//! let mut cpu = Cpu::new();
//! let res = cpu.run(&mut ram, 1_000);
//! assert_eq!(res.reason, StopReason::Halted { interrupts_enabled: false });
//! assert_eq!((res.instructions, res.tstates, cpu.a), (3, 7 + 4 + 4, 42));
//! ```
#![no_std]
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod alu;
pub mod cpm;
mod cpu;
mod exec;
mod index;
mod length;
pub mod paged;

pub use cpu::{Cpu, RunResult, StopReason, TStates};
pub use length::instruction_length;

/// The machine around the CPU: memory and I/O ports. `Cpu::run` is generic over
/// it, so every call is statically dispatched and normally inlined.
pub trait Bus {
    /// Memory read (opcode fetches too).
    fn read(&mut self, addr: u16) -> u8;
    /// Memory write.
    fn write(&mut self, addr: u16, value: u8);
    /// Port read; `port` is the full 16-bit address the Z80 puts on the bus
    /// (`A` or `B` in the high byte, as the instruction defines).
    fn input(&mut self, port: u16) -> u8;
    /// Port write; `port` as for [`Bus::input`].
    fn output(&mut self, port: u16, value: u8);
    /// Asked before each instruction with the PC about to execute; returning true stops `run`
    /// with StopReason::Trap(pc) before executing it (used for CP/M's BDOS at 0x0005). Default false.
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        let _ = pc;
        false
    }
    /// The read of one of an instruction's own bytes (prefix, opcode, displacement,
    /// immediate operand); every other memory read is a [`Bus::read`]. Default:
    /// [`Bus::read`]. See [`crate::instruction_length`].
    #[inline(always)]
    fn fetch(&mut self, addr: u16) -> u8 {
        self.read(addr)
    }
    /// Told of every decided branch before the next instruction runs: JR, DJNZ, JP
    /// (conditional, unconditional, `JP (HL)`/`(IX)`/`(IY)`), CALL, RET (conditional and
    /// not), RETI/RETN and RST, taken or not. `from` is the address of the branch's
    /// opcode byte (after any prefix), `to` the PC it leaves: the target when `taken`,
    /// else the next instruction. Interrupt acceptance and the block instructions'
    /// repeats are not reported. Default: nothing (the call compiles away), so a bus
    /// that watches control flow pays per branch, not per instruction.
    #[inline(always)]
    fn branch(&mut self, from: u16, to: u16, taken: bool) {
        let _ = (from, to, taken);
    }
    /// Set by input/output handlers that must block; checked after each instruction. Default false.
    #[inline(always)]
    fn stop_requested(&mut self) -> bool {
        false
    }
}
