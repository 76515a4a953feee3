//! Memory limits and exhaustion in QEMU: mailbox floods end the flooding or flooded
//! process by its memory limit (reason MEMORY) and nothing else; spawning until
//! refusal is refused cleanly; memory comes back. The in-kernel driver is
//! kernel/src/ktest/memory.rs; the shell session shows the same as a user sees it.

use std::time::Duration;
use zbeam_qemu_tests::{run, run_interactive, Machine};

/// The in-kernel test with -m 1G: both floods, spawning until refusal (the table,
/// one slot per 3 KiB of heap, or the memory budget, whichever comes first), a system
/// task still spawned and run, the bytes charged back at the baseline after every
/// process is killed, and, once the driver has trimmed the depot, the heap back
/// within 1% of its size with nothing set aside.
#[test]
fn floods_and_spawning_until_refusal_end_processes_never_the_kernel() {
    let o = run(&Machine {
        mem: "1G",
        append: "test=memory".into(),
        timeout: Duration::from_secs(240),
        ..Machine::default()
    });
    o.expect("test memory: a process flooding itself ends with reason MEMORY: ok")
        .expect("test memory: the flooded process ends with reason MEMORY: ok")
        .expect("test memory: the flooder then exits with code 2 (BAD_PID): ok")
        .expect("test memory: spawning until refusal is refused cleanly: ok")
        .expect("test memory: a system task can still be spawned when processes are refused: ok")
        .expect("test memory: ... and runs: ok")
        .expect("test memory: memory charged is back at its baseline: ok")
        .expect("test memory: the heap is back within 1% of its size, everything included: ok")
        .expect("test memory: PASS")
        .expect_code(0);
}

/// The KiB charged to processes, from the `mem` answers in order.
fn charged(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("processes: "))
        .filter_map(|l| l.split(" KiB charged").next()?.parse().ok())
        .collect()
}

/// As a user at the shell (no workload): `flood` alone floods itself and ends with
/// reason MEMORY; `sink` then `flood` ends the sink with reason MEMORY and the flooder
/// with code 2; the shell answers throughout and `mem` shows the same charge before
/// and after.
#[test]
fn shell_survives_both_floods_and_memory_returns() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), timeout: Duration::from_secs(120), ..Machine::default() },
        &[
            ("zbeam> ", "mem\r"),
            ("zbeam> ", "trace on\r"),
            ("zbeam> ", "spawn flood\r"),
            // `fg` waits for a process still running and then says how it ended; one
            // already gone, it says so at once, with how it ended.
            ("zbeam> ", "fg $!\r"),
            ("exited: ", "spawn sink\r"),
            ("zbeam> ", "spawn flood\r"),
            ("zbeam> ", "fg $!\r"),
            ("exited: ", "trace off\r"),
            ("zbeam> ", "trace dump\r"),
            ("trace end", "mem\r"),
            ("zbeam> ", "uptime\r"),
            ("up ", "halt\r"),
        ],
    );
    let out = &o.output;
    let ended: Vec<&str> = out.lines().filter(|l| l.contains("[pid ")).collect();
    assert!(ended.iter().any(|l| l.contains("exited: memory]")), "the self-flood's end:\n{out}");
    assert!(ended.iter().any(|l| l.contains("exited: code:2]")), "the flooder's end:\n{out}");
    // The trace shows the sink spawned and ending with reason MEMORY.
    // Trace lines: `<time> <core> spawn <pid> <name> <core>`, `<time> <core> exit <pid> <why>`.
    let sink = out
        .lines()
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 6 && w[2] == "spawn" && w[4] == "sink").then(|| w[3].to_string())
        })
        .unwrap_or_else(|| panic!("no spawn of sink in the trace:\n{out}"));
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()[..].ends_with(&["exit", &sink, "memory"])),
        "sink (pid {sink}) ending with reason MEMORY in the trace:\n{out}"
    );
    let c = charged(out);
    assert_eq!(c.len(), 2, "two mem answers:\n{out}");
    assert_eq!(c[0], c[1], "memory charged to processes returns to its baseline:\n{out}");
    o.expect("up ").expect("halting");
}
