//! Containment in QEMU (issue 12). `test=contain` runs the cases of
//! zbeam_images::contain_suite (the host runs them too) on 4 cores: the lost-timeout
//! repro, the 3-client server loop, the timer ping-pong with 65 s timeouts, and the
//! monitor and name floods, each ending with its processes gone, no timer armed and
//! the heap back at its size before the case.

use zbeam_qemu_tests::{run, Machine};

#[test]
fn containment_cases_end_alive_at_baseline() {
    let o = run(&Machine { append: "test=contain".into(), ..Machine::default() });
    o.expect_code(0).expect("test contain: PASS").expect("test contain: 0 failed; 0 live, 0 timers");
    for case in ["timeout-repro", "server-loop", "timer-pingpong", "monitor-flood", "name-flood"] {
        o.expect(&format!("case {case} ok"));
    }
}

/// The shell (pid 1 with the workload off) survives what once removed it: a program's
/// KILL, LINK-then-exit and SIGNALs all get BAD_PID. Then 8 spinners at high, the
/// most a user can make (max is refused), load every core, and the shell, at max,
/// still answers ps, kill and halt.
#[test]
fn shell_survives_attacks_and_high_priority_hogs() {
    let mut script = vec![
        ("zbeam> ", "spawn cx-attack\r"),
        ("attack: ", "ps\r"),
        ("zbeam> ", "spawn spin max\r"),
        ("zbeam> ", "spawn cx-attack\r"),
    ];
    for _ in 0..8 {
        script.push(("zbeam> ", "spawn spin high\r"));
    }
    script.extend([("zbeam> ", "ps\r"), ("zbeam> ", "kill $!\r"), ("zbeam> ", "ps\r"), ("zbeam> ", "halt\r")]);
    let o = zbeam_qemu_tests::run_interactive(
        &Machine { append: "workload=off".into(), until: Some("halting"), ..Machine::default() },
        &script,
    );
    o.expect("attack: 2222\n")
        .expect("spawn: max priority is reserved for system tasks")
        .expect("killed ")
        .expect("halting");
    assert_eq!(o.output.matches("attack: 2222").count(), 2, "{}", o.output);
    let shell_rows = o.output.lines().filter(|l| l.contains(" shell ") && l.contains(" max ")).count();
    assert_eq!(shell_rows, 3, "the shell is in every ps, at max:\n{}", o.output);
    let hogs = o.output.lines().filter(|l| l.contains(" spin ") && l.contains(" high ")).count();
    assert!(hogs >= 8 + 7, "8 hogs, then 7 after the kill:\n{}", o.output);
}
