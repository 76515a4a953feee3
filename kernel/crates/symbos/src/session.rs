//! One SymbOS program's view of the system: the kernel restarts, its message queue
//! and the system processes that answer it (SymbOS-Kernel.txt, -System.txt).
//!
//! What: the program's memory holds a `RET` at each restart address in the kernel
//! page; the caller traps the program counter there (see [`is_trap`]) and calls
//! [`Session::trap`], which performs the call on the registers and returns as the
//! `RET` would, or says that the program waits, yields or ends.
//!
//! | restart | here |
//! |---|---|
//! | RST 08h MSGSLP | receive (IXH = sender or -1); with nothing there the program waits ([`TrapEnd::Wait`]) and retries |
//! | RST 10h MSGSND | send 14 bytes at IY from IXL (-1 = self) to IXH; status 1 sent, 0 queue full, 2 no such process |
//! | RST 18h MSGGET | receive without waiting: IXL = 1 and IXH = sender, or IXL = 0 |
//! | RST 20h BNKSCL, 28h BNKFCL | the kernel functions below, in the program's own bank only |
//! | RST 30h MTSOFT, 38h MTHARD | yield |
//! | 0000, FF00-FFFF | end the program ([`Fault::Reset`], [`Fault::Interbank`]) |
//!
//! Kernel functions (bank 1 is the program's; any other bank ends it with
//! [`Fault::ForeignBank`]; other addresses with [`Fault::Unserved`]): MEMSUM 8100,
//! MTGCNT 8109, MEMGET 8118 (from the bank's free space), MEMFRE 811B, BNKMBT 8121,
//! BNKRWD 8124, BNKWWD 8127, BNKRBT 812A, BNKWBT 812D, BNKCOP 8130, BNKGET 8133,
//! MTGPID 816C.
//!
//! Processes the program can message: itself (the SymShell library re-posts a
//! message that came out of turn to itself, with the sender it came from, so any
//! sender id is accepted), the kernel (1: commands 1-10 are answered 129-138; adding
//! a process, timer or counter fails with status 1, the rest are acknowledged), the
//! system manager (3: 17 ends the program, 26 calls the file manager and answers
//! 154, 16 and 30 are answered "failed", other commands are ignored as they have no
//! response) and SymShell ([`crate::pid::SHELL`], see [`crate::shell`]). Other ids
//! go to [`Peers`] (other SymbOS programs, when the host has them), or answer 2.
//! A queue holds at most [`QUEUE`] messages; a full one answers 0.

use crate::files::FileManager;
use crate::shell::Shell;
use crate::{exe, own_bank, pid, set_word, word, Console, Fault, Memory, Message, Regs, APP_ID, FLAG_C};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use zbeam_cpm::SharedDisk;

/// Messages waiting for one program, at most.
pub const QUEUE: usize = 64;
/// Free ranges MEMGET keeps, at most: a MEMGET that would split a range beyond this
/// fails, and a MEMFRE that would add one is forgotten (its memory stays in use), so a
/// program cannot make the kernel hold a long list for it.
pub const FREE_RANGES: usize = 32;

/// Restart addresses.
pub mod rst {
    /// Wait for a message.
    pub const MSGSLP: u16 = 0x08;
    /// Send.
    pub const MSGSND: u16 = 0x10;
    /// Poll.
    pub const MSGGET: u16 = 0x18;
    /// Bank call with the address after the RST.
    pub const BNKSCL: u16 = 0x20;
    /// Bank call with the address in HL.
    pub const BNKFCL: u16 = 0x28;
    /// Yield.
    pub const MTSOFT: u16 = 0x30;
    /// The timer interrupt's restart; a program calling it yields.
    pub const MTHARD: u16 = 0x38;
}

