//! A speculative task: one Z80 instance running a stretch of the program against a
//! versioned view of memory.
//!
//! What: a [`Task`] owns a CPU started from a (possibly predicted) state, a private
//! 64 KiB view of memory equal to committed memory when its wave began, and logs:
//! every address whose first access was a read that fell through to that view (the
//! read set), every address it wrote (the write set, the writes themselves stay in
//! its view until commit), and the port writes it made (released at commit, in
//! order). It stops on its `iterations`-th return to the region head, where the loop
//! falls through past its backward branch, at an ordering point (the BDOS entry or
//! warm boot, and on the CP/M machine the BIOS entries: a system call is never run
//! speculatively), on HALT, or when its instruction budget is spent.
//!
//! Why a full view instead of a sparse overlay: a read is then one tag test and the
//! array access; the tag's access bits (read first, written first) keep the logs free
//! of duplicates, and reads of the task's own writes are not logged (they cannot see
//! another task's data). The same tag byte has a *stop* bit on every PC where the
//! task may have to stop (the head, the loop's fall-through, the system entries),
//! and a *start* bit on every PC whose instruction's bytes are logged, so the test
//! before each instruction is one load and one compare; the rest is decided only
//! there. An instruction's own bytes (prefixes, opcode, displacement, operands:
//! [`Bus::fetch`]) are then plain loads: the first time the instruction runs, all
//! its bytes ([`zbeam_z80::instruction_length`], checked against the interpreter
//! for every opcode) are logged as reads like any other first access, marked as
//! *code*, and its PC gets the start bit; a write to a code byte (self-modifying
//! code) takes every start bit away, so changed instructions are logged again. Only
//! data reads and writes are tested one by one. A task that always commits (a
//! wave's first task, a redo) logs no reads at all ([`TaskBus::log_reads`]). The view is kept between tasks: preparing a task again
//! ([`Memory::Synced`]) restores what it wrote and copies only the pages of
//! committed memory written since ([`Versions`]), not all 64 KiB.

use crate::decode::{self, Units};
use alloc::boxed::Box;
use alloc::vec::Vec;
use zbeam_z80::{Bus, Cpu, StopReason};

/// 64 KiB of Z80 memory.
pub type Mem = [u8; 0x1_0000];

/// A zeroed 64 KiB block on the heap (without a 64 KiB stack temporary).
pub fn zeroed_mem() -> Box<Mem> {
    let v: Box<[u8]> = alloc::vec![0u8; 0x1_0000].into_boxed_slice();
    match v.try_into() {
        Ok(m) => m,
        Err(_) => unreachable!("the vector has exactly 64 KiB"),
    }
}

/// What every port of the CP/M machine reads (as in `zbeam_z80::cpm`'s harness); port
/// writes are logged in program order.
pub const PORT_READ: u8 = 0xFF;

/// The two addresses the z80 crate's harness traps: warm boot and the BDOS entry.
#[inline(always)]
pub fn is_ordering_point(pc: u16) -> bool {
    Traps::HARNESS.hit(pc)
}

/// The PCs a machine traps as system entries (ordering points): 0000h and 0005h,
/// and on the CP/M machine also the BIOS entries from `bios` to FFFFh. Together they
/// form one wrapping range `low..=0005h`, so the test on the hot path (every
/// instruction) is one compare, as [`is_ordering_point`]'s is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traps {
    pub(crate) low: u16,
    pub(crate) span: u16,
}

impl Traps {
    /// The z80 crate's harness: 0000h and 0005h.
    pub const HARNESS: Traps = Traps { low: 0, span: 5 };

    /// 0000h, 0005h and `bios..=FFFFh` (`bios` above 0005h).
    pub const fn with_bios(bios: u16) -> Traps {
        Traps { low: bios, span: 5u16.wrapping_sub(bios) }
    }

