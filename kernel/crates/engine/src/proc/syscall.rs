//! The system-call decoder: `RST 30h` with the function in A and arguments in BC,
//! DE, HL (and IX, IY) becomes a call on the engine; its answer becomes a status in A
//! (statuses from engine errors through the `status()` of each error type, in
//! [`crate::abi`]) and results in the registers.

use super::z80::{store, Z80Proc, OUT_OF_MEMORY};
use super::{Call, RunCx, CALL_COST, RECEIVE_COST, SEND_COST};
use crate::abi::{self, func, status};
use crate::signals::Target;
use crate::{fault, Message, NameError, Pid, Platform, SendError, SpawnError, SpawnOpts};
use core::sync::atomic::Ordering;
use zbeam_sched::{CpuSet, ExitReason, FaultCode, OutReason, Priority};

/// Ends the wait in progress: its timer is cancelled, and one already popped from a
/// wheel is ignored (it carries the old generation).
fn end_wait<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>) {
    if z.deadline.take().is_some() {
        cx.wait.end(&cx.engine.timers);
    }
}

/// Starts or continues a timed wait of `ms`; true when the wait is over.
fn wait_done<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, ms: u64) -> (bool, u64) {
    let now = cx.engine.platform.now_ms();
    // `now` is rounded down to the millisecond; adding one more (for a non-zero wait)
    // keeps the wait at least `ms` long in real time, as BEAM rounds up.
    let deadline = *z.deadline.get_or_insert(now.saturating_add(ms).saturating_add(u64::from(ms > 0)));
    (now >= deadline, deadline)
}

/// Hands a received message to the program: copies what fits into the buffer at
/// `buf` (capacity `cap`), BC = its full length, DE and IY = the sender; ends the wait.
/// Returns OK, or TRUNCATED when the buffer was too small; None if the buffer's pages
/// could not be had (the process must end with [`OUT_OF_MEMORY`]).
fn deliver<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, msg: Message, buf: u16, cap: usize) -> Option<u8> {
    // Relaxed: a statistic (queue length for `ps`).
    cx.taken.fetch_add(1, Ordering::Relaxed);
    cx.took(&msg);
    end_wait(z, cx);
    let n = msg.data.len().min(cap);
    let stored = store(z, cx, buf, &msg.data[..n]);
    let (len, from) = (msg.data.len(), msg.from.get());
    cx.recycle(msg);
    if !stored {
        return None;
    }
    z.cpu.set_bc(len as u16);
    z.cpu.set_de(from as u16);
    z.cpu.iy = (from >> 16) as u16;
    Some(if len > cap { status::TRUNCATED } else { status::OK })
}

/// No message matched: a poll (timeout 0) or an expired timed wait returns
/// `Call::Done` (the caller reports TIMEOUT); otherwise the call blocks, forever or
/// until its deadline.
fn await_message<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, timeout: u16, cost: u64) -> Call {
    if timeout == 0 {
        return Call::Done(cost);
    }
    if timeout == abi::INFINITY {
        return Call::Block(cost, OutReason::Waiting { timeout: None });
    }
    let (done, deadline) = wait_done(z, cx, timeout as u64);
    if done {
        end_wait(z, cx);
        Call::Done(cost)
    } else {
        Call::Block(cost, OutReason::Waiting { timeout: Some(deadline) })
    }
}

/// A 32-bit pid in the Z80 registers: the low half in a register pair (DE or HL),
/// the high half in IY (docs/ABI.md, "Pids").
fn join_pid(low: u16, iy: u16) -> Pid {
    Pid::from_raw(u32::from(low) | u32::from(iy) << 16)
}

/// Returns `pid` in HL (low half) and IY (high half).
fn set_hl_pid(z: &mut Z80Proc, pid: Pid) {
    let pid = pid.get();
    z.cpu.set_hl(pid as u16);
    z.cpu.iy = (pid >> 16) as u16;
}

/// An argument buffer a call named (HL and BC, or an options block's fields), read
/// out of the process's memory after its checks.
struct ArgBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> core::ops::Deref for ArgBuf<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Reads the `len` bytes at `at` for a call whose buffer holds at most `N`: a length
/// over `N` answers `too_long` (TOO_BIG, or BAD_ARG for a name), a buffer that runs
/// past 0xFFFF answers BAD_BUFFER, in that order.
fn read_arg<const N: usize>(z: &Z80Proc, at: u16, len: usize, too_long: u8) -> Result<ArgBuf<N>, u8> {
    if len > N {
        return Err(too_long);
    }
    if !abi::buffer_ok(at, len) {
        return Err(status::BAD_BUFFER);
    }
    let mut buf = ArgBuf { bytes: [0u8; N], len };
    z.mem.read_bytes(at, &mut buf.bytes[..len]);
    Ok(buf)
}