/// Kernel function addresses.
pub mod kfn {
    /// Memory summary.
    pub const MEMSUM: u16 = 0x8100;
    /// System counter.
    pub const MTGCNT: u16 = 0x8109;
    /// Allocate memory.
    pub const MEMGET: u16 = 0x8118;
    /// Free memory.
    pub const MEMFRE: u16 = 0x811b;
    /// Modify a byte.
    pub const BNKMBT: u16 = 0x8121;
    /// Read a word.
    pub const BNKRWD: u16 = 0x8124;
    /// Write a word.
    pub const BNKWWD: u16 = 0x8127;
    /// Read a byte.
    pub const BNKRBT: u16 = 0x812a;
    /// Write a byte.
    pub const BNKWBT: u16 = 0x812d;
    /// Copy.
    pub const BNKCOP: u16 = 0x8130;
    /// The program's bank.
    pub const BNKGET: u16 = 0x8133;
    /// The program's process id.
    pub const MTGPID: u16 = 0x816c;
}

/// The system manager's commands served.
pub mod sys {
    /// Start a program (refused).
    pub const PRGRUN: u8 = 16;
    /// End a program.
    pub const PRGEND: u8 = 17;
    /// File manager call.
    pub const SYSFIL: u8 = 26;
    /// Shared services (refused).
    pub const PRGSRV: u8 = 30;
    /// The file manager's answer.
    pub const SYSFIL_REPLY: u8 = 154;
}

/// Whether the caller must trap `pc` for a SymbOS program: the reset address, the
/// restarts 08h-38h, and the interbank stubs from FF00.
pub fn is_trap(pc: u16) -> bool {
    (pc <= 0x38 && pc & 7 == 0) || pc >= exe::TRANSFER_END as u16
}

/// The restarts as a mask over the addresses 0..64 (bit n = address n), for
/// callers that test page zero with one shift.
pub const TRAP_MASK: u64 = 0x0101_0101_0101_0101;

/// Other SymbOS programs a session can message (the engine provides them; on the
/// host there are none).
pub trait Peers {
    /// Delivers `msg` from `from` to program `to`; the status for IXL (1 sent, 0 queue
    /// full, 2 no such process).
    fn send(&mut self, from: u8, to: u8, msg: &Message) -> u8;
}

/// No other programs.
pub struct NoPeers;

impl Peers for NoPeers {
    fn send(&mut self, _: u8, _: u8, _: &Message) -> u8 {
        2
    }
}

/// How a trap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapEnd {
    /// Done: continue at the (already set) program counter.
    Continue,
    /// Yield the processor (RST 30h): continue later.
    Yield,
    /// Waiting in RST 08h for a message: call [`Session::trap`] again with the same
    /// registers once a message may have arrived (or, `input` true, console input
    /// for a pending SymShell command).
    Wait {
        /// A SymShell input command waits for the console.
        input: bool,
    },
    /// The program has ended.
    Exit(Exit),
}

/// Why a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It asked the system manager to end it (PRGEND) or deleted its own process.
    Normal,
    /// The personality stopped it.
    Fault(Fault),
}

/// A free range in the bank for MEMGET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Free {
    at: u32,
    len: u32,
}

/// One SymbOS program's system.
pub struct Session {
    queue: VecDeque<(u8, Message)>,
    shell: Shell,
    files: FileManager,
    free: Vec<Free>,
    exited: bool,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session").field("queue", &self.queue.len()).field("shell", &self.shell).finish()
    }
}

/// Writes the kernel page: a `RET` at each restart, the start stub at 0x0100 (POP IY,
/// POP IX, POP HL, POP DE, POP BC, POP AF, RET: the start frame), and `RET`s over
/// the interbank stubs.
pub fn write_kernel_page(mem: &mut Memory) {
    mem[..exe::APP_START as usize].fill(0);
    for a in (0..=0x38).step_by(8) {
        mem[a] = 0xc9;
    }
    mem[START as usize..START as usize + 11]
        .copy_from_slice(&[0xfd, 0xe1, 0xdd, 0xe1, 0xe1, 0xd1, 0xc1, 0xf1, 0xc9, 0x00, 0x00]);
    mem[exe::TRANSFER_END as usize..].fill(0xc9);
}

/// Where a program starts: the stub that pops the start frame.
pub const START: u16 = 0x0100;

