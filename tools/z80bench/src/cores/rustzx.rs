//! `rustzx-z80` (the core of the RustZX Spectrum emulator): `Z80::emulate` runs one
//! instruction and reports no T-states; its bus is told every clock through the
//! `wait_*` callbacks, which this adapter adds up (plus the 4-T I/O cycle, which the
//! crate leaves to the bus). The bench counts `emulate` calls and serves BDOS from
//! the registers when PC reaches 0x0005.

use super::Core;
use crate::harness::{self, Console, Memory, Outcome, Stop};
use rustzx_z80::{Opcode, Prefix, Z80Bus, Z80};

pub const CORE: Core = Core {
    name: "rustzx-z80",
    version: env!("Z80BENCH_VERSION_RUSTZX_Z80"),
    peer: true,
    quirks: "BDOS served from the registers at PC = 0x0005; T-states summed from the \
             bus wait callbacks (+4 per I/O cycle); the bench counts emulate() calls",
    trap_overhead: (0, 0),
    run,
};

struct Bus {
    mem: Memory,
    clocks: u64,
}

impl Z80Bus for Bus {
    #[inline(always)]
    fn read_internal(&mut self, addr: u16) -> u8 {
        self.mem[usize::from(addr)]
    }

    #[inline(always)]
    fn write_internal(&mut self, addr: u16, data: u8) {
        self.mem[usize::from(addr)] = data;
    }

    #[inline(always)]
    fn wait_mreq(&mut self, _addr: u16, clk: usize) {
        self.clocks += clk as u64;
    }

    #[inline(always)]
    fn wait_no_mreq(&mut self, _addr: u16, clk: usize) {
        self.clocks += clk as u64;
    }

    #[inline(always)]
    fn wait_internal(&mut self, clk: usize) {
        self.clocks += clk as u64;
    }

    // Same total as the default (one `wait_no_mreq` per clock) without the loop.
    #[inline(always)]
    fn wait_loop(&mut self, _addr: u16, clk: usize) {
        self.clocks += clk as u64;
    }

    fn read_io(&mut self, _port: u16) -> u8 {
        self.clocks += 4;
        0xFF
    }

    fn write_io(&mut self, _port: u16, _data: u8) {
        self.clocks += 4;
    }

    fn read_interrupt(&mut self) -> u8 {
        0xFF
    }

    fn reti(&mut self) {}

    fn halt(&mut self, _halted: bool) {}

    fn int_active(&self) -> bool {
        false
    }

    fn nmi_active(&self) -> bool {
        false
    }

    fn pc_callback(&mut self, _addr: u16) {}

    fn process_unknown_opcode(&mut self, _prefix: Prefix, _opcode: Opcode) {}
}

fn run(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut bus = Bus { mem: harness::memory(image), clocks: 0 };
    let mut cpu = Z80::default();
    cpu.regs.set_pc(harness::LOAD);
    cpu.regs.set_sp(harness::STACK);

    let mut console = Console::default();
    let mut instructions = 0u64;
    let stop = loop {
        if instructions >= max_instructions {
            break Stop::Budget;
        }
        let pc = cpu.regs.get_pc();
        if pc == harness::EXIT {
            break Stop::Exited;
        }
        if pc == harness::BDOS {
            console.bdos(cpu.regs.get_c(), cpu.regs.get_de(), &bus.mem);
        }
        if cpu.is_halted() {
            break Stop::Halted(pc);
        }
        cpu.emulate(&mut bus);
        instructions += 1;
    };
    Ok(console.finish(instructions, bus.clocks, stop))
}
