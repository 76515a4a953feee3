//! zbeam's own core (`zbeam-z80`, kernel/crates/z80), run through its shared CP/M
//! harness `zbeam_z80::cpm` — the one the core's tests and the `z80run` tool use — so
//! this row measures exactly what those run. That harness follows the same rules as
//! [`crate::harness`] (it traps PC = 0x0005 and 0x0000 through `Bus::trap`, serves
//! BDOS 2 and 9 from the registers, then executes the RET), and `Cpu::run` counts the
//! instructions and T-states itself.
//!
//! Differences that do not affect zexdoc: it also treats BDOS function 0 as the end
//! of the run and reports any other function as an error, where the bench's own
//! harness ignores it.

use super::Core;
use crate::harness::{Console, Outcome, Stop};
use zbeam_z80::cpm::{self, CpmError};

pub const CORE: Core = Core {
    name: "zbeam",
    version: env!("CARGO_PKG_VERSION"),
    peer: false,
    quirks: "zbeam_z80::cpm::run_com_limited, the core's own CP/M harness: BDOS served \
             from the registers at PC = 0x0005 via Bus::trap; Cpu::run counts \
             instructions and T-states",
    trap_overhead: (0, 0),
    run,
};

/// The same core and harness on paged, copy-on-write memory (`zbeam_z80::paged`):
/// the loaded program is a shared template, pages are copied as the program writes.
/// Not a peer: it is compared with the `zbeam` row (flat memory) in the same run.
pub const PAGED: Core = Core {
    name: "zbeam-paged",
    version: env!("CARGO_PKG_VERSION"),
    peer: false,
    quirks: "zbeam_z80::cpm::CpmMachine::paged: the same harness on 1 KiB copy-on-write \
             pages from a shared template (the engine's process memory)",
    trap_overhead: (0, 0),
    run: run_paged,
};

fn run(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut console = Console::default();
    let result = cpm::run_com_limited(image, max_instructions, &mut |byte| {
        console.output.push(byte);
    });
    finish(console, result)
}

fn run_paged(image: &[u8], max_instructions: u64) -> Result<Outcome, String> {
    let mut console = Console::default();
    let template = cpm::template(image).map_err(|e| e.to_string())?.ok_or("no memory for the template")?;
    let result = cpm::CpmMachine::paged(&template).run(max_instructions, &mut |byte| {
        console.output.push(byte);
    });
    finish(console, result)
}

fn finish(console: Console, result: Result<cpm::CpmStats, CpmError>) -> Result<Outcome, String> {
    let (stats, stop) = match result {
        Ok(stats) => (stats, Stop::Exited),
        Err(CpmError::InstructionLimit { stats }) => (stats, Stop::Budget),
        Err(CpmError::Halted { pc, stats }) => (stats, Stop::Halted(pc)),
        Err(e) => return Err(e.to_string()),
    };
    Ok(console.finish(stats.instructions, stats.tstates, stop))
}
