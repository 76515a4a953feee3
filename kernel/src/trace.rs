//! Scheduling trace: a ring buffer of engine events per core, printed by the shell's
//! `trace dump` in a line-based text format that `tools/traceview` turns into an SVG.
//!
//! Recording: the engine offers a [`TraceEvent`] only while [`enabled`] is true (one
//! relaxed load per event site when tracing is off). Each core appends to its own
//! ring with the counter as time stamp; a ring keeps the newest [`CAPACITY`] events.
//! The ring's lock is only ever contended by a dump, and the recording core never
//! waits for it (`try_lock`: an event that meets a dump is counted as lost).
//! No interrupt handler records (they never call into the engine).
//! The rings are given back to the heap once recording is off and they have been
//! dumped (`trace off` after a dump, or a dump after `trace off`); the next
//! `trace on` allocates them again.
//!
//! Dump format (one event per line, fields separated by single spaces; the first
//! and last lines frame the dump so a tool can find it in a console log):
//!
//! ```text
//! trace begin v1 cores=<n> unit=ns events=<count> lost=<count>
//! <t> <core> start <pid> <name> <prio> <local|steal:<from>|migr:<from>>
//! <t> <core> end <pid> <reductions> <budget|yield|wait|exit>
//! <t> <core> spawn <pid> <name> <queue core>
//! <t> <core> exit <pid> <normal|killed|code:<n>|fault:<n>|other reason in lower case>
//! trace end
//! ```
//!
//! `<t>` is nanoseconds since boot (from the generic counter, shared by all cores),
//! `<core>` the core that recorded the event, `<pid>` the engine's 32-bit pid (as `ps`
//! shows it, generation included), `<prio>` one of max, high, normal, low.
//! Lines are sorted by time.

use crate::arch::cpu;
use crate::board::MAX_CORES;
use crate::println;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;
use zbeam_engine::{Exit, TraceEvent};
use zbeam_sched::PickSource;

/// Events kept per core (the newest ones).
pub const CAPACITY: usize = 2048;

#[derive(Clone, Copy)]
struct Record {
    counter: u64,
    core: u8,
    event: TraceEvent,
}

struct Ring {
    buf: Vec<Record>,
    /// Next slot to write once `buf` is full.
    next: usize,
}

impl Ring {
    const fn new() -> Self {
        Ring { buf: Vec::new(), next: 0 }
    }

