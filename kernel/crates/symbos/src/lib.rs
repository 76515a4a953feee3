//! zbeam-symbos: the SymbOS personality, so that unmodified SymbOS command-line
//! (SymShell) programs run as zbeam Z80 processes.
//!
//! What, following SymbOS's developer documentation (SymbOS-Applications.txt,
//! -Kernel.txt, -SymShell.txt, -System.txt, -File.txt, -MemoryMap-SVM.txt):
//! * [`exe`]: the executable format and the loader with relocation, the command line
//!   and the start frame (registers popped from the transfer-area stack, then a RET
//!   to the start address; the process id in the frame);
//! * [`session::Session`]: one SymbOS program's view of the system: the kernel
//!   restarts (RST 08h wait, 10h send, 18h poll, 20h/28h bank calls with only the
//!   program's own bank, 30h/38h yield), its message queue with receive-from-one-
//!   sender, and the system processes it talks to by message: the kernel (id 1), the
//!   system manager (id 3, with the file manager) and SymShell;
//! * [`shell`]: SymShell's messages 64-71 served by a [`Console`];
//! * [`files`]: the file manager's functions over zbeam's CP/M disk (`zbeam-cpm`);
//! * [`machine::Machine`]: a Z80 and 64 KiB around a session, to run one program on
//!   the host (`z80run --symbos`, the tests);
//! * [`link`]: building an executable from two assemblies (the `symexe` tool).
//!
//! Why a crate of its own: the engine knows personalities, not their details
//! (DESIGN.md rule 8); everything here is tested on the host. docs/SYMBOS.md lists
//! which SymbOS calls are served and which are refused.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod exe;
pub mod files;
pub mod link;
pub mod machine;
pub mod session;
pub mod shell;

/// A process's memory: its one 64 KiB bank.
pub type Memory = [u8; 0x1_0000];

/// A message: SymbOS messages are at most 14 bytes.
pub type Message = [u8; 14];

/// SymbOS's fixed process ids.
pub mod pid {
    /// The kernel.
    pub const KERNEL: u8 = 1;
    /// The desktop manager (absent here: messages to it are refused as to a missing process).
    pub const DESKTOP: u8 = 2;
    /// The system manager (and through it the file manager).
    pub const SYSTEM: u8 = 3;
    /// SymShell, as this personality numbers it (passed in `%sp`).
    pub const SHELL: u8 = 7;
    /// The program's own main process.
    pub const APP: u8 = 16;
    /// "Any" / "myself" in the restarts' id registers.
    pub const ANY: u8 = 0xff;
}

/// The application id the loader gives the program (its PRGEND names it).
pub const APP_ID: u8 = 2;

/// One input event from the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A byte typed.
    Byte(u8),
    /// Nothing there now.
    Empty,
    /// The input has ended (a closed host stdin); it stays ended.
    Eof,
}

/// The console the program's SymShell talks to: zbeam's serial console, or the
/// host's stdin/stdout.
pub trait Console {
    /// Writes bytes to the screen.
    fn write(&mut self, bytes: &[u8]);
    /// The next key, if one is there now (never blocks).
    fn read(&mut self) -> Key;
    /// A counter that rises 100 times a second (SymbOS's system counter, MTGCNT).
    fn ticks(&mut self) -> u32 {
        0
    }
}

/// The registers a trap reads and writes (the caller copies them from and back to
/// its CPU).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Regs {
    /// AF (F bit 0 = carry, bit 6 = zero).
    pub af: u16,
    /// BC.
    pub bc: u16,
    /// DE.
    pub de: u16,
    /// HL.
    pub hl: u16,
    /// IX.
    pub ix: u16,
    /// IY.
    pub iy: u16,
    /// SP.
    pub sp: u16,
    /// PC.
    pub pc: u16,
}

/// The carry flag in F.
pub const FLAG_C: u8 = 0x01;
/// The zero flag in F.
pub const FLAG_Z: u8 = 0x40;

impl Regs {
    /// A.
    pub fn a(&self) -> u8 {
        (self.af >> 8) as u8
    }
    /// Sets A.
    pub fn set_a(&mut self, a: u8) {
        self.af = (self.af & 0xff) | (a as u16) << 8;
    }
    /// Sets or clears flag bits `mask` in F.
    pub fn set_flag(&mut self, mask: u8, on: bool) {
        let f = self.af as u8;
        let f = if on { f | mask } else { f & !mask };
        self.af = (self.af & 0xff00) | f as u16;
    }
    /// Whether flag `mask` is set.
    pub fn flag(&self, mask: u8) -> bool {
        self.af as u8 & mask != 0
    }
    /// Sets the file manager's error state: carry clear, or carry set and A = `code`.
    pub fn set_result(&mut self, r: Result<(), u8>) {
        match r {
            Ok(()) => self.set_flag(FLAG_C, false),
            Err(code) => {
                self.set_a(code);
                self.set_flag(FLAG_C, true);
            }
        }
    }
}

/// Reads a little-endian word.
pub(crate) fn word(mem: &Memory, at: u16) -> u16 {
    u16::from_le_bytes([mem[at as usize], mem[at.wrapping_add(1) as usize]])
}

/// Writes a little-endian word.
pub(crate) fn set_word(mem: &mut Memory, at: u16, v: u16) {
    let [lo, hi] = v.to_le_bytes();
    mem[at as usize] = lo;
    mem[at.wrapping_add(1) as usize] = hi;
}

/// Ok if `bank` is the program's own; the fault otherwise.
pub(crate) fn own_bank(bank: u8) -> Result<(), Fault> {
    if bank == exe::BANK {
        Ok(())
    } else {
        Err(Fault::ForeignBank(bank))
    }
}

/// Why a SymbOS program was stopped by the personality (its exit reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A call named a bank other than the program's own (only bank 1 is present).
    ForeignBank(u8),
    /// A bank call (RST 20h/28h) to a kernel address this personality does not serve.
    Unserved(u16),
    /// A jump into the interbank stubs (FF00-FFFF): only one bank exists.
    Interbank(u16),
    /// A jump to 0000 (reset).
    Reset,
    /// HALT with interrupts off: nothing can wake the program.
    Halted(u16),
    /// It waits for a message no one can send (host runs only: nothing else is there).
    Deadlock,
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Fault::ForeignBank(b) => write!(f, "bank {b} is not present (only the program's own bank 1)"),
            Fault::Unserved(a) => write!(f, "kernel function #{a:04X} is not served"),
            Fault::Interbank(a) => write!(f, "interbank call to #{a:04X}: only one bank is present"),
            Fault::Reset => f.write_str("jump to #0000 (reset)"),
            Fault::Halted(pc) => write!(f, "HALT with interrupts off at #{pc:04X}"),
            Fault::Deadlock => f.write_str("waits for a message no process can send"),
        }
    }
}
