//! `make bench`'s Z80 part: runs a CP/M program (zexdoc by default) on zbeam's Z80 core
//! and on crates.io Z80 cores, side by side under one minimal CP/M harness, and prints
//! a table of instructions, T-states, seconds, MIPS, time relative to the fastest peer
//! and whether the output passed.
//!
//! This is a benchmark, not a test: it asserts nothing and is not part of `cargo test`.
//! Every core runs under the same harness rules (see [`harness`]), so the counts are
//! comparable; where a core's API forces a different BDOS trap, the adapter documents
//! the exact cost and the report accounts for it.
//!
//! ```text
//! zbeam-z80bench [--program PATH] [--only NAME[,NAME...]] [--runs N]
//!                [--max-instructions N] [--markdown]
//! ```
//!
//! Runs are interleaved (run 1 of every core, then run 2 of every core, ...) so that
//! background load on the machine spreads over all cores rather than landing on one.

mod cores;
mod harness;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cores::Core;
use harness::{Outcome, Stop, Verdict};
use report::{thousands, Figures, Row};

const USAGE: &str = "\
usage: zbeam-z80bench [options]

Runs a CP/M .COM program on each Z80 core under the same minimal CP/M harness and
prints instructions, T-states, median seconds, MIPS, time relative to the fastest
peer core, and whether the output passed.

