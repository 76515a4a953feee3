//! zbeam-engine: the process runtime, the middle of the three tiers (the scheduler
//! decides, the engine runs processes, the kernel runtime is the platform). It runs
//! Z80 processes under the `zbeam-sched` policy, shared by the kernel (cores = CPUs)
//! and the hosted runtime (cores = Linux threads).
//!
//! What: the process table (a Z80 machine with 64 KiB of memory, or a native
//! cooperative task, plus a lock-free mailbox per slot), the system interface of
//! [`abi`], one timer wheel per core for receive timeouts and sleeps, and
//! [`Engine::run_once`], one step of a core's scheduling loop: fire due timers, pick
//! a process, run it for its reduction budget, schedule it out and act on the
//! decision. What differs between the kernel and the hosted runtime (the clock,
//! waking a sleeping core, the console) is the [`Platform`] trait.
//!
//! Why here: the policy crate decides and this crate acts on it identically on
//! both runtimes, so the host tests and benches measure the same code the kernel
//! runs (DESIGN.md: policy apart from mechanism).
//!
//! Preemption is BEAM's: a process runs whole instructions for up to its budget
//! (4000 reductions; one Z80 instruction is one reduction, sends and receives cost
//! extra). The platform's tick also enforces a time-slice limit: a slice still
//! running at its second tick (so it has run for at least one whole tick period) is
//! stopped at the next instruction boundary. Slices are normally far shorter than a
//! tick; cutting every slice a tick happens to land in would phase-lock with the
//! run-queue cycle and skew the normal:low share (measured: 2+1 gave 1/22, not 1/17).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod abi;
mod depot;
/// CP/M 2.2 for Z80 processes: the BDOS, BIOS and in-memory disk the engine uses.
pub use zbeam_cpm as cpm;
mod inbox;
mod introspect;
pub mod limits;
pub mod memory;
pub mod pid;
mod proc;
mod signals;
pub mod supervisor;
pub mod sync;
mod tree;
pub mod waiting;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use spin::Mutex;
use waiting::{Arm, WaitTimer, Wheel};
use zbeam_mailbox::{BytePool, Mailbox, NodePool, PooledBytes};
use zbeam_sched::{
    Activity, CoreId, CpuSet, ExitReason, FaultCode, OutAction, OutReason, Pick, Priority, Reductions, SchedError,
    Scheduler, SleepDecision, Topology, Wakeup,
};

pub use introspect::{ProcInfo, RunState, SliceEnd, TraceEvent};
use memory::{Account, Budget, PagePool};
pub use pid::Pid;
use pid::INDEX_MASK;
use proc::Body;
pub use proc::{NativeCx, NativeStep, NativeTask};
use signals::{Ctl, Relations};
pub use signals::{LinkError, NameError, SpawnOpts};

/// What the engine needs from the machine it runs on.
pub trait Platform: Sync {
    /// Monotonic time in milliseconds (the timer wheel's tick).
    fn now_ms(&self) -> u64;
    /// The same clock in microseconds, for measuring (workload controllers time their
    /// runs with it). The default is [`Platform::now_ms`] × 1000; a platform with a
    /// finer clock gives it.
    fn now_us(&self) -> u64 {
        self.now_ms().saturating_mul(1000)
    }
    /// Interrupts the cores in `cores` if they sleep (work arrived for them).
    fn wake(&self, cores: CpuSet);
    /// Writes process output to the console.
    fn console(&self, bytes: &[u8]);
    /// Writes the output of process `pid` (its BDOS and WRITE calls). The default
    /// forwards to [`Platform::console`]; a platform may keep each process's output
    /// apart (the kernel's tests compare it per process).
    fn console_from(&self, pid: Pid, bytes: &[u8]) {
        let _ = pid;
        self.console(bytes)
    }
    /// Whether memory is down to the reserve kept for the processes already running
    /// (their messages, links, timers): while it is, spawns are refused with
    /// [`SpawnError::OutOfMemory`] rather than a later allocation failing. The
    /// default never says so.
    fn memory_low(&self) -> bool {
        false
    }
    /// Whether [`Platform::trace`] wants events now (checked once per event site, so
    /// keep it to one relaxed load).
    #[inline(always)]
    fn tracing(&self) -> bool {
        false
    }
    /// Records a scheduling event on the calling core (only called while
    /// [`Platform::tracing`] is true).
    fn trace(&self, _event: TraceEvent) {}
}

/// A program image a process can be spawned from.
#[derive(Clone, Copy, Debug)]
pub struct Image {
    /// Name (for `ps` and spawn by name).
    pub name: &'static str,
    /// The bytes loaded at 0x0100.
    pub bytes: &'static [u8],
}

/// A message between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender ([`Pid::KERNEL`] = the kernel itself).
    pub from: Pid,
    /// The process it was sent to. A receive drops a message addressed to an earlier
    /// process of its slot (a send that raced that process's exit and the slot's reuse).
    pub to: Pid,
    /// Tag for selective receive: 0 for plain sends, [`abi::tag`] for system messages.
    pub tag: u8,
    /// Payload, at most [`abi::MAX_MESSAGE`] bytes.
    pub data: Payload,
}

/// Payload bytes kept inside the message itself: 30 makes a mailbox node (link, pool
/// index and message) exactly one 64-byte cache line.
pub const INLINE_PAYLOAD: usize = 30;

/// A message's bytes: up to [`INLINE_PAYLOAD`] inside the message (no allocation of
/// their own, so a small message costs one allocation, its mailbox node), longer ones
/// up to [`zbeam_mailbox::MAX_POOLED`] in a buffer of the sending core's byte pool (see
/// `zbeam_mailbox::BytePool`), given back by the core that receives them. Reads as a
/// byte slice.
pub enum Payload {
    /// A short payload: `len` bytes of `bytes`.
    Inline {
        /// Bytes used.
        len: u8,
        /// The bytes (those past `len` are zero).
        bytes: [u8; INLINE_PAYLOAD],
    },
    /// A longer payload in a pooled buffer.
    Pooled(PooledBytes),
    /// A longer payload in a box of its own (a copy made by `clone`, or a payload longer
    /// than a pooled buffer holds).
    Boxed(Box<[u8]>),
}

impl core::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Payload::Inline { len, bytes } => &bytes[..*len as usize],
            Payload::Pooled(b) => b.as_slice(),
            Payload::Boxed(b) => b,
        }
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        Payload::from(&**self)
    }
}

/// Payloads are equal when their bytes are, however they are kept.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Payload {}

