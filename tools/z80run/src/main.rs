//! `z80run FILE.COM [--max-instructions N] [--parallel N [--policy FILE] [--seed S]
//! [--min-task T] [--cpu-clock]] [--scale K]`: runs a CP/M `.COM` program on the zbeam Z80 core through the crate's
//! CP/M harness (`zbeam_z80::cpm`), or with `--parallel N` through the dispatcher
//! (`zbeam_dispatch`) on N instances: this thread and N-1 worker threads.
//!
//! With `--parallel` the console output and the final counts are the sequential
//! run's exactly; stderr then also gets the dispatcher's figures (waves, commits,
//! squashes, per region what it decided). `--policy FILE` loads the learnt policy
//! from FILE if it is there and belongs to this image, and saves it afterwards, so
//! repeated runs improve. `--min-task T` sets the smallest task worth sending to
//! another thread, in T-states (default `threads::DEFAULT_MIN_TASK`, 500,000).
//! `--cpu-clock` times the dispatcher by the threads' CPU time (`threads::Clock::Cpu`):
//! the learner then learns, and the summary gives, what the run takes on idle cores,
//! whatever else the host runs. `--scale K` patches the byte at 0103h, which the programs
//! of `programs/dispatch` read as their repetition count (other programs: do not).
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
use zbeam_dispatch::Pool;
use zbeam_z80::cpm::{self, CpmError, CpmStats};

mod symbos;
mod threads;

const USAGE: &str = "usage: z80run FILE.COM [--max-instructions N] [--parallel N [--policy FILE] [--seed S] \
     [--min-task T] [--cpu-clock]] [--scale K] | z80run --symbos FILE [--put PATH]... [--keep DIR] [ARGS...]";

struct Args {
    file: String,
    max_instructions: u64,
    parallel: Option<usize>,
    policy: Option<String>,
    seed: u64,
    scale: Option<u8>,
    min_task: Option<u64>,
    cpu_clock: bool,
}

fn number<T: std::str::FromStr>(opt: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or(format!("{opt} needs a number"))?;
    v.replace('_', "").parse().map_err(|_| format!("{opt}: not a number: {v:?}"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut file = None;
    let mut max_instructions = u64::MAX;
    let (mut parallel, mut policy, mut seed, mut scale, mut min_task) = (None, None, 1, None, None);
    let mut cpu_clock = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-instructions" => max_instructions = number(&arg, args.next())?,
            "--parallel" => {
                let n: usize = number(&arg, args.next())?;
                if !(1..=64).contains(&n) {
                    return Err(format!("--parallel: {n} is not in 1..=64"));
                }
                parallel = Some(n);
            }
            "--policy" => policy = Some(args.next().ok_or("--policy needs a file")?),
            "--seed" => seed = number(&arg, args.next())?,
            "--min-task" => min_task = Some(number(&arg, args.next())?),
            "--cpu-clock" => cpu_clock = true,
            "--scale" => scale = Some(number::<u8>(&arg, args.next())?.max(1)),
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg:?}\n{USAGE}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("more than one file given\n{USAGE}")),
        }
    }
    if parallel.is_none() && policy.is_some() {
        return Err(format!("--policy needs --parallel\n{USAGE}"));
    }
    Ok(Args { file: file.ok_or(USAGE)?, max_instructions, parallel, policy, seed, scale, min_task, cpu_clock })
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
    let mut image = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("z80run: cannot read {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    if let Some(k) = args.scale {
        if image.len() < 4 {
            eprintln!("z80run: {}: too short for --scale", args.file);
            return ExitCode::from(2);
        }
        image[3] = k;
    }
    if let Some(n) = args.parallel {
        return parallel(&args, &image, n);
    }
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

