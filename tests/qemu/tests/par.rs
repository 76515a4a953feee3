//! The shell's `par` command on 4 vCPUs (kernel/src/runtime/par.rs): a loop-parallel
//! program (mandel) and a sequential one (crc) run through the dispatcher, with its
//! workers as engine processes on the other cores, and once on the reference
//! interpreter. The committed result must equal the sequential one: the command
//! prints a checksum of each final state (registers, memory, console output, counts)
//! and whether they are equal. Bad input gets one `par:` line and the shell answers
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
            ("zbeam> ", "uptime\r"),
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
        .expect("up ");
    // The final states: the committed run's equals the sequential one, for each run.
    let (seq, par) = (checksums(out, "sequential:"), checksums(out, "dispatcher:"));
    assert_eq!(seq.len(), 4, "four runs reported:\n{out}");
    assert_eq!(seq, par, "a committed state differs from the sequential one:\n{out}");
    assert_eq!(out.matches("bit-exact: yes").count(), 4, "every run is bit-exact:\n{out}");
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