    /// True if `pc` is one of the trapped entries.
    #[inline(always)]
    pub fn hit(self, pc: u16) -> bool {
        pc.wrapping_sub(self.low) <= self.span && (pc == 0 || pc == 5 || (self.low != 0 && pc >= self.low))
    }
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEnd {
    /// It came back to the region head after its iterations.
    Head,
    /// It reached an ordering point (BDOS call or warm boot), not executed.
    OrderingPoint(u16),
    /// It left the loop: it reached the instruction after the loop's backward branch.
    Exit(u16),
    /// It halted.
    Halted,
    /// Its instruction budget ran out.
    Budget,
    /// Not run yet.
    NotRun,
}

/// The memory and logs a task runs against. Its logs are reached through it
/// (`Deref` to [`TaskLog`]); a run's bus borrows the memory and the logs apart, so
/// each access to memory is one pointer away.
pub struct TaskBus {
    /// The task's memory (the wave's snapshot plus its own writes, `0..10000h`)
    /// and each address's tag (`10000h..`), behind one pointer.
    cells: Box<Cells>,
    log: TaskLog,
}

/// A task's memory and tags ([`TaskBus`]).
type Cells = [u8; 2 * MEM];

/// What a task logs, and where it stops ([`TaskBus`]).
pub struct TaskLog {
    /// Addresses read before any write by this task (fell through to the snapshot).
    pub reads: Vec<u16>,
    /// Addresses written by this task.
    pub writes: Vec<u16>,
    /// Port writes (port, value) in program order.
    pub out: Vec<(u16, u8)>,
    head: u16,
    arrivals: u32,
    stop_after: u32,
    /// With `exit_on`, the task stops at `exit` or `exit + 1`: just after the backward
    /// branch (2 bytes for JR/DJNZ, 3 for JP), where the loop falls through.
    exit: u16,
    exit_on: bool,
    /// When the task stopped, if it ran with `track_last`: the PC of the
    /// instruction executed last (at an arrival at the head, the branch that led there).
    pub last: u16,
    prev: u16,
    /// Track `last` (the observer needs it; speculative tasks do not, and save a
    /// load and a store per instruction). Cleared by `prepare`.
    pub track_last: bool,
    /// Log the reads (the read set). A task that always commits (a wave's first task,
    /// a redo) needs none and runs without the test on each read. Set by `prepare`.
    pub log_reads: bool,
    /// The addresses whose stop bit is set.
    stops: Vec<u16>,
    /// Of them, further PCs where the task stops whenever it arrives ([`TaskBus::stop_also`]).
    also: Vec<u16>,
    /// The version of committed memory the task's memory equals, apart from its own
    /// writes ([`Versions`]); 0 when unknown.
    view: u64,
    /// The machine's system entries, where the task stops (ordering points); the
    /// harness's unless the dispatcher sets them before `prepare`.
    pub traps: Traps,
}

impl core::ops::Deref for TaskBus {
    type Target = TaskLog;
    fn deref(&self) -> &TaskLog {
        &self.log
    }
}

impl core::ops::DerefMut for TaskBus {
    fn deref_mut(&mut self) -> &mut TaskLog {
        &mut self.log
    }
}

/// A task's memory and logs borrowed apart: the bus a run uses ([`View`]).
struct Split<'a> {
    cells: &'a mut Cells,
    log: &'a mut TaskLog,
}

const READ: u8 = 1;
const WRITTEN: u8 = 2;
/// The access bits.
const ACCESS: u8 = READ | WRITTEN;
/// A PC where the task may stop (see [`TaskBus::trap`]).
const STOP: u8 = 4;
/// A PC whose instruction's bytes are logged (see the module docs).
const START: u8 = 8;
/// A byte of an instruction whose PC has [`START`].
const CODE: u8 = 16;

/// Bytes of Z80 memory.
const MEM: usize = 0x1_0000;
/// Bytes of a page of [`Versions`].
const PAGE: usize = 0x100;

/// Where a task's memory comes from when it is prepared.
pub enum Memory<'a> {
    /// A copy of this snapshot, all 64 KiB.
    Copy(&'a Mem),
    /// Committed memory whose writes are recorded in the versions: only the pages
    /// written since the task's memory last equalled it are copied (and the
    /// addresses the task wrote itself).
    Synced(&'a Mem, &'a mut Versions),
}

/// Per 256-byte page of committed memory, the version at which it was last written.
/// Whoever writes committed memory marks the page ([`Versions::mark`], or
/// [`Versions::mark_all`] after a write it cannot list); a task whose memory was made
/// equal to committed memory at version V then needs only the pages marked after V.
pub struct Versions {
    page: [u64; MEM / PAGE],
    now: u64,
}

