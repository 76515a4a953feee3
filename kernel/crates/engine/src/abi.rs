//! The Z80 system interface: how a Z80 program asks zbeam for something.
//!
//! Entry: `RST 30h` (opcode 0xF7) with the function number in A and up to three
//! 16-bit arguments in BC, DE and HL (the tag functions also read IX). The engine
//! traps the program counter at [`SYSCALL`], performs the call and returns as if a
//! `RET` stood there, with the status in A (0 = [`OK`]) and results in BC, DE and HL;
//! other registers are kept. Bad arguments to a known function return a status; an
//! unknown function number is a fault ([`crate::fault::BAD_CALL`]) that ends the
//! process, and its links and monitors see the reason. The full reference, with
//! message and exit-signal layouts, is `docs/ABI.md`.
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
    /// Spawn with options: DE = image number, HL = a [`SPAWN_OPTS_LEN`]-byte options
    /// block (see [`crate::abi::spawn_opts`]) -> HL = the child's pid, DE = the monitor
    /// reference when the MONITOR flag was given.
    pub const SPAWN_OPT: u8 = 9;
    /// Send with a tag: DE = target pid, HL = buffer, BC = length, IX = tag
    /// (0..=[`crate::abi::MAX_USER_TAG`]).
    pub const SEND_TAG: u8 = 10;
    /// Selective receive: DE = buffer, BC = capacity, HL = timeout, IX = tag to match
    /// (0..=0xFF) or [`crate::abi::ANY_TAG`] -> BC = length, DE = sender, L = tag, H = 0.
    pub const RECV_TAG: u8 = 11;
    /// Link: DE = pid.
    pub const LINK: u8 = 12;
    /// Unlink: DE = pid.
    pub const UNLINK: u8 = 13;
    /// Monitor: DE = pid -> HL = reference.
    pub const MONITOR: u8 = 14;
    /// Demonitor: DE = reference (a DOWN already queued for it is removed).
    pub const DEMONITOR: u8 = 15;
    /// Trap exits: E = 1 to trap, 0 not to -> E = the previous setting.
    pub const TRAP_EXIT: u8 = 16;
    /// Exit signal: DE = pid, HL = reason (as a linked process's exit would).
    pub const SIGNAL: u8 = 17;
    /// Kill: DE = pid; untrappable, the target exits with reason KILLED.
    pub const KILL: u8 = 18;
    /// Register a name: HL = name, BC = length (1..=[`crate::abi::MAX_NAME`]).
    pub const REGISTER: u8 = 19;
    /// Unregister a name: HL = name, BC = length.
    pub const UNREGISTER: u8 = 20;
    /// Look a name up: HL = name, BC = length -> HL = pid.
    pub const WHEREIS: u8 = 21;
    /// Console read: HL = timeout in ms (0 = poll, 0xFFFF = forever) -> E = the byte.
    pub const READ: u8 = 22;
    /// Number of functions (anything at or above is a fault).
    pub const COUNT: u8 = 23;
}

/// Message tags. Tags at or above [`RESERVED_TAGS`] are sent only by the system.
pub mod tag {
    /// What plain SEND uses.
    pub const PLAIN: u8 = 0;
    /// An exit signal turned into a message (trapping exits): data = pid (4), reason (2).
    pub const EXIT: u8 = 0xff;
    /// A monitor's notice: data = reference (2), pid (4), reason (2).
    pub const DOWN: u8 = 0xfe;
}

/// The data of a [`tag::EXIT`] message: `pid` (4 bytes, little-endian), `reason` (2).
pub fn exit_message(pid: crate::Pid, reason: u16) -> [u8; 6] {
    let mut data = [0u8; 6];
    data[0..4].copy_from_slice(&pid.get().to_le_bytes());
    data[4..6].copy_from_slice(&reason.to_le_bytes());
    data
}

/// The (pid, reason) of an exit-signal message (None if `m` is not one).
pub fn parse_exit_message(m: &crate::Message) -> Option<(crate::Pid, u16)> {
    if m.tag != tag::EXIT || m.data.len() != 6 {
        return None;
    }
    let d = &m.data;
    let pid = crate::Pid::from_raw(u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
    Some((pid, u16::from_le_bytes([d[4], d[5]])))
}

/// The data of a [`tag::DOWN`] message: reference `mref` (2 bytes), `pid` (4),
/// `reason` (2), little-endian.
pub fn down_message(mref: u16, pid: crate::Pid, reason: u16) -> [u8; 8] {
    let mut data = [0u8; 8];
    data[0..2].copy_from_slice(&mref.to_le_bytes());
    data[2..6].copy_from_slice(&pid.get().to_le_bytes());
    data[6..8].copy_from_slice(&reason.to_le_bytes());
    data
}

/// First tag reserved for the system.
pub const RESERVED_TAGS: u8 = 0xf0;
/// Highest tag SEND_TAG accepts.
pub const MAX_USER_TAG: u8 = RESERVED_TAGS - 1;
/// RECV_TAG filter that matches every tag.
pub const ANY_TAG: u16 = 0xffff;
/// Longest registered name in bytes.
pub const MAX_NAME: usize = 16;
/// Most names registered at once.
pub const MAX_NAMES: usize = 256;
/// Console input bytes buffered for the reader; more are dropped.
pub const CONSOLE_QUEUE: usize = 256;
/// Length of the SPAWN_OPT options block.
pub const SPAWN_OPTS_LEN: usize = 14;

/// The SPAWN_OPT options block, byte offsets and values.
pub mod spawn_opts {
    /// Argument bytes address (2 bytes).
    pub const ARGS: usize = 0;
    /// Argument length (1 byte, at most 127).
    pub const ARGS_LEN: usize = 2;
    /// Priority (1 byte): 0 max, 1 high, 2 normal, 3 low, [`INHERIT`] the caller's.
    pub const PRIO: usize = 3;
    /// Flags (1 byte): [`Flags`]; other bits must be 0.
    pub const FLAGS: usize = 4;
    /// Memory limit (1 byte) in units of [`MEMORY_UNIT`] bytes; 0 = the default
    /// (`zbeam_engine::memory::DEFAULT_LIMIT`, 1 MiB). A process whose memory (its
    /// copied pages, its CP/M memory and its queued messages) would pass it ends with
    /// reason [`crate::abi::reason::MEMORY`].
    pub const MEMORY: usize = 5;
    /// Bytes per unit of the [`MEMORY`] byte (4 KiB: limits from 4 KiB to 1020 KiB).
    pub const MEMORY_UNIT: usize = 4096;
    /// Affinity (8 bytes, bit c = core c; 0 = the caller's).
    pub const AFFINITY: usize = 6;
    /// Priority value meaning "the caller's".
    pub const INHERIT: u8 = 0xff;
    bitflags::bitflags! {
        /// The [`FLAGS`] byte.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Flags: u8 {
            /// Link the child to the caller before it runs.
            const LINK = 1;
            /// Monitor the child; the reference comes back in DE.
            const MONITOR = 2;
        }
    }
}

