//! One process: a Z80 machine with its own 64 KiB, or a native cooperative task, and
//! how it runs for one time slice, including the system calls of [`crate::abi`].

use crate::abi::{self, func, status};
use crate::memory::{self, Account, Budget, PagePool, ProcMemory};
use crate::signals::Target;
use crate::waiting::WaitTimer;
use crate::{
    fault, Engine, Exit, LinkError, Message, NameError, Platform, ProcStats, SendError, SpawnError, SpawnOpts,
};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use zbeam_mailbox::Mailbox;
use zbeam_sched::{CoreId, CpuSet, ExitReason, FaultCode, OutReason, Priority, CONTEXT_REDS};
use zbeam_z80::paged::{PagedMemory, Template, PAGE_SIZE};
use zbeam_z80::{Bus, Cpu};

#[path = "personality.rs"]
pub(crate) mod personality;

/// Reductions a send costs: 1 counted plus 4 for the slice, as BEAM's `erl_send`.
const SEND_COST: u64 = 5;
/// Reductions a receive's fetch of the shared queue costs.
const RECEIVE_COST: u64 = 4;
/// Reductions any other system call costs.
const CALL_COST: u64 = 1;

/// Bytes a Z80 process's body holds besides its memory: the machine and the body.
pub(crate) const Z80_BODY: usize = core::mem::size_of::<Z80Proc>() + core::mem::size_of::<Body>();

/// Bytes a CP/M process's BDOS state holds (its own disk, if it has one, is not
/// counted).
const CPM_STATE: usize = core::mem::size_of::<zbeam_cpm::Bdos>();

/// A Z80 process's machine.
pub(crate) struct Z80Proc {
    cpu: Cpu,
    /// Its 64 KiB: pages over its image's template, or flat once it uses CP/M.
    pub(crate) mem: ProcMemory,
    /// The deadline of the wait in progress (receive timeout or sleep), in ms.
    deadline: Option<u64>,
    /// CP/M state (DMA address, open searches, console line, disk), made at the first
    /// BDOS or BIOS call: processes that never call CP/M pay nothing for it.
    cpm: Option<Box<zbeam_cpm::Bdos>>,
    /// The SymbOS personality's state; `None` for the zbeam (native and CP/M) one.
    symbos: Option<Box<personality::Symbos>>,
    /// Time slices in a row it used up computing (see [`PROMOTE_AFTER`]).
    busy: u16,
}

// The BDOS base stored at 0x0006 is the top of the stack area.
const _: () = assert!(abi::STACK_TOP == zbeam_cpm::BDOS_ENTRY);

impl Z80Proc {
    /// Builds the machine over `template` (the image's page zero, BIOS table and code,
    /// see `memory::build_template`): nothing is written but the argument block and
    /// the FCBs parsed from it, when there are arguments (one page copied from `pool`).
    /// `None` if that page cannot be had.
    pub(crate) fn load(template: &'static Template, args: &[u8], pool: &PagePool) -> Option<Self> {
        let mut mem = PagedMemory::new(template);
        if let Some((fcbs, block)) = memory::argument_writes(args) {
            if !mem.write_bytes(zbeam_cpm::FCB1, &fcbs, pool)
                || !mem.write_bytes(abi::ARGS, &block[..=args.len()], pool)
            {
                mem.release(pool);
                return None;
            }
        }
        let mut cpu = Cpu::new();
        cpu.pc = abi::LOAD;
        // The template's stack area is zero, so the return address at STACK_TOP - 2 is
        // 0x0000: returning from the top level is a warm boot, a normal exit.
        cpu.sp = abi::STACK_TOP - 2;
        cpu.set_hl(abi::ARGS);
        Some(Z80Proc { cpu, mem: ProcMemory::Paged(mem), deadline: None, cpm: None, symbos: None, busy: 0 })
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

/// What a native task asks for after one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeStep {
    /// Run again later (its slice is used up).
    Yield,
    /// Wait for a message, or until `until` (ms) if given.
    Wait {
        /// Absolute deadline in ms.
        until: Option<u64>,
    },
    /// Finished with this exit code (0 = normal).
    Exit(u32),
}

/// A native cooperative task: kernel services and test drivers run as processes
/// under the same scheduler, as BEAM's system tasks do.
pub trait NativeTask: Send {
    /// Runs until it must wait or has used its slice; `cx.used` counts reductions.
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep;
    /// The name `ps` and traces show for it.
    fn name(&self) -> &'static str {
        "native"
    }
}