impl Session {
    /// A session for the program loaded with `layout`, its files on `disk`.
    pub fn new(layout: &exe::Layout, disk: SharedDisk) -> Session {
        // MEMGET hands out what the areas leave free below the interbank stubs.
        let mut free = Vec::new();
        let ends = [
            (layout.addr[1] as u32 + layout.total[1] as u32, layout.addr[2] as u32),
            (layout.addr[2] as u32 + layout.total[2] as u32, exe::TRANSFER_END),
        ];
        for (from, to) in ends {
            if to > from {
                free.push(Free { at: from, len: to - from });
            }
        }
        Session { queue: VecDeque::new(), shell: Shell::new(), files: FileManager::new(disk), free, exited: false }
    }

    /// Messages waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queues a message from `from` (another program, through the host); false if the
    /// queue is full.
    pub fn deliver(&mut self, from: u8, msg: Message) -> bool {
        if self.queue.len() >= QUEUE {
            return false;
        }
        self.queue.push_back((from, msg));
        true
    }

    /// Whether a SymShell input command waits for the console.
    pub fn waits_for_input(&self) -> bool {
        self.shell.waits_for_input()
    }

    /// Ends the program's session: closes its open files.
    pub fn finish(&mut self) {
        if !self.exited {
            self.exited = true;
            self.files.close_all();
        }
    }

    /// Performs the trap at `r.pc`.
    pub fn trap(&mut self, r: &mut Regs, mem: &mut Memory, con: &mut dyn Console, peers: &mut dyn Peers) -> TrapEnd {
        let step = match self.dispatch(r, mem, con, peers) {
            Ok(s) => s,
            Err(f) => TrapEnd::Exit(Exit::Fault(f)),
        };
        if let TrapEnd::Exit(_) = step {
            self.finish();
        }
        step
    }

    fn dispatch(
        &mut self,
        r: &mut Regs,
        mem: &mut Memory,
        con: &mut dyn Console,
        peers: &mut dyn Peers,
    ) -> Result<TrapEnd, Fault> {
        match r.pc {
            rst::MSGSLP | rst::MSGGET => {
                if let Some(m) = self.shell.poll(mem, con)? {
                    self.deliver(pid::SHELL, m);
                }
                let from = (r.ix >> 8) as u8;
                let found = self.queue.iter().position(|(s, _)| from == pid::ANY || *s == from);
                match found {
                    Some(i) => {
                        let (sender, m) = self.queue.remove(i).expect("index from position");
                        mem_write(mem, r.iy, &m);
                        r.ix = (sender as u16) << 8 | 1;
                    }
                    None if r.pc == rst::MSGSLP => return Ok(TrapEnd::Wait { input: self.shell.waits_for_input() }),
                    None => r.ix &= 0xff00,
                }
                ret(r, mem);
                Ok(TrapEnd::Continue)
            }
            rst::MSGSND => {
                let mut m = [0u8; 14];
                for (i, b) in m.iter_mut().enumerate() {
                    *b = mem[r.iy.wrapping_add(i as u16) as usize];
                }
                let from = match r.ix as u8 {
                    pid::ANY => pid::APP,
                    f => f,
                };
                let status = self.send(from, (r.ix >> 8) as u8, &m, mem, con, peers)?;
                let ended = status == SENT_AND_ENDED;
                r.ix = (r.ix & 0xff00) | if ended { 1 } else { status as u16 };
                ret(r, mem);
                Ok(if ended { TrapEnd::Exit(Exit::Normal) } else { TrapEnd::Continue })
            }
            rst::BNKSCL => {
                let back = word(mem, r.sp);
                let target = word(mem, back);
                self.kernel(target, r, mem, con)?;
                set_word(mem, r.sp, back.wrapping_add(2));
                ret(r, mem);
                Ok(TrapEnd::Continue)
            }
            rst::BNKFCL => {
                let target = r.hl;
                self.kernel(target, r, mem, con)?;
                ret(r, mem);
                Ok(TrapEnd::Continue)
            }
            rst::MTSOFT | rst::MTHARD => {
                ret(r, mem);
                Ok(TrapEnd::Yield)
            }
            0 => Err(Fault::Reset),
            pc => Err(Fault::Interbank(pc)),
        }
    }