impl Payload {
    /// `data` as a payload; None if a payload too long to keep inline cannot get
    /// memory for its box.
    pub fn try_from_slice(data: &[u8]) -> Option<Payload> {
        if data.len() <= INLINE_PAYLOAD {
            return Some(data.into());
        }
        let mut v = Vec::new();
        v.try_reserve_exact(data.len()).ok()?;
        v.extend_from_slice(data);
        // The capacity is exactly the length: no reallocation.
        Some(Payload::Boxed(v.into_boxed_slice()))
    }

    /// `data` as a payload whose buffer, if it needs one, comes from `pools[at]` (the
    /// sending core's byte pool); None if the heap cannot give a new buffer.
    pub(crate) fn try_in(data: &[u8], pools: &[BytePool], at: usize) -> Option<Payload> {
        if data.len() <= INLINE_PAYLOAD || data.len() > zbeam_mailbox::MAX_POOLED {
            return Self::try_from_slice(data);
        }
        PooledBytes::copy_in(data, pools, at).map(Payload::Pooled)
    }

    /// Gives a pooled buffer back to `pools[at]`, the pool of the core that is done with
    /// the payload (dropping a payload gives its buffer to the heap instead).
    pub(crate) fn recycle(self, pools: &[BytePool], at: usize) {
        if let Payload::Pooled(b) = self {
            b.recycle(pools, at);
        }
    }
}

impl From<&[u8]> for Payload {
    fn from(data: &[u8]) -> Self {
        if data.len() <= INLINE_PAYLOAD {
            let mut bytes = [0u8; INLINE_PAYLOAD];
            bytes[..data.len()].copy_from_slice(data);
            Payload::Inline { len: data.len() as u8, bytes }
        } else {
            Payload::Boxed(data.into())
        }
    }
}

impl core::fmt::Debug for Payload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

/// Why a spawn was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// No image with that number.
    NoSuchImage,
    /// The image is empty or larger than [`abi::MAX_IMAGE`].
    BadImage,
    /// The argument block is longer than [`abi::MAX_ARGS`].
    ArgsTooLong,
    /// Every process slot is in use.
    TableFull,
    /// No memory for the process.
    OutOfMemory,
    /// The affinity names no core of this machine.
    EmptyAffinity,
    /// The parent already holds as many links or monitors as it may
    /// ([`limits::MAX_LINKS`], [`limits::MAX_MONITORS`]).
    Limit,
    /// The parent is being stopped with its tree ([`Engine::stop_tree`]).
    Frozen,
}

/// What `mem` shows of the engine's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes charged to all processes now.
    pub charged: usize,
    /// The budget of bytes Z80 processes may be charged together.
    pub budget: usize,
    /// Bytes held by image templates (shared by every process of the image).
    pub templates: usize,
    /// Each core's page pool.
    pub pools: Vec<memory::PoolStats>,
    /// Each core's pool of message nodes (the last serves senders on no core).
    pub nodes: Vec<zbeam_mailbox::PoolStats>,
    /// Each core's pool of payload buffers, per size class (`zbeam_mailbox::CLASSES`;
    /// the last pool serves senders on no core).
    pub payloads: Vec<[zbeam_mailbox::PoolStats; zbeam_mailbox::CLASSES.len()]>,
    /// The depot the pools share (pages and bodies beyond a pool's bound).
    pub depot: memory::PoolStats,
    /// Bytes of the scheduler's run queues (room a burst grew them to, until they
    /// shrink) and of the timer wheels' slabs (which keep the size they grew to).
    pub queues: usize,
}

impl MemoryStats {
    /// Bytes the engine keeps on purpose for later processes, with no process holding
    /// them: the templates, the page pools' and their depot's pages, recycled bodies
    /// and lists, the free message nodes and payload buffers, and the run queues' and
    /// timer wheels' room. Page pools keep what they once took up to their bounds and
    /// pass the rest to the depot, which keeps it until it is trimmed
    /// ([`Engine::trim_memory`]; node and byte pools keep at most their high-water
    /// marks), so after a spawn burst the heap stays this much above its earlier size;
    /// a leak is heap held beyond it.
    pub fn kept(&self) -> usize {
        let nodes: usize =
            self.nodes.iter().chain(self.payloads.iter().flatten()).map(|n| n.cached * n.node_bytes).sum();
        self.templates + self.pooled() + nodes + self.queues
    }

    /// Bytes of the pools and their depot: every page a pool made and the depot did
    /// not give back to the heap, the recycled bodies, and their lists.
    pub fn pooled(&self) -> usize {
        let pools = self.pools.iter().chain(core::iter::once(&self.depot));
        let pages: usize = pools.clone().map(|p| p.made).sum::<usize>() - self.depot.returned;
        pages * memory::PAGE_SIZE + pools.map(|p| p.bodies * p.body_bytes + p.list_bytes).sum::<usize>()
    }
}

/// Why a send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No live process with that pid.
    NoSuchProcess,
    /// Longer than [`abi::MAX_MESSAGE`].
    TooBig,
    /// The memory processes may hold together is used up.
    NoMemory,
}

/// Per-process statistics, readable while the process lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStats {
    /// Reductions executed.
    pub reductions: u64,
    /// Reductions executed on performance cores.
    pub reductions_on_p: u64,
    /// The cores the process ran on at least once.
    pub ran_on: CpuSet,
    /// Times it was scheduled in.
    pub slices: u64,
}

/// What one [`Engine::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ran a process (or found work meanwhile): call again.
    Ran,
    /// Nothing to do: sleep until interrupted or until `deadline` (ms), then call
    /// [`Engine::woke`].
    Idle {
        /// The earliest timer on this core, if any.
        deadline: Option<u64>,
    },
}

/// How a process ended, kept in its slot for inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit code 0, a return from the top level, or a warm boot.
    Normal,
    /// Exit with a non-zero code.
    Code(u32),
    /// Killed.
    Killed,
    /// A fault: the code says which (see [`fault`]).
    Fault(u32),
    /// Killed by an exit signal with reason NOPROC (it linked to a dead pid).
    NoProc,
    /// Stopped with reason SHUTDOWN (by a supervisor, or a supervisor giving up).
    Shutdown,
    /// Ended with reason MEMORY: its memory limit (or the budget of all processes)
    /// refused memory it needed.
    Memory,
}

impl Exit {
    /// The 16-bit reason code exit signals and DOWN messages carry ([`abi::reason`]).
    pub fn reason(self) -> u16 {
        match self {
            Exit::Normal => abi::reason::NORMAL,
            Exit::Code(c) => c.min(abi::reason::MAX_CODE as u32) as u16,
            Exit::Killed => abi::reason::KILLED,
            Exit::Fault(c) => abi::reason::FAULT | c.min(0xff) as u16,
            Exit::NoProc => abi::reason::NOPROC,
            Exit::Shutdown => abi::reason::SHUTDOWN,
            Exit::Memory => abi::reason::MEMORY,
        }
    }