options:
  --program PATH          the .COM to run (default: $ZBEAM_TESTDATA/z80/zexdoc.com)
  --only NAME[,NAME...]   run only these cores (repeatable)
  --runs N                timed runs per core; the median is reported (default 3)
  --max-instructions N    stop each run after N instructions: a quick check whose
                          output is not judged (marked \"partial\")
  --markdown              print the header and table as Markdown
  --list                  list the cores built into this binary and exit
  -h, --help              this text
";

/// The command-line options.
struct Options {
    program: PathBuf,
    only: Vec<String>,
    runs: usize,
    max_instructions: u64,
    markdown: bool,
    list: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        program: zbeam_testdata::root().join("z80/zexdoc.com"),
        only: Vec::new(),
        runs: 3,
        max_instructions: u64::MAX,
        markdown: false,
        list: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{flag} needs a value"));
        match flag {
            "--program" => opts.program = PathBuf::from(value()?),
            "--only" => {
                opts.only.extend(value()?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from))
            }
            "--runs" => {
                opts.runs = parse_count(flag, &value()?)?;
                if opts.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--max-instructions" => opts.max_instructions = parse_count(flag, &value()?)?,
            "--markdown" => opts.markdown = true,
            "--list" => opts.list = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

/// Parses a count, allowing `_` and `,` separators (`--max-instructions 50_000_000`).
fn parse_count<T: std::str::FromStr>(flag: &str, s: &str) -> Result<T, String> {
    let digits: String = s.chars().filter(|c| *c != '_' && *c != ',').collect();
    digits.parse().map_err(|_| format!("{flag}: {s:?} is not a count"))
}

/// Picks the cores `--only` names, in the built-in order.
fn select(all: Vec<Core>, only: &[String]) -> Result<Vec<Core>, String> {
    if only.is_empty() {
        return Ok(all);
    }
    for name in only {
        if !all.iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
            let why = cores::missing().into_iter().find(|(m, _)| m.eq_ignore_ascii_case(name)).map_or_else(
                || {
                    let names: Vec<_> = all.iter().map(|c| c.name).collect();
                    format!("no core named {name:?} (built in: {})", names.join(", "))
                },
                |(m, why)| format!("{m}: {why}"),
            );
            return Err(why);
        }
    }
    Ok(all.into_iter().filter(|c| only.iter().any(|n| c.name.eq_ignore_ascii_case(n))).collect())
}

/// All the runs of one core.
struct Runs {
    secs: Vec<f64>,
    first: Option<Outcome>,
    /// Set when a later run's counts or verdict differ from the first run's.
    inconsistent: Option<String>,
    error: Option<String>,
    failed_runs: usize,
}

impl Runs {
    fn new() -> Self {
        Runs { secs: Vec::new(), first: None, inconsistent: None, error: None, failed_runs: 0 }
    }

    fn record(&mut self, outcome: Outcome, secs: f64) {
        self.secs.push(secs);
        if Verdict::of(&outcome) == Verdict::Fail {
            self.failed_runs += 1;
        }
        match &self.first {
            None => self.first = Some(outcome),
            Some(first) => {
                if (first.instructions, first.tstates, first.stop)
                    != (outcome.instructions, outcome.tstates, outcome.stop)
                    || first.output != outcome.output
                {
                    self.inconsistent = Some(format!(
                        "run {} gave {} instructions / {} T, the first {} / {}",
                        self.secs.len(),
                        thousands(outcome.instructions),
                        thousands(outcome.tstates),
                        thousands(first.instructions),
                        thousands(first.tstates),
                    ));
                }
            }
        }
    }

    fn figures(&self) -> Result<Figures, String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let first = self.first.as_ref().ok_or("no run finished")?;
        let mut sorted = self.secs.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if !sorted.len().is_multiple_of(2) { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 };
        let mut verdict = Verdict::of(first);
        if self.failed_runs > 0 || self.inconsistent.is_some() {
            verdict = match verdict {
                Verdict::Partial if self.failed_runs == 0 => Verdict::Partial,
                _ => Verdict::Fail,
            };
        }
        Ok(Figures {
            instructions: first.instructions,
            tstates: first.tstates,
            median_secs: median,
            min_secs: sorted[0],
            max_secs: sorted[sorted.len() - 1],
            verdict,
        })
    }
}

/// The last `n` non-empty lines of a run's output, for a failure report.
fn tail(output: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n    ")
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let mut opts = match parse_args(&argv[1..]) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zbeam-z80bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if opts.list {
        for c in cores::all() {
            let kind = if c.peer { "peer" } else { "own" };
            println!("{:<11} {:<8} {kind}: {}", c.name, c.version, c.quirks);
        }
        for (name, why) in cores::missing() {
            println!("{name:<11} {:<8} {why}", "-");
        }
        return ExitCode::SUCCESS;
    }
    let cores = match select(cores::all(), &opts.only) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zbeam-z80bench: {e}");
            return ExitCode::from(2);
        }
    };
    // Show /work/shared/... rather than .../tools/testdata/../../../shared/...
    if let Ok(path) = std::fs::canonicalize(&opts.program) {
        opts.program = path;
    }
    let image = match std::fs::read(&opts.program) {
        Ok(i) => i,
        Err(e) => {
            eprintln!(
                "zbeam-z80bench: cannot read {}: {e} (set {} to the shared test-data \
                 directory, or pass --program)",
                opts.program.display(),
                zbeam_testdata::VAR
            );
            return ExitCode::from(2);
        }
    };
    if image.len() > harness::MAX_IMAGE {
        eprintln!(
            "zbeam-z80bench: {} is {} bytes; at most {} fit between 0x0100 and 0xF000",
            opts.program.display(),
            image.len(),
            harness::MAX_IMAGE
        );
        return ExitCode::from(2);
    }

    print_header(&opts, &argv, image.len());

    let mut runs: Vec<Runs> = cores.iter().map(|_| Runs::new()).collect();
    for round in 1..=opts.runs {
        for (core, r) in cores.iter().zip(runs.iter_mut()) {
            if r.error.is_some() {
                continue;
            }
            eprint!("run {round}/{}: {:<11} ", opts.runs, core.name);
            let start = Instant::now();
            let result = (core.run)(&image, opts.max_instructions);
            let secs = start.elapsed().as_secs_f64();
            match result {
                Ok(outcome) => {
                    let verdict = Verdict::of(&outcome);
                    eprintln!(
                        "{secs:8.3} s  {:>15} instructions  {}",
                        thousands(outcome.instructions),
                        verdict.label()
                    );
                    if verdict == Verdict::Fail && r.failed_runs == 0 {
                        eprintln!("    stopped: {:?}; output ends:\n    {}", outcome.stop, tail(&outcome.output, 6));
                    }
                    r.record(outcome, secs);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    r.error = Some(e);
                }
            }
        }
    }

    let rows: Vec<Row> = cores
        .iter()
        .zip(&runs)
        .map(|(c, r)| Row { core: format!("{} {}", c.name, c.version), peer: c.peer, result: r.figures() })
        .collect();
    print_results(&opts, &cores, &runs, &rows);
    ExitCode::SUCCESS
}