/// What a native task can do during its step.
pub struct NativeCx<'a> {
    ops: &'a dyn Ops,
    mailbox: &'a Mailbox<Message>,
    taken: &'a AtomicU64,
    account: &'a Account,
    budget: &'a Budget,
    pid: u32,
    core: CoreId,
    /// Reductions used so far in this step (add to it for work done).
    pub used: u64,
}

impl NativeCx<'_> {
    /// Own pid (raw).
    pub fn pid(&self) -> u32 {
        self.pid
    }
    /// The core running this step.
    pub fn core(&self) -> CoreId {
        self.core
    }
    /// Time in ms.
    pub fn now_ms(&self) -> u64 {
        self.ops.now_ms()
    }
    /// Takes the next message, if any.
    pub fn receive(&mut self) -> Option<Message> {
        self.used += RECEIVE_COST;
        let msg = self.mailbox.consumer().and_then(|mut c| c.pop());
        self.took(msg.as_ref());
        msg
    }
    /// Counts a message taken from the mailbox and returns its charge.
    fn took(&self, msg: Option<&Message>) {
        if let Some(m) = msg {
            // Relaxed: a statistic (queue length for `ps`).
            self.taken.fetch_add(1, Ordering::Relaxed);
            self.account.uncharge(memory::message_bytes(m.data.len()), self.budget);
        }
    }
    /// Sends a message.
    pub fn send(&mut self, to: u32, data: &[u8]) -> Result<(), SendError> {
        self.used += SEND_COST;
        self.ops.send(self.pid, to, data)
    }
    /// Spawns a Z80 process from image number `image`.
    pub fn spawn(&mut self, image: usize, args: &[u8], prio: Priority, affinity: CpuSet) -> Result<u32, SpawnError> {
        self.used += CALL_COST;
        self.ops.spawn_opts(image, args, SpawnOpts::new(prio, affinity), self.pid, self.core).map(|(p, _)| p)
    }
    /// Spawns another native task.
    pub fn spawn_native(
        &mut self,
        task: Box<dyn NativeTask>,
        prio: Priority,
        affinity: CpuSet,
    ) -> Result<u32, SpawnError> {
        self.used += CALL_COST;
        self.ops.spawn_native_opts(task, SpawnOpts::new(prio, affinity), self.pid, self.core).map(|(p, _)| p)
    }
    /// Statistics of another live process.
    pub fn proc_stats(&self, pid: u32) -> Option<ProcStats> {
        self.ops.proc_stats(pid)
    }
    /// Asks a process to exit.
    pub fn kill(&mut self, pid: u32) -> bool {
        self.used += CALL_COST;
        self.ops.kill(pid)
    }
    /// Writes to the console.
    pub fn console(&self, bytes: &[u8]) {
        self.ops.console(bytes)
    }
    /// Takes the oldest message whose tag is `tag` (any tag with `None`); messages it
    /// skips stay queued in order (selective receive).
    pub fn receive_tagged(&mut self, tag: Option<u8>) -> Option<Message> {
        self.used += RECEIVE_COST;
        let msg = self.mailbox.consumer().and_then(|mut c| c.take_first(|m| tag.is_none_or(|t| m.tag == t)));
        self.took(msg.as_ref());
        msg
    }
    /// Sends a message with a tag (any tag, system tags included).
    pub fn send_tagged(&mut self, to: u32, tag: u8, data: &[u8]) -> Result<(), SendError> {
        self.used += SEND_COST;
        self.ops.send_tagged(self.pid, to, tag, data)
    }
    /// Spawns a Z80 process with `opts` (link and monitor are made before it runs);
    /// returns its pid and the monitor reference (0 without one).
    pub fn spawn_opts(&mut self, image: usize, args: &[u8], opts: SpawnOpts) -> Result<(u32, u16), SpawnError> {
        self.used += CALL_COST;
        self.ops.spawn_opts(image, args, opts, self.pid, self.core)
    }
    /// Links to `pid` (NOPROC comes as an exit signal if it is dead).
    pub fn link(&mut self, pid: u32) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.ops.link(self.pid, pid)
    }
    /// Removes the link to `pid`.
    pub fn unlink(&mut self, pid: u32) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.ops.unlink(self.pid, pid)
    }
    /// Monitors `pid`; returns the reference its DOWN message will carry.
    pub fn monitor(&mut self, pid: u32) -> Result<u16, LinkError> {
        self.used += CALL_COST;
        self.ops.monitor(self.pid, pid)
    }
    /// Ends a monitor (a DOWN already queued for it is removed).
    pub fn demonitor(&mut self, mref: u16) -> bool {
        self.used += CALL_COST;
        self.ops.demonitor(self.pid, mref)
    }
    /// Sets whether this task traps exits; returns the previous setting.
    pub fn trap_exit(&mut self, on: bool) -> bool {
        self.used += CALL_COST;
        self.ops.set_trap_exit(self.pid, on).unwrap_or(false)
    }
    /// Sends an exit signal with `reason` to `pid` (see [`Engine::exit_signal`]).
    pub fn exit_signal(&mut self, pid: u32, reason: u16) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.ops.exit_signal(self.pid, pid, reason)
    }
    /// Registers `name` for this task.
    pub fn register(&mut self, name: &[u8]) -> Result<(), NameError> {
        self.used += CALL_COST;
        self.ops.register(name, self.pid)
    }
    /// The pid registered under `name`.
    pub fn whereis(&self, name: &[u8]) -> Option<u32> {
        self.ops.whereis(name)
    }
    /// Whether `pid` names a live process.
    pub fn is_live(&self, pid: u32) -> bool {
        self.ops.is_live(pid)
    }
    /// How the last process in slot `pid` ended (None while it lives).
    pub fn last_exit(&self, pid: u32) -> Option<Exit> {
        self.ops.last_exit(pid)
    }
    /// Feeds console input to the engine (see [`Engine::console_input`]).
    pub fn console_input(&self, bytes: &[u8]) -> usize {
        self.ops.console_input(bytes)
    }
    /// Makes `pid` the foreground console reader (see [`Engine::set_console_reader`]).
    pub fn set_console_reader(&self, pid: u32) {
        self.ops.set_console_reader(pid)
    }
}