impl Default for Versions {
    fn default() -> Self {
        Self::new()
    }
}

impl Versions {
    /// Every page written at version 1 (a task's memory starts at version 0: all of it is copied).
    pub fn new() -> Self {
        Versions { page: [1; MEM / PAGE], now: 1 }
    }

    /// `addr` was written.
    #[inline(always)]
    pub fn mark(&mut self, addr: u16) {
        self.page[(addr >> 8) as usize] = self.now;
    }

    /// Any address may have been written.
    pub fn mark_all(&mut self) {
        self.page = [self.now; MEM / PAGE];
    }
}

/// Where an address's tag is in `TaskBus::cells`.
#[inline(always)]
fn tag_at(addr: u16) -> usize {
    MEM + addr as usize
}

impl TaskBus {
    fn new() -> Self {
        let cells: Box<[u8]> = alloc::vec![0u8; 2 * MEM].into_boxed_slice();
        let Ok(cells) = cells.try_into() else { unreachable!("the vector has exactly 128 KiB") };
        Self {
            cells,
            log: TaskLog {
                reads: Vec::new(),
                writes: Vec::new(),
                out: Vec::new(),
                head: 0,
                arrivals: 0,
                stop_after: 0,
                exit: 0,
                exit_on: false,
                last: 0,
                prev: 0,
                track_last: false,
                log_reads: true,
                stops: Vec::new(),
                also: Vec::new(),
                view: 0,
                traps: Traps::HARNESS,
            },
        }
    }

    /// The memory and the logs, borrowed apart.
    #[inline(always)]
    fn split(&mut self) -> Split<'_> {
        Split { cells: &mut self.cells, log: &mut self.log }
    }

    /// Clears the logs (and only the tags they name) and takes a fresh snapshot.
    fn reset(&mut self, memory: Memory<'_>, head: u16, iterations: u32, branch: Option<u16>) {
        match memory {
            Memory::Copy(snapshot) => {
                self.cells[..MEM].copy_from_slice(snapshot);
                self.log.view = 0;
            }
            Memory::Synced(committed, versions) => self.sync(committed, versions),
        }
        for &a in self.log.reads.iter().chain(self.log.writes.iter()).chain(self.log.stops.iter()) {
            self.cells[tag_at(a)] = 0;
        }
        self.log.stops.clear();
        self.log.also.clear();
        self.log.reads.clear();
        self.log.writes.clear();
        self.log.out.clear();
        self.log.head = head;
        self.log.exit = branch.map_or(0, |b| b.wrapping_add(2));
        self.log.exit_on = branch.is_some();
        self.log.last = 0;
        self.log.prev = 0;
        self.log.track_last = false;
        self.log.log_reads = true;
        self.log.arrivals = 0;
        // The start at the head is arrival 1; the task ends on arrival iterations + 1.
        self.log.stop_after = iterations.saturating_add(1);
        self.log.stops.push(head);
        if self.log.exit_on {
            self.log.stops.extend([self.log.exit, self.log.exit.wrapping_add(1)]);
        }
        self.log.stops.extend([0, 5]);
        if self.log.traps.low != 0 {
            self.log.stops.extend(self.log.traps.low..=0xFFFF);
        }
        for &a in &self.log.stops {
            self.cells[tag_at(a)] = STOP;
        }
    }

    /// After `prepare`: the task also stops whenever it arrives at one of `pcs`
    /// (before executing it; a task that starts at one stops at once). Its end is
    /// then [`TaskEnd::Exit`] at that PC.
    pub fn stop_also(&mut self, pcs: &[u16]) {
        for &pc in pcs {
            self.cells[tag_at(pc)] |= STOP;
            self.log.stops.push(pc);
            self.log.also.push(pc);
        }
    }

    /// Makes the task's memory equal to `committed`, copying only what may differ:
    /// the pages written since the task's memory was last made equal to committed
    /// memory (at version `view`), and the addresses the task itself wrote since.
    /// Needs the write log of the task's last run, so it runs before the logs are cleared.
    fn sync(&mut self, committed: &Mem, versions: &mut Versions) {
        for &a in &self.log.writes {
            self.cells[a as usize] = committed[a as usize];
        }
        for (p, &v) in versions.page.iter().enumerate() {
            if v > self.log.view {
                let r = p * PAGE..(p + 1) * PAGE;
                self.cells[r.clone()].copy_from_slice(&committed[r]);
            }
        }
        // Writes from now on carry a later version than this view's.
        self.log.view = versions.now;
        versions.now += 1;
    }

    /// True if the task fetched or read the bytes of `LD A,R` or `LD R,A` (ED 5F / ED 4F):
    /// then its result may depend on R's absolute value. Conservative (data counts too).
    pub fn touched_r_opcodes(&self) -> bool {
        let mem = self.mem();
        self.log
            .reads
            .iter()
            .chain(self.log.writes.iter())
            .any(|&a| mem[a as usize] == 0xED && matches!(mem[a.wrapping_add(1) as usize], 0x5F | 0x4F))
    }

    /// The task's memory: the wave's snapshot plus its own writes.
    pub fn mem(&self) -> &Mem {
        match self.cells[..MEM].try_into() {
            Ok(m) => m,
            Err(_) => unreachable!("the first half of the cells is 64 KiB"),
        }
    }
}

