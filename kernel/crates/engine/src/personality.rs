//! Personalities: what a Z80 process's traps mean.
//!
//! What: every Z80 process has one of two trap sets. The zbeam one (the system
//! call at `RST 30h`, plus CP/M's warm boot at 0000, BDOS at 0005 and BIOS at
//! FFE0-FFFF, served as before: native and CP/M programs share it, unchanged) and
//! the SymbOS one (`zbeam-symbos`: the restarts 00h-38h and the interbank stubs at
//! FF00-FFFF). The engine's `z80_body` picks it from the image: a file with
//! SymbOS's `SymExe` identification in its header is loaded by [`load`] (the SymbOS
//! loader: relocated into flat memory, with its command line and start frame);
//! anything else runs at 0x0100 over its image's shared page template.
//!
//! The SymbOS side ([`trap`]): the program's session (message queue, SymShell, the
//! file manager over the engine's shared CP/M disk) performs the call. Console
//! output goes out as the process's output, console input comes from the engine's
//! console queue while the process is the foreground reader (`fg`, the shell's
//! `symbos` command). Plain zbeam messages (tag 0) sent to the process join its
//! SymbOS queue, first 14 bytes, from an 8-bit SymbOS id the process's [`IdMap`]
//! gives the sender (17 upwards, on first sight); a SymbOS message to such an id
//! goes to that zbeam pid as a plain 14-byte message. Other tagged messages are
//! dropped. A wait for a message or for console input parks the process until a
//! message or console input arrives; the call then runs again.
//!
//! Why here: the engine knows personalities, not their details (DESIGN.md rule 8);
//! this file is the one place that connects them.

use super::{Call, RunCx, Z80Proc, CALL_COST, RECEIVE_COST, SEND_COST};
use crate::memory::ProcMemory;
use crate::{fault, Pid, Platform, SendError, SpawnError};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use zbeam_sched::{ExitReason, FaultCode, OutReason};
use zbeam_symbos::session::{self, Exit, Peers, Session, TrapEnd};
use zbeam_symbos::{exe, machine, Fault, Key};

/// The trap set of the zbeam (native and CP/M) personality, as a mask of page-zero
/// addresses and the first trapped address at the top of memory.
pub(super) const ZBEAM_TRAPS: (u64, u16) = (super::z80::LOW_TRAPS, zbeam_cpm::BIOS_TRAPS);
/// The SymbOS trap set.
pub(super) const SYMBOS_TRAPS: (u64, u16) = (session::TRAP_MASK, exe::TRANSFER_END as u16);

/// The first SymbOS id given to other zbeam processes.
const FIRST_ID: u8 = 17;
/// The last (255 means "any").
const LAST_ID: u8 = 254;

/// A SymbOS process's side of the engine.
pub(crate) struct Symbos {
    session: Session,
    ids: IdMap,
}

/// 8-bit SymbOS ids for the zbeam pids a program has heard from.
#[derive(Default)]
pub(super) struct IdMap {
    pids: Vec<Pid>,
}

impl IdMap {
    /// The id for `pid`, given on first sight (None when all are taken).
    fn id(&mut self, pid: Pid) -> Option<u8> {
        if let Some(i) = self.pids.iter().position(|&p| p == pid) {
            return Some(FIRST_ID + i as u8);
        }
        if self.pids.len() > (LAST_ID - FIRST_ID) as usize {
            return None;
        }
        self.pids.push(pid);
        Some(FIRST_ID + (self.pids.len() - 1) as u8)
    }

    /// The zbeam pid behind `id`.
    fn pid(&self, id: u8) -> Option<Pid> {
        id.checked_sub(FIRST_ID).and_then(|i| self.pids.get(i as usize)).copied()
    }
}

/// Builds the machine for a SymbOS executable (`bytes` has SymbOS's header, see
/// [`exe::is_symbos`]): relocated into flat memory, with its command line and start
/// frame. `name` gives the program its path on the command line (`A:\NAME.COM`).
/// Other images are built over their shared page template by the engine.
pub(crate) fn load(
    name: &str,
    bytes: &[u8],
    args: &[u8],
    disk: Option<zbeam_cpm::SharedDisk>,
) -> Result<Z80Proc, SpawnError> {
    let mut path = alloc::string::String::from("A:\\");
    path.extend(name.chars().map(|c| c.to_ascii_uppercase()));
    path.push_str(".COM");
    let args = core::str::from_utf8(args).map_err(|_| SpawnError::BadImage)?;
    let (mem, layout, cpu) = machine::prepare(bytes, &path, args).map_err(|e| match e {
        exe::LoadError::NoMemory => SpawnError::OutOfMemory,
        _ => SpawnError::BadImage,
    })?;
    let disk = disk.unwrap_or_else(|| zbeam_cpm::Disk::new().into_shared());
    let session = Session::new(&layout, disk);
    let symbos = Box::new(Symbos { session, ids: IdMap::default() });
    Ok(Z80Proc::symbos(cpu, mem, symbos))
}

/// The SymbOS console: output as the process's, input while it is the foreground reader.
struct Con<'a, 'b, P: Platform> {
    cx: &'a RunCx<'b, P>,
}