/// The engine seen without its platform type, for native tasks.
pub(crate) trait Ops {
    fn now_ms(&self) -> u64;
    fn send(&self, from: u32, to: u32, data: &[u8]) -> Result<(), SendError>;
    fn spawn_native_opts(&self, t: Box<dyn NativeTask>, o: SpawnOpts, parent: u32, from: CoreId) -> SpawnResult;
    fn proc_stats(&self, pid: u32) -> Option<ProcStats>;
    fn kill(&self, pid: u32) -> bool;
    fn console(&self, bytes: &[u8]);
    fn send_tagged(&self, from: u32, to: u32, tag: u8, data: &[u8]) -> Result<(), SendError>;
    fn spawn_opts(&self, image: usize, args: &[u8], o: SpawnOpts, parent: u32, from: CoreId) -> SpawnResult;
    fn link(&self, me: u32, other: u32) -> Result<(), LinkError>;
    fn unlink(&self, me: u32, other: u32) -> Result<(), LinkError>;
    fn monitor(&self, me: u32, other: u32) -> Result<u16, LinkError>;
    fn demonitor(&self, me: u32, mref: u16) -> bool;
    fn set_trap_exit(&self, pid: u32, on: bool) -> Option<bool>;
    fn exit_signal(&self, from: u32, to: u32, reason: u16) -> Result<(), LinkError>;
    fn register(&self, name: &[u8], pid: u32) -> Result<(), NameError>;
    fn whereis(&self, name: &[u8]) -> Option<u32>;
    fn is_live(&self, pid: u32) -> bool;
    fn last_exit(&self, pid: u32) -> Option<Exit>;
    fn console_input(&self, bytes: &[u8]) -> usize;
    fn set_console_reader(&self, pid: u32);
}

/// A spawn's pid and monitor reference.
type SpawnResult = Result<(u32, u16), SpawnError>;