    /// The exit a reason code stands for (codes with no system meaning are `Code`).
    pub fn from_reason(r: u32) -> Exit {
        match r {
            0 => Exit::Normal,
            r if r == abi::reason::KILLED as u32 => Exit::Killed,
            r if r == abi::reason::NOPROC as u32 => Exit::NoProc,
            r if r == abi::reason::SHUTDOWN as u32 => Exit::Shutdown,
            r if r == abi::reason::MEMORY as u32 => Exit::Memory,
            r if r & 0xff00 == abi::reason::FAULT as u32 => Exit::Fault(r & 0xff),
            r => Exit::Code(r),
        }
    }
}

/// Fault codes.
pub mod fault {
    /// HALT with interrupts disabled: nothing can ever wake the CPU.
    pub const HALT: u32 = 1;
    /// A CP/M BDOS error that ends the program: a drive other than A: selected, a
    /// write to a read-only disk or file, a BDOS 9 string with no '$', or a jump into
    /// the BIOS area that is no entry point (the BDOS message is printed first).
    pub const BDOS: u32 = 2;
    /// An unknown system-call function number (A at `RST 30h`).
    pub const BAD_CALL: u32 = 3;
    /// A SymbOS program named a memory bank other than its own (only its bank exists).
    pub const SYMBOS_BANK: u32 = 4;
    /// A SymbOS program called what the SymbOS personality does not serve: a kernel
    /// function address, an interbank stub (FF00-FFFF), or a jump to 0000.
    pub const SYMBOS_CALL: u32 = 5;
}

struct Slot {
    /// The raw pid of the slot's current process, or of its last one until the slot
    /// is reused: a pid names a process only while this holds it (see [`pid`]).
    pid: AtomicU32,
    /// Incarnation count, bumped at every exit (stale pids are detected by users that
    /// keep it).
    generation: AtomicU32,
    /// Whether a process lives in this slot.
    live: AtomicBool,
    /// The wait generation and the one timer armed for it (see [`waiting`]).
    wait: WaitTimer,
    body: Mutex<Option<Box<Body>>>,
    mailbox: Mailbox<Message>,
    last_exit: Mutex<Option<Exit>>,
    last_stats: Mutex<ProcStats>,
    /// Image or native task name of the process in the slot (for `ps` and traces).
    name: Mutex<&'static str>,
    /// Whether the process in the slot is a native task.
    native: AtomicBool,
    /// Messages delivered to the mailbox, and received from it, by this incarnation
    /// (their difference is the queue length `ps` shows).
    delivered: AtomicU64,
    taken: AtomicU64,
    /// Links, monitors, the trap-exit flag and the name (see `signals`).
    ctl: Mutex<Ctl>,
    /// The reason a kill or an exit signal asked for; used when it is torn down.
    pending_exit: Mutex<Option<Exit>>,
    /// Bytes charged to the process, and its limit (see `memory`).
    account: Account,
    /// Who spawned the process in the slot (0 = the kernel) and that spawner's
    /// generation then; kept after exit until the slot is reused (see `tree`).
    parent: AtomicU32,
    parent_gen: AtomicU32,
    /// Frozen by a tree stop: it may not spawn (see `tree`).
    frozen: AtomicBool,
    /// Children (live, or dead and still held) whose parent record names this slot:
    /// while any is, the slot is not reused, so ancestry stays walkable (see `tree`).
    holds: AtomicU32,
    /// Dead, and waiting for `holds` to reach 0 before going back to the free list.
    zombie: AtomicBool,
}

