//! The observer's record of one region and the partitioner's verdict on it.
//!
//! What: a region is a program counter the program keeps coming back to by a
//! backward transfer other than a CALL or a return (a loop head); an
//! instance is the execution from one arrival at the head to the next. For a window
//! of consecutive instances the observer keeps a [`Sample`]: the head state, the
//! registers read before written (live-in) and left changed, the memory read and
//! write footprints, the T-states. [`Graph`] is the dynamic execution graph over the
//! window: instances as nodes, control, register and memory dependences as edges.
//! [`analyse`] is the partitioner: from the graph it derives the predictor, the
//! decompositions it allows and the assumptions they rest on, or why the region
//! must stay sequential.

use crate::decode::{self, Units};
use crate::learn::Arm;
use crate::predict::{Prediction, Predictor, Unpredictable, WordPred, UNIT_PAIRS, WORD_NAMES};

/// The units of the words that are unit pairs (AF BC DE HL IX IY), whole.
const UNIT_WORDS: [Units; 6] = [
    decode::A | decode::F,
    decode::B | decode::C,
    decode::D | decode::E,
    decode::H | decode::L,
    decode::IXH | decode::IXL,
    decode::IYH | decode::IYL,
];
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use zbeam_z80::Cpu;

/// One observed region instance.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The state at the head when the instance began.
    pub start: Cpu,
    /// Register units read before written (those not proved dead within the proof window).
    pub live_in: Units,
    /// Register units whose value differs at the end.
    pub changed: Units,
    /// Addresses read (falling through: not written by the instance first), sorted.
    pub reads: Vec<u16>,
    /// Addresses written, sorted.
    pub writes: Vec<u16>,
    /// T-states.
    pub tstates: u64,
    /// Instructions.
    pub instructions: u64,
    /// The PC of the instruction that brought the program back to the head.
    pub branch: u16,
}

/// A dependence edge between two instances of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The later instance follows the earlier one.
    Control(usize, usize),
    /// The later instance reads a unit the earlier one changed.
    Register(usize, usize, Units),
    /// The later instance reads this many addresses the earlier one wrote.
    Memory(usize, usize, usize),
}

/// The dynamic execution graph of a window of instances.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Nodes: the instances.
    pub nodes: Vec<Sample>,
    /// Edges between them.
    pub edges: Vec<Edge>,
}

fn overlap(sorted_a: &[u16], sorted_b: &[u16]) -> usize {
    sorted_b.iter().filter(|x| sorted_a.binary_search(x).is_ok()).count()
}

/// The units whose value differs between two states.
pub fn changed_units(a: &Cpu, b: &Cpu) -> Units {
    let pairs = [
        (a.a, b.a, decode::A),
        (a.b, b.b, decode::B),
        (a.c, b.c, decode::C),
        (a.d, b.d, decode::D),
        (a.e, b.e, decode::E),
        (a.h, b.h, decode::H),
        (a.l, b.l, decode::L),
        ((a.ix >> 8) as u8, (b.ix >> 8) as u8, decode::IXH),
        (a.ix as u8, b.ix as u8, decode::IXL),
        ((a.iy >> 8) as u8, (b.iy >> 8) as u8, decode::IYH),
        (a.iy as u8, b.iy as u8, decode::IYL),
    ];
    let flags = ((a.f ^ b.f) as Units) << decode::F_SHIFT;
    pairs.iter().filter(|(x, y, _)| x != y).fold(flags, |u, (_, _, unit)| u | unit)
}

impl Graph {
    /// Builds the graph of consecutive instances.
    pub fn build(nodes: Vec<Sample>) -> Graph {
        let mut edges = Vec::new();
        for k in 1..nodes.len() {
            edges.push(Edge::Control(k - 1, k));
            let carried = nodes[k - 1].changed & nodes[k].live_in;
            if carried != 0 {
                edges.push(Edge::Register(k - 1, k, carried));
            }
            for i in 0..k {
                let n = overlap(&nodes[i].writes, &nodes[k].reads);
                if n > 0 {
                    edges.push(Edge::Memory(i, k, n));
                }
            }
        }
        Graph { nodes, edges }
    }

