//! Start-state prediction for speculative tasks: induction registers by stride,
//! the rest unchanged or left uncertain (to be proved dead by the task).
//!
//! What: a [`Prediction`] is learnt from the states a region's head saw on
//! consecutive iterations. Each 16-bit word of the register file (AF BC DE HL IX IY
//! SP WZ AF' BC' DE' HL', and I) either has one constant stride, or, for the six
//! pairs made of register units, each byte has its own stride or is *uncertain*.
//! Uncertain units are not predicted: a task must prove them dead (written before
//! read) or validation compares them and, most likely, squashes. A word that is
//! not a unit pair and has no stride (SP, WZ, an alternate pair, I) makes the
//! region unpredictable.

use crate::decode::{self, Units};
use alloc::vec::Vec;
use zbeam_z80::Cpu;

/// Number of predicted words.
pub const WORDS: usize = 13;
/// Names of the words, for assumptions and reports.
pub const WORD_NAMES: [&str; WORDS] = ["AF", "BC", "DE", "HL", "IX", "IY", "SP", "WZ", "AF'", "BC'", "DE'", "HL'", "I"];

/// The register units (high byte, low byte) of the words that are unit pairs.
pub const UNIT_PAIRS: [(Units, Units); 6] = [
    (decode::A, decode::F),
    (decode::B, decode::C),
    (decode::D, decode::E),
    (decode::H, decode::L),
    (decode::IXH, decode::IXL),
    (decode::IYH, decode::IYL),
];

/// Reads word `i` of the register file.
pub fn word(cpu: &Cpu, i: usize) -> u16 {
    match i {
        0 => cpu.af(),
        1 => cpu.bc(),
        2 => cpu.de(),
        3 => cpu.hl(),
        4 => cpu.ix,
        5 => cpu.iy,
        6 => cpu.sp,
        7 => cpu.wz,
        8 => cpu.af_alt,
        9 => cpu.bc_alt,
        10 => cpu.de_alt,
        11 => cpu.hl_alt,
        _ => cpu.i as u16,
    }
}

/// Writes word `i` of the register file.
pub fn set_word(cpu: &mut Cpu, i: usize, v: u16) {
    match i {
        0 => cpu.set_af(v),
        1 => cpu.set_bc(v),
        2 => cpu.set_de(v),
        3 => cpu.set_hl(v),
        4 => cpu.ix = v,
        5 => cpu.iy = v,
        6 => cpu.sp = v,
        7 => cpu.wz = v,
        8 => cpu.af_alt = v,
        9 => cpu.bc_alt = v,
        10 => cpu.de_alt = v,
        11 => cpu.hl_alt = v,
        _ => cpu.i = v as u8,
    }
}

/// How one word is predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordPred {
    /// The whole word moves by this much per iteration (0: unchanged).
    Stride(u16),
    /// Each byte (high, low) moves by its own stride, or is uncertain (`None`).
    Bytes([Option<u8>; 2]),
}

/// Which predictor a decomposition uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Predictor {
    /// Every word by its observed stride.
    Stride,
    /// Every word as it is now (stride 0), uncertain units as for `Stride`.
    Unchanged,
}

impl Predictor {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Predictor::Stride => "stride",
            Predictor::Unchanged => "unchanged",
        }
    }
}

/// A region's start-state predictor, learnt from consecutive head states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// Per word.
    pub words: [WordPred; WORDS],
    /// R's low seven bits per iteration, if constant (only used when R is compared).
    pub r_stride: Option<u8>,
}

/// Why no prediction could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpredictable {
    /// Fewer than three states.
    TooFewSamples,
    /// This word (a [`WORD_NAMES`] index) changes with no constant stride and is not made of units.
    Word(usize),
}

fn constant<T: Copy + PartialEq>(mut deltas: impl Iterator<Item = T>) -> Option<T> {
    let first = deltas.next()?;
    deltas.all(|d| d == first).then_some(first)
}

impl Prediction {
    /// Learns from head states of consecutive iterations.
    pub fn learn(states: &[Cpu]) -> Result<Prediction, Unpredictable> {
        if states.len() < 3 {
            return Err(Unpredictable::TooFewSamples);
        }
        let mut words = [WordPred::Stride(0); WORDS];
        for (i, w) in words.iter_mut().enumerate() {
            let deltas = states.windows(2).map(|p| word(&p[1], i).wrapping_sub(word(&p[0], i)));
            if let Some(d) = constant(deltas) {
                *w = WordPred::Stride(d);
            } else if i < UNIT_PAIRS.len() {
                let byte = |shift: u32| {
                    constant(
                        states
                            .windows(2)
                            .map(|p| ((word(&p[1], i) >> shift) as u8).wrapping_sub((word(&p[0], i) >> shift) as u8)),
                    )
                };
                *w = WordPred::Bytes([byte(8), byte(0)]);
            } else {
                return Err(Unpredictable::Word(i));
            }
        }
        let r_stride = constant(states.windows(2).map(|p| p[1].r().wrapping_sub(p[0].r()) & 0x7F));
        Ok(Prediction { words, r_stride })
    }