/// The process runtime. Shared by every core (it is `Sync`). `P` may be unsized:
/// native tasks see the engine as `Engine<dyn Platform>` (see [`NativeCx`]).
pub struct Engine<P: Platform + ?Sized> {
    sched: Scheduler,
    images: &'static [Image],
    slots: Box<[Slot]>,
    free: Mutex<VecDeque<u32>>,
    timers: Box<[Wheel]>,
    /// Ticks seen by each core's current slice; 2 or more stops it.
    preempt: Box<[AtomicU8]>,
    live: AtomicUsize,
    spawned: AtomicU64,
    /// Messages sent, counted per core (the last entry: sends from no core), summed
    /// when read, so the send path shares no counter between cores.
    messages: Box<[memory::Padded<AtomicU64>]>,
    /// One pool of message nodes per core, and one for senders on no core (see
    /// `zbeam_mailbox::NodePool`).
    nodes: Box<[NodePool<Message>]>,
    /// One pool of payload buffers per core, and one for senders on no core, indexed as
    /// `nodes` (see `zbeam_mailbox::BytePool`).
    bufs: Box<[BytePool]>,
    /// The CP/M disk processes share from their first BDOS call (None: each has its own).
    cpm_disk: Mutex<Option<zbeam_cpm::SharedDisk>>,
    /// Registered names: (name bytes, length, pid); a small table (see `signals`).
    names: Mutex<Vec<([u8; abi::MAX_NAME], u8, u32)>>,
    /// The last monitor reference handed out.
    next_ref: AtomicU32,
    /// Console input not yet read, and the pid allowed to read it (0 = none).
    console_in: Mutex<VecDeque<u8>>,
    console_reader: AtomicU32,
    /// The cap on bytes charged to Z80 processes together.
    budget: Budget,
    /// One page pool per core.
    pools: Box<[PagePool]>,
    /// What the pools share beyond their bound (see `depot`).
    depot: alloc::sync::Arc<depot::Depot>,
    /// Each image's template, built at its first spawn (None: building it failed).
    templates: Box<[spin::Once<Option<&'static zbeam_z80::paged::Template>>]>,
    /// Working memory of `stop_tree`, made once (see `tree::Scratch`).
    stop_scratch: Mutex<tree::Scratch>,
    /// Tree stops in progress: while any is, a spawn looks for a frozen ancestor of
    /// its spawner, not only at the spawner (see `tree`).
    stopping: AtomicUsize,
    /// Last: the field an unsized `P` may be.
    platform: P,
}

/// Pid 0 is the kernel itself (sender of console `send`s); processes start at 1.
const FIRST_PID: u32 = 1;

/// Free message nodes each pool keeps at most in each of its two lists (64 bytes each);
/// past that, freed nodes go back to the heap.
const NODE_HIGH_WATER: usize = 512;

/// Free payload buffers each byte pool keeps at most in each of its two lists, per size
/// class (64 to 1024 bytes): at most about 253 KiB per core, all classes full.
const BUF_HIGH_WATER: usize = 64;

/// Timer slab entries each core's wheel is built with.
const TIMERS_AT_START: usize = 4096;

/// Due timers `fire_timers` takes from a wheel at a time.
const FIRE_BATCH: usize = 64;

/// Process-table slots only native tasks may take (see `spawn_body`), on top of the
/// table size asked for.
pub const SYSTEM_SLOTS: usize = 16;

impl<P: Platform> Engine<P> {
    /// An engine for `topology` with room for `max_procs` processes, plus
    /// [`SYSTEM_SLOTS`] kept for native tasks (at most [`pid::MAX_SLOTS`] in all).
    pub fn new(topology: Topology, max_procs: usize, images: &'static [Image], platform: P) -> Self {
        let max_procs = max_procs.saturating_add(SYSTEM_SLOTS).clamp(2, pid::MAX_SLOTS);
        let cores = topology.len();
        let now = platform.now_ms();
        let sched = Scheduler::new(topology, max_procs, zbeam_sched::Config::default());
        let slots = (0..max_procs)
            .map(|_| Slot {
                pid: AtomicU32::new(0),
                generation: AtomicU32::new(0),
                live: AtomicBool::new(false),
                wait: WaitTimer::new(),
                body: Mutex::new(None),
                mailbox: Mailbox::new(),
                last_exit: Mutex::new(None),
                last_stats: Mutex::new(ProcStats::default()),
                name: Mutex::new(""),
                native: AtomicBool::new(false),
                delivered: AtomicU64::new(0),
                taken: AtomicU64::new(0),
                ctl: Mutex::new(Ctl::default()),
                pending_exit: Mutex::new(None),
                account: Account::new(),
                parent: AtomicU32::new(0),
                parent_gen: AtomicU32::new(0),
                frozen: AtomicBool::new(false),
                holds: AtomicU32::new(0),
                zombie: AtomicBool::new(false),
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let depot = alloc::sync::Arc::new(depot::Depot::default());
        Engine {
            sched,
            platform,
            images,
            slots,
            free: Mutex::new((FIRST_PID..max_procs as u32).collect()),
            // A process has at most one timer (limits::TIMERS_PER_PROCESS). A wheel starts
            // with room for a few thousand and grows fallibly beyond (see
            // waiting::WaitTimer::arm): room for every slot on every core would cost a
            // million-slot table more than its processes.
            timers: (0..cores)
                .map(|_| waiting::new_wheel(now, max_procs.min(TIMERS_AT_START)))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
            preempt: (0..cores).map(|_| AtomicU8::new(0)).collect::<Vec<_>>().into_boxed_slice(),
            live: AtomicUsize::new(0),
            spawned: AtomicU64::new(0),
            messages: (0..=cores).map(|_| memory::Padded::default()).collect::<Vec<_>>().into_boxed_slice(),
            nodes: (0..=cores as u32).map(|i| NodePool::new(i, NODE_HIGH_WATER)).collect::<Vec<_>>().into_boxed_slice(),
            bufs: (0..=cores as u32).map(|i| BytePool::new(i, BUF_HIGH_WATER)).collect::<Vec<_>>().into_boxed_slice(),
            cpm_disk: Mutex::new(None),
            // Full size at once: the table never grows while processes run.
            names: Mutex::new(Vec::with_capacity(limits::MAX_NAMES)),
            next_ref: AtomicU32::new(0),
            console_in: Mutex::new(VecDeque::new()),
            console_reader: AtomicU32::new(0),
            budget: Budget::new(cores),
            pools: (0..cores).map(|_| PagePool::new(depot.clone())).collect::<Vec<_>>().into_boxed_slice(),
            depot,
            templates: images.iter().map(|_| spin::Once::new()).collect::<Vec<_>>().into_boxed_slice(),
            stop_scratch: Mutex::new(tree::Scratch::new(max_procs)),
            stopping: AtomicUsize::new(0),
        }
    }
}

impl<P: Platform + ?Sized> Engine<P> {
    /// Caps the bytes Z80 processes may be charged together (the platform keeps the
    /// rest of its memory as a reserve for the kernel, the shell and supervisors). A
    /// spawn that would pass it answers NO_RESOURCES; a process whose page copy or
    /// CP/M memory would pass it ends with reason MEMORY; a send that would pass it
    /// answers NO_RESOURCES (system messages are always delivered).
    pub fn set_memory_budget(&self, bytes: usize) {
        self.budget.set_cap(bytes);
    }

    /// Bytes charged to the live process `pid` (its body, pages, CP/M memory and
    /// queued messages); 0 if there is none.
    pub fn memory_of(&self, pid: Pid) -> usize {
        let pid = pid.get();
        self.slot(pid).map_or(0, |s| s.account.held())
    }

    /// The engine's memory: bytes charged, the budget, templates and page pools.
    pub fn memory_stats(&self) -> MemoryStats {
        MemoryStats {
            charged: self.budget.charged(),
            budget: self.budget.cap(),
            templates: self.templates.iter().filter_map(|t| t.get().copied().flatten()).map(|t| t.bytes()).sum(),
            pools: self.pools.iter().map(|p| p.stats()).collect(),
            nodes: self.nodes.iter().map(|n| n.stats()).collect(),
            payloads: self.bufs.iter().map(|b| b.stats()).collect(),
            depot: self.depot.stats(),
            queues: (0..self.sched.topology().len())
                .map(|c| self.sched.queue(CoreId::new(c)).capacity_bytes())
                .sum::<usize>()
                + self.timers.iter().map(|w| w.lock().slab_bytes()).sum::<usize>(),
        }
    }

    /// Disposes of a body that will not run (any more): a Z80 body goes back to the
    /// pool of `core` whole (machine included) and its pages to the page pool, so the
    /// next spawn there allocates nothing; a native body is dropped.
    pub(crate) fn discard(&self, mut body: Box<Body>, core: CoreId) {
        if body.recycle(self.pool(core)) {
            self.pool(core).give_body(body);
        }
    }

    /// The page pool of `core` (core 0's for a core outside the topology).
    pub(crate) fn pool(&self, core: CoreId) -> &PagePool {
        self.pools.get(core.index()).unwrap_or(&self.pools[0])
    }

    /// The body of a Z80 process of image `image` with `args`: the image's shared
    /// template (built at its first spawn), and a page for the arguments if any.
    pub(crate) fn z80_body(
        &self,
        image: usize,
        args: &[u8],
        prio: Priority,
        affinity: CpuSet,
        from: CoreId,
    ) -> Result<Box<Body>, SpawnError> {
        let img = self.images.get(image).ok_or(SpawnError::NoSuchImage)?;
        if args.len() > abi::MAX_ARGS {
            return Err(SpawnError::ArgsTooLong);
        }
        // Refused before anything is built: a body, its first pages or a SymbOS
        // program's flat memory are not made from the reserve (spawn_body checks
        // again, for native bodies and a reserve reached meanwhile).
        if self.platform.memory_low() {
            return Err(SpawnError::OutOfMemory);
        }
        let pool = self.pool(from);
        if zbeam_symbos::exe::is_symbos(img.bytes) {
            // The SymbOS personality: relocated by its own loader into flat memory.
            let z = proc::personality::load(img.name, img.bytes, args, self.cpm_disk())?;
            return Ok(Body::z80(z, prio, affinity, pool).named(img.name));
        }
        if img.bytes.is_empty() || img.bytes.len() > abi::MAX_IMAGE {
            return Err(SpawnError::BadImage);
        }
        // Templates are built once per image and live as long as the engine's images
        // (which are 'static); so they are leaked rather than owned.
        let template = self.templates[image]
            .call_once(|| memory::build_template(img.bytes).map(|t| &*Box::leak(Box::new(t))))
            .ok_or(SpawnError::OutOfMemory)?;
        Ok(Body::z80_image(template, args, prio, affinity, pool).ok_or(SpawnError::OutOfMemory)?.named(img.name))
    }

    /// The scheduling policy (statistics, queue lengths).
    pub fn sched(&self) -> &Scheduler {
        &self.sched
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The built-in images.
    pub fn images(&self) -> &'static [Image] {
        self.images
    }

    /// The number of the image called `name`.
    pub fn image_index(&self, name: &str) -> Option<usize> {
        self.images.iter().position(|i| i.name == name)
    }

    /// Size of the process table (pids are below this).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The pids of the live processes, in slot order (each slot looked at once, as
    /// the walk reaches it).
    pub fn live_pids(&self) -> impl Iterator<Item = Pid> + '_ {
        (FIRST_PID as usize..self.slots.len()).map(|i| Pid::from_raw(self.pid_at(i))).filter(|&p| self.is_live(p))
    }

    /// Live processes.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Processes spawned since start.
    pub fn spawned(&self) -> u64 {
        self.spawned.load(Ordering::Relaxed)
    }

    /// Messages sent since start.
    pub fn messages(&self) -> u64 {
        // Relaxed: statistics.
        self.messages.iter().map(|m| m.0.load(Ordering::Relaxed)).sum()
    }

    /// Sets the CP/M disk that processes share from their first BDOS call on (None:
    /// each gets an empty disk of its own). Processes already using CP/M keep theirs.
    pub fn set_cpm_disk(&self, disk: Option<zbeam_cpm::SharedDisk>) {
        *self.cpm_disk.lock() = disk;
    }

    /// The shared CP/M disk, if one is set.
    pub fn cpm_disk(&self) -> Option<zbeam_cpm::SharedDisk> {
        self.cpm_disk.lock().clone()
    }

    /// The platform's tick on `core`: a slice that sees two ticks has run for a whole
    /// tick period and stops at its next instruction boundary, as if its budget were spent.
    pub fn preempt(&self, core: CoreId) {
        if let Some(ticks) = self.preempt.get(core.index()) {
            // Relaxed: a counter polled by the same core's interpreter loop.
            let _ = ticks.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| t.checked_add(1));
        }
    }