impl Split<'_> {
    /// The first access to `addr` is a read: it joins the read set. Out of line, so
    /// the hot path keeps its registers.
    #[cold]
    #[inline(never)]
    fn first_read(&mut self, addr: u16) {
        self.cells[tag_at(addr)] |= READ;
        self.log.reads.push(addr);
    }

    /// The first write to `addr`: it joins the write set.
    #[cold]
    #[inline(never)]
    fn first_write(&mut self, addr: u16) {
        self.cells[tag_at(addr)] |= WRITTEN;
        self.log.writes.push(addr);
    }

    /// A write to `addr` whose tag says it is not simply written before: the first
    /// write (it joins the write set), or a write to a byte of a logged instruction
    /// (every start bit goes, so every instruction is logged again when it next runs).
    #[cold]
    #[inline(never)]
    fn slow_write(&mut self, addr: u16) {
        if self.cells[tag_at(addr)] & CODE != 0 {
            for i in 0..self.log.reads.len() + self.log.writes.len() {
                let a = if i < self.log.reads.len() {
                    self.log.reads[i]
                } else {
                    self.log.writes[i - self.log.reads.len()]
                };
                self.cells[tag_at(a)] &= !(START | CODE);
            }
        }
        if self.cells[tag_at(addr)] & WRITTEN == 0 {
            self.first_write(addr);
        }
    }

    /// The write of a task that logs its reads (and so its code, see the module docs).
    #[inline(always)]
    fn write_logged(&mut self, addr: u16, value: u8) {
        if self.cells[tag_at(addr)] & (WRITTEN | CODE) != WRITTEN {
            self.slow_write(addr);
        }
        self.cells[addr as usize] = value;
    }

    /// The slow path of the test before an instruction at `pc` in a task that logs
    /// its reads: the stop, or the first run of the instruction (its bytes not read
    /// before are logged, all of them are marked code, and `pc` gets the start bit).
    #[cold]
    #[inline(never)]
    fn stop_or_log(&mut self, pc: u16) -> bool {
        let tag = self.cells[tag_at(pc)];
        if tag & STOP != 0 && self.stop_at(pc) {
            return true;
        }
        if tag & START == 0 {
            let len = zbeam_z80::instruction_length(|a| self.cells[a as usize], pc);
            let mut a = pc;
            for _ in 0..len {
                let t = self.cells[tag_at(a)];
                if t & ACCESS == 0 {
                    self.log.reads.push(a);
                    self.cells[tag_at(a)] = t | READ | CODE;
                } else {
                    self.cells[tag_at(a)] = t | CODE;
                }
                a = a.wrapping_add(1);
            }
            self.cells[tag_at(pc)] |= START;
        }
        false
    }

    /// The test before an instruction in a task that logs its reads: one load and
    /// one compare unless the task stops here or the instruction runs for the first time.
    #[inline(always)]
    fn stops_at_logging(&mut self, pc: u16) -> bool {
        self.cells[tag_at(pc)] & (STOP | START) != START && self.stop_or_log(pc)
    }

    /// The slow path of [`Bus::trap`], at a PC with the stop bit: counts an arrival
    /// at the head and says whether the task stops here.
    #[cold]
    #[inline(never)]
    fn stop_at(&mut self, pc: u16) -> bool {
        if pc == self.log.head {
            self.log.arrivals += 1;
            if self.log.arrivals >= self.log.stop_after {
                return true;
            }
        }
        (self.log.exit_on && pc.wrapping_sub(self.log.exit) < 2)
            || self.log.traps.hit(pc)
            || self.log.also.contains(&pc)
    }

    /// True if the task stops at `pc` (before executing it).
    #[inline(always)]
    fn stops_at(&mut self, pc: u16) -> bool {
        self.cells[tag_at(pc)] & STOP != 0 && self.stop_at(pc)
    }
}

