//! The observer's record of one region and the partitioner's verdict on it.
//!
//! What: a region is a program counter the program keeps coming back to by a
//! backward transfer (a loop head, or the return point of a call made in a loop); an
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