impl<P: Platform> Ops for Engine<P> {
    fn now_ms(&self) -> u64 {
        self.platform.now_ms()
    }
    fn send(&self, from: u32, to: u32, data: &[u8]) -> Result<(), SendError> {
        Engine::send(self, from, to, data)
    }
    fn spawn_native_opts(&self, t: Box<dyn NativeTask>, o: SpawnOpts, parent: u32, from: CoreId) -> SpawnResult {
        Engine::spawn_native_opts(self, t, o, parent, from).map(|(p, r)| (p.get(), r))
    }
    fn proc_stats(&self, pid: u32) -> Option<ProcStats> {
        Engine::proc_stats(self, pid)
    }
    fn kill(&self, pid: u32) -> bool {
        Engine::kill(self, pid)
    }
    fn console(&self, bytes: &[u8]) {
        self.platform.console(bytes)
    }
    fn send_tagged(&self, from: u32, to: u32, tag: u8, data: &[u8]) -> Result<(), SendError> {
        Engine::send_tagged(self, from, to, tag, data)
    }
    fn spawn_opts(&self, image: usize, args: &[u8], o: SpawnOpts, parent: u32, from: CoreId) -> SpawnResult {
        self.spawn_image_opts(image, args, o, parent, from).map(|(p, r)| (p.get(), r))
    }
    fn link(&self, me: u32, other: u32) -> Result<(), LinkError> {
        Engine::link(self, me, other)
    }
    fn unlink(&self, me: u32, other: u32) -> Result<(), LinkError> {
        Engine::unlink(self, me, other)
    }
    fn monitor(&self, me: u32, other: u32) -> Result<u16, LinkError> {
        Engine::monitor(self, me, other)
    }
    fn demonitor(&self, me: u32, mref: u16) -> bool {
        Engine::demonitor(self, me, mref)
    }
    fn set_trap_exit(&self, pid: u32, on: bool) -> Option<bool> {
        Engine::set_trap_exit(self, pid, on)
    }
    fn exit_signal(&self, from: u32, to: u32, reason: u16) -> Result<(), LinkError> {
        Engine::exit_signal(self, from, to, reason)
    }
    fn register(&self, name: &[u8], pid: u32) -> Result<(), NameError> {
        Engine::register(self, name, pid)
    }
    fn whereis(&self, name: &[u8]) -> Option<u32> {
        Engine::whereis(self, name)
    }
    fn is_live(&self, pid: u32) -> bool {
        Engine::is_live(self, pid)
    }
    fn last_exit(&self, pid: u32) -> Option<Exit> {
        Engine::last_exit(self, pid)
    }
    fn console_input(&self, bytes: &[u8]) -> usize {
        Engine::console_input(self, bytes)
    }
    fn set_console_reader(&self, pid: u32) {
        Engine::set_console_reader(self, pid)
    }
}

enum Kind {
    Z80(Box<Z80Proc>),
    Native(Box<dyn NativeTask>),
}

/// A process body: what runs, its spawn inheritance and its statistics.
pub(crate) struct Body {
    kind: Kind,
    /// Priority and affinity children inherit.
    prio: Priority,
    affinity: CpuSet,
    pub(crate) stats: ProcStats,
    /// Image or task name.
    pub(crate) name: &'static str,
    /// Its memory limit in bytes.
    pub(crate) limit: usize,
}

