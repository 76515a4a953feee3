//! The Z80 system interface: how a Z80 program asks zbeam for something.
//!
//! Entry: `RST 30h` (opcode 0xF7) with the function number in A and up to three
//! 16-bit arguments in BC, DE and HL. The engine traps the program counter at
//! [`SYSCALL`], performs the call and returns as if a `RET` stood there, with the
//! status in A (0 = [`OK`]) and results in BC, DE and HL; other registers are kept.
//! A call that must wait (a receive with nothing queued, a sleep) leaves the program
//! counter at [`SYSCALL`]; when the process runs again the call is simply retried, so
//! waiting costs the Z80 program nothing.
//!
//! CP/M programs use `CALL 5` (BDOS, function in C); the engine traps [`BDOS`] the
//! same way, and a jump to 0x0000 (CP/M warm boot) ends the process normally.
//!
//! Memory map of a process (64 KiB of its own): 0x0000 warm boot, 0x0005 BDOS entry,
//! 0x0030 the system-call entry, 0x0080 the argument block (length byte, then up to
//! 127 bytes), 0x0100 the program image, stack from [`STACK_TOP`] down with 0x0000
//! pushed, so a `RET` from the program's top level is a normal exit.

/// Address trapped for system calls (the `RST 30h` vector).
pub const SYSCALL: u16 = 0x0030;
/// Address trapped for CP/M BDOS calls.
pub const BDOS: u16 = 0x0005;
/// Address whose execution is a CP/M warm boot: the process exits normally.
pub const WARM_BOOT: u16 = 0x0000;
/// Where the argument block starts (length byte first).
pub const ARGS: u16 = 0x0080;
/// Longest argument block.
pub const MAX_ARGS: usize = 127;
/// Where images are loaded and started.
pub const LOAD: u16 = 0x0100;
/// Initial stack pointer (top of the CP/M TPA); also the word stored at 0x0006.
pub const STACK_TOP: u16 = 0xfe00;
/// Largest image: from [`LOAD`] up to the stack area.
pub const MAX_IMAGE: usize = (STACK_TOP - LOAD) as usize - 0x100;
/// Largest message payload in bytes.
pub const MAX_MESSAGE: usize = 1024;
/// Receive timeout value that means "wait forever".
pub const INFINITY: u16 = 0xffff;

/// Function numbers (in A).
pub mod func {
    /// Exit: E = reason code (0 = normal).
    pub const EXIT: u8 = 0;
    /// Own pid -> HL.
    pub const SELF: u8 = 1;
    /// Send: DE = target pid, HL = buffer, BC = length (at most MAX_MESSAGE).
    pub const SEND: u8 = 2;
    /// Receive: DE = buffer, BC = capacity, HL = timeout in ms (0 = poll,
    /// 0xFFFF = forever) -> BC = length, DE = sender pid; A = TIMEOUT when none came.
    pub const RECEIVE: u8 = 3;
    /// Spawn: DE = image number, HL = argument bytes, BC = their length (at most 127)
    /// -> HL = the child's pid. Priority and affinity are inherited.
    pub const SPAWN: u8 = 4;
    /// Yield the rest of the time slice.
    pub const YIELD: u8 = 5;
    /// Sleep: HL = milliseconds.
    pub const SLEEP: u8 = 6;
    /// Time since boot in milliseconds -> DE:HL (high word in DE).
    pub const TIME: u8 = 7;
    /// Console write: HL = buffer, BC = length.
    pub const WRITE: u8 = 8;
}

/// Status codes (in A).
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// A receive found no message within its timeout.
    pub const TIMEOUT: u8 = 1;
    /// No live process has that pid.
    pub const BAD_PID: u8 = 2;
    /// A buffer runs past the end of the 64 KiB address space.
    pub const BAD_BUFFER: u8 = 3;
    /// A message or argument block is longer than allowed.
    pub const TOO_BIG: u8 = 4;
    /// No such function.
    pub const BAD_CALL: u8 = 5;
    /// The process table or memory is full.
    pub const NO_RESOURCES: u8 = 6;
    /// No such image.
    pub const BAD_IMAGE: u8 = 7;
    /// The message was longer than the receive buffer; the buffer holds its start and
    /// BC the full length.
    pub const TRUNCATED: u8 = 8;
}

pub use status::OK;

/// Whether [addr, addr + len) lies inside the 64 KiB address space.
pub fn buffer_ok(addr: u16, len: usize) -> bool {
    addr as usize + len <= 0x1_0000
}
