//! The dispatcher's main loop: sequential execution with the observer, waves of
//! speculative tasks at active regions, in-order validation and commit.
//!
//! What: [`run`] loads a CP/M `.COM` image exactly as `zbeam_z80::cpm::CpmMachine`
//! does and runs it to its end. Between regions the program runs on the reference
//! interpreter with [`ObsBus`], which counts backward transfers per target and stops
//! at hot or active heads. At a new hot head the observer runs a window of instances
//! one at a time (logged but not speculative) and the partitioner judges them. At an
//! active head the learner picks an arm; a parallel arm starts a wave: task 0 from
//! the actual state, task j from the state predicted `j * chunk` iterations ahead,
//! each on a view equal to committed memory; the pool runs them; then, in order, each task
//! commits only if the actual state equals its predicted start (all registers and
//! latches except units it proved dead, and R's low bits when it never touched R's
//! opcodes) and none of the addresses it read was written earlier in the wave.
//! Otherwise it is squashed and redone from the actual state. At an active call
//! site a wave is the call (task 0) beside its continuation (task 1, from the state
//! the call is predicted to leave at its return address), validated the same way;
//! a squashed continuation is dropped and the sequential path goes on. System calls
//! (the BDOS entry, warm boot) end tasks and are performed here, in program order.
//!
//! The argument that the committed result equals the sequential run is in
//! docs/DISPATCHER.md ("Why a committed result is the sequential one").

use crate::cpm::{Call, CpmSystem};
use crate::decode::{self, Units};
use crate::learn::{Arm, Learner, Policy, RegionPolicy};
use crate::pool::Pool;
use crate::region::{self, CallSample, CallVerdict, Graph, Sample, Verdict};
use crate::task::{zeroed_mem, Mem, Memory, Task, TaskEnd, Traps, Versions, PORT_READ};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use zbeam_z80::cpm::BDOS;
use zbeam_z80::{Bus, Cpu, StopReason};

/// Arrivals by backward transfer after which a head is observed.
pub const HOT: u16 = 32;
/// Instances observed before the partitioner judges a region.
pub const WINDOW: usize = 8;
/// Instruction budget of one observed instance.
const OBSERVE_BUDGET: u64 = 20_000_000;
/// Arrivals a sequential choice lets pass before the learner is asked again.
const SEQUENTIAL_SPAN: u16 = 256;
/// Executions of a CALL after which the call site is observed: a call worth a task
/// is long, so one call seen on the sequential path is enough.
pub const HOT_CALL: u16 = 2;
/// Calls observed before the partitioner judges a call site.
pub const CALL_WINDOW: usize = 3;
/// Calls a sequential choice at a call site lets pass before the learner is asked again.
const CALL_SEQUENTIAL_SPAN: u16 = 8;
/// Sequential T-states the run must have timed on the interpreter before a wave's
/// sequential time is estimated from their rate (see `Dispatcher::wave`).
pub const RATE_AFTER: u64 = 100_000;

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// At most this many tasks per wave (further capped by the pool's instances).
    pub tasks: usize,
    /// Seed of the learner's exploration.
    pub seed: u64,
    /// Stop with [`RunError::InstructionLimit`] after this many instructions.
    pub max_instructions: u64,
    /// Tests: use this arm whenever the partitioner allows it.
    pub force: Option<Arm>,
    /// Tests: corrupt the predicted start of every n-th speculative task (0: never).
    pub inject_every: u32,
    /// Keep a log of every speculative task's outcome.
    pub log_tasks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { tasks: 2, seed: 1, max_instructions: u64::MAX, force: None, inject_every: 0, log_tasks: false }
    }
}

/// Why a run did not finish normally (the same cases as `zbeam_z80::cpm::CpmError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The image does not fit in the TPA.
    ImageTooLarge(usize),
    /// A BDOS function the machine does not provide.
    UnsupportedBdos(u8),
    /// The instruction limit was reached.
    InstructionLimit,
    /// The CPU halted with nothing to wake it, at this PC.
    Halted(u16),
    /// CP/M machine: a call needed console input and none was left.
    NoInput,
    /// CP/M machine: a BDOS error ended the program (its message was printed).
    Cpm(zbeam_cpm::Error),
    /// The pool asked the run to stop ([`Pool::go_on`]) before it ended.
    Stopped,
}

/// What happened to a speculative task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Validated and committed.
    Committed,
    /// Its predicted start state differed from the actual one.
    SquashedState,
    /// It read an address an earlier task of its wave wrote.
    SquashedMemory,
    /// An earlier task left the region (the loop ended, a system call), so it was dropped.
    Discarded,
}

/// One speculative task in the log.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// Region head.
    pub head: u16,
    /// Position in its wave (1.. ; task 0 is never speculative).
    pub position: u32,
    /// Its predicted start state.
    pub start: Cpu,
    /// The actual state it was validated against.
    pub actual: Cpu,
    /// Units it proved dead.
    pub dead: Units,
    /// Whether its prediction was deliberately corrupted.
    pub injected: bool,
    /// What became of it.
    pub outcome: Outcome,
}

/// Counters of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Waves run.
    pub waves: u64,
    /// Speculative tasks (wave positions 1..).
    pub speculative: u64,
    /// Speculative tasks committed.
    pub committed: u64,
    /// Squashed because the start state differed.
    pub squashed_state: u64,
    /// Squashed because of a memory conflict.
    pub squashed_memory: u64,
    /// Dropped because an earlier task left the region.
    pub discarded: u64,
    /// Injected wrong predictions.
    pub injected: u64,
    /// Injected predictions validated and squashed (the others were discarded unvalidated).
    pub injected_squashed: u64,
    /// T-states committed from speculative tasks (work taken off the dispatcher's instance).
    pub speculative_tstates: u64,
    /// T-states of redone work.
    pub redo_tstates: u64,
    /// Instances (and calls) observed.
    pub observed: u64,
    /// Of the waves, those at a call: the call beside its continuation.
    pub call_waves: u64,
    /// The learnt policy left the whole run sequential, unobserved ([`Policy::quiet_run`]).
    pub quiet: bool,
    /// Time the waves took, from planning to the last commit or redo (the pool's unit).
    pub wave_time: u64,
    /// Of that, the longest task of each wave (the part running in parallel); the rest
    /// is the waves' fixed cost (copies, hand-off, validation, commit) and their redos.
    pub wave_longest: u64,
    /// Of the waves' time: preparing the tasks (start states, memory copies).
    pub wave_setup: u64,
    /// Of the waves' time: the pool running the tasks, from hand-off to the last
    /// task back (the rest is validation, commit and redos).
    pub wave_run: u64,
}