impl Bus for TaskBus {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        View::<false, true>(self.split()).read(addr)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        View::<false, true>(self.split()).write(addr, value)
    }
    fn input(&mut self, _port: u16) -> u8 {
        PORT_READ
    }
    fn output(&mut self, port: u16, value: u8) {
        self.log.out.push((port, value));
    }
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        View::<false, true>(self.split()).trap(pc)
    }
    #[inline(always)]
    fn fetch(&mut self, addr: u16) -> u8 {
        View::<false, true>(self.split()).fetch(addr)
    }
}

/// The task's bus as a run sees it: with `TRACK`, the PC of every instruction is
/// remembered until the next, so [`TaskLog::last`] is known when the task stops;
/// without `LOG`, reads are not logged (nor instructions' bytes).
struct View<'a, const TRACK: bool, const LOG: bool>(Split<'a>);

impl<const TRACK: bool, const LOG: bool> Bus for View<'_, TRACK, LOG> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        let bus = &mut self.0;
        if LOG && bus.cells[tag_at(addr)] & ACCESS == 0 {
            bus.first_read(addr);
        }
        bus.cells[addr as usize]
    }
    #[inline(always)]
    fn fetch(&mut self, addr: u16) -> u8 {
        // With `LOG`, `trap` logged the instruction's bytes when it first ran.
        self.0.cells[addr as usize]
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        let bus = &mut self.0;
        if LOG {
            bus.write_logged(addr, value)
        } else {
            if bus.cells[tag_at(addr)] & WRITTEN == 0 {
                bus.first_write(addr);
            }
            bus.cells[addr as usize] = value;
        }
    }
    fn input(&mut self, _port: u16) -> u8 {
        PORT_READ
    }
    fn output(&mut self, port: u16, value: u8) {
        self.0.log.out.push((port, value));
    }
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        let bus = &mut self.0;
        if TRACK {
            bus.log.last = bus.log.prev;
            bus.log.prev = pc;
        }
        if LOG {
            bus.stops_at_logging(pc)
        } else {
            bus.stops_at(pc)
        }
    }
}

/// One unit of speculative work and, after it ran, its result.
pub struct Task {
    /// The state the task starts from (predicted, or the actual one for a wave's first task).
    pub start: Cpu,
    /// Its CPU (the end state once run).
    pub cpu: Cpu,
    /// Its memory and logs.
    pub bus: TaskBus,
    /// Units whose start value is uncertain (not predicted); the task tries to prove them dead.
    pub uncertain: Units,
    /// Units proved dead at the start: written before being read.
    pub dead: Units,
    /// Instruction budget.
    pub budget: u64,
    /// Instructions executed.
    pub instructions: u64,
    /// T-states spent.
    pub tstates: u64,
    /// How it ended.
    pub end: TaskEnd,
    /// How long it ran, in the pool's time unit, if the pool measures it (else 0).
    pub elapsed: u64,
}

/// At most this many instructions are decoded one by one to prove uncertain units dead.
const PROOF_STEPS: u32 = 64;

impl Default for Task {
    fn default() -> Self {
        Self::new()
    }
}

impl Task {
    /// An empty task with its 128 KiB of buffers; reuse it with [`Task::prepare`].
    pub fn new() -> Self {
        Self {
            start: Cpu::new(),
            cpu: Cpu::new(),
            bus: TaskBus::new(),
            uncertain: 0,
            dead: 0,
            budget: 0,
            instructions: 0,
            tstates: 0,
            end: TaskEnd::NotRun,
            elapsed: 0,
        }
    }