    /// The slot `pid`'s index names, whatever process it holds (None for pid 0's
    /// slot or an index beyond the table).
    fn slot_at(&self, pid: u32) -> Option<&Slot> {
        let index = pid & INDEX_MASK;
        self.slots.get(index as usize).filter(|_| index >= FIRST_PID)
    }

    /// The slot of process `pid`: while it lives, or after its exit until the slot is
    /// reused (a pid of an earlier process in the slot gives None).
    fn slot(&self, pid: u32) -> Option<&Slot> {
        // Acquire: pairs with the Release store of `pid` in spawn_body.
        self.slot_at(pid).filter(|s| s.pid.load(Ordering::Acquire) == pid)
    }

    /// The slot of `pid` if that process lives.
    fn live_slot(&self, pid: u32) -> Option<&Slot> {
        // `live` first (Acquire: pairs with spawn's Release, which comes after the
        // slot's new pid is stored), then the pid: a later process in the slot that we
        // saw live shows its own pid, so a stale pid never passes.
        self.slot_at(pid).filter(|s| s.live.load(Ordering::Acquire) && s.pid.load(Ordering::Acquire) == pid)
    }

    /// The raw pid of the process in slot `index` (its last one if dead).
    fn pid_at(&self, index: usize) -> u32 {
        // Acquire: pairs with the Release store in spawn_body.
        self.slots[index].pid.load(Ordering::Acquire)
    }

    /// Whether `pid` is a live system process: a native task (the shell, supervisors,
    /// the kernel's drivers). Z80 programs cannot KILL, LINK to or SIGNAL one.
    pub fn is_system(&self, pid: Pid) -> bool {
        // Relaxed: `native` is published with the slot by the Acquire in is_live.
        self.is_live(pid) && self.slot(pid.get()).is_some_and(|s| s.native.load(Ordering::Relaxed))
    }

    /// Whether `pid` names a live process.
    pub fn is_live(&self, pid: Pid) -> bool {
        self.live_slot(pid.get()).is_some()
    }

    /// How the last process in slot `pid` ended (None while it lives or if none ran; set
    /// as its teardown starts, so before [`Engine::is_live`] turns false).
    pub fn last_exit(&self, pid: Pid) -> Option<Exit> {
        *self.slot(pid.get())?.last_exit.lock()
    }

    /// Statistics of the last process that lived in slot `pid`, as it exited.
    pub fn final_stats(&self, pid: Pid) -> Option<ProcStats> {
        let slot = self.slot(pid.get())?;
        slot.last_exit.lock().is_some().then(|| *slot.last_stats.lock())
    }

    /// Makes `pid` runnable if it waits (for kernel services woken by an interrupt's
    /// flag, e.g. console input), without sending it anything.
    pub fn notify(&self, pid: Pid) {
        if self.is_live(pid) {
            self.act_on_wakeup(self.sched.wake(pid.sched()));
        }
    }