/// A region as reported after a run.
#[derive(Clone, Debug)]
pub struct RegionReport {
    /// The head; for a call site, the address of the CALL.
    pub head: u16,
    /// A call site (its decomposition: the call beside its continuation), not a loop.
    pub call: bool,
    /// `active`, `observing` or `sequential: why`.
    pub state: String,
    /// Iterations the dispatcher ran (observed or in waves); for a call site, calls.
    pub iterations: u64,
    /// Visits (entries into waves or observation).
    pub visits: u64,
    /// The arm used most, with its wave count.
    pub main_arm: Option<(Arm, u64)>,
    /// The assumptions of its decompositions.
    pub assumptions: Vec<String>,
    /// Nodes and edges of the last observed window (control, register, memory).
    pub graph: (usize, usize, usize, usize),
}

/// The result of a run: the committed machine, counts, and what the dispatcher did.
pub struct Report {
    /// Final CPU state.
    pub cpu: Cpu,
    /// Final memory.
    pub mem: Box<Mem>,
    /// Port writes in program order.
    pub ports: Vec<(u16, u8)>,
    /// Instructions executed (committed), as the sequential run counts them.
    pub instructions: u64,
    /// T-states (committed), as the sequential run counts them.
    pub tstates: u64,
    /// `Ok` when the program warm-booted or called BDOS 0.
    pub result: Result<(), RunError>,
    /// Counters.
    pub stats: Stats,
    /// Per region.
    pub regions: Vec<RegionReport>,
    /// Speculative tasks, when [`Config::log_tasks`].
    pub log: Vec<TaskRecord>,
}

/// Committed memory, its page versions and the port log, borrowed apart from the CPU.
type Parts<'a> = (&'a mut Mem, &'a mut Versions, &'a mut Vec<(u16, u8)>);

/// The committed machine and the wave's write record.
struct Committed {
    cpu: Cpu,
    mem: Box<Mem>,
    ports: Vec<(u16, u8)>,
    instructions: u64,
    tstates: u64,
    wave_written: Box<Mem>,
    wave_list: Vec<u16>,
    /// Which pages of `mem` were written when, so a task's memory is brought up to
    /// date by copying only those.
    versions: Versions,
}

impl Committed {
    /// Applies a validated task. `r_from` is the actual start R when R was predicted
    /// relatively: the task's R advance is moved onto it.
    fn commit(&mut self, t: &Task, r_from: Option<u8>) {
        let mem = t.bus.mem();
        for &a in &t.bus.writes {
            self.mem[a as usize] = mem[a as usize];
            self.versions.mark(a);
            if self.wave_written[a as usize] == 0 {
                self.wave_written[a as usize] = 1;
                self.wave_list.push(a);
            }
        }
        self.ports.extend_from_slice(&t.bus.out);
        let mut cpu = t.cpu.clone();
        if let Some(actual) = r_from {
            let advance = t.cpu.r().wrapping_sub(t.start.r()) & 0x7F;
            cpu.set_r((actual & 0x80) | (actual.wrapping_add(advance) & 0x7F));
        }
        self.cpu = cpu;
        self.instructions += t.instructions;
        self.tstates += t.tstates;
    }

    /// The CPU, and the parts of the machine its bus needs.
    fn split(&mut self) -> (&mut Cpu, Parts<'_>) {
        (&mut self.cpu, (&mut self.mem, &mut self.versions, &mut self.ports))
    }

    fn end_wave(&mut self) {
        for &a in &self.wave_list {
            self.wave_written[a as usize] = 0;
        }
        self.wave_list.clear();
    }
}

/// The state with `dead` units zeroed and R reduced to what is compared.
fn normalised(cpu: &Cpu, dead: Units, r_relative: bool) -> Cpu {
    let mut c = cpu.clone();
    let clear8 = |field: &mut u8, unit: Units| {
        if dead & unit != 0 {
            *field = 0;
        }
    };
    clear8(&mut c.a, decode::A);
    c.f &= !decode::f_mask(dead);
    clear8(&mut c.b, decode::B);
    clear8(&mut c.c, decode::C);
    clear8(&mut c.d, decode::D);
    clear8(&mut c.e, decode::E);
    clear8(&mut c.h, decode::H);
    clear8(&mut c.l, decode::L);
    let clear16 = |word: &mut u16, hi: Units, lo: Units| {
        if dead & hi != 0 {
            *word &= 0x00FF;
        }
        if dead & lo != 0 {
            *word &= 0xFF00;
        }
    };
    clear16(&mut c.ix, decode::IXH, decode::IXL);
    clear16(&mut c.iy, decode::IYH, decode::IYL);
    let r = c.r();
    c.set_r(if r_relative { r & 0x80 } else { r });
    c
}

/// Validates speculative task `t` against the committed machine and commits it if
/// it passes: its predicted start must equal the actual state (but for the units it
/// proved dead, and R's low bits unless it touched R's opcodes), and nothing it read
/// may have been written earlier in the wave. The pool is charged for the validation.
fn validate<P: Pool>(m: &mut Committed, pool: &mut P, t: &Task) -> Outcome {
    let relative = !t.bus.touched_r_opcodes();
    let state_ok = start_matches(&m.cpu, &t.start, t.dead, relative);
    pool.charge_validation((t.bus.reads.len() + t.bus.writes.len()) as u64);
    if !state_ok {
        Outcome::SquashedState
    } else if t.bus.reads.iter().any(|&a| m.wave_written[a as usize] != 0) {
        Outcome::SquashedMemory
    } else {
        let r = m.cpu.r();
        m.commit(t, relative.then_some(r));
        Outcome::Committed
    }
}

/// The arm for the next wave of a region or call site: the configuration's forced
/// arm when it is allowed (tests), else the learner's choice.
fn pick(force: Option<Arm>, learner: &mut Learner, rp: &mut RegionPolicy, allowed: &[Arm]) -> Arm {
    match force {
        Some(a) if allowed.contains(&a) => a,
        _ => learner.choose(rp, allowed),
    }
}

/// True if the task may commit on top of `actual` as far as registers go.
pub fn start_matches(actual: &Cpu, predicted: &Cpu, dead: Units, r_relative: bool) -> bool {
    normalised(actual, dead, r_relative) == normalised(predicted, dead, r_relative)
}

/// True if an arm of `tasks` tasks of `chunk` iterations is worth offering for visits
/// of `trip` iterations, `smallest` being the smallest chunk the partitioner offers.
/// A visit of fewer iterations than the arm's wave is split evenly ([`plan`]), so all
/// chunks at or above `trip / tasks` give the same wave: only the first of them (or
/// the smallest chunk) is kept, beside the chunks that fit whole. A visit of one
/// iteration leaves nothing to split.
fn fits(chunk: u32, smallest: u32, tasks: u32, trip: u64) -> bool {
    trip >= 2 && (chunk == smallest || (chunk as u64 / 2) * (tasks as u64) < trip)
}

