//! The minimal CP/M harness every core runs under, so that their counts compare.
//!
//! The rules, identical for every core:
//! - the `.COM` image is loaded at 0x0100 and execution starts there with SP = 0xF000;
//! - 0x0005 holds a RET and the word at 0x0006 is 0xF000 (the top of the TPA, which
//!   zexdoc reads to place its stack); 0x0000 holds a HALT that is never executed;
//! - when PC reaches 0x0005 the harness serves BDOS function 2 (print the character in
//!   E) and 9 (print the `$`-terminated string at DE); the RET at 0x0005 then executes as
//!   an ordinary instruction and is counted;
//! - the run ends when PC reaches 0x0000, before anything executes there.
//!
//! Under these rules a correct core executes [`REF_INSTRUCTIONS`] instructions taking
//! [`REF_TSTATES`] T-states for zexdoc. A core whose registers the harness cannot read
//! traps BDOS through ports instead (see `cores::z80`), which costs a known, documented
//! number of extra instructions per call.

/// Where CP/M loads a `.COM` file and starts it.
pub const LOAD: u16 = 0x0100;
/// The initial SP and the TPA top stored at 0x0006.
pub const STACK: u16 = 0xF000;
/// The BDOS entry point.
pub const BDOS: u16 = 0x0005;
/// Warm boot: reaching it ends the run.
pub const EXIT: u16 = 0x0000;

/// Instructions a correct core executes for zexdoc under this harness.
pub const REF_INSTRUCTIONS: u64 = 5_764_169_610;
/// T-states a correct core takes for zexdoc under this harness.
pub const REF_TSTATES: u64 = 46_734_977_142;

const HALT: u8 = 0x76;
const RET: u8 = 0xC9;

/// The largest image that fits between [`LOAD`] and [`STACK`].
pub const MAX_IMAGE: usize = (STACK - LOAD) as usize;

/// A 64 KiB address space, as every adapter holds it.
pub type Memory = Box<[u8; 0x1_0000]>;

/// The harness memory for `image`: the image at [`LOAD`], the RET at [`BDOS`], the TPA
/// top at 0x0006 and a HALT at [`EXIT`].
///
/// # Panics
/// If `image` is longer than [`MAX_IMAGE`]; `main` rejects such files first.
pub fn memory(image: &[u8]) -> Memory {
    assert!(image.len() <= MAX_IMAGE, "image too large for the TPA");
    let mut mem: Memory = vec![0u8; 0x1_0000].into_boxed_slice().try_into().expect("exactly 64 KiB");
    let load = usize::from(LOAD);
    mem[load..load + image.len()].copy_from_slice(image);
    mem[usize::from(EXIT)] = HALT;
    mem[usize::from(BDOS)] = RET;
    let [lo, hi] = STACK.to_le_bytes();
    mem[0x0006] = lo;
    mem[0x0007] = hi;
    mem
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// PC reached 0x0000: the program finished.
    Exited,
    /// The `--max-instructions` budget ran out first.
    Budget,
    /// The core halted (at this PC) somewhere other than the exit.
    Halted(u16),
}

/// What one run of one core produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Instructions executed (prefix bytes are part of their instruction).
    pub instructions: u64,
    /// T-states, as the core reports or as its bus callbacks add them up.
    pub tstates: u64,
    /// Why the run stopped.
    pub stop: Stop,
    /// Everything the program printed through BDOS.
    pub output: Vec<u8>,
    /// How many BDOS calls the harness served.
    pub bdos_calls: u64,
}

/// The console behind BDOS functions 2 and 9. Output is buffered, never printed
/// during a run, so terminal speed does not enter the timings.
#[derive(Default)]
pub struct Console {
    /// What the program printed.
    pub output: Vec<u8>,
    /// BDOS calls served (all functions, including ones ignored).
    pub calls: u64,
}

impl Console {
    /// Serves one BDOS call: `func` is register C, `de` register pair DE, `mem` reads
    /// the core's memory. Functions other than 2 and 9 are counted and ignored.
    pub fn bdos(&mut self, func: u8, de: u16, mem: &[u8; 0x1_0000]) {
        self.calls += 1;
        match func {
            2 => self.output.push(de as u8),
            9 => {
                let mut addr = de;
                // A string without '$' would wrap around memory forever: stop after 64 KiB.
                for _ in 0..0x1_0000 {
                    let byte = mem[usize::from(addr)];
                    if byte == b'$' {
                        break;
                    }
                    self.output.push(byte);
                    addr = addr.wrapping_add(1);
                }
            }
            _ => {}
        }
    }

    /// Packs the run's results.
    pub fn finish(self, instructions: u64, tstates: u64, stop: Stop) -> Outcome {
        Outcome { instructions, tstates, stop, output: self.output, bdos_calls: self.calls }
    }
}

/// The verdict on a run's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exited, no "ERROR" in the output, and it ends with "Tests complete".
    Pass,
    /// Exited or halted with output that fails the check above.
    Fail,
    /// Stopped by `--max-instructions`: the output was not checked.
    Partial,
}

impl Verdict {
    /// Judges `outcome` by the rule above.
    pub fn of(outcome: &Outcome) -> Verdict {
        if outcome.stop == Stop::Budget {
            return Verdict::Partial;
        }
        let text = String::from_utf8_lossy(&outcome.output);
        let ok = outcome.stop == Stop::Exited && !text.contains("ERROR") && text.trim_end().ends_with("Tests complete");
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }

    /// The word printed in the table.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Partial => "partial",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_layout_follows_the_rules() {
        let mem = memory(&[0xAA, 0xBB]);
        assert_eq!(mem[0x0100], 0xAA);
        assert_eq!(mem[0x0101], 0xBB);
        assert_eq!(mem[0x0005], RET);
        assert_eq!(u16::from_le_bytes([mem[6], mem[7]]), STACK);
        assert_eq!(mem[0x0000], HALT);
    }

    #[test]
    fn bdos_prints_chars_and_dollar_strings() {
        let mut mem = memory(&[]);
        mem[0x0200..0x0204].copy_from_slice(b"ok\r$");
        let mut con = Console::default();
        con.bdos(9, 0x0200, &mem);
        con.bdos(2, u16::from(b'!'), &mem);
        con.bdos(11, 0, &mem);
        assert_eq!(con.output, b"ok\r!");
        assert_eq!(con.calls, 3);
    }

    #[test]
    fn verdicts() {
        let run = |text: &str, stop| Outcome {
            instructions: 0,
            tstates: 0,
            stop,
            output: text.as_bytes().to_vec(),
            bdos_calls: 0,
        };
        let pass = run("x  OK\r\nTests complete\r\n", Stop::Exited);
        assert_eq!(Verdict::of(&pass), Verdict::Pass);
        let err = run("x  ERROR\r\nTests complete", Stop::Exited);
        assert_eq!(Verdict::of(&err), Verdict::Fail);
        let short = run("x  OK", Stop::Budget);
        assert_eq!(Verdict::of(&short), Verdict::Partial);
        let halted = run("Tests complete", Stop::Halted(0x1234));
        assert_eq!(Verdict::of(&halted), Verdict::Fail);
    }
}