impl Body {
    /// A Z80 body running `z`, in a body recycled from `pool` if it has one (no
    /// allocation then), else in new boxes.
    pub(crate) fn z80(z: Z80Proc, prio: Priority, affinity: CpuSet, pool: &PagePool) -> Box<Self> {
        let limit = memory::DEFAULT_LIMIT;
        let stats = ProcStats::default();
        match pool.take_body() {
            Some(mut b) => {
                match &mut b.kind {
                    Kind::Z80(old) => **old = z,
                    kind => *kind = Kind::Z80(Box::new(z)),
                }
                (b.prio, b.affinity, b.stats, b.name, b.limit) = (prio, affinity, stats, "z80", limit);
                b
            }
            None => Box::new(Body { kind: Kind::Z80(Box::new(z)), prio, affinity, stats, name: "z80", limit }),
        }
    }
    /// Empties a Z80 body for reuse: its pages go back to `pool`, its flat memory,
    /// CP/M state and SymbOS personality state are dropped, so a body waiting in the
    /// pool holds only itself. False for a native body (not reusable).
    pub(crate) fn recycle(&mut self, pool: &PagePool) -> bool {
        let Kind::Z80(z) = &mut self.kind else { return false };
        z.mem.release(pool);
        z.mem = ProcMemory::Paged(PagedMemory::new(&memory::ZERO_TEMPLATE));
        z.cpm = None;
        z.symbos = None;
        true
    }
    pub(crate) fn native(t: Box<dyn NativeTask>, prio: Priority, affinity: CpuSet) -> Self {
        let name = t.name();
        let limit = memory::NATIVE_LIMIT;
        Body { kind: Kind::Native(t), prio, affinity, stats: ProcStats::default(), name, limit }
    }
    /// The same body under `name`.
    pub(crate) fn named(mut self: Box<Self>, name: &'static str) -> Box<Self> {
        self.name = name;
        self
    }
    pub(crate) fn is_native(&self) -> bool {
        matches!(self.kind, Kind::Native(_))
    }
    /// Bytes it holds (a native task: its box, as far as the type shows).
    pub(crate) fn memory(&self) -> usize {
        match &self.kind {
            Kind::Z80(z) => Z80_BODY + z.bytes(),
            Kind::Native(t) => core::mem::size_of_val(&**t) + core::mem::size_of::<Body>(),
        }
    }
    /// The same body with memory limit `bytes` (0: the default).
    pub(crate) fn limited(mut self: Box<Self>, bytes: usize) -> Box<Self> {
        self.limit = if bytes == 0 { memory::DEFAULT_LIMIT } else { bytes };
        self
    }
    /// Writes `bytes` into a Z80 body's memory at `at` (pages from `pool`); false if a
    /// page could not be had or the body is a native task.
    pub(crate) fn poke(&mut self, at: u16, bytes: &[u8], pool: &PagePool) -> bool {
        match &mut self.kind {
            Kind::Z80(z) => z.poke(at, bytes, pool),
            Kind::Native(_) => false,
        }
    }
}

/// What the engine lends a body for one slice.
pub(crate) struct RunCx<'a, P: Platform> {
    pub(crate) engine: &'a Engine<P>,
    pub(crate) pid: u32,
    pub(crate) wait: &'a WaitTimer,
    pub(crate) mailbox: &'a Mailbox<Message>,
    pub(crate) taken: &'a AtomicU64,
    pub(crate) preempt: &'a AtomicU8,
    pub(crate) core: CoreId,
    /// The bytes charged to the process.
    pub(crate) account: &'a Account,
    /// This core's page pool.
    pub(crate) pool: &'a PagePool,
}

impl<P: Platform> RunCx<'_, P> {
    fn budget(&self) -> &Budget {
        &self.engine.budget
    }
    /// Returns the charge of a message taken from the mailbox.
    fn took(&self, msg: &Message) {
        self.account.uncharge(memory::message_bytes(msg.data.len()), self.budget());
    }
}

/// The outcome of one slice.
pub(crate) struct Slice {
    pub(crate) used: u64,
    pub(crate) reason: OutReason,
    /// The wait generation of a timed wait the slice ends in: the engine arms (or keeps)
    /// the process's one timer for it if the scheduler really parks the process.
    pub(crate) wait_gen: Option<u32>,
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
const OUT_OF_MEMORY: OutReason = OutReason::Exited(ExitReason::Other(abi::reason::MEMORY as u32));

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
fn store<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, at: u16, data: &[u8]) -> bool {
    match &mut z.mem {
        ProcMemory::Paged(m) => {
            let (written, ok) = with_pages(m, cx, |m, pool| m.write_bytes(at, data, pool));
            written && ok
        }
        flat => flat.write_bytes(at, data, cx.pool),
    }
}

/// Bit n set: address n (below 64) is trapped: warm boot, BDOS, the system call.
const LOW_TRAPS: u64 = 1 << abi::WARM_BOOT | 1 << abi::BDOS | 1 << abi::SYSCALL;
const _: () = assert!(abi::WARM_BOOT < 64 && abi::BDOS < 64 && abi::SYSCALL < 64);