/// The wave actually run for an arm of `tasks` tasks of `chunk` iterations with
/// `instances` task slots: when the longest visit seen (`trip`) leaves fewer
/// iterations than the arm would plan, the rest of the visit is split evenly over the
/// tasks (never planning a task beyond the loop's end), so a loop shorter than the
/// arm's wave still runs as balanced tasks. Returns (tasks, iterations per task).
fn plan(tasks: usize, instances: usize, chunk: u32, r: &Region) -> (usize, u32) {
    let n = tasks.min(instances).max(1);
    match r.trip {
        Some(trip) => {
            let left = trip.saturating_sub(r.visit_iters).max(1);
            if (chunk as u64) * (n as u64) <= left {
                return (n, chunk);
            }
            let n = n.min(left as usize);
            (n, left.div_ceil(n as u64) as u32)
        }
        None => (n, chunk),
    }
}

/// Why the sequential run stops at a PC it decided to stop at ([`ObsBus`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopKind {
    /// A loop head, arrived at by a backward transfer.
    Head,
    /// A callee's entry, just called by the CALL at this address.
    Call(u16),
    /// The return address of the call being observed, just returned to.
    Return,
}

/// A stop decided and not made yet: the next instruction's PC and why.
type Pending = Option<(u16, StopKind)>;

/// `ObsBus::ret` when no call is observed (no PC is equal to it).
const NO_RETURN: u32 = 0x1_0000;

/// The sequential machine's bus: committed memory, and per target of a backward
/// transfer a countdown (`watch`) of arrivals until the next stop: [`HOT`] for a
/// target never seen, 1 for an active or observed head (stop at every arrival), a
/// span after a sequential choice, 0 for a sequential region (never stop).
///
/// A backward transfer is a taken branch ([`Bus::branch`]) to an address below the
/// branch's own that is not a CALL or a return: a loop's branch back. It is
/// counted when the branch is decided, so the test before each instruction is the
/// plain interpreter's one range compare for the system entries; a countdown
/// that runs out makes the stop `pending` and widens that range to every PC, so the
/// next instruction (the head) stops. CALLs and returns are not loop branches: a
/// CALL keeps a countdown per CALL instruction (`calls`), as a head does, and
/// stops at the callee's entry; while a call is observed, a return to its return
/// address (`ret`) stops there. A backward transfer is looked at only if its
/// target's countdown is not 0 (so a CALL to a routine below whose entry is a
/// sequential loop's head is not counted, and a return to an address that is a
/// sequential loop's head is not seen: the observed call is then found made again
/// before it returned, and left sequential). A forward branch is looked at once,
/// then its `calls` entry is 0 (returns excepted) and it costs one load and test.
/// Without `observe` (a quiet run) it counts nothing. (A second copy
/// of the interpreter specialised for quiet runs, with no hook at all, ran crc at
/// 127 MIPS against this one's 190 to 250, hosted, for no reason found; the flag
/// costs a compare per taken branch.)
struct ObsBus<'a> {
    committed: &'a mut Mem,
    versions: &'a mut Versions,
    watch: &'a mut [u16],
    /// Per branch address, the countdown of a CALL's executions until the next stop,
    /// as `watch` is for heads (0: never; also for a forward branch found not to be a CALL).
    calls: &'a mut [u16],
    ports: &'a mut Vec<(u16, u8)>,
    /// The stop the last branch decided.
    pending: Pending,
    /// Set when the run stopped at a pending stop.
    stopped: Option<StopKind>,
    /// The return address of the call being observed, or [`NO_RETURN`].
    ret: u32,
    /// The PCs `trap` looks at closer: `low..=low+span` (wrapping).
    low: u16,
    span: u16,
    /// The machine's system entries.
    traps: Traps,
    /// Count backward transfers and calls; false in a quiet run (stop at system entries only).
    observe: bool,
}

impl<'a> ObsBus<'a> {
    /// The bus over committed memory `m` (its CPU aside), with the stop left
    /// `pending` and the observed call's return address `ret`.
    fn new(m: Parts<'a>, w: Watch<'a>, pending: Pending, ret: u32, traps: Traps, observe: bool) -> Self {
        let (low, span) = if pending.is_some() { (0, u16::MAX) } else { (traps.low, traps.span) };
        ObsBus {
            committed: m.0,
            versions: m.1,
            watch: w.0,
            calls: w.1,
            ports: m.2,
            pending,
            stopped: None,
            ret,
            low,
            span,
            traps,
            observe,
        }
    }

    /// The slow path of `trap`: the pending stop, or a system entry.
    #[cold]
    #[inline(never)]
    fn stop_here(&mut self, pc: u16) -> bool {
        if let Some((_, kind)) = self.pending.filter(|(at, _)| *at == pc) {
            self.pending = None;
            self.stopped = Some(kind);
            self.low = self.traps.low;
            self.span = self.traps.span;
            return true;
        }
        self.traps.hit(pc)
    }

    /// Stops at `to`, the next instruction.
    fn stop_at(&mut self, to: u16, kind: StopKind) {
        self.pending = Some((to, kind));
        self.low = 0;
        self.span = u16::MAX;
    }

    /// A backward transfer from `from` to `to` whose countdown is not 0 (a sequential
    /// region's is, and costs one load and test): a CALL or a return is looked at as
    /// [`ObsBus::classify`] does; any other counts down, and stops there at 1.
    #[cold]
    #[inline(never)]
    fn backward(&mut self, from: u16, to: u16) {
        let op = self.committed[from as usize];
        if is_call(op) || is_return(op) {
            return self.classify(from, to);
        }
        let w = &mut self.watch[to as usize];
        if *w > 1 {
            *w -= 1;
        } else {
            self.stop_at(to, StopKind::Head);
        }
    }

    /// A taken branch from `from` whose countdown in `calls` is not 0, or any CALL or
    /// return from [`ObsBus::backward`]. A CALL (to an entry that is not a system
    /// entry) counts down per CALL instruction and stops at the callee's entry at 1
    /// (never at 0: a sequential call site). A return stops if it goes to the
    /// observed call's return address; returns keep their countdown, so each is
    /// looked at. Any other branch is never looked at here again.
    #[cold]
    #[inline(never)]
    fn classify(&mut self, from: u16, to: u16) {
        let op = self.committed[from as usize];
        if is_return(op) {
            if to as u32 == self.ret {
                self.returned(to);
            }
            return;
        }
        let w = &mut self.calls[from as usize];
        if !is_call(op) || self.traps.hit(to) {
            *w = 0;
        } else if *w > 1 {
            *w -= 1;
        } else if *w == 1 {
            self.stop_at(to, StopKind::Call(from));
        }
    }

    /// A taken branch to the observed call's return address: stops there (the
    /// dispatcher checks the stack depth) and stops watching for it.
    #[cold]
    #[inline(never)]
    fn returned(&mut self, to: u16) {
        self.ret = NO_RETURN;
        self.stop_at(to, StopKind::Return);
    }
}

/// True for the opcode of `CALL nn` and `CALL cc,nn` (RST is not taken for a call).
fn is_call(op: u8) -> bool {
    op == 0xCD || op & 0xC7 == 0xC4
}

/// True for the opcode byte a return's branch is reported from: `RET`, `RET cc`, and
/// `RETN`/`RETI` (their byte after the ED prefix; no unprefixed branch has it).
fn is_return(op: u8) -> bool {
    op == 0xC9 || op & 0xC7 == 0xC0 || op == 0x45 || op == 0x4D
}

