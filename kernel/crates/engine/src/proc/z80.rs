//! A Z80 process: its machine (CPU, 64 KiB of memory, CP/M and SymbOS state), the bus
//! its instructions see, and the run loop that executes a slice and hands each trap
//! to the personality, the system-call decoder ([`super::syscall`]) or the CP/M
//! bridge ([`super::cpm`]).

use super::{cpm, personality, syscall, Call, RunCx, Slice};
use crate::abi;
use crate::fault;
use crate::memory::{self, PagePool, ProcMemory};
use crate::Platform;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use zbeam_sched::{CpuSet, ExitReason, FaultCode, OutReason, Priority, CONTEXT_REDS};
use zbeam_z80::paged::{PagedMemory, Template, PAGE_SIZE};
use zbeam_z80::{Bus, Cpu};

/// Bytes a CP/M process's BDOS state holds (its own disk, if it has one, is not
/// counted).
pub(super) const CPM_STATE: usize = core::mem::size_of::<zbeam_cpm::Bdos>();

/// A Z80 process's machine.
pub(crate) struct Z80Proc {
    pub(super) cpu: Cpu,
    /// Its 64 KiB: pages over its image's template, or flat once it uses CP/M.
    pub(super) mem: ProcMemory,
    /// The deadline of the wait in progress (receive timeout or sleep), in ms.
    pub(super) deadline: Option<u64>,
    /// CP/M state (DMA address, open searches, console line, disk), made at the first
    /// BDOS or BIOS call: processes that never call CP/M pay nothing for it.
    pub(super) cpm: Option<Box<zbeam_cpm::Bdos>>,
    /// The SymbOS personality's state; `None` for the zbeam (native and CP/M) one.
    pub(super) symbos: Option<Box<personality::Symbos>>,
    /// Time slices in a row it used up computing (see [`PROMOTE_AFTER`]).
    pub(super) busy: u16,
}

// The BDOS base stored at 0x0006 is the top of the stack area.
const _: () = assert!(abi::STACK_TOP == zbeam_cpm::BDOS_ENTRY);

impl Z80Proc {
    /// Builds the machine over `template` (the image's page zero, BIOS table and code,
    /// see `memory::build_template`): nothing is written but the argument block and
    /// the FCBs parsed from it, when there are arguments (one page copied from `pool`).
    /// `None` if that page cannot be had.
    pub(crate) fn load(template: &'static Template, args: &[u8], pool: &PagePool) -> Option<Self> {
        let mut z = Z80Proc {
            cpu: Cpu::new(),
            mem: ProcMemory::Paged(PagedMemory::new(&memory::ZERO_TEMPLATE)),
            deadline: None,
            cpm: None,
            symbos: None,
            busy: 0,
        };
        z.reload(template, args, pool).then_some(z)
    }

    /// Makes this machine (a recycled one, or one just made) what [`Z80Proc::load`]
    /// builds, in place: its pages go back to `pool` and its CP/M and SymbOS state is
    /// dropped. False if the page for the arguments cannot be had (the machine then
    /// owns no page).
    pub(crate) fn reload(&mut self, template: &'static Template, args: &[u8], pool: &PagePool) -> bool {
        let mem = match &mut self.mem {
            ProcMemory::Paged(m) => {
                m.reset(template, pool);
                m
            }
            flat => {
                *flat = ProcMemory::Paged(PagedMemory::new(template));
                let ProcMemory::Paged(m) = flat else { unreachable!("just made paged") };
                m
            }
        };
        if let Some((fcbs, block)) = memory::argument_writes(args) {
            if !mem.write_bytes(zbeam_cpm::FCB1, &fcbs, pool)
                || !mem.write_bytes(abi::ARGS, &block[..=args.len()], pool)
            {
                mem.release(pool);
                return false;
            }
        }
        self.cpu = Cpu::new();
        self.cpu.pc = abi::LOAD;
        // The template's stack area is zero, so the return address at STACK_TOP - 2 is
        // 0x0000: returning from the top level is a warm boot, a normal exit.
        self.cpu.sp = abi::STACK_TOP - 2;
        self.cpu.set_hl(abi::ARGS);
        (self.deadline, self.cpm, self.symbos, self.busy) = (None, None, None, 0);
        true
    }

    /// A SymbOS program's machine: flat memory prepared by its loader.
    pub(super) fn symbos(cpu: Cpu, mem: Box<[u8; 0x1_0000]>, symbos: Box<personality::Symbos>) -> Self {
        Z80Proc { cpu, mem: ProcMemory::Flat(mem), deadline: None, cpm: None, symbos: Some(symbos), busy: 0 }
    }

    /// Writes `bytes` at `at` (wrapping at the end of the 64 KiB), copying pages from
    /// `pool`; false if a page could not be had.
    pub(crate) fn poke(&mut self, at: u16, bytes: &[u8], pool: &PagePool) -> bool {
        self.mem.write_bytes(at, bytes, pool)
    }

    /// Bytes the machine holds: itself, its owned pages or flat memory, its CP/M state.
    pub(crate) fn bytes(&self) -> usize {
        self.mem.bytes() + if self.cpm.is_some() { CPM_STATE } else { 0 }
    }
}