    /// Statistics of a live process (None if it is dead, or running right now).
    pub fn proc_stats(&self, pid: Pid) -> Option<ProcStats> {
        let pid = pid.get();
        let slot = self.slot(pid)?;
        let body = slot.body.try_lock()?;
        body.as_ref().map(|b| b.stats)
    }

    /// Spawns a Z80 process from image `image` with `args` at 0x0080.
    pub fn spawn_image(
        &self,
        image: usize,
        args: &[u8],
        prio: Priority,
        affinity: CpuSet,
        from: CoreId,
    ) -> Result<Pid, SpawnError> {
        self.spawn_image_patched(image, args, &[], prio, affinity, from)
    }

    /// Spawns like [`Engine::spawn_image`], then writes each `(address, bytes)` patch
    /// into the new process's own memory before it first runs (the shared image is
    /// never changed). Tests run a subset of a program this way.
    pub fn spawn_image_patched(
        &self,
        image: usize,
        args: &[u8],
        patches: &[(u16, &[u8])],
        prio: Priority,
        affinity: CpuSet,
        from: CoreId,
    ) -> Result<Pid, SpawnError> {
        let mut body = self.z80_body(image, args, prio, affinity, from)?;
        for &(at, bytes) in patches {
            if !body.poke(at, bytes, self.pool(from)) {
                self.discard(body, from);
                return Err(SpawnError::OutOfMemory);
            }
        }
        self.spawn_body(body, prio, affinity, from, Relations::NONE).map(|(p, _)| p)
    }

    /// Spawns a native cooperative task.
    pub fn spawn_native(
        &self,
        task: Box<dyn NativeTask>,
        prio: Priority,
        affinity: CpuSet,
        from: CoreId,
    ) -> Result<Pid, SpawnError> {
        self.spawn_body(Body::native(task, prio, affinity), prio, affinity, from, Relations::NONE).map(|(p, _)| p)
    }

    /// Spawns `body`, linked to or monitored by `rel.parent` before it can run. Returns
    /// the pid and the monitor reference (0 without one).
    fn spawn_body(
        &self,
        body: impl Into<Box<Body>>,
        prio: Priority,
        affinity: CpuSet,
        from: CoreId,
        rel: Relations,
    ) -> Result<(Pid, u16), SpawnError> {
        if (affinity.bits() & self.sched.topology().all().bits()) == 0 {
            return Err(SpawnError::EmptyAffinity);
        }
        let body: Box<Body> = body.into();
        // Checked before the slot is taken; a parent racing itself past the bound by
        // one is impossible (a process makes one call at a time).
        let refused = if !self.room_for(rel) {
            Some(SpawnError::Limit)
        } else if self.spawner_frozen(rel.parent) {
            Some(SpawnError::Frozen)
        } else if self.platform.memory_low() {
            Some(SpawnError::OutOfMemory)
        } else {
            None
        };
        if let Some(err) = refused {
            self.discard(body, from);
            return Err(err);
        }
        // The last SYSTEM_SLOTS slots are kept for native tasks (the shell's helpers,
        // supervisors), so a table filled by Z80 processes still serves the system.
        let pid = {
            let mut free = self.free.lock();
            let keep = if body.is_native() { 0 } else { SYSTEM_SLOTS };
            if free.len() > keep {
                free.pop_front()
            } else {
                None
            }
        };
        let Some(index) = pid else {
            self.discard(body, from);
            return Err(SpawnError::TableFull);
        };
        let slot = &self.slots[index as usize];
        // The slot's generation counts its processes (bumped at each exit), so the new
        // pid differs from every recent one of this slot.
        let pid = Pid::new(index, slot.generation.load(Ordering::Relaxed));
        // A send that raced the previous incarnation's exit may have left a message,
        // and its charge: both go.
        inbox::clear(&slot.mailbox, &self.nodes, self.core_index(Some(from)));
        slot.account.clear(&self.budget);
        slot.account.reset(pid, body.limit, !body.is_native());
        if slot.account.charge(body.memory(), &self.budget).is_err() {
            self.discard(body, from);
            self.free.lock().push_front(index);
            return Err(SpawnError::OutOfMemory);
        }
        // Release: pairs with the Acquire loads in `slot`; from here the old pid is stale.
        slot.pid.store(pid.get(), Ordering::Release);
        let name = body.name;
        *slot.name.lock() = name;
        // Relaxed: published by the Release store of `live` below.
        slot.native.store(body.is_native(), Ordering::Relaxed);
        slot.delivered.store(0, Ordering::Relaxed);
        slot.taken.store(0, Ordering::Relaxed);
        *slot.body.lock() = Some(body);
        *slot.last_exit.lock() = None;
        *slot.pending_exit.lock() = None;
        let mref = self.relate_at_spawn(pid.get(), rel);
        self.set_parent(pid.get(), rel.parent);
        // Release: the body is in place before anyone sees the slot live.
        slot.live.store(true, Ordering::Release);
        inbox::race_point(inbox::RacePoint::Published);
        self.live.fetch_add(1, Ordering::Relaxed);
        self.spawned.fetch_add(1, Ordering::Relaxed);
        match self.sched.enqueue(pid.sched(), prio, affinity, from) {
            Ok(placed) => {
                if self.tracing() {
                    self.platform.trace(TraceEvent::Spawn { pid, name, core: placed.core });
                }
                self.platform.wake(placed.wake);
                // A kill (or exit signal) that found the process live before the
                // scheduler had it recorded its reason, but its request found no process
                // to mark: it is asked again now. (The reason's lock orders the two: a
                // kill that takes it after this look finds the process queued.)
                if slot.pending_exit.lock().is_some() {
                    self.act_on_wakeup(self.sched.request_exit(pid.sched()));
                }
                self.check_spawn_race(pid.get(), rel.parent);
                Ok((pid, mref))
            }
            Err(e) => {
                self.unrelate_failed_spawn(pid.get(), rel, mref);
                slot.live.store(false, Ordering::Release);
                if let Some(b) = slot.body.lock().take() {
                    self.discard(b, from);
                }
                slot.account.clear(&self.budget);
                self.live.fetch_sub(1, Ordering::Relaxed);
                // This pid was seen by no one: the slot's generation moves on anyway.
                slot.generation.fetch_add(1, Ordering::Relaxed);
                self.release_slot(index);
                Err(match e {
                    SchedError::EmptyAffinity => SpawnError::EmptyAffinity,
                    SchedError::NoMemory => SpawnError::OutOfMemory,
                    _ => SpawnError::TableFull,
                })
            }
        }
    }