/// The countdowns of [`ObsBus`]: per head, per branch address.
type Watch<'a> = (&'a mut [u16], &'a mut [u16]);

impl Bus for ObsBus<'_> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.committed[addr as usize]
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.committed[addr as usize] = value;
        self.versions.mark(addr);
    }
    fn input(&mut self, _port: u16) -> u8 {
        PORT_READ
    }
    fn output(&mut self, port: u16, value: u8) {
        self.ports.push((port, value));
    }
    #[inline(always)]
    fn trap(&mut self, pc: u16) -> bool {
        pc.wrapping_sub(self.low) <= self.span && self.stop_here(pc)
    }
    #[inline(always)]
    fn branch(&mut self, from: u16, to: u16, taken: bool) {
        if taken && self.observe {
            if to < from {
                if self.watch[to as usize] != 0 {
                    self.backward(from, to);
                }
            } else if self.calls[from as usize] != 0 {
                self.classify(from, to);
            }
        }
    }
}

/// A region's record during a run.
struct Region {
    verdict: Option<Verdict>,
    graph: Graph,
    short_visits: u32,
    iterations: u64,
    visits: u64,
    why_sequential: Option<String>,
    /// Iterations of the current visit so far (from the loop's entry, estimated).
    visit_iters: u64,
    /// The longest visit seen, in iterations: waves do not plan tasks beyond it.
    trip: Option<u64>,
}

/// The call being observed: where and how it began.
struct ObservedCall {
    site: u16,
    ret: u16,
    entry: Cpu,
    instructions: u64,
    tstates: u64,
    system_calls: u64,
}

/// A call site's record during a run.
struct CallRegion {
    verdict: Option<CallVerdict>,
    samples: Vec<CallSample>,
    /// Calls the dispatcher ran (observed or in waves).
    calls: u64,
    why_sequential: Option<String>,
}

struct Dispatcher<'a, P: Pool> {
    cfg: &'a Config,
    pool: &'a mut P,
    policy: &'a mut Policy,
    learner: Learner,
    m: Committed,
    watch: Vec<u16>,
    /// [`ObsBus`]'s countdown per CALL instruction.
    call_watch: Vec<u16>,
    /// A stop the sequential run's bus decided and has not made yet ([`ObsBus`]).
    pending: Pending,
    /// Why the last stretch stopped, if it stopped at a stop its bus decided.
    stopped: Option<StopKind>,
    /// The call being observed (one at a time): it runs on the sequential path
    /// until it returns to the instruction after its CALL.
    observing: Option<ObservedCall>,
    /// System calls performed (ordering points), so an observed call knows if it made one.
    system_calls: u64,
    regions: BTreeMap<u16, Region>,
    /// Per CALL instruction's address.
    call_regions: BTreeMap<u16, CallRegion>,
    /// Instances a wave runs on (the pool's, capped by the configuration).
    instances: usize,
    /// One per task a wave may have: `instances` times the pool's tasks per instance.
    tasks: Vec<Task>,
    redo: Task,
    stats: Stats,
    log: Vec<TaskRecord>,
    injections: u64,
    /// The CP/M system, when the program runs on the CP/M machine.
    sys: Option<&'a mut CpmSystem>,
    /// The machine's system entries (the BIOS's too on the CP/M machine).
    traps: Traps,
    /// Time (the pool's unit) and T-states of the run on the interpreter between
    /// stops: the rate sequential work goes at in this run.
    seq_time: u64,
    seq_tstates: u64,
}

/// Runs `image` through the dispatcher on `pool`, learning into `policy`; console output goes to `out`.
pub fn run<P: Pool>(image: &[u8], cfg: &Config, pool: &mut P, policy: &mut Policy, out: &mut dyn FnMut(u8)) -> Report {
    run_on(image, None, cfg, pool, policy, out)
}

/// Runs `image` through the dispatcher on the CP/M machine of [`crate::cpm`]: its
/// system calls (BDOS and BIOS, files on `sys`'s disk) are ordering points performed
/// by `sys` in program order.
pub fn run_cpm<P: Pool>(
    image: &[u8],
    sys: &mut CpmSystem,
    cfg: &Config,
    pool: &mut P,
    policy: &mut Policy,
    out: &mut dyn FnMut(u8),
) -> Report {
    run_on(image, Some(sys), cfg, pool, policy, out)
}

fn run_on<P: Pool>(
    image: &[u8],
    sys: Option<&mut CpmSystem>,
    cfg: &Config,
    pool: &mut P,
    policy: &mut Policy,
    out: &mut dyn FnMut(u8),
) -> Report {
    let loaded = match &sys {
        Some(s) => crate::cpm::load(image, s),
        None => crate::reference::load(image),
    };
    let traps = if sys.is_some() { Traps::with_bios(crate::cpm::BIOS_TRAPS) } else { Traps::HARNESS };
    let fits = loaded.is_some();
    let (cpu, mem) = loaded.unwrap_or_else(|| (Cpu::new(), zeroed_mem()));
    let instances = pool.instances().min(cfg.tasks).max(1);
    // Task slots: more than the instances when the pool hands a free instance the next task.
    let slots = if instances > 1 { instances * pool.per_instance().max(1) } else { 1 };
    let mut d = Dispatcher {
        cfg,
        pool,
        policy,
        learner: Learner::new(cfg.seed),
        m: Committed {
            cpu,
            mem,
            ports: Vec::new(),
            instructions: 0,
            tstates: 0,
            wave_written: zeroed_mem(),
            wave_list: Vec::new(),
            versions: Versions::new(),
        },
        watch: alloc::vec![HOT; 0x1_0000],
        call_watch: alloc::vec![HOT_CALL; 0x1_0000],
        pending: None,
        stopped: None,
        observing: None,
        system_calls: 0,
        regions: BTreeMap::new(),
        call_regions: BTreeMap::new(),
        instances,
        tasks: (0..slots).map(|_| Task::new()).collect(),
        redo: Task::new(),
        stats: Stats::default(),
        log: Vec::new(),
        injections: 0,
        sys,
        traps,
        seq_time: 0,
        seq_tstates: 0,
    };
    d.stats.quiet = d.policy.quiet_run();
    let result = if fits { d.main(out) } else { Err(RunError::ImageTooLarge(image.len())) };
    d.policy.end_run();
    d.report(result)
}