/// A process's memory as its bus sees it: paged (pages copied on write come from the
/// core's pool) or flat (after its first CP/M call, or a SymbOS program's).
trait Ram {
    fn load(&self, addr: u16) -> u8;
    fn store(&mut self, addr: u16, value: u8, pool: &PagePool);
}

impl Ram for PagedMemory<'static> {
    #[inline(always)]
    fn load(&self, addr: u16) -> u8 {
        self.read(addr)
    }
    #[inline(always)]
    fn store(&mut self, addr: u16, value: u8, pool: &PagePool) {
        self.write(addr, value, pool);
    }
}

impl Ram for [u8; 0x1_0000] {
    #[inline(always)]
    fn load(&self, addr: u16) -> u8 {
        self[addr as usize]
    }
    #[inline(always)]
    fn store(&mut self, addr: u16, value: u8, _pool: &PagePool) {
        self[addr as usize] = value;
    }
}

/// The bus of a process: its memory, no ports (reads 0xFF), its personality's traps.
struct ProcBus<'a, M: ?Sized> {
    mem: &'a mut M,
    pool: &'a PagePool,
    /// The personality's trap set: page-zero addresses as a mask, and the first
    /// trapped address at the top of memory.
    low: u64,
    high: u16,
}

impl<M: Ram + ?Sized> Bus for ProcBus<'_, M> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.mem.load(addr)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.mem.store(addr, value, self.pool);
    }
    #[inline(always)]
    fn input(&mut self, _port: u16) -> u8 {
        0xff
    }
    #[inline(always)]
    fn output(&mut self, _port: u16, _value: u8) {}
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        // This runs before every instruction, so the usual case (an address in neither
        // trapped range) costs two compares: page zero's traps are bits of one mask, and
        // one compare covers the top of memory (the 17 CP/M BIOS entry points, or
        // SymbOS's interbank stubs).
        if pc < 64 {
            self.low >> pc & 1 != 0
        } else {
            pc >= self.high
        }
    }
}

/// The reason a process ends with when its memory limit (or the engine's budget)
/// refuses memory it needs.
pub(super) const OUT_OF_MEMORY: OutReason = OutReason::Exited(ExitReason::Other(abi::reason::MEMORY as u32));

/// Runs `f` on the paged memory with an allowance of the pages the account can still
/// pay for, then charges the pages it copied. The flag is false if a copy was refused
/// (the process must end with [`OUT_OF_MEMORY`]).
fn with_pages<P: Platform, R>(
    m: &mut PagedMemory<'static>,
    cx: &RunCx<'_, P>,
    f: impl FnOnce(&mut PagedMemory<'static>, &PagePool) -> R,
) -> (R, bool) {
    let before = m.owned_pages();
    m.set_allowance(cx.account.headroom(cx.budget()) / PAGE_SIZE);
    let r = f(m, cx.pool);
    let grown = m.owned_pages() - before;
    if grown > 0 {
        cx.account.force(grown * PAGE_SIZE, cx.budget());
    }
    (r, !m.take_refused())
}

/// Writes `data` at `at` into the process's memory, paying for copied pages; false if
/// a page was refused.
pub(super) fn store<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, at: u16, data: &[u8]) -> bool {
    match &mut z.mem {
        ProcMemory::Paged(m) => {
            let (written, ok) = with_pages(m, cx, |m, pool| m.write_bytes(at, data, pool));
            written && ok
        }
        flat => flat.write_bytes(at, data, cx.pool),
    }
}

/// Bit n set: address n (below 64) is trapped: warm boot, BDOS, the system call.
pub(super) const LOW_TRAPS: u64 = 1 << abi::WARM_BOOT | 1 << abi::BDOS | 1 << abi::SYSCALL;
const _: () = assert!(abi::WARM_BOOT < 64 && abi::BDOS < 64 && abi::SYSCALL < 64);

/// Time slices in a row that a process uses up computing (never waiting or yielding)
/// after which it is moved to flat memory (see `Body::run`): 16 slices are 64,000
/// reductions, a millisecond or two of computing.
pub(crate) const PROMOTE_AFTER: u16 = 16;

/// Instructions run between looks at the tick's preempt counter: the time-slice limit
/// is checked at these instruction boundaries rather than after every instruction,
/// which keeps the check off the interpreter's per-instruction path.
const PREEMPT_CHECK: u64 = 1024;

/// Runs `z` for one slice. A process that keeps computing runs on flat memory (if it
/// can pay for it): paged memory costs every access an extra load, which matters for
/// the few CPU-bound processes, while the many that mostly wait keep costing only the
/// pages they wrote.
pub(super) fn run<P: Platform>(
    z: &mut Z80Proc,
    cx: &mut RunCx<'_, P>,
    budget: u64,
    prio: Priority,
    aff: CpuSet,
) -> Slice {
    if z.busy >= PROMOTE_AFTER {
        if let ProcMemory::Paged(_) = z.mem {
            let _ = go_flat(z, cx);
        }
    }
    let slice = run_slice(z, cx, budget, prio, aff);
    z.busy = match slice.reason {
        OutReason::BudgetSpent => z.busy.saturating_add(1),
        _ => 0,
    };
    slice
}