    fn push(&mut self, r: Record) {
        if self.buf.len() < self.buf.capacity() {
            self.buf.push(r);
        } else if !self.buf.is_empty() {
            self.buf[self.next] = r;
            self.next = (self.next + 1) % self.buf.len();
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The rings were dumped since recording last started.
static DUMPED: AtomicBool = AtomicBool::new(false);
static RINGS: [Mutex<Ring>; MAX_CORES] = [const { Mutex::new(Ring::new()) }; MAX_CORES];
/// Events a core could not record because a dump held its ring.
static LOST: [AtomicU64; MAX_CORES] = [const { AtomicU64::new(0) }; MAX_CORES];

/// Whether events are being recorded.
#[inline(always)]
pub fn enabled() -> bool {
    // Relaxed: a hint; an event more or less around a switch does not matter.
    ENABLED.load(Ordering::Relaxed)
}

/// Clears the rings of the first `cores` cores (allocating them once) and starts
/// recording. Without the memory for a ring, nothing is recorded and the bytes it
/// needed come back as the error (the rings allocated so far are kept for a retry).
pub fn start(cores: usize) -> Result<(), usize> {
    for ring in RINGS.iter().take(cores.min(MAX_CORES)) {
        let mut r = ring.lock();
        r.buf.clear();
        r.buf.try_reserve_exact(CAPACITY).map_err(|_| CAPACITY * core::mem::size_of::<Record>())?;
        r.next = 0;
    }
    for lost in LOST.iter() {
        // Relaxed: a statistic.
        lost.store(0, Ordering::Relaxed);
    }
    // Relaxed: the rings are behind their own locks.
    DUMPED.store(false, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Stops recording; what was recorded stays for [`dump`], unless it was dumped
/// already: then the rings are given back.
pub fn stop() {
    // Relaxed: see `enabled`.
    ENABLED.store(false, Ordering::Relaxed);
    if DUMPED.load(Ordering::Relaxed) {
        release();
    }
}

/// Frees every ring. A core still recording an event that raced `stop` finds a ring
/// without room and drops it (`Ring::push` never allocates).
fn release() {
    for ring in RINGS.iter() {
        let mut r = ring.lock();
        r.buf = Vec::new();
        r.next = 0;
    }
}

/// Records `event` on the calling core.
pub fn record(event: TraceEvent) {
    let core = cpu::core_id();
    let counter = cpu::counter();
    if let Some(ring) = RINGS.get(core) {
        match ring.try_lock() {
            Some(mut r) => r.push(Record { counter, core: core as u8, event }),
            // Only a dump holds the lock for long: count the event instead of waiting.
            // Relaxed: a statistic.
            None => _ = LOST[core].fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// One word for an exit: `code:<n>`, `fault:<n>`, or the variant's name in lower case
/// (`normal`, `killed`, ...).
pub fn exit_word(exit: Exit) -> String {
    match exit {
        Exit::Code(n) => alloc::format!("code:{n}"),
        Exit::Fault(n) => alloc::format!("fault:{n}"),
        other => alloc::format!("{other:?}").to_lowercase(),
    }
}

fn counter_ns(counter: u64) -> u64 {
    (counter as u128 * 1_000_000_000 / cpu::counter_hz().max(1) as u128) as u64
}

/// Prints every recorded event of the first `cores` cores, oldest first, in the
/// format of the module documentation. Returns the number of events printed, or
/// the bytes it could not get to sort them (nothing is printed then).
pub fn dump(cores: usize) -> Result<usize, usize> {
    let rings = || RINGS.iter().zip(LOST.iter()).take(cores.min(MAX_CORES));
    let events: usize = rings().map(|(r, _)| r.lock().buf.len()).sum();
    let mut all: Vec<Record> = Vec::new();
    // Rings only grow while recording: leave room for what arrives meanwhile.
    let want = events + cores * 64;
    all.try_reserve_exact(want).map_err(|_| want * core::mem::size_of::<Record>())?;
    let mut lost = 0;
    for (ring, l) in rings() {
        let r = ring.lock();
        let take = r.buf.len().min(all.capacity() - all.len());
        all.extend_from_slice(&r.buf[..take]);
        // Relaxed: a statistic.
        lost += l.load(Ordering::Relaxed);
    }
    all.sort_by_key(|r| r.counter);
    println!("trace begin v1 cores={cores} unit=ns events={} lost={lost}", all.len());
    for r in &all {
        let t = counter_ns(r.counter);
        let c = r.core;
        match r.event {
            TraceEvent::SliceStart { pid, name, prio, source, .. } => {
                let (pid, prio) = (pid.get(), prio.name());
                match source {
                    PickSource::Local => println!("{t} {c} start {pid} {name} {prio} local"),
                    PickSource::Stolen { from } => println!("{t} {c} start {pid} {name} {prio} steal:{}", from.index()),
                    PickSource::Immigrated { from } => {
                        println!("{t} {c} start {pid} {name} {prio} migr:{}", from.index())
                    }
                }
            }
            TraceEvent::SliceEnd { pid, reductions, why, .. } => {
                println!("{t} {c} end {} {reductions} {}", pid.get(), why.name())
            }
            TraceEvent::Spawn { pid, name, core } => {
                println!("{t} {c} spawn {} {name} {}", pid.get(), core.index())
            }
            TraceEvent::Exit { pid, exit } => println!("{t} {c} exit {} {}", pid.get(), exit_word(exit)),
        }
    }
    println!("trace end");
    // Relaxed: see `enabled`.
    DUMPED.store(true, Ordering::Relaxed);
    if !enabled() {
        release();
    }
    Ok(all.len())
}
