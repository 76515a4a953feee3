//! One process's body and how it runs for one time slice. A body is a Z80 machine
//! ([`z80`]: its memory and run loop, with the system calls of [`crate::abi`] decoded
//! by [`syscall`] and CP/M's by [`cpm`]) or a native cooperative task ([`native`]).
//! What the engine lends a body for a slice is a [`RunCx`]; what the slice did comes
//! back as a [`Slice`].

use crate::memory::{self, Account, Budget, PagePool, ProcMemory};
use crate::waiting::WaitTimer;
use crate::{Engine, Message, Pid, Platform, ProcStats};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, AtomicU8};
use zbeam_mailbox::Mailbox;
use zbeam_sched::{CoreId, CpuSet, OutReason, Priority};
use zbeam_z80::paged::{PagedMemory, Template};

mod cpm;
mod native;
#[path = "personality.rs"]
pub(crate) mod personality;
mod syscall;
mod z80;

pub use native::{NativeCx, NativeStep, NativeTask};
pub(crate) use z80::Z80Proc;

/// Reductions a send costs: 1 counted plus 4 for the slice, as BEAM's `erl_send`.
const SEND_COST: u64 = 5;
/// Reductions a receive's fetch of the shared queue costs.
const RECEIVE_COST: u64 = 4;
/// Reductions any other system call costs.
const CALL_COST: u64 = 1;

/// Bytes a Z80 process's body holds besides its memory: the machine and the body.
pub(crate) const Z80_BODY: usize = core::mem::size_of::<Z80Proc>() + core::mem::size_of::<Body>();

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
        match pool.take_body() {
            Some(mut b) => {
                match &mut b.kind {
                    Kind::Z80(old) => **old = z,
                    kind => *kind = Kind::Z80(Box::new(z)),
                }
                b.started(prio, affinity);
                b
            }
            None => {
                let (limit, stats) = (memory::DEFAULT_LIMIT, ProcStats::default());
                Box::new(Body { kind: Kind::Z80(Box::new(z)), prio, affinity, stats, name: "z80", limit })
            }
        }
    }
    /// A Z80 body of the image `template` with `args` (see [`Z80Proc::load`]): a body
    /// recycled from `pool` is loaded in place (nothing allocated, nothing moved), else
    /// new boxes are made. None if the page for the arguments cannot be had.
    pub(crate) fn z80_image(
        template: &'static Template,
        args: &[u8],
        prio: Priority,
        affinity: CpuSet,
        pool: &PagePool,
    ) -> Option<Box<Self>> {
        let Some(mut b) = pool.take_body() else {
            return Some(Body::z80(Z80Proc::load(template, args, pool)?, prio, affinity, pool));
        };
        let loaded = match &mut b.kind {
            Kind::Z80(z) => z.reload(template, args, pool),
            kind => match Z80Proc::load(template, args, pool) {
                Some(z) => {
                    *kind = Kind::Z80(Box::new(z));
                    true
                }
                None => false,
            },
        };
        if !loaded {
            if b.recycle(pool) {
                pool.give_body(b);
            }
            return None;
        }
        b.started(prio, affinity);
        Some(b)
    }
    /// Sets a recycled body's inheritance, statistics, name and limit as for a new one.
    fn started(&mut self, prio: Priority, affinity: CpuSet) {
        (self.prio, self.affinity, self.stats, self.name, self.limit) =
            (prio, affinity, ProcStats::default(), "z80", memory::DEFAULT_LIMIT);
    }
    /// Empties a Z80 body for reuse: its pages go back to `pool`, its flat memory,
    /// CP/M state and SymbOS personality state are dropped, so a body waiting in the
    /// pool holds only itself. False for a native body (not reusable).
    pub(crate) fn recycle(&mut self, pool: &PagePool) -> bool {
        let Kind::Z80(z) = &mut self.kind else { return false };
        match &mut z.mem {
            ProcMemory::Paged(m) => m.release(pool),
            flat => *flat = ProcMemory::Paged(PagedMemory::new(&memory::ZERO_TEMPLATE)),
        }
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
    pub(crate) pid: Pid,
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
    pub(crate) fn took(&self, msg: &Message) {
        self.account.uncharge_message(memory::message_bytes(msg.data.len()), self.budget(), Some(self.core.index()));
    }
    /// Gives a received message's payload buffer (if it has one) back to this core's
    /// byte pool.
    pub(crate) fn recycle(&self, msg: Message) {
        msg.data.recycle(&self.engine.bufs, self.engine.core_index(Some(self.core)));
    }
    /// The process's inbox (None if its consumer handle is out, which it never is while
    /// the process runs).
    fn inbox(&self) -> Option<crate::inbox::Inbox<'_>> {
        crate::inbox::Inbox::open(self.mailbox, &self.engine.nodes, self.engine.core_index(Some(self.core)), self.pid)
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
    /// Runs the body for one slice of at most `budget` reductions.
    pub(crate) fn run<P: Platform>(&mut self, cx: &mut RunCx<'_, P>, budget: u64) -> Slice {
        match &mut self.kind {
            Kind::Z80(z) => z80::run(z, cx, budget, self.prio, self.affinity),
            Kind::Native(task) => native::run(&mut **task, cx),
        }
    }
}