    /// Sends `m`; the status, or [`SENT_AND_ENDED`] when the program asked to end.
    fn send(
        &mut self,
        from: u8,
        to: u8,
        m: &Message,
        mem: &mut Memory,
        con: &mut dyn Console,
        peers: &mut dyn Peers,
    ) -> Result<u8, Fault> {
        let answer = match to {
            pid::APP => {
                return Ok(self.deliver(from, *m) as u8);
            }
            pid::KERNEL => match m[0] {
                1..=10 => {
                    let mut a = [0u8; 14];
                    a[0] = m[0] + 128;
                    // Adding a process, timer or counter is not served: status 1 (failed).
                    a[1] = matches!(m[0], 1 | 3 | 7) as u8;
                    if m[0] == 2 && m[1] == pid::APP {
                        return Ok(SENT_AND_ENDED);
                    }
                    Some((pid::KERNEL, a))
                }
                _ => None,
            },
            pid::SYSTEM => match m[0] {
                sys::PRGEND if m[1] == APP_ID => return Ok(SENT_AND_ENDED),
                sys::SYSFIL => {
                    let mut regs = Regs {
                        af: u16::from_le_bytes([m[2], m[3]]),
                        bc: u16::from_le_bytes([m[4], m[5]]),
                        de: u16::from_le_bytes([m[6], m[7]]),
                        hl: u16::from_le_bytes([m[8], m[9]]),
                        ix: u16::from_le_bytes([m[10], m[11]]),
                        iy: u16::from_le_bytes([m[12], m[13]]),
                        ..Regs::default()
                    };
                    self.files.call(m[1], &mut regs, mem)?;
                    let mut a = [0u8; 14];
                    a[0] = sys::SYSFIL_REPLY;
                    a[1] = m[1];
                    for (i, v) in [regs.af, regs.bc, regs.de, regs.hl, regs.ix, regs.iy].iter().enumerate() {
                        a[2 + 2 * i..4 + 2 * i].copy_from_slice(&v.to_le_bytes());
                    }
                    Some((pid::SYSTEM, a))
                }
                sys::PRGRUN | sys::PRGSRV => {
                    let mut a = [0u8; 14];
                    a[0] = m[0] + 128;
                    // PRGRUN: 3 = error while loading, P8 = 29 (not supported);
                    // PRGSRV: 5 = not found (search) or 1 (search and start).
                    if m[0] == sys::PRGRUN {
                        a[1] = 3;
                        a[8] = crate::files::err::UNSUPPORTED;
                    } else {
                        a[1] = if m[4] == 0 {
                            5
                        } else if m[4] == 2 {
                            0
                        } else {
                            1
                        };
                    }
                    Some((pid::SYSTEM, a))
                }
                _ => None,
            },
            pid::SHELL => self.shell.command(m, mem, con)?.map(|a| (pid::SHELL, a)),
            other => return Ok(peers.send(from, other, m)),
        };
        if let Some((sender, a)) = answer {
            if !self.deliver(sender, a) {
                return Ok(0);
            }
        }
        Ok(1)
    }