fn print_header(opts: &Options, argv: &[String], image_len: usize) {
    let mut items = Vec::new();
    // A wrapper (tools/bench.sh) passes the command the user typed.
    if let Ok(cmd) = std::env::var("ZBEAM_BENCH_COMMAND") {
        items.push(("command", cmd));
    }
    items.push(("binary", report::command_line(argv)));
    items.push(("machine", report::machine()));
    let profile =
        if cfg!(debug_assertions) { "debug build: timings are meaningless, use --release" } else { "release build" };
    items.push(("toolchain", format!("{}, {profile}", env!("Z80BENCH_RUSTC"))));
    items.push(("date", format!("{} (UTC)", report::today())));
    items.push(("program", format!("{} ({image_len} bytes)", opts.program.display())));
    let budget = if opts.max_instructions == u64::MAX {
        "full run".to_string()
    } else {
        format!("at most {} instructions per run (partial: output not judged)", thousands(opts.max_instructions))
    };
    items.push(("runs", format!("{} per core, interleaved; {budget}", opts.runs)));
    items.push((
        "harness",
        "image at 0x0100, PC = 0x0100, SP = 0xF000, RET at 0x0005, word 0xF000 at \
         0x0006; BDOS 2 and 9 served at PC = 0x0005, then the RET executes; the run \
         ends when PC reaches 0x0000"
            .into(),
    ));
    for (k, v) in items {
        if opts.markdown {
            // Commands and paths as code, prose as prose.
            let code = matches!(k, "command" | "binary" | "program");
            let v = if code { format!("`{v}`") } else { v };
            println!("- {k}: {v}");
        } else {
            println!("{k:<10} {v}");
        }
    }
    println!();
}

fn print_results(opts: &Options, cores: &[Core], runs: &[Runs], rows: &[Row]) {
    if opts.markdown {
        print!("{}", report::markdown_table(rows, opts.runs));
    } else {
        print!("{}", report::text_table(rows, opts.runs));
    }
    println!();

    let bullet = if opts.markdown { "- " } else { "" };
    let is_zexdoc = opts.program.file_name().is_some_and(|n| n.eq_ignore_ascii_case("zexdoc.com"));
    println!(
        "{bullet}MIPS = instructions / median seconds / 10^6; \"time ÷ fastest peer\" is the \
         median time over the fastest passing peer's (peers: every core but zbeam's own)."
    );
    for ((core, r), row) in cores.iter().zip(runs).zip(rows) {
        println!("{bullet}{}: {}.", row.core, core.quirks);
        let Some(first) = &r.first else { continue };
        if is_zexdoc && first.stop == Stop::Exited {
            println!(
                "{bullet}{}: {}.",
                row.core,
                report::reference_check(first.instructions, first.tstates, first.bdos_calls, core.trap_overhead)
            );
        }
        if let Some(why) = &r.inconsistent {
            println!("{bullet}{}: runs disagree: {why}.", row.core);
        }
    }
    if is_zexdoc {
        println!(
            "{bullet}reference for a correct core under this harness: {} instructions, {} \
             T-states.",
            thousands(harness::REF_INSTRUCTIONS),
            thousands(harness::REF_TSTATES)
        );
    }
    for (name, why) in cores::missing() {
        println!("{bullet}{name}: {why}.");
    }
}