    /// The units this prediction leaves uncertain.
    pub fn uncertain(&self) -> Units {
        let mut u = 0;
        for (i, w) in self.words.iter().enumerate().take(UNIT_PAIRS.len()) {
            if let WordPred::Bytes([hi, lo]) = w {
                if hi.is_none() {
                    u |= UNIT_PAIRS[i].0;
                }
                if lo.is_none() {
                    u |= UNIT_PAIRS[i].1;
                }
            }
        }
        u
    }

    /// The state `k` iterations after `now`, by `predictor`.
    pub fn predict(&self, now: &Cpu, k: u32, predictor: Predictor) -> Cpu {
        let mut cpu = now.clone();
        if predictor == Predictor::Unchanged {
            return cpu;
        }
        for (i, w) in self.words.iter().enumerate() {
            let v = word(now, i);
            let p = match *w {
                WordPred::Stride(d) => v.wrapping_add(d.wrapping_mul(k as u16)),
                WordPred::Bytes([hi, lo]) => {
                    let [h, l] = v.to_be_bytes();
                    let step = |b: u8, s: Option<u8>| s.map_or(b, |s| b.wrapping_add(s.wrapping_mul(k as u8)));
                    u16::from_be_bytes([step(h, hi), step(l, lo)])
                }
            };
            set_word(&mut cpu, i, p);
        }
        if let Some(s) = self.r_stride {
            let r = now.r();
            cpu.set_r((r & 0x80) | (r.wrapping_add(s.wrapping_mul(k as u8)) & 0x7F));
        }
        cpu
    }

    /// The assumptions this prediction rests on, one line each.
    pub fn assumptions(&self) -> Vec<alloc::string::String> {
        use alloc::format;
        let mut out = Vec::new();
        for (i, w) in self.words.iter().enumerate() {
            match *w {
                WordPred::Stride(0) => {}
                WordPred::Stride(d) => out.push(format!("{} += {:#06x} per iteration", WORD_NAMES[i], d)),
                WordPred::Bytes(b) => {
                    for (half, s) in b.iter().enumerate() {
                        let unit = if half == 0 { UNIT_PAIRS[i].0 } else { UNIT_PAIRS[i].1 };
                        let name = if unit == decode::F { "F" } else { decode::NAMES[unit.trailing_zeros() as usize] };
                        match s {
                            Some(0) => {}
                            Some(d) => out.push(format!("{name} += {d:#04x} per iteration")),
                            None => out.push(format!("{name} dead at the head (written before read)")),
                        }
                    }
                }
            }
        }
        out.push(alloc::string::String::from("every other register unchanged at the head"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hl: u16, b: u8, a: u8) -> Cpu {
        let mut c = Cpu::new();
        c.set_hl(hl);
        c.b = b;
        c.a = a;
        c.c = 7;
        c
    }

    #[test]
    fn strides_bytes_and_uncertain_units() {
        let states = [at(0x4000, 10, 3), at(0x4010, 9, 99), at(0x4020, 8, 1), at(0x4030, 7, 50)];
        let p = Prediction::learn(&states).unwrap();
        assert_eq!(p.words[3], WordPred::Stride(0x10));
        assert_eq!(p.words[1], WordPred::Stride(0xFF00)); // BC: B - 1, C unchanged
        assert_eq!(p.words[0], WordPred::Bytes([None, Some(0)]));
        assert_eq!(p.uncertain(), decode::A);
        let next = p.predict(&states[3], 2, Predictor::Stride);
        assert_eq!((next.hl(), next.b, next.c), (0x4050, 5, 7));
        assert_eq!(p.predict(&states[3], 2, Predictor::Unchanged), states[3]);
        let mut bad = states.clone();
        bad[2].sp = 0x1234;
        assert_eq!(Prediction::learn(&bad), Err(Unpredictable::Word(6)));
        assert_eq!(Prediction::learn(&states[..2]), Err(Unpredictable::TooFewSamples));
    }
}