    /// Consecutive pairs (k-1, k) with a memory dependence.
    pub fn memory_carried_pairs(&self) -> usize {
        self.edges.iter().filter(|e| matches!(e, Edge::Memory(i, k, _) if *i + 1 == *k)).count()
    }
}

/// The partitioner's verdict on a region.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Parallel decompositions are allowed.
    Parallel {
        /// The start-state predictor.
        prediction: Prediction,
        /// Units left uncertain, which each task must prove dead.
        uncertain: Units,
        /// The allowed arms, [`Arm::Sequential`] first.
        allowed: Vec<Arm>,
        /// What the decompositions assume.
        assumptions: Vec<String>,
        /// Budget of instructions per iteration for a task (generous: it only stops runaway tasks).
        per_iteration_budget: u64,
        /// The loop's backward branch, when every observed instance came back through the same one.
        branch: Option<u16>,
    },
    /// Only sequential execution is allowed, for this reason.
    Sequential(String),
}

/// Chunk sizes offered: the smallest power of two whose tasks reach `min_tstates`, and three doublings.
fn chunks(mean_tstates: u64, min_tstates: u64) -> [u32; 4] {
    let need = min_tstates.div_ceil(mean_tstates.max(1)).clamp(1, 1 << 16) as u32;
    let c = need.next_power_of_two();
    [c, c * 2, c * 4, c * 8]
}

/// Task counts offered for `instances` instances and `slots` task slots: 2..=n, or
/// powers of two beyond 4; then 2n, 4n, ... up to `slots` (waves with more tasks than
/// instances, which a pool that hands a free instance the next task balances).
fn task_counts(instances: usize, slots: usize) -> Vec<u32> {
    let n = instances as u32;
    let mut counts: Vec<u32> = if n <= 4 { (2..=n).collect() } else { (1..=n.ilog2()).map(|s| 1 << s).collect() };
    let mut more = n * 2;
    while n >= 2 && more as usize <= slots {
        counts.push(more);
        more *= 2;
    }
    counts
}

/// Decides what the graph allows. `final_state` is the head state after the last node;
/// waves run on `instances` instances with up to `slots` tasks.
pub fn analyse(graph: &Graph, final_state: &Cpu, instances: usize, slots: usize, min_task_tstates: u64) -> Verdict {
    let mut states: Vec<Cpu> = graph.nodes.iter().map(|n| n.start.clone()).collect();
    states.push(final_state.clone());
    let prediction = match Prediction::learn(&states) {
        Ok(p) => p,
        Err(Unpredictable::TooFewSamples) => return Verdict::Sequential(String::from("too few iterations observed")),
        Err(Unpredictable::Word(i)) => {
            return Verdict::Sequential(format!("{} changes with no constant stride", WORD_NAMES[i]))
        }
    };
    let uncertain = prediction.uncertain();
    let live = graph.nodes.iter().fold(0, |u, n| u | (n.live_in & uncertain));
    if live != 0 {
        let names: Vec<&str> = (0..19).filter(|b| live & (1 << b) != 0).map(|b| decode::NAMES[b as usize]).collect();
        return Verdict::Sequential(format!(
            "register-carried dependence: {} read at the head, no stride",
            names.join(",")
        ));
    }
    let pairs = graph.nodes.len().saturating_sub(1);
    let carried = graph.memory_carried_pairs();
    if pairs > 0 && carried == pairs {
        return Verdict::Sequential(format!("memory-carried dependence on all {pairs} observed iterations"));
    }
    if instances < 2 {
        return Verdict::Sequential(String::from("one instance only"));
    }
    let mean = graph.nodes.iter().map(|n| n.tstates).sum::<u64>() / graph.nodes.len().max(1) as u64;
    let longest = graph.nodes.iter().map(|n| n.instructions).max().unwrap_or(1);
    // "Unchanged" can only validate if every unit that moves is dead at the head.
    let mut moving = 0;
    for (i, w) in prediction.words.iter().enumerate() {
        match *w {
            WordPred::Stride(0) => {}
            WordPred::Stride(_) if i >= UNIT_WORDS.len() => moving = decode::ALL | (1 << 31),
            WordPred::Stride(_) => moving |= UNIT_WORDS[i],
            WordPred::Bytes([hi, lo]) => {
                let (h, l) = UNIT_PAIRS[i];
                moving |= if matches!(hi, Some(d) if d != 0) { h } else { 0 };
                moving |= if matches!(lo, Some(d) if d != 0) { l } else { 0 };
            }
        }
    }
    let live_any = graph.nodes.iter().fold(0, |u, n| u | n.live_in);
    let predictors: &[Predictor] = if moving & (live_any | (1 << 31)) == 0 {
        &[Predictor::Stride, Predictor::Unchanged]
    } else {
        &[Predictor::Stride]
    };
    let mut allowed = alloc::vec![Arm::Sequential];
    for &predictor in predictors {
        for chunk in chunks(mean, min_task_tstates) {
            for tasks in task_counts(instances, slots) {
                allowed.push(Arm::Parallel { predictor, chunk, tasks });
            }
        }
    }
    let mut assumptions = prediction.assumptions();
    assumptions.push(format!("no memory flow between tasks (seen on {carried} of {pairs} observed iteration pairs)"));
    assumptions.push(String::from(
        "system calls end a task (ordering point); port writes are buffered until commit; port reads are the constant 0xFF",
    ));
    let branch = graph.nodes.first().map(|n| n.branch).filter(|b| graph.nodes.iter().all(|n| n.branch == *b));
    let per_iteration_budget = (longest * 16).max(mean / 2) + 1000;
    Verdict::Parallel { prediction, uncertain, allowed, assumptions, per_iteration_budget, branch }
}

