//! `iz80`: `Cpu::execute_instruction` runs one instruction through a `&mut dyn Machine`
//! (the crate's API is dynamically dispatched) and keeps its own T-state total in
//! `cycle_count()`. BDOS is served from C and DE when PC reaches 0x0005; the bench
//! counts `execute_instruction` calls.
//!
//! iz80 0.5.1's timings differ from the others' for some instructions: a correct run
//! gives 47,281,066,572 T-states instead of the reference 46,734,977,142.

use super::Core;
use crate::harness::{self, Console, Memory, Outcome, Stop};
use iz80::{Cpu, Machine, Reg16, Reg8};

pub const CORE: Core = Core {
    name: "iz80",
    version: env!("Z80BENCH_VERSION_IZ80"),
    peer: true,
    quirks: "BDOS served from the registers at PC = 0x0005; T-states from cycle_count() \
             (its timing tables give 47,281,066,572 T for zexdoc, not the reference); \
             the bench counts execute_instruction() calls, which go through &mut dyn Machine",
    trap_overhead: (0, 0),
    run,
};

struct Flat {
    mem: Memory,
}

impl Machine for Flat {
    #[inline(always)]
    fn peek(&mut self, address: u16) -> u8 {
        self.mem[usize::from(address)]
    }

    #[inline(always)]
    fn poke(&mut self, address: u16, value: u8) {
        self.mem[usize::from(address)] = value;
    }

    fn port_in(&mut self, _address: u16) -> u8 {
        0xFF
    }

    fn port_out(&mut self, _address: u16, _value: u8) {}
}

fn run(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut machine = Flat { mem: harness::memory(image) };
    let mut cpu = Cpu::new_z80();
    cpu.registers().set_pc(harness::LOAD);
    cpu.registers().set16(Reg16::SP, harness::STACK);

    let mut console = Console::default();
    let mut instructions = 0u64;
    let stop = loop {
        if instructions >= max_instructions {
            break Stop::Budget;
        }
        let regs = cpu.immutable_registers();
        let pc = regs.pc();
        if pc == harness::EXIT {
            break Stop::Exited;
        }
        if pc == harness::BDOS {
            console.bdos(regs.get8(Reg8::C), regs.get16(Reg16::DE), &machine.mem);
        }
        if cpu.is_halted() {
            break Stop::Halted(pc);
        }
        cpu.execute_instruction(&mut machine);
        instructions += 1;
    };
    Ok(console.finish(instructions, cpu.cycle_count(), stop))
}