/// Exit reasons: 16-bit codes carried by exit signals and DOWN messages.
pub mod reason {
    /// A normal exit (EXIT with E = 0, RET from the top level, warm boot).
    pub const NORMAL: u16 = 0;
    /// Highest code a process chooses itself (EXIT's E, SIGNAL's HL below 0x8000).
    pub const MAX_CODE: u16 = 0x7fff;
    /// Killed (KILL, the console's `kill`, or an exit signal with this reason).
    pub const KILLED: u16 = 0x8001;
    /// The pid named no live process (LINK or MONITOR of a dead pid).
    pub const NOPROC: u16 = 0x8002;
    /// Stopped by its supervisor, or a supervisor gave up (restart intensity).
    pub const SHUTDOWN: u16 = 0x8003;
    /// Its memory limit, or the memory the system can give processes, refused memory
    /// it needed: a page its write would copy, a message sent to it, its CP/M memory.
    pub const MEMORY: u16 = 0x8004;
    /// Faults: this plus the fault code ([`crate::fault`]).
    pub const FAULT: u16 = 0x8100;
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
    /// No longer returned: an unknown function number is a fault
    /// ([`crate::fault::BAD_CALL`]); kept so the number is never reused.
    pub const BAD_CALL: u8 = 5;
    /// The process table or memory is full.
    pub const NO_RESOURCES: u8 = 6;
    /// No such image.
    pub const BAD_IMAGE: u8 = 7;
    /// The message was longer than the receive buffer; the buffer holds its start and
    /// BC the full length.
    pub const TRUNCATED: u8 = 8;
    /// An argument is out of range (priority, affinity, flags, tag, name length, ...).
    pub const BAD_ARG: u8 = 9;
    /// No such name or monitor reference.
    pub const NOT_FOUND: u8 = 10;
    /// The name is taken, or the caller already has a name.
    pub const NAME_TAKEN: u8 = 11;
}

pub use status::OK;

/// Whether [addr, addr + len) lies inside the 64 KiB address space.
pub fn buffer_ok(addr: u16, len: usize) -> bool {
    addr as usize + len <= 0x1_0000
}

/// Engine errors as system-call statuses: the one place they are mapped, used by the
/// system-call decoder and by anything else that reports an engine error to a program.
mod errors {
    use super::status;
    use crate::{LinkError, NameError, SendError, SpawnError};

    impl SendError {
        /// The status SEND and SEND_TAG return for this refusal.
        pub fn status(self) -> u8 {
            match self {
                SendError::NoSuchProcess => status::BAD_PID,
                SendError::TooBig => status::TOO_BIG,
                SendError::NoMemory => status::NO_RESOURCES,
            }
        }
    }

    impl SpawnError {
        /// The status SPAWN and SPAWN_OPT return for this refusal.
        pub fn status(self) -> u8 {
            match self {
                SpawnError::NoSuchImage | SpawnError::BadImage => status::BAD_IMAGE,
                SpawnError::ArgsTooLong => status::TOO_BIG,
                SpawnError::EmptyAffinity => status::BAD_ARG,
                SpawnError::TableFull | SpawnError::OutOfMemory | SpawnError::Limit | SpawnError::Frozen => {
                    status::NO_RESOURCES
                }
            }
        }
    }

    impl LinkError {
        /// The status LINK, UNLINK, MONITOR and SIGNAL return for this refusal.
        pub fn status(self) -> u8 {
            match self {
                LinkError::BadPid => status::BAD_PID,
                LinkError::Limit => status::NO_RESOURCES,
            }
        }
    }

    impl NameError {
        /// The status REGISTER, UNREGISTER and WHEREIS return for this refusal.
        pub fn status(self) -> u8 {
            match self {
                NameError::BadName => status::BAD_ARG,
                NameError::BadPid => status::BAD_PID,
                NameError::Taken => status::NAME_TAKEN,
                NameError::NotFound => status::NOT_FOUND,
                NameError::Full => status::NO_RESOURCES,
            }
        }
    }
}