/// One observed execution of a call: from the callee's entry (the CALL done) to
/// the return to the instruction after the CALL.
#[derive(Clone, Debug)]
pub struct CallSample {
    /// The state at the callee's entry.
    pub entry: Cpu,
    /// The state when it returned (PC at the return address).
    pub end: Cpu,
    /// T-states of the call.
    pub tstates: u64,
    /// Instructions of the call.
    pub instructions: u64,
}

/// The fields a call's prediction covers, each read and written as a `u16`: the 12
/// bytes that are register units (A F B C D E H L IXH IXL IYH IYL), then the other
/// state a callee could leave changed (WZ, the alternate set, I, IFF1/2, IM). SP and
/// PC are not here: a returning call leaves SP two above its entry and PC at the
/// return address.
const CALL_FIELDS: usize = 21;
/// Names of [`CALL_FIELDS`], for assumptions.
const CALL_FIELD_NAMES: [&str; CALL_FIELDS] = [
    "A", "F", "B", "C", "D", "E", "H", "L", "IXH", "IXL", "IYH", "IYL", "WZ", "AF'", "BC'", "DE'", "HL'", "I", "IFF1",
    "IFF2", "IM",
];
/// Fields below this index are register units a task may prove dead.
const UNIT_FIELDS: usize = 12;
/// The units of those fields (F's bits each on their own).
const FIELD_UNITS: [Units; UNIT_FIELDS] = [
    decode::A,
    decode::F,
    decode::B,
    decode::C,
    decode::D,
    decode::E,
    decode::H,
    decode::L,
    decode::IXH,
    decode::IXL,
    decode::IYH,
    decode::IYL,
];

/// The bits field `i` has: 8 for the bytes, I, IFF1/2 and IM; 16 for the words.
fn field_bits(i: usize) -> u16 {
    if !(UNIT_FIELDS..17).contains(&i) {
        0xFF
    } else {
        0xFFFF
    }
}