impl<P: Pool> Dispatcher<'_, P> {
    fn left(&self) -> u64 {
        self.cfg.max_instructions - self.m.instructions
    }

    /// Runs up to `n` instructions of the sequential path on committed memory.
    fn stretch(&mut self, n: u64) -> zbeam_z80::RunResult {
        let (cpu, parts) = self.m.split();
        let watch = (&mut self.watch[..], &mut self.call_watch[..]);
        let ret = self.observing.as_ref().map_or(NO_RETURN, |o| o.ret as u32);
        let mut bus = ObsBus::new(parts, watch, self.pending, ret, self.traps, !self.stats.quiet);
        let res = cpu.run(&mut bus, n);
        self.pending = bus.pending;
        self.stopped = bus.stopped;
        res
    }

    fn main(&mut self, out: &mut dyn FnMut(u8)) -> Result<(), RunError> {
        loop {
            if !self.pool.go_on() {
                return Err(RunError::Stopped);
            }
            let t0 = self.pool.now();
            let stretch = self.left().min(self.pool.check_every());
            let res = self.stretch(stretch);
            self.m.instructions += res.instructions;
            self.m.tstates += res.tstates;
            self.pool.charge_sequential(res.tstates);
            self.seq_time += self.pool.now().saturating_sub(t0);
            self.seq_tstates += res.tstates;
            match res.reason {
                StopReason::Trap(0) => return Ok(()),
                StopReason::Trap(pc) if self.sys.is_some() && self.traps.hit(pc) => {
                    if self.left() == 0 {
                        return Err(RunError::InstructionLimit);
                    }
                    self.system_calls += 1;
                    let sys = self.sys.as_mut().expect("checked by the guard");
                    // A system call may write anywhere (a file read into its buffer).
                    self.m.versions.mark_all();
                    match sys.call(pc, &mut self.m.cpu, &mut self.m.mem, out)? {
                        Call::Continue => {}
                        Call::Exit => return Ok(()),
                    }
                }
                StopReason::Trap(BDOS) => {
                    if self.left() == 0 {
                        return Err(RunError::InstructionLimit);
                    }
                    self.system_calls += 1;
                    let cpu = &self.m.cpu;
                    match cpu.c {
                        0 => return Ok(()),
                        2 => out(cpu.e),
                        9 => {
                            let mut addr = cpu.de();
                            for _ in 0..0x1_0000 {
                                let ch = self.m.mem[addr as usize];
                                if ch == b'$' {
                                    break;
                                }
                                out(ch);
                                addr = addr.wrapping_add(1);
                            }
                        }
                        f => return Err(RunError::UnsupportedBdos(f)),
                    }
                    let (cpu, parts) = self.m.split();
                    let watch = (&mut self.watch[..], &mut self.call_watch[..]);
                    let ret = self.observing.as_ref().map_or(NO_RETURN, |o| o.ret as u32);
                    let mut bus = ObsBus::new(parts, watch, self.pending, ret, self.traps, !self.stats.quiet);
                    let t = cpu.step(&mut bus).0;
                    self.pending = bus.pending;
                    self.m.tstates += t;
                    self.m.instructions += 1;
                    self.pool.charge_sequential(t);
                }
                StopReason::Trap(pc) => match self.stopped.take() {
                    Some(StopKind::Call(site)) => self.at_call(site),
                    Some(StopKind::Return) => self.at_return(),
                    _ => self.at_head(pc),
                },
                // The pool's slice ran out (the run's own limit is checked below).
                StopReason::BudgetSpent => {}
                StopReason::BusStop => {}
                StopReason::Halted { .. } => return Err(RunError::Halted(self.m.cpu.pc)),
            }
            if self.left() == 0 {
                return Err(RunError::InstructionLimit);
            }
        }
    }

    /// The program is at `head`, arrived by a backward transfer, and the head is hot or active.
    fn at_head(&mut self, head: u16) {
        let retired = self.policy.regions.get(&head).is_some_and(|r| r.retired);
        let region = self.regions.entry(head).or_insert(Region {
            verdict: None,
            graph: Graph::default(),
            short_visits: 0,
            iterations: 0,
            visits: 0,
            why_sequential: None,
            visit_iters: 0,
            trip: None,
        });
        region.visits += 1;
        // A later visit stops at its first backward arrival: one iteration done. (The
        // first visit's count before it became hot is unknown and not used.)
        region.visit_iters = 1;
        if retired {
            region.why_sequential.get_or_insert_with(|| String::from("retired by the persisted policy"));
            return self.make_sequential(head);
        }
        if region.verdict.is_none() && !self.observe(head) {
            return;
        }
        let trip = self.regions[&head].trip;
        let allowed: Vec<Arm> = match &self.regions[&head].verdict {
            // Once a visit's length is known, a wave must fit in it.
            Some(Verdict::Parallel { allowed, .. }) => {
                let smallest = allowed
                    .iter()
                    .filter_map(|a| if let Arm::Parallel { chunk, .. } = a { Some(*chunk) } else { None })
                    .min();
                allowed
                    .iter()
                    .copied()
                    .filter(|a| match (a, trip, smallest) {
                        (Arm::Parallel { chunk, tasks, .. }, Some(t), Some(s)) => fits(*chunk, s, *tasks, t),
                        _ => true,
                    })
                    .collect()
            }
            _ => return self.make_sequential(head),
        };
        self.watch[head as usize] = 1;
        while self.m.cpu.pc == head && self.pool.go_on() {
            let rp = self.policy.regions.entry(head).or_default();
            let arm = pick(self.cfg.force, &mut self.learner, rp, &allowed);
            if rp.retired {
                if let Some(r) = self.regions.get_mut(&head) {
                    r.why_sequential = rp.why.clone();
                }
                return self.make_sequential(head);
            }
            match arm {
                Arm::Sequential => {
                    self.watch[head as usize] = SEQUENTIAL_SPAN;
                    return;
                }
                Arm::Parallel { chunk, tasks, .. } => {
                    let budget = match &self.regions[&head].verdict {
                        Some(Verdict::Parallel { per_iteration_budget, .. }) => per_iteration_budget * chunk as u64,
                        _ => return,
                    };
                    // Near the instruction limit the reference interpreter finishes exactly;
                    // the head is asked again after a span of arrivals, not at each one.
                    if self.left() < budget.saturating_mul(tasks as u64 + 1) {
                        self.watch[head as usize] = SEQUENTIAL_SPAN;
                        return;
                    }
                    self.wave(head, arm, budget);
                    if self.watch[head as usize] == 0 {
                        break;
                    }
                }
                // Never among a loop's allowed arms.
                Arm::Continue { .. } => return self.make_sequential(head),
            }
        }
        // Only a visit whose start was seen is counted whole: the first one was noticed
        // after HOT backward arrivals, which may have come from earlier visits.
        if let Some(r) = self.regions.get_mut(&head).filter(|r| r.visits > 1) {
            r.trip = Some(r.trip.unwrap_or(0).max(r.visit_iters));
        }
    }

    fn make_sequential(&mut self, head: u16) {
        self.watch[head as usize] = 0;
    }

    /// The program is at a callee's entry, just called by the CALL at `site`, and the
    /// site is hot, observed or active: start observing this call, or let the learner
    /// choose between running it on the sequential path and a wave of the call beside
    /// its continuation.
    fn at_call(&mut self, site: u16) {
        let ret = site.wrapping_add(3);
        let retired = self.policy.calls.get(&site).is_some_and(|r| r.retired);
        let region = self.call_regions.entry(site).or_insert(CallRegion {
            verdict: None,
            samples: Vec::new(),
            calls: 0,
            why_sequential: None,
        });
        if retired {
            region.why_sequential.get_or_insert_with(|| String::from("retired by the persisted policy"));
            self.call_watch[site as usize] = 0;
            return;
        }
        if region.verdict.is_none() {
            return self.observe_call(site, ret);
        }
        let allowed = match &region.verdict {
            Some(CallVerdict::Continue { allowed, .. }) => allowed.clone(),
            _ => {
                self.call_watch[site as usize] = 0;
                return;
            }
        };
        // Inside a call being observed, this call's decomposition comes first.
        self.inner_decomposition(site);
        let rp = self.policy.calls.entry(site).or_default();
        let arm = pick(self.cfg.force, &mut self.learner, rp, &allowed);
        if rp.retired {
            if let Some(r) = self.call_regions.get_mut(&site) {
                r.why_sequential = rp.why.clone();
            }
            self.call_watch[site as usize] = 0;
            return;
        }
        match arm {
            Arm::Continue { span } => {
                self.call_watch[site as usize] = 1;
                self.call_wave(site, ret, arm, span);
            }
            _ => self.call_watch[site as usize] = CALL_SEQUENTIAL_SPAN,
        }
    }

    /// Starts observing the call just entered at `site`: it runs on the sequential
    /// path as before (loops inside it in their waves), and the bus stops when a
    /// branch returns to `ret`. One call is observed at a time; a call made inside
    /// it is observed instead (inner decompositions first), and the same call made
    /// again before it returned (recursion, or it left by another way) makes the
    /// site sequential.
    fn observe_call(&mut self, site: u16, ret: u16) {
        self.call_watch[site as usize] = 1;
        if let Some(o) = &self.observing {
            if o.site == site {
                self.observing = None;
                return self.call_sequential(
                    site,
                    String::from("the call was made again before it returned (recursion, or it left by another way)"),
                );
            }
            self.inner_decomposition(site);
        }
        self.observing = Some(ObservedCall {
            site,
            ret,
            entry: self.m.cpu.clone(),
            instructions: self.m.instructions,
            tstates: self.m.tstates,
            system_calls: self.system_calls,
        });
    }

    /// A loop or call with a decomposition of its own (`inner`: its head or CALL) runs
    /// inside the call being observed: that call stays sequential, so the inner one
    /// keeps its decomposition.
    fn inner_decomposition(&mut self, inner: u16) {
        if let Some(o) = self.observing.take() {
            let why = alloc::format!("the call reaches {inner:04X}h, a loop or call with its own decomposition");
            self.call_sequential(o.site, why);
        }
    }

    fn call_sequential(&mut self, site: u16, why: String) {
        self.call_watch[site as usize] = 0;
        self.policy.calls.entry(site).or_default().why = Some(why.clone());
        if let Some(r) = self.call_regions.get_mut(&site) {
            r.why_sequential = Some(why.clone());
            r.verdict = Some(CallVerdict::Sequential(why));
        }
    }

    /// The observed call returned to the instruction after its CALL: keeps the
    /// sample, and judges the site when [`CALL_WINDOW`] calls are in.
    fn at_return(&mut self) {
        let Some(o) = self.observing.take() else { return };
        if self.m.cpu.sp != o.entry.sp.wrapping_add(2) {
            let why = alloc::format!(
                "a call came back to {:04X}h with SP {:04X}h, not {:04X}h (recursion, or a changed stack)",
                o.ret,
                self.m.cpu.sp,
                o.entry.sp.wrapping_add(2)
            );
            return self.call_sequential(o.site, why);
        }
        if self.system_calls != o.system_calls {
            return self.call_sequential(o.site, String::from("the call makes a system call (an ordering point)"));
        }
        self.stats.observed += 1;
        let Some(region) = self.call_regions.get_mut(&o.site) else { return };
        region.calls += 1;
        region.samples.push(CallSample {
            end: self.m.cpu.clone(),
            tstates: self.m.tstates - o.tstates,
            instructions: self.m.instructions - o.instructions,
            entry: o.entry,
        });
        if region.samples.len() >= CALL_WINDOW {
            let verdict = region::analyse_call(&region.samples, o.ret, self.instances, self.pool.min_task_tstates());
            if let CallVerdict::Sequential(why) = verdict {
                return self.call_sequential(o.site, why);
            }
            region.verdict = Some(verdict);
        }
    }

    /// The heads of the loops that run in waves or are being observed: a call's
    /// task and its continuation stop there, so a loop inside a call keeps its own
    /// decomposition.
    fn loop_stops(&self) -> Vec<u16> {
        self.regions
            .iter()
            .filter(|(h, r)| {
                self.watch[**h as usize] != 0
                    && r.why_sequential.is_none()
                    && matches!(r.verdict, None | Some(Verdict::Parallel { .. }))
            })
            .map(|(h, _)| *h)
            .collect()
    }

    /// [`Self::loop_stops`], and the other call sites that run in waves or are
    /// being observed: a call's own task stops there too, so a call inside a call
    /// keeps its decomposition. (A continuation does not stop at them: it runs the
    /// calls that follow, which is the point of running it.)
    fn call_stops(&self, site: u16) -> Vec<u16> {
        let mut stops = self.loop_stops();
        stops.extend(
            self.call_regions
                .iter()
                .filter(|(s, r)| {
                    **s != site
                        && self.call_watch[**s as usize] != 0
                        && r.why_sequential.is_none()
                        && matches!(r.verdict, None | Some(CallVerdict::Continue { .. }))
                })
                .map(|(s, _)| *s),
        );
        stops
    }

    /// One wave at a callee's entry: task 0 runs the call to its return; task 1 runs
    /// on from the return address, from the state the call is predicted to leave, up
    /// to the next execution of this CALL (or a system call, or `span` call lengths
    /// of instructions). Task 1 commits only if the call left the state it was
    /// predicted from (but for units it proved dead) and it read nothing the call
    /// wrote; otherwise it is squashed and the sequential path goes on from the return.
    fn call_wave(&mut self, site: u16, ret: u16, arm: Arm, span: u32) {
        let Some(CallRegion {
            verdict: Some(CallVerdict::Continue { prediction, call_budget, span_unit, .. }), ..
        }) = self.call_regions.get(&site)
        else {
            return;
        };
        let (call_budget, cont_budget) = (*call_budget, span_unit.saturating_mul(span as u64).max(1));
        if self.left() < call_budget.saturating_add(cont_budget) {
            self.call_watch[site as usize] = CALL_SEQUENTIAL_SPAN;
            return;
        }
        let t0 = self.pool.now();
        let entry = self.m.cpu.clone();
        let mut start = prediction.predict(&entry, ret);
        let mut injected = false;
        if self.cfg.inject_every > 0 {
            self.injections += 1;
            if self.injections.is_multiple_of(self.cfg.inject_every as u64) {
                // SP is always compared: a corrupted SP can never validate.
                start.sp ^= 0x0100;
                injected = true;
            }
        }
        let (inner, stops) = (self.call_stops(site), self.loop_stops());
        let [call, cont, ..] = &mut self.tasks[..] else { return };
        call.bus.traps = self.traps;
        call.prepare(&entry, Memory::Synced(&self.m.mem, &mut self.m.versions), ret, 0, None, 0, call_budget);
        call.bus.stop_also(&inner);
        call.bus.log_reads = false;
        cont.bus.traps = self.traps;
        let memory = Memory::Synced(&self.m.mem, &mut self.m.versions);
        cont.prepare(&start, memory, site, 0, None, decode::ALL, cont_budget);
        cont.bus.stop_also(&stops);
        let t1 = self.pool.now();
        self.pool.run_all(&mut self.tasks[..2]);
        let t2 = self.pool.now();
        self.stats.wave_setup += t1 - t0;
        self.stats.wave_run += t2 - t1;
        self.stats.waves += 1;
        self.stats.call_waves += 1;
        let region = self.call_regions.get_mut(&site).expect("the call site has a verdict");
        region.calls += 1;
        let [call, cont, ..] = &self.tasks[..] else { return };
        if call.instructions == 0 {
            region.why_sequential = Some(String::from("a task could not make progress"));
            self.call_watch[site as usize] = 0;
            return;
        }
        let mut sequential = call.elapsed;
        let mut covered = call.tstates;
        let returned = call.end == TaskEnd::Head && call.cpu.pc == ret;
        self.m.commit(call, None);
        self.stats.speculative += 1;
        self.stats.injected += injected as u64;
        let actual = if self.cfg.log_tasks { self.m.cpu.clone() } else { Cpu::new() };
        let outcome = if returned { validate(&mut self.m, self.pool, cont) } else { Outcome::Discarded };
        if outcome == Outcome::Committed {
            sequential += cont.elapsed;
            covered += cont.tstates;
            self.stats.speculative_tstates += cont.tstates;
        }
        self.m.end_wave();
        if self.cfg.log_tasks {
            self.log.push(TaskRecord {
                head: site,
                position: 1,
                start: cont.start.clone(),
                actual,
                dead: cont.dead,
                injected,
                outcome,
            });
        }
        let (commits, squashes) = match outcome {
            Outcome::Committed => (1, 0),
            Outcome::Discarded => (0, 0),
            _ => (0, 1),
        };
        match outcome {
            Outcome::Committed => self.stats.committed += 1,
            Outcome::Discarded => self.stats.discarded += 1,
            Outcome::SquashedState => self.stats.squashed_state += 1,
            Outcome::SquashedMemory => self.stats.squashed_memory += 1,
        }
        if squashes > 0 {
            self.stats.injected_squashed += injected as u64;
        }
        // The gain net of hand-off and validation, as for a loop's wave.
        if self.seq_tstates >= RATE_AFTER {
            sequential = (covered as u128 * self.seq_time as u128 / self.seq_tstates as u128) as u64;
        }
        let wave_time = self.pool.now() - t0;
        self.stats.wave_time += wave_time;
        self.stats.wave_longest += call.elapsed.max(cont.elapsed);
        let reward = if sequential > 0 { (sequential as f64 - wave_time as f64) / sequential as f64 } else { 0.0 };
        let rp = self.policy.calls.entry(site).or_default();
        Learner::feedback(rp, arm, reward, covered, commits, squashes);
    }

    /// Observes up to [`WINDOW`] instances from here, committing each; judges the region
    /// when the window is full. Returns true if the region has a verdict.
    fn observe(&mut self, head: u16) -> bool {
        self.inner_decomposition(head);
        let mut nodes = Vec::new();
        let mut complete = false;

        while nodes.len() < WINDOW && self.left() > OBSERVE_BUDGET && self.pool.go_on() {
            let start = self.m.cpu.clone();
            let t = &mut self.redo;
            t.bus.traps = self.traps;
            t.prepare(
                &start,
                Memory::Synced(&self.m.mem, &mut self.m.versions),
                head,
                1,
                None,
                decode::ALL,
                OBSERVE_BUDGET,
            );
            t.bus.track_last = true;
            t.run();
            self.pool.charge_sequential(t.tstates);
            let mut reads = t.bus.reads.clone();
            let mut writes = t.bus.writes.clone();
            reads.sort_unstable();
            writes.sort_unstable();
            nodes.push(Sample {
                live_in: decode::ALL & !t.dead,
                changed: region::changed_units(&start, &t.cpu),
                start,
                reads,
                writes,
                tstates: t.tstates,
                instructions: t.instructions,
                branch: t.bus.last,
            });
            self.m.commit(&self.redo, None);
            self.m.end_wave();
            self.stats.observed += 1;
            if self.redo.end != TaskEnd::Head {
                break;
            }
            complete = nodes.len() == WINDOW;
        }
        let region = self.regions.get_mut(&head).expect("the region was just entered");
        region.iterations += nodes.len() as u64;
        region.visit_iters += nodes.len() as u64;
        if !complete {
            // Stop at the next arrival too, so the next visit is observed.
            self.watch[head as usize] = 1;
            region.short_visits += 1;
            if region.short_visits >= 3 {
                region.verdict = Some(Verdict::Sequential(String::from("too few iterations per visit")));
                return true;
            }
            return false;
        }
        let graph = Graph::build(nodes);
        let verdict =
            region::analyse(&graph, &self.m.cpu, self.instances, self.tasks.len(), self.pool.min_task_tstates());
        if let Verdict::Sequential(why) = &verdict {
            region.why_sequential = Some(why.clone());
            let rp = self.policy.regions.entry(head).or_default();
            rp.why = Some(why.clone());
        }
        region.graph = graph;
        region.verdict = Some(verdict);
        true
    }

    /// One wave of `arm` at `head`: run, validate and commit in order, feed the learner.
    fn wave(&mut self, head: u16, arm: Arm, budget: u64) {
        let Arm::Parallel { predictor, chunk, tasks } = arm else { return };
        self.inner_decomposition(head);
        let Some(Verdict::Parallel { prediction, branch, .. }) = &self.regions[&head].verdict else { return };
        let branch = *branch;
        let (n, chunk) = plan(tasks as usize, self.tasks.len(), chunk, &self.regions[&head]);
        let t0 = self.pool.now();
        let base = self.m.cpu.clone();
        let mut injected = alloc::vec![false; n];
        for (j, t) in self.tasks[..n].iter_mut().enumerate() {
            let mut start = if j == 0 { base.clone() } else { prediction.predict(&base, j as u32 * chunk, predictor) };
            if j > 0 && self.cfg.inject_every > 0 {
                self.injections += 1;
                if self.injections.is_multiple_of(self.cfg.inject_every as u64) {
                    // SP is always compared: a corrupted SP can never validate.
                    start.sp ^= 0x0100;
                    injected[j] = true;
                }
            }
            // Every unit a speculative task writes before reading needs no prediction.
            let unc = if j == 0 { 0 } else { decode::ALL };
            t.bus.traps = self.traps;
            t.prepare(&start, Memory::Synced(&self.m.mem, &mut self.m.versions), head, chunk, branch, unc, budget);
            // The first task always commits: its reads are never validated.
            t.bus.log_reads = j > 0;
        }
        let t1 = self.pool.now();
        self.pool.run_all(&mut self.tasks[..n]);
        let t2 = self.pool.now();
        self.stats.wave_setup += t1 - t0;
        self.stats.wave_run += t2 - t1;
        self.stats.waves += 1;
        if self.tasks[0].instructions == 0 {
            // No progress is possible from here (a task that ends where it starts):
            // the region stays sequential rather than loop.
            if let Some(r) = self.regions.get_mut(&head) {
                r.why_sequential = Some(String::from("a task could not make progress"));
            }
            return self.make_sequential(head);
        }
        let (mut commits, mut squashes) = (0u64, 0u64);
        // Loop iterations the committed tasks and redos completed.
        let mut done = 0u64;
        // What the committed work took on one instance, as the tasks measured it.
        let mut sequential = 0u64;
        // Its T-states (committed tasks and redos).
        let mut covered = 0u64;
        for (j, &injected) in injected.iter().enumerate() {
            let t = &self.tasks[j];
            if j == 0 {
                sequential += t.elapsed;
                covered += t.tstates;
                done += t.iterations();
                self.m.commit(t, None);
                continue;
            }
            self.stats.speculative += 1;
            self.stats.injected += injected as u64;
            let actual = if self.cfg.log_tasks { self.m.cpu.clone() } else { Cpu::new() };
            let outcome = if self.m.cpu.pc == head { validate(&mut self.m, self.pool, t) } else { Outcome::Discarded };
            if outcome == Outcome::Committed {
                sequential += t.elapsed;
                covered += t.tstates;
                done += t.iterations();
                self.stats.speculative_tstates += t.tstates;
            }
            if self.cfg.log_tasks {
                self.log.push(TaskRecord {
                    head,
                    position: j as u32,
                    start: t.start.clone(),
                    actual: actual.clone(),
                    dead: t.dead,
                    injected,
                    outcome,
                });
            }
            match outcome {
                Outcome::Committed => {
                    commits += 1;
                    self.stats.committed += 1;
                }
                Outcome::Discarded => self.stats.discarded += 1,
                squashed => {
                    squashes += 1;
                    if squashed == Outcome::SquashedState {
                        self.stats.squashed_state += 1;
                    } else {
                        self.stats.squashed_memory += 1;
                    }
                    self.stats.injected_squashed += injected as u64;
                    // Redo the task's iterations from the actual state, on committed memory.
                    let start = self.m.cpu.clone();
                    self.redo.bus.traps = self.traps;
                    let memory = Memory::Synced(&self.m.mem, &mut self.m.versions);
                    self.redo.prepare(&start, memory, head, chunk, branch, 0, budget);
                    self.redo.bus.log_reads = false;
                    let r0 = self.pool.now();
                    self.redo.run();
                    self.pool.charge_sequential(self.redo.tstates);
                    sequential += self.pool.now() - r0;
                    covered += self.redo.tstates;
                    self.stats.redo_tstates += self.redo.tstates;
                    done += self.redo.iterations();
                    self.m.commit(&self.redo, None);
                }
            }
        }
        self.m.end_wave();
        if let Some(r) = self.regions.get_mut(&head) {
            r.iterations += done;
            r.visit_iters += done;
        }
        // The gain net of hand-off, validation and redo: the wave against the time its
        // committed work would have taken on the interpreter, at the rate this run's
        // sequential stretches went (so a loaded host slows both sides alike). The
        // tasks' own times are not used once that rate is known: a task running
        // beside others on a shared host runs slower than the interpreter alone, and
        // would make a losing wave look like a gain. Before it is known (a run that
        // reached its loop almost at once) the tasks' times stand in.
        if self.seq_tstates >= RATE_AFTER {
            sequential = (covered as u128 * self.seq_time as u128 / self.seq_tstates as u128) as u64;
        }
        let wave_time = self.pool.now() - t0;
        self.stats.wave_time += wave_time;
        self.stats.wave_longest += self.tasks[..n].iter().map(|t| t.elapsed).max().unwrap_or(0);
        let elapsed = wave_time as f64;
        let reward = if sequential > 0 { (sequential as f64 - elapsed) / sequential as f64 } else { 0.0 };
        let rp = self.policy.regions.entry(head).or_default();
        Learner::feedback(rp, arm, reward, covered, commits, squashes);
    }

    fn report(self, result: Result<(), RunError>) -> Report {
        let mut regions = Vec::new();
        for (&head, r) in &self.regions {
            let rp = self.policy.regions.get(&head);
            let main_arm = rp.and_then(RegionPolicy::main_arm);
            let state = match (&r.why_sequential, &r.verdict) {
                (Some(why), _) => alloc::format!("sequential: {why}"),
                (None, Some(Verdict::Parallel { .. })) => String::from("active"),
                (None, Some(Verdict::Sequential(why))) => alloc::format!("sequential: {why}"),
                (None, None) => String::from("observing"),
            };
            let assumptions = match &r.verdict {
                Some(Verdict::Parallel { assumptions, .. }) => assumptions.clone(),
                _ => Vec::new(),
            };
            let count = |f: fn(&region::Edge) -> bool| r.graph.edges.iter().filter(|e| f(e)).count();
            let graph = (
                r.graph.nodes.len(),
                count(|e| matches!(e, region::Edge::Control(..))),
                count(|e| matches!(e, region::Edge::Register(..))),
                count(|e| matches!(e, region::Edge::Memory(..))),
            );
            regions.push(RegionReport {
                head,
                call: false,
                state,
                iterations: r.iterations,
                visits: r.visits,
                main_arm,
                assumptions,
                graph,
            });
        }
        for (&site, r) in &self.call_regions {
            let rp = self.policy.calls.get(&site);
            let main_arm = rp.and_then(RegionPolicy::main_arm);
            let (state, assumptions) = match (&r.why_sequential, &r.verdict) {
                (Some(why), _) | (None, Some(CallVerdict::Sequential(why))) => {
                    (alloc::format!("sequential: {why}"), Vec::new())
                }
                (None, Some(CallVerdict::Continue { assumptions, .. })) => {
                    (String::from("active"), assumptions.clone())
                }
                (None, None) => (String::from("observing"), Vec::new()),
            };
            regions.push(RegionReport {
                head: site,
                call: true,
                state,
                iterations: r.calls,
                visits: r.calls,
                main_arm,
                assumptions,
                graph: (r.samples.len(), 0, 0, 0),
            });
        }
        Report {
            cpu: self.m.cpu,
            mem: self.m.mem,
            ports: self.m.ports,
            instructions: self.m.instructions,
            tstates: self.m.tstates,
            result,
            stats: self.stats,
            regions,
            log: self.log,
        }
    }
}