/// Messages up to this many bytes are read out of the sender's memory into a buffer of
/// this size on the stack; longer ones into one of [`abi::MAX_MESSAGE`] bytes, so a short
/// send does not clear and copy a whole maximal buffer.
const SHORT_SEND: usize = 64;

/// SEND and SEND_TAG: sends the `len` bytes at `at` to `to` with `tag`; the status, with
/// the checks of [`read_arg`] in its order (TOO_BIG, then BAD_BUFFER).
fn send_from<P: Platform>(z: &Z80Proc, cx: &RunCx<'_, P>, to: Pid, tag: u8, at: u16, len: usize) -> u8 {
    if len > abi::MAX_MESSAGE {
        return status::TOO_BIG;
    }
    if !abi::buffer_ok(at, len) {
        return status::BAD_BUFFER;
    }
    let mut short = [0u8; SHORT_SEND];
    let mut long;
    let buf = if len <= SHORT_SEND {
        &mut short[..len]
    } else {
        long = [0u8; abi::MAX_MESSAGE];
        &mut long[..len]
    };
    z.mem.read_bytes(at, buf);
    cx.engine.send_on(Some(cx.core), cx.pid, to, tag, buf).map_or_else(SendError::status, |()| status::OK)
}

/// Performs the system call at `RST 30h` (function in A, see [`crate::abi::func`]);
/// `prio` and `aff` are what a plain SPAWN gives the child.
pub(super) fn decode<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, prio: Priority, aff: CpuSet) -> Call {
    let e = cx.engine;
    let (bc, de, hl) = (z.cpu.bc(), z.cpu.de(), z.cpu.hl());
    // The pid argument of the calls that take one (DE and IY).
    let target = join_pid(de, z.cpu.iy);
    let f = z.cpu.a;
    let mut status = status::OK;
    let call = match f {
        func::EXIT => {
            let code = z.cpu.e as u32;
            let reason = if code == 0 { ExitReason::Normal } else { ExitReason::Other(code) };
            return Call::Block(CALL_COST, OutReason::Exited(reason));
        }
        func::SELF => {
            set_hl_pid(z, cx.pid);
            Call::Done(CALL_COST)
        }
        func::SEND => {
            let len = bc as usize;
            status = send_from(z, cx, target, abi::tag::PLAIN, hl, len);
            Call::Done(SEND_COST + (len as u64 / 512))
        }
        func::RECEIVE => {
            let cap = bc as usize;
            if !abi::buffer_ok(de, cap) {
                status = status::BAD_BUFFER;
                Call::Done(CALL_COST)
            } else if let Some(msg) = cx.inbox().and_then(|mut c| c.pop()) {
                let Some(s) = deliver(z, cx, msg, de, cap) else {
                    return Call::Block(RECEIVE_COST, OUT_OF_MEMORY);
                };
                status = s;
                Call::Done(RECEIVE_COST)
            } else {
                match await_message(z, cx, hl, RECEIVE_COST) {
                    Call::Done(cost) => {
                        status = status::TIMEOUT;
                        Call::Done(cost)
                    }
                    blocked => return blocked,
                }
            }
        }
        func::SPAWN => {
            match read_arg::<{ abi::MAX_ARGS }>(z, hl, bc as usize, status::TOO_BIG) {
                Ok(args) => match e.spawn_image_opts(de as usize, &args, SpawnOpts::new(prio, aff), cx.pid, cx.core) {
                    Ok((pid, _)) => set_hl_pid(z, pid),
                    Err(err) => status = err.status(),
                },
                Err(s) => status = s,
            }
            Call::Done(CALL_COST)
        }
        func::YIELD => Call::DoneStop(CALL_COST, OutReason::Yielded),
        func::SLEEP => {
            let (done, deadline) = wait_done(z, cx, hl as u64);
            if done {
                end_wait(z, cx);
                Call::Done(CALL_COST)
            } else {
                return Call::Block(CALL_COST, OutReason::Waiting { timeout: Some(deadline) });
            }
        }
        func::TIME => {
            let now = e.platform.now_ms();
            z.cpu.set_hl(now as u16);
            z.cpu.set_de((now >> 16) as u16);
            Call::Done(CALL_COST)
        }
        func::WRITE => {
            let len = bc as usize;
            if !abi::buffer_ok(hl, len) {
                status = status::BAD_BUFFER;
            } else {
                let mut chunk = [0u8; 256];
                let mut at = hl;
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    z.mem.read_bytes(at, &mut chunk[..n]);
                    e.platform.console_from(cx.pid, &chunk[..n]);
                    at = at.wrapping_add(n as u16);
                    left -= n;
                }
            }
            Call::Done(CALL_COST + len as u64 / 64)
        }
        func::SPAWN_OPT => {
            let mut mref = 0;
            status = match spawn_opt(z, cx, de, hl, prio, aff) {
                Ok((pid, r)) => {
                    mref = r;
                    set_hl_pid(z, pid);
                    status::OK
                }
                Err(s) => s,
            };
            if status == status::OK {
                z.cpu.set_de(mref);
            }
            Call::Done(CALL_COST)
        }
        func::SEND_TAG => {
            let len = bc as usize;
            let tag = z.cpu.ix;
            if tag > abi::MAX_USER_TAG as u16 {
                status = status::BAD_ARG;
            } else {
                status = send_from(z, cx, target, tag as u8, hl, len);
            }
            Call::Done(SEND_COST + (len as u64 / 512))
        }
        func::RECV_TAG => {
            let cap = bc as usize;
            let filter = z.cpu.ix;
            if filter > 0xff && filter != abi::ANY_TAG {
                status = status::BAD_ARG;
                Call::Done(CALL_COST)
            } else if !abi::buffer_ok(de, cap) {
                status = status::BAD_BUFFER;
                Call::Done(CALL_COST)
            } else {
                let mut skipped = 0u64;
                let found = cx.inbox().and_then(|mut c| {
                    c.take_first(|m| {
                        let hit = filter == abi::ANY_TAG || m.tag as u16 == filter;
                        skipped += u64::from(!hit);
                        hit
                    })
                });
                let cost = RECEIVE_COST + skipped;
                if let Some(msg) = found {
                    let tag = msg.tag;
                    let Some(s) = deliver(z, cx, msg, de, cap) else {
                        return Call::Block(cost, OUT_OF_MEMORY);
                    };
                    status = s;
                    z.cpu.set_hl(tag as u16);
                    Call::Done(cost)
                } else {
                    match await_message(z, cx, hl, cost) {
                        Call::Done(cost) => {
                            status = status::TIMEOUT;
                            Call::Done(cost)
                        }
                        blocked => return blocked,
                    }
                }
            }
        }
        // System processes are out of a program's reach: LINK, SIGNAL and KILL aimed
        // at one answer BAD_PID and do nothing.
        func::LINK | func::SIGNAL | func::KILL if e.is_system(target) => {
            status = status::BAD_PID;
            Call::Done(CALL_COST)
        }
        func::LINK => match e.link_inner(cx.pid.get(), target.get()) {
            Ok(Target::Alive) => Call::Done(CALL_COST),
            // NOPROC may have killed it: end the slice so it goes now.
            Ok(Target::NoProc) => Call::DoneStop(CALL_COST, OutReason::Yielded),
            Err(err) => {
                status = err.status();
                Call::Done(CALL_COST)
            }
        },
        func::UNLINK => {
            if let Err(err) = e.unlink(cx.pid, target) {
                status = err.status();
            }
            Call::Done(CALL_COST)
        }
        func::MONITOR => {
            match e.monitor(cx.pid, target) {
                Ok(r) => z.cpu.set_hl(r),
                Err(err) => status = err.status(),
            }
            Call::Done(CALL_COST)
        }
        func::DEMONITOR => {
            if !e.demonitor(cx.pid, de) {
                status = status::NOT_FOUND;
            }
            Call::Done(CALL_COST)
        }
        func::TRAP_EXIT => {
            if z.cpu.e > 1 {
                status = status::BAD_ARG;
            } else {
                let old = e.set_trap_exit(cx.pid, z.cpu.e == 1).unwrap_or(false);
                z.cpu.e = old as u8;
            }
            Call::Done(CALL_COST)
        }
        func::SIGNAL => match e.exit_signal(cx.pid, target, hl) {
            // A signal to itself may have killed it: end the slice so it goes now.
            Ok(()) if target == cx.pid => Call::DoneStop(CALL_COST, OutReason::Yielded),
            Ok(()) => Call::Done(CALL_COST),
            Err(err) => {
                status = err.status();
                Call::Done(CALL_COST)
            }
        },
        func::KILL => {
            if !e.kill(target) {
                status = status::BAD_PID;
                Call::Done(CALL_COST)
            } else if target == cx.pid {
                Call::DoneStop(CALL_COST, OutReason::Yielded)
            } else {
                Call::Done(CALL_COST)
            }
        }
        func::REGISTER | func::UNREGISTER | func::WHEREIS => {
            let len = bc as usize;
            let name = if len == 0 {
                Err(status::BAD_ARG)
            } else {
                read_arg::<{ abi::MAX_NAME }>(z, hl, len, status::BAD_ARG)
            };
            match name {
                Err(s) => status = s,
                Ok(name) => {
                    let name = &name[..];
                    let r = match f {
                        func::REGISTER => e.register(name, cx.pid),
                        func::UNREGISTER => e.unregister(name),
                        _ => match e.whereis(name) {
                            Some(p) => {
                                set_hl_pid(z, p);
                                Ok(())
                            }
                            None => Err(NameError::NotFound),
                        },
                    };
                    status = match r {
                        Ok(()) => status::OK,
                        Err(err) => err.status(),
                    };
                }
            }
            Call::Done(CALL_COST)
        }
        func::READ => {
            if let Some(b) = e.console_take(cx.pid) {
                end_wait(z, cx);
                z.cpu.set_de(b as u16);
                Call::Done(CALL_COST)
            } else if hl == 0 {
                status = status::TIMEOUT;
                Call::Done(CALL_COST)
            } else if hl == abi::INFINITY {
                return Call::Block(CALL_COST, OutReason::Waiting { timeout: None });
            } else {
                let (done, deadline) = wait_done(z, cx, hl as u64);
                if done {
                    end_wait(z, cx);
                    status = status::TIMEOUT;
                    Call::Done(CALL_COST)
                } else {
                    return Call::Block(CALL_COST, OutReason::Waiting { timeout: Some(deadline) });
                }
            }
        }
        _ => {
            // An unknown function is a fault (let it crash); its links see the reason.
            return Call::Block(CALL_COST, OutReason::Faulted(FaultCode(fault::BAD_CALL)));
        }
    };
    z.cpu.a = status;
    call
}