/// Time slices in a row that a process uses up computing (never waiting or yielding)
/// after which it is moved to flat memory (see `Body::run`): 16 slices are 64,000
/// reductions, a millisecond or two of computing.
pub(crate) const PROMOTE_AFTER: u16 = 16;

/// Instructions run between looks at the tick's preempt counter: the time-slice limit
/// is checked at these instruction boundaries rather than after every instruction,
/// which keeps the check off the interpreter's per-instruction path.
const PREEMPT_CHECK: u64 = 1024;

/// How a system call ended.
enum Call {
    /// Done: return to the caller (emulated RET) and go on.
    Done(u64),
    /// Done, and the slice ends for this reason (after the RET).
    DoneStop(u64, OutReason),
    /// Not done: stop here and retry the call when the process runs again.
    Block(u64, OutReason),
    /// Done, and the call has set the PC itself (a SymbOS restart returns by itself).
    Resume(u64),
    /// Done with the PC set, and the slice ends for this reason.
    ResumeStop(u64, OutReason),
}

impl Body {
    pub(crate) fn run<P: Platform>(&mut self, cx: &mut RunCx<'_, P>, budget: u64) -> Slice {
        let (prio, affinity) = (self.prio, self.affinity);
        match &mut self.kind {
            Kind::Z80(z) => {
                // A process that keeps computing runs on flat memory (if it can pay for
                // it): paged memory costs every access an extra load, which matters
                // for the few CPU-bound processes, while the many that mostly wait
                // keep costing only the pages they wrote.
                if z.busy >= PROMOTE_AFTER {
                    if let ProcMemory::Paged(_) = z.mem {
                        let _ = go_flat(z, cx);
                    }
                }
                let slice = run_z80(z, cx, budget, prio, affinity);
                z.busy = match slice.reason {
                    OutReason::BudgetSpent => z.busy.saturating_add(1),
                    _ => 0,
                };
                slice
            }
            Kind::Native(task) => {
                let mut ncx = NativeCx {
                    ops: cx.engine,
                    mailbox: cx.mailbox,
                    taken: cx.taken,
                    account: cx.account,
                    budget: cx.budget(),
                    pid: cx.pid,
                    core: cx.core,
                    used: 0,
                };
                let step = task.step(&mut ncx);
                let used = ncx.used.max(1);
                match step {
                    NativeStep::Yield => Slice { used, reason: OutReason::Yielded, wait_gen: None },
                    NativeStep::Wait { until } => {
                        // Every native wait is a new wait: bumping the generation makes
                        // the timers of earlier waits stale, so they cannot wake it early.
                        let gen = cx.wait.next();
                        Slice { used, reason: OutReason::Waiting { timeout: until }, wait_gen: until.map(|_| gen) }
                    }
                    NativeStep::Exit(0) => {
                        Slice { used, reason: OutReason::Exited(ExitReason::Normal), wait_gen: None }
                    }
                    NativeStep::Exit(c) => {
                        Slice { used, reason: OutReason::Exited(ExitReason::Other(c)), wait_gen: None }
                    }
                }
            }
        }
    }
}