/// Runs through the dispatcher on `n` instances; prints what `main` prints plus the dispatcher's figures.
fn parallel(args: &Args, image: &[u8], n: usize) -> ExitCode {
    use zbeam_dispatch::{Config, Policy, RunError};
    let mut policy = args
        .policy
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| Policy::from_text(&t, image))
        .unwrap_or_else(|| Policy::new(image));
    let cfg = Config { tasks: n, seed: args.seed, max_instructions: args.max_instructions, ..Config::default() };
    let mut pool =
        if args.cpu_clock { threads::Threads::with_clock(n, threads::Clock::Cpu) } else { threads::Threads::new(n) };
    if let Some(t) = args.min_task {
        pool.min_task = t;
    }
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut out = |b: u8| {
        let _ = lock.write_all(&[b]).and_then(|()| lock.flush());
    };
    let start = Instant::now();
    let clock0 = pool.now();
    let report = zbeam_dispatch::run(image, &cfg, &mut pool, &mut policy, &mut out);
    let secs = start.elapsed().as_secs_f64();
    let clock = pool.now().saturating_sub(clock0);
    summary(CpmStats { instructions: report.instructions, tstates: report.tstates }, secs);
    if args.cpu_clock {
        eprintln!("z80run: on {n} idle cores (threads' CPU time): {:.3} s", clock as f64 / 1e9);
    }
    let s = report.stats;
    eprintln!(
        "z80run: dispatcher on {n} instances: {} waves, {} speculative tasks: {} committed, {} squashed ({} state, {} memory), {} discarded; {:.1}% of T-states speculative",
        s.waves,
        s.speculative,
        s.committed,
        s.squashed_state + s.squashed_memory,
        s.squashed_state,
        s.squashed_memory,
        s.discarded,
        100.0 * s.speculative_tstates as f64 / report.tstates.max(1) as f64
    );
    if s.waves > 0 {
        eprintln!(
            "z80run: waves took {:.1} ms, {:.1} ms of it their longest tasks; the rest (fixed cost, redos, and tasks beyond one per instance) {:.1} us a wave",
            s.wave_time as f64 / 1e6,
            s.wave_longest as f64 / 1e6,
            s.wave_time.saturating_sub(s.wave_longest) as f64 / 1e3 / s.waves as f64
        );
        let per_wave = |t: u64| t as f64 / 1e3 / s.waves as f64;
        eprintln!(
            "z80run: a wave's timeline: {:.1} us preparing its tasks, {:.1} us running them, {:.1} us validating, committing and redoing",
            per_wave(s.wave_setup),
            per_wave(s.wave_run),
            per_wave(s.wave_time.saturating_sub(s.wave_setup + s.wave_run))
        );
    }
    for r in &report.regions {
        let arm = r.main_arm.map_or(String::from("-"), |(a, w)| format!("{a} ({w} waves)"));
        if r.call {
            eprintln!("z80run:   call at {:04X}: {}; {} calls; main choice {arm}", r.head, r.state, r.iterations);
        } else {
            eprintln!("z80run:   region {:04X}: {}; {} iterations; main choice {arm}", r.head, r.state, r.iterations);
        }
        for a in &r.assumptions {
            eprintln!("z80run:     assumes {a}");
        }
    }
    if let Some(f) = &args.policy {
        if let Err(e) = std::fs::write(f, policy.to_text()) {
            eprintln!("z80run: cannot save the policy to {f}: {e}");
        }
    }
    match report.result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let why = match e {
                RunError::ImageTooLarge(len) => format!("image of {len} bytes does not fit"),
                RunError::UnsupportedBdos(f) => format!("unsupported BDOS function {f}"),
                RunError::InstructionLimit => String::from("instruction limit reached"),
                RunError::Halted(pc) => format!("CPU halted at 0x{pc:04X} with nothing to wake it"),
                RunError::NoInput => String::from("waiting for console input"),
                RunError::Cpm(e) => format!("BDOS error {e:?}"),
                RunError::Stopped => String::from("stopped before its end"),
            };
            eprintln!("z80run: {}: {why}", args.file);
            if matches!(e, RunError::ImageTooLarge(_)) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
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
        let a = parse(&["--parallel", "2", "--policy", "p.txt", "--seed", "5", "--scale", "3", "x.com"]).unwrap();
        assert_eq!((a.parallel, a.policy.as_deref(), a.seed, a.scale), (Some(2), Some("p.txt"), 5, Some(3)));
        assert!(parse(&["--parallel", "0", "x.com"]).is_err());
        assert!(parse(&["--policy", "p", "x.com"]).is_err());
    }

    /// The threaded pool gives the sequential run's output, counts and memory.
    #[test]
    fn threads_are_bit_exact() {
        use zbeam_dispatch::{suite, Config, Policy};
        for name in ["vecops", "carried", "crc"] {
            let p = suite::find(name).unwrap();
            let mut m = Box::new(cpm::CpmMachine::new(p.image).unwrap());
            let mut want = Vec::new();
            let stats = m.run(u64::MAX, &mut |b| want.push(b)).unwrap();
            for n in [2, 3] {
                let mut pool = threads::Threads::new(n);
                pool.min_task = 20_000;
                let mut policy = Policy::new(p.image);
                let mut out = Vec::new();
                let cfg = Config { tasks: n, ..Config::default() };
                let r = zbeam_dispatch::run(p.image, &cfg, &mut pool, &mut policy, &mut |b| out.push(b));
                assert_eq!(out, want, "{name}");
                assert_eq!((r.instructions, r.tstates), (stats.instructions, stats.tstates), "{name}");
                assert!(r.mem[..] == m.bus.mem[..], "{name}: memory");
                assert_eq!(
                    (r.cpu.pc, r.cpu.sp, r.cpu.af(), r.cpu.hl(), r.cpu.r()),
                    (m.cpu.pc, m.cpu.sp, m.cpu.af(), m.cpu.hl(), m.cpu.r())
                );
            }
        }
    }
}