    /// A kernel function in bank 0, called through RST 20h or 28h.
    fn kernel(&mut self, target: u16, r: &mut Regs, mem: &mut Memory, con: &mut dyn Console) -> Result<(), Fault> {
        match target {
            kfn::MEMSUM => {
                let free: u32 = self.free.iter().map(|f| f.len).sum();
                r.de = 1 << 8 | (free >> 16) as u16;
                r.ix = free as u16;
            }
            kfn::MTGCNT => {
                let t = con.ticks();
                r.iy = (t >> 16) as u16;
                r.ix = t as u16;
                r.de = 0;
            }
            kfn::MEMGET => {
                let b = r.a();
                if b != 0 {
                    own_bank(b)?;
                }
                match self.alloc(r.bc as u32, r.de as u8) {
                    Some(at) => {
                        r.set_a(exe::BANK);
                        r.hl = at as u16;
                        r.set_flag(FLAG_C, false);
                    }
                    None => r.set_flag(FLAG_C, true),
                }
            }
            kfn::MEMFRE => {
                own_bank(r.a())?;
                self.release(r.hl as u32, r.bc as u32);
            }
            kfn::BNKMBT => {
                own_bank(r.a())?;
                let v = (mem[r.hl as usize] & r.de as u8) | (r.de >> 8) as u8;
                mem[r.hl as usize] = v;
                r.set_a(v);
            }
            kfn::BNKRWD => {
                own_bank(r.a())?;
                r.bc = word(mem, r.hl);
                r.hl = r.hl.wrapping_add(2);
            }
            kfn::BNKWWD => {
                own_bank(r.a())?;
                set_word(mem, r.hl, r.bc);
                r.hl = r.hl.wrapping_add(2);
            }
            kfn::BNKRBT => {
                own_bank(r.a())?;
                r.bc = (mem[r.hl as usize] as u16) << 8 | (r.bc & 0xff);
                r.hl = r.hl.wrapping_add(1);
            }
            kfn::BNKWBT => {
                own_bank(r.a())?;
                mem[r.hl as usize] = (r.bc >> 8) as u8;
                r.hl = r.hl.wrapping_add(1);
            }
            kfn::BNKCOP => {
                own_bank(r.a() & 0x0f)?;
                own_bank(r.a() >> 4)?;
                // As LDIR would, byte by byte (overlapping copies behave the same).
                for i in 0..r.bc {
                    mem[r.de.wrapping_add(i) as usize] = mem[r.hl.wrapping_add(i) as usize];
                }
            }
            kfn::BNKGET => r.de = (r.de & 0xff00) | exe::BANK as u16,
            kfn::MTGPID => r.de = (r.de & 0xff00) | pid::APP as u16,
            t => return Err(Fault::Unserved(t)),
        }
        Ok(())
    }

    /// First fit: type 0 anywhere, 1 inside one 16K block, 2 inside C000-FEFF.
    fn alloc(&mut self, len: u32, kind: u8) -> Option<u32> {
        if len == 0 || kind > 2 {
            return None;
        }
        for i in 0..self.free.len() {
            let f = self.free[i];
            let mut at = f.at;
            if kind == 2 {
                at = at.max(exe::TRANSFER_START as u32);
            }
            if kind == 1 && at / 0x4000 != (at + len - 1) / 0x4000 {
                at = (at / 0x4000 + 1) * 0x4000;
            }
            if at + len > f.at + f.len {
                continue;
            }
            let pieces = usize::from(at > f.at) + usize::from(at + len < f.at + f.len);
            if self.free.len() - 1 + pieces > FREE_RANGES {
                return None;
            }
            // Split the range around the allocation.
            self.free.remove(i);
            if at + len < f.at + f.len {
                self.free.insert(i, Free { at: at + len, len: f.at + f.len - at - len });
            }
            if at > f.at {
                self.free.insert(i, Free { at: f.at, len: at - f.at });
            }
            return Some(at);
        }
        None
    }

    /// Returns a range to the free list (merged with its neighbours).
    fn release(&mut self, at: u32, len: u32) {
        if len == 0 || at + len > exe::TRANSFER_END {
            return;
        }
        let i = self.free.iter().position(|f| f.at > at).unwrap_or(self.free.len());
        if self.free.len() >= FREE_RANGES {
            let touches = |f: &Free| f.at <= at + len && at <= f.at + f.len;
            if !self.free.iter().any(touches) {
                return;
            }
        }
        self.free.insert(i, Free { at, len });
        let mut j = 0;
        while j + 1 < self.free.len() {
            let (a, b) = (self.free[j], self.free[j + 1]);
            if a.at + a.len >= b.at {
                self.free[j].len = (b.at + b.len).max(a.at + a.len) - a.at;
                self.free.remove(j + 1);
            } else {
                j += 1;
            }
        }
    }
}

/// `send`'s answer when the message ended the program.
const SENT_AND_ENDED: u8 = 0xff;

fn mem_write(mem: &mut Memory, at: u16, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        mem[at.wrapping_add(i as u16) as usize] = b;
    }
}

/// Returns from the restart: PC from the stack.
fn ret(r: &mut Regs, mem: &Memory) {
    r.pc = word(mem, r.sp);
    r.sp = r.sp.wrapping_add(2);
}