    /// Sends `data` to `to` as `from` (tag 0); makes `to` runnable if it waits.
    pub fn send(&self, from: Pid, to: Pid, data: &[u8]) -> Result<(), SendError> {
        self.send_tagged(from, to, abi::tag::PLAIN, data)
    }

    /// Sends `data` with `tag` to `to` as `from`; makes `to` runnable if it waits. Any
    /// tag is accepted here (the kernel may send system tags); the Z80 interface refuses
    /// the reserved ones.
    pub fn send_tagged(&self, from: Pid, to: Pid, tag: u8, data: &[u8]) -> Result<(), SendError> {
        self.send_on(None, from, to, tag, data)
    }

    /// The index of `core`'s per-core state (node pool, message count, budget spare);
    /// the last index for a caller on no core (or one outside the topology).
    pub(crate) fn core_index(&self, core: Option<CoreId>) -> usize {
        let cores = self.nodes.len() - 1;
        core.map_or(cores, |c| c.index().min(cores))
    }

    /// As [`Engine::send_tagged`], from a sender running on `core` (`None`: on no core):
    /// the message's node comes from that core's pool, its charge from that core's share
    /// of the budget, and it is counted there, so sends on different cores share no
    /// line but the receiver's mailbox and account.
    pub(crate) fn send_on(
        &self,
        core: Option<CoreId>,
        from: Pid,
        to: Pid,
        tag: u8,
        data: &[u8],
    ) -> Result<(), SendError> {
        if data.len() > abi::MAX_MESSAGE {
            return Err(SendError::TooBig);
        }
        let slot = self.live_slot(to.get()).ok_or(SendError::NoSuchProcess)?;
        inbox::race_point(inbox::RacePoint::Checked);
        let at = self.core_index(core);
        // The message is charged to the receiver. Past its limit a Z80 receiver ends
        // with reason MEMORY and the message is dropped (the send itself succeeded, as
        // a send to a process that dies meanwhile does); a native receiver (the shell,
        // a supervisor) is never ended so: a Z80 sender's send is refused instead.
        // Past the budget the send is refused. The charge names the receiver's pid: if
        // it has exited since the check above, the send is one to a dead process.
        let cost = memory::message_bytes(data.len());
        // Relaxed: set before the slots were published live.
        let native_to_native = slot.native.load(Ordering::Relaxed)
            && self.slot(from.get()).is_none_or(|f| f.native.load(Ordering::Relaxed));
        // System messages, and messages between the system's own tasks (trusted code,
        // which may keep many in flight), are charged but never refused.
        let enforce = tag < abi::RESERVED_TAGS && !native_to_native;
        match slot.account.charge_message(to, cost, &self.budget, Some(at), enforce) {
            Ok(()) => {}
            Err(memory::MessageRefused::Gone) => return Err(SendError::NoSuchProcess),
            // Relaxed: set before the slot was published live.
            Err(memory::MessageRefused::Refused(memory::Refused::Limit)) if !slot.native.load(Ordering::Relaxed) => {
                self.kill_with(to.get(), Exit::Memory);
                return Ok(());
            }
            Err(memory::MessageRefused::Refused(_)) => return Err(SendError::NoMemory),
        }
        // The payload's buffer (if it is too long to go inline) and the node are allocated
        // fallibly: a heap that cannot give them makes the send answer NoMemory
        // (NO_RESOURCES to a Z80 sender); the charge is taken back and nothing else
        // changes. The node comes from this core's pool, and goes back to it when the
        // receiver is done with it, from whichever core that is.
        // The scheduler's state word decides who wakes the owner (its WAKE_PENDING bit
        // covers a process that is just deciding to wait), so the mailbox's own
        // waiting flag is never set and its answer carries nothing.
        inbox::race_point(inbox::RacePoint::Charged);
        let queued = match Payload::try_in(data, &self.bufs, at) {
            Some(data) => slot.mailbox.try_push_in(Message { from, to, tag, data }, &self.nodes, at).is_ok(),
            None => false,
        };
        if !queued {
            slot.account.refund_message(to, cost, &self.budget, Some(at));
            return Err(SendError::NoMemory);
        }
        // Relaxed: statistics.
        slot.delivered.fetch_add(1, Ordering::Relaxed);
        self.messages[at].0.fetch_add(1, Ordering::Relaxed);
        self.act_on_wakeup(self.sched.wake(to.sched()));
        Ok(())
    }

    /// Asks `pid` to exit (it is torn down as killed at its next scheduling point). The
    /// kill cannot be trapped; linked processes see reason KILLED.
    pub fn kill(&self, pid: Pid) -> bool {
        let pid = pid.get();
        self.kill_with(pid, Exit::Killed)
    }

    /// Asks `pid` to exit with `exit` as its reason (the first reason asked for wins).
    fn kill_with(&self, pid: u32, exit: Exit) -> bool {
        let Some(slot) = self.live_slot(pid) else { return false };
        slot.pending_exit.lock().get_or_insert(exit);
        self.act_on_wakeup(self.sched.request_exit(Pid::from_raw(pid).sched()));
        true
    }

    fn act_on_wakeup(&self, w: Wakeup) {
        if let Wakeup::Queued { wake, .. } = w {
            self.platform.wake(wake);
        }
    }
}

/// The scheduling loop needs a sized platform: a native task's slice lends it the
/// engine as `Engine<dyn Platform>`.
impl<P: Platform> Engine<P> {
    /// One step of core `core`'s scheduling loop.
    pub fn run_once(&self, core: CoreId) -> Step {
        self.fire_timers(core);
        match self.sched.pick_next(core) {
            Some(pick) => {
                self.platform.wake(pick.wake);
                self.run_pick(core, pick);
                Step::Ran
            }
            None => match self.sched.prepare_sleep(core) {
                SleepDecision::Retry => Step::Ran,
                SleepDecision::Sleep => {
                    self.sched.account(core, Activity::Idle, self.platform.now_ms());
                    Step::Idle { deadline: self.timers[core.index()].lock().next_deadline() }
                }
            },
        }
    }

    /// The core woke from an idle sleep.
    pub fn woke(&self, core: CoreId) {
        self.sched.woke(core);
        self.sched.account(core, Activity::Busy, self.platform.now_ms());
    }