    /// Sets the task up to run `iterations` returns to `head` from `start` on a copy of
    /// `memory`; with `branch` (the loop's backward branch) it also stops where the loop falls through.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &mut self,
        start: &Cpu,
        memory: Memory<'_>,
        head: u16,
        iterations: u32,
        branch: Option<u16>,
        uncertain: Units,
        budget: u64,
    ) {
        self.start = start.clone();
        self.cpu = start.clone();
        self.bus.reset(memory, head, iterations, branch);
        self.uncertain = uncertain;
        self.dead = 0;
        self.budget = budget;
        self.instructions = 0;
        self.tstates = 0;
        self.end = TaskEnd::NotRun;
        self.elapsed = 0;
    }

    /// Runs the task to its end. First it steps instruction by instruction while some
    /// uncertain unit is unresolved, marking units written before read as dead; then
    /// it runs at full speed.
    pub fn run(&mut self) {
        match (self.bus.track_last, self.bus.log_reads) {
            (false, true) => self.run_on::<false, true>(),
            (false, false) => self.run_on::<false, false>(),
            (true, true) => self.run_on::<true, true>(),
            (true, false) => self.run_on::<true, false>(),
        }
    }

    fn run_on<const TRACK: bool, const LOG: bool>(&mut self) {
        let mut pending = self.uncertain;
        let mut steps = 0;
        while pending != 0 && steps < PROOF_STEPS && !self.cpu.halted() {
            if self.instructions >= self.budget {
                self.end = TaskEnd::Budget;
                return;
            }
            let pc = self.cpu.pc;
            if View::<TRACK, LOG>(self.bus.split()).trap(pc) {
                self.end = trap_end(&self.bus, pc);
                return;
            }
            let ud = decode::use_def(self.bus.mem(), pc);
            pending &= !ud.reads;
            self.dead |= pending & ud.writes;
            pending &= !ud.writes;
            self.tstates += self.cpu.step(&mut View::<TRACK, LOG>(self.bus.split())).0;
            self.instructions += 1;
            steps += 1;
        }
        let res = self.cpu.run(&mut View::<TRACK, LOG>(self.bus.split()), self.budget - self.instructions);
        self.instructions += res.instructions;
        self.tstates += res.tstates;
        self.end = match res.reason {
            StopReason::Trap(pc) => trap_end(&self.bus, pc),
            StopReason::Halted { .. } => TaskEnd::Halted,
            StopReason::BudgetSpent | StopReason::BusStop => TaskEnd::Budget,
        };
    }

    /// Loop iterations the task completed: its returns to the head, plus the last
    /// iteration when it left the loop through the fall-through (that iteration ran to
    /// its end). An iteration cut off by an ordering point, HALT or the budget is not counted.
    pub fn iterations(&self) -> u64 {
        let returns = self.bus.arrivals.saturating_sub(1) as u64;
        match self.end {
            TaskEnd::Exit(_) => returns + 1,
            _ => returns,
        }
    }
}

/// How a task that stopped at `pc` ended.
fn trap_end(bus: &TaskBus, pc: u16) -> TaskEnd {
    if pc == bus.head && bus.arrivals >= bus.stop_after {
        TaskEnd::Head
    } else if bus.traps.hit(pc) {
        TaskEnd::OrderingPoint(pc)
    } else {
        TaskEnd::Exit(pc)
    }
}

#[cfg(test)]
mod tests {
    use super::{zeroed_mem, Memory, Task, TaskEnd, Traps, Versions};
    use zbeam_z80::Cpu;

    /// 0100: INC A; 0101: JR 0100 (a loop with its head at 0100 and its branch at 0101).
    fn looping() -> (Cpu, alloc::boxed::Box<super::Mem>) {
        let mut mem = zeroed_mem();
        mem[0x100..0x103].copy_from_slice(&[0x3C, 0x18, 0xFD]);
        let mut cpu = Cpu::new();
        cpu.pc = 0x100;
        cpu.a = 0;
        (cpu, mem)
    }

