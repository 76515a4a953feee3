//! `z80run FILE.COM [--max-instructions N]`: runs a CP/M `.COM` program on the
//! zbeam Z80 core through the crate's CP/M harness (`zbeam_z80::cpm`).
//!
//! `z80run --symbos FILE [--put PATH]... [--keep DIR] [ARGS...]`: runs a SymbOS
//! executable under the SymbOS personality (`zbeam-symbos`, see the `symbos`
//! module here): standard input is the console's keyboard, standard output its screen.
//!
//! What: the program's console output goes to stdout byte for byte, untranslated
//! and flushed as it comes; afterwards one summary line on stderr gives the
//! instructions, T-states, wall-clock seconds and millions of instructions per
//! second. Why: the quickest way to run zexdoc/zexall/prelim by hand and to
//! measure the core's speed. Exit status: 0 when the program warm-boots, 1 when it
//! fails to finish (limit, halt, unsupported BDOS call), 2 for usage or file errors.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;
use zbeam_z80::cpm::{self, CpmError, CpmStats};

mod symbos;

const USAGE: &str =
    "usage: z80run FILE.COM [--max-instructions N] | z80run --symbos FILE [--put PATH]... [--keep DIR] [ARGS...]";

struct Args {
    file: String,
    max_instructions: u64,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut file = None;
    let mut max_instructions = u64::MAX;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-instructions" => {
                let n = args.next().ok_or("--max-instructions needs a number")?;
                max_instructions =
                    n.replace('_', "").parse().map_err(|_| format!("--max-instructions: not a number: {n:?}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg:?}\n{USAGE}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("more than one file given\n{USAGE}")),
        }
    }
    Ok(Args { file: file.ok_or(USAGE)?, max_instructions })
}

fn summary(stats: CpmStats, secs: f64) {
    let mips = if secs > 0.0 { stats.instructions as f64 / secs / 1e6 } else { 0.0 };
    eprintln!("z80run: {} instructions, {} T-states, {secs:.3} s, {mips:.1} MIPS", stats.instructions, stats.tstates);
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().is_some_and(|a| a == "--symbos") {
        return symbos::main(argv.skip(1).collect());
    }
    let args = match parse_args(argv) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let image = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("z80run: cannot read {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let mut machine = match cpm::CpmMachine::new(&image) {
        Ok(m) => Box::new(m),
        Err(e) => {
            eprintln!("z80run: {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut out = |b: u8| {
        // A closed stdout (e.g. piped into `head`) must not stop the measurement.
        let _ = lock.write_all(&[b]).and_then(|()| lock.flush());
    };
    let start = Instant::now();
    let result = machine.run(args.max_instructions, &mut out);
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(stats) => {
            summary(stats, secs);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let stats = match e {
                CpmError::UnsupportedBdos { stats, .. }
                | CpmError::InstructionLimit { stats }
                | CpmError::Halted { stats, .. } => stats,
                CpmError::ImageTooLarge { .. } => CpmStats::default(),
            };
            summary(stats, secs);
            eprintln!("z80run: {}: {e}", args.file);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Args, String> {
        parse_args(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let a = parse(&["x.com"]).unwrap();
        assert_eq!((a.file.as_str(), a.max_instructions), ("x.com", u64::MAX));
        let a = parse(&["--max-instructions", "1_000", "y.com"]).unwrap();
        assert_eq!((a.file.as_str(), a.max_instructions), ("y.com", 1000));
        assert!(parse(&[]).is_err());
        assert!(parse(&["a", "b"]).is_err());
        assert!(parse(&["--max-instructions"]).is_err());
        assert!(parse(&["--max-instructions", "x", "a"]).is_err());
        assert!(parse(&["--bogus", "a"]).is_err());
    }
}