    /// Wakes the processes whose timers on `core` are due. They are taken from the
    /// wheel [`FIRE_BATCH`] at a time into an array on the stack, and woken with the
    /// wheel's lock released: the path allocates nothing, whatever the heap's state.
    fn fire_timers(&self, core: CoreId) {
        let now = self.platform.now_ms();
        let mut advanced = false;
        loop {
            let mut due = [(0u32, 0u32); FIRE_BATCH];
            let mut n = 0;
            {
                let mut wheel = self.timers[core.index()].lock();
                if !advanced {
                    if wheel.next_deadline().is_none_or(|d| d > now) && !wheel.has_expired() {
                        return;
                    }
                    wheel.advance(now);
                    advanced = true;
                }
                while n < FIRE_BATCH {
                    let Some(f) = wheel.pop_expired() else { break };
                    due[n] = f.payload;
                    n += 1;
                }
            }
            for &(pid, gen) in &due[..n] {
                if let Some(slot) = self.slot_at(pid) {
                    if slot.wait.is_current(gen) {
                        self.act_on_wakeup(self.sched.wake(zbeam_sched::Pid::new(pid & INDEX_MASK)));
                    }
                }
            }
            if n < FIRE_BATCH {
                return;
            }
        }
    }

    fn run_pick(&self, core: CoreId, pick: Pick) {
        let pid = pick.pid;
        let slot = &self.slots[pid.index()];
        let on_p = self.sched.topology().is_performance(core);
        // Relaxed: reset of this core's own hint before the slice.
        self.preempt[core.index()].store(0, Ordering::Relaxed);
        let engine_pid = Pid::from_raw(self.pid_at(pid.index()));
        if self.tracing() {
            let (name, prio, source) = (self.name_of(pid), pick.prio, pick.source);
            self.platform.trace(TraceEvent::SliceStart { core, pid: engine_pid, name, prio, source });
        }
        let (used, reason, wait_gen) = {
            let mut guard = slot.body.lock();
            match guard.as_mut() {
                None => (0, OutReason::Exited(ExitReason::Normal), None),
                Some(_) if pick.exiting => (0, OutReason::Exited(ExitReason::Killed), None),
                Some(body) => {
                    let mut cx = proc::RunCx {
                        engine: self,
                        pid: engine_pid,
                        wait: &slot.wait,
                        mailbox: &slot.mailbox,
                        taken: &slot.taken,
                        preempt: &self.preempt[core.index()],
                        core,
                        account: &slot.account,
                        pool: self.pool(core),
                    };
                    let r = body.run(&mut cx, pick.budget as u64);
                    body.stats.reductions += r.used;
                    if on_p {
                        body.stats.reductions_on_p += r.used;
                    }
                    body.stats.ran_on.insert(core);
                    body.stats.slices += 1;
                    (r.used, r.reason, r.wait_gen)
                }
            }
        };
        if self.tracing() {
            let why = match reason {
                OutReason::BudgetSpent => SliceEnd::Budget,
                OutReason::Yielded => SliceEnd::Yield,
                OutReason::Waiting { .. } => SliceEnd::Wait,
                OutReason::Exited(_) | OutReason::Faulted(_) => SliceEnd::Exit,
            };
            self.platform.trace(TraceEvent::SliceEnd { core, pid: engine_pid, reductions: used, why });
        }
        let (out, arm) =
            match slot.wait.schedule_out(&self.sched, &self.timers, core, pid, Reductions(used), reason, wait_gen) {
                Ok(out) => out,
                // A scheduler refusal here is a broken runtime invariant.
                Err(e) => panic!("schedule_out({pid}) refused: {e:?}"),
            };
        self.platform.wake(out.wake);
        match out.action {
            // A wait the scheduler turned into a requeue (a wake-up came while it
            // decided) arms nothing: the process retries its call and, if it still has to
            // wait, arms its timer then (see `waiting`).
            OutAction::Requeued { .. } | OutAction::Parked => {}
            // Parked: its timer is armed. If the wheel could not grow, it is made
            // runnable instead: it retries its call and so polls until its deadline.
            OutAction::Waiting { .. } => {
                if arm == Arm::NoRoom {
                    self.act_on_wakeup(self.sched.wake(pid));
                }
            }
            OutAction::Exited(r) => self.teardown(core, pid, exit_of(r)),
            OutAction::Faulted(FaultCode(c)) => self.teardown(core, pid, Exit::Fault(c)),
            OutAction::Killed => self.teardown(core, pid, Exit::Killed),
        }
    }

    /// Timers armed in every core's wheel (at most one per process), for tests and `stats`.
    pub fn timers_armed(&self) -> usize {
        self.timers.iter().map(|w| w.lock().len()).sum()
    }

    /// Timer slab entries allocated in every core's wheel: the most timers each wheel
    /// ever held at once (they are reused, never given back).
    pub fn timer_slab(&self) -> usize {
        self.timers.iter().map(|w| w.lock().slab_len()).sum()
    }

    fn teardown(&self, core: CoreId, pid: zbeam_sched::Pid, exit: Exit) {
        let slot = &self.slots[pid.index()];
        let raw = self.pid_at(pid.index());
        // A kill carries the reason the killer (or an exit signal) asked for.
        let pending = slot.pending_exit.lock().take();
        let exit = match (exit, pending) {
            (Exit::Killed, Some(asked)) => asked,
            (exit, _) => exit,
        };
        // The reason is recorded before the slot stops being live, so whoever sees the
        // process gone (`is_live` false) finds how it ended (`last_exit`), however long
        // the rest of the teardown (a full mailbox to empty) takes; its statistics first,
        // for `final_stats`.
        if let Some(b) = slot.body.lock().as_ref() {
            *slot.last_stats.lock() = b.stats;
        }
        *slot.last_exit.lock() = Some(exit);
        // Release: the slot is dead before the body goes, for senders' Acquire loads.
        slot.live.store(false, Ordering::Release);
        let body = slot.body.lock().take();
        if let Some(b) = body {
            self.discard(b, core);
        }
        inbox::clear(&slot.mailbox, &self.nodes, self.core_index(Some(core)));
        // Everything it held is back: body, pages, messages (a send racing this exit
        // may charge the slot again; the next spawn in it returns that).
        slot.account.clear(&self.budget);
        slot.generation.fetch_add(1, Ordering::Relaxed);
        slot.wait.end(&self.timers);
        // Links, monitors and the name go before the slot can be reused.
        self.exit_signals(raw, exit);
        if self.tracing() {
            self.platform.trace(TraceEvent::Exit { pid: Pid::from_raw(raw), exit });
        }
        self.live.fetch_sub(1, Ordering::Relaxed);
        if self.sched.release(pid).is_ok() {
            self.release_slot(pid.get());
        }
    }
}

fn exit_of(r: ExitReason) -> Exit {
    match r {
        ExitReason::Normal => Exit::Normal,
        ExitReason::Killed => Exit::Killed,
        ExitReason::Other(c) => Exit::from_reason(c),
    }
}
