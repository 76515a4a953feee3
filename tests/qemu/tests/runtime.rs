//! The schedulers running Z80 processes on every core, in QEMU (the in-kernel drivers
//! are in kernel/src/ktest_runtime.rs; each prints its figures and exits 0 on pass).

use zbeam_qemu_tests::{run, Machine, Outcome};

fn runtime_test(name: &str, m: Machine) -> Outcome {
    let o = run(&Machine { append: format!("test={name}"), mem: "512M", ..m });
    o.expect_code(0).expect(&format!("test {name}: PASS"));
    o
}

/// 1000 CPU-bound processes spawned on core 0 end up spread: every core runs at least
/// 15% of the reductions (the driver checks; the lines are its evidence).
#[test]
fn spread_1000_spinners_from_core_0() {
    let o = runtime_test("spread", Machine::default());
    o.expect("spawned 1000 spinners on core 0").expect("all 1000 processes killed and reaped");
    for c in 0..4 {
        o.expect(&format!("test spread: core {c} ran "));
    }
}

/// A process bound to one core never runs on another.
#[test]
fn pinned_process_stays_on_its_core() {
    runtime_test("pinned", Machine::default()).expect("on cores mask 0x8");
}

/// On the 2P+2E tree, high priority runs on P cores and low priority on E cores.
#[test]
fn hetero_high_on_p_low_on_e() {
    let Some(dtb) = zbeam_testdata::require("dtb/qemu-virt-hetero-smp4.dtb") else { return };
    runtime_test("hetero", Machine { dtb: Some(dtb), ..Machine::default() })
        .expect("2 performance and 2 efficiency cores");
}

/// A ring of 1000 Z80 processes passes 100,000 messages, none lost or reordered.
#[test]
fn ring_1000_processes_100000_hops() {
    runtime_test("ring", Machine::default()).expect("reached 100000 of 100000 hops, 0 errors");
}

/// Sleeps and receive timeouts fire never early and within 2 ticks. Guest time runs
/// on -icount here: on a shared host, QEMU's vCPU threads can be descheduled for tens
/// of milliseconds, which shows up as guest-visible lateness that is not the kernel's.
#[test]
fn timers_never_early_within_two_ticks() {
    runtime_test("timers", Machine { icount: true, ..Machine::default() }).expect("10 reports, 0 early");
}

/// The same with GICv3 and 8 cores, entered at EL2 with VHE.
#[test]
fn ring_on_gicv3_8_cores_el2() {
    runtime_test("ring", Machine { smp: 8, gic: 3, el2: true, cpu: "max", ..Machine::default() });
}
