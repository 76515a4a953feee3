//! The shell's `par` command on 4 vCPUs (kernel/src/runtime/par.rs): a loop-parallel
//! program (mandel) and a sequential one (crc) run through the dispatcher, with its
//! workers as engine processes on the other cores, and once on the reference
//! interpreter. The committed result must equal the sequential one: the command
//! prints a checksum of each final state (registers, memory, console output, counts)
//! and whether they are equal. A CP/M file program runs on the CP/M machine. Bad input gets one `par:` line and the shell answers
//! the next command. Speedup is printed, never checked: QEMU runs the 4 vCPUs on a
//! shared 2-core host.

use std::time::Duration;
use zbeam_qemu_tests::{run_interactive, Machine};

/// The checksums on the report lines of `which` run ("sequential:" or "dispatcher:"), in order.
fn checksums<'a>(out: &'a str, which: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.trim_start().starts_with(which))
        .map(|l| l.rsplit("checksum ").next().expect("a checksum").trim())
        .collect()
}

#[test]
fn par_runs_a_program_bit_exact_through_workers_on_four_cores() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), timeout: Duration::from_secs(240), ..Machine::default() },
        &[
            ("zbeam> ", "par mandel 4\r"),
            ("tasks per core:", "par crc 4\r"),
            ("tasks per core:", "par mandel\r"),
            ("tasks per core:", "par nosuch\r"),
            ("zbeam> ", "par crc 0\r"),
            ("zbeam> ", "par crc 9\r"),
            ("zbeam> ", "par spin 2 1\r"),
            ("tasks per core:", "par crc 2 x\r"),
            ("zbeam> ", "par cpm-random 4\r"),
            ("tasks per core:", "uptime\r"),
            ("up ", "halt\r"),
        ],
    );
    let out = &o.output;
    o.expect_code(0)
        .expect("par mandel: 4 instance(s): the dispatcher on core0, 3 worker(s) on cores 1,2,3")
        .expect("output: mandel 5A7B")
        .expect("par crc: 4 instance(s)")
        .expect("output: crc 22DB")
        .expect("par: no image 'nosuch' (images: ")
        .expect("par: cores must be at least 1")
        .expect("par: 9 cores asked, the machine has 4")
        .expect("par spin: 2 instance(s)")
        .expect("stopped at its instruction budget (it did not end)")
        .expect("par: budget 'x': millions of instructions")
        // A CP/M file program on the CP/M machine, its file on the in-memory disk.
        .expect("; the CP/M machine\n")
        .expect("output: wrote 7 records | size 1001 | checksum C0C0 |")
        .expect("up ");
    // The final states: the committed run's equals the sequential one, for each run.
    let (seq, par) = (checksums(out, "sequential:"), checksums(out, "dispatcher:"));
    assert_eq!(seq.len(), 5, "five runs reported:\n{out}");
    assert_eq!(seq, par, "a committed state differs from the sequential one:\n{out}");
    assert_eq!(out.matches("bit-exact: yes").count(), 5, "every run is bit-exact:\n{out}");
    assert!(!out.contains("bit-exact: NO"), "{out}");
    // mandel's loops were run in waves and workers committed speculative tasks.
    let mandel = &out[out.find("par mandel: 4").expect("the mandel report")..];
    let waves = mandel.lines().find(|l| l.trim_start().starts_with("waves ")).expect("a waves line");
    assert!(!waves.starts_with("  waves 0:"), "mandel ran no waves: {waves}");
    assert!(!waves.contains(" 0 committed"), "no speculative task of mandel committed: {waves}");
    assert!(mandel.contains("region ") && mandel.contains("chosen "), "the learnt choices are reported:\n{mandel}");
    // The second mandel run starts from the policy the first one learnt.
    assert!(out.contains("(run 2 of this image's policy)"), "{out}");
}

/// The in-kernel figures for BENCHMARKS.md (not part of `make test`): every suite
/// program `PAR_RUNS` times (default 3) on 4 vCPUs in one boot, so the policy learnt
/// by one run is used by the next; prints a Markdown table of the sequential and
/// dispatched wall times (guest counter), the speedup per run and the median, and
/// whether every run was bit-exact. Run with
/// `cargo test -p zbeam-qemu-tests --test par -- --ignored --nocapture`.
#[test]
#[ignore]
fn par_figures() {
    const PROGRAMS: [&str; 10] =
        ["blocksum", "carried", "crc", "histogram", "listwalk", "mandel", "matmul", "nested", "sieve", "vecops"];
    let runs: usize = std::env::var("PAR_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let cmds: Vec<String> = PROGRAMS.iter().flat_map(|p| std::iter::repeat_n(format!("par {p} 4\r"), runs)).collect();
    let mut script = vec![("zbeam> ", cmds[0].as_str())];
    script.extend(cmds[1..].iter().map(|c| ("tasks per core:", c.as_str())));
    script.push(("tasks per core:", "halt\r"));
    let timeout = Duration::from_secs(120 + 60 * runs as u64);
    let o = run_interactive(&Machine { append: "workload=off".into(), timeout, ..Machine::default() }, &script);
    let ms = |line: &str| -> f64 {
        let at = line.find(" ms,").expect("a time");
        line[..at].rsplit(' ').next().expect("a number").parse().expect("milliseconds")
    };
    let seq: Vec<f64> = o.output.lines().filter(|l| l.trim_start().starts_with("sequential:")).map(ms).collect();
    let par: Vec<f64> = o.output.lines().filter(|l| l.trim_start().starts_with("dispatcher:")).map(ms).collect();
    let exact: Vec<bool> =
        o.output.lines().filter(|l| l.trim_start().starts_with("bit-exact:")).map(|l| l.contains("yes")).collect();
    assert_eq!(seq.len(), PROGRAMS.len() * runs, "every run reported:\n{}", o.output);
    println!(
        "| program | sequential ms (median) | dispatcher ms (median) | speedup per run | median speedup | exact |"
    );
    println!("|---|---:|---:|---|---:|---|");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, p) in PROGRAMS.iter().enumerate() {
        let r = i * runs..(i + 1) * runs;
        let speedups: Vec<f64> = r.clone().map(|k| seq[k] / par[k].max(1.0)).collect();
        let per_run: Vec<String> = speedups.iter().map(|s| format!("{s:.2}x")).collect();
        println!(
            "| {p} | {:.0} | {:.0} | {} | {:.2}x | {} |",
            median(seq[r.clone()].to_vec()),
            median(par[r.clone()].to_vec()),
            per_run.join(" "),
            median(speedups),
            if exact[r].iter().all(|&e| e) { "yes" } else { "NO" }
        );
    }
}