fn run_z80<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, budget: u64, prio: Priority, aff: CpuSet) -> Slice {
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
            zbeam_z80::StopReason::Trap(abi::BDOS) => cpm(z, cx, None),
            zbeam_z80::StopReason::Trap(pc) if pc >= zbeam_cpm::BIOS_TRAPS => cpm(z, cx, Some(pc)),
            zbeam_z80::StopReason::Trap(_) => syscall(z, cx, prio, aff),
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
fn deliver<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>, msg: &Message, buf: u16, cap: usize) -> Option<u8> {
    // Relaxed: a statistic (queue length for `ps`).
    cx.taken.fetch_add(1, Ordering::Relaxed);
    cx.took(msg);
    end_wait(z, cx);
    let n = msg.data.len().min(cap);
    if !store(z, cx, buf, &msg.data[..n]) {
        return None;
    }
    z.cpu.set_bc(msg.data.len() as u16);
    z.cpu.set_de(msg.from as u16);
    z.cpu.iy = (msg.from >> 16) as u16;
    Some(if msg.data.len() > cap { status::TRUNCATED } else { status::OK })
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
fn join_pid(low: u16, iy: u16) -> u32 {
    u32::from(low) | u32::from(iy) << 16
}

/// Returns `pid` in HL (low half) and IY (high half).
fn set_hl_pid(z: &mut Z80Proc, pid: u32) {
    z.cpu.set_hl(pid as u16);
    z.cpu.iy = (pid >> 16) as u16;
}

fn syscall<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, prio: Priority, aff: CpuSet) -> Call {
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
            if len > abi::MAX_MESSAGE {
                status = status::TOO_BIG;
            } else if !abi::buffer_ok(hl, len) {
                status = status::BAD_BUFFER;
            } else {
                let mut buf = [0u8; abi::MAX_MESSAGE];
                z.mem.read_bytes(hl, &mut buf[..len]);
                status = send_status(e.send(cx.pid, target, &buf[..len]));
            }
            Call::Done(SEND_COST + (len as u64 / 512))
        }
        func::RECEIVE => {
            let cap = bc as usize;
            if !abi::buffer_ok(de, cap) {
                status = status::BAD_BUFFER;
                Call::Done(CALL_COST)
            } else if let Some(msg) = cx.mailbox.consumer().and_then(|mut c| c.pop()) {
                let Some(s) = deliver(z, cx, &msg, de, cap) else {
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
            let len = bc as usize;
            if len > abi::MAX_ARGS {
                status = status::TOO_BIG;
            } else if !abi::buffer_ok(hl, len) {
                status = status::BAD_BUFFER;
            } else {
                let mut args = [0u8; abi::MAX_ARGS];
                z.mem.read_bytes(hl, &mut args[..len]);
                match e.spawn_image_opts(de as usize, &args[..len], SpawnOpts::new(prio, aff), cx.pid, cx.core) {
                    Ok((pid, _)) => set_hl_pid(z, pid.get()),
                    Err(SpawnError::NoSuchImage | SpawnError::BadImage) => status = status::BAD_IMAGE,
                    Err(SpawnError::ArgsTooLong) => status = status::TOO_BIG,
                    Err(_) => status = status::NO_RESOURCES,
                }
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
            } else if len > abi::MAX_MESSAGE {
                status = status::TOO_BIG;
            } else if !abi::buffer_ok(hl, len) {
                status = status::BAD_BUFFER;
            } else {
                let mut buf = [0u8; abi::MAX_MESSAGE];
                z.mem.read_bytes(hl, &mut buf[..len]);
                status = send_status(e.send_tagged(cx.pid, target, tag as u8, &buf[..len]));
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
                let found = cx.mailbox.consumer().and_then(|mut c| {
                    c.take_first(|m| {
                        let hit = filter == abi::ANY_TAG || m.tag as u16 == filter;
                        skipped += u64::from(!hit);
                        hit
                    })
                });
                let cost = RECEIVE_COST + skipped;
                if let Some(msg) = found {
                    let Some(s) = deliver(z, cx, &msg, de, cap) else {
                        return Call::Block(cost, OUT_OF_MEMORY);
                    };
                    status = s;
                    z.cpu.set_hl(msg.tag as u16);
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
        func::LINK => match e.link_inner(cx.pid, target) {
            Ok(Target::Alive) => Call::Done(CALL_COST),
            // NOPROC may have killed it: end the slice so it goes now.
            Ok(Target::NoProc) => Call::DoneStop(CALL_COST, OutReason::Yielded),
            Err(LinkError::Limit) => {
                status = status::NO_RESOURCES;
                Call::Done(CALL_COST)
            }
            Err(LinkError::BadPid) => {
                status = status::BAD_PID;
                Call::Done(CALL_COST)
            }
        },
        func::UNLINK => {
            if e.unlink(cx.pid, target).is_err() {
                status = status::BAD_PID;
            }
            Call::Done(CALL_COST)
        }
        func::MONITOR => {
            match e.monitor(cx.pid, target) {
                Ok(r) => z.cpu.set_hl(r),
                Err(LinkError::Limit) => status = status::NO_RESOURCES,
                Err(LinkError::BadPid) => status = status::BAD_PID,
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
            Err(_) => {
                status = status::BAD_PID;
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
            if len == 0 || len > abi::MAX_NAME {
                status = status::BAD_ARG;
            } else if !abi::buffer_ok(hl, len) {
                status = status::BAD_BUFFER;
            } else {
                let mut name_buf = [0u8; abi::MAX_NAME];
                z.mem.read_bytes(hl, &mut name_buf[..len]);
                let name = &name_buf[..len];
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
                    Err(NameError::BadName) => status::BAD_ARG,
                    Err(NameError::BadPid) => status::BAD_PID,
                    Err(NameError::Taken) => status::NAME_TAKEN,
                    Err(NameError::NotFound) => status::NOT_FOUND,
                    Err(NameError::Full) => status::NO_RESOURCES,
                };
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

/// The status a SEND or SEND_TAG returns for the engine's answer.
fn send_status(r: Result<(), SendError>) -> u8 {
    match r {
        Ok(()) => status::OK,
        Err(SendError::NoSuchProcess) => status::BAD_PID,
        Err(SendError::TooBig) => status::TOO_BIG,
        Err(SendError::NoMemory) => status::NO_RESOURCES,
    }
}

/// SPAWN_OPT: reads and checks the options block at `at`, spawns image `image`.
fn spawn_opt<P: Platform>(
    z: &Z80Proc,
    cx: &RunCx<'_, P>,
    image: u16,
    at: u16,
    prio: Priority,
    aff: CpuSet,
) -> Result<(u32, u16), u8> {
    use abi::spawn_opts as o;
    if !abi::buffer_ok(at, abi::SPAWN_OPTS_LEN) {
        return Err(status::BAD_BUFFER);
    }
    let mut block = [0u8; abi::SPAWN_OPTS_LEN];
    z.mem.read_bytes(at, &mut block);
    let b = &block;
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
    let flags = b[o::FLAGS];
    if flags & !(o::LINK | o::MONITOR) != 0 {
        return Err(status::BAD_ARG);
    }
    let memory_limit = b[o::MEMORY] as usize * o::MEMORY_UNIT;
    let mut mask = [0u8; 8];
    mask.copy_from_slice(&b[o::AFFINITY..o::AFFINITY + 8]);
    let affinity = match u64::from_le_bytes(mask) {
        0 => aff,
        m if m & cx.engine.sched().topology().all().bits() == 0 => return Err(status::BAD_ARG),
        m => CpuSet::from_bits(m),
    };
    if args_len > abi::MAX_ARGS {
        return Err(status::TOO_BIG);
    }
    if !abi::buffer_ok(args_at, args_len) {
        return Err(status::BAD_BUFFER);
    }
    let mut args = [0u8; abi::MAX_ARGS];
    z.mem.read_bytes(args_at, &mut args[..args_len]);
    let args = &args[..args_len];
    let opts = SpawnOpts { prio, affinity, link: flags & o::LINK != 0, monitor: flags & o::MONITOR != 0, memory_limit };
    match cx.engine.spawn_image_opts(image as usize, args, opts, cx.pid, cx.core) {
        Ok((pid, r)) => Ok((pid.get(), r)),
        Err(SpawnError::NoSuchImage | SpawnError::BadImage) => Err(status::BAD_IMAGE),
        Err(SpawnError::ArgsTooLong) => Err(status::TOO_BIG),
        Err(SpawnError::EmptyAffinity) => Err(status::BAD_ARG),
        Err(_) => Err(status::NO_RESOURCES),
    }
}

/// CP/M: a BDOS call (function in C) or, with `bios`, the BIOS entry point trapped
/// there, performed by `zbeam_cpm` on a copy of the registers. The process's BDOS is
/// made at its first call, over the engine's shared CP/M disk if one is set then,
/// else over a disk of its own. A call that needs console input waits (untimed: the
/// engine wakes the foreground reader when input comes) and is retried.
fn cpm<P: Platform>(z: &mut Z80Proc, cx: &mut RunCx<'_, P>, bios: Option<u16>) -> Call {
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

/// Makes a process's memory a flat 64 KiB copy, charged to it, and gives its pages
/// back to the pool. True if it is flat (already, or now); false if it cannot pay
/// for the copy (its memory stays as it was).
fn go_flat<P: Platform>(z: &mut Z80Proc, cx: &RunCx<'_, P>) -> bool {
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
