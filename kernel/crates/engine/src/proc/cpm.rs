//! The CP/M bridge: BDOS calls (`CALL 5`) and the BIOS entry points a Z80 process
//! jumps to, performed by `zbeam_cpm` over the process's flat memory and console.

use super::z80::{go_flat, Z80Proc, CPM_STATE, OUT_OF_MEMORY};
use super::{Call, RunCx, CALL_COST};
use crate::fault;
use crate::memory::ProcMemory;
use crate::Platform;
use alloc::boxed::Box;
use zbeam_sched::{ExitReason, FaultCode, OutReason};

/// CP/M: a BDOS call (function in C) or, with `bios`, the BIOS entry point trapped
/// there, performed by `zbeam_cpm` on a copy of the registers. The process's BDOS is
/// made at its first call, over the engine's shared CP/M disk if one is set then,
/// else over a disk of its own. A call that needs console input waits (untimed: the
/// engine wakes the foreground reader when input comes) and is retried.
pub(super) fn call<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, bios: Option<u16>) -> Call {
    if z.cpm.is_none() && !start_cpm(z, cx) {
        return Call::Block(CALL_COST, OUT_OF_MEMORY);
    }
    let (Some(bdos), ProcMemory::Flat(mem)) = (z.cpm.as_mut(), &mut z.mem) else {
        return Call::Block(CALL_COST, OUT_OF_MEMORY);
    };
    let mut regs = zbeam_cpm::Regs { a: z.cpu.a, bc: z.cpu.bc(), de: z.cpu.de(), hl: z.cpu.hl() };
    let mut io = CpmConsole { cx };
    let outcome = match bios {
        Some(pc) => bdos.bios(pc, &mut regs, mem, &mut io),
        None => bdos.call(z.cpu.c, &mut regs, mem, &mut io),
    };
    let cost = CALL_COST + bdos.last_bytes() as u64 / 64;
    z.cpu.a = regs.a;
    z.cpu.set_bc(regs.bc);
    z.cpu.set_de(regs.de);
    z.cpu.set_hl(regs.hl);
    match outcome {
        zbeam_cpm::Outcome::Done => Call::Done(cost),
        zbeam_cpm::Outcome::WaitForInput => Call::Block(cost, OutReason::Waiting { timeout: None }),
        zbeam_cpm::Outcome::Exit => Call::Block(cost, OutReason::Exited(ExitReason::Normal)),
        zbeam_cpm::Outcome::Error(_) => Call::Block(cost, OutReason::Faulted(FaultCode(fault::BDOS))),
    }
}

/// A process's first CP/M call: its memory becomes flat (the BDOS works on the whole
/// address space, see [`go_flat`]) and its BDOS state is made, over the engine's shared
/// CP/M disk if one is set, else over a disk of its own; the state is charged to it.
/// False if it cannot pay for them.
fn start_cpm<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>) -> bool {
    if cx.account.charge(CPM_STATE, cx.budget()).is_err() {
        return false;
    }
    if !go_flat(z, cx) {
        cx.account.uncharge(CPM_STATE, cx.budget());
        return false;
    }
    z.cpm = Some(Box::new(match cx.engine.cpm_disk() {
        Some(disk) => zbeam_cpm::Bdos::with_shared(disk),
        None => zbeam_cpm::Bdos::new(),
    }));
    true
}

/// The console of a CP/M process: output as the process's console output, input
/// from the engine's console queue when the process is the foreground reader.
struct CpmConsole<'a, 'b, P: Platform> {
    cx: &'a RunCx<'b, P>,
}

impl<P: Platform> zbeam_cpm::ConsoleIo for CpmConsole<'_, '_, P> {
    fn write(&mut self, bytes: &[u8]) {
        self.cx.engine.platform.console_from(self.cx.pid, bytes);
    }
    fn read(&mut self) -> Option<u8> {
        self.cx.engine.console_take(self.cx.pid)
    }
}