/// SPAWN_OPT: reads and checks the options block at `at`, spawns image `image`.
fn spawn_opt<P: Platform>(
    z: &Z80Proc,
    cx: &RunCx<'_, P>,
    image: u16,
    at: u16,
    prio: Priority,
    aff: CpuSet,
) -> Result<(Pid, u16), u8> {
    use abi::spawn_opts as o;
    let block = read_arg::<{ abi::SPAWN_OPTS_LEN }>(z, at, abi::SPAWN_OPTS_LEN, status::BAD_BUFFER)?;
    let b = &block[..];
    let args_at = u16::from_le_bytes([b[o::ARGS], b[o::ARGS + 1]]);
    let args_len = b[o::ARGS_LEN] as usize;
    // Max is reserved for system tasks (the shell outranks every program): a program
    // asking for it gets BAD_ARG. A program can run at max only if the kernel started
    // it there, and then its plain SPAWNs inherit it.
    let prio = match b[o::PRIO] {
        o::INHERIT => prio,
        p @ 1..=3 => Priority::from_index(p as usize),
        _ => return Err(status::BAD_ARG),
    };
    let Some(flags) = o::Flags::from_bits(b[o::FLAGS]) else {
        return Err(status::BAD_ARG);
    };
    let memory_limit = b[o::MEMORY] as usize * o::MEMORY_UNIT;
    let mut mask = [0u8; 8];
    mask.copy_from_slice(&b[o::AFFINITY..o::AFFINITY + 8]);
    let affinity = match u64::from_le_bytes(mask) {
        0 => aff,
        m if m & cx.engine.sched().topology().all().bits() == 0 => return Err(status::BAD_ARG),
        m => CpuSet::from_bits(m),
    };
    let args = read_arg::<{ abi::MAX_ARGS }>(z, args_at, args_len, status::TOO_BIG)?;
    let opts = SpawnOpts {
        prio,
        affinity,
        link: flags.contains(o::Flags::LINK),
        monitor: flags.contains(o::Flags::MONITOR),
        memory_limit,
    };
    cx.engine.spawn_image_opts(image as usize, &args, opts, cx.pid, cx.core).map_err(SpawnError::status)
}