fn call_field(c: &Cpu, i: usize) -> u16 {
    match i {
        0 => c.a as u16,
        1 => c.f as u16,
        2 => c.b as u16,
        3 => c.c as u16,
        4 => c.d as u16,
        5 => c.e as u16,
        6 => c.h as u16,
        7 => c.l as u16,
        8 => c.ix >> 8,
        9 => c.ix & 0xFF,
        10 => c.iy >> 8,
        11 => c.iy & 0xFF,
        12 => c.wz,
        13 => c.af_alt,
        14 => c.bc_alt,
        15 => c.de_alt,
        16 => c.hl_alt,
        17 => c.i as u16,
        18 => c.iff1 as u16,
        19 => c.iff2 as u16,
        _ => c.im as u16,
    }
}

fn set_call_field(c: &mut Cpu, i: usize, v: u16) {
    let b = v as u8;
    match i {
        0 => c.a = b,
        1 => c.f = b,
        2 => c.b = b,
        3 => c.c = b,
        4 => c.d = b,
        5 => c.e = b,
        6 => c.h = b,
        7 => c.l = b,
        8 => c.ix = (c.ix & 0x00FF) | (v << 8),
        9 => c.ix = (c.ix & 0xFF00) | (v & 0xFF),
        10 => c.iy = (c.iy & 0x00FF) | (v << 8),
        11 => c.iy = (c.iy & 0xFF00) | (v & 0xFF),
        12 => c.wz = v,
        13 => c.af_alt = v,
        14 => c.bc_alt = v,
        15 => c.de_alt = v,
        16 => c.hl_alt = v,
        17 => c.i = b,
        18 => c.iff1 = v != 0,
        19 => c.iff2 = v != 0,
        _ => c.im = b,
    }
}

/// What a call leaves in each field, as seen over the observed calls: a field equal
/// at entry and return in every call is *kept* (predicted: the entry value); else a
/// field that ended with the same value in every call is *constant* (predicted:
/// that value, in `value`); else bit by bit, kept bits first, then constant bits
/// (F: a callee sets some flags and passes the others through). The remaining bits
/// are uncertain (predicted: the entry value; a task must prove the unit dead or
/// validation compares it). `kept` and `constant` never share a bit.
#[derive(Clone, Debug)]
pub struct CallPrediction {
    kept: [u16; CALL_FIELDS],
    constant: [u16; CALL_FIELDS],
    value: [u16; CALL_FIELDS],
    /// The last observed return state: the latches no field names (the Q latch, R's
    /// bit 7, the interrupt signals) are predicted from it.
    template: Cpu,
}

impl CallPrediction {
    /// The state predicted at the return address `ret` for a call entered with `entry`.
    pub fn predict(&self, entry: &Cpu, ret: u16) -> Cpu {
        let mut c = self.template.clone();
        for i in 0..CALL_FIELDS {
            let e = call_field(entry, i);
            set_call_field(&mut c, i, (self.value[i] & self.constant[i]) | (e & !self.constant[i]));
        }
        c.pc = ret;
        c.sp = entry.sp.wrapping_add(2);
        c.set_r(entry.r());
        c
    }

    /// Register units with uncertain bits: the continuation must prove them dead.
    pub fn uncertain(&self) -> Units {
        let mut u = 0;
        for (i, &unit) in FIELD_UNITS.iter().enumerate() {
            let unc = !(self.kept[i] | self.constant[i]) & 0xFF;
            if unit == decode::F {
                u |= (unc as Units) << decode::F_SHIFT;
            } else if unc != 0 {
                u |= unit;
            }
        }
        u
    }

    fn assumptions(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (mut kept, mut constant, mut loose) = (Vec::new(), Vec::new(), Vec::new());
        for (i, name) in CALL_FIELD_NAMES.iter().enumerate() {
            let all = field_bits(i);
            if self.kept[i] & all == all {
                kept.push(*name);
            } else if self.constant[i] & all == all {
                constant.push(format!("{}={:#x}", name, self.value[i] & all));
            } else if (self.kept[i] | self.constant[i]) & all == all {
                let c = self.constant[i] & all;
                constant.push(format!("{} bits {c:#x} = {:#x}, the others as found", name, self.value[i] & c));
            } else {
                loose.push(*name);
            }
        }
        out.push(format!("the callee leaves {} as it found them", kept.join(",")));
        if !constant.is_empty() {
            out.push(format!("the callee returns {}", constant.join(", ")));
        }
        if !loose.is_empty() {
            out.push(format!("{} dead after the return (written before read), or compared", loose.join(",")));
        }
        out.push(String::from("the call returns to the instruction after it, with SP as before the CALL"));
        out
    }
}

