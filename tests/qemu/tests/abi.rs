//! The Z80 system interface and supervision in QEMU (the in-kernel driver is
//! kernel/src/ktest/abi.rs; the cases are zbeam_images::abi_suite, which the host
//! also runs). Each case prints `case NAME ok` or `case NAME FAIL: why`.

use zbeam_qemu_tests::{run, Machine, Outcome};

fn suite(name: &str) -> Outcome {
    let o = run(&Machine { append: format!("test={name}"), mem: "512M", ..Machine::default() });
    o.expect_code(0).expect(&format!("test {name}: PASS")).expect(", 0 failed");
    o
}

/// Every function with every bad argument, links, monitors, exit signals, names,
/// console input, unknown calls and HALT faults: each case passes on 4 cores.
#[test]
fn every_call_and_bad_argument() {
    let o = suite("abi");
    for case in [
        "self",
        "send-receive",
        "send-bad-input",
        "receive-timeout-truncate-bad-buffer",
        "spawn",
        "yield-sleep-time-write",
        "spawn-opt-link-propagates",
        "spawn-opt-monitor",
        "spawn-opt-bad-input",
        "tags-selective-receive",
        "link-trap-exit-gets-reason",
        "link-propagates-crash",
        "link-normal-exit-ignored-unlink",
        "link-dead-pid-noproc",
        "monitor-down-noproc",
        "demonitor-and-flush",
        "trap-exit-flag",
        "signal-exit-reason",
        "kill-is-untrappable",
        "system-processes-out-of-reach",
        "register-whereis-unregister",
        "console-read",
        "unknown-call-faults",
        "halt-faults",
    ] {
        o.expect(&format!("test abi: case {case} ok"));
    }
    o.expect("probe: WRITE");
}

/// A crashing child is restarted, exceeding the intensity stops the supervisor (its
/// link gets SHUTDOWN), one_for_all, restart types, and a parent's exit stops it.
#[test]
fn supervision() {
    let o = suite("supervise");
    for case in [
        "supervisor-restarts-crashed-child",
        "supervisor-restarts-faulting-child",
        "supervisor-intensity-exceeded-stops-it",
        "supervisor-one-for-all",
        "supervisor-restart-types",
        "supervisor-stops-when-parent-exits",
    ] {
        o.expect(&format!("test supervise: case {case} ok"));
    }
}

/// The same on GICv3 with 8 cores, entered at EL2.
#[test]
fn every_call_on_gicv3_8_cores_el2() {
    let o = run(&Machine {
        append: "test=abi".into(),
        mem: "512M",
        smp: 8,
        gic: 3,
        el2: true,
        cpu: "max",
        ..Machine::default()
    });
    o.expect_code(0).expect("test abi: PASS");
}