    #[test]
    fn a_synced_view_equals_committed_memory() {
        // 0100: LD (HL),A; INC HL; JR 0100 (writes A from HL onwards).
        let mut committed = zeroed_mem();
        committed[0x100..0x104].copy_from_slice(&[0x77, 0x23, 0x18, 0xFC]);
        let mut versions = Versions::new();
        let mut cpu = Cpu::new();
        cpu.pc = 0x100;
        cpu.set_hl(0x8000);
        let mut t = Task::new();
        for round in 0..4u8 {
            cpu.a = round;
            t.prepare(&cpu, Memory::Synced(&committed, &mut versions), 0x100, 300, None, 0, 1000);
            assert!(t.bus.mem()[..] == committed[..], "round {round}: the view differs before running");
            t.run();
            assert!(t.bus.mem()[0x8000..0x8100].iter().all(|&b| b == round));
            // Committed memory changes elsewhere (marked), and the task's writes are not committed.
            let a = 0x2000 + round as u16 * 0x1234;
            committed[a as usize] = 0xA0 | round;
            versions.mark(a);
        }
    }

    #[test]
    fn a_task_stops_where_its_last_preparation_says_only() {
        let (cpu, mem) = looping();
        let mut t = Task::new();
        t.prepare(&cpu, Memory::Copy(&mem), 0x100, 3, Some(0x101), 0, 1000);
        t.bus.track_last = true;
        t.run();
        assert_eq!((t.end, t.cpu.a, t.iterations(), t.bus.last), (TaskEnd::Head, 3, 3, 0x101));
        // Prepared again with a head the loop never reaches: the old head's stop bit
        // is gone, so it runs to its budget, and `last` is not tracked.
        t.prepare(&cpu, Memory::Copy(&mem), 0x200, 1, None, 0, 1000);
        t.run();
        assert_eq!((t.end, t.instructions, t.cpu.a, t.bus.last), (TaskEnd::Budget, 1000, 0xF4, 0));
        // The reads were logged once each and nothing was written.
        let mut reads = t.bus.reads.clone();
        reads.sort_unstable();
        assert_eq!((reads, t.bus.writes.len()), (alloc::vec![0x100, 0x101, 0x102], 0));
        // A loop jumping to 0005h stops there, unexecuted.
        let mut mem = zeroed_mem();
        mem[0x100..0x103].copy_from_slice(&[0xC3, 0x05, 0x00]);
        t.prepare(&cpu, Memory::Copy(&mem), 0x100, 9, None, 0, 1000);
        t.run();
        assert_eq!((t.end, t.instructions), (TaskEnd::OrderingPoint(5), 1));
    }

    #[test]
    fn a_rewritten_instruction_is_logged_again() {
        // 0100 CALL 0110 (0110 is NOP; 0111 RET); 0103 LD A,01; 0105 LD (0110),A;
        // 0108 CALL 0110 (now LD BC,AAC9: its operand byte 0112 was never fetched
        // before; 0113 RET); 010B HALT.
        let mut mem = zeroed_mem();
        mem[0x100..0x10C].copy_from_slice(&[0xCD, 0x10, 0x01, 0x3E, 0x01, 0x32, 0x10, 0x01, 0xCD, 0x10, 0x01, 0x76]);
        mem[0x110..0x114].copy_from_slice(&[0x00, 0xC9, 0xAA, 0xC9]);
        let mut cpu = Cpu::new();
        cpu.pc = 0x100;
        cpu.sp = 0x8000;
        let mut t = Task::new();
        t.prepare(&cpu, Memory::Copy(&mem), 0xFFF0, 1, None, 0, 100);
        t.run();
        assert_eq!((t.end, t.cpu.bc()), (TaskEnd::Halted, 0xAAC9));
        // Every instruction byte that came from the view is in the read set: 0112
        // too, although the instruction at 0110 was first logged as a 1-byte NOP.
        let mut reads = t.bus.reads.clone();
        reads.sort_unstable();
        let mut want: alloc::vec::Vec<u16> = (0x100..0x10C).chain(0x110..0x114).collect();
        want.sort_unstable();
        assert_eq!(reads, want);
        assert!(t.bus.writes.contains(&0x110));
    }

    #[test]
    fn traps_hit_exactly_the_system_entries() {
        let bios = Traps::with_bios(0xFFE0);
        for pc in 0..=0xFFFFu16 {
            assert_eq!(Traps::HARNESS.hit(pc), pc == 0 || pc == 5, "{pc:04x}");
            assert_eq!(bios.hit(pc), pc == 0 || pc == 5 || pc >= 0xFFE0, "{pc:04x}");
        }
    }
}