/// The partitioner's verdict on a call site.
#[derive(Clone, Debug)]
pub enum CallVerdict {
    /// The call may run beside its continuation.
    Continue {
        /// The state the call leaves (boxed: it holds a whole CPU state).
        prediction: alloc::boxed::Box<CallPrediction>,
        /// The allowed arms, [`Arm::Sequential`] first.
        allowed: Vec<Arm>,
        /// What the decomposition assumes.
        assumptions: Vec<String>,
        /// Instruction budget of the call's task (generous: it only stops a runaway call).
        call_budget: u64,
        /// The longest observed call, in instructions: the continuation's budget per span.
        span_unit: u64,
    },
    /// The call runs on the sequential path, for this reason.
    Sequential(String),
}

/// Decides what the observed calls of one site allow. Every call must have returned
/// to `ret` (the instruction after the CALL) with SP two above its entry; the calls
/// must be long enough to amortise a task (`min_task_tstates`); the fields other
/// than register units must be kept or constant (a task cannot prove them dead).
pub fn analyse_call(samples: &[CallSample], ret: u16, instances: usize, min_task_tstates: u64) -> CallVerdict {
    if let Some(s) = samples.iter().find(|s| s.end.pc != ret || s.end.sp != s.entry.sp.wrapping_add(2)) {
        return CallVerdict::Sequential(format!(
            "a call stopped at {:04X}h with SP {:04X}h, not at its return address {ret:04X}h with SP {:04X}h (a system call, HALT, a jump out or recursion)",
            s.end.pc,
            s.end.sp,
            s.entry.sp.wrapping_add(2)
        ));
    }
    if samples.len() < 2 {
        return CallVerdict::Sequential(String::from("too few calls observed"));
    }
    if instances < 2 {
        return CallVerdict::Sequential(String::from("one instance only"));
    }
    let mean = samples.iter().map(|s| s.tstates).sum::<u64>() / samples.len() as u64;
    if mean < min_task_tstates {
        return CallVerdict::Sequential(format!(
            "the call runs {mean} T-states, less than a task's minimum of {min_task_tstates}"
        ));
    }
    let mut kept = [0xFFFFu16; CALL_FIELDS];
    let mut constant = [0xFFFFu16; CALL_FIELDS];
    let value: [u16; CALL_FIELDS] = core::array::from_fn(|i| call_field(&samples[0].end, i));
    for s in samples {
        for i in 0..CALL_FIELDS {
            let (e, r) = (call_field(&s.entry, i), call_field(&s.end, i));
            kept[i] &= !(e ^ r);
            constant[i] &= !(value[i] ^ r);
        }
    }
    for i in 0..CALL_FIELDS {
        let all = field_bits(i);
        if kept[i] & all == all {
            constant[i] = 0;
        } else if constant[i] & all == all {
            kept[i] = 0;
        } else {
            constant[i] &= !kept[i];
        }
    }
    let template = samples[samples.len() - 1].end.clone();
    let prediction = alloc::boxed::Box::new(CallPrediction { kept, constant, value, template });
    for i in UNIT_FIELDS..CALL_FIELDS {
        let all = field_bits(i);
        if (kept[i] | constant[i]) & all != all {
            return CallVerdict::Sequential(format!("the call leaves {} with no pattern", CALL_FIELD_NAMES[i]));
        }
    }
    let longest = samples.iter().map(|s| s.instructions).max().unwrap_or(1).max(1);
    let allowed = alloc::vec![Arm::Sequential, Arm::Continue { span: 1 }, Arm::Continue { span: 2 }];
    let mut assumptions = prediction.assumptions();
    assumptions.push(String::from(
        "the continuation reads nothing the call writes; it stops at the next execution of this CALL, a system call or its budget",
    ));
    CallVerdict::Continue { prediction, allowed, assumptions, call_budget: longest * 16 + 1000, span_unit: longest }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call entered with `a` in A, `a ^ 5Ah` in B, 7 in C and `sp` in SP that
    /// returns with A = `a + 1`, B = 0, C as found, F's carry set and its other bits
    /// as found.
    fn sample(a: u8, f: u8, sp: u16, ret: u16) -> CallSample {
        let mut entry = Cpu::new();
        entry.a = a;
        entry.f = f;
        entry.b = a ^ 0x5A;
        entry.c = 7;
        entry.sp = sp;
        let mut end = entry.clone();
        end.a = a.wrapping_add(1);
        end.b = 0;
        end.f = f | 1;
        end.pc = ret;
        end.sp = sp.wrapping_add(2);
        end.wz = ret;
        CallSample { entry, end, tstates: 10_000, instructions: 2_000 }
    }

    #[test]
    fn a_call_is_predicted_bit_by_bit_from_what_it_kept_and_what_it_returned() {
        let samples = [sample(1, 0x40, 0xF000, 0x123), sample(9, 0x00, 0xEFF0, 0x123), sample(3, 0x80, 0xF000, 0x123)];
        let CallVerdict::Continue { prediction, allowed, call_budget, span_unit, .. } =
            analyse_call(&samples, 0x123, 2, 5_000)
        else {
            panic!("a balanced call long enough is allowed");
        };
        assert_eq!(allowed, [Arm::Sequential, Arm::Continue { span: 1 }, Arm::Continue { span: 2 }]);
        assert_eq!((call_budget, span_unit), (2_000 * 16 + 1000, 2_000));
        // Only A has bits neither kept nor constant: it must be proved dead.
        assert_eq!(prediction.uncertain(), decode::A);
        let mut entry = Cpu::new();
        entry.a = 0x77;
        entry.b = 0x33;
        entry.c = 0x44;
        entry.f = 0x90;
        entry.sp = 0xE000;
        let p = prediction.predict(&entry, 0x123);
        // A: bits 3-7 kept, bit 0 always returned 0, bits 1-2 uncertain (as found).
        // B returned 0 whole, C kept whole (7 at every entry and return: kept first).
        // F: bits 1-7 kept, the carry always returned set.
        assert_eq!((p.pc, p.sp, p.a, p.b, p.c, p.f, p.wz), (0x123, 0xE002, 0x76, 0, 0x44, 0x91, 0x123));
    }

    #[test]
    fn a_call_that_does_not_return_balanced_or_is_short_stays_sequential() {
        let mut unbalanced = [sample(1, 0, 0xF000, 0x123), sample(2, 0, 0xF000, 0x123)];
        unbalanced[1].end.sp = 0xF004;
        assert!(matches!(analyse_call(&unbalanced, 0x123, 2, 0), CallVerdict::Sequential(w) if w.contains("SP F004h")));
        let good = [sample(1, 0, 0xF000, 0x123), sample(2, 0, 0xF000, 0x123)];
        assert!(matches!(analyse_call(&good, 0x124, 2, 0), CallVerdict::Sequential(w) if w.contains("0123h")));
        assert!(
            matches!(analyse_call(&good, 0x123, 2, 20_000), CallVerdict::Sequential(w) if w.contains("10000 T-states"))
        );
        assert!(matches!(analyse_call(&good, 0x123, 1, 0), CallVerdict::Sequential(w) if w.contains("one instance")));
        assert!(matches!(analyse_call(&good[..1], 0x123, 2, 0), CallVerdict::Sequential(w) if w.contains("too few")));
        // The alternate set changed with no pattern: a task cannot prove it dead.
        let mut alt = good.clone();
        alt[0].end.bc_alt = 0x1111;
        alt[1].end.bc_alt = 0x2222;
        assert!(matches!(analyse_call(&alt, 0x123, 2, 0), CallVerdict::Sequential(w) if w.contains("BC'")));
        assert!(matches!(analyse_call(&good, 0x123, 2, 0), CallVerdict::Continue { .. }));
    }
}
