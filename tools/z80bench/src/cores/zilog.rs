//! `zilog_z80`: `CPU::execute` runs one instruction and returns its T-states; the
//! registers are public fields, so BDOS is served from C and DE when PC reaches 0x0005.
//! The bench counts `execute` calls.

use super::Core;
use crate::harness::{self, Console, Memory, Outcome, Stop};
use zilog_z80::bus::Bus;
use zilog_z80::cpu::CPU;

pub const CORE: Core = Core {
    name: "zilog_z80",
    version: env!("Z80BENCH_VERSION_ZILOG_Z80"),
    peer: true,
    quirks: "BDOS served from the registers at PC = 0x0005; execute() returns \
             T-states, the bench counts execute() calls",
    trap_overhead: (0, 0),
    run,
};

struct Flat {
    mem: Memory,
}

impl Bus for Flat {
    #[inline(always)]
    fn read_byte(&self, address: u16) -> u8 {
        self.mem[usize::from(address)]
    }

    #[inline(always)]
    fn write_byte(&mut self, address: u16, data: u8) {
        self.mem[usize::from(address)] = data;
    }
}

fn run(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut bus = Flat { mem: harness::memory(image) };
    let mut cpu = CPU::new();
    cpu.reg.pc = harness::LOAD;
    cpu.reg.sp = harness::STACK;

    let mut console = Console::default();
    let (mut instructions, mut tstates) = (0u64, 0u64);
    let stop = loop {
        if instructions >= max_instructions {
            break Stop::Budget;
        }
        let pc = cpu.reg.pc;
        if pc == harness::EXIT {
            break Stop::Exited;
        }
        if pc == harness::BDOS {
            console.bdos(cpu.reg.c, cpu.reg.get_de(), &bus.mem);
        }
        if cpu.is_halted() {
            break Stop::Halted(pc);
        }
        tstates += u64::from(cpu.execute(&mut bus));
        instructions += 1;
    };
    if let Some(op) = cpu.take_unimplemented() {
        return Err(format!(
            "unimplemented instruction {:02X?} at {:04X} ({} in all)",
            &op.bytes[..usize::from(op.len)],
            op.address,
            cpu.unimplemented_count()
        ));
    }
    Ok(console.finish(instructions, tstates, stop))
}