fn run_slice<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, budget: u64, prio: Priority, aff: CpuSet) -> Slice {
    let budget = budget.max(1).min(CONTEXT_REDS as u64 * 4);
    let mut used = 0u64;
    loop {
        let left = budget.saturating_sub(used);
        if left == 0 {
            return Slice { used, reason: OutReason::BudgetSpent, wait_gen: None };
        }
        // Relaxed: the tick's counter on this core; a look one chunk late is harmless.
        if cx.preempt.load(Ordering::Relaxed) >= 2 {
            return Slice { used, reason: OutReason::BudgetSpent, wait_gen: None };
        }
        let chunk = left.min(PREEMPT_CHECK);
        let (low, high) = if z.symbos.is_some() { personality::SYMBOS_TRAPS } else { personality::ZBEAM_TRAPS };
        let cpu = &mut z.cpu;
        let r = match &mut z.mem {
            ProcMemory::Paged(m) => {
                match with_pages(m, cx, |mem, pool| cpu.run(&mut ProcBus { mem, pool, low, high }, chunk)) {
                    (r, true) => r,
                    // A write needed a page the process cannot pay for: it was dropped, and
                    // the process ends here, before anything else it does is seen.
                    (r, false) => return Slice { used: used + r.instructions, reason: OUT_OF_MEMORY, wait_gen: None },
                }
            }
            ProcMemory::Flat(mem) => cpu.run(&mut ProcBus { mem: &mut **mem, pool: cx.pool, low, high }, chunk),
        };
        used += r.instructions;
        let call = match r.reason {
            // A chunk ended: the loop's head ends the slice when the budget is spent.
            zbeam_z80::StopReason::BudgetSpent | zbeam_z80::StopReason::BusStop => continue,
            zbeam_z80::StopReason::Halted { interrupts_enabled: true } if z.symbos.is_some() => personality::halt(z),
            zbeam_z80::StopReason::Halted { .. } => {
                return Slice { used, reason: OutReason::Faulted(FaultCode(fault::HALT)), wait_gen: None };
            }
            zbeam_z80::StopReason::Trap(_) if z.symbos.is_some() => personality::trap(z, cx),
            zbeam_z80::StopReason::Trap(abi::WARM_BOOT) => {
                return Slice { used, reason: OutReason::Exited(ExitReason::Normal), wait_gen: None };
            }
            zbeam_z80::StopReason::Trap(abi::BDOS) => cpm::call(z, cx, None),
            zbeam_z80::StopReason::Trap(pc) if pc >= zbeam_cpm::BIOS_TRAPS => cpm::call(z, cx, Some(pc)),
            zbeam_z80::StopReason::Trap(_) => syscall::decode(z, cx, prio, aff),
        };
        match call {
            Call::Done(cost) => {
                used += cost;
                ret(z);
            }
            Call::DoneStop(cost, reason) => {
                ret(z);
                return Slice { used: used + cost, reason, wait_gen: None };
            }
            Call::Resume(cost) => used += cost,
            Call::ResumeStop(cost, reason) => return Slice { used: used + cost, reason, wait_gen: None },
            Call::Block(cost, reason) => {
                let wait_gen = match reason {
                    OutReason::Waiting { timeout: Some(_) } => Some(cx.wait.current()),
                    _ => None,
                };
                return Slice { used: used + cost, reason, wait_gen };
            }
        }
    }
}

/// Emulates the RET at the trapped address: one instruction, 10 T-states.
fn ret(z: &mut Z80Proc) {
    let sp = z.cpu.sp;
    let lo = z.mem.peek(sp);
    let hi = z.mem.peek(sp.wrapping_add(1));
    z.cpu.pc = u16::from_le_bytes([lo, hi]);
    z.cpu.sp = sp.wrapping_add(2);
}

/// Makes a process's memory a flat 64 KiB copy, charged to it, and gives its pages
/// back to the pool. True if it is flat (already, or now); false if it cannot pay
/// for the copy (its memory stays as it was).
pub(super) fn go_flat<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>) -> bool {
    let ProcMemory::Paged(m) = &mut z.mem else { return true };
    let cost = 0x1_0000;
    if cx.account.charge(cost, cx.budget()).is_err() {
        return false;
    }
    let mut v: Vec<u8> = Vec::new();
    let flat: Option<Box<[u8; 0x1_0000]>> = v.try_reserve_exact(0x1_0000).ok().and_then(|()| {
        v.resize(0x1_0000, 0);
        v.into_boxed_slice().try_into().ok()
    });
    let Some(mut flat) = flat else {
        cx.account.uncharge(cost, cx.budget());
        return false;
    };
    m.copy_to(&mut flat);
    let pages = z.mem.bytes();
    z.mem.release(cx.pool);
    cx.account.uncharge(pages, cx.budget());
    z.mem = ProcMemory::Flat(flat);
    true
}