impl<P: Platform> zbeam_symbos::Console for Con<'_, '_, P> {
    fn write(&mut self, bytes: &[u8]) {
        self.cx.engine.platform.console_from(self.cx.pid, bytes);
    }
    fn read(&mut self) -> Key {
        match self.cx.engine.console_take(self.cx.pid) {
            Some(b) => Key::Byte(b),
            None => Key::Empty,
        }
    }
    fn ticks(&mut self) -> u32 {
        (self.cx.engine.platform.now_ms() / 10) as u32
    }
}

/// Other zbeam processes, by their SymbOS ids.
struct Others<'a, 'b, P: Platform> {
    cx: &'a RunCx<'b, P>,
    ids: &'a IdMap,
    sent: u64,
}

impl<P: Platform> Peers for Others<'_, '_, P> {
    fn send(&mut self, _from: u8, to: u8, msg: &zbeam_symbos::Message) -> u8 {
        let Some(pid) = self.ids.pid(to) else { return 2 };
        self.sent += SEND_COST;
        match self.cx.engine.send(self.cx.pid, pid, msg) {
            Ok(()) => 1,
            Err(SendError::NoSuchProcess) => 2,
            Err(_) => 0,
        }
    }
}

/// Moves plain messages from the zbeam mailbox into the SymbOS queue while it has room.
fn take_mail<P: Platform>(s: &mut Symbos, cx: &RunCx<'_, P>) -> u64 {
    let mut cost = 0;
    let Some(mut c) = cx.inbox() else { return 0 };
    while s.session.queued() < session::QUEUE {
        let Some(m) = c.pop() else { break };
        // Relaxed: a statistic (queue length for `ps`).
        cx.taken.fetch_add(1, Ordering::Relaxed);
        // The message leaves the mailbox: its charge goes back (what is kept of it
        // lives on in the session's queue, inside the flat memory already charged).
        cx.took(&m);
        cost += RECEIVE_COST;
        if m.tag == 0 {
            if let Some(id) = s.ids.id(m.from) {
                let mut msg = [0u8; 14];
                let n = m.data.len().min(14);
                msg[..n].copy_from_slice(&m.data[..n]);
                s.session.deliver(id, msg);
            }
        }
        cx.recycle(m);
    }
    cost
}

/// Exit codes of the faults the SymbOS personality reports.
fn fault_code(f: Fault) -> u32 {
    match f {
        Fault::Halted(_) => fault::HALT,
        Fault::ForeignBank(_) => fault::SYMBOS_BANK,
        Fault::Unserved(_) | Fault::Interbank(_) | Fault::Reset | Fault::Deadlock => fault::SYMBOS_CALL,
    }
}

/// Performs the SymbOS trap at the program counter. The session returns from the
/// restart itself, so a finished call resumes where the session left the PC.
pub(super) fn trap<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>) -> Call {
    // A SymbOS program's memory is flat from its load on (see [`load`]).
    let (Some(s), ProcMemory::Flat(mem)) = (z.symbos.as_deref_mut(), &mut z.mem) else {
        return Call::Block(CALL_COST, OutReason::Faulted(FaultCode(fault::BAD_CALL)));
    };
    let mut cost = CALL_COST;
    if matches!(z.cpu.pc, session::rst::MSGSLP | session::rst::MSGGET) {
        cost += take_mail(s, cx);
    }
    let mut r = machine::regs_of(&z.cpu);
    let mut con = Con { cx };
    let mut others = Others { cx, ids: &s.ids, sent: 0 };
    let step = s.session.trap(&mut r, mem, &mut con, &mut others);
    cost += others.sent;
    machine::set_regs(&mut z.cpu, &r);
    match step {
        TrapEnd::Continue => Call::Resume(cost),
        TrapEnd::Yield => Call::ResumeStop(cost, OutReason::Yielded),
        TrapEnd::Wait { .. } => Call::Block(cost, OutReason::Waiting { timeout: None }),
        TrapEnd::Exit(Exit::Normal) => Call::Block(cost, OutReason::Exited(ExitReason::Normal)),
        TrapEnd::Exit(Exit::Fault(f)) => Call::Block(cost, OutReason::Faulted(FaultCode(fault_code(f)))),
    }
}

/// HALT with interrupts on: SymbOS's next timer interrupt would end it, so the
/// process leaves the HALT and yields.
pub(super) fn halt(z: &mut Z80Proc) -> Call {
    z.cpu.set_halted(false);
    z.cpu.pc = z.cpu.pc.wrapping_add(1);
    Call::ResumeStop(CALL_COST, OutReason::Yielded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_given_once_and_run_out() {
        let mut m = IdMap::default();
        let p = Pid::from_raw;
        assert_eq!(m.id(p(40)), Some(17));
        assert_eq!(m.id(p(41)), Some(18));
        assert_eq!(m.id(p(40)), Some(17));
        assert_eq!((m.pid(17), m.pid(18), m.pid(19), m.pid(3)), (Some(p(40)), Some(p(41)), None, None));
        for raw in 100..400 {
            m.id(p(raw));
        }
        assert_eq!(m.pids.len(), (LAST_ID - FIRST_ID + 1) as usize);
        assert_eq!(m.id(p(5000)), None);
        assert_eq!(m.pid(LAST_ID), Some(m.pids[m.pids.len() - 1]));
    }
}
