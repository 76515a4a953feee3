//! Boot and bring-up tests: the same Image on every QEMU configuration the kernel
//! supports, SMP with timer ticks and IPIs, the fault and panic paths, bad input.

use std::time::Duration;
use zbeam_qemu_tests::{run, run_interactive, Machine};

fn smp_test(m: Machine) -> zbeam_qemu_tests::Outcome {
    let n = m.smp;
    let o = run(&Machine { append: "test=smp".into(), ..m });
    o.expect_code(0)
        .expect(&format!("cores online: {n} of {n}"))
        .expect(&format!("timer tick observed on all {n} cores"))
        .expect(&format!("IPI round trip ok for all {} ordered pairs", n * (n - 1)))
        .expect("test smp: PASS");
    for c in 0..n {
        o.expect(&format!("core {c} online: mpidr {c:#x}"));
    }
    o
}

/// GICv2, 4 cores, entered at EL1, PSCI over HVC.
#[test]
fn gicv2_smp4_el1() {
    let o = smp_test(Machine::default());
    o.expect("entry       EL1").expect("irq         GICv2 (GICD 0x8000000, GICC 0x8010000)").expect("psci        Hvc");
}

/// GICv3 with 8 cores: redistributor discovery, ICC system registers, SGI1R routing.
#[test]
fn gicv3_smp8() {
    let o = smp_test(Machine { smp: 8, gic: 3, ..Machine::default() });
    o.expect("irq         GICv3 (GICD 0x8000000, GICR 0x80a0000");
}

/// virtualization=on on a core without VHE: EL2 entry, drop to EL1, PSCI over SMC.
#[test]
fn el2_without_vhe_smc() {
    let o = smp_test(Machine { el2: true, ..Machine::default() });
    o.expect("entry       EL2 (no VHE) -> EL1").expect("psci        Smc");
}

/// virtualization=on on a core with VHE: E2H = 1 (as Apple forces), *_EL12 path.
#[test]
fn el2_with_e2h_gicv3_smp8() {
    let o = smp_test(Machine { el2: true, cpu: "max", gic: 3, smp: 8, ..Machine::default() });
    o.expect("entry       EL2 (VHE, E2H=1) -> EL1").expect("psci        Smc");
}

/// The heterogeneous test tree: classes and clusters from capacity-dmips-mhz and cpu-map.
#[test]
fn hetero_dtb_classes() {
    let Some(dtb) = zbeam_testdata::require("dtb/qemu-virt-hetero-smp4.dtb") else { return };
    let o = smp_test(Machine { dtb: Some(dtb), ..Machine::default() });
    o.expect("classes PPEE")
        .expect("core 0 online: mpidr 0x0, class P, capacity 1024, cluster 0")
        .expect("core 1 online: mpidr 0x1, class P, capacity 1024, cluster 0")
        .expect("core 2 online: mpidr 0x2, class E, capacity 512, cluster 1")
        .expect("core 3 online: mpidr 0x3, class E, capacity 512, cluster 1");
}

/// A deliberate data abort: the report names the fault and the address, the other
/// cores are stopped, and QEMU exits with the failure code.
#[test]
fn data_abort_is_reported() {
    let o = run(&Machine { append: "test=abort".into(), ..Machine::default() });
    o.expect_code(1)
        .expect("unexpected Sync exception from current EL, SPx on core 0")
        .expect("Data Abort (same EL) (EC 0x25), ESR 0x96000004")
        .expect("translation fault at level 0 (read), FAR 0x0000ffff00000000")
        .expect("ELR 0x")
        .expect("x30 0x")
        .expect("*** stopped 3 other cores");
}

/// A deliberate panic: location and message printed, other cores stopped, failure exit.
#[test]
fn panic_stops_all_cores() {
    let o = run(&Machine { append: "test=panic".into(), ..Machine::default() });
    o.expect_code(1)
        .expect("*** kernel panic on core 0 at kernel/src/ktest/mod.rs")
        .expect("deliberate test panic")
        .expect("*** stopped 3 other cores");
}

/// An unknown test name on the command line is an error, not a hang.
#[test]
fn unknown_test_name_is_rejected() {
    let o = run(&Machine { append: "test=nonsense".into(), timeout: Duration::from_secs(60), ..Machine::default() });
    o.expect_code(4).expect("unknown test 'nonsense'");
}

/// The console shell as a user meets it: help, a bad command, line editing, spawning
/// a CP/M program and a spinner, ps, sched, kill, halt (without the default workload,
/// so pids are known; `tests/shell.rs` covers the shell with it).
#[test]
fn shell_answers_and_halts() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), ..Machine::default() },
        &[
            ("zbeam> ", "help\r"),
            ("zbeam> ", "bogus arg\r"),
            ("zbeam> ", "corez\x7fs\r"),
            ("zbeam> ", "spawn hello\r"),
            ("Hello from a Z80 process", "spawn spin low\r"),
            ("zbeam> ", "spawn nosuch\r"),
            ("zbeam> ", "ps\r"),
            ("zbeam> ", "sched\r"),
            ("zbeam> ", "kill 3\r"),
            ("zbeam> ", "kill 999\r"),
            ("zbeam> ", "halt\r"),
        ],
    );
    o.expect_code(0)
        .expect("cores online: 4 of 4")
        .expect("commands:\n  help ")
        .expect("unknown command 'bogus'")
        .expect("core 3: online  class P")
        .expect("spawned hello as pid 2")
        .expect("Hello from a Z80 process\n")
        .expect("spawned spin as pid 3")
        .expect("spawn: unknown image \"nosuch\"")
        .expect("    3 ")
        .expect("core   max  high normal  low  busy%  reductions")
        .expect("killed 3")
        .expect("kill: no process 999")
        .expect("halting");
}
