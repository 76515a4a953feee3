//! The `z80` crate (a Rust port of jgz80): `Z80::step` runs one instruction and returns
//! its T-states; the bench counts the steps.
//!
//! Its PC is public but its other registers are not, so BDOS cannot be served from the
//! registers when PC reaches 0x0005. The adapter traps through ports instead: 0x0005
//! holds `JP 0xF000` (whose operand doubles as the TPA-top word at 0x0006), and 0xF000
//! holds `OUT (C),D; OUT (C),E; RET`. The port writes hand over C (the port's low byte)
//! and DE, and the call is served when PC reaches the RET. That is 3 instructions and
//! 34 T-states (10 + 12 + 12) per call more than the plain RET.

use super::Core;
use crate::harness::{self, Console, Memory, Outcome, Stop};
use ::z80::{Z80_io, Z80};

/// The port-trap stub's address; it sits just above the stack.
const STUB: u16 = harness::STACK;
/// `OUT (C),D; OUT (C),E; RET`.
const STUB_CODE: [u8; 5] = [0xED, 0x51, 0xED, 0x59, 0xC9];
/// Where PC is once both port writes are done: the stub's RET.
const SERVE_AT: u16 = STUB + 4;

pub const CORE: Core = Core {
    name: "z80",
    version: env!("Z80BENCH_VERSION_Z80"),
    peer: true,
    quirks: "registers other than PC are private: BDOS trapped through ports \
             (JP 0xF000 at 0x0005; OUT (C),D; OUT (C),E; RET there), +3 instructions \
             and +34 T per call; step() returns T-states, the bench counts steps",
    trap_overhead: (3, 34),
    run,
};

struct Io {
    mem: Memory,
    /// Low byte of the last port address written: register C in `OUT (C),r`.
    port_lo: u8,
    /// The last two bytes written to ports: D then E.
    written: u16,
}

impl Z80_io for Io {
    #[inline(always)]
    fn read_byte(&self, addr: u16) -> u8 {
        self.mem[usize::from(addr)]
    }

    #[inline(always)]
    fn write_byte(&mut self, addr: u16, value: u8) {
        self.mem[usize::from(addr)] = value;
    }

    fn port_out(&mut self, addr: u16, value: u8) {
        self.port_lo = addr as u8;
        self.written = (self.written << 8) | u16::from(value);
    }
}

fn run(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut mem = harness::memory(image);
    let [lo, hi] = STUB.to_le_bytes();
    mem[usize::from(harness::BDOS)..][..3].copy_from_slice(&[0xC3, lo, hi]);
    mem[usize::from(STUB)..][..STUB_CODE.len()].copy_from_slice(&STUB_CODE);
    let mut io = Io { mem, port_lo: 0, written: 0 };
    let mut cpu = Z80::new();
    cpu.init();
    cpu.pc = harness::LOAD;
    cpu.sp = harness::STACK;

    let mut console = Console::default();
    let (mut instructions, mut tstates) = (0u64, 0u64);
    let stop = loop {
        if instructions >= max_instructions {
            break Stop::Budget;
        }
        let pc = cpu.pc;
        if pc == harness::EXIT {
            break Stop::Exited;
        }
        if pc == SERVE_AT {
            console.bdos(io.port_lo, io.written, &io.mem);
        }
        if cpu.halted {
            break Stop::Halted(pc);
        }
        tstates += u64::from(cpu.step(&mut io));
        instructions += 1;
    };
    Ok(console.finish(instructions, tstates, stop))
}
