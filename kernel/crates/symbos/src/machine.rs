//! One SymbOS program on the Z80 core, alone: the host's way to run it
//! (`z80run --symbos`, the tests).
//!
//! What: [`Machine::new`] writes the kernel page, loads the executable
//! ([`crate::exe::load`]), writes the command line with SymShell's `%sp` switch and
//! starts the Z80 at the stub that pops the start frame. [`Machine::run`] runs
//! instructions, hands each trap to the [`Session`] and returns when the program
//! ends, waits for console input, or has used its instruction budget. A yield
//! (RST 30h, or HALT with interrupts on: SymbOS's timer would wake it) just goes on:
//! nothing else runs here. A wait for a message that nothing can send ends the
//! program with [`Fault::Deadlock`].

use crate::exe::{self, Layout, LoadError};
use crate::session::{self, Exit, NoPeers, Session, TrapEnd};
use crate::{pid, Console, Fault, Memory, Regs, APP_ID};
use alloc::boxed::Box;
use zbeam_cpm::SharedDisk;
use zbeam_z80::{Bus, Cpu, StopReason};

/// The program's memory, trapping the SymbOS entry points.
pub struct SymBus {
    /// All 64 KiB.
    pub mem: Box<Memory>,
}

impl Bus for SymBus {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.mem[addr as usize]
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.mem[addr as usize] = value;
    }
    fn input(&mut self, _port: u16) -> u8 {
        0xff
    }
    fn output(&mut self, _port: u16, _value: u8) {}
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        !(0x40..0xff00).contains(&pc) && session::is_trap(pc)
    }
}

/// Why [`Machine::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The program ended.
    Exited(Exit),
    /// A SymShell input command waits for the console: run again when a key may be there.
    Input,
    /// The instruction budget is spent.
    Budget,
}

/// A SymbOS program with its CPU, memory and session.
pub struct Machine {
    /// The CPU.
    pub cpu: Cpu,
    /// Its memory.
    pub bus: SymBus,
    /// The SymbOS side.
    pub session: Session,
    /// Where the loader put the program.
    pub layout: Layout,
    /// Instructions run so far.
    pub instructions: u64,
    exit: Option<Exit>,
}

/// Copies the CPU's registers into a [`Regs`].
pub fn regs_of(cpu: &Cpu) -> Regs {
    Regs { af: cpu.af(), bc: cpu.bc(), de: cpu.de(), hl: cpu.hl(), ix: cpu.ix, iy: cpu.iy, sp: cpu.sp, pc: cpu.pc }
}

/// Copies a [`Regs`] back into the CPU.
pub fn set_regs(cpu: &mut Cpu, r: &Regs) {
    cpu.set_af(r.af);
    cpu.set_bc(r.bc);
    cpu.set_de(r.de);
    cpu.set_hl(r.hl);
    cpu.ix = r.ix;
    cpu.iy = r.iy;
    cpu.sp = r.sp;
    cpu.pc = r.pc;
}

/// Loads `file` into fresh memory with the command line `path args`: the memory,
/// the layout and a CPU set to start. Shared by the host machine and the engine. The
/// 64 KiB are allocated fallibly (and never on the stack).
pub fn prepare(file: &[u8], path: &str, args: &str) -> Result<(Box<Memory>, Layout, Cpu), LoadError> {
    let mut v: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
    v.try_reserve_exact(0x1_0000).map_err(|_| LoadError::NoMemory)?;
    v.resize(0x1_0000, 0);
    let mut mem: Box<Memory> = v.into_boxed_slice().try_into().map_err(|_| LoadError::NoMemory)?;
    session::write_kernel_page(&mut mem);
    let layout = exe::load(file, &mut mem, APP_ID, pid::APP)?;
    exe::write_command_line(&mut mem, &layout, path, args, pid::SHELL, crate::shell::TERMINAL);
    let mut cpu = Cpu::new();
    cpu.pc = session::START;
    cpu.sp = layout.stack;
    Ok((mem, layout, cpu))
}

impl Machine {
    /// Loads `file` (named `path` on the command line, followed by `args`) with its
    /// files on `disk`.
    pub fn new(file: &[u8], path: &str, args: &str, disk: SharedDisk) -> Result<Machine, LoadError> {
        let (mem, layout, cpu) = prepare(file, path, args)?;
        let session = Session::new(&layout, disk);
        Ok(Machine { cpu, bus: SymBus { mem }, session, layout, instructions: 0, exit: None })
    }

    /// Runs up to `budget` instructions (traps count as one each).
    pub fn run(&mut self, budget: u64, con: &mut dyn Console) -> Stop {
        if let Some(e) = self.exit {
            return Stop::Exited(e);
        }
        let mut left = budget;
        loop {
            if left == 0 {
                return Stop::Budget;
            }
            let res = self.cpu.run(&mut self.bus, left);
            left -= res.instructions;
            self.instructions += res.instructions;
            let step = match res.reason {
                StopReason::Trap(_) => {
                    let mut r = regs_of(&self.cpu);
                    let step = self.session.trap(&mut r, &mut self.bus.mem, con, &mut NoPeers);
                    set_regs(&mut self.cpu, &r);
                    if step != (TrapEnd::Wait { input: true }) {
                        left = left.saturating_sub(1);
                        self.instructions += 1;
                    }
                    step
                }
                StopReason::BudgetSpent => return Stop::Budget,
                StopReason::BusStop => TrapEnd::Continue,
                StopReason::Halted { interrupts_enabled: true } => {
                    self.cpu.set_halted(false);
                    self.cpu.pc = self.cpu.pc.wrapping_add(1);
                    TrapEnd::Yield
                }
                StopReason::Halted { interrupts_enabled: false } => {
                    self.session.finish();
                    TrapEnd::Exit(Exit::Fault(Fault::Halted(self.cpu.pc)))
                }
            };
            match step {
                TrapEnd::Continue | TrapEnd::Yield => {}
                TrapEnd::Wait { input: true } => return Stop::Input,
                TrapEnd::Wait { input: false } => {
                    self.session.finish();
                    self.exit = Some(Exit::Fault(Fault::Deadlock));
                    return Stop::Exited(Exit::Fault(Fault::Deadlock));
                }
                TrapEnd::Exit(e) => {
                    self.exit = Some(e);
                    return Stop::Exited(e);
                }
            }
        }
    }

    /// Runs to the end with all of `input` typed, then the input ended; returns the
    /// exit and the screen. For tests and scripted runs.
    pub fn run_script(&mut self, input: &[u8], budget: u64) -> (Stop, alloc::vec::Vec<u8>) {
        let mut con = Script { input, at: 0, out: alloc::vec::Vec::new() };
        let mut left = budget;
        loop {
            let before = self.instructions;
            match self.run(left, &mut con) {
                // Script input is all there at once: a wait for it means it has ended.
                Stop::Input => {}
                stop => return (stop, con.out),
            }
            left = left.saturating_sub(self.instructions - before);
            if left == 0 {
                return (Stop::Budget, con.out);
            }
        }
    }
}

/// A console that types `input` and records the screen.
pub struct Script<'a> {
    /// The keys.
    pub input: &'a [u8],
    /// Keys typed so far.
    pub at: usize,
    /// The screen.
    pub out: alloc::vec::Vec<u8>,
}

impl Console for Script<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn read(&mut self) -> crate::Key {
        match self.input.get(self.at) {
            Some(&b) => {
                self.at += 1;
                crate::Key::Byte(b)
            }
            None => crate::Key::Eof,
        }
    }
}
