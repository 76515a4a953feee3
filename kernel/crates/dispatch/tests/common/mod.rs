//! Shared by the dispatcher's tests: the sequential reference run and the comparison.
#![allow(dead_code)]

use zbeam_dispatch::{run, Config, CostModel, Policy, Report};
use zbeam_z80::cpm::{CpmError, CpmMachine};
use zbeam_z80::Cpu;

/// Every architectural register and latch of a CPU, R as the program reads it.
pub fn arch(c: &Cpu) -> Vec<u16> {
    zbeam_dispatch::reference::registers(c).to_vec()
}

/// The sequential reference: the z80 crate's own CP/M harness.
pub struct Reference {
    pub out: Vec<u8>,
    pub machine: Box<CpmMachine>,
    pub instructions: u64,
    pub tstates: u64,
    pub ok: bool,
}

pub fn reference(image: &[u8], limit: u64) -> Reference {
    let mut machine = Box::new(CpmMachine::new(image).expect("the image fits"));
    let mut out = Vec::new();
    let r = machine.run(limit, &mut |b| out.push(b));
    let (stats, ok) = match r {
        Ok(s) => (s, true),
        Err(CpmError::InstructionLimit { stats })
        | Err(CpmError::Halted { stats, .. })
        | Err(CpmError::UnsupportedBdos { stats, .. }) => (stats, false),
        Err(e) => panic!("{e}"),
    };
    Reference { out, machine, instructions: stats.instructions, tstates: stats.tstates, ok }
}

/// Runs through the dispatcher on `pool`.
pub fn dispatched_on(image: &[u8], cfg: &Config, pool: &mut CostModel, policy: &mut Policy) -> (Vec<u8>, Report) {
    let mut out = Vec::new();
    let report = run(image, cfg, pool, policy, &mut |b| out.push(b));
    (out, report)
}

/// Runs through the dispatcher on a cost-model pool of `instances` (2000 T-states a
/// hand-off, 1 per validated address).
pub fn dispatched(image: &[u8], cfg: &Config, instances: usize, policy: &mut Policy) -> (Vec<u8>, Report) {
    dispatched_on(image, cfg, &mut CostModel::new(instances, 2000, 1), policy)
}

/// A cost-model pool of `instances` (2000 T-states a hand-off, 1 per validated
/// address) with the given smallest task and tasks per instance.
pub fn model(instances: usize, min_task: u64, per_instance: usize) -> CostModel {
    let mut pool = CostModel::new(instances, 2000, 1);
    pool.min_task = min_task;
    pool.per_instance = per_instance;
    pool
}

/// Asserts the dispatched run equals the reference bit for bit.
pub fn assert_same(name: &str, r: &Reference, out: &[u8], d: &Report) {
    assert_eq!(String::from_utf8_lossy(out), String::from_utf8_lossy(&r.out), "{name}: console output");
    assert_eq!(d.instructions, r.instructions, "{name}: instructions");
    assert_eq!(d.tstates, r.tstates, "{name}: T-states");
    assert_eq!(arch(&d.cpu), arch(&r.machine.cpu), "{name}: registers");
    assert!(d.mem[..] == r.machine.bus.mem[..], "{name}: memory differs");
    assert_eq!(d.result.is_ok(), r.ok, "{name}: how it ended ({:?})", d.result);
}

/// Patches zexdoc so it runs only its first `k` tests: the table of test pointers is
/// found after `LD HL,table` followed by `LD A,(HL); INC HL; OR (HL); JP Z` and
/// ended early with a zero word.
pub fn zexdoc_first(image: &[u8], k: usize) -> Vec<u8> {
    let at = |a: usize| image[a - 0x100];
    let start = if at(0x100) == 0xC3 { u16::from_le_bytes([at(0x101), at(0x102)]) as usize } else { 0x100 };
    let table = (start..start + 48)
        .find_map(|a| {
            let w: Vec<u8> = (0..7).map(|i| at(a + i)).collect();
            (w[0] == 0x21 && w[3..] == [0x7E, 0x23, 0xB6, 0xCA]).then(|| u16::from_le_bytes([w[1], w[2]]) as usize)
        })
        .expect("zexdoc's test table");
    let mut img = image.to_vec();
    let end = table + 2 * k - 0x100;
    img[end] = 0;
    img[end + 1] = 0;
    img
}
